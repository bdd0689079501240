//! Replay protection for registration (RFC 5944 §5.7).
//!
//! The 64-bit Identification is either an NTP-format timestamp (§5.7.1) or a
//! pair of nonces (§5.7.2): high 32 bits chosen by the home agent, low 32
//! bits by the mobile node. The check is pure: the caller passes the clock
//! reading, the state it stored for the mobile node and, for nonces, the
//! fresh value it drew.

use crate::code::ReplyCode;

/// Seconds between the NTP era origin (1900-01-01) and the Unix epoch.
pub const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// RFC 5944 §5.7.1: the default for how far a timestamp may be from the
/// home agent's clock.
pub const DEFAULT_TIMESTAMP_TOLERANCE_SECS: u32 = 7;

/// A 64-bit NTP timestamp: seconds since 1900 in the high 32 bits, binary
/// fraction in the low 32 (RFC 5905 §6, as RFC 5944 §5.7.1 uses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NtpTimestamp(pub u64);

impl NtpTimestamp {
    /// Converts a Unix time (seconds and nanoseconds since 1970).
    ///
    /// Seconds wrap modulo 2^32 as NTP era arithmetic does.
    pub fn from_unix(secs: u64, nanos: u32) -> Self {
        let ntp_secs = secs.wrapping_add(NTP_UNIX_OFFSET) & 0xffff_ffff;
        let frac = (u64::from(nanos.min(999_999_999)) << 32) / 1_000_000_000;
        NtpTimestamp((ntp_secs << 32) | frac)
    }

    /// Whole seconds since 1900 (mod 2^32).
    pub fn seconds(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// Fraction of a second in units of 2^-32 s.
    pub fn fraction(self) -> u32 {
        self.0 as u32
    }
}

/// The Identification of a rejected request's reply together with code 133
/// (RFC 5944 §5.7.1, §5.7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayRejected {
    /// Always [`ReplyCode::HaIdentificationMismatch`] (133).
    pub code: ReplyCode,
    /// Identification to put in the reply so the mobile node can
    /// resynchronise.
    pub reply_identification: u64,
}

/// Which replay method a mobility security association uses
/// (RFC 5944 §5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayMode {
    /// NTP timestamps within `tolerance_secs` of the home agent's clock.
    Timestamp {
        /// Largest accepted distance from the HA's clock, in seconds.
        tolerance_secs: u32,
    },
    /// Nonces, HA half high and MN half low.
    Nonce,
}

impl Default for ReplayMode {
    fn default() -> Self {
        ReplayMode::Timestamp {
            tolerance_secs: DEFAULT_TIMESTAMP_TOLERANCE_SECS,
        }
    }
}

/// One home-agent replay check of a request's Identification, with the
/// inputs it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayCheck {
    /// RFC 5944 §5.7.1.
    Timestamp {
        /// The home agent's clock.
        now: NtpTimestamp,
        /// Allowed distance from `now`, seconds.
        tolerance_secs: u32,
        /// Identification of the last request accepted from this mobile
        /// node, if any; a new one must be strictly greater.
        last_accepted: Option<u64>,
    },
    /// RFC 5944 §5.7.2.
    Nonce {
        /// The nonce this home agent gave the mobile node last time.
        expected: u32,
        /// A fresh random nonce for the next registration.
        next: u32,
    },
}

impl ReplayCheck {
    /// Checks a request's Identification.
    ///
    /// On success returns the Identification for the Registration Reply:
    /// the request's own for timestamps; for nonces the new HA nonce high
    /// and the mobile node's nonce low. On failure returns code 133 and
    /// the Identification §5.7 prescribes: for timestamps the HA's time of
    /// day in the high 32 bits with the request's low 32 bits; for nonces
    /// the new HA nonce high and the MN's nonce low.
    pub fn check(&self, request_identification: u64) -> Result<u64, ReplayRejected> {
        let low = request_identification & 0xffff_ffff;
        match *self {
            ReplayCheck::Timestamp {
                now,
                tolerance_secs,
                last_accepted,
            } => {
                let distance = request_identification.abs_diff(now.0);
                let window = u64::from(tolerance_secs) << 32;
                let fresh = last_accepted.is_none_or(|last| request_identification > last);
                if distance <= window && fresh {
                    Ok(request_identification)
                } else {
                    Err(ReplayRejected {
                        code: ReplyCode::HaIdentificationMismatch,
                        reply_identification: (u64::from(now.seconds()) << 32) | low,
                    })
                }
            }
            ReplayCheck::Nonce { expected, next } => {
                let reply = (u64::from(next) << 32) | low;
                if (request_identification >> 32) as u32 == expected {
                    Ok(reply)
                } else {
                    Err(ReplayRejected {
                        code: ReplyCode::HaIdentificationMismatch,
                        reply_identification: reply,
                    })
                }
            }
        }
    }
}

/// Mobile-node side (RFC 5944 §5.7.1, §5.7.2): a reply belongs to a request
/// only if the low-order 32 bits of the Identifications are equal.
pub fn reply_matches_request(request_identification: u64, reply_identification: u64) -> bool {
    request_identification as u32 == reply_identification as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_conversion() {
        let t = NtpTimestamp::from_unix(0, 500_000_000);
        assert_eq!(u64::from(t.seconds()), NTP_UNIX_OFFSET);
        assert_eq!(t.fraction(), 0x8000_0000);
        // 2024-01-01T00:00:00Z = Unix 1704067200 = NTP 3913056000.
        assert_eq!(
            NtpTimestamp::from_unix(1_704_067_200, 0).seconds(),
            3_913_056_000
        );
    }

    #[test]
    fn timestamp_window_and_monotonicity() {
        let now = NtpTimestamp::from_unix(1_704_067_200, 0);
        let check = |id: u64, last| {
            ReplayCheck::Timestamp {
                now,
                tolerance_secs: 7,
                last_accepted: last,
            }
            .check(id)
        };
        let id = now.0 + (3 << 32) + 5;
        assert_eq!(check(id, None), Ok(id));
        assert_eq!(check(now.0 - (7 << 32), None), Ok(now.0 - (7 << 32)));
        let stale = now.0 - (8 << 32) + 0x1234;
        let rej = check(stale, None).expect_err("too old");
        assert_eq!(rej.code, ReplyCode::HaIdentificationMismatch);
        assert_eq!(
            rej.reply_identification,
            (u64::from(now.seconds()) << 32) | 0x1234
        );
        assert!(reply_matches_request(stale, rej.reply_identification));
        // A replay of the last accepted identification is refused.
        assert!(check(id, Some(id)).is_err());
        assert!(check(id, Some(id - 1)).is_ok());
    }

    #[test]
    fn nonces() {
        let ok = ReplayCheck::Nonce {
            expected: 0xdead_beef,
            next: 0x0102_0304,
        };
        assert_eq!(ok.check(0xdead_beef_cafe_f00d), Ok(0x0102_0304_cafe_f00d));
        let rej = ok.check(0xdead_beee_cafe_f00d).expect_err("wrong nonce");
        assert_eq!(rej.reply_identification, 0x0102_0304_cafe_f00d);
        assert_eq!(u8::from(rej.code), 133);
        assert!(!reply_matches_request(1, 2));
    }
}
