//! Peer ↔ server end to end: a soft USIM keyed with TS 35.207 test set 1
//! (testdata/vectors/auth.toml), vectors from telsec-auth's AuC functions,
//! and every way a run can end: success (three ways of learning the
//! identity, a SUCI among them), wrong RES, tampered AT_RES and AT_MAC,
//! wrong network name, resynchronisation and its limit, replayed and
//! duplicated challenges, identifier mismatches, KDF negotiation refused,
//! and vectors without the AMF separation bit.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use telsec_auth::AkaAlgorithm;
use telsec_auth::kdf::PlmnId;
use telsec_auth::milenage::Milenage;
use telsec_auth::sqn::{Sqn, SqnState};
use telsec_auth::suci::{HomeNetworkKeys, HomeNetworkPrivateKey, Profile, SchemeOutput, Suci};
use telsec_auth::usim::UsimClient;
use telsec_eap::attribute::{Attribute, notification};
use telsec_eap::crypto::SessionKeys;
use telsec_eap::peer::PeerDiscard;
use telsec_eap::server::Discard;
use telsec_eap::{
    Action, Code, FailureReason, Message, Outcome, Peer, PeerAction, PeerConfig, PeerProblem, Repr,
    Server, ServerConfig, ServerError, Subtype,
};

fn fresh() -> (Server, Peer<telsec_auth::usim::SoftUsim>, Hlr) {
    (
        server(NETWORK),
        peer(card(1, SqnState::default()), NETWORK),
        Hlr::new(1, Sqn::ZERO),
    )
}

/// (code, subtype) of every packet, for flow assertions.
fn shape(trace: &[(Dir, Vec<u8>)]) -> Vec<(Code, Option<Subtype>)> {
    trace
        .iter()
        .map(|(_, p)| {
            let repr = Repr::parse_bytes(p).unwrap();
            let sub = Message::parse_packet(p).ok().map(|(_, _, m)| m.subtype);
            (repr.code, sub)
        })
        .collect()
}

fn message(packet: &[u8]) -> Message<'_> {
    Message::parse_packet(packet).unwrap().2
}

fn is_challenge_request(dir: Dir, p: &[u8]) -> bool {
    dir == Dir::ToPeer
        && matches!(Message::parse_packet(p), Ok((Code::Request, _, m)) if m.subtype == Subtype::Challenge)
}

fn is_challenge_response(dir: Dir, p: &[u8]) -> bool {
    dir == Dir::ToServer
        && matches!(Message::parse_packet(p), Ok((Code::Response, _, m)) if m.subtype == Subtype::Challenge)
}

/// Keys of both ends agree, and agree with an independent derivation from
/// the challenge's RAND and AUTN through MILENAGE.
fn assert_success(r: &Run, identity: &[u8]) {
    let Outcome::Success {
        imsi,
        identity: used,
        msk,
        emsk,
        session_id,
    } = &r.server
    else {
        panic!("server failed: {:?}", r.server);
    };
    let PeerAction::Success(peer) = &r.peer else {
        panic!("peer failed: {:?}", r.peer);
    };
    assert_eq!(imsi, IMSI);
    assert_eq!(used, identity);
    assert_eq!(peer.identity, identity);
    assert_eq!(&peer.msk, msk);
    assert_eq!(&peer.emsk, emsk);
    assert_eq!(&peer.session_id, session_id);
    assert_ne!(msk.as_bytes(), emsk.as_bytes());

    let (_, challenge) = r
        .trace
        .iter()
        .rev()
        .find(|(d, p)| is_challenge_request(*d, p))
        .unwrap();
    let set = message(challenge).attribute_set().unwrap();
    let (rand, autn) = (set.rand.unwrap(), set.autn.unwrap());
    let (k, opc) = keys(1);
    let aka = Milenage::with_opc(&k, &opc).f2345(&rand);
    let keys = SessionKeys::derive(&aka.ck, &aka.ik, NETWORK.as_bytes(), &autn, identity).unwrap();
    assert_eq!(&keys.msk(), msk);
    assert_eq!(&keys.emsk(), emsk);
    let mut expected_id = vec![50];
    expected_id.extend_from_slice(&rand);
    expected_id.extend_from_slice(&autn);
    assert_eq!(session_id, &expected_id);
}

#[test]
fn success_with_aka_identity_round() {
    let (mut s, mut p, mut hlr) = fresh();
    let r = run(&mut s, &mut p, &mut hlr);
    assert_success(&r, IDENTITY.as_bytes());
    assert_eq!(
        shape(&r.trace),
        vec![
            (Code::Request, Some(Subtype::Identity)),
            (Code::Response, Some(Subtype::Identity)),
            (Code::Request, Some(Subtype::Challenge)),
            (Code::Response, Some(Subtype::Challenge)),
            (Code::Success, None),
        ]
    );
    // Identifiers increase from the configured first one; Success carries
    // the identifier of the response it answers.
    let ids: Vec<u8> = r.trace.iter().map(|(_, p)| p[1]).collect();
    assert_eq!(ids, vec![0x42, 0x42, 0x43, 0x43, 0x43]);
    // The challenge carries KDF 1, the network name and a 32-octet
    // checkcode over the identity round; the answer repeats the checkcode.
    let set = message(&r.trace[2].1).attribute_set().unwrap();
    assert_eq!(set.kdfs, vec![1]);
    assert_eq!(set.kdf_input, Some(NETWORK.as_bytes()));
    assert_eq!(set.checkcode.map(<[u8]>::len), Some(32));
    let answer = message(&r.trace[3].1).attribute_set().unwrap();
    assert_eq!(answer.checkcode, set.checkcode);
    assert_eq!(answer.res.map(|(bits, _)| bits), Some(64));
    assert!(s.is_finished() && p.is_finished());
}

#[test]
fn success_with_eap_identity() {
    let (mut s, mut p, mut hlr) = fresh();
    let first = s.start_eap_identity().unwrap();
    let r = run_with(&mut s, &mut p, &mut hlr, first, &mut |_, _| {});
    assert_success(&r, IDENTITY.as_bytes());
    assert_eq!(r.trace[0].1, [1, 0x42, 0, 5, 1]);
    // No AKA-Identity round: the checkcode is empty.
    let set = message(&r.trace[2].1).attribute_set().unwrap();
    assert_eq!(set.checkcode, Some(&[][..]));
}

#[test]
fn success_with_identity_from_lower_layer() {
    let (mut s, mut p, mut hlr) = fresh();
    let first = s.start_with_identity(IDENTITY.as_bytes()).unwrap();
    assert_eq!(first, Action::NeedVector { imsi: IMSI.into() });
    let r = run_with(&mut s, &mut p, &mut hlr, first, &mut |_, _| {});
    assert_success(&r, IDENTITY.as_bytes());
    assert_eq!(r.trace.len(), 3);
}

#[test]
fn success_with_concealed_suci() {
    // The node conceals its IMSI with the home network's profile A key; the
    // home agent de-conceals it, and MK binds the SUCI identity.
    let private = HomeNetworkPrivateKey::from_bytes(Profile::A, &[0x17; 32]).unwrap();
    let public = private.public_key();
    let plmn = PlmnId::new("001", "01").unwrap();
    let suci = Suci::conceal_imsi(plmn, "0123456789", "0", 3, &public, &[0x5c; 32]).unwrap();
    let SchemeOutput::Concealed(out) = suci.scheme_output() else {
        panic!("not concealed");
    };
    let hex = |b: &[u8]| hex::encode(b);
    let nai = format!(
        "type0.rid0.schid1.hnkey3.ecckey{}.cip{}.mac{}@nai.5gc.mnc001.mcc001.3gppnetwork.org",
        hex(&out[..32]),
        hex(&out[32..out.len() - 8]),
        hex(&out[out.len() - 8..])
    );
    let mut keys = HomeNetworkKeys::new();
    keys.insert(3, private);
    let mut config = ServerConfig::new(NETWORK);
    config.identities.realm = Some(REALM.into());
    config.identities.suci_keys = keys;
    let mut s = Server::new(config, 9).unwrap();
    let mut p = Peer::new(
        PeerConfig::new(nai.clone(), NETWORK),
        UsimClient::new(card(1, SqnState::default())),
    );
    let mut hlr = Hlr::new(1, Sqn::ZERO);
    let r = run(&mut s, &mut p, &mut hlr);
    assert_success(&r, nai.as_bytes());
}

#[test]
fn wrong_res_fails_without_keys() {
    let (mut s, mut p, mut hlr) = fresh();
    hlr.corrupt_xres = true;
    let r = run(&mut s, &mut p, &mut hlr);
    assert_eq!(r.server, Outcome::Failure(FailureReason::Res));
    assert_eq!(
        r.peer,
        PeerAction::Failure {
            problem: PeerProblem::FailureNotified(notification::GENERAL_FAILURE)
        }
    );
    // RFC 4187 §6.3.2: one notification round, then EAP-Failure.
    assert_eq!(
        shape(&r.trace)[4..],
        [
            (Code::Request, Some(Subtype::Notification)),
            (Code::Response, Some(Subtype::Notification)),
            (Code::Failure, None),
        ]
    );
    let note = message(&r.trace[4].1).attribute_set().unwrap();
    assert_eq!(note.notification, Some(notification::GENERAL_FAILURE));
    assert_eq!(note.mac, None);
}

#[test]
fn tampered_res_breaks_the_mac() {
    let (mut s, mut p, mut hlr) = fresh();
    let first = s.start().unwrap();
    let r = run_with(&mut s, &mut p, &mut hlr, first, &mut |dir, packet| {
        if is_challenge_response(dir, packet) {
            // AT_RES is the first attribute: its RES starts at offset 12.
            packet[12] ^= 0x01;
        }
    });
    assert_eq!(r.server, Outcome::Failure(FailureReason::Mac));
    assert!(matches!(r.peer, PeerAction::Failure { .. }));
}

#[test]
fn altered_challenge_mac_is_refused_by_the_peer() {
    let (mut s, mut p, mut hlr) = fresh();
    let first = s.start().unwrap();
    let r = run_with(&mut s, &mut p, &mut hlr, first, &mut |dir, packet| {
        if is_challenge_request(dir, packet) {
            // AT_MAC is the last attribute.
            let last = packet.len() - 1;
            packet[last] ^= 0x80;
        }
    });
    assert_eq!(
        message(&r.trace[3].1),
        Message::new(Subtype::ClientError, vec![Attribute::ClientErrorCode(0)])
    );
    assert_eq!(r.server, Outcome::Failure(FailureReason::ClientError(0)));
    assert_eq!(
        r.peer,
        PeerAction::Failure {
            problem: PeerProblem::Mac
        }
    );
}

#[test]
fn altered_response_mac_is_refused_by_the_server() {
    let (mut s, mut p, mut hlr) = fresh();
    let first = s.start().unwrap();
    let r = run_with(&mut s, &mut p, &mut hlr, first, &mut |dir, packet| {
        if is_challenge_response(dir, packet) {
            let last = packet.len() - 1;
            packet[last] ^= 0x01;
        }
    });
    assert_eq!(r.server, Outcome::Failure(FailureReason::Mac));
}

#[test]
fn wrong_network_name_is_rejected() {
    let mut s = server(NETWORK);
    let mut p = peer(card(1, SqnState::default()), "other.example.net");
    let mut hlr = Hlr::new(1, Sqn::ZERO);
    let r = run(&mut s, &mut p, &mut hlr);
    assert_eq!(
        message(&r.trace[3].1).subtype,
        Subtype::AuthenticationReject
    );
    assert_eq!(
        r.server,
        Outcome::Failure(FailureReason::AuthenticationReject)
    );
    assert_eq!(
        r.peer,
        PeerAction::Failure {
            problem: PeerProblem::NetworkName
        }
    );
    // A name changed in flight breaks AT_MAC even for a peer that accepts
    // any name: the name is part of CK'/IK'.
    let mut s = server(NETWORK);
    let mut config = PeerConfig::new(IDENTITY, NETWORK);
    config.network_name = None;
    let mut p = Peer::new(config, UsimClient::new(card(1, SqnState::default())));
    let first = s.start().unwrap();
    let r = run_with(&mut s, &mut p, &mut hlr, first, &mut |dir, packet| {
        if is_challenge_request(dir, packet) {
            let at = packet
                .windows(NETWORK.len())
                .position(|w| w == NETWORK.as_bytes())
                .unwrap();
            packet[at] = b'H';
        }
    });
    assert_eq!(r.server, Outcome::Failure(FailureReason::ClientError(0)));
    assert_eq!(
        r.peer,
        PeerAction::Failure {
            problem: PeerProblem::Mac
        }
    );
}

#[test]
fn peer_without_expected_name_accepts_any() {
    let mut s = server("any.network.example");
    let mut config = PeerConfig::new(IDENTITY, NETWORK);
    config.network_name = None;
    let mut p = Peer::new(config, UsimClient::new(card(1, SqnState::default())));
    let mut hlr = Hlr::new(1, Sqn::ZERO);
    let r = run(&mut s, &mut p, &mut hlr);
    assert!(matches!(r.server, Outcome::Success { .. }));
    assert!(matches!(r.peer, PeerAction::Success(_)));
}

/// A card that already accepted SEQ 1000: the HLR starting at 0 is stale.
fn card_ahead() -> telsec_auth::usim::SoftUsim {
    let mut state = SqnState::default();
    state.accept(Sqn::new(1000 << 5).unwrap()).unwrap();
    card(1, state)
}

#[test]
fn resynchronisation_then_success() {
    let mut s = server(NETWORK);
    let mut p = peer(card_ahead(), NETWORK);
    let mut hlr = Hlr::new(1, Sqn::ZERO);
    let first = s.start().unwrap();
    let r = run_with(&mut s, &mut p, &mut hlr, first, &mut |_, _| {});
    assert_eq!(r.resyncs, 1);
    let Outcome::Success { imsi, .. } = &r.server else {
        panic!("{:?}", r.server);
    };
    assert_eq!(imsi, IMSI);
    let PeerAction::Success(keys) = &r.peer else {
        panic!("{:?}", r.peer);
    };
    assert_eq!(keys.identity, IDENTITY.as_bytes());
    // Synchronization-Failure carries AT_AUTS and the challenge's AT_KDF.
    let sync = message(&r.trace[3].1);
    assert_eq!(sync.subtype, Subtype::SynchronizationFailure);
    let set = sync.attribute_set().unwrap();
    assert!(set.auts.is_some());
    assert_eq!(set.kdfs, vec![1]);
    // The new challenge has a new identifier and RAND.
    let first_rand = message(&r.trace[2].1).attribute_set().unwrap().rand;
    let second_rand = message(&r.trace[4].1).attribute_set().unwrap().rand;
    assert_ne!(first_rand, second_rand);
    assert_eq!(r.trace[4].1[1], r.trace[2].1[1].wrapping_add(1));
    // The HLR moved past the card's SQN.
    assert!(hlr.sqn.last() > Sqn::new(1000 << 5).unwrap());
    assert_success(&r, IDENTITY.as_bytes());
}

#[test]
fn hlr_far_ahead_is_pulled_back() {
    // SEQ 2^30 is more than Δ = 2^28 ahead of a fresh card.
    let mut s = server(NETWORK);
    let mut p = peer(card(1, SqnState::default()), NETWORK);
    let mut hlr = Hlr::new(1, Sqn::new(1 << 35).unwrap());
    let r = run(&mut s, &mut p, &mut hlr);
    assert_eq!(r.resyncs, 1);
    assert_success(&r, IDENTITY.as_bytes());
}

#[test]
fn resync_limit() {
    let mut s = server(NETWORK);
    let mut p = peer(card_ahead(), NETWORK);
    let mut hlr = Hlr::new(1, Sqn::ZERO);
    hlr.ignore_auts = true;
    let r = run(&mut s, &mut p, &mut hlr);
    assert_eq!(r.resyncs, 2);
    assert_eq!(r.server, Outcome::Failure(FailureReason::TooManyResyncs));
    assert!(matches!(r.peer, PeerAction::Failure { .. }));
    let syncs = shape(&r.trace)
        .iter()
        .filter(|s| s.1 == Some(Subtype::SynchronizationFailure))
        .count();
    assert_eq!(syncs, 3);
}

#[test]
fn replayed_challenge_gets_no_keys() {
    let (mut s, mut p, mut hlr) = fresh();
    let r = run(&mut s, &mut p, &mut hlr);
    assert_success(&r, IDENTITY.as_bytes());
    let challenge = r.trace[2].1.clone();
    // The finished peer ignores it.
    assert_eq!(
        p.handle(&challenge),
        Ok(PeerAction::Discard(PeerDiscard::Finished))
    );
    // A new run on the same card: the USIM refuses the replayed SQN.
    let card = p.into_usim().into_inner();
    let mut p = peer(card, NETWORK);
    let PeerAction::Send(answer) = p.handle(&challenge).unwrap() else {
        panic!("no answer");
    };
    assert_eq!(message(&answer).subtype, Subtype::SynchronizationFailure);
    assert_eq!(
        p.handle(&[3, challenge[1], 0, 4]),
        Ok(PeerAction::Discard(
            PeerDiscard::SuccessBeforeAuthentication
        ))
    );
}

#[test]
fn duplicates_are_answered_once() {
    let (mut s, mut p, mut hlr) = fresh();
    let Action::Send(identity_request) = s.start().unwrap() else {
        panic!()
    };
    let PeerAction::Send(identity) = p.handle(&identity_request).unwrap() else {
        panic!()
    };
    // A wrong identifier is discarded, the right one accepted.
    let mut wrong = identity.clone();
    wrong[1] ^= 0xff;
    assert_eq!(
        s.handle(&wrong),
        Ok(Action::Discard(Discard::Identifier {
            expected: 0x42,
            got: 0x42 ^ 0xff
        }))
    );
    assert!(matches!(s.handle(&identity), Ok(Action::NeedVector { .. })));
    let Action::Send(challenge) = s.on_vector(&hlr.vector()).unwrap() else {
        panic!()
    };
    // The identity answer again: an old identifier.
    assert_eq!(
        s.handle(&identity),
        Ok(Action::Discard(Discard::Identifier {
            expected: 0x43,
            got: 0x42
        }))
    );
    let PeerAction::Send(answer) = p.handle(&challenge).unwrap() else {
        panic!()
    };
    // The challenge retransmitted: the same answer, the card not run again.
    let before = p.usim().card().sqn_state().clone();
    assert_eq!(p.handle(&challenge), Ok(PeerAction::Send(answer.clone())));
    assert_eq!(p.usim().card().sqn_state(), &before);
    let Action::Finish { packet, outcome } = s.handle(&answer).unwrap() else {
        panic!()
    };
    assert!(matches!(outcome, Outcome::Success { .. }));
    assert_eq!(s.handle(&answer), Ok(Action::Discard(Discard::Finished)));
    assert!(matches!(p.handle(&packet), Ok(PeerAction::Success(_))));
}

#[test]
fn kdf_negotiation_is_refused_by_the_server() {
    // An attacker rewrites AT_KDF 1 into 2, 1: the peer asks for KDF 1,
    // which the server did not offer as an alternative.
    let (mut s, mut p, mut hlr) = fresh();
    let first = s.start().unwrap();
    let r = run_with(&mut s, &mut p, &mut hlr, first, &mut |dir, packet| {
        if is_challenge_request(dir, packet) {
            let set = message(packet).attribute_set().unwrap();
            let rand = set.rand.unwrap();
            let autn = set.autn.unwrap();
            let id = packet[1];
            *packet = Message::new(
                Subtype::Challenge,
                vec![
                    Attribute::Rand(rand),
                    Attribute::Autn(autn),
                    Attribute::Kdf(2),
                    Attribute::Kdf(1),
                    Attribute::KdfInput(NETWORK.as_bytes()),
                    Attribute::Mac([0; 16]),
                ],
            )
            .to_packet(Code::Request, id, None)
            .unwrap();
        }
    });
    assert_eq!(
        message(&r.trace[3].1),
        Message::new(Subtype::Challenge, vec![Attribute::Kdf(1)])
    );
    assert_eq!(r.server, Outcome::Failure(FailureReason::Kdf));
}

#[test]
fn vector_without_separation_bit_is_refused() {
    let (mut s, _, mut hlr) = fresh();
    hlr.amf = [0x00, 0x00];
    let first = s.start_with_identity(IDENTITY.as_bytes()).unwrap();
    assert!(matches!(first, Action::NeedVector { .. }));
    assert_eq!(
        s.on_vector(&hlr.vector()),
        Err(ServerError::AmfSeparationBit)
    );
    // The server still waits for a usable vector.
    hlr.amf = AMF;
    assert!(matches!(s.on_vector(&hlr.vector()), Ok(Action::Send(_))));
    assert_eq!(
        s.on_vector(&hlr.vector()),
        Err(ServerError::UnexpectedVector)
    );
}

#[test]
fn unknown_subscriber_identity_fails() {
    let (mut s, mut p, mut hlr) = fresh();
    let mut config = PeerConfig::new("6001010123456789@elsewhere.example", NETWORK);
    config.network_name = Some(NETWORK.into());
    let card = p.into_usim().into_inner();
    p = Peer::new(config, UsimClient::new(card));
    let first = s.start().unwrap();
    let r = run_with(&mut s, &mut p, &mut hlr, first, &mut |_, _| {});
    assert!(matches!(
        r.server,
        Outcome::Failure(FailureReason::Identity(_))
    ));
    assert!(matches!(r.peer, PeerAction::Failure { .. }));
}
