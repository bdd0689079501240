//! BCD / TBCD digit strings: the IMSI and the address-string IEs.
//!
//! GSUP carries subscriber numbers the way 3GPP TS 24.008 §10.5.4.7 (Called
//! Party BCD Number) packs them: two digits per octet, the first digit in the
//! low nibble, and an odd digit count padded with `1111` in the high nibble of
//! the last octet. Nibbles 0xA..=0xE stand for `*`, `#`, `a`, `b`, `c`.
//!
//! Two layouts exist on the wire for the address-string IEs (MSISDN 0x08,
//! HLR Number 0x09, IMEI 0x50), and both are in use:
//!
//! * the form osmo-hlr and osmo-msc actually send and expect
//!   (`gsm48_encode_bcd_number` with no header): a length octet counting the
//!   BCD octets that follow, then the digits; octets after that are ignored
//!   (osmo-gsm-manuals `gsup.adoc`, "ISDN-AddressString / MSISDN");
//! * the ISDN-AddressString of TS 29.002 §17.7.8: a TON/NPI octet with the
//!   extension bit set, then the digits (libosmocore's own unit tests).
//!
//! A length octet is at most 0x7f here while a TON/NPI octet always has bit 8
//! set, so [`AddressString::digits`] tells the two apart without guessing.

use core::fmt;

use crate::message::GsupError;

/// The largest number of IMSI digits (3GPP TS 23.003 §2.2).
pub const IMSI_MAX_DIGITS: usize = 15;

/// Maps a BCD nibble to its character (TS 24.008 Table 10.5.118).
fn nibble_to_char(nibble: u8) -> Option<char> {
    match nibble {
        0..=9 => Some(char::from(b'0' + nibble)),
        0xa => Some('*'),
        0xb => Some('#'),
        0xc => Some('a'),
        0xd => Some('b'),
        0xe => Some('c'),
        _ => None,
    }
}

/// Maps a digit character to its BCD nibble.
fn char_to_nibble(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '*' => Some(0xa),
        '#' => Some(0xb),
        'a' | 'A' => Some(0xc),
        'b' | 'B' => Some(0xd),
        'c' | 'C' => Some(0xe),
        _ => None,
    }
}

/// Appends `digits` packed as BCD (low nibble first, `F` filler when odd).
pub fn encode_bcd(digits: &str, out: &mut Vec<u8>) -> Result<(), GsupError> {
    let mut pending: Option<u8> = None;
    for c in digits.chars() {
        let nibble = char_to_nibble(c).ok_or(GsupError::InvalidDigits)?;
        match pending.take() {
            None => pending = Some(nibble),
            Some(low) => out.push(low | (nibble << 4)),
        }
    }
    if let Some(low) = pending {
        out.push(low | 0xf0);
    }
    Ok(())
}

/// Number of octets [`encode_bcd`] produces for `digit_count` digits.
pub fn bcd_len(digit_count: usize) -> usize {
    digit_count.div_ceil(2)
}

/// Decodes packed BCD digits.
///
/// A `1111` nibble is accepted only as the filler in the high nibble of the
/// last octet, so that every accepted input re-encodes to the same bytes.
pub fn decode_bcd(bytes: &[u8]) -> Result<String, GsupError> {
    let mut out = String::with_capacity(bytes.len() * 2);
    for (i, &octet) in bytes.iter().enumerate() {
        let low = octet & 0x0f;
        let high = octet >> 4;
        out.push(nibble_to_char(low).ok_or(GsupError::InvalidDigits)?);
        if high == 0xf && i + 1 == bytes.len() {
            break;
        }
        out.push(nibble_to_char(high).ok_or(GsupError::InvalidDigits)?);
    }
    Ok(out)
}

/// An IMSI: up to 15 decimal digits (3GPP TS 23.003 §2.2).
///
/// The GSUP IMSI IE (0x01) carries the digits as TBCD with no type nibble and
/// no length octet (osmo-gsm-manuals `gsup.adoc`, "IMSI"). An empty IMSI is
/// representable because osmo peers put one in some routing-error replies;
/// use [`Imsi::is_valid`] before trusting an IMSI from the network.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Imsi(String);

impl Imsi {
    /// Checks that `digits` is at most 15 decimal digits.
    pub fn new(digits: &str) -> Result<Imsi, GsupError> {
        if digits.len() > IMSI_MAX_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(GsupError::InvalidImsi);
        }
        Ok(Imsi(digits.to_owned()))
    }

    /// Decodes the value part of an IMSI IE.
    pub fn from_tbcd(bytes: &[u8]) -> Result<Imsi, GsupError> {
        if bytes.len() > bcd_len(IMSI_MAX_DIGITS) {
            return Err(GsupError::InvalidImsi);
        }
        let digits = decode_bcd(bytes).map_err(|_| GsupError::InvalidImsi)?;
        Imsi::new(&digits)
    }

    /// Appends the TBCD value part of the IMSI IE.
    pub fn emit_tbcd(&self, out: &mut Vec<u8>) {
        // Only decimal digits get in (see `new`), so encoding cannot fail.
        let mut pending: Option<u8> = None;
        for b in self.0.bytes() {
            let nibble = b - b'0';
            match pending.take() {
                None => pending = Some(nibble),
                Some(low) => out.push(low | (nibble << 4)),
            }
        }
        if let Some(low) = pending {
            out.push(low | 0xf0);
        }
    }

    /// Length of the TBCD value part.
    pub fn tbcd_len(&self) -> usize {
        bcd_len(self.0.len())
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for 6 to 15 digits, the test osmo-hlr applies before serving a
    /// request (`osmo_imsi_str_valid`; MCC + MNC + at least one MSIN digit).
    pub fn is_valid(&self) -> bool {
        (6..=IMSI_MAX_DIGITS).contains(&self.0.len())
    }
}

impl fmt::Display for Imsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::str::FromStr for Imsi {
    type Err = GsupError;
    fn from_str(s: &str) -> Result<Imsi, GsupError> {
        Imsi::new(s)
    }
}

/// The value of an MSISDN (0x08), HLR Number (0x09) or IMEI (0x50) IE,
/// kept as received so that it re-encodes byte for byte.
///
/// See the module documentation for the two layouts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AddressString(Vec<u8>);

/// TON/NPI octet for an international E.164 number: extension bit set,
/// type of number "international", numbering plan "ISDN/telephony"
/// (TS 29.002 §17.7.8 AddressString).
pub const TON_NPI_INTERNATIONAL_E164: u8 = 0x91;

/// Which layout an [`AddressString`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressLayout {
    /// Length octet, BCD digits, ignored trailing octets (what osmo-hlr sends).
    LengthPrefixed,
    /// TON/NPI octet, then BCD digits (TS 29.002 ISDN-AddressString).
    TonNpi(u8),
    /// No octets at all.
    Empty,
}

impl AddressString {
    /// Wraps raw IE value bytes.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> AddressString {
        AddressString(bytes.into())
    }

    /// Builds the length-prefixed layout osmo-hlr uses for MSISDN and
    /// osmo-msc for the IMEI: `<n> <n BCD octets>`.
    pub fn length_prefixed(digits: &str) -> Result<AddressString, GsupError> {
        let mut bytes = vec![0u8];
        encode_bcd(digits, &mut bytes)?;
        let n = bytes.len() - 1;
        // 0x7f keeps the length octet distinguishable from a TON/NPI octet.
        bytes[0] = u8::try_from(n)
            .ok()
            .filter(|&n| n <= 0x7f)
            .ok_or(GsupError::InvalidDigits)?;
        Ok(AddressString(bytes))
    }

    /// Builds the ISDN-AddressString layout: `<TON/NPI> <BCD octets>`.
    /// `ton_npi` must have its extension bit (0x80) set.
    pub fn with_ton_npi(ton_npi: u8, digits: &str) -> Result<AddressString, GsupError> {
        if ton_npi & 0x80 == 0 {
            return Err(GsupError::InvalidDigits);
        }
        let mut bytes = vec![ton_npi];
        encode_bcd(digits, &mut bytes)?;
        Ok(AddressString(bytes))
    }

    /// The raw IE value.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Which of the two layouts the value is in.
    pub fn layout(&self) -> AddressLayout {
        match self.0.first() {
            None => AddressLayout::Empty,
            Some(&b) if b & 0x80 != 0 => AddressLayout::TonNpi(b),
            Some(_) => AddressLayout::LengthPrefixed,
        }
    }

    /// Decodes the digits, whichever layout is used.
    pub fn digits(&self) -> Result<String, GsupError> {
        match self.layout() {
            AddressLayout::Empty => Ok(String::new()),
            AddressLayout::TonNpi(_) => decode_bcd(&self.0[1..]),
            AddressLayout::LengthPrefixed => {
                let n = usize::from(self.0[0]);
                let bcd = self.0.get(1..1 + n).ok_or(GsupError::InvalidDigits)?;
                decode_bcd(bcd)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imsi_tbcd_round_trip() {
        let imsi = Imsi::new("123456789012345").unwrap();
        let mut out = Vec::new();
        imsi.emit_tbcd(&mut out);
        assert_eq!(out, [0x21, 0x43, 0x65, 0x87, 0x09, 0x21, 0x43, 0xf5]);
        assert_eq!(imsi.tbcd_len(), 8);
        assert_eq!(Imsi::from_tbcd(&out).unwrap(), imsi);
    }

    #[test]
    fn imsi_even_digits() {
        let imsi = Imsi::from_tbcd(&[0x21, 0x43]).unwrap();
        assert_eq!(imsi.as_str(), "1234");
        assert!(!imsi.is_valid());
        assert!(Imsi::new("001010000000001").unwrap().is_valid());
    }

    #[test]
    fn imsi_rejects_bad_input() {
        assert!(Imsi::new("1234567890123456").is_err());
        assert!(Imsi::new("12a4").is_err());
        // Filler in the middle.
        assert!(Imsi::from_tbcd(&[0xf1, 0x21]).is_err());
        // '*' is BCD but not an IMSI digit.
        assert!(Imsi::from_tbcd(&[0x1a]).is_err());
        // 16 digits.
        assert!(Imsi::from_tbcd(&[0x11; 8]).is_err());
        assert!(Imsi::from_tbcd(&[0x11; 9]).is_err());
    }

    #[test]
    fn bcd_special_digits() {
        let mut out = Vec::new();
        encode_bcd("*#abc", &mut out).unwrap();
        assert_eq!(out, [0xba, 0xdc, 0xfe]);
        assert_eq!(decode_bcd(&out).unwrap(), "*#abc");
        assert!(encode_bcd("12-3", &mut out).is_err());
        assert!(decode_bcd(&[0xff]).is_err());
    }

    #[test]
    fn msisdn_length_prefixed_like_osmo_hlr() {
        let a = AddressString::length_prefixed("4915").unwrap();
        assert_eq!(a.as_bytes(), [0x02, 0x94, 0x51]);
        assert_eq!(a.layout(), AddressLayout::LengthPrefixed);
        assert_eq!(a.digits().unwrap(), "4915");
        let odd = AddressString::length_prefixed("123").unwrap();
        assert_eq!(odd.as_bytes(), [0x02, 0x21, 0xf3]);
        // Trailing octets after the counted BCD part are ignored.
        let padded = AddressString::from_bytes(vec![0x01, 0x21, 0xee]);
        assert_eq!(padded.digits().unwrap(), "12");
        // A length octet that overruns the value is an error.
        assert!(
            AddressString::from_bytes(vec![0x05, 0x21])
                .digits()
                .is_err()
        );
    }

    #[test]
    fn msisdn_ton_npi() {
        let a = AddressString::with_ton_npi(TON_NPI_INTERNATIONAL_E164, "4916").unwrap();
        assert_eq!(a.as_bytes(), [0x91, 0x94, 0x61]);
        assert_eq!(a.layout(), AddressLayout::TonNpi(0x91));
        assert_eq!(a.digits().unwrap(), "4916");
        assert!(AddressString::with_ton_npi(0x11, "1").is_err());
        assert_eq!(AddressString::default().digits().unwrap(), "");
    }
}
