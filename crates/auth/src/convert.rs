//! GSM/UMTS interworking: the conversion functions c2..c5 (TS 33.102
//! §6.8.1.2) and the GSM-MILENAGE A3/A8 construction (TS 55.205 §4).
//!
//! They let one UMTS subscription serve a GSM access: the AuC turns a quintet
//! into a triplet (c2, c3), and a GSM security context is lifted to UMTS keys
//! (c4, c5). c1 (RAND unchanged) needs no code.

use crate::algorithm::AkaAlgorithm;

/// c2: SRES from XRES (TS 33.102 §6.8.1.2).
///
/// XRES is zero-padded to a whole number of 32-bit words (to 128 bits for
/// the 32..128-bit XRES of 3G) and SRES is the XOR of those words. For a
/// 64-bit MILENAGE RES this is also the recommended SRES derivation #1 of
/// TS 55.205 §4. A longer input (TUAK's 256-bit RES, which has no GSM
/// interworking) is folded the same way over all its words.
pub fn c2(xres: &[u8]) -> [u8; 4] {
    let mut sres = [0u8; 4];
    for word in xres.chunks(4) {
        for (s, b) in sres.iter_mut().zip(word) {
            *s ^= b;
        }
    }
    sres
}

/// c3: Kc from CK and IK (TS 33.102 §6.8.1.2):
/// `Kc = CK1 xor CK2 xor IK1 xor IK2`, the 64-bit halves of CK and IK.
/// TS 55.205 §4 derives the GSM-MILENAGE Kc the same way.
pub fn c3(ck: &[u8; 16], ik: &[u8; 16]) -> [u8; 8] {
    let mut kc = [0u8; 8];
    for (i, k) in kc.iter_mut().enumerate() {
        *k = ck[i] ^ ck[i + 8] ^ ik[i] ^ ik[i + 8];
    }
    kc
}

/// c4: CK from Kc (TS 33.102 §6.8.1.2): `CK = Kc || Kc`.
pub fn c4(kc: &[u8; 8]) -> [u8; 16] {
    let mut ck = [0u8; 16];
    ck[..8].copy_from_slice(kc);
    ck[8..].copy_from_slice(kc);
    ck
}

/// c5: IK from Kc (TS 33.102 §6.8.1.2):
/// `IK = (Kc1 xor Kc2) || Kc || (Kc1 xor Kc2)`, Kc1 and Kc2 being the 32-bit
/// halves of Kc. Chosen so that `c3(c4(Kc), c5(Kc)) = Kc`.
pub fn c5(kc: &[u8; 8]) -> [u8; 16] {
    let mut folded = [0u8; 4];
    for (i, f) in folded.iter_mut().enumerate() {
        *f = kc[i] ^ kc[i + 4];
    }
    let mut ik = [0u8; 16];
    ik[..4].copy_from_slice(&folded);
    ik[4..12].copy_from_slice(kc);
    ik[12..].copy_from_slice(&folded);
    ik
}

/// How GSM-MILENAGE turns the 64-bit RES into SRES (TS 55.205 §4 leaves the
/// choice to the operator and recommends these two).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SresDerivation {
    /// Recommended function #1: `RES[0..32] xor RES[32..64]`, the same as
    /// [`c2`]. What a USIM in a GSM context returns (TS 33.102 §6.8.1.2).
    #[default]
    XorHalves,
    /// Recommended function #2: the first 32 bits of RES.
    Truncate,
}

impl SresDerivation {
    /// SRES from RES.
    pub fn derive(self, res: &[u8]) -> [u8; 4] {
        match self {
            SresDerivation::XorHalves => c2(res),
            SresDerivation::Truncate => {
                let mut sres = [0u8; 4];
                for (s, r) in sres.iter_mut().zip(res) {
                    *s = *r;
                }
                sres
            }
        }
    }
}

/// GSM A3/A8 from a 3G algorithm (TS 55.205 §4, GSM-MILENAGE when `alg` is
/// MILENAGE): runs f2, f3, f4 for RAND and returns `(SRES, Kc)` with
/// `Kc = c3(CK, IK)` and SRES per `sres`. With MILENAGE this costs 4 AES
/// blocks.
pub fn gsm_a3a8<A: AkaAlgorithm + ?Sized>(
    alg: &A,
    rand: &[u8; 16],
    sres: SresDerivation,
) -> ([u8; 4], [u8; 8]) {
    let keys = alg.f2345(rand);
    (sres.derive(keys.res.as_bytes()), c3(&keys.ck, &keys.ik))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c2_pads_short_xres() {
        assert_eq!(c2(&[1, 2, 3, 4]), [1, 2, 3, 4]);
        assert_eq!(c2(&[1, 2, 3, 4, 5, 6]), [1 ^ 5, 2 ^ 6, 3, 4]);
        assert_eq!(c2(&[0xff; 16]), [0; 4]);
        assert_eq!(c2(&[0xff; 12]), [0xff; 4]);
        assert_eq!(c2(&[]), [0; 4]);
    }

    #[test]
    fn c3_c4_c5_round_trip() {
        for seed in 0u8..=255 {
            let kc = core::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add(i as u8 * 17));
            assert_eq!(c3(&c4(&kc), &c5(&kc)), kc);
        }
    }

    #[test]
    fn c4_c5_layout() {
        let kc = [1, 2, 3, 4, 0x10, 0x20, 0x30, 0x40];
        assert_eq!(
            c4(&kc),
            [
                1, 2, 3, 4, 0x10, 0x20, 0x30, 0x40, 1, 2, 3, 4, 0x10, 0x20, 0x30, 0x40
            ]
        );
        assert_eq!(
            c5(&kc),
            [
                0x11, 0x22, 0x33, 0x44, 1, 2, 3, 4, 0x10, 0x20, 0x30, 0x40, 0x11, 0x22, 0x33, 0x44
            ]
        );
    }

    #[test]
    fn sres_derivations() {
        let res = [0xa5, 0x42, 0x11, 0xd5, 0xe3, 0xba, 0x50, 0xbf];
        assert_eq!(
            SresDerivation::XorHalves.derive(&res),
            [0x46, 0xf8, 0x41, 0x6a]
        );
        assert_eq!(
            SresDerivation::Truncate.derive(&res),
            [0xa5, 0x42, 0x11, 0xd5]
        );
    }
}
