//! Configuration of the bootstrap service (`[ha.bootstrap]`, inside the
//! home agent) and of the node's bootstrap client (`[mn.bootstrap]`, with
//! the soft USIM of `[mn.sim]`). Every field has an embedded default that
//! works on loopback with `telsec up`.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What the bootstrap service sets nodes up for (seed 003: a home agent
/// or, for HIP, a forwarding agent runs it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BootstrapMode {
    /// Mobile IP: a home address and an MN-HA SA; DNS gets A and IPSECKEY.
    #[default]
    MobileIp,
    /// HIP: the node's HIT; DNS also gets its HIP RR (RFC 8005) naming
    /// this forwarding agent as rendezvous server. No Mobile IP SA.
    Hip,
}

/// The home agent's bootstrap service (seed 003).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HaBootstrapSettings {
    /// Run it (with the home agent).
    pub enabled: bool,
    /// Mobile IP (this is a home agent) or HIP (a forwarding agent).
    pub mode: BootstrapMode,
    /// HIP mode: this forwarding agent's name, published with an A record
    /// of its address and as every node's rendezvous server.
    pub forwarding_agent_name: String,
    /// HIP mode: the hierarchy ID of the HITs handed out (RFC 9374 §3.3):
    /// Registered Assigning Authority, 14 bits.
    pub hit_raa: u16,
    /// HIP mode: HHIT Domain Authority, 14 bits.
    pub hit_hda: u16,
    /// UDP socket of the bootstrap protocol.
    pub listen: SocketAddrV4,
    /// The HA's network name: EAP-AKA' AT_KDF_INPUT (RFC 9048 §3.1) and
    /// an input of the session keys; nodes must be configured with it.
    pub network_name: String,
    /// The HLR's GSUP address (telsec's HLR or osmo-hlr).
    pub hlr: SocketAddr,
    /// The operator zone node names are given in (one label below it).
    pub zone: String,
    /// Home addresses handed out: `a.b.c.d/len`.
    pub pool: String,
    /// Addresses of the pool never handed out (routers, servers).
    pub pool_excluded: Vec<Ipv4Addr>,
    /// The DNS server receiving RFC 2136 updates.
    pub dns_server: SocketAddr,
    /// Its TSIG key (HMAC-SHA-256): name and base64 secret. The key may
    /// change every name of the zone.
    pub dns_key_name: String,
    /// Base64 secret of that key.
    pub dns_key_secret: String,
    /// The HA's Ed25519 key (32 raw octets; created 0600 when absent),
    /// relative to data_dir.
    pub signing_key_file: PathBuf,
    /// Pool and service records, relative to data_dir.
    pub state_dir: PathBuf,
    /// The telsec HLR database to read subscribers' names from (seed
    /// step 8); none with osmo-hlr.
    pub subscriber_database: Option<PathBuf>,
    /// MIP SA handed out: `hmac-sha256` or `hmac-md5`.
    pub mip_algorithm: String,
    /// Lifetime of that SA, seconds.
    pub mip_key_lifetime_secs: u32,
    /// Registration lifetime the node should ask for, seconds.
    pub registration_lifetime: u16,
    /// Bootstraps in progress at once.
    pub max_sessions: usize,
    /// SUCI home-network private keys, to de-conceal nodes' identities.
    pub suci_keys: Vec<SuciKeySetting>,
}

/// One SUCI home-network key (TS 33.501 Annex C.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuciKeySetting {
    /// Its id (hnkey), 0-255.
    pub id: u8,
    /// `a` (X25519) or `b` (P-256).
    pub profile: String,
    /// The private key, hex (32 octets).
    pub private_key: String,
}

impl Default for HaBootstrapSettings {
    fn default() -> Self {
        HaBootstrapSettings {
            enabled: true,
            mode: BootstrapMode::MobileIp,
            forwarding_agent_name: "fa.telsec.test.".to_owned(),
            hit_raa: 16376,
            hit_hda: 1,
            listen: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4434),
            network_name: "telsec.test".to_owned(),
            hlr: SocketAddr::from((Ipv4Addr::LOCALHOST, 4222)),
            zone: "telsec.test.".to_owned(),
            pool: "10.77.0.0/24".to_owned(),
            pool_excluded: vec![Ipv4Addr::new(10, 77, 0, 1)],
            dns_server: SocketAddr::from((Ipv4Addr::LOCALHOST, 1053)),
            dns_key_name: "telsec-ha.".to_owned(),
            dns_key_secret: String::new(),
            signing_key_file: PathBuf::from("ha-bootstrap.key"),
            state_dir: PathBuf::from("bootstrap"),
            subscriber_database: None,
            mip_algorithm: "hmac-sha256".to_owned(),
            mip_key_lifetime_secs: 86_400,
            registration_lifetime: 600,
            max_sessions: 1024,
            suci_keys: Vec::new(),
        }
    }
}

impl HaBootstrapSettings {
    /// The `[ha.bootstrap]` section with every default, commented.
    pub fn documented() -> String {
        let d = HaBootstrapSettings::default();
        format!(
            r#"[ha.bootstrap]
# Bootstrap from the SIM (seed 003): a node with only its USIM runs
# EAP-AKA' (RFC 9048) with the home agent, which takes vectors from the HLR,
# then gets its FQDN, home address and Mobile IP key; DNS is updated.
enabled = {enabled}
# "mobile-ip": this is a home agent; nodes get a home address and a Mobile IP
# SA. "hip": this is a HIP forwarding agent; nodes get their Host Identity
# Tag, and DNS gets a HIP RR (RFC 8005) with the node's key and this agent
# as rendezvous server (its name gets an A record of the agent's address).
mode = "mobile-ip"
forwarding_agent_name = "{fa}"
# Hierarchy ID of the HITs (RFC 9374 HHITs, EdDSA/cSHAKE128): RAA and HDA,
# 14 bits each; the operator's own values.
hit_raa = {raa}
hit_hda = {hda}
listen = "{listen}"
# The HA's network name (EAP-AKA' AT_KDF_INPUT); nodes are configured with it.
network_name = "{name}"
# The HLR's GSUP address.
hlr = "{hlr}"
# Node names are one label below this zone.
zone = "{zone}"
# Home addresses handed out, and addresses never handed out.
pool = "{pool}"
pool_excluded = ["10.77.0.1"]
# DNS server taking RFC 2136 updates signed with this TSIG key (HMAC-SHA-256).
dns_server = "{dns}"
dns_key_name = "{key}"
# Base64; empty: `telsec up` generates one for its embedded DNS server.
dns_key_secret = ""
# The HA's Ed25519 key and its state (pool, services), relative to data_dir.
signing_key_file = "{sk}"
state_dir = "{sd}"
# The telsec HLR database, to read subscribers' names from (none with osmo-hlr).
# subscriber_database = "hlr.db"
# Mobile IP SA handed out.
mip_algorithm = "{alg}"
mip_key_lifetime_secs = {life}
registration_lifetime = {reg}
max_sessions = {max}
# SUCI home-network private keys, so nodes may conceal their IMSI:
# suci_keys = [{{ id = 1, profile = "a", private_key = "<hex>" }}]
suci_keys = []
"#,
            enabled = d.enabled,
            fa = d.forwarding_agent_name,
            raa = d.hit_raa,
            hda = d.hit_hda,
            listen = d.listen,
            name = d.network_name,
            hlr = d.hlr,
            zone = d.zone,
            pool = d.pool,
            dns = d.dns_server,
            key = d.dns_key_name,
            sk = d.signing_key_file.display(),
            sd = d.state_dir.display(),
            alg = d.mip_algorithm,
            life = d.mip_key_lifetime_secs,
            reg = d.registration_lifetime,
            max = d.max_sessions,
        )
    }
}

/// The node's bootstrap client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MnBootstrapSettings {
    /// The home agent's bootstrap socket.
    pub home_agent: SocketAddr,
    /// The HA's network name (must match the HA's `network_name`).
    pub network_name: String,
    /// The FQDN the node asks for (the HA decides).
    pub desired_fqdn: Option<String>,
    /// Where the configuration obtained is stored (bound to the IMSI),
    /// relative to data_dir.
    pub config_file: PathBuf,
    /// The node's Ed25519 key (created 0600 when absent), relative to
    /// data_dir; one per SIM: the IMSI goes before the extension
    /// (`mn.<IMSI>.key`).
    pub signing_key_file: PathBuf,
    /// The home agent's Ed25519 public key (hex): a configuration signed
    /// by any other key is refused.
    pub ha_public_key: Option<String>,
    /// Without `ha_public_key`: trust the key of the first bootstrap and
    /// refuse another one later (the key stored with this SIM's
    /// configuration; `--accept-new-ha-key` overrides it once).
    pub pin_ha_key: bool,
}

impl Default for MnBootstrapSettings {
    fn default() -> Self {
        MnBootstrapSettings {
            home_agent: SocketAddr::from((Ipv4Addr::LOCALHOST, 4434)),
            network_name: "telsec.test".to_owned(),
            desired_fqdn: None,
            config_file: PathBuf::from("mn-bootstrap.conf"),
            signing_key_file: PathBuf::from("mn.key"),
            ha_public_key: None,
            pin_ha_key: true,
        }
    }
}

/// The node's soft USIM (a real card would sit behind PC/SC instead).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimSettings {
    /// IMSI, 6 to 15 digits.
    pub imsi: String,
    /// Number of MNC digits (2 or 3).
    pub mnc_len: u8,
    /// Milenage K, hex (16 octets).
    pub k: String,
    /// Milenage OPc, hex (16 octets).
    pub opc: String,
    /// The card's SQN array, persisted after every authentication so a
    /// replayed challenge stays refused across runs; relative to data_dir,
    /// the IMSI before the extension (`mn-usim.<IMSI>.sqn`).
    pub sqn_file: PathBuf,
    /// The home network's SUCI public key (hex: 64 digits for profile A,
    /// 66 for profile B); with it the node sends a SUCI instead of its IMSI
    /// (TS 33.501 §6.12.2).
    pub suci_public_key: Option<String>,
    /// That key's id (hnkey).
    pub suci_key_id: u8,
    /// The routing indicator in the SUCI.
    pub suci_routing_indicator: String,
}

impl Default for SimSettings {
    fn default() -> Self {
        SimSettings {
            imsi: "001010000000001".to_owned(),
            mnc_len: 2,
            k: String::new(),
            opc: String::new(),
            sqn_file: PathBuf::from("mn-usim.sqn"),
            suci_public_key: None,
            suci_key_id: 1,
            suci_routing_indicator: "0".to_owned(),
        }
    }
}

impl MnBootstrapSettings {
    /// The `[mn.bootstrap]` and `[mn.sim]` sections with every default.
    pub fn documented() -> String {
        let d = MnBootstrapSettings::default();
        let s = SimSettings::default();
        format!(
            r#"[mn.bootstrap]
# `telsec mn bootstrap`: obtain FQDN, home address and Mobile IP key from the
# home agent with nothing but the SIM (EAP-AKA', seed 003).
home_agent = "{ha}"
# Must equal the home agent's [ha.bootstrap] network_name.
network_name = "{name}"
# desired_fqdn = "alice.telsec.test"
# The configuration obtained (bound to the IMSI) and the node's Ed25519 key
# (one per SIM: stored as mn.<IMSI>.key).
config_file = "{cf}"
signing_key_file = "{sk}"
# The home agent's public key (hex, as `telsec mn bootstrap` prints it): any
# other key is refused. Without it the key of the first bootstrap is trusted
# and pinned (pin_ha_key = false turns that off).
# ha_public_key = "<64 hex digits>"
pin_ha_key = true

[mn.sim]
# The node's soft USIM (Milenage).
imsi = "{imsi}"
mnc_len = {mnc}
k = ""
opc = ""
sqn_file = "{sqn}"
# Conceal the IMSI as a SUCI (TS 33.501 §6.12.2) under the home network's key
# (hex; 64 digits: profile A, X25519; 66: profile B, P-256), its id, and the
# routing indicator. Without it the IMSI travels in clear in EAP-AKA'.
# suci_public_key = "<hex>"
suci_key_id = 1
suci_routing_indicator = "0"
"#,
            ha = d.home_agent,
            name = d.network_name,
            cf = d.config_file.display(),
            sk = d.signing_key_file.display(),
            imsi = s.imsi,
            mnc = s.mnc_len,
            sqn = s.sqn_file.display(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_sections_parse_back_to_the_defaults() {
        #[derive(Deserialize)]
        struct Ha {
            bootstrap: HaBootstrapSettings,
        }
        #[derive(Deserialize)]
        struct Mn {
            bootstrap: MnBootstrapSettings,
            sim: SimSettings,
        }
        #[derive(Deserialize)]
        struct File {
            ha: Option<Ha>,
            mn: Option<Mn>,
        }
        let f: File = toml::from_str(&HaBootstrapSettings::documented()).expect("parses");
        assert_eq!(
            f.ha.map(|h| h.bootstrap),
            Some(HaBootstrapSettings::default())
        );
        let f: File = toml::from_str(&MnBootstrapSettings::documented()).expect("parses");
        let mn = f.mn.expect("mn");
        assert_eq!(mn.bootstrap, MnBootstrapSettings::default());
        assert_eq!(mn.sim, SimSettings::default());
    }
}
