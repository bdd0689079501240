//! 5G AKA key derivation (TS 33.501 Annex A): the serving network name,
//! KAUSF, RES*/XRES*, HRES*/HXRES*, KSEAF and KAMF.
//!
//! The chain run by the AUSF (and mirrored by the UE) for one 5G AKA is
//! `CK, IK -> KAUSF -> KSEAF -> KAMF`, with XRES* the expected response and
//! HXRES* the hash of it handed to the SEAF (TS 33.501 §6.1.3.2).

use core::fmt;
use core::str::FromStr;

use sha2::{Digest, Sha256};

use super::KdfError;
use super::generic::{MAX_PARAMETER_LEN, ck_ik, kdf, kdf_checked};
use super::plmn::PlmnId;
use crate::algorithm::Res;

/// FC of the KAUSF derivation (TS 33.501 A.2).
pub const FC_KAUSF: u8 = 0x6a;
/// FC of the RES*/XRES* derivation (TS 33.501 A.4).
pub const FC_RES_STAR: u8 = 0x6b;
/// FC of the KSEAF derivation (TS 33.501 A.6).
pub const FC_KSEAF: u8 = 0x6c;
/// FC of the KAMF derivation (TS 33.501 A.7).
pub const FC_KAMF: u8 = 0x6d;

/// The serving network name of TS 24.501 §9.12.1 (TS 33.501 §6.1.1.4), the
/// `P0` that binds KAUSF, RES* and KSEAF to the network the UE attaches to.
///
/// For a PLMN it is `5G:mnc<MNC>.mcc<MCC>.3gppnetwork.org` with the MNC
/// written in three digits (a two-digit MNC gets a leading `0`). A stand-alone
/// non-public network appends `:<NID>`; such names come in as text and are
/// taken by [`ServingNetworkName::from_str`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServingNetworkName(String);

impl ServingNetworkName {
    /// The serving network name of a PLMN (TS 24.501 §9.12.1).
    pub fn new(plmn: &PlmnId) -> ServingNetworkName {
        ServingNetworkName(format!(
            "5G:mnc{}.mcc{}.3gppnetwork.org",
            plmn.mnc3(),
            plmn.mcc()
        ))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as the octets used in `P0`.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Accepts a name received as text (N12 `servingNetworkName`): it must start
/// with the `5G:` service code of TS 24.501 §9.12.1 and fit a KDF parameter.
impl FromStr for ServingNetworkName {
    type Err = KdfError;

    fn from_str(s: &str) -> Result<ServingNetworkName, KdfError> {
        if !s.starts_with("5G:") || s.len() <= 3 || s.len() > MAX_PARAMETER_LEN {
            return Err(KdfError::InvalidServingNetworkName);
        }
        Ok(ServingNetworkName(s.to_owned()))
    }
}

impl fmt::Display for ServingNetworkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ServingNetworkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServingNetworkName({:?})", self.0)
    }
}

/// KAUSF (TS 33.501 Annex A.2): `KDF(CK || IK, 0x6A, SN name, SQN ⊕ AK)`.
///
/// `SQN ⊕ AK` is the first six octets of AUTN.
pub fn kausf(
    ck: &[u8; 16],
    ik: &[u8; 16],
    snn: &ServingNetworkName,
    sqn_xor_ak: &[u8; 6],
) -> [u8; 32] {
    kdf_checked(&*ck_ik(ck, ik), FC_KAUSF, &[snn.as_bytes(), sqn_xor_ak])
}

/// RES* (UE) or XRES* (home network) from RES or XRES (TS 33.501 Annex A.4):
/// the 128 least significant bits of
/// `KDF(CK || IK, 0x6B, SN name, RAND, RES)`.
pub fn res_star(
    ck: &[u8; 16],
    ik: &[u8; 16],
    snn: &ServingNetworkName,
    rand: &[u8; 16],
    res: &Res,
) -> [u8; 16] {
    let full = kdf_checked(
        &*ck_ik(ck, ik),
        FC_RES_STAR,
        &[snn.as_bytes(), rand, res.as_bytes()],
    );
    low_128(&full)
}

/// HRES* (SEAF, from RES*) or HXRES* (AUSF, from XRES*) (TS 33.501 Annex A.5):
/// the 128 least significant bits of `SHA-256(RAND || RES*)`.
///
/// The SEAF gets only the hash so that it can check the UE's answer without
/// learning XRES* before the home network confirms it (TS 33.501 §6.1.3.2).
pub fn hres_star(rand: &[u8; 16], res_star: &[u8; 16]) -> [u8; 16] {
    let mut hash = Sha256::new();
    hash.update(rand);
    hash.update(res_star);
    low_128(&hash.finalize().into())
}

/// KSEAF (TS 33.501 Annex A.6): `KDF(KAUSF, 0x6C, SN name)`.
pub fn kseaf(kausf: &[u8; 32], snn: &ServingNetworkName) -> [u8; 32] {
    kdf_checked(kausf, FC_KSEAF, &[snn.as_bytes()])
}

/// KAMF (TS 33.501 Annex A.7): `KDF(KSEAF, 0x6D, SUPI, ABBA)`.
///
/// `supi` is `P0` as A.7.0 defines it: for an IMSI its digits alone
/// (`"001011234567891"`, without the `imsi-` prefix of TS 29.571), for a
/// network specific identifier the NAI (`user@realm`). `abba` is the ABBA
/// parameter the SEAF sent, `0x0000` today (TS 33.501 A.7.1), 2 to 255
/// octets as its information element allows (TS 24.501 §9.11.3.10).
///
/// # Errors
/// [`KdfError::InvalidAbba`] for an ABBA outside 2..=255 octets,
/// [`KdfError::ParameterTooLong`] when `supi` exceeds 65535 octets.
pub fn kamf(kseaf: &[u8; 32], supi: &str, abba: &[u8]) -> Result<[u8; 32], KdfError> {
    if !(2..=255).contains(&abba.len()) {
        return Err(KdfError::InvalidAbba { len: abba.len() });
    }
    kdf(kseaf, FC_KAMF, &[supi.as_bytes(), abba])
}

/// The 128 least significant bits of a 256-bit output: its last 16 octets.
fn low_128(full: &[u8; 32]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[16..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serving_network_name_pads_two_digit_mnc() {
        let two = PlmnId::new("208", "93").unwrap();
        assert_eq!(
            ServingNetworkName::new(&two).as_str(),
            "5G:mnc093.mcc208.3gppnetwork.org"
        );
        let three = PlmnId::new("310", "410").unwrap();
        assert_eq!(
            ServingNetworkName::new(&three).as_str(),
            "5G:mnc410.mcc310.3gppnetwork.org"
        );
    }

    #[test]
    fn serving_network_name_from_text() {
        let snn: ServingNetworkName = "5G:mnc001.mcc001.3gppnetwork.org".parse().unwrap();
        assert_eq!(
            snn,
            ServingNetworkName::new(&PlmnId::new("001", "01").unwrap())
        );
        assert!(
            "5G:mnc001.mcc001.3gppnetwork.org:000007ed9d5"
                .parse::<ServingNetworkName>()
                .is_ok()
        );
        assert_eq!(
            "mnc001.mcc001".parse::<ServingNetworkName>(),
            Err(KdfError::InvalidServingNetworkName)
        );
        assert_eq!(
            "5G:".parse::<ServingNetworkName>(),
            Err(KdfError::InvalidServingNetworkName)
        );
    }

    #[test]
    fn kamf_rejects_oversized_parameters() {
        let long = "1".repeat(MAX_PARAMETER_LEN + 1);
        assert!(matches!(
            kamf(&[0; 32], &long, &[0, 0]),
            Err(KdfError::ParameterTooLong { index: 0, .. })
        ));
        assert_eq!(
            kamf(&[0; 32], "001011234567890", &[0]),
            Err(KdfError::InvalidAbba { len: 1 })
        );
        assert_eq!(
            kamf(&[0; 32], "001011234567890", &[0; 256]),
            Err(KdfError::InvalidAbba { len: 256 })
        );
        assert!(kamf(&[0; 32], "001011234567890", &[0; 255]).is_ok());
    }
}
