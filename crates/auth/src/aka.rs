//! UMTS AKA on both ends (TS 33.102 §6.3): the AuC's authentication vectors
//! and resynchronisation, and the USIM's verification of AUTN.
//!
//! Everything here is generic over [`AkaAlgorithm`], so it works the same with
//! MILENAGE and TUAK. SQN bookkeeping lives in [`crate::sqn`].
//!
//! The order of the USIM's checks is fixed by §6.3.3: first XMAC against MAC-A
//! (a MAC failure leaves the SQN state untouched, so a forged challenge cannot
//! move it), then the freshness of SQN (a failure answers with AUTS).

use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::Zeroize;

use crate::algorithm::{AkaAlgorithm, AkaKeys, Res};
use crate::convert;
use crate::sqn::{Sqn, SqnRejection, SqnState};

/// AMF* used in MAC-S: all zero (TS 33.102 §6.3.3, the "dummy" AMF of the
/// resynchronisation message).
pub const AMF_RESYNC: [u8; 2] = [0, 0];

/// Errors of the network side of AKA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AkaError {
    /// MAC-S in AUTS does not match f1*(SQN_MS, RAND, AMF*): the AUTS is not
    /// from this subscriber's USIM for this RAND (§6.3.5), so SQN_HE must not
    /// move.
    #[error("AUTS carries a wrong MAC-S")]
    MacS,
}

/// The USIM's refusal of a challenge (TS 33.102 §6.3.3); on the radio it
/// becomes an authentication failure with the cause given here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AkaFailure {
    /// XMAC differs from MAC-A: the network is not authentic, or RAND/AUTN were
    /// damaged. Nothing in the USIM changed.
    #[error("MAC failure")]
    MacFailure,
    /// The challenge is authentic but its SQN is not acceptable (replayed,
    /// stale, or too far ahead); `auts` lets the AuC resynchronise (§6.3.5).
    #[error("synchronisation failure ({reason:?})")]
    SyncFailure {
        /// AUTS = SQN_MS ⊕ AK* || MAC-S.
        auts: [u8; 14],
        /// Which check of Annex C.2 refused the SQN.
        reason: SqnRejection,
    },
}

/// AUTN split into its fields: SQN ⊕ AK || AMF || MAC-A (TS 33.102 §6.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Autn {
    /// SQN ⊕ AK (the anonymity key hides SQN from eavesdroppers).
    pub sqn_xor_ak: [u8; 6],
    /// Authentication management field.
    pub amf: [u8; 2],
    /// MAC-A = f1(SQN, RAND, AMF).
    pub mac_a: [u8; 8],
}

impl Autn {
    /// Split the 16 bytes of AUTN.
    pub fn from_bytes(autn: &[u8; 16]) -> Autn {
        let mut out = Autn {
            sqn_xor_ak: [0; 6],
            amf: [0; 2],
            mac_a: [0; 8],
        };
        out.sqn_xor_ak.copy_from_slice(&autn[..6]);
        out.amf.copy_from_slice(&autn[6..8]);
        out.mac_a.copy_from_slice(&autn[8..]);
        out
    }

    /// The 16 bytes of AUTN.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..6].copy_from_slice(&self.sqn_xor_ak);
        out[6..8].copy_from_slice(&self.amf);
        out[8..].copy_from_slice(&self.mac_a);
        out
    }
}

fn xor6(a: &[u8; 6], b: &[u8; 6]) -> [u8; 6] {
    let mut out = [0u8; 6];
    for (o, (x, y)) in out.iter_mut().zip(a.iter().zip(b)) {
        *o = x ^ y;
    }
    out
}

/// A UMTS authentication vector, the quintet RAND, XRES, CK, IK, AUTN
/// (TS 33.102 §6.3.2). CK and IK are wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthVector {
    /// The challenge.
    pub rand: [u8; 16],
    /// The expected response f2(RAND).
    pub xres: Res,
    /// Cipher key f3(RAND).
    pub ck: [u8; 16],
    /// Integrity key f4(RAND).
    pub ik: [u8; 16],
    /// SQN ⊕ AK || AMF || MAC-A.
    pub autn: [u8; 16],
}

impl core::fmt::Debug for AuthVector {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuthVector")
            .field("rand", &self.rand)
            .field("autn", &self.autn)
            .finish_non_exhaustive()
    }
}

impl Drop for AuthVector {
    fn drop(&mut self) {
        self.ck.zeroize();
        self.ik.zeroize();
    }
}

impl AuthVector {
    /// The GSM triplet for this quintet, for a GSM BSS or a GSM-only VLR
    /// (TS 33.102 §6.8.2.1): SRES = c2(XRES), Kc = c3(CK, IK).
    pub fn to_triplet(&self) -> Triplet {
        Triplet {
            rand: self.rand,
            sres: convert::c2(self.xres.as_bytes()),
            kc: convert::c3(&self.ck, &self.ik),
        }
    }

    /// Whether `res` from the user equals XRES, compared in constant time
    /// (§6.3.3, performed by the VLR/SGSN).
    pub fn check_res(&self, res: &[u8]) -> bool {
        res_matches(&self.xres, res)
    }
}

/// A GSM triplet RAND, SRES, Kc (TS 43.020; from a quintet by c2/c3).
/// Kc is wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Triplet {
    /// The challenge.
    pub rand: [u8; 16],
    /// The expected signed response.
    pub sres: [u8; 4],
    /// The GSM cipher key.
    pub kc: [u8; 8],
}

impl core::fmt::Debug for Triplet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Triplet")
            .field("rand", &self.rand)
            .field("sres", &self.sres)
            .finish_non_exhaustive()
    }
}

impl Drop for Triplet {
    fn drop(&mut self) {
        self.kc.zeroize();
    }
}

/// Compare a received RES with XRES in constant time (the length is public).
pub fn res_matches(xres: &Res, res: &[u8]) -> bool {
    xres.as_bytes().ct_eq(res).into()
}

/// Build an authentication vector (TS 33.102 §6.3.2, figure 8):
/// MAC = f1(SQN, RAND, AMF), XRES = f2, CK = f3, IK = f4, AK = f5,
/// AUTN = SQN ⊕ AK || AMF || MAC.
pub fn generate_vector<A: AkaAlgorithm + ?Sized>(
    alg: &A,
    rand: &[u8; 16],
    sqn: Sqn,
    amf: &[u8; 2],
) -> AuthVector {
    let sqn_bytes = sqn.to_bytes();
    let (mac_a, keys) = alg.f1_f2345(rand, &sqn_bytes, amf);
    assemble_vector(rand, &sqn_bytes, amf, mac_a, &keys)
}

/// Vectors for many (RAND, SQN) pairs with one AMF, in order: the AuC's
/// path, letting the algorithm interleave its work across vectors
/// ([`AkaAlgorithm::f1_f2345_batch`]).
pub fn generate_vectors<A: AkaAlgorithm + ?Sized>(
    alg: &A,
    inputs: &[([u8; 16], Sqn)],
    amf: &[u8; 2],
) -> Vec<AuthVector> {
    let raw: Vec<([u8; 16], [u8; 6])> = inputs
        .iter()
        .map(|(rand, sqn)| (*rand, sqn.to_bytes()))
        .collect();
    let mut outputs = Vec::with_capacity(raw.len());
    alg.f1_f2345_batch(&raw, amf, &mut outputs);
    raw.iter()
        .zip(&outputs)
        .map(|((rand, sqn), (mac_a, keys))| assemble_vector(rand, sqn, amf, *mac_a, keys))
        .collect()
}

fn assemble_vector(
    rand: &[u8; 16],
    sqn: &[u8; 6],
    amf: &[u8; 2],
    mac_a: [u8; 8],
    keys: &AkaKeys,
) -> AuthVector {
    let autn = Autn {
        sqn_xor_ak: xor6(sqn, &keys.ak),
        amf: *amf,
        mac_a,
    };
    AuthVector {
        rand: *rand,
        xres: keys.res,
        ck: keys.ck,
        ik: keys.ik,
        autn: autn.to_bytes(),
    }
}

/// AUTS = SQN_MS ⊕ AK* || MAC-S, with AK* = f5*(RAND) and
/// MAC-S = f1*(SQN_MS, RAND, AMF*) (TS 33.102 §6.3.3, figure 9).
pub fn compute_auts<A: AkaAlgorithm + ?Sized>(alg: &A, rand: &[u8; 16], sqn_ms: Sqn) -> [u8; 14] {
    let sqn_bytes = sqn_ms.to_bytes();
    let ak_star = alg.f5_star(rand);
    let mac_s = alg.f1_star(rand, &sqn_bytes, &AMF_RESYNC);
    let mut auts = [0u8; 14];
    auts[..6].copy_from_slice(&xor6(&sqn_bytes, &ak_star));
    auts[6..].copy_from_slice(&mac_s);
    auts
}

/// The AuC's half of resynchronisation (TS 33.102 §6.3.5): recover SQN_MS
/// from AUTS with f5*(RAND) and check MAC-S (constant time). `rand` is the
/// RAND of the challenge the USIM refused. On success the caller moves SEQ_HE
/// with [`crate::sqn::SqnGenerator::resync`].
pub fn resync<A: AkaAlgorithm + ?Sized>(
    alg: &A,
    rand: &[u8; 16],
    auts: &[u8; 14],
) -> Result<Sqn, AkaError> {
    let mut conc = [0u8; 6];
    conc.copy_from_slice(&auts[..6]);
    let sqn_bytes = xor6(&conc, &alg.f5_star(rand));
    let xmac_s = alg.f1_star(rand, &sqn_bytes, &AMF_RESYNC);
    if bool::from(xmac_s.ct_eq(&auts[6..])) {
        Ok(Sqn::from_bytes(&sqn_bytes))
    } else {
        Err(AkaError::MacS)
    }
}

/// What the USIM returns after accepting a challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsimAuth {
    /// RES, CK, IK and AK for this RAND.
    pub keys: AkaKeys,
    /// The SQN the network sent, now recorded as accepted.
    pub sqn: Sqn,
    /// The AMF the network sent (its separation bit is checked by the ME, not
    /// the USIM: TS 33.401 §6.1.1).
    pub amf: [u8; 2],
}

/// The USIM's half of AKA (TS 33.102 §6.3.3, figure 9):
/// 1. AK = f5(RAND), SQN = (SQN ⊕ AK) ⊕ AK;
/// 2. XMAC = f1(SQN, RAND, AMF) must equal MAC-A (constant time) or the answer
///    is a MAC failure and `state` is untouched;
/// 3. SQN must pass the checks of Annex C.2 or the answer is a synchronisation
///    failure with AUTS computed from SQN_MS;
/// 4. otherwise SQN is recorded and RES, CK, IK are returned.
pub fn verify_autn<A: AkaAlgorithm + ?Sized>(
    alg: &A,
    rand: &[u8; 16],
    autn: &[u8; 16],
    state: &mut SqnState,
) -> Result<UsimAuth, AkaFailure> {
    let fields = Autn::from_bytes(autn);
    let keys = alg.f2345(rand);
    let sqn_bytes = xor6(&fields.sqn_xor_ak, &keys.ak);
    let xmac = alg.f1(rand, &sqn_bytes, &fields.amf);
    if !bool::from(xmac.ct_eq(&fields.mac_a)) {
        return Err(AkaFailure::MacFailure);
    }
    let sqn = Sqn::from_bytes(&sqn_bytes);
    match state.accept(sqn) {
        Ok(()) => Ok(UsimAuth {
            keys,
            sqn,
            amf: fields.amf,
        }),
        Err(reason) => Err(AkaFailure::SyncFailure {
            auts: compute_auts(alg, rand, state.sqn_ms()),
            reason,
        }),
    }
}

/// A USIM's answer in GSM context (TS 33.102 §6.8.1.2): RES, CK, IK from
/// RAND (no AUTN, no SQN check), then SRES = c2(RES) and Kc = c3(CK, IK).
pub fn gsm_context<A: AkaAlgorithm + ?Sized>(alg: &A, rand: &[u8; 16]) -> ([u8; 4], [u8; 8]) {
    let keys = alg.f2345(rand);
    (
        convert::c2(keys.res.as_bytes()),
        convert::c3(&keys.ck, &keys.ik),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sqn::SqnPolicy;

    /// A keyed stand-in for the 3G functions, enough to test the protocol
    /// logic (the real algorithms are tested against vectors in tests/aka.rs).
    pub(crate) struct Toy(pub u8);

    impl Toy {
        fn mix(&self, tag: u8, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 8] {
            let mut out = [0u8; 8];
            let mut acc = self.0 ^ tag;
            for (i, o) in out.iter_mut().enumerate() {
                acc = acc
                    .rotate_left(3)
                    .wrapping_add(rand[i] ^ rand[i + 8] ^ sqn[i % 6] ^ amf[i % 2]);
                *o = acc ^ self.0;
            }
            out
        }
    }

    impl AkaAlgorithm for Toy {
        fn f1(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 8] {
            self.mix(1, rand, sqn, amf)
        }
        fn f1_star(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 8] {
            self.mix(2, rand, sqn, amf)
        }
        fn f2345(&self, rand: &[u8; 16]) -> AkaKeys {
            let mut ck = *rand;
            let mut ik = *rand;
            ck.iter_mut().for_each(|b| *b ^= self.0 ^ 0x0c);
            ik.iter_mut().for_each(|b| *b ^= self.0 ^ 0x1c);
            let res = self.mix(3, rand, &[0; 6], &[0; 2]);
            let ak = self.mix(4, rand, &[0; 6], &[0; 2]);
            AkaKeys {
                res: Res::new(&res).unwrap_or_else(|| unreachable!()),
                ck,
                ik,
                ak: [ak[0], ak[1], ak[2], ak[3], ak[4], ak[5]],
            }
        }
        fn f5_star(&self, rand: &[u8; 16]) -> [u8; 6] {
            let a = self.mix(5, rand, &[0; 6], &[0; 2]);
            [a[0], a[1], a[2], a[3], a[4], a[5]]
        }
    }

    fn sqn(v: u64) -> Sqn {
        Sqn::new(v).unwrap_or(Sqn::MAX)
    }

    fn fresh_state() -> SqnState {
        SqnState::new(SqnPolicy::default()).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn autn_fields_round_trip() {
        let bytes: [u8; 16] = core::array::from_fn(|i| i as u8);
        let autn = Autn::from_bytes(&bytes);
        assert_eq!(autn.sqn_xor_ak, [0, 1, 2, 3, 4, 5]);
        assert_eq!(autn.amf, [6, 7]);
        assert_eq!(autn.to_bytes(), bytes);
    }

    #[test]
    fn vector_is_accepted_once() {
        let alg = Toy(7);
        let rand = [0x42; 16];
        let v = generate_vector(&alg, &rand, sqn(32), &[0x80, 0]);
        let mut st = fresh_state();
        let ok = verify_autn(&alg, &rand, &v.autn, &mut st);
        let ok = ok.unwrap_or_else(|e| panic!("refused: {e}"));
        assert_eq!(ok.sqn, sqn(32));
        assert_eq!(ok.amf, [0x80, 0]);
        assert!(v.check_res(ok.keys.res.as_bytes()));
        assert!(!v.check_res(&[0; 8]));
        assert_eq!((ok.keys.ck, ok.keys.ik), (v.ck, v.ik));
        // Replay: authentic but stale -> AUTS with SQN_MS = 32.
        match verify_autn(&alg, &rand, &v.autn, &mut st) {
            Err(AkaFailure::SyncFailure { auts, reason }) => {
                assert_eq!(reason, SqnRejection::NotFresh);
                assert_eq!(resync(&alg, &rand, &auts), Ok(sqn(32)));
                // AUTS checked under another key or RAND fails.
                assert_eq!(resync(&Toy(8), &rand, &auts), Err(AkaError::MacS));
                let mut other = rand;
                other[3] ^= 0x10;
                assert_eq!(resync(&alg, &other, &auts), Err(AkaError::MacS));
            }
            other => panic!("expected sync failure, got {other:?}"),
        }
    }

    #[test]
    fn mac_failure_changes_nothing() {
        let alg = Toy(7);
        let rand = [0x11; 16];
        let mut st = fresh_state();
        let v = generate_vector(&Toy(9), &rand, sqn(64), &[0, 0]);
        let before = st.clone();
        assert_eq!(
            verify_autn(&alg, &rand, &v.autn, &mut st),
            Err(AkaFailure::MacFailure)
        );
        assert_eq!(st, before);
        // A flipped AMF or SQN bit is also a MAC failure.
        let good = generate_vector(&alg, &rand, sqn(64), &[0, 0]);
        for byte in [0usize, 6, 15] {
            let mut autn = good.autn;
            autn[byte] ^= 1;
            assert_eq!(
                verify_autn(&alg, &rand, &autn, &mut st),
                Err(AkaFailure::MacFailure)
            );
        }
        assert_eq!(st, before);
    }

    #[test]
    fn auts_round_trip() {
        let alg = Toy(3);
        let rand = [0x99; 16];
        for v in [0u64, 31, 0x1234_5678_9abc, (1 << 48) - 1] {
            let auts = compute_auts(&alg, &rand, sqn(v));
            assert_eq!(resync(&alg, &rand, &auts), Ok(sqn(v)));
            let mut bad = auts;
            bad[13] ^= 0x80;
            assert_eq!(resync(&alg, &rand, &bad), Err(AkaError::MacS));
            let mut bad = auts;
            bad[0] ^= 0x01; // changes SQN_MS, so MAC-S no longer matches
            assert_eq!(resync(&alg, &rand, &bad), Err(AkaError::MacS));
        }
    }

    #[test]
    fn works_through_dyn() {
        let alg: Box<dyn AkaAlgorithm> = Box::new(Toy(1));
        let rand = [5; 16];
        let v = generate_vector(alg.as_ref(), &rand, sqn(33), &[0, 0]);
        let mut st = fresh_state();
        assert!(verify_autn(alg.as_ref(), &rand, &v.autn, &mut st).is_ok());
        let (sres, kc) = gsm_context(alg.as_ref(), &rand);
        let t = v.to_triplet();
        assert_eq!((t.sres, t.kc), (sres, kc));
    }
}
