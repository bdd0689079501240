//! The home agent's record of the mobility services it set up (seed 003
//! step 9, "record the service"): per subscriber the FQDN, home address,
//! public key, and the Mobile IP SPI or HIT handed out. It answers who holds a name
//! (the FQDN policy never gives one subscriber's name to another) and
//! what a subscriber had before (a repeated bootstrap keeps its name and
//! address). Persisted by the driver as text, one service per line:
//!
//! ```text
//! telsec-services v1
//! <imsi> <fqdn> <home address> <service> <public key hex> <issued unix s>
//! ```
//!
//! `<service>` is the SPI of the MN-HA SA (Mobile IP mode) or `hit=` and
//! the HIT (HIP mode).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use telsec_bootstrap::Hit;

/// The first line of the file.
const MAGIC: &str = "telsec-services v1";
/// Most services a file may hold (a bound on restore).
pub const MAX_SERVICES: usize = 1_000_000;

/// One subscriber's service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRecord {
    /// The subscriber.
    pub imsi: String,
    /// The FQDN published for it.
    pub fqdn: String,
    /// Its home address.
    pub home_address: Ipv4Addr,
    /// What the node was set up for.
    pub service: ServiceKind,
    /// The node's Ed25519 public key published in DNS.
    pub public_key: [u8; 32],
    /// When (Unix seconds).
    pub issued_at: u64,
}

/// The mobility service of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKind {
    /// Mobile IP through this home agent: the SPI of the MN-HA SA.
    MobileIp {
        /// The SPI.
        spi: u32,
    },
    /// HIP through this forwarding agent: the HIT published.
    Hip {
        /// The HIT.
        hit: Hit,
    },
}

impl std::fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceKind::MobileIp { spi } => write!(f, "{spi}"),
            ServiceKind::Hip { hit } => write!(f, "hit={hit}"),
        }
    }
}

/// Why a services file was not restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServicesError {
    /// The first line is not the format's.
    #[error("not a telsec services file")]
    Magic,
    /// A line does not parse.
    #[error("line {0}: malformed")]
    Line(usize),
    /// Two services for one IMSI, or one FQDN held twice.
    #[error("line {0}: duplicate subscriber or name")]
    Duplicate(usize),
    /// More lines than [`MAX_SERVICES`].
    #[error("too many services")]
    TooMany,
}

/// Every service, by IMSI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Services {
    by_imsi: BTreeMap<String, ServiceRecord>,
    by_fqdn: BTreeMap<String, String>,
}

impl Services {
    /// The subscriber holding `fqdn` (case-insensitive, trailing dot
    /// ignored).
    pub fn owner_of(&self, fqdn: &str) -> Option<&str> {
        self.by_fqdn.get(&key(fqdn)).map(String::as_str)
    }

    /// The service of `imsi`.
    pub fn get(&self, imsi: &str) -> Option<&ServiceRecord> {
        self.by_imsi.get(imsi)
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.by_imsi.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_imsi.is_empty()
    }

    /// Records `record`, replacing the subscriber's earlier one (and
    /// freeing its earlier name). Returns the replaced record.
    pub fn put(&mut self, record: ServiceRecord) -> Option<ServiceRecord> {
        let old = self.by_imsi.remove(&record.imsi);
        if let Some(o) = &old {
            self.by_fqdn.remove(&key(&o.fqdn));
        }
        self.by_fqdn.insert(key(&record.fqdn), record.imsi.clone());
        self.by_imsi.insert(record.imsi.clone(), record);
        old
    }

    /// The file's text.
    pub fn serialize(&self) -> String {
        let mut out = String::from(MAGIC);
        out.push('\n');
        for r in self.by_imsi.values() {
            let key: String = r.public_key.iter().map(|b| format!("{b:02x}")).collect();
            out.push_str(&format!(
                "{} {} {} {} {} {}\n",
                r.imsi, r.fqdn, r.home_address, r.service, key, r.issued_at
            ));
        }
        out
    }

    /// Parses a file written by [`Services::serialize`].
    ///
    /// # Errors
    /// Any malformed or duplicate line: nothing is restored.
    pub fn parse(text: &str) -> Result<Services, ServicesError> {
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return Err(ServicesError::Magic);
        }
        let mut s = Services::default();
        for (i, line) in lines.enumerate() {
            let n = i + 2;
            if line.trim().is_empty() {
                continue;
            }
            if s.len() >= MAX_SERVICES {
                return Err(ServicesError::TooMany);
            }
            let record = parse_line(line).ok_or(ServicesError::Line(n))?;
            if s.by_imsi.contains_key(&record.imsi) || s.owner_of(&record.fqdn).is_some() {
                return Err(ServicesError::Duplicate(n));
            }
            s.put(record);
        }
        Ok(s)
    }
}

fn key(fqdn: &str) -> String {
    fqdn.trim_end_matches('.').to_ascii_lowercase()
}

fn parse_line(line: &str) -> Option<ServiceRecord> {
    let f: Vec<&str> = line.split(' ').collect();
    let [imsi, fqdn, home, service, public_key, issued] = f.as_slice() else {
        return None;
    };
    let valid_imsi = (5..=15).contains(&imsi.len()) && imsi.bytes().all(|b| b.is_ascii_digit());
    if !valid_imsi || fqdn.is_empty() || fqdn.len() > 253 || public_key.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, k) in key.iter_mut().enumerate() {
        *k = u8::from_str_radix(public_key.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(ServiceRecord {
        imsi: (*imsi).to_owned(),
        fqdn: (*fqdn).to_owned(),
        home_address: home.parse().ok()?,
        service: match service.strip_prefix("hit=") {
            Some(hit) => ServiceKind::Hip {
                hit: Hit::from_bytes(hit.parse::<Ipv6Addr>().ok()?.octets()),
            },
            None => ServiceKind::MobileIp {
                spi: service.parse().ok()?,
            },
        },
        public_key: key,
        issued_at: issued.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(imsi: &str, fqdn: &str, last: u8) -> ServiceRecord {
        ServiceRecord {
            imsi: imsi.into(),
            fqdn: fqdn.into(),
            home_address: Ipv4Addr::new(10, 77, 0, last),
            service: if last.is_multiple_of(2) {
                ServiceKind::MobileIp {
                    spi: 0x1000 + u32::from(last),
                }
            } else {
                ServiceKind::Hip {
                    hit: Hit::from_bytes([last; 16]),
                }
            },
            public_key: [last; 32],
            issued_at: 1_795_000_000,
        }
    }

    #[test]
    fn names_have_one_owner_and_round_trip() {
        let mut s = Services::default();
        s.put(record("001010000000001", "alice.telsec.test", 5));
        s.put(record("001010000000002", "bob.telsec.test", 6));
        assert_eq!(s.owner_of("Alice.telsec.test."), Some("001010000000001"));
        // A new bootstrap of Alice with another name frees the old one.
        let old = s.put(record("001010000000001", "zoe.telsec.test", 5));
        assert_eq!(old.map(|o| o.fqdn), Some("alice.telsec.test".into()));
        assert_eq!(s.owner_of("alice.telsec.test"), None);
        let text = s.serialize();
        assert_eq!(Services::parse(&text), Ok(s));
    }

    #[test]
    fn bad_files_restore_nothing() {
        assert_eq!(Services::parse("hello\n"), Err(ServicesError::Magic));
        let one = Services {
            by_imsi: BTreeMap::new(),
            by_fqdn: BTreeMap::new(),
        };
        let mut s = one.clone();
        s.put(record("001010000000001", "alice.telsec.test", 5));
        let text = s.serialize();
        let line = text.lines().nth(1).unwrap_or_default();
        let twice = format!("{text}{line}\n");
        assert_eq!(Services::parse(&twice), Err(ServicesError::Duplicate(3)));
        let cut = format!("{MAGIC}\n{}\n", &line[..line.len() - 3]);
        assert!(Services::parse(&cut).is_ok(), "a shorter time still parses");
        let bad = format!("{MAGIC}\n001 alice 10.77.0.5 1 00 1\n");
        assert_eq!(Services::parse(&bad), Err(ServicesError::Line(2)));
        assert!(line.contains(" hit=505:505:"), "{line}");
        let bad_hit = format!("{MAGIC}\n{}\n", line.replace("hit=505:", "hit=5g5:"));
        assert_eq!(Services::parse(&bad_hit), Err(ServicesError::Line(2)));
        let bad_key = format!(
            "{MAGIC}\n{}\n",
            line.replace(&"05".repeat(32), &"zz".repeat(32))
        );
        assert_eq!(Services::parse(&bad_key), Err(ServicesError::Line(2)));
    }
}
