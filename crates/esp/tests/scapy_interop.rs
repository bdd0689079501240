//! Interop with an independent ESP implementation: scapy's
//! `scapy.layers.ipsec` (AES-GCM per RFC 4106, tunnel mode, NAT-T).
//!
//! Both directions, for AES-GCM-128 and -256, with and without extended
//! sequence numbers (the ESN runs cross the 2^32 boundary, so the high half
//! in the AAD matters), UDP-encapsulated on port 4500:
//!
//! - telsec seals whole outer datagrams; scapy decrypts them and must return
//!   the inner packets unchanged, and must reject a tampered copy;
//! - scapy encrypts inner packets; telsec classifies the UDP payload, looks
//!   the SA up by SPI, opens it and must recover the inner packets with the
//!   right 64-bit sequence numbers.
//!
//! Needs python3 with scapy; fails unless TELSEC_SKIP_PEERS=1 when missing.

mod support;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{Value, json};
use support::{ipv4_udp, ipv6_udp, pattern, require_peer};
use telsec_esp::udp_encap::{self, OuterDatagram, PayloadKind};
use telsec_esp::{Algorithm, Direction, SaConfig, Sad, SecurityAssociation};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scapy_esp.py");
const GW: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const MN: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);

fn inner_packets() -> Vec<Vec<u8>> {
    let a = Ipv4Addr::new(10, 0, 0, 1);
    let b = Ipv4Addr::new(10, 8, 0, 5);
    let mut v: Vec<Vec<u8>> = [0usize, 1, 2, 3, 61, 1372]
        .iter()
        .map(|&n| ipv4_udp(a, b, 40000 + n as u16, 53, &pattern(n, n as u8)))
        .collect();
    v.push(ipv6_udp(
        "2001:db8:a::1".parse::<Ipv6Addr>().expect("address"),
        "2001:db8:b::2".parse::<Ipv6Addr>().expect("address"),
        5683,
        5684,
        &pattern(77, 9),
    ));
    v
}

struct Suite {
    algorithm: Algorithm,
    esn: bool,
    key: Vec<u8>,
    spi_out: u32,
    spi_in: u32,
}

fn suites() -> Vec<Suite> {
    let mut v = Vec::new();
    for (i, (algorithm, esn)) in [
        (Algorithm::AesGcm128, false),
        (Algorithm::AesGcm128, true),
        (Algorithm::AesGcm256, false),
        (Algorithm::AesGcm256, true),
    ]
    .into_iter()
    .enumerate()
    {
        v.push(Suite {
            algorithm,
            esn,
            key: pattern(algorithm.key_material_len(), 0x40 + i as u8),
            spi_out: 0xc000_1000 + i as u32,
            spi_in: 0xc000_2000 + i as u32,
        });
    }
    v
}

/// Sequence numbers scapy uses in the scapy -> telsec direction.
fn scapy_seqs(esn: bool, n: usize) -> Vec<u64> {
    let start = if esn { 0xffff_fffc } else { 1 };
    (0..n as u64).map(|i| start + i).collect()
}

fn run_scapy(request: &Value) -> Value {
    let mut child = Command::new("python3")
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("write request");
    let out = child.wait_with_output().expect("scapy finishes");
    assert!(
        out.status.success(),
        "scapy script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("scapy answers JSON")
}

#[test]
fn scapy_decrypts_telsec_and_telsec_opens_scapy() {
    if !require_peer(
        "python3 with scapy",
        "python3",
        &["-c", "import scapy.layers.ipsec"],
    ) {
        return;
    }
    let now = Instant::now();
    let inners = inner_packets();
    let mut jobs = Vec::new();
    let mut sealed_seqs = Vec::new();
    for s in &suites() {
        // telsec -> scapy: whole IPv4/UDP/ESP datagrams from the gateway.
        let mut cfg = SaConfig::new(
            s.spi_out,
            Direction::Outbound,
            s.algorithm,
            &s.key,
            GW.into(),
        );
        cfg.peer = Some(SocketAddr::new(MN.into(), udp_encap::PORT));
        cfg.esn = s.esn;
        // With ESN start just below 2^32 so the run crosses into high half 1.
        cfg.initial_sequence = if s.esn { 0xffff_fffd } else { 0 };
        let mut tx = SecurityAssociation::new(cfg, now).unwrap();
        let mut items = Vec::new();
        let mut seqs = Vec::new();
        for (i, inner) in inners.iter().enumerate() {
            let mut d = vec![0u8; tx.datagram_len(inner.len())];
            let sealed = tx.seal_datagram(now, inner, &mut d, i as u16).unwrap();
            assert_eq!(sealed.len, d.len());
            seqs.push(sealed.seq);
            items.push(json!({"seq": sealed.seq, "data": hex::encode(&d)}));
        }
        if s.esn {
            assert!(seqs.iter().any(|&q| q >> 32 == 0) && seqs.iter().any(|&q| q >> 32 == 1));
        }
        // A tampered copy of the first datagram (one ciphertext bit).
        let mut bad = hex::decode(items[0]["data"].as_str().unwrap()).unwrap();
        let at = 20 + 8 + 16 + 3;
        bad[at] ^= 0x04;
        items.push(json!({"seq": seqs[0], "data": hex::encode(&bad)}));
        sealed_seqs.push(seqs);
        jobs.push(json!({
            "op": "decrypt", "key": hex::encode(&s.key), "spi": s.spi_out, "esn": s.esn,
            "tunnel_src": GW.to_string(), "tunnel_dst": MN.to_string(),
            "sport": udp_encap::PORT, "dport": udp_encap::PORT, "items": items,
        }));
        // scapy -> telsec: scapy on the mobile node's side encrypts.
        let items: Vec<Value> = scapy_seqs(s.esn, inners.len())
            .into_iter()
            .zip(&inners)
            .map(|(seq, inner)| json!({"seq": seq, "data": hex::encode(inner)}))
            .collect();
        jobs.push(json!({
            "op": "encrypt", "key": hex::encode(&s.key), "spi": s.spi_in, "esn": s.esn,
            "tunnel_src": MN.to_string(), "tunnel_dst": GW.to_string(),
            "sport": udp_encap::PORT, "dport": udp_encap::PORT, "items": items,
        }));
    }

    let answer = run_scapy(&json!({ "jobs": jobs }));
    let results = answer["results"].as_array().expect("results");
    assert_eq!(results.len(), 2 * suites().len());

    for (k, s) in suites().iter().enumerate() {
        let label = format!("{} esn={}", s.algorithm, s.esn);
        // scapy decrypted what telsec sealed.
        let dec = results[2 * k].as_array().unwrap();
        assert_eq!(dec.len(), inners.len() + 1);
        for (i, inner) in inners.iter().enumerate() {
            assert_eq!(
                dec[i]["ok"],
                json!(true),
                "{label} item {i}: {}",
                dec[i]["error"]
            );
            assert_eq!(
                dec[i]["inner"].as_str().unwrap(),
                hex::encode(inner),
                "{label} item {i} (seq {:#x}): scapy's inner packet",
                sealed_seqs[k][i]
            );
        }
        let tampered = &dec[inners.len()];
        assert_eq!(
            tampered["ok"],
            json!(false),
            "{label}: scapy must reject the tampered datagram"
        );

        // telsec opens what scapy encrypted, through the SAD as a driver would.
        let mut cfg = SaConfig::new(s.spi_in, Direction::Inbound, s.algorithm, &s.key, GW.into());
        cfg.esn = s.esn;
        cfg.peer = Some(SocketAddr::new(MN.into(), udp_encap::PORT));
        cfg.initial_sequence = if s.esn { 0xffff_fff0 } else { 0 };
        let mut sad = Sad::new(4);
        sad.insert(SecurityAssociation::new(cfg, now).unwrap())
            .unwrap();
        let enc = results[2 * k + 1].as_array().unwrap();
        let want_seqs = scapy_seqs(s.esn, inners.len());
        for (i, inner) in inners.iter().enumerate() {
            let d = hex::decode(enc[i]["datagram"].as_str().unwrap()).unwrap();
            let outer =
                OuterDatagram::parse(&d).unwrap_or_else(|e| panic!("{label} item {i}: {e}"));
            assert_eq!((outer.src, outer.dst), (IpAddr::from(MN), IpAddr::from(GW)));
            assert_eq!(outer.udp_ports, Some((4500, 4500)));
            let payload = &d[outer.payload.clone()];
            assert_eq!(
                udp_encap::classify(payload),
                Ok(PayloadKind::Esp { spi: s.spi_in })
            );
            assert_eq!(
                &payload[4..8],
                &(want_seqs[i] as u32).to_be_bytes(),
                "{label}: only the low half is on the wire"
            );
            let mut out = vec![0u8; SecurityAssociation::opened_buffer_len(payload.len())];
            let opened = sad
                .open_into(now, outer.src, payload, &mut out)
                .unwrap_or_else(|e| {
                    panic!("{label} item {i}: telsec could not open scapy's packet: {e}")
                });
            assert_eq!(&out[opened.inner.clone()], &inner[..], "{label} item {i}");
            assert_eq!(
                opened.seq, want_seqs[i],
                "{label} item {i}: inferred sequence number"
            );
            // And it is now a replay.
            assert!(sad.open_into(now, outer.src, payload, &mut out).is_err());
        }
    }
}
