//! Bootstrapping a mobile node's mobility service from its SIM
//! (WO 2004/105340, "seed 003"): the node re-runs AKA with its home
//! network *through the home agent* (HA), and the keys of that run protect
//! what follows — the node hands over a public key and a desired name, the
//! HA decides FQDN and home address and returns the Mobile IP security
//! association. No PKI and no manual provisioning: the SIM is the only
//! credential.
//!
//! Everything here is sans-IO: octets, EAP packets, EMSKs, random octets
//! and `now` come in; octets, events and deadlines go out. No sockets, no
//! files, no clock.
//!
//! # Protocol
//!
//! **Transport.** One message per UDP datagram, HA port 4434
//! ([`message::DEFAULT_PORT`]); over a stream the header's length field
//! frames messages ([`message::frame_len`]). Messages are at most 1472
//! octets (no IPv4 fragmentation at MTU 1500).
//!
//! **Header** (16 octets, big-endian; [`message`]): version (1) = 1, type
//! (1), length of the whole message (2), session id (8), sequence (4).
//! The session id is 0 in Start; the HA picks it at random (8 octets from
//! the driver's CSPRNG) and every later message carries it. The node
//! numbers its messages 1, 2, 3, ...; each HA answer repeats the number of
//! the message it answers, as IKEv2 responses repeat the Message ID
//! (RFC 7296 §2.2).
//!
//! **Types.** 1 Start (node → HA: `NodeNonce` 16 octets, optional
//! `IdentityHint`); 2 Eap (both ways: `EapPacket`, one EAP packet,
//! RFC 3748 §4, opaque, ≤ 1400 octets); 3 ConfigRequest (node → HA,
//! sealed); 4 ConfigResponse (HA → node, sealed: configuration or
//! refusal); 5 Error (HA → node, clear: `Cause` u16, optional `Text`;
//! registry in [`cause`]).
//!
//! **Bodies** are TLVs ([`tlv`]): type (16 bits: M flag + 15-bit number),
//! length (16 bits), value. Unknown types are skipped unless their M
//! ("must understand") flag is set, which rejects the message (as IKEv2's
//! critical bit, RFC 7296 §2.5); a known type appears at most once.
//!
//! **Exchange** (lock-step; the node is the requester):
//!
//! ```text
//! node                                HA                         HLR
//!  | Start(nonce)  seq 1, sid 0 ------>|
//!  |<----- Eap(Request/Identity) seq 1 | sid chosen
//!  | Eap(Response/AKA'-Identity) seq 2>|--- SendAuthInfo (GSUP) --->|
//!  |<---- Eap(Request/AKA'-Challenge) 2|<-- RAND, AUTN, CK', IK' ---|
//!  | Eap(Response/AKA'-Challenge) seq 3|
//!  |<------------- Eap(Success) seq 3  | both derive keys from EMSK
//!  | ConfigRequest (sealed) seq 4 ---->| verify proof; FQDN policy; pool;
//!  |                                   | DNS update (RFC 2136 + TSIG)
//!  |<--- ConfigResponse (sealed) seq 4 |
//! ```
//!
//! EAP runs between the node's EAP peer and the HA's EAP server
//! (EAP-AKA', RFC 9048; the seed's "re-run AKA" step 3); this crate carries
//! the packets opaquely. The EAP server's own retransmission timer is off:
//! the lower layer retransmits (RFC 3748 §4.3).
//!
//! **Keys** ([`keys`]): HKDF-SHA-256 (RFC 5869) with
//! salt = session id ‖ node nonce, IKM = the EAP-AKA' EMSK (64 octets,
//! RFC 9048 §3.3; the EMSK rather than the MSK, which belongs to the access
//! network; cf. RFC 5295), info = `"telsec-bootstrap v1"` ‖ HA name (the
//! network name of AT_KDF_INPUT, RFC 9048 §3.1); 96 octets: key node → HA,
//! key HA → node, 32-octet channel binding (CB).
//!
//! **Sealing** ([`seal`]): AES-256-GCM (RFC 5116 §5.2), nonce = direction
//! label (`"N>HA"` or `"HA>N"`) ‖ sequence as 64 bits, AAD = the 16 header
//! octets; body = ciphertext ‖ tag. Each side accepts each sequence once
//! (strictly increasing); an altered, replayed, misdirected or
//! other-session message is rejected and changes no state.
//!
//! **ConfigRequest** ([`request`], seed step 6): `NodePublicKey` (Ed25519,
//! RFC 8032), `NodeSignature` over `"telsec-bootstrap node-proof v1"` ‖ CB
//! ‖ public key ‖ FQDN length (2) ‖ desired FQDN ‖ secret-present (1),
//! optional `DesiredFqdn`, optional `Secret` (≤ 256 octets). The signature
//! proves possession of the key *by the party that ran AKA in this
//! session*, which is what lets the HA publish the key in DNS.
//!
//! **ConfigResponse** ([`response`], seed step 10): `Fqdn`, `FqdnOutcome`
//! (what became of the desired name), `HomeAddress`, `HaAddress`,
//! `HaPublicKey`, then Mobile IP mode: `MipSa` (SPI ≥ 256, algorithm 1
//! HMAC-MD5 = RFC 5944 §3.5.1 default or 2 HMAC-SHA-256, lifetime, key)
//! and `RegistrationLifetime`; and/or HIP mode: `Rendezvous` (the
//! forwarding agent); optional `NameServer`, `DnsZone`; last
//! `HaSignature` over `"telsec-bootstrap ha-proof v1"` ‖ CB ‖ all the
//! preceding plaintext. Or a sealed refusal: `Cause`, `Text`. All
//! signatures are verified strictly (`verify_strict`).
//!
//! **Retransmission** ([`retransmit`]): the node resends its outstanding
//! message (same octets) after 1, 2, 4, 8, 8 s, six transmissions in all,
//! then gives up. The HA stores its answer to the last request and resends
//! it, unchanged, when that request repeats; nothing is re-run.
//!
//! **Policy** ([`policy`], seed steps 8-9): the desired FQDN if it is a
//! valid host name one label below the operator zone and free or already
//! the subscriber's; otherwise one derived from the subscriber's name
//! (transliterated, `Zoë Smith` → `zoe-smith`), then the MSISDN, with
//! `-2`, `-3`, ... until free; never a name someone else holds, never the
//! IMSI. **Addresses** ([`pool`]): an IPv4 prefix with exclusions; the same
//! IMSI keeps the same address. **Node storage** ([`node_config`], seed
//! step 11): the configuration is stored with the IMSI it belongs to and
//! refused after a SIM swap.
//!
//! # Driving it
//!
//! [`NodeSession`] and [`HaSession`] are the two state machines; their
//! module docs list the calls in order. Decoders never panic and allocate
//! at most one message's worth ([`message::MAX_MESSAGE_LEN`]); every
//! datagram error means "drop it", with the session unchanged.

#![forbid(unsafe_code)]

pub mod cause;
pub mod ha;
pub mod hit;
pub mod keys;
pub mod message;
pub mod node;
pub mod node_config;
pub mod persist;
pub mod policy;
pub mod pool;
pub mod request;
pub mod response;
pub mod retransmit;
pub mod seal;
pub mod tlv;

pub use cause::Cause;
pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use ha::{HaError, HaEvent, HaPhase, HaSession};
pub use hit::{Hid, Hit, HitError};
pub use keys::{Direction, EMSK_LEN, SessionKeys};
pub use message::{
    Body, DEFAULT_PORT, Header, MessageError, MessageType, Packet, Repr, Route, SessionId,
    error_reply, frame_len, route,
};
pub use node::{NodeError, NodeEvent, NodePhase, NodeSession, NodeSessionConfig};
pub use node_config::{NodeConfig, NodeConfigError};
pub use persist::TextError;
pub use policy::{
    Decision, FqdnOutcome, PolicyError, SubscriberFacts, decide_fqdn, normalize_name, transliterate,
};
pub use pool::{AddressPool, PoolConfig, PoolError};
pub use request::{ConfigRequest, RequestError, VerifiedConfigRequest};
pub use response::{
    ConfigAnswer, ConfigResponse, HipConfig, MipAlgorithm, MipConfig, MipSa, ResponseError,
};
pub use retransmit::RetransmitPolicy;
pub use seal::SealError;
pub use tlv::TlvError;
