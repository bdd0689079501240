//! The embedded DNS server's request handling fed with arbitrary octets:
//! bytes in, an answer or nothing out, never a panic. The first octet picks
//! how the rest is used: as raw request bytes (mostly unsigned or badly
//! signed), or, when it parses as a DNS message, re-signed with the zone
//! admin key or a node key at the server's time so the UPDATE path (RFC
//! 2136 prerequisites, policy, prescan, apply) is reached past TSIG. Every
//! answer must parse as a DNS response carrying the request's ID.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use telsec_dns::proto::op::{Message, MessageType};
use telsec_dns::{Grant, Transport, TsigKey, ZoneConfig, ZoneServer};

const NOW: u64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let admin = TsigKey::hmac_sha256("ha.telsec.test.", &[1; 32]).expect("valid key");
    let node = TsigKey::hmac_sha256("mn1.telsec.test.", &[2; 32]).expect("valid key");
    let mut server = ZoneServer::in_memory(ZoneConfig::telsec_test(IpAddr::V4(Ipv4Addr::new(
        127, 0, 0, 1,
    ))));
    server.add_key(admin.clone(), Grant::Zone);
    server.add_key(node.clone(), Grant::node());

    let transport = if mode & 0x80 != 0 {
        Transport::Tcp
    } else {
        Transport::Udp
    };
    let request = match mode & 0x03 {
        1 | 2 => {
            let key = if mode & 0x03 == 1 { &admin } else { &node };
            let Ok(mut msg) = Message::from_vec(rest) else {
                return;
            };
            let _ = msg.take_signature();
            let Ok(signer) = key.signer() else {
                return;
            };
            if msg.finalize(&signer, NOW).is_err() {
                return;
            }
            match msg.to_vec() {
                Ok(bytes) => bytes,
                Err(_) => return,
            }
        }
        _ => rest.to_vec(),
    };

    // Twice: the second run sees the zone the first one changed.
    for _ in 0..2 {
        if let Some(answer) = server.handle(&request, transport, NOW) {
            let parsed = Message::from_vec(&answer).expect("answers parse");
            assert_eq!(parsed.metadata.message_type, MessageType::Response);
            assert_eq!(&answer[..2], &request[..2], "answer keeps the request ID");
        }
    }
    let _ = server.serial();
});
