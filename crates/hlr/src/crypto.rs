//! Subscriber secrets at rest: AES-256-GCM (NIST SP 800-38D) under a
//! key-encryption key (KEK) that never touches the database.
//!
//! Every secret column value is sealed separately as
//! `version (1) || nonce (12) || ciphertext || tag (16)`, with a fresh random
//! 96-bit nonce per write (SP 800-38D §8.2.2, random construction) and with
//! associated data binding it to the subscriber's IMSI and to the column it
//! belongs in. A ciphertext copied into another row or another column
//! therefore fails authentication instead of silently handing one
//! subscriber's key to another.
//!
//! A known plaintext sealed under the KEK (the check value) is kept in the
//! store's `meta` table, so that opening a store with the wrong KEK fails at
//! once with [`CryptoError::WrongKek`], not later at the first
//! authentication.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::{Zeroize, Zeroizing};

/// The environment variable [`Kek::from_env`] reads: 64 hex digits.
pub const KEK_ENV: &str = "TELSEC_HLR_KEK";

/// Format version byte leading every sealed value.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Domain separation for the associated data of subscriber secrets.
const AAD_LABEL: &[u8] = b"telsec-hlr/secret/v1";
/// Plaintext and associated data of the KEK check value.
const CHECK_PLAINTEXT: &[u8] = b"telsec-hlr KEK check value";
const CHECK_AAD: &[u8] = b"telsec-hlr/kek-check/v1";

/// Errors of the at-rest encryption layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The KEK text is not 64 hexadecimal digits (32 bytes).
    #[error("KEK must be 64 hex digits (32 bytes)")]
    InvalidKek,
    /// The KEK environment variable is not set.
    #[error("environment variable {KEK_ENV} is not set")]
    KekNotInEnvironment,
    /// The operating system's random number generator failed.
    #[error("system random number generator failed")]
    Random,
    /// The store's KEK check value does not open under this KEK: the KEK is
    /// not the one the store was created (or last rotated) with.
    #[error("wrong KEK: the store's check value does not decrypt under the given key")]
    WrongKek,
    /// A sealed value failed authentication: it was altered, or it belongs
    /// to another subscriber or another column.
    #[error("secret failed authentication (tampered, or moved from another row or column)")]
    Authentication,
    /// A sealed value is too short or has an unknown version byte.
    #[error("malformed sealed value")]
    Malformed,
}

/// The key-encryption key: 32 bytes for AES-256-GCM. Zeroized on drop and
/// never printed.
#[derive(Clone)]
pub struct Kek([u8; 32]);

impl Drop for Kek {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl core::fmt::Debug for Kek {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Kek(..)")
    }
}

impl Kek {
    /// Wrap 32 key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Kek {
        Kek(bytes)
    }

    /// Parse 64 hex digits (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Kek, CryptoError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| CryptoError::InvalidKek)?;
        Ok(Kek(bytes))
    }

    /// Read the KEK from the `TELSEC_HLR_KEK` environment variable.
    pub fn from_env() -> Result<Kek, CryptoError> {
        let text =
            Zeroizing::new(std::env::var(KEK_ENV).map_err(|_| CryptoError::KekNotInEnvironment)?);
        Kek::from_hex(&text)
    }

    /// A fresh random KEK from the operating system's CSPRNG.
    pub fn generate() -> Result<Kek, CryptoError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| CryptoError::Random)?;
        Ok(Kek(bytes))
    }

    /// The key as 64 lowercase hex digits, for writing it to a key file.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0))
    }

    fn cipher(&self) -> Aes256Gcm {
        // A 32-byte slice always has the right length for AES-256.
        Aes256Gcm::new(&self.0.into())
    }
}

/// The associated data of one secret: label, IMSI and column, each
/// length-prefixed so that no two (IMSI, column) pairs encode alike.
fn secret_aad(imsi: &str, column: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_LABEL.len() + imsi.len() + column.len() + 2);
    aad.extend_from_slice(AAD_LABEL);
    for part in [imsi, column] {
        // IMSI ≤ 15 bytes and column names are short constants.
        aad.push(part.len().min(255) as u8);
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

fn seal_with_aad(kek: &Kek, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|_| CryptoError::Random)?;
    let sealed = kek
        .cipher()
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        // Encryption fails only past the 2^36-byte plaintext bound.
        .map_err(|_| CryptoError::Malformed)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

fn open_with_aad(kek: &Kek, aad: &[u8], blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if blob.len() < 1 + NONCE_LEN + TAG_LEN || blob[0] != VERSION {
        return Err(CryptoError::Malformed);
    }
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&blob[1..1 + NONCE_LEN]);
    kek.cipher()
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &blob[1 + NONCE_LEN..],
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Authentication)
}

/// Seal one secret of subscriber `imsi` destined for `column`.
pub(crate) fn seal(
    kek: &Kek,
    imsi: &str,
    column: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    seal_with_aad(kek, &secret_aad(imsi, column), plaintext)
}

/// Open one secret of subscriber `imsi` read from `column`.
pub(crate) fn open(
    kek: &Kek,
    imsi: &str,
    column: &str,
    blob: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    open_with_aad(kek, &secret_aad(imsi, column), blob)
}

/// A fresh check value for `kek`, to store in the `meta` table.
pub(crate) fn make_check_value(kek: &Kek) -> Result<Vec<u8>, CryptoError> {
    seal_with_aad(kek, CHECK_AAD, CHECK_PLAINTEXT)
}

/// Whether `check` was made under `kek`.
pub(crate) fn verify_check_value(kek: &Kek, check: &[u8]) -> Result<(), CryptoError> {
    match open_with_aad(kek, CHECK_AAD, check) {
        Ok(plain) if plain.as_slice() == CHECK_PLAINTEXT => Ok(()),
        Ok(_) | Err(CryptoError::Authentication) => Err(CryptoError::WrongKek),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek(b: u8) -> Kek {
        Kek::from_bytes([b; 32])
    }

    #[test]
    fn round_trip_and_binding() {
        let k = kek(7);
        let sealed = seal(&k, "001010000000001", "k", b"secret key bytes").unwrap();
        assert_eq!(sealed.len(), 1 + 12 + 16 + 16);
        let plain = open(&k, "001010000000001", "k", &sealed).unwrap();
        assert_eq!(plain.as_slice(), b"secret key bytes");
        assert_eq!(
            open(&k, "001010000000002", "k", &sealed),
            Err(CryptoError::Authentication)
        );
        assert_eq!(
            open(&k, "001010000000001", "op", &sealed),
            Err(CryptoError::Authentication)
        );
        assert_eq!(
            open(&kek(8), "001010000000001", "k", &sealed),
            Err(CryptoError::Authentication)
        );
        let mut bad = sealed.clone();
        bad[20] ^= 1;
        assert_eq!(
            open(&k, "001010000000001", "k", &bad),
            Err(CryptoError::Authentication)
        );
        assert_eq!(
            open(&k, "001010000000001", "k", &sealed[..20]),
            Err(CryptoError::Malformed)
        );
    }

    #[test]
    fn fresh_nonce_per_seal() {
        let k = kek(1);
        let a = seal(&k, "00101", "ki", b"x").unwrap();
        let b = seal(&k, "00101", "ki", b"x").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn check_value() {
        let c = make_check_value(&kek(1)).unwrap();
        assert_eq!(verify_check_value(&kek(1), &c), Ok(()));
        assert_eq!(verify_check_value(&kek(2), &c), Err(CryptoError::WrongKek));
    }

    #[test]
    fn kek_hex() {
        let k = Kek::from_hex(&"ab".repeat(32)).unwrap();
        assert_eq!(k.to_hex().as_str(), "ab".repeat(32));
        assert_eq!(Kek::from_hex("abcd").err(), Some(CryptoError::InvalidKek));
        assert_eq!(
            Kek::from_hex(&"zz".repeat(32)).err(),
            Some(CryptoError::InvalidKek)
        );
        assert_eq!(format!("{k:?}"), "Kek(..)");
    }
}
