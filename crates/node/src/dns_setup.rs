//! The embedded DNS server's configuration (`[dns]`) and its admin key:
//! the operator zone served authoritatively by telsec-dns, updated by the
//! home agent's bootstrap service with RFC 2136 updates signed by the
//! admin TSIG key (HMAC-SHA-256). On a fresh machine the key is created
//! (32 random octets, base64, 0600) so `telsec up` needs no set-up.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use telsec_dns::{Grant, ServerConfig, TsigKey, ZoneConfig};

/// `[dns]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnsSettings {
    /// Run it with `telsec up`.
    pub enabled: bool,
    /// UDP and TCP address.
    pub listen: SocketAddr,
    /// The zone served.
    pub zone: String,
    /// The name server's address (glue for `ns.<zone>`).
    pub ns_address: IpAddr,
    /// Journal and snapshot of the zone, relative to data_dir.
    pub storage: PathBuf,
    /// The admin key's name (the home agent updates with it).
    pub admin_key_name: String,
    /// File holding the admin key's base64 secret, relative to data_dir;
    /// created when absent.
    pub admin_key_file: PathBuf,
}

impl Default for DnsSettings {
    fn default() -> Self {
        DnsSettings {
            enabled: true,
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 1053)),
            zone: "telsec.test.".to_owned(),
            ns_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            storage: PathBuf::from("dns"),
            admin_key_name: "telsec-ha.".to_owned(),
            admin_key_file: PathBuf::from("dns-admin.key"),
        }
    }
}

impl DnsSettings {
    /// The `[dns]` section with every default, commented.
    pub fn documented() -> String {
        let d = DnsSettings::default();
        format!(
            r#"[dns]
# The embedded authoritative DNS server for the operator zone (`telsec dns`;
# started by `telsec up`). Updates (RFC 2136) need a valid TSIG signature
# (HMAC-SHA-256); the admin key may change any name of the zone.
enabled = {enabled}
listen = "{listen}"
zone = "{zone}"
# Address of ns1.<zone> (the SOA MNAME and NS).
ns_address = "{ns}"
# Journal and snapshot (the zone survives restarts), relative to data_dir.
storage = "{storage}"
# The admin key: its name and the file with its base64 secret (created 0600
# when absent). The home agent's [ha.bootstrap] uses it when its own
# dns_key_secret is empty.
admin_key_name = "{key}"
admin_key_file = "{key_file}"
"#,
            enabled = d.enabled,
            listen = d.listen,
            zone = d.zone,
            ns = d.ns_address,
            storage = d.storage.display(),
            key = d.admin_key_name,
            key_file = d.admin_key_file.display(),
        )
    }

    /// The admin key's base64 secret, read from its file or created.
    ///
    /// # Errors
    /// The file cannot be read or written, or does not hold base64 text.
    pub fn admin_secret(&self, data_dir: &Path) -> Result<String, String> {
        let path = data_dir.join(&self.admin_key_file);
        let show = |e: std::io::Error| format!("{}: {e}", path.display());
        if let Some(bytes) = crate::atomic_file::read_if_exists(&path).map_err(show)? {
            let text = String::from_utf8(bytes)
                .map_err(|_| format!("{}: not base64 text", path.display()))?;
            return Ok(text.trim().to_owned());
        }
        let secret = data_encoding::BASE64.encode(&rand::random::<[u8; 32]>());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(show)?;
        }
        crate::atomic_file::replace(&path, secret.as_bytes()).map_err(show)?;
        Ok(secret)
    }

    /// The server's configuration with the admin key.
    ///
    /// # Errors
    /// Bad zone, key or key file.
    pub fn server_config(&self, data_dir: &Path) -> Result<(ServerConfig, String), String> {
        let secret = self.admin_secret(data_dir)?;
        let key = TsigKey::new(&self.admin_key_name, "hmac-sha256", &secret)
            .map_err(|e| format!("admin key: {e}"))?;
        let zone = ZoneConfig::new(&self.zone, self.ns_address).map_err(|e| e.to_string())?;
        Ok((
            ServerConfig {
                zone,
                listen: self.listen,
                storage: Some(data_dir.join(&self.storage)),
                keys: vec![(key, Grant::Zone)],
            },
            secret,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_key_is_created_once_and_usable() {
        let dir = std::env::temp_dir().join(format!("telsec-dns-setup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = DnsSettings::default();
        let first = s.admin_secret(&dir).expect("created");
        assert_eq!(s.admin_secret(&dir).expect("read"), first);
        let (config, secret) = s.server_config(&dir).expect("config");
        assert_eq!(secret, first);
        assert_eq!(config.keys.len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn documented_section_parses_back_to_the_default() {
        #[derive(Deserialize)]
        struct File {
            dns: DnsSettings,
        }
        let f: File = toml::from_str(&DnsSettings::documented()).expect("parses");
        assert_eq!(f.dns, DnsSettings::default());
    }
}
