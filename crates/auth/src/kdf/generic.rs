//! The generic 3GPP key derivation function (TS 33.220 Annex B.2).
//!
//! Every key of the EPS, 5G, EAP-AKA' and GBA hierarchies is
//! `HMAC-SHA-256(Key, S)` with `S = FC || P0 || L0 || P1 || L1 || ...`, where
//! `FC` is one octet naming the derivation and each `Li` is the length of `Pi`
//! as two octets, big-endian (TS 33.220 Annex B.2.0). The derivations in the
//! sibling modules only choose `FC`, the key and the parameters.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::KdfError;

/// The longest parameter `Pi`: its length `Li` is two octets
/// (TS 33.220 Annex B.2.0).
pub const MAX_PARAMETER_LEN: usize = 0xffff;

/// The SHA-256 block size, which HMAC pads its key to (RFC 2104 §2).
const BLOCK_LEN: usize = 64;

/// An HMAC-SHA-256 instance keyed with `key`, built without a fallible call.
///
/// RFC 2104 §2: a key longer than the block is hashed first, and the key is
/// then zero-padded to the block size; doing that here gives the exact HMAC
/// of `key` for every length, so no error path is needed.
pub(crate) fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    let mut block = Zeroizing::new([0u8; BLOCK_LEN]);
    if key.len() > BLOCK_LEN {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    <Hmac<Sha256> as KeyInit>::new(&(*block).into())
}

/// The generic KDF of TS 33.220 Annex B.2: `HMAC-SHA-256(key, FC || P0 ||
/// L0 || P1 || L1 || ...)`, with `Li` the two-octet big-endian length of `Pi`.
///
/// # Errors
/// [`KdfError::ParameterTooLong`] when a parameter is longer than
/// [`MAX_PARAMETER_LEN`] octets, which `Li` cannot express.
pub fn kdf(key: &[u8], fc: u8, params: &[&[u8]]) -> Result<[u8; 32], KdfError> {
    let mut mac = hmac_sha256(key);
    mac.update(&[fc]);
    for (index, param) in params.iter().enumerate() {
        let len = u16::try_from(param.len()).map_err(|_| KdfError::ParameterTooLong {
            index,
            len: param.len(),
        })?;
        mac.update(param);
        mac.update(&len.to_be_bytes());
    }
    Ok(mac.finalize().into_bytes().into())
}

/// [`kdf`] for the crate's own derivations whose parameters are fixed-size
/// arrays or values already checked to be at most [`MAX_PARAMETER_LEN`]
/// octets, so the length check cannot fail.
pub(crate) fn kdf_checked(key: &[u8], fc: u8, params: &[&[u8]]) -> [u8; 32] {
    match kdf(key, fc, params) {
        Ok(out) => out,
        Err(_) => unreachable!("callers pass parameters shorter than 64 KiB"),
    }
}

/// `CK || IK`, the key of the derivations from an AKA run (TS 33.401 A.2,
/// TS 33.501 A.2, TS 33.402 A.2, and `Ks` of TS 33.220 §4.5.2).
pub(crate) fn ck_ik(ck: &[u8; 16], ik: &[u8; 16]) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    key[..16].copy_from_slice(ck);
    key[16..].copy_from_slice(ik);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hmac_bytes(key: &[u8], data: &[u8]) -> [u8; 32] {
        let mut mac = hmac_sha256(key);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
            .collect()
    }

    // RFC 4231 §4.2 (test case 1): a 20-octet key, shorter than the block.
    #[test]
    fn hmac_short_key_matches_rfc4231_case1() {
        let out = hmac_bytes(&[0x0b; 20], b"Hi There");
        assert_eq!(
            out.to_vec(),
            unhex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        );
    }

    // RFC 4231 §4.7 (test case 6): a 131-octet key, hashed first.
    #[test]
    fn hmac_long_key_matches_rfc4231_case6() {
        let out = hmac_bytes(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            out.to_vec(),
            unhex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        );
    }

    // A 64-octet key is used as is, unhashed (RFC 2104 §2); compared with
    // the fallible constructor of the hmac crate.
    #[test]
    fn hmac_block_sized_key_matches_hmac_crate() {
        let key = [0x5c_u8; 64];
        let mut reference = match <Hmac<Sha256> as KeyInit>::new_from_slice(&key) {
            Ok(mac) => mac,
            Err(_) => panic!("HMAC takes any key length"),
        };
        reference.update(b"abc");
        let expected: [u8; 32] = reference.finalize().into_bytes().into();
        assert_eq!(hmac_bytes(&key, b"abc"), expected);
    }

    #[test]
    fn s_is_fc_then_each_parameter_and_its_length() {
        let key = [7u8; 32];
        let got = kdf(&key, 0x6c, &[b"abc", &[1, 2]]).unwrap_or([0; 32]);
        let s = [0x6c, b'a', b'b', b'c', 0, 3, 1, 2, 0, 2];
        assert_eq!(got, hmac_bytes(&key, &s));
    }

    #[test]
    fn over_long_parameter_is_an_error() {
        let long = vec![0u8; MAX_PARAMETER_LEN + 1];
        assert_eq!(
            kdf(&[0; 32], 0x10, &[b"ok", &long]),
            Err(KdfError::ParameterTooLong {
                index: 1,
                len: MAX_PARAMETER_LEN + 1
            })
        );
        assert!(kdf(&[0; 32], 0x10, &[&long[..MAX_PARAMETER_LEN]]).is_ok());
    }
}
