//! The VPN gateway's configuration (the `[gw]` section, seed 002) and the
//! sans-IO [`Gateway`] built from it.
//!
//! There is no IKE in telsec: each node's SA pair is derived from a secret
//! both ends hold ([`telsec_vpn::derive_esp_keys`], HKDF-SHA-256 over the
//! node's home address and the gateway's outside address). The gateway's
//! inbound SA (node → gateway) has a wildcard outer source, so the node's
//! registration from a new care-of address gets in (seed Figure 3); its
//! outbound SA (gateway → node) starts at the configured care-of address
//! and moves only on the home agent's authenticated SIU.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use telsec_esp::{
    AddrRange, Algorithm, Direction, Lifetime, Limits, SaConfig, SecurityAssociation,
};
use telsec_vpn::{Gateway, HaGwKey, KeyRing, SiuReceiver, derive_esp_keys};
use zeroize::Zeroizing;

use super::GwError;
use crate::config::parse_prefix;
use crate::packet_link::LinkConfig;

/// The UDP port of ESP in UDP (RFC 3948 §2.1).
pub const ESP_UDP_PORT: u16 = 4500;
/// The SIU port (telsec-vpn's default).
pub const SIU_PORT: u16 = telsec_vpn::siu::DEFAULT_PORT;
/// The largest anti-replay window telsec-esp keeps (RFC 4303 §3.4.3).
pub const MAX_REPLAY_WINDOW: u32 = 4096;
/// The smallest (RFC 4303 §3.4.3 requires 32 at least).
pub const MIN_REPLAY_WINDOW: u32 = 32;
/// Most nodes one gateway serves (bounds the SAD: two SAs per node).
pub const MAX_NODES: usize = 65_536;

/// `[gw]`: the VPN gateway in front of the private network (seed 002).
/// Every field has a default; see [`GwSettings::default`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GwSettings {
    /// Whether `telsec up` runs the gateway: `true` always, `false`
    /// never, unset when at least one node is configured. `telsec gw`
    /// runs it regardless.
    pub enabled: Option<bool>,
    /// The outside socket: ESP in UDP (RFC 3948) from and to the nodes.
    pub outside: SocketAddrV4,
    /// The gateway's outside address as the nodes know it: the outer
    /// source of its ESP, and an input of every node's key derivation.
    /// Defaults to the address of `outside`; needed when that is 0.0.0.0.
    pub address: Option<Ipv4Addr>,
    /// The socket the home agent's SIUs arrive on.
    pub siu_listen: SocketAddrV4,
    /// How far (seconds) an SIU's Identification may be from the
    /// gateway's clock (RFC 5944 §5.7.1 suggests 7).
    pub siu_window_secs: u32,
    /// The home agent: registrations (UDP 434 to it) are the one inner
    /// packet a node may send from any source address.
    pub home_agent: Ipv4Addr,
    /// The home agent's registration port (434; another in an
    /// unprivileged lab, as its `[ha] listen`).
    pub home_agent_port: u16,
    /// The link towards the private network: a TUN device the kernel
    /// routes the nodes' home addresses into, or the UDP virtual wire.
    pub inside_link: LinkConfig,
    /// The private networks behind the gateway, `a.b.c.d/len`: a node's
    /// inner packet is delivered only to them (or the home agent), and a
    /// packet from inside is sealed only when it comes from them.
    pub private_networks: Vec<String>,
    /// ESP transform: `aes-128-gcm` or `aes-256-gcm` (RFC 4106); the
    /// nodes must use the same.
    pub algorithm: String,
    /// Anti-replay window of the inbound SAs, packets (32..=4096).
    pub replay_window: u32,
    /// SA soft lifetime, seconds (0: none). Reaching it means a new
    /// secret is due; there is no IKE to rekey, so it is logged.
    pub sa_soft_lifetime_secs: u64,
    /// SA hard lifetime, seconds (0: none). Past it the SA refuses all
    /// traffic until the gateway restarts with a new secret.
    pub sa_hard_lifetime_secs: u64,
    /// The outbound sequence numbers reserved so far (relative to
    /// data_dir): keys are derived, so the same secret gives the same key
    /// after a restart, and a sequence number (the AES-GCM IV, RFC 4106
    /// §3.1) must never be sent twice under it.
    pub state_file: PathBuf,
    /// The keys the home agent authenticates SIUs with.
    pub siu_keys: Vec<GwSiuKey>,
    /// The mobile nodes served.
    pub nodes: Vec<GwNode>,
}

/// An HA-gateway key for SIUs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GwSiuKey {
    /// SPI, 256 or more (RFC 5944 §1.6 reserves 0..=255).
    pub spi: u32,
    /// The secret, hex, 32 octets or more (HMAC-SHA-256, RFC 2104 §3).
    pub secret: String,
}

impl std::fmt::Debug for GwSiuKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GwSiuKey")
            .field("spi", &self.spi)
            .finish_non_exhaustive()
    }
}

/// A mobile node served by the gateway.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GwNode {
    /// Its home address.
    pub home: Ipv4Addr,
    /// Its care-of address when the gateway starts.
    pub care_of: Ipv4Addr,
    /// The UDP port of its ESP in UDP at that address.
    #[serde(default = "default_care_of_port")]
    pub care_of_port: u16,
    /// The secret its SAs are derived from, hex, 16 octets or more.
    pub secret: String,
}

impl std::fmt::Debug for GwNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GwNode")
            .field("home", &self.home)
            .field("care_of", &self.care_of)
            .field("care_of_port", &self.care_of_port)
            .finish_non_exhaustive()
    }
}

fn default_care_of_port() -> u16 {
    ESP_UDP_PORT
}

impl Default for GwSettings {
    fn default() -> Self {
        GwSettings {
            enabled: None,
            outside: SocketAddrV4::new(Ipv4Addr::LOCALHOST, ESP_UDP_PORT),
            address: None,
            siu_listen: SocketAddrV4::new(Ipv4Addr::LOCALHOST, SIU_PORT),
            siu_window_secs: telsec_vpn::replay::DEFAULT_WINDOW_SECS,
            home_agent: Ipv4Addr::LOCALHOST,
            home_agent_port: 434,
            inside_link: LinkConfig::None,
            private_networks: vec!["10.77.0.0/24".to_owned()],
            algorithm: "aes-128-gcm".to_owned(),
            replay_window: 1024,
            sa_soft_lifetime_secs: 8 * 3600,
            sa_hard_lifetime_secs: 9 * 3600,
            state_file: PathBuf::from("gw-sequences"),
            siu_keys: Vec::new(),
            nodes: Vec::new(),
        }
    }
}

/// The SPIs of one node's bundle at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSpis {
    /// Home address.
    pub home: Ipv4Addr,
    /// The gateway's inbound SA (node → gateway).
    pub inbound: u32,
    /// The gateway's outbound SA (gateway → node).
    pub outbound: u32,
}

fn invalid(msg: String) -> GwError {
    GwError::Invalid(msg)
}

/// Parses an ESP transform name.
pub fn parse_algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "aes-128-gcm" => Some(Algorithm::AesGcm128),
        "aes-256-gcm" => Some(Algorithm::AesGcm256),
        _ => None,
    }
}

fn unicast(a: Ipv4Addr) -> bool {
    !(a.is_unspecified() || a.is_multicast() || a.is_broadcast())
}

fn hex_secret(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    crate::ha_setup::hex_decode(text.trim()).map(Zeroizing::new)
}

impl GwSettings {
    /// Whether `telsec up` runs the gateway (see [`Self::enabled`]).
    pub fn runs_in_up(&self) -> bool {
        self.enabled.unwrap_or(!self.nodes.is_empty())
    }

    /// The outside address the SAs and key derivation use.
    pub fn gateway_address(&self) -> Ipv4Addr {
        self.address.unwrap_or(*self.outside.ip())
    }

    /// The private networks, parsed (invalid entries are left out;
    /// [`Self::validate`] refuses them).
    pub fn private_ranges(&self) -> Vec<AddrRange> {
        self.private_networks
            .iter()
            .filter_map(|p| parse_prefix(p))
            .filter_map(|(a, l)| AddrRange::prefix(IpAddr::V4(a), l).ok())
            .collect()
    }

    fn lifetime(&self) -> Lifetime {
        let limit = |secs: u64| Limits {
            time: (secs > 0).then(|| Duration::from_secs(secs)),
            bytes: None,
        };
        Lifetime {
            soft: limit(self.sa_soft_lifetime_secs),
            hard: limit(self.sa_hard_lifetime_secs),
        }
    }

    /// Checks what the types alone do not; the message names the field.
    ///
    /// # Errors
    /// [`GwError::Invalid`].
    pub fn validate(&self) -> Result<(), GwError> {
        let gw = self.gateway_address();
        if self.address.is_none() && self.outside.ip().is_unspecified() {
            return Err(invalid(
                "gw.address is needed when gw.outside is 0.0.0.0 (it is an input of the key \
                 derivation)"
                    .into(),
            ));
        }
        if !unicast(gw) {
            return Err(invalid(format!("gw.address {gw} is not a unicast address")));
        }
        if !unicast(self.home_agent) {
            return Err(invalid(format!(
                "gw.home_agent {} is not a unicast address",
                self.home_agent
            )));
        }
        if !(1..=3600).contains(&self.siu_window_secs) {
            return Err(invalid("gw.siu_window_secs must be 1..=3600".into()));
        }
        if self.private_networks.is_empty() {
            return Err(invalid(
                "gw.private_networks: name at least one network behind the gateway".into(),
            ));
        }
        for p in &self.private_networks {
            if parse_prefix(p).is_none() {
                return Err(invalid(format!(
                    "gw.private_networks: {p:?} is not a.b.c.d/len"
                )));
            }
        }
        if parse_algorithm(&self.algorithm).is_none() {
            return Err(invalid(format!(
                "gw.algorithm {:?}: must be aes-128-gcm or aes-256-gcm",
                self.algorithm
            )));
        }
        if !(MIN_REPLAY_WINDOW..=MAX_REPLAY_WINDOW).contains(&self.replay_window) {
            return Err(invalid(format!(
                "gw.replay_window {} outside {MIN_REPLAY_WINDOW}..={MAX_REPLAY_WINDOW}",
                self.replay_window
            )));
        }
        if self.sa_hard_lifetime_secs > 0
            && self.sa_soft_lifetime_secs >= self.sa_hard_lifetime_secs
        {
            return Err(invalid(
                "gw.sa_soft_lifetime_secs must be below gw.sa_hard_lifetime_secs".into(),
            ));
        }
        if self.state_file.as_os_str().is_empty() {
            return Err(invalid("gw.state_file cannot be empty".into()));
        }
        self.keyring()?;
        self.node_spis()?;
        Ok(())
    }

    /// The SIU keys.
    fn keyring(&self) -> Result<KeyRing, GwError> {
        if self.siu_keys.is_empty() {
            return Err(invalid(
                "gw.siu_keys: at least one key, else no SIU can ever move a node's SA".into(),
            ));
        }
        let mut ring = KeyRing::new();
        for (i, k) in self.siu_keys.iter().enumerate() {
            let field = format!("gw.siu_keys[{i}] (spi {})", k.spi);
            let secret =
                hex_secret(&k.secret).ok_or_else(|| invalid(format!("{field}.secret: not hex")))?;
            let key = HaGwKey::new(k.spi, &secret).map_err(|e| invalid(format!("{field}: {e}")))?;
            if ring.insert(key).is_some() {
                return Err(invalid(format!("{field}: the SPI appears twice")));
            }
        }
        Ok(ring)
    }

    /// Each node's SPIs, checking the nodes on the way.
    ///
    /// # Errors
    /// [`GwError::Invalid`] naming the node and field.
    pub fn node_spis(&self) -> Result<Vec<NodeSpis>, GwError> {
        let algorithm = parse_algorithm(&self.algorithm).ok_or_else(|| {
            invalid(format!(
                "gw.algorithm {:?}: must be aes-128-gcm or aes-256-gcm",
                self.algorithm
            ))
        })?;
        if self.nodes.is_empty() {
            return Err(invalid(
                "gw.nodes: no node configured; the gateway would serve nobody".into(),
            ));
        }
        if self.nodes.len() > MAX_NODES {
            return Err(invalid(format!("gw.nodes: more than {MAX_NODES}")));
        }
        let mut homes = HashSet::new();
        let mut inbound = HashMap::new();
        let mut outbound = HashMap::new();
        let mut out = Vec::with_capacity(self.nodes.len());
        for (i, n) in self.nodes.iter().enumerate() {
            let field = format!("gw.nodes[{i}] ({})", n.home);
            if !unicast(n.home) {
                return Err(invalid(format!("{field}.home: not a unicast address")));
            }
            if !homes.insert(n.home) {
                return Err(invalid(format!("{field}.home: appears twice")));
            }
            if !unicast(n.care_of) {
                return Err(invalid(format!(
                    "{field}.care_of {}: not a unicast address",
                    n.care_of
                )));
            }
            if n.care_of_port == 0 {
                return Err(invalid(format!("{field}.care_of_port: 0")));
            }
            let secret =
                hex_secret(&n.secret).ok_or_else(|| invalid(format!("{field}.secret: not hex")))?;
            let keys = derive_esp_keys(&secret, n.home, self.gateway_address(), algorithm)
                .map_err(|e| invalid(format!("{field}.secret: {e}")))?;
            let spis = NodeSpis {
                home: n.home,
                inbound: keys.node_to_gateway.spi,
                outbound: keys.gateway_to_node.spi,
            };
            if let Some(other) = inbound.insert(spis.inbound, n.home) {
                return Err(invalid(format!(
                    "{field}.secret: its inbound SPI {:#010x} is {other}'s too; use another \
                     secret",
                    spis.inbound
                )));
            }
            if let Some(other) = outbound.insert(spis.outbound, n.home) {
                return Err(invalid(format!(
                    "{field}.secret: its outbound SPI {:#010x} is {other}'s too; use another \
                     secret",
                    spis.outbound
                )));
            }
            out.push(spis);
        }
        Ok(out)
    }

    /// The gateway core: every node's bundle, made at `now`, its outbound
    /// SA resuming after `initial_sequence(outbound SPI)`.
    ///
    /// # Errors
    /// [`GwError::Invalid`] for any setting [`Self::validate`] refuses.
    pub fn build_gateway(
        &self,
        now: Instant,
        initial_sequence: impl Fn(u32) -> u64,
        now_ntp: u64,
    ) -> Result<Gateway, GwError> {
        self.validate()?;
        let algorithm = parse_algorithm(&self.algorithm)
            .ok_or_else(|| invalid("gw.algorithm: unknown".into()))?;
        let mut receiver = SiuReceiver::with_window(self.keyring()?, self.siu_window_secs);
        // Without the replay state of a previous run, an SIU captured less
        // than a window ago could be replayed once after a restart. Every
        // SIU sent before this start is older than `now_ntp`: refuse those.
        let floor: String = self
            .siu_keys
            .iter()
            .map(|k| format!("{} {now_ntp:016x}\n", k.spi))
            .collect();
        receiver
            .replay_mut()
            .restore(&floor)
            .map_err(|e| invalid(format!("gw.siu_keys: {e}")))?;
        let gw = self.gateway_address();
        let local = SocketAddr::from((gw, self.outside.port()));
        let mut core = Gateway::new(self.home_agent, receiver, 2 * self.nodes.len())
            .with_home_agent_port(self.home_agent_port);
        for (i, n) in self.nodes.iter().enumerate() {
            let field = format!("gw.nodes[{i}] ({})", n.home);
            let secret =
                hex_secret(&n.secret).ok_or_else(|| invalid(format!("{field}.secret: not hex")))?;
            let keys = derive_esp_keys(&secret, n.home, gw, algorithm)
                .map_err(|e| invalid(format!("{field}.secret: {e}")))?;
            let sa = |spi: u32, direction, material: &[u8], peer: Option<SocketAddr>| {
                let mut c = SaConfig::new(spi, direction, algorithm, material, IpAddr::V4(gw));
                c.local = local;
                c.peer = peer;
                c.replay_window = self.replay_window;
                c.lifetime = self.lifetime();
                if direction == Direction::Outbound {
                    c.initial_sequence = initial_sequence(spi);
                }
                SecurityAssociation::new(c, now).map_err(|e| invalid(format!("{field}: {e}")))
            };
            // The wildcard of seed 002: any outer source may use the
            // inbound SA; the core checks the inner source instead.
            let inbound = sa(
                keys.node_to_gateway.spi,
                Direction::Inbound,
                &keys.node_to_gateway.key_material,
                None,
            )?;
            let outbound = sa(
                keys.gateway_to_node.spi,
                Direction::Outbound,
                &keys.gateway_to_node.key_material,
                Some(SocketAddr::from((n.care_of, n.care_of_port))),
            )?;
            core.add_node(n.home, inbound, outbound)
                .map_err(|e| invalid(format!("{field}: {e}")))?;
        }
        Ok(core)
    }

    /// The `[gw]` section of `telsec config`: every field with its default
    /// and a comment (a test parses it back to the default).
    pub fn documented() -> String {
        let d = GwSettings::default();
        format!(
            r#"[gw]
# The VPN gateway in front of the private network (seed 002; `telsec gw`).
# Mobile nodes run Mobile IP inside an ESP tunnel to it; its SA towards a node
# moves to a new care-of address only when the home agent's authenticated
# Security Information Update (SIU, [ha.vpn]) says so, and the registration
# reply the SIU carries then leaves through the moved SA.
# `telsec up` runs it when enabled = true, never when false, and when unset
# as soon as [[gw.nodes]] names a node.
# enabled = true
# ESP in UDP (RFC 3948) from and to the nodes.
outside = "{outside}"
# The outside address the nodes know (an input of their key derivation);
# defaults to outside's address, needed when that is 0.0.0.0.
# address = "198.51.100.1"
# The home agent's SIUs; their Identification may be this many seconds from
# the gateway's clock (RFC 5944 §5.7.1).
siu_listen = "{siu}"
siu_window_secs = {window}
# The home agent: a registration to it (UDP 434) is the one inner packet a node
# may send from an address that is not its own (the seed's wildcard).
home_agent = "{ha}"
# Its registration port: 434, or its [ha] listen port in an unprivileged lab.
home_agent_port = {ha_port}
# The link into the private network: {{ kind = "none" }}, a TUN device the
# kernel routes the nodes' home addresses into,
# {{ kind = "tun", name = "tsgw0", address = "10.77.0.254", prefix_len = 24 }},
# or the unprivileged UDP wire {{ kind = "udp", bind = "...", peer = "..." }}.
inside_link = {{ kind = "none" }}
# Behind the gateway: nodes reach only these (and the home agent), and only
# packets from them are sealed towards the nodes.
private_networks = ["{net}"]
# ESP transform (RFC 4106): "aes-128-gcm" or "aes-256-gcm"; the nodes use the same.
algorithm = "{alg}"
# Anti-replay window of the inbound SAs, packets (32..=4096).
replay_window = {replay}
# SA lifetimes, seconds (0: none). There is no IKE: at the soft one a new node
# secret is due (logged); past the hard one the SA refuses traffic.
sa_soft_lifetime_secs = {soft}
sa_hard_lifetime_secs = {hard}
# Outbound ESP sequence numbers reserved so far, relative to data_dir. Keys are
# derived from the secrets, so this keeps a restart from sending an AES-GCM IV
# twice under one key. Keep it with the secrets.
state_file = "{state}"
# HA-gateway keys for SIUs ([ha.vpn] holds the same): SPI >= 256, hex secret
# of 32 octets or more.
# [[gw.siu_keys]]
# spi = 768
# secret = "<hex32>"
# The nodes: their SAs come from the secret (16 octets or more, hex), the
# home address and this gateway's address; `telsec gw keys` prints the SPIs.
# [[gw.nodes]]
# home = "10.77.0.5"
# care_of = "192.0.2.10"
# care_of_port = 4500
# secret = "<hex16>"
"#,
            outside = d.outside,
            siu = d.siu_listen,
            window = d.siu_window_secs,
            ha = d.home_agent,
            ha_port = d.home_agent_port,
            net = d.private_networks.join("\", \""),
            alg = d.algorithm,
            replay = d.replay_window,
            soft = d.sa_soft_lifetime_secs,
            hard = d.sa_hard_lifetime_secs,
            state = d.state_file.display(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET16: &str = "000102030405060708090a0b0c0d0e0f";
    const SECRET32: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn valid() -> GwSettings {
        GwSettings {
            siu_keys: vec![GwSiuKey {
                spi: 768,
                secret: SECRET32.into(),
            }],
            nodes: vec![GwNode {
                home: Ipv4Addr::new(10, 77, 0, 5),
                care_of: Ipv4Addr::new(192, 0, 2, 10),
                care_of_port: 4500,
                secret: SECRET16.into(),
            }],
            ..GwSettings::default()
        }
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        gw: GwSettings,
    }

    #[test]
    fn documented_section_parses_back_to_the_default() {
        let f: File = toml::from_str(&GwSettings::documented()).expect("parses");
        assert_eq!(f.gw, GwSettings::default());
        assert!(!f.gw.runs_in_up(), "no node: not in telsec up");
        // The commented examples are valid too.
        let uncommented: String = GwSettings::documented()
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest.starts_with("[[")
                        || rest.split_once(" = ").is_some_and(|(k, _)| {
                            !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        }) =>
                {
                    rest.to_owned()
                }
                _ => l.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n")
            .replace("<hex32>", SECRET32)
            .replace("<hex16>", SECRET16);
        let f: File = toml::from_str(&uncommented).expect("examples parse");
        assert_eq!(f.gw.enabled, Some(true));
        assert_eq!(f.gw.address, Some(Ipv4Addr::new(198, 51, 100, 1)));
        assert_eq!(f.gw.nodes.len(), 1);
        f.gw.validate().expect("the examples are valid");
    }

    #[test]
    fn valid_settings_build_the_bundles_with_the_derived_spis() {
        let s = valid();
        s.validate().expect("valid");
        assert!(s.runs_in_up(), "a node is configured");
        let spis = s.node_spis().expect("spis");
        let keys = derive_esp_keys(
            &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
            Ipv4Addr::new(10, 77, 0, 5),
            Ipv4Addr::LOCALHOST,
            Algorithm::AesGcm128,
        )
        .expect("derives");
        assert_eq!(spis[0].inbound, keys.node_to_gateway.spi);
        assert_eq!(spis[0].outbound, keys.gateway_to_node.spi);
        let gw = s
            .build_gateway(Instant::now(), |_| 41, 0xe800_0000_0000_0000)
            .expect("builds");
        let t = gw.node(Ipv4Addr::new(10, 77, 0, 5)).expect("node");
        assert_eq!(t.coa, Ipv4Addr::new(192, 0, 2, 10));
        let inbound = gw
            .sad()
            .get(t.inbound_spi, Direction::Inbound)
            .expect("inbound");
        assert_eq!(inbound.peer(), None, "the wildcard");
        let outbound = gw
            .sad()
            .get(t.outbound_spi, Direction::Outbound)
            .expect("outbound");
        assert_eq!(outbound.sequence(), 41, "resumes after the reservation");
        assert_eq!(
            outbound.peer(),
            Some(SocketAddr::from(([192, 0, 2, 10], 4500)))
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let cases: Vec<(GwSettings, &str)> = vec![
            (
                GwSettings {
                    outside: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 4500),
                    ..valid()
                },
                "gw.address",
            ),
            (
                GwSettings {
                    home_agent: Ipv4Addr::BROADCAST,
                    ..valid()
                },
                "gw.home_agent",
            ),
            (
                GwSettings {
                    private_networks: vec!["10.0.0.0".into()],
                    ..valid()
                },
                "gw.private_networks",
            ),
            (
                GwSettings {
                    private_networks: vec![],
                    ..valid()
                },
                "gw.private_networks",
            ),
            (
                GwSettings {
                    algorithm: "aes-128-cbc".into(),
                    ..valid()
                },
                "gw.algorithm",
            ),
            (
                GwSettings {
                    replay_window: 4097,
                    ..valid()
                },
                "gw.replay_window",
            ),
            (
                GwSettings {
                    replay_window: 16,
                    ..valid()
                },
                "gw.replay_window",
            ),
            (
                GwSettings {
                    sa_soft_lifetime_secs: 10,
                    sa_hard_lifetime_secs: 10,
                    ..valid()
                },
                "gw.sa_soft_lifetime_secs",
            ),
            (
                GwSettings {
                    siu_window_secs: 0,
                    ..valid()
                },
                "gw.siu_window_secs",
            ),
            (
                GwSettings {
                    siu_keys: vec![],
                    ..valid()
                },
                "gw.siu_keys",
            ),
            (
                GwSettings {
                    nodes: vec![],
                    ..valid()
                },
                "gw.nodes",
            ),
        ];
        for (s, field) in cases {
            let e = s.validate().expect_err(field).to_string();
            assert!(e.contains(field), "{e:?} should name {field}");
        }
        let mut s = valid();
        s.siu_keys[0].secret = SECRET16.into();
        let e = s.validate().expect_err("short").to_string();
        assert!(e.contains("gw.siu_keys[0]"), "{e}");
        s.siu_keys[0].secret = SECRET32.into();
        s.siu_keys[0].spi = 255;
        assert!(s.validate().is_err(), "reserved SPI");
        s.siu_keys[0].spi = 768;
        s.siu_keys.push(s.siu_keys[0].clone());
        assert!(s.validate().is_err(), "duplicate SPI");
        s.siu_keys.pop();
        s.nodes[0].secret = "0011".into();
        let e = s.validate().expect_err("short").to_string();
        assert!(e.contains("gw.nodes[0] (10.77.0.5).secret"), "{e}");
        s.nodes[0].secret = "zz".into();
        assert!(s.validate().is_err(), "not hex");
        s.nodes[0].secret = SECRET16.into();
        s.nodes[0].care_of_port = 0;
        assert!(s.validate().is_err(), "port 0");
        s.nodes[0].care_of_port = 4500;
        s.nodes.push(s.nodes[0].clone());
        let e = s.validate().expect_err("twice").to_string();
        assert!(e.contains("gw.nodes[1]"), "{e}");
        s.nodes[1].home = Ipv4Addr::new(10, 77, 0, 6);
        s.validate().expect("another home gives other SPIs");
        assert!(toml::from_str::<File>("[gw]\noutsid = \"1.2.3.4:1\"\n").is_err());
        let node = toml::from_str::<File>(&format!(
            "[gw]\n[[gw.nodes]]\nhome = \"10.77.0.5\"\ncare_of = \"192.0.2.1\"\nsecret = \"{SECRET16}\"\n"
        ))
        .expect("port defaults");
        assert_eq!(node.gw.nodes[0].care_of_port, 4500);
        assert!(
            !format!("{:?}", node.gw).contains(SECRET16),
            "no secret in Debug"
        );
    }
}
