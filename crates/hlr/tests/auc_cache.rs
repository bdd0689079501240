//! The AuC's cache of prepared keys: the same vectors as without it, and
//! never stale — changes through this store, through a second store on the
//! same file (the CLI while the HLR serves), or by hand take effect at the
//! next request.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::path::Path;

use common::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use telsec_auth::aka;
use telsec_auth::comp128::{comp128v1, comp128v2};
use telsec_auth::milenage::Milenage;
use telsec_auth::sqn::{SqnPolicy, SqnState};
use telsec_hlr::model::TuakParams;
use telsec_hlr::{
    Auc, AucConfig, AucError, Auth2g, Comp128Version, Imsi, Resync, Store, SubscriberUpdate,
    Vector, VectorRequest,
};

const K1: &str = "465b5ce8b199b49faa5f0a2ee238a6bc";
const K2: &str = "000102030405060708090a0b0c0d0e0f";
const OPC1: &str = "cd63cb71954a9f4e48a5994e37a02baf";
const OP1: &str = "cdc202d5123e20f62b6d676ac72cb318";
const KI1: &str = "00112233445566778899aabbccddeeff";
const KI2: &str = "ffeeddccbbaa99887766554433221100";

const MIL_OPC: &str = "901700000000101";
const MIL_OP: &str = "901700000000102";
const TUAK: &str = "901700000000103";
const GSM: &str = "901700000000104";
const BOTH: &str = "901700000000105";
const ALL: [&str; 5] = [MIL_OPC, MIL_OP, TUAK, GSM, BOTH];

fn provision(store: &mut Store) {
    store
        .add_subscriber(&milenage_sub(MIL_OPC, K1, OPC1))
        .unwrap();
    store
        .add_subscriber(&milenage_op_sub(MIL_OP, K1, OP1))
        .unwrap();
    let t = vectors();
    let e = &t["tuak"].as_array().unwrap()[0];
    let params = TuakParams {
        iterations: e["keccak_iterations"].as_integer().unwrap() as u16,
        res_bits: e["res_bits"].as_integer().unwrap() as u16,
        mac_bits: e["mac_bits"].as_integer().unwrap() as u16,
        ck_bits: e["ck_bits"].as_integer().unwrap() as u16,
        ik_bits: e["ik_bits"].as_integer().unwrap() as u16,
    };
    store
        .add_subscriber(&tuak_sub(TUAK, field(e, "k"), field(e, "top"), params))
        .unwrap();
    store
        .add_subscriber(&comp128_sub(GSM, Comp128Version::V1, KI1))
        .unwrap();
    let mut both = milenage_sub(BOTH, K1, OPC1);
    both.auth_2g = Some(Auth2g::new(Comp128Version::V2, secret(KI1)).unwrap());
    store.add_subscriber(&both).unwrap();
}

fn auc_over(store: Store, cache_size: usize) -> Auc {
    let config = AucConfig {
        cache_size,
        ..AucConfig::default()
    };
    Auc::new(store, config).unwrap()
}

fn usim() -> SqnState {
    SqnState::new(SqnPolicy {
        ind_bits: 5,
        ..SqnPolicy::default()
    })
    .unwrap()
}

fn one(auc: &mut Auc, imsi_digits: &str, rng: &mut StdRng) -> Result<Vector, AucError> {
    Ok(auc
        .vectors(&imsi(imsi_digits), 1, None, rng)?
        .pop()
        .unwrap())
}

/// The vector's AUTN verifies under a card with K `k` and OPc `OPC1`.
fn verifies_under(v: &Vector, k: &str) -> bool {
    let card = Milenage::with_opc(&hex16(k), &hex16(OPC1));
    let u = v.umts.as_ref().unwrap();
    aka::verify_autn(&card, &v.rand, &u.autn, &mut usim()).is_ok()
}

#[test]
fn cached_vectors_equal_uncached_vectors() {
    let mut a = memory_store();
    provision(&mut a);
    let mut b = memory_store();
    provision(&mut b);
    let mut cached = auc_over(a, AucConfig::default().cache_size);
    let mut uncached = auc_over(b, 0);
    let mut rng_a = StdRng::seed_from_u64(11);
    let mut rng_b = StdRng::seed_from_u64(11);
    for round in 0..12usize {
        for s in ALL {
            let req = VectorRequest {
                count: round % 5 + 1,
                ind: round as u32,
                separation_bit: round % 3 == 0,
                resync: None,
            };
            let va = cached.vectors_with(&imsi(s), &req, &mut rng_a).unwrap();
            let vb = uncached.vectors_with(&imsi(s), &req, &mut rng_b).unwrap();
            assert_eq!(va, vb, "subscriber {s}, round {round}");
        }
    }
    // A refused resynchronisation is refused alike, and changes nothing.
    let bad = Resync {
        rand: [1; 16],
        auts: [2; 14],
    };
    for auc in [&mut cached, &mut uncached] {
        assert!(matches!(
            auc.vectors(&imsi(MIL_OPC), 1, Some(bad), &mut StdRng::seed_from_u64(1)),
            Err(AucError::AutsMac(_))
        ));
    }
    let va = cached.vectors(&imsi(BOTH), 5, None, &mut rng_a).unwrap();
    let vb = uncached.vectors(&imsi(BOTH), 5, None, &mut rng_b).unwrap();
    assert_eq!(va, vb);
    assert_eq!(cached.cached_subscribers(), ALL.len());
    assert_eq!(uncached.cached_subscribers(), 0);
}

#[test]
fn cache_is_bounded_and_evicted_entries_come_back_right() {
    let mut a = memory_store();
    provision(&mut a);
    let mut b = memory_store();
    provision(&mut b);
    let mut small = auc_over(a, 2);
    let mut uncached = auc_over(b, 0);
    let mut rng_a = StdRng::seed_from_u64(5);
    let mut rng_b = StdRng::seed_from_u64(5);
    for round in 0..20usize {
        // An access pattern that keeps evicting.
        let s = ALL[(round * 3) % ALL.len()];
        let va = small.vectors(&imsi(s), 2, None, &mut rng_a).unwrap();
        let vb = uncached.vectors(&imsi(s), 2, None, &mut rng_b).unwrap();
        assert_eq!(va, vb);
        assert!(small.cached_subscribers() <= 2);
    }
    small.clear_cache();
    assert_eq!(small.cached_subscribers(), 0);
    let va = small.vectors(&imsi(TUAK), 1, None, &mut rng_a).unwrap();
    let vb = uncached.vectors(&imsi(TUAK), 1, None, &mut rng_b).unwrap();
    assert_eq!(va, vb);
}

/// Apply `update` to `imsi` through `store`.
fn update(store: &mut Store, imsi_digits: &str, update: SubscriberUpdate) {
    store
        .update_subscriber(&imsi(imsi_digits), &update)
        .unwrap();
}

fn new_k(k: &str) -> SubscriberUpdate {
    SubscriberUpdate {
        auth_3g: Some(milenage_sub(MIL_OPC, k, OPC1).auth_3g),
        ..SubscriberUpdate::default()
    }
}

fn new_ki(ki: &str) -> SubscriberUpdate {
    SubscriberUpdate {
        auth_2g: Some(Some(Auth2g::new(Comp128Version::V2, secret(ki)).unwrap())),
        ..SubscriberUpdate::default()
    }
}

fn enabled(on: bool) -> SubscriberUpdate {
    SubscriberUpdate {
        enabled: Some(on),
        ..SubscriberUpdate::default()
    }
}

/// One provisioning change, applied to some store.
type Change<'a> = &'a dyn Fn(&mut Store);

/// Run the change scenario, with `change` applying each change through
/// `auc`'s own store or through another one.
fn changes_take_effect(auc: &mut Auc, change: &mut dyn FnMut(&mut Auc, Change<'_>)) {
    let mut rng = StdRng::seed_from_u64(3);
    // Warm the cache.
    for s in ALL {
        one(auc, s, &mut rng).unwrap();
    }
    assert_eq!(auc.cached_subscribers(), ALL.len());
    let v = one(auc, MIL_OPC, &mut rng).unwrap();
    assert!(verifies_under(&v, K1));

    // New K (the SQN state is kept): the next vector uses it.
    change(auc, &|s| update(s, MIL_OPC, new_k(K2)));
    let v = one(auc, MIL_OPC, &mut rng).unwrap();
    assert!(verifies_under(&v, K2), "a stale K was used");
    assert!(!verifies_under(&v, K1));

    // New Ki of a 3G + 2G subscriber: the next triplet uses it.
    change(auc, &|s| update(s, BOTH, new_ki(KI2)));
    let v = one(auc, BOTH, &mut rng).unwrap();
    assert_eq!((v.sres, v.kc), comp128v2(&hex16(KI2), &v.rand));
    assert!(verifies_under(&v, K1), "the 3G keys stay");

    // New AMF.
    change(auc, &|s| {
        update(
            s,
            MIL_OPC,
            SubscriberUpdate {
                amf: Some([0x12, 0x34]),
                ..SubscriberUpdate::default()
            },
        )
    });
    let v = one(auc, MIL_OPC, &mut rng).unwrap();
    assert_eq!(v.umts.as_ref().unwrap().autn[6..8], [0x12, 0x34]);

    // SQN moved forward: the current lease is abandoned, the next SQN is
    // above the new value.
    let sqn = 1u64 << 30;
    change(auc, &|s| {
        update(
            s,
            MIL_OPC,
            SubscriberUpdate {
                sqn: Some(sqn),
                ..SubscriberUpdate::default()
            },
        )
    });
    let v = one(auc, MIL_OPC, &mut rng).unwrap();
    assert!(v.umts.as_ref().unwrap().sqn.value() > sqn);

    // Disabled: refused at once; enabled again: served.
    change(auc, &|s| update(s, GSM, enabled(false)));
    assert!(matches!(
        one(auc, GSM, &mut rng),
        Err(AucError::Disabled(_))
    ));
    change(auc, &|s| update(s, GSM, enabled(true)));
    let v = one(auc, GSM, &mut rng).unwrap();
    assert_eq!((v.sres, v.kc), comp128v1(&hex16(KI1), &v.rand));

    // 2G data removed from the 3G + 2G subscriber: SRES/Kc from c2/c3 again.
    change(auc, &|s| {
        update(
            s,
            BOTH,
            SubscriberUpdate {
                auth_2g: Some(None),
                ..SubscriberUpdate::default()
            },
        )
    });
    let v = one(auc, BOTH, &mut rng).unwrap();
    let card = Milenage::with_opc(&hex16(K1), &hex16(OPC1));
    assert_eq!((v.sres, v.kc), aka::gsm_context(&card, &v.rand));

    // Deleted: unknown at once. Added again with other keys: those are used.
    change(auc, &|s| s.delete_subscriber(&imsi(MIL_OPC)).unwrap());
    assert!(matches!(
        one(auc, MIL_OPC, &mut rng),
        Err(AucError::UnknownImsi(_))
    ));
    change(auc, &|s| {
        s.add_subscriber(&milenage_sub(MIL_OPC, K1, OPC1)).unwrap();
    });
    let v = one(auc, MIL_OPC, &mut rng).unwrap();
    assert!(
        verifies_under(&v, K1),
        "keys of the deleted subscriber used"
    );

    // Untouched subscribers are still served right.
    let v = one(auc, TUAK, &mut rng).unwrap();
    assert!(v.umts.is_some());
    let v = one(auc, GSM, &mut rng).unwrap();
    assert_eq!((v.sres, v.kc), comp128v1(&hex16(KI1), &v.rand));
}

#[test]
fn changes_through_the_aucs_own_store_take_effect() {
    let mut store = memory_store();
    provision(&mut store);
    let mut auc = auc_over(store, AucConfig::default().cache_size);
    changes_take_effect(&mut auc, &mut |auc, f| f(auc.store_mut()));
}

fn file_store(dir: &Path) -> Store {
    Store::open_data_dir(dir, kek()).unwrap()
}

#[test]
fn changes_through_another_store_on_the_file_take_effect() {
    // The HLR serving with one store, the CLI provisioning with another.
    let dir = temp_dir("cache-other-handle");
    let mut store = file_store(&dir);
    provision(&mut store);
    let mut auc = auc_over(store, AucConfig::default().cache_size);
    let mut cli = file_store(&dir);
    changes_take_effect(&mut auc, &mut |_, f| f(&mut cli));
}

#[test]
fn changes_from_a_fresh_process_like_handle_take_effect() {
    // Each change through a store opened for it and closed again, as
    // `telsec hlr subscriber update` does.
    let dir = temp_dir("cache-cli-runs");
    let mut store = file_store(&dir);
    provision(&mut store);
    let mut auc = auc_over(store, AucConfig::default().cache_size);
    changes_take_effect(&mut auc, &mut |_, f| f(&mut file_store(&dir)));
}

#[test]
fn hand_edits_of_the_database_take_effect() {
    // What an operator might do with the sqlite3 shell: triggers keep the
    // subscriber's auth revision current, so the cache notices.
    let dir = temp_dir("cache-hand-edit");
    let mut store = file_store(&dir);
    provision(&mut store);
    let mut auc = auc_over(store, AucConfig::default().cache_size);
    let mut rng = StdRng::seed_from_u64(9);
    for s in ALL {
        one(&mut auc, s, &mut rng).unwrap();
    }
    let shell = rusqlite::Connection::open(dir.join("hlr.sqlite")).unwrap();
    shell
        .execute(
            "UPDATE subscriber SET enabled = 0 WHERE imsi = ?1",
            [MIL_OP],
        )
        .unwrap();
    assert!(matches!(
        one(&mut auc, MIL_OP, &mut rng),
        Err(AucError::Disabled(_))
    ));
    // Swapping two subscribers' sealed K: the seals name their IMSI, so
    // the AuC refuses rather than using either key.
    shell
        .execute(
            "UPDATE auc_3g SET k = (SELECT a.k FROM auc_3g a JOIN subscriber s \
             ON s.id = a.subscriber_id WHERE s.imsi = ?2) \
             WHERE subscriber_id = (SELECT id FROM subscriber WHERE imsi = ?1)",
            [MIL_OPC, BOTH],
        )
        .unwrap();
    assert!(matches!(
        one(&mut auc, MIL_OPC, &mut rng),
        Err(AucError::Store(_))
    ));
    // The 2G Ki removed by hand.
    shell
        .execute(
            "DELETE FROM auc_2g WHERE subscriber_id = \
             (SELECT id FROM subscriber WHERE imsi = ?1)",
            [GSM],
        )
        .unwrap();
    assert!(matches!(
        one(&mut auc, GSM, &mut rng),
        Err(AucError::NoAuthData(_))
    ));
    // The rest is served as before.
    let v = one(&mut auc, BOTH, &mut rng).unwrap();
    assert_eq!((v.sres, v.kc), comp128v2(&hex16(KI1), &v.rand));
}

#[test]
fn sqn_leases_across_two_caching_aucs_stay_disjoint() {
    // Two serving processes on one file: each one's lease writes make the
    // other re-check its entries; SQNs never repeat.
    let dir = temp_dir("cache-two-aucs");
    let mut store = file_store(&dir);
    provision(&mut store);
    let config = AucConfig {
        lease_size: 4,
        ..AucConfig::default()
    };
    let mut a = Auc::new(store, config).unwrap();
    let mut b = Auc::new(file_store(&dir), config).unwrap();
    let mut rng = StdRng::seed_from_u64(4);
    let i: Imsi = imsi(BOTH);
    let mut seen = std::collections::BTreeSet::new();
    for round in 0..40usize {
        let auc = if round % 3 == 0 { &mut b } else { &mut a };
        for v in auc.vectors(&i, round % 4 + 1, None, &mut rng).unwrap() {
            let u = v.umts.as_ref().unwrap();
            assert!(seen.insert(u.sqn.value()), "SQN issued twice");
            assert!(verifies_under(&v, K1));
        }
    }
}
