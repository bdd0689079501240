//! The crate's error type, mapped onto the Registration Reply code an agent
//! answers with (RFC 5944 §3.4, §3.7.2, §3.8.2).

use crate::code::ReplyCode;

/// Which agent is answering; the same fault maps to different reply codes
/// for a foreign agent (64..127) and a home agent (128..191).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Foreign agent relaying or rejecting a request (RFC 5944 §3.7).
    ForeignAgent,
    /// Home agent processing a request (RFC 5944 §3.8).
    HomeAgent,
}

/// Everything that can go wrong decoding, encoding or authenticating a
/// Mobile IPv4 message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The buffer ends before the fixed part or a declared length.
    #[error("truncated message")]
    Truncated,
    /// The output buffer is shorter than `buffer_len()`.
    #[error("output buffer too small")]
    BufferTooSmall,
    /// The message type octet is not the one this decoder handles.
    #[error("unexpected message type {0}")]
    WrongType(u8),
    /// An extension's length does not fit the format its type requires
    /// (e.g. an authentication extension shorter than its SPI).
    #[error("malformed extension of type {0}")]
    MalformedExtension(u8),
    /// A value is too long for its length field (255 for the short
    /// extension format, 65535 for the long one).
    #[error("value too long for extension of type {0}")]
    ExtensionTooLong(u8),
    /// An extension in the non-skippable range 0..=127 that this crate
    /// cannot interpret; RFC 5944 §1.9 says the message must not be used.
    #[error("unrecognized non-skippable extension {0}")]
    UnrecognizedExtension(u8),
    /// The ICMP checksum does not verify (RFC 1256 §3).
    #[error("bad ICMP checksum")]
    Checksum,
    /// An ICMP Router Advertisement field is out of range (type, entry
    /// size, or a count inconsistent with the length).
    #[error("malformed ICMP router advertisement")]
    MalformedAdvertisement,
    /// The message carries no authentication extension of the kind asked for.
    #[error("authentication extension {0} missing")]
    MissingAuthentication(u8),
    /// The extension's SPI names no security association we hold, or
    /// another one than the association given.
    #[error("unknown SPI {0}")]
    UnknownSpi(u32),
    /// The authenticator does not match the computed MAC.
    #[error("authenticator mismatch")]
    BadAuthenticator,
    /// SPI values 0..=255 are reserved (RFC 5944 §1.6) and never name an SA.
    #[error("SPI {0} is reserved")]
    ReservedSpi(u32),
    /// An empty key is refused (RFC 5944 §3.5.1 wants keys of at least
    /// 128 bits for HMAC-MD5; zero bytes would be no key at all).
    #[error("key too short")]
    ShortKey,
}

impl Error {
    /// The Registration Reply code an agent in `role` answers a request
    /// that failed with this error; `None` where RFC 5944 says to discard
    /// silently (garbage that is not a request at all).
    pub fn reply_code(&self, role: Role) -> Option<ReplyCode> {
        use ReplyCode as C;
        let code = match (self, role) {
            (Error::WrongType(_) | Error::BufferTooSmall, _) => return None,
            (
                Error::MissingAuthentication(_)
                | Error::UnknownSpi(_)
                | Error::BadAuthenticator
                | Error::ReservedSpi(_),
                Role::ForeignAgent,
            ) => C::FaMobileNodeFailedAuthentication,
            (
                Error::MissingAuthentication(_)
                | Error::UnknownSpi(_)
                | Error::BadAuthenticator
                | Error::ReservedSpi(_),
                Role::HomeAgent,
            ) => C::HaMobileNodeFailedAuthentication,
            (_, Role::ForeignAgent) => C::FaPoorlyFormedRequest,
            (_, Role::HomeAgent) => C::HaPoorlyFormedRequest,
        };
        Some(code)
    }
}
