//! The ESP keys and SPIs of one node's SA pair, from one secret (issue 5
//! §2: a pre-shared key from configuration, or a secret the node's SIM
//! bootstrap produced). IKEv2 is not part of telsec: both ends derive the
//! same SAs from the secret instead of negotiating them.
//!
//! HKDF-SHA-256 (RFC 5869) with IKM = the secret, salt =
//! `"telsec-vpn esp v1"`, info = home address ‖ gateway address (4 octets
//! each); output, in order:
//!
//! | octets | use |
//! |---|---|
//! | 4 | SPI of node → gateway (chosen by the gateway, its receiver) |
//! | 4 | SPI of gateway → node |
//! | key + 4 | node → gateway key ‖ salt (RFC 4106 §8.1) |
//! | key + 4 | gateway → node key ‖ salt |
//!
//! Each direction has its own key (RFC 4303 §3.3.3: never one key both
//! ways). SPIs are forced into 256..=2^32-1 (RFC 4303 §2.1 reserves 1-255)
//! and made to differ. A node's secret gives different SAs at different
//! gateways and for different home addresses.

use std::net::Ipv4Addr;

use hkdf::Hkdf;
use sha2::Sha256;
use telsec_esp::Algorithm;
use zeroize::Zeroizing;

/// The HKDF salt.
const SALT: &[u8] = b"telsec-vpn esp v1";
/// The shortest secret accepted (128 bits).
pub const MIN_SECRET_LEN: usize = 16;

/// Why no keys were derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeysError {
    /// The secret is shorter than [`MIN_SECRET_LEN`].
    #[error("the ESP secret must be at least {MIN_SECRET_LEN} octets")]
    ShortSecret,
}

/// One direction's SA parameters.
pub struct DirectionKeys {
    /// Its SPI.
    pub spi: u32,
    /// Key ‖ salt for [`telsec_esp::SaConfig::key_material`].
    pub key_material: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for DirectionKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DirectionKeys")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .finish_non_exhaustive()
    }
}

/// Both directions.
#[derive(Debug)]
pub struct EspKeys {
    /// Node → gateway.
    pub node_to_gateway: DirectionKeys,
    /// Gateway → node.
    pub gateway_to_node: DirectionKeys,
}

/// Derives the pair for `home` behind `gateway`.
///
/// # Errors
/// A secret shorter than [`MIN_SECRET_LEN`].
pub fn derive(
    secret: &[u8],
    home: Ipv4Addr,
    gateway: Ipv4Addr,
    algorithm: Algorithm,
) -> Result<EspKeys, KeysError> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(KeysError::ShortSecret);
    }
    let material = algorithm.key_material_len();
    let mut okm = Zeroizing::new(vec![0u8; 8 + 2 * material]);
    let mut info = [0u8; 8];
    info[..4].copy_from_slice(&home.octets());
    info[4..].copy_from_slice(&gateway.octets());
    // The output length is at most 80 octets, far below HKDF's 255 × 32.
    let hk = Hkdf::<Sha256>::new(Some(SALT), secret);
    if hk.expand(&info, &mut okm).is_err() {
        return Err(KeysError::ShortSecret);
    }
    let spi = |b: &[u8]| {
        let v = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        v.max(256)
    };
    let up = spi(&okm[0..4]);
    let mut down = spi(&okm[4..8]);
    if down == up {
        down = up.wrapping_add(1).max(256);
    }
    Ok(EspKeys {
        node_to_gateway: DirectionKeys {
            spi: up,
            key_material: Zeroizing::new(okm[8..8 + material].to_vec()),
        },
        gateway_to_node: DirectionKeys {
            spi: down,
            key_material: Zeroizing::new(okm[8 + material..].to_vec()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 50);
    const GW: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

    #[test]
    fn both_ends_agree_and_directions_differ() {
        let a = derive(&[7; 32], HOME, GW, Algorithm::AesGcm128).unwrap();
        let b = derive(&[7; 32], HOME, GW, Algorithm::AesGcm128).unwrap();
        assert_eq!(a.node_to_gateway.spi, b.node_to_gateway.spi);
        assert_eq!(
            *a.gateway_to_node.key_material,
            *b.gateway_to_node.key_material
        );
        assert_ne!(a.node_to_gateway.spi, a.gateway_to_node.spi);
        assert_ne!(
            *a.node_to_gateway.key_material,
            *a.gateway_to_node.key_material
        );
        assert_eq!(a.node_to_gateway.key_material.len(), 20);
        assert!(a.node_to_gateway.spi >= 256 && a.gateway_to_node.spi >= 256);
        let big = derive(&[7; 32], HOME, GW, Algorithm::AesGcm256).unwrap();
        assert_eq!(big.gateway_to_node.key_material.len(), 36);
    }

    #[test]
    fn other_home_or_gateway_other_keys_and_short_secrets_refused() {
        let a = derive(&[7; 32], HOME, GW, Algorithm::AesGcm128).unwrap();
        let b = derive(
            &[7; 32],
            Ipv4Addr::new(10, 0, 0, 51),
            GW,
            Algorithm::AesGcm128,
        )
        .unwrap();
        let c = derive(
            &[7; 32],
            HOME,
            Ipv4Addr::new(198, 51, 100, 2),
            Algorithm::AesGcm128,
        )
        .unwrap();
        assert_ne!(
            *a.node_to_gateway.key_material,
            *b.node_to_gateway.key_material
        );
        assert_ne!(
            *a.node_to_gateway.key_material,
            *c.node_to_gateway.key_material
        );
        assert_eq!(
            derive(&[7; 15], HOME, GW, Algorithm::AesGcm128).unwrap_err(),
            KeysError::ShortSecret
        );
    }

    #[test]
    fn known_answer_computed_independently() {
        // Python: hmac/hashlib HKDF-SHA-256 (RFC 5869 §2.2-2.3) with the
        // same salt and info, secret = 32 × 0x07, 48 octets.
        let k = derive(&[7; 32], HOME, GW, Algorithm::AesGcm128).unwrap();
        let mut okm = Vec::new();
        okm.extend_from_slice(&k.node_to_gateway.spi.to_be_bytes());
        okm.extend_from_slice(&k.gateway_to_node.spi.to_be_bytes());
        okm.extend_from_slice(&k.node_to_gateway.key_material);
        okm.extend_from_slice(&k.gateway_to_node.key_material);
        assert_eq!(hex::encode(okm), KNOWN);
    }

    const KNOWN: &str = "dd4acd801f05064c71d19d15839017bcc29b5f862ef0e4e3981fcbf4b5076674427e6cc9041f11af0f1e76f4cdc50441";
}
