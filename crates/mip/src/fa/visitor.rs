//! The foreign agent's two tables (RFC 5944 §3.7.1): requests relayed and
//! not yet answered, and the visitor list of mobile nodes registered
//! through this agent.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::ext::Encapsulation;
use crate::registration::RequestFlags;

/// A request relayed to a home agent and not yet answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The visitor's IP source address and UDP port; the reply goes back
    /// there.
    pub link_source: SocketAddrV4,
    /// Home address.
    pub home_address: Ipv4Addr,
    /// Home agent the request was relayed to.
    pub home_agent: Ipv4Addr,
    /// Care-of address asked for.
    pub care_of_address: Ipv4Addr,
    /// Identification (the reply matches on its low 32 bits, §3.7.3.1).
    pub identification: u64,
    /// Lifetime asked for, seconds.
    pub requested_lifetime: u16,
    /// The request's flags.
    pub flags: RequestFlags,
    /// Whether the request's MN-FA authenticator verified; the answers to
    /// the visitor are then signed too.
    pub mn_fa_verified: bool,
    /// When the agent gives up and answers 78, Unix ms.
    pub expires_ms: u64,
}

impl Pending {
    /// Whether this is a deregistration (lifetime 0 or care-of address =
    /// home address, §3.6.1.2).
    pub fn is_deregistration(&self) -> bool {
        self.requested_lifetime == 0 || self.care_of_address == self.home_address
    }
}

/// A mobile node registered through this agent (RFC 5944 §3.7.1): what
/// the driver needs to deliver decapsulated datagrams to it on the link
/// and, with T, to tunnel its datagrams back to the home agent (RFC 3024).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    /// Home address.
    pub home_address: Ipv4Addr,
    /// Home agent.
    pub home_agent: Ipv4Addr,
    /// Where the visitor's request came from on the link.
    pub link_source: SocketAddrV4,
    /// The care-of address (one of ours) the home agent tunnels to.
    pub care_of_address: Ipv4Addr,
    /// Reverse tunnelling asked for and granted (T flag, RFC 3024).
    pub reverse_tunnel: bool,
    /// Encapsulation the home agent uses towards us (G, M or IP in IP).
    pub encapsulation: Encapsulation,
    /// Lifetime granted, seconds.
    pub granted_lifetime: u16,
    /// When the entry lapses, Unix ms (`None`: infinite).
    pub expires_ms: Option<u64>,
    /// Identification of the request that created or refreshed it.
    pub identification: u64,
}

impl Visitor {
    /// Whether the entry has lapsed at `now_ms`.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expires_ms.is_some_and(|t| t <= now_ms)
    }
}
