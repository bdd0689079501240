//! EAP-AKA' key derivation (RFC 9048 §3.3-3.4, unchanged from RFC 5448):
//! CK'/IK' (TS 33.402 Annex A.2), PRF' and the session keys.

use hmac::Mac;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::KdfError;
use super::generic::{ck_ik, hmac_sha256, kdf};

/// FC of the CK'/IK' derivation (TS 33.402 A.2; TS 33.501 A.3).
pub const FC_CK_IK_PRIME: u8 = 0x20;

/// The label that starts PRF' input S for a full authentication
/// (RFC 9048 §3.3).
const LABEL: &[u8] = b"EAP-AKA'";

/// Octets of MK: K_encr 16 + K_aut 32 + K_re 32 + MSK 64 + EMSK 64
/// (RFC 9048 §3.3).
const MK_LEN: usize = 16 + 32 + 32 + 64 + 64;

/// CK' and IK' (TS 33.402 Annex A.2, RFC 9048 §3.3):
/// `CK' || IK' = KDF(CK || IK, 0x20, access network name, SQN ⊕ AK)`.
///
/// The access network name binds the keys to the access the peer uses:
/// `"WLAN"` for untrusted WLAN, or in 5G the serving network name
/// (TS 33.501 A.3, RFC 9048 §3.1).
///
/// # Errors
/// [`KdfError::ParameterTooLong`] when the name exceeds 65535 octets.
pub fn ck_ik_prime(
    ck: &[u8; 16],
    ik: &[u8; 16],
    access_network_name: &[u8],
    sqn_xor_ak: &[u8; 6],
) -> Result<([u8; 16], [u8; 16]), KdfError> {
    let mut out = kdf(
        &*ck_ik(ck, ik),
        FC_CK_IK_PRIME,
        &[access_network_name, sqn_xor_ak],
    )?;
    let mut ck_prime = [0u8; 16];
    let mut ik_prime = [0u8; 16];
    ck_prime.copy_from_slice(&out[..16]);
    ik_prime.copy_from_slice(&out[16..]);
    out.zeroize();
    Ok((ck_prime, ik_prime))
}

/// PRF' of RFC 9048 §3.4 (RFC 5448 §3.4): `T1 || T2 || ...` with
/// `T1 = HMAC-SHA-256(K, S || 0x01)` and
/// `Tn = HMAC-SHA-256(K, T(n-1) || S || n)`, filling `out`.
///
/// The counter is one octet, so at most 255 blocks (8160 octets) exist;
/// `out` longer than that is [`KdfError::OutputTooLong`].
pub fn prf_prime(key: &[u8], s: &[u8], out: &mut [u8]) -> Result<(), KdfError> {
    if out.len() > 255 * 32 {
        return Err(KdfError::OutputTooLong { len: out.len() });
    }
    fill(key, s, out);
    Ok(())
}

/// PRF' into `out`, which holds at most 255 blocks (checked by callers).
fn fill(key: &[u8], s: &[u8], out: &mut [u8]) {
    let mut previous = [0u8; 32];
    for (counter, chunk) in (1..=255u8).zip(out.chunks_mut(32)) {
        let mut mac = hmac_sha256(key);
        if counter > 1 {
            mac.update(&previous);
        }
        mac.update(s);
        mac.update(&[counter]);
        previous = mac.finalize().into_bytes().into();
        chunk.copy_from_slice(&previous[..chunk.len()]);
    }
    previous.zeroize();
}

/// The keys of one EAP-AKA' full authentication (RFC 9048 §3.3), split from
/// `MK = PRF'(IK' || CK', "EAP-AKA'" || Identity)`.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct EapAkaPrimeKeys {
    /// K_encr: AES-CBC key of AT_ENCR_DATA.
    pub k_encr: [u8; 16],
    /// K_aut: HMAC-SHA-256-128 key of AT_MAC.
    pub k_aut: [u8; 32],
    /// K_re: key of fast re-authentication.
    pub k_re: [u8; 32],
    /// MSK: the Master Session Key exported to the authenticator.
    pub msk: [u8; 64],
    /// EMSK: the Extended Master Session Key.
    pub emsk: [u8; 64],
}

impl EapAkaPrimeKeys {
    /// KAUSF when EAP-AKA' is the 5G primary authentication: the 256 most
    /// significant bits of EMSK (TS 33.501 §6.1.3.1).
    pub fn kausf(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&self.emsk[..32]);
        out
    }
}

impl core::fmt::Debug for EapAkaPrimeKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("EapAkaPrimeKeys(..)")
    }
}

/// The EAP-AKA' session keys from CK' and IK' and the peer identity
/// (RFC 9048 §3.3): `MK = PRF'(IK' || CK', "EAP-AKA'" || Identity)`.
///
/// `identity` is the identity the peer last sent (AT_IDENTITY or the
/// EAP-Response/Identity), without any terminating NUL.
pub fn keys(ck_prime: &[u8; 16], ik_prime: &[u8; 16], identity: &[u8]) -> EapAkaPrimeKeys {
    let key = ck_ik(ik_prime, ck_prime); // IK' first (RFC 9048 §3.3)
    let mut s = Vec::with_capacity(LABEL.len() + identity.len());
    s.extend_from_slice(LABEL);
    s.extend_from_slice(identity);
    let mut mk = [0u8; MK_LEN];
    fill(&*key, &s, &mut mk); // 208 octets: 7 blocks
    let mut keys = EapAkaPrimeKeys {
        k_encr: [0; 16],
        k_aut: [0; 32],
        k_re: [0; 32],
        msk: [0; 64],
        emsk: [0; 64],
    };
    keys.k_encr.copy_from_slice(&mk[..16]);
    keys.k_aut.copy_from_slice(&mk[16..48]);
    keys.k_re.copy_from_slice(&mk[48..80]);
    keys.msk.copy_from_slice(&mk[80..144]);
    keys.emsk.copy_from_slice(&mk[144..208]);
    mk.zeroize();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prf_prime_blocks_chain() {
        let mut long = [0u8; 64];
        prf_prime(b"key", b"seed", &mut long).unwrap();
        let mut short = [0u8; 40];
        prf_prime(b"key", b"seed", &mut short).unwrap();
        // A shorter output is a prefix of a longer one.
        assert_eq!(long[..40], short[..]);
        // T1 = HMAC(K, S || 1)
        let mut mac = hmac_sha256(b"key");
        mac.update(b"seed\x01");
        let t1: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(long[..32], t1);
        // T2 = HMAC(K, T1 || S || 2)
        let mut mac = hmac_sha256(b"key");
        mac.update(&t1);
        mac.update(b"seed\x02");
        let t2: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(long[32..], t2);
    }

    #[test]
    fn prf_prime_limit() {
        let mut max = vec![0u8; 255 * 32];
        assert!(prf_prime(b"k", b"s", &mut max).is_ok());
        let mut over = vec![0u8; 255 * 32 + 1];
        assert_eq!(
            prf_prime(b"k", b"s", &mut over),
            Err(KdfError::OutputTooLong { len: 255 * 32 + 1 })
        );
    }
}
