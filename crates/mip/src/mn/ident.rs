//! The mobile node's side of replay protection (RFC 5944 §5.7): making
//! Identifications and resynchronising after code 133.
//!
//! Timestamps (§5.7.1): the high 32 bits are NTP seconds of the node's
//! clock corrected by the offset learnt from the home agent; the fraction
//! keeps the ten bits a millisecond clock provides and, as §5.7.1 asks for
//! bits no time source gives, fills the low 22 from the random source.
//! Successive values are strictly increasing even when the clock stalls or
//! steps back, because the home agent refuses anything not above the last
//! accepted one.
//!
//! Nonces (§5.7.2): the high 32 bits are the last nonce the home agent
//! gave us, the low 32 a fresh random nonce of ours.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::replay::NtpTimestamp;

/// Fraction bits a millisecond clock cannot give (2^-22 s < 1 ms).
const RANDOM_FRACTION_BITS: u64 = (1 << 22) - 1;

/// Identification source of one mobile node.
#[derive(Clone)]
pub(crate) struct IdSource {
    entropy: Zeroizing<[u8; 32]>,
    counter: u64,
    /// Correction to the local clock learnt from a 133 reply, ms.
    offset_ms: i64,
    /// Last timestamp Identification made since the last resync.
    floor: Option<u64>,
    /// Last nonce the home agent handed us (§5.7.2).
    ha_nonce: u32,
}

impl core::fmt::Debug for IdSource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IdSource")
            .field("offset_ms", &self.offset_ms)
            .field("floor", &self.floor)
            .field("ha_nonce", &self.ha_nonce)
            .finish_non_exhaustive()
    }
}

impl IdSource {
    pub(crate) fn new(entropy: &[u8; 32]) -> Self {
        IdSource {
            entropy: Zeroizing::new(*entropy),
            counter: 0,
            offset_ms: 0,
            floor: None,
            ha_nonce: 0,
        }
    }

    /// 32 unpredictable bits: HMAC-SHA-256 of a counter under the entropy,
    /// so the core needs no random source of its own and stays
    /// deterministic for a given seed.
    pub(crate) fn random_u32(&mut self) -> u32 {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(self.entropy.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        m.update(b"telsec-mip mobile node");
        m.update(&self.counter.to_be_bytes());
        self.counter = self.counter.wrapping_add(1);
        let out = m.finalize().into_bytes();
        u32::from_be_bytes([out[0], out[1], out[2], out[3]])
    }

    /// The clock offset learnt from the home agent, ms.
    pub(crate) fn offset_ms(&self) -> i64 {
        self.offset_ms
    }

    /// A fresh timestamp Identification for `now_ms` (§5.7.1).
    pub(crate) fn timestamp(&mut self, now_ms: u64) -> u64 {
        let ms = i64::try_from(now_ms)
            .unwrap_or(i64::MAX)
            .saturating_add(self.offset_ms)
            .max(0)
            .unsigned_abs();
        let ts = NtpTimestamp::from_unix(ms / 1000, ((ms % 1000) * 1_000_000) as u32);
        let random = u64::from(self.random_u32()) & RANDOM_FRACTION_BITS;
        let mut id = (ts.0 & !RANDOM_FRACTION_BITS) | random;
        if let Some(floor) = self.floor
            && id <= floor
        {
            id = floor.wrapping_add(1);
        }
        self.floor = Some(id);
        id
    }

    /// A nonce Identification: the home agent's nonce high, ours low
    /// (§5.7.2).
    pub(crate) fn nonce(&mut self) -> u64 {
        (u64::from(self.ha_nonce) << 32) | u64::from(self.random_u32())
    }

    /// §5.7.1 resynchronisation: the reply's high 32 bits are the home
    /// agent's time of day in NTP seconds; adopt the difference to our
    /// clock at `now_ms`. The monotonic floor restarts from the corrected
    /// clock, since a node that was ahead must now send smaller values.
    pub(crate) fn adopt_home_agent_time(&mut self, now_ms: u64, reply_identification: u64) {
        let ha_secs = (reply_identification >> 32) as u32;
        let ours = NtpTimestamp::from_unix(now_ms / 1000, 0).seconds();
        let diff = i64::from(ha_secs.wrapping_sub(ours) as i32);
        self.offset_ms = diff * 1000;
        self.floor = None;
    }

    /// §5.7.2: the reply's high 32 bits are the nonce to use next.
    pub(crate) fn adopt_home_agent_nonce(&mut self, reply_identification: u64) {
        self.ha_nonce = (reply_identification >> 32) as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_704_067_200_000;

    #[test]
    fn timestamps_follow_the_clock_and_never_repeat() {
        let mut s = IdSource::new(&[7; 32]);
        let a = s.timestamp(T0);
        assert_eq!(
            a >> 32,
            u64::from(NtpTimestamp::from_unix(T0 / 1000, 0).seconds())
        );
        // Stalled and stepped-back clocks still give larger values.
        let b = s.timestamp(T0);
        let c = s.timestamp(T0 - 5_000);
        assert!(a < b && b < c, "{a:#x} {b:#x} {c:#x}");
        assert_ne!(a as u32, b as u32);
        // A later millisecond gives a later value.
        let d = s.timestamp(T0 + 1);
        assert!(d > c);
    }

    #[test]
    fn resync_moves_the_clock_both_ways() {
        let mut s = IdSource::new(&[1; 32]);
        let ours = s.timestamp(T0);
        let ha_time = u64::from(NtpTimestamp::from_unix(T0 / 1000 - 100, 0).seconds());
        s.adopt_home_agent_time(T0, (ha_time << 32) | (ours & 0xffff_ffff));
        assert_eq!(s.offset_ms(), -100_000);
        let next = s.timestamp(T0 + 10);
        assert_eq!(next >> 32, ha_time);
        let ahead = ha_time + 500;
        s.adopt_home_agent_time(T0, ahead << 32);
        assert_eq!(s.offset_ms(), 400_000);
        assert_eq!(s.timestamp(T0) >> 32, ahead);
    }

    #[test]
    fn nonces_carry_the_home_agents_half() {
        let mut s = IdSource::new(&[2; 32]);
        assert_eq!(s.nonce() >> 32, 0);
        s.adopt_home_agent_nonce(0xdead_beef_0000_0001);
        let n1 = s.nonce();
        let n2 = s.nonce();
        assert_eq!(n1 >> 32, 0xdead_beef);
        assert_ne!(n1 as u32, n2 as u32);
        // Deterministic for a given seed.
        let mut t = IdSource::new(&[2; 32]);
        t.adopt_home_agent_nonce(0xdead_beef_0000_0000);
        let _ = t.random_u32();
        assert_eq!(t.nonce(), n1);
    }
}
