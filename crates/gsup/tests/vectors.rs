//! The GSUP and IPA samples of `testdata/vectors/auth.toml`
//! ([gsup_samples], from libosmocore tests/gsup/gsup_test.c): every one
//! decodes to the expected fields and re-encodes byte for byte.

use std::net::Ipv4Addr;

use telsec_gsup::bcd::AddressLayout;
use telsec_gsup::ccm::{CcmMessage, OSMO_ID_GET_TAGS};
use telsec_gsup::ie::{Apn, CancelType, Cause, MessageClass, PdpAddress, PdpTypeNumber};
use telsec_gsup::ipa::{Frame, OsmoExt, StreamId};
use telsec_gsup::session::encode_gsup_frame;
use telsec_gsup::{GsupMessage, MessageType};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/vectors/auth.toml"
);

fn samples() -> toml::Table {
    let text = std::fs::read_to_string(VECTORS).expect("auth.toml readable");
    let mut all: toml::Table = toml::from_str(&text).expect("auth.toml parses");
    match all.remove("gsup_samples") {
        Some(toml::Value::Table(t)) => t,
        _ => panic!("no [gsup_samples]"),
    }
}

fn hex_of(table: &toml::Table, key: &str) -> Vec<u8> {
    let s = table
        .get(key)
        .and_then(toml::Value::as_str)
        .unwrap_or_else(|| panic!("sample {key} missing"));
    hex::decode(s).expect("valid hex")
}

fn h<const N: usize>(s: &str) -> [u8; N] {
    hex::decode(s)
        .expect("valid hex")
        .try_into()
        .expect("expected length")
}

/// Every GSUP sample round-trips; returns the decoded messages by name.
fn decode_all(t: &toml::Table) -> std::collections::BTreeMap<String, GsupMessage> {
    let mut out = std::collections::BTreeMap::new();
    for (name, value) in t {
        let Some(s) = value.as_str() else { continue };
        if name == "source" {
            continue;
        }
        let bytes = hex::decode(s).expect("valid hex");
        let msg = GsupMessage::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            msg.to_vec().expect("sample re-encodes"),
            bytes,
            "{name} re-encodes byte-exactly"
        );
        assert_eq!(msg.imsi.as_str(), "123456789012345", "{name} IMSI");
        msg.validate()
            .unwrap_or_else(|e| panic!("{name} fails validate: {e}"));
        // The builder order equals the wire order for all of libosmocore's samples.
        let mut canon = msg.clone();
        canon.canonicalize();
        assert_eq!(canon, msg, "{name} is in canonical order");
        out.insert(name.clone(), msg);
    }
    out
}

#[test]
fn all_gsup_samples_round_trip_with_expected_fields() {
    let t = samples();
    let m = decode_all(&t);
    assert_eq!(m.len(), 13, "all 13 GSUP samples present");

    let sai = &m["send_auth_info_req"];
    assert_eq!(sai.msg_type, MessageType::SendAuthInfoRequest);
    assert_eq!(
        sai.message_class(),
        Some(MessageClass::SubscriberManagement)
    );
    assert_eq!(sai.num_vectors_requested(), None);
    assert_eq!(sai.cn_domain_or_default(), telsec_gsup::CnDomain::Ps);

    assert_eq!(m["send_auth_info_req10"].num_vectors_requested(), Some(10));

    let err = &m["send_auth_info_err"];
    assert_eq!(err.msg_type, MessageType::SendAuthInfoError);
    assert_eq!(err.cause(), Some(Cause::GprsNotAllowed));

    let res = &m["send_auth_info_res"];
    assert_eq!(res.msg_type, MessageType::SendAuthInfoResult);
    let tuples: Vec<_> = res.auth_tuples().collect();
    assert_eq!(tuples.len(), 2);
    assert_eq!(tuples[0].rand, h::<16>("0102030405060708090a0b0c0d0e0f10"));
    assert_eq!(tuples[0].sres, Some(h::<4>("21222324")));
    assert_eq!(tuples[0].kc, Some(h::<8>("3132333435363738")));
    assert!(!tuples[0].is_umts());
    assert_eq!(tuples[1].rand, h::<16>("8182838485868788898a8b8c8d8e8f90"));
    assert_eq!(tuples[1].sres, Some(h::<4>("a1a2a3a4")));
    assert_eq!(tuples[1].kc, Some(h::<8>("b1b2b3b4b5b6b7b8")));

    let umts = &m["send_auth_info_res_umts"];
    let tuples: Vec<_> = umts.auth_tuples().collect();
    assert_eq!(tuples.len(), 2);
    assert!(tuples.iter().all(|t| t.is_umts()));
    assert_eq!(
        tuples[0].ik,
        Some(h::<16>("0102030405060708090a0b0c0d0e0f10"))
    );
    assert_eq!(
        tuples[0].res.as_deref(),
        Some(&h::<8>("0102030405060708")[..])
    );
    assert_eq!(tuples[1].rand, h::<16>("a1a2a3a4a5a6a7a8a9aaabacadaeaf10"));
    assert_eq!(tuples[1].sres, Some(h::<4>("b1b2b3b4")));
    assert_eq!(tuples[1].kc, Some(h::<8>("c1c2c3c4c5c6c7c8")));
    assert_eq!(
        tuples[1].ik,
        Some(h::<16>("d1d2d3d4d5d6d7d8d9dadbdcdddedfd0"))
    );
    assert_eq!(
        tuples[1].ck,
        Some(h::<16>("e1e2e3e4e5e6e7e8e9eaebecedeeefe0"))
    );
    assert_eq!(
        tuples[1].autn,
        Some(h::<16>("f1f2f3f4f5f6f7f8f9fafbfcfdfefff0"))
    );
    assert_eq!(
        tuples[1].res.as_deref(),
        Some(&h::<8>("9192939495969798")[..])
    );

    let auts = &m["send_auth_info_req_auts"];
    assert_eq!(auts.auts(), Some(&h::<14>("0102030405060708090a0b0c0d0e")));
    assert_eq!(
        auts.rand(),
        Some(&h::<16>("0102030405060708090a0b0c0d0e0f10"))
    );

    assert_eq!(
        m["update_location_req"].msg_type,
        MessageType::UpdateLocationRequest
    );
    assert!(m["update_location_req"].ies.is_empty());
    assert_eq!(
        m["update_location_err"].cause(),
        Some(Cause::GprsNotAllowed)
    );

    let ul = &m["update_location_res"];
    assert_eq!(ul.msg_type, MessageType::UpdateLocationResult);
    let msisdn = ul.msisdn().unwrap();
    assert_eq!(msisdn.layout(), AddressLayout::TonNpi(0x91));
    assert_eq!(msisdn.digits().unwrap(), "491664234234");
    assert_eq!(ul.hlr_number().unwrap().digits().unwrap(), "382583843839");
    assert!(ul.pdp_info_complete());
    let pdps: Vec<_> = ul.pdp_infos().collect();
    assert_eq!(pdps.len(), 2);
    assert_eq!(pdps[0].context_id, Some(1));
    assert_eq!(pdps[0].address, Some(PdpAddress::ipv4(None)));
    assert_eq!(
        pdps[0].address.as_ref().unwrap().type_number,
        PdpTypeNumber::Ipv4
    );
    assert_eq!(
        pdps[0].apn.as_ref().and_then(Apn::to_dotted).as_deref(),
        Some("test.apn")
    );
    assert_eq!(pdps[0].qos.as_deref(), Some(&[0x02][..]));
    assert_eq!(pdps[0].charging.as_deref(), Some(&[0xff, 0x23][..]));
    assert_eq!(pdps[1].context_id, Some(2));
    assert_eq!(
        pdps[1].apn.as_ref().and_then(Apn::to_dotted).as_deref(),
        Some("foo.apn")
    );
    assert_eq!(pdps[1].qos, None);
    // The last IE of the sample is outside the second PDP Info: top level.
    assert_eq!(pdps[1].charging, None);
    assert_eq!(ul.charging_characteristics(), Some(&[0xae, 0xff][..]));
    assert_eq!(
        pdps[1].address.as_ref().unwrap().ipv4_addr(),
        None::<Ipv4Addr>
    );

    assert_eq!(
        m["location_cancellation_req"].cancel_type(),
        Some(CancelType::UpdateProcedure)
    );
    assert_eq!(m["purge_ms_req"].msg_type, MessageType::PurgeMsRequest);
    assert_eq!(m["purge_ms_err"].cause(), Some(Cause::IllegalMs));
    assert!(m["purge_ms_res"].freeze_ptmsi());
}

#[test]
fn builders_reproduce_the_samples() {
    let t = samples();
    let imsi = telsec_gsup::Imsi::new("123456789012345").unwrap();
    let built = [
        (
            "send_auth_info_err",
            GsupMessage::error(
                MessageType::SendAuthInfoRequest,
                imsi.clone(),
                Cause::GprsNotAllowed,
            ),
        ),
        (
            "update_location_err",
            GsupMessage::error(
                MessageType::UpdateLocationRequest,
                imsi.clone(),
                Cause::GprsNotAllowed,
            ),
        ),
        (
            "purge_ms_err",
            GsupMessage::error(MessageType::PurgeMsRequest, imsi.clone(), Cause::IllegalMs),
        ),
        (
            "purge_ms_res",
            GsupMessage::purge_ms_result(imsi.clone(), true),
        ),
        (
            "purge_ms_req",
            GsupMessage::purge_ms_request(imsi.clone(), None),
        ),
        (
            "update_location_req",
            GsupMessage::update_location_request(imsi.clone(), None),
        ),
        (
            "location_cancellation_req",
            GsupMessage::location_cancel_request(imsi.clone(), CancelType::UpdateProcedure, None),
        ),
        (
            "send_auth_info_req_auts",
            GsupMessage::send_auth_info_resync_request(
                imsi.clone(),
                h("0102030405060708090a0b0c0d0e"),
                h("0102030405060708090a0b0c0d0e0f10"),
            ),
        ),
        (
            "send_auth_info_res",
            GsupMessage::send_auth_info_result(
                imsi.clone(),
                vec![
                    telsec_gsup::AuthTuple::gsm(
                        h("0102030405060708090a0b0c0d0e0f10"),
                        h("21222324"),
                        h("3132333435363738"),
                    ),
                    telsec_gsup::AuthTuple::gsm(
                        h("8182838485868788898a8b8c8d8e8f90"),
                        h("a1a2a3a4"),
                        h("b1b2b3b4b5b6b7b8"),
                    ),
                ],
            ),
        ),
    ];
    for (name, msg) in built {
        assert_eq!(msg.to_vec().unwrap(), hex_of(&t, name), "{name}");
    }
}

#[test]
fn ipa_framed_samples_round_trip() {
    let t = samples();
    let framed = match t.get("ipa_framed") {
        Some(toml::Value::Table(f)) => f.clone(),
        _ => panic!("no [gsup_samples.ipa_framed]"),
    };
    assert_eq!(framed.len(), 7);
    for (name, value) in &framed {
        let bytes = hex::decode(value.as_str().unwrap()).unwrap();
        let (frame, used) = Frame::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(used, bytes.len(), "{name} is one whole frame");
        assert_eq!(frame.to_vec().unwrap(), bytes, "{name} frame re-encodes");
        match frame.stream {
            StreamId::Ccm => {
                let ccm = CcmMessage::parse(&frame.payload).unwrap();
                assert_eq!(ccm.to_vec().unwrap(), bytes, "{name} CCM re-encodes");
                let expected = match name.as_str() {
                    "ipa_ccm_ping" => CcmMessage::Ping,
                    "ipa_ccm_pong" => CcmMessage::Pong,
                    "ipa_ccm_id_ack" => CcmMessage::IdAck,
                    "ipa_ccm_id_get_sent_by_osmo_hlr" => {
                        CcmMessage::IdGet(OSMO_ID_GET_TAGS.to_vec())
                    }
                    other => panic!("unexpected CCM sample {other}"),
                };
                assert_eq!(ccm, expected);
            }
            StreamId::Osmo => {
                let (ext, data) = frame.osmo_ext().unwrap();
                assert_eq!(ext, OsmoExt::Gsup);
                let msg = GsupMessage::decode(data).unwrap();
                // The unframed sample of the same name is the same message.
                assert_eq!(
                    data,
                    hex_of(&t, name),
                    "{name} payload equals the unframed sample"
                );
                assert_eq!(
                    encode_gsup_frame(&msg).unwrap(),
                    bytes,
                    "{name} GSUP frame re-encodes"
                );
            }
            other => panic!("{name}: unexpected stream {other}"),
        }
    }
}
