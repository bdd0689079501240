//! Node and HA driven against each other in memory, with simulated time and
//! a stand-in for EAP-AKA' (fixed EAP packets and a shared fake EMSK): the
//! whole bootstrap, retransmissions, repeats, and tampering on the path.

// Helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use telsec_bootstrap::message::HEADER_LEN;
use telsec_bootstrap::seal;
use telsec_bootstrap::{
    AddressPool, Cause, ConfigRequest, ConfigResponse, Direction, FqdnOutcome, HaError, HaEvent,
    HaPhase, HaSession, Header, Hid, HipConfig, Hit, HitError, MessageType, MipAlgorithm,
    MipConfig, MipSa, NodeConfig, NodeError, NodeEvent, NodePhase, NodeSession, NodeSessionConfig,
    PoolConfig, RetransmitPolicy, SealError, SessionId, SessionKeys, SigningKey, SubscriberFacts,
    decide_fqdn, route,
};

const HA_NAME: &str = "WLAN";
const IMSI: &str = "001010000000001";
const EMSK: [u8; 64] = [0x77; 64];
const SID: SessionId = SessionId([0xc0, 0xff, 0xee, 1, 2, 3, 4, 5]);
const NONCE: [u8; 16] = [0x4e; 16];

// Stand-in EAP packets (RFC 3748 §4 framing; contents do not matter here).
const REQ_IDENTITY: &[u8] = &[1, 1, 0, 5, 1];
const RESP_IDENTITY: &[u8] = &[2, 1, 0, 9, 1, b'0', b'0', b'1', b'@'];
const REQ_CHALLENGE: &[u8] = &[1, 2, 0, 8, 50, 1, 0, 0];
const RESP_CHALLENGE: &[u8] = &[2, 2, 0, 8, 50, 1, 0, 0];
const SUCCESS: &[u8] = &[3, 2, 0, 4];
const FAILURE: &[u8] = &[4, 2, 0, 4];

fn node_key() -> SigningKey {
    SigningKey::from_bytes(&[0x01; 32])
}

fn ha_key() -> SigningKey {
    SigningKey::from_bytes(&[0x02; 32])
}

fn node_config() -> NodeSessionConfig {
    NodeSessionConfig {
        ha_name: HA_NAME.into(),
        identity_hint: Some("0001010000000001@wlan.example.net".into()),
        retransmit: RetransmitPolicy::default(),
        pinned_ha_key: None,
    }
}

fn offer(fqdn: &str, outcome: FqdnOutcome, home: Ipv4Addr) -> ConfigResponse {
    ConfigResponse {
        fqdn: fqdn.into(),
        fqdn_outcome: outcome,
        home_address: home,
        ha_address: Ipv4Addr::new(192, 0, 2, 1),
        ha_public_key: ha_key().verifying_key().to_bytes(),
        mip: Some(MipConfig {
            sa: MipSa {
                spi: 0x0001_0001,
                algorithm: MipAlgorithm::HmacMd5,
                key: vec![0xab; 16].into(),
                lifetime: 86_400,
            },
            registration_lifetime: 1800,
        }),
        hip: None,
        name_server: Some(Ipv4Addr::new(192, 0, 2, 53)),
        dns_zone: Some("mobile.example.net".into()),
    }
}

/// Both sides after EAP succeeded; returns them and the EAP-Success
/// datagram the node received.
fn through_eap(t0: Instant) -> (NodeSession, HaSession) {
    let (mut node, start) = NodeSession::start(node_config(), NONCE, t0).unwrap();
    assert_eq!(
        route(&start).unwrap(),
        telsec_bootstrap::Route::Start { nonce: NONCE }
    );
    let mut ha = HaSession::accept(&start, SID, HA_NAME).unwrap();
    assert_eq!(
        ha.identity_hint(),
        Some("0001010000000001@wlan.example.net")
    );

    let d = ha.send_eap(REQ_IDENTITY).unwrap();
    assert_eq!(
        node.handle(&d).unwrap(),
        NodeEvent::Eap(REQ_IDENTITY.to_vec())
    );
    assert_eq!(node.session_id(), SID);

    let d = node.send_eap(RESP_IDENTITY, t0).unwrap();
    assert_eq!(route(&d).unwrap(), telsec_bootstrap::Route::Session(SID));
    let HaEvent::Eap(e) = ha.handle(&d).unwrap() else {
        panic!("expected EAP")
    };
    assert_eq!(e, RESP_IDENTITY);

    let d = ha.send_eap(REQ_CHALLENGE).unwrap();
    assert_eq!(
        node.handle(&d).unwrap(),
        NodeEvent::Eap(REQ_CHALLENGE.to_vec())
    );
    let d = node.send_eap(RESP_CHALLENGE, t0).unwrap();
    let HaEvent::Eap(e) = ha.handle(&d).unwrap() else {
        panic!("expected EAP")
    };
    assert_eq!(e, RESP_CHALLENGE);

    let d = ha.eap_succeeded(SUCCESS, &EMSK).unwrap();
    assert_eq!(ha.phase(), HaPhase::Keyed);
    assert_eq!(node.handle(&d).unwrap(), NodeEvent::Eap(SUCCESS.to_vec()));
    node.eap_succeeded(&EMSK).unwrap();
    assert_eq!(node.phase(), NodePhase::Keyed);
    assert_eq!(node.channel_binding(), ha.channel_binding());
    (node, ha)
}

#[test]
fn whole_bootstrap_with_policy_pool_and_storage() {
    let t0 = Instant::now();
    let (mut node, mut ha) = through_eap(t0);

    let req = node
        .send_config_request(
            &node_key(),
            Some("zoe.mobile.example.net"),
            Some(b"pin"),
            t0,
        )
        .unwrap();
    let HaEvent::ConfigRequest(v) = ha.handle(&req).unwrap() else {
        panic!("expected a verified request")
    };
    assert_eq!(ha.phase(), HaPhase::Configuring);
    assert_eq!(v.session_id(), SID);
    assert_eq!(v.public_key(), &node_key().verifying_key());
    assert_eq!(v.secret(), Some(&b"pin"[..]));
    assert!(!format!("{v:?}").contains("pin\""));

    // Steps 8-9: "zoe" is taken by someone else; derive from the name.
    let zone: HashMap<&str, &str> = [("zoe.mobile.example.net", "001010000000099")].into();
    let facts = SubscriberFacts {
        imsi: IMSI,
        msisdn: Some("+358401234567"),
        name: Some("Zoë Smith"),
    };
    let decision = decide_fqdn(v.desired_fqdn(), "mobile.example.net", &facts, |n| {
        zone.get(n).copied()
    })
    .unwrap();
    assert_eq!(decision.fqdn, "zoe-smith.mobile.example.net");
    assert_eq!(decision.outcome, FqdnOutcome::HeldByAnother);
    let mut pool = AddressPool::new(PoolConfig {
        network: Ipv4Addr::new(10, 1, 0, 0),
        prefix_len: 24,
        ha_address: Ipv4Addr::new(10, 1, 0, 1),
        excluded: vec![],
    })
    .unwrap();
    let home = pool.allocate(IMSI).unwrap();

    let resp = ha
        .respond(&offer(&decision.fqdn, decision.outcome, home), &ha_key())
        .unwrap();
    assert!(ha.is_finished());
    let NodeEvent::Configured(config) = node.handle(&resp).unwrap() else {
        panic!("expected configuration")
    };
    assert_eq!(node.phase(), NodePhase::Done);
    assert_eq!(
        *config,
        offer(
            "zoe-smith.mobile.example.net",
            FqdnOutcome::HeldByAnother,
            home
        )
    );
    assert_eq!(node.poll_timeout(), None);

    // Step 11: stored bound to the SIM.
    let stored = NodeConfig::from_response(IMSI, &config, 1_700_000_000).unwrap();
    let text = stored.serialize();
    let back = NodeConfig::parse(&text).unwrap();
    assert!(back.usable_with(IMSI));
    assert!(!back.usable_with("001010000000002"));
    assert_eq!(back.mip.as_ref().map(|m| m.sa.spi), Some(0x0001_0001));
}

#[test]
fn lost_answers_are_retransmitted_and_repeats_get_the_same_answer() {
    let t0 = Instant::now();
    let (mut node, start) = NodeSession::start(node_config(), NONCE, t0).unwrap();
    let mut ha = HaSession::accept(&start, SID, HA_NAME).unwrap();

    // The Start repeats before the HA has answered: nothing to send.
    assert_eq!(node.poll_timeout(), Some(t0 + Duration::from_secs(1)));
    assert_eq!(
        node.handle_timeout(t0 + Duration::from_millis(500))
            .unwrap(),
        None
    );
    let again = node
        .handle_timeout(t0 + Duration::from_secs(1))
        .unwrap()
        .unwrap();
    assert_eq!(again, start);
    assert!(matches!(ha.handle(&again).unwrap(), HaEvent::Pending));

    let first = ha.send_eap(REQ_IDENTITY).unwrap();
    // The answer is lost; the Start repeats; the stored answer comes back.
    let again = node
        .handle_timeout(t0 + Duration::from_secs(3))
        .unwrap()
        .unwrap();
    let HaEvent::Retransmit(answer) = ha.handle(&again).unwrap() else {
        panic!("expected the stored answer")
    };
    assert_eq!(answer, first);
    assert_eq!(
        node.handle(&answer).unwrap(),
        NodeEvent::Eap(REQ_IDENTITY.to_vec())
    );
    // The late first copy is a duplicate for the node now.
    assert_eq!(
        node.handle(&first).unwrap_err(),
        NodeError::UnexpectedSequence(1)
    );
    assert_eq!(node.poll_timeout(), None);

    // Same in the sealed phase: the HA re-sends the identical response.
    let t1 = t0 + Duration::from_secs(10);
    let eap = node.send_eap(RESP_IDENTITY, t1).unwrap();
    ha.handle(&eap).unwrap();
    let ok = ha.eap_succeeded(SUCCESS, &EMSK).unwrap();
    node.handle(&ok).unwrap();
    node.eap_succeeded(&EMSK).unwrap();
    let req = node
        .send_config_request(&node_key(), None, None, t1)
        .unwrap();
    assert!(matches!(
        ha.handle(&req).unwrap(),
        HaEvent::ConfigRequest(_)
    ));
    assert!(matches!(ha.handle(&req).unwrap(), HaEvent::Pending));
    let resp = ha
        .respond(
            &offer(
                "x.mobile.example.net",
                FqdnOutcome::NotRequested,
                Ipv4Addr::new(10, 1, 0, 9),
            ),
            &ha_key(),
        )
        .unwrap();
    let resend = node
        .handle_timeout(t1 + Duration::from_secs(1))
        .unwrap()
        .unwrap();
    assert_eq!(resend, req);
    let HaEvent::Retransmit(r2) = ha.handle(&resend).unwrap() else {
        panic!("expected the stored answer")
    };
    assert_eq!(r2, resp);
    assert!(matches!(
        node.handle(&r2).unwrap(),
        NodeEvent::Configured(_)
    ));
    // The second copy is now a replay for the node.
    assert!(node.handle(&resp).is_err());
    assert_eq!(node.phase(), NodePhase::Done);
}

#[test]
fn node_gives_up_after_the_last_transmission() {
    let t0 = Instant::now();
    let (mut node, _start) = NodeSession::start(node_config(), NONCE, t0).unwrap();
    let mut sent = 1;
    loop {
        let Some(at) = node.poll_timeout() else {
            panic!("a deadline is due")
        };
        match node.handle_timeout(at) {
            Ok(Some(_)) => sent += 1,
            Ok(None) => panic!("deadline passed"),
            Err(NodeError::GaveUp) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(sent, RetransmitPolicy::default().max_transmissions);
    assert_eq!(node.phase(), NodePhase::Failed);
    assert_eq!(node.poll_timeout(), None);
}

#[test]
fn altered_sealed_request_is_rejected_without_state_change() {
    let t0 = Instant::now();
    let (mut node, mut ha) = through_eap(t0);
    let req = node
        .send_config_request(&node_key(), Some("zoe.mobile.example.net"), None, t0)
        .unwrap();
    for i in HEADER_LEN..req.len() {
        let mut bad = req.clone();
        bad[i] ^= 0x80;
        assert_eq!(
            ha.handle(&bad).unwrap_err(),
            HaError::Seal(SealError::BadTag),
            "octet {i}"
        );
        assert_eq!(ha.phase(), HaPhase::Keyed);
    }
    // A changed sequence number is out of order; a changed length no
    // longer parses.
    let mut bad = req.clone();
    bad[15] ^= 1;
    assert!(matches!(
        ha.handle(&bad).unwrap_err(),
        HaError::OutOfOrder { .. }
    ));
    // The original still goes through.
    assert!(matches!(
        ha.handle(&req).unwrap(),
        HaEvent::ConfigRequest(_)
    ));
}

#[test]
fn altered_sealed_response_is_rejected_without_state_change() {
    let t0 = Instant::now();
    let (mut node, mut ha) = through_eap(t0);
    let req = node
        .send_config_request(&node_key(), None, None, t0)
        .unwrap();
    ha.handle(&req).unwrap();
    let resp = ha
        .respond(
            &offer(
                "a.mobile.example.net",
                FqdnOutcome::NotRequested,
                Ipv4Addr::new(10, 1, 0, 3),
            ),
            &ha_key(),
        )
        .unwrap();
    for i in HEADER_LEN..resp.len() {
        let mut bad = resp.clone();
        bad[i] ^= 0x01;
        assert_eq!(
            node.handle(&bad).unwrap_err(),
            NodeError::Seal(SealError::BadTag),
            "octet {i}"
        );
        assert_eq!(node.phase(), NodePhase::Configuring);
    }
    assert!(node.poll_timeout().is_some());
    assert!(matches!(
        node.handle(&resp).unwrap(),
        NodeEvent::Configured(_)
    ));
}

#[test]
fn replayed_messages_are_rejected() {
    let t0 = Instant::now();
    let (mut node, start) = NodeSession::start(node_config(), NONCE, t0).unwrap();
    let mut ha = HaSession::accept(&start, SID, HA_NAME).unwrap();
    let r1 = ha.send_eap(REQ_IDENTITY).unwrap();
    node.handle(&r1).unwrap();
    let m2 = node.send_eap(RESP_IDENTITY, t0).unwrap();
    ha.handle(&m2).unwrap();
    let r2 = ha.eap_succeeded(SUCCESS, &EMSK).unwrap();
    node.handle(&r2).unwrap();
    node.eap_succeeded(&EMSK).unwrap();
    let m3 = node
        .send_config_request(&node_key(), None, None, t0)
        .unwrap();
    ha.handle(&m3).unwrap();

    // An old request replayed at the HA: out of order, nothing changes.
    assert_eq!(
        ha.handle(&m2).unwrap_err(),
        HaError::Busy,
        "a request arriving while an answer is pending"
    );
    let resp = ha
        .respond(
            &offer(
                "b.mobile.example.net",
                FqdnOutcome::NotRequested,
                Ipv4Addr::new(10, 1, 0, 4),
            ),
            &ha_key(),
        )
        .unwrap();
    assert!(matches!(
        ha.handle(&m2).unwrap_err(),
        HaError::OutOfOrder {
            got: 2,
            expected: 4
        }
    ));
    assert!(matches!(
        ha.handle(&start).unwrap_err(),
        HaError::WrongSession(_)
    ));
    // An old answer replayed at the node.
    assert_eq!(
        node.handle(&r1).unwrap_err(),
        NodeError::UnexpectedSequence(1)
    );
    assert!(matches!(
        node.handle(&resp).unwrap(),
        NodeEvent::Configured(_)
    ));
    // The same sealed answer again: nothing outstanding any more.
    assert_eq!(
        node.handle(&resp).unwrap_err(),
        NodeError::UnexpectedSequence(3)
    );

    // A request with the last sequence but other contents is a replay
    // attempt, not a repeat.
    let keys = SessionKeys::derive(&EMSK, SID, &NONCE, HA_NAME);
    let forged = ConfigRequest::sign(
        &node_key(),
        keys.channel_binding(),
        Some("c.mobile.example.net"),
        None,
    )
    .unwrap();
    let header = Header {
        msg_type: MessageType::ConfigRequest,
        session_id: SID,
        sequence: 3,
    };
    let other = seal::seal(
        &keys,
        Direction::NodeToHa,
        &header,
        &forged.encode().unwrap(),
    )
    .unwrap();
    assert_eq!(ha.handle(&other).unwrap_err(), HaError::Replay(3));
    let HaEvent::Retransmit(same) = ha.handle(&m3).unwrap() else {
        panic!("expected the stored answer")
    };
    assert_eq!(same, resp);
}

#[test]
fn wrong_session_and_wrong_direction_are_rejected() {
    let t0 = Instant::now();
    let (mut node, mut ha) = through_eap(t0);
    let req = node
        .send_config_request(&node_key(), None, None, t0)
        .unwrap();

    // Another session id in the header: not this session's.
    let mut moved = req.clone();
    moved[4] ^= 0xff;
    assert!(matches!(
        ha.handle(&moved).unwrap_err(),
        HaError::WrongSession(_)
    ));

    // The same EMSK in another session (other id): the keys differ, so the
    // request sealed for this session does not open there.
    let other_sid = SessionId([9; 8]);
    let (mut node2, start2) = NodeSession::start(node_config(), NONCE, t0).unwrap();
    let mut ha2 = HaSession::accept(&start2, other_sid, HA_NAME).unwrap();
    let d = ha2.eap_succeeded(SUCCESS, &EMSK).unwrap();
    node2.handle(&d).unwrap();
    let mut transplanted = req.clone();
    transplanted[4..12].copy_from_slice(&other_sid.0);
    transplanted[12..16].copy_from_slice(&2u32.to_be_bytes());
    assert_eq!(
        ha2.handle(&transplanted).unwrap_err(),
        HaError::Seal(SealError::BadTag)
    );

    // Sealed with the HA->node key (wrong direction) but sent as a request.
    let keys = SessionKeys::derive(&EMSK, SID, &NONCE, HA_NAME);
    let pt = ConfigRequest::sign(&node_key(), keys.channel_binding(), None, None)
        .unwrap()
        .encode()
        .unwrap();
    let header = Header {
        msg_type: MessageType::ConfigRequest,
        session_id: SID,
        sequence: 4,
    };
    let wrong_dir = seal::seal(&keys, Direction::HaToNode, &header, &pt).unwrap();
    assert_eq!(
        ha.handle(&wrong_dir).unwrap_err(),
        HaError::Seal(SealError::BadTag)
    );
    // A response fed to the HA is the wrong type.
    assert!(matches!(
        ha.handle(&req).unwrap(),
        HaEvent::ConfigRequest(_)
    ));
    let resp = ha
        .respond(
            &offer(
                "d.mobile.example.net",
                FqdnOutcome::NotRequested,
                Ipv4Addr::new(10, 1, 0, 5),
            ),
            &ha_key(),
        )
        .unwrap();
    let mut as_request = resp.clone();
    as_request[12..16].copy_from_slice(&5u32.to_be_bytes());
    assert!(ha.handle(&as_request).is_err());

    // A different HA name (network name) gives different keys.
    let mut node3_cfg = node_config();
    node3_cfg.ha_name = "other".into();
    let (mut node3, start3) = NodeSession::start(node3_cfg, NONCE, t0).unwrap();
    let mut ha3 = HaSession::accept(&start3, SID, HA_NAME).unwrap();
    let d = ha3.eap_succeeded(SUCCESS, &EMSK).unwrap();
    node3.handle(&d).unwrap();
    node3.eap_succeeded(&EMSK).unwrap();
    let req3 = node3
        .send_config_request(&node_key(), None, None, t0)
        .unwrap();
    assert_eq!(
        ha3.handle(&req3).unwrap_err(),
        HaError::Seal(SealError::BadTag)
    );
}

#[test]
fn proof_over_the_wrong_channel_binding_is_refused_sealed() {
    let t0 = Instant::now();
    let (mut node, mut ha) = through_eap(t0);
    // Seal a request, with the right keys, whose proof is bound to another
    // channel (as if lifted from another session).
    let keys = SessionKeys::derive(&EMSK, SID, &NONCE, HA_NAME);
    let lifted = ConfigRequest::sign(&node_key(), &[0x55; 32], None, None).unwrap();
    let header = Header {
        msg_type: MessageType::ConfigRequest,
        session_id: SID,
        sequence: 4,
    };
    let d = seal::seal(
        &keys,
        Direction::NodeToHa,
        &header,
        &lifted.encode().unwrap(),
    )
    .unwrap();
    // The node thinks it sent that message (it shares the sequence).
    let _ = node
        .send_config_request(&node_key(), None, None, t0)
        .unwrap();
    let HaEvent::Rejected { cause, reply } = ha.handle(&d).unwrap() else {
        panic!("expected a refusal")
    };
    assert_eq!(cause, Cause::BadProof);
    assert_eq!(ha.phase(), HaPhase::Failed);
    assert!(ha.is_finished());
    assert_eq!(
        node.handle(&reply).unwrap(),
        NodeEvent::Refused {
            cause: Cause::BadProof,
            text: String::new(),
            authenticated: true
        }
    );

    // A proof by one key presented with another public key.
    let (_node, mut ha) = through_eap(t0);
    let mut swapped = ConfigRequest::sign(&node_key(), keys.channel_binding(), None, None).unwrap();
    swapped.public_key = SigningKey::from_bytes(&[9; 32]).verifying_key().to_bytes();
    let d = seal::seal(
        &keys,
        Direction::NodeToHa,
        &header,
        &swapped.encode().unwrap(),
    )
    .unwrap();
    assert!(matches!(
        ha.handle(&d).unwrap(),
        HaEvent::Rejected {
            cause: Cause::BadProof,
            ..
        }
    ));
}

#[test]
fn refusals_and_failures() {
    let t0 = Instant::now();
    // EAP failure.
    let (mut node, start) = NodeSession::start(node_config(), NONCE, t0).unwrap();
    let mut ha = HaSession::accept(&start, SID, HA_NAME).unwrap();
    let d = ha.eap_failed(FAILURE).unwrap();
    assert_eq!(ha.phase(), HaPhase::Failed);
    assert_eq!(node.handle(&d).unwrap(), NodeEvent::Eap(FAILURE.to_vec()));
    node.eap_failed();
    assert_eq!(node.phase(), NodePhase::Failed);
    assert!(node.send_eap(RESP_IDENTITY, t0).is_err());

    // A clear Error before keys ends the node's session.
    let (mut node, start) = NodeSession::start(node_config(), NONCE, t0).unwrap();
    let mut ha = HaSession::accept(&start, SID, HA_NAME).unwrap();
    let d = ha.refuse(Cause::Busy, "try later").unwrap();
    assert_eq!(
        node.handle(&d).unwrap(),
        NodeEvent::Refused {
            cause: Cause::Busy,
            text: "try later".into(),
            authenticated: false
        }
    );

    // Out of addresses: a sealed refusal after the request.
    let (mut node, mut ha) = through_eap(t0);
    let req = node
        .send_config_request(&node_key(), None, None, t0)
        .unwrap();
    ha.handle(&req).unwrap();
    let d = ha.refuse(Cause::NoAddressFree, "pool full").unwrap();
    assert_eq!(
        node.handle(&d).unwrap(),
        NodeEvent::Refused {
            cause: Cause::NoAddressFree,
            text: "pool full".into(),
            authenticated: true
        }
    );

    // A clear Error while the node waits for a sealed answer is ignored.
    let (mut node, mut ha) = through_eap(t0);
    let req = node
        .send_config_request(&node_key(), None, None, t0)
        .unwrap();
    ha.handle(&req).unwrap();
    let forged = telsec_bootstrap::error_reply(
        &telsec_bootstrap::Packet::new_checked(&req[..])
            .unwrap()
            .header(),
        Cause::UnknownSession,
        "",
    )
    .unwrap();
    assert!(matches!(
        node.handle(&forged).unwrap(),
        NodeEvent::UnauthenticatedError {
            cause: Cause::UnknownSession,
            ..
        }
    ));
    assert_eq!(node.phase(), NodePhase::Configuring);
    let resp = ha
        .respond(
            &offer(
                "e.mobile.example.net",
                FqdnOutcome::NotRequested,
                Ipv4Addr::new(10, 1, 0, 6),
            ),
            &ha_key(),
        )
        .unwrap();
    assert!(matches!(
        node.handle(&resp).unwrap(),
        NodeEvent::Configured(_)
    ));
}

#[test]
fn pinned_ha_key_and_ha_misuse() {
    let t0 = Instant::now();
    let (mut node, start) = NodeSession::start(
        NodeSessionConfig {
            pinned_ha_key: Some(
                SigningKey::from_bytes(&[0x33; 32])
                    .verifying_key()
                    .to_bytes(),
            ),
            ..node_config()
        },
        NONCE,
        t0,
    )
    .unwrap();
    let mut ha = HaSession::accept(&start, SID, HA_NAME).unwrap();
    let d = ha.eap_succeeded(SUCCESS, &EMSK).unwrap();
    node.handle(&d).unwrap();
    node.eap_succeeded(&EMSK).unwrap();
    let req = node
        .send_config_request(&node_key(), None, None, t0)
        .unwrap();
    ha.handle(&req).unwrap();
    // Responding with a key other than the offer's public key is refused.
    let other = SigningKey::from_bytes(&[0x44; 32]);
    assert!(
        ha.respond(
            &offer(
                "f.mobile.example.net",
                FqdnOutcome::NotRequested,
                Ipv4Addr::new(10, 1, 0, 7)
            ),
            &other
        )
        .is_err()
    );
    let resp = ha
        .respond(
            &offer(
                "f.mobile.example.net",
                FqdnOutcome::NotRequested,
                Ipv4Addr::new(10, 1, 0, 7),
            ),
            &ha_key(),
        )
        .unwrap();
    assert_eq!(
        node.handle(&resp).unwrap_err(),
        NodeError::PinnedKeyMismatch {
            offered: ha_key().verifying_key().to_bytes()
        }
    );
    assert_eq!(node.phase(), NodePhase::Configuring);
    // Answering twice is refused.
    assert!(ha.send_eap(REQ_IDENTITY).is_err());
    assert!(ha.refuse(Cause::Internal, "").is_err());
    // accept() wants a Start and a non-zero id.
    assert_eq!(
        HaSession::accept(&start, SessionId::NONE, HA_NAME).unwrap_err(),
        HaError::ZeroSessionId
    );
    assert_eq!(
        HaSession::accept(&req, SID, HA_NAME).unwrap_err(),
        HaError::NotStart
    );
}

#[test]
fn hip_mode_configuration() {
    let hid = Hid::new(16376, 20).unwrap();
    let own_hit = Hit::for_ed25519(hid, &node_key().verifying_key().to_bytes());
    let others_hit = Hit::for_ed25519(hid, &[0x55; 32]);
    for (hit, accepted) in [(others_hit, false), (own_hit, true)] {
        let t0 = Instant::now();
        let (mut node, mut ha) = through_eap(t0);
        let req = node
            .send_config_request(&node_key(), Some("hip-node.mobile.example.net"), None, t0)
            .unwrap();
        let HaEvent::ConfigRequest(v) = ha.handle(&req).unwrap() else {
            panic!("expected request")
        };
        let mut hip = offer(
            v.desired_fqdn().unwrap(),
            FqdnOutcome::Granted,
            Ipv4Addr::new(10, 1, 0, 8),
        );
        hip.mip = None;
        hip.hip = Some(HipConfig {
            forwarding_agent: Ipv4Addr::new(192, 0, 2, 1),
            hit,
        });
        let resp = ha.respond(&hip, &ha_key()).unwrap();
        if !accepted {
            // A HIT that is not the node's key's is refused; the session
            // still waits for a good answer.
            assert!(matches!(
                node.handle(&resp).unwrap_err(),
                NodeError::WrongHit(h, HitError::WrongKey) if h == others_hit
            ));
            assert_eq!(node.phase(), NodePhase::Configuring);
            continue;
        }
        let NodeEvent::Configured(c) = node.handle(&resp).unwrap() else {
            panic!("expected configuration")
        };
        let got = c.hip.expect("HIP mode");
        assert_eq!(got.forwarding_agent, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(got.hit, own_hit);
        assert!(c.mip.is_none());
    }
}

#[test]
fn too_many_eap_rounds_are_refused() {
    let t0 = Instant::now();
    let (mut node, start) = NodeSession::start(node_config(), NONCE, t0).unwrap();
    let mut ha = HaSession::accept(&start, SID, HA_NAME).unwrap();
    let mut answer = ha.send_eap(REQ_IDENTITY).unwrap();
    for round in 0.. {
        node.handle(&answer).unwrap();
        let d = node.send_eap(RESP_IDENTITY, t0).unwrap();
        match ha.handle(&d) {
            Ok(HaEvent::Eap(_)) => answer = ha.send_eap(REQ_IDENTITY).unwrap(),
            Err(HaError::TooManyRounds) => {
                assert_eq!(round, telsec_bootstrap::ha::MAX_EAP_ROUNDS);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
}
