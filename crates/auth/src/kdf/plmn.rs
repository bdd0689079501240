//! The PLMN identity: MCC and MNC, and its three-octet encoding.
//!
//! Key derivations bind keys to the serving network by its PLMN identity:
//! EPS as the three octets of TS 24.301 §9.9.3.12 (the encoding of TS 24.008
//! §10.5.1.3), 5G as the text of the serving network name. SUCIs carry it as
//! digits (TS 29.503).

use core::fmt;
use core::str::FromStr;

use super::KdfError;

/// A PLMN identity: a three-digit MCC and a two- or three-digit MNC.
///
/// The MNC length is part of the identity: `001-01` and `001-001` are
/// different networks (TS 23.003 §2.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlmnId {
    mcc: [u8; 3],
    mnc: [u8; 3],
    mnc_len: u8,
}

fn digits<const N: usize>(text: &str, out: &mut [u8; N]) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.len() > N {
        return None;
    }
    for (slot, &c) in out.iter_mut().zip(bytes) {
        if !c.is_ascii_digit() {
            return None;
        }
        *slot = c - b'0';
    }
    Some(bytes.len())
}

impl PlmnId {
    /// A PLMN identity from its MCC (3 digits) and MNC (2 or 3 digits).
    ///
    /// # Errors
    /// [`KdfError::InvalidPlmn`] when the MCC is not three decimal digits or
    /// the MNC not two or three.
    pub fn new(mcc: &str, mnc: &str) -> Result<PlmnId, KdfError> {
        let mut id = PlmnId {
            mcc: [0; 3],
            mnc: [0; 3],
            mnc_len: 0,
        };
        let mcc_len = digits(mcc, &mut id.mcc);
        let mnc_len = digits(mnc, &mut id.mnc);
        match (mcc_len, mnc_len) {
            (Some(3), Some(len @ (2 | 3))) => {
                id.mnc_len = len as u8;
                Ok(id)
            }
            _ => Err(KdfError::InvalidPlmn),
        }
    }

    /// The PLMN identity encoded in three octets (TS 24.008 §10.5.1.3):
    /// `MCC2 MCC1 | MNC3 MCC3 | MNC2 MNC1`, one digit per nibble, low nibble
    /// first, with `MNC3 = 0xF` for a two-digit MNC.
    pub fn to_bytes(&self) -> [u8; 3] {
        let mnc3 = if self.mnc_len == 3 { self.mnc[2] } else { 0xf };
        [
            (self.mcc[1] << 4) | self.mcc[0],
            (mnc3 << 4) | self.mcc[2],
            (self.mnc[1] << 4) | self.mnc[0],
        ]
    }

    /// Decode the three-octet form of [`PlmnId::to_bytes`].
    ///
    /// # Errors
    /// [`KdfError::InvalidPlmn`] when a nibble is not a decimal digit (other
    /// than the `0xF` filler of a two-digit MNC).
    pub fn from_bytes(bytes: [u8; 3]) -> Result<PlmnId, KdfError> {
        let nibbles = [
            bytes[0] & 0xf,
            bytes[0] >> 4,
            bytes[1] & 0xf,
            bytes[2] & 0xf,
            bytes[2] >> 4,
        ];
        if nibbles.iter().any(|&n| n > 9) {
            return Err(KdfError::InvalidPlmn);
        }
        let mnc3 = bytes[1] >> 4;
        let (mnc_len, mnc3) = match mnc3 {
            0xf => (2, 0),
            0..=9 => (3, mnc3),
            _ => return Err(KdfError::InvalidPlmn),
        };
        Ok(PlmnId {
            mcc: [nibbles[0], nibbles[1], nibbles[2]],
            mnc: [nibbles[3], nibbles[4], mnc3],
            mnc_len,
        })
    }

    /// The MCC as three ASCII digits.
    pub fn mcc(&self) -> String {
        self.mcc.iter().map(|d| char::from(b'0' + d)).collect()
    }

    /// The MNC as two or three ASCII digits, as configured.
    pub fn mnc(&self) -> String {
        self.mnc[..usize::from(self.mnc_len)]
            .iter()
            .map(|d| char::from(b'0' + d))
            .collect()
    }

    /// The MNC as three digits, a two-digit MNC with a leading `0`: the form
    /// of the serving network name (TS 24.501 §9.12.1) and of the NAI realm
    /// (TS 23.003 §28.7.3).
    pub fn mnc3(&self) -> String {
        let mnc = self.mnc();
        if mnc.len() == 2 {
            format!("0{mnc}")
        } else {
            mnc
        }
    }
}

impl fmt::Debug for PlmnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlmnId({self})")
    }
}

/// `MCC-MNC`, such as `001-01`.
impl fmt::Display for PlmnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.mcc(), self.mnc())
    }
}

/// Parses `MCC-MNC` (`001-01`) or the digits alone with a three-digit MNC
/// assumed only when six digits are given (`00101` is 001/01, `001001` is
/// 001/001).
impl FromStr for PlmnId {
    type Err = KdfError;

    fn from_str(s: &str) -> Result<PlmnId, KdfError> {
        match s.split_once('-') {
            Some((mcc, mnc)) => PlmnId::new(mcc, mnc),
            None if s.is_ascii() && (5..=6).contains(&s.len()) => PlmnId::new(&s[..3], &s[3..]),
            None => Err(KdfError::InvalidPlmn),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_two_and_three_digit_mnc() {
        // TS 24.008 §10.5.1.3 digit order: 262-01 -> 62 f2 10; 310-410 -> 13 00 14
        let two = PlmnId::new("262", "01").unwrap();
        assert_eq!(two.to_bytes(), [0x62, 0xf2, 0x10]);
        let three = PlmnId::new("310", "410").unwrap();
        assert_eq!(three.to_bytes(), [0x13, 0x00, 0x14]);
        assert_eq!(PlmnId::from_bytes(two.to_bytes()), Ok(two));
        assert_eq!(PlmnId::from_bytes(three.to_bytes()), Ok(three));
    }

    #[test]
    fn text_forms() {
        let id: PlmnId = "208-93".parse().unwrap();
        assert_eq!(
            (id.mcc(), id.mnc(), id.mnc3()),
            ("208".into(), "93".into(), "093".into())
        );
        assert_eq!(id.to_string(), "208-93");
        assert_eq!("00101".parse::<PlmnId>(), PlmnId::new("001", "01"));
        assert_eq!("001001".parse::<PlmnId>(), PlmnId::new("001", "001"));
    }

    #[test]
    fn rejects_bad_digits() {
        for (mcc, mnc) in [
            ("20", "93"),
            ("2080", "93"),
            ("208", "9"),
            ("208", "9301"),
            ("2a8", "93"),
            ("208", "+9"),
        ] {
            assert_eq!(
                PlmnId::new(mcc, mnc),
                Err(KdfError::InvalidPlmn),
                "{mcc}/{mnc}"
            );
        }
        assert_eq!(
            PlmnId::from_bytes([0x0a, 0xf0, 0x00]),
            Err(KdfError::InvalidPlmn)
        );
        assert_eq!(
            PlmnId::from_bytes([0x00, 0xe0, 0x00]),
            Err(KdfError::InvalidPlmn)
        );
        assert!("".parse::<PlmnId>().is_err());
        assert!("é0101".parse::<PlmnId>().is_err());
    }
}
