//! Foreign agent policy (RFC 5944 §2.3, §3.7; RFC 3024): what it offers
//! in its advertisements and what it accepts from visitors.

use std::net::Ipv4Addr;

use crate::ha::HomeNetwork;

/// The largest number of care-of addresses one Mobility Agent
/// Advertisement extension holds: its one-octet Length covers 6 + 4·N
/// octets (RFC 5944 §2.1.1).
pub const MAX_CARE_OF_ADDRESSES: usize = 62;

/// Default for how long a relayed request waits for the home agent
/// before the visitor is told 78; the RFC leaves the value to the agent.
pub const DEFAULT_PENDING_TIMEOUT_MS: u64 = 7_000;

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A foreign agent offers at least one care-of address (§2.1.1).
    #[error("no care-of address")]
    NoCareOfAddress,
    /// More than [`MAX_CARE_OF_ADDRESSES`].
    #[error("{0} care-of addresses, at most 62 fit an advertisement")]
    TooManyCareOfAddresses(usize),
    /// Prefix length above 32.
    #[error("prefix length {0} above 32")]
    PrefixLength(u8),
}

/// Foreign agent configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The agent's address on the visited link: the router address and
    /// source of its advertisements, where visitors send requests, and
    /// the source of replies to them.
    pub address: Ipv4Addr,
    /// Prefix length of the visited link, sent in the Prefix-Lengths
    /// extension (§2.1.2) so mobile nodes can detect movement.
    pub prefix_len: u8,
    /// Care-of addresses offered (§2.1.1); requests are relayed to home
    /// agents from the one the visitor chose.
    pub care_of_addresses: Vec<Ipv4Addr>,
    /// ICMP Lifetime of the advertisement, seconds (§2.3.1: mobile nodes
    /// consider the agent lost after it).
    pub advertisement_lifetime: u16,
    /// ICMP code 0 (the agent routes ordinary traffic) instead of 16.
    pub routes_common_traffic: bool,
    /// Longest lifetime accepted; longer requests get 69 (§3.7.2.2).
    pub max_registration_lifetime: u16,
    /// R flag: registration through this agent is required even with a
    /// co-located care-of address.
    pub registration_required: bool,
    /// B flag forced on (it is also set while the visitor list is full).
    pub busy: bool,
    /// H flag: this agent is also a home agent.
    pub home_agent: bool,
    /// T flag: reverse tunnelling offered (RFC 3024).
    pub reverse_tunnelling: bool,
    /// Requests without T are refused with 75 (RFC 3024 §5).
    pub reverse_tunnel_mandatory: bool,
    /// G flag: GRE offered (otherwise G requests get 72).
    pub gre: bool,
    /// M flag: minimal encapsulation offered (otherwise 72).
    pub minimal_encapsulation: bool,
    /// Home networks whose nodes may visit; empty admits all, otherwise
    /// others get 65.
    pub allowed_home_networks: Vec<HomeNetwork>,
    /// Refuse (67) visitors with whom no MN-FA association is configured.
    pub require_mn_fa_auth: bool,
    /// Largest number of pending requests (66 beyond).
    pub max_pending: usize,
    /// Largest visitor list (66 beyond; B is advertised when full).
    pub max_visitors: usize,
    /// How long a relayed request waits for the home agent, ms.
    pub pending_timeout_ms: u64,
}

impl Config {
    /// An agent at `address` on a link of `prefix_len`, offering
    /// `care_of_address`; advertisement lifetime 30 s, registrations up to
    /// 1800 s, R and T offered, G and M not, 64 pending, 1024 visitors.
    pub fn new(address: Ipv4Addr, prefix_len: u8, care_of_address: Ipv4Addr) -> Self {
        Config {
            address,
            prefix_len,
            care_of_addresses: vec![care_of_address],
            advertisement_lifetime: 30,
            routes_common_traffic: true,
            max_registration_lifetime: 1800,
            registration_required: true,
            busy: false,
            home_agent: false,
            reverse_tunnelling: true,
            reverse_tunnel_mandatory: false,
            gre: false,
            minimal_encapsulation: false,
            allowed_home_networks: Vec::new(),
            require_mn_fa_auth: false,
            max_pending: 64,
            max_visitors: 1024,
            pending_timeout_ms: DEFAULT_PENDING_TIMEOUT_MS,
        }
    }

    /// Checks what an advertisement must be able to carry.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.care_of_addresses.len() {
            0 => return Err(ConfigError::NoCareOfAddress),
            n if n > MAX_CARE_OF_ADDRESSES => return Err(ConfigError::TooManyCareOfAddresses(n)),
            _ => {}
        }
        if self.prefix_len > 32 {
            return Err(ConfigError::PrefixLength(self.prefix_len));
        }
        Ok(())
    }
}
