//! Retransmission of the node's outstanding message.
//!
//! The node is the requester: every message it sends expects exactly one
//! answer, and it resends the same octets when no answer came in time, with
//! exponential backoff (as RFC 3748 §4.3 leaves to the lower layer, and as
//! IKEv2 initiators do, RFC 7296 §2.1). The HA never retransmits; it
//! answers a repeated request with its stored answer. Time is the
//! caller's: `now` is passed in, [`crate::NodeSession::poll_timeout`] says when to
//! call back.

use std::time::{Duration, Instant};

/// How the node retransmits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetransmitPolicy {
    /// Wait before the first retransmission.
    pub initial: Duration,
    /// The wait doubles up to this.
    pub max_interval: Duration,
    /// Transmissions of one message in all (the first included) before
    /// the node gives up.
    pub max_transmissions: u32,
}

impl Default for RetransmitPolicy {
    /// 1 s, doubling to 8 s, 6 transmissions: the node gives up about 31 s
    /// after its first try (1 + 2 + 4 + 8 + 8 + 8).
    fn default() -> Self {
        RetransmitPolicy {
            initial: Duration::from_secs(1),
            max_interval: Duration::from_secs(8),
            max_transmissions: 6,
        }
    }
}

/// What a timeout means for the outstanding message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tick {
    /// The deadline has not passed.
    NotYet,
    /// Send the message again.
    Resend,
    /// Every transmission went unanswered.
    GiveUp,
}

/// The message awaiting an answer.
#[derive(Debug, Clone)]
pub(crate) struct Outstanding {
    pub(crate) bytes: Vec<u8>,
    pub(crate) sequence: u32,
    sent: u32,
    interval: Duration,
    deadline: Instant,
}

impl Outstanding {
    /// `bytes` (sequence `sequence`) sent at `now`.
    pub(crate) fn new(
        bytes: Vec<u8>,
        sequence: u32,
        now: Instant,
        policy: &RetransmitPolicy,
    ) -> Self {
        Outstanding {
            bytes,
            sequence,
            sent: 1,
            interval: policy.initial,
            deadline: now + policy.initial,
        }
    }

    /// When the caller should call back.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Advances the timer at `now`.
    pub(crate) fn tick(&mut self, now: Instant, policy: &RetransmitPolicy) -> Tick {
        if now < self.deadline {
            return Tick::NotYet;
        }
        if self.sent >= policy.max_transmissions.max(1) {
            return Tick::GiveUp;
        }
        self.sent += 1;
        self.interval = (self.interval * 2).min(policy.max_interval.max(policy.initial));
        self.deadline = now + self.interval;
        Tick::Resend
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_gives_up() {
        let p = RetransmitPolicy::default();
        let t0 = Instant::now();
        let mut o = Outstanding::new(vec![1], 1, t0, &p);
        assert_eq!(o.deadline(), t0 + Duration::from_secs(1));
        assert_eq!(o.tick(t0 + Duration::from_millis(999), &p), Tick::NotYet);
        let mut waits = Vec::new();
        let now = loop {
            let now = o.deadline();
            match o.tick(now, &p) {
                Tick::Resend => waits.push((o.deadline() - now).as_secs()),
                Tick::GiveUp => break now,
                Tick::NotYet => unreachable!(),
            }
        };
        assert_eq!(waits, [2, 4, 8, 8, 8]);
        assert_eq!((now - t0).as_secs(), 31);
        // Giving up is final.
        assert_eq!(o.tick(now + Duration::from_secs(100), &p), Tick::GiveUp);
    }
}
