//! Home agent policy (RFC 5944 §3.8): our addresses, home networks,
//! lifetime and binding limits, offered encapsulations.

use core::fmt;
use std::net::Ipv4Addr;

use zeroize::Zeroizing;

/// RFC 3519 §3.2: default keep-alive interval, seconds.
pub const DEFAULT_UDP_KEEPALIVE_SECS: u16 = 110;

/// An IPv4 prefix the home agent serves (the home network, RFC 5944 §1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HomeNetwork {
    /// Network address.
    pub prefix: Ipv4Addr,
    /// Prefix length, 0..=32 (larger values are treated as 32).
    pub len: u8,
}

impl HomeNetwork {
    /// Whether `addr` lies inside the prefix.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        let len = u32::from(self.len.min(32));
        let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
        u32::from(addr) & mask == u32::from(self.prefix) & mask
    }
}

/// Home agent policy.
#[derive(Clone)]
pub struct Config {
    /// Our addresses; a request naming another is refused with 136.
    pub addresses: Vec<Ipv4Addr>,
    /// Home networks; a home address outside them is refused with 129.
    pub home_networks: Vec<HomeNetwork>,
    /// Longest lifetime granted, seconds; 0xffff allows infinity.
    pub max_lifetime: u16,
    /// Most bindings one home address may hold with the S flag.
    pub max_bindings: usize,
    /// Whether the S flag is honoured; if not, S requests are accepted
    /// with code 1 and replace the old binding.
    pub simultaneous_bindings: bool,
    /// Whether UDP tunnelling (RFC 3519) is offered.
    pub udp_tunnelling: bool,
    /// Keep-alive interval announced in the UDP Tunnel Reply.
    pub udp_keepalive_secs: u16,
    /// Whether GRE (G flag) is offered.
    pub gre: bool,
    /// Whether minimal encapsulation (M flag) is offered.
    pub minimal_encapsulation: bool,
    /// Whether reverse tunnelling (T flag, RFC 3024) is offered.
    pub reverse_tunnelling: bool,
    /// Secret from which nonces for SAs in nonce mode are derived
    /// (RFC 5944 §5.7.2); must persist with the snapshot, so the driver
    /// keeps it in its configuration.
    pub nonce_secret: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("addresses", &self.addresses)
            .field("home_networks", &self.home_networks)
            .field("max_lifetime", &self.max_lifetime)
            .field("max_bindings", &self.max_bindings)
            .field("simultaneous_bindings", &self.simultaneous_bindings)
            .field("udp_tunnelling", &self.udp_tunnelling)
            .field("udp_keepalive_secs", &self.udp_keepalive_secs)
            .field("gre", &self.gre)
            .field("minimal_encapsulation", &self.minimal_encapsulation)
            .field("reverse_tunnelling", &self.reverse_tunnelling)
            .field("nonce_secret", &"<redacted>")
            .finish()
    }
}

impl Config {
    /// A home agent at `address` serving `network`, with lifetimes up to
    /// 1800 s, up to 4 simultaneous bindings, IP in IP and reverse
    /// tunnelling only.
    pub fn new(address: Ipv4Addr, network: HomeNetwork, nonce_secret: &[u8]) -> Self {
        Config {
            addresses: vec![address],
            home_networks: vec![network],
            max_lifetime: 1800,
            max_bindings: 4,
            simultaneous_bindings: true,
            udp_tunnelling: false,
            udp_keepalive_secs: DEFAULT_UDP_KEEPALIVE_SECS,
            gre: false,
            minimal_encapsulation: false,
            reverse_tunnelling: true,
            nonce_secret: Zeroizing::new(nonce_secret.to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_contains() {
        let n = HomeNetwork {
            prefix: Ipv4Addr::new(10, 0, 0, 0),
            len: 24,
        };
        assert!(n.contains(Ipv4Addr::new(10, 0, 0, 200)));
        assert!(!n.contains(Ipv4Addr::new(10, 0, 1, 1)));
        let all = HomeNetwork {
            prefix: Ipv4Addr::UNSPECIFIED,
            len: 0,
        };
        assert!(all.contains(Ipv4Addr::BROADCAST));
        let host = HomeNetwork {
            prefix: Ipv4Addr::new(10, 0, 0, 5),
            len: 40,
        };
        assert!(host.contains(Ipv4Addr::new(10, 0, 0, 5)));
        assert!(!host.contains(Ipv4Addr::new(10, 0, 0, 4)));
    }
}
