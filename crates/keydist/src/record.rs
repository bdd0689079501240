//! The key record: the secured data of a key delivery packet.
//!
//! ```text
//! version (1) = 0x01
//! then TLVs, each tag (1) || length (1) || value:
//!   0x01  SA          SPI (4, big-endian, >= 256) || algorithm (1)
//!   0x02  key         16 octets (HMAC-MD5) or 32 (HMAC-SHA-256)
//!   0x03  lifetime    seconds the key may be used, u32
//!   0x04  home addr   the node's IPv4 home address (4)
//!   0x05  HA addr     the home agent's IPv4 address (4)
//!   0x06  issued      issue time, Unix seconds, u32 (good until 2106)
//! ```
//!
//! Algorithm codes: 1 = HMAC-MD5 (the RFC 5944 §3.5.1 default),
//! 2 = HMAC-SHA-256. Every tag above must appear exactly once; order is
//! free. An unknown tag in `0x80..=0xFF` is skipped (room to grow); an
//! unknown tag below `0x80`, a duplicate, or a missing tag rejects the
//! record. With HMAC-SHA-256 the record is 66 octets, so the whole packet
//! (32 + 10 + 14 + 66 = 122 octets) fits one port-addressed SMS.

use std::net::Ipv4Addr;

use telsec_mip::{Algorithm, ReplayMode, SecurityAssociation};
use zeroize::Zeroizing;

/// The record format version.
pub const VERSION: u8 = 1;
/// Longest record [`KeyRecord::parse`] reads.
pub const MAX_RECORD_LEN: usize = 512;

const TAG_SA: u8 = 0x01;
const TAG_KEY: u8 = 0x02;
const TAG_LIFETIME: u8 = 0x03;
const TAG_HOME: u8 = 0x04;
const TAG_HA: u8 = 0x05;
const TAG_ISSUED: u8 = 0x06;
/// Tags from here up may be skipped when unknown.
const FIRST_SKIPPABLE: u8 = 0x80;

/// Why a key record is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The record is empty, or a TLV runs past the end.
    #[error("truncated key record")]
    Truncated,
    /// Longer than [`MAX_RECORD_LEN`].
    #[error("key record too long")]
    TooLong,
    /// The version octet is not [`VERSION`].
    #[error("key record version {0}")]
    Version(u8),
    /// A tag below 0x80 this version does not define.
    #[error("unknown key record tag {0:#04x}")]
    UnknownTag(u8),
    /// A tag appears twice.
    #[error("duplicate key record tag {0:#04x}")]
    Duplicate(u8),
    /// A required tag is missing.
    #[error("key record lacks tag {0:#04x}")]
    Missing(u8),
    /// A value has the wrong length for its tag.
    #[error("key record tag {0:#04x} has a bad length")]
    BadLength(u8),
    /// An algorithm code other than 1 or 2.
    #[error("unknown MAC algorithm code {0}")]
    UnknownAlgorithm(u8),
    /// SPI 0..=255 is reserved (RFC 5944 §1.6).
    #[error("reserved SPI {0}")]
    ReservedSpi(u32),
    /// The key length is not the algorithm's (16 for HMAC-MD5, 32 for
    /// HMAC-SHA-256).
    #[error("key of {len} octets for {algorithm:?}")]
    KeyLength {
        /// The algorithm named.
        algorithm: Algorithm,
        /// The key length found.
        len: usize,
    },
}

/// The wire code of a MAC algorithm.
pub fn algorithm_code(algorithm: Algorithm) -> u8 {
    match algorithm {
        Algorithm::HmacMd5 => 1,
        Algorithm::HmacSha256 => 2,
    }
}

/// The algorithm of a wire code.
pub fn algorithm_from_code(code: u8) -> Result<Algorithm, RecordError> {
    match code {
        1 => Ok(Algorithm::HmacMd5),
        2 => Ok(Algorithm::HmacSha256),
        other => Err(RecordError::UnknownAlgorithm(other)),
    }
}

/// The key length this service uses for an algorithm: the MAC's output
/// length (16 for HMAC-MD5, 32 for HMAC-SHA-256, RFC 2104 §3).
pub fn key_len(algorithm: Algorithm) -> usize {
    algorithm.output_len()
}

/// A Mobile IP MN-HA key with its parameters. The key is wiped on drop and
/// never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRecord {
    spi: u32,
    algorithm: Algorithm,
    key: Zeroizing<Vec<u8>>,
    /// Seconds the key may be used after `issued_at`.
    pub lifetime_secs: u32,
    /// The node's home address.
    pub home_address: Ipv4Addr,
    /// The home agent's address.
    pub home_agent: Ipv4Addr,
    /// Issue time, Unix seconds.
    pub issued_at: u32,
}

impl core::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyRecord")
            .field("spi", &self.spi)
            .field("algorithm", &self.algorithm)
            .field("key", &"<redacted>")
            .field("lifetime_secs", &self.lifetime_secs)
            .field("home_address", &self.home_address)
            .field("home_agent", &self.home_agent)
            .field("issued_at", &self.issued_at)
            .finish()
    }
}

fn be32(v: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&v[..4]);
    u32::from_be_bytes(b)
}

impl KeyRecord {
    /// A record, checked: SPI >= 256 and a key of the algorithm's length.
    pub fn new(
        spi: u32,
        algorithm: Algorithm,
        key: &[u8],
        lifetime_secs: u32,
        home_address: Ipv4Addr,
        home_agent: Ipv4Addr,
        issued_at: u32,
    ) -> Result<KeyRecord, RecordError> {
        if spi <= 255 {
            return Err(RecordError::ReservedSpi(spi));
        }
        if key.len() != key_len(algorithm) {
            return Err(RecordError::KeyLength {
                algorithm,
                len: key.len(),
            });
        }
        Ok(KeyRecord {
            spi,
            algorithm,
            key: Zeroizing::new(key.to_vec()),
            lifetime_secs,
            home_address,
            home_agent,
            issued_at,
        })
    }

    /// The SPI of the mobility security association.
    pub fn spi(&self) -> u32 {
        self.spi
    }

    /// The MAC algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// When the key lapses, Unix seconds.
    pub fn expires_at(&self) -> u64 {
        u64::from(self.issued_at) + u64::from(self.lifetime_secs)
    }

    /// The mobility security association for RFC 5944 registrations.
    pub fn security_association(
        &self,
        replay: ReplayMode,
    ) -> Result<SecurityAssociation, telsec_mip::Error> {
        SecurityAssociation::new(self.spi, self.algorithm, &self.key, replay)
    }

    /// Octets [`KeyRecord::to_bytes`] produces.
    pub fn buffer_len(&self) -> usize {
        1 + (2 + 5) + (2 + self.key.len()) + 4 * (2 + 4)
    }

    /// The encoded record; wiped on drop, since it holds the key.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(self.buffer_len()));
        out.push(VERSION);
        out.extend_from_slice(&[TAG_SA, 5]);
        out.extend_from_slice(&self.spi.to_be_bytes());
        out.push(algorithm_code(self.algorithm));
        // The key is 16 or 32 octets (checked at construction).
        out.extend_from_slice(&[TAG_KEY, self.key.len() as u8]);
        out.extend_from_slice(&self.key);
        for (tag, value) in [
            (TAG_LIFETIME, self.lifetime_secs.to_be_bytes()),
            (TAG_HOME, self.home_address.octets()),
            (TAG_HA, self.home_agent.octets()),
            (TAG_ISSUED, self.issued_at.to_be_bytes()),
        ] {
            out.extend_from_slice(&[tag, 4]);
            out.extend_from_slice(&value);
        }
        out
    }

    /// Decode a record (see the [module documentation](self) for the rules).
    pub fn parse(bytes: &[u8]) -> Result<KeyRecord, RecordError> {
        if bytes.len() > MAX_RECORD_LEN {
            return Err(RecordError::TooLong);
        }
        let (&version, mut rest) = bytes.split_first().ok_or(RecordError::Truncated)?;
        if version != VERSION {
            return Err(RecordError::Version(version));
        }
        let mut sa: Option<(u32, u8)> = None;
        let mut key: Option<&[u8]> = None;
        let mut fixed: [Option<[u8; 4]>; 4] = [None; 4];
        while let [tag, len, tail @ ..] = rest {
            let len = usize::from(*len);
            if tail.len() < len {
                return Err(RecordError::Truncated);
            }
            let (value, next) = tail.split_at(len);
            rest = next;
            match *tag {
                TAG_SA => {
                    if sa.is_some() {
                        return Err(RecordError::Duplicate(TAG_SA));
                    }
                    if len != 5 {
                        return Err(RecordError::BadLength(TAG_SA));
                    }
                    sa = Some((be32(value), value[4]));
                }
                TAG_KEY => {
                    if key.is_some() {
                        return Err(RecordError::Duplicate(TAG_KEY));
                    }
                    key = Some(value);
                }
                TAG_LIFETIME | TAG_HOME | TAG_HA | TAG_ISSUED => {
                    let slot = &mut fixed[usize::from(*tag - TAG_LIFETIME)];
                    if slot.is_some() {
                        return Err(RecordError::Duplicate(*tag));
                    }
                    let v: [u8; 4] = value.try_into().map_err(|_| RecordError::BadLength(*tag))?;
                    *slot = Some(v);
                }
                t if t >= FIRST_SKIPPABLE => {}
                t => return Err(RecordError::UnknownTag(t)),
            }
        }
        if !rest.is_empty() {
            return Err(RecordError::Truncated);
        }
        let (spi, code) = sa.ok_or(RecordError::Missing(TAG_SA))?;
        let key = key.ok_or(RecordError::Missing(TAG_KEY))?;
        let get = |i: usize| fixed[i].ok_or(RecordError::Missing(TAG_LIFETIME + i as u8));
        let (lifetime, home, ha, issued) = (get(0)?, get(1)?, get(2)?, get(3)?);
        KeyRecord::new(
            spi,
            algorithm_from_code(code)?,
            key,
            u32::from_be_bytes(lifetime),
            Ipv4Addr::from(home),
            Ipv4Addr::from(ha),
            u32::from_be_bytes(issued),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(algorithm: Algorithm) -> KeyRecord {
        let key: Vec<u8> = (0..key_len(algorithm) as u8).collect();
        KeyRecord::new(
            0x0000_1234,
            algorithm,
            &key,
            3600,
            Ipv4Addr::new(10, 0, 0, 5),
            Ipv4Addr::new(10, 0, 0, 1),
            1_700_000_000,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn encoding_and_sizes() {
        let r = sample(Algorithm::HmacSha256);
        let bytes = r.to_bytes();
        assert_eq!(bytes.len(), 66);
        assert_eq!(bytes.len(), r.buffer_len());
        assert_eq!(&bytes[..8], &[1, 0x01, 5, 0, 0, 0x12, 0x34, 2]);
        assert_eq!(&bytes[8..10], &[0x02, 32]);
        assert_eq!(&bytes[42..48], &[0x03, 4, 0, 0, 0x0e, 0x10]);
        assert_eq!(&bytes[48..54], &[0x04, 4, 10, 0, 0, 5]);
        assert_eq!(sample(Algorithm::HmacMd5).to_bytes().len(), 50);
        assert_eq!(r.expires_at(), 1_700_003_600);
        assert!(!format!("{r:?}").contains("0, 1, 2"));
    }

    #[test]
    fn round_trip_and_order_freedom() {
        for alg in [Algorithm::HmacMd5, Algorithm::HmacSha256] {
            let r = sample(alg);
            assert_eq!(KeyRecord::parse(&r.to_bytes()), Ok(r.clone()));
            // Reversed TLV order plus a skippable unknown tag still parses.
            let bytes = r.to_bytes();
            let mut tlvs = Vec::new();
            let mut rest = &bytes[1..];
            while let [_, len, ..] = rest {
                let n = 2 + usize::from(*len);
                tlvs.push(rest[..n].to_vec());
                rest = &rest[n..];
            }
            tlvs.reverse();
            let mut shuffled = vec![VERSION, 0x9F, 2, 0xAB, 0xCD];
            tlvs.iter().for_each(|t| shuffled.extend_from_slice(t));
            assert_eq!(KeyRecord::parse(&shuffled), Ok(r));
        }
    }

    #[test]
    fn rejections() {
        let good = sample(Algorithm::HmacSha256).to_bytes().to_vec();
        assert_eq!(KeyRecord::parse(&[]), Err(RecordError::Truncated));
        for cut in 1..good.len() {
            assert!(KeyRecord::parse(&good[..cut]).is_err(), "cut {cut}");
        }
        let mut v = good.clone();
        v[0] = 2;
        assert_eq!(KeyRecord::parse(&v), Err(RecordError::Version(2)));
        let mut v = good.clone();
        v[7] = 3;
        assert_eq!(KeyRecord::parse(&v), Err(RecordError::UnknownAlgorithm(3)));
        let mut v = good.clone();
        v[3..7].copy_from_slice(&255u32.to_be_bytes());
        assert_eq!(KeyRecord::parse(&v), Err(RecordError::ReservedSpi(255)));
        let mut v = good.clone();
        v[7] = 1; // MD5 with a 32-octet key
        assert_eq!(
            KeyRecord::parse(&v),
            Err(RecordError::KeyLength {
                algorithm: Algorithm::HmacMd5,
                len: 32
            })
        );
        let mut v = good.clone();
        v.extend_from_slice(&[0x04, 4, 1, 2, 3, 4]);
        assert_eq!(KeyRecord::parse(&v), Err(RecordError::Duplicate(0x04)));
        let mut v = good.clone();
        v.extend_from_slice(&[0x07, 0]);
        assert_eq!(KeyRecord::parse(&v), Err(RecordError::UnknownTag(0x07)));
        let mut v = good.clone();
        v.truncate(60);
        assert_eq!(KeyRecord::parse(&v), Err(RecordError::Missing(0x06)));
        let mut v = good.clone();
        v[42..48].copy_from_slice(&[0x03, 3, 0, 0, 1, 0x03]);
        assert_eq!(KeyRecord::parse(&v), Err(RecordError::BadLength(0x03)));
        assert_eq!(
            KeyRecord::parse(&vec![1u8; MAX_RECORD_LEN + 1]),
            Err(RecordError::TooLong)
        );
    }

    #[test]
    fn security_association_carries_the_key() {
        let r = sample(Algorithm::HmacMd5);
        let sa = r
            .security_association(ReplayMode::Nonce)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sa.spi(), 0x1234);
        assert_eq!(sa.algorithm(), Algorithm::HmacMd5);
    }
}
