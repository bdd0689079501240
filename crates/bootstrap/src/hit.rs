//! Host Identity Tags for an Ed25519 Host Identity, for the HIP mode of
//! the bootstrap (seed 003: the forwarding agent publishes the node's HIT
//! and key in DNS).
//!
//! HIPv2's own HIT suites (RFC 7401 §5.2.10) hash RSA, DSA and ECDSA keys;
//! the suite for EdDSA is RFC 9374's: a Hierarchical HIT (HHIT), an
//! ORCHID (RFC 7343, as updated by RFC 9374 §3) laid out as
//!
//! ```text
//! | prefix 28 bits | HID 28 bits (RAA 14 | HDA 14) | suite 8 bits | hash 64 bits |
//! ```
//!
//! - prefix 2001:30::/28 (RFC 9374 §8.2.1);
//! - HIT suite 5, EdDSA/cSHAKE128 (RFC 9374 §8.2.2);
//! - hash = cSHAKE128(X = the first 64 bits above ‖ HI, L = 64, N = "",
//!   S = the HHIT context ID 0x00B5A69C795DF5D5F0087F56843F2C40)
//!   (RFC 9374 §3.5, NIST SP 800-185 §3);
//! - HI = the raw 32-octet Ed25519 public key (RFC 8032 §5.1.5), as the
//!   RFC's authors' DET tools hash it.
//!
//! The hierarchy (RAA, HDA) is the operator's: a HIT names both the key
//! and who registered it. Anyone holding the key can check the HIT, so
//! the node checks the one the forwarding agent hands it.

use core::fmt;
use core::net::Ipv6Addr;

use tiny_keccak::{CShake, Hasher};

/// Length of a HIT (RFC 7401 §3).
pub const HIT_LEN: usize = 16;
/// The HHIT prefix, the 28 high bits (RFC 9374 §8.2.1: 2001:30::/28).
const PREFIX: u64 = 0x0200_1003;
/// HIT suite EdDSA/cSHAKE128 (RFC 9374 §8.2.2).
pub const SUITE_EDDSA_CSHAKE128: u8 = 5;
/// The cSHAKE customization string of HHITs (RFC 9374 §3.5).
const CONTEXT_ID: [u8; 16] = [
    0x00, 0xB5, 0xA6, 0x9C, 0x79, 0x5D, 0xF5, 0xD5, 0xF0, 0x08, 0x7F, 0x56, 0x84, 0x3F, 0x2C, 0x40,
];
/// The largest RAA or HDA (14 bits each).
pub const MAX_HID_PART: u16 = 0x3FFF;

/// Why a hierarchy ID or HIT is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HitError {
    /// RAA or HDA wider than 14 bits.
    #[error("RAA and HDA are 14-bit values (0..=16383)")]
    HidOutOfRange,
    /// Not under 2001:30::/28 with suite 5.
    #[error("not an EdDSA/cSHAKE128 HHIT (2001:30::/28, suite 5)")]
    NotEdDsaHhit,
    /// The hash does not match the key.
    #[error("the HIT does not belong to this Host Identity")]
    WrongKey,
}

/// The Hierarchy ID: Registered Assigning Authority and HHIT Domain
/// Authority (RFC 9374 §3.3), 14 bits each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hid {
    raa: u16,
    hda: u16,
}

impl Hid {
    /// A hierarchy ID.
    ///
    /// # Errors
    /// Either part wider than 14 bits.
    pub fn new(raa: u16, hda: u16) -> Result<Self, HitError> {
        if raa > MAX_HID_PART || hda > MAX_HID_PART {
            return Err(HitError::HidOutOfRange);
        }
        Ok(Self { raa, hda })
    }

    /// The Registered Assigning Authority.
    pub fn raa(self) -> u16 {
        self.raa
    }

    /// The HHIT Domain Authority.
    pub fn hda(self) -> u16 {
        self.hda
    }
}

/// A Host Identity Tag: 128 bits, written as an IPv6 address.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hit([u8; HIT_LEN]);

impl Hit {
    /// The EdDSA/cSHAKE128 HHIT of an Ed25519 Host Identity.
    pub fn for_ed25519(hid: Hid, public_key: &[u8; 32]) -> Self {
        let head = PREFIX << 36
            | u64::from(hid.raa) << 22
            | u64::from(hid.hda) << 8
            | u64::from(SUITE_EDDSA_CSHAKE128);
        let head = head.to_be_bytes();
        let mut hash = [0u8; 8];
        let mut shake = CShake::v128(b"", &CONTEXT_ID);
        shake.update(&head);
        shake.update(public_key);
        shake.finalize(&mut hash);
        let mut out = [0u8; HIT_LEN];
        out[..8].copy_from_slice(&head);
        out[8..].copy_from_slice(&hash);
        Self(out)
    }

    /// A HIT from its 16 octets (no check: see [`Hit::check_ed25519`]).
    pub fn from_bytes(bytes: [u8; HIT_LEN]) -> Self {
        Self(bytes)
    }

    /// The 16 octets.
    pub fn to_bytes(self) -> [u8; HIT_LEN] {
        self.0
    }

    /// The hierarchy ID, if this is an EdDSA/cSHAKE128 HHIT.
    ///
    /// # Errors
    /// Another prefix or suite.
    pub fn hid(self) -> Result<Hid, HitError> {
        let mut head = [0u8; 8];
        head.copy_from_slice(&self.0[..8]);
        let head = u64::from_be_bytes(head);
        if head >> 36 != PREFIX || head & 0xFF != u64::from(SUITE_EDDSA_CSHAKE128) {
            return Err(HitError::NotEdDsaHhit);
        }
        // Both parts are masked to 14 bits, so `new` cannot refuse them.
        Hid::new(
            ((head >> 22) & u64::from(MAX_HID_PART)) as u16,
            ((head >> 8) & u64::from(MAX_HID_PART)) as u16,
        )
    }

    /// Checks that this HIT is the HHIT of `public_key` (under its own
    /// hierarchy ID), in constant time over the hash.
    ///
    /// # Errors
    /// Not an EdDSA HHIT, or the hash is another key's.
    pub fn check_ed25519(self, public_key: &[u8; 32]) -> Result<Hid, HitError> {
        use subtle::ConstantTimeEq;
        let hid = self.hid()?;
        let expected = Self::for_ed25519(hid, public_key);
        if bool::from(expected.0.ct_eq(&self.0)) {
            Ok(hid)
        } else {
            Err(HitError::WrongKey)
        }
    }

    /// The HIT as an IPv6 address (its usual written form).
    pub fn to_ipv6(self) -> Ipv6Addr {
        Ipv6Addr::from(self.0)
    }
}

impl fmt::Display for Hit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_ipv6().fmt(f)
    }
}

impl fmt::Debug for Hit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hit({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [0x42; 32];

    #[test]
    fn layout_carries_prefix_hid_and_suite() {
        let hid = Hid::new(16376, 20).unwrap();
        let hit = Hit::for_ed25519(hid, &KEY);
        let b = hit.to_bytes();
        // 2001:3 then RAA 16376 (0b11111111111000) and HDA 20.
        assert_eq!(&b[..3], &[0x20, 0x01, 0x00]);
        assert_eq!(b[3] >> 4, 0x3);
        assert_eq!(b[7], SUITE_EDDSA_CSHAKE128);
        assert_eq!(hit.hid(), Ok(hid));
        assert!(hit.to_string().starts_with("2001:3"));
    }

    #[test]
    fn check_accepts_own_key_and_refuses_others() {
        let hid = Hid::new(1, 2).unwrap();
        let hit = Hit::for_ed25519(hid, &KEY);
        assert_eq!(hit.check_ed25519(&KEY), Ok(hid));
        assert_eq!(hit.check_ed25519(&[0x43; 32]), Err(HitError::WrongKey));
        // The hierarchy is inside the hash input: another HID, another hash.
        let other = Hit::for_ed25519(Hid::new(1, 3).unwrap(), &KEY);
        assert_ne!(hit.to_bytes()[8..], other.to_bytes()[8..]);
        let mut forged = other.to_bytes();
        forged[..8].copy_from_slice(&hit.to_bytes()[..8]);
        assert_eq!(
            Hit::from_bytes(forged).check_ed25519(&KEY),
            Err(HitError::WrongKey)
        );
    }

    #[test]
    fn refuses_other_prefixes_suites_and_wide_parts() {
        assert_eq!(Hid::new(0x4000, 0), Err(HitError::HidOutOfRange));
        assert_eq!(Hid::new(0, 0x4000), Err(HitError::HidOutOfRange));
        let mut b = Hit::for_ed25519(Hid::new(1, 1).unwrap(), &KEY).to_bytes();
        b[7] = 1;
        assert_eq!(Hit::from_bytes(b).hid(), Err(HitError::NotEdDsaHhit));
        // An RFC 7343 ORCHIDv2 (2001:20::/28) is not an HHIT.
        let mut v2 = [0u8; HIT_LEN];
        v2[..4].copy_from_slice(&[0x20, 0x01, 0x00, 0x21]);
        assert_eq!(
            Hit::from_bytes(v2).check_ed25519(&KEY),
            Err(HitError::NotEdDsaHhit)
        );
    }
}
