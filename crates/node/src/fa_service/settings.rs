//! The foreign agent's configuration (the `[fa]` section) and the core
//! built from it: policy for [`telsec_mip::fa::Config`], static FA-HA and
//! MN-FA keys, and what the driver opens.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use telsec_mip::fa::{Config as FaPolicy, ForeignAgent};
use telsec_mip::ha::HomeNetwork;
use telsec_mip::{Algorithm, MIP_PORT, ReplayMode, SecurityAssociation};

use super::FaError;
use crate::config::parse_prefix;
use crate::packet_link::LinkConfig;

/// Foreign agent options (RFC 5944 §2.3, §3.7; RFC 3024). Every field has
/// a default; see [`FaSettings::default`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaSettings {
    /// Registration socket towards visitors: the agent's address on the
    /// visited link, port 434. The address is the router address of the
    /// advertisements (RFC 5944 §2.1) and the source of replies to
    /// visitors, so it cannot be 0.0.0.0.
    pub listen: SocketAddrV4,
    /// The care-of address offered in advertisements (§2.1.1); requests
    /// are relayed to home agents from it (same port as `listen`) and
    /// tunnels end at it. Defaults to the listen address.
    pub care_of_address: Option<Ipv4Addr>,
    /// UDP port of the home agents (434; another only for tests).
    pub home_agent_port: u16,
    /// Prefix length of the visited link, sent in the Prefix-Lengths
    /// extension (§2.1.2) for movement detection.
    pub prefix_len: u8,
    /// Interface of the visited link, which holds the listen address.
    /// When set, advertisements go out of it and solicitations are read
    /// from it (raw ICMP socket), replies
    /// to visitors leave through it, and decapsulated datagrams are
    /// delivered on it (raw IPv4 socket with IP_HDRINCL); needs
    /// CAP_NET_RAW. Without it there are no advertisements and delivered
    /// datagrams go to `visitor_link`.
    pub visitor_interface: Option<String>,
    /// Interval between unsolicited Agent Advertisements, ms; 0 sends none
    /// (solicitations are still answered). RFC 5944 §2.3.1 suggests a
    /// third of `advertisement_lifetime`.
    pub advertisement_interval_ms: u64,
    /// ICMP Lifetime of the advertisements, seconds: a mobile node takes
    /// the agent for lost after it (§2.3.1).
    pub advertisement_lifetime: u16,
    /// Where advertisements go: 255.255.255.255 or 224.0.0.1 (§2.3.1).
    pub advertisement_destination: Ipv4Addr,
    /// Longest registration lifetime accepted (longer requests get 69).
    pub max_registration_lifetime: u16,
    /// Offer reverse tunnelling (T flag, RFC 3024).
    pub reverse_tunnelling: bool,
    /// Refuse requests without T (75, RFC 3024 §5).
    pub reverse_tunnel_mandatory: bool,
    /// Home networks whose mobile nodes may visit, `a.b.c.d/len`; empty
    /// admits all, others get 65.
    pub allowed_home_networks: Vec<String>,
    /// Largest visitor list (66 beyond; B is advertised while full).
    pub max_visitors: usize,
    /// How long a relayed request waits for the home agent before the
    /// visitor is told 78, ms.
    pub pending_timeout_ms: u64,
    /// Refuse (67) visitors with no MN-FA key below.
    pub require_mn_fa_auth: bool,
    /// IP-in-IP tunnels (RFC 2003) from and to home agents through a raw
    /// socket bound to the care-of address (CAP_NET_RAW). Without it only
    /// RFC 3519 UDP-tunnelled visitors carry data.
    pub ipip: bool,
    /// Where visitors' datagrams for reverse tunnelling come from: a TUN
    /// device the kernel routes them into (see `reverse_route_table`), or
    /// the unprivileged UDP wire, which then also carries delivered
    /// datagrams when `visitor_interface` is unset.
    pub visitor_link: LinkConfig,
    /// With a TUN `visitor_link`: the routing table the driver points at
    /// the TUN device, with one `ip rule from <home>/32 [iif
    /// <visitor_interface>] lookup <table>` per reverse-tunnelled visitor
    /// (needs CAP_NET_ADMIN and net.ipv4.ip_forward=1). Unset: the
    /// operator routes visitors' traffic into the device.
    pub reverse_route_table: Option<u32>,
    /// The visitor list as JSON, rewritten on every change (`telsec fa
    /// visitors` reads it); relative to data_dir.
    pub state_file: PathBuf,
    /// FA-HA keys (RFC 5944 §3.5.4), one per home agent.
    pub home_agents: Vec<FaHaKey>,
    /// MN-FA keys (RFC 5944 §3.5.3), one per visiting mobile node.
    pub mobile_nodes: Vec<MnFaKey>,
}

/// The FA-HA association with one home agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaHaKey {
    /// The home agent's address (the Home Agent field of requests).
    pub home_agent: Ipv4Addr,
    /// SPI (256 or more, RFC 5944 §1.6).
    pub spi: u32,
    /// `hmac-md5` (RFC 5944 default) or `hmac-sha256`.
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    /// The shared key, hex.
    pub key: String,
}

/// The MN-FA association with one mobile node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MnFaKey {
    /// The mobile node's home address.
    pub home_address: Ipv4Addr,
    /// SPI (256 or more, RFC 5944 §1.6).
    pub spi: u32,
    /// `hmac-md5` (RFC 5944 default) or `hmac-sha256`.
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    /// The shared key, hex.
    pub key: String,
}

fn default_algorithm() -> String {
    "hmac-md5".to_owned()
}

impl Default for FaSettings {
    fn default() -> Self {
        FaSettings {
            listen: SocketAddrV4::new(Ipv4Addr::LOCALHOST, MIP_PORT),
            care_of_address: None,
            home_agent_port: MIP_PORT,
            prefix_len: 24,
            visitor_interface: None,
            advertisement_interval_ms: 1000,
            advertisement_lifetime: 3,
            advertisement_destination: Ipv4Addr::BROADCAST,
            max_registration_lifetime: 1800,
            reverse_tunnelling: true,
            reverse_tunnel_mandatory: false,
            allowed_home_networks: Vec::new(),
            max_visitors: 1024,
            pending_timeout_ms: telsec_mip::fa::DEFAULT_PENDING_TIMEOUT_MS,
            require_mn_fa_auth: false,
            ipip: false,
            visitor_link: LinkConfig::None,
            reverse_route_table: None,
            state_file: PathBuf::from("fa-visitors.json"),
            home_agents: Vec::new(),
            mobile_nodes: Vec::new(),
        }
    }
}

impl FaSettings {
    /// The care-of address: configured, or the listen address.
    pub fn care_of(&self) -> Ipv4Addr {
        self.care_of_address.unwrap_or(*self.listen.ip())
    }

    /// Checks what the types alone do not.
    pub fn validate(&self) -> Result<(), FaError> {
        let bad = |what: String| Err(FaError::Invalid(what));
        if self.listen.ip().is_unspecified() {
            return bad("fa.listen must name the agent's address, not 0.0.0.0".into());
        }
        if self.care_of().is_unspecified() {
            return bad("fa.care_of_address cannot be 0.0.0.0".into());
        }
        if self.prefix_len > 32 {
            return bad(format!("fa.prefix_len {} above 32", self.prefix_len));
        }
        if ![Ipv4Addr::BROADCAST, Ipv4Addr::new(224, 0, 0, 1)]
            .contains(&self.advertisement_destination)
        {
            return bad("fa.advertisement_destination must be 255.255.255.255 or 224.0.0.1".into());
        }
        if self.advertisement_lifetime == 0
            || self.advertisement_interval_ms > u64::from(self.advertisement_lifetime) * 1000
        {
            return bad(
                "fa.advertisement_interval_ms must not exceed fa.advertisement_lifetime \
                 (RFC 5944 §2.3.1 suggests a third of it)"
                    .into(),
            );
        }
        if self.reverse_route_table.is_some()
            && !matches!(self.visitor_link, LinkConfig::Tun { .. })
        {
            return bad("fa.reverse_route_table needs a TUN fa.visitor_link".into());
        }
        if self.reverse_route_table.is_some_and(|t| t == 0 || t >= 253) {
            return bad("fa.reverse_route_table must be 1..=252 (253.. are the kernel's)".into());
        }
        for n in &self.allowed_home_networks {
            if parse_prefix(n).is_none() {
                return bad(format!(
                    "fa.allowed_home_networks: {n:?} is not a.b.c.d/len"
                ));
            }
        }
        for k in &self.home_agents {
            sa(k.spi, &k.algorithm, &k.key)
                .map_err(|e| FaError::Invalid(format!("fa.home_agents {}: {e}", k.home_agent)))?;
        }
        for k in &self.mobile_nodes {
            sa(k.spi, &k.algorithm, &k.key).map_err(|e| {
                FaError::Invalid(format!("fa.mobile_nodes {}: {e}", k.home_address))
            })?;
        }
        Ok(())
    }

    /// The policy of the sans-IO core.
    pub fn policy(&self) -> Result<FaPolicy, FaError> {
        self.validate()?;
        let mut c = FaPolicy::new(*self.listen.ip(), self.prefix_len, self.care_of());
        c.advertisement_lifetime = self.advertisement_lifetime;
        c.max_registration_lifetime = self.max_registration_lifetime;
        c.reverse_tunnelling = self.reverse_tunnelling;
        c.reverse_tunnel_mandatory = self.reverse_tunnel_mandatory;
        c.allowed_home_networks = self
            .allowed_home_networks
            .iter()
            .filter_map(|n| parse_prefix(n))
            .map(|(prefix, len)| HomeNetwork { prefix, len })
            .collect();
        c.max_visitors = self.max_visitors;
        c.pending_timeout_ms = self.pending_timeout_ms;
        c.require_mn_fa_auth = self.require_mn_fa_auth;
        Ok(c)
    }
}

impl FaSettings {
    /// The `[fa]` section of `telsec config`: every field with its
    /// default and a comment (a test parses it back to the default).
    pub fn documented() -> String {
        let d = FaSettings::default();
        format!(
            r#"[fa]
# Mobile IP foreign agent (RFC 5944 §3.7; `telsec fa`). Visitors' requests
# arrive here: the agent's address on the visited link, port 434.
listen = "{listen}"
# Care-of address offered in advertisements, where home agents tunnel to;
# defaults to the listen address.
# care_of_address = "198.51.100.2"
# UDP port of the home agents (434 except in tests).
home_agent_port = {ha_port}
# Prefix length of the visited link (Prefix-Lengths extension, §2.1.2).
prefix_len = {prefix}
# Interface of the visited link, holding the listen address. With it the
# agent advertises, answers solicitations and delivers to visitors through
# raw sockets on it (CAP_NET_RAW); without it, no advertisements, and
# delivered datagrams go to visitor_link.
# visitor_interface = "eth1"
# Agent Advertisements every this many ms (0: only answer solicitations) ...
advertisement_interval_ms = {interval}
# ... valid this many seconds (§2.3.1 suggests advertising every third).
advertisement_lifetime = {ad_life}
# "255.255.255.255" or "224.0.0.1".
advertisement_destination = "{ad_dst}"
# Longest registration lifetime accepted; longer requests get 69.
max_registration_lifetime = {max_life}
# Reverse tunnelling (RFC 3024, T flag); mandatory refuses requests without T.
reverse_tunnelling = {reverse}
reverse_tunnel_mandatory = {mandatory}
# Home networks whose nodes may visit, "a.b.c.d/len"; empty admits all.
allowed_home_networks = []
# Most visitors (66 beyond; B is advertised while full).
max_visitors = {max_visitors}
# A relayed request unanswered this long is refused with 78, ms.
pending_timeout_ms = {pending}
# Refuse (67) visitors without an MN-FA key below.
require_mn_fa_auth = {require_mn_fa}
# IP-in-IP tunnels at the care-of address through a raw socket (CAP_NET_RAW);
# without it only RFC 3519 UDP-tunnelled visitors carry data.
ipip = {ipip}
# Where reverse-tunnelled visitors' datagrams come from: {{ kind = "none" }},
# a TUN device the kernel routes them into,
# {{ kind = "tun", name = "tsfa0" }}, or the unprivileged UDP wire
# {{ kind = "udp", bind = "...", peer = "..." }}.
visitor_link = {{ kind = "none" }}
# With a TUN visitor_link: a routing table (1..=252) the agent points at the
# device, with an "ip rule from <home>/32 iif <visitor_interface>" per
# visitor with T (needs CAP_NET_ADMIN and net.ipv4.ip_forward=1).
# reverse_route_table = 100
# The visitor list as JSON, relative to data_dir (`telsec fa visitors`).
state_file = "{state}"
# FA-HA keys (RFC 5944 §3.5.4), one per home agent; the home agent needs the
# same key for the care-of address.
# [[fa.home_agents]]
# home_agent = "10.77.0.1"
# spi = 4096
# algorithm = "hmac-md5"      # or "hmac-sha256"
# key = "<hex>"
# MN-FA keys (RFC 5944 §3.5.3), one per visiting mobile node.
# [[fa.mobile_nodes]]
# home_address = "10.77.0.5"
# spi = 4097
# key = "<hex>"
"#,
            listen = d.listen,
            ha_port = d.home_agent_port,
            prefix = d.prefix_len,
            interval = d.advertisement_interval_ms,
            ad_life = d.advertisement_lifetime,
            ad_dst = d.advertisement_destination,
            max_life = d.max_registration_lifetime,
            reverse = d.reverse_tunnelling,
            mandatory = d.reverse_tunnel_mandatory,
            max_visitors = d.max_visitors,
            pending = d.pending_timeout_ms,
            require_mn_fa = d.require_mn_fa_auth,
            ipip = d.ipip,
            state = d.state_file.display(),
        )
    }
}

/// Builds the core: policy and the static FA-HA and MN-FA keys.
pub fn build_core(settings: &FaSettings) -> Result<ForeignAgent, FaError> {
    let mut core =
        ForeignAgent::new(settings.policy()?).map_err(|e| FaError::Invalid(format!("fa: {e}")))?;
    for k in &settings.home_agents {
        let sa = sa(k.spi, &k.algorithm, &k.key)
            .map_err(|e| FaError::Invalid(format!("fa.home_agents {}: {e}", k.home_agent)))?;
        core.add_fa_ha_sa(k.home_agent, sa);
    }
    for k in &settings.mobile_nodes {
        let sa = sa(k.spi, &k.algorithm, &k.key)
            .map_err(|e| FaError::Invalid(format!("fa.mobile_nodes {}: {e}", k.home_address)))?;
        core.add_mn_fa_sa(k.home_address, sa);
    }
    Ok(core)
}

/// An association from its configured parts. The foreign agent checks no
/// Identification itself (the home agent does, §3.7.2.1), so the replay
/// mode is the default and unused.
fn sa(spi: u32, algorithm: &str, key: &str) -> Result<SecurityAssociation, String> {
    let algorithm = match algorithm {
        "hmac-md5" => Algorithm::HmacMd5,
        "hmac-sha256" => Algorithm::HmacSha256,
        _ => return Err("algorithm must be hmac-md5 or hmac-sha256".into()),
    };
    let key = crate::ha_setup::hex_decode(key).ok_or("key must be hex")?;
    SecurityAssociation::new(spi, algorithm, &key, ReplayMode::default()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_parse_back() {
        let d = FaSettings::default();
        d.validate().expect("defaults are valid");
        assert_eq!(d.care_of(), Ipv4Addr::LOCALHOST);
        let text = toml::to_string(&d).expect("serialises");
        let back: FaSettings = toml::from_str(&text).expect("parses");
        assert_eq!(back, d);
        assert!(toml::from_str::<FaSettings>("listn = \"1.2.3.4:434\"").is_err());
    }

    #[test]
    fn documented_section_parses_back_to_the_default() {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            fa: FaSettings,
        }
        let f: File = toml::from_str(&FaSettings::documented()).expect("parses");
        assert_eq!(f.fa, FaSettings::default());
        // The commented examples are valid too.
        let uncommented: String = FaSettings::documented()
            .lines()
            .map(|l| {
                let example = |rest: &str| {
                    rest.starts_with("[[")
                        || rest.split_once(" = ").is_some_and(|(k, _)| {
                            !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        })
                };
                match l.strip_prefix("# ") {
                    Some(rest) if example(rest) => {
                        rest.split("  #").next().unwrap_or(rest).to_owned()
                    }
                    _ => l.to_owned(),
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            .replace("<hex>", "00112233445566778899aabbccddeeff");
        let f: File = toml::from_str(&uncommented).expect("examples parse");
        assert_eq!(f.fa.home_agents.len(), 1);
        assert_eq!(f.fa.mobile_nodes.len(), 1);
        assert_eq!(f.fa.reverse_route_table, Some(100));
        assert_eq!(f.fa.visitor_interface.as_deref(), Some("eth1"));
    }

    #[test]
    fn keys_and_ranges_are_checked() {
        let mut s = FaSettings {
            home_agents: vec![FaHaKey {
                home_agent: Ipv4Addr::new(10, 0, 0, 1),
                spi: 4096,
                algorithm: "hmac-sha256".into(),
                key: "00112233445566778899aabbccddeeff".into(),
            }],
            mobile_nodes: vec![MnFaKey {
                home_address: Ipv4Addr::new(10, 0, 0, 5),
                spi: 4097,
                algorithm: default_algorithm(),
                key: "0011".into(),
            }],
            allowed_home_networks: vec!["10.0.0.0/8".into()],
            ..FaSettings::default()
        };
        let core = build_core(&s).expect("builds");
        assert_eq!(core.config().allowed_home_networks.len(), 1);
        assert_eq!(core.config().advertisement_lifetime, 3);
        s.mobile_nodes[0].spi = 255;
        assert!(s.validate().is_err(), "reserved SPI");
        s.mobile_nodes[0].spi = 4097;
        s.home_agents[0].key = "0g".into();
        assert!(build_core(&s).is_err(), "bad hex");
        s.home_agents[0].key = "00".into();
        s.home_agents[0].algorithm = "sha1".into();
        assert!(s.validate().is_err(), "unknown algorithm");
        s.home_agents.clear();
        for bad in [
            FaSettings {
                listen: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 434),
                ..s.clone()
            },
            FaSettings {
                advertisement_interval_ms: 3001,
                ..s.clone()
            },
            FaSettings {
                advertisement_destination: Ipv4Addr::new(224, 0, 0, 11),
                ..s.clone()
            },
            FaSettings {
                reverse_route_table: Some(100),
                ..s.clone()
            },
            FaSettings {
                allowed_home_networks: vec!["10.0.0.0".into()],
                ..s.clone()
            },
            FaSettings {
                prefix_len: 33,
                ..s.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        s.validate().expect("the rest is fine");
    }
}
