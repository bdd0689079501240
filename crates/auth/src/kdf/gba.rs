//! GBA: the NAF-specific key Ks_NAF (TS 33.220 §4.5.2 and Annex B.3).
//!
//! After bootstrapping, the BSF and the UE share `Ks = CK || IK`; each
//! application server (NAF) gets its own key derived from it, bound to the
//! NAF's FQDN and to the protocol spoken on Ua, so one NAF's key says nothing
//! about another's.

use super::KdfError;
use super::generic::{ck_ik, kdf};

/// FC of the NAF-specific key derivation (TS 33.220 Annex B.3).
pub const FC_KS_NAF: u8 = 0x01;

/// The Ua security protocol identifier (TS 33.220 Annex H): an organization
/// octet then four octets naming the protocol the UE and NAF run on Ua.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct UaProtocolId(pub [u8; 5]);

impl UaProtocolId {
    /// The default identifier, for NAFs without a specific Ua protocol
    /// (TS 33.220 Annex H.2).
    pub const DEFAULT: UaProtocolId = UaProtocolId([0x00, 0x00, 0x00, 0x00, 0x00]);
    /// Subscriber certificates, TS 33.221.
    pub const SUBSCRIBER_CERTIFICATE: UaProtocolId = UaProtocolId([0x01, 0x00, 0x00, 0x00, 0x00]);
    /// MBMS, TS 33.246.
    pub const MBMS: UaProtocolId = UaProtocolId([0x01, 0x00, 0x00, 0x00, 0x01]);
    /// HTTP digest authentication, TS 24.109.
    pub const HTTP_DIGEST: UaProtocolId = UaProtocolId([0x01, 0x00, 0x00, 0x00, 0x02]);
    /// Generation of a temporary IMPI (TMPI), TS 33.220 Annex B.4.
    pub const TMPI: UaProtocolId = UaProtocolId([0x01, 0x00, 0x00, 0x01, 0x00]);

    /// Shared-key TLS of TS 33.222 §5.3/§5.4 with the given TLS cipher suite
    /// code (`0x01, 0x00, 0x01, yy, zz`).
    pub const fn tls(cipher_suite: u16) -> UaProtocolId {
        let [yy, zz] = cipher_suite.to_be_bytes();
        UaProtocolId([0x01, 0x00, 0x01, yy, zz])
    }
}

/// `NAF_Id = FQDN of the NAF || Ua security protocol identifier`
/// (TS 33.220 §4.5.2).
pub fn naf_id(naf_fqdn: &str, ua: UaProtocolId) -> Vec<u8> {
    let mut id = Vec::with_capacity(naf_fqdn.len() + 5);
    id.extend_from_slice(naf_fqdn.as_bytes());
    id.extend_from_slice(&ua.0);
    id
}

/// The bootstrapped key `Ks = CK || IK` (TS 33.220 §4.5.2), which the BSF
/// keeps under the B-TID for the key lifetime.
pub fn ks(ck: &[u8; 16], ik: &[u8; 16]) -> [u8; 32] {
    *ck_ik(ck, ik)
}

/// Ks_NAF of GBA_ME (Ks_ext_NAF for GBA_U), TS 33.220 §4.5.2 and Annex B.3:
/// `KDF(Ks, 0x01, "gba-me", RAND, IMPI, NAF_Id)`.
///
/// `impi` is the IMS private identity the UE bootstrapped with (or the IMSI
/// derived one of TS 23.003 §13.3), as UTF-8 (TS 33.220 Annex B.2.1.2).
///
/// # Errors
/// [`KdfError::ParameterTooLong`] when the IMPI or NAF_Id exceeds 65535
/// octets.
pub fn ks_naf(
    ks: &[u8; 32],
    rand: &[u8; 16],
    impi: &str,
    naf_fqdn: &str,
    ua: UaProtocolId,
) -> Result<[u8; 32], KdfError> {
    kdf(
        ks,
        FC_KS_NAF,
        &[b"gba-me", rand, impi.as_bytes(), &naf_id(naf_fqdn, ua)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naf_id_appends_protocol_octets() {
        assert_eq!(
            naf_id("naf.example", UaProtocolId::HTTP_DIGEST),
            b"naf.example\x01\x00\x00\x00\x02"
        );
        assert_eq!(UaProtocolId::tls(0x002f).0, [0x01, 0x00, 0x01, 0x00, 0x2f]);
    }
}
