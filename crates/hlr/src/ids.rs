//! Subscriber identities as validated values: an [`Imsi`] or [`Msisdn`] that
//! exists has already been checked, so the store, the AuC and the GSUP handler
//! never see a malformed one.

use core::fmt;

/// Why a string is not a valid IMSI or MSISDN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The IMSI is not 5 to 15 decimal digits (TS 23.003 §2.2: at most 15
    /// digits; osmo-hlr accepts 5 and more).
    #[error("invalid IMSI: must be 5 to 15 decimal digits")]
    InvalidImsi,
    /// The MSISDN is not 1 to 15 decimal digits (ITU-T E.164 §6: at most 15
    /// digits).
    #[error("invalid MSISDN: must be 1 to 15 decimal digits")]
    InvalidMsisdn,
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// An International Mobile Subscriber Identity: 5 to 15 decimal digits
/// (TS 23.003 §2.2; MCC and MNC alone make 5 or 6 digits).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Imsi(String);

impl Imsi {
    /// The fewest digits accepted: MCC (3) + MNC (2).
    pub const MIN_DIGITS: usize = 5;
    /// The most digits an IMSI has (TS 23.003 §2.2).
    pub const MAX_DIGITS: usize = 15;

    /// Check and wrap an IMSI given as decimal digits.
    pub fn new(digits: &str) -> Result<Imsi, IdError> {
        if !(Self::MIN_DIGITS..=Self::MAX_DIGITS).contains(&digits.len()) || !all_digits(digits) {
            return Err(IdError::InvalidImsi);
        }
        Ok(Imsi(digits.to_owned()))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl core::str::FromStr for Imsi {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Imsi, IdError> {
        Imsi::new(s)
    }
}

impl fmt::Display for Imsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Imsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Imsi({})", self.0)
    }
}

/// A subscriber's directory number (MSISDN): 1 to 15 decimal digits, in
/// international format without a leading `+` (ITU-T E.164 §6).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Msisdn(String);

impl Msisdn {
    /// The most digits an E.164 number has.
    pub const MAX_DIGITS: usize = 15;

    /// Check and wrap an MSISDN given as decimal digits.
    pub fn new(digits: &str) -> Result<Msisdn, IdError> {
        if digits.is_empty() || digits.len() > Self::MAX_DIGITS || !all_digits(digits) {
            return Err(IdError::InvalidMsisdn);
        }
        Ok(Msisdn(digits.to_owned()))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl core::str::FromStr for Msisdn {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Msisdn, IdError> {
        Msisdn::new(s)
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Msisdn({})", self.0)
    }
}

impl serde::Serialize for Imsi {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl serde::Serialize for Msisdn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imsi_bounds() {
        assert!(Imsi::new("00101").is_ok());
        assert!(Imsi::new("001010000000001").is_ok());
        assert_eq!(Imsi::new("0010"), Err(IdError::InvalidImsi));
        assert_eq!(Imsi::new("0010100000000012"), Err(IdError::InvalidImsi));
        assert_eq!(Imsi::new("00101a"), Err(IdError::InvalidImsi));
        assert_eq!(Imsi::new(""), Err(IdError::InvalidImsi));
        assert_eq!(Imsi::new("+00101"), Err(IdError::InvalidImsi));
    }

    #[test]
    fn msisdn_bounds() {
        assert!(Msisdn::new("1").is_ok());
        assert!(Msisdn::new("123456789012345").is_ok());
        assert_eq!(Msisdn::new(""), Err(IdError::InvalidMsisdn));
        assert_eq!(Msisdn::new("1234567890123456"), Err(IdError::InvalidMsisdn));
        assert_eq!(Msisdn::new("+49"), Err(IdError::InvalidMsisdn));
    }
}
