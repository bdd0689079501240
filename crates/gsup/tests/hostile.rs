//! Hostile input: random and mutated octets never make the decoders or the
//! sessions panic, and whatever decodes re-encodes to an equal message.

use std::time::{Duration, Instant};

use telsec_gsup::ccm::{CcmMessage, UnitIdentity};
use telsec_gsup::ipa::{Frame, FrameDecoder, OsmoExt, StreamId};
use telsec_gsup::{ClientConfig, ClientConn, GsupMessage, ServerConfig, ServerConn, ServerEvent};

/// Deterministic xorshift64* generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, max_len: usize) -> Vec<u8> {
        let len = self.below(max_len + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Valid GSUP payloads to mutate: libosmocore's samples.
fn seeds() -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/vectors/auth.toml"
    ))
    .expect("auth.toml readable");
    let all: toml::Table = toml::from_str(&text).expect("auth.toml parses");
    let Some(toml::Value::Table(t)) = all.get("gsup_samples") else {
        panic!("no [gsup_samples]")
    };
    t.iter()
        .filter(|(k, _)| k.as_str() != "source")
        .filter_map(|(_, v)| v.as_str())
        .map(|s| hex::decode(s).expect("hex"))
        .collect()
}

/// Checks the codec's contract on one input.
fn check_gsup(data: &[u8]) -> bool {
    match GsupMessage::decode(data) {
        Ok(msg) => {
            let bytes = msg.to_vec().expect("a decoded message always encodes");
            let again = GsupMessage::decode(&bytes).expect("an encoded message always decodes");
            assert_eq!(again, msg);
            let _ = msg.validate();
            let _ = msg.to_string();
            for a in [msg.msisdn(), msg.hlr_number(), msg.imei()]
                .into_iter()
                .flatten()
            {
                let _ = a.digits();
            }
            for p in msg.pdp_infos() {
                let _ = p.apn.as_ref().map(|a| a.to_dotted());
            }
            true
        }
        Err(e) => {
            let _ = e.cause();
            let _ = telsec_gsup::message::error_reply_for(data, &e);
            false
        }
    }
}

#[test]
fn random_gsup_payloads() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for _ in 0..50_000 {
        let data = rng.bytes(300);
        check_gsup(&data);
    }
}

#[test]
fn random_tlv_streams_after_a_valid_head() {
    // Random IEs behind a valid type and IMSI reach the IE decoders.
    let mut rng = Rng(42);
    let head = hex::decode("08010821436587092143f5").unwrap();
    let mut decoded = 0;
    for _ in 0..50_000 {
        let mut data = head.clone();
        for _ in 0..rng.below(6) {
            let tag = [
                0x02,
                0x03,
                0x05,
                0x08,
                0x20,
                0x26,
                0x30,
                0x41,
                0x62,
                0x29,
                rng.next() as u8,
            ][rng.below(11)];
            let value = rng.bytes(40);
            data.push(tag);
            data.push(value.len() as u8);
            data.extend_from_slice(&value);
        }
        if check_gsup(&data) {
            decoded += 1;
        }
    }
    assert!(
        decoded > 1000,
        "the generator reaches the accepting paths ({decoded})"
    );
}

#[test]
fn mutated_samples() {
    let seeds = seeds();
    let mut rng = Rng(7);
    let mut decoded = 0;
    for i in 0..50_000 {
        let mut data = seeds[i % seeds.len()].clone();
        for _ in 0..1 + rng.below(4) {
            match rng.below(4) {
                0 if !data.is_empty() => {
                    let at = rng.below(data.len());
                    data[at] ^= 1 << rng.below(8);
                }
                1 if !data.is_empty() => {
                    let at = rng.below(data.len());
                    data[at] = rng.next() as u8;
                }
                2 => {
                    let at = rng.below(data.len() + 1);
                    data.truncate(at);
                }
                _ => {
                    let at = rng.below(data.len() + 1);
                    data.insert(at, rng.next() as u8);
                }
            }
        }
        if check_gsup(&data) {
            decoded += 1;
        }
    }
    assert!(decoded > 1000, "mutations often stay decodable ({decoded})");
}

#[test]
fn random_ipa_and_ccm() {
    let mut rng = Rng(0xdead_beef);
    for _ in 0..20_000 {
        let data = rng.bytes(64);
        if let Ok(msg) = CcmMessage::parse(&data) {
            let _ = msg.to_vec();
        }
        let _ = Frame::parse(&data);
        let mut d = FrameDecoder::new(rng.below(100));
        d.feed(&data);
        while let Ok(Some(f)) = d.next_frame() {
            let _ = f.osmo_ext();
        }
    }
}

/// A random stream of plausible frames: CCM, GSUP, other streams, garbage.
fn frame_soup(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.below(12) {
        let frame = match rng.below(6) {
            0 => Frame {
                stream: StreamId::Ccm,
                payload: rng.bytes(20),
            },
            1 => Frame::osmo(OsmoExt::Gsup, &rng.bytes(60)),
            2 => Frame::osmo(OsmoExt::Gsup, &seeds[rng.below(seeds.len())]),
            3 => Frame {
                stream: StreamId::from(rng.next() as u8),
                payload: rng.bytes(10),
            },
            4 => {
                out.extend(rng.bytes(8));
                continue;
            }
            _ => Frame {
                stream: StreamId::Ccm,
                payload: vec![rng.below(12) as u8],
            },
        };
        frame.emit(&mut out).expect("small frames encode");
    }
    out
}

#[test]
fn sessions_survive_random_streams() {
    let seeds = seeds();
    let mut rng = Rng(0x5eed);
    let id_resp = UnitIdentity::new("MSC", "MSC-1")
        .id_resp(&telsec_gsup::ccm::OSMO_ID_GET_TAGS)
        .to_vec()
        .unwrap();
    for round in 0..3_000 {
        let now = Instant::now();
        let mut server = ServerConn::new(ServerConfig::default(), now);
        let mut client =
            ClientConn::new(ClientConfig::new(UnitIdentity::new("SGSN", "SGSN-1")), now);
        if round % 2 == 0 {
            server.handle_bytes(&id_resp);
        }
        let soup = frame_soup(&mut rng, &seeds);
        let mut rest = &soup[..];
        while !rest.is_empty() {
            let n = 1 + rng.below(rest.len());
            server.handle_bytes(&rest[..n]);
            client.handle_bytes(&rest[..n]);
            rest = &rest[n..];
        }
        while let Some(ev) = server.poll_event() {
            if let ServerEvent::BadMessage(bad) = ev
                && let Some(reply) = bad.reply
            {
                let _ = server.send(&reply);
            }
        }
        while client.poll_event().is_some() {}
        while server.poll_transmit().is_some() {}
        while client.poll_transmit().is_some() {}
        server.handle_timeout(now + Duration::from_secs(60));
        client.handle_timeout(now + Duration::from_secs(60));
    }
}
