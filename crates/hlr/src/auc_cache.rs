//! The AuC's cache of prepared per-subscriber state: the 3G algorithm with
//! its key schedule, the 2G Ki, AMF and IND length, so that a request does
//! not read three rows, open two or three AES-256-GCM seals and expand an
//! AES key again.
//!
//! An entry is never used stale. Before any use the store's
//! [`ChangeMarker`] is read (one `PRAGMA data_version`): it moves whenever
//! another connection — a second `Store` in this process, or the CLI in
//! another one — commits, and whenever this handle provisions. While it does
//! not move, nothing the AuC reads can have changed, and entries are used as
//! they are. Once it has moved, each entry is checked again at its next use
//! against the subscriber's [`AuthStamp`] (one indexed lookup; the stamp's
//! `auth_rev` is raised by triggers on every change of keys, algorithm, AMF,
//! IND length or enabled flag, and a re-added IMSI has a new row id): equal
//! means current, anything else drops the entry and reads the subscriber
//! afresh. A deleted subscriber has no stamp and is dropped.
//!
//! Size is bounded ([`DEFAULT_CACHE_SIZE`] entries unless configured);
//! eviction is CLOCK (second chance): a hit only sets a bit, and a full
//! cache evicts the first entry not used since the hand last passed it.
//! Secrets held here are wiped when an entry is dropped: the algorithm
//! kernels zeroize their key material, the Ki is a
//! [`crate::model::SecretBytes`]. Each entry lives in its own allocation, so
//! growing the table never leaves unwiped copies behind.

use std::collections::HashMap;

use telsec_auth::algorithm::AkaAlgorithm;
use telsec_auth::milenage::Milenage;
use telsec_auth::tuak::{Tuak, TuakAka};
use zeroize::Zeroizing;

use crate::ids::Imsi;
use crate::model::{Algorithm3g, Auth2g, OperatorKey};
use crate::store::{AuthRecord, AuthStamp, ChangeMarker, Store, StoreError};

/// Default bound on subscribers with prepared state in memory. An entry
/// takes under 1 KiB (some 600 bytes with allocator overhead today; the AES
/// key schedule and TUAK state dominate), so the default bounds the cache
/// below 100 MiB.
pub const DEFAULT_CACHE_SIZE: usize = 100_000;

/// A subscriber's 3G algorithm, ready to run.
pub(crate) enum Kernel {
    Milenage(Milenage),
    Tuak(TuakAka),
}

impl Kernel {
    pub(crate) fn alg(&self) -> &dyn AkaAlgorithm {
        match self {
            Kernel::Milenage(m) => m,
            Kernel::Tuak(t) => t,
        }
    }
}

pub(crate) fn key16(bytes: &[u8]) -> Option<Zeroizing<[u8; 16]>> {
    let mut k = Zeroizing::new([0u8; 16]);
    if bytes.len() != 16 {
        return None;
    }
    k.copy_from_slice(bytes);
    Some(k)
}

fn key32(bytes: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let mut k = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return None;
    }
    k.copy_from_slice(bytes);
    Some(k)
}

/// The kernel for `alg`, or why its data cannot drive the algorithm.
fn kernel(alg: &Algorithm3g) -> Result<Kernel, String> {
    match alg {
        Algorithm3g::Milenage { k, op } => {
            let k = key16(k.expose()).ok_or("K is not 16 bytes")?;
            let o = key16(op.bytes().expose()).ok_or("OP/OPc is not 16 bytes")?;
            Ok(Kernel::Milenage(match op {
                OperatorKey::Op(_) => Milenage::with_op(&k, &o),
                OperatorKey::Opc(_) => Milenage::with_opc(&k, &o),
            }))
        }
        Algorithm3g::Tuak { k, top, params } => {
            let p = params.to_auth().map_err(|e| e.to_string())?;
            let t = key32(top.bytes().expose()).ok_or("TOP/TOPc is not 32 bytes")?;
            let tuak = match top {
                OperatorKey::Op(_) => Tuak::with_top(k.expose(), &t, p),
                OperatorKey::Opc(_) => Tuak::with_topc(k.expose(), &t, p),
            }
            .map_err(|e| e.to_string())?;
            Ok(Kernel::Tuak(TuakAka::new(tuak).map_err(|e| e.to_string())?))
        }
    }
}

/// 3G state, prepared.
pub(crate) struct Prepared3g {
    /// The algorithm, or why the stored data cannot drive it (reported when
    /// vectors are asked for, after the checks that come first).
    pub kernel: Result<Kernel, String>,
    pub amf: [u8; 2],
    pub ind_bitlen: u8,
    /// The 3G data revision, for the SQN lease.
    pub rev: i64,
}

/// Everything the AuC needs of one subscriber, as of `stamp`.
pub(crate) struct Prepared {
    pub stamp: AuthStamp,
    pub auth_2g: Option<Auth2g>,
    pub auth_3g: Option<Prepared3g>,
}

impl Prepared {
    fn new(record: AuthRecord) -> Prepared {
        Prepared {
            stamp: record.stamp,
            auth_2g: record.auth_2g,
            auth_3g: record.auth_3g.map(|state| Prepared3g {
                kernel: kernel(&state.auth.algorithm),
                amf: state.auth.amf,
                ind_bitlen: state.auth.ind_bitlen,
                rev: state.rev,
            }),
        }
    }
}

/// Prepared state from the cache or, with the cache off, made for this
/// request only.
pub(crate) enum Got<'a> {
    Cached(&'a Prepared),
    Fresh(Box<Prepared>),
}

impl core::ops::Deref for Got<'_> {
    type Target = Prepared;
    fn deref(&self) -> &Prepared {
        match self {
            Got::Cached(p) => p,
            Got::Fresh(p) => p,
        }
    }
}

struct Slot {
    imsi: Imsi,
    /// Boxed so that the key material stays put, and is wiped where it
    /// lies, while the slot vector grows or swaps (a reallocation copies
    /// the slots without dropping them).
    prepared: Box<Prepared>,
    /// The validation epoch the entry was last known current in.
    checked: u64,
    /// CLOCK reference bit.
    used: bool,
}

/// The cache. See the module documentation.
pub(crate) struct AucCache {
    capacity: usize,
    slots: Vec<Slot>,
    index: HashMap<Imsi, usize>,
    hand: usize,
    /// Raised whenever the store's change marker moves: entries checked in
    /// an older epoch are checked again before use.
    epoch: u64,
    seen: Option<ChangeMarker>,
}

impl core::fmt::Debug for AucCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AucCache")
            .field("capacity", &self.capacity)
            .field("len", &self.slots.len())
            .finish_non_exhaustive()
    }
}

impl AucCache {
    /// A cache of at most `capacity` subscribers; 0 turns caching off.
    pub(crate) fn new(capacity: usize) -> AucCache {
        AucCache {
            capacity,
            slots: Vec::new(),
            index: HashMap::new(),
            hand: 0,
            epoch: 0,
            seen: None,
        }
    }

    /// Subscribers held.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Drop every entry.
    pub(crate) fn clear(&mut self) {
        self.slots.clear();
        self.index.clear();
        self.hand = 0;
    }

    /// The current prepared state of `imsi`; `None` when there is no such
    /// subscriber.
    pub(crate) fn get(
        &mut self,
        store: &Store,
        imsi: &Imsi,
    ) -> Result<Option<Got<'_>>, StoreError> {
        if self.capacity == 0 {
            return Ok(store
                .auth_record(imsi)?
                .map(|r| Got::Fresh(Box::new(Prepared::new(r)))));
        }
        // Read before anything else: what is read below is at least as new,
        // so a change after this point moves the marker seen next time.
        let marker = store.change_marker()?;
        if self.seen != Some(marker) {
            self.seen = Some(marker);
            self.epoch += 1;
        }
        if let Some(&i) = self.index.get(imsi) {
            let slot = &mut self.slots[i];
            if slot.checked != self.epoch {
                if store.auth_stamp(imsi)? == Some(slot.prepared.stamp) {
                    slot.checked = self.epoch;
                } else {
                    self.remove(i);
                    return self.load(store, imsi);
                }
            }
            let slot = &mut self.slots[i];
            slot.used = true;
            return Ok(Some(Got::Cached(&slot.prepared)));
        }
        self.load(store, imsi)
    }

    /// Read, prepare and insert `imsi`.
    fn load(&mut self, store: &Store, imsi: &Imsi) -> Result<Option<Got<'_>>, StoreError> {
        let Some(record) = store.auth_record(imsi)? else {
            return Ok(None);
        };
        let slot = Slot {
            imsi: imsi.clone(),
            prepared: Box::new(Prepared::new(record)),
            checked: self.epoch,
            used: true,
        };
        let i = self.insert(slot);
        Ok(Some(Got::Cached(&self.slots[i].prepared)))
    }

    /// Insert a slot for an IMSI not present; returns its index.
    fn insert(&mut self, slot: Slot) -> usize {
        if self.slots.len() < self.capacity {
            self.index.insert(slot.imsi.clone(), self.slots.len());
            self.slots.push(slot);
            return self.slots.len() - 1;
        }
        // CLOCK: clear reference bits until an unreferenced entry comes up
        // (at most one full turn).
        loop {
            if self.hand >= self.slots.len() {
                self.hand = 0;
            }
            let s = &mut self.slots[self.hand];
            if s.used {
                s.used = false;
                self.hand += 1;
            } else {
                break;
            }
        }
        let i = self.hand;
        self.hand += 1;
        self.index.remove(&self.slots[i].imsi);
        self.index.insert(slot.imsi.clone(), i);
        // The old slot (and its key material) is dropped, and wiped, here.
        self.slots[i] = slot;
        i
    }

    /// Remove the entry at index `i`.
    fn remove(&mut self, i: usize) {
        let gone = self.slots.swap_remove(i);
        self.index.remove(&gone.imsi);
        if let Some(moved) = self.slots.get(i) {
            self.index.insert(moved.imsi.clone(), i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Kek;
    use crate::model::{Auth3g, NewSubscriber, SecretBytes};

    fn store_with(n: u32) -> Store {
        let mut store = Store::open_in_memory(Kek::from_bytes([3; 32])).unwrap();
        for i in 0..n {
            let mut sub = NewSubscriber::new(imsi(i));
            sub.auth_3g = Some(Auth3g::new(
                Algorithm3g::milenage(
                    SecretBytes::new(vec![i as u8; 16]),
                    OperatorKey::Opc(SecretBytes::new(vec![0xcd; 16])),
                )
                .unwrap(),
            ));
            store.add_subscriber(&sub).unwrap();
        }
        store
    }

    fn imsi(i: u32) -> Imsi {
        Imsi::new(&format!("00101{i:010}")).unwrap()
    }

    fn id_of(cache: &mut AucCache, store: &Store, i: u32) -> i64 {
        cache.get(store, &imsi(i)).unwrap().unwrap().stamp.id
    }

    #[test]
    fn bounded_and_second_chance() {
        let store = store_with(6);
        let mut cache = AucCache::new(3);
        for i in 0..3 {
            id_of(&mut cache, &store, i);
        }
        assert_eq!(cache.len(), 3);
        // All three referenced: the hand clears them all and evicts 0.
        id_of(&mut cache, &store, 3);
        assert_eq!(cache.len(), 3);
        assert!(!cache.index.contains_key(&imsi(0)));
        // 1 used again: 2 goes next, not 1.
        id_of(&mut cache, &store, 1);
        id_of(&mut cache, &store, 4);
        assert!(cache.index.contains_key(&imsi(1)));
        assert!(!cache.index.contains_key(&imsi(2)));
        assert_eq!(cache.len(), 3);
        // The index always names the slot holding its IMSI.
        for (k, &i) in &cache.index {
            assert_eq!(&cache.slots[i].imsi, k);
        }
        // Every IMSI still maps to its own row.
        for i in 0..6 {
            let expected = store.auth_stamp(&imsi(i)).unwrap().unwrap().id;
            assert_eq!(id_of(&mut cache, &store, i), expected);
        }
    }

    #[test]
    fn deleted_subscriber_leaves_the_cache() {
        let mut store = store_with(3);
        let mut cache = AucCache::new(10);
        for i in 0..3 {
            id_of(&mut cache, &store, i);
        }
        store.delete_subscriber(&imsi(0)).unwrap();
        assert!(cache.get(&store, &imsi(0)).unwrap().is_none());
        assert_eq!(cache.len(), 2);
        for (k, &i) in &cache.index {
            assert_eq!(&cache.slots[i].imsi, k);
        }
        assert!(cache.get(&store, &imsi(2)).unwrap().is_some());
        cache.clear();
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn entry_size_is_as_documented() {
        // DEFAULT_CACHE_SIZE's documentation promises under 1 KiB each,
        // allocator overhead included.
        let entry = core::mem::size_of::<Slot>()
            + core::mem::size_of::<Prepared>()
            + core::mem::size_of::<Imsi>()
            + core::mem::size_of::<usize>()
            + 2 * 15;
        assert!(entry <= 896, "{entry} bytes per entry");
    }

    #[test]
    fn off_keeps_nothing() {
        let store = store_with(2);
        let mut cache = AucCache::new(0);
        assert!(matches!(
            cache.get(&store, &imsi(1)).unwrap(),
            Some(Got::Fresh(_))
        ));
        assert_eq!(cache.len(), 0);
        assert!(cache.get(&store, &imsi(7)).unwrap().is_none());
    }
}
