//! RFC 9048 Appendix C (= RFC 5448 Appendix C) through the state machines:
//! the MSK and EMSK that come out of a run must be the published ones
//! (testdata/vectors/auth.toml, [[eap_aka_prime.rfc5448]]).
//!
//! Cases 1 and 2 are MILENAGE test set 19 with SQN 16f3b3f70fc2 and AMF
//! c3ab ([[milenage.autn]]): the server gets the vector from telsec-auth's
//! AuC function and a soft USIM with the same keys answers, so the whole
//! exchange runs. Cases 3 and 4 have CK/IK that no MILENAGE key produces:
//! the server runs against a peer response built with the published K_aut
//! and RES, which checks the server's AT_MAC and key export against the
//! RFC.
#![allow(clippy::unwrap_used)]

mod common;

use common::arr;
use serde::Deserialize;
use telsec_auth::Res;
use telsec_auth::aka::{AuthVector, generate_vector};
use telsec_auth::milenage::Milenage;
use telsec_auth::sqn::{Sqn, SqnPolicy, SqnState};
use telsec_auth::usim::{CardAlgorithm, SoftUsim, UsimClient, UsimConfig};
use telsec_eap::attribute::Attribute;
use telsec_eap::crypto;
use telsec_eap::{
    Action, Code, Message, Outcome, Peer, PeerAction, PeerConfig, Server, ServerConfig, Subtype,
};

#[derive(Deserialize)]
struct File {
    eap_aka_prime: EapAkaPrime,
    milenage: Milenage_,
}

#[derive(Deserialize)]
struct EapAkaPrime {
    rfc5448: Vec<Case>,
}

#[derive(Deserialize)]
#[allow(non_camel_case_types)]
struct Milenage_ {
    autn: Vec<AutnSet>,
}

#[derive(Deserialize)]
struct AutnSet {
    k: String,
    opc: String,
    rand: String,
    sqn: String,
    amf: String,
    autn: String,
}

#[derive(Deserialize)]
struct Case {
    case: u32,
    identity: String,
    network_name: String,
    rand: String,
    autn: String,
    ck: String,
    ik: String,
    res: String,
    k_aut: String,
    msk: String,
    emsk: String,
}

fn file() -> File {
    toml::from_str(common::VECTORS).unwrap()
}

fn assert_keys(outcome: &Outcome, case: &Case) {
    let Outcome::Success {
        msk,
        emsk,
        identity,
        imsi,
        ..
    } = outcome
    else {
        panic!("case {}: {outcome:?}", case.case);
    };
    assert_eq!(
        hex::encode(msk.as_bytes()),
        case.msk,
        "case {} MSK",
        case.case
    );
    assert_eq!(
        hex::encode(emsk.as_bytes()),
        case.emsk,
        "case {} EMSK",
        case.case
    );
    assert_eq!(identity, case.identity.as_bytes());
    // "0555444333222111": the EAP-AKA permanent prefix and an IMSI.
    assert_eq!(imsi, &case.identity[1..]);
}

#[test]
fn cases_1_and_2_end_to_end() {
    let file = file();
    let set = &file.milenage.autn[0];
    assert_eq!(set.sqn, "16f3b3f70fc2");
    let (k, opc) = (arr::<16>(&set.k), arr::<16>(&set.opc));
    let cases: Vec<&Case> = file
        .eap_aka_prime
        .rfc5448
        .iter()
        .filter(|c| c.case <= 2)
        .collect();
    assert_eq!(cases.len(), 2);
    for case in cases {
        let alg = Milenage::with_opc(&k, &opc);
        let sqn = Sqn::from_bytes(&arr(&set.sqn));
        let vector = generate_vector(&alg, &arr(&case.rand), sqn, &arr(&set.amf));
        assert_eq!(case.rand, set.rand);
        assert_eq!(hex::encode(vector.autn), case.autn);
        assert_eq!(hex::encode(vector.autn), set.autn);
        assert_eq!(hex::encode(vector.ck), case.ck);

        // A card whose Δ admits an SQN this far from zero.
        let policy = SqnPolicy {
            delta: 1 << 43,
            ..SqnPolicy::default()
        };
        let mut config = UsimConfig::new(
            &case.identity[1..],
            CardAlgorithm::Aka(Box::new(Milenage::with_opc(&k, &opc))),
        );
        config.sqn = SqnState::new(policy).unwrap();
        let card = SoftUsim::new(config).unwrap();
        let mut peer = Peer::new(
            PeerConfig::new(case.identity.as_bytes(), case.network_name.as_bytes()),
            UsimClient::new(card),
        );
        let mut server = Server::new(ServerConfig::new(case.network_name.as_bytes()), 1).unwrap();
        // The identity arrives in EAP-Response/Identity: no AKA-Identity.
        let Action::Send(request) = server.start_eap_identity().unwrap() else {
            panic!()
        };
        let PeerAction::Send(identity) = peer.handle(&request).unwrap() else {
            panic!()
        };
        assert!(matches!(
            server.handle(&identity).unwrap(),
            Action::NeedVector { .. }
        ));
        let Action::Send(challenge) = server.on_vector(&vector).unwrap() else {
            panic!()
        };
        // The challenge's AT_MAC is keyed with the published K_aut.
        assert!(crypto::verify_packet_mac(&challenge, &arr(&case.k_aut)).unwrap());
        let PeerAction::Send(answer) = peer.handle(&challenge).unwrap() else {
            panic!()
        };
        let set_res = Message::parse_packet(&answer).unwrap().2;
        let res = set_res.attribute_set().unwrap().res.unwrap();
        assert_eq!(hex::encode(res.1), case.res);
        let Action::Finish { packet, outcome } = server.handle(&answer).unwrap() else {
            panic!()
        };
        assert_keys(&outcome, case);
        let PeerAction::Success(keys) = peer.handle(&packet).unwrap() else {
            panic!()
        };
        assert_eq!(hex::encode(keys.msk.as_bytes()), case.msk);
        assert_eq!(hex::encode(keys.emsk.as_bytes()), case.emsk);
    }
}

#[test]
fn all_cases_against_the_server() {
    let file = file();
    assert_eq!(file.eap_aka_prime.rfc5448.len(), 4);
    for case in &file.eap_aka_prime.rfc5448 {
        let vector = AuthVector {
            rand: arr(&case.rand),
            xres: Res::new(&hex::decode(&case.res).unwrap()).unwrap(),
            ck: arr(&case.ck),
            ik: arr(&case.ik),
            autn: arr(&case.autn),
        };
        let mut server = Server::new(ServerConfig::new(case.network_name.as_bytes()), 7).unwrap();
        let first = server
            .start_with_identity(case.identity.as_bytes())
            .unwrap();
        assert!(
            matches!(first, Action::NeedVector { .. }),
            "case {}",
            case.case
        );
        let Action::Send(challenge) = server.on_vector(&vector).unwrap() else {
            panic!()
        };
        let k_aut: [u8; 32] = arr(&case.k_aut);
        assert!(
            crypto::verify_packet_mac(&challenge, &k_aut).unwrap(),
            "case {} challenge AT_MAC",
            case.case
        );
        let (code, id, msg) = Message::parse_packet(&challenge).unwrap();
        assert_eq!((code, msg.subtype), (Code::Request, Subtype::Challenge));
        let res = hex::decode(&case.res).unwrap();
        let answer = Message::new(
            Subtype::Challenge,
            vec![
                Attribute::Res {
                    bits: (res.len() * 8) as u16,
                    res: &res,
                },
                Attribute::Checkcode(&[]),
                Attribute::Mac([0; 16]),
            ],
        )
        .to_packet(Code::Response, id, Some(&k_aut))
        .unwrap();
        let Action::Finish { packet, outcome } = server.handle(&answer).unwrap() else {
            panic!("case {}", case.case)
        };
        assert_eq!(packet, [3, id, 0, 4]);
        assert_keys(&outcome, case);
    }
}
