//! The VPN gateway of seed 002 and the home agent's half of it: ESP
//! security associations that follow a Mobile IP node through handovers,
//! moved only by the home agent's authenticated Security Information
//! Update (SIU). Sans-IO.
//!
//! # The SIU's role (seed 002, WO 2004/086718, Figures 3 and 4)
//!
//! A mobile node (MN) runs Mobile IPv4 (RFC 5944) inside an IPsec ESP
//! tunnel to the private network's VPN gateway (GW). When the MN's care-of
//! address changes (Figure 3):
//!
//! 1. the MN updates its own inbound SA to accept packets at the new
//!    care-of address and sends its Registration Request (RFC 5944 §3.3)
//!    through its outbound tunnel, now from the new address;
//! 2. the GW's inbound SA, whose source selector is a wild card, accepts it
//!    without checking the source address and forwards it to the home
//!    agent (HA);
//! 3. the HA validates the request (Figure 4, step 30) and, because it came
//!    through a gateway (step 32), builds the Registration Reply (§3.4) and
//!    sends it inside an SIU to the GW together with the old and new
//!    care-of addresses (steps 34–36);
//! 4. the GW's SIU daemon moves its outbound SA to the new care-of address
//!    and only then sends the embedded Registration Reply to the MN through
//!    the moved SA (seed page 6: "performed before any packet is sent to the
//!    mobile node 4, in particular the registration reply").
//!
//! The request from the MN is not authenticated by the GW's source check
//! (the selector is a wild card), so nothing but a validated SIU from the
//! HA may move the GW's outbound SA; otherwise anyone holding the tunnel
//! could redirect it. The SIU is therefore authenticated with a key shared
//! by HA and GW and protected against replay.
//!
//! No RFC defines the SIU. telsec models it on RFC 5944's registration
//! messages: fixed big-endian fields (§3.3, §3.4), a 64-bit NTP-format
//! Identification checked against the receiver's clock and the last
//! accepted value (§5.7.1, default tolerance 7 s), an SPI naming the shared
//! key with 0..=255 reserved (§1.6), an authenticator over everything
//! before it (§3.5.1, here HMAC-SHA-256), status codes where 0..=127 mean
//! success (§3.4), and a "mismatch" answer carrying the receiver's clock so
//! the sender can resynchronise (§5.7.1, code 133). See [`siu`] for the
//! layout.
//!
//! # Modules
//!
//! - [`siu`]: the SIU and SIU-Ack on the wire (views and `Repr`s);
//! - [`auth`]: HA–GW keys and the HMAC-SHA-256 authenticator;
//! - [`replay`]: per-SPI replay protection with snapshot/restore;
//! - [`receiver`]: the gateway side, [`SiuReceiver`];
//! - [`sender`]: the home agent side, [`SiuSender`], with retransmission;
//! - [`error`]: the error enums, by cause.
#![forbid(unsafe_code)]

pub mod auth;
pub mod error;
pub mod gateway;
pub mod ha_link;
pub mod inner;
pub mod keys;
pub mod node;
pub mod receiver;
pub mod replay;
pub mod sender;
pub mod siu;

pub use auth::{HaGwKey, KeyRing};
pub use error::{
    AckError, FieldError, KeyError, RefuseReason, ReplayError, SendError, SnapshotError, WireError,
};
pub use gateway::{FromInside, FromOutside, Gateway, GatewayError, NodeTunnel, SiuHandled};
pub use ha_link::{HaLink, ReplyRoute};
pub use keys::{DirectionKeys, EspKeys, KeysError, derive as derive_esp_keys};
pub use node::{NodeTunnelEnd, Outgoing};
pub use receiver::{SiuOutcome, SiuReceiver};
pub use replay::ReplayGuard;
pub use sender::{SenderConfig, SenderEvent, SiuSender};
pub use siu::{AckPacket, AckRepr, AckStatus, SecurityInfoUpdate, SiuPacket, SiuRepr};
