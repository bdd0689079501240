//! Wall-clock values the SMS centre writes and reads: SMPP time strings
//! (SMPP 3.4 §7.1.1), TP-SCTS (TS 23.040 §9.2.3.11) and the dates of a
//! delivery receipt (SMPP 3.4 Appendix B).
//!
//! Timers in this crate run on [`Instant`]s the driver passes in; the wall
//! clock enters only through [`Now::unix_secs`], so tests choose the date.

use std::time::{Duration, Instant};

use telsec_sms::Timestamp;

use crate::SmppError;

const BAD: SmppError = SmppError::Field {
    field: "time",
    reason: "not YYMMDDhhmmsstnnp",
};

/// The clock passed into the SMS centre: a monotonic instant for timers and
/// the matching UTC time for time stamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Monotonic time, for queues and retries.
    pub instant: Instant,
    /// Seconds since 1970-01-01T00:00:00Z at `instant`.
    pub unix_secs: u64,
}

impl Now {
    /// The clock read from the system.
    pub fn system() -> Self {
        let unix_secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Now {
            instant: Instant::now(),
            unix_secs,
        }
    }
}

/// A UTC calendar date and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Full year, e.g. 2026.
    pub year: i64,
    /// 1..=12.
    pub month: u8,
    /// 1..=31.
    pub day: u8,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=59.
    pub second: u8,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (era arithmetic:
/// 400-year eras of 146 097 days, years starting in March).
fn days_from_date(year: i64, month: u8, day: u8) -> i64 {
    let m = i64::from(month);
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Civil {
    /// The UTC date and time of a Unix time.
    pub fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: (rem / 3600) as u8,
            minute: (rem % 3600 / 60) as u8,
            second: (rem % 60) as u8,
        }
    }

    /// The Unix time of this date and time.
    pub fn to_unix(&self) -> i64 {
        days_from_date(self.year, self.month, self.day) * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    fn valid(&self) -> bool {
        let dim = match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if self.year % 4 == 0 && (self.year % 100 != 0 || self.year % 400 == 0) => 29,
            2 => 28,
            _ => return false,
        };
        (1..=dim).contains(&self.day) && self.hour < 24 && self.minute < 60 && self.second < 60
    }
}

/// TP-SCTS for a Unix time, in UTC (time zone 0).
pub fn scts(unix_secs: u64) -> Timestamp {
    let c = Civil::from_unix(i64::try_from(unix_secs).unwrap_or(i64::MAX / 2));
    Timestamp {
        year: c.year.rem_euclid(100) as u8,
        month: c.month,
        day: c.day,
        hour: c.hour,
        minute: c.minute,
        second: c.second,
        tz_quarters: 0,
    }
}

/// `YYMMDDhhmm`, the date format of a delivery receipt (SMPP 3.4 Appendix B).
pub fn receipt_date(unix_secs: u64) -> String {
    let c = Civil::from_unix(i64::try_from(unix_secs).unwrap_or(i64::MAX / 2));
    format!(
        "{:02}{:02}{:02}{:02}{:02}",
        c.year.rem_euclid(100),
        c.month,
        c.day,
        c.hour,
        c.minute
    )
}

/// A `schedule_delivery_time` or `validity_period` value (SMPP 3.4 §7.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmppTime {
    /// An absolute time, as a Unix time.
    Absolute(i64),
    /// A time relative to the SMSC's current time.
    Relative(Duration),
}

impl SmppTime {
    /// Parses the 16-character form `YYMMDDhhmmsstnnp`; an empty string is
    /// `None` ("immediate" / "SMSC default"). `p` is `+` or `-` for an
    /// absolute time `nn` quarter hours ahead of or behind UTC, `R` for a
    /// relative time (years counted as 365 days, months as 30).
    pub fn parse(text: &[u8]) -> Result<Option<Self>, SmppError> {
        if text.is_empty() {
            return Ok(None);
        }
        if text.len() != 16 || !text[..15].iter().all(u8::is_ascii_digit) {
            return Err(BAD);
        }
        let two = |i: usize| (text[i] - b'0') * 10 + (text[i + 1] - b'0');
        let (yy, mo, dd, hh, mi, ss) = (two(0), two(2), two(4), two(6), two(8), two(10));
        let nn = two(13);
        match text[15] {
            b'R' => {
                let days = u64::from(yy) * 365 + u64::from(mo) * 30 + u64::from(dd);
                let secs =
                    days * 86_400 + u64::from(hh) * 3600 + u64::from(mi) * 60 + u64::from(ss);
                Ok(Some(SmppTime::Relative(Duration::from_secs(secs))))
            }
            p @ (b'+' | b'-') => {
                if nn > 48 {
                    return Err(BAD);
                }
                let c = Civil {
                    year: 2000 + i64::from(yy),
                    month: mo,
                    day: dd,
                    hour: hh,
                    minute: mi,
                    second: ss,
                };
                if !c.valid() {
                    return Err(BAD);
                }
                // Local time = UTC + offset, so UTC = local - offset.
                let offset = i64::from(nn) * 900;
                let utc = if p == b'+' {
                    c.to_unix() - offset
                } else {
                    c.to_unix() + offset
                };
                Ok(Some(SmppTime::Absolute(utc)))
            }
            _ => Err(BAD),
        }
    }

    /// The time as an offset from `now` (zero when already past).
    pub fn after(&self, now_unix: u64) -> Duration {
        match *self {
            SmppTime::Relative(d) => d,
            SmppTime::Absolute(t) => {
                let now = i64::try_from(now_unix).unwrap_or(i64::MAX);
                Duration::from_secs(u64::try_from(t.saturating_sub(now)).unwrap_or(0))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        // 2026-03-01T12:34:56Z.
        let c = Civil::from_unix(1_772_368_496);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (2026, 3, 1, 12, 34, 56)
        );
        assert_eq!(c.to_unix(), 1_772_368_496);
        assert_eq!(Civil::from_unix(0).year, 1970);
        // Leap day 2024-02-29.
        let leap = Civil::from_unix(1_709_164_800);
        assert_eq!((leap.month, leap.day), (2, 29));
        for t in (0..4_000_000_000i64).step_by(7_654_321) {
            assert_eq!(Civil::from_unix(t).to_unix(), t);
        }
    }

    #[test]
    fn smpp_time() {
        assert_eq!(SmppTime::parse(b""), Ok(None));
        // 2026-03-01 14:34:56 at UTC+2h (8 quarters) is 12:34:56Z.
        assert_eq!(
            SmppTime::parse(b"260301143456008+"),
            Ok(Some(SmppTime::Absolute(1_772_368_496)))
        );
        assert_eq!(
            SmppTime::parse(b"260301103456008-"),
            Ok(Some(SmppTime::Absolute(1_772_368_496)))
        );
        assert_eq!(
            SmppTime::parse(b"000001020000000R"),
            Ok(Some(SmppTime::Relative(Duration::from_secs(86_400 + 7200))))
        );
        assert!(SmppTime::parse(b"260230000000000+").is_err()); // Feb 30
        assert!(SmppTime::parse(b"260301143456049+").is_err()); // offset > 12 h
        assert!(SmppTime::parse(b"2603011434560").is_err());
        assert!(SmppTime::parse(b"26030114345600x+").is_err());
        assert!(SmppTime::parse(b"260301143456000X").is_err());
        let abs = SmppTime::Absolute(1000);
        assert_eq!(abs.after(400), Duration::from_secs(600));
        assert_eq!(abs.after(2000), Duration::ZERO);
    }

    #[test]
    fn receipt_and_scts() {
        assert_eq!(receipt_date(1_772_368_496), "2603011234");
        let t = scts(1_772_368_496);
        assert_eq!(t.to_string(), "26-03-01 12:34:56 +00:00");
    }
}
