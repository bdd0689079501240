//! The key schedule: from the EAP-AKA' EMSK to two traffic keys and a
//! channel-binding value.
//!
//! ```text
//! PRK  = HKDF-Extract(salt = session id (8) || node nonce (16), IKM = EMSK (64))
//! OKM  = HKDF-Expand(PRK, info = "telsec-bootstrap v1" || HA name, L = 96)
//! K_nh = OKM[0..32]    AES-256-GCM key, node → HA
//! K_hn = OKM[32..64]   AES-256-GCM key, HA → node
//! CB   = OKM[64..96]   channel binding, signed by both sides
//! ```
//!
//! HKDF-SHA-256 is RFC 5869. The EMSK (RFC 3748 §7.10, 64 octets for
//! EAP-AKA', RFC 9048 §3.3) is the right input: the MSK is meant for the
//! access network, while the EMSK is reserved for other uses, each deriving
//! its own keys under its own label (the idea of RFC 5295; this is not its
//! registered-label USRK derivation, the label here is the HKDF info). The
//! salt binds the keys to this session's id (the HA's random
//! choice) and the node's nonce (the node's random choice). The HA name is
//! the network name EAP-AKA' bound into its keys (AT_KDF_INPUT,
//! RFC 9048 §3.1), so both sides must agree on where they are. The label
//! has a fixed length, so `label || name` is unambiguous.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::message::{NONCE_LEN, SessionId};

/// Octets of the EAP-AKA' EMSK (RFC 9048 §3.3).
pub const EMSK_LEN: usize = 64;
/// The fixed part of the HKDF info.
pub const INFO_LABEL: &[u8] = b"telsec-bootstrap v1";
/// Octets of each derived value.
pub const KEY_LEN: usize = 32;

/// Which way a sealed message travels. Each direction has its own key and
/// its own nonce label, so the two sides never encrypt under the same
/// (key, nonce) pair even though an answer repeats its request's sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Node → HA (ConfigRequest).
    NodeToHa,
    /// HA → node (ConfigResponse).
    HaToNode,
}

impl Direction {
    /// The four octets that start the GCM nonce.
    pub fn label(self) -> [u8; 4] {
        match self {
            Direction::NodeToHa => *b"N>HA",
            Direction::HaToNode => *b"HA>N",
        }
    }
}

/// The keys of one session; wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SessionKeys {
    node_to_ha: [u8; KEY_LEN],
    ha_to_node: [u8; KEY_LEN],
    channel_binding: [u8; KEY_LEN],
}

impl core::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SessionKeys(<redacted>)")
    }
}

impl SessionKeys {
    /// Derives the keys of the module doc.
    pub fn derive(
        emsk: &[u8; EMSK_LEN],
        session_id: SessionId,
        node_nonce: &[u8; NONCE_LEN],
        ha_name: &str,
    ) -> SessionKeys {
        let mut salt = [0u8; 8 + NONCE_LEN];
        salt[..8].copy_from_slice(&session_id.0);
        salt[8..].copy_from_slice(node_nonce);
        let mut info = Vec::with_capacity(INFO_LABEL.len() + ha_name.len());
        info.extend_from_slice(INFO_LABEL);
        info.extend_from_slice(ha_name.as_bytes());
        let mut okm = [0u8; 3 * KEY_LEN];
        hkdf_sha256(&salt, emsk, &info, &mut okm);
        let mut keys = SessionKeys {
            node_to_ha: [0; KEY_LEN],
            ha_to_node: [0; KEY_LEN],
            channel_binding: [0; KEY_LEN],
        };
        keys.node_to_ha.copy_from_slice(&okm[..KEY_LEN]);
        keys.ha_to_node.copy_from_slice(&okm[KEY_LEN..2 * KEY_LEN]);
        keys.channel_binding.copy_from_slice(&okm[2 * KEY_LEN..]);
        okm.zeroize();
        keys
    }

    /// The AEAD key for `direction`.
    pub fn key(&self, direction: Direction) -> &[u8; KEY_LEN] {
        match direction {
            Direction::NodeToHa => &self.node_to_ha,
            Direction::HaToNode => &self.ha_to_node,
        }
    }

    /// The channel-binding value both proofs sign.
    pub fn channel_binding(&self) -> &[u8; KEY_LEN] {
        &self.channel_binding
    }
}

/// HKDF-SHA-256 (RFC 5869 §2.2, §2.3) into `out` (at most 255 × 32 octets;
/// every caller here asks for a fixed, smaller length).
pub(crate) fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) {
    let hk = Hkdf::<Sha256>::new(Some(salt), ikm);
    hk.expand(info, out)
        .unwrap_or_else(|_| unreachable!("output lengths here are far below 255 * 32"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// RFC 5869 Appendix A, test cases 1-3 (SHA-256): the HKDF this module
    /// relies on is the standard one.
    #[test]
    fn rfc5869_test_cases() {
        // (IKM, salt, info, OKM)
        type Case = (Vec<u8>, Vec<u8>, Vec<u8>, &'static str);
        let cases: [Case; 3] = [
            (
                vec![0x0b; 22],
                h("000102030405060708090a0b0c"),
                h("f0f1f2f3f4f5f6f7f8f9"),
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
            ),
            (
                (0x00..=0x4f).collect(),
                (0x60..=0xaf).collect(),
                (0xb0..=0xff).collect(),
                "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c\
                 59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71\
                 cc30c58179ec3e87c14c01d5c1f3434f1d87",
            ),
            (
                vec![0x0b; 22],
                vec![],
                vec![],
                "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
            ),
        ];
        for (ikm, salt, info, okm) in cases {
            let want = h(okm);
            let mut out = vec![0u8; want.len()];
            hkdf_sha256(&salt, &ikm, &info, &mut out);
            assert_eq!(out, want);
        }
    }

    #[test]
    fn schedule_matches_its_definition() {
        let emsk = [0x42u8; EMSK_LEN];
        let sid = SessionId([1, 2, 3, 4, 5, 6, 7, 8]);
        let nonce = [9u8; NONCE_LEN];
        let keys = SessionKeys::derive(&emsk, sid, &nonce, "WLAN");
        let mut salt = sid.0.to_vec();
        salt.extend_from_slice(&nonce);
        let mut okm = [0u8; 96];
        hkdf_sha256(&salt, &emsk, b"telsec-bootstrap v1WLAN", &mut okm);
        assert_eq!(keys.key(Direction::NodeToHa), &okm[..32]);
        assert_eq!(keys.key(Direction::HaToNode), &okm[32..64]);
        assert_eq!(keys.channel_binding(), &okm[64..]);
        assert_ne!(keys.key(Direction::NodeToHa), keys.key(Direction::HaToNode));
    }

    #[test]
    fn every_input_changes_the_keys() {
        let emsk = [0x42u8; EMSK_LEN];
        let sid = SessionId([1; 8]);
        let nonce = [9u8; NONCE_LEN];
        let base = SessionKeys::derive(&emsk, sid, &nonce, "ha.example.net");
        let cb = *base.channel_binding();
        let mut emsk2 = emsk;
        emsk2[63] ^= 1;
        let mut nonce2 = nonce;
        nonce2[0] ^= 1;
        for other in [
            SessionKeys::derive(&emsk2, sid, &nonce, "ha.example.net"),
            SessionKeys::derive(&emsk, SessionId([2; 8]), &nonce, "ha.example.net"),
            SessionKeys::derive(&emsk, sid, &nonce2, "ha.example.net"),
            SessionKeys::derive(&emsk, sid, &nonce, "ha.example.org"),
        ] {
            assert_ne!(other.channel_binding(), &cb);
        }
        assert_eq!(format!("{base:?}"), "SessionKeys(<redacted>)");
    }
}
