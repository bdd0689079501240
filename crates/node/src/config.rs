//! The TOML configuration of every telsec service, with the defaults that let
//! `telsec up` run on a fresh machine with no file at all.
//!
//! Every field has a default; a config file only names what it changes.
//! `telsec config` prints [`Config::documented_default`], which is this
//! structure with a comment per field, so the defaults are documented in one
//! place and cannot drift from the code (a test parses it back).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Errors reading or checking a configuration file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file named on the command line.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped fields.
    #[error("invalid config {path}: {source}")]
    Parse {
        /// The file named on the command line.
        path: PathBuf,
        /// What the TOML parser said, with the line.
        source: Box<toml::de::Error>,
    },
    /// A value is well-typed but out of range.
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where services keep their state (databases, generated keys).
    pub data_dir: PathBuf,
    /// Logging.
    pub log: LogConfig,
    /// The HLR/AuC.
    pub hlr: HlrConfig,
    /// The Mobile IP home agent.
    pub ha: HaConfig,
    /// The Mobile IP mobile node.
    pub mn: MnConfig,
    /// The Mobile IP foreign agent.
    pub fa: crate::fa_service::FaSettings,
    /// The embedded DNS server.
    pub dns: crate::dns_setup::DnsSettings,
    /// The SMS centre (SMPP server and virtual modems).
    pub smsc: crate::smsc_service::SmscSettings,
    /// The VPN gateway (seed 002).
    pub gw: crate::gw_service::GwSettings,
}

/// The home agent's key service (keys by secured SMS, seed 000).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeysConfig {
    /// Run the key service with the home agent.
    pub enabled: bool,
    /// The HLR's GSUP address (vectors for the key derivation).
    pub hlr: SocketAddr,
    /// The SMS centre's SMPP address.
    pub smsc: SocketAddr,
    /// SMPP system_id.
    pub system_id: String,
    /// SMPP password (at most 8 characters).
    pub password: String,
    /// The service's number: nodes send requests to it.
    pub service_number: String,
    /// The home agent's FQDN, bound into the key derivation (NAF name).
    pub fqdn: String,
    /// MAC algorithm of issued keys: `hmac-sha256` or `hmac-md5`.
    pub algorithm: String,
    /// Lifetime of an issued key, seconds.
    pub key_lifetime_secs: u32,
    /// Packet counters, relative to data_dir.
    pub state_file: PathBuf,
    /// Send every subscriber a key when the service starts.
    pub push_at_start: bool,
    /// Subscribers who may receive keys.
    pub subscribers: Vec<KeySubscriberConfig>,
}

/// A subscriber of the key service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySubscriberConfig {
    /// IMSI (its K/OPc are in the HLR).
    pub imsi: String,
    /// MSISDN the keys go to, and requests must come from.
    pub msisdn: String,
    /// The node's home address.
    pub home_address: Ipv4Addr,
    /// Digits of the MNC in the IMSI.
    #[serde(default = "default_mnc_len")]
    pub mnc_len: u8,
}

fn default_mnc_len() -> u8 {
    2
}

impl Default for KeysConfig {
    fn default() -> Self {
        KeysConfig {
            enabled: true,
            hlr: SocketAddr::from(([127, 0, 0, 1], 4222)),
            smsc: SocketAddr::from(([127, 0, 0, 1], 2775)),
            system_id: "telsec-ha".to_owned(),
            password: "telsecha".to_owned(),
            service_number: "+4917099999".to_owned(),
            fqdn: "ha.home.telsec.test".to_owned(),
            algorithm: "hmac-sha256".to_owned(),
            key_lifetime_secs: 24 * 3600,
            state_file: PathBuf::from("ha-keys.state"),
            push_at_start: false,
            subscribers: Vec::new(),
        }
    }
}

/// Mobile IP mobile node options (RFC 5944 §3.6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MnConfig {
    /// The node's home address.
    pub home_address: Ipv4Addr,
    /// Its home agent.
    pub home_agent: Ipv4Addr,
    /// The home network, `a.b.c.d/len`.
    pub home_network: String,
    /// Port the agents listen on (434; another only for unprivileged tests).
    pub agent_port: u16,
    /// Registration lifetime asked for, seconds.
    pub lifetime: u16,
    /// RFC 3519 UDP tunnelling: `off`, `when-natted` or `forced`.
    pub udp_tunnelling: String,
    /// Ask for reverse tunnelling (RFC 3024, T flag).
    pub reverse_tunnelling: bool,
    /// Interface whose IPv4 address is the co-located care-of address
    /// (watched for changes).
    pub interface: Option<String>,
    /// A fixed address to start from instead of watching an interface.
    pub address: Option<Ipv4Addr>,
    /// The link carrying the home address (normally a TUN device).
    pub home_link: crate::packet_link::LinkConfig,
    /// Routing table and rule priority that steer the home address's
    /// traffic into the TUN device while co-located and reverse
    /// tunnelling (a policy rule `from <home>/32`; CAP_NET_ADMIN).
    pub reverse_rule_table: u32,
    /// Priority of that rule (before the main table's 32766).
    pub reverse_rule_priority: u32,
    /// A static MN-HA key; without one the node waits for a key by SMS
    /// (or uses the key `telsec mn bootstrap` obtained).
    pub key: Option<MnKeyConfig>,
    /// `telsec mn bootstrap` (seed 003).
    pub bootstrap: crate::bootstrap::MnBootstrapSettings,
    /// Reach the home agent inside ESP through the VPN gateway (seed 002).
    pub esp: crate::mn_esp::MnEspSettings,
    /// The node's soft USIM.
    pub sim: crate::bootstrap::SimSettings,
}

/// A static MN-HA security association of the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MnKeyConfig {
    /// SPI (256 or more).
    pub spi: u32,
    /// `hmac-md5` or `hmac-sha256`.
    #[serde(default = "default_mip_algorithm")]
    pub algorithm: String,
    /// The key, hex.
    pub key: String,
    /// `timestamp` or `nonce`.
    #[serde(default = "default_replay")]
    pub replay: String,
}

impl Default for MnConfig {
    fn default() -> Self {
        MnConfig {
            home_address: Ipv4Addr::new(10, 77, 0, 5),
            home_agent: Ipv4Addr::LOCALHOST,
            home_network: "10.77.0.0/24".to_owned(),
            agent_port: 434,
            lifetime: 600,
            udp_tunnelling: "when-natted".to_owned(),
            reverse_tunnelling: true,
            interface: None,
            address: None,
            home_link: crate::packet_link::LinkConfig::None,
            reverse_rule_table: 434,
            reverse_rule_priority: 1000,
            key: None,
            bootstrap: crate::bootstrap::MnBootstrapSettings::default(),
            esp: crate::mn_esp::MnEspSettings::default(),
            sim: crate::bootstrap::SimSettings::default(),
        }
    }
}

/// Logging options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `telsec_hlr=debug,info`. `RUST_LOG` overrides it.
    pub filter: String,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// HLR/AuC options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HlrConfig {
    /// GSUP-over-IPA listen address. osmo-hlr's clients expect port 4222.
    pub gsup_listen: SocketAddr,
    /// Subscriber database, relative to `data_dir` unless absolute.
    pub database: PathBuf,
    /// Environment variable holding the key-encryption key (64 hex digits).
    pub kek_env: String,
    /// File holding the KEK (64 hex digits), used when the variable is unset.
    /// Relative to `data_dir` unless absolute. `telsec up` creates it (mode
    /// 0600) on first start when neither source exists.
    pub kek_file: PathBuf,
    /// SEQ values reserved per database write (see ARCHITECTURE.md, "SQN
    /// leases"). Larger is faster; each restart skips at most this many.
    pub sqn_lease: u32,
    /// Most vectors one SendAuthInfo may ask for (GSUP carries at most 5).
    pub max_vectors: u8,
    /// IPA unit name the HLR announces, and sends as GSUP source name.
    pub unit_name: String,
    /// GSUP cause answered for an IMSI the HLR does not know: 2 (IMSI
    /// unknown in HLR, GSM 24.008) or, as osmo-hlr ≥ 1.3 by default, 11
    /// (PLMN not allowed), which stops a foreign SIM from retrying.
    pub unknown_imsi_cause: u8,
}

/// Mobile IP home agent options (RFC 5944 §3.8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HaConfig {
    /// Registration and UDP-tunnel socket. RFC 5944 port 434 (below 1024:
    /// needs root or CAP_NET_BIND_SERVICE).
    pub listen: SocketAddrV4,
    /// The address mobile nodes put in the Home Agent field; defaults to
    /// the listen address when that is not 0.0.0.0.
    pub address: Option<Ipv4Addr>,
    /// Home networks served, as `a.b.c.d/len`.
    pub home_networks: Vec<String>,
    /// Longest lifetime granted, seconds (65535 = infinite allowed).
    pub max_lifetime: u16,
    /// Most simultaneous bindings per home address (S flag).
    pub max_bindings: usize,
    /// Honour the S flag.
    pub simultaneous_bindings: bool,
    /// Offer UDP tunnelling through NATs (RFC 3519).
    pub udp_tunnelling: bool,
    /// Offer reverse tunnelling (RFC 3024).
    pub reverse_tunnelling: bool,
    /// Open a raw socket for IP-in-IP tunnels (CAP_NET_RAW).
    pub ipip: bool,
    /// Directory of the binding snapshot and journal, relative to data_dir.
    pub state_dir: PathBuf,
    /// Secret for nonce-mode replay protection; created (0600) when absent.
    pub nonce_secret_file: PathBuf,
    /// Journal size that triggers a new snapshot, octets.
    pub compact_after_bytes: u64,
    /// Link to the home network.
    pub home_link: crate::packet_link::LinkConfig,
    /// Mobile nodes with statically configured keys.
    pub mobile_nodes: Vec<MobileNodeConfig>,
    /// Foreign agents the home agent shares an FA-HA key with (RFC 5944
    /// §3.5.3): their relayed requests must carry FA-HA authentication
    /// (else 132) and the replies to them get one.
    pub foreign_agents: Vec<ForeignAgentKeyConfig>,
    /// The key service.
    pub keys: KeysConfig,
    /// The bootstrap service (seed 003).
    pub bootstrap: crate::bootstrap::HaBootstrapSettings,
    /// The link to the VPN gateway (seed 002).
    pub vpn: crate::ha_vpn::HaVpnSettings,
}

/// An FA-HA security association of the home agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignAgentKeyConfig {
    /// The foreign agent's address (the source of its relayed requests).
    pub address: Ipv4Addr,
    /// SPI (256 or more).
    pub spi: u32,
    /// `hmac-md5` or `hmac-sha256`.
    #[serde(default = "default_mip_algorithm")]
    pub algorithm: String,
    /// The key, hex.
    pub key: String,
}

/// A mobile node's static mobility security association.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MobileNodeConfig {
    /// Its home address.
    pub home_address: Ipv4Addr,
    /// Its NAI (RFC 2794), when it registers with one.
    #[serde(default)]
    pub nai: Option<String>,
    /// SPI of the MN-HA SA (256 or more).
    pub spi: u32,
    /// `hmac-md5` (RFC 5944 default) or `hmac-sha256`.
    #[serde(default = "default_mip_algorithm")]
    pub algorithm: String,
    /// The shared key, hex.
    pub key: String,
    /// `timestamp` (default) or `nonce`.
    #[serde(default = "default_replay")]
    pub replay: String,
}

fn default_mip_algorithm() -> String {
    "hmac-md5".to_owned()
}

fn default_replay() -> String {
    "timestamp".to_owned()
}

impl Default for HaConfig {
    fn default() -> Self {
        HaConfig {
            listen: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 434),
            address: None,
            home_networks: vec!["10.77.0.0/24".to_owned()],
            max_lifetime: 1800,
            max_bindings: 4,
            simultaneous_bindings: true,
            udp_tunnelling: true,
            reverse_tunnelling: true,
            ipip: false,
            state_dir: PathBuf::from("ha"),
            nonce_secret_file: PathBuf::from("ha.nonce"),
            compact_after_bytes: 4 << 20,
            home_link: crate::packet_link::LinkConfig::None,
            mobile_nodes: Vec::new(),
            foreign_agents: Vec::new(),
            keys: KeysConfig::default(),
            bootstrap: crate::bootstrap::HaBootstrapSettings::default(),
            vpn: crate::ha_vpn::HaVpnSettings::default(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("telsec-data"),
            log: LogConfig::default(),
            hlr: HlrConfig::default(),
            ha: HaConfig::default(),
            mn: MnConfig::default(),
            fa: crate::fa_service::FaSettings::default(),
            dns: crate::dns_setup::DnsSettings::default(),
            smsc: crate::smsc_service::SmscSettings::default(),
            gw: crate::gw_service::GwSettings::default(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            filter: "info".to_owned(),
        }
    }
}

impl Default for HlrConfig {
    fn default() -> Self {
        HlrConfig {
            gsup_listen: SocketAddr::from(([127, 0, 0, 1], 4222)),
            database: PathBuf::from("hlr.db"),
            kek_env: "TELSEC_HLR_KEK".to_owned(),
            kek_file: PathBuf::from("hlr.kek"),
            sqn_lease: telsec_hlr::sqn_lease::DEFAULT_LEASE_SIZE,
            max_vectors: 5,
            unit_name: "telsec-hlr".to_owned(),
            unknown_imsi_cause: 2,
        }
    }
}

impl Config {
    /// Read a config file; fields it leaves out keep their defaults.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config: Config = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Check the ranges that types alone do not.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.hlr.sqn_lease == 0 || self.hlr.sqn_lease > 1 << 20 {
            return Err(ConfigError::Invalid(
                "hlr.sqn_lease must be 1..=1048576".into(),
            ));
        }
        if ![2, 11].contains(&self.hlr.unknown_imsi_cause) {
            return Err(ConfigError::Invalid(
                "hlr.unknown_imsi_cause must be 2 (IMSI unknown) or 11 (PLMN not allowed)".into(),
            ));
        }
        if !(1..=5).contains(&self.hlr.max_vectors) {
            return Err(ConfigError::Invalid(
                "hlr.max_vectors must be 1..=5 (a GSUP message carries at most 5 tuples)".into(),
            ));
        }
        if self.ha.address.is_none() && self.ha.listen.ip().is_unspecified() {
            return Err(ConfigError::Invalid(
                "ha.address is needed when ha.listen is 0.0.0.0".into(),
            ));
        }
        for n in &self.ha.home_networks {
            parse_prefix(n).ok_or_else(|| {
                ConfigError::Invalid(format!("ha.home_networks: {n:?} is not a.b.c.d/len"))
            })?;
        }
        parse_prefix(&self.mn.home_network).ok_or_else(|| {
            ConfigError::Invalid(format!(
                "mn.home_network: {:?} is not a.b.c.d/len",
                self.mn.home_network
            ))
        })?;
        if !["off", "when-natted", "forced"].contains(&self.mn.udp_tunnelling.as_str()) {
            return Err(ConfigError::Invalid(
                "mn.udp_tunnelling must be off, when-natted or forced".into(),
            ));
        }
        self.smsc
            .validate()
            .map_err(|e| ConfigError::Invalid(format!("smsc: {e}")))?;
        if !["hmac-sha256", "hmac-md5"].contains(&self.ha.keys.algorithm.as_str()) {
            return Err(ConfigError::Invalid(
                "ha.keys.algorithm must be hmac-sha256 or hmac-md5".into(),
            ));
        }
        self.fa
            .validate()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        for fa in &self.ha.foreign_agents {
            if fa.spi < 256 {
                return Err(ConfigError::Invalid(format!(
                    "ha.foreign_agents {}: SPIs 0..=255 are reserved (RFC 5944 §1.6)",
                    fa.address
                )));
            }
        }
        // `[gw]` is checked when something would run it; `telsec gw`
        // checks it in any case.
        if self.gw.runs_in_up() {
            self.gw
                .validate()
                .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        }
        for mn in &self.ha.mobile_nodes {
            if mn.spi < 256 {
                return Err(ConfigError::Invalid(format!(
                    "ha.mobile_nodes {}: SPIs 0..=255 are reserved (RFC 5944 §1.6)",
                    mn.home_address
                )));
            }
        }
        Ok(())
    }

    /// A path from the config, resolved against `data_dir` when relative.
    pub fn in_data_dir(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.data_dir.join(path)
        }
    }

    /// The default configuration as TOML with a comment on every field.
    pub fn documented_default() -> String {
        let d = Config::default();
        format!(
            r#"# telsec configuration. Every field is optional; shown here with its default.

# Where services keep their state (databases, generated keys).
data_dir = "{data_dir}"

[log]
# "text" for people, "json" for log collectors (one object per line).
format = "text"
# A tracing filter such as "info" or "telsec_hlr=debug,info". RUST_LOG overrides it.
filter = "{filter}"

[hlr]
# GSUP over IPA. osmo-msc/osmo-sgsn and telsec's services connect here.
gsup_listen = "{listen}"
# Subscriber database (SQLite), relative to data_dir unless absolute.
database = "{database}"
# The key-encryption key (64 hex digits) protecting Ki/K/OP/OPc at rest is read
# from this environment variable ...
kek_env = "{kek_env}"
# ... or, when it is unset, from this file (relative to data_dir). `telsec up`
# creates the file with mode 0600 on first start; keep it off the database's disk
# in production.
kek_file = "{kek_file}"
# SEQ values reserved per durable database write. No SQN is ever issued
# twice, even after kill -9; a crash skips at most this many per subscriber,
# which the USIM accepts (far below the limit of 2^28 of TS 33.102 Annex C).
sqn_lease = {lease}
# Most vectors one SendAuthInfo answer carries (GSUP allows 1..=5).
max_vectors = {max_vectors}
# IPA unit name the HLR announces.
unit_name = "{unit_name}"
# GSUP cause for an unknown IMSI: 2 (IMSI unknown in HLR) or 11 (PLMN not
# allowed, osmo-hlr's default since 1.3, which stops a foreign SIM retrying).
unknown_imsi_cause = {unknown_cause}

[ha]
# Mobile IP home agent (RFC 5944). Registrations and RFC 3519 UDP-tunnelled
# data share this socket. Port 434 needs root or CAP_NET_BIND_SERVICE.
listen = "{ha_listen}"
# Address mobile nodes name in the Home Agent field; needed only when listen
# is 0.0.0.0.
# address = "192.0.2.1"
# Home networks served; a home address outside them is refused (code 129).
home_networks = ["{ha_net}"]
# Longest registration lifetime granted, seconds (65535 allows infinity).
max_lifetime = {ha_life}
# Most simultaneous bindings (S flag) per home address; one more gets 135.
max_bindings = {ha_bind}
simultaneous_bindings = true
# RFC 3519 UDP tunnelling (crosses NATs; needs no raw socket).
udp_tunnelling = true
# RFC 3024 reverse tunnelling (T flag).
reverse_tunnelling = true
# IP-in-IP tunnels through a raw socket (needs CAP_NET_RAW).
ipip = false
# Binding snapshot and journal, relative to data_dir. Every accepted
# registration is synced to the journal before its reply is sent.
state_dir = "{ha_state}"
# Secret for nonce-mode replay protection, created with mode 0600.
nonce_secret_file = "{ha_nonce}"
# The journal is folded into a new snapshot beyond this many octets.
compact_after_bytes = {ha_compact}
# Link to the home network: {{ kind = "none" }}, a TUN device
# {{ kind = "tun", name = "tsha0", address = "10.77.0.1", prefix_len = 24 }},
# or the unprivileged UDP wire {{ kind = "udp", bind = "...", peer = "..." }}.
home_link = {{ kind = "none" }}
# Mobile nodes with static keys; keys delivered by SMS are added at run time.
# [[ha.mobile_nodes]]
# home_address = "10.77.0.5"
# spi = 4096
# algorithm = "hmac-sha256"   # or "hmac-md5", the RFC 5944 default
# key = "<hex>"
# replay = "timestamp"        # or "nonce"
# Foreign agents sharing an FA-HA key (their relays must authenticate, else 132):
# [[ha.foreign_agents]]
# address = "192.0.2.20"
# spi = 8192
# algorithm = "hmac-sha256"
# key = "<hex>"

[ha.keys]
# The key service (seed 000, made secure): a node asks by SMS; the home agent takes
# a vector from the HLR over GSUP, seals a fresh MN-HA key into a secured packet
# (ARCHITECTURE.md, "Keys by secured SMS") and sends it by SMPP to the
# subscriber's MSISDN.
enabled = true
hlr = "{k_hlr}"
smsc = "{k_smsc}"
system_id = "{k_sys}"
password = "{k_pw}"
# Nodes send their requests to this number.
service_number = "{k_num}"
# The home agent's name, bound into the key derivation.
fqdn = "{k_fqdn}"
# MAC of issued keys: "hmac-sha256" or "hmac-md5".
algorithm = "{k_alg}"
key_lifetime_secs = {k_life}
# Packet counters (never reused, even after a restart), relative to data_dir.
state_file = "{k_state}"
# Send every subscriber a key at start.
push_at_start = false
# Who may get keys (K/OPc are in the HLR):
# [[ha.keys.subscribers]]
# imsi = "001010000000077"
# msisdn = "+4917000077"
# home_address = "10.77.0.5"

{bootstrap}
{ha_vpn}
[smsc]
# The SMS centre: SMPP 3.4 server (2775 is SMPP's port) and virtual modems, one
# per subscriber, speaking TS 27.005 AT commands over TCP or a pty.
listen = "{s_listen}"
system_id = "{s_sys}"
# ESME accounts; the home agent's key service binds with the first. Change the password.
accounts = [{{ system_id = "telsec-ha", password = "telsecha" }}]
# Messages from modems to these numbers go to that ESME.
routes = [{{ prefix = "{s_route}", system_id = "telsec-ha" }}]
# Virtual modems: [[smsc.modems]] msisdn = "+4917000077", tcp = "127.0.0.1:7001"
# (or pty = "/run/telsec/modem0").
modems = []
queue_size = {s_queue}
default_validity_secs = {s_validity}

[mn]
# Mobile IP mobile node (`telsec mn`).
home_address = "{mn_home}"
home_agent = "{mn_ha}"
home_network = "{mn_net}"
# Port the agents listen on (434 in the RFC).
agent_port = {mn_port}
# Registration lifetime asked for, seconds; the node renews at 2/3 of it.
lifetime = {mn_life}
# RFC 3519 UDP tunnelling: "off", "when-natted" (the home agent decides) or "forced".
udp_tunnelling = "{mn_udp}"
# Reverse tunnelling (RFC 3024): the node's traffic goes back through the home agent.
reverse_tunnelling = true
# The interface whose IPv4 address is the co-located care-of address.
# interface = "wwan0"
# Or a fixed address to start from.
# address = "192.0.2.10"
# The link carrying the home address, normally a TUN device:
# home_link = {{ kind = "tun", name = "tsmn0", address = "10.77.0.5", prefix_len = 32 }}
home_link = {{ kind = "none" }}
# With a TUN home link and reverse tunnelling: while registered with a
# co-located address, a policy rule (this priority) sends what leaves from
# the home address to this table, whose default route is the TUN device.
reverse_rule_table = 434
reverse_rule_priority = 1000
# A static MN-HA key; without one the node waits for its key by SMS.
# [mn.key]
# spi = 4096
# algorithm = "hmac-sha256"
# key = "<hex>"

{mn_bootstrap}
{mn_esp}
{fa}
{dns}
{gw}"#,
            dns = crate::dns_setup::DnsSettings::documented(),
            gw = crate::gw_service::GwSettings::documented(),
            fa = crate::fa_service::FaSettings::documented(),
            bootstrap = crate::bootstrap::HaBootstrapSettings::documented(),
            ha_vpn = crate::ha_vpn::HaVpnSettings::documented(),
            mn_bootstrap = crate::bootstrap::MnBootstrapSettings::documented(),
            mn_esp = crate::mn_esp::MnEspSettings::documented(),
            data_dir = d.data_dir.display(),
            filter = d.log.filter,
            listen = d.hlr.gsup_listen,
            database = d.hlr.database.display(),
            kek_env = d.hlr.kek_env,
            kek_file = d.hlr.kek_file.display(),
            lease = d.hlr.sqn_lease,
            max_vectors = d.hlr.max_vectors,
            unit_name = d.hlr.unit_name,
            unknown_cause = d.hlr.unknown_imsi_cause,
            ha_listen = d.ha.listen,
            ha_net = d.ha.home_networks.join("\", \""),
            ha_life = d.ha.max_lifetime,
            ha_bind = d.ha.max_bindings,
            ha_state = d.ha.state_dir.display(),
            ha_nonce = d.ha.nonce_secret_file.display(),
            ha_compact = d.ha.compact_after_bytes,
            mn_home = d.mn.home_address,
            mn_ha = d.mn.home_agent,
            mn_net = d.mn.home_network,
            mn_port = d.mn.agent_port,
            mn_life = d.mn.lifetime,
            mn_udp = d.mn.udp_tunnelling,
            k_hlr = d.ha.keys.hlr,
            k_smsc = d.ha.keys.smsc,
            k_sys = d.ha.keys.system_id,
            k_pw = d.ha.keys.password,
            k_num = d.ha.keys.service_number,
            k_fqdn = d.ha.keys.fqdn,
            k_alg = d.ha.keys.algorithm,
            k_life = d.ha.keys.key_lifetime_secs,
            k_state = d.ha.keys.state_file.display(),
            s_listen = d.smsc.listen,
            s_sys = d.smsc.system_id,
            s_route = d.ha.keys.service_number.trim_start_matches('+'),
            s_queue = d.smsc.queue_size,
            s_validity = d.smsc.default_validity_secs,
        )
    }
}

/// Parses `a.b.c.d/len` (len 0..=32).
pub fn parse_prefix(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (addr, len) = s.split_once('/')?;
    let len: u8 = len.parse().ok()?;
    (len <= 32).then_some((addr.parse().ok()?, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_default_parses_back_to_default() {
        let parsed: Config = toml::from_str(&Config::documented_default()).unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let parsed: Config = toml::from_str("[hlr]\nsqn_lease = 7\n").unwrap();
        assert_eq!(parsed.hlr.sqn_lease, 7);
        assert_eq!(parsed.hlr.gsup_listen, HlrConfig::default().gsup_listen);
    }

    #[test]
    fn unknown_field_is_refused() {
        assert!(toml::from_str::<Config>("[hlr]\nsqn_leese = 7\n").is_err());
    }

    #[test]
    fn zero_lease_is_invalid() {
        let mut c = Config::default();
        c.hlr.sqn_lease = 0;
        assert!(c.validate().is_err());
    }
}
