//! The AuC: vectors checked on the USIM side and against published values,
//! resynchronisation, and SQN uniqueness across crashes.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};

use common::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use telsec_auth::aka::{self, AkaFailure};
use telsec_auth::comp128::{comp128v1, comp128v2, comp128v3};
use telsec_auth::convert::{c2, c3};
use telsec_auth::milenage::Milenage;
use telsec_auth::sqn::{Sqn, SqnPolicy, SqnState};
use telsec_auth::tuak::{Tuak, TuakAka};
use telsec_hlr::model::TuakParams;
use telsec_hlr::{
    Auc, AucConfig, AucError, Comp128Version, Resync, Store, SubscriberUpdate, VectorRequest,
};

fn auc_with(store: Store) -> Auc {
    Auc::new(store, AucConfig::default()).unwrap()
}

fn seeded() -> StdRng {
    StdRng::seed_from_u64(7)
}

const K1: &str = "465b5ce8b199b49faa5f0a2ee238a6bc";
const OPC1: &str = "cd63cb71954a9f4e48a5994e37a02baf";
const OP1: &str = "cdc202d5123e20f62b6d676ac72cb318";

fn usim(ind_bits: u8) -> SqnState {
    SqnState::new(SqnPolicy {
        ind_bits,
        ..SqnPolicy::default()
    })
    .unwrap()
}

#[test]
fn milenage_vectors_verify_on_the_usim() {
    let mut store = memory_store();
    // OP (not OPc) provisioned: the AuC must derive OPc itself.
    store
        .add_subscriber(&milenage_op_sub("001010000000001", K1, OP1))
        .unwrap();
    let mut auc = auc_with(store);
    let i = imsi("001010000000001");
    let card = Milenage::with_opc(&hex16(K1), &hex16(OPC1));
    let mut state = usim(5);
    let mut rng = seeded();
    let mut last_sqn = Sqn::ZERO;
    let mut count = 0;
    // More vectors than one lease, in requests of 1..=5.
    for round in 0..30 {
        let n = round % 5 + 1;
        let vectors = auc.vectors(&i, n, None, &mut rng).unwrap();
        assert_eq!(vectors.len(), n);
        for v in &vectors {
            let u = v.umts.as_ref().expect("3G subscriber gets quintets");
            let ok = aka::verify_autn(&card, &v.rand, &u.autn, &mut state)
                .unwrap_or_else(|e| panic!("USIM refused vector {count}: {e:?}"));
            assert_eq!(ok.sqn, u.sqn);
            assert_eq!(ok.keys.res, u.xres);
            assert_eq!(ok.keys.ck, u.ck);
            assert_eq!(ok.keys.ik, u.ik);
            assert_eq!(ok.amf, [0, 0]);
            // The triplet is the GSM view of the quintet (TS 33.102 §6.8.1.2),
            // what a USIM answers in a GSM context.
            assert_eq!((v.sres, v.kc), aka::gsm_context(&card, &v.rand));
            assert_eq!(v.sres, c2(u.xres.as_bytes()));
            assert_eq!(v.kc, c3(&u.ck, &u.ik));
            assert!(u.sqn > last_sqn, "SQN must increase");
            last_sqn = u.sqn;
            count += 1;
        }
    }
    assert_eq!(count, 90);
}

#[test]
fn matches_osmo_hlr_3g_vector() {
    let t = vectors();
    let entries = t["milenage"]["autn"].as_array().unwrap();
    let e = entries
        .iter()
        .find(|e| field(e, "source").contains("test_gen_vectors_3g_only"))
        .unwrap();
    let mut store = memory_store();
    let mut sub = milenage_sub("901700000000001", field(e, "k"), field(e, "opc"));
    sub.sqn = 31; // the AuC's last SQN; the next is 32 = SEQ 1, IND 0
    store.add_subscriber(&sub).unwrap();
    let mut auc = auc_with(store);
    let mut rng = FixedRands::new(vec![hex16(field(e, "rand"))]);
    let v = auc.vectors(&sub.imsi, 1, None, &mut rng).unwrap();
    let u = v[0].umts.as_ref().unwrap();
    assert_eq!(u.sqn.value(), 32);
    assert_eq!(hex::encode(u.autn), field(e, "autn"));
    assert_eq!(hex::encode(u.xres.as_bytes()), field(e, "res"));
    assert_eq!(hex::encode(u.ck), field(e, "ck"));
    assert_eq!(hex::encode(u.ik), field(e, "ik"));
    assert_eq!(hex::encode(v[0].sres), field(e, "sres_c2"));
    assert_eq!(hex::encode(v[0].kc), field(e, "kc_c3"));
}

#[test]
fn comp128_subscribers_get_triplets() {
    let t = vectors();
    let e = &t["comp128v1"].as_array().unwrap()[0];
    let mut store = memory_store();
    let sub = comp128_sub("901700000000002", Comp128Version::V1, field(e, "ki"));
    store.add_subscriber(&sub).unwrap();
    let mut auc = auc_with(store);
    let mut rng = FixedRands::new(vec![hex16(field(e, "rand"))]);
    let v = auc.vectors(&sub.imsi, 1, None, &mut rng).unwrap();
    assert!(v[0].umts.is_none(), "2G-only: triplets only");
    assert_eq!(hex::encode(v[0].sres), field(e, "sres"));
    assert_eq!(hex::encode(v[0].kc), field(e, "kc"));

    // COMP128 v2 and v3 from libosmocore's tables, a few rows each.
    for (name, version) in [
        ("comp128v2", Comp128Version::V2),
        ("comp128v3", Comp128Version::V3),
    ] {
        let table = &t[name];
        let ki = field(table, "ki");
        let rows = table["vectors"].as_array().unwrap();
        let mut store = memory_store();
        let sub = comp128_sub("901700000000003", version, ki);
        store.add_subscriber(&sub).unwrap();
        let mut auc = auc_with(store);
        let rands: Vec<[u8; 16]> = rows[..5]
            .iter()
            .map(|r| hex16(r[0].as_str().unwrap()))
            .collect();
        let mut rng = FixedRands::new(rands);
        let v = auc.vectors(&sub.imsi, 5, None, &mut rng).unwrap();
        for (vec, row) in v.iter().zip(rows) {
            assert_eq!(hex::encode(vec.sres), row[1].as_str().unwrap(), "{name}");
            assert_eq!(hex::encode(vec.kc), row[2].as_str().unwrap(), "{name}");
        }
    }

    // Random RANDs: still what COMP128 computes.
    let mut store = memory_store();
    let ki = "000102030405060708090a0b0c0d0e0f";
    for (n, v) in [Comp128Version::V1, Comp128Version::V2, Comp128Version::V3]
        .into_iter()
        .enumerate()
    {
        store
            .add_subscriber(&comp128_sub(&format!("90170000000001{n}"), v, ki))
            .unwrap();
    }
    let mut auc = auc_with(store);
    let mut rng = seeded();
    for (n, f) in [comp128v1, comp128v2, comp128v3].into_iter().enumerate() {
        let i = imsi(&format!("90170000000001{n}"));
        for v in auc.vectors(&i, 5, None, &mut rng).unwrap() {
            assert_eq!((v.sres, v.kc), f(&hex16(ki), &v.rand));
        }
    }
}

#[test]
fn separate_2g_data_gives_comp128_triplets_with_quintets() {
    let ki = "eb215756028d60e3275e613320aec880";
    let mut sub = milenage_sub("901700000000004", K1, OPC1);
    sub.auth_2g = comp128_sub("901700000000004", Comp128Version::V1, ki).auth_2g;
    let mut store = memory_store();
    store.add_subscriber(&sub).unwrap();
    let mut auc = auc_with(store);
    let card = Milenage::with_opc(&hex16(K1), &hex16(OPC1));
    let mut state = usim(5);
    for v in auc.vectors(&sub.imsi, 5, None, &mut seeded()).unwrap() {
        assert_eq!((v.sres, v.kc), comp128v1(&hex16(ki), &v.rand));
        let u = v.umts.as_ref().unwrap();
        aka::verify_autn(&card, &v.rand, &u.autn, &mut state).unwrap();
    }
}

#[test]
fn tuak_vectors_match_ts35233_set1_and_verify() {
    let t = vectors();
    let e = &t["tuak"].as_array().unwrap()[0];
    let params = TuakParams {
        iterations: e["keccak_iterations"].as_integer().unwrap() as u16,
        res_bits: e["res_bits"].as_integer().unwrap() as u16,
        mac_bits: e["mac_bits"].as_integer().unwrap() as u16,
        ck_bits: e["ck_bits"].as_integer().unwrap() as u16,
        ik_bits: e["ik_bits"].as_integer().unwrap() as u16,
    };
    let mut sub = tuak_sub("901700000000005", field(e, "k"), field(e, "top"), params);
    let sqn = u64::from_str_radix(field(e, "sqn"), 16).unwrap();
    if let Some(a) = &mut sub.auth_3g {
        a.ind_bitlen = 0;
        a.amf = [0xff, 0xff];
    }
    sub.sqn = sqn - 1;
    let mut store = memory_store();
    store.add_subscriber(&sub).unwrap();
    let mut auc = auc_with(store);
    let mut rng = FixedRands::new(vec![hex16(field(e, "rand"))]);
    // AMF ffff has the separation bit set: ask for it (E-UTRAN).
    let req = VectorRequest {
        separation_bit: true,
        ..VectorRequest::new(1)
    };
    let v = auc.vectors_with(&sub.imsi, &req, &mut rng).unwrap();
    let u = v[0].umts.as_ref().unwrap();
    assert_eq!(u.sqn.value(), sqn);
    let ak = hex::decode(field(e, "f5")).unwrap();
    let sqn_bytes = Sqn::new(sqn).unwrap().to_bytes();
    let conc: Vec<u8> = sqn_bytes.iter().zip(&ak).map(|(a, b)| a ^ b).collect();
    assert_eq!(hex::encode(&u.autn[..6]), hex::encode(conc));
    assert_eq!(hex::encode(&u.autn[6..8]), field(e, "amf"));
    assert_eq!(hex::encode(&u.autn[8..]), field(e, "f1"));
    assert_eq!(hex::encode(u.xres.as_bytes()), field(e, "f2"));
    assert_eq!(hex::encode(u.ck), field(e, "f3"));
    assert_eq!(hex::encode(u.ik), field(e, "f4"));

    // And a stream of random vectors verifies on a TUAK USIM.
    let mut top = [0u8; 32];
    hex::decode_to_slice(field(e, "top"), &mut top).unwrap();
    let card = TuakAka::new(
        Tuak::with_top(
            &hex::decode(field(e, "k")).unwrap(),
            &top,
            params.to_auth().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let mut state = SqnState::from_parts(
        SqnPolicy {
            ind_bits: 0,
            ..SqnPolicy::default()
        },
        Sqn::new(sqn).unwrap(),
        &[sqn],
    )
    .unwrap();
    for v in auc.vectors(&sub.imsi, 5, None, &mut seeded()).unwrap() {
        let u = v.umts.as_ref().unwrap();
        let ok = aka::verify_autn(&card, &v.rand, &u.autn, &mut state).unwrap();
        assert_eq!(ok.keys.res, u.xres);
        assert_eq!(ok.amf, [0x7f, 0xff], "separation bit cleared by default");
    }
}

#[test]
fn resync_matches_osmo_hlr() {
    let t = vectors();
    let e = t["milenage"]["auts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e.get("osmo_autn_bitlen0").is_some())
        .unwrap()
        .clone();
    let rand = hex16(field(&e, "rand"));
    let mut auts = [0u8; 14];
    hex::decode_to_slice(field(&e, "auts"), &mut auts).unwrap();
    for (bitlen, ind, want) in [
        (0u8, 0u32, field(&e, "osmo_autn_bitlen0")),
        (5, 0, field(&e, "osmo_autn_after_resync_ind5_ind0")),
        (8, 1, field(&e, "osmo_autn_bitlen8_ind1")),
    ] {
        let mut sub = milenage_sub("901700000000006", field(&e, "k"), field(&e, "opc"));
        sub.auth_3g.as_mut().unwrap().ind_bitlen = bitlen;
        let mut store = memory_store();
        store.add_subscriber(&sub).unwrap();
        let mut auc = auc_with(store);
        let mut rng = FixedRands::new(vec![rand]);
        let req = VectorRequest {
            ind,
            resync: Some(Resync { rand, auts }),
            ..VectorRequest::new(1)
        };
        let v = auc.vectors_with(&sub.imsi, &req, &mut rng).unwrap();
        assert_eq!(
            hex::encode(v[0].umts.as_ref().unwrap().autn),
            want,
            "ind_bitlen {bitlen}"
        );
    }
}

#[test]
fn resync_after_the_card_ran_ahead() {
    let mut store = memory_store();
    let sub = milenage_sub("901700000000007", K1, OPC1);
    store.add_subscriber(&sub).unwrap();
    let mut auc = auc_with(store);
    let card = Milenage::with_opc(&hex16(K1), &hex16(OPC1));
    // The card has accepted SEQ 5000 (IND 3) elsewhere, e.g. at a previous HLR.
    let seen = Sqn::from_parts(5000, 3, 5).unwrap();
    let mut slots = vec![0u64; 32];
    slots[3] = 5000;
    let mut state = SqnState::from_parts(SqnPolicy::default(), seen, &slots).unwrap();
    let mut rng = seeded();
    let req = VectorRequest {
        ind: 3,
        ..VectorRequest::new(1)
    };
    let v = auc.vectors_with(&sub.imsi, &req, &mut rng).unwrap();
    let u = v[0].umts.as_ref().unwrap();
    let auts = match aka::verify_autn(&card, &v[0].rand, &u.autn, &mut state) {
        Err(AkaFailure::SyncFailure { auts, .. }) => auts,
        other => panic!("expected a sync failure, got {other:?}"),
    };
    let before = auc
        .store()
        .subscriber(&sub.imsi)
        .unwrap()
        .unwrap()
        .auth_3g
        .unwrap()
        .seq_reserved;

    // A forged AUTS (bad MAC-S) is refused and moves nothing.
    let mut bad = auts;
    bad[13] ^= 1;
    let forged = VectorRequest {
        resync: Some(Resync {
            rand: v[0].rand,
            auts: bad,
        }),
        ..req
    };
    assert!(matches!(
        auc.vectors_with(&sub.imsi, &forged, &mut rng),
        Err(AucError::AutsMac(_))
    ));
    let after_bad = auc
        .store()
        .subscriber(&sub.imsi)
        .unwrap()
        .unwrap()
        .auth_3g
        .unwrap()
        .seq_reserved;
    assert_eq!(after_bad, before, "a bad MAC-S changes no state");

    // The genuine AUTS moves SEQ_HE past SEQ_MS; the new vectors pass.
    let good = VectorRequest {
        count: 3,
        resync: Some(Resync {
            rand: v[0].rand,
            auts,
        }),
        ..req
    };
    let v2 = auc.vectors_with(&sub.imsi, &good, &mut rng).unwrap();
    for v in &v2 {
        let u = v.umts.as_ref().unwrap();
        assert!(u.sqn.seq(5) > 5000);
        aka::verify_autn(&card, &v.rand, &u.autn, &mut state).unwrap();
    }
    // Later requests go on from there.
    for v in auc
        .vectors_with(&sub.imsi, &VectorRequest { count: 5, ..req }, &mut rng)
        .unwrap()
    {
        let u = v.umts.as_ref().unwrap();
        aka::verify_autn(&card, &v.rand, &u.autn, &mut state).unwrap();
    }
}

/// The HLR ran far ahead of the card (more than Δ, e.g. provisioned with a
/// wrong SQN or after another HLR's vectors were lost): the authenticated
/// AUTS takes SEQ_HE back to SEQ_MS (TS 33.102 §6.3.5 step 5), and the card
/// accepts the next vectors. Without that the subscriber stays locked out.
#[test]
fn resync_takes_seq_he_back_when_the_hlr_ran_far_ahead() {
    let mut store = memory_store();
    let mut sub = milenage_sub("901700000000017", K1, OPC1);
    sub.sqn = 1 << 40;
    store.add_subscriber(&sub).unwrap();
    let mut auc = auc_with(store);
    let card = Milenage::with_opc(&hex16(K1), &hex16(OPC1));
    let mut state = SqnState::new(SqnPolicy::default()).unwrap();
    let mut rng = seeded();
    let req = VectorRequest::new(1);
    let v = auc.vectors_with(&sub.imsi, &req, &mut rng).unwrap();
    let u = v[0].umts.as_ref().unwrap();
    let auts = match aka::verify_autn(&card, &v[0].rand, &u.autn, &mut state) {
        Err(AkaFailure::SyncFailure { auts, .. }) => auts,
        other => panic!("the card refuses an SQN far ahead: {other:?}"),
    };
    let resync = VectorRequest {
        count: 2,
        resync: Some(Resync {
            rand: v[0].rand,
            auts,
        }),
        ..req
    };
    for v in auc.vectors_with(&sub.imsi, &resync, &mut rng).unwrap() {
        let u = v.umts.as_ref().unwrap();
        assert!(u.sqn.seq(5) < 1 << 20, "SEQ_HE moved back: {:?}", u.sqn);
        aka::verify_autn(&card, &v.rand, &u.autn, &mut state).expect("accepted");
    }
    let reserved = auc
        .store()
        .subscriber(&sub.imsi)
        .unwrap()
        .unwrap()
        .auth_3g
        .unwrap()
        .seq_reserved;
    assert!(reserved < 1 << 20, "the store followed: {reserved}");
}

#[test]
fn ind_separation_bit_and_lease_persisted_before_use() {
    let dir = temp_dir("lease");
    let path = dir.join("hlr.sqlite");
    let mut store = Store::open(&path, kek()).unwrap();
    let mut sub = milenage_sub("901700000000008", K1, OPC1);
    sub.auth_3g.as_mut().unwrap().amf = [0x80, 0x01];
    store.add_subscriber(&sub).unwrap();
    let config = AucConfig {
        lease_size: 8,
        ..AucConfig::default()
    };
    let mut auc = Auc::new(store, config).unwrap();
    let observer = rusqlite::Connection::open(&path).unwrap();
    let persisted = || -> u64 {
        observer
            .query_row("SELECT seq_hwm FROM auc_3g", [], |r| r.get::<_, i64>(0))
            .unwrap() as u64
    };
    let mut rng = seeded();
    for round in 0..10u32 {
        let req = VectorRequest {
            count: 3,
            ind: 40 + round, // reduced modulo 2^5
            separation_bit: round % 2 == 1,
            resync: None,
        };
        let v = auc.vectors_with(&sub.imsi, &req, &mut rng).unwrap();
        let hwm = persisted();
        for v in &v {
            let u = v.umts.as_ref().unwrap();
            assert_eq!(u.sqn.ind(5), (40 + round) % 32);
            assert!(u.sqn.seq(5) <= hwm, "issued SEQ above the persisted lease");
            let amf0 = u.autn[6];
            assert_eq!(amf0 & 0x80 != 0, round % 2 == 1);
            assert_eq!(amf0 & 0x7f, 0);
            assert_eq!(u.autn[7], 0x01);
        }
    }
    // 30 SEQs in leases of 8: 4 leases, one durable write each.
    assert_eq!(persisted(), 32);
}

#[test]
fn request_bounds_and_refusals() {
    let mut store = memory_store();
    store
        .add_subscriber(&milenage_sub("901700000000009", K1, OPC1))
        .unwrap();
    store
        .add_subscriber(&comp128_sub(
            "901700000000010",
            Comp128Version::V1,
            "000102030405060708090a0b0c0d0e0f",
        ))
        .unwrap();
    store
        .add_subscriber(&telsec_hlr::NewSubscriber::new(imsi("901700000000011")))
        .unwrap();
    let mut auc = auc_with(store);
    let mut rng = seeded();
    let i = imsi("901700000000009");
    assert!(matches!(
        auc.vectors(&i, 0, None, &mut rng),
        Err(AucError::VectorCount { asked: 0, .. })
    ));
    assert!(matches!(
        auc.vectors(&i, 33, None, &mut rng),
        Err(AucError::VectorCount { asked: 33, max: 32 })
    ));
    assert_eq!(auc.vectors(&i, 32, None, &mut rng).unwrap().len(), 32);
    assert!(matches!(
        auc.vectors(&imsi("901700000000099"), 1, None, &mut rng),
        Err(AucError::UnknownImsi(_))
    ));
    assert!(matches!(
        auc.vectors(&imsi("901700000000011"), 1, None, &mut rng),
        Err(AucError::NoAuthData(_))
    ));
    assert!(matches!(
        auc.vectors(
            &imsi("901700000000010"),
            1,
            Some(Resync {
                rand: [0; 16],
                auts: [0; 14]
            }),
            &mut rng
        ),
        Err(AucError::ResyncWithout3g(_))
    ));
    auc.store_mut()
        .update_subscriber(
            &i,
            &SubscriberUpdate {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(matches!(
        auc.vectors(&i, 1, None, &mut rng),
        Err(AucError::Disabled(_))
    ));
    assert!(
        Auc::new(
            memory_store(),
            AucConfig {
                max_vectors: 33,
                ..AucConfig::default()
            }
        )
        .is_err()
    );
}

#[test]
fn new_keys_take_effect_at_the_next_request() {
    let mut store = memory_store();
    let sub = milenage_sub("901700000000012", K1, OPC1);
    store.add_subscriber(&sub).unwrap();
    let mut auc = auc_with(store);
    let mut rng = seeded();
    auc.vectors(&sub.imsi, 2, None, &mut rng).unwrap();
    let k2 = "000102030405060708090a0b0c0d0e0f";
    let new3g = milenage_sub("901700000000012", k2, OPC1).auth_3g;
    auc.store_mut()
        .update_subscriber(
            &sub.imsi,
            &SubscriberUpdate {
                auth_3g: Some(new3g),
                sqn: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
    let card = Milenage::with_opc(&hex16(k2), &hex16(OPC1));
    let mut state = usim(5);
    let v = auc.vectors(&sub.imsi, 3, None, &mut rng).unwrap();
    let first = v[0].umts.as_ref().unwrap().sqn;
    assert_eq!(first.seq(5), 1, "new card: the old lease is abandoned");
    for v in &v {
        let u = v.umts.as_ref().unwrap();
        aka::verify_autn(&card, &v.rand, &u.autn, &mut state).unwrap();
    }
}

fn all_sqns_unique_and_increasing(sqns: &[u64]) {
    let set: BTreeSet<u64> = sqns.iter().copied().collect();
    assert_eq!(set.len(), sqns.len(), "an SQN was issued twice");
    assert!(sqns.windows(2).all(|w| w[0] < w[1]), "SQNs must increase");
}

#[test]
fn sqn_never_repeats_across_simulated_crashes() {
    let dir = temp_dir("crash");
    {
        let mut store = Store::open_data_dir(&dir, kek()).unwrap();
        store
            .add_subscriber(&milenage_sub("901700000000013", K1, OPC1))
            .unwrap();
    }
    let i = imsi("901700000000013");
    let mut issued = Vec::new();
    let mut rng = seeded();
    for cycle in 0..6 {
        let store = Store::open_data_dir(&dir, kek()).unwrap();
        let mut auc = auc_with(store);
        for n in [1, 5, 3, 2] {
            for v in auc.vectors(&i, n, None, &mut rng).unwrap() {
                issued.push(v.umts.as_ref().unwrap().sqn.value());
            }
        }
        if cycle % 2 == 0 {
            // No destructor, no checkpoint, no close: like a crash.
            std::mem::forget(auc);
        }
    }
    assert_eq!(issued.len(), 66);
    all_sqns_unique_and_increasing(&issued);
}

/// Two AuCs on one file (two HLR processes): leases never overlap.
#[test]
fn two_aucs_sharing_a_file_issue_disjoint_sqns() {
    let dir = temp_dir("shared");
    {
        let mut store = Store::open_data_dir(&dir, kek()).unwrap();
        store
            .add_subscriber(&milenage_sub("901700000000014", K1, OPC1))
            .unwrap();
    }
    let i = imsi("901700000000014");
    let mut a = auc_with(Store::open_data_dir(&dir, kek()).unwrap());
    let mut b = auc_with(Store::open_data_dir(&dir, kek()).unwrap());
    let mut rng = seeded();
    let mut all = BTreeSet::new();
    for _ in 0..20 {
        for auc in [&mut a, &mut b] {
            for v in auc.vectors(&i, 4, None, &mut rng).unwrap() {
                assert!(all.insert(v.umts.as_ref().unwrap().sqn.value()));
            }
        }
    }
    assert_eq!(all.len(), 160);
}

const CHILD_ENV: &str = "TELSEC_HLR_KILL9_CHILD_DIR";

/// Run as a child process by `sqn_never_repeats_after_kill_9`: issue vectors
/// forever, printing each SQN once issued.
#[test]
#[ignore = "child process of sqn_never_repeats_after_kill_9"]
fn kill9_child() {
    let dir = std::env::var(CHILD_ENV).expect("run by sqn_never_repeats_after_kill_9");
    let mut auc = auc_with(Store::open_data_dir(&dir, kek()).unwrap());
    let i = imsi("901700000000015");
    let mut rng = StdRng::seed_from_u64(99);
    let mut out = std::io::stdout().lock();
    loop {
        for v in auc.vectors(&i, 3, None, &mut rng).unwrap() {
            writeln!(out, "SQN {}", v.umts.as_ref().unwrap().sqn.value()).unwrap();
        }
        out.flush().unwrap();
    }
}

#[test]
fn sqn_never_repeats_after_kill_9() {
    let dir = temp_dir("kill9");
    {
        let mut store = Store::open_data_dir(&dir, kek()).unwrap();
        store
            .add_subscriber(&milenage_sub("901700000000015", K1, OPC1))
            .unwrap();
    }
    let mut issued = Vec::new();
    for _ in 0..3 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "kill9_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut got = 0;
        while got < 100 {
            let line = lines.next().expect("child ended early").unwrap();
            if let Some(n) = line.strip_prefix("SQN ") {
                issued.push(n.parse::<u64>().unwrap());
                got += 1;
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    // After the last kill, this process continues from the file.
    let mut auc = auc_with(Store::open_data_dir(&dir, kek()).unwrap());
    let mut rng = seeded();
    for v in auc
        .vectors(&imsi("901700000000015"), 5, None, &mut rng)
        .unwrap()
    {
        issued.push(v.umts.as_ref().unwrap().sqn.value());
    }
    all_sqns_unique_and_increasing(&issued);
}
