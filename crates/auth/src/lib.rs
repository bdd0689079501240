//! Subscriber authentication for GSM, UMTS, LTE and 5G, as the AuC and the SIM
//! compute it.
//!
//! Everything here is pure computation: no I/O, no clock, no randomness drawn
//! internally (callers pass RAND and SQN in), so the same code runs in the HLR,
//! in the soft USIM and in tests against the official vectors.
//!
//! Layers, from the bottom:
//! - the per-algorithm kernels: [`comp128`] (GSM A3/A8), [`milenage`]
//!   (TS 35.206), [`tuak`] (TS 35.231); the 3G functions f1..f5* of both behind
//!   the [`AkaAlgorithm`] trait;
//! - [`convert`]: the GSM/UMTS interworking functions c2..c5 (TS 33.102 §6.8.1);
//! - [`aka`] and [`sqn`]: AUTN/AUTS, the USIM's sequence-number checks and the
//!   network's resynchronisation and SQN generation (TS 33.102 Annex C);
//! - [`kdf`]: key derivation for EPS, 5G, EAP-AKA, EAP-AKA' and GBA;
//! - [`suci`]: SUCI de-concealment (TS 33.501 Annex C);
//! - [`usim`]: a soft USIM behind an ISO 7816-4 APDU interface.
#![forbid(unsafe_code)]

pub mod aka;
pub mod algorithm;
pub mod comp128;
pub mod convert;
pub mod kdf;
pub mod milenage;
pub mod sqn;
pub mod suci;
pub mod tuak;
pub mod usim;

pub use algorithm::{AkaAlgorithm, AkaKeys, Res};
