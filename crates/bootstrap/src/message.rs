//! The message on the wire: a fixed header, then a body.
//!
//! ```text
//! offset  len  field
//!      0    1  version      1
//!      1    1  type         1 Start, 2 Eap, 3 ConfigRequest,
//!                           4 ConfigResponse, 5 Error
//!      2    2  length       octets of the whole message, header included
//!      4    8  session id   0 in Start; chosen at random by the HA
//!     12    4  sequence     the node numbers its messages 1, 2, 3, ...;
//!                           the HA's answer repeats the number it answers
//!     16    n  body         TLVs (Start, Eap, Error), or AES-256-GCM
//!                           ciphertext || tag (ConfigRequest/Response)
//! ```
//!
//! All integers are big-endian. One message is one UDP datagram
//! ([`DEFAULT_PORT`]); over a stream the length field frames the messages
//! ([`frame_len`]). Bodies:
//!
//! - **Start** (node → HA): `NodeNonce` (16 octets, mandatory),
//!   `IdentityHint` (optional UTF-8, ≤ 253 octets).
//! - **Eap** (both ways): `EapPacket` (one EAP packet, RFC 3748 §4, opaque,
//!   1..=[`MAX_EAP_LEN`] octets).
//! - **ConfigRequest** / **ConfigResponse**: sealed ([`crate::seal`]); the
//!   body is the ciphertext of a TLV list and the 16-octet GCM tag.
//! - **Error** (HA → node, before keys exist): `Cause` (two octets),
//!   `Text` (optional UTF-8, ≤ [`MAX_TEXT_LEN`] octets).
//!
//! Contract, as in smoltcp: after [`Packet::new_checked`] no accessor
//! panics; [`Repr::emit`] never panics on a buffer of [`Repr::buffer_len`]
//! octets; nothing here allocates more than [`MAX_MESSAGE_LEN`] octets.

use core::fmt;

use crate::cause::Cause;
use crate::tlv::{self, Fields, TlvError, TlvType, open_enum};

/// The protocol version of this crate.
pub const VERSION: u8 = 1;
/// Octets of the fixed header.
pub const HEADER_LEN: usize = 16;
/// The largest message: a UDP payload that fits a 1500-octet IPv4 MTU
/// without fragmentation (1500 - 20 - 8).
pub const MAX_MESSAGE_LEN: usize = 1472;
/// The largest EAP packet carried, leaving room for header and TLV.
pub const MAX_EAP_LEN: usize = 1400;
/// Octets of the node nonce in Start.
pub const NONCE_LEN: usize = 16;
/// The longest identity hint (a DNS name or NAI fits).
pub const MAX_HINT_LEN: usize = 253;
/// The longest text in an Error or refusal.
pub const MAX_TEXT_LEN: usize = 200;
/// The default UDP port of the HA (unassigned by IANA; a local choice).
pub const DEFAULT_PORT: u16 = 4434;

mod field {
    use core::ops::Range;

    pub const VERSION: usize = 0;
    pub const TYPE: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const SESSION: Range<usize> = 4..12;
    pub const SEQUENCE: Range<usize> = 12..16;
    pub const BODY: usize = 16;
}

open_enum! {
    /// The message type (header octet 1).
    pub enum MessageType(u8) {
        /// Node → HA: opens a session.
        Start = 1,
        /// Both ways: one EAP packet.
        Eap = 2,
        /// Node → HA, sealed: public key, proof, desired FQDN, secret.
        ConfigRequest = 3,
        /// HA → node, sealed: the configuration, or a refusal.
        ConfigResponse = 4,
        /// HA → node, in clear: a cause and text.
        Error = 5,
    }
}

/// The 8-octet session id; all zero means "none yet" (Start).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SessionId(pub [u8; 8]);

impl SessionId {
    /// The id of a Start message.
    pub const NONE: SessionId = SessionId([0; 8]);

    /// Whether this is [`SessionId::NONE`].
    pub fn is_none(&self) -> bool {
        self.0 == [0; 8]
    }

    /// The id as an integer, e.g. as a map key.
    pub fn as_u64(&self) -> u64 {
        u64::from_be_bytes(self.0)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.as_u64())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

/// Why octets are not a well-formed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// Shorter than the header.
    #[error("message of {0} octets is shorter than the header")]
    Truncated(usize),
    /// Longer than [`MAX_MESSAGE_LEN`] (or its length field says so).
    #[error("message of {0} octets is too long")]
    TooLong(usize),
    /// The length field does not equal the octets present.
    #[error("length field {field} but {actual} octets")]
    Length {
        /// The length field.
        field: u16,
        /// Octets actually present.
        actual: usize,
    },
    /// A version other than [`VERSION`].
    #[error("unsupported version {0}")]
    Version(u8),
    /// A message type this version does not know.
    #[error("unknown message type {0}")]
    UnknownType(u8),
    /// The body's TLVs are not acceptable.
    #[error("bad body: {0}")]
    Body(#[from] TlvError),
    /// A sealed body shorter than the GCM tag.
    #[error("sealed body too short")]
    ShortSealed,
    /// The output buffer is not [`Repr::buffer_len`] octets, or a field is
    /// out of range for emission.
    #[error("buffer or field has the wrong size")]
    BufferSize,
}

/// A zero-copy view of a message.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; accessors may panic on a short
    /// buffer. Use [`Packet::new_checked`] on received data.
    pub fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps a received buffer after checking the header: at least
    /// [`HEADER_LEN`] and at most [`MAX_MESSAGE_LEN`] octets, version
    /// [`VERSION`], length field equal to the buffer's length.
    pub fn new_checked(buffer: T) -> Result<Self, MessageError> {
        let p = Packet { buffer };
        p.check()?;
        Ok(p)
    }

    fn check(&self) -> Result<(), MessageError> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(MessageError::Truncated(b.len()));
        }
        if b.len() > MAX_MESSAGE_LEN {
            return Err(MessageError::TooLong(b.len()));
        }
        if b[field::VERSION] != VERSION {
            return Err(MessageError::Version(b[field::VERSION]));
        }
        if usize::from(self.length()) != b.len() {
            return Err(MessageError::Length {
                field: self.length(),
                actual: b.len(),
            });
        }
        Ok(())
    }

    /// The version octet.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VERSION]
    }

    /// The message type.
    pub fn msg_type(&self) -> MessageType {
        MessageType::from(self.buffer.as_ref()[field::TYPE])
    }

    /// The length field.
    pub fn length(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::LENGTH];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// The session id.
    pub fn session_id(&self) -> SessionId {
        let mut id = [0u8; 8];
        id.copy_from_slice(&self.buffer.as_ref()[field::SESSION]);
        SessionId(id)
    }

    /// The sequence number.
    pub fn sequence(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::SEQUENCE];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The header octets (the AAD of a sealed message).
    pub fn header_bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[..field::BODY]
    }

    /// The body octets.
    pub fn body(&self) -> &[u8] {
        &self.buffer.as_ref()[field::BODY..]
    }

    /// The header as a value.
    pub fn header(&self) -> Header {
        Header {
            msg_type: self.msg_type(),
            session_id: self.session_id(),
            sequence: self.sequence(),
        }
    }

    /// The whole message.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Writes the header for a message of `total_len` octets.
    fn set_header(&mut self, header: &Header, total_len: u16) {
        let b = self.buffer.as_mut();
        b[field::VERSION] = VERSION;
        b[field::TYPE] = u8::from(header.msg_type);
        b[field::LENGTH].copy_from_slice(&total_len.to_be_bytes());
        b[field::SESSION].copy_from_slice(&header.session_id.0);
        b[field::SEQUENCE].copy_from_slice(&header.sequence.to_be_bytes());
    }

    /// The body octets, writable.
    pub fn body_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::BODY..]
    }
}

impl<T: AsRef<[u8]>> fmt::Display for Packet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Repr::parse(self) {
            Ok(repr) => write!(f, "{repr}"),
            Err(e) => write!(f, "bootstrap message ({e})"),
        }
    }
}

/// The header fields other than version and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The message type.
    pub msg_type: MessageType,
    /// The session id.
    pub session_id: SessionId,
    /// The sequence number.
    pub sequence: u32,
}

impl Header {
    /// The 16 header octets of a message of `total_len` octets, as a
    /// sealed message's AAD (the length covers ciphertext and tag).
    pub fn to_bytes(&self, total_len: u16) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        Packet::new_unchecked(&mut out[..]).set_header(self, total_len);
        out
    }
}

/// A parsed body; sealed bodies stay opaque here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// Start: the node nonce and an optional identity hint.
    Start {
        /// The node's nonce, part of the key schedule's salt.
        nonce: [u8; NONCE_LEN],
        /// An identity the node would use (e.g. its NAI), for the HA's
        /// logs and to prefetch vectors; EAP still authenticates it.
        identity_hint: Option<&'a str>,
    },
    /// One EAP packet, opaque.
    Eap(&'a [u8]),
    /// A sealed ConfigRequest: ciphertext || tag.
    ConfigRequest(&'a [u8]),
    /// A sealed ConfigResponse: ciphertext || tag.
    ConfigResponse(&'a [u8]),
    /// An Error in clear.
    Error {
        /// The cause.
        cause: Cause,
        /// A short human-readable text (may be empty).
        text: &'a str,
    },
}

impl Body<'_> {
    /// The message type this body belongs to.
    pub fn msg_type(&self) -> MessageType {
        match self {
            Body::Start { .. } => MessageType::Start,
            Body::Eap(_) => MessageType::Eap,
            Body::ConfigRequest(_) => MessageType::ConfigRequest,
            Body::ConfigResponse(_) => MessageType::ConfigResponse,
            Body::Error { .. } => MessageType::Error,
        }
    }
}

/// A message as values: header fields and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    /// The session id.
    pub session_id: SessionId,
    /// The sequence number.
    pub sequence: u32,
    /// The body; it decides the message type.
    pub body: Body<'a>,
}

impl<'a> Repr<'a> {
    /// Parses a checked packet.
    pub fn parse<T: AsRef<[u8]>>(packet: &'a Packet<T>) -> Result<Self, MessageError> {
        Self::parse_bytes(packet.buffer.as_ref())
    }

    /// Checks and parses one whole message.
    pub fn parse_bytes(bytes: &'a [u8]) -> Result<Self, MessageError> {
        let packet = Packet::new_checked(bytes)?;
        let header = packet.header();
        let body = &bytes[field::BODY..];
        let body = match header.msg_type {
            MessageType::Start => {
                let f = Fields::read(body, &[TlvType::NodeNonce, TlvType::IdentityHint])?;
                Body::Start {
                    nonce: f.req_array(TlvType::NodeNonce)?,
                    identity_hint: f.opt_str(TlvType::IdentityHint, MAX_HINT_LEN)?,
                }
            }
            MessageType::Eap => {
                let f = Fields::read(body, &[TlvType::EapPacket])?;
                let eap = f.req(TlvType::EapPacket)?;
                if eap.is_empty() || eap.len() > MAX_EAP_LEN {
                    return Err(TlvError::BadLength {
                        kind: TlvType::EapPacket,
                        len: eap.len(),
                    }
                    .into());
                }
                Body::Eap(eap)
            }
            MessageType::ConfigRequest | MessageType::ConfigResponse => {
                if body.len() < crate::seal::TAG_LEN + 1 {
                    return Err(MessageError::ShortSealed);
                }
                if header.msg_type == MessageType::ConfigRequest {
                    Body::ConfigRequest(body)
                } else {
                    Body::ConfigResponse(body)
                }
            }
            MessageType::Error => {
                let f = Fields::read(body, &[TlvType::Cause, TlvType::Text])?;
                let cause = f.req_array::<2>(TlvType::Cause)?;
                Body::Error {
                    cause: Cause::from(u16::from_be_bytes(cause)),
                    text: f.opt_str(TlvType::Text, MAX_TEXT_LEN)?.unwrap_or(""),
                }
            }
            MessageType::Unknown(t) => return Err(MessageError::UnknownType(t)),
        };
        Ok(Repr {
            session_id: header.session_id,
            sequence: header.sequence,
            body,
        })
    }

    /// The header of this message.
    pub fn header(&self) -> Header {
        Header {
            msg_type: self.body.msg_type(),
            session_id: self.session_id,
            sequence: self.sequence,
        }
    }

    /// The body octets (TLVs or sealed octets).
    fn body_bytes(&self) -> Result<Vec<u8>, MessageError> {
        let mut out = Vec::new();
        match self.body {
            Body::Start {
                nonce,
                identity_hint,
            } => {
                tlv::put(&mut out, TlvType::NodeNonce, &nonce)?;
                if let Some(hint) = identity_hint {
                    if hint.len() > MAX_HINT_LEN {
                        return Err(MessageError::BufferSize);
                    }
                    tlv::put(&mut out, TlvType::IdentityHint, hint.as_bytes())?;
                }
            }
            Body::Eap(eap) => {
                if eap.is_empty() || eap.len() > MAX_EAP_LEN {
                    return Err(MessageError::BufferSize);
                }
                tlv::put(&mut out, TlvType::EapPacket, eap)?;
            }
            Body::ConfigRequest(sealed) | Body::ConfigResponse(sealed) => {
                out.extend_from_slice(sealed);
            }
            Body::Error { cause, text } => {
                tlv::put(&mut out, TlvType::Cause, &u16::from(cause).to_be_bytes())?;
                if !text.is_empty() {
                    tlv::put(&mut out, TlvType::Text, truncate_utf8(text, MAX_TEXT_LEN))?;
                }
            }
        }
        Ok(out)
    }

    /// Octets of the emitted message.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.body_bytes().map(|b| b.len()).unwrap_or(0)
    }

    /// Writes the message into `packet`, whose buffer must be exactly
    /// [`Repr::buffer_len`] octets (at most [`MAX_MESSAGE_LEN`]).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
    ) -> Result<(), MessageError> {
        let body = self.body_bytes()?;
        let total = HEADER_LEN + body.len();
        if total > MAX_MESSAGE_LEN || packet.buffer.as_ref().len() != total {
            return Err(MessageError::BufferSize);
        }
        let total16 = u16::try_from(total).map_err(|_| MessageError::BufferSize)?;
        packet.set_header(&self.header(), total16);
        packet.body_mut().copy_from_slice(&body);
        Ok(())
    }

    /// The message as a new vector.
    pub fn to_bytes(&self) -> Result<Vec<u8>, MessageError> {
        let body = self.body_bytes()?;
        let total = HEADER_LEN + body.len();
        if total > MAX_MESSAGE_LEN {
            return Err(MessageError::TooLong(total));
        }
        let mut out = vec![0u8; total];
        self.emit(&mut Packet::new_unchecked(&mut out[..]))?;
        Ok(out)
    }
}

impl fmt::Display for Repr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bootstrap {:?} session={} seq={}",
            self.body.msg_type(),
            self.session_id,
            self.sequence
        )?;
        match self.body {
            Body::Start { identity_hint, .. } => {
                write!(f, " hint={}", identity_hint.unwrap_or("-"))
            }
            Body::Eap(eap) => write!(f, " eap_len={}", eap.len()),
            Body::ConfigRequest(s) | Body::ConfigResponse(s) => {
                write!(f, " sealed_len={}", s.len())
            }
            Body::Error { cause, text } => write!(f, " cause={cause} text={text:?}"),
        }
    }
}

/// The longest prefix of `s` of at most `max` octets that ends on a
/// character boundary.
pub(crate) fn truncate_utf8(s: &str, max: usize) -> &[u8] {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s.as_bytes()[..end]
}

/// Over a stream: the length of the message at the start of `buf`, once
/// its first four octets are there (`Ok(None)` before). Refuses lengths
/// below [`HEADER_LEN`] or above [`MAX_MESSAGE_LEN`], and other versions,
/// so a reader never waits for or buffers more than one message.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, MessageError> {
    let Some(head) = buf.get(..4) else {
        return Ok(None);
    };
    if head[0] != VERSION {
        return Err(MessageError::Version(head[0]));
    }
    let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    if len < HEADER_LEN {
        return Err(MessageError::Truncated(len));
    }
    if len > MAX_MESSAGE_LEN {
        return Err(MessageError::TooLong(len));
    }
    Ok(Some(len))
}

/// Where a datagram arriving at the HA belongs (for the driver's session
/// table): a Start opens (or repeats) a session named by its nonce, every
/// other message names its session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A Start (session id 0), identified by its nonce.
    Start {
        /// The node nonce of the Start.
        nonce: [u8; NONCE_LEN],
    },
    /// A message for an existing session.
    Session(SessionId),
}

/// Classifies a datagram for the HA without processing it.
pub fn route(datagram: &[u8]) -> Result<Route, MessageError> {
    let repr = Repr::parse_bytes(datagram)?;
    match repr.body {
        Body::Start { nonce, .. } if repr.session_id.is_none() => Ok(Route::Start { nonce }),
        _ => Ok(Route::Session(repr.session_id)),
    }
}

/// A clear Error answering the message whose header is `to` (same session
/// and sequence), e.g. [`Cause::UnknownSession`] from a driver that has no
/// session for it.
pub fn error_reply(to: &Header, cause: Cause, text: &str) -> Result<Vec<u8>, MessageError> {
    Repr {
        session_id: to.session_id,
        sequence: to.sequence,
        body: Body::Error { cause, text },
    }
    .to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid() -> SessionId {
        SessionId([1, 2, 3, 4, 5, 6, 7, 8])
    }

    fn round_trip(repr: Repr<'_>) -> Vec<u8> {
        let bytes = repr.to_bytes().unwrap();
        assert_eq!(bytes.len(), repr.buffer_len());
        let back = Repr::parse_bytes(&bytes).unwrap();
        assert_eq!(back, repr);
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.header(), repr.header());
        assert!(packet.to_string().starts_with("bootstrap "));
        bytes
    }

    #[test]
    fn start_layout() {
        let bytes = round_trip(Repr {
            session_id: SessionId::NONE,
            sequence: 1,
            body: Body::Start {
                nonce: [0xaa; 16],
                identity_hint: Some("0001010000000001@example.net"),
            },
        });
        assert_eq!(
            &bytes[..16],
            &[1, 1, 0, 68, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        );
        assert_eq!(&bytes[16..20], &[0x80, 0x01, 0, 16]);
        assert_eq!(route(&bytes).unwrap(), Route::Start { nonce: [0xaa; 16] });
        round_trip(Repr {
            session_id: SessionId::NONE,
            sequence: 1,
            body: Body::Start {
                nonce: [0; 16],
                identity_hint: None,
            },
        });
    }

    #[test]
    fn every_type_round_trips() {
        let eap = [1u8, 1, 0, 5, 1];
        let bytes = round_trip(Repr {
            session_id: sid(),
            sequence: 2,
            body: Body::Eap(&eap),
        });
        assert_eq!(route(&bytes).unwrap(), Route::Session(sid()));
        let sealed = [7u8; 40];
        round_trip(Repr {
            session_id: sid(),
            sequence: 3,
            body: Body::ConfigRequest(&sealed),
        });
        round_trip(Repr {
            session_id: sid(),
            sequence: 3,
            body: Body::ConfigResponse(&sealed),
        });
        round_trip(Repr {
            session_id: sid(),
            sequence: 4,
            body: Body::Error {
                cause: Cause::NoAddressFree,
                text: "pool 10.0.0.0/24 is full",
            },
        });
        round_trip(Repr {
            session_id: sid(),
            sequence: 4,
            body: Body::Error {
                cause: Cause::Unknown(4000),
                text: "",
            },
        });
    }

    #[test]
    fn header_checks() {
        let good = Repr {
            session_id: sid(),
            sequence: 9,
            body: Body::Eap(&[4, 9, 0, 4]),
        }
        .to_bytes()
        .unwrap();
        assert_eq!(
            Packet::new_checked(&good[..10]).unwrap_err(),
            MessageError::Truncated(10)
        );
        let mut v2 = good.clone();
        v2[0] = 2;
        assert_eq!(
            Repr::parse_bytes(&v2).unwrap_err(),
            MessageError::Version(2)
        );
        let mut long = good.clone();
        long.push(0);
        assert!(matches!(
            Repr::parse_bytes(&long).unwrap_err(),
            MessageError::Length { .. }
        ));
        let mut unknown = good.clone();
        unknown[1] = 77;
        assert_eq!(
            Repr::parse_bytes(&unknown).unwrap_err(),
            MessageError::UnknownType(77)
        );
        let huge = vec![0u8; MAX_MESSAGE_LEN + 1];
        assert_eq!(
            Packet::new_checked(&huge[..]).unwrap_err(),
            MessageError::TooLong(MAX_MESSAGE_LEN + 1)
        );
    }

    #[test]
    fn body_checks() {
        // Eap without its TLV.
        let mut bytes = Repr {
            session_id: sid(),
            sequence: 1,
            body: Body::Error {
                cause: Cause::Busy,
                text: "",
            },
        }
        .to_bytes()
        .unwrap();
        bytes[1] = 2;
        assert_eq!(
            Repr::parse_bytes(&bytes).unwrap_err(),
            MessageError::Body(TlvError::Unexpected(TlvType::Cause))
        );
        // An empty EAP packet is refused both ways.
        assert_eq!(
            Repr {
                session_id: sid(),
                sequence: 1,
                body: Body::Eap(&[]),
            }
            .to_bytes()
            .unwrap_err(),
            MessageError::BufferSize
        );
        let big = vec![0u8; MAX_EAP_LEN + 1];
        assert!(
            Repr {
                session_id: sid(),
                sequence: 1,
                body: Body::Eap(&big),
            }
            .to_bytes()
            .is_err()
        );
        // A sealed body shorter than a tag.
        let mut short = Header {
            msg_type: MessageType::ConfigRequest,
            session_id: sid(),
            sequence: 1,
        }
        .to_bytes(HEADER_LEN as u16 + 16)
        .to_vec();
        short.extend_from_slice(&[0; 16]);
        assert_eq!(
            Repr::parse_bytes(&short).unwrap_err(),
            MessageError::ShortSealed
        );
    }

    #[test]
    fn long_error_text_is_cut_on_a_character() {
        let text = "é".repeat(150);
        let bytes = Repr {
            session_id: sid(),
            sequence: 1,
            body: Body::Error {
                cause: Cause::Internal,
                text: &text,
            },
        }
        .to_bytes()
        .unwrap();
        let Body::Error { text: back, .. } = Repr::parse_bytes(&bytes).unwrap().body else {
            panic!("not an error");
        };
        assert_eq!(back.len(), MAX_TEXT_LEN);
        assert!(text.starts_with(back));
    }

    #[test]
    fn stream_framing() {
        assert_eq!(frame_len(&[1, 2, 0]).unwrap(), None);
        assert_eq!(frame_len(&[1, 2, 0, 40, 9]).unwrap(), Some(40));
        assert_eq!(
            frame_len(&[1, 2, 0, 3]).unwrap_err(),
            MessageError::Truncated(3)
        );
        assert_eq!(
            frame_len(&[1, 2, 0xff, 0xff]).unwrap_err(),
            MessageError::TooLong(65535)
        );
        assert_eq!(
            frame_len(&[9, 2, 0, 40]).unwrap_err(),
            MessageError::Version(9)
        );
    }

    #[test]
    fn error_reply_echoes_session_and_sequence() {
        let to = Header {
            msg_type: MessageType::Eap,
            session_id: sid(),
            sequence: 7,
        };
        let bytes = error_reply(&to, Cause::UnknownSession, "gone").unwrap();
        let repr = Repr::parse_bytes(&bytes).unwrap();
        assert_eq!(repr.session_id, sid());
        assert_eq!(repr.sequence, 7);
        assert_eq!(
            repr.body,
            Body::Error {
                cause: Cause::UnknownSession,
                text: "gone"
            }
        );
    }
}
