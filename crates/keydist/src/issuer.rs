//! The home agent's key service, without I/O.
//!
//! The driver feeds it three things and carries out what it answers:
//! - [`Issuer::provision`]: a subscriber is added; the answer is
//!   [`Action::NeedVector`], for the at-provisioning push of a first key;
//! - [`Issuer::on_request`]: an MO SMS arrived on [`crate::packet::PORT`];
//!   the answer is a vector to fetch ([`Action::NeedVector`]), a
//!   resynchronisation to run at the HLR ([`Action::NeedResync`]), or a
//!   refusal with its reason, to log;
//! - [`Issuer::on_vector`]: the HLR returned an authentication vector (over
//!   GSUP) for the subscriber; the answer is the SMS payload for the
//!   subscriber's provisioned MSISDN and the security association the home
//!   agent installs.
//!
//! Time is `now_ms`, wall-clock Unix milliseconds, passed in. Randomness
//! (the MN-HA keys) comes from the caller's RNG.
//!
//! # Persistence
//!
//! [`Issuer::snapshot`] writes, per subscriber, the next packet counter and
//! the last SPI:
//!
//! ```text
//! telsec-keydist-issuer 1
//! S <imsi> <mnc length> <msisdn> <home address> <next counter> <last spi>
//! ```
//!
//! Persist it after every [`Issuer::on_vector`] and before handing the SMS
//! to the SMS centre: then a restart never reuses a counter. (Were one
//! reused, the node would refuse the packet as replayed; a counter is never
//! accepted twice.) Rate-limit windows and the RANDs awaiting a possible
//! resynchronisation are not persisted: after a restart a resync for an
//! earlier challenge is refused and the node sends a fresh key request.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use rand::CryptoRng;
use telsec_auth::aka::AuthVector;
use telsec_mip::{Algorithm, ReplayMode, SecurityAssociation};
use zeroize::Zeroizing;

use crate::keys::{self, KeysError, TransportKeys};
use crate::packet::{Header, KeyIndicator, MAX_COUNTER, Spi, TAR};
use crate::persist::{self, SnapshotError};
use crate::record::{self, KeyRecord, RecordError};
use crate::request::{Request, RequestError};
use crate::secure::{self, SecureError};

/// First line of an issuer snapshot.
pub const MAGIC: &str = "telsec-keydist-issuer 1";

/// How many recent challenges per subscriber a resync may refer to.
pub const CHALLENGE_MEMORY: usize = 4;

/// The RNG of [`Issuer::with_os_rng`]: the operating system's generator,
/// which panics if the OS cannot supply randomness.
pub type OsRng = rand::rand_core::UnwrapErr<rand::rngs::SysRng>;

/// How many requests a subscriber may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests accepted per window.
    pub max_requests: u32,
    /// The sliding window, in milliseconds.
    pub window_ms: u64,
}

impl Default for RateLimit {
    /// Five requests per fifteen minutes.
    fn default() -> RateLimit {
        RateLimit {
            max_requests: 5,
            window_ms: 15 * 60 * 1000,
        }
    }
}

/// The home agent's key service settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerConfig {
    /// The home agent's FQDN, the NAF name in Ks_NAF (lower case).
    pub naf_fqdn: String,
    /// The home agent's address, written into every key record.
    pub home_agent: Ipv4Addr,
    /// The TAR written into packets.
    pub tar: [u8; 3],
    /// The MAC algorithm of issued keys.
    pub algorithm: Algorithm,
    /// Lifetime of an issued key, seconds.
    pub key_lifetime_secs: u32,
    /// The replay protection of the security associations handed back.
    pub replay: ReplayMode,
    /// The per-subscriber request limit.
    pub rate_limit: RateLimit,
}

impl IssuerConfig {
    /// Defaults: the service TAR, HMAC-SHA-256, keys for 24 hours, timestamp
    /// replay protection, [`RateLimit::default`].
    pub fn new(naf_fqdn: impl Into<String>, home_agent: Ipv4Addr) -> IssuerConfig {
        IssuerConfig {
            naf_fqdn: naf_fqdn.into(),
            home_agent,
            tar: TAR,
            algorithm: Algorithm::HmacSha256,
            key_lifetime_secs: 24 * 3600,
            replay: ReplayMode::default(),
            rate_limit: RateLimit::default(),
        }
    }
}

/// A subscriber of the key service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// IMSI, 6 to 15 digits.
    pub imsi: String,
    /// Number of MNC digits in the IMSI (2 or 3), for the IMPI.
    pub mnc_len: u8,
    /// The MSISDN requests must come from and keys go to (digits, an
    /// optional leading `+` is ignored).
    pub msisdn: String,
    /// The node's home address.
    pub home_address: Ipv4Addr,
}

/// What the driver does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Fetch a fresh authentication vector for `imsi` from the HLR, then call
    /// [`Issuer::on_vector`].
    NeedVector {
        /// The subscriber.
        imsi: String,
    },
    /// Resynchronise `imsi` at the HLR with `rand` and `auts` (TS 33.102
    /// §6.3.5; GSUP SendAuthInfo with AUTS and RAND), then call
    /// [`Issuer::on_vector`] with the vector it returns.
    NeedResync {
        /// The subscriber.
        imsi: String,
        /// RAND of the refused challenge.
        rand: [u8; 16],
        /// AUTS from the USIM.
        auts: [u8; 14],
    },
    /// Nothing to send; log the reason.
    Refused {
        /// The MSISDN the request came from.
        from: String,
        /// Why.
        reason: Refusal,
    },
}

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The sender is not the MSISDN of any subscriber.
    #[error("unknown MSISDN")]
    UnknownMsisdn,
    /// The message does not decode.
    #[error("malformed request: {0}")]
    Malformed(#[from] RequestError),
    /// The subscriber made too many requests in the window.
    #[error("rate limited, retry in {retry_after_ms} ms")]
    RateLimited {
        /// When the oldest counted request leaves the window.
        retry_after_ms: u64,
    },
    /// A resync names a RAND this issuer did not recently send to the
    /// subscriber (or already resynchronised once).
    #[error("resync for an unknown challenge")]
    UnknownChallenge,
}

/// Why a subscriber cannot be provisioned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// IMSI or MNC length invalid.
    #[error(transparent)]
    Identity(#[from] KeysError),
    /// The MSISDN is not 1 to 15 digits after an optional `+`.
    #[error("MSISDN must be 1 to 15 digits")]
    Msisdn,
    /// Another subscriber already has this MSISDN.
    #[error("MSISDN already belongs to IMSI {0}")]
    MsisdnTaken(String),
}

/// Why no key could be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// No subscriber has this IMSI.
    #[error("unknown IMSI")]
    UnknownImsi,
    /// The subscriber's counter space (2^40 packets) is used up.
    #[error("packet counter exhausted")]
    CounterExhausted,
    /// Transport keys could not be derived.
    #[error(transparent)]
    Keys(#[from] KeysError),
    /// The key record could not be built.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The packet could not be sealed.
    #[error(transparent)]
    Secure(#[from] SecureError),
    /// The security association could not be built.
    #[error("security association: {0}")]
    Sa(#[from] telsec_mip::Error),
}

/// A key ready to go out.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The subscriber.
    pub imsi: String,
    /// The provisioned MSISDN to send the SMS to (never the requester's
    /// claimed address).
    pub msisdn: String,
    /// The binary SMS payload, for ports [`crate::packet::PORT`].
    pub sms_payload: Vec<u8>,
    /// The new MN-HA security association, to install for `home_address`.
    pub sa: SecurityAssociation,
    /// The node's home address.
    pub home_address: Ipv4Addr,
    /// The packet counter used.
    pub counter: u64,
    /// Issue time, Unix seconds.
    pub issued_at: u32,
    /// Unix seconds when the key lapses.
    pub expires_at: u64,
    /// The key record sent (the key itself, for the home agent's store).
    pub record: KeyRecord,
}

#[derive(Debug, Clone)]
struct Entry {
    sub: Subscriber,
    impi: String,
    next_counter: u64,
    /// 0 until the first key.
    last_spi: u32,
    requests: VecDeque<u64>,
    challenges: VecDeque<[u8; 16]>,
}

impl Entry {
    fn new(sub: Subscriber, impi: String) -> Entry {
        Entry {
            sub,
            impi,
            next_counter: 1,
            last_spi: 0,
            requests: VecDeque::new(),
            challenges: VecDeque::new(),
        }
    }
}

/// The SPI after `last`: 256 first, then increasing, wrapping to 256
/// (0..=255 are reserved, RFC 5944 §1.6).
fn next_spi(last: u32) -> u32 {
    if last < 256 || last == u32::MAX {
        256
    } else {
        last + 1
    }
}

/// `+4915...` and `4915...` are the same MSISDN; `None` if not 1..=15 digits.
pub fn normalize_msisdn(msisdn: &str) -> Option<String> {
    let digits = msisdn.strip_prefix('+').unwrap_or(msisdn);
    ((1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.to_owned())
}

/// The home agent's key service core. See the [module documentation](self).
pub struct Issuer<R> {
    config: IssuerConfig,
    rng: R,
    subscribers: BTreeMap<String, Entry>,
    by_msisdn: HashMap<String, String>,
}

impl<R> core::fmt::Debug for Issuer<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Issuer")
            .field("config", &self.config)
            .field("subscribers", &self.subscribers.len())
            .finish_non_exhaustive()
    }
}

impl Issuer<OsRng> {
    /// An issuer drawing keys from the operating system's RNG.
    pub fn with_os_rng(config: IssuerConfig) -> Result<Issuer<OsRng>, KeysError> {
        Issuer::new(config, rand::rand_core::UnwrapErr(rand::rngs::SysRng))
    }
}

impl<R: CryptoRng> Issuer<R> {
    /// An issuer with no subscribers; fails on an invalid FQDN.
    pub fn new(config: IssuerConfig, rng: R) -> Result<Issuer<R>, KeysError> {
        keys::check_fqdn(&config.naf_fqdn)?;
        Ok(Issuer {
            config,
            rng,
            subscribers: BTreeMap::new(),
            by_msisdn: HashMap::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &IssuerConfig {
        &self.config
    }

    /// The subscriber with this IMSI.
    pub fn subscriber(&self, imsi: &str) -> Option<&Subscriber> {
        self.subscribers.get(imsi).map(|e| &e.sub)
    }

    /// The counter the next packet for `imsi` will carry.
    pub fn next_counter(&self, imsi: &str) -> Option<u64> {
        self.subscribers.get(imsi).map(|e| e.next_counter)
    }

    /// Add a subscriber, or update the MSISDN and home address of an existing
    /// one (its counter and SPI are kept). Answers [`Action::NeedVector`]:
    /// the driver may push a first key at once.
    pub fn provision(&mut self, sub: Subscriber) -> Result<Action, ProvisionError> {
        let impi = keys::impi(&sub.imsi, sub.mnc_len)?;
        let msisdn = normalize_msisdn(&sub.msisdn).ok_or(ProvisionError::Msisdn)?;
        match self.by_msisdn.get(&msisdn) {
            Some(owner) if *owner != sub.imsi => {
                return Err(ProvisionError::MsisdnTaken(owner.clone()));
            }
            _ => {}
        }
        let sub = Subscriber { msisdn, ..sub };
        let imsi = sub.imsi.clone();
        match self.subscribers.get_mut(&imsi) {
            Some(entry) => {
                self.by_msisdn.remove(&entry.sub.msisdn);
                entry.sub = sub.clone();
                entry.impi = impi;
            }
            None => {
                self.subscribers
                    .insert(imsi.clone(), Entry::new(sub.clone(), impi));
            }
        }
        self.by_msisdn.insert(sub.msisdn, imsi.clone());
        Ok(Action::NeedVector { imsi })
    }

    /// A node's message arrived from `from_msisdn` (the SMS originating
    /// address). Requests from unknown MSISDNs, malformed ones, resyncs for
    /// unknown challenges and requests over the rate limit are refused and
    /// change nothing; only accepted requests count against the limit.
    pub fn on_request(&mut self, now_ms: u64, from_msisdn: &str, bytes: &[u8]) -> Action {
        let refuse = |reason| Action::Refused {
            from: from_msisdn.to_owned(),
            reason,
        };
        let Some(imsi) = normalize_msisdn(from_msisdn).and_then(|m| self.by_msisdn.get(&m)) else {
            return refuse(Refusal::UnknownMsisdn);
        };
        let Some(entry) = self.subscribers.get_mut(imsi) else {
            return refuse(Refusal::UnknownMsisdn);
        };
        let request = match Request::parse(bytes) {
            Ok(r) => r,
            Err(e) => return refuse(Refusal::Malformed(e)),
        };
        let challenge = match request {
            Request::KeyRequest => None,
            Request::Resync { rand, .. } => {
                match entry.challenges.iter().position(|c| *c == rand) {
                    Some(i) => Some(i),
                    None => return refuse(Refusal::UnknownChallenge),
                }
            }
        };
        let limit = self.config.rate_limit;
        while entry
            .requests
            .front()
            .is_some_and(|&t| now_ms.saturating_sub(t) >= limit.window_ms)
        {
            entry.requests.pop_front();
        }
        if entry.requests.len() >= limit.max_requests as usize {
            let oldest = entry.requests.front().copied().unwrap_or(now_ms);
            return refuse(Refusal::RateLimited {
                retry_after_ms: (oldest + limit.window_ms).saturating_sub(now_ms),
            });
        }
        entry.requests.push_back(now_ms);
        let imsi = entry.sub.imsi.clone();
        match (request, challenge) {
            (Request::Resync { rand, auts }, Some(i)) => {
                entry.challenges.remove(i);
                Action::NeedResync { imsi, rand, auts }
            }
            _ => Action::NeedVector { imsi },
        }
    }

    /// The HLR returned `vector` for `imsi`: make a fresh MN-HA key and SPI,
    /// and seal them into a packet with the subscriber's next counter. State
    /// changes only on success.
    pub fn on_vector(
        &mut self,
        now_ms: u64,
        imsi: &str,
        vector: &AuthVector,
    ) -> Result<Issued, IssueError> {
        let config = &self.config;
        let entry = self
            .subscribers
            .get_mut(imsi)
            .ok_or(IssueError::UnknownImsi)?;
        let counter = entry.next_counter;
        if counter > MAX_COUNTER {
            return Err(IssueError::CounterExhausted);
        }
        let spi = next_spi(entry.last_spi);
        let mut key = Zeroizing::new(vec![0u8; record::key_len(config.algorithm)]);
        self.rng.fill_bytes(&mut key);
        let issued_at = u32::try_from(now_ms / 1000).unwrap_or(u32::MAX);
        let record = KeyRecord::new(
            spi,
            config.algorithm,
            &key,
            config.key_lifetime_secs,
            entry.sub.home_address,
            config.home_agent,
            issued_at,
        )?;
        let keys = TransportKeys::derive(
            &vector.ck,
            &vector.ik,
            &vector.rand,
            &entry.impi,
            &config.naf_fqdn,
        )?;
        let header = Header {
            rand: vector.rand,
            autn: vector.autn,
            spi: Spi::KEYDIST,
            kic: KeyIndicator::KIC_AES_CBC,
            kid: KeyIndicator::KID_AES_CMAC,
            tar: config.tar,
        };
        let sms_payload = secure::seal(&keys, &header, counter, &record.to_bytes())?;
        let sa = record.security_association(config.replay)?;

        entry.next_counter = counter + 1;
        entry.last_spi = spi;
        entry.challenges.retain(|c| *c != vector.rand);
        if entry.challenges.len() == CHALLENGE_MEMORY {
            entry.challenges.pop_front();
        }
        entry.challenges.push_back(vector.rand);
        Ok(Issued {
            imsi: entry.sub.imsi.clone(),
            msisdn: entry.sub.msisdn.clone(),
            sms_payload,
            sa,
            home_address: entry.sub.home_address,
            counter,
            issued_at,
            expires_at: record.expires_at(),
            record,
        })
    }

    /// The persistent state (see the [module documentation](self)).
    pub fn snapshot(&self) -> Vec<u8> {
        let mut s = String::from(MAGIC);
        s.push('\n');
        for e in self.subscribers.values() {
            // Writing to a String cannot fail.
            let _ = writeln!(
                s,
                "S {} {} {} {} {} {}",
                e.sub.imsi,
                e.sub.mnc_len,
                e.sub.msisdn,
                e.sub.home_address,
                e.next_counter,
                e.last_spi
            );
        }
        s.into_bytes()
    }

    /// Replace all subscriber state with a snapshot's. Nothing changes if the
    /// snapshot is refused.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        let mut subscribers = BTreeMap::new();
        let mut by_msisdn = HashMap::new();
        for (n, fields) in persist::records(bytes, MAGIC)? {
            let entry = parse_subscriber(&fields).ok_or(SnapshotError::BadLine(n))?;
            let imsi = entry.sub.imsi.clone();
            if by_msisdn
                .insert(entry.sub.msisdn.clone(), imsi.clone())
                .is_some()
                || subscribers.insert(imsi, entry).is_some()
            {
                return Err(SnapshotError::BadLine(n));
            }
        }
        self.subscribers = subscribers;
        self.by_msisdn = by_msisdn;
        Ok(())
    }
}

fn parse_subscriber(f: &[&str]) -> Option<Entry> {
    let ["S", imsi, mnc_len, msisdn, home, next, spi] = f else {
        return None;
    };
    let mnc_len: u8 = mnc_len.parse().ok()?;
    let impi = keys::impi(imsi, mnc_len).ok()?;
    let sub = Subscriber {
        imsi: (*imsi).to_owned(),
        mnc_len,
        msisdn: normalize_msisdn(msisdn)?,
        home_address: home.parse().ok()?,
    };
    let next_counter: u64 = next.parse().ok()?;
    if next_counter == 0 || next_counter > MAX_COUNTER + 1 {
        return None;
    }
    Some(Entry {
        next_counter,
        last_spi: spi.parse().ok()?,
        ..Entry::new(sub, impi)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn issuer() -> Issuer<StdRng> {
        let config = IssuerConfig::new("ha.example.net", Ipv4Addr::new(10, 0, 0, 1));
        let mut i = Issuer::new(config, StdRng::seed_from_u64(1)).unwrap_or_else(|e| panic!("{e}"));
        let sub = Subscriber {
            imsi: "001010000000001".into(),
            mnc_len: 2,
            msisdn: "+491700000001".into(),
            home_address: Ipv4Addr::new(10, 0, 0, 5),
        };
        assert_eq!(
            i.provision(sub),
            Ok(Action::NeedVector {
                imsi: "001010000000001".into()
            })
        );
        i
    }

    #[test]
    fn spi_sequence() {
        assert_eq!(next_spi(0), 256);
        assert_eq!(next_spi(256), 257);
        assert_eq!(next_spi(u32::MAX), 256);
    }

    #[test]
    fn msisdn_forms() {
        assert_eq!(normalize_msisdn("+4917").as_deref(), Some("4917"));
        assert_eq!(normalize_msisdn("4917").as_deref(), Some("4917"));
        assert_eq!(normalize_msisdn("+"), None);
        assert_eq!(normalize_msisdn("49 17"), None);
        assert_eq!(normalize_msisdn(&"1".repeat(16)), None);
    }

    #[test]
    fn requests_are_filtered_and_rate_limited() {
        let mut i = issuer();
        let key_req = Request::KeyRequest.to_bytes();
        assert!(matches!(
            i.on_request(0, "+491799999999", &key_req),
            Action::Refused {
                reason: Refusal::UnknownMsisdn,
                ..
            }
        ));
        assert!(matches!(
            i.on_request(0, "491700000001", &[1, 9]),
            Action::Refused {
                reason: Refusal::Malformed(RequestError::UnknownType(9)),
                ..
            }
        ));
        let resync = Request::Resync {
            rand: [1; 16],
            auts: [2; 14],
        };
        assert!(matches!(
            i.on_request(0, "491700000001", &resync.to_bytes()),
            Action::Refused {
                reason: Refusal::UnknownChallenge,
                ..
            }
        ));
        for t in 0..5 {
            assert_eq!(
                i.on_request(t * 1000, "491700000001", &key_req),
                Action::NeedVector {
                    imsi: "001010000000001".into()
                }
            );
        }
        assert_eq!(
            i.on_request(10_000, "+491700000001", &key_req),
            Action::Refused {
                from: "+491700000001".into(),
                reason: Refusal::RateLimited {
                    retry_after_ms: 15 * 60 * 1000 - 10_000
                }
            }
        );
        // Once the first request leaves the window, one more is accepted.
        assert!(matches!(
            i.on_request(15 * 60 * 1000, "491700000001", &key_req),
            Action::NeedVector { .. }
        ));
        assert!(matches!(
            i.on_request(15 * 60 * 1000, "491700000001", &key_req),
            Action::Refused {
                reason: Refusal::RateLimited { .. },
                ..
            }
        ));
    }

    #[test]
    fn provisioning_rules() {
        let mut i = issuer();
        let other = Subscriber {
            imsi: "001010000000002".into(),
            mnc_len: 2,
            msisdn: "491700000001".into(),
            home_address: Ipv4Addr::new(10, 0, 0, 6),
        };
        assert_eq!(
            i.provision(other.clone()),
            Err(ProvisionError::MsisdnTaken("001010000000001".into()))
        );
        let bad = Subscriber {
            msisdn: "x".into(),
            ..other.clone()
        };
        assert_eq!(i.provision(bad), Err(ProvisionError::Msisdn));
        let bad = Subscriber {
            mnc_len: 4,
            msisdn: "1".into(),
            ..other
        };
        assert_eq!(
            i.provision(bad),
            Err(ProvisionError::Identity(KeysError::MncLength(4)))
        );
        // Changing the MSISDN moves the lookup.
        let moved = Subscriber {
            imsi: "001010000000001".into(),
            mnc_len: 2,
            msisdn: "491700000009".into(),
            home_address: Ipv4Addr::new(10, 0, 0, 5),
        };
        assert!(i.provision(moved).is_ok());
        let key_req = Request::KeyRequest.to_bytes();
        assert!(matches!(
            i.on_request(0, "491700000001", &key_req),
            Action::Refused {
                reason: Refusal::UnknownMsisdn,
                ..
            }
        ));
        assert!(matches!(
            i.on_request(0, "491700000009", &key_req),
            Action::NeedVector { .. }
        ));
    }

    #[test]
    fn snapshot_round_trip_and_errors() {
        let mut i = issuer();
        let text = String::from_utf8(i.snapshot()).unwrap_or_default();
        assert_eq!(
            text,
            "telsec-keydist-issuer 1\nS 001010000000001 2 491700000001 10.0.0.5 1 0\n"
        );
        let edited = text.replace(" 1 0\n", " 42 300\n");
        assert_eq!(i.restore(edited.as_bytes()), Ok(()));
        assert_eq!(i.next_counter("001010000000001"), Some(42));
        assert_eq!(i.snapshot(), edited.as_bytes());
        for bad in [
            "telsec-keydist-issuer 2\n",
            "telsec-keydist-issuer 1\nS 001010000000001 2 491700000001 10.0.0.5 0 0\n",
            "telsec-keydist-issuer 1\nS 001010000000001 4 491700000001 10.0.0.5 1 0\n",
            "telsec-keydist-issuer 1\nS 001010000000001 2 491700000001 10.0.0.5 1\n",
            "telsec-keydist-issuer 1\nX\n",
            "telsec-keydist-issuer 1\nS 001010000000001 2 1 10.0.0.5 1 0\nS 001010000000001 2 2 10.0.0.5 1 0\n",
        ] {
            assert!(i.restore(bad.as_bytes()).is_err(), "{bad}");
        }
        // A refused snapshot changed nothing.
        assert_eq!(i.snapshot(), edited.as_bytes());
    }
}
