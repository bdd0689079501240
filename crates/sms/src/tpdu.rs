//! SMS-SUBMIT, SMS-DELIVER and SMS-STATUS-REPORT (TS 23.040 §9.2.2).
//!
//! Each TPDU is an owned value with `parse` (checked, never panics, fails
//! on trailing octets) and `emit`/`to_vec`. The first octet's flags are
//! plain booleans; TP-UDHI is not stored but follows from
//! [`UserData::header`] being present.

use crate::address::Address;
use crate::dcs::{Alphabet, Dcs};
use crate::error::SmsError;
use crate::gsm7;
use crate::udh::UserDataHeader;

/// TP-MTI of SMS-DELIVER (SC to MS).
pub const MTI_DELIVER: u8 = 0b00;
/// TP-MTI of SMS-SUBMIT (MS to SC).
pub const MTI_SUBMIT: u8 = 0b01;
/// TP-MTI of SMS-STATUS-REPORT (SC to MS).
pub const MTI_STATUS_REPORT: u8 = 0b10;

/// Largest TP-UD in octets (TS 23.040 §9.2.3.16).
pub const MAX_UD_OCTETS: usize = 140;
/// Largest TP-UD in septets: 140 octets hold 160 septets.
pub const MAX_UD_SEPTETS: usize = 160;

const RP: u8 = 0x80;
const UDHI: u8 = 0x40;
const SRR: u8 = 0x20; // also SRI in DELIVER, SRQ in STATUS-REPORT
const MMS: u8 = 0x04; // RD in SUBMIT
const LP: u8 = 0x08;

/// A service centre time stamp (TP-SCTS, TS 23.040 §9.2.3.11): BCD with
/// swapped nibbles, the time zone in quarter hours with a sign in bit 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp {
    /// Year within the century, 0..=99.
    pub year: u8,
    /// Month, 1..=12.
    pub month: u8,
    /// Day of month, 1..=31.
    pub day: u8,
    /// Hour, 0..=23.
    pub hour: u8,
    /// Minute, 0..=59.
    pub minute: u8,
    /// Second, 0..=59.
    pub second: u8,
    /// Offset from GMT in quarter hours, -79..=79.
    pub tz_quarters: i8,
}

fn bcd_swapped(octet: u8) -> Result<u8, SmsError> {
    let (lo, hi) = (octet & 0x0F, octet >> 4);
    if lo > 9 {
        return Err(SmsError::InvalidBcd(lo));
    }
    if hi > 9 {
        return Err(SmsError::InvalidBcd(hi));
    }
    Ok(lo * 10 + hi)
}

fn to_bcd_swapped(v: u8, field: &'static str) -> Result<u8, SmsError> {
    if v > 99 {
        return Err(SmsError::OutOfRange(field));
    }
    Ok(((v % 10) << 4) | (v / 10))
}

impl Timestamp {
    /// Decodes the 7 octets.
    pub fn parse(b: &[u8; 7]) -> Result<Self, SmsError> {
        let tz = b[6];
        let tens = tz & 0x07;
        let units = tz >> 4;
        if units > 9 {
            return Err(SmsError::InvalidBcd(units));
        }
        let q = (tens * 10 + units) as i8;
        Ok(Timestamp {
            year: bcd_swapped(b[0])?,
            month: bcd_swapped(b[1])?,
            day: bcd_swapped(b[2])?,
            hour: bcd_swapped(b[3])?,
            minute: bcd_swapped(b[4])?,
            second: bcd_swapped(b[5])?,
            tz_quarters: if tz & 0x08 != 0 { -q } else { q },
        })
    }

    /// Encodes the 7 octets.
    pub fn to_bytes(&self) -> Result<[u8; 7], SmsError> {
        let q = self.tz_quarters.unsigned_abs();
        if q > 79 {
            return Err(SmsError::OutOfRange("time zone"));
        }
        let tz = ((q % 10) << 4) | (q / 10) | if self.tz_quarters < 0 { 0x08 } else { 0 };
        Ok([
            to_bcd_swapped(self.year, "year")?,
            to_bcd_swapped(self.month, "month")?,
            to_bcd_swapped(self.day, "day")?,
            to_bcd_swapped(self.hour, "hour")?,
            to_bcd_swapped(self.minute, "minute")?,
            to_bcd_swapped(self.second, "second")?,
            tz,
        ])
    }
}

impl core::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let q = i32::from(self.tz_quarters);
        let sign = if q < 0 { '-' } else { '+' };
        let mins = q.abs() * 15;
        write!(
            f,
            "{:02}-{:02}-{:02} {:02}:{:02}:{:02} {sign}{:02}:{:02}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            mins / 60,
            mins % 60
        )
    }
}

/// TP-VP in one of its three formats (TS 23.040 §9.2.3.12); the format
/// sets TP-VPF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValidityPeriod {
    /// Relative format (VPF 10): one octet, see [`ValidityPeriod::relative_minutes`].
    Relative(u8),
    /// Absolute format (VPF 11): a time stamp.
    Absolute(Timestamp),
    /// Enhanced format (VPF 01): seven octets, functionality indicator first
    /// (§9.2.3.12.3), kept as sent.
    Enhanced([u8; 7]),
}

impl ValidityPeriod {
    fn vpf(&self) -> u8 {
        match self {
            ValidityPeriod::Enhanced(_) => 0b01,
            ValidityPeriod::Relative(_) => 0b10,
            ValidityPeriod::Absolute(_) => 0b11,
        }
    }

    /// The duration of a relative TP-VP in minutes (§9.2.3.12.1):
    /// 0..=143 are 5-minute steps, 144..=167 half hours after 12 h,
    /// 168..=196 days, 197..=255 weeks.
    pub fn relative_minutes(v: u8) -> u32 {
        let v = u32::from(v);
        match v {
            0..=143 => (v + 1) * 5,
            144..=167 => 12 * 60 + (v - 143) * 30,
            168..=196 => (v - 166) * 24 * 60,
            _ => (v - 192) * 7 * 24 * 60,
        }
    }
}

/// TP-UD with its optional header.
///
/// `data` holds unpacked septets (one per octet, 0..=127) when the DCS
/// makes TP-UDL count septets, and plain octets (8-bit data, UCS-2)
/// otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct UserData {
    /// The user data header, present when TP-UDHI is set.
    pub header: Option<UserDataHeader>,
    /// Septets or octets after the header.
    pub data: Vec<u8>,
}

fn counts_septets(dcs: Dcs) -> bool {
    dcs.alphabet().counts_septets() && !dcs.compressed()
}

impl UserData {
    /// GSM 7-bit text (use with a DCS whose alphabet is GSM 7-bit).
    pub fn gsm7(text: &str) -> Result<Self, SmsError> {
        Ok(UserData {
            header: None,
            data: gsm7::encode(text)?,
        })
    }

    /// 8-bit data or UCS-2 octets.
    pub fn octets(data: impl Into<Vec<u8>>) -> Self {
        UserData {
            header: None,
            data: data.into(),
        }
    }

    /// UCS-2 text (UTF-16BE code units; characters outside the BMP become
    /// surrogate pairs, as UTF-16).
    pub fn ucs2(text: &str) -> Self {
        UserData {
            header: None,
            data: text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        }
    }

    /// The text under `dcs`: GSM 7-bit or UCS-2; `None` for 8-bit data and
    /// compressed text.
    pub fn text(&self, dcs: Dcs) -> Option<String> {
        if dcs.compressed() {
            return None;
        }
        match dcs.alphabet() {
            Alphabet::Gsm7 | Alphabet::Reserved => Some(gsm7::decode(&self.data)),
            Alphabet::Ucs2 => {
                let units = self
                    .data
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]));
                Some(
                    char::decode_utf16(units)
                        .map(|r| r.unwrap_or('\u{fffd}'))
                        .collect(),
                )
            }
            Alphabet::Data8 => None,
        }
    }

    /// Parses TP-UDL and TP-UD from `buf`; returns the value and the octets used.
    pub fn parse(buf: &[u8], udhi: bool, dcs: Dcs) -> Result<(Self, usize), SmsError> {
        let (&udl, rest) = buf.split_first().ok_or(SmsError::Truncated("TP-UDL"))?;
        let udl = usize::from(udl);
        if counts_septets(dcs) {
            if udl > MAX_UD_SEPTETS {
                return Err(SmsError::TooLong {
                    field: "TP-UD",
                    len: udl,
                    max: MAX_UD_SEPTETS,
                });
            }
            let octets = (udl * 7).div_ceil(8);
            let body = rest.get(..octets).ok_or(SmsError::Truncated("TP-UD"))?;
            let (header, start) = if udhi {
                let (h, hlen) = UserDataHeader::parse(body)?;
                (Some(h), gsm7::septets_for_octets(hlen))
            } else {
                (None, 0)
            };
            if start > udl {
                return Err(SmsError::BadUdh);
            }
            let data = gsm7::unpack(body, start, udl - start);
            Ok((UserData { header, data }, 1 + octets))
        } else {
            if udl > MAX_UD_OCTETS {
                return Err(SmsError::TooLong {
                    field: "TP-UD",
                    len: udl,
                    max: MAX_UD_OCTETS,
                });
            }
            let body = rest.get(..udl).ok_or(SmsError::Truncated("TP-UD"))?;
            let (header, hlen) = if udhi {
                let (h, hlen) = UserDataHeader::parse(body)?;
                (Some(h), hlen)
            } else {
                (None, 0)
            };
            Ok((
                UserData {
                    header,
                    data: body[hlen..].to_vec(),
                },
                1 + udl,
            ))
        }
    }

    /// Appends TP-UDL and TP-UD under `dcs`.
    pub fn emit(&self, dcs: Dcs, out: &mut Vec<u8>) -> Result<(), SmsError> {
        let mut head = Vec::new();
        if let Some(h) = &self.header {
            h.emit(&mut head)?;
        }
        if counts_septets(dcs) {
            let start = gsm7::septets_for_octets(head.len());
            let udl = start + self.data.len();
            if udl > MAX_UD_SEPTETS {
                return Err(SmsError::TooLong {
                    field: "TP-UD",
                    len: udl,
                    max: MAX_UD_SEPTETS,
                });
            }
            let mut packed = gsm7::pack(&self.data, start);
            packed[..head.len()].copy_from_slice(&head);
            out.push(udl as u8);
            out.extend_from_slice(&packed);
        } else {
            let udl = head.len() + self.data.len();
            if udl > MAX_UD_OCTETS {
                return Err(SmsError::TooLong {
                    field: "TP-UD",
                    len: udl,
                    max: MAX_UD_OCTETS,
                });
            }
            out.push(udl as u8);
            out.extend_from_slice(&head);
            out.extend_from_slice(&self.data);
        }
        Ok(())
    }
}

fn take<'a>(buf: &mut &'a [u8], n: usize, what: &'static str) -> Result<&'a [u8], SmsError> {
    let (a, b) = buf.split_at_checked(n).ok_or(SmsError::Truncated(what))?;
    *buf = b;
    Ok(a)
}

fn take_u8(buf: &mut &[u8], what: &'static str) -> Result<u8, SmsError> {
    Ok(take(buf, 1, what)?[0])
}

fn take_7(buf: &mut &[u8], what: &'static str) -> Result<[u8; 7], SmsError> {
    let s = take(buf, 7, what)?;
    let mut a = [0u8; 7];
    a.copy_from_slice(s);
    Ok(a)
}

fn take_address(buf: &mut &[u8]) -> Result<Address, SmsError> {
    let (a, used) = Address::parse(buf)?;
    *buf = &buf[used..];
    Ok(a)
}

fn take_ud(buf: &mut &[u8], udhi: bool, dcs: Dcs) -> Result<UserData, SmsError> {
    let (ud, used) = UserData::parse(buf, udhi, dcs)?;
    *buf = &buf[used..];
    Ok(ud)
}

fn finish(buf: &[u8]) -> Result<(), SmsError> {
    if buf.is_empty() {
        Ok(())
    } else {
        Err(SmsError::TrailingData(buf.len()))
    }
}

fn check_mti(first: u8, want: u8) -> Result<(), SmsError> {
    if first & 0x03 == want {
        Ok(())
    } else {
        Err(SmsError::WrongMessageType(first & 0x03))
    }
}

/// SMS-SUBMIT, MS to SC (TS 23.040 §9.2.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmsSubmit {
    /// TP-RD: reject a duplicate of a message still held by the SC.
    pub reject_duplicates: bool,
    /// TP-RP: reply path requested.
    pub reply_path: bool,
    /// TP-SRR: status report requested.
    pub status_report_request: bool,
    /// TP-MR.
    pub message_reference: u8,
    /// TP-DA.
    pub destination: Address,
    /// TP-PID.
    pub pid: u8,
    /// TP-DCS.
    pub dcs: Dcs,
    /// TP-VP; its variant sets TP-VPF.
    pub validity: Option<ValidityPeriod>,
    /// TP-UDL and TP-UD; a header sets TP-UDHI.
    pub user_data: UserData,
}

impl SmsSubmit {
    /// A plain submit: no flags, MR 0 (the modem assigns one), PID 0.
    pub fn new(destination: Address, dcs: Dcs, user_data: UserData) -> Self {
        SmsSubmit {
            reject_duplicates: false,
            reply_path: false,
            status_report_request: false,
            message_reference: 0,
            destination,
            pid: 0,
            dcs,
            validity: None,
            user_data,
        }
    }

    /// Parses a whole SMS-SUBMIT TPDU.
    pub fn parse(tpdu: &[u8]) -> Result<Self, SmsError> {
        let mut b = tpdu;
        let first = take_u8(&mut b, "first octet")?;
        check_mti(first, MTI_SUBMIT)?;
        let message_reference = take_u8(&mut b, "TP-MR")?;
        let destination = take_address(&mut b)?;
        let pid = take_u8(&mut b, "TP-PID")?;
        let dcs = Dcs(take_u8(&mut b, "TP-DCS")?);
        let validity = match (first >> 3) & 0x03 {
            0b00 => None,
            0b10 => Some(ValidityPeriod::Relative(take_u8(&mut b, "TP-VP")?)),
            0b11 => Some(ValidityPeriod::Absolute(Timestamp::parse(&take_7(
                &mut b, "TP-VP",
            )?)?)),
            _ => Some(ValidityPeriod::Enhanced(take_7(&mut b, "TP-VP")?)),
        };
        let user_data = take_ud(&mut b, first & UDHI != 0, dcs)?;
        finish(b)?;
        Ok(SmsSubmit {
            reject_duplicates: first & MMS != 0,
            reply_path: first & RP != 0,
            status_report_request: first & SRR != 0,
            message_reference,
            destination,
            pid,
            dcs,
            validity,
            user_data,
        })
    }

    /// Appends the TPDU to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), SmsError> {
        let mut first = MTI_SUBMIT;
        first |= if self.reject_duplicates { MMS } else { 0 };
        first |= self.validity.as_ref().map_or(0, |v| v.vpf() << 3);
        first |= if self.status_report_request { SRR } else { 0 };
        first |= if self.user_data.header.is_some() {
            UDHI
        } else {
            0
        };
        first |= if self.reply_path { RP } else { 0 };
        out.push(first);
        out.push(self.message_reference);
        self.destination.emit(out)?;
        out.push(self.pid);
        out.push(self.dcs.0);
        match &self.validity {
            None => {}
            Some(ValidityPeriod::Relative(v)) => out.push(*v),
            Some(ValidityPeriod::Absolute(t)) => out.extend_from_slice(&t.to_bytes()?),
            Some(ValidityPeriod::Enhanced(e)) => out.extend_from_slice(e),
        }
        self.user_data.emit(self.dcs, out)
    }

    /// The TPDU as a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, SmsError> {
        let mut v = Vec::with_capacity(176);
        self.emit(&mut v)?;
        Ok(v)
    }
}

impl core::fmt::Display for SmsSubmit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "SMS-SUBMIT mr={} da={} pid={} dcs={} ud={} units",
            self.message_reference,
            self.destination,
            self.pid,
            self.dcs,
            self.user_data.data.len()
        )
    }
}

/// SMS-DELIVER, SC to MS (TS 23.040 §9.2.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmsDeliver {
    /// More messages wait in the SC: TP-MMS bit clear (the bit set means
    /// "no more messages").
    pub more_messages: bool,
    /// TP-LP: loop prevention.
    pub loop_prevention: bool,
    /// TP-SRI: a status report will go back to the originator.
    pub status_report_indication: bool,
    /// TP-RP: reply path set.
    pub reply_path: bool,
    /// TP-OA.
    pub originator: Address,
    /// TP-PID.
    pub pid: u8,
    /// TP-DCS.
    pub dcs: Dcs,
    /// TP-SCTS.
    pub scts: Timestamp,
    /// TP-UDL and TP-UD; a header sets TP-UDHI.
    pub user_data: UserData,
}

impl SmsDeliver {
    /// Parses a whole SMS-DELIVER TPDU.
    pub fn parse(tpdu: &[u8]) -> Result<Self, SmsError> {
        let mut b = tpdu;
        let first = take_u8(&mut b, "first octet")?;
        check_mti(first, MTI_DELIVER)?;
        let originator = take_address(&mut b)?;
        let pid = take_u8(&mut b, "TP-PID")?;
        let dcs = Dcs(take_u8(&mut b, "TP-DCS")?);
        let scts = Timestamp::parse(&take_7(&mut b, "TP-SCTS")?)?;
        let user_data = take_ud(&mut b, first & UDHI != 0, dcs)?;
        finish(b)?;
        Ok(SmsDeliver {
            more_messages: first & MMS == 0,
            loop_prevention: first & LP != 0,
            status_report_indication: first & SRR != 0,
            reply_path: first & RP != 0,
            originator,
            pid,
            dcs,
            scts,
            user_data,
        })
    }

    /// Appends the TPDU to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), SmsError> {
        let mut first = MTI_DELIVER;
        first |= if self.more_messages { 0 } else { MMS };
        first |= if self.loop_prevention { LP } else { 0 };
        first |= if self.status_report_indication {
            SRR
        } else {
            0
        };
        first |= if self.user_data.header.is_some() {
            UDHI
        } else {
            0
        };
        first |= if self.reply_path { RP } else { 0 };
        out.push(first);
        self.originator.emit(out)?;
        out.push(self.pid);
        out.push(self.dcs.0);
        out.extend_from_slice(&self.scts.to_bytes()?);
        self.user_data.emit(self.dcs, out)
    }

    /// The TPDU as a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, SmsError> {
        let mut v = Vec::with_capacity(176);
        self.emit(&mut v)?;
        Ok(v)
    }
}

impl core::fmt::Display for SmsDeliver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "SMS-DELIVER oa={} pid={} dcs={} scts={} ud={} units",
            self.originator,
            self.pid,
            self.dcs,
            self.scts,
            self.user_data.data.len()
        )
    }
}

/// SMS-STATUS-REPORT, SC to MS (TS 23.040 §9.2.2.3); decode only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmsStatusReport {
    /// More messages wait in the SC (TP-MMS bit clear).
    pub more_messages: bool,
    /// TP-LP.
    pub loop_prevention: bool,
    /// TP-SRQ: the report answers an SMS-COMMAND rather than a SUBMIT.
    pub command_report: bool,
    /// TP-MR of the message reported on.
    pub message_reference: u8,
    /// TP-RA: the recipient.
    pub recipient: Address,
    /// TP-SCTS of the reported message.
    pub scts: Timestamp,
    /// TP-DT: when the SC delivered (or gave up).
    pub discharge_time: Timestamp,
    /// TP-ST (§9.2.3.15): 0x00..=0x1F completed, 0x20.. temporary, 0x40.. / 0x60.. permanent.
    pub status: u8,
    /// TP-PID, if TP-PI says so.
    pub pid: Option<u8>,
    /// TP-DCS, if TP-PI says so.
    pub dcs: Option<Dcs>,
    /// TP-UD, if TP-PI says so.
    pub user_data: Option<UserData>,
}

impl SmsStatusReport {
    /// Parses a whole SMS-STATUS-REPORT TPDU.
    pub fn parse(tpdu: &[u8]) -> Result<Self, SmsError> {
        let mut b = tpdu;
        let first = take_u8(&mut b, "first octet")?;
        check_mti(first, MTI_STATUS_REPORT)?;
        let message_reference = take_u8(&mut b, "TP-MR")?;
        let recipient = take_address(&mut b)?;
        let scts = Timestamp::parse(&take_7(&mut b, "TP-SCTS")?)?;
        let discharge_time = Timestamp::parse(&take_7(&mut b, "TP-DT")?)?;
        let status = take_u8(&mut b, "TP-ST")?;
        let (mut pid, mut dcs, mut user_data) = (None, None, None);
        if let Some(&pi) = b.first() {
            // TP-PI (§9.2.3.27); extension octets (bit 7) carry nothing yet.
            let mut ext = pi;
            b = &b[1..];
            while ext & 0x80 != 0 {
                ext = take_u8(&mut b, "TP-PI")?;
            }
            if pi & 0x01 != 0 {
                pid = Some(take_u8(&mut b, "TP-PID")?);
            }
            if pi & 0x02 != 0 {
                dcs = Some(Dcs(take_u8(&mut b, "TP-DCS")?));
            }
            if pi & 0x04 != 0 {
                user_data = Some(take_ud(&mut b, first & UDHI != 0, dcs.unwrap_or_default())?);
            }
        }
        finish(b)?;
        Ok(SmsStatusReport {
            more_messages: first & MMS == 0,
            loop_prevention: first & LP != 0,
            command_report: first & SRR != 0,
            message_reference,
            recipient,
            scts,
            discharge_time,
            status,
            pid,
            dcs,
            user_data,
        })
    }

    /// Whether TP-ST says the message was delivered (0x00..=0x1F).
    pub fn delivered(&self) -> bool {
        self.status < 0x20
    }
}

impl core::fmt::Display for SmsStatusReport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "SMS-STATUS-REPORT mr={} ra={} scts={} dt={} st=0x{:02x}",
            self.message_reference, self.recipient, self.scts, self.discharge_time, self.status
        )
    }
}

/// A TPDU travelling from the SC to the MS, told apart by TP-MTI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MtTpdu {
    /// SMS-DELIVER.
    Deliver(SmsDeliver),
    /// SMS-STATUS-REPORT.
    StatusReport(SmsStatusReport),
}

impl MtTpdu {
    /// Parses a TPDU received by the MS; SMS-SUBMIT-REPORT and the reserved
    /// MTI give [`SmsError::WrongMessageType`].
    pub fn parse(tpdu: &[u8]) -> Result<Self, SmsError> {
        match tpdu.first().map(|f| f & 0x03) {
            None => Err(SmsError::Truncated("first octet")),
            Some(MTI_DELIVER) => SmsDeliver::parse(tpdu).map(MtTpdu::Deliver),
            Some(MTI_STATUS_REPORT) => SmsStatusReport::parse(tpdu).map(MtTpdu::StatusReport),
            Some(other) => Err(SmsError::WrongMessageType(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{NumberingPlan, TypeOfNumber};
    use crate::udh::InformationElement;

    #[test]
    fn hellohello_submit() {
        // Classic PDU-mode example: SMSC 00, SUBMIT with VPF relative, VP AA.
        let pdu = hex::decode("0011000B916407281553F80000AA0AE8329BFD4697D9EC37").unwrap();
        assert_eq!(pdu[0], 0); // no SMSC
        let s = SmsSubmit::parse(&pdu[1..]).unwrap();
        assert_eq!(s.message_reference, 0);
        assert_eq!(s.destination.to_string(), "+46708251358");
        assert_eq!(s.dcs, Dcs::GSM7);
        assert_eq!(s.validity, Some(ValidityPeriod::Relative(0xAA)));
        assert_eq!(ValidityPeriod::relative_minutes(0xAA), 4 * 24 * 60);
        assert_eq!(s.user_data.text(s.dcs).as_deref(), Some("hellohello"));
        assert!(!s.status_report_request && !s.reject_duplicates && !s.reply_path);
        assert_eq!(s.to_vec().unwrap(), &pdu[1..]);
    }

    #[test]
    fn deliver_fixture() {
        // SMS-DELIVER from +27838890001, "hellohello", SCTS 99-03-02 18:51:35 +02:00.
        let tpdu = hex::decode("040B917238880900F10000993020811553800AE8329BFD4697D9EC37").unwrap();
        let d = SmsDeliver::parse(&tpdu).unwrap();
        assert_eq!(d.originator.as_str(), "27838890001");
        assert_eq!(d.originator.ton, TypeOfNumber::International);
        assert!(!d.more_messages);
        assert_eq!(
            d.scts,
            Timestamp {
                year: 99,
                month: 3,
                day: 2,
                hour: 18,
                minute: 51,
                second: 35,
                tz_quarters: 8
            }
        );
        assert_eq!(d.scts.to_string(), "99-03-02 18:51:35 +02:00");
        assert_eq!(d.user_data.text(d.dcs).as_deref(), Some("hellohello"));
        assert_eq!(d.to_vec().unwrap(), tpdu);
    }

    #[test]
    fn negative_time_zone() {
        let t = Timestamp {
            year: 26,
            month: 11,
            day: 23,
            hour: 9,
            minute: 5,
            second: 0,
            tz_quarters: -20,
        };
        let b = t.to_bytes().unwrap();
        assert_eq!(b, [0x62, 0x11, 0x32, 0x90, 0x50, 0x00, 0x0A]);
        assert_eq!(Timestamp::parse(&b).unwrap(), t);
        assert_eq!(t.to_string(), "26-11-23 09:05:00 -05:00");
        assert!(Timestamp::parse(&[0x6A, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn binary_with_ports_round_trip() {
        let mut ud = UserData::octets(vec![0xDE, 0xAD, 0xBE, 0xEF]);
        ud.header = Some(UserDataHeader {
            elements: vec![InformationElement::Port16 { dst: 9200, src: 0 }],
        });
        let d = SmsDeliver {
            more_messages: false,
            loop_prevention: false,
            status_report_indication: true,
            reply_path: false,
            originator: Address::digits(TypeOfNumber::National, NumberingPlan::Isdn, "1234")
                .unwrap(),
            pid: 0,
            dcs: Dcs::DATA8,
            scts: Timestamp {
                year: 26,
                month: 1,
                day: 2,
                hour: 3,
                minute: 4,
                second: 5,
                tz_quarters: 4,
            },
            user_data: ud,
        };
        let v = d.to_vec().unwrap();
        assert_eq!(v[0], 0x64); // UDHI | SRI | MMS(no more)
        assert_eq!(
            &v[v.len() - 12..],
            &hex::decode("0B06050423F00000DEADBEEF").unwrap()[..]
        );
        assert_eq!(SmsDeliver::parse(&v).unwrap(), d);
    }

    #[test]
    fn gsm7_with_udh_round_trip() {
        let mut ud = UserData::gsm7("part one €").unwrap();
        ud.header = Some(UserDataHeader {
            elements: vec![InformationElement::Concat8 {
                reference: 7,
                total: 2,
                seq: 1,
            }],
        });
        let mut s = SmsSubmit::new(Address::international("+4412345").unwrap(), Dcs::GSM7, ud);
        s.validity = Some(ValidityPeriod::Absolute(Timestamp {
            year: 30,
            month: 12,
            day: 31,
            hour: 23,
            minute: 59,
            second: 59,
            tz_quarters: -1,
        }));
        s.status_report_request = true;
        let v = s.to_vec().unwrap();
        assert_eq!(v[0], 0x01 | 0x18 | 0x20 | 0x40);
        let back = SmsSubmit::parse(&v).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.user_data.text(back.dcs).as_deref(), Some("part one €"));
        // UDL: 7 septets of header + 11 of text (€ takes two).
        let udl_pos = v.len() - 1 - (18 * 7usize).div_ceil(8);
        assert_eq!(v[udl_pos], 18);
    }

    #[test]
    fn limits() {
        let s = SmsSubmit::new(
            Address::international("1").unwrap(),
            Dcs::GSM7,
            UserData::gsm7(&"x".repeat(161)).unwrap(),
        );
        assert!(matches!(s.to_vec(), Err(SmsError::TooLong { .. })));
        let s160 = SmsSubmit {
            user_data: UserData::gsm7(&"x".repeat(160)).unwrap(),
            ..s.clone()
        };
        let v = s160.to_vec().unwrap();
        assert_eq!(SmsSubmit::parse(&v).unwrap(), s160);
        let s141 = SmsSubmit {
            dcs: Dcs::DATA8,
            user_data: UserData::octets(vec![0; 141]),
            ..s
        };
        assert!(s141.to_vec().is_err());
        // Trailing octet, wrong MTI, short UD.
        let mut long = v.clone();
        long.push(0);
        assert_eq!(SmsSubmit::parse(&long), Err(SmsError::TrailingData(1)));
        assert_eq!(SmsDeliver::parse(&v), Err(SmsError::WrongMessageType(1)));
        assert_eq!(
            SmsSubmit::parse(&v[..v.len() - 1]),
            Err(SmsError::Truncated("TP-UD"))
        );
    }

    #[test]
    fn ucs2_text() {
        let ud = UserData::ucs2("Привет");
        assert_eq!(ud.data.len(), 12);
        assert_eq!(ud.text(Dcs::UCS2).as_deref(), Some("Привет"));
        assert_eq!(ud.text(Dcs::DATA8), None);
    }

    #[test]
    fn status_report() {
        // MR 0x2A to +46708251358, SCTS/DT, status 0 (delivered), no TP-PI.
        let mut t = hex::decode("062A0B916407281553F8").unwrap();
        let ts = hex::decode("62113290500080").unwrap();
        t.extend_from_slice(&ts);
        t.extend_from_slice(&ts);
        t.push(0x00);
        let r = SmsStatusReport::parse(&t).unwrap();
        assert_eq!(r.message_reference, 0x2A);
        assert_eq!(
            r.to_string(),
            "SMS-STATUS-REPORT mr=42 ra=+46708251358 scts=26-11-23 09:05:00 +02:00 dt=26-11-23 09:05:00 +02:00 st=0x00"
        );
        assert!(r.delivered());
        assert!(r.user_data.is_none());
        assert!(matches!(MtTpdu::parse(&t), Ok(MtTpdu::StatusReport(_))));
        // With TP-PI asking for PID and DCS.
        t.extend_from_slice(&[0x03, 0x00, 0x00]);
        let r = SmsStatusReport::parse(&t).unwrap();
        assert_eq!((r.pid, r.dcs), (Some(0), Some(Dcs::GSM7)));
    }
}
