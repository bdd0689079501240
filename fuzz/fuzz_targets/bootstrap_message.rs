//! The bootstrap decoders and the HA session fed with arbitrary octets:
//! message framing and bodies, sealed contents (request, response,
//! refusal), and an HA session driven by a script of datagrams and driver
//! answers. Nothing panics; whatever parses re-emits to something that
//! parses the same; a datagram the HA rejects changes nothing.

#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use telsec_bootstrap::message::{Body, HEADER_LEN};
use telsec_bootstrap::response::decode_answer;
use telsec_bootstrap::seal;
use telsec_bootstrap::{
    Cause, ConfigRequest, ConfigResponse, Direction, FqdnOutcome, HaEvent, HaSession, Header,
    MessageType, MipAlgorithm, MipConfig, MipSa, Repr, SessionId, SessionKeys, SigningKey,
    frame_len, route,
};

const EMSK: [u8; 64] = [0x77; 64];
const SID: SessionId = SessionId([0xc0, 0xff, 0xee, 1, 2, 3, 4, 5]);
const NONCE: [u8; 16] = [0x4e; 16];
const HA_NAME: &str = "WLAN";

fn decoders(data: &[u8]) {
    let _ = frame_len(data);
    let _ = route(data);
    if let Ok(repr) = Repr::parse_bytes(data) {
        let _ = repr.to_string();
        let again = repr.to_bytes().expect("a parsed message re-emits");
        assert_eq!(Repr::parse_bytes(&again).expect("re-emitted parses"), repr);
    }
    let keys = SessionKeys::derive(&EMSK, SID, &NONCE, HA_NAME);
    let _ = seal::open(&keys, Direction::NodeToHa, data);
    let _ = seal::open(&keys, Direction::HaToNode, data);
    if let Ok(req) = ConfigRequest::decode(data) {
        let _ = req.verify(keys.channel_binding());
        let again = req.encode().expect("a decoded request re-encodes");
        assert_eq!(
            ConfigRequest::decode(&again).expect("re-encoded parses"),
            req
        );
    }
    let _ = decode_answer(data, keys.channel_binding());
}

fn offer(ha_key: &SigningKey) -> ConfigResponse {
    ConfigResponse {
        fqdn: "a.mobile.example.net".into(),
        fqdn_outcome: FqdnOutcome::NotRequested,
        home_address: Ipv4Addr::new(10, 1, 0, 2),
        ha_address: Ipv4Addr::new(192, 0, 2, 1),
        ha_public_key: ha_key.verifying_key().to_bytes(),
        mip: Some(MipConfig {
            sa: MipSa {
                spi: 256,
                algorithm: MipAlgorithm::HmacSha256,
                key: vec![1; 32].into(),
                lifetime: 60,
            },
            registration_lifetime: 60,
        }),
        hip: None,
        name_server: None,
        dns_zone: None,
    }
}

/// A script: each step is an op octet, a 16-bit length and that many
/// octets. Ops: 0 raw datagram to the HA; 1 the octets sealed as a
/// ConfigRequest with the next sequence (so plaintext reaches the request
/// decoder and proof check); 2-5 driver answers.
fn ha_session(data: &[u8]) {
    let start = Repr {
        session_id: SessionId::NONE,
        sequence: 1,
        body: Body::Start {
            nonce: NONCE,
            identity_hint: None,
        },
    }
    .to_bytes()
    .expect("start emits");
    let Ok(mut ha) = HaSession::accept(&start, SID, HA_NAME) else {
        return;
    };
    let keys = SessionKeys::derive(&EMSK, SID, &NONCE, HA_NAME);
    let ha_key = SigningKey::from_bytes(&[2; 32]);
    let mut next_seq = 2u32;
    let mut rest = data;
    while let [op, a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*a, *b])).min(tail.len());
        let (chunk, after) = tail.split_at(len);
        rest = after;
        match op % 6 {
            0 | 1 => {
                let datagram = if op % 6 == 0 {
                    chunk.to_vec()
                } else {
                    let header = Header {
                        msg_type: MessageType::ConfigRequest,
                        session_id: SID,
                        sequence: next_seq,
                    };
                    match seal::seal(&keys, Direction::NodeToHa, &header, chunk) {
                        Ok(d) => d,
                        Err(_) => continue,
                    }
                };
                let phase = ha.phase();
                let finished = ha.is_finished();
                match ha.handle(&datagram) {
                    Ok(HaEvent::Eap(_) | HaEvent::ConfigRequest(_)) => {
                        // Accepted: the next request follows this one.
                        if let Some(seq) = datagram.get(12..HEADER_LEN) {
                            let seq = u32::from_be_bytes([seq[0], seq[1], seq[2], seq[3]]);
                            next_seq = seq.wrapping_add(1);
                        }
                    }
                    Ok(HaEvent::Rejected { reply, .. }) => {
                        assert!(ha.is_finished());
                        assert!(seal::open(&keys, Direction::HaToNode, &reply).is_ok());
                    }
                    Ok(HaEvent::Retransmit(_) | HaEvent::Pending) => {}
                    Err(_) => {
                        assert_eq!(ha.phase(), phase, "a rejected datagram changes nothing");
                        assert_eq!(ha.is_finished(), finished);
                    }
                }
            }
            2 => {
                let _ = ha.send_eap(if chunk.is_empty() {
                    &[1, 1, 0, 4]
                } else {
                    chunk
                });
            }
            3 => {
                let _ = ha.eap_succeeded(&[3, 1, 0, 4], &EMSK);
            }
            4 => {
                let _ = ha.respond(&offer(&ha_key), &ha_key);
            }
            _ => {
                let text = String::from_utf8_lossy(chunk);
                let _ = ha.refuse(Cause::from(u16::from(*a)), &text);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    decoders(data);
    ha_session(data);
});
