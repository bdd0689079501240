//! EPS AKA: KASME (TS 33.401 Annex A.2).

use super::generic::{ck_ik, kdf_checked};
use super::plmn::PlmnId;

/// FC of the KASME derivation (TS 33.401 A.2).
pub const FC_KASME: u8 = 0x10;

/// KASME from CK, IK, the serving network's PLMN identity and `SQN ⊕ AK`
/// (TS 33.401 Annex A.2): `KDF(CK || IK, 0x10, SN id, SQN ⊕ AK)`.
///
/// The serving network identity is the three-octet PLMN identity of
/// TS 24.301 §9.9.3.12. Binding KASME to it stops a vector from one network
/// being used in another (TS 33.401 §6.1.1).
pub fn kasme(
    ck: &[u8; 16],
    ik: &[u8; 16],
    serving_network: &PlmnId,
    sqn_xor_ak: &[u8; 6],
) -> [u8; 32] {
    kasme_raw(ck, ik, &serving_network.to_bytes(), sqn_xor_ak)
}

/// [`kasme`] with the serving network identity given as its three encoded
/// octets, for callers that received them from the wire (S6a Visited-PLMN-Id).
pub fn kasme_raw(
    ck: &[u8; 16],
    ik: &[u8; 16],
    plmn_id: &[u8; 3],
    sqn_xor_ak: &[u8; 6],
) -> [u8; 32] {
    kdf_checked(&*ck_ik(ck, ik), FC_KASME, &[plmn_id, sqn_xor_ak])
}
