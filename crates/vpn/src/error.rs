//! Errors of the SIU protocol, one enum per cause.
//!
//! The split follows who can act on them: [`WireError`] is about octets
//! (nothing can be authenticated, so nothing is answered), [`KeyError`] about
//! configuration, [`ReplayError`] and [`FieldError`] about authenticated
//! messages (answered with SIU-Ack status 130 and 131), [`RefuseReason`]
//! gathers the gateway's reasons to refuse an SIU, [`AckError`] the home
//! agent's reasons to ignore an SIU-Ack, [`SendError`] the home agent's reasons
//! not to send, and [`SnapshotError`] a bad replay-state text.

use std::net::Ipv4Addr;

/// Why octets are not a well-formed SIU or SIU-Ack (see [`crate::siu`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer octets than the smallest message of the expected type.
    #[error("{len} octets is shorter than the minimum of {min}")]
    Truncated {
        /// Octets received.
        len: usize,
        /// Smallest valid length.
        min: usize,
    },
    /// More octets than the largest message of the expected type.
    #[error("{len} octets is longer than the maximum of {max}")]
    TooLong {
        /// Octets received.
        len: usize,
        /// Largest valid length.
        max: usize,
    },
    /// The type octet is not the one expected here.
    #[error("message type {found}, expected {expected}")]
    UnexpectedType {
        /// Type octet found.
        found: u8,
        /// Type octet expected.
        expected: u8,
    },
    /// The Length field disagrees with the octets received.
    #[error("length field says {field} octets, datagram has {actual}")]
    LengthMismatch {
        /// Value of the Length field.
        field: usize,
        /// Octets received.
        actual: usize,
    },
    /// The Reply Length field disagrees with the message length, or the
    /// reply is outside [`crate::siu::MIN_REPLY_LEN`]..=[`crate::siu::MAX_REPLY_LEN`].
    #[error("registration reply of {0} octets does not fit the message")]
    BadReplyLength(usize),
    /// SPI 0..=255 are reserved, as in RFC 5944 §1.6.
    #[error("SPI {0} is reserved (0..=255)")]
    ReservedSpi(u32),
    /// The output buffer is shorter than `buffer_len()`.
    #[error("output buffer of {len} octets, {needed} needed")]
    BufferTooShort {
        /// Octets available.
        len: usize,
        /// Octets needed.
        needed: usize,
    },
}

/// Why a key cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Secrets shorter than the HMAC-SHA-256 output are refused (RFC 2104
    /// §3: keys shorter than L octets are "strongly discouraged").
    #[error("secret of {0} octets is shorter than 32")]
    ShortSecret(usize),
    /// SPI 0..=255 are reserved, as in RFC 5944 §1.6.
    #[error("SPI {0} is reserved (0..=255)")]
    ReservedSpi(u32),
}

/// The authenticator does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("HMAC-SHA-256 authenticator does not verify")]
pub struct BadMac;

/// Why an authenticated SIU's identification is refused (SIU-Ack 130).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// Not strictly greater than the last identification accepted under
    /// this SPI: a replay or a reordered retransmission.
    #[error("identification {got:#018x} is not above the last accepted {last:#018x}")]
    NotIncreasing {
        /// Identification of the message.
        got: u64,
        /// Last identification accepted under the SPI.
        last: u64,
    },
    /// Further than the window from the receiver's clock (RFC 5944 §5.7.1).
    #[error("identification {got:#018x} is more than {window_secs} s from the clock {now:#018x}")]
    OutsideWindow {
        /// Identification of the message.
        got: u64,
        /// The receiver's clock, NTP format.
        now: u64,
        /// The window, seconds.
        window_secs: u32,
    },
}

/// An authenticated SIU whose content cannot be applied (SIU-Ack 131).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// The home address is not a unicast address.
    #[error("home address {0} is not unicast")]
    HomeAddress(Ipv4Addr),
    /// The new care-of address is not a unicast address: the gateway would
    /// aim the node's outbound SA at nowhere or at many.
    #[error("new care-of address {0} is not unicast")]
    NewCareOf(Ipv4Addr),
    /// UDP port 0 cannot be the source of the node's ESP-in-UDP.
    #[error("new care-of UDP port 0")]
    ZeroPort,
}

/// Why the gateway's [`crate::receiver::SiuReceiver`] refused an SIU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefuseReason {
    /// Not a well-formed SIU; not answered.
    #[error("malformed SIU: {0}")]
    Malformed(#[from] WireError),
    /// No key has this SPI; not answered.
    #[error("no key with SPI {0}")]
    UnknownSpi(u32),
    /// The authenticator does not verify; not answered.
    #[error("SIU authentication failed")]
    BadMac,
    /// Authentic but stale, replayed or from the future; answered 130.
    #[error("SIU identification refused: {0}")]
    Replay(#[from] ReplayError),
    /// Authentic but its fields cannot be applied; answered 131.
    #[error("SIU content refused: {0}")]
    Field(#[from] FieldError),
}

/// Why the home agent's [`crate::sender::SiuSender`] ignored an SIU-Ack.
/// None of these changes the sender's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// Not a well-formed SIU-Ack.
    #[error("malformed SIU-Ack: {0}")]
    Malformed(#[from] WireError),
    /// No key has this SPI.
    #[error("no key with SPI {0}")]
    UnknownSpi(u32),
    /// The authenticator does not verify.
    #[error("SIU-Ack authentication failed")]
    BadMac,
    /// No SIU is outstanding for this home address.
    #[error("no SIU outstanding for home address {0}")]
    NotOutstanding(Ipv4Addr),
    /// An SIU is outstanding for this home address, but under another SPI
    /// or with another identification: a late or foreign answer.
    #[error("SIU-Ack for {0} does not match the outstanding SIU")]
    Mismatch(Ipv4Addr),
}

/// Why the home agent cannot send an SIU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// No key has this SPI.
    #[error("no key with SPI {0}")]
    UnknownSpi(u32),
    /// The update does not fit the message (reply length).
    #[error("SIU cannot be encoded: {0}")]
    Wire(#[from] WireError),
    /// The gateway would refuse the update's content.
    #[error("SIU content invalid: {0}")]
    Field(#[from] FieldError),
    /// The configuration is out of range.
    #[error("invalid sender configuration: {0}")]
    Config(&'static str),
}

/// Why a replay-state text cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// A line is not `<spi> <16 hex digits>`.
    #[error("line {line}: expected `<spi> <16 hex digits>`")]
    Syntax {
        /// 1-based line number.
        line: usize,
    },
    /// A line names a reserved SPI (0..=255).
    #[error("line {line}: SPI {spi} is reserved")]
    ReservedSpi {
        /// 1-based line number.
        line: usize,
        /// The SPI.
        spi: u32,
    },
    /// Two lines name the same SPI.
    #[error("line {line}: SPI {spi} appears twice")]
    Duplicate {
        /// 1-based line number.
        line: usize,
        /// The SPI.
        spi: u32,
    },
    /// More entries than [`crate::replay::MAX_SNAPSHOT_ENTRIES`].
    #[error("more than {0} entries")]
    TooManyEntries(usize),
}
