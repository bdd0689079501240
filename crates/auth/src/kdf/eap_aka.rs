//! EAP-AKA key derivation (RFC 4187 §7): the master key MK and the FIPS 186-2
//! pseudo-random function that expands it into the session keys.
//!
//! RFC 4187 §7 (like EAP-SIM, RFC 4186 §7) uses the generator of FIPS 186-2
//! Appendix 3.1 as amended by Change Notice 1 for general-purpose use, with
//! the SHA-1 based function G of Appendix 3.3, `b = 160` and every optional
//! user input `XSEED_j = 0`.

use sha1::{Digest, Sha1};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// SHA-1's initial state, the constant `t` of FIPS 186-2 Appendix 3.3.
const T: [u32; 5] = [
    0x6745_2301,
    0xefcd_ab89,
    0x98ba_dcfe,
    0x1032_5476,
    0xc3d2_e1f0,
];

/// Octets the key split consumes: K_encr 16 + K_aut 16 + MSK 64 + EMSK 64
/// (RFC 4187 §7).
const KEYS_LEN: usize = 16 + 16 + 64 + 64;

/// G(t, c) of FIPS 186-2 Appendix 3.3: the SHA-1 compression function run once
/// from state `t` over the 160-bit `c` zero-padded to a 512-bit block, without
/// SHA-1's length padding.
fn g(c: &[u8; 20]) -> [u8; 20] {
    let mut block = [0u8; 64];
    block[..20].copy_from_slice(c);
    let mut state = T;
    sha1::block_api::compress(&mut state, core::slice::from_ref(&block));
    block.zeroize();
    let mut out = [0u8; 20];
    for (word, bytes) in state.iter().zip(out.chunks_exact_mut(4)) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    state.zeroize();
    out
}

/// The FIPS 186-2 (Change Notice 1) general-purpose PRF with `XSEED_j = 0`,
/// as RFC 4187 §7 uses it: fills `out` with `w_0 || w_1 || ...`, where
/// `w_i = G(t, XKEY)` and then `XKEY = (1 + XKEY + w_i) mod 2^160`.
///
/// FIPS 186-2 emits `x_j = w_0 || w_1` pairs; producing the `w_i` one after
/// another gives the same stream, so any output length is allowed.
pub fn fips186_2_prf(xkey: &[u8; 20], out: &mut [u8]) {
    let mut xkey = *xkey;
    for chunk in out.chunks_mut(20) {
        let mut w = g(&xkey);
        let mut carry = 1u16;
        for (x, &wi) in xkey.iter_mut().zip(w.iter()).rev() {
            let sum = u16::from(*x) + u16::from(wi) + carry;
            *x = sum as u8;
            carry = sum >> 8;
        }
        chunk.copy_from_slice(&w[..chunk.len()]);
        w.zeroize();
    }
    xkey.zeroize();
}

/// The master key of a full EAP-AKA authentication (RFC 4187 §7):
/// `MK = SHA1(Identity | IK | CK)`.
///
/// `identity` is the identity the peer last sent (AT_IDENTITY or the
/// EAP-Response/Identity), without any terminating NUL.
pub fn master_key(identity: &[u8], ik: &[u8; 16], ck: &[u8; 16]) -> [u8; 20] {
    let mut hash = Sha1::new();
    hash.update(identity);
    hash.update(ik);
    hash.update(ck);
    hash.finalize().into()
}

/// The keys of one EAP-AKA full authentication (RFC 4187 §7).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct EapAkaKeys {
    /// K_encr: AES-CBC key of AT_ENCR_DATA.
    pub k_encr: [u8; 16],
    /// K_aut: HMAC-SHA1-128 key of AT_MAC.
    pub k_aut: [u8; 16],
    /// MSK: the Master Session Key exported to the authenticator.
    pub msk: [u8; 64],
    /// EMSK: the Extended Master Session Key.
    pub emsk: [u8; 64],
}

impl core::fmt::Debug for EapAkaKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("EapAkaKeys(..)")
    }
}

/// Split the PRF output of a master key into the session keys
/// (RFC 4187 §7): K_encr, K_aut, MSK, EMSK in that order.
pub fn keys_from_master_key(mk: &[u8; 20]) -> EapAkaKeys {
    let mut stream = [0u8; KEYS_LEN];
    fips186_2_prf(mk, &mut stream);
    let mut keys = EapAkaKeys {
        k_encr: [0; 16],
        k_aut: [0; 16],
        msk: [0; 64],
        emsk: [0; 64],
    };
    keys.k_encr.copy_from_slice(&stream[..16]);
    keys.k_aut.copy_from_slice(&stream[16..32]);
    keys.msk.copy_from_slice(&stream[32..96]);
    keys.emsk.copy_from_slice(&stream[96..160]);
    stream.zeroize();
    keys
}

/// The EAP-AKA session keys from the peer identity, IK and CK (RFC 4187 §7).
pub fn keys(identity: &[u8], ik: &[u8; 16], ck: &[u8; 16]) -> EapAkaKeys {
    let mut mk = master_key(identity, ik, ck);
    let keys = keys_from_master_key(&mk);
    mk.zeroize();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xkey_addition_carries_across_octets() {
        // Stream for XKEY = all-ones: w_0 = G(ff..ff); then
        // XKEY = 1 + ff..ff + w_0 = w_0 (mod 2^160), so w_1 = G(w_0).
        let mut out = [0u8; 40];
        fips186_2_prf(&[0xff; 20], &mut out);
        let w0 = g(&[0xff; 20]);
        assert_eq!(out[..20], w0);
        assert_eq!(out[20..], g(&w0));
    }

    #[test]
    fn master_key_is_sha1_of_identity_ik_ck() {
        let mk = master_key(b"id", &[1; 16], &[2; 16]);
        let mut input = b"id".to_vec();
        input.extend_from_slice(&[1; 16]);
        input.extend_from_slice(&[2; 16]);
        let expected: [u8; 20] = Sha1::digest(&input).into();
        assert_eq!(mk, expected);
    }
}
