//! Registration authentication (RFC 5944 §3.5).
//!
//! An authentication extension (MN-HA, MN-FA or FA-HA) carries an SPI and an
//! authenticator. RFC 5944 §3.5.1: the authenticator is computed over the
//! UDP payload from the first octet of the registration message through the
//! Type, Length and SPI of the authentication extension itself — that is,
//! the fixed part, every earlier extension in full, and the first six
//! octets of this one; neither the authenticator nor anything after it is
//! covered. The default algorithm is HMAC-MD5 (RFC 2104) with a 128-bit
//! result; HMAC-SHA-256 is offered as an algorithm an SA may select.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::Error;
use crate::ext::{AuthExtension, Extension, ExtensionReader, ExtensionType};
use crate::registration::Message;
use crate::replay::ReplayMode;

/// Octets of an authentication extension before the authenticator:
/// Type, Length, SPI.
const AUTH_PREFIX: usize = 6;

/// The MAC an SA computes (RFC 5944 §3.5.1 default, or SHA-256).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-MD5, 16-octet authenticator (RFC 5944 §3.5.1 default).
    HmacMd5,
    /// HMAC-SHA-256, 32-octet authenticator.
    HmacSha256,
}

impl Algorithm {
    /// Length of the authenticator this algorithm produces.
    pub fn output_len(self) -> usize {
        match self {
            Algorithm::HmacMd5 => 16,
            Algorithm::HmacSha256 => 32,
        }
    }
}

/// The HMAC with the key already absorbed (the inner and outer padded-key
/// blocks hashed once, when the SA is made): a registration then costs
/// two compression calls fewer per authenticator, which matters at tens
/// of thousands of registrations a second. The state is as secret as the
/// key and is wiped on drop (hmac's `zeroize` feature).
#[derive(Clone)]
enum KeyedMac {
    Md5(Hmac<Md5>),
    Sha256(Hmac<Sha256>),
}

impl KeyedMac {
    fn new(algorithm: Algorithm, key: &[u8]) -> KeyedMac {
        match algorithm {
            Algorithm::HmacMd5 => KeyedMac::Md5(
                <Hmac<Md5> as KeyInit>::new_from_slice(key)
                    .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")),
            ),
            Algorithm::HmacSha256 => KeyedMac::Sha256(
                <Hmac<Sha256> as KeyInit>::new_from_slice(key)
                    .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")),
            ),
        }
    }

    /// MAC over the concatenation of `parts`.
    fn mac(&self, parts: &[&[u8]]) -> Vec<u8> {
        match self {
            KeyedMac::Md5(m) => {
                let mut m = m.clone();
                parts.iter().for_each(|p| m.update(p));
                m.finalize().into_bytes().to_vec()
            }
            KeyedMac::Sha256(m) => {
                let mut m = m.clone();
                parts.iter().for_each(|p| m.update(p));
                m.finalize().into_bytes().to_vec()
            }
        }
    }
}

/// A mobility security association (RFC 5944 §1.6, §5.1): SPI, algorithm,
/// shared key and replay method.
#[derive(Clone)]
pub struct SecurityAssociation {
    spi: u32,
    algorithm: Algorithm,
    keyed: KeyedMac,
    replay: ReplayMode,
}

impl fmt::Debug for SecurityAssociation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecurityAssociation")
            .field("spi", &self.spi)
            .field("algorithm", &self.algorithm)
            .field("key", &"<redacted>")
            .field("replay", &self.replay)
            .finish()
    }
}

impl SecurityAssociation {
    /// Builds an SA; SPIs 0..=255 are reserved (RFC 5944 §1.6) and an
    /// empty key is refused.
    pub fn new(
        spi: u32,
        algorithm: Algorithm,
        key: &[u8],
        replay: ReplayMode,
    ) -> Result<Self, Error> {
        if spi <= 255 {
            return Err(Error::ReservedSpi(spi));
        }
        if key.is_empty() {
            return Err(Error::ShortKey);
        }
        Ok(SecurityAssociation {
            spi,
            algorithm,
            keyed: KeyedMac::new(algorithm, key),
            replay,
        })
    }

    /// The SPI.
    pub fn spi(&self) -> u32 {
        self.spi
    }

    /// The MAC algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The replay protection method.
    pub fn replay(&self) -> ReplayMode {
        self.replay
    }
}

/// The SAs a node holds, looked up by the SPI a message names.
#[derive(Debug, Clone, Default)]
pub struct SaTable {
    entries: Vec<SecurityAssociation>,
}

impl SaTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the SA with the same SPI.
    pub fn insert(&mut self, sa: SecurityAssociation) {
        self.entries.retain(|e| e.spi != sa.spi);
        self.entries.push(sa);
    }

    /// The SA for `spi`.
    pub fn get(&self, spi: u32) -> Option<&SecurityAssociation> {
        self.entries.iter().find(|e| e.spi == spi)
    }
}

/// Which authentication extension to produce or check.
fn is_auth_type(kind: ExtensionType) -> bool {
    matches!(
        kind,
        ExtensionType::MnHaAuth | ExtensionType::MnFaAuth | ExtensionType::FaHaAuth
    )
}

/// Computes the authentication extension of type `kind` that follows
/// `message_so_far` (the fixed part and every earlier extension), and
/// returns its wire octets, ready to append.
pub fn sign(
    message_so_far: &[u8],
    kind: ExtensionType,
    sa: &SecurityAssociation,
) -> Result<Vec<u8>, Error> {
    if !is_auth_type(kind) {
        return Err(Error::MalformedExtension(kind.into()));
    }
    let out_len = sa.algorithm.output_len();
    let mut ext = vec![0u8; AUTH_PREFIX + out_len];
    ext[0] = kind.into();
    ext[1] = (4 + out_len) as u8;
    ext[2..6].copy_from_slice(&sa.spi.to_be_bytes());
    let mac = sa.keyed.mac(&[message_so_far, &ext[..AUTH_PREFIX]]);
    ext[AUTH_PREFIX..].copy_from_slice(&mac);
    Ok(ext)
}

/// Appends a signed authentication extension to `message`.
pub fn append_signature(
    message: &mut Vec<u8>,
    kind: ExtensionType,
    sa: &SecurityAssociation,
) -> Result<(), Error> {
    let ext = sign(message, kind, sa)?;
    message.extend_from_slice(&ext);
    Ok(())
}

/// A verified authentication extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// SPI and authenticator as found.
    pub extension: AuthExtension,
    /// Offset just past the authentication extension; extensions beyond
    /// it are not protected by it (RFC 5944 §3.5.1).
    pub protected_len: usize,
}

/// Finds the first authentication extension of type `kind` in a complete
/// registration message; returns its offset and SPI.
fn locate(message: &[u8], kind: ExtensionType) -> Result<(usize, AuthExtension), Error> {
    let start = message
        .first()
        .and_then(|&t| Message::fixed_len(t))
        .ok_or(Error::WrongType(message.first().copied().unwrap_or(0)))?;
    if message.len() < start {
        return Err(Error::Truncated);
    }
    for raw in ExtensionReader::new(message, start) {
        let raw = raw?;
        if raw.ext_type == u8::from(kind) {
            return match Extension::parse(&raw)? {
                Extension::MnHaAuth(a) | Extension::MnFaAuth(a) | Extension::FaHaAuth(a) => {
                    Ok((raw.offset, a))
                }
                _ => Err(Error::MalformedExtension(raw.ext_type)),
            };
        }
    }
    Err(Error::MissingAuthentication(kind.into()))
}

/// Verifies the authentication extension of type `kind` in `message`
/// against `sa`, comparing in constant time.
pub fn verify(
    message: &[u8],
    kind: ExtensionType,
    sa: &SecurityAssociation,
) -> Result<Verified, Error> {
    if !is_auth_type(kind) {
        return Err(Error::MalformedExtension(kind.into()));
    }
    let (offset, ext) = locate(message, kind)?;
    if ext.spi != sa.spi {
        return Err(Error::UnknownSpi(ext.spi));
    }
    let covered = message
        .get(..offset + AUTH_PREFIX)
        .ok_or(Error::Truncated)?;
    let expected = sa.keyed.mac(&[covered]);
    // Length is public (it is in the Length field); only content is secret.
    if expected.len() != ext.authenticator.len() || !bool::from(expected.ct_eq(&ext.authenticator))
    {
        return Err(Error::BadAuthenticator);
    }
    let protected_len = offset + AUTH_PREFIX + ext.authenticator.len();
    Ok(Verified {
        extension: ext,
        protected_len,
    })
}

/// Verifies with the SA the extension's SPI selects from `table`.
pub fn verify_with_table(
    message: &[u8],
    kind: ExtensionType,
    table: &SaTable,
) -> Result<Verified, Error> {
    let (_, ext) = locate(message, kind)?;
    let sa = table.get(ext.spi).ok_or(Error::UnknownSpi(ext.spi))?;
    verify(message, kind, sa)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(alg: Algorithm) -> SecurityAssociation {
        SecurityAssociation::new(0x1000, alg, b"0123456789abcdef", ReplayMode::default())
            .expect("valid SA")
    }

    fn rrq() -> Vec<u8> {
        let mut m = vec![
            1, 0, 0, 60, 10, 0, 0, 5, 10, 0, 0, 1, 192, 0, 2, 7, 0, 0, 0, 0, 0, 0, 0, 1,
        ];
        m.extend_from_slice(&[131, 3, b'a', b'@', b'b']);
        m
    }

    #[test]
    fn sign_verify_both_algorithms() {
        for alg in [Algorithm::HmacMd5, Algorithm::HmacSha256] {
            let sa = sa(alg);
            let mut m = rrq();
            append_signature(&mut m, ExtensionType::MnHaAuth, &sa).expect("signs");
            assert_eq!(m.len(), 29 + 6 + alg.output_len());
            let v = verify(&m, ExtensionType::MnHaAuth, &sa).expect("verifies");
            assert_eq!(v.protected_len, m.len());
            assert_eq!(v.extension.spi, 0x1000);
            // Trailing unprotected extension does not disturb verification.
            m.extend_from_slice(&[200, 1, 9]);
            assert_eq!(
                verify(&m, ExtensionType::MnHaAuth, &sa).map(|v| v.protected_len),
                Ok(m.len() - 3)
            );
            // Any flipped covered octet is caught.
            for i in 0..m.len() - 3 {
                let mut bad = m.clone();
                bad[i] ^= 1;
                assert!(
                    verify(&bad, ExtensionType::MnHaAuth, &sa).is_err(),
                    "octet {i}"
                );
            }
        }
    }

    #[test]
    fn failures() {
        let sa = sa(Algorithm::HmacMd5);
        let m = rrq();
        assert_eq!(
            verify(&m, ExtensionType::MnHaAuth, &sa),
            Err(Error::MissingAuthentication(32))
        );
        let mut m2 = m.clone();
        append_signature(&mut m2, ExtensionType::MnFaAuth, &sa).expect("signs");
        assert_eq!(
            verify(&m2, ExtensionType::MnHaAuth, &sa),
            Err(Error::MissingAuthentication(32))
        );
        assert!(verify(&m2, ExtensionType::MnFaAuth, &sa).is_ok());
        let other = SecurityAssociation::new(0x2000, Algorithm::HmacMd5, b"k", ReplayMode::Nonce)
            .expect("SA");
        assert_eq!(
            verify(&m2, ExtensionType::MnFaAuth, &other),
            Err(Error::UnknownSpi(0x1000))
        );
        let mut table = SaTable::new();
        table.insert(other.clone());
        assert_eq!(
            verify_with_table(&m2, ExtensionType::MnFaAuth, &table),
            Err(Error::UnknownSpi(0x1000))
        );
        table.insert(sa.clone());
        assert!(verify_with_table(&m2, ExtensionType::MnFaAuth, &table).is_ok());
        // SHA-256 SA against an MD5 authenticator of the same SPI: length differs.
        let sha = SecurityAssociation::new(
            0x1000,
            Algorithm::HmacSha256,
            b"0123456789abcdef",
            ReplayMode::Nonce,
        )
        .expect("SA");
        assert_eq!(
            verify(&m2, ExtensionType::MnFaAuth, &sha),
            Err(Error::BadAuthenticator)
        );
        assert_eq!(
            SecurityAssociation::new(255, Algorithm::HmacMd5, b"k", ReplayMode::Nonce).map(|_| ()),
            Err(Error::ReservedSpi(255))
        );
        assert!(sign(&m, ExtensionType::MnNai, &sa).is_err());
        assert!(!format!("{sa:?}").contains("0123"));
    }
}
