//! Mobile node configuration (RFC 5944 §3.6): who we are, where home is,
//! what we ask for, and the retransmission policy of §3.6.3.

use core::fmt;
use std::net::Ipv4Addr;

use zeroize::Zeroizing;

use crate::auth::SecurityAssociation;
use crate::ha::HomeNetwork;

/// RFC 5944 §3.6.3: the first retransmission interval; the RFC suggests
/// one second as the usual starting value.
pub const DEFAULT_INITIAL_RETRANSMIT_MS: u64 = 1_000;
/// Largest interval the exponential backoff grows to.
pub const DEFAULT_MAX_RETRANSMIT_MS: u64 = 32_000;
/// Requests sent for one registration before giving up.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 6;

/// Whether the node asks its home agent for UDP tunnelling (RFC 3519 §3.1).
/// Only sent with a co-located care-of address: RFC 3519 leaves NAT
/// traversal between a foreign agent and the home agent to the agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UdpTunnelling {
    /// No UDP Tunnel Request extension.
    #[default]
    Off,
    /// Ask for it; the home agent uses it when it sees a NAT.
    WhenNatted,
    /// Ask with the F flag: UDP tunnelling even without a NAT.
    Forced,
}

/// When a registration is renewed (RFC 5944 §3.6: the node re-registers
/// before its lifetime runs out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// After this fraction of the granted lifetime (numerator,
    /// denominator), counted from when the request was sent.
    Fraction(u32, u32),
    /// This many milliseconds before the binding lapses (at least at the
    /// moment the request was sent).
    Margin(u64),
}

impl Default for Renewal {
    /// Two thirds of the lifetime.
    fn default() -> Self {
        Renewal::Fraction(2, 3)
    }
}

/// An MN-FA mobility security association (RFC 5944 §3.5.3) with one
/// foreign agent, named by the address its advertisements come from.
#[derive(Debug, Clone)]
pub struct ForeignAgentSa {
    /// The agent's address (source of its advertisements, where requests
    /// are sent).
    pub agent: Ipv4Addr,
    /// The association.
    pub sa: SecurityAssociation,
}

/// Mobile node configuration.
#[derive(Clone)]
pub struct Config {
    /// The node's permanent home address.
    pub home_address: Ipv4Addr,
    /// Its home agent.
    pub home_agent: Ipv4Addr,
    /// The home network; an address or an agent inside it means the node
    /// is at home (RFC 5944 §2.4.3).
    pub home_network: HomeNetwork,
    /// The MN-HA security association to start with (RFC 5944 §3.5.2);
    /// `None` until a key arrives (then [`super::MobileNode::install_sa`]).
    /// Its replay method (timestamp or nonce, §5.7) is the node's.
    pub sa: Option<SecurityAssociation>,
    /// MN-FA associations (RFC 5944 §3.5.3), by foreign agent.
    pub foreign_agent_sas: Vec<ForeignAgentSa>,
    /// Mobile Node NAI (RFC 2794) sent before the MN-HA authenticator.
    pub nai: Option<Vec<u8>>,
    /// Lifetime asked for, seconds (a foreign agent's advertised maximum
    /// lowers it, RFC 5944 §3.6.1.1).
    pub lifetime: u16,
    /// UDP tunnelling request (RFC 3519).
    pub udp_tunnelling: UdpTunnelling,
    /// Ask for reverse tunnelling (T flag, RFC 3024); through a foreign
    /// agent only when its advertisement offers T.
    pub reverse_tunnelling: bool,
    /// Ask for simultaneous bindings (S flag, RFC 5944 §3.6.1.3).
    pub simultaneous_bindings: bool,
    /// First retransmission interval, ms (RFC 5944 §3.6.3).
    pub initial_retransmit_ms: u64,
    /// Largest retransmission interval, ms; the requested lifetime caps
    /// it further (§3.6.3).
    pub max_retransmit_ms: u64,
    /// Requests per registration before [`super::Event::RegistrationTimedOut`].
    pub max_attempts: u32,
    /// When to re-register.
    pub renewal: Renewal,
    /// Secret randomness for the unpredictable parts of Identifications
    /// (RFC 5944 §5.7: low-order timestamp bits the clock does not give,
    /// and nonces). The driver fills it from the operating system.
    pub entropy: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("home_address", &self.home_address)
            .field("home_agent", &self.home_agent)
            .field("home_network", &self.home_network)
            .field("sa", &self.sa)
            .field("foreign_agent_sas", &self.foreign_agent_sas)
            .field("nai", &self.nai.as_deref().map(String::from_utf8_lossy))
            .field("lifetime", &self.lifetime)
            .field("udp_tunnelling", &self.udp_tunnelling)
            .field("reverse_tunnelling", &self.reverse_tunnelling)
            .field("simultaneous_bindings", &self.simultaneous_bindings)
            .field("initial_retransmit_ms", &self.initial_retransmit_ms)
            .field("max_retransmit_ms", &self.max_retransmit_ms)
            .field("max_attempts", &self.max_attempts)
            .field("renewal", &self.renewal)
            .field("entropy", &"<redacted>")
            .finish()
    }
}

impl Config {
    /// A node with home address `home_address` on `home_network`, served
    /// by `home_agent`; no key yet, lifetime 1800 s, timestamps, no
    /// UDP or reverse tunnelling, the §3.6.3 retransmission defaults.
    pub fn new(
        home_address: Ipv4Addr,
        home_agent: Ipv4Addr,
        home_network: HomeNetwork,
        entropy: [u8; 32],
    ) -> Self {
        Config {
            home_address,
            home_agent,
            home_network,
            sa: None,
            foreign_agent_sas: Vec::new(),
            nai: None,
            lifetime: 1800,
            udp_tunnelling: UdpTunnelling::Off,
            reverse_tunnelling: false,
            simultaneous_bindings: false,
            initial_retransmit_ms: DEFAULT_INITIAL_RETRANSMIT_MS,
            max_retransmit_ms: DEFAULT_MAX_RETRANSMIT_MS,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            renewal: Renewal::default(),
            entropy: Zeroizing::new(entropy),
        }
    }

    /// The MN-FA association with `agent`, if any.
    pub fn foreign_agent_sa(&self, agent: Ipv4Addr) -> Option<&SecurityAssociation> {
        self.foreign_agent_sas
            .iter()
            .find(|f| f.agent == agent)
            .map(|f| &f.sa)
    }
}
