//! Replay protection of SIUs at the gateway, after RFC 5944 §5.7.1.
//!
//! The Identification is a 64-bit NTP timestamp (seconds since 1900 in the
//! high 32 bits, binary fraction in the low 32; RFC 5905 §6). Per SPI the
//! gateway accepts an Identification only if it is strictly greater than
//! the last one it accepted under that SPI **and** within ± the window of
//! its own clock (RFC 5944 §5.7.1's default is 7 s). The clock is passed in
//! as an NTP timestamp; nothing here reads time.
//!
//! [`ReplayGuard::check`] never changes state; [`ReplayGuard::commit`] is
//! called by the receiver only after the authenticator verified and the
//! message was accepted, so forged or refused messages cannot move the
//! window. A gateway that restarts restores the last accepted values from
//! [`ReplayGuard::snapshot`] and goes on refusing replays of messages it
//! accepted before; without it, a message captured less than a window ago
//! could be replayed once.
//!
//! Limit: comparisons are plain `u64`, so NTP era 0 is assumed (until
//! 2036-02-07, as most RFC 5944 implementations assume).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::error::{ReplayError, SnapshotError};
use crate::siu::MIN_SPI;

/// RFC 5944 §5.7.1's default tolerance, seconds.
pub const DEFAULT_WINDOW_SECS: u32 = 7;
/// Most entries a snapshot may restore (bounds the map a text can build).
pub const MAX_SNAPSHOT_ENTRIES: usize = 65_536;
/// First line of a snapshot.
const SNAPSHOT_HEADER: &str =
    "# telsec-vpn SIU replay state v1: <spi> <last identification, 16 hex digits>";

/// The last accepted Identification per SPI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayGuard {
    window_secs: u32,
    last: BTreeMap<u32, u64>,
}

impl Default for ReplayGuard {
    fn default() -> Self {
        Self::new(DEFAULT_WINDOW_SECS)
    }
}

impl ReplayGuard {
    /// An empty guard with a window of `window_secs` seconds.
    pub fn new(window_secs: u32) -> Self {
        ReplayGuard {
            window_secs,
            last: BTreeMap::new(),
        }
    }

    /// The window, seconds.
    pub fn window_secs(&self) -> u32 {
        self.window_secs
    }

    /// The last Identification accepted under `spi`.
    pub fn last(&self, spi: u32) -> Option<u64> {
        self.last.get(&spi).copied()
    }

    /// Whether `identification` would be accepted under `spi` at `now_ntp`.
    /// Changes nothing.
    pub fn check(&self, spi: u32, identification: u64, now_ntp: u64) -> Result<(), ReplayError> {
        if let Some(last) = self.last(spi)
            && identification <= last
        {
            return Err(ReplayError::NotIncreasing {
                got: identification,
                last,
            });
        }
        let window = u64::from(self.window_secs) << 32;
        if identification.abs_diff(now_ntp) > window {
            return Err(ReplayError::OutsideWindow {
                got: identification,
                now: now_ntp,
                window_secs: self.window_secs,
            });
        }
        Ok(())
    }

    /// Records `identification` as accepted under `spi`. Never lowers the
    /// recorded value.
    pub fn commit(&mut self, spi: u32, identification: u64) {
        let e = self.last.entry(spi).or_insert(identification);
        *e = (*e).max(identification);
    }

    /// The state as text: a header comment, then one `<spi> <hex>` line per
    /// SPI, ascending.
    pub fn snapshot(&self) -> String {
        let mut s = String::with_capacity(SNAPSHOT_HEADER.len() + 1 + 28 * self.last.len());
        s.push_str(SNAPSHOT_HEADER);
        s.push('\n');
        for (spi, id) in &self.last {
            // Writing to a String cannot fail.
            let _ = writeln!(s, "{spi} {id:016x}");
        }
        s
    }

    /// Merges a [`Self::snapshot`] text: each SPI keeps the greater of its
    /// current and restored value, so a stale file cannot reopen a window.
    /// Blank lines and `#` comments are skipped. All or nothing: on error
    /// the state is unchanged.
    pub fn restore(&mut self, text: &str) -> Result<(), SnapshotError> {
        let mut parsed: BTreeMap<u32, u64> = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let mut parts = l.split_ascii_whitespace();
            let (Some(spi), Some(id), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(SnapshotError::Syntax { line });
            };
            if !spi.bytes().all(|b| b.is_ascii_digit()) {
                return Err(SnapshotError::Syntax { line });
            }
            let spi: u32 = spi.parse().map_err(|_| SnapshotError::Syntax { line })?;
            if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(SnapshotError::Syntax { line });
            }
            let id = u64::from_str_radix(id, 16).map_err(|_| SnapshotError::Syntax { line })?;
            if spi < MIN_SPI {
                return Err(SnapshotError::ReservedSpi { line, spi });
            }
            if parsed.len() >= MAX_SNAPSHOT_ENTRIES {
                return Err(SnapshotError::TooManyEntries(MAX_SNAPSHOT_ENTRIES));
            }
            if parsed.insert(spi, id).is_some() {
                return Err(SnapshotError::Duplicate { line, spi });
            }
        }
        for (spi, id) in parsed {
            self.commit(spi, id);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 0xe800_0000_0000_0000;
    const SEC: u64 = 1 << 32;

    #[test]
    fn increasing_and_window() {
        let mut g = ReplayGuard::default();
        assert_eq!(g.check(300, NOW, NOW), Ok(()));
        assert_eq!(g.check(300, NOW + 7 * SEC, NOW), Ok(()));
        assert_eq!(g.check(300, NOW - 7 * SEC, NOW), Ok(()));
        assert!(matches!(
            g.check(300, NOW + 7 * SEC + 1, NOW),
            Err(ReplayError::OutsideWindow { .. })
        ));
        assert!(matches!(
            g.check(300, NOW - 7 * SEC - 1, NOW),
            Err(ReplayError::OutsideWindow { .. })
        ));
        g.commit(300, NOW);
        assert_eq!(
            g.check(300, NOW, NOW),
            Err(ReplayError::NotIncreasing {
                got: NOW,
                last: NOW
            })
        );
        assert_eq!(g.check(300, NOW + 1, NOW), Ok(()));
        // Another SPI has its own sequence.
        assert_eq!(g.check(301, NOW, NOW), Ok(()));
        // Commit never lowers.
        g.commit(300, NOW - 5);
        assert_eq!(g.last(300), Some(NOW));
    }

    #[test]
    fn snapshot_round_trip_keeps_refusing() {
        let mut g = ReplayGuard::default();
        g.commit(300, NOW);
        g.commit(70_000, NOW + 3);
        let text = g.snapshot();
        assert!(text.contains("300 e800000000000000\n"));
        let mut restarted = ReplayGuard::default();
        restarted.restore(&text).unwrap();
        assert_eq!(restarted, g);
        assert!(restarted.check(300, NOW, NOW).is_err());
        // A stale file does not lower a newer value.
        let mut newer = ReplayGuard::default();
        newer.commit(300, NOW + 10);
        newer.restore(&text).unwrap();
        assert_eq!(newer.last(300), Some(NOW + 10));
        assert_eq!(newer.last(70_000), Some(NOW + 3));
    }

    #[test]
    fn snapshot_errors_change_nothing() {
        let mut g = ReplayGuard::default();
        g.commit(300, 5);
        let before = g.clone();
        for (text, want) in [
            ("300 zz00000000000000", SnapshotError::Syntax { line: 1 }),
            ("300 00", SnapshotError::Syntax { line: 1 }),
            ("300", SnapshotError::Syntax { line: 1 }),
            ("300 0000000000000001 x", SnapshotError::Syntax { line: 1 }),
            (
                "\n#c\n12 0000000000000001",
                SnapshotError::ReservedSpi { line: 3, spi: 12 },
            ),
            (
                "400 0000000000000001\n400 0000000000000002",
                SnapshotError::Duplicate { line: 2, spi: 400 },
            ),
            ("+400 0000000000000001", SnapshotError::Syntax { line: 1 }),
        ] {
            assert_eq!(g.restore(text), Err(want), "{text}");
            assert_eq!(g, before);
        }
    }
}
