//! Builds the home agent's core and driver parameters from the TOML
//! configuration: policy, static mobility SAs, and the nonce secret (read
//! from its file, or created with mode 0600 on first start).

use std::io::{self, Read as _, Write as _};
use std::net::Ipv4Addr;
use std::path::Path;

use telsec_mip::ha::{Config as HaPolicy, HomeAgent, HomeNetwork};
use telsec_mip::{Algorithm, ReplayMode, SecurityAssociation};

use crate::config::{Config, ConfigError, MobileNodeConfig, parse_prefix};
use crate::ha_service::HaParams;

/// Length of a created nonce secret, octets.
const NONCE_SECRET_LEN: usize = 32;

/// Errors building the home agent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The configuration is inconsistent.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The nonce secret file could not be read or created.
    #[error("nonce secret {path}: {source}")]
    Secret {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// The address mobile nodes name in the Home Agent field.
pub fn ha_address(config: &Config) -> Ipv4Addr {
    config.ha.address.unwrap_or(*config.ha.listen.ip())
}

/// Builds the core: policy from `[ha]`, one SA per configured node.
pub fn build_core(config: &Config) -> Result<HomeAgent, SetupError> {
    let ha = &config.ha;
    let secret_path = config.in_data_dir(&ha.nonce_secret_file);
    let secret = load_or_create_secret(&secret_path).map_err(|source| SetupError::Secret {
        path: secret_path,
        source,
    })?;
    let networks = ha
        .home_networks
        .iter()
        .map(|n| {
            parse_prefix(n)
                .map(|(prefix, len)| HomeNetwork { prefix, len })
                .ok_or_else(|| ConfigError::Invalid(format!("ha.home_networks: {n:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let first = networks.first().copied().ok_or_else(|| {
        ConfigError::Invalid("ha.home_networks must name at least one network".into())
    })?;
    let mut policy = HaPolicy::new(ha_address(config), first, &secret);
    policy.home_networks = networks;
    policy.max_lifetime = ha.max_lifetime;
    policy.max_bindings = ha.max_bindings;
    policy.simultaneous_bindings = ha.simultaneous_bindings;
    policy.udp_tunnelling = ha.udp_tunnelling;
    policy.reverse_tunnelling = ha.reverse_tunnelling;
    let mut core = HomeAgent::new(policy);
    for mn in &ha.mobile_nodes {
        let sa = security_association(mn)?;
        match &mn.nai {
            Some(nai) => core.add_sa_for_nai(nai.as_bytes(), sa),
            None => core.add_sa_for_home(mn.home_address, sa),
        }
    }
    for fa in &ha.foreign_agents {
        let sa = security_association(&MobileNodeConfig {
            home_address: fa.address,
            nai: None,
            spi: fa.spi,
            algorithm: fa.algorithm.clone(),
            key: fa.key.clone(),
            replay: default_replay_name(),
        })?;
        core.add_fa_ha_sa(fa.address, sa);
    }
    Ok(core)
}

fn default_replay_name() -> String {
    "timestamp".to_owned()
}

/// The SA of a configured mobile node.
pub fn security_association(mn: &MobileNodeConfig) -> Result<SecurityAssociation, ConfigError> {
    let bad =
        |what: &str| ConfigError::Invalid(format!("ha.mobile_nodes {}: {what}", mn.home_address));
    let algorithm = match mn.algorithm.as_str() {
        "hmac-md5" => Algorithm::HmacMd5,
        "hmac-sha256" => Algorithm::HmacSha256,
        _ => return Err(bad("algorithm must be hmac-md5 or hmac-sha256")),
    };
    let replay = match mn.replay.as_str() {
        "timestamp" => ReplayMode::default(),
        "nonce" => ReplayMode::Nonce,
        _ => return Err(bad("replay must be timestamp or nonce")),
    };
    let key = hex_decode(&mn.key).ok_or_else(|| bad("key must be hex"))?;
    SecurityAssociation::new(mn.spi, algorithm, &key, replay).map_err(|e| bad(&e.to_string()))
}

/// The key service's parameters and issuer policy from `[ha.keys]`;
/// `None` when it is disabled or has no subscribers.
pub fn key_service(
    config: &Config,
) -> Result<
    Option<(
        crate::key_service::KeyServiceParams,
        telsec_keydist::issuer::IssuerConfig,
    )>,
    ConfigError,
> {
    let k = &config.ha.keys;
    if !k.enabled || k.subscribers.is_empty() {
        return Ok(None);
    }
    let mut issuer = telsec_keydist::issuer::IssuerConfig::new(&k.fqdn, ha_address(config));
    issuer.algorithm = match k.algorithm.as_str() {
        "hmac-md5" => Algorithm::HmacMd5,
        _ => Algorithm::HmacSha256,
    };
    issuer.key_lifetime_secs = k.key_lifetime_secs;
    let params = crate::key_service::KeyServiceParams {
        hlr: k.hlr,
        smsc: k.smsc,
        system_id: k.system_id.clone(),
        password: k.password.clone(),
        service_number: k.service_number.clone(),
        fqdn: k.fqdn.clone(),
        home_agent: ha_address(config),
        state_file: config.in_data_dir(&k.state_file),
        subscribers: k
            .subscribers
            .iter()
            .map(|s| telsec_keydist::issuer::Subscriber {
                imsi: s.imsi.clone(),
                mnc_len: s.mnc_len,
                msisdn: s.msisdn.clone(),
                home_address: s.home_address,
            })
            .collect(),
        push_at_start: k.push_at_start,
    };
    Ok(Some((params, issuer)))
}

/// The driver parameters from `[ha]`.
pub fn params(config: &Config) -> HaParams {
    HaParams {
        listen: config.ha.listen,
        state_dir: config.in_data_dir(&config.ha.state_dir),
        home_link: config.ha.home_link.clone(),
        ipip: config.ha.ipip,
        compact_after_bytes: config.ha.compact_after_bytes,
        vpn: config.ha.vpn.clone(),
    }
}

/// Hex digits to octets (`None` for an odd length or a non-hex digit).
pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn load_or_create_secret(path: &Path) -> io::Result<Vec<u8>> {
    match std::fs::File::open(path) {
        Ok(mut f) => {
            let mut v = Vec::new();
            f.read_to_end(&mut v)?;
            if v.len() < 16 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "shorter than 16 octets",
                ));
            }
            Ok(v)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let secret: [u8; NONCE_SECRET_LEN] = rand::random();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut f = options.open(path)?;
            f.write_all(&secret)?;
            f.sync_all()?;
            Ok(secret.to_vec())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_from_config_and_keeps_secret() {
        let dir = std::env::temp_dir().join(format!("telsec-ha-setup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut config = Config {
            data_dir: dir.clone(),
            ..Config::default()
        };
        config.ha.mobile_nodes.push(MobileNodeConfig {
            home_address: Ipv4Addr::new(10, 77, 0, 5),
            nai: None,
            spi: 4096,
            algorithm: "hmac-sha256".into(),
            key: "00112233445566778899aabbccddeeff".into(),
            replay: "timestamp".into(),
        });
        let core = build_core(&config).expect("builds");
        assert_eq!(core.config().addresses, [Ipv4Addr::LOCALHOST]);
        let first = std::fs::read(dir.join("ha.nonce")).expect("created");
        build_core(&config).expect("builds again");
        assert_eq!(std::fs::read(dir.join("ha.nonce")).expect("kept"), first);
        config.ha.mobile_nodes[0].key = "0g".into();
        assert!(build_core(&config).is_err());
        config.ha.mobile_nodes[0].key = "00".into();
        config.ha.mobile_nodes[0].algorithm = "sha1".into();
        assert!(build_core(&config).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
