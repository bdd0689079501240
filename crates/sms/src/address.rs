//! Address fields: TP-OA, TP-DA, TP-RA and the SMSC prefix of PDU mode.
//!
//! TS 23.040 §9.1.2.5: an address field is one octet giving the number of
//! useful semi-octets of the value, one Type-of-Address octet
//! (`1 TON(3) NPI(4)`), and the value: BCD digits with swapped nibbles and an
//! `F` filler, or, for TON 5 (alphanumeric), GSM 7-bit packed characters.
//! The whole field is at most 12 octets.
//!
//! TS 27.005 §3.1 (`<pdu>` in PDU mode) prefixes a TPDU with the SMSC
//! address in the TS 24.011 RP-address layout instead: the length counts
//! octets (Type-of-Address plus digits), and zero means "no address".

use crate::error::SmsError;
use crate::gsm7;
use telsec_wire::open_enum;

open_enum! {
    /// Type of number, bits 6..4 of the Type-of-Address (TS 23.040 §9.1.2.5).
    pub enum TypeOfNumber {
        /// Unknown.
        Unknown0 = 0 => "unknown",
        /// International number.
        International = 1 => "international",
        /// National number.
        National = 2 => "national",
        /// Network specific number.
        NetworkSpecific = 3 => "network-specific",
        /// Subscriber number.
        Subscriber = 4 => "subscriber",
        /// Alphanumeric, coded in the GSM 7-bit default alphabet.
        Alphanumeric = 5 => "alphanumeric",
        /// Abbreviated number.
        Abbreviated = 6 => "abbreviated",
    }
}

open_enum! {
    /// Numbering plan identification, bits 3..0 of the Type-of-Address
    /// (TS 23.040 §9.1.2.5).
    pub enum NumberingPlan {
        /// Unknown.
        Unknown0 = 0 => "unknown",
        /// ISDN/telephone numbering plan (E.164/E.163).
        Isdn = 1 => "isdn",
        /// Data numbering plan (X.121).
        Data = 3 => "data",
        /// Telex numbering plan.
        Telex = 4 => "telex",
        /// Service centre specific plan 1.
        ScSpecific1 = 5 => "sc-specific-1",
        /// Service centre specific plan 2.
        ScSpecific2 = 6 => "sc-specific-2",
        /// National numbering plan.
        National = 8 => "national",
        /// Private numbering plan.
        Private = 9 => "private",
        /// ERMES numbering plan (ETSI DE/PS 3 01-3).
        Ermes = 10 => "ermes",
        /// Reserved for extension.
        Extension = 15 => "extension",
    }
}

/// Largest address field, length and TOA octets included (TS 23.040 §9.1.2.5).
pub const MAX_ADDRESS_FIELD: usize = 12;
/// Largest number of digits in an address value (10 octets of BCD).
pub const MAX_DIGITS: usize = 20;
/// Largest number of alphanumeric characters (10 octets of packed septets).
pub const MAX_ALPHA_CHARS: usize = 11;

/// The value of an address, in the form its type of number selects.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AddressValue {
    /// Semi-octet digits, each one of `0-9 * # a b c` (TS 24.008 §10.5.4.7).
    Digits(String),
    /// Alphanumeric text (TON 5), decoded from GSM 7-bit septets.
    Alphanumeric(String),
}

/// A TS 23.040 address: TP-OA, TP-DA or TP-RA.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    /// Type of number.
    pub ton: TypeOfNumber,
    /// Numbering plan.
    pub npi: NumberingPlan,
    /// The number or the alphanumeric text.
    pub value: AddressValue,
}

impl Address {
    /// An international E.164 number; a leading `+` is dropped.
    pub fn international(number: &str) -> Result<Self, SmsError> {
        Self::digits(
            TypeOfNumber::International,
            NumberingPlan::Isdn,
            number.trim_start_matches('+'),
        )
    }

    /// A numeric address with the given type of number and plan.
    pub fn digits(ton: TypeOfNumber, npi: NumberingPlan, digits: &str) -> Result<Self, SmsError> {
        check_digits(digits)?;
        Ok(Address {
            ton,
            npi,
            value: AddressValue::Digits(digits.to_owned()),
        })
    }

    /// An alphanumeric address (TON 5, NPI unknown), at most 11 characters.
    pub fn alphanumeric(text: &str) -> Result<Self, SmsError> {
        let septets = gsm7::encode(text)?;
        if septets.len() > MAX_ALPHA_CHARS {
            return Err(SmsError::TooLong {
                field: "alphanumeric address",
                len: septets.len(),
                max: MAX_ALPHA_CHARS,
            });
        }
        Ok(Address {
            ton: TypeOfNumber::Alphanumeric,
            npi: NumberingPlan::Unknown0,
            value: AddressValue::Alphanumeric(text.to_owned()),
        })
    }

    /// The digits or text, as a string.
    pub fn as_str(&self) -> &str {
        match &self.value {
            AddressValue::Digits(s) | AddressValue::Alphanumeric(s) => s,
        }
    }

    /// The Type-of-Address octet (extension bit set).
    pub fn toa(&self) -> u8 {
        toa(self.ton, self.npi)
    }

    /// Parses an address field from the front of `buf`, returning it and
    /// the number of octets it used.
    pub fn parse(buf: &[u8]) -> Result<(Self, usize), SmsError> {
        let (&len, rest) = buf
            .split_first()
            .ok_or(SmsError::Truncated("address length"))?;
        let semi = usize::from(len);
        let octets = semi.div_ceil(2);
        if octets + 2 > MAX_ADDRESS_FIELD {
            return Err(SmsError::TooLong {
                field: "address",
                len: octets + 2,
                max: MAX_ADDRESS_FIELD,
            });
        }
        let (&toa_octet, rest) = rest
            .split_first()
            .ok_or(SmsError::Truncated("type of address"))?;
        let body = rest
            .get(..octets)
            .ok_or(SmsError::Truncated("address value"))?;
        let (ton, npi) = split_toa(toa_octet);
        let value = if ton == TypeOfNumber::Alphanumeric {
            // Characters that fit in the useful semi-octets (4 bits each).
            let chars = semi * 4 / 7;
            let septets = gsm7::unpack(body, 0, chars);
            AddressValue::Alphanumeric(gsm7::decode(&septets))
        } else {
            AddressValue::Digits(decode_bcd_digits(body, semi)?)
        };
        Ok((Address { ton, npi, value }, 2 + octets))
    }

    /// The encoded length of the field, length and TOA octets included.
    pub fn buffer_len(&self) -> usize {
        2 + self.semi_octets().div_ceil(2)
    }

    fn semi_octets(&self) -> usize {
        match &self.value {
            AddressValue::Digits(d) => d.chars().count(),
            AddressValue::Alphanumeric(t) => {
                let septets = gsm7::encode(t).map(|s| s.len()).unwrap_or(0);
                (septets * 7).div_ceil(4)
            }
        }
    }

    /// Appends the encoded field to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), SmsError> {
        match &self.value {
            AddressValue::Digits(d) => {
                check_digits(d)?;
                let n = d.chars().count();
                if n > MAX_DIGITS {
                    return Err(SmsError::TooLong {
                        field: "address digits",
                        len: n,
                        max: MAX_DIGITS,
                    });
                }
                out.push(n as u8);
                out.push(self.toa());
                encode_bcd_digits(d, out)?;
            }
            AddressValue::Alphanumeric(t) => {
                let septets = gsm7::encode(t)?;
                if septets.len() > MAX_ALPHA_CHARS {
                    return Err(SmsError::TooLong {
                        field: "alphanumeric address",
                        len: septets.len(),
                        max: MAX_ALPHA_CHARS,
                    });
                }
                out.push((septets.len() * 7).div_ceil(4) as u8);
                out.push(self.toa());
                out.extend_from_slice(&gsm7::pack(&septets, 0));
            }
        }
        Ok(())
    }
}

impl core::fmt::Display for Address {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match (&self.value, self.ton) {
            (AddressValue::Digits(d), TypeOfNumber::International) => write!(f, "+{d}"),
            (AddressValue::Digits(d) | AddressValue::Alphanumeric(d), _) => f.write_str(d),
        }
    }
}

/// The SMSC address that precedes the TPDU in PDU mode (TS 27.005 §3.1,
/// TS 24.011 §8.2.5.1). `None` in the containing `Option` is the
/// zero-length form: "use the SMSC stored in the phone".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmscAddress {
    /// Type of number.
    pub ton: TypeOfNumber,
    /// Numbering plan.
    pub npi: NumberingPlan,
    /// BCD digits.
    pub digits: String,
}

/// Largest SMSC value: TOA plus 10 octets of digits (TS 24.011 §8.2.5.1
/// allows up to 11 octets after the length; 10 hold 20 digits).
const MAX_SMSC_OCTETS: usize = 11;

impl SmscAddress {
    /// An international E.164 SMSC number; a leading `+` is dropped.
    pub fn international(number: &str) -> Result<Self, SmsError> {
        let digits = number.trim_start_matches('+');
        check_digits(digits)?;
        if digits.len() > MAX_DIGITS {
            return Err(SmsError::TooLong {
                field: "SMSC digits",
                len: digits.len(),
                max: MAX_DIGITS,
            });
        }
        Ok(SmscAddress {
            ton: TypeOfNumber::International,
            npi: NumberingPlan::Isdn,
            digits: digits.to_owned(),
        })
    }

    /// Parses the optional SMSC prefix from the front of a PDU-mode octet
    /// string; returns it and the octets used (at least 1).
    pub fn parse_prefix(buf: &[u8]) -> Result<(Option<Self>, usize), SmsError> {
        let (&len, rest) = buf
            .split_first()
            .ok_or(SmsError::Truncated("SMSC length"))?;
        let len = usize::from(len);
        if len == 0 {
            return Ok((None, 1));
        }
        if len > MAX_SMSC_OCTETS {
            return Err(SmsError::TooLong {
                field: "SMSC address",
                len,
                max: MAX_SMSC_OCTETS,
            });
        }
        let body = rest.get(..len).ok_or(SmsError::Truncated("SMSC address"))?;
        let (ton, npi) = split_toa(body[0]);
        let digit_octets = &body[1..];
        // The digit count is implicit: a trailing F filler marks an odd one.
        let mut semi = digit_octets.len() * 2;
        if digit_octets.last().is_some_and(|b| b >> 4 == 0xF) {
            semi -= 1;
        }
        let digits = decode_bcd_digits(digit_octets, semi)?;
        Ok((Some(SmscAddress { ton, npi, digits }), 1 + len))
    }

    /// Appends the prefix for `smsc` (the single octet `00` for `None`).
    pub fn emit_prefix(smsc: Option<&Self>, out: &mut Vec<u8>) -> Result<(), SmsError> {
        match smsc {
            None => out.push(0),
            Some(s) => {
                check_digits(&s.digits)?;
                let n = s.digits.chars().count();
                if n > MAX_DIGITS {
                    return Err(SmsError::TooLong {
                        field: "SMSC digits",
                        len: n,
                        max: MAX_DIGITS,
                    });
                }
                out.push((1 + n.div_ceil(2)) as u8);
                out.push(toa(s.ton, s.npi));
                encode_bcd_digits(&s.digits, out)?;
            }
        }
        Ok(())
    }
}

fn toa(ton: TypeOfNumber, npi: NumberingPlan) -> u8 {
    0x80 | ((u8::from(ton) & 0x07) << 4) | (u8::from(npi) & 0x0F)
}

fn split_toa(octet: u8) -> (TypeOfNumber, NumberingPlan) {
    (
        TypeOfNumber::from((octet >> 4) & 0x07),
        NumberingPlan::from(octet & 0x0F),
    )
}

fn check_digits(digits: &str) -> Result<(), SmsError> {
    match digits.chars().find(|&c| digit_value(c).is_none()) {
        Some(c) => Err(SmsError::InvalidDigit(c)),
        None => Ok(()),
    }
}

/// Semi-octet value of an address digit (TS 24.008 §10.5.4.7 table).
fn digit_value(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '*' => Some(0xA),
        '#' => Some(0xB),
        'a' | 'A' => Some(0xC),
        'b' | 'B' => Some(0xD),
        'c' | 'C' => Some(0xE),
        _ => None,
    }
}

fn digit_char(v: u8) -> Option<char> {
    match v {
        0..=9 => Some(char::from(b'0' + v)),
        0xA => Some('*'),
        0xB => Some('#'),
        0xC => Some('a'),
        0xD => Some('b'),
        0xE => Some('c'),
        _ => None,
    }
}

/// Decodes `count` semi-octets, low nibble first.
fn decode_bcd_digits(octets: &[u8], count: usize) -> Result<String, SmsError> {
    let mut s = String::with_capacity(count);
    for i in 0..count {
        let octet = *octets
            .get(i / 2)
            .ok_or(SmsError::Truncated("address digits"))?;
        let nibble = if i % 2 == 0 { octet & 0x0F } else { octet >> 4 };
        s.push(digit_char(nibble).ok_or(SmsError::InvalidBcd(nibble))?);
    }
    Ok(s)
}

fn encode_bcd_digits(digits: &str, out: &mut Vec<u8>) -> Result<(), SmsError> {
    let mut pending: Option<u8> = None;
    for c in digits.chars() {
        let v = digit_value(c).ok_or(SmsError::InvalidDigit(c))?;
        match pending.take() {
            None => pending = Some(v),
            Some(low) => out.push(low | (v << 4)),
        }
    }
    if let Some(low) = pending {
        out.push(low | 0xF0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn international_odd_digits() {
        // TP-DA from the well-known "hellohello" SMS-SUBMIT: +46708251358.
        let bytes = [0x0B, 0x91, 0x64, 0x07, 0x28, 0x15, 0x53, 0xF8];
        let (a, used) = Address::parse(&bytes).unwrap();
        assert_eq!(used, 8);
        assert_eq!(a.ton, TypeOfNumber::International);
        assert_eq!(a.npi, NumberingPlan::Isdn);
        assert_eq!(a.as_str(), "46708251358");
        assert_eq!(a.to_string(), "+46708251358");
        let mut out = Vec::new();
        a.emit(&mut out).unwrap();
        assert_eq!(out, bytes);
        assert_eq!(a.buffer_len(), 8);
    }

    #[test]
    fn alphanumeric_round_trip() {
        let a = Address::alphanumeric("telsec HA").unwrap();
        let mut out = Vec::new();
        a.emit(&mut out).unwrap();
        assert_eq!(out[0], 16); // 9 septets = 63 bits = 16 semi-octets
        assert_eq!(out[1], 0xD0);
        assert_eq!(out.len(), a.buffer_len());
        let (b, used) = Address::parse(&out).unwrap();
        assert_eq!(used, out.len());
        assert_eq!(b, a);
    }

    #[test]
    fn alphanumeric_known_bytes() {
        // "Design@Home" as sent by a commercial SMSC: length 20, TOA D0.
        let bytes = hex::decode("14D0C4F23C7D760390EF7619").unwrap();
        let (a, used) = Address::parse(&bytes).unwrap();
        assert_eq!(used, 12);
        assert_eq!(a.as_str(), "Design@Home");
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            Address::parse(&[]),
            Err(SmsError::Truncated("address length"))
        );
        assert!(matches!(
            Address::parse(&[0x15, 0x91]),
            Err(SmsError::TooLong { .. })
        ));
        assert_eq!(
            Address::parse(&[0x04, 0x91, 0x21]),
            Err(SmsError::Truncated("address value"))
        );
        assert!(Address::international("12x").is_err());
        assert!(Address::alphanumeric("twelve chars").is_err());
    }

    #[test]
    fn smsc_prefix() {
        let bytes = hex::decode("07917283010010F5").unwrap();
        let (s, used) = SmscAddress::parse_prefix(&bytes).unwrap();
        assert_eq!(used, 8);
        let s = s.unwrap();
        assert_eq!(s.digits, "27381000015");
        let mut out = Vec::new();
        SmscAddress::emit_prefix(Some(&s), &mut out).unwrap();
        assert_eq!(out, bytes);
        assert_eq!(SmscAddress::parse_prefix(&[0]).unwrap(), (None, 1));
        assert!(SmscAddress::parse_prefix(&[0x0C]).is_err());
    }
}
