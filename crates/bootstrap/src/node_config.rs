//! What the node stores after a bootstrap (seed 003, step 11), bound to the
//! SIM it was obtained with.
//!
//! The seed warns that configuration left in a device "for use by any
//! user (SIM card)" lets the next SIM's user act as the previous one; so
//! the stored configuration names the IMSI it belongs to and
//! [`NodeConfig::usable_with`] refuses it after a SIM swap. (The driver
//! also keeps the file readable only by the node's service; it holds the
//! MN-HA key.)
//!
//! Text format:
//!
//! ```text
//! telsec-bootstrap node-config v1
//! imsi 001010000000001
//! fqdn zoe-smith.mobile.example.net
//! home-address 10.1.0.7
//! ha-address 192.0.2.1
//! ha-public-key <64 hex digits>
//! mip-sa <spi> <algorithm code> <lifetime s> <key hex>
//! registration-lifetime 600
//! rendezvous 192.0.2.9
//! hit 2001:3f:fe00:1405:ff13:41b3:a581:5218
//! name-server 192.0.2.53
//! dns-zone mobile.example.net
//! obtained-at <Unix seconds>
//! ```
//!
//! `mip-sa` and `registration-lifetime` come together (Mobile IP mode), so
//! do `rendezvous` and `hit` (HIP mode); `name-server` and `dns-zone` are
//! optional; every record at most once.

use core::net::Ipv4Addr;

use zeroize::Zeroizing;

use crate::hit::Hit;
use crate::persist::{self, TextError, from_hex, is_valid_imsi, to_hex};
use crate::policy::normalize_name;
use crate::response::{ConfigResponse, HipConfig, MipAlgorithm, MipConfig, MipSa};

/// The first line of the text format.
pub const NODE_CONFIG_MAGIC: &str = "telsec-bootstrap node-config v1";

/// Why a node configuration could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NodeConfigError {
    /// Not an IMSI (6-15 digits).
    #[error("{0:?} is not an IMSI")]
    BadImsi(String),
    /// The text does not parse.
    #[error("node configuration text: {0}")]
    Text(#[from] TextError),
}

/// The configuration a node obtained, bound to its IMSI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    /// The IMSI of the SIM that ran the bootstrap.
    pub imsi: String,
    /// The FQDN the HA registered.
    pub fqdn: String,
    /// The home address.
    pub home_address: Ipv4Addr,
    /// The home agent.
    pub ha_address: Ipv4Addr,
    /// The HA's Ed25519 public key (pin it for the next bootstrap).
    pub ha_public_key: [u8; 32],
    /// Mobile IP mode: SA and registration lifetime.
    pub mip: Option<MipConfig>,
    /// HIP mode: the forwarding agent and the node's HIT.
    pub hip: Option<HipConfig>,
    /// The DNS server of the zone.
    pub name_server: Option<Ipv4Addr>,
    /// The DNS zone.
    pub dns_zone: Option<String>,
    /// When the configuration was obtained, Unix seconds (the caller's
    /// clock).
    pub obtained_at: u64,
}

impl NodeConfig {
    /// The configuration of `response`, obtained by `imsi` at
    /// `obtained_at`.
    pub fn from_response(
        imsi: &str,
        response: &ConfigResponse,
        obtained_at: u64,
    ) -> Result<Self, NodeConfigError> {
        if !is_valid_imsi(imsi) {
            return Err(NodeConfigError::BadImsi(imsi.to_owned()));
        }
        Ok(NodeConfig {
            imsi: imsi.to_owned(),
            fqdn: response.fqdn.clone(),
            home_address: response.home_address,
            ha_address: response.ha_address,
            ha_public_key: response.ha_public_key,
            mip: response.mip.clone(),
            hip: response.hip,
            name_server: response.name_server,
            dns_zone: response.dns_zone.clone(),
            obtained_at,
        })
    }

    /// Whether the SIM now inserted (`imsi`) may use this configuration:
    /// only the SIM that obtained it (seed step 11).
    pub fn usable_with(&self, imsi: &str) -> bool {
        self.imsi == imsi
    }

    /// When the MIP SA expires, Unix seconds.
    pub fn sa_expires_at(&self) -> Option<u64> {
        self.mip
            .as_ref()
            .map(|m| self.obtained_at.saturating_add(u64::from(m.sa.lifetime)))
    }

    /// The text form (module doc); holds the SA key, so wiped on drop.
    pub fn serialize(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::new());
        s.push_str(NODE_CONFIG_MAGIC);
        s.push('\n');
        s.push_str(&format!("imsi {}\nfqdn {}\n", self.imsi, self.fqdn));
        s.push_str(&format!(
            "home-address {}\nha-address {}\nha-public-key {}\n",
            self.home_address,
            self.ha_address,
            to_hex(&self.ha_public_key)
        ));
        if let Some(m) = &self.mip {
            let key = Zeroizing::new(to_hex(&m.sa.key));
            s.push_str(&format!(
                "mip-sa {} {} {} {}\nregistration-lifetime {}\n",
                m.sa.spi,
                m.sa.algorithm.code(),
                m.sa.lifetime,
                key.as_str(),
                m.registration_lifetime
            ));
        }
        if let Some(h) = &self.hip {
            s.push_str(&format!(
                "rendezvous {}\nhit {}\n",
                h.forwarding_agent, h.hit
            ));
        }
        if let Some(ns) = self.name_server {
            s.push_str(&format!("name-server {ns}\n"));
        }
        if let Some(z) = &self.dns_zone {
            s.push_str(&format!("dns-zone {z}\n"));
        }
        s.push_str(&format!("obtained-at {}\n", self.obtained_at));
        s
    }

    /// Parses the text form.
    pub fn parse(text: &str) -> Result<Self, NodeConfigError> {
        #[derive(Default)]
        struct Parts {
            imsi: Option<String>,
            fqdn: Option<String>,
            home: Option<Ipv4Addr>,
            ha: Option<Ipv4Addr>,
            key: Option<[u8; 32]>,
            sa: Option<MipSa>,
            reg: Option<u16>,
            rvs: Option<Ipv4Addr>,
            hit: Option<Hit>,
            ns: Option<Ipv4Addr>,
            zone: Option<String>,
            at: Option<u64>,
        }
        fn set<T>(slot: &mut Option<T>, v: T, line: usize) -> Result<(), TextError> {
            if slot.is_some() {
                return Err(TextError::BadLine(line, "record repeated"));
            }
            *slot = Some(v);
            Ok(())
        }
        let mut p = Parts::default();
        for (line, fields) in persist::records(text, NODE_CONFIG_MAGIC)? {
            let bad = |why| TextError::BadLine(line, why);
            let ip = |s: &str| {
                s.parse::<Ipv4Addr>()
                    .map_err(|_| bad("not an IPv4 address"))
            };
            let name = |s: &str| normalize_name(s).ok_or(bad("not a domain name"));
            match fields.as_slice() {
                ["imsi", v] if is_valid_imsi(v) => set(&mut p.imsi, (*v).to_owned(), line)?,
                ["fqdn", v] => set(&mut p.fqdn, name(v)?, line)?,
                ["home-address", v] => set(&mut p.home, ip(v)?, line)?,
                ["ha-address", v] => set(&mut p.ha, ip(v)?, line)?,
                ["ha-public-key", v] => {
                    let k = from_hex(v)
                        .and_then(|k| <[u8; 32]>::try_from(k).ok())
                        .ok_or(bad("not a 32-octet hex key"))?;
                    set(&mut p.key, k, line)?;
                }
                ["mip-sa", spi, alg, lifetime, key] => {
                    let sa = MipSa {
                        spi: spi.parse().map_err(|_| bad("bad SPI"))?,
                        algorithm: alg
                            .parse()
                            .ok()
                            .and_then(MipAlgorithm::from_code)
                            .ok_or(bad("bad algorithm"))?,
                        lifetime: lifetime.parse().map_err(|_| bad("bad lifetime"))?,
                        key: Zeroizing::new(from_hex(key).ok_or(bad("bad key hex"))?),
                    };
                    sa.validate().map_err(|_| bad("invalid SA"))?;
                    set(&mut p.sa, sa, line)?;
                }
                ["registration-lifetime", v] => {
                    set(
                        &mut p.reg,
                        v.parse().map_err(|_| bad("bad lifetime"))?,
                        line,
                    )?;
                }
                ["rendezvous", v] => set(&mut p.rvs, ip(v)?, line)?,
                ["hit", v] => {
                    let hit = v
                        .parse::<core::net::Ipv6Addr>()
                        .map_err(|_| bad("not a HIT (IPv6 form)"))?;
                    set(&mut p.hit, Hit::from_bytes(hit.octets()), line)?
                }
                ["name-server", v] => set(&mut p.ns, ip(v)?, line)?,
                ["dns-zone", v] => set(&mut p.zone, name(v)?, line)?,
                ["obtained-at", v] => {
                    set(&mut p.at, v.parse().map_err(|_| bad("bad time"))?, line)?
                }
                _ => return Err(bad("unknown or malformed record").into()),
            }
        }
        let missing = |what| NodeConfigError::Text(TextError::BadLine(0, what));
        let mip = match (p.sa, p.reg) {
            (Some(sa), Some(registration_lifetime)) => Some(MipConfig {
                sa,
                registration_lifetime,
            }),
            (None, None) => None,
            _ => return Err(missing("mip-sa and registration-lifetime go together")),
        };
        let hip = match (p.rvs, p.hit) {
            (Some(forwarding_agent), Some(hit)) => Some(HipConfig {
                forwarding_agent,
                hit,
            }),
            (None, None) => None,
            _ => return Err(missing("rendezvous and hit go together")),
        };
        Ok(NodeConfig {
            imsi: p.imsi.ok_or(missing("imsi missing"))?,
            fqdn: p.fqdn.ok_or(missing("fqdn missing"))?,
            home_address: p.home.ok_or(missing("home-address missing"))?,
            ha_address: p.ha.ok_or(missing("ha-address missing"))?,
            ha_public_key: p.key.ok_or(missing("ha-public-key missing"))?,
            mip,
            hip,
            name_server: p.ns,
            dns_zone: p.zone,
            obtained_at: p.at.ok_or(missing("obtained-at missing"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::tests::sample;

    const IMSI: &str = "001010000000001";

    #[test]
    fn round_trip_and_sim_binding() {
        let c = NodeConfig::from_response(IMSI, &sample(), 1_700_000_000).unwrap();
        let text = c.serialize();
        assert!(text.starts_with("telsec-bootstrap node-config v1\nimsi 001010000000001\n"));
        assert_eq!(NodeConfig::parse(&text).unwrap(), c);
        assert!(c.usable_with(IMSI));
        assert!(!c.usable_with("001010000000002"));
        assert_eq!(c.sa_expires_at(), Some(1_700_000_000 + 86_400));

        let mut hip = sample();
        hip.mip = None;
        hip.hip = Some(HipConfig {
            forwarding_agent: Ipv4Addr::new(192, 0, 2, 9),
            hit: Hit::from_bytes([0x20, 0x01, 0x00, 0x3f, 1, 2, 3, 5, 9, 9, 9, 9, 9, 9, 9, 9]),
        });
        hip.dns_zone = None;
        let c = NodeConfig::from_response(IMSI, &hip, 5).unwrap();
        assert_eq!(NodeConfig::parse(&c.serialize()).unwrap(), c);
        assert_eq!(c.sa_expires_at(), None);
        assert!(NodeConfig::from_response("x", &hip, 5).is_err());
        let text = c.serialize();
        assert!(
            text.contains("hit 2001:3f:102:305:909:909:909:909\n"),
            "{}",
            text.as_str()
        );
        assert!(NodeConfig::parse(&text.replace("rendezvous 192.0.2.9\n", "")).is_err());
        assert!(NodeConfig::parse(&text.replace("hit 2001:3f", "hit 2001:zz")).is_err());
    }

    #[test]
    fn parse_rejects_bad_text() {
        let c = NodeConfig::from_response(IMSI, &sample(), 1).unwrap();
        let good = c.serialize().to_string();
        let cases = [
            good.replace("imsi 001010000000001", "imsi 12"),
            good.replace("home-address 10.1.0.7", "home-address 10.1.0"),
            good.replace("obtained-at 1\n", ""),
            good.replace("registration-lifetime 600\n", ""),
            good.replace("mip-sa 4096 2", "mip-sa 4096 7"),
            good.replace("mip-sa 4096", "mip-sa 12"),
            format!("{good}fqdn other.example.net\n"),
            format!("{good}colour blue\n"),
            good.replace(
                "telsec-bootstrap node-config v1",
                "telsec-bootstrap node-config v2",
            ),
        ];
        for bad in cases {
            assert!(NodeConfig::parse(&bad).is_err(), "{bad}");
        }
    }
}
