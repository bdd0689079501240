//! Wireshark's dissectors (through tshark, reading a pcap this test
//! writes) decode what the foreign agent emits: its Agent Advertisement
//! (ICMP Router Advertisement with the Mobility Agent and Prefix-Lengths
//! extensions, RFC 5944 §2.1), the answer to an Agent Solicitation, the
//! request it relays to the home agent with an FA-HA authenticator
//! (§3.7.2.2) and the reply it relays back with MN-FA (§3.7.3.2).
//! tshark is required: the test fails, it does not skip, without it.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::Command;

use telsec_mip::advert::AgentSolicitation;
use telsec_mip::fa::{Config, ForeignAgent};
use telsec_mip::ha::{self, HomeAgent, HomeNetwork};
use telsec_mip::{
    Algorithm, Extension, ExtensionType, MIP_PORT, NtpTimestamp, ReplayMode, Request, RequestFlags,
    SecurityAssociation, append_signature,
};

const FA: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const COA_B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 200);
const HA: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const HOME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
const ALL_SYSTEMS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);
const T0: u64 = 1_704_067_200_000;

fn sa(spi: u32, key: &[u8]) -> SecurityAssociation {
    SecurityAssociation::new(spi, Algorithm::HmacMd5, key, ReplayMode::default()).expect("SA")
}

/// One IPv4 packet for the capture: ICMP (1) or UDP (17) with ports.
struct Packet<'a> {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    udp_ports: Option<(u16, u16)>,
    payload: &'a [u8],
}

fn ones_complement(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Ethernet + IPv4 (+ UDP, checksum 0 as RFC 768 allows) frame.
fn frame(p: &Packet<'_>) -> Vec<u8> {
    let l4_len = p.payload.len() + if p.udp_ports.is_some() { 8 } else { 0 };
    let mut f = vec![0x01, 0, 0x5e, 0, 0, 1, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((20 + l4_len) as u16).to_be_bytes());
    ip[8] = p.ttl;
    ip[9] = if p.udp_ports.is_some() { 17 } else { 1 };
    ip[12..16].copy_from_slice(&p.src.octets());
    ip[16..20].copy_from_slice(&p.dst.octets());
    let sum = ones_complement(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&ip);
    if let Some((sp, dp)) = p.udp_ports {
        f.extend_from_slice(&sp.to_be_bytes());
        f.extend_from_slice(&dp.to_be_bytes());
        f.extend_from_slice(&(l4_len as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
    }
    f.extend_from_slice(p.payload);
    f
}

fn pcap(packets: &[Packet<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, p) in packets.iter().enumerate() {
        let f = frame(p);
        out.extend_from_slice(&(1_704_067_200u32 + i as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&f);
    }
    out
}

fn have_tshark() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs tshark over `packets` and returns one row of `fields` per packet.
fn tshark_fields(name: &str, packets: &[Packet<'_>], fields: &[&str]) -> Vec<Vec<String>> {
    let file =
        std::env::temp_dir().join(format!("telsec-mip-fa-{name}-{}.pcap", std::process::id()));
    std::fs::write(&file, pcap(packets)).expect("write pcap");
    let mut cmd = Command::new("tshark");
    cmd.args([
        "-r",
        file.to_str().expect("utf-8 path"),
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let rows: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split('|').map(str::to_owned).collect())
        .collect();
    assert_eq!(rows.len(), packets.len(), "{text}");
    // The last two fields: nothing malformed, and no expert item worse
    // than a note (0x400000; warnings are 0x600000 and up). A note such as
    // "TTL only 1" is about the capture's IP header, written here.
    for row in &rows {
        let n = row.len();
        assert!(row[n - 2].is_empty(), "tshark: malformed: {row:?}");
        for sev in row[n - 1].split(',').filter(|s| !s.is_empty()) {
            let sev: u32 = sev.parse().expect("numeric severity");
            assert!(sev < 0x60_0000, "tshark warns: {row:?}");
        }
    }
    rows
}

fn is_true(v: &str) -> bool {
    v == "1" || v == "True"
}

fn is_false(v: &str) -> bool {
    v == "0" || v == "False"
}

#[test]
fn tshark_decodes_advertisement_and_solicitation() {
    assert!(
        have_tshark(),
        "tshark is required for this interop test (apt-get install tshark; .ci/run does)"
    );
    let mut c = Config::new(FA, 24, FA);
    c.care_of_addresses.push(COA_B);
    c.max_registration_lifetime = 600;
    c.advertisement_lifetime = 45;
    let mut fa = ForeignAgent::new(c).expect("FA");
    let first = fa.advertisement(T0);
    let solicitation = AgentSolicitation.to_bytes();
    let answer = fa.handle_solicitation(T0, &solicitation).expect("answered");
    let packets = [
        Packet {
            src: FA,
            dst: ALL_SYSTEMS,
            ttl: 1,
            udp_ports: None,
            payload: &first,
        },
        Packet {
            src: HOME,
            dst: Ipv4Addr::new(224, 0, 0, 11),
            ttl: 1,
            udp_ports: None,
            payload: &solicitation,
        },
        Packet {
            src: FA,
            dst: HOME,
            ttl: 1,
            udp_ports: None,
            payload: &answer,
        },
    ];
    let fields = [
        "icmp.type",
        "icmp.code",
        "icmp.checksum.status",
        "icmp.num_addrs",
        "icmp.addr_entry_size",
        "icmp.lifetime",
        "icmp.router_address",
        "icmp.mip.type",
        "icmp.mip.seq",
        "icmp.mip.life",
        "icmp.mip.r",
        "icmp.mip.b",
        "icmp.mip.h",
        "icmp.mip.f",
        "icmp.mip.m",
        "icmp.mip.g",
        "icmp.mip.rt",
        "icmp.mip.coa",
        "icmp.mip.prefixlength",
        "_ws.malformed",
        "_ws.expert.severity",
    ];
    let rows = tshark_fields("adv", &packets, &fields);
    let a = &rows[0];
    assert_eq!(a[0], "9");
    assert_eq!(a[1], "0");
    assert_eq!(a[2], "1", "checksum good");
    assert_eq!(a[3], "1");
    assert_eq!(a[4], "2");
    assert_eq!(a[5], "45");
    assert_eq!(a[6], "192.0.2.1");
    assert_eq!(a[7], "16,19");
    assert_eq!(a[8], "0");
    assert_eq!(a[9], "600");
    assert!(is_true(&a[10]), "R: {}", a[10]);
    assert!(is_false(&a[11]), "B: {}", a[11]);
    assert!(is_false(&a[12]), "H: {}", a[12]);
    assert!(is_true(&a[13]), "F: {}", a[13]);
    assert!(is_false(&a[14]), "M: {}", a[14]);
    assert!(is_false(&a[15]), "G: {}", a[15]);
    assert!(is_true(&a[16]), "T: {}", a[16]);
    assert_eq!(a[17], "192.0.2.1,192.0.2.200");
    assert_eq!(a[18], "24");
    let s = &rows[1];
    assert_eq!(
        (s[0].as_str(), s[1].as_str(), s[2].as_str()),
        ("10", "0", "1")
    );
    let b = &rows[2];
    assert_eq!(b[0], "9");
    assert_eq!(b[2], "1");
    assert_eq!(b[8], "1", "the answer carries the next sequence number");
}

#[test]
fn tshark_decodes_relayed_request_and_reply() {
    assert!(
        have_tshark(),
        "tshark is required for this interop test (apt-get install tshark; .ci/run does)"
    );
    let mn_ha = sa(0x1000, b"mn-ha-shared-key");
    let mn_fa = sa(0x2000, b"mn-fa-shared-key");
    let fa_ha = sa(0x3000, b"fa-ha-shared-key");
    let mut fa = ForeignAgent::new(Config::new(FA, 24, FA)).expect("FA");
    fa.add_mn_fa_sa(HOME, mn_fa.clone());
    fa.add_fa_ha_sa(HA, fa_ha.clone());
    let mut ha = HomeAgent::new(ha::Config::new(
        HA,
        HomeNetwork {
            prefix: Ipv4Addr::new(10, 0, 0, 0),
            len: 24,
        },
        b"secret",
    ));
    ha.add_sa_for_home(HOME, mn_ha.clone());

    let id = NtpTimestamp::from_unix(T0 / 1000, 0).0 | 0x1234;
    let mut rrq = Request {
        flags: RequestFlags(RequestFlags::T),
        lifetime: 300,
        home_address: HOME,
        home_agent: HA,
        care_of_address: FA,
        identification: id,
        extensions: vec![Extension::MnNai(b"mn@example.org".to_vec())],
    }
    .to_vec()
    .expect("emits");
    append_signature(&mut rrq, ExtensionType::MnHaAuth, &mn_ha).expect("signs");
    append_signature(&mut rrq, ExtensionType::MnFaAuth, &mn_fa).expect("signs");
    let visitor = SocketAddrV4::new(HOME, 49152);
    let relay = fa
        .handle_visitor_request(T0, visitor, &rrq)
        .transmit
        .expect("relayed");
    let mut reply = ha
        .handle_request(
            T0,
            SocketAddrV4::new(relay.src, MIP_PORT),
            HA,
            &relay.payload,
        )
        .reply
        .expect("HA replies");
    // The home agent's side of FA-HA, as an FA-HA capable HA would add it.
    append_signature(&mut reply, ExtensionType::FaHaAuth, &fa_ha).expect("signs");
    let back = fa
        .handle_ha_reply(T0, SocketAddrV4::new(HA, MIP_PORT), &reply)
        .transmit
        .expect("relayed back");
    let packets = [
        Packet {
            src: HOME,
            dst: FA,
            ttl: 1,
            udp_ports: Some((49152, MIP_PORT)),
            payload: &rrq,
        },
        Packet {
            src: relay.src,
            dst: HA,
            ttl: 64,
            udp_ports: Some((MIP_PORT, MIP_PORT)),
            payload: &relay.payload,
        },
        Packet {
            src: back.src,
            dst: *back.dst.ip(),
            ttl: 1,
            udp_ports: Some((MIP_PORT, back.dst.port())),
            payload: &back.payload,
        },
    ];
    let fields = [
        "mip.type",
        "mip.flags",
        "mip.life",
        "mip.homeaddr",
        "mip.haaddr",
        "mip.coa",
        "mip.code",
        "mip.ext.type",
        "mip.auth.spi",
        "mip.auth.auth",
        "mip.nai",
        "_ws.malformed",
        "_ws.expert.severity",
    ];
    let rows = tshark_fields("relay", &packets, &fields);
    let (q0, q, p) = (&rows[0], &rows[1], &rows[2]);
    assert_eq!(q0[7], "131,32,33", "as the node sent it");
    assert_eq!(q[0], "1");
    assert_eq!(q[1], "0x02");
    assert_eq!(q[2], "300");
    assert_eq!(q[3], "10.0.0.5");
    assert_eq!(q[4], "10.0.0.1");
    assert_eq!(q[5], "192.0.2.1");
    assert_eq!(q[7], "131,32,34", "MN-FA replaced by FA-HA");
    assert_eq!(q[8], "0x00001000,0x00003000");
    let n = relay.payload.len();
    let auths: Vec<&str> = q[9].split(',').collect();
    assert_eq!(
        auths[1].replace(':', ""),
        hex::encode(&relay.payload[n - 16..])
    );
    assert_eq!(q[10], "mn@example.org");
    assert_eq!(p[0], "3");
    assert_eq!(p[2], "300");
    assert_eq!(p[3], "10.0.0.5");
    assert_eq!(p[6], "0");
    assert_eq!(p[7], "32,33", "FA-HA replaced by MN-FA");
    assert_eq!(p[8], "0x00001000,0x00002000");
}
