//! Interop with an independent peer: tests/siu_peer.py, written from the
//! layout in the `siu` module doc with Python's standard library only
//! (struct, hmac, hashlib). No tool decodes this private protocol, so the
//! peer stands in: it builds SIUs that telsec must parse and authenticate,
//! and checks the SIU-Acks and SIUs telsec builds. Needs `python3`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Instant;

use telsec_vpn::{
    AckStatus, HaGwKey, KeyRing, RefuseReason, SecurityInfoUpdate, SenderConfig, SiuOutcome,
    SiuPacket, SiuReceiver, SiuRepr, SiuSender,
};

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/siu_peer.py");
const NOW: u64 = 0xe9a1_2345_8000_0000;
const SPI: u32 = 0x0001_0203;

fn secret() -> Vec<u8> {
    (0u8..40).map(|i| i.wrapping_mul(37) ^ 0x5c).collect()
}

fn ring() -> KeyRing {
    [HaGwKey::new(SPI, &secret()).expect("key")]
        .into_iter()
        .collect()
}

/// Runs the peer; Ok(stdout) on exit 0, Err(stderr) otherwise.
fn peer(args: &[String]) -> Result<String, String> {
    let out = Command::new("python3")
        .arg(PEER)
        .args(args)
        .output()
        .expect("python3 must be installed to run this test");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(stderr)
    }
}

fn fields(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn reply(len: usize) -> Vec<u8> {
    let mut r = vec![3u8, 0, 0x07, 0x08, 10, 1, 2, 3, 10, 1, 0, 1];
    r.extend_from_slice(&NOW.to_be_bytes());
    r.extend((0..len.saturating_sub(20)).map(|i| i as u8));
    r
}

fn update(reply_len: usize) -> SecurityInfoUpdate {
    SecurityInfoUpdate {
        home: Ipv4Addr::new(10, 1, 2, 3),
        old_coa: Ipv4Addr::new(192, 0, 2, 44),
        new_coa: Ipv4Addr::new(203, 0, 113, 9),
        new_port: 61_234,
        lifetime: 65_000,
        reply: reply(reply_len),
    }
}

fn python_siu(key: &[u8], id: u64, u: &SecurityInfoUpdate, flags: u8) -> Vec<u8> {
    let hex_out = peer(&[
        "build-siu".into(),
        hex::encode(key),
        format!("{id:#x}"),
        u.home.to_string(),
        u.old_coa.to_string(),
        u.new_coa.to_string(),
        u.new_port.to_string(),
        u.lifetime.to_string(),
        SPI.to_string(),
        hex::encode(&u.reply),
        flags.to_string(),
    ])
    .expect("peer builds");
    hex::decode(hex_out.trim()).expect("hex")
}

fn python_check_ack(key: &[u8], ack: &[u8]) -> Result<BTreeMap<String, String>, String> {
    peer(&["check-ack".into(), hex::encode(key), hex::encode(ack)]).map(|s| fields(&s))
}

#[test]
fn python_siu_is_parsed_authenticated_and_acked() {
    for reply_len in [20, 57, 1024] {
        let u = update(reply_len);
        let wire = python_siu(&secret(), NOW, &u, 0);

        // Same octets as telsec's own encoder for the same fields.
        let mut ours = u.to_repr(NOW, SPI).to_bytes().expect("encode");
        assert!(HaGwKey::new(SPI, &secret()).expect("key").seal(&mut ours));
        assert_eq!(wire, ours, "reply of {reply_len}");

        let packet = SiuPacket::new_checked(&wire[..]).expect("framing");
        let repr = SiuRepr::parse(&packet).expect("parse");
        assert_eq!(SecurityInfoUpdate::from_repr(&repr), u);
        assert_eq!((repr.identification, repr.spi), (NOW, SPI));

        let mut gw = SiuReceiver::new(ring());
        let SiuOutcome::Accepted { update, ack, .. } = gw.handle(NOW, &wire) else {
            panic!("python SIU refused");
        };
        assert_eq!(update, u);

        let f = python_check_ack(&secret(), &ack).expect("python verifies telsec's Ack");
        assert_eq!(f["id"], format!("{NOW:#018x}"));
        assert_eq!(f["home"], "10.1.2.3");
        assert_eq!(f["status"], "0");
        assert_eq!(f["spi"], SPI.to_string());
    }
}

#[test]
fn python_siu_under_wrong_key_is_unanswered() {
    let mut other = secret();
    other[0] ^= 1;
    let wire = python_siu(&other, NOW, &update(20), 0);
    let mut gw = SiuReceiver::new(ring());
    assert_eq!(
        gw.handle(NOW, &wire),
        SiuOutcome::Refused {
            ack: None,
            reason: RefuseReason::BadMac
        }
    );
}

#[test]
fn flags_are_authenticated_and_ignored() {
    let wire = python_siu(&secret(), NOW, &update(20), 0x80);
    let mut gw = SiuReceiver::new(ring());
    assert!(matches!(gw.handle(NOW, &wire), SiuOutcome::Accepted { .. }));
}

#[test]
fn replayed_python_siu_gets_130_python_can_verify() {
    let wire = python_siu(&secret(), NOW, &update(20), 0);
    let mut gw = SiuReceiver::new(ring());
    assert!(matches!(gw.handle(NOW, &wire), SiuOutcome::Accepted { .. }));
    let later = NOW + (2 << 32);
    let SiuOutcome::Refused { ack: Some(ack), .. } = gw.handle(later, &wire) else {
        panic!("replay not answered");
    };
    let f = python_check_ack(&secret(), &ack).expect("verifies");
    assert_eq!(
        f["status"],
        u8::from(AckStatus::IdentificationMismatch).to_string()
    );
    // Gateway clock seconds high, the SIU's low 32 bits.
    let want = (later & !0xffff_ffff) | (NOW & 0xffff_ffff);
    assert_eq!(f["id"], format!("{want:#018x}"));
}

#[test]
fn python_rejects_tampered_ack() {
    let gw = SiuReceiver::new(ring());
    let ack = gw
        .ack(NOW, Ipv4Addr::new(10, 1, 2, 3), AckStatus::UnknownNode, SPI)
        .expect("ack");
    let f = python_check_ack(&secret(), &ack).expect("verifies");
    assert_eq!(f["status"], "128");
    for i in [0usize, 5, 16, 21, 22, 53] {
        let mut bad = ack.clone();
        bad[i] ^= 0x04;
        assert!(python_check_ack(&secret(), &bad).is_err(), "octet {i}");
    }
}

#[test]
fn telsec_siu_is_read_by_python() {
    let mut s = SiuSender::new(ring(), SenderConfig::default()).expect("config");
    let u = update(33);
    let wire = s.send(Instant::now(), NOW, SPI, u.clone()).expect("send");
    let f = fields(
        &peer(&[
            "parse-siu".into(),
            hex::encode(secret()),
            hex::encode(&wire),
        ])
        .expect("python verifies telsec's SIU"),
    );
    assert_eq!(f["flags"], "0");
    assert_eq!(f["id"], format!("{NOW:#018x}"));
    assert_eq!(f["home"], u.home.to_string());
    assert_eq!(f["old"], u.old_coa.to_string());
    assert_eq!(f["new"], u.new_coa.to_string());
    assert_eq!(f["port"], u.new_port.to_string());
    assert_eq!(f["lifetime"], u.lifetime.to_string());
    assert_eq!(f["spi"], SPI.to_string());
    assert_eq!(f["reply"], hex::encode(&u.reply));
    let mut bad = wire.clone();
    bad[40] ^= 1;
    assert_eq!(
        peer(&["parse-siu".into(), hex::encode(secret()), hex::encode(&bad)]),
        Err("bad-mac\n".into())
    );
}
