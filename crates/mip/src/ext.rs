//! Extensions that follow the fixed part of a Registration Request or
//! Reply (RFC 5944 §1.9–§1.11, §3.5).
//!
//! Most extensions use the short type–length format: one octet Type, one
//! octet Length (of the data after it), data. A few non-skippable ones
//! defined later use a "long" header with a 16-bit length at offset 2
//! (Generalized Authentication, RFC 3012 §5; CVSE, RFC 3115 §2;
//! PMIPv4 non-skippable, RFC 5563 §4); the reader frames those correctly so
//! that the extensions after them are found.
//!
//! Types 0..=127 are non-skippable: a node that does not recognise one must
//! not act on the message (RFC 5944 §1.9); types 128..=255 may be skipped.

use crate::error::Error;
use telsec_wire::open_enum;

open_enum! {
    /// Extension types in Mobile IP control messages (IANA registry
    /// "Extensions to Mobile IP Registration Messages").
    pub enum ExtensionType {
        /// Mobile-Home Authentication, RFC 5944 §3.5.2.
        MnHaAuth = 32 => "MN-HA authentication",
        /// Mobile-Foreign Authentication, RFC 5944 §3.5.3.
        MnFaAuth = 33 => "MN-FA authentication",
        /// Foreign-Home Authentication, RFC 5944 §3.5.4.
        FaHaAuth = 34 => "FA-HA authentication",
        /// Generalized Mobile IP Authentication, RFC 3012 §5 (long format).
        GeneralizedAuth = 36 => "generalized authentication",
        /// Critical Vendor/Organization Specific Extension, RFC 3115 §2 (long format).
        Cvse = 38 => "CVSE",
        /// UDP Tunnel Reply, RFC 3519 §3.2.
        UdpTunnelReply = 44 => "UDP tunnel reply",
        /// Proxy Mobile IPv4 non-skippable extension, RFC 5563 §4 (long format).
        PmipNonSkippable = 47 => "PMIPv4 non-skippable",
        /// Mobile Node NAI, RFC 2794 §2.
        MnNai = 131 => "MN-NAI",
        /// MN-FA Challenge, RFC 3012 §3.
        MnFaChallenge = 132 => "MN-FA challenge",
        /// Normal Vendor/Organization Specific Extension, RFC 3115 §3.
        Nvse = 134 => "NVSE",
        /// UDP Tunnel Request, RFC 3519 §3.1.
        UdpTunnelRequest = 144 => "UDP tunnel request",
        /// Message String, RFC 4917 §2.
        MessageString = 145 => "message string",
    }
}

impl ExtensionType {
    /// RFC 5944 §1.9: types 128..=255 may be skipped when not recognised;
    /// 0..=127 make the whole message unusable.
    pub fn is_skippable(self) -> bool {
        u8::from(self) >= 128
    }

    /// Whether this type uses the 4-octet header with a 16-bit length at
    /// offset 2 (RFC 5944 §1.10 and the RFCs cited in the module doc).
    pub fn is_long_format(self) -> bool {
        matches!(
            self,
            ExtensionType::GeneralizedAuth | ExtensionType::Cvse | ExtensionType::PmipNonSkippable
        )
    }
}

/// One extension as it sits in the buffer, before interpretation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawExtension<'a> {
    /// The Type octet.
    pub ext_type: u8,
    /// For long-format types, the octet at offset 1 (Sub-Type, or Reserved
    /// for CVSE); `None` for the short format.
    pub subtype: Option<u8>,
    /// The data after the header, exactly as long as the Length field says.
    pub data: &'a [u8],
    /// Offset of the Type octet from the start of the message.
    pub offset: usize,
}

impl RawExtension<'_> {
    /// Length of the header (2 for the short format, 4 for the long one).
    pub fn header_len(&self) -> usize {
        if self.subtype.is_some() { 4 } else { 2 }
    }

    /// Offset just past this extension.
    pub fn end(&self) -> usize {
        self.offset + self.header_len() + self.data.len()
    }
}

/// Walks the extensions of a message without allocating.
///
/// Yields `Err` once (and then stops) when an extension's header or data
/// runs past the end of the buffer.
#[derive(Debug, Clone)]
pub struct ExtensionReader<'a> {
    buf: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> ExtensionReader<'a> {
    /// Reads extensions from `message[start..]`; offsets in the yielded
    /// extensions are relative to `message`.
    pub fn new(message: &'a [u8], start: usize) -> Self {
        ExtensionReader {
            buf: message,
            pos: start,
            done: start > message.len(),
        }
    }
}

impl<'a> Iterator for ExtensionReader<'a> {
    type Item = Result<RawExtension<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.buf.len() {
            return None;
        }
        let rest = &self.buf[self.pos..];
        let ext_type = rest[0];
        let long = ExtensionType::from(ext_type).is_long_format();
        let (subtype, header, len) = if long {
            match rest.get(1..4) {
                Some(h) => (Some(h[0]), 4, usize::from(u16::from_be_bytes([h[1], h[2]]))),
                None => {
                    self.done = true;
                    return Some(Err(Error::Truncated));
                }
            }
        } else {
            match rest.get(1) {
                Some(&l) => (None, 2, usize::from(l)),
                None => {
                    self.done = true;
                    return Some(Err(Error::Truncated));
                }
            }
        };
        let Some(data) = rest.get(header..header + len) else {
            self.done = true;
            return Some(Err(Error::Truncated));
        };
        let raw = RawExtension {
            ext_type,
            subtype,
            data,
            offset: self.pos,
        };
        self.pos += header + len;
        Some(Ok(raw))
    }
}

/// The body shared by the MN-HA, MN-FA and FA-HA authentication extensions
/// (RFC 5944 §3.5.2–§3.5.4): a 4-octet SPI and the authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthExtension {
    /// Security Parameter Index naming the mobility security association.
    pub spi: u32,
    /// The MAC (16 octets for HMAC-MD5, RFC 5944 §3.5.1).
    pub authenticator: Vec<u8>,
}

open_enum! {
    /// Encapsulation carried in a UDP tunnel (RFC 3519 §3.1), using the
    /// IP protocol numbers of the inner header.
    pub enum Encapsulation {
        /// IP in IP, RFC 2003.
        IpInIp = 4 => "IP in IP",
        /// GRE, RFC 2784.
        Gre = 47 => "GRE",
        /// Minimal encapsulation, RFC 2004.
        Minimal = 55 => "minimal encapsulation",
    }
}

/// UDP Tunnel Request extension (RFC 3519 §3.1), type 144, length 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpTunnelRequest {
    /// Sub-Type (0 is the only value RFC 3519 defines).
    pub sub_type: u8,
    /// F: the mobile node asks for UDP tunnelling even without a NAT.
    pub force: bool,
    /// R: the mobile node registers through an FA because the
    /// advertisement's R bit said so.
    pub registration_through_fa: bool,
    /// Encapsulation the mobile node will use inside UDP.
    pub encapsulation: Encapsulation,
}

open_enum! {
    /// Reply Code of the UDP Tunnel Reply extension (RFC 3519 §3.2).
    pub enum UdpTunnelReplyCode {
        /// The home agent will use UDP tunnelling.
        Accepted = 0 => "will do tunnelling",
        /// UDP tunnelling declined, reason unspecified.
        Declined = 64 => "tunnelling declined, reason unspecified",
    }
}

/// UDP Tunnel Reply extension (RFC 3519 §3.2), type 44, length 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpTunnelReply {
    /// Sub-Type (0 is the only value RFC 3519 defines).
    pub sub_type: u8,
    /// Reply Code.
    pub code: UdpTunnelReplyCode,
    /// F: tunnelling is forced by the home agent.
    pub forced: bool,
    /// Seconds between keep-alives the mobile node must send (0: default).
    pub keepalive_interval: u16,
}

/// One extension of a registration message, interpreted where this crate
/// knows the type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extension {
    /// Mobile-Home Authentication, RFC 5944 §3.5.2.
    MnHaAuth(AuthExtension),
    /// Mobile-Foreign Authentication, RFC 5944 §3.5.3.
    MnFaAuth(AuthExtension),
    /// Foreign-Home Authentication, RFC 5944 §3.5.4.
    FaHaAuth(AuthExtension),
    /// Mobile Node NAI (RFC 2794 §2): the NAI octets, normally UTF-8.
    MnNai(Vec<u8>),
    /// UDP Tunnel Request, RFC 3519 §3.1.
    UdpTunnelRequest(UdpTunnelRequest),
    /// UDP Tunnel Reply, RFC 3519 §3.2.
    UdpTunnelReply(UdpTunnelReply),
    /// Any other extension, kept raw so it can be forwarded or skipped.
    Other {
        /// Type octet.
        ext_type: u8,
        /// Octet at offset 1 for long-format types, else `None`.
        subtype: Option<u8>,
        /// Data after the header.
        data: Vec<u8>,
    },
}

/// Largest length the one-octet Length field can carry.
const SHORT_MAX: usize = u8::MAX as usize;

fn auth_from(raw: &RawExtension<'_>) -> Result<AuthExtension, Error> {
    match raw.data {
        [a, b, c, d, rest @ ..] => Ok(AuthExtension {
            spi: u32::from_be_bytes([*a, *b, *c, *d]),
            authenticator: rest.to_vec(),
        }),
        _ => Err(Error::MalformedExtension(raw.ext_type)),
    }
}

impl Extension {
    /// Interprets one raw extension.
    pub fn parse(raw: &RawExtension<'_>) -> Result<Self, Error> {
        let ty = ExtensionType::from(raw.ext_type);
        Ok(match ty {
            ExtensionType::MnHaAuth => Extension::MnHaAuth(auth_from(raw)?),
            ExtensionType::MnFaAuth => Extension::MnFaAuth(auth_from(raw)?),
            ExtensionType::FaHaAuth => Extension::FaHaAuth(auth_from(raw)?),
            ExtensionType::MnNai => Extension::MnNai(raw.data.to_vec()),
            ExtensionType::UdpTunnelRequest => match raw.data {
                [sub, _res1, flags, encap, _, _] => Extension::UdpTunnelRequest(UdpTunnelRequest {
                    sub_type: *sub,
                    force: flags & 0x80 != 0,
                    registration_through_fa: flags & 0x40 != 0,
                    encapsulation: Encapsulation::from(*encap),
                }),
                _ => return Err(Error::MalformedExtension(raw.ext_type)),
            },
            ExtensionType::UdpTunnelReply => match raw.data {
                [sub, code, f0, _f1, k0, k1] => Extension::UdpTunnelReply(UdpTunnelReply {
                    sub_type: *sub,
                    code: UdpTunnelReplyCode::from(*code),
                    forced: f0 & 0x80 != 0,
                    keepalive_interval: u16::from_be_bytes([*k0, *k1]),
                }),
                _ => return Err(Error::MalformedExtension(raw.ext_type)),
            },
            _ => Extension::Other {
                ext_type: raw.ext_type,
                subtype: raw.subtype,
                data: raw.data.to_vec(),
            },
        })
    }

    /// The Type octet this extension is sent with.
    pub fn ext_type(&self) -> ExtensionType {
        match self {
            Extension::MnHaAuth(_) => ExtensionType::MnHaAuth,
            Extension::MnFaAuth(_) => ExtensionType::MnFaAuth,
            Extension::FaHaAuth(_) => ExtensionType::FaHaAuth,
            Extension::MnNai(_) => ExtensionType::MnNai,
            Extension::UdpTunnelRequest(_) => ExtensionType::UdpTunnelRequest,
            Extension::UdpTunnelReply(_) => ExtensionType::UdpTunnelReply,
            Extension::Other { ext_type, .. } => ExtensionType::from(*ext_type),
        }
    }

    /// False for a raw extension in the non-skippable range: RFC 5944 §1.9
    /// forbids acting on a message that carries one.
    pub fn is_recognized(&self) -> bool {
        match self {
            Extension::Other { ext_type, .. } => ExtensionType::from(*ext_type).is_skippable(),
            _ => true,
        }
    }

    fn data_len(&self) -> usize {
        match self {
            Extension::MnHaAuth(a) | Extension::MnFaAuth(a) | Extension::FaHaAuth(a) => {
                4 + a.authenticator.len()
            }
            Extension::MnNai(nai) => nai.len(),
            Extension::UdpTunnelRequest(_) | Extension::UdpTunnelReply(_) => 6,
            Extension::Other { data, .. } => data.len(),
        }
    }

    fn header_len(&self) -> usize {
        if self.ext_type().is_long_format() {
            4
        } else {
            2
        }
    }

    /// Octets this extension occupies on the wire.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.data_len()
    }

    /// Writes the extension at the start of `buf`; returns octets written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let ty = u8::from(self.ext_type());
        let data_len = self.data_len();
        let header = self.header_len();
        let max = if header == 4 {
            usize::from(u16::MAX)
        } else {
            SHORT_MAX
        };
        if data_len > max {
            return Err(Error::ExtensionTooLong(ty));
        }
        let total = header + data_len;
        let out = buf.get_mut(..total).ok_or(Error::BufferTooSmall)?;
        out[0] = ty;
        if header == 4 {
            out[1] = match self {
                Extension::Other { subtype, .. } => subtype.unwrap_or(0),
                _ => 0,
            };
            out[2..4].copy_from_slice(&(data_len as u16).to_be_bytes());
        } else {
            out[1] = data_len as u8;
        }
        let body = &mut out[header..];
        match self {
            Extension::MnHaAuth(a) | Extension::MnFaAuth(a) | Extension::FaHaAuth(a) => {
                body[..4].copy_from_slice(&a.spi.to_be_bytes());
                body[4..].copy_from_slice(&a.authenticator);
            }
            Extension::MnNai(nai) => body.copy_from_slice(nai),
            Extension::UdpTunnelRequest(r) => {
                let flags = (u8::from(r.force) << 7) | (u8::from(r.registration_through_fa) << 6);
                body.copy_from_slice(&[r.sub_type, 0, flags, r.encapsulation.into(), 0, 0]);
            }
            Extension::UdpTunnelReply(r) => {
                let [k0, k1] = r.keepalive_interval.to_be_bytes();
                body.copy_from_slice(&[
                    r.sub_type,
                    r.code.into(),
                    u8::from(r.forced) << 7,
                    0,
                    k0,
                    k1,
                ]);
            }
            Extension::Other { data, .. } => body.copy_from_slice(data),
        }
        Ok(total)
    }
}

/// Parses every extension in `message[start..]`.
///
/// The vector holds at most `(len - start) / 2` entries, so the allocation
/// is bounded by the input.
pub fn parse_extensions(message: &[u8], start: usize) -> Result<Vec<Extension>, Error> {
    ExtensionReader::new(message, start)
        .map(|raw| raw.and_then(|r| Extension::parse(&r)))
        .collect()
}

/// Total octets of a list of extensions.
pub fn extensions_len(exts: &[Extension]) -> usize {
    exts.iter().map(Extension::buffer_len).sum()
}

/// Emits a list of extensions back to back.
pub fn emit_extensions(exts: &[Extension], buf: &mut [u8]) -> Result<usize, Error> {
    let mut pos = 0;
    for ext in exts {
        let rest = buf.get_mut(pos..).ok_or(Error::BufferTooSmall)?;
        pos += ext.emit(rest)?;
    }
    Ok(pos)
}

/// The first extension RFC 5944 §1.9 forbids ignoring that this crate did
/// not interpret, if any.
pub fn first_unrecognized(exts: &[Extension]) -> Option<u8> {
    exts.iter()
        .find(|e| !e.is_recognized())
        .map(|e| u8::from(e.ext_type()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_framing() {
        // MN-NAI "a@b", then a long-format Generalized Auth (type 36,
        // subtype 1, length 5), then a skippable unknown 200 with no data.
        let bytes = [
            131, 3, b'a', b'@', b'b', 36, 1, 0, 5, 0, 0, 1, 0, 0xaa, 200, 0,
        ];
        let exts = parse_extensions(&bytes, 0).expect("parses");
        assert_eq!(exts.len(), 3);
        assert_eq!(exts[0], Extension::MnNai(b"a@b".to_vec()));
        assert_eq!(
            exts[1],
            Extension::Other {
                ext_type: 36,
                subtype: Some(1),
                data: vec![0, 0, 1, 0, 0xaa]
            }
        );
        assert!(!exts[1].is_recognized());
        assert!(exts[2].is_recognized());
        assert_eq!(first_unrecognized(&exts), Some(36));
        let mut out = vec![0; extensions_len(&exts)];
        assert_eq!(emit_extensions(&exts, &mut out), Ok(bytes.len()));
        assert_eq!(out, bytes);
    }

    #[test]
    fn udp_tunnel_extensions() {
        let req = [144, 6, 0, 0, 0xc0, 4, 0, 0];
        let exts = parse_extensions(&req, 0).expect("parses");
        assert_eq!(
            exts,
            [Extension::UdpTunnelRequest(UdpTunnelRequest {
                sub_type: 0,
                force: true,
                registration_through_fa: true,
                encapsulation: Encapsulation::IpInIp,
            })]
        );
        let rep = [44, 6, 0, 0, 0x80, 0, 0, 110];
        let exts = parse_extensions(&rep, 0).expect("parses");
        let mut out = [0u8; 8];
        exts[0].emit(&mut out).expect("emits");
        assert_eq!(out, rep);
        assert_eq!(
            exts[0],
            Extension::UdpTunnelReply(UdpTunnelReply {
                sub_type: 0,
                code: UdpTunnelReplyCode::Accepted,
                forced: true,
                keepalive_interval: 110
            })
        );
        assert_eq!(
            parse_extensions(&[144, 5, 0, 0, 0, 4, 0], 0),
            Err(Error::MalformedExtension(144))
        );
    }

    #[test]
    fn truncation_and_bad_auth() {
        assert_eq!(parse_extensions(&[32], 0), Err(Error::Truncated));
        assert_eq!(
            parse_extensions(&[32, 4, 0, 0, 1], 0),
            Err(Error::Truncated)
        );
        assert_eq!(parse_extensions(&[36, 0, 0], 0), Err(Error::Truncated));
        assert_eq!(
            parse_extensions(&[32, 3, 0, 0, 1], 0),
            Err(Error::MalformedExtension(32))
        );
        assert_eq!(parse_extensions(&[1, 2, 3], 9), Ok(vec![]));
    }

    #[test]
    fn too_long_is_refused() {
        let e = Extension::MnNai(vec![b'x'; 256]);
        let mut out = vec![0; 300];
        assert_eq!(e.emit(&mut out), Err(Error::ExtensionTooLong(131)));
        assert_eq!(
            Extension::MnNai(vec![1]).emit(&mut [0u8; 2]),
            Err(Error::BufferTooSmall)
        );
    }
}
