//! Home agent -> node key delivery end to end, with a soft USIM and
//! authentication vectors from MILENAGE keyed with the published test sets
//! (testdata/vectors/auth.toml: TS 35.207 test set 1 for the subscriber,
//! TS 35.208 test set 19 for a second SIM), an HLR stand-in built on
//! telsec_auth's SQN generator and resynchronisation, and every rejection
//! the receiver can give.
// Helpers outside #[test] functions unwrap fixed test data too.
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Deserialize;
use telsec_auth::aka::{self, AuthVector, generate_vector};
use telsec_auth::milenage::Milenage;
use telsec_auth::sqn::{DEFAULT_DELTA, ResyncOutcome, Sqn, SqnGenerator};
use telsec_auth::usim::{Auth3g, CardAlgorithm, SoftUsim, UsimClient, UsimConfig};
use telsec_keydist::packet::{PORT, TAR};
use telsec_keydist::{
    Action, Issued, Issuer, IssuerConfig, KeyRecord, PacketError, Receiver, ReceiverConfig,
    Refusal, Reject, Subscriber,
};
use telsec_mip::Algorithm;

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
    ts35207: Vec<TestSet>,
    ts35208: Vec<TestSet>,
}

#[derive(Deserialize, Clone)]
struct TestSet {
    set: u32,
    k: String,
    opc: String,
    rand: String,
    sqn: String,
    amf: String,
    f3: String,
    f4: String,
}

fn arr<const N: usize>(s: &str) -> [u8; N] {
    let v = hex::decode(s).unwrap();
    v.try_into().unwrap()
}

fn test_set(section: &str, set: u32) -> TestSet {
    let file: File = toml::from_str(VECTORS).unwrap();
    let list = match section {
        "ts35207" => file.milenage.ts35207,
        _ => file.milenage.ts35208,
    };
    list.into_iter().find(|t| t.set == set).unwrap()
}

fn milenage(t: &TestSet) -> Milenage {
    Milenage::with_opc(&arr(&t.k), &arr(&t.opc))
}

const IMSI_A: &str = "001010000000001";
const IMSI_B: &str = "001010000000002";
const MSISDN_A: &str = "+491700000001";
const FQDN: &str = "ha.home.example.net";
const HOME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
const HA: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const AMF: [u8; 2] = [0x80, 0x00];
const NOW_MS: u64 = 1_750_000_000_000;

/// The HLR/AuC side of one subscriber: SQN generation and resync.
struct Hlr {
    alg: Milenage,
    sqn: SqnGenerator,
    rand_counter: u128,
}

impl Hlr {
    fn new(t: &TestSet) -> Hlr {
        Hlr {
            alg: milenage(t),
            sqn: SqnGenerator::new(Sqn::ZERO, 5).unwrap(),
            rand_counter: u128::from_be_bytes(arr(&t.rand)),
        }
    }

    fn vector(&mut self) -> AuthVector {
        self.rand_counter = self.rand_counter.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let sqn = self.sqn.next(0).unwrap();
        generate_vector(&self.alg, &self.rand_counter.to_be_bytes(), sqn, &AMF)
    }

    fn resync(&mut self, rand: &[u8; 16], auts: &[u8; 14]) -> AuthVector {
        let sqn_ms = aka::resync(&self.alg, rand, auts).unwrap();
        assert_eq!(self.sqn.resync(sqn_ms, DEFAULT_DELTA), ResyncOutcome::Reset);
        self.vector()
    }
}

fn usim(t: &TestSet, imsi: &str) -> SoftUsim {
    let config = UsimConfig::new(imsi, CardAlgorithm::Aka(Box::new(milenage(t))));
    SoftUsim::new(config).unwrap()
}

fn issuer(algorithm: Algorithm) -> Issuer<StdRng> {
    let mut config = IssuerConfig::new(FQDN, HA);
    config.algorithm = algorithm;
    let mut issuer = Issuer::new(config, StdRng::seed_from_u64(7)).unwrap();
    let action = issuer
        .provision(Subscriber {
            imsi: IMSI_A.into(),
            mnc_len: 2,
            msisdn: MSISDN_A.into(),
            home_address: HOME,
        })
        .unwrap();
    assert_eq!(
        action,
        Action::NeedVector {
            imsi: IMSI_A.into()
        }
    );
    issuer
}

fn receiver(card: &mut SoftUsim) -> Receiver {
    let config = ReceiverConfig::from_card(card, FQDN).unwrap();
    assert_eq!(config.imsi, IMSI_A);
    assert_eq!(config.mnc_len, 2);
    assert_eq!(config.tar, TAR);
    Receiver::new(config).unwrap()
}

struct World {
    hlr: Hlr,
    issuer: Issuer<StdRng>,
    card: SoftUsim,
    node: Receiver,
}

impl World {
    fn new(algorithm: Algorithm) -> World {
        let t = test_set("ts35207", 1);
        let mut card = usim(&t, IMSI_A);
        let node = receiver(&mut card);
        World {
            hlr: Hlr::new(&t),
            issuer: issuer(algorithm),
            card,
            node,
        }
    }

    fn issue(&mut self) -> Issued {
        let v = self.hlr.vector();
        self.issuer.on_vector(NOW_MS, IMSI_A, &v).unwrap()
    }
}

#[test]
fn vectors_from_the_test_set_give_its_ck_ik() {
    // The HLR stand-in computes the published f3/f4 for the test set's RAND.
    let t = test_set("ts35207", 1);
    let v = generate_vector(
        &milenage(&t),
        &arr(&t.rand),
        Sqn::from_bytes(&arr(&t.sqn)),
        &arr(&t.amf),
    );
    assert_eq!(v.ck, arr::<16>(&t.f3));
    assert_eq!(v.ik, arr::<16>(&t.f4));
    let t19 = test_set("ts35208", 19);
    let v19 = generate_vector(
        &milenage(&t19),
        &arr(&t19.rand),
        Sqn::from_bytes(&arr(&t19.sqn)),
        &arr(&t19.amf),
    );
    assert_eq!(v19.ck, arr::<16>(&t19.f3));
}

#[test]
fn request_then_delivery_round_trip() {
    for algorithm in [Algorithm::HmacSha256, Algorithm::HmacMd5] {
        let mut w = World::new(algorithm);
        let action = w
            .issuer
            .on_request(NOW_MS, MSISDN_A, &Receiver::key_request());
        assert_eq!(
            action,
            Action::NeedVector {
                imsi: IMSI_A.into()
            }
        );
        let issued = w.issue();
        assert_eq!(issued.msisdn, "491700000001");
        assert_eq!(issued.counter, 1);
        assert_eq!(issued.sa.spi(), 256);
        assert_eq!(issued.sa.algorithm(), algorithm);
        assert_eq!(issued.home_address, HOME);
        let record = w.node.unwrap(&mut w.card, &issued.sms_payload).unwrap();
        assert_eq!(record, issued.record);
        assert_eq!(record.spi(), 256);
        assert_eq!(record.algorithm(), algorithm);
        assert_eq!(record.key().len(), algorithm.output_len());
        assert_eq!(record.home_address, HOME);
        assert_eq!(record.home_agent, HA);
        assert_eq!(u64::from(record.issued_at), NOW_MS / 1000);
        assert_eq!(record.lifetime_secs, 24 * 3600);
        assert_eq!(issued.expires_at, record.expires_at());
        assert_eq!(w.node.counter(&TAR), 1);

        // A second key: next counter, next SPI, a different random key.
        let second = w.issue();
        assert_eq!((second.counter, second.sa.spi()), (2, 257));
        let record2 = w.node.unwrap(&mut w.card, &second.sms_payload).unwrap();
        assert_ne!(record2.key(), record.key());
        assert_eq!(w.node.counter(&TAR), 2);
    }
}

#[test]
fn payload_fits_one_port_addressed_sms() {
    let mut w = World::new(Algorithm::HmacSha256);
    let issued = w.issue();
    // 32 preamble + 10 clear header + 80 ciphered (14 + 66-octet record).
    assert_eq!(issued.sms_payload.len(), 122);
    assert!(issued.sms_payload.len() <= telsec_sms::concat::SINGLE_PAYLOAD);
    let parts = telsec_sms::split_binary(&issued.sms_payload, PORT, PORT, 0).unwrap();
    assert_eq!(parts.len(), 1);
    let header = parts[0].header.as_ref().unwrap();
    assert_eq!(header.ports(), Some((16434, 16434)));
    assert!(header.buffer_len() + parts[0].data.len() <= 140);

    let mut md5 = World::new(Algorithm::HmacMd5);
    assert_eq!(md5.issue().sms_payload.len(), 106);
}

#[test]
fn packet_for_another_sim_is_not_for_this_sim() {
    let mut w = World::new(Algorithm::HmacSha256);
    // A second subscriber whose USIM has another K (TS 35.208 set 19).
    let t19 = test_set("ts35208", 19);
    let mut card_b = usim(&t19, IMSI_B);
    let mut node_b = Receiver::new(ReceiverConfig::new(IMSI_B, 2, FQDN)).unwrap();
    let for_a = w.issue();
    let before = node_b.snapshot();
    let err = node_b.unwrap(&mut card_b, &for_a.sms_payload).unwrap_err();
    assert!(matches!(err, Reject::NotForThisSim), "{err}");
    assert_eq!(err.to_string(), "not for this SIM (AUTN MAC failure)");
    assert_eq!(node_b.snapshot(), before);
    // A's own node still takes it.
    assert!(w.node.unwrap(&mut w.card, &for_a.sms_payload).is_ok());
}

#[test]
fn flipped_bits_give_the_right_reason_and_change_nothing() {
    let mut w = World::new(Algorithm::HmacSha256);
    let sample = w.issue().sms_payload;
    let len = sample.len();
    // The sample is never delivered intact; each flip below gets a fresh
    // packet where the card would consume its challenge.
    let mut deliveries = 0;
    for pos in 0..len {
        let bit = 1u8 << (pos % 8);
        let mut packet = if pos < 42 {
            sample.clone()
        } else {
            // Ciphertext and CC: the AUTN verifies, so the USIM uses up the
            // challenge; a fresh packet per flip.
            deliveries += 1;
            w.issue().sms_payload
        };
        packet[pos] ^= bit;
        let before = w.node.snapshot();
        let err = w.node.unwrap(&mut w.card, &packet).unwrap_err();
        let ok = match pos {
            // RAND, AUTN: the USIM refuses AUTN's MAC.
            0..32 => matches!(err, Reject::NotForThisSim),
            // CPL, CHL: framing.
            32..=33 => matches!(err, Reject::Malformed(PacketError::Length { .. })),
            34 => matches!(err, Reject::Malformed(PacketError::HeaderLength(_))),
            35..=36 => matches!(err, Reject::Unsupported { field: "SPI", .. }),
            37 => matches!(err, Reject::Unsupported { field: "KIc", .. }),
            38 => matches!(err, Reject::Unsupported { field: "KID", .. }),
            39..=41 => matches!(err, Reject::UnknownTar(_)),
            // Ciphered CNTR, PCNTR, CC (octets 48..56) and the record.
            _ => matches!(err, Reject::BadMac),
        };
        assert!(ok, "octet {pos}: {err}");
        assert_eq!(w.node.snapshot(), before, "octet {pos} changed state");
    }
    assert_eq!(deliveries, len - 42);
    assert_eq!(w.node.counter(&TAR), 0);
    // The preamble and header flips used no challenge: the sample is still
    // good, though its SQN is now older than the ones consumed since, so
    // the USIM calls it stale; a fresh packet goes through.
    let fresh = w.issue();
    let record = w.node.unwrap(&mut w.card, &fresh.sms_payload).unwrap();
    assert_eq!(record.spi(), fresh.sa.spi());
    assert_eq!(w.node.counter(&TAR), fresh.counter);
}

#[test]
fn replayed_packet_is_refused_without_state_change() {
    let mut w = World::new(Algorithm::HmacSha256);
    let issued = w.issue();
    w.node.unwrap(&mut w.card, &issued.sms_payload).unwrap();
    let before = w.node.snapshot();
    let err = w.node.unwrap(&mut w.card, &issued.sms_payload).unwrap_err();
    // The USIM has seen this SQN: authentic but stale.
    assert!(matches!(err, Reject::StaleVector { .. }), "{err}");
    assert!(err.resync_request().is_some());
    assert_eq!(w.node.snapshot(), before);
    assert_eq!(w.node.counter(&TAR), 1);
}

#[test]
fn old_counter_with_fresh_autn_is_a_replayed_counter() {
    let mut w = World::new(Algorithm::HmacSha256);
    let first = w.issue();
    // The HA persists after issuing counter 1 ...
    let saved = w.issuer.snapshot();
    w.node.unwrap(&mut w.card, &first.sms_payload).unwrap();
    let second = w.issue();
    w.node.unwrap(&mut w.card, &second.sms_payload).unwrap();
    assert_eq!(w.node.counter(&TAR), 2);
    // ... then restarts from that older snapshot and reuses counter 2 under
    // a fresh, valid challenge.
    w.issuer.restore(&saved).unwrap();
    assert_eq!(w.issuer.next_counter(IMSI_A), Some(2));
    let reused = w.issue();
    assert_eq!(reused.counter, 2);
    let before = w.node.snapshot();
    let err = w.node.unwrap(&mut w.card, &reused.sms_payload).unwrap_err();
    assert!(
        matches!(
            err,
            Reject::ReplayedCounter {
                received: 2,
                stored: 2
            }
        ),
        "{err}"
    );
    assert_eq!(w.node.snapshot(), before);
    // The node's counters survive its own restart too.
    let mut restarted = Receiver::new(w.node.config().clone()).unwrap();
    restarted.restore(&before).unwrap();
    let err = restarted
        .unwrap(&mut w.card, &reused.sms_payload)
        .unwrap_err();
    // (The USIM has now seen that challenge, so it is stale before the
    // counter is even reached.)
    assert!(matches!(err, Reject::StaleVector { .. }), "{err}");
    let third = w.issue();
    assert_eq!(third.counter, 3);
    restarted.unwrap(&mut w.card, &third.sms_payload).unwrap();
    assert_eq!(restarted.counter(&TAR), 3);
}

#[test]
fn resync_flow_recovers_from_a_usim_ahead_of_the_hlr() {
    let mut w = World::new(Algorithm::HmacSha256);
    // The USIM accepted a challenge with SEQ 1000 elsewhere (e.g. another
    // HLR, or a lost HLR state): its SQN is far ahead of this HLR's.
    let ahead = generate_vector(
        &w.hlr.alg,
        &[0x5a; 16],
        Sqn::from_parts(1000, 0, 5).unwrap(),
        &AMF,
    );
    let answer = UsimClient::new(&mut w.card)
        .authenticate_3g(&ahead.rand, &ahead.autn)
        .unwrap();
    assert!(matches!(answer, Auth3g::Success { .. }));

    // Key request -> vector with SEQ 1 -> the USIM calls it stale.
    assert!(matches!(
        w.issuer
            .on_request(NOW_MS, MSISDN_A, &Receiver::key_request()),
        Action::NeedVector { .. }
    ));
    let stale = w.issue();
    let before = w.node.snapshot();
    let err = w.node.unwrap(&mut w.card, &stale.sms_payload).unwrap_err();
    let Reject::StaleVector { rand, auts } = err else {
        panic!("expected a stale vector, got {err}");
    };
    assert_eq!(w.node.snapshot(), before);
    let resync = err_resync(&Reject::StaleVector { rand, auts });
    assert_eq!(resync, Receiver::resync_request(&rand, &auts));

    // The HA takes the resync from the subscriber's MSISDN ...
    let action = w.issuer.on_request(NOW_MS + 1000, MSISDN_A, &resync);
    let Action::NeedResync {
        imsi,
        rand: r,
        auts: a,
    } = action
    else {
        panic!("expected NeedResync, got {action:?}");
    };
    assert_eq!((imsi.as_str(), r, a), (IMSI_A, rand, auts));
    // ... the HLR recovers SQN_MS from AUTS and issues above it ...
    let v = w.hlr.resync(&r, &a);
    let issued = w.issuer.on_vector(NOW_MS + 2000, IMSI_A, &v).unwrap();
    assert_eq!(issued.counter, 2);
    // ... and the node accepts.
    let record = w.node.unwrap(&mut w.card, &issued.sms_payload).unwrap();
    assert_eq!(record, issued.record);
    assert_eq!(w.node.counter(&TAR), 2);

    // The same resync again is refused: each challenge resyncs once.
    assert!(matches!(
        w.issuer.on_request(NOW_MS + 3000, MSISDN_A, &resync),
        Action::Refused {
            reason: Refusal::UnknownChallenge,
            ..
        }
    ));
}

fn err_resync(err: &Reject) -> Vec<u8> {
    err.resync_request().unwrap()
}

#[test]
fn requests_from_other_numbers_are_refused() {
    let mut w = World::new(Algorithm::HmacSha256);
    let action = w
        .issuer
        .on_request(NOW_MS, "+491709999999", &Receiver::key_request());
    assert_eq!(
        action,
        Action::Refused {
            from: "+491709999999".into(),
            reason: Refusal::UnknownMsisdn
        }
    );
    // A vector for an unknown IMSI issues nothing.
    let v = w.hlr.vector();
    assert!(w.issuer.on_vector(NOW_MS, IMSI_B, &v).is_err());
    assert_eq!(w.issuer.next_counter(IMSI_A), Some(1));
}

#[test]
fn record_survives_parse_after_delivery() {
    let mut w = World::new(Algorithm::HmacSha256);
    let issued = w.issue();
    let record = w.node.unwrap(&mut w.card, &issued.sms_payload).unwrap();
    let bytes = record.to_bytes();
    assert_eq!(KeyRecord::parse(&bytes).unwrap(), record);
    let sa = record
        .security_association(telsec_mip::ReplayMode::default())
        .unwrap();
    assert_eq!(sa.spi(), issued.sa.spi());
}
