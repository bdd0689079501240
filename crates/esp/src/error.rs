//! The crate's one error type, by cause.
//!
//! ESP has no error messages on the wire (RFC 4303 §3.4: a receiver that
//! rejects a packet discards it and may log the event), so each variant maps
//! onto "drop it" plus what to audit. The variants are grouped by who is at
//! fault: the packet (malformed, replayed, forged), the SA (expired,
//! exhausted) or the caller (configuration, buffers).

use std::net::IpAddr;

use crate::sa::Direction;

/// Why an SA stopped being usable (RFC 4301 §4.4.2.1 hard lifetime).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpiryCause {
    /// The hard lifetime in time has passed.
    Time,
    /// The hard lifetime in bytes has been reached.
    Bytes,
}

impl core::fmt::Display for ExpiryCause {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ExpiryCause::Time => "time",
            ExpiryCause::Bytes => "bytes",
        })
    }
}

/// Everything that can go wrong parsing, sealing or opening ESP, or
/// managing the SAD and SPD.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- the packet ----
    /// The input ends before a fixed part or a declared length.
    #[error("truncated: need {needed} bytes, have {got}")]
    Truncated {
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// No SA in the SAD has this SPI (RFC 4303 §3.4.2: discard, auditable).
    #[error("no SA for SPI {0:#010x}")]
    UnknownSpi(u32),
    /// The packet's SPI is not the one of the SA it was handed to.
    #[error("packet SPI {got:#010x} handed to the SA with SPI {sa:#010x}")]
    SpiMismatch {
        /// SPI of the SA.
        sa: u32,
        /// SPI in the packet.
        got: u32,
    },
    /// The sequence number was already received inside the replay window
    /// (RFC 4303 §3.4.3).
    #[error("sequence number {0} already received")]
    Replay(u64),
    /// The sequence number is left of the replay window (RFC 4303 §3.4.3),
    /// or, with ESN, would need a high half below zero (Appendix A2.2).
    #[error("sequence number {seq} is older than the window (highest {highest})")]
    TooOld {
        /// The (inferred) 64-bit sequence number.
        seq: u64,
        /// Highest sequence number authenticated so far.
        highest: u64,
    },
    /// A sequence number of zero: the sender's first packet is 1 and a
    /// 32-bit counter never wraps (RFC 4303 §2.2, §3.3.3).
    #[error("sequence number 0 is never sent")]
    ZeroSequence,
    /// The ICV did not verify (RFC 4303 §3.4.4, RFC 4106 §3): forged,
    /// corrupted, wrong key or wrong ESN high half. Nothing changed.
    #[error("ICV mismatch")]
    IcvMismatch,
    /// The Pad Length points before the start of the plaintext
    /// (RFC 4303 §2.5).
    #[error("pad length {pad_len} exceeds the {available} bytes available")]
    PadLengthTooLong {
        /// The Pad Length field.
        pad_len: u8,
        /// Plaintext bytes before the trailer.
        available: usize,
    },
    /// Padding bytes are not 1, 2, 3, … (RFC 4303 §2.4: the receiver
    /// should inspect them when the default padding scheme is used).
    #[error("padding bytes are not 1, 2, 3, ...")]
    BadPadding,
    /// Tunnel mode carries only IPv4 (4) and IPv6 (41) (RFC 4301 §4.1).
    #[error("next header {0} is not IPv4 or IPv6 (tunnel mode)")]
    UnsupportedNextHeader(u8),
    /// An authentic traffic-flow-confidentiality dummy packet, Next Header
    /// 59 (RFC 4303 §2.6): drop it silently.
    #[error("dummy packet (next header 59)")]
    DummyPacket,
    /// The inner packet is not a well-formed IP packet of the family the
    /// Next Header names.
    #[error("malformed inner packet: {0}")]
    MalformedInner(&'static str),
    /// The decrypted inner packet's addresses, protocol or ports are outside
    /// the SA's selectors (RFC 4301 §5.2 step 4): drop and audit.
    #[error("inner packet does not match the SA's selectors")]
    SelectorMismatch,
    /// The outer source address is not the SA's peer (inbound SAs with a
    /// fixed peer; wildcard SAs accept any).
    #[error("outer source {got} is not the SA's peer {expected}")]
    OuterSourceMismatch {
        /// Peer the SA expects.
        expected: IpAddr,
        /// Source the packet came from.
        got: IpAddr,
    },
    /// The UDP payload is not ESP (a keepalive or an IKE message,
    /// RFC 3948 §2.2, §2.3) but was handed to the ESP path.
    #[error("UDP payload is not ESP")]
    NotEsp,

    // ---- the SA ----
    /// The sender's counter would pass 2^32-1 (or 2^64-1 with ESN): the SA
    /// must be rekeyed (RFC 4303 §3.3.3).
    #[error("sequence number space exhausted (esn: {esn}); rekey the SA")]
    SequenceExhausted {
        /// Whether the SA uses 64-bit sequence numbers.
        esn: bool,
    },
    /// The SA's hard lifetime is over (RFC 4301 §4.4.2.1): it refuses all
    /// traffic and should be deleted.
    #[error("SA expired ({0})")]
    Expired(ExpiryCause),
    /// Sealing on an inbound SA or opening on an outbound one.
    #[error("the SA is {0:?}")]
    WrongDirection(Direction),
    /// An outbound SA has no peer to send to.
    #[error("outbound SA has no peer address")]
    NoPeer,

    // ---- the caller ----
    /// The output buffer is shorter than the sizing helper says.
    #[error("buffer too small: need {needed} bytes, have {got}")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
    /// The inner packet does not fit the outer header's length field.
    #[error("packet of {0} bytes is too long")]
    TooLong(usize),
    /// Key material is not key || 4-byte salt of the algorithm's size
    /// (RFC 4106 §8.1).
    #[error("key material must be {expected} bytes, got {got}")]
    InvalidKeyLength {
        /// Key length plus 4 salt bytes.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// The replay window size is outside 32..=4096 (RFC 4303 §3.4.3:
    /// 32 is the minimum, 64 the recommended default).
    #[error("replay window of {0} packets is outside 32..=4096")]
    InvalidReplayWindow(u32),
    /// SPI 0 is reserved and must never be sent (RFC 4303 §2.1).
    #[error("SPI 0 is reserved")]
    ReservedSpi,
    /// The SAD already holds an SA with this SPI and direction.
    #[error("SPI {0:#010x} already in use")]
    DuplicateSpi(u32),
    /// A table (SAD or SPD) is at its configured size limit.
    #[error("table full ({0} entries)")]
    TableFull(usize),
    /// An address range, prefix or port range is malformed (mixed families,
    /// first above last, prefix too long).
    #[error("invalid selector: {0}")]
    InvalidSelector(&'static str),
    /// Outer local and peer addresses are of different families, or the SA
    /// has no peer.
    #[error("outer addresses are of different families")]
    AddressFamilyMismatch,
}
