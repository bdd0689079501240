//! The cryptography of EAP-AKA' beyond the key derivation of
//! `telsec_auth::kdf::eap_aka_prime`: AT_MAC (HMAC-SHA-256-128, RFC 9048
//! §3.4.1), AT_CHECKCODE (SHA-256 over the identity messages, RFC 9048
//! §3.4.1 with RFC 4187 §10.13), the session keys of one run
//! (RFC 9048 §3.3) and their exported parts, MSK and EMSK.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use telsec_auth::kdf::KdfError;
use telsec_auth::kdf::eap_aka_prime::{self, EapAkaPrimeKeys};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::Error;
use crate::message::mac_offset;

/// Octets of the AT_MAC value.
pub const MAC_LEN: usize = 16;

/// HMAC-SHA-256 truncated to 128 bits over `packet`, keyed with K_aut
/// (RFC 9048 §3.4.1). `packet` is the whole EAP packet with the MAC field
/// of AT_MAC set to zero.
pub fn mac(k_aut: &[u8; 32], packet: &[u8]) -> [u8; MAC_LEN] {
    // A key shorter than the 64-octet block is zero-padded (RFC 2104 §2).
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(k_aut);
    let mut hmac = <Hmac<Sha256> as KeyInit>::new(&(*block).into());
    hmac.update(packet);
    let full = hmac.finalize().into_bytes();
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(&full[..MAC_LEN]);
    out
}

/// Check the AT_MAC of a whole EAP-AKA' packet in constant time: the
/// packet is copied with the MAC field zeroed, the MAC recomputed and
/// compared. `Ok(false)` for a wrong MAC.
///
/// # Errors
/// [`Error::MissingMac`] when the packet has no AT_MAC; decoding errors.
pub fn verify_packet_mac(packet: &[u8], k_aut: &[u8; 32]) -> Result<bool, Error> {
    let at = mac_offset(packet)?.ok_or(Error::MissingMac)?;
    let len = crate::packet::Packet::new_checked(packet)?.length();
    let mut copy = packet[..usize::from(len)].to_vec();
    let mut received = [0u8; MAC_LEN];
    received.copy_from_slice(&copy[at..at + MAC_LEN]);
    copy[at..at + MAC_LEN].fill(0);
    let expected = mac(k_aut, &copy);
    Ok(bool::from(expected.ct_eq(&received)))
}

/// The running AT_CHECKCODE hash (RFC 4187 §10.13, SHA-256 in AKA' per RFC
/// 9048 §3.4.1): every EAP-Request/AKA-Identity and EAP-Response/AKA-Identity
/// packet of the exchange, whole, in the order sent and received.
#[derive(Clone, Default)]
pub struct Checkcode {
    hasher: Sha256,
    messages: usize,
}

impl core::fmt::Debug for Checkcode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Checkcode")
            .field("messages", &self.messages)
            .finish_non_exhaustive()
    }
}

impl Checkcode {
    /// An empty hash: no identity messages yet.
    pub fn new() -> Checkcode {
        Checkcode::default()
    }

    /// Add one AKA-Identity packet.
    pub fn update(&mut self, packet: &[u8]) {
        self.hasher.update(packet);
        self.messages += 1;
    }

    /// The AT_CHECKCODE value: empty when no AKA-Identity round took place
    /// (RFC 4187 §10.13), otherwise the 32-octet digest.
    pub fn value(&self) -> Vec<u8> {
        if self.messages == 0 {
            Vec::new()
        } else {
            self.hasher.clone().finalize().to_vec()
        }
    }

    /// Compare a received AT_CHECKCODE value in constant time.
    pub fn matches(&self, received: &[u8]) -> bool {
        bool::from(self.value().as_slice().ct_eq(received))
    }
}

/// A 64-octet exported key, wiped on drop; `Debug` does not show it.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SessionKey([u8; 64]);

impl SessionKey {
    /// The key octets.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl core::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

/// The Master Session Key exported to the authenticator's lower layer
/// (RFC 9048 §3.3, RFC 5247).
pub type Msk = SessionKey;
/// The Extended Master Session Key, for keys of other uses (RFC 9048
/// §3.3, RFC 5247); telsec-bootstrap derives its own keys from it.
pub type Emsk = SessionKey;

/// The keys of one full authentication (RFC 9048 §3.3): K_aut for AT_MAC,
/// MSK and EMSK to export. Wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKeys {
    inner: EapAkaPrimeKeys,
}

impl core::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SessionKeys(..)")
    }
}

impl SessionKeys {
    /// Derive from CK and IK of an AKA run (RFC 9048 §3.3):
    /// `CK' || IK' = KDF(CK || IK, 0x20, network name, SQN ⊕ AK)` with
    /// SQN ⊕ AK the first 6 octets of AUTN, then
    /// `MK = PRF'(IK' || CK', "EAP-AKA'" || identity)`.
    ///
    /// # Errors
    /// [`KdfError::ParameterTooLong`] for a network name over 65535 octets.
    pub fn derive(
        ck: &[u8; 16],
        ik: &[u8; 16],
        network_name: &[u8],
        autn: &[u8; 16],
        identity: &[u8],
    ) -> Result<SessionKeys, KdfError> {
        let mut sqn_xor_ak = [0u8; 6];
        sqn_xor_ak.copy_from_slice(&autn[..6]);
        let (mut ck_prime, mut ik_prime) =
            eap_aka_prime::ck_ik_prime(ck, ik, network_name, &sqn_xor_ak)?;
        let inner = eap_aka_prime::keys(&ck_prime, &ik_prime, identity);
        ck_prime.zeroize();
        ik_prime.zeroize();
        Ok(SessionKeys { inner })
    }

    /// K_aut, the AT_MAC key.
    pub fn k_aut(&self) -> &[u8; 32] {
        &self.inner.k_aut
    }

    /// MSK.
    pub fn msk(&self) -> Msk {
        SessionKey(self.inner.msk)
    }

    /// EMSK.
    pub fn emsk(&self) -> Emsk {
        SessionKey(self.inner.emsk)
    }
}

/// The EAP Session-Id of an EAP-AKA' full authentication: the Type-Code 50
/// followed by RAND and AUTN (RFC 5247 Appendix A's EAP-AKA rule with the
/// AKA' type, as RFC 9048 defines it).
pub fn session_id(rand: &[u8; 16], autn: &[u8; 16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(33);
    out.push(50);
    out.extend_from_slice(rand);
    out.extend_from_slice(autn);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_is_truncated_hmac_sha256() {
        // HMAC-SHA-256 of RFC 4231 test case 2 ("Jefe"), keyed here with a
        // 32-octet key instead: checked against a second computation path.
        let key = [0x0b; 32];
        let data = b"what do ya want for nothing?";
        let mut hmac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
        hmac.update(data);
        let full = hmac.finalize().into_bytes();
        assert_eq!(mac(&key, data)[..], full[..16]);
    }

    #[test]
    fn checkcode_empty_and_digest() {
        let mut code = Checkcode::new();
        assert!(code.value().is_empty());
        assert!(code.matches(&[]));
        code.update(b"request");
        code.update(b"response");
        let digest = Sha256::digest(b"requestresponse");
        assert_eq!(code.value(), digest.to_vec());
        assert!(code.matches(&digest));
        assert!(!code.matches(&[]));
        assert!(!code.matches(&[0; 32]));
    }

    #[test]
    fn session_keys_do_not_debug_print() {
        let keys = SessionKeys::derive(&[1; 16], &[2; 16], b"WLAN", &[3; 16], b"id").unwrap();
        assert_eq!(format!("{keys:?}"), "SessionKeys(..)");
        assert_eq!(format!("{:?}", keys.msk()), "SessionKey(..)");
        assert_ne!(keys.msk(), keys.emsk());
    }
}
