//! Sequence numbers: the sender's counter, extended sequence number (ESN)
//! inference and the receiver's anti-replay window (RFC 4303 §2.2, §3.3.3,
//! §3.4.3, Appendix A).
//!
//! The receiver checks a packet against the window *before* decrypting it
//! (a cheap reject of duplicates and stale packets) and marks it *after* the
//! ICV verifies, so a forged packet never moves the window
//! (RFC 4303 §3.4.3: "the receive window is updated only if the integrity
//! verification succeeds").

use crate::error::Error;

/// The smallest window a receiver must support (RFC 4303 §3.4.3).
pub const MIN_WINDOW: u32 = 32;
/// The largest window this crate offers.
pub const MAX_WINDOW: u32 = 4096;
/// The default window (RFC 4303 §3.4.3 recommends 64).
pub const DEFAULT_WINDOW: u32 = 64;

/// The sender's counter (RFC 4303 §3.3.3): starts at 0 when the SA is made,
/// the first packet carries 1, and it never wraps: past 2^32-1 (2^64-1 with
/// ESN) the SA must be rekeyed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendCounter {
    last: u64,
    esn: bool,
}

impl SendCounter {
    /// A fresh counter.
    pub const fn new(esn: bool) -> Self {
        SendCounter { last: 0, esn }
    }

    /// A counter whose last sent number is `last` (a restored SA, or a test
    /// near the end of the space).
    pub const fn resume(last: u64, esn: bool) -> Self {
        SendCounter { last, esn }
    }

    /// The last number handed out (0 before the first packet).
    pub const fn last(&self) -> u64 {
        self.last
    }

    /// The largest number this counter may reach.
    pub const fn max(&self) -> u64 {
        if self.esn { u64::MAX } else { u32::MAX as u64 }
    }

    /// The number the next packet would carry, without taking it.
    pub fn peek(&self) -> Result<u64, Error> {
        if self.last >= self.max() {
            return Err(Error::SequenceExhausted { esn: self.esn });
        }
        Ok(self.last + 1)
    }

    /// Takes the next number.
    pub fn take_next(&mut self) -> Result<u64, Error> {
        let n = self.peek()?;
        self.last = n;
        Ok(n)
    }
}

/// The receiver's sliding window (RFC 4303 §3.4.3, Appendix A2), kept as a
/// ring of 64-bit words so that sliding costs at most one word write per 64
/// sequence numbers skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayWindow {
    size: u32,
    esn: bool,
    /// Highest authenticated sequence number (0: none yet).
    top: u64,
    /// Bit `seq % (64 * words)` is set once `seq` has been accepted. One
    /// word more than the window needs, so the word holding `top` never
    /// holds stale bits from a lap before that are still inside the window.
    words: Box<[u64]>,
}

impl ReplayWindow {
    /// A window of `size` packets (32..=4096).
    pub fn new(size: u32, esn: bool) -> Result<Self, Error> {
        if !(MIN_WINDOW..=MAX_WINDOW).contains(&size) {
            return Err(Error::InvalidReplayWindow(size));
        }
        let words = size.div_ceil(64) as usize + 1;
        Ok(ReplayWindow {
            size,
            esn,
            top: 0,
            words: vec![0u64; words].into_boxed_slice(),
        })
    }

    /// The window size in packets.
    pub const fn size(&self) -> u32 {
        self.size
    }

    /// The highest sequence number accepted so far (0 before any).
    pub const fn highest(&self) -> u64 {
        self.top
    }

    /// Whether the SA uses extended sequence numbers.
    pub const fn esn(&self) -> bool {
        self.esn
    }

    /// The full sequence number for the 32 bits in a packet.
    ///
    /// Without ESN that is the number itself. With ESN the high half is
    /// guessed from the window as RFC 4303 Appendix A2.2 prescribes; a wrong
    /// guess fails the ICV, since the high half is in the AAD (RFC 4106 §5).
    pub fn infer(&self, low: u32) -> Result<u64, Error> {
        if !self.esn {
            return Ok(u64::from(low));
        }
        let w1 = self.size - 1;
        let tl = self.top as u32;
        let th = (self.top >> 32) as u32;
        let high = if tl >= w1 {
            // Case A: the window lies within one sub-space.
            if low >= tl - w1 {
                Some(th)
            } else {
                th.checked_add(1)
            }
        } else {
            // Case B: the window spans two sub-spaces.
            if low >= tl.wrapping_sub(w1) {
                th.checked_sub(1)
            } else {
                Some(th)
            }
        };
        match high {
            Some(h) => Ok((u64::from(h) << 32) | u64::from(low)),
            // Below sequence number 0 or above 2^64-1: nothing a sender can
            // have sent on this SA, so treat it as stale.
            None => Err(Error::TooOld {
                seq: u64::from(low),
                highest: self.top,
            }),
        }
    }

    fn slot(&self, seq: u64) -> (usize, u64) {
        let word = ((seq / 64) % self.words.len() as u64) as usize;
        (word, 1u64 << (seq % 64))
    }

    /// The pre-decryption check: fails for 0, for numbers left of the
    /// window and for numbers already marked. Changes nothing.
    pub fn check(&self, seq: u64) -> Result<(), Error> {
        if seq == 0 {
            return Err(Error::ZeroSequence);
        }
        if seq > self.top {
            return Ok(());
        }
        if self.top - seq >= u64::from(self.size) {
            return Err(Error::TooOld {
                seq,
                highest: self.top,
            });
        }
        let (word, bit) = self.slot(seq);
        if self.words[word] & bit != 0 {
            return Err(Error::Replay(seq));
        }
        Ok(())
    }

    /// Marks `seq` as received once its ICV has verified, sliding the
    /// window right if `seq` is new. Checks again, so a duplicate still
    /// fails here.
    pub fn accept(&mut self, seq: u64) -> Result<(), Error> {
        self.check(seq)?;
        if seq > self.top {
            let old_block = self.top / 64;
            let new_block = seq / 64;
            let n = (new_block - old_block).min(self.words.len() as u64);
            for i in 1..=n {
                let w = ((old_block + i) % self.words.len() as u64) as usize;
                self.words[w] = 0;
            }
            self.top = seq;
        }
        let (word, bit) = self.slot(seq);
        self.words[word] |= bit;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_without_esn_stops_at_u32_max() {
        let mut c = SendCounter::new(false);
        assert_eq!(c.take_next(), Ok(1));
        assert_eq!(c.take_next(), Ok(2));
        let mut c = SendCounter::resume(u64::from(u32::MAX) - 1, false);
        assert_eq!(c.take_next(), Ok(u64::from(u32::MAX)));
        assert_eq!(c.take_next(), Err(Error::SequenceExhausted { esn: false }));
        assert_eq!(
            c.last(),
            u64::from(u32::MAX),
            "a refused packet takes no number"
        );
    }

    #[test]
    fn counter_with_esn_passes_2_32_and_stops_at_u64_max() {
        let mut c = SendCounter::resume(u64::from(u32::MAX), true);
        assert_eq!(c.take_next(), Ok(1 << 32));
        let mut c = SendCounter::resume(u64::MAX - 1, true);
        assert_eq!(c.take_next(), Ok(u64::MAX));
        assert_eq!(c.peek(), Err(Error::SequenceExhausted { esn: true }));
        assert_eq!(c.take_next(), Err(Error::SequenceExhausted { esn: true }));
    }

    #[test]
    fn window_sizes_are_bounded() {
        for bad in [0, 1, 31, 4097, u32::MAX] {
            assert_eq!(
                ReplayWindow::new(bad, false),
                Err(Error::InvalidReplayWindow(bad))
            );
        }
        for good in [32, 33, 64, 100, 1024, 4096] {
            assert_eq!(ReplayWindow::new(good, false).unwrap().size(), good);
        }
    }

    /// In-window duplicates, too-old and far-ahead packets for every size.
    #[test]
    fn window_semantics_for_sizes_32_to_4096() {
        for size in [32u32, 33, 63, 64, 65, 127, 128, 500, 1024, 4095, 4096] {
            let w64 = u64::from(size);
            let mut w = ReplayWindow::new(size, false).unwrap();
            assert_eq!(w.check(0), Err(Error::ZeroSequence));
            w.accept(1).unwrap();
            assert_eq!(w.accept(1), Err(Error::Replay(1)), "size {size}");
            // Out of order within the window.
            w.accept(w64 + 10).unwrap();
            for s in (12..w64 + 10).rev() {
                w.accept(s)
                    .unwrap_or_else(|e| panic!("size {size} seq {s}: {e}"));
            }
            // 11 is the left edge (top - size + 1), 10 is just outside.
            assert_eq!(w.check(11), Ok(()), "size {size}");
            assert_eq!(
                w.check(10),
                Err(Error::TooOld {
                    seq: 10,
                    highest: w64 + 10
                })
            );
            for s in 12..=w64 + 10 {
                assert_eq!(w.check(s), Err(Error::Replay(s)), "size {size}");
            }
            // Far ahead: everything left behind, the new area is clean.
            let far = 1_000_000 + w64 * 7;
            w.accept(far).unwrap();
            assert_eq!(w.highest(), far);
            for s in far - w64 + 1..far {
                assert_eq!(w.check(s), Ok(()), "size {size} seq {s} after jump");
            }
            assert!(matches!(w.check(far - w64), Err(Error::TooOld { .. })));
            assert_eq!(w.check(far), Err(Error::Replay(far)));
        }
    }

    /// A jump of less than the ring's size must clear exactly the words it
    /// passes; check against a naive set model.
    #[test]
    fn window_matches_a_naive_model() {
        use std::collections::BTreeSet;
        let size = 96u32;
        let mut w = ReplayWindow::new(size, false).unwrap();
        let mut seen = BTreeSet::new();
        let mut top = 0u64;
        // A deterministic pseudo-random walk with jumps both ways.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let delta = (x % 200) as i64 - 120;
            let seq = (top as i64 + delta).max(1) as u64;
            let model = if seq > top {
                Ok(())
            } else if top - seq >= u64::from(size) {
                Err(Error::TooOld { seq, highest: top })
            } else if seen.contains(&seq) {
                Err(Error::Replay(seq))
            } else {
                Ok(())
            };
            assert_eq!(w.accept(seq), model, "seq {seq} top {top}");
            if model.is_ok() {
                seen.insert(seq);
                top = top.max(seq);
            }
        }
    }

    #[test]
    fn esn_inference_across_the_2_32_boundary() {
        let mut w = ReplayWindow::new(64, true).unwrap();
        // Nothing received: small numbers are in sub-space 0.
        assert_eq!(w.infer(1), Ok(1));
        // The top of sub-space 0 is ambiguous with "before 0": stale.
        assert!(matches!(w.infer(u32::MAX), Err(Error::TooOld { .. })));
        w.accept(0x8000_0000).unwrap();
        w.accept(0xffff_fff0).unwrap();
        // Case A: window within sub-space 0.
        assert_eq!(w.infer(0xffff_ffff), Ok(0xffff_ffff));
        assert_eq!(
            w.infer(0xffff_ffb1),
            Ok(0xffff_ffb1),
            "left edge stays in 0"
        );
        assert_eq!(
            w.infer(0xffff_ffb0),
            Ok(0x1_ffff_ffb0),
            "below the edge: next sub-space"
        );
        assert_eq!(w.infer(3), Ok(0x1_0000_0003));
        w.accept(0x1_0000_0003).unwrap();
        // Case B: window spans the boundary.
        assert_eq!(w.infer(0xffff_fff5), Ok(0xffff_fff5));
        assert_eq!(w.check(0xffff_fff5), Ok(()));
        assert_eq!(w.check(0xffff_fff0), Err(Error::Replay(0xffff_fff0)));
        assert_eq!(w.infer(2), Ok(0x1_0000_0002));
        assert_eq!(w.infer(100), Ok(0x1_0000_0064));
        assert_eq!(w.infer(0xffff_ffc4), Ok(0xffff_ffc4), "left edge of case B");
        assert_eq!(w.infer(0xffff_ffc3), Ok(0x1_ffff_ffc3));
        // Without ESN the low bits are the number.
        let plain = ReplayWindow::new(64, false).unwrap();
        assert_eq!(plain.infer(u32::MAX), Ok(u64::from(u32::MAX)));
    }

    #[test]
    fn esn_top_of_the_space() {
        // Jump straight to the last sub-space and check that wrapping past
        // 2^64 is refused rather than mapped to sub-space 0.
        let mut w = ReplayWindow::new(32, true).unwrap();
        w.accept(u64::MAX - 5).unwrap();
        assert_eq!(w.infer(0xffff_fffe), Ok(u64::MAX - 1));
        assert!(matches!(w.infer(1), Err(Error::TooOld { .. })));
    }
}
