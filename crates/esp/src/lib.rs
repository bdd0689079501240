//! IPsec ESP for telsec's VPN gateway and mobile node (RFC 4303 tunnel mode).
//!
//! Sans-IO: callers hand in packets and a clock and get packets back. The
//! kernels telsec runs on have no ESP, so this is the whole data plane; the
//! drivers (UDP sockets, TUN devices) and the key managers live elsewhere.
//!
//! # Model
//!
//! - **Wire** ([`wire`], [`trailer`]): the ESP header (SPI, sequence number,
//!   RFC 4303 §2.1–§2.2) as a zero-copy view and the encrypted trailer
//!   (padding 1, 2, 3, …, Pad Length, Next Header, §2.4–§2.6).
//! - **Transform** ([`gcm`]): AES-GCM-128/256 with a 16-byte ICV as
//!   RFC 4106 defines it for ESP: key material is key || 4-byte salt, the
//!   nonce is salt || the 8-byte IV carried in the packet, the AAD is
//!   SPI || sequence number (with ESN, SPI || high || low; §5). SAs use the
//!   64-bit sequence number as IV, which never repeats under one key.
//! - **Sequence numbers** ([`seq`]): the sender's counter, which refuses to
//!   wrap (§3.3.3); extended sequence numbers whose high half is inferred on
//!   receipt (§2.2.1, Appendix A2.2); the anti-replay window (32 to 4096
//!   packets, §3.4.3, Appendix A2), checked before decryption and updated
//!   only after the ICV verifies.
//! - **Policy** ([`spd`], [`inner`]): selectors over inner addresses,
//!   protocol and ports, and the ordered SPD with Protect/Bypass/Discard
//!   actions (RFC 4301 §4.4.1). An inbound packet must match its SA's
//!   selectors after decryption (RFC 4301 §5.2 step 4).
//! - **SAs** ([`sa`], [`sad`], [`lifetime`]): one direction of protected
//!   traffic each (RFC 4301 §4.4.2), with tunnel endpoints (an inbound SA's
//!   peer may be a wildcard), soft and hard lifetimes in time and bytes
//!   judged against the caller's `Instant`, and a SAD keyed by SPI.
//! - **UDP encapsulation** ([`udp_encap`]): RFC 3948 on port 4500: telling
//!   ESP, IKE (Non-ESP Marker) and NAT keepalives apart, and building UDP
//!   and outer IP headers for drivers that write whole datagrams.
//!
//! Only tunnel mode is offered: the Next Header of a sealed or opened
//! packet is IPv4 (4) or IPv6 (41) (RFC 4301 §4.1). The low-level
//! [`gcm::GcmKey`] seals and opens any next header with an explicit IV, so
//! the published transport-mode test vectors can be checked byte for byte.
//!
//! # Mobility
//!
//! A mobile node's care-of address changes on handover. The gateway's
//! outbound SA follows it with [`SecurityAssociation::set_peer`] (or
//! [`Sad::set_peer`]); the node moves its own outer address with
//! [`SecurityAssociation::set_local`]; inbound SAs that must survive a move
//! have a wildcard peer. **Nothing in this crate decides when to move an
//! SA**: a higher layer (the home agent's authenticated registration and
//! its Security Information Update to the gateway) validates the new
//! address first. Moving an SA keeps its keys and sequence numbers.
//!
//! # A driver's loop
//!
//! ```
//! use std::net::{IpAddr, SocketAddr};
//! use std::time::Instant;
//! use telsec_esp::{
//!     Action, Algorithm, Direction, PayloadKind, SaConfig, Sad, SecurityAssociation, Spd,
//!     SpdEntry, Selector, inner, udp_encap,
//! };
//!
//! let now = Instant::now();
//! let key = [0x11u8; 20]; // AES-128 key || salt, from the key manager
//! let gw: IpAddr = "192.0.2.1".parse().unwrap();
//! let coa: SocketAddr = "198.51.100.7:4500".parse().unwrap();
//!
//! // Gateway: an outbound SA towards the mobile node's care-of address.
//! let mut out = SaConfig::new(0x100, Direction::Outbound, Algorithm::AesGcm128, &key, gw);
//! out.peer = Some(coa);
//! let mut sad = Sad::new(1024);
//! sad.insert(SecurityAssociation::new(out, now)?)?;
//! let mut spd = Spd::new(64);
//! spd.push(SpdEntry { selector: Selector::ANY, action: Action::Protect(0x100) })?;
//!
//! // Mobile node: the matching inbound SA, accepting any outer source.
//! let inb = SaConfig::new(0x100, Direction::Inbound, Algorithm::AesGcm128, &key, coa.ip());
//! let mut node = Sad::new(16);
//! node.insert(SecurityAssociation::new(inb, now)?)?;
//!
//! // Outbound: SPD lookup on the inner packet, then seal for the SA's peer.
//! let inner_pkt = [0x45, 0, 0, 20, 0, 0, 0, 0, 64, 59, 0, 0, 10, 0, 0, 1, 10, 0, 0, 5];
//! let mut buf = [0u8; 1500];
//! let Action::Protect(spi) = spd.lookup_packet(&inner_pkt, Direction::Outbound)? else {
//!     unreachable!()
//! };
//! let sealed = sad.seal(now, spi, &inner_pkt, &mut buf)?;
//! // ... send buf[..sealed.len] as a UDP datagram to sealed.peer ...
//!
//! // Inbound: classify the UDP payload, open in place, hand the inner
//! // packet to the TUN device.
//! let udp_payload = &mut buf[..sealed.len];
//! match udp_encap::classify(udp_payload)? {
//!     PayloadKind::Esp { .. } => {
//!         let opened = node.open_in_place(now, gw, udp_payload)?;
//!         assert_eq!(&udp_payload[opened.inner], &inner_pkt[..]);
//!     }
//!     PayloadKind::Ike => { /* udp_encap::ike_message(udp_payload) to IKE */ }
//!     PayloadKind::Keepalive => {}
//! }
//!
//! // Handover: once a higher layer has validated the new care-of address.
//! sad.set_peer(0x100, "203.0.113.9:4500".parse().unwrap())?;
//! # Ok::<(), telsec_esp::Error>(())
//! ```
#![forbid(unsafe_code)]

pub mod error;
pub mod gcm;
pub mod inner;
pub mod lifetime;
pub mod sa;
pub mod sad;
pub mod seq;
pub mod spd;
pub mod trailer;
pub mod udp_encap;
pub mod wire;

pub use error::{Error, ExpiryCause};
pub use gcm::{Algorithm, GcmKey, SeqNum};
pub use inner::Flow;
pub use lifetime::{Lifetime, LifetimeEvent, Limits, Phase};
pub use sa::{Direction, Opened, SaConfig, SaStats, Sealed, SecurityAssociation};
pub use sad::{SaEvent, Sad};
pub use seq::{ReplayWindow, SendCounter};
pub use spd::{Action, AddrRange, PortRange, ProtocolSelector, Selector, Spd, SpdEntry};
pub use trailer::NextHeader;
pub use udp_encap::PayloadKind;
pub use wire::{EspPacket, EspRepr};
