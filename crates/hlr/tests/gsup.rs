//! The GSUP handler: each request, each error cause, the Update Location
//! transaction.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::time::{Duration, Instant};

use common::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use telsec_auth::aka;
use telsec_auth::milenage::Milenage;
use telsec_auth::sqn::{SqnPolicy, SqnState};
use telsec_gsup::ie::{Cause, CnDomain, ImeiResult, RatType};
use telsec_gsup::{AddressString, GsupMessage, Ie, MessageType};
use telsec_hlr::handler::wildcard_pdp_info;
use telsec_hlr::{
    Auc, AucConfig, Comp128Version, ConnId, ConnInfo, HlrConfig, HlrCore, Outgoing, Store,
    SubscriberUpdate,
};

const K: &str = "465b5ce8b199b49faa5f0a2ee238a6bc";
const OPC: &str = "cd63cb71954a9f4e48a5994e37a02baf";
const KI: &str = "eb215756028d60e3275e613320aec880";

const MILENAGE: &str = "001010000000001";
const GSM: &str = "001010000000002";
const NO_AUTH: &str = "001010000000003";
const UNKNOWN: &str = "001010000000099";

fn store() -> Store {
    let mut store = memory_store();
    store
        .add_subscriber(&with_msisdn(milenage_sub(MILENAGE, K, OPC), "4912345"))
        .unwrap();
    store
        .add_subscriber(&comp128_sub(GSM, Comp128Version::V1, KI))
        .unwrap();
    store
        .add_subscriber(&telsec_hlr::NewSubscriber::new(imsi(NO_AUTH)))
        .unwrap();
    store
}

fn hlr_with(config: HlrConfig) -> HlrCore<StdRng> {
    let auc = Auc::new(store(), AucConfig::default()).unwrap();
    let mut hlr = HlrCore::new(auc, config, StdRng::seed_from_u64(1));
    hlr.peer_connected(&msc());
    hlr.peer_connected(&sgsn());
    hlr
}

fn hlr() -> HlrCore<StdRng> {
    hlr_with(HlrConfig::default())
}

fn msc() -> ConnInfo {
    ConnInfo {
        id: ConnId(1),
        peer_name: b"MSC-00-00-00-00-00-00\0".to_vec(),
    }
}

fn sgsn() -> ConnInfo {
    ConnInfo {
        id: ConnId(2),
        peer_name: b"SGSN-00-00-00-00-00-01\0".to_vec(),
    }
}

fn gimsi(s: &str) -> telsec_gsup::Imsi {
    telsec_gsup::Imsi::new(s).unwrap()
}

fn sai(s: &str) -> GsupMessage {
    GsupMessage::send_auth_info_request(gimsi(s))
}

/// One answer, encodable, on the expected connection.
fn one(out: Vec<Outgoing>, conn: ConnId) -> GsupMessage {
    assert_eq!(out.len(), 1, "expected one message, got {out:?}");
    let o = out.into_iter().next().unwrap();
    assert_eq!(o.conn, conn);
    // What the HLR sends must encode and decode back the same.
    let bytes = o.msg.to_vec().unwrap();
    assert_eq!(GsupMessage::decode(&bytes).unwrap(), o.msg);
    o.msg
}

fn expect_error(out: Vec<Outgoing>, conn: ConnId, msg_type: MessageType, cause: Cause) {
    let m = one(out, conn);
    assert_eq!(m.msg_type, msg_type);
    assert_eq!(m.cause(), Some(cause));
}

#[test]
fn send_auth_info_milenage() {
    let mut hlr = hlr();
    let now = Instant::now();
    let m = one(hlr.handle(now, &msc(), sai(MILENAGE)), ConnId(1));
    assert_eq!(m.msg_type, MessageType::SendAuthInfoResult);
    assert_eq!(m.imsi.as_str(), MILENAGE);
    let tuples: Vec<_> = m.auth_tuples().collect();
    assert_eq!(tuples.len(), 5, "osmo-hlr's default is 5");
    let card = Milenage::with_opc(&hex16(K), &hex16(OPC));
    let mut state = SqnState::new(SqnPolicy::default()).unwrap();
    for t in tuples {
        let ok = aka::verify_autn(&card, &t.rand, &t.autn.unwrap(), &mut state).unwrap();
        assert_eq!(t.res.as_deref(), Some(ok.keys.res.as_bytes()));
        assert_eq!(t.ck, Some(ok.keys.ck));
        assert_eq!(t.ik, Some(ok.keys.ik));
        let (sres, kc) = aka::gsm_context(&card, &t.rand);
        assert_eq!((t.sres, t.kc), (Some(sres), Some(kc)));
    }

    // Number of vectors requested: honoured in 1..=5, else 5.
    for (asked, got) in [(1u8, 1usize), (3, 3), (5, 5), (0, 5), (9, 5)] {
        let req = sai(MILENAGE).with(Ie::NumVectorsRequested(asked));
        let m = one(hlr.handle(now, &msc(), req), ConnId(1));
        assert_eq!(m.auth_tuples().count(), got, "asked {asked}");
    }
}

#[test]
fn send_auth_info_gsm_only_gets_triplets() {
    let mut hlr = hlr();
    let m = one(hlr.handle(Instant::now(), &msc(), sai(GSM)), ConnId(1));
    assert_eq!(m.msg_type, MessageType::SendAuthInfoResult);
    for t in m.auth_tuples() {
        assert!(!t.is_umts());
        let (sres, kc) = telsec_auth::comp128::comp128v1(&hex16(KI), &t.rand);
        assert_eq!((t.sres, t.kc), (Some(sres), Some(kc)));
    }
}

#[test]
fn send_auth_info_errors() {
    let now = Instant::now();
    let mut hlr = hlr();
    let err = MessageType::SendAuthInfoError;
    expect_error(
        hlr.handle(now, &msc(), sai(UNKNOWN)),
        ConnId(1),
        err,
        Cause::ImsiUnknown,
    );
    expect_error(
        hlr.handle(now, &msc(), sai(NO_AUTH)),
        ConnId(1),
        err,
        Cause::ImsiUnknown,
    );
    // Invalid IMSI (fewer than 6 digits): invalid mandatory information.
    expect_error(
        hlr.handle(now, &msc(), sai("00101")),
        ConnId(1),
        err,
        Cause::InvalidMandatoryInfo,
    );
    // RAND without AUTS.
    let half = sai(MILENAGE).with(Ie::Rand([1; 16]));
    expect_error(
        hlr.handle(now, &msc(), half),
        ConnId(1),
        err,
        Cause::NetworkFailure,
    );
    // AUTS for a 2G-only subscriber.
    let resync = GsupMessage::send_auth_info_resync_request(gimsi(GSM), [0; 14], [0; 16]);
    expect_error(
        hlr.handle(now, &msc(), resync),
        ConnId(1),
        err,
        Cause::NetworkFailure,
    );
    // A forged AUTS: osmo-hlr's effective answer, IMSI unknown.
    let forged = GsupMessage::send_auth_info_resync_request(gimsi(MILENAGE), [7; 14], [3; 16]);
    expect_error(
        hlr.handle(now, &msc(), forged),
        ConnId(1),
        err,
        Cause::ImsiUnknown,
    );
    // Disabled subscriber: illegal MS.
    hlr.auc_mut()
        .store_mut()
        .update_subscriber(
            &imsi(MILENAGE),
            &SubscriberUpdate {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    expect_error(
        hlr.handle(now, &msc(), sai(MILENAGE)),
        ConnId(1),
        err,
        Cause::IllegalMs,
    );

    // The unknown-IMSI cause is configurable (osmo-hlr `reject-cause`).
    let mut hlr = hlr_with(HlrConfig {
        unknown_imsi_cause: Cause::PlmnNotAllowed,
        ..HlrConfig::default()
    });
    expect_error(
        hlr.handle(now, &msc(), sai(UNKNOWN)),
        ConnId(1),
        err,
        Cause::PlmnNotAllowed,
    );
}

#[test]
fn send_auth_info_resync_and_routing_ies() {
    let now = Instant::now();
    let mut hlr = hlr();
    let card = Milenage::with_opc(&hex16(K), &hex16(OPC));
    // The card is far ahead (SEQ 9000 in every slot).
    let mut state = SqnState::from_parts(
        SqnPolicy::default(),
        telsec_auth::sqn::Sqn::from_parts(9000, 31, 5).unwrap(),
        &[9000; 32],
    )
    .unwrap();
    let m = one(hlr.handle(now, &msc(), sai(MILENAGE)), ConnId(1));
    let t = m.auth_tuples().next().unwrap();
    let auts = match aka::verify_autn(&card, &t.rand, &t.autn.unwrap(), &mut state) {
        Err(aka::AkaFailure::SyncFailure { auts, .. }) => auts,
        other => panic!("{other:?}"),
    };
    // Resync relayed by a proxy: Source Name set; the answer is addressed back.
    let req = GsupMessage::send_auth_info_resync_request(gimsi(MILENAGE), auts, t.rand)
        .with(Ie::SourceName(b"far-MSC\0".to_vec()));
    let m = one(hlr.handle(now, &msc(), req), ConnId(1));
    assert_eq!(m.msg_type, MessageType::SendAuthInfoResult);
    assert_eq!(m.destination_name(), Some(&b"far-MSC\0"[..]));
    for t in m.auth_tuples() {
        aka::verify_autn(&card, &t.rand, &t.autn.unwrap(), &mut state).unwrap();
    }
}

#[test]
fn ind_per_peer_and_separation_bit() {
    let now = Instant::now();
    let mut hlr = hlr();
    let card = Milenage::with_opc(&hex16(K), &hex16(OPC));
    let ind_of = |m: &GsupMessage| -> Vec<u32> {
        m.auth_tuples()
            .map(|t| {
                let keys = telsec_auth::AkaAlgorithm::f2345(&card, &t.rand);
                let autn = t.autn.unwrap();
                let mut sqn = [0u8; 6];
                for i in 0..6 {
                    sqn[i] = autn[i] ^ keys.ak[i];
                }
                telsec_auth::sqn::Sqn::from_bytes(&sqn).ind(5)
            })
            .collect()
    };
    let a = one(hlr.handle(now, &msc(), sai(MILENAGE)), ConnId(1));
    let b = one(hlr.handle(now, &sgsn(), sai(MILENAGE)), ConnId(2));
    let ia = ind_of(&a);
    let ib = ind_of(&b);
    assert!(ia.iter().all(|&i| i == ia[0]));
    assert!(ib.iter().all(|&i| i == ib[0]));
    assert_ne!(ia[0], ib[0], "each peer gets its own IND");
    // Same peer again: same IND.
    assert_eq!(
        ind_of(&one(hlr.handle(now, &msc(), sai(MILENAGE)), ConnId(1)))[0],
        ia[0]
    );
    // E-UTRAN: separation bit set in AMF.
    for t in a.auth_tuples() {
        assert_eq!(t.autn.unwrap()[6] & 0x80, 0);
    }
    let lte = sai(MILENAGE).with(Ie::CurrentRatType(RatType::Eutran));
    let m = one(hlr.handle(now, &msc(), lte), ConnId(1));
    for t in m.auth_tuples() {
        assert_eq!(t.autn.unwrap()[6] & 0x80, 0x80);
    }
}

#[test]
fn update_location_cs() {
    let now = Instant::now();
    let mut hlr = hlr();
    let ulr = GsupMessage::update_location_request(gimsi(MILENAGE), Some(CnDomain::Cs));
    let isd = one(hlr.handle(now, &msc(), ulr), ConnId(1));
    assert_eq!(isd.msg_type, MessageType::InsertDataRequest);
    assert_eq!(isd.imsi.as_str(), MILENAGE);
    assert_eq!(
        isd.msisdn(),
        Some(&AddressString::length_prefixed("4912345").unwrap())
    );
    assert_eq!(isd.cn_domain(), Some(CnDomain::Cs));
    assert_eq!(isd.pdp_infos().count(), 0);
    assert_eq!(hlr.poll_timeout(), Some(now + Duration::from_secs(30)));
    // Location already recorded.
    let s = hlr
        .auc()
        .store()
        .subscriber(&imsi(MILENAGE))
        .unwrap()
        .unwrap();
    assert_eq!(s.vlr_number.as_deref(), Some("MSC-00-00-00-00-00-00"));

    // The VLR confirms: Update Location Result.
    let ack = GsupMessage::new(MessageType::InsertDataResult, gimsi(MILENAGE));
    let ula = one(hlr.handle(now, &msc(), ack.clone()), ConnId(1));
    assert_eq!(ula.msg_type, MessageType::UpdateLocationResult);
    assert_eq!(hlr.poll_timeout(), None);
    // A stray Insert Data Result is dropped, not answered.
    assert!(hlr.handle(now, &msc(), ack).is_empty());
}

#[test]
fn update_location_ps_defaults_and_wildcard_apn() {
    let now = Instant::now();
    let mut hlr = hlr();
    // No CN Domain IE: PS. Subscriber without MSISDN: empty MSISDN IE.
    let ulr = GsupMessage::update_location_request(gimsi(GSM), None);
    let isd = one(hlr.handle(now, &sgsn(), ulr), ConnId(2));
    assert_eq!(isd.msg_type, MessageType::InsertDataRequest);
    assert_eq!(isd.cn_domain(), Some(CnDomain::Ps));
    assert_eq!(isd.msisdn().map(|m| m.as_bytes().to_vec()), Some(vec![0u8]));
    let pdp: Vec<_> = isd.pdp_infos().cloned().collect();
    assert_eq!(pdp, vec![wildcard_pdp_info()]);
    let ack = GsupMessage::new(MessageType::InsertDataResult, gimsi(GSM));
    let ula = one(hlr.handle(now, &sgsn(), ack), ConnId(2));
    assert_eq!(ula.msg_type, MessageType::UpdateLocationResult);
    let s = hlr.auc().store().subscriber(&imsi(GSM)).unwrap().unwrap();
    assert_eq!(s.sgsn_number.as_deref(), Some("SGSN-00-00-00-00-00-01"));
}

#[test]
fn update_location_refusals() {
    let now = Instant::now();
    let mut hlr = hlr();
    let err = MessageType::UpdateLocationError;
    let ulr = |i: &str, d| GsupMessage::update_location_request(gimsi(i), d);
    expect_error(
        hlr.handle(now, &msc(), ulr(UNKNOWN, Some(CnDomain::Cs))),
        ConnId(1),
        err,
        Cause::ImsiUnknown,
    );
    let store = hlr.auc_mut().store_mut();
    store
        .update_subscriber(
            &imsi(MILENAGE),
            &SubscriberUpdate {
                nam_cs: Some(false),
                nam_ps: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    expect_error(
        hlr.handle(now, &msc(), ulr(MILENAGE, Some(CnDomain::Cs))),
        ConnId(1),
        err,
        Cause::PlmnNotAllowed,
    );
    expect_error(
        hlr.handle(now, &sgsn(), ulr(MILENAGE, None)),
        ConnId(2),
        err,
        Cause::GprsNotAllowed,
    );
    hlr.auc_mut()
        .store_mut()
        .update_subscriber(
            &imsi(GSM),
            &SubscriberUpdate {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    expect_error(
        hlr.handle(now, &msc(), ulr(GSM, None)),
        ConnId(1),
        err,
        Cause::IllegalMs,
    );
    // No VLR name at all.
    let anonymous = ConnInfo {
        id: ConnId(3),
        peer_name: Vec::new(),
    };
    expect_error(
        hlr.handle(now, &anonymous, ulr(NO_AUTH, None)),
        ConnId(3),
        err,
        Cause::NetworkFailure,
    );
    assert_eq!(hlr.poll_timeout(), None, "no transaction left open");
}

#[test]
fn update_location_insert_data_error_and_timeout() {
    let now = Instant::now();
    let mut hlr = hlr();
    let ulr = GsupMessage::update_location_request(gimsi(MILENAGE), Some(CnDomain::Cs));
    one(hlr.handle(now, &msc(), ulr.clone()), ConnId(1));
    let nack = GsupMessage::error(
        MessageType::InsertDataError,
        gimsi(MILENAGE),
        Cause::NetworkFailure,
    );
    expect_error(
        hlr.handle(now, &msc(), nack),
        ConnId(1),
        MessageType::UpdateLocationError,
        Cause::NetworkFailure,
    );

    // Timeout after 30 s.
    one(hlr.handle(now, &msc(), ulr.clone()), ConnId(1));
    assert!(hlr.handle_timeout(now + Duration::from_secs(29)).is_empty());
    expect_error(
        hlr.handle_timeout(now + Duration::from_secs(30)),
        ConnId(1),
        MessageType::UpdateLocationError,
        Cause::NetworkFailure,
    );
    assert_eq!(hlr.poll_timeout(), None);

    // A second ULR for the same IMSI supersedes the first.
    one(hlr.handle(now, &msc(), ulr.clone()), ConnId(1));
    let out = hlr.handle(
        now,
        &sgsn(),
        GsupMessage::update_location_request(gimsi(MILENAGE), Some(CnDomain::Cs)),
    );
    assert_eq!(out.len(), 2);
    assert_eq!(
        (out[0].conn, out[0].msg.msg_type),
        (ConnId(1), MessageType::UpdateLocationError)
    );
    assert_eq!(
        (out[1].conn, out[1].msg.msg_type),
        (ConnId(2), MessageType::InsertDataRequest)
    );

    // A closed connection abandons its transaction silently.
    hlr.peer_disconnected(ConnId(2));
    assert_eq!(hlr.poll_timeout(), None);
    assert!(hlr.handle_timeout(now + Duration::from_secs(60)).is_empty());
}

#[test]
fn purge_ms() {
    let now = Instant::now();
    let mut hlr = hlr();
    let req = GsupMessage::purge_ms_request(gimsi(MILENAGE), None).with(Ie::CnDomain(CnDomain::Cs));
    let m = one(hlr.handle(now, &msc(), req), ConnId(1));
    assert_eq!(m.msg_type, MessageType::PurgeMsResult);
    let s = hlr
        .auc()
        .store()
        .subscriber(&imsi(MILENAGE))
        .unwrap()
        .unwrap();
    assert!(s.purged_cs && !s.purged_ps);
    let req = GsupMessage::purge_ms_request(gimsi(MILENAGE), None);
    one(hlr.handle(now, &sgsn(), req), ConnId(2));
    assert!(
        hlr.auc()
            .store()
            .subscriber(&imsi(MILENAGE))
            .unwrap()
            .unwrap()
            .purged_ps
    );
    expect_error(
        hlr.handle(
            now,
            &msc(),
            GsupMessage::purge_ms_request(gimsi(UNKNOWN), None),
        ),
        ConnId(1),
        MessageType::PurgeMsError,
        Cause::ImsiUnknown,
    );
}

#[test]
fn check_imei() {
    let now = Instant::now();
    let imei = |d: &str| AddressString::length_prefixed(d).unwrap();
    for store_imei in [false, true] {
        let mut hlr = hlr_with(HlrConfig {
            store_imei,
            ..HlrConfig::default()
        });
        let req = GsupMessage::check_imei_request(gimsi(MILENAGE), imei("35693803564380"));
        let m = one(hlr.handle(now, &msc(), req), ConnId(1));
        assert_eq!(m.msg_type, MessageType::CheckImeiResult);
        assert_eq!(m.imei_result(), Some(ImeiResult::Ack));
        let stored = hlr
            .auc()
            .store()
            .subscriber(&imsi(MILENAGE))
            .unwrap()
            .unwrap()
            .imei;
        assert_eq!(stored.is_some(), store_imei);
        let err = MessageType::CheckImeiError;
        for bad in [
            GsupMessage::check_imei_request(gimsi(MILENAGE), imei("3569380356438")),
            GsupMessage::new(MessageType::CheckImeiRequest, gimsi(MILENAGE)),
            GsupMessage::check_imei_request(gimsi(UNKNOWN), imei("35693803564380")),
        ] {
            expect_error(
                hlr.handle(now, &msc(), bad),
                ConnId(1),
                err,
                Cause::InvalidMandatoryInfo,
            );
        }
    }
}

#[test]
fn unsupported_and_unexpected_messages() {
    let now = Instant::now();
    let mut hlr = hlr();
    // A request the HLR does not implement: answered, not dropped.
    let ss = GsupMessage::new(MessageType::ProcSsRequest, gimsi(MILENAGE));
    expect_error(
        hlr.handle(now, &msc(), ss),
        ConnId(1),
        MessageType::ProcSsError,
        Cause::MessageTypeNotImplemented,
    );
    let cancel = GsupMessage::new(MessageType::LocationCancelRequest, gimsi(MILENAGE));
    expect_error(
        hlr.handle(now, &msc(), cancel),
        ConnId(1),
        MessageType::LocationCancelError,
        Cause::MessageTypeNotImplemented,
    );
    // Results and errors nobody asked for are dropped.
    for t in [
        MessageType::UpdateLocationResult,
        MessageType::SendAuthInfoError,
        MessageType::DeleteDataResult,
        MessageType::AuthFailReport,
    ] {
        assert!(
            hlr.handle(now, &msc(), GsupMessage::new(t, gimsi(MILENAGE)))
                .is_empty(),
            "{t}"
        );
    }
}

#[test]
fn forwarding_by_destination_name() {
    let now = Instant::now();
    let mut hlr = hlr();
    let fwd = GsupMessage::new(MessageType::MtForwardSmRequest, gimsi(MILENAGE))
        .with(Ie::SourceName(b"MSC-00-00-00-00-00-00\0".to_vec()))
        .with(Ie::DestinationName(b"SGSN-00-00-00-00-00-01\0".to_vec()));
    let m = one(hlr.handle(now, &msc(), fwd.clone()), ConnId(2));
    assert_eq!(m, fwd);
    // Addressed to this HLR: handled here.
    let mine = sai(MILENAGE).with(Ie::DestinationName(b"unnamed-HLR\0".to_vec()));
    let m = one(hlr.handle(now, &msc(), mine), ConnId(1));
    assert_eq!(m.msg_type, MessageType::SendAuthInfoResult);
    // Unknown destination: routing error back to the sender.
    let lost = GsupMessage::new(MessageType::MtForwardSmRequest, gimsi(MILENAGE))
        .with(Ie::SourceName(b"MSC-00-00-00-00-00-00\0".to_vec()))
        .with(Ie::DestinationName(b"nobody\0".to_vec()));
    let m = one(hlr.handle(now, &msc(), lost), ConnId(1));
    assert_eq!(m.msg_type, MessageType::RoutingError);
    assert_eq!(m.source_name(), Some(&b"nobody\0"[..]));
    assert_eq!(m.destination_name(), Some(&b"MSC-00-00-00-00-00-00\0"[..]));
    // After the peer left, forwarding to it fails.
    hlr.peer_disconnected(ConnId(2));
    let m = one(hlr.handle(now, &msc(), fwd), ConnId(1));
    assert_eq!(m.msg_type, MessageType::RoutingError);
}

#[test]
fn vectors_survive_a_restart_of_the_hlr() {
    let dir = temp_dir("gsup-restart");
    {
        let mut s = Store::open_data_dir(&dir, kek()).unwrap();
        s.add_subscriber(&milenage_sub(MILENAGE, K, OPC)).unwrap();
    }
    let card = Milenage::with_opc(&hex16(K), &hex16(OPC));
    let mut state = SqnState::new(SqnPolicy::default()).unwrap();
    for round in 0..3u64 {
        let auc = Auc::new(
            Store::open_data_dir(&dir, kek()).unwrap(),
            AucConfig::default(),
        )
        .unwrap();
        let mut hlr = HlrCore::new(auc, HlrConfig::default(), StdRng::seed_from_u64(round));
        hlr.peer_connected(&msc());
        let m = one(hlr.handle(Instant::now(), &msc(), sai(MILENAGE)), ConnId(1));
        // The MSC's IND is the same after the restart (kept in the store),
        // and every vector passes the card.
        for t in m.auth_tuples() {
            aka::verify_autn(&card, &t.rand, &t.autn.unwrap(), &mut state).unwrap();
        }
    }
}
