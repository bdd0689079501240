//! EAP-AKA' attributes (RFC 4187 §8.1 and §10, RFC 9048 §3.1, §3.2, §4):
//! type-length-value with the Length counted in 4-octet units, the header
//! included.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Attribute Type|    Length     | Value...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Each known attribute is checked against its exact layout: fixed lengths,
//! the reserved fields (written as zero, ignored on receipt), the inner
//! "actual length" of AT_IDENTITY and AT_KDF_INPUT, the RES length in bits
//! of AT_RES. An unknown attribute of type 0-127 is an error, one of type
//! 128-255 is skippable and kept as [`Attribute::Skippable`] (RFC 4187 §8.1).

use crate::error::Error;

/// AT_RAND (RFC 4187 §10.6).
pub const AT_RAND: u8 = 1;
/// AT_AUTN (RFC 4187 §10.7).
pub const AT_AUTN: u8 = 2;
/// AT_RES (RFC 4187 §10.8).
pub const AT_RES: u8 = 3;
/// AT_AUTS (RFC 4187 §10.9).
pub const AT_AUTS: u8 = 4;
/// AT_PADDING (RFC 4187 §10.12).
pub const AT_PADDING: u8 = 6;
/// AT_PERMANENT_ID_REQ (RFC 4187 §10.2).
pub const AT_PERMANENT_ID_REQ: u8 = 10;
/// AT_MAC (RFC 4187 §10.15; HMAC-SHA-256-128 in AKA', RFC 9048 §3.4.1).
pub const AT_MAC: u8 = 11;
/// AT_NOTIFICATION (RFC 4187 §10.19).
pub const AT_NOTIFICATION: u8 = 12;
/// AT_ANY_ID_REQ (RFC 4187 §10.3).
pub const AT_ANY_ID_REQ: u8 = 13;
/// AT_IDENTITY (RFC 4187 §10.5).
pub const AT_IDENTITY: u8 = 14;
/// AT_FULLAUTH_ID_REQ (RFC 4187 §10.4).
pub const AT_FULLAUTH_ID_REQ: u8 = 17;
/// AT_CLIENT_ERROR_CODE (RFC 4187 §10.20).
pub const AT_CLIENT_ERROR_CODE: u8 = 22;
/// AT_KDF_INPUT (RFC 9048 §3.1).
pub const AT_KDF_INPUT: u8 = 23;
/// AT_KDF (RFC 9048 §3.2).
pub const AT_KDF: u8 = 24;
/// AT_IV (RFC 4187 §10.12).
pub const AT_IV: u8 = 129;
/// AT_ENCR_DATA (RFC 4187 §10.12).
pub const AT_ENCR_DATA: u8 = 130;
/// AT_CHECKCODE (RFC 4187 §10.13; SHA-256 in AKA', RFC 9048 §3.4.1).
pub const AT_CHECKCODE: u8 = 134;
/// AT_RESULT_IND (RFC 4187 §10.17).
pub const AT_RESULT_IND: u8 = 135;
/// AT_BIDDING (RFC 9048 §4).
pub const AT_BIDDING: u8 = 136;

/// AT_KDF value of the only key derivation function defined: CK'/IK' of
/// TS 33.402 Annex A.2 with the keys of RFC 9048 §3.3 (RFC 9048 §3.2).
pub const KDF_AKA_PRIME_WITH_CK_IK_PRIME: u16 = 1;

/// Octets of AT_CHECKCODE's value in EAP-AKA': a SHA-256 digest
/// (RFC 9048 §3.4.1).
pub const CHECKCODE_LEN: usize = 32;

/// The longest attribute: Length is one octet of 4-octet units.
pub const MAX_ATTRIBUTE_LEN: usize = 255 * 4;

/// Notification codes and bits (RFC 4187 §6.1, §10.19).
pub mod notification {
    /// The S bit: set when the notification does not imply failure.
    pub const S_BIT: u16 = 0x8000;
    /// The P bit: set when the notification is used before the challenge
    /// round (and then carries no AT_MAC).
    pub const P_BIT: u16 = 0x4000;
    /// "General failure after authentication" (S = 0, P = 0).
    pub const GENERAL_FAILURE_AFTER_AUTHENTICATION: u16 = 0;
    /// "User has been temporarily denied access to the requested service".
    pub const TEMPORARILY_DENIED: u16 = 1026;
    /// "User has not subscribed to the requested service".
    pub const NOT_SUBSCRIBED: u16 = 1031;
    /// "General failure" (S = 0, P = 1): used before authentication.
    pub const GENERAL_FAILURE: u16 = 16384;
    /// "Success" (S = 1, P = 0).
    pub const SUCCESS: u16 = 32768;
}

/// Client error codes (RFC 4187 §10.20).
pub mod client_error {
    /// "unable to process packet": the general error code.
    pub const UNABLE_TO_PROCESS_PACKET: u16 = 0;
}

/// One EAP-AKA' attribute, borrowing its variable-length values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute<'a> {
    /// AT_RAND: Reserved(2) then one 16-octet RAND (Length 5).
    Rand([u8; 16]),
    /// AT_AUTN: Reserved(2) then AUTN (Length 5).
    Autn([u8; 16]),
    /// AT_RES: RES Length in *bits* (32..=128), then RES padded with zeros
    /// to a multiple of 4 octets. `res` holds the `ceil(bits / 8)` octets.
    Res {
        /// RES length in bits.
        bits: u16,
        /// The RES octets.
        res: &'a [u8],
    },
    /// AT_AUTS: the 14 octets of AUTS, no reserved field (Length 4).
    Auts([u8; 14]),
    /// AT_PADDING with its Length (1 to 3); the padding octets are zero.
    Padding(u8),
    /// AT_PERMANENT_ID_REQ (Length 1, Reserved).
    PermanentIdReq,
    /// AT_ANY_ID_REQ (Length 1, Reserved).
    AnyIdReq,
    /// AT_FULLAUTH_ID_REQ (Length 1, Reserved).
    FullauthIdReq,
    /// AT_IDENTITY: Actual Identity Length(2), the identity, zero padding.
    Identity(&'a [u8]),
    /// AT_MAC: Reserved(2) then the 16-octet MAC (Length 5).
    Mac([u8; 16]),
    /// AT_NOTIFICATION: the 16-bit code whose top bits are S and P.
    Notification(u16),
    /// AT_CLIENT_ERROR_CODE: the 16-bit code.
    ClientErrorCode(u16),
    /// AT_KDF_INPUT: Actual Network Name Length(2), the access network
    /// name, zero padding (RFC 9048 §3.1).
    KdfInput(&'a [u8]),
    /// AT_KDF: the 16-bit key derivation function identifier (RFC 9048 §3.2).
    Kdf(u16),
    /// AT_CHECKCODE: Reserved(2) then nothing or a 32-octet SHA-256 digest.
    Checkcode(&'a [u8]),
    /// AT_RESULT_IND (Length 1, Reserved).
    ResultInd,
    /// AT_BIDDING: the D bit (support for EAP-AKA'), 15 reserved bits
    /// (RFC 9048 §4).
    Bidding {
        /// The D bit.
        d: bool,
    },
    /// AT_IV: Reserved(2) then a 16-octet IV.
    Iv([u8; 16]),
    /// AT_ENCR_DATA: Reserved(2) then whole AES blocks of ciphertext.
    EncrData(&'a [u8]),
    /// A skippable attribute (type 128-255) not known here.
    Skippable {
        /// The attribute type.
        typ: u8,
        /// The octets after Type and Length.
        value: &'a [u8],
    },
}

fn round4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

fn array<const N: usize>(value: &[u8], typ: u8) -> Result<[u8; N], Error> {
    value.try_into().map_err(|_| Error::AttributeFormat { typ })
}

/// Value with a two-octet reserved field first.
fn reserved_then<const N: usize>(value: &[u8], typ: u8) -> Result<[u8; N], Error> {
    match value.split_first_chunk::<2>() {
        Some((_, rest)) => array(rest, typ),
        None => Err(Error::AttributeFormat { typ }),
    }
}

fn u16_value(value: &[u8], typ: u8) -> Result<u16, Error> {
    Ok(u16::from_be_bytes(array::<2>(value, typ)?))
}

/// `Actual Length(2) || data || zero padding` where the whole attribute is
/// exactly `4 + round4(actual)` octets (AT_IDENTITY, AT_KDF_INPUT).
fn length_prefixed(value: &[u8], typ: u8) -> Result<&[u8], Error> {
    let (len, rest) = value
        .split_first_chunk::<2>()
        .ok_or(Error::AttributeFormat { typ })?;
    let actual = usize::from(u16::from_be_bytes(*len));
    if rest.len() != round4(actual) {
        return Err(Error::AttributeFormat { typ });
    }
    Ok(&rest[..actual])
}

impl<'a> Attribute<'a> {
    /// The attribute type.
    pub fn typ(&self) -> u8 {
        match self {
            Attribute::Rand(_) => AT_RAND,
            Attribute::Autn(_) => AT_AUTN,
            Attribute::Res { .. } => AT_RES,
            Attribute::Auts(_) => AT_AUTS,
            Attribute::Padding(_) => AT_PADDING,
            Attribute::PermanentIdReq => AT_PERMANENT_ID_REQ,
            Attribute::AnyIdReq => AT_ANY_ID_REQ,
            Attribute::FullauthIdReq => AT_FULLAUTH_ID_REQ,
            Attribute::Identity(_) => AT_IDENTITY,
            Attribute::Mac(_) => AT_MAC,
            Attribute::Notification(_) => AT_NOTIFICATION,
            Attribute::ClientErrorCode(_) => AT_CLIENT_ERROR_CODE,
            Attribute::KdfInput(_) => AT_KDF_INPUT,
            Attribute::Kdf(_) => AT_KDF,
            Attribute::Checkcode(_) => AT_CHECKCODE,
            Attribute::ResultInd => AT_RESULT_IND,
            Attribute::Bidding { .. } => AT_BIDDING,
            Attribute::Iv(_) => AT_IV,
            Attribute::EncrData(_) => AT_ENCR_DATA,
            Attribute::Skippable { typ, .. } => *typ,
        }
    }

    /// Decode an attribute from its type and the octets after its Length
    /// field (`4 * Length - 2` of them).
    ///
    /// # Errors
    /// [`Error::AttributeFormat`] when the value does not have the layout of
    /// the type, [`Error::UnknownAttribute`] for an unknown type below 128.
    pub fn parse(typ: u8, value: &'a [u8]) -> Result<Attribute<'a>, Error> {
        let format = Error::AttributeFormat { typ };
        Ok(match typ {
            AT_RAND => Attribute::Rand(reserved_then(value, typ)?),
            AT_AUTN => Attribute::Autn(reserved_then(value, typ)?),
            AT_RES => {
                let (bits, rest) = value.split_first_chunk::<2>().ok_or(format)?;
                let bits = u16::from_be_bytes(*bits);
                // RFC 4187 §10.8: RES is 32 to 128 bits.
                if !(32..=128).contains(&bits) {
                    return Err(format);
                }
                let octets = usize::from(bits).div_ceil(8);
                if rest.len() != round4(octets) {
                    return Err(format);
                }
                Attribute::Res {
                    bits,
                    res: &rest[..octets],
                }
            }
            AT_AUTS => Attribute::Auts(array(value, typ)?),
            AT_PADDING => {
                // Length 1..=3, all padding octets zero (RFC 4187 §10.12).
                if !matches!(value.len(), 2 | 6 | 10) || value.iter().any(|&b| b != 0) {
                    return Err(format);
                }
                Attribute::Padding(((value.len() + 2) / 4) as u8)
            }
            AT_PERMANENT_ID_REQ | AT_ANY_ID_REQ | AT_FULLAUTH_ID_REQ | AT_RESULT_IND => {
                if value.len() != 2 {
                    return Err(format);
                }
                match typ {
                    AT_PERMANENT_ID_REQ => Attribute::PermanentIdReq,
                    AT_ANY_ID_REQ => Attribute::AnyIdReq,
                    AT_FULLAUTH_ID_REQ => Attribute::FullauthIdReq,
                    _ => Attribute::ResultInd,
                }
            }
            AT_IDENTITY => Attribute::Identity(length_prefixed(value, typ)?),
            AT_MAC => Attribute::Mac(reserved_then(value, typ)?),
            AT_NOTIFICATION => Attribute::Notification(u16_value(value, typ)?),
            AT_CLIENT_ERROR_CODE => Attribute::ClientErrorCode(u16_value(value, typ)?),
            AT_KDF_INPUT => Attribute::KdfInput(length_prefixed(value, typ)?),
            AT_KDF => Attribute::Kdf(u16_value(value, typ)?),
            AT_CHECKCODE => match value.split_first_chunk::<2>() {
                Some((_, code)) if code.is_empty() || code.len() == CHECKCODE_LEN => {
                    Attribute::Checkcode(code)
                }
                _ => return Err(format),
            },
            AT_BIDDING => Attribute::Bidding {
                d: u16_value(value, typ)? & 0x8000 != 0,
            },
            AT_IV => Attribute::Iv(reserved_then(value, typ)?),
            AT_ENCR_DATA => match value.split_first_chunk::<2>() {
                Some((_, data)) if !data.is_empty() && data.len() % 16 == 0 => {
                    Attribute::EncrData(data)
                }
                _ => return Err(format),
            },
            t if t >= 128 => Attribute::Skippable { typ, value },
            t => return Err(Error::UnknownAttribute(t)),
        })
    }

    /// Octets of the value after Type and Length, before rounding.
    fn value_len(&self) -> usize {
        match self {
            Attribute::Rand(_) | Attribute::Autn(_) | Attribute::Mac(_) | Attribute::Iv(_) => 18,
            Attribute::Res { res, .. } => 2 + round4(res.len()),
            Attribute::Auts(_) => 14,
            Attribute::Padding(len) => (usize::from(*len) * 4).saturating_sub(2),
            Attribute::PermanentIdReq
            | Attribute::AnyIdReq
            | Attribute::FullauthIdReq
            | Attribute::ResultInd
            | Attribute::Notification(_)
            | Attribute::ClientErrorCode(_)
            | Attribute::Kdf(_)
            | Attribute::Bidding { .. } => 2,
            Attribute::Identity(data) | Attribute::KdfInput(data) => 2 + round4(data.len()),
            Attribute::Checkcode(data) | Attribute::EncrData(data) => 2 + data.len(),
            Attribute::Skippable { value, .. } => value.len(),
        }
    }

    /// Octets of the encoded attribute (a multiple of 4).
    pub fn buffer_len(&self) -> usize {
        round4(2 + self.value_len())
    }

    /// Check that the attribute can be encoded as it stands.
    fn check(&self) -> Result<(), Error> {
        let typ = self.typ();
        let format = Error::AttributeFormat { typ };
        let len = self.buffer_len();
        if len > MAX_ATTRIBUTE_LEN {
            return Err(Error::ValueTooLong { typ, len });
        }
        match self {
            Attribute::Res { bits, res }
                if !(32..=128).contains(bits) || usize::from(*bits).div_ceil(8) != res.len() =>
            {
                return Err(format);
            }
            Attribute::Padding(len) if !(1..=3).contains(len) => return Err(format),
            Attribute::Checkcode(code) if !code.is_empty() && code.len() != CHECKCODE_LEN => {
                return Err(format);
            }
            Attribute::EncrData(data) if data.is_empty() || data.len() % 16 != 0 => {
                return Err(format);
            }
            Attribute::Skippable { typ, value } if *typ < 128 || (value.len() + 2) % 4 != 0 => {
                return Err(format);
            }
            _ => {}
        }
        Ok(())
    }

    /// Write the attribute at the start of `out` and return its length.
    ///
    /// # Errors
    /// [`Error::ValueTooLong`] for a value beyond the one-octet Length,
    /// [`Error::AttributeFormat`] for an inconsistent value (a RES whose
    /// octets do not match its bit length, a checkcode of another size, a
    /// skippable type below 128), [`Error::Truncated`] for a short `out`.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        self.check()?;
        let len = self.buffer_len();
        let Some(out) = out.get_mut(..len) else {
            return Err(Error::Truncated {
                have: out.len(),
                need: len,
            });
        };
        out.fill(0);
        out[0] = self.typ();
        out[1] = (len / 4) as u8;
        let value = &mut out[2..];
        match self {
            Attribute::Rand(v) | Attribute::Autn(v) | Attribute::Iv(v) | Attribute::Mac(v) => {
                value[2..18].copy_from_slice(v);
            }
            Attribute::Res { bits, res } => {
                value[..2].copy_from_slice(&bits.to_be_bytes());
                value[2..2 + res.len()].copy_from_slice(res);
            }
            Attribute::Auts(v) => value[..14].copy_from_slice(v),
            Attribute::Padding(_)
            | Attribute::PermanentIdReq
            | Attribute::AnyIdReq
            | Attribute::FullauthIdReq
            | Attribute::ResultInd => {}
            Attribute::Identity(data) | Attribute::KdfInput(data) => {
                let actual = u16::try_from(data.len()).map_err(|_| Error::ValueTooLong {
                    typ: self.typ(),
                    len: data.len(),
                })?;
                value[..2].copy_from_slice(&actual.to_be_bytes());
                value[2..2 + data.len()].copy_from_slice(data);
            }
            Attribute::Notification(code)
            | Attribute::ClientErrorCode(code)
            | Attribute::Kdf(code) => value[..2].copy_from_slice(&code.to_be_bytes()),
            Attribute::Checkcode(data) | Attribute::EncrData(data) => {
                value[2..2 + data.len()].copy_from_slice(data);
            }
            Attribute::Bidding { d } => {
                let bits: u16 = if *d { 0x8000 } else { 0 };
                value[..2].copy_from_slice(&bits.to_be_bytes());
            }
            Attribute::Skippable { value: v, .. } => value[..v.len()].copy_from_slice(v),
        }
        Ok(len)
    }
}

/// Iterator over the raw attributes of an AKA' message: yields the offset of
/// each attribute within the attribute area and the attribute, or one error
/// and then stops.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    data: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> Attributes<'a> {
    /// Iterate over `data`, the octets after Subtype and Reserved.
    pub fn new(data: &'a [u8]) -> Attributes<'a> {
        Attributes {
            data,
            offset: 0,
            failed: false,
        }
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Result<(usize, Attribute<'a>), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.offset >= self.data.len() {
            return None;
        }
        let rest = &self.data[self.offset..];
        let result = match rest {
            [typ, units, ..] => {
                let len = usize::from(*units) * 4;
                if len == 0 || len > rest.len() {
                    Err(Error::AttributeLength { typ: *typ })
                } else {
                    Attribute::parse(*typ, &rest[2..len]).map(|a| (self.offset, a, len))
                }
            }
            [typ] => Err(Error::AttributeLength { typ: *typ }),
            [] => return None,
        };
        match result {
            Ok((at, attribute, len)) => {
                self.offset += len;
                Some(Ok((at, attribute)))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(attr: Attribute<'_>, expected: &[u8]) {
        let mut buf = vec![0u8; attr.buffer_len()];
        assert_eq!(attr.emit(&mut buf), Ok(expected.len()), "{attr:?}");
        assert_eq!(buf, expected, "{attr:?}");
        let parsed = Attribute::parse(expected[0], &expected[2..]).unwrap();
        assert_eq!(parsed, attr);
    }

    #[test]
    fn fixed_layouts() {
        let mut rand = vec![AT_RAND, 5, 0, 0];
        rand.extend_from_slice(&[0x11; 16]);
        round_trip(Attribute::Rand([0x11; 16]), &rand);
        let mut autn = vec![AT_AUTN, 5, 0, 0];
        autn.extend_from_slice(&[0x22; 16]);
        round_trip(Attribute::Autn([0x22; 16]), &autn);
        let mut mac = vec![AT_MAC, 5, 0, 0];
        mac.extend_from_slice(&[0x33; 16]);
        round_trip(Attribute::Mac([0x33; 16]), &mac);
        let mut auts = vec![AT_AUTS, 4];
        auts.extend_from_slice(&[0x44; 14]);
        round_trip(Attribute::Auts([0x44; 14]), &auts);
        round_trip(Attribute::PermanentIdReq, &[AT_PERMANENT_ID_REQ, 1, 0, 0]);
        round_trip(Attribute::AnyIdReq, &[AT_ANY_ID_REQ, 1, 0, 0]);
        round_trip(Attribute::FullauthIdReq, &[AT_FULLAUTH_ID_REQ, 1, 0, 0]);
        round_trip(Attribute::ResultInd, &[AT_RESULT_IND, 1, 0, 0]);
        round_trip(
            Attribute::Notification(notification::GENERAL_FAILURE),
            &[AT_NOTIFICATION, 1, 0x40, 0x00],
        );
        round_trip(
            Attribute::ClientErrorCode(0),
            &[AT_CLIENT_ERROR_CODE, 1, 0, 0],
        );
        round_trip(Attribute::Kdf(1), &[AT_KDF, 1, 0, 1]);
        round_trip(Attribute::Bidding { d: true }, &[AT_BIDDING, 1, 0x80, 0]);
        round_trip(Attribute::Padding(2), &[AT_PADDING, 2, 0, 0, 0, 0, 0, 0]);
        round_trip(Attribute::Checkcode(&[]), &[AT_CHECKCODE, 1, 0, 0]);
        let mut checkcode = vec![AT_CHECKCODE, 9, 0, 0];
        checkcode.extend_from_slice(&[0x55; 32]);
        round_trip(Attribute::Checkcode(&[0x55; 32]), &checkcode);
    }

    #[test]
    fn res_length_is_in_bits() {
        // 8-octet RES: 64 bits, no padding needed: Length 3.
        let res = [1, 2, 3, 4, 5, 6, 7, 8];
        let mut bytes = vec![AT_RES, 3, 0, 64];
        bytes.extend_from_slice(&res);
        round_trip(
            Attribute::Res {
                bits: 64,
                res: &res,
            },
            &bytes,
        );
        // 5-octet RES: 40 bits, padded to 8 octets: Length 3.
        let res5 = [9, 9, 9, 9, 9];
        round_trip(
            Attribute::Res {
                bits: 40,
                res: &res5,
            },
            &[AT_RES, 3, 0, 40, 9, 9, 9, 9, 9, 0, 0, 0],
        );
        // 16-octet RES: 128 bits.
        let res16 = [7u8; 16];
        let mut bytes16 = vec![AT_RES, 5, 0, 128];
        bytes16.extend_from_slice(&res16);
        round_trip(
            Attribute::Res {
                bits: 128,
                res: &res16,
            },
            &bytes16,
        );
        // Bit lengths outside 32..=128, or not matching the padded value.
        assert!(Attribute::parse(AT_RES, &[0, 24, 1, 2, 3, 0]).is_err());
        assert!(Attribute::parse(AT_RES, &[0, 136, 0, 0]).is_err());
        assert!(Attribute::parse(AT_RES, &[0, 64, 1, 2, 3, 4]).is_err());
        let bad = Attribute::Res {
            bits: 64,
            res: &res5,
        };
        assert!(bad.emit(&mut [0u8; 64]).is_err());
    }

    #[test]
    fn actual_length_fields() {
        // "user@realm" is 10 octets: padded to 12, Length (4 + 12) / 4 = 4.
        let mut id = vec![AT_IDENTITY, 4, 0, 10];
        id.extend_from_slice(b"user@realm\0\0");
        round_trip(Attribute::Identity(b"user@realm"), &id);
        let mut name = vec![AT_KDF_INPUT, 2, 0, 4];
        name.extend_from_slice(b"WLAN");
        round_trip(Attribute::KdfInput(b"WLAN"), &name);
        round_trip(Attribute::KdfInput(b""), &[AT_KDF_INPUT, 1, 0, 0]);
        // Actual length larger than the attribute, or padding beyond 3.
        assert!(Attribute::parse(AT_IDENTITY, &[0, 11, b'a', b'b']).is_err());
        assert!(Attribute::parse(AT_IDENTITY, &[0, 1, b'a', 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn skippable_and_unknown() {
        let attr = Attribute::parse(200, &[1, 2]).unwrap();
        assert_eq!(
            attr,
            Attribute::Skippable {
                typ: 200,
                value: &[1, 2]
            }
        );
        round_trip(attr, &[200, 1, 1, 2]);
        assert_eq!(
            Attribute::parse(99, &[0, 0]),
            Err(Error::UnknownAttribute(99))
        );
        // AT_NONCE_MT (7) belongs to EAP-SIM: not valid here.
        assert_eq!(
            Attribute::parse(7, &[0; 18]),
            Err(Error::UnknownAttribute(7))
        );
    }

    #[test]
    fn encr_data_and_iv() {
        let mut encr = vec![AT_ENCR_DATA, 5, 0, 0];
        encr.extend_from_slice(&[0xEE; 16]);
        round_trip(Attribute::EncrData(&[0xEE; 16]), &encr);
        assert!(Attribute::parse(AT_ENCR_DATA, &[0, 0, 1, 2]).is_err());
        let mut iv = vec![AT_IV, 5, 0, 0];
        iv.extend_from_slice(&[0x01; 16]);
        round_trip(Attribute::Iv([0x01; 16]), &iv);
    }

    #[test]
    fn wrong_fixed_lengths_fail() {
        for typ in [AT_RAND, AT_AUTN, AT_MAC, AT_IV] {
            assert!(Attribute::parse(typ, &[0; 14]).is_err());
            assert!(Attribute::parse(typ, &[0; 22]).is_err());
        }
        assert!(Attribute::parse(AT_AUTS, &[0; 18]).is_err());
        assert!(Attribute::parse(AT_KDF, &[0; 6]).is_err());
        assert!(Attribute::parse(AT_PERMANENT_ID_REQ, &[0; 6]).is_err());
        assert!(Attribute::parse(AT_PADDING, &[0, 1]).is_err());
        assert!(Attribute::parse(AT_CHECKCODE, &[0; 22]).is_err());
    }

    #[test]
    fn iterator_stops_at_errors() {
        let mut data = vec![AT_KDF, 1, 0, 1, AT_PERMANENT_ID_REQ, 1, 0, 0];
        let all: Vec<_> = Attributes::new(&data).collect();
        assert_eq!(
            all,
            vec![
                Ok((0, Attribute::Kdf(1))),
                Ok((4, Attribute::PermanentIdReq))
            ]
        );
        data.extend_from_slice(&[AT_KDF, 0]);
        let all: Vec<_> = Attributes::new(&data).collect();
        assert_eq!(all.len(), 3);
        assert_eq!(all[2], Err(Error::AttributeLength { typ: AT_KDF }));
        // A Length past the end.
        let short = [AT_RAND, 5, 0, 0];
        let all: Vec<_> = Attributes::new(&short).collect();
        assert_eq!(all, vec![Err(Error::AttributeLength { typ: AT_RAND })]);
        // A lone trailing octet.
        let all: Vec<_> = Attributes::new(&[AT_KDF]).collect();
        assert_eq!(all, vec![Err(Error::AttributeLength { typ: AT_KDF })]);
    }
}
