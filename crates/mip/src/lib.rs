//! Mobile IPv4 wire formats (RFC 5944), without I/O.
//!
//! This is the bottom layer of telsec's home agent, foreign agent and
//! mobile node: codecs that take octets and give values, and back, with no
//! sockets and no clock. State machines and drivers build on it.
//!
//! * [`registration`]: Registration Request (type 1) and Reply (type 3) as
//!   zero-copy `Packet` views and owned `Repr` values (RFC 5944 §3.3–§3.4).
//! * [`ext`]: the extensions after the fixed part, read with
//!   [`ext::ExtensionReader`]; MN-HA/MN-FA/FA-HA authentication, MN-NAI
//!   (RFC 2794), UDP tunnel request/reply (RFC 3519), others kept raw with
//!   the skippable/non-skippable rule of RFC 5944 §1.9.
//! * [`code`]: every Registration Reply code as an open enum.
//! * [`auth`]: computing and verifying authenticators (RFC 5944 §3.5.1,
//!   HMAC-MD5 default, HMAC-SHA-256 by SA), constant-time comparison.
//! * [`replay`]: Identification checks by timestamp or nonce (§5.7).
//! * [`advert`]: Agent Advertisements inside ICMP Router Advertisements
//!   (RFC 5944 §2.1, RFC 1256) and Agent Solicitations (§2.2).
//! * [`mn`]: the mobile node as a sans-IO state machine (RFC 5944 §2.4,
//!   §3.6): movement detection, registration, retransmission, renewal.
//! * [`fa`]: the foreign agent's sans-IO core (RFC 5944 §2.3, §3.7,
//!   RFC 3024): advertisements, relaying, pending and visitor lists.
//!
//! Contract, as in smoltcp: after `new_checked` no accessor of a packet
//! view panics; `emit` never panics on a buffer of `buffer_len()` octets;
//! decoders never panic on any input and allocate at most in proportion to
//! the input's length.

#![forbid(unsafe_code)]

pub mod advert;
pub mod auth;
pub mod code;
pub mod error;
pub mod ext;
pub mod fa;
pub mod ha;
pub mod mn;
pub mod registration;
pub mod replay;
pub mod tunnel;

pub use advert::{
    AdvertisementExtension, AgentFlags, AgentSolicitation, MobilityAgentAdvertisement,
    RouterAdvertisement, RouterAdvertisementPacket, RouterEntry,
};
pub use auth::{
    Algorithm, SaTable, SecurityAssociation, Verified, append_signature, sign, verify,
    verify_with_table,
};
pub use code::ReplyCode;
pub use error::{Error, Role};
pub use ext::{
    AuthExtension, Encapsulation, Extension, ExtensionReader, ExtensionType, RawExtension,
    UdpTunnelReply, UdpTunnelReplyCode, UdpTunnelRequest,
};
pub use registration::{
    MIP_PORT, Message, Reply, ReplyPacket, Request, RequestFlags, RequestPacket,
};
pub use replay::{NtpTimestamp, ReplayCheck, ReplayMode, ReplayRejected, reply_matches_request};
