//! AKA against published vectors (testdata/vectors/auth.toml: [[milenage.autn]],
//! [[milenage.auts]]) and a network <-> USIM simulation over SQN generation,
//! the USIM's SQN array and resynchronisation (TS 33.102 §6.3, Annex C).

use serde::Deserialize;
use telsec_auth::aka::{
    self, AkaError, AkaFailure, compute_auts, generate_vector, resync, verify_autn,
};
use telsec_auth::milenage::Milenage;
use telsec_auth::sqn::{
    DEFAULT_DELTA, ResyncOutcome, Sqn, SqnGenerator, SqnPolicy, SqnRejection, SqnState,
};

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/vectors/auth.toml"
));

#[derive(Deserialize)]
struct File {
    milenage: Sections,
}

#[derive(Deserialize)]
struct Sections {
    autn: Vec<AutnVector>,
    auts: Vec<AutsVector>,
}

#[derive(Deserialize)]
struct AutnVector {
    source: String,
    k: String,
    opc: String,
    rand: String,
    sqn: String,
    amf: String,
    ak: String,
    autn: String,
    res: String,
    ck: String,
    ik: String,
    sres_c2: String,
    kc_c3: String,
}

#[derive(Deserialize)]
struct AutsVector {
    source: String,
    k: String,
    opc: String,
    rand: String,
    auts: String,
    ak_star: String,
    sqn_ms: String,
    mac_s: String,
    osmo_autn_after_resync_ind5_ind0: Option<String>,
    osmo_autn_bitlen0: Option<String>,
    osmo_autn_bitlen8_ind1: Option<String>,
}

fn load() -> Sections {
    toml::from_str::<File>(VECTORS)
        .unwrap_or_else(|e| panic!("auth.toml: {e}"))
        .milenage
}

fn arr<const N: usize>(hex_str: &str) -> [u8; N] {
    let bytes = hex::decode(hex_str).unwrap_or_else(|e| panic!("{hex_str}: {e}"));
    bytes
        .try_into()
        .unwrap_or_else(|b: Vec<u8>| panic!("{hex_str}: {} bytes, want {N}", b.len()))
}

fn sqn(v: u64) -> Sqn {
    Sqn::new(v).unwrap_or_else(|e| panic!("{e}"))
}

fn state(policy: SqnPolicy) -> SqnState {
    SqnState::new(policy).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn autn_vectors() {
    let sections = load();
    assert_eq!(sections.autn.len(), 8);
    for v in &sections.autn {
        let alg = Milenage::with_opc(&arr(&v.k), &arr(&v.opc));
        let rand = arr::<16>(&v.rand);
        let s = Sqn::from_bytes(&arr(&v.sqn));
        let vector = generate_vector(&alg, &rand, s, &arr(&v.amf));
        assert_eq!(hex::encode(vector.autn), v.autn, "{}", v.source);
        assert_eq!(hex::encode(vector.xres.as_bytes()), v.res, "{}", v.source);
        assert_eq!(hex::encode(vector.ck), v.ck, "{}", v.source);
        assert_eq!(hex::encode(vector.ik), v.ik, "{}", v.source);
        let autn = aka::Autn::from_bytes(&vector.autn);
        let ak = arr::<6>(&v.ak);
        let sqn_bytes: Vec<u8> = autn.sqn_xor_ak.iter().zip(ak).map(|(a, b)| a ^ b).collect();
        assert_eq!(hex::encode(sqn_bytes), v.sqn, "{}", v.source);
        let triplet = vector.to_triplet();
        assert_eq!(hex::encode(triplet.sres), v.sres_c2, "{}", v.source);
        assert_eq!(hex::encode(triplet.kc), v.kc_c3, "{}", v.source);
        assert_eq!(aka::gsm_context(&alg, &rand), (triplet.sres, triplet.kc));

        // The USIM side: a permissive array (no IND, unlimited Δ) accepts every
        // SQN above zero and returns the vector's keys.
        let mut open = state(SqnPolicy {
            ind_bits: 0,
            delta: u64::MAX,
            age_limit: None,
        });
        match verify_autn(&alg, &rand, &vector.autn, &mut open) {
            Ok(auth) => {
                assert!(s > Sqn::ZERO, "{}", v.source);
                assert_eq!(auth.sqn, s);
                assert!(vector.check_res(auth.keys.res.as_bytes()));
                assert_eq!((auth.keys.ck, auth.keys.ik), (vector.ck, vector.ik));
                assert_eq!(hex::encode(auth.keys.ak), v.ak);
            }
            Err(AkaFailure::SyncFailure { auts, reason }) => {
                assert_eq!(s, Sqn::ZERO, "{}", v.source);
                assert_eq!(reason, SqnRejection::NotFresh);
                assert_eq!(resync(&alg, &rand, &auts), Ok(Sqn::ZERO));
            }
            Err(e) => panic!("{}: {e}", v.source),
        }

        // A fresh card with the recommended policy (IND 5 bits, Δ = 2^28).
        let mut card = state(SqnPolicy::default());
        let outcome = verify_autn(&alg, &rand, &vector.autn, &mut card);
        let seq = s.seq(5);
        match outcome {
            Ok(_) => assert!((1..=DEFAULT_DELTA).contains(&seq), "{}", v.source),
            Err(AkaFailure::SyncFailure { reason, auts }) => {
                let expect = if seq == 0 {
                    SqnRejection::NotFresh
                } else {
                    SqnRejection::TooFarAhead
                };
                assert_eq!(reason, expect, "{}", v.source);
                assert_eq!(resync(&alg, &rand, &auts), Ok(Sqn::ZERO));
            }
            Err(e) => panic!("{}: {e}", v.source),
        }
    }
}

#[test]
fn auts_vectors() {
    let sections = load();
    assert_eq!(sections.auts.len(), 3);
    for v in &sections.auts {
        let alg = Milenage::with_opc(&arr(&v.k), &arr(&v.opc));
        let rand = arr::<16>(&v.rand);
        let auts = arr::<14>(&v.auts);
        let sqn_ms = Sqn::from_bytes(&arr(&v.sqn_ms));
        assert_eq!(compute_auts(&alg, &rand, sqn_ms), auts, "{}", v.source);
        assert_eq!(resync(&alg, &rand, &auts), Ok(sqn_ms), "{}", v.source);
        assert_eq!(hex::encode(&auts[6..]), v.mac_s);
        let conc: Vec<u8> = sqn_ms
            .to_bytes()
            .iter()
            .zip(arr::<6>(&v.ak_star))
            .map(|(a, b)| a ^ b)
            .collect();
        assert_eq!(hex::encode(conc), v.auts[..12]);
        // Any flipped bit, another key or another RAND: MAC-S fails.
        for i in 0..14 {
            let mut bad = auts;
            bad[i] ^= 0x04;
            assert_eq!(resync(&alg, &rand, &bad), Err(AkaError::MacS), "byte {i}");
        }
        let mut other_rand = rand;
        other_rand[15] ^= 1;
        assert_eq!(resync(&alg, &other_rand, &auts), Err(AkaError::MacS));
    }
    // The free5gc entry: the same AUTS under K = 00..0012340000000000 fails.
    let v = &sections.auts[2];
    let wrong_k = arr::<16>("00000000000000000012340000000000");
    let alg = Milenage::with_opc(&wrong_k, &arr(&v.opc));
    assert_eq!(
        resync(&alg, &arr(&v.rand), &arr(&v.auts)),
        Err(AkaError::MacS)
    );
}

/// osmo-hlr's numbers after the AUTS of the first [[milenage.auts]] entry
/// (SQN_MS = 23): the next AUTN for IND bit lengths 5, 0 and 8.
#[test]
fn vectors_after_resync_match_osmocom() {
    let sections = load();
    let v = &sections.auts[0];
    let alg = Milenage::with_opc(&arr(&v.k), &arr(&v.opc));
    let rand = arr::<16>(&v.rand);
    let sqn_ms = resync(&alg, &rand, &arr(&v.auts)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sqn_ms, sqn(23));
    let cases = [
        (5u8, 0u32, v.osmo_autn_after_resync_ind5_ind0.as_deref()),
        (0, 0, v.osmo_autn_bitlen0.as_deref()),
        (8, 1, v.osmo_autn_bitlen8_ind1.as_deref()),
    ];
    for (bits, ind, expect) in cases {
        let expect = expect.unwrap_or_else(|| panic!("missing osmo AUTN for {bits} bits"));
        let mut generator = SqnGenerator::new(Sqn::ZERO, bits).unwrap_or_else(|e| panic!("{e}"));
        generator.resync(sqn_ms, DEFAULT_DELTA);
        let next = generator.next(ind).unwrap_or_else(|e| panic!("{e}"));
        let vector = generate_vector(&alg, &rand, next, &[0, 0]);
        assert_eq!(hex::encode(vector.autn), expect, "IND bits {bits}");
    }
}

/// A network (AuC with an SQN generator, serving nodes with their own IND)
/// and a USIM, exchanging vectors.
struct Network {
    alg: Milenage,
    generator: SqnGenerator,
    rand_counter: u8,
}

impl Network {
    fn new(alg: Milenage) -> Network {
        Network {
            alg,
            generator: SqnGenerator::new(Sqn::ZERO, 5).unwrap_or_else(|e| panic!("{e}")),
            rand_counter: 0,
        }
    }

    fn vector(&mut self, ind: u32) -> ([u8; 16], [u8; 16], Sqn) {
        self.rand_counter = self.rand_counter.wrapping_add(1);
        let mut rand = [0x5a; 16];
        rand[0] = self.rand_counter;
        let s = self.generator.next(ind).unwrap_or_else(|e| panic!("{e}"));
        let v = generate_vector(&self.alg, &rand, s, &[0x80, 0x00]);
        (rand, v.autn, s)
    }

    fn handle_auts(&mut self, rand: &[u8; 16], auts: &[u8; 14]) -> (Sqn, ResyncOutcome) {
        let sqn_ms = resync(&self.alg, rand, auts).unwrap_or_else(|e| panic!("{e}"));
        (sqn_ms, self.generator.resync(sqn_ms, DEFAULT_DELTA))
    }
}

fn osmo_alg() -> Milenage {
    Milenage::with_opc(
        &arr("eb215756028d60e3275e613320aec880"),
        &arr("fb2a3d1b360f599abab99db8669f8308"),
    )
}

fn accept(alg: &Milenage, card: &mut SqnState, v: &([u8; 16], [u8; 16], Sqn)) {
    match verify_autn(alg, &v.0, &v.1, card) {
        Ok(auth) => assert_eq!(auth.sqn, v.2),
        Err(e) => panic!("SQN {:?} refused: {e}", v.2),
    }
}

fn expect_sync(alg: &Milenage, card: &mut SqnState, v: &([u8; 16], [u8; 16], Sqn)) -> [u8; 14] {
    match verify_autn(alg, &v.0, &v.1, card) {
        Err(AkaFailure::SyncFailure { auts, .. }) => auts,
        other => panic!("SQN {:?}: expected a sync failure, got {other:?}", v.2),
    }
}

#[test]
fn network_and_usim_in_order_out_of_order_and_replay() {
    let usim_alg = osmo_alg();
    let mut net = Network::new(osmo_alg());
    let mut card = state(SqnPolicy::default());

    // Node A (IND 1) caches three vectors, node B (IND 2) two.
    let a: Vec<_> = (0..3).map(|_| net.vector(1)).collect();
    let b: Vec<_> = (0..2).map(|_| net.vector(2)).collect();
    assert!(a.iter().chain(&b).all(|v| v.2.seq(5) >= 1));

    accept(&usim_alg, &mut card, &a[0]);
    accept(&usim_alg, &mut card, &a[1]);
    // B's vectors were issued after A's but carry another IND: using B then
    // the last A vector is fine (out of order across slots).
    accept(&usim_alg, &mut card, &b[1]);
    accept(&usim_alg, &mut card, &a[2]);
    assert_eq!(card.sqn_ms(), b[1].2);
    // Within slot 2, the older b[0] is now stale.
    let auts = expect_sync(&usim_alg, &mut card, &b[0]);
    let (sqn_ms, outcome) = net.handle_auts(&b[0].0, &auts);
    assert_eq!(sqn_ms, b[1].2, "SQN_MS is the highest accepted SQN");
    assert_eq!(
        outcome,
        ResyncOutcome::Kept,
        "SEQ_HE is already past SEQ_MS"
    );

    // Replay of an accepted vector.
    let before = card.to_bytes();
    let auts = expect_sync(&usim_alg, &mut card, &a[1]);
    assert_eq!(card.to_bytes(), before, "a refused SQN changes nothing");
    net.handle_auts(&a[1].0, &auts);

    // The next vectors for both slots are accepted.
    accept(&usim_alg, &mut card, &net.vector(1));
    accept(&usim_alg, &mut card, &net.vector(2));
    accept(&usim_alg, &mut card, &net.vector(0));
}

#[test]
fn card_ahead_of_network_resyncs() {
    let usim_alg = osmo_alg();
    let mut net = Network::new(osmo_alg());
    let mut card = state(SqnPolicy::default());
    // The card was used with another AuC (or the HLR restored a backup):
    // accept a vector at SEQ 1000 generated outside `net`.
    let far = generate_vector(&usim_alg, &[7; 16], sqn((1000 << 5) | 4), &[0, 0]);
    accept(
        &usim_alg,
        &mut card,
        &([7; 16], far.autn, sqn((1000 << 5) | 4)),
    );

    // Slot 3 never saw a SEQ, so its SEQ 1 is still fresh by the array rule
    // alone; with an age limit L = 32 it is too old.
    let mut aged = SqnState::from_parts(
        SqnPolicy {
            age_limit: Some(32),
            ..SqnPolicy::default()
        },
        card.sqn_ms(),
        card.slots(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let old_slot3 = net.vector(3);
    match verify_autn(&usim_alg, &old_slot3.0, &old_slot3.1, &mut aged) {
        Err(AkaFailure::SyncFailure { reason, .. }) => assert_eq!(reason, SqnRejection::TooOld),
        other => panic!("expected TooOld, got {other:?}"),
    }
    accept(&usim_alg, &mut card, &old_slot3);

    // Slot 4 is where SEQ 1000 was accepted: SEQ 2 there is stale.
    let v = net.vector(4);
    let auts = expect_sync(&usim_alg, &mut card, &v);
    let (sqn_ms, outcome) = net.handle_auts(&v.0, &auts);
    assert_eq!(sqn_ms, sqn((1000 << 5) | 4));
    assert_eq!(outcome, ResyncOutcome::Reset);
    let next = net.vector(4);
    assert_eq!(next.2, sqn((1001 << 5) | 4));
    accept(&usim_alg, &mut card, &next);
    // After the reset the stale vector of the aged card's slot is refused too.
    expect_sync(&usim_alg, &mut aged, &v);
}

#[test]
fn jump_beyond_delta_is_refused_then_resynchronised() {
    let usim_alg = osmo_alg();
    let policy = SqnPolicy {
        delta: 1000,
        ..SqnPolicy::default()
    };
    let mut card = state(policy);
    let mut net = Network::new(osmo_alg());
    accept(&usim_alg, &mut card, &net.vector(0)); // SEQ 1
    // The AuC runs far ahead (e.g. vectors fetched and thrown away).
    net.generator = SqnGenerator::new(sqn(5000 << 5), 5).unwrap_or_else(|e| panic!("{e}"));
    let v = net.vector(0); // SEQ 5001: 5000 above SEQ_MS = 1
    match verify_autn(&usim_alg, &v.0, &v.1, &mut card) {
        Err(AkaFailure::SyncFailure { auts, reason }) => {
            assert_eq!(reason, SqnRejection::TooFarAhead);
            let sqn_ms = resync(&net.alg, &v.0, &auts).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(sqn_ms, sqn(32));
            // Δ here is the card's 1000, smaller than the default.
            assert_eq!(net.generator.resync(sqn_ms, 1000), ResyncOutcome::Reset);
        }
        other => panic!("expected TooFarAhead, got {other:?}"),
    }
    let next = net.vector(0);
    assert_eq!(next.2, sqn(64));
    accept(&usim_alg, &mut card, &next);
    // Exactly Δ above SEQ_MS is still accepted.
    net.generator = SqnGenerator::new(sqn((2 + 999) << 5), 5).unwrap_or_else(|e| panic!("{e}"));
    accept(&usim_alg, &mut card, &net.vector(0));
}

#[test]
fn mac_failure_leaves_state_alone() {
    let usim_alg = osmo_alg();
    let mut net = Network::new(osmo_alg());
    let mut card = state(SqnPolicy::default());
    accept(&usim_alg, &mut card, &net.vector(0));
    let snapshot = card.to_bytes();
    let (rand, autn, _) = net.vector(0);
    for i in 0..16 {
        let mut bad = autn;
        bad[i] ^= 0x20;
        assert_eq!(
            verify_autn(&usim_alg, &rand, &bad, &mut card),
            Err(AkaFailure::MacFailure),
            "AUTN byte {i}"
        );
        assert_eq!(card.to_bytes(), snapshot);
    }
    // A vector for another subscriber (other OPc) is a MAC failure as well.
    let other = Milenage::with_opc(&[1; 16], &[2; 16]);
    let foreign = generate_vector(&other, &rand, sqn(1 << 10), &[0, 0]);
    assert_eq!(
        verify_autn(&usim_alg, &rand, &foreign.autn, &mut card),
        Err(AkaFailure::MacFailure)
    );
    assert_eq!(card.to_bytes(), snapshot);
    // The untouched vector still works afterwards.
    accept(&usim_alg, &mut card, &(rand, autn, sqn(2 << 5)));
}

#[test]
fn usim_state_survives_export_and_import() {
    let usim_alg = osmo_alg();
    let mut net = Network::new(osmo_alg());
    let mut card = state(SqnPolicy {
        age_limit: Some(32),
        ..SqnPolicy::default()
    });
    let used: Vec<_> = (0..5).map(|i| net.vector(i % 3)).collect();
    for v in &used {
        accept(&usim_alg, &mut card, v);
    }
    let stored = card.to_bytes();
    let mut restored = SqnState::from_bytes(&stored).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(restored, card);
    for v in &used {
        expect_sync(&usim_alg, &mut restored, v);
    }
    accept(&usim_alg, &mut restored, &net.vector(4));
}

#[test]
fn hlr_leases_survive_crashes() {
    let usim_alg = osmo_alg();
    let alg = osmo_alg();
    let mut card = state(SqnPolicy::default());
    let mut stored = Sqn::ZERO;
    let mut issued = Vec::new();
    for round in 0..6u32 {
        // Restart from the stored high-water mark (a crash lost everything
        // else), lease 8 SEQ values, store the mark, then issue a few.
        let mut generator = SqnGenerator::resume(stored, 5).unwrap_or_else(|e| panic!("{e}"));
        let mut lease = generator.reserve(8).unwrap_or_else(|e| panic!("{e}"));
        stored = lease.high_water();
        for k in 0..=(round % 3) {
            let s = lease
                .next(round % 32)
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|| panic!("lease exhausted"));
            assert!(!issued.contains(&s), "{s:?} issued twice");
            issued.push(s);
            let rand = [round as u8 ^ k as u8; 16];
            let v = generate_vector(&alg, &rand, s, &[0, 0]);
            accept(&usim_alg, &mut card, &(rand, v.autn, s));
        }
    }
}
