//! Why octets are not a well-formed EAP packet or EAP-AKA' message.
//!
//! One enum for the three wire layers ([`crate::packet`],
//! [`crate::attribute`], [`crate::message`]): a decoder returns it, never
//! panics. The state machines map it onto the protocol's own answers (a
//! silent discard for a bad EAP packet, RFC 3748 §4; an AKA-Notification or
//! Client-Error for a bad AKA' message, RFC 4187 §6.3).

/// A decoding or encoding error of the EAP wire formats.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Fewer octets than the EAP header, or than its Length field says
    /// (RFC 3748 §4.1: such a packet is silently discarded).
    #[error("truncated: {have} octets, {need} needed")]
    Truncated {
        /// Octets available.
        have: usize,
        /// Octets needed.
        need: usize,
    },
    /// A Length field impossible for the Code: below 4, a Request or
    /// Response without a Type (below 5), or a Success/Failure with data
    /// (RFC 3748 §4.1, §4.2).
    #[error("length {0} is invalid for this code")]
    BadLength(u16),
    /// A Code other than Request, Response, Success, Failure (RFC 3748 §4:
    /// unknown codes are silently discarded).
    #[error("unknown EAP code {0}")]
    UnknownCode(u8),
    /// The packet to build would exceed the 65535 octets of the Length field.
    #[error("{0} octets do not fit in an EAP packet")]
    TooLong(usize),
    /// The packet is not EAP-AKA' (Type 50, RFC 9048 §6).
    #[error("not an EAP-AKA' packet")]
    NotAkaPrime,
    /// AKA' Type-Data shorter than Subtype and Reserved (RFC 4187 §8.1).
    #[error("AKA' header truncated")]
    ShortAkaHeader,
    /// An attribute whose Length is zero or runs past the end of the packet
    /// (RFC 4187 §8.1).
    #[error("attribute {typ} has a bad length")]
    AttributeLength {
        /// The attribute type.
        typ: u8,
    },
    /// An attribute whose length or inner fields do not match its definition
    /// (RFC 4187 §10, RFC 9048 §3.1-§3.2, §4).
    #[error("attribute {typ} is malformed")]
    AttributeFormat {
        /// The attribute type.
        typ: u8,
    },
    /// A non-skippable attribute (type 0-127) this implementation does not
    /// know: RFC 4187 §8.1 makes that an error.
    #[error("unknown non-skippable attribute {0}")]
    UnknownAttribute(u8),
    /// More attributes than [`crate::message::MAX_ATTRIBUTES`].
    #[error("too many attributes")]
    TooManyAttributes,
    /// An attribute that may appear once appears again.
    #[error("attribute {0} appears more than once")]
    DuplicateAttribute(u8),
    /// A value too long for its attribute's one-octet length (1020 octets
    /// including the header) or its two-octet inner length.
    #[error("value of {len} octets too long for attribute {typ}")]
    ValueTooLong {
        /// The attribute type.
        typ: u8,
        /// The value length.
        len: usize,
    },
    /// A MAC was to be computed or checked but the message has no AT_MAC.
    #[error("no AT_MAC in the message")]
    MissingMac,
}
