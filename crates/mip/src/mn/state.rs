//! Where the mobile node is and how far its registration has got
//! (RFC 5944 §3.6): the two halves of [`State`].

use core::fmt;
use std::net::Ipv4Addr;

/// The node's point of attachment as movement detection sees it
/// (RFC 5944 §2.4.2, §2.4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// No agent heard and no usable address: nothing to register with.
    /// The node starts here and returns here when its agent's
    /// advertisement lapses with nothing to replace it.
    Detached,
    /// On the home network: no binding wanted (deregistered, §3.6.1.2).
    AtHome,
    /// On a foreign link, registered through a foreign agent whose
    /// advertisement offered `coa` (§3.6.1.1).
    AwayViaForeignAgent {
        /// The agent's address (where requests go).
        fa: Ipv4Addr,
        /// The care-of address taken from its advertisement.
        coa: Ipv4Addr,
    },
    /// On a foreign link with an address of its own, registering directly
    /// with the home agent (co-located care-of address, §3.6.1.1, D flag).
    AwayColocated {
        /// The co-located care-of address.
        coa: Ipv4Addr,
    },
}

impl Location {
    /// The care-of address registered from here, if away.
    pub fn care_of_address(&self) -> Option<Ipv4Addr> {
        match *self {
            Location::AwayViaForeignAgent { coa, .. } | Location::AwayColocated { coa } => {
                Some(coa)
            }
            Location::Detached | Location::AtHome => None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Detached => f.write_str("detached"),
            Location::AtHome => f.write_str("at home"),
            Location::AwayViaForeignAgent { fa, coa } => {
                write!(f, "away via foreign agent {fa} (care-of {coa})")
            }
            Location::AwayColocated { coa } => write!(f, "away, co-located care-of {coa}"),
        }
    }
}

/// Progress of the registration for the current location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// No binding and no request in flight (at home after
    /// deregistration, detached, refused, timed out, or waiting for a key).
    Unregistered,
    /// A Registration Request is in flight (§3.6.3).
    Registering {
        /// Requests sent so far for this registration (1 after the first).
        attempt: u32,
        /// When the next retransmission is due, Unix ms.
        next_retransmit_ms: u64,
    },
    /// The home agent accepted; the binding lasts until `until_ms`.
    Registered {
        /// When the binding lapses, Unix ms (`None`: infinite lifetime).
        until_ms: Option<u64>,
        /// When the node re-registers, Unix ms (`None`: never needed).
        renew_at_ms: Option<u64>,
    },
    /// A deregistration (lifetime 0, care-of address = home address,
    /// §3.6.1.2) is in flight.
    Deregistering {
        /// Requests sent so far.
        attempt: u32,
        /// When the next retransmission is due, Unix ms.
        next_retransmit_ms: u64,
    },
}

/// The mobile node's state: location and registration sub-state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    /// Where the node is.
    pub location: Location,
    /// How far its registration has got.
    pub registration: Registration,
}
