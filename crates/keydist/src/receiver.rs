//! The mobile node's side: unwrap a key delivery packet with the USIM.
//!
//! [`Receiver::unwrap`] takes the SMS payload and any [`Card`] holding the
//! subscriber's USIM and, in this order:
//! 1. checks the framing (CPL, CHL, lengths) and this profile's SPI, KIc,
//!    KID and TAR, so that nothing malformed reaches the card;
//! 2. runs AUTHENTICATE(RAND, AUTN) in 3G context (TS 31.102 §7.1.2): a MAC
//!    failure means the packet is not for this SIM or is forged
//!    ([`Reject::NotForThisSim`]); a synchronisation failure means a stale
//!    vector ([`Reject::StaleVector`], whose [`Reject::resync_request`] is
//!    the MO message to send the home agent);
//! 3. derives KIc and KID from CK, IK ([`crate::keys`]), deciphers and checks
//!    the cryptographic checksum in constant time ([`Reject::BadMac`]);
//! 4. requires CNTR to be strictly greater than the last counter accepted
//!    for the TAR ([`Reject::ReplayedCounter`]);
//! 5. decodes the key record, and only then records the counter.
//!
//! A rejected packet changes none of the receiver's state. The USIM's own
//! SQN array does move when step 2 succeeds (that is how AKA works: a
//! challenge is used once); a packet altered after the preamble therefore
//! uses up its challenge, like a dropped SMS, and the node asks again.
//!
//! A genuine packet delivered twice fails at step 2 (the USIM has seen its
//! SQN); the counter of step 4 guards against a home agent or a replayed
//! old packet paired with a fresh challenge.
//!
//! # Persistence
//!
//! ```text
//! telsec-keydist-receiver 1
//! C <tar, 6 hex digits> <last accepted counter>
//! ```
//!
//! Persist [`Receiver::snapshot`] after every accepted packet, before using
//! the key.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use telsec_auth::usim::{Auth3g, Card, ClientError, UsimClient};
use zeroize::Zeroize;

use crate::keys::{self, KeysError, TransportKeys};
use crate::packet::{KeyIndicator, MAX_COUNTER, Packet, PacketError, Spi, TAR};
use crate::persist::{self, SnapshotError};
use crate::record::{KeyRecord, RecordError};
use crate::request::Request;
use crate::secure::{self, SecureError};

/// First line of a receiver snapshot.
pub const MAGIC: &str = "telsec-keydist-receiver 1";

/// What the node must know besides its USIM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// The USIM's IMSI.
    pub imsi: String,
    /// MNC digits in the IMSI (2 or 3, EF_AD).
    pub mnc_len: u8,
    /// The home agent's FQDN, as the home agent spells it.
    pub naf_fqdn: String,
    /// The TAR accepted.
    pub tar: [u8; 3],
}

impl ReceiverConfig {
    /// A configuration with the service TAR.
    pub fn new(imsi: impl Into<String>, mnc_len: u8, naf_fqdn: impl Into<String>) -> Self {
        ReceiverConfig {
            imsi: imsi.into(),
            mnc_len,
            naf_fqdn: naf_fqdn.into(),
            tar: TAR,
        }
    }

    /// Read the IMSI (EF_IMSI) and MNC length (EF_AD) from the card.
    pub fn from_card<C: Card>(
        card: &mut C,
        naf_fqdn: impl Into<String>,
    ) -> Result<ReceiverConfig, ClientError> {
        let mut client = UsimClient::new(card);
        let imsi = client.read_imsi()?;
        let mnc_len = client.read_mnc_len()?;
        Ok(ReceiverConfig::new(imsi, mnc_len, naf_fqdn))
    }
}

/// Why a packet was dropped. `Display` gives the line to log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Reject {
    /// The octets are not a well-formed packet.
    #[error("malformed packet: {0}")]
    Malformed(#[from] PacketError),
    /// SPI, KIc or KID other than this profile's.
    #[error("unsupported {field} {value:#06x}")]
    Unsupported {
        /// Which field.
        field: &'static str,
        /// Its value.
        value: u16,
    },
    /// A TAR other than the configured one.
    #[error("unknown TAR {0:02x?}")]
    UnknownTar([u8; 3]),
    /// The USIM refused AUTN's MAC: the packet is for another SIM, or
    /// RAND/AUTN were forged or damaged.
    #[error("not for this SIM (AUTN MAC failure)")]
    NotForThisSim,
    /// The USIM found AUTN authentic but its SQN stale (a replay, or the HLR
    /// behind the card); send [`Reject::resync_request`] to the home agent.
    #[error("stale vector (SQN); resynchronisation needed")]
    StaleVector {
        /// RAND of the refused challenge.
        rand: [u8; 16],
        /// The USIM's AUTS.
        auts: [u8; 14],
    },
    /// The card could not be used.
    #[error("card: {0}")]
    Card(#[from] ClientError),
    /// Transport keys could not be derived (invalid configuration).
    #[error(transparent)]
    Keys(#[from] KeysError),
    /// The cryptographic checksum does not verify.
    #[error("bad cryptographic checksum")]
    BadMac,
    /// Authentic, but PCNTR is inconsistent (a broken sender).
    #[error("bad padding counter {0}")]
    BadPadding(u8),
    /// CNTR is not above the last accepted counter for the TAR.
    #[error("replayed counter {received} (last accepted {stored})")]
    ReplayedCounter {
        /// CNTR of the packet.
        received: u64,
        /// The last accepted counter.
        stored: u64,
    },
    /// Authentic, but the key record does not decode.
    #[error("bad key record: {0}")]
    BadRecord(#[from] RecordError),
}

impl Reject {
    /// For [`Reject::StaleVector`], the MO message asking the home agent to
    /// resynchronise.
    pub fn resync_request(&self) -> Option<Vec<u8>> {
        match self {
            Reject::StaleVector { rand, auts } => Some(
                Request::Resync {
                    rand: *rand,
                    auts: *auts,
                }
                .to_bytes(),
            ),
            _ => None,
        }
    }
}

impl From<SecureError> for Reject {
    fn from(e: SecureError) -> Reject {
        match e {
            SecureError::Packet(p) => Reject::Malformed(p),
            SecureError::Padding(p) => Reject::BadPadding(p),
            // Counter and TooLong are sender-side errors; on the receiving
            // side every other failure is a checksum mismatch.
            _ => Reject::BadMac,
        }
    }
}

/// The node's key service core. See the [module documentation](self).
#[derive(Debug, Clone)]
pub struct Receiver {
    config: ReceiverConfig,
    impi: String,
    counters: BTreeMap<[u8; 3], u64>,
}

impl Receiver {
    /// A receiver with no counters yet; fails on an invalid IMSI, MNC length
    /// or FQDN.
    pub fn new(config: ReceiverConfig) -> Result<Receiver, KeysError> {
        keys::check_fqdn(&config.naf_fqdn)?;
        let impi = keys::impi(&config.imsi, config.mnc_len)?;
        Ok(Receiver {
            config,
            impi,
            counters: BTreeMap::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &ReceiverConfig {
        &self.config
    }

    /// The last counter accepted for `tar` (0 before any).
    pub fn counter(&self, tar: &[u8; 3]) -> u64 {
        self.counters.get(tar).copied().unwrap_or(0)
    }

    /// The MO message asking for a key.
    pub fn key_request() -> Vec<u8> {
        Request::KeyRequest.to_bytes()
    }

    /// The MO message asking for resynchronisation after the USIM refused
    /// the challenge `rand` with `auts`.
    pub fn resync_request(rand: &[u8; 16], auts: &[u8; 14]) -> Vec<u8> {
        Request::Resync {
            rand: *rand,
            auts: *auts,
        }
        .to_bytes()
    }

    /// Unwrap a key delivery packet (see the [module documentation](self)).
    pub fn unwrap<C: Card>(&mut self, card: &mut C, bytes: &[u8]) -> Result<KeyRecord, Reject> {
        let packet = Packet::new_checked(bytes)?;
        if packet.spi() != Spi::KEYDIST {
            return Err(Reject::Unsupported {
                field: "SPI",
                value: u16::from_be_bytes(packet.spi().0),
            });
        }
        for (field, got, want) in [
            ("KIc", packet.kic(), KeyIndicator::KIC_AES_CBC),
            ("KID", packet.kid(), KeyIndicator::KID_AES_CMAC),
        ] {
            if got != want {
                return Err(Reject::Unsupported {
                    field,
                    value: u16::from(got.0),
                });
            }
        }
        let tar = packet.tar();
        if tar != self.config.tar {
            return Err(Reject::UnknownTar(tar));
        }

        let rand = packet.rand();
        let (mut ck, mut ik) =
            match UsimClient::new(&mut *card).authenticate_3g(&rand, &packet.autn())? {
                Auth3g::Success { ck, ik, .. } => (ck, ik),
                Auth3g::SyncFailure { auts } => return Err(Reject::StaleVector { rand, auts }),
                Auth3g::MacFailure => return Err(Reject::NotForThisSim),
            };
        let keys = TransportKeys::derive(&ck, &ik, &rand, &self.impi, &self.config.naf_fqdn);
        ck.zeroize();
        ik.zeroize();
        let opened = secure::open(&keys?, &packet)?;

        let stored = self.counter(&tar);
        if opened.counter <= stored {
            return Err(Reject::ReplayedCounter {
                received: opened.counter,
                stored,
            });
        }
        let record = KeyRecord::parse(&opened.data)?;
        self.counters.insert(tar, opened.counter);
        Ok(record)
    }

    /// The counters (see the [module documentation](self)).
    pub fn snapshot(&self) -> Vec<u8> {
        let mut s = String::from(MAGIC);
        s.push('\n');
        for (tar, counter) in &self.counters {
            // Writing to a String cannot fail.
            let _ = writeln!(s, "C {} {counter}", persist::tar_hex(tar));
        }
        s.into_bytes()
    }

    /// Replace the counters with a snapshot's; nothing changes if it is
    /// refused.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        let mut counters = BTreeMap::new();
        for (n, fields) in persist::records(bytes, MAGIC)? {
            let ["C", tar, counter] = fields[..] else {
                return Err(SnapshotError::BadLine(n));
            };
            let tar = persist::parse_tar(tar).ok_or(SnapshotError::BadLine(n))?;
            let counter: u64 = counter.parse().map_err(|_| SnapshotError::BadLine(n))?;
            if counter > MAX_COUNTER || counters.insert(tar, counter).is_some() {
                return Err(SnapshotError::BadLine(n));
            }
        }
        self.counters = counters;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receiver() -> Receiver {
        Receiver::new(ReceiverConfig::new("001010000000001", 2, "ha.example.net"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn config_is_checked() {
        assert!(Receiver::new(ReceiverConfig::new("0010", 2, "ha.example.net")).is_err());
        assert!(Receiver::new(ReceiverConfig::new("001010000000001", 2, "")).is_err());
    }

    #[test]
    fn snapshot_round_trip() {
        let mut r = receiver();
        assert_eq!(r.snapshot(), b"telsec-keydist-receiver 1\n");
        assert_eq!(
            r.restore(b"telsec-keydist-receiver 1\nC 544b44 17\nC 000001 3\n"),
            Ok(())
        );
        assert_eq!(r.counter(&TAR), 17);
        assert_eq!(r.counter(&[0, 0, 1]), 3);
        assert_eq!(
            r.snapshot(),
            b"telsec-keydist-receiver 1\nC 000001 3\nC 544b44 17\n"
        );
        for bad in [
            &b"telsec-keydist-receiver 1\nC 544b44\n"[..],
            b"telsec-keydist-receiver 1\nC 544b44 x\n",
            b"telsec-keydist-receiver 1\nC 544b44 1099511627776\n",
            b"telsec-keydist-receiver 1\nC 544b44 1\nC 544b44 2\n",
            b"telsec-keydist-issuer 1\n",
        ] {
            assert!(r.restore(bad).is_err());
        }
        assert_eq!(r.counter(&TAR), 17);
    }

    #[test]
    fn requests() {
        assert_eq!(Receiver::key_request(), [1, 1]);
        let bytes = Receiver::resync_request(&[3; 16], &[4; 14]);
        let reject = Reject::StaleVector {
            rand: [3; 16],
            auts: [4; 14],
        };
        assert_eq!(reject.resync_request(), Some(bytes));
        assert_eq!(Reject::BadMac.resync_request(), None);
    }
}
