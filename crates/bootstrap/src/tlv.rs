//! The TLV encoding of message bodies and sealed contents.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |M|          Type (15)          |        Length (octets)        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Value (Length octets, no padding) ...
//! ```
//!
//! The M ("must understand") bit works as IKEv2's critical bit
//! (RFC 7296 §2.5) or Diameter's M flag (RFC 6733 §4.1): a receiver that
//! does not know a type skips the TLV when M is clear and rejects the whole
//! message when M is set. Version 1 senders set M on every TLV they emit;
//! later versions add types with M clear when old receivers may ignore
//! them. Each known type appears at most once per body.

use core::fmt;

/// The "must understand" bit of the type field.
pub const MANDATORY: u16 = 0x8000;
/// Octets of a TLV header (type, length).
pub const TLV_HEADER_LEN: usize = 4;

macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident($repr:ty) {
            $( $(#[$vmeta:meta])* $variant:ident = $value:expr, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A code point this version does not know (kept as data).
            Unknown($repr),
        }

        impl From<$repr> for $name {
            fn from(value: $repr) -> Self {
                match value {
                    $( $value => $name::$variant, )*
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for $repr {
            fn from(value: $name) -> Self {
                match value {
                    $( $name::$variant => $value, )*
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}
pub(crate) use open_enum;

open_enum! {
    /// TLV type numbers (15 bits; the M bit is not part of the type).
    pub enum TlvType(u16) {
        /// Start: the node's 16-octet nonce (salt of the key schedule).
        NodeNonce = 1,
        /// Start: an identity hint (UTF-8, at most 253 octets).
        IdentityHint = 2,
        /// Eap: one EAP packet (RFC 3748 §4), opaque, at most 1400 octets.
        EapPacket = 3,
        /// Error and sealed refusal: the cause code, two octets.
        Cause = 4,
        /// Error and sealed refusal: a short UTF-8 text.
        Text = 5,
        /// ConfigRequest: the node's Ed25519 public key (RFC 8032 §5.1.5).
        NodePublicKey = 16,
        /// ConfigRequest: the node's proof signature (64 octets).
        NodeSignature = 17,
        /// ConfigRequest: the FQDN the node would like.
        DesiredFqdn = 18,
        /// ConfigRequest: a secret the node shares with the HA.
        Secret = 19,
        /// ConfigResponse: the FQDN the HA chose.
        Fqdn = 32,
        /// ConfigResponse: what became of the desired FQDN (one octet).
        FqdnOutcome = 33,
        /// ConfigResponse: the node's home address (IPv4).
        HomeAddress = 34,
        /// ConfigResponse: the home agent's address (IPv4).
        HaAddress = 35,
        /// ConfigResponse: the HA's Ed25519 public key.
        HaPublicKey = 36,
        /// ConfigResponse: the Mobile IP security association.
        MipSa = 37,
        /// ConfigResponse: the registration lifetime (RFC 5944 §3.3), seconds.
        RegistrationLifetime = 38,
        /// ConfigResponse: the HIP rendezvous server / forwarding agent.
        Rendezvous = 39,
        /// ConfigResponse: the DNS name server for the zone.
        NameServer = 40,
        /// ConfigResponse: the DNS zone the FQDN lives in.
        DnsZone = 41,
        /// ConfigResponse, HIP mode: the node's Host Identity Tag.
        Hit = 42,
        /// ConfigResponse: the HA's signature; always the last TLV.
        HaSignature = 63,
    }
}

impl fmt::Display for TlvType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlvType::Unknown(t) => write!(f, "TLV type {t}"),
            known => write!(f, "{known:?}"),
        }
    }
}

/// Why a TLV stream is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlvError {
    /// A TLV header or value runs past the end of the body.
    #[error("TLV truncated at offset {0}")]
    Truncated(usize),
    /// A value longer than a length field can describe (emit side).
    #[error("TLV value of {0} octets is too long")]
    TooLong(usize),
    /// An unknown type with the M bit set (§ module doc).
    #[error("unknown mandatory TLV type {0}")]
    UnknownMandatory(u16),
    /// A known type appears twice.
    #[error("{0} appears twice")]
    Duplicate(TlvType),
    /// A type the message requires is absent.
    #[error("{0} is missing")]
    Missing(TlvType),
    /// A value has a length its type does not allow.
    #[error("{kind} has a bad length {len}")]
    BadLength {
        /// The TLV type.
        kind: TlvType,
        /// Its value length.
        len: usize,
    },
    /// A value its type does not allow (bad UTF-8, unknown code, ...).
    #[error("{0} has a bad value")]
    BadValue(TlvType),
    /// A type that does not belong in this message.
    #[error("{0} does not belong here")]
    Unexpected(TlvType),
}

/// One TLV read from a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The type, without the M bit.
    pub kind: TlvType,
    /// Whether the M bit was set.
    pub mandatory: bool,
    /// Offset of the TLV header in the body.
    pub offset: usize,
    /// The value.
    pub value: &'a [u8],
}

/// Iterates over the TLVs of a body; stops at the first error.
#[derive(Debug, Clone)]
pub struct TlvReader<'a> {
    buf: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> TlvReader<'a> {
    /// Reads `buf` from its start.
    pub fn new(buf: &'a [u8]) -> Self {
        TlvReader {
            buf,
            pos: 0,
            failed: false,
        }
    }
}

impl<'a> Iterator for TlvReader<'a> {
    type Item = Result<Tlv<'a>, TlvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        let offset = self.pos;
        let rest = &self.buf[offset..];
        let Some((head, after)) = rest.split_first_chunk::<TLV_HEADER_LEN>() else {
            self.failed = true;
            return Some(Err(TlvError::Truncated(offset)));
        };
        let raw = u16::from_be_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let Some(value) = after.get(..len) else {
            self.failed = true;
            return Some(Err(TlvError::Truncated(offset)));
        };
        self.pos = offset + TLV_HEADER_LEN + len;
        Some(Ok(Tlv {
            kind: TlvType::from(raw & !MANDATORY),
            mandatory: raw & MANDATORY != 0,
            offset,
            value,
        }))
    }
}

/// Appends a TLV with the M bit set to `out`.
pub fn put(out: &mut Vec<u8>, kind: TlvType, value: &[u8]) -> Result<(), TlvError> {
    let len = u16::try_from(value.len()).map_err(|_| TlvError::TooLong(value.len()))?;
    let raw = u16::from(kind) | MANDATORY;
    out.extend_from_slice(&raw.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(value);
    Ok(())
}

/// Collects the known TLVs of a body into slots, enforcing the rules of the
/// module doc: each known type at most once, unknown types skipped unless
/// mandatory, and only types in `allowed`.
#[derive(Debug)]
pub(crate) struct Fields<'a> {
    found: Vec<Tlv<'a>>,
}

impl<'a> Fields<'a> {
    /// Reads `body`, accepting the types in `allowed`.
    pub(crate) fn read(body: &'a [u8], allowed: &[TlvType]) -> Result<Self, TlvError> {
        let mut found: Vec<Tlv<'a>> = Vec::new();
        for tlv in TlvReader::new(body) {
            let tlv = tlv?;
            if let TlvType::Unknown(t) = tlv.kind {
                if tlv.mandatory {
                    return Err(TlvError::UnknownMandatory(t));
                }
                continue;
            }
            if !allowed.contains(&tlv.kind) {
                return Err(TlvError::Unexpected(tlv.kind));
            }
            if found.iter().any(|f| f.kind == tlv.kind) {
                return Err(TlvError::Duplicate(tlv.kind));
            }
            found.push(tlv);
        }
        Ok(Fields { found })
    }

    /// The TLV of type `kind`, if present.
    pub(crate) fn get(&self, kind: TlvType) -> Option<&Tlv<'a>> {
        self.found.iter().find(|t| t.kind == kind)
    }

    /// The value of type `kind`, if present.
    pub(crate) fn opt(&self, kind: TlvType) -> Option<&'a [u8]> {
        self.get(kind).map(|t| t.value)
    }

    /// The value of type `kind`, which must be present.
    pub(crate) fn req(&self, kind: TlvType) -> Result<&'a [u8], TlvError> {
        self.opt(kind).ok_or(TlvError::Missing(kind))
    }

    /// The fixed-size value of type `kind`, if present.
    pub(crate) fn opt_array<const N: usize>(
        &self,
        kind: TlvType,
    ) -> Result<Option<[u8; N]>, TlvError> {
        match self.opt(kind) {
            None => Ok(None),
            Some(v) => v
                .try_into()
                .map(Some)
                .map_err(|_| TlvError::BadLength { kind, len: v.len() }),
        }
    }

    /// The fixed-size value of type `kind`, which must be present.
    pub(crate) fn req_array<const N: usize>(&self, kind: TlvType) -> Result<[u8; N], TlvError> {
        self.opt_array(kind)?.ok_or(TlvError::Missing(kind))
    }

    /// A UTF-8 value of at most `max` octets, if present.
    pub(crate) fn opt_str(&self, kind: TlvType, max: usize) -> Result<Option<&'a str>, TlvError> {
        match self.opt(kind) {
            None => Ok(None),
            Some(v) if v.len() > max => Err(TlvError::BadLength { kind, len: v.len() }),
            Some(v) => core::str::from_utf8(v)
                .map(Some)
                .map_err(|_| TlvError::BadValue(kind)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_and_read_back() {
        let mut body = Vec::new();
        put(&mut body, TlvType::Cause, &[0, 5]).unwrap();
        put(&mut body, TlvType::Text, b"no").unwrap();
        assert_eq!(body, [0x80, 4, 0, 2, 0, 5, 0x80, 5, 0, 2, b'n', b'o']);
        let tlvs: Vec<_> = TlvReader::new(&body).collect::<Result<_, _>>().unwrap();
        assert_eq!(tlvs.len(), 2);
        assert_eq!(tlvs[1].kind, TlvType::Text);
        assert_eq!(tlvs[1].offset, 6);
        assert!(tlvs[1].mandatory);
    }

    #[test]
    fn truncation_is_an_error_once() {
        let mut r = TlvReader::new(&[0x80, 4, 0, 3, 1]);
        assert_eq!(r.next(), Some(Err(TlvError::Truncated(0))));
        assert_eq!(r.next(), None);
        let mut r = TlvReader::new(&[0x80, 4, 0]);
        assert_eq!(r.next(), Some(Err(TlvError::Truncated(0))));
    }

    #[test]
    fn unknown_types_follow_the_m_bit() {
        // Unknown type 0x0777 without M: skipped.
        let body = [0x07, 0x77, 0, 1, 9, 0x80, 4, 0, 2, 0, 1];
        let f = Fields::read(&body, &[TlvType::Cause]).unwrap();
        assert_eq!(f.req(TlvType::Cause).unwrap(), &[0, 1]);
        // The same with M: the body is refused.
        let body = [0x87, 0x77, 0, 1, 9];
        assert_eq!(
            Fields::read(&body, &[TlvType::Cause]).unwrap_err(),
            TlvError::UnknownMandatory(0x0777)
        );
    }

    #[test]
    fn duplicates_and_strangers_are_refused() {
        let mut body = Vec::new();
        put(&mut body, TlvType::Cause, &[0, 1]).unwrap();
        put(&mut body, TlvType::Cause, &[0, 2]).unwrap();
        assert_eq!(
            Fields::read(&body, &[TlvType::Cause]).unwrap_err(),
            TlvError::Duplicate(TlvType::Cause)
        );
        assert_eq!(
            Fields::read(&body, &[TlvType::Text]).unwrap_err(),
            TlvError::Unexpected(TlvType::Cause)
        );
    }

    #[test]
    fn typed_accessors_check_lengths() {
        let mut body = Vec::new();
        put(&mut body, TlvType::HomeAddress, &[10, 0, 0]).unwrap();
        put(&mut body, TlvType::Text, &[0xff]).unwrap();
        let f = Fields::read(&body, &[TlvType::HomeAddress, TlvType::Text]).unwrap();
        assert_eq!(
            f.req_array::<4>(TlvType::HomeAddress).unwrap_err(),
            TlvError::BadLength {
                kind: TlvType::HomeAddress,
                len: 3
            }
        );
        assert_eq!(
            f.opt_str(TlvType::Text, 10).unwrap_err(),
            TlvError::BadValue(TlvType::Text)
        );
        assert_eq!(
            f.req(TlvType::Fqdn).unwrap_err(),
            TlvError::Missing(TlvType::Fqdn)
        );
    }

    #[test]
    fn too_long_values_are_refused_on_emit() {
        let mut out = Vec::new();
        let big = vec![0u8; 70_000];
        assert_eq!(
            put(&mut out, TlvType::Text, &big).unwrap_err(),
            TlvError::TooLong(70_000)
        );
        assert!(out.is_empty());
    }
}
