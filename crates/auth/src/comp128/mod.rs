//! COMP128, the GSM A3/A8 algorithms most SIMs shipped with: from Ki and a
//! 128-bit RAND they give SRES (32 bits, A3) and the cipher key Kc (64 bits,
//! A8) in one run.
//!
//! COMP128 was never published by the GSM Association. Version 1 is the
//! algorithm recovered by Briceno, Goldberg and Wagner (1998) from a leaked
//! Racal document and a real SIM; versions 2 and 3 are the algorithm
//! reverse-engineered by Tamas Jos (2013). No official test data exists; the
//! tests check the de-facto reference outputs used by the Osmocom stack.
//!
//! The three versions differ in what reaches the air interface:
//! - v1 and v2 output a Kc whose last 10 bits are zero (a 54-bit effective
//!   key, as deployed SIMs return it);
//! - v3 outputs all 64 bits of Kc.
//!
//! v1 is broken (Ki can be recovered from about 2^17 chosen RANDs); it is here
//! to serve legacy SIMs, not to be chosen for new ones.

mod v1;
mod v23;

pub use v1::comp128v1;
pub use v23::{comp128v2, comp128v3};

/// A COMP128 version, as provisioned per subscriber in the AuC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Comp128Version {
    /// COMP128-1 (Briceno/Goldberg/Wagner); Kc with 10 trailing zero bits.
    V1,
    /// COMP128-2; Kc with 10 trailing zero bits.
    V2,
    /// COMP128-3; full 64-bit Kc.
    V3,
}

impl Comp128Version {
    /// Runs A3/A8 of this version: returns `(SRES, Kc)`.
    pub fn run(self, ki: &[u8; 16], rand: &[u8; 16]) -> ([u8; 4], [u8; 8]) {
        match self {
            Comp128Version::V1 => comp128v1(ki, rand),
            Comp128Version::V2 => comp128v2(ki, rand),
            Comp128Version::V3 => comp128v3(ki, rand),
        }
    }

    /// The conventional name: `comp128v1`, `comp128v2` or `comp128v3`.
    pub fn name(self) -> &'static str {
        match self {
            Comp128Version::V1 => "comp128v1",
            Comp128Version::V2 => "comp128v2",
            Comp128Version::V3 => "comp128v3",
        }
    }
}

impl core::fmt::Display for Comp128Version {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Errors of this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Comp128Error {
    /// The name is none of `comp128v1`/`v1`/`1`, `comp128v2`/`v2`/`2`,
    /// `comp128v3`/`v3`/`3` (case-insensitive).
    #[error("unknown COMP128 version {0:?}")]
    UnknownVersion(String),
}

impl core::str::FromStr for Comp128Version {
    type Err = Comp128Error;

    /// Parses the names used in subscriber databases and on the command line.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let short = lower
            .strip_prefix("comp128")
            .map(|rest| rest.trim_start_matches(['-', '_']))
            .unwrap_or(&lower);
        match short.strip_prefix('v').unwrap_or(short) {
            "1" => Ok(Comp128Version::V1),
            "2" => Ok(Comp128Version::V2),
            "3" => Ok(Comp128Version::V3),
            _ => Err(Comp128Error::UnknownVersion(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names() {
        for (name, v) in [
            ("comp128v1", Comp128Version::V1),
            ("COMP128-2", Comp128Version::V2),
            ("v3", Comp128Version::V3),
            ("1", Comp128Version::V1),
        ] {
            assert_eq!(name.parse::<Comp128Version>(), Ok(v), "{name}");
        }
        for bad in ["", "comp128", "v4", "comp128v12", "milenage"] {
            assert!(bad.parse::<Comp128Version>().is_err(), "{bad}");
        }
        for v in [Comp128Version::V1, Comp128Version::V2, Comp128Version::V3] {
            assert_eq!(v.to_string().parse::<Comp128Version>(), Ok(v));
        }
    }

    #[test]
    fn run_dispatches() {
        let ki = [0x5a; 16];
        let rand = [0x17; 16];
        assert_eq!(Comp128Version::V1.run(&ki, &rand), comp128v1(&ki, &rand));
        assert_eq!(Comp128Version::V2.run(&ki, &rand), comp128v2(&ki, &rand));
        assert_eq!(Comp128Version::V3.run(&ki, &rand), comp128v3(&ki, &rand));
    }
}
