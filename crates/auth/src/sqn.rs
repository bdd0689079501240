//! Sequence numbers for AKA: the SQN value, the AuC's generator and the USIM's
//! freshness check (TS 33.102 §6.3.2, §6.3.5 and Annex C).
//!
//! # SQN = SEQ || IND
//!
//! SQN is 48 bits (TS 33.102 §6.3.7). Annex C.1.1 splits it into a batch
//! number SEQ (the high bits) and an index IND (the low `ind_bits` bits,
//! 5 recommended in Annex C.3). The USIM keeps one SEQ per IND value
//! (Annex C.2.2), so vectors for different IND values may be used in any order
//! relative to each other, while within one IND slot SEQ must increase.
//!
//! # Network side: [`SqnGenerator`]
//!
//! This is the non-time-based scheme of Annex C.1: the AuC keeps one counter
//! SEQ_HE per subscriber and each new vector takes `SEQ_HE + 1`. The IND is
//! chosen by the caller, one value per serving node (VLR, SGSN, MME, or the
//! home agent's bootstrap service): a node that caches vectors uses its own
//! slot, so vectors consumed at another node never make its cached ones stale.
//! An HLR maps each node to a number and reduces it modulo `2^ind_bits`
//! ([`SqnGenerator::ind_for_node`]); osmo-hlr does the same with its per-VLR
//! IND table, and the numbers produced here agree with it
//! (`next = ((sqn + 2^ind_bits) & !(2^ind_bits - 1)) | ind`, see [`next_after`]).
//!
//! ## Never issuing an SQN twice across a crash
//!
//! The HLR persists SQN, the generator does not. To survive a crash between
//! issuing a vector and writing the counter, the HLR takes a *lease*:
//!
//! 1. `let range = generator.reserve(n)?;` advances SEQ_HE by `n` SEQ values;
//! 2. the HLR durably stores `range.high_water()` (an [`Sqn`]);
//! 3. only then does it issue SQNs from `range` (each one `<= high_water`).
//!
//! After a restart the HLR rebuilds the generator with
//! [`SqnGenerator::resume`]`(stored_high_water)`: every SQN it issues from then
//! on has a SEQ above the stored mark, so no SQN handed out before the crash is
//! issued again. SEQ values of the lease that were never issued are skipped;
//! with 43 bits of SEQ that costs nothing that matters. An HLR that writes
//! SEQ_HE before answering every request (as osmo-hlr does) is the special case
//! `n = 1`.
//!
//! # USIM side: [`SqnState`]
//!
//! The array of SEQ_MS(i) with the checks of Annex C.2.1 (a jump of SEQ above
//! SEQ_MS by more than Δ is refused) and Annex C.2.2 (freshness per IND slot,
//! plus the optional age limit L), exportable with [`SqnState::to_bytes`] so a
//! soft USIM can persist it.

use thiserror::Error;

/// Length of SQN in bits (TS 33.102 §6.3.7).
pub const SQN_BITS: u32 = 48;

/// IND length recommended by TS 33.102 Annex C.3: 5 bits, 32 slots.
pub const DEFAULT_IND_BITS: u8 = 5;

/// Largest IND length the AuC side accepts: leaves 20 bits of SEQ, i.e. more
/// than a million vectors before SEQ runs out even at this extreme.
pub const MAX_IND_BITS: u8 = 28;

/// Largest IND length the USIM side accepts. The USIM keeps one SEQ per IND
/// value, so this bounds the array to 1024 entries.
pub const MAX_USIM_IND_BITS: u8 = 10;

/// Δ recommended by TS 33.102 Annex C.3: 2^28.
pub const DEFAULT_DELTA: u64 = 1 << 28;

const SQN_MASK: u64 = (1 << SQN_BITS) - 1;

/// Errors of SQN arithmetic, generation and state import.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SqnError {
    /// A value does not fit in 48 bits.
    #[error("SQN value {0:#x} does not fit in 48 bits")]
    OutOfRange(u64),
    /// The IND length is larger than this side supports.
    #[error("IND length of {0} bits is not supported")]
    IndBits(u8),
    /// The IND value does not fit in the configured IND length.
    #[error("IND {ind} does not fit in {ind_bits} bits")]
    Ind {
        /// The IND asked for.
        ind: u32,
        /// The configured IND length.
        ind_bits: u8,
    },
    /// SEQ would pass its maximum: the subscriber's SQN space is used up
    /// (Annex C.2.1 chooses Δ so that this never happens in a card's life).
    #[error("SEQ space exhausted")]
    Exhausted,
    /// A lease was asked for zero SEQ values.
    #[error("a lease must reserve at least one SEQ value")]
    EmptyLease,
    /// Δ must be at least 1, and L (when set) at least 1.
    #[error("invalid SQN policy: {0}")]
    Policy(&'static str),
    /// An exported USIM SQN state could not be read back.
    #[error("invalid SQN state encoding: {0}")]
    Encoding(&'static str),
}

/// A 48-bit sequence number (TS 33.102 §6.3.2). The split into SEQ and IND
/// depends on the IND length, which is a property of the subscription, so it
/// is passed to [`Sqn::seq`] / [`Sqn::ind`] rather than stored.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Sqn(u64);

impl Sqn {
    /// The zero SQN.
    pub const ZERO: Sqn = Sqn(0);
    /// The largest SQN, 2^48 - 1.
    pub const MAX: Sqn = Sqn(SQN_MASK);

    /// An SQN from its numeric value; an error above 2^48 - 1.
    pub fn new(value: u64) -> Result<Sqn, SqnError> {
        if value > SQN_MASK {
            return Err(SqnError::OutOfRange(value));
        }
        Ok(Sqn(value))
    }

    /// An SQN from SEQ and IND (Annex C.1.1: SQN = SEQ || IND).
    pub fn from_parts(seq: u64, ind: u32, ind_bits: u8) -> Result<Sqn, SqnError> {
        if ind_bits > MAX_IND_BITS {
            return Err(SqnError::IndBits(ind_bits));
        }
        if u64::from(ind) >> ind_bits != 0 {
            return Err(SqnError::Ind { ind, ind_bits });
        }
        if seq > (SQN_MASK >> ind_bits) {
            return Err(SqnError::Exhausted);
        }
        Ok(Sqn((seq << ind_bits) | u64::from(ind)))
    }

    /// The SQN in the 6 bytes carried in AUTN/AUTS (big-endian).
    pub fn from_bytes(bytes: &[u8; 6]) -> Sqn {
        let mut wide = [0u8; 8];
        wide[2..].copy_from_slice(bytes);
        Sqn(u64::from_be_bytes(wide))
    }

    /// The 6-byte big-endian form carried in AUTN/AUTS.
    pub fn to_bytes(self) -> [u8; 6] {
        let wide = self.0.to_be_bytes();
        let mut out = [0u8; 6];
        out.copy_from_slice(&wide[2..]);
        out
    }

    /// The numeric value.
    pub fn value(self) -> u64 {
        self.0
    }

    /// SEQ, the batch number: the bits above IND.
    pub fn seq(self, ind_bits: u8) -> u64 {
        self.0.checked_shr(u32::from(ind_bits)).unwrap_or(0)
    }

    /// IND, the index: the low `ind_bits` bits.
    pub fn ind(self, ind_bits: u8) -> u32 {
        let mask = (1u64 << ind_bits.min(32)) - 1;
        // The mask keeps at most 32 bits, so the value fits.
        u32::try_from(self.0 & mask).unwrap_or(u32::MAX)
    }
}

impl core::fmt::Debug for Sqn {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Sqn({:#014x})", self.0)
    }
}

impl core::fmt::Display for Sqn {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The next SQN an AuC issues for slot `ind` after `last`, the highest SQN it
/// has issued or reserved: SEQ + 1 with the given IND (Annex C.1.1).
///
/// Pure, so an HLR can compute the next value straight from its stored counter.
/// With `ind_bits = 0` this is `last + 1`.
pub fn next_after(last: Sqn, ind: u32, ind_bits: u8) -> Result<Sqn, SqnError> {
    Sqn::from_parts(last.seq(ind_bits).saturating_add(1), ind, ind_bits)
}

/// What [`SqnGenerator::resync`] did with SEQ_HE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResyncOutcome {
    /// The next SEQ_HE + 1 would already be accepted by the USIM; the counter
    /// stays (TS 33.102 §6.3.5: "If SQN_HE is in the correct range").
    Kept,
    /// SEQ_HE was set to SEQ_MS, so the next vector carries SEQ_MS + 1.
    Reset,
}

/// The AuC's per-subscriber SQN counter SEQ_HE (TS 33.102 Annex C.1,
/// non-time-based). See the [module documentation](self) for the choice of
/// IND and for leases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqnGenerator {
    /// The highest SQN issued or reserved; its SEQ is SEQ_HE.
    last: Sqn,
    ind_bits: u8,
}

impl SqnGenerator {
    /// A generator whose last issued (or reserved) SQN is `last`: the value an
    /// HLR stored, or [`Sqn::ZERO`] for a new subscriber.
    pub fn new(last: Sqn, ind_bits: u8) -> Result<SqnGenerator, SqnError> {
        if ind_bits > MAX_IND_BITS {
            return Err(SqnError::IndBits(ind_bits));
        }
        Ok(SqnGenerator { last, ind_bits })
    }

    /// Rebuild a generator after a restart from the persisted high-water mark
    /// of the last lease (see [`SqnRange::high_water`]). Every SQN issued
    /// afterwards has a SEQ above the mark's, so none repeats.
    pub fn resume(high_water: Sqn, ind_bits: u8) -> Result<SqnGenerator, SqnError> {
        SqnGenerator::new(high_water, ind_bits)
    }

    /// The IND length.
    pub fn ind_bits(&self) -> u8 {
        self.ind_bits
    }

    /// The highest SQN issued or reserved so far; the value to store when not
    /// using leases.
    pub fn last(&self) -> Sqn {
        self.last
    }

    /// SEQ_HE, the current batch number.
    pub fn seq_he(&self) -> u64 {
        self.last.seq(self.ind_bits)
    }

    /// The IND for the `node`-th serving node: node numbers wrap around the
    /// available slots.
    pub fn ind_for_node(&self, node: u32) -> u32 {
        let slots = 1u64 << self.ind_bits;
        // The remainder is below 2^ind_bits <= 2^28.
        u32::try_from(u64::from(node) % slots).unwrap_or(0)
    }

    /// Issue the next SQN for slot `ind`: SEQ_HE + 1 || IND.
    pub fn next(&mut self, ind: u32) -> Result<Sqn, SqnError> {
        let sqn = next_after(self.last, ind, self.ind_bits)?;
        self.last = sqn;
        Ok(sqn)
    }

    /// Reserve the next `count` SEQ values as a lease. The caller persists
    /// [`SqnRange::high_water`] before issuing any SQN from it.
    pub fn reserve(&mut self, count: u32) -> Result<SqnRange, SqnError> {
        if count == 0 {
            return Err(SqnError::EmptyLease);
        }
        let first = self.seq_he().checked_add(1).ok_or(SqnError::Exhausted)?;
        let last_seq = first
            .checked_add(u64::from(count) - 1)
            .ok_or(SqnError::Exhausted)?;
        let top_ind = u32::try_from((1u64 << self.ind_bits) - 1).unwrap_or(0);
        let high_water = Sqn::from_parts(last_seq, top_ind, self.ind_bits)?;
        self.last = high_water;
        Ok(SqnRange {
            next_seq: first,
            end_seq: last_seq + 1,
            ind_bits: self.ind_bits,
            high_water,
        })
    }

    /// Handle a resynchronisation: `sqn_ms` is the USIM's highest accepted SQN,
    /// recovered from a verified AUTS (see `aka::resync`).
    ///
    /// TS 33.102 §6.3.5: when the next SEQ_HE + 1 would be accepted by the USIM
    /// (above SEQ_MS and at most Δ above it, Annex C.2.1) the counter is kept;
    /// otherwise SEQ_HE is reset to SEQ_MS so the next vector carries
    /// SEQ_MS + 1. A reset may move the counter down (when the AuC ran more than
    /// Δ ahead of the card); the HLR must then store [`SqnGenerator::last`]
    /// even though it is below an earlier high-water mark. Reissuing those SEQ
    /// values is what the spec asks for and is safe: the USIM never accepted
    /// any of them.
    pub fn resync(&mut self, sqn_ms: Sqn, delta: u64) -> ResyncOutcome {
        let seq_ms = sqn_ms.seq(self.ind_bits);
        let next = self.seq_he().saturating_add(1);
        if next > seq_ms && next - seq_ms <= delta {
            return ResyncOutcome::Kept;
        }
        // SEQ_MS || top IND: the next SQN then carries SEQ_MS + 1 whatever IND
        // is asked for.
        let top_ind = u32::try_from((1u64 << self.ind_bits) - 1).unwrap_or(0);
        self.last = Sqn::from_parts(seq_ms, top_ind, self.ind_bits).unwrap_or(sqn_ms);
        ResyncOutcome::Reset
    }
}

/// A lease of consecutive SEQ values taken with [`SqnGenerator::reserve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqnRange {
    next_seq: u64,
    end_seq: u64,
    ind_bits: u8,
    high_water: Sqn,
}

impl SqnRange {
    /// The SQN to persist before issuing from this lease: the last reserved SEQ
    /// with the highest IND, so every SQN of the lease is at most this value.
    pub fn high_water(&self) -> Sqn {
        self.high_water
    }

    /// How many SEQ values are left.
    pub fn remaining(&self) -> u64 {
        self.end_seq - self.next_seq
    }

    /// Issue the next SQN of the lease for slot `ind`; `Ok(None)` once the
    /// lease is used up.
    pub fn next(&mut self, ind: u32) -> Result<Option<Sqn>, SqnError> {
        if self.next_seq == self.end_seq {
            return Ok(None);
        }
        let sqn = Sqn::from_parts(self.next_seq, ind, self.ind_bits)?;
        self.next_seq += 1;
        Ok(Some(sqn))
    }
}

/// The USIM's verification parameters (TS 33.102 Annex C.2, values of C.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqnPolicy {
    /// IND length; the USIM keeps `2^ind_bits` SEQ values.
    pub ind_bits: u8,
    /// Δ: the largest accepted step of SEQ above SEQ_MS (Annex C.2.1).
    pub delta: u64,
    /// L: when set, SEQ is accepted only if SEQ_MS - SEQ < L (Annex C.2.2).
    pub age_limit: Option<u64>,
}

impl Default for SqnPolicy {
    /// IND 5 bits and Δ = 2^28 (Annex C.3); no age limit.
    fn default() -> SqnPolicy {
        SqnPolicy {
            ind_bits: DEFAULT_IND_BITS,
            delta: DEFAULT_DELTA,
            age_limit: None,
        }
    }
}

impl SqnPolicy {
    fn check(&self) -> Result<(), SqnError> {
        if self.ind_bits > MAX_USIM_IND_BITS {
            return Err(SqnError::IndBits(self.ind_bits));
        }
        if self.delta == 0 {
            return Err(SqnError::Policy("delta must be at least 1"));
        }
        if self.age_limit == Some(0) {
            return Err(SqnError::Policy("age limit L must be at least 1"));
        }
        Ok(())
    }
}

/// Why the USIM refused an SQN (each one ends in a synchronisation failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqnRejection {
    /// SEQ - SEQ_MS > Δ (Annex C.2.1).
    TooFarAhead,
    /// SEQ_MS - SEQ >= L (Annex C.2.2).
    TooOld,
    /// SEQ <= SEQ_MS(IND): a replay or a stale vector (Annex C.2.2).
    NotFresh,
}

/// The USIM's record of accepted sequence numbers (TS 33.102 Annex C.2): one
/// SEQ_MS(i) per IND value, and SQN_MS, the highest SQN accepted anywhere.
#[derive(Clone, PartialEq, Eq)]
pub struct SqnState {
    policy: SqnPolicy,
    /// SEQ_MS(i), indexed by IND; initially all zero (Annex C.2.2).
    slots: Vec<u64>,
    /// SQN_MS: the highest SQN accepted so far (zero before the first).
    highest: Sqn,
}

impl core::fmt::Debug for SqnState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqnState")
            .field("policy", &self.policy)
            .field("sqn_ms", &self.highest)
            .finish_non_exhaustive()
    }
}

impl Default for SqnState {
    /// A fresh card with the default policy (IND 5 bits, Δ = 2^28, no L).
    fn default() -> SqnState {
        let policy = SqnPolicy::default();
        SqnState {
            slots: vec![0; 1 << policy.ind_bits],
            policy,
            highest: Sqn::ZERO,
        }
    }
}

const STATE_VERSION: u8 = 1;
const STATE_HEADER: usize = 1 + 1 + 8 + 8 + 6;

impl SqnState {
    /// A fresh card: every SEQ_MS(i) zero.
    pub fn new(policy: SqnPolicy) -> Result<SqnState, SqnError> {
        policy.check()?;
        Ok(SqnState {
            policy,
            slots: vec![0; 1 << policy.ind_bits],
            highest: Sqn::ZERO,
        })
    }

    /// Rebuild a state from its parts: SQN_MS and the SEQ_MS(i) array (one
    /// entry per IND value). Checked for consistency: SQN_MS's SEQ must be the
    /// largest entry and must sit in SQN_MS's own slot.
    pub fn from_parts(policy: SqnPolicy, sqn_ms: Sqn, slots: &[u64]) -> Result<SqnState, SqnError> {
        policy.check()?;
        if slots.len() != 1 << policy.ind_bits {
            return Err(SqnError::Encoding(
                "slot count does not match the IND length",
            ));
        }
        let seq_ms = sqn_ms.seq(policy.ind_bits);
        let own = slots
            .get(sqn_ms.ind(policy.ind_bits) as usize)
            .copied()
            .unwrap_or(u64::MAX);
        if own != seq_ms || slots.iter().any(|&s| s > seq_ms) {
            return Err(SqnError::Encoding("SQN_MS is not the highest accepted SQN"));
        }
        Ok(SqnState {
            policy,
            slots: slots.to_vec(),
            highest: sqn_ms,
        })
    }

    /// The verification parameters.
    pub fn policy(&self) -> SqnPolicy {
        self.policy
    }

    /// SQN_MS: the highest SQN accepted so far, the value an AUTS carries.
    pub fn sqn_ms(&self) -> Sqn {
        self.highest
    }

    /// SEQ_MS(i) for every IND value i.
    pub fn slots(&self) -> &[u64] {
        &self.slots
    }

    /// Check an SQN without changing the state (Annex C.2.1, C.2.2).
    pub fn check(&self, sqn: Sqn) -> Result<(), SqnRejection> {
        let bits = self.policy.ind_bits;
        let seq = sqn.seq(bits);
        let seq_ms = self.highest.seq(bits);
        if seq > seq_ms && seq - seq_ms > self.policy.delta {
            return Err(SqnRejection::TooFarAhead);
        }
        if let Some(limit) = self.policy.age_limit
            && seq_ms >= seq
            && seq_ms - seq >= limit
        {
            return Err(SqnRejection::TooOld);
        }
        let slot = self
            .slots
            .get(sqn.ind(bits) as usize)
            .copied()
            .unwrap_or(u64::MAX);
        if seq <= slot {
            return Err(SqnRejection::NotFresh);
        }
        Ok(())
    }

    /// Check an SQN and, when it is accepted, record it: SEQ_MS(IND) = SEQ and
    /// SQN_MS = max(SQN_MS, SQN). A refused SQN changes nothing.
    pub fn accept(&mut self, sqn: Sqn) -> Result<(), SqnRejection> {
        self.check(sqn)?;
        let bits = self.policy.ind_bits;
        if let Some(slot) = self.slots.get_mut(sqn.ind(bits) as usize) {
            *slot = sqn.seq(bits);
        }
        if sqn > self.highest {
            self.highest = sqn;
        }
        Ok(())
    }

    /// Serialise for storage: version 1, IND length, Δ, L (0 = none), SQN_MS,
    /// then each SEQ_MS(i) in 6 bytes; all big-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(STATE_HEADER + 6 * self.slots.len());
        out.push(STATE_VERSION);
        out.push(self.policy.ind_bits);
        out.extend_from_slice(&self.policy.delta.to_be_bytes());
        out.extend_from_slice(&self.policy.age_limit.unwrap_or(0).to_be_bytes());
        out.extend_from_slice(&self.highest.to_bytes());
        for &seq in &self.slots {
            // SEQ_MS(i) < 2^48 always holds: it came from a 48-bit SQN.
            out.extend_from_slice(&Sqn(seq & SQN_MASK).to_bytes());
        }
        out
    }

    /// Read back what [`SqnState::to_bytes`] wrote.
    pub fn from_bytes(bytes: &[u8]) -> Result<SqnState, SqnError> {
        let header = bytes
            .get(..STATE_HEADER)
            .ok_or(SqnError::Encoding("truncated header"))?;
        if header[0] != STATE_VERSION {
            return Err(SqnError::Encoding("unknown version"));
        }
        let ind_bits = header[1];
        if ind_bits > MAX_USIM_IND_BITS {
            return Err(SqnError::IndBits(ind_bits));
        }
        let word = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&header[at..at + 8]);
            u64::from_be_bytes(b)
        };
        let delta = word(2);
        let limit = word(10);
        let mut sqn_ms = [0u8; 6];
        sqn_ms.copy_from_slice(&header[18..24]);
        let policy = SqnPolicy {
            ind_bits,
            delta,
            age_limit: (limit != 0).then_some(limit),
        };
        let body = &bytes[STATE_HEADER..];
        let count = 1usize << ind_bits;
        if body.len() != 6 * count {
            return Err(SqnError::Encoding("slot array has the wrong length"));
        }
        let slots: Vec<u64> = body
            .chunks_exact(6)
            .map(|c| {
                let mut b = [0u8; 6];
                b.copy_from_slice(c);
                Sqn::from_bytes(&b).value()
            })
            .collect();
        SqnState::from_parts(policy, Sqn::from_bytes(&sqn_ms), &slots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqn(v: u64) -> Sqn {
        Sqn::new(v).unwrap_or(Sqn::MAX)
    }

    #[test]
    fn split_and_join() {
        let s = sqn(0x0000_0000_0425);
        assert_eq!(s.seq(5), 0x21);
        assert_eq!(s.ind(5), 5);
        assert_eq!(Sqn::from_parts(0x21, 5, 5), Ok(s));
        assert_eq!(Sqn::from_bytes(&s.to_bytes()), s);
        assert_eq!(s.to_bytes(), [0, 0, 0, 0, 0x04, 0x25]);
        assert_eq!(Sqn::new(1 << 48), Err(SqnError::OutOfRange(1 << 48)));
        assert_eq!(
            Sqn::from_parts(0, 32, 5),
            Err(SqnError::Ind {
                ind: 32,
                ind_bits: 5
            })
        );
        assert_eq!(Sqn::from_parts(1 << 43, 0, 5), Err(SqnError::Exhausted));
        assert_eq!(sqn(7).seq(0), 7);
        assert_eq!(sqn(7).ind(0), 0);
    }

    /// Numbers from the osmo-hlr/osmo-auc-gen note in auth.toml: after a
    /// resync to SQN_MS = 23 the next SQN is 32 + IND with 5 IND bits, 24 with
    /// none, 25 for IND 1 with 1 bit and 256 + IND with 8 bits.
    #[test]
    fn next_after_matches_osmocom() {
        let ms = sqn(23);
        for ind in [0, 5, 23, 31] {
            assert_eq!(next_after(ms, ind, 5), Ok(sqn(32 + u64::from(ind))));
        }
        assert_eq!(next_after(ms, 0, 0), Ok(sqn(24)));
        assert_eq!(next_after(ms, 1, 1), Ok(sqn(25)));
        assert_eq!(next_after(ms, 1, 8), Ok(sqn(257)));
        // SQN 31 (SEQ 0, IND 31) is followed by 32 for IND 0.
        assert_eq!(next_after(sqn(31), 0, 5), Ok(sqn(32)));
        assert_eq!(next_after(Sqn::MAX, 0, 5), Err(SqnError::Exhausted));
    }

    #[test]
    fn generator_increments_seq() {
        let mut g = SqnGenerator::new(Sqn::ZERO, 5).unwrap_or_else(|_| unreachable!());
        assert_eq!(g.next(3), Ok(sqn(32 + 3)));
        assert_eq!(g.next(0), Ok(sqn(64)));
        assert_eq!(g.next(31), Ok(sqn(96 + 31)));
        assert_eq!(g.seq_he(), 3);
        assert_eq!(g.ind_for_node(33), 1);
        assert_eq!(
            g.next(32),
            Err(SqnError::Ind {
                ind: 32,
                ind_bits: 5
            })
        );
        assert_eq!(g.seq_he(), 3, "a refused request changes nothing");
        assert!(SqnGenerator::new(Sqn::ZERO, 29).is_err());
    }

    #[test]
    fn lease_and_restart_never_repeat() {
        let mut issued = std::collections::BTreeSet::new();
        let mut stored = Sqn::ZERO; // what the "database" holds
        for round in 0..5u32 {
            // (Re)start from the stored mark, as after a crash.
            let mut g = SqnGenerator::resume(stored, 5).unwrap_or_else(|_| unreachable!());
            let mut lease = g.reserve(4).unwrap_or_else(|_| unreachable!());
            stored = lease.high_water();
            // Issue only part of the lease, then "crash".
            for k in 0..(round % 4 + 1) {
                let s = lease.next(k).unwrap_or(None).unwrap_or(Sqn::MAX);
                assert!(s <= stored);
                assert!(issued.insert(s), "SQN {s:?} issued twice");
            }
            assert_eq!(lease.remaining(), u64::from(4 - (round % 4 + 1)));
        }
        let mut lease = SqnGenerator::resume(stored, 5)
            .and_then(|mut g| g.reserve(1))
            .unwrap_or_else(|_| unreachable!());
        assert!(lease.next(0).ok().flatten() > Some(stored));
        assert_eq!(lease.next(0), Ok(None));
        assert_eq!(
            SqnGenerator::new(Sqn::ZERO, 5).and_then(|mut g| g.reserve(0)),
            Err(SqnError::EmptyLease)
        );
    }

    #[test]
    fn resync_keeps_or_resets() {
        let mut g = SqnGenerator::new(sqn(10 << 5), 5).unwrap_or_else(|_| unreachable!());
        // Card at SEQ 5: SEQ_HE + 1 = 11 is fresh and within Δ.
        assert_eq!(g.resync(sqn(5 << 5), DEFAULT_DELTA), ResyncOutcome::Kept);
        assert_eq!(g.seq_he(), 10);
        // Card ahead of the AuC (e.g. database restored from backup).
        assert_eq!(
            g.resync(sqn((20 << 5) | 7), DEFAULT_DELTA),
            ResyncOutcome::Reset
        );
        assert_eq!(g.next(2), Ok(sqn((21 << 5) | 2)));
        // AuC more than Δ ahead: moves down to the card.
        assert_eq!(g.resync(sqn(3 << 5), 4), ResyncOutcome::Reset);
        assert_eq!(g.next(0), Ok(sqn(4 << 5)));
    }

    fn state(policy: SqnPolicy) -> SqnState {
        SqnState::new(policy).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn usim_array_checks() {
        let mut st = SqnState::default();
        assert_eq!(st, state(SqnPolicy::default()));
        assert_eq!(st.sqn_ms(), Sqn::ZERO);
        // SEQ 0 is never fresh: every slot starts at zero.
        assert_eq!(st.accept(sqn(3)), Err(SqnRejection::NotFresh));
        assert_eq!(st.accept(sqn(32)), Ok(()));
        assert_eq!(st.accept(sqn(32)), Err(SqnRejection::NotFresh));
        assert_eq!(st.accept(sqn(64 + 1)), Ok(()));
        // Older SEQ in another slot is still fresh there.
        assert_eq!(st.accept(sqn(32 + 2)), Ok(()));
        assert_eq!(st.sqn_ms(), sqn(65));
        assert_eq!(st.accept(sqn(32 + 1)), Err(SqnRejection::NotFresh));
        assert_eq!(st.slots()[0], 1);
        assert_eq!(st.slots()[1], 2);
        assert_eq!(st.slots()[2], 1);
    }

    #[test]
    fn usim_delta_and_age_limit() {
        let policy = SqnPolicy {
            ind_bits: 5,
            delta: 100,
            age_limit: Some(3),
        };
        let mut st = state(policy);
        assert_eq!(st.accept(sqn(101 << 5)), Err(SqnRejection::TooFarAhead));
        assert_eq!(st.accept(sqn(100 << 5)), Ok(()));
        assert_eq!(st.accept(sqn((200 << 5) | 1)), Ok(()));
        // SEQ_MS = 200: SEQ 197 is 3 old (refused), 198 is 2 old (accepted).
        assert_eq!(st.accept(sqn((197 << 5) | 2)), Err(SqnRejection::TooOld));
        assert_eq!(st.accept(sqn((198 << 5) | 2)), Ok(()));
        assert_eq!(st.sqn_ms(), sqn((200 << 5) | 1));
        assert!(SqnState::new(SqnPolicy { delta: 0, ..policy }).is_err());
        assert!(
            SqnState::new(SqnPolicy {
                ind_bits: 11,
                ..policy
            })
            .is_err()
        );
    }

    #[test]
    fn state_round_trip_and_validation() {
        let mut st = state(SqnPolicy {
            ind_bits: 2,
            delta: 1 << 20,
            age_limit: Some(9),
        });
        for v in [4u64, 9, 14, 16 + 3] {
            assert_eq!(st.accept(sqn(v)), Ok(()));
        }
        let bytes = st.to_bytes();
        assert_eq!(bytes.len(), STATE_HEADER + 4 * 6);
        assert_eq!(SqnState::from_bytes(&bytes), Ok(st.clone()));
        for cut in 0..bytes.len() {
            assert!(SqnState::from_bytes(&bytes[..cut]).is_err());
        }
        let mut bad = bytes.clone();
        bad[0] = 2;
        assert!(SqnState::from_bytes(&bad).is_err());
        let mut bad = bytes.clone();
        bad[1] = 30;
        assert!(SqnState::from_bytes(&bad).is_err());
        // A slot above SQN_MS is inconsistent.
        let mut bad = bytes;
        let last = bad.len() - 1;
        bad[last] = 0xff;
        assert!(SqnState::from_bytes(&bad).is_err());
    }
}
