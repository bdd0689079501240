//! EAP and EAP-AKA' decoders and both state machines on hostile octets.
//!
//! The input is read twice: whole, by the packet, attribute and message
//! decoders (a checked packet re-emits to the same octets; a parsed AKA'
//! message re-parses equal after re-emitting), and as a sequence of
//! length-prefixed packets fed to a server waiting for the answer to a real
//! challenge and to a peer over a soft USIM. Nothing may panic, and no
//! forged input may make either side report success: both need an AT_MAC
//! keyed with K_aut, which the input cannot know.

#![no_main]

use libfuzzer_sys::fuzz_target;
use telsec_auth::aka::generate_vector;
use telsec_auth::milenage::Milenage;
use telsec_auth::sqn::Sqn;
use telsec_auth::usim::{CardAlgorithm, SoftUsim, UsimClient, UsimConfig};
use telsec_eap::attribute::Attributes;
use telsec_eap::{
    Action, Message, Outcome, Packet, Peer, PeerAction, PeerConfig, Repr, Server, ServerConfig,
};

// MILENAGE test set 1 (TS 35.207): K and OPc.
const K: [u8; 16] = [
    0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f, 0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc,
];
const OPC: [u8; 16] = [
    0xcd, 0x63, 0xcb, 0x71, 0x95, 0x4a, 0x9f, 0x4e, 0x48, 0xa5, 0x99, 0x4e, 0x37, 0xa0, 0x2b, 0xaf,
];
const IMSI: &str = "001010000000001";
const IDENTITY: &[u8] = b"6001010000000001@wlan.mnc001.mcc001.3gppnetwork.org";
const NETWORK: &[u8] = b"ha.home.example.net";

/// Split `data` into up to 8 packets, each prefixed by a one-octet length.
fn packets(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        if out.len() == 8 {
            break;
        }
        let take = usize::from(len).min(tail.len());
        out.push(&tail[..take]);
        rest = &tail[take..];
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // The EAP packet: a checked packet re-emits to its own octets.
    if let Ok(packet) = Packet::new_checked(data) {
        let _ = packet.to_string();
        let repr = Repr::parse_bytes(data).expect("a checked packet parses");
        assert_eq!(repr.to_bytes().expect("re-emit"), packet.as_bytes());
    }
    // Attributes alone, and whole AKA' messages.
    for item in Attributes::new(data) {
        if item.is_err() {
            break;
        }
    }
    if let Ok((code, id, message)) = Message::parse_packet(data) {
        let _ = message.to_string();
        let _ = message.attribute_set();
        let again = message.to_packet(code, id, None).expect("re-emit");
        let (_, _, reparsed) = Message::parse_packet(&again).expect("re-parse");
        assert_eq!(reparsed, message);
    }

    let inputs = packets(data);

    // A server waiting for the answer to a real challenge.
    let mut server = Server::new(ServerConfig::new(NETWORK), 1).expect("valid config");
    match server.start_with_identity(IDENTITY).expect("fresh server") {
        Action::NeedVector { imsi } => assert_eq!(imsi, IMSI),
        other => panic!("unexpected {other:?}"),
    }
    let alg = Milenage::with_opc(&K, &OPC);
    let vector = generate_vector(&alg, &[0x5a; 16], Sqn::new(32).expect("sqn"), &[0x80, 0]);
    server.on_vector(&vector).expect("challenge");
    for packet in &inputs {
        match server.handle(packet).expect("no encoding failure") {
            Action::Finish { outcome, .. } => {
                assert!(
                    !matches!(outcome, Outcome::Success { .. }),
                    "forged success"
                );
            }
            Action::NeedResync { .. } => {
                let _ = server.on_vector(&vector);
            }
            _ => {}
        }
        let _ = server.retransmit();
    }

    // A peer over a soft USIM.
    let config = UsimConfig::new(
        IMSI,
        CardAlgorithm::Aka(Box::new(Milenage::with_opc(&K, &OPC))),
    );
    let card = SoftUsim::new(config).expect("valid card");
    let mut peer = Peer::new(PeerConfig::new(IDENTITY, NETWORK), UsimClient::new(card));
    for packet in inputs {
        let action = peer.handle(packet).expect("no encoding failure");
        assert!(!matches!(action, PeerAction::Success(_)), "forged success");
    }
});
