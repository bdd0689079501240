//! ECIES as TS 33.501 Annex C.3 profiles it for SUCI: SECG ECIES with the
//! ANSI-X9.63 KDF over SHA-256, AES-128 in CTR mode and an 8-octet
//! HMAC-SHA-256 tag; the scheme output is `ephemeral public key ||
//! ciphertext || MAC tag`.
//!
//! The functions are split at the points TS 33.501 Annex C.4 prints test
//! data for (shared secret, keys, ICB, MAC key), so each step can be checked.

use aes::Aes128;
use cipher::{KeyIvInit, StreamCipher};
use hmac::Mac;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::SuciError;
use super::keys::{HomeNetworkPrivateKey, HomeNetworkPublicKey};
use crate::kdf::generic::hmac_sha256;

/// Octets of the MAC tag (`maclen`, TS 33.501 C.3.4.1/C.3.4.2).
pub const MAC_LEN: usize = 8;

/// AES-128 in CTR mode with the NIST SP 800-38A B.1 incrementing function
/// on the low m = 32 bits of the counter block (TS 33.501 C.3.4.0).
type Aes128Ctr = ctr::Ctr32BE<Aes128>;

/// The keying data of one ECIES run (TS 33.501 C.3.2/C.3.3): the leftmost
/// 16 octets are the encryption key, the middle 16 the initial counter
/// block, the rightmost 32 the MAC key.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct EciesKeys {
    /// EK: the AES-128 key (`enckeylen` 16).
    pub enc_key: [u8; 16],
    /// ICB: the initial counter block (`icblen` 16).
    pub icb: [u8; 16],
    /// MK: the HMAC-SHA-256 key (`mackeylen` 32).
    pub mac_key: [u8; 32],
}

impl core::fmt::Debug for EciesKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("EciesKeys(..)")
    }
}

/// ANSI-X9.63-KDF with SHA-256 (SECG SEC 1 v2 §3.6.1), SharedInfo1 = the
/// ephemeral public key as sent (TS 33.501 C.3.4): `K = SHA-256(Z || 1 ||
/// SI) || SHA-256(Z || 2 || SI)`, the counters 32-bit big-endian, split
/// into [`EciesKeys`].
pub fn derive_keys(shared_secret: &[u8; 32], ephemeral_public: &[u8]) -> EciesKeys {
    let mut keying = Zeroizing::new([0u8; 64]);
    for (counter, block) in (1u32..).zip(keying.chunks_exact_mut(32)) {
        let mut hash = Sha256::new();
        hash.update(shared_secret);
        hash.update(counter.to_be_bytes());
        hash.update(ephemeral_public);
        block.copy_from_slice(&hash.finalize());
    }
    let mut keys = EciesKeys {
        enc_key: [0; 16],
        icb: [0; 16],
        mac_key: [0; 32],
    };
    keys.enc_key.copy_from_slice(&keying[..16]);
    keys.icb.copy_from_slice(&keying[16..32]);
    keys.mac_key.copy_from_slice(&keying[32..]);
    keys
}

/// AES-128-CTR from the ICB over `data`, in place (the same for encryption
/// and decryption).
pub fn apply_keystream(keys: &EciesKeys, data: &mut [u8]) {
    let mut cipher = Aes128Ctr::new(&keys.enc_key.into(), &keys.icb.into());
    cipher.apply_keystream(data);
}

/// The MAC tag: the 8 most significant octets of
/// HMAC-SHA-256(MAC key, ciphertext) (TS 33.501 C.3.4.0).
pub fn mac_tag(keys: &EciesKeys, ciphertext: &[u8]) -> [u8; MAC_LEN] {
    let mut mac = hmac_sha256(&keys.mac_key);
    mac.update(ciphertext);
    let full = mac.finalize().into_bytes();
    let mut tag = [0u8; MAC_LEN];
    tag.copy_from_slice(&full[..MAC_LEN]);
    tag
}

/// The UE side (TS 33.501 C.3.2): conceal `plaintext` for the home network
/// key, with the ephemeral private key supplied by the caller (fresh and
/// random for every SUCI; no randomness is drawn here). Returns the scheme
/// output `ephemeral public key || ciphertext || MAC tag`.
///
/// # Errors
/// As [`HomeNetworkPublicKey::shared_secret`]; [`SuciError::InvalidIdentity`]
/// for an empty plaintext.
pub fn encrypt(
    hn_public: &HomeNetworkPublicKey,
    ephemeral_private: &[u8; 32],
    plaintext: &[u8],
) -> Result<Vec<u8>, SuciError> {
    if plaintext.is_empty() {
        return Err(SuciError::InvalidIdentity);
    }
    let (ephemeral_public, shared) = hn_public.shared_secret(ephemeral_private)?;
    let keys = derive_keys(&shared, &ephemeral_public);
    let mut output = Vec::with_capacity(ephemeral_public.len() + plaintext.len() + MAC_LEN);
    output.extend_from_slice(&ephemeral_public);
    output.extend_from_slice(plaintext);
    let start = ephemeral_public.len();
    apply_keystream(&keys, &mut output[start..]);
    let tag = mac_tag(&keys, &output[start..]);
    output.extend_from_slice(&tag);
    Ok(output)
}

/// The home network side (TS 33.501 C.3.3): split the scheme output, derive
/// the keys, check the MAC tag in constant time and only then decrypt.
///
/// # Errors
/// [`SuciError::SchemeOutputTooShort`] when there is no room for the
/// ephemeral key, one octet of ciphertext and the tag;
/// [`SuciError::InvalidEphemeralKey`] for a bad point;
/// [`SuciError::MacMismatch`] for a wrong tag.
pub fn decrypt(
    hn_private: &HomeNetworkPrivateKey,
    scheme_output: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SuciError> {
    let key_len = hn_private.profile().ephemeral_key_len();
    if scheme_output.len() < key_len + 1 + MAC_LEN {
        return Err(SuciError::SchemeOutputTooShort);
    }
    let (ephemeral_public, rest) = scheme_output.split_at(key_len);
    let (ciphertext, tag) = rest.split_at(rest.len() - MAC_LEN);
    let shared = hn_private.shared_secret(ephemeral_public)?;
    let keys = derive_keys(&shared, ephemeral_public);
    let expected = mac_tag(&keys, ciphertext);
    if !bool::from(expected.ct_eq(tag)) {
        return Err(SuciError::MacMismatch);
    }
    let mut plaintext = Zeroizing::new(ciphertext.to_vec());
    apply_keystream(&keys, &mut plaintext);
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctr_counter_wraps_in_low_32_bits() {
        // With ICB low word ff..ff the second block's counter is the ICB with
        // the low word 0 and the high 96 bits unchanged (SP 800-38A B.1, m=32).
        let keys = EciesKeys {
            enc_key: [0x11; 16],
            icb: [0xff; 16],
            mac_key: [0; 32],
        };
        let mut stream = [0u8; 32];
        apply_keystream(&keys, &mut stream);
        let second = EciesKeys {
            enc_key: [0x11; 16],
            icb: {
                let mut icb = [0xff; 16];
                icb[12..].copy_from_slice(&[0; 4]);
                icb
            },
            mac_key: [0; 32],
        };
        let mut expected = [0u8; 16];
        apply_keystream(&second, &mut expected);
        assert_eq!(stream[16..], expected);
    }

    #[test]
    fn round_trip_both_profiles() {
        for (profile, hn, eph) in [
            (super::super::Profile::A, [0x42u8; 32], [0x24u8; 32]),
            (super::super::Profile::B, [0x42u8; 32], [0x24u8; 32]),
        ] {
            let private = HomeNetworkPrivateKey::from_bytes(profile, &hn).unwrap();
            let output = encrypt(&private.public_key(), &eph, b"secret").unwrap();
            assert_eq!(output.len(), profile.ephemeral_key_len() + 6 + MAC_LEN);
            assert_eq!(&**decrypt(&private, &output).unwrap(), b"secret");
            let mut forged = output.clone();
            let last = forged.len() - 1;
            forged[last] ^= 1;
            assert_eq!(decrypt(&private, &forged), Err(SuciError::MacMismatch));
            let mut forged = output.clone();
            forged[profile.ephemeral_key_len()] ^= 1;
            assert_eq!(decrypt(&private, &forged), Err(SuciError::MacMismatch));
            assert_eq!(
                decrypt(&private, &output[..profile.ephemeral_key_len() + MAC_LEN]),
                Err(SuciError::SchemeOutputTooShort)
            );
        }
    }

    #[test]
    fn rejects_bad_ephemeral_keys() {
        let a = HomeNetworkPrivateKey::from_bytes(super::super::Profile::A, &[1; 32]).unwrap();
        // The all-zero u-coordinate has small order: the secret would be zero.
        let mut output = vec![0u8; 32];
        output.extend_from_slice(&[0u8; 9]);
        assert_eq!(decrypt(&a, &output), Err(SuciError::InvalidEphemeralKey));
        let b = HomeNetworkPrivateKey::from_bytes(super::super::Profile::B, &[1; 32]).unwrap();
        // Not compressed (tag 0x04), and an x with no point on the curve.
        let mut output = vec![0x04u8; 33];
        output.extend_from_slice(&[0u8; 9]);
        assert_eq!(decrypt(&b, &output), Err(SuciError::InvalidEphemeralKey));
        let mut output = vec![0x02u8];
        output.extend_from_slice(&[0xff; 32]);
        output.extend_from_slice(&[0u8; 9]);
        assert_eq!(decrypt(&b, &output), Err(SuciError::InvalidEphemeralKey));
    }
}
