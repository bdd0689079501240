//! Transport keys of a secured packet, derived from one AKA run.
//!
//! The home agent plays the part of a GBA NAF (TS 33.220 §4.5.2): after
//! the USIM and the HLR agree on `CK`, `IK` for one `RAND`,
//!
//! ```text
//! Ks      = CK || IK                                        (TS 33.220 §4.5.2)
//! Ks_NAF  = KDF(Ks, 0x01, "gba-me", RAND, IMPI, NAF_Id)     (TS 33.220 Annex B.3)
//! NAF_Id  = FQDN of the home agent || UA_PROTOCOL_ID        (TS 33.220 §4.5.2, Annex H)
//! KIc     = last 16 octets of KDF(Ks_NAF, FC_TRANSPORT, "telsec-keydist KIc")
//! KID     = last 16 octets of KDF(Ks_NAF, FC_TRANSPORT, "telsec-keydist KID")
//! ```
//!
//! `KDF` is the generic function of TS 33.220 Annex B.2 (HMAC-SHA-256 over
//! `FC || P0 || L0 || ...`). Keeping the 128 least significant bits of the
//! 256-bit output follows the truncation rule of TS 33.401 Annex A.7.
//!
//! The IMPI is the one TS 23.003 §13.3 derives from the IMSI, as a UE
//! without an ISIM does (TS 33.220 Annex B.2.1.2).

use telsec_auth::kdf::gba::{self, UaProtocolId};
use telsec_auth::kdf::kdf;
use zeroize::{Zeroize, Zeroizing};

/// The Ua security protocol identifier of this key service: organization
/// octet `0xFF`, the private range of TS 33.220 Annex H.2 ("local/
/// experimental protocols without need for registration"), then
/// `00 00 00 01` for "telsec Mobile IP key delivery, version 1".
///
/// Its only job is key separation: the same subscriber's Ks_NAF for any
/// other protocol run by a NAF of the same FQDN comes out different.
pub const UA_PROTOCOL_ID: UaProtocolId = UaProtocolId([0xFF, 0x00, 0x00, 0x00, 0x01]);

/// `FC` of the KIc/KID derivations from Ks_NAF (TS 33.220 Annex B.2.0).
///
/// No 3GPP derivation uses it (TS 33.220 uses `0x01`.., TS 33.401
/// `0x10`.., TS 33.402 `0x20`.., TS 33.501 `0x69`..); separation from them
/// holds in any case, since the KDF key is a Ks_NAF bound to
/// [`UA_PROTOCOL_ID`] and used for nothing else.
pub const FC_TRANSPORT: u8 = 0xF0;

/// `P0` of the ciphering key derivation.
pub const LABEL_KIC: &[u8] = b"telsec-keydist KIc";
/// `P0` of the checksum key derivation.
pub const LABEL_KID: &[u8] = b"telsec-keydist KID";

/// Longest home agent FQDN accepted (RFC 1035 §2.3.4: 255 octets).
pub const MAX_FQDN_LEN: usize = 255;

/// Why transport keys or an identity could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeysError {
    /// The IMSI is not 6 to 15 decimal digits (TS 23.003 §2.2).
    #[error("IMSI must be 6 to 15 decimal digits")]
    Imsi,
    /// The MNC length is not 2 or 3 (TS 23.003 §2.2).
    #[error("MNC length must be 2 or 3, not {0}")]
    MncLength(u8),
    /// The home agent FQDN is empty, longer than [`MAX_FQDN_LEN`], or holds
    /// a character outside letters, digits, `-` and `.`.
    #[error("invalid home agent FQDN")]
    Fqdn,
}

/// Check that `imsi` is 6 to 15 decimal digits (TS 23.003 §2.2).
pub fn check_imsi(imsi: &str) -> Result<(), KeysError> {
    if (6..=15).contains(&imsi.len()) && imsi.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(KeysError::Imsi)
    }
}

/// Check a home agent FQDN: 1 to 255 octets of letters, digits, `-`, `.`
/// (RFC 1035 §2.3.1). Both ends must use the identical string: it is a KDF
/// input, compared octet by octet, so write it in lower case.
pub fn check_fqdn(fqdn: &str) -> Result<(), KeysError> {
    let ok = !fqdn.is_empty()
        && fqdn.len() <= MAX_FQDN_LEN
        && fqdn
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if ok { Ok(()) } else { Err(KeysError::Fqdn) }
}

/// The IMPI derived from an IMSI (TS 23.003 §13.3):
/// `<IMSI>@ims.mnc<MNC>.mcc<MCC>.3gppnetwork.org`, where the MNC is written
/// with three digits (a two-digit MNC gets a leading zero).
pub fn impi(imsi: &str, mnc_len: u8) -> Result<String, KeysError> {
    check_imsi(imsi)?;
    if !matches!(mnc_len, 2 | 3) {
        return Err(KeysError::MncLength(mnc_len));
    }
    let mcc = &imsi[..3];
    let mnc = &imsi[3..3 + usize::from(mnc_len)];
    let pad = if mnc_len == 2 { "0" } else { "" };
    Ok(format!("{imsi}@ims.mnc{pad}{mnc}.mcc{mcc}.3gppnetwork.org"))
}

/// KIc (AES-128, ciphering) and KID (AES-128, CMAC) for one packet. Wiped
/// on drop; `Debug` shows nothing secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TransportKeys {
    kic: [u8; 16],
    kid: [u8; 16],
}

impl core::fmt::Debug for TransportKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TransportKeys(..)")
    }
}

impl Drop for TransportKeys {
    fn drop(&mut self) {
        self.kic.zeroize();
        self.kid.zeroize();
    }
}

/// The 128 least significant bits of a 256-bit KDF output
/// (TS 33.401 Annex A.7).
fn low128(out: &[u8; 32]) -> [u8; 16] {
    let mut key = [0u8; 16];
    key.copy_from_slice(&out[16..]);
    key
}

impl TransportKeys {
    /// Derive KIc and KID from the AKA result for `rand` (see the
    /// [module documentation](self) for the chain).
    ///
    /// `impi` comes from [`impi`]; `naf_fqdn` is the home agent's FQDN.
    pub fn derive(
        ck: &[u8; 16],
        ik: &[u8; 16],
        rand: &[u8; 16],
        impi: &str,
        naf_fqdn: &str,
    ) -> Result<TransportKeys, KeysError> {
        check_fqdn(naf_fqdn)?;
        let ks = Zeroizing::new(gba::ks(ck, ik));
        // IMPI is at most 15 + 38 octets and the FQDN at most 255, far from
        // the 65535-octet parameter limit; the error path is still mapped.
        let ks_naf = Zeroizing::new(
            gba::ks_naf(&ks, rand, impi, naf_fqdn, UA_PROTOCOL_ID).map_err(|_| KeysError::Fqdn)?,
        );
        let kic_full =
            Zeroizing::new(kdf(&*ks_naf, FC_TRANSPORT, &[LABEL_KIC]).map_err(|_| KeysError::Fqdn)?);
        let kid_full =
            Zeroizing::new(kdf(&*ks_naf, FC_TRANSPORT, &[LABEL_KID]).map_err(|_| KeysError::Fqdn)?);
        Ok(TransportKeys {
            kic: low128(&kic_full),
            kid: low128(&kid_full),
        })
    }

    /// Build from raw keys (tests, or keys derived elsewhere).
    pub fn from_raw(kic: [u8; 16], kid: [u8; 16]) -> TransportKeys {
        TransportKeys { kic, kid }
    }

    /// The ciphering key KIc.
    pub fn kic(&self) -> &[u8; 16] {
        &self.kic
    }

    /// The cryptographic checksum key KID.
    pub fn kid(&self) -> &[u8; 16] {
        &self.kid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impi_pads_two_digit_mnc() {
        assert_eq!(
            impi("234150999999999", 2).as_deref(),
            Ok("234150999999999@ims.mnc015.mcc234.3gppnetwork.org")
        );
        assert_eq!(
            impi("310150123456789", 3).as_deref(),
            Ok("310150123456789@ims.mnc150.mcc310.3gppnetwork.org")
        );
        assert_eq!(impi("31015012345678a", 3), Err(KeysError::Imsi));
        assert_eq!(impi("12345", 2), Err(KeysError::Imsi));
        assert_eq!(impi("001010123456789", 4), Err(KeysError::MncLength(4)));
    }

    #[test]
    fn fqdn_rules() {
        assert!(check_fqdn("ha.example.net").is_ok());
        assert!(check_fqdn("").is_err());
        assert!(check_fqdn("ha example").is_err());
        assert!(check_fqdn(&"a".repeat(256)).is_err());
    }

    #[test]
    fn keys_follow_the_documented_chain() {
        let (ck, ik, rand) = ([1u8; 16], [2u8; 16], [3u8; 16]);
        let id = impi("001010123456789", 2).unwrap_or_default();
        let keys = TransportKeys::derive(&ck, &ik, &rand, &id, "ha.example.net");
        let keys = keys.unwrap_or_else(|e| panic!("{e}"));
        // Recompute by hand from the primitives.
        let ks = gba::ks(&ck, &ik);
        let ks_naf =
            gba::ks_naf(&ks, &rand, &id, "ha.example.net", UA_PROTOCOL_ID).unwrap_or([0; 32]);
        let kic = kdf(&ks_naf, 0xF0, &[b"telsec-keydist KIc"]).unwrap_or([0; 32]);
        let kid = kdf(&ks_naf, 0xF0, &[b"telsec-keydist KID"]).unwrap_or([0; 32]);
        assert_eq!(keys.kic()[..], kic[16..]);
        assert_eq!(keys.kid()[..], kid[16..]);
        assert_ne!(keys.kic(), keys.kid());
        // Every input matters.
        let other = |ck: [u8; 16], rand: [u8; 16], id: &str, fqdn: &str| {
            TransportKeys::derive(&ck, &ik, &rand, id, fqdn)
                .map(|k| *k.kic())
                .unwrap_or([0; 16])
        };
        let base = *keys.kic();
        assert_ne!(other([9; 16], rand, &id, "ha.example.net"), base);
        assert_ne!(other(ck, [9; 16], &id, "ha.example.net"), base);
        assert_ne!(other(ck, rand, "001010123456780@x", "ha.example.net"), base);
        assert_ne!(other(ck, rand, &id, "ha2.example.net"), base);
        assert_eq!(format!("{keys:?}"), "TransportKeys(..)");
    }
}
