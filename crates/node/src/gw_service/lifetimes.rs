//! When each SA reaches its soft and hard lifetime (RFC 4301 §4.4.2.1).
//!
//! The gateway core lends its SAD out read-only, so the once-only events
//! of `Sad::poll_event` are not reachable from here; the driver keeps the
//! deadlines itself instead. They are known at start: every SA is made at
//! the same instant with the configured limits, and only time limits are
//! configured. At a deadline the SA's own phase is read to confirm it.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use telsec_esp::Direction;

/// Which limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Soft: a new secret is due.
    Soft,
    /// Hard: the SA refuses traffic.
    Hard,
}

/// One deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// When.
    pub at: Instant,
    /// Which limit.
    pub limit: Limit,
    /// The node.
    pub home: Ipv4Addr,
    /// The SA's SPI.
    pub spi: u32,
    /// The SA's direction.
    pub direction: Direction,
}

/// The deadlines still ahead, earliest first.
#[derive(Debug, Default)]
pub struct Schedule {
    ahead: VecDeque<Deadline>,
}

impl Schedule {
    /// The deadlines of SAs made at `created` with the given limits
    /// (`None`: no limit), for `(home, spi, direction)`.
    pub fn new(
        created: Instant,
        soft: Option<Duration>,
        hard: Option<Duration>,
        sas: impl IntoIterator<Item = (Ipv4Addr, u32, Direction)>,
    ) -> Self {
        let mut all = Vec::new();
        for (home, spi, direction) in sas {
            for (limit, after) in [(Limit::Soft, soft), (Limit::Hard, hard)] {
                if let Some(at) = after.and_then(|d| created.checked_add(d)) {
                    all.push(Deadline {
                        at,
                        limit,
                        home,
                        spi,
                        direction,
                    });
                }
            }
        }
        all.sort_by_key(|d| (d.at, d.limit == Limit::Hard));
        Schedule { ahead: all.into() }
    }

    /// The next deadline.
    pub fn next_at(&self) -> Option<Instant> {
        self.ahead.front().map(|d| d.at)
    }

    /// The next deadline reached by `now`, once.
    pub fn pop_due(&mut self, now: Instant) -> Option<Deadline> {
        if self.ahead.front()?.at <= now {
            self.ahead.pop_front()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_come_in_order_once() {
        let t0 = Instant::now();
        let home = Ipv4Addr::new(10, 0, 0, 5);
        let mut s = Schedule::new(
            t0,
            Some(Duration::from_secs(10)),
            Some(Duration::from_secs(20)),
            [
                (home, 300, Direction::Inbound),
                (home, 400, Direction::Outbound),
            ],
        );
        assert_eq!(s.next_at(), Some(t0 + Duration::from_secs(10)));
        assert_eq!(s.pop_due(t0), None);
        let soft = t0 + Duration::from_secs(10);
        let a = s.pop_due(soft).expect("first soft");
        let b = s.pop_due(soft).expect("second soft");
        assert_eq!((a.limit, b.limit), (Limit::Soft, Limit::Soft));
        assert_ne!(a.spi, b.spi);
        assert_eq!(s.pop_due(soft), None);
        let hard = t0 + Duration::from_secs(20);
        assert_eq!(s.pop_due(hard).map(|d| d.limit), Some(Limit::Hard));
        assert_eq!(s.pop_due(hard).map(|d| d.limit), Some(Limit::Hard));
        assert_eq!(s.next_at(), None);
        let none = Schedule::new(t0, None, None, [(home, 300, Direction::Inbound)]);
        assert_eq!(none.next_at(), None);
    }
}
