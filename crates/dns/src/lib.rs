#![forbid(unsafe_code)]
//! telsec-dns: the operator zone's authoritative DNS server, and the client
//! the home agent uses to publish a node's name, address and public key.
//!
//! # What it is for
//!
//! When a mobile node bootstraps (DESIGN "AKA bootstrap"), the home agent
//! picks the node's FQDN and home address and publishes them by DNS
//! UPDATE (RFC 2136) signed with TSIG (RFC 8945, HMAC-SHA-256): an A record
//! (AAAA optional), an IPSECKEY record carrying the node's Ed25519 public
//! key, and in HIP mode a HIP record (RFC 8005). The same client talks to
//! the embedded server below (the default) or to BIND9.
//!
//! # Record choices
//!
//! - The Ed25519 key goes in **IPSECKEY** (RFC 4025, type 45) with
//!   algorithm **4 = EdDSA** (RFC 9373 §2; key format RFC 8080 §3: the 32
//!   raw octets), gateway type 0 (the node is its own peer), precedence 10.
//!   It is the standard record for "the IPsec public key of this host";
//!   BIND and Wireshark decode it.
//! - **HIP** (RFC 8005, type 55): HIT (16 octets, RFC 7401 §3), PK algorithm
//!   from the IPSECKEY registry (RFC 8005 §5.2, so EdDSA is 4 again), the
//!   same Ed25519 key, then uncompressed rendezvous-server names. The HIT
//!   is the caller's (computed from the Host Identity, RFC 9374).
//!
//! hickory 0.26 has neither type, so both are carried as RFC 3597 opaque
//! RDATA; [`rdata`] encodes and decodes them, and the server checks their
//! layout on every update.
//!
//! # Server design
//!
//! [`ZoneServer`] is a sans-I/O core (bytes and time in, bytes out);
//! [`DnsServer`] / [`serve`] run it on UDP and TCP with tokio. The core
//! does, per request: parse (hickory-proto), TSIG check (RFC 8945 §5.2:
//! key, MAC, then time within the fudge; answers NOTAUTH with
//! BADKEY/BADSIG unsigned, BADTIME/BADTRUNC signed), then
//! - QUERY: authoritative answers (AA), NXDOMAIN vs NODATA with the SOA in
//!   the authority section (RFC 2308), empty non-terminals, CNAME chains
//!   inside the zone; REFUSED outside the zone;
//! - UPDATE (RFC 2136 §3): zone section (NOTAUTH/FORMERR), prerequisites
//!   (§3.2: NXDOMAIN, YXDOMAIN, NXRRSET, YXRRSET, NOTZONE), permission
//!   (§3.3: REFUSED), prescan (§3.4.1: FORMERR, NOTZONE), then apply
//!   (§3.4.2) and bump the SOA serial (§3.6).
//!
//! Permission is per key ([`Grant`]): the home agent's key may change any
//! name in the zone ([`Grant::Zone`], BIND's `zonesub`); a node's key,
//! named after the node's FQDN, may change only that name and only A,
//! AAAA, IPSECKEY and HIP ([`Grant::node`], BIND's `self`). Unsigned
//! updates are refused. The SOA, apex NS and the name server's address are
//! generated from [`ZoneConfig`] and no update may change them.
//!
//! Persistence ([`ZoneServer::open`]): every applied update is appended to
//! a journal and `fdatasync`ed before NOERROR is sent; every 1000 entries
//! the zone is snapshotted by atomic rename. A restart replays snapshot
//! and journal; a torn final entry (never acknowledged) is dropped, any
//! other damage is an error.
//!
//! # Why not hickory-server's update store
//!
//! hickory-server 0.26 checks TSIG on updates in its SQLite-backed store,
//! but any configured key may change any name: it has no per-key name
//! policy, which is the point here (a node must never change another
//! node's name). That store also needs `rusqlite` 0.39, whose
//! `libsqlite3-sys` cannot coexist with the workspace's `rusqlite` 0.43
//! (both link `sqlite3`; cargo refuses the graph). Its `Server` wants
//! responses as hickory `MessageResponse`s, re-encoded after the handler,
//! while a TSIG MAC must cover the exact bytes sent. So telsec uses
//! hickory-proto for the wire format and TSIG MACs, and its own small zone
//! and driver; hickory-net is the update client.
//!
//! # Known limits
//!
//! No zone transfer (AXFR/IXFR are REFUSED), no DNSSEC, no wildcards or
//! delegations (updates may not add NS records). Replay of a captured
//! signed update inside its fudge window is not detected (as in BIND; RFC
//! 8945 §5.2.3's per-key last-time check is not applied, because
//! concurrent signers sharing a key would trip it). Keys added at run time
//! are not persisted: the caller re-adds them from its own store.

mod client;
mod driver;
mod error;
mod key;
pub mod rdata;
mod server;
mod store;
mod tsig;
mod update;
mod zone;

pub use client::{
    HipIdentity, NodeRecords, PublishMode, UpdateClient, address_message, publish_address,
    publish_message, publish_node, withdraw_message, withdraw_node,
};
pub use driver::{DnsServer, ServerConfig, ServerHandle, serve};
pub use error::Error;
/// The hickory-proto this crate speaks (messages, records, TSIG), so
/// callers build messages with the same version.
pub use hickory_proto as proto;
pub use hickory_proto::rr::{Name, RecordType};
pub use key::{FUDGE, Grant, MIN_SECRET_LEN, TsigKey};
pub use server::{EDNS_UDP_PAYLOAD, ZoneServer};
pub use zone::ZoneConfig;

/// Which transport a request came in on (or a client uses): UDP answers
/// are limited in size and truncated with TC (RFC 1035 §4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP with a 2-octet length prefix (RFC 1035 §4.2.2).
    Tcp,
}

/// Parses a domain name given as text, as a fully-qualified lower-case
/// name.
pub fn parse_name(text: &str) -> Result<Name, Error> {
    let name = Name::from_ascii(text).map_err(|e| Error::InvalidName {
        name: text.to_owned(),
        reason: e.to_string(),
    })?;
    if name.is_root() || name.num_labels() == 0 {
        return Err(Error::InvalidName {
            name: text.to_owned(),
            reason: "the root is not a usable name here".into(),
        });
    }
    Ok(zone::normalize(&name))
}
