//! SQN issuing that never repeats a value, across restarts and crashes, while
//! touching the disk only once per lease.
//!
//! SEQ_HE (TS 33.102 Annex C.1.2, one counter per subscriber) lives in the
//! store as a high-water mark: "every SEQ up to X may have been issued". To
//! issue SQNs the AuC first *reserves* a lease of `lease_size` SEQ values
//! by raising X in one durable, atomic UPDATE
//! (`seq_hwm = MAX(seq_hwm, floor) + size`), and only then hands them out from
//! memory ([`telsec_auth::sqn::SqnRange`]). A process that dies loses the
//! unissued rest of its lease, which is harmless: the USIM accepts any step
//! of SEQ up to Δ = 2^28 (Annex C.2.1). After a restart the next lease starts
//! above the stored mark, so no SQN handed out before is issued again; and
//! since the reservation is one atomic statement, two processes sharing the
//! database file get disjoint leases too.
//!
//! IND (the low `ind_bitlen` bits, Annex C.3.2) is chosen per request by the
//! caller: one value per serving node, as osmo-hlr does.

use std::collections::HashMap;

use telsec_auth::sqn::{Sqn, SqnError, SqnGenerator, SqnRange};

use crate::ids::Imsi;
use crate::store::{Store, StoreError};

/// Default number of SEQ values reserved per lease.
///
/// Each lease costs one durable (fsync'd) write, so the size sets how often
/// a busy subscriber hits the disk: with 5 vectors per request, a lease of
/// 32 means a write every 6-7 requests, which made the fsync the HLR's
/// bottleneck (BENCHMARKS.md). A crash skips at most this many SEQ values
/// per subscriber, which the USIM accepts (a jump far below Δ = 2^28, TS
/// 33.102 Annex C.2) and which is nothing against the 2^43 SEQ values of a
/// 48-bit SQN with 5 IND bits.
pub const DEFAULT_LEASE_SIZE: u32 = 1024;

/// Default bound on the number of subscribers with a lease held in memory.
pub const DEFAULT_MAX_LEASES: usize = 100_000;

/// Errors of SQN issuing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseError {
    /// Reserving a lease failed in the store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// SQN arithmetic failed (IND too long, SEQ space exhausted).
    #[error("SQN: {0}")]
    Sqn(#[from] SqnError),
}

#[derive(Debug)]
struct Lease {
    /// The subscriber's 3G data revision the lease was taken under.
    rev: i64,
    ind_bits: u8,
    range: SqnRange,
}

/// The in-memory leases of one AuC, keyed by subscriber row id.
#[derive(Debug)]
pub struct SqnLeases {
    lease_size: u32,
    max_leases: usize,
    leases: HashMap<i64, Lease>,
}

/// What to issue: for which subscriber, under which 3G data revision.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Issue<'a> {
    pub id: i64,
    pub imsi: &'a Imsi,
    pub rev: i64,
    pub ind_bits: u8,
}

impl SqnLeases {
    /// Leases of `lease_size` SEQ values (at least 1), for at most
    /// `max_leases` subscribers at a time (the rest of an evicted lease is
    /// skipped, like after a restart).
    pub fn new(lease_size: u32, max_leases: usize) -> SqnLeases {
        SqnLeases {
            lease_size: lease_size.max(1),
            max_leases: max_leases.max(1),
            leases: HashMap::new(),
        }
    }

    /// The lease size.
    pub fn lease_size(&self) -> u32 {
        self.lease_size
    }

    /// Forget every in-memory lease (their unissued values are skipped).
    pub fn clear(&mut self) {
        self.leases.clear();
    }

    /// Take a new lease of at least `want` values whose SEQs are all above
    /// `floor` and above everything reserved before.
    fn reserve(
        &mut self,
        store: &mut Store,
        who: Issue<'_>,
        floor: u64,
        want: u32,
    ) -> Result<(), LeaseError> {
        let count = self.lease_size.max(want);
        let seq_max = Sqn::MAX.seq(who.ind_bits);
        let hwm = store.reserve_seq(who.id, who.imsi, floor, u64::from(count), seq_max)?;
        // The lease is hwm − count + 1 ..= hwm: rebuild the generator just
        // below it and reserve the same values there.
        let top_ind = u32::try_from((1u64 << who.ind_bits) - 1).unwrap_or(0);
        let start = hwm
            .checked_sub(u64::from(count))
            .ok_or(SqnError::Exhausted)?;
        let below = Sqn::from_parts(start, top_ind, who.ind_bits)?;
        let mut generator = SqnGenerator::resume(below, who.ind_bits)?;
        let range = generator.reserve(count)?;
        debug_assert_eq!(range.high_water().seq(who.ind_bits), hwm);
        if self.leases.len() >= self.max_leases
            && !self.leases.contains_key(&who.id)
            && let Some(&victim) = self.leases.keys().next()
        {
            self.leases.remove(&victim);
        }
        self.leases.insert(
            who.id,
            Lease {
                rev: who.rev,
                ind_bits: who.ind_bits,
                range,
            },
        );
        tracing::debug!(imsi = %who.imsi, seq_reserved = hwm, count, "SQN lease reserved");
        Ok(())
    }

    /// Issue `n` SQNs for slot `ind`, each above every SQN issued before for
    /// this subscriber. With `resync_floor = Some(SEQ_MS)` all of them are
    /// also above SEQ_MS (TS 33.102 §6.3.5: SEQ_HE moves past the USIM's
    /// counter); the current lease is then abandoned.
    pub(crate) fn issue(
        &mut self,
        store: &mut Store,
        who: Issue<'_>,
        ind: u32,
        n: u32,
        resync_floor: Option<u64>,
    ) -> Result<Vec<Sqn>, LeaseError> {
        let ind = ind & ((1u32 << who.ind_bits.min(31)) - 1);
        let stale = match self.leases.get(&who.id) {
            Some(l) => l.rev != who.rev || l.ind_bits != who.ind_bits,
            None => false,
        };
        if stale || resync_floor.is_some() {
            self.leases.remove(&who.id);
        }
        if let Some(floor) = resync_floor {
            self.reserve(store, who, floor, n)?;
        }
        let mut out = Vec::with_capacity(n as usize);
        while out.len() < n as usize {
            let next = match self.leases.get_mut(&who.id) {
                Some(lease) => lease.range.next(ind)?,
                None => None,
            };
            match next {
                Some(sqn) => out.push(sqn),
                None => {
                    let left = n - out.len() as u32;
                    self.reserve(store, who, 0, left)?;
                }
            }
        }
        Ok(out)
    }
}
