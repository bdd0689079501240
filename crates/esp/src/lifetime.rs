//! SA lifetimes (RFC 4301 §4.4.2.1): soft and hard limits in time and in
//! bytes, judged against a clock the caller passes in.
//!
//! Reaching a soft limit means "rekey now" (the key manager negotiates a
//! replacement while this SA keeps working); reaching a hard limit means the
//! SA refuses all traffic and should be deleted. Nothing here reads a clock
//! or sleeps: [`Tracker::next_deadline`] tells the driver when to look
//! again, as smoltcp's `poll_at` does.
//!
//! Bytes counted are inner-packet bytes (what the SA protects), in both
//! directions. The packet that reaches a byte limit is still processed; the
//! following ones see the limit as reached.

use std::time::{Duration, Instant};

use crate::error::{Error, ExpiryCause};

/// One set of limits; `None` means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Time since the SA was made.
    pub time: Option<Duration>,
    /// Inner bytes processed.
    pub bytes: Option<u64>,
}

/// Soft and hard limits of one SA.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Lifetime {
    /// Past these, a rekey is due.
    pub soft: Limits,
    /// Past these, the SA refuses traffic.
    pub hard: Limits,
}

impl Lifetime {
    /// No limits at all.
    pub const UNLIMITED: Lifetime = Lifetime {
        soft: Limits {
            time: None,
            bytes: None,
        },
        hard: Limits {
            time: None,
            bytes: None,
        },
    };
}

/// Where an SA is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Below every soft limit.
    Live,
    /// A soft limit is reached: negotiate a replacement.
    RekeyDue,
    /// A hard limit is reached: the SA refuses traffic.
    Expired(ExpiryCause),
}

/// A once-only lifetime event for the key manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifetimeEvent {
    /// The soft limit was reached (RFC 4301 §4.4.2.1: rekey).
    SoftExpired,
    /// The hard limit was reached (delete the SA).
    HardExpired(ExpiryCause),
}

/// Tracks one SA's age and byte count against its [`Lifetime`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracker {
    lifetime: Lifetime,
    created: Instant,
    bytes: u64,
    soft_reported: bool,
    hard_reported: bool,
}

fn reached(limits: &Limits, created: Instant, bytes: u64, now: Instant) -> Option<ExpiryCause> {
    if let Some(t) = limits.time
        && now.saturating_duration_since(created) >= t
    {
        return Some(ExpiryCause::Time);
    }
    if let Some(b) = limits.bytes
        && bytes >= b
    {
        return Some(ExpiryCause::Bytes);
    }
    None
}

impl Tracker {
    /// Starts the clock at `now`.
    pub fn new(lifetime: Lifetime, now: Instant) -> Self {
        Tracker {
            lifetime,
            created: now,
            bytes: 0,
            soft_reported: false,
            hard_reported: false,
        }
    }

    /// The limits.
    pub fn lifetime(&self) -> &Lifetime {
        &self.lifetime
    }

    /// When the SA was made.
    pub fn created(&self) -> Instant {
        self.created
    }

    /// Inner bytes processed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The phase at `now`.
    pub fn phase(&self, now: Instant) -> Phase {
        if let Some(cause) = reached(&self.lifetime.hard, self.created, self.bytes, now) {
            return Phase::Expired(cause);
        }
        if reached(&self.lifetime.soft, self.created, self.bytes, now).is_some() {
            return Phase::RekeyDue;
        }
        Phase::Live
    }

    /// Before processing a packet: fails with [`Error::Expired`] past a hard
    /// limit, else says whether a rekey is due.
    pub fn admit(&self, now: Instant) -> Result<bool, Error> {
        match self.phase(now) {
            Phase::Expired(cause) => Err(Error::Expired(cause)),
            Phase::RekeyDue => Ok(true),
            Phase::Live => Ok(false),
        }
    }

    /// After processing a packet of `bytes` inner bytes.
    pub fn record(&mut self, bytes: usize) {
        self.bytes = self.bytes.saturating_add(bytes as u64);
    }

    /// The next lifetime event not yet reported, reported once each.
    pub fn poll_event(&mut self, now: Instant) -> Option<LifetimeEvent> {
        match self.phase(now) {
            Phase::Expired(cause) if !self.hard_reported => {
                self.hard_reported = true;
                // A hard expiry implies the soft one; report only the hard.
                self.soft_reported = true;
                Some(LifetimeEvent::HardExpired(cause))
            }
            Phase::RekeyDue if !self.soft_reported => {
                self.soft_reported = true;
                Some(LifetimeEvent::SoftExpired)
            }
            _ => None,
        }
    }

    /// When a time limit will next be reached, for the driver's timer
    /// (`None`: no time limit left ahead). Byte limits are reached by
    /// traffic, not time, and show up in [`Self::phase`].
    pub fn next_deadline(&self) -> Option<Instant> {
        let soft = self
            .lifetime
            .soft
            .time
            .filter(|_| !self.soft_reported)
            .and_then(|t| self.created.checked_add(t));
        let hard = self
            .lifetime
            .hard
            .time
            .filter(|_| !self.hard_reported)
            .and_then(|t| self.created.checked_add(t));
        match (soft, hard) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lifetime() -> Lifetime {
        Lifetime {
            soft: Limits {
                time: Some(Duration::from_secs(100)),
                bytes: Some(1000),
            },
            hard: Limits {
                time: Some(Duration::from_secs(120)),
                bytes: Some(2000),
            },
        }
    }

    #[test]
    fn soft_then_hard_by_time() {
        let t0 = Instant::now();
        let mut t = Tracker::new(lifetime(), t0);
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_secs(100)));
        assert_eq!(t.admit(t0 + Duration::from_secs(99)), Ok(false));
        assert_eq!(t.poll_event(t0 + Duration::from_secs(99)), None);
        let soft = t0 + Duration::from_secs(100);
        assert_eq!(t.phase(soft), Phase::RekeyDue);
        assert_eq!(t.admit(soft), Ok(true));
        assert_eq!(t.poll_event(soft), Some(LifetimeEvent::SoftExpired));
        assert_eq!(t.poll_event(soft), None, "reported once");
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_secs(120)));
        let hard = t0 + Duration::from_secs(120);
        assert_eq!(t.admit(hard), Err(Error::Expired(ExpiryCause::Time)));
        assert_eq!(
            t.poll_event(hard),
            Some(LifetimeEvent::HardExpired(ExpiryCause::Time))
        );
        assert_eq!(t.poll_event(hard), None);
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn soft_then_hard_by_bytes() {
        let t0 = Instant::now();
        let mut t = Tracker::new(lifetime(), t0);
        t.record(999);
        assert_eq!(t.admit(t0), Ok(false));
        t.record(1);
        assert_eq!(t.admit(t0), Ok(true));
        t.record(999);
        assert_eq!(t.admit(t0), Ok(true));
        t.record(1);
        assert_eq!(t.admit(t0), Err(Error::Expired(ExpiryCause::Bytes)));
        // Straight to hard: only the hard event is reported.
        assert_eq!(
            t.poll_event(t0),
            Some(LifetimeEvent::HardExpired(ExpiryCause::Bytes))
        );
        assert_eq!(t.poll_event(t0), None);
    }

    #[test]
    fn unlimited_never_expires() {
        let t0 = Instant::now();
        let mut t = Tracker::new(Lifetime::UNLIMITED, t0);
        t.record(usize::MAX);
        t.record(usize::MAX);
        assert_eq!(t.phase(t0 + Duration::from_secs(1 << 40)), Phase::Live);
        assert_eq!(t.next_deadline(), None);
    }
}
