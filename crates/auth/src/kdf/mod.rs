//! Key derivation after an AKA run: EPS (KASME), 5G (KAUSF, RES*, HXRES*,
//! KSEAF, KAMF), EAP-AKA' (CK'/IK', PRF', session keys), EAP-AKA (FIPS 186-2
//! PRF) and GBA (Ks_NAF).
//!
//! All 3GPP derivations share the generic KDF of TS 33.220 Annex B.2
//! ([`kdf`]); each submodule picks its `FC`, key and parameters. Inputs are
//! the outputs of f2..f5 ([`crate::AkaKeys`]) plus the identities that bind
//! the keys to a network or service. Nothing here draws randomness or keeps
//! state.

pub mod eap_aka;
pub mod eap_aka_prime;
pub mod eps;
pub mod fiveg;
pub mod gba;
pub(crate) mod generic;
mod plmn;

pub use generic::{MAX_PARAMETER_LEN, kdf};
pub use plmn::PlmnId;

/// Why a key derivation could not run.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KdfError {
    /// A parameter `Pi` is longer than its two-octet length `Li` can say
    /// (TS 33.220 Annex B.2.0).
    #[error("KDF parameter P{index} is {len} octets, over the 65535 limit")]
    ParameterTooLong {
        /// Which parameter (0 for P0).
        index: usize,
        /// Its length in octets.
        len: usize,
    },
    /// More PRF' output was asked for than its one-octet counter allows
    /// (255 blocks of 32 octets, RFC 9048 §3.4).
    #[error("PRF' output of {len} octets exceeds 8160")]
    OutputTooLong {
        /// The requested length in octets.
        len: usize,
    },
    /// An MCC that is not three decimal digits or an MNC not two or three
    /// (TS 23.003 §2.2), or a PLMN octet with a non-decimal nibble.
    #[error("invalid PLMN identity")]
    InvalidPlmn,
    /// An ABBA parameter outside the 2..=255 octets of its information
    /// element (TS 24.501 §9.11.3.10).
    #[error("ABBA of {len} octets (2..=255 expected)")]
    InvalidAbba {
        /// Its length in octets.
        len: usize,
    },
    /// A serving network name without the `5G:` service code
    /// (TS 24.501 §9.12.1) or too long for a KDF parameter.
    #[error("invalid serving network name")]
    InvalidServingNetworkName,
}
