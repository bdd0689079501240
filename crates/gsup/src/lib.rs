//! IPA framing and Osmocom GSUP, without I/O.
//!
//! GSUP (Generic Subscriber Update Protocol) is the TLV protocol Osmocom
//! uses between MSC/VLR or SGSN and the HLR in place of MAP
//! (osmo-gsm-manuals `common/chapters/gsup.adoc`; libosmocore
//! `src/gsm/gsup.c`). It runs inside IPA frames over TCP port 4222, in the
//! Osmocom stream 0xEE with extension 0x05, next to the IPA CCM stream 0xFE
//! that carries keep-alive and the identity exchange.
//!
//! Layers, bottom up:
//!
//! * [`ipa`]: the 3-octet IPA header as a zero-copy [`ipa::Packet`] view,
//!   owned [`ipa::Frame`]s, and a streaming [`ipa::FrameDecoder`].
//! * [`ccm`]: PING/PONG and the ID_GET / ID_RESP / ID_ACK identity messages.
//! * [`bcd`], [`ie`], [`message`]: the GSUP codec — [`GsupMessage::decode`]
//!   and [`GsupMessage::encode`], typed IEs, open enums for every code point.
//! * [`session`]: [`ServerConn`] and [`ClientConn`], connection state
//!   machines fed with octets and instants, quinn-style.
//!
//! Decoders never panic on input and bound what they allocate by the input
//! length; every code point a peer may send that this crate has no name for
//! is kept as `Unknown(u8)` or as a [`ie::RawIe`].

#![forbid(unsafe_code)]

pub mod bcd;
pub mod ccm;
pub mod ie;
pub mod ipa;
pub mod message;
pub mod session;

pub use bcd::{AddressString, Imsi};
pub use ccm::{CcmMessage, IdTag, PeerIdentity, UnitIdentity};
pub use ie::{AuthTuple, Cause, CnDomain, Ie, Iei, PdpInfo};
pub use ipa::{Frame, FrameDecoder, IpaError};
pub use message::{GsupError, GsupMessage, MessageType};
pub use session::{
    BadMessage, ClientConfig, ClientConn, ClientEvent, ServerConfig, ServerConn, ServerEvent,
    SessionError,
};

/// The TCP port osmo-hlr listens on for GSUP (libosmocore `OSMO_GSUP_PORT`).
pub const GSUP_PORT: u16 = 4222;
