//! Datagrams held for a visitor whose registration is on its way.
//!
//! A home agent starts tunnelling to the new care-of address as it
//! accepts a request, before its reply (which waits for the binding to be
//! on disk) has reached the foreign agent. The agent must not deliver to
//! a node that is not yet in its visitor list (RFC 5944 §4.2.2), so
//! without a buffer those datagrams are lost and the first one delivered
//! at the new place is whatever the correspondent sends after the reply.
//! Holding them while the request is pending, and delivering them the
//! moment the reply makes the node a visitor, turns that gap into a
//! short delay. A denial, a time-out or a move elsewhere drops them.
//!
//! Bounded: a few dozen datagrams per pending visitor, a total byte
//! budget, and an age limit, so a flood aimed at a pending address costs
//! the agent a fixed amount of memory.

use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;

/// Most datagrams held for one pending visitor (the newest are kept).
pub const MAX_PER_VISITOR: usize = 64;
/// Most bytes held for all pending visitors together.
pub const MAX_TOTAL_BYTES: usize = 1 << 20;
/// Oldest datagram worth delivering (ms): older ones are stale for any
/// real-time flow and the registration is late anyway.
pub const MAX_AGE_MS: u64 = 2_000;

/// One held datagram: when it came and from which tunnel source.
#[derive(Debug)]
struct Held {
    at_ms: u64,
    tunnel_source: Ipv4Addr,
    packet: Vec<u8>,
}

/// Held datagrams, by home address.
#[derive(Debug, Default)]
pub struct HeldData {
    by_home: HashMap<Ipv4Addr, VecDeque<Held>>,
    bytes: usize,
}

impl HeldData {
    /// Holds `packet` for `home`; false when the budget is spent (the
    /// caller counts it as undeliverable).
    pub fn hold(
        &mut self,
        home: Ipv4Addr,
        tunnel_source: Ipv4Addr,
        packet: &[u8],
        now_ms: u64,
    ) -> bool {
        if self.bytes.saturating_add(packet.len()) > MAX_TOTAL_BYTES {
            return false;
        }
        let queue = self.by_home.entry(home).or_default();
        if queue.len() >= MAX_PER_VISITOR
            && let Some(old) = queue.pop_front()
        {
            self.bytes -= old.packet.len();
        }
        self.bytes += packet.len();
        queue.push_back(Held {
            at_ms: now_ms,
            tunnel_source,
            packet: packet.to_vec(),
        });
        true
    }

    /// Takes what is held for `home` that is still fresh, oldest first,
    /// with the tunnel source each came from.
    pub fn release(&mut self, home: Ipv4Addr, now_ms: u64) -> Vec<(Ipv4Addr, Vec<u8>)> {
        let Some(queue) = self.by_home.remove(&home) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(queue.len());
        for h in queue {
            self.bytes -= h.packet.len();
            if now_ms.saturating_sub(h.at_ms) <= MAX_AGE_MS {
                out.push((h.tunnel_source, h.packet));
            }
        }
        out
    }

    /// Drops what is held for home addresses `keep` says no longer wait
    /// (denied, timed out, gone), and anything too old. Returns how many
    /// datagrams were dropped.
    pub fn prune(&mut self, now_ms: u64, keep: impl Fn(Ipv4Addr) -> bool) -> usize {
        let mut dropped = 0;
        let mut bytes = self.bytes;
        self.by_home.retain(|home, queue| {
            if !keep(*home) {
                dropped += queue.len();
                bytes -= queue.iter().map(|h| h.packet.len()).sum::<usize>();
                return false;
            }
            while queue
                .front()
                .is_some_and(|h| now_ms.saturating_sub(h.at_ms) > MAX_AGE_MS)
            {
                if let Some(h) = queue.pop_front() {
                    bytes -= h.packet.len();
                    dropped += 1;
                }
            }
            !queue.is_empty()
        });
        self.bytes = bytes;
        dropped
    }

    /// Whether nothing is held (the driver skips pruning then).
    pub fn is_empty(&self) -> bool {
        self.by_home.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 5);
    const OTHER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 6);
    const HA: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

    #[test]
    fn held_until_released_in_order() {
        let mut h = HeldData::default();
        assert!(h.hold(HOME, HA, &[1], 0));
        assert!(h.hold(HOME, HA, &[2], 1));
        assert!(h.hold(OTHER, HA, &[9], 1));
        assert_eq!(h.release(HOME, 5), vec![(HA, vec![1]), (HA, vec![2])]);
        assert!(h.release(HOME, 5).is_empty(), "released once");
        assert_eq!(h.bytes, 1);
    }

    #[test]
    fn bounded_per_visitor_and_in_total() {
        let mut h = HeldData::default();
        for i in 0..(MAX_PER_VISITOR + 10) {
            assert!(h.hold(HOME, HA, &[i as u8], 0));
        }
        let out = h.release(HOME, 0);
        assert_eq!(out.len(), MAX_PER_VISITOR);
        assert_eq!(out[0].1, [10], "the oldest made room");
        assert_eq!(h.bytes, 0);
        let big = vec![0u8; MAX_TOTAL_BYTES / 2 + 1];
        assert!(h.hold(HOME, HA, &big, 0));
        assert!(!h.hold(OTHER, HA, &big, 0), "over the total budget");
    }

    #[test]
    fn stale_and_abandoned_are_dropped() {
        let mut h = HeldData::default();
        h.hold(HOME, HA, &[1, 2], 0);
        h.hold(HOME, HA, &[3], MAX_AGE_MS);
        h.hold(OTHER, HA, &[4], MAX_AGE_MS);
        assert_eq!(h.prune(MAX_AGE_MS + 1, |a| a == HOME), 2);
        assert_eq!(h.release(HOME, MAX_AGE_MS + 1), vec![(HA, vec![3])]);
        assert!(h.is_empty());
        assert_eq!(h.bytes, 0);
        h.hold(HOME, HA, &[5], 0);
        assert!(
            h.release(HOME, MAX_AGE_MS + 1).is_empty(),
            "too old to deliver"
        );
    }
}
