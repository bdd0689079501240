//! Checking a submit_sm and turning it into a [`Submission`]: the message
//! in TS 23.040 terms, before the SMS centre looks at its destination.
//!
//! Each check answers with the command_status SMPP 3.4 §5.1.3 defines for
//! the field (`ESME_RINVESMCLASS`, `ESME_RINVDCS`, `ESME_RINVSRCADR`, …).
//! The SMPP fields map onto the TPDU as SMPP 3.4 §5.2 describes for GSM:
//! `protocol_id` is TP-PID, bit 6 of `esm_class` is TP-UDHI, bit 7
//! TP-RP, and `data_coding` selects TP-DCS and how `short_message` is read:
//!
//! | data_coding | short_message holds | TP-DCS |
//! |---|---|---|
//! | 0x00 SMSC default | GSM 7-bit septets, one per octet | 0x00 |
//! | 0x01 IA5 (ASCII) | ASCII text, re-encoded to GSM 7-bit | 0x00 |
//! | 0x03 Latin-1 | ISO 8859-1 text; GSM 7-bit if it fits, else UCS-2 | 0x00 / 0x08 |
//! | 0x02, 0x04 octets | 8-bit data | 0x04 |
//! | 0x08 UCS-2 | UTF-16BE | 0x08 |
//! | 0xF0..=0xFF class control | septets (bit 2 clear) or octets | the same value |
//!
//! Other codings (JIS, Cyrillic, Hebrew, pictogram, KS C 5601, …) have no
//! TP-DCS and are refused with `ESME_RINVDCS` (an SMPP 5.0 code; SMPP 3.4
//! has none for it).

use rusmpp::pdus::SubmitSm;
use rusmpp::tlvs::TlvValue;
use rusmpp::{CommandStatus, values::Npi, values::Ton};
use telsec_sms::address::{MAX_ALPHA_CHARS, MAX_DIGITS};
use telsec_sms::{Address, Dcs, NumberingPlan, TypeOfNumber, UserData, UserDataHeader, gsm7};

use crate::time::SmppTime;

/// Largest E.164 number: 15 digits (ITU-T E.164 §6).
pub const MAX_E164_DIGITS: usize = 15;
/// Largest `sm_length` (SMPP 3.4 §5.2.21).
pub const MAX_SM_LENGTH: usize = 254;
/// Largest number of segments of one message (TS 23.040 §9.2.3.24.1).
pub const MAX_SEGMENTS: usize = 255;

/// What registered_delivery bits 1..0 ask for (SMPP 3.4 §5.2.17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptRequest {
    /// No SMSC delivery receipt.
    None,
    /// A receipt on final success or failure.
    Always,
    /// A receipt only on final failure.
    OnFailure,
}

/// An address as it appeared in SMPP, kept for the delivery receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmppAddress {
    /// addr_ton.
    pub ton: u8,
    /// addr_npi.
    pub npi: u8,
    /// The address text.
    pub addr: String,
}

/// A checked submit_sm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// TP-OA for the SMS-DELIVER.
    pub originator: Address,
    /// The destination MSISDN, E.164 digits without `+`.
    pub destination: String,
    /// source_addr as submitted (the receipt's destination).
    pub smpp_source: SmppAddress,
    /// destination_addr as submitted (the receipt's source).
    pub smpp_destination: SmppAddress,
    /// TP-PID.
    pub pid: u8,
    /// TP-DCS.
    pub dcs: Dcs,
    /// TP-RP.
    pub reply_path: bool,
    /// The whole message: septets or octets, with the ESME's own header if
    /// UDHI was set. Longer than one SMS only without a header; the centre
    /// then splits it (TS 23.040 §9.2.3.24.1).
    pub user_data: UserData,
    /// Delivery receipt wanted.
    pub receipt: ReceiptRequest,
    /// validity_period, if given.
    pub validity: Option<SmppTime>,
    /// schedule_delivery_time, if given.
    pub schedule: Option<SmppTime>,
    /// The first 20 octets of the message as submitted, for the `text:`
    /// field of a receipt (SMPP 3.4 Appendix B).
    pub preview: Vec<u8>,
}

/// Checks `sm` and builds the [`Submission`], or says which command_status
/// refuses it.
pub fn check(sm: &SubmitSm) -> Result<Submission, CommandStatus> {
    let esm = u8::from(sm.esm_class);
    // Message type bits 5..2 (SMPP 3.4 §5.2.12): only the default type;
    // SME acknowledgements are not offered by this SMSC.
    if esm & 0x3C != 0 {
        return Err(CommandStatus::EsmeRinvesmclass);
    }
    let udhi = esm & 0x40 != 0;
    let reply_path = esm & 0x80 != 0;
    let reg = u8::from(sm.registered_delivery);
    let receipt = match reg & 0x03 {
        0 => ReceiptRequest::None,
        1 => ReceiptRequest::Always,
        2 => ReceiptRequest::OnFailure,
        _ => return Err(CommandStatus::EsmeRinvregdlvflg),
    };
    if u8::from(sm.priority_flag) > 3 {
        return Err(CommandStatus::EsmeRinvprtflg);
    }
    // Replacing a queued message is not offered.
    if u8::from(sm.replace_if_present_flag) != 0 {
        return Err(CommandStatus::EsmeRinvrepflag);
    }
    if sm.sm_default_msg_id != 0 {
        return Err(CommandStatus::EsmeRinvdftmsgid);
    }
    let schedule = SmppTime::parse(sm.schedule_delivery_time.as_str().as_bytes())
        .map_err(|_| CommandStatus::EsmeRinvsched)?;
    let validity = SmppTime::parse(sm.validity_period.as_str().as_bytes())
        .map_err(|_| CommandStatus::EsmeRinvexpiry)?;

    let payload = payload(sm)?;
    let smpp_source = SmppAddress {
        ton: u8::from(sm.source_addr_ton),
        npi: u8::from(sm.source_addr_npi),
        addr: sm.source_addr.as_str().to_owned(),
    };
    let smpp_destination = SmppAddress {
        ton: u8::from(sm.dest_addr_ton),
        npi: u8::from(sm.dest_addr_npi),
        addr: sm.destination_addr.as_str().to_owned(),
    };
    let originator = originator(sm.source_addr_ton, sm.source_addr_npi, &smpp_source.addr)?;
    let destination = destination(sm.dest_addr_ton, sm.dest_addr_npi, &smpp_destination.addr)?;
    let (dcs, user_data) = user_data(u8::from(sm.data_coding), udhi, payload)?;
    if udhi && !fits_one(&user_data, dcs) {
        // The ESME segments messages it gives a header itself.
        return Err(CommandStatus::EsmeRinvmsglen);
    }
    if !udhi && segment_count(&user_data, dcs) > MAX_SEGMENTS {
        return Err(CommandStatus::EsmeRinvmsglen);
    }
    Ok(Submission {
        originator,
        destination,
        smpp_source,
        smpp_destination,
        pid: sm.protocol_id,
        dcs,
        reply_path,
        user_data,
        receipt,
        validity,
        schedule,
        preview: payload.iter().take(20).copied().collect(),
    })
}

/// short_message, or the message_payload TLV (SMPP 3.4 §5.3.2.32: one or
/// the other, never both).
fn payload(sm: &SubmitSm) -> Result<&[u8], CommandStatus> {
    let short = sm.short_message().as_ref();
    if short.len() > MAX_SM_LENGTH {
        return Err(CommandStatus::EsmeRinvmsglen);
    }
    let tlv = sm.tlvs().iter().find_map(|t| match t.value() {
        Some(TlvValue::MessagePayload(p)) => Some(p.value.as_ref()),
        _ => None,
    });
    match tlv {
        Some(_) if !short.is_empty() => Err(CommandStatus::EsmeRinvmsglen),
        Some(p) => Ok(p),
        None => Ok(short),
    }
}

/// TP-OA from source_addr: TON and NPI carry over (SMPP 3.4 §5.2.5, §5.2.6
/// use the GSM values), alphanumeric text becomes a TON 5 address.
fn originator(ton: Ton, npi: Npi, addr: &str) -> Result<Address, CommandStatus> {
    let ton = u8::from(ton);
    let npi = u8::from(npi);
    if ton > 6 {
        return Err(CommandStatus::EsmeRinvsrcton);
    }
    // SMPP NPIs with a TS 23.040 counterpart; E.212, Internet and WAP have none.
    if !matches!(npi, 0 | 1 | 3 | 4 | 8 | 9 | 10) {
        return Err(CommandStatus::EsmeRinvsrcnpi);
    }
    if addr.is_empty() {
        return Err(CommandStatus::EsmeRinvsrcadr);
    }
    if ton == 5 {
        if addr.chars().count() > MAX_ALPHA_CHARS {
            return Err(CommandStatus::EsmeRinvsrcadr);
        }
        return Address::alphanumeric(addr).map_err(|_| CommandStatus::EsmeRinvsrcadr);
    }
    let digits = if ton == 1 {
        addr.strip_prefix('+').unwrap_or(addr)
    } else {
        addr
    };
    if digits.is_empty() || digits.len() > MAX_DIGITS {
        return Err(CommandStatus::EsmeRinvsrcadr);
    }
    Address::digits(TypeOfNumber::from(ton), NumberingPlan::from(npi), digits)
        .map_err(|_| CommandStatus::EsmeRinvsrcadr)
}

/// The destination MSISDN: an international (or unknown-TON) E.164 number.
fn destination(ton: Ton, npi: Npi, addr: &str) -> Result<String, CommandStatus> {
    if !matches!(u8::from(ton), 0 | 1) {
        return Err(CommandStatus::EsmeRinvdstton);
    }
    if !matches!(u8::from(npi), 0 | 1) {
        return Err(CommandStatus::EsmeRinvdstnpi);
    }
    e164(addr).ok_or(CommandStatus::EsmeRinvdstadr)
}

/// E.164 digits of `addr` (a leading `+` dropped), 1 to 15 of them.
pub fn e164(addr: &str) -> Option<String> {
    let d = addr.strip_prefix('+').unwrap_or(addr);
    (!d.is_empty() && d.len() <= MAX_E164_DIGITS && d.bytes().all(|b| b.is_ascii_digit()))
        .then(|| d.to_owned())
}

/// The TP-DCS and TP-UD for `payload` under `data_coding` (table above).
fn user_data(coding: u8, udhi: bool, payload: &[u8]) -> Result<(Dcs, UserData), CommandStatus> {
    let (header, body) = if udhi {
        let (h, used) =
            UserDataHeader::parse(payload).map_err(|_| CommandStatus::EsmeRinvmsglen)?;
        (Some(h), &payload[used..])
    } else {
        (None, payload)
    };
    let septets = |b: &[u8]| -> Result<Vec<u8>, CommandStatus> {
        if b.iter().all(|&s| s < 0x80) {
            Ok(b.to_vec())
        } else {
            Err(CommandStatus::EsmeRinvdcs)
        }
    };
    let (dcs, data) = match coding {
        0x00 => (Dcs::GSM7, septets(body)?),
        0x01 => {
            if !body.is_ascii() {
                return Err(CommandStatus::EsmeRinvdcs);
            }
            let text: String = body.iter().map(|&b| char::from(b)).collect();
            (
                Dcs::GSM7,
                gsm7::encode(&text).map_err(|_| CommandStatus::EsmeRinvdcs)?,
            )
        }
        0x03 => {
            let text: String = body.iter().map(|&b| char::from(b)).collect();
            match gsm7::encode(&text) {
                Ok(s) => (Dcs::GSM7, s),
                Err(_) => (Dcs::UCS2, UserData::ucs2(&text).data),
            }
        }
        0x02 | 0x04 => (Dcs::DATA8, body.to_vec()),
        0x08 => {
            if body.len() % 2 != 0 {
                return Err(CommandStatus::EsmeRinvmsglen);
            }
            (Dcs::UCS2, body.to_vec())
        }
        0xF0..=0xFF if coding & 0x08 == 0 => {
            if coding & 0x04 == 0 {
                (Dcs(coding), septets(body)?)
            } else {
                (Dcs(coding), body.to_vec())
            }
        }
        _ => return Err(CommandStatus::EsmeRinvdcs),
    };
    Ok((dcs, UserData { header, data }))
}

/// Septets or octets one SMS holds after the header (TS 23.040 §9.2.3.16).
fn capacity(header_octets: usize, dcs: Dcs) -> usize {
    if dcs.alphabet().counts_septets() {
        telsec_sms::tpdu::MAX_UD_SEPTETS.saturating_sub(gsm7::septets_for_octets(header_octets))
    } else {
        telsec_sms::tpdu::MAX_UD_OCTETS.saturating_sub(header_octets)
    }
}

fn header_octets(ud: &UserData) -> usize {
    ud.header.as_ref().map_or(0, UserDataHeader::buffer_len)
}

/// Whether `ud` fits one SMS.
pub fn fits_one(ud: &UserData, dcs: Dcs) -> bool {
    ud.data.len() <= capacity(header_octets(ud), dcs)
}

/// Octets of the concatenation header each segment carries: UDHL and one
/// 8-bit-reference element (TS 23.040 §9.2.3.24.1).
const CONCAT_HEADER: usize = 6;

/// Where the segments of a headerless message start, split so that no GSM
/// escape pair and no UTF-16 surrogate pair straddles two segments.
pub fn segment_bounds(data: &[u8], dcs: Dcs) -> Vec<(usize, usize)> {
    let room = capacity(CONCAT_HEADER, dcs);
    let ucs2 = matches!(dcs.alphabet(), telsec_sms::Alphabet::Ucs2);
    let room = if ucs2 { room & !1 } else { room };
    let mut out = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let mut end = (start + room).min(data.len());
        if end < data.len() {
            if dcs.alphabet().counts_septets() && data[end - 1] == 0x1B {
                end -= 1;
            } else if ucs2 && end >= 2 && (0xD8..=0xDB).contains(&data[end - 2]) {
                end -= 2;
            }
        }
        out.push((start, end));
        start = end;
    }
    out
}

/// How many SMS a headerless message takes.
pub fn segment_count(ud: &UserData, dcs: Dcs) -> usize {
    if fits_one(ud, dcs) {
        1
    } else {
        segment_bounds(&ud.data, dcs).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusmpp::tlvs::MessageSubmissionRequestTlvValue;
    use rusmpp::types::{AnyOctetString, EmptyOrFullCOctetString, OctetString};
    use rusmpp::values::{DataCoding, EsmClass, MessagePayload, RegisteredDelivery};

    pub(crate) fn submit(dest: &str, coding: u8, msg: &[u8]) -> SubmitSm {
        SubmitSm::builder()
            .source_addr_ton(Ton::International)
            .source_addr_npi(Npi::Isdn)
            .source_addr("4420000001".parse().unwrap())
            .dest_addr_ton(Ton::International)
            .dest_addr_npi(Npi::Isdn)
            .destination_addr(dest.parse().unwrap())
            .esm_class(EsmClass::from(0))
            .data_coding(DataCoding::from(coding))
            .short_message(OctetString::from_slice(msg).unwrap())
            .build()
    }

    #[test]
    fn plain_gsm_text() {
        let s = check(&submit("+491701234567", 0, b"hello")).unwrap();
        assert_eq!(s.destination, "491701234567");
        assert_eq!(s.originator.to_string(), "+4420000001");
        assert_eq!(s.dcs, Dcs::GSM7);
        assert_eq!(s.user_data.text(s.dcs).as_deref(), Some("hello"));
        assert_eq!(s.receipt, ReceiptRequest::None);
        assert_eq!(s.preview, b"hello");
    }

    #[test]
    fn codings() {
        let s = check(&submit("1", 1, b"a@b")).unwrap();
        assert_eq!(s.user_data.data, vec![0x61, 0x00, 0x62]);
        let s = check(&submit("1", 3, &[0xE9, b't', 0xE9])).unwrap();
        assert_eq!(
            (s.dcs, s.user_data.text(s.dcs).as_deref()),
            (Dcs::GSM7, Some("\u{e9}t\u{e9}"))
        );
        let s = check(&submit("1", 3, &[0xE2])).unwrap(); // â is not GSM
        assert_eq!(s.dcs, Dcs::UCS2);
        let s = check(&submit("1", 4, &[0xFF, 0x00])).unwrap();
        assert_eq!(
            (s.dcs, s.user_data.data.clone()),
            (Dcs::DATA8, vec![0xFF, 0])
        );
        let s = check(&submit("1", 8, &[0x04, 0x1F])).unwrap();
        assert_eq!(s.dcs, Dcs::UCS2);
        let s = check(&submit("1", 0xF6, &[0x80])).unwrap();
        assert_eq!(s.dcs, Dcs(0xF6));
        assert_eq!(
            check(&submit("1", 8, &[1, 2, 3])),
            Err(CommandStatus::EsmeRinvmsglen)
        );
        assert_eq!(
            check(&submit("1", 0, &[0x80])),
            Err(CommandStatus::EsmeRinvdcs)
        );
        assert_eq!(
            check(&submit("1", 1, b"`")),
            Err(CommandStatus::EsmeRinvdcs)
        );
        for bad in [0x05u8, 0x06, 0x07, 0x09, 0x0A, 0x0D, 0x0E, 0xC0, 0xF8] {
            assert_eq!(
                check(&submit("1", bad, b"x")),
                Err(CommandStatus::EsmeRinvdcs),
                "{bad:#x}"
            );
        }
    }

    #[test]
    fn addresses() {
        assert_eq!(
            check(&submit("12ab", 0, b"x")),
            Err(CommandStatus::EsmeRinvdstadr)
        );
        assert_eq!(
            check(&submit("1234567890123456", 0, b"x")),
            Err(CommandStatus::EsmeRinvdstadr)
        );
        let mut s = submit("1", 0, b"x");
        s.dest_addr_ton = Ton::National;
        assert_eq!(check(&s), Err(CommandStatus::EsmeRinvdstton));
        let mut s = submit("1", 0, b"x");
        s.dest_addr_npi = Npi::Internet;
        assert_eq!(check(&s), Err(CommandStatus::EsmeRinvdstnpi));
        let mut s = submit("1", 0, b"x");
        s.source_addr = "".parse().unwrap();
        assert_eq!(check(&s), Err(CommandStatus::EsmeRinvsrcadr));
        let mut s = submit("1", 0, b"x");
        s.source_addr = "12-34".parse().unwrap();
        assert_eq!(check(&s), Err(CommandStatus::EsmeRinvsrcadr));
        let mut s = submit("1", 0, b"x");
        s.source_addr_ton = Ton::Alphanumeric;
        s.source_addr_npi = Npi::Unknown;
        s.source_addr = "HomeAgent".parse().unwrap();
        let ok = check(&s).unwrap();
        assert_eq!(ok.originator, Address::alphanumeric("HomeAgent").unwrap());
        s.source_addr = "HomeAgentKeys".parse().unwrap();
        assert_eq!(check(&s), Err(CommandStatus::EsmeRinvsrcadr));
        let mut s = submit("1", 0, b"x");
        s.source_addr_ton = Ton::Other(7);
        assert_eq!(check(&s), Err(CommandStatus::EsmeRinvsrcton));
        let mut s = submit("1", 0, b"x");
        s.source_addr_npi = Npi::Other(18);
        assert_eq!(check(&s), Err(CommandStatus::EsmeRinvsrcnpi));
    }

    #[test]
    fn flags() {
        let mut s = submit("1", 0, b"x");
        s.esm_class = EsmClass::from(0x08);
        assert_eq!(check(&s), Err(CommandStatus::EsmeRinvesmclass));
        s.esm_class = EsmClass::from(0xC3);
        assert_eq!(check(&s), Err(CommandStatus::EsmeRinvmsglen)); // UDHI, but no header
        let mut s = submit("1", 0, b"x");
        s.registered_delivery = RegisteredDelivery::from(3);
        assert_eq!(check(&s), Err(CommandStatus::EsmeRinvregdlvflg));
        s.registered_delivery = RegisteredDelivery::from(0x11);
        assert_eq!(check(&s).unwrap().receipt, ReceiptRequest::Always);
        s.registered_delivery = RegisteredDelivery::from(2);
        assert_eq!(check(&s).unwrap().receipt, ReceiptRequest::OnFailure);
        let mut s = submit("1", 0, b"x");
        s.priority_flag = rusmpp::values::PriorityFlag::from(4);
        assert_eq!(check(&s), Err(CommandStatus::EsmeRinvprtflg));
        let mut s = submit("1", 0, b"x");
        s.replace_if_present_flag = rusmpp::values::ReplaceIfPresentFlag::from(1);
        assert_eq!(check(&s), Err(CommandStatus::EsmeRinvrepflag));
        let mut s = submit("1", 0, b"x");
        s.sm_default_msg_id = 1;
        assert_eq!(check(&s), Err(CommandStatus::EsmeRinvdftmsgid));
        let mut s = submit("1", 0, b"x");
        s.validity_period =
            EmptyOrFullCOctetString::from_string("991399000000000+".into()).unwrap();
        assert_eq!(check(&s), Err(CommandStatus::EsmeRinvexpiry));
        let mut s = submit("1", 0, b"x");
        s.schedule_delivery_time =
            EmptyOrFullCOctetString::from_string("000000000000000Q".into()).unwrap();
        assert_eq!(check(&s), Err(CommandStatus::EsmeRinvsched));
        s.schedule_delivery_time =
            EmptyOrFullCOctetString::from_string("000000001000000R".into()).unwrap();
        assert!(check(&s).unwrap().schedule.is_some());
    }

    #[test]
    fn udh_and_payload() {
        let mut s = submit("1", 4, &[5, 0, 3, 9, 2, 1, 0xAA, 0xBB]);
        s.esm_class = EsmClass::from(0x40);
        let c = check(&s).unwrap();
        assert_eq!(
            c.user_data
                .header
                .as_ref()
                .and_then(|h| h.concat())
                .map(|c| c.seq),
            Some(1)
        );
        assert_eq!(c.user_data.data, vec![0xAA, 0xBB]);
        // A header that overruns.
        let mut s = submit("1", 4, &[9, 0, 3]);
        s.esm_class = EsmClass::from(0x40);
        assert_eq!(check(&s), Err(CommandStatus::EsmeRinvmsglen));
        // message_payload instead of short_message: long 8-bit data is split later.
        let mut s = submit("1", 4, b"");
        s.push_tlv(MessageSubmissionRequestTlvValue::MessagePayload(
            MessagePayload::new(AnyOctetString::from_vec(vec![7u8; 300])),
        ));
        let c = check(&s).unwrap();
        assert_eq!(c.user_data.data.len(), 300);
        assert_eq!(segment_count(&c.user_data, c.dcs), 3);
        // Both at once.
        let mut s = submit("1", 4, b"x");
        s.push_tlv(MessageSubmissionRequestTlvValue::MessagePayload(
            MessagePayload::new(AnyOctetString::from_vec(vec![7u8; 3])),
        ));
        assert_eq!(check(&s), Err(CommandStatus::EsmeRinvmsglen));
    }

    #[test]
    fn segmentation_keeps_pairs_whole() {
        let mut d = vec![0x41; 152];
        d.push(0x1B);
        d.push(0x65); // € straddling 153
        d.extend([0x41; 10]);
        let b = segment_bounds(&d, Dcs::GSM7);
        assert_eq!(b, vec![(0, 152), (152, 164)]);
        let mut u = vec![0x00; 132];
        u.extend([0xD8, 0x3D, 0xDE, 0x00]); // a surrogate pair at 132..136
        let b = segment_bounds(&u, Dcs::UCS2);
        assert_eq!(b, vec![(0, 132), (132, 136)]);
        assert_eq!(
            segment_bounds(&[0; 268], Dcs::DATA8),
            vec![(0, 134), (134, 268)]
        );
    }
}
