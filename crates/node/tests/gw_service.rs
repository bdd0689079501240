//! The VPN gateway's driver on loopback, unprivileged (seed 002): a node
//! in this process holds the other end of the ESP tunnel (its SAs derived
//! from the same secret), the inside link is the UDP virtual wire to a
//! test socket, and the test plays the home agent with its own SIU sender.
//!
//! Addresses: the gateway on 127.0.0.140, the inside wire on .141/.142,
//! the node's care-of addresses on .143-.144 and .146-.149, the home agent
//! on .145; ports are ephemeral.
// Test code: a failed step should stop the test where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use telsec_esp::{Algorithm, Direction, SaConfig, SecurityAssociation};
use telsec_node::esp_sequences::LEASE;
use telsec_node::gw_service::{self, GwNode, GwSettings, GwSiuKey, RunningGw};
use telsec_node::packet_link::LinkConfig;
use telsec_vpn::{
    AckPacket, AckStatus, HaGwKey, KeyRing, NodeTunnelEnd, SecurityInfoUpdate, SenderConfig,
    SenderEvent, SiuSender, derive_esp_keys,
};
use tokio::net::UdpSocket;

const GW: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 140);
const HA: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const HOME: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 50);
const CORRESPONDENT: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 9);
const HA_SOCKET: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 145);
const NODE_SECRET: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";
const SIU_SECRET: [u8; 32] = [0x5a; 32];
const SIU_SPI: u32 = 768;
const WAIT: Duration = Duration::from_secs(3);
const SILENCE: Duration = Duration::from_millis(300);

fn ntp_now() -> u64 {
    // RFC 5905 §6, computed here independently of the driver.
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let secs = d.as_secs() + 2_208_988_800;
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// An IPv4/UDP packet (checksums computed).
fn udp(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    telsec_vpn::inner::emit_udp(
        SocketAddrV4::new(src, sport),
        SocketAddrV4::new(dst, dport),
        7,
        payload,
        &mut p,
    )
    .unwrap();
    p
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn state_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("telsec-gw-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("gw-sequences")
}

async fn socket(ip: Ipv4Addr) -> UdpSocket {
    UdpSocket::bind(SocketAddrV4::new(ip, 0)).await.unwrap()
}

fn port(s: &UdpSocket) -> u16 {
    s.local_addr().unwrap().port()
}

/// The gateway's settings for one node at `coa` and an inside wire whose
/// far end is `inside`.
fn settings(inside: &UdpSocket, coa: &UdpSocket) -> GwSettings {
    let SocketAddr::V4(coa_addr) = coa.local_addr().unwrap() else {
        panic!("IPv4")
    };
    GwSettings {
        outside: SocketAddrV4::new(GW, 0),
        siu_listen: SocketAddrV4::new(GW, 0),
        home_agent: HA,
        inside_link: LinkConfig::Udp {
            bind: SocketAddr::from(([127, 0, 0, 141], 0)),
            peer: inside.local_addr().unwrap(),
        },
        private_networks: vec!["10.77.0.0/24".into()],
        siu_keys: vec![GwSiuKey {
            spi: SIU_SPI,
            secret: hex(&SIU_SECRET),
        }],
        nodes: vec![GwNode {
            home: HOME,
            care_of: *coa_addr.ip(),
            care_of_port: coa_addr.port(),
            secret: NODE_SECRET.into(),
        }],
        ..GwSettings::default()
    }
}

/// The node's end of the tunnel, from the same secret.
fn node_end(coa: Ipv4Addr, gw_outside: SocketAddr) -> NodeTunnelEnd {
    let secret: Vec<u8> = (0..NODE_SECRET.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&NODE_SECRET[i..i + 2], 16).unwrap())
        .collect();
    let keys = derive_esp_keys(&secret, HOME, GW, Algorithm::AesGcm128).unwrap();
    let now = Instant::now();
    let sa = |spi, direction, material: &[u8]| {
        let mut c = SaConfig::new(
            spi,
            direction,
            Algorithm::AesGcm128,
            material,
            IpAddr::V4(coa),
        );
        c.peer = Some(gw_outside);
        SecurityAssociation::new(c, now).unwrap()
    };
    NodeTunnelEnd::new(
        sa(
            keys.gateway_to_node.spi,
            Direction::Inbound,
            &keys.gateway_to_node.key_material,
        ),
        sa(
            keys.node_to_gateway.spi,
            Direction::Outbound,
            &keys.node_to_gateway.key_material,
        ),
    )
    .unwrap()
}

async fn recv(sock: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; 65_536];
    let (n, from) = tokio::time::timeout(WAIT, sock.recv_from(&mut buf))
        .await
        .expect("a datagram in time")
        .unwrap();
    buf.truncate(n);
    (buf, from)
}

async fn silent(sock: &UdpSocket) -> bool {
    let mut buf = [0u8; 2048];
    tokio::time::timeout(SILENCE, sock.recv_from(&mut buf))
        .await
        .is_err()
}

/// The node seals `inner` and sends it from `sock` to the gateway.
async fn node_sends(node: &mut NodeTunnelEnd, sock: &UdpSocket, inner: &[u8]) {
    let mut out = [0u8; 2048];
    let o = node.seal(Instant::now(), inner, &mut out).unwrap();
    sock.send_to(&out[..o.len], o.to).await.unwrap();
}

/// The node receives an ESP datagram on `sock` and opens it.
async fn node_receives(node: &mut NodeTunnelEnd, sock: &UdpSocket, gw: &RunningGw) -> Vec<u8> {
    let (mut d, from) = recv(sock).await;
    assert_eq!(
        from,
        gw.local_addrs().outside,
        "ESP comes from the outside socket"
    );
    let inner = node.open(Instant::now(), from, &mut d).unwrap();
    d[inner].to_vec()
}

/// A correspondent inside sends to the node's home address.
async fn inside_sends(inside: &UdpSocket, gw: &RunningGw, payload: &[u8]) -> Vec<u8> {
    let packet = udp(CORRESPONDENT, HOME, 5000, 6000, payload);
    let link = gw.local_addrs().inside_link.unwrap();
    inside.send_to(&packet, link).await.unwrap();
    packet
}

fn registration_reply() -> Vec<u8> {
    // RFC 5944 §3.4 fixed part: type 3, code 0 (accepted), lifetime 600,
    // home address, home agent, identification.
    let mut r = vec![3, 0, 0x02, 0x58];
    r.extend_from_slice(&HOME.octets());
    r.extend_from_slice(&HA.octets());
    r.extend_from_slice(&[0x11; 8]);
    r
}

fn siu_sender() -> SiuSender {
    let mut keys = KeyRing::new();
    keys.insert(HaGwKey::new(SIU_SPI, &SIU_SECRET).unwrap());
    SiuSender::new(keys, SenderConfig::default()).unwrap()
}

#[tokio::test]
async fn data_both_ways_then_a_handover_moved_only_by_the_siu() {
    let inside = socket(Ipv4Addr::new(127, 0, 0, 142)).await;
    let coa1 = socket(Ipv4Addr::new(127, 0, 0, 143)).await;
    let coa2 = socket(Ipv4Addr::new(127, 0, 0, 144)).await;
    let ha = socket(HA_SOCKET).await;
    let gw = gw_service::start(&settings(&inside, &coa1), state_file("handover"))
        .await
        .unwrap();
    let addrs = gw.local_addrs();
    let mut node = node_end(Ipv4Addr::new(127, 0, 0, 143), addrs.outside);

    // Node -> gateway -> inside wire: the inner packet, unchanged.
    let data = udp(HOME, CORRESPONDENT, 6000, 5000, b"from the node");
    node_sends(&mut node, &coa1, &data).await;
    let (got, _) = recv(&inside).await;
    assert_eq!(got, data);

    // Inside wire -> gateway -> the node's care-of address, sealed.
    let sent = inside_sends(&inside, &gw, b"to the node").await;
    assert_eq!(node_receives(&mut node, &coa1, &gw).await, sent);

    // Handover: the node moves its own ends and registers from the new
    // address through the tunnel; the registration gets in (wildcard) ...
    node.change_care_of(Ipv4Addr::new(127, 0, 0, 144));
    let coa2_ip = Ipv4Addr::new(127, 0, 0, 144);
    let rrq = udp(coa2_ip, HA, 434, 434, b"registration request");
    node_sends(&mut node, &coa2, &rrq).await;
    let (got, _) = recv(&inside).await;
    assert_eq!(got, rrq, "the registration is delivered inside");
    // ... but nothing moved: data still goes to the old address.
    let sent = inside_sends(&inside, &gw, b"still old").await;
    assert_eq!(node_receives(&mut node, &coa1, &gw).await, sent);
    assert!(silent(&coa2).await);

    // The home agent accepted it: the SIU carries the reply.
    let mut sender = siu_sender();
    let update = SecurityInfoUpdate {
        home: HOME,
        old_coa: Ipv4Addr::new(127, 0, 0, 143),
        new_coa: coa2_ip,
        new_port: port(&coa2),
        lifetime: 600,
        reply: registration_reply(),
    };
    let siu = sender
        .send(Instant::now(), ntp_now(), SIU_SPI, update)
        .unwrap();

    // A forged SIU (one bit) gets no answer and moves nothing.
    let mut forged = siu.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    ha.send_to(&forged, addrs.siu).await.unwrap();
    assert!(silent(&ha).await, "a forgery is not answered");
    let sent = inside_sends(&inside, &gw, b"after the forgery").await;
    assert_eq!(node_receives(&mut node, &coa1, &gw).await, sent);

    // The real one: Ack 0, and the reply through the moved SA.
    ha.send_to(&siu, addrs.siu).await.unwrap();
    let (ack, from) = recv(&ha).await;
    assert_eq!(from, addrs.siu, "the Ack comes from the SIU socket");
    assert_eq!(
        AckPacket::new_checked(&ack[..]).unwrap().status(),
        AckStatus::Applied
    );
    match sender.handle_ack(Instant::now(), ntp_now(), &ack).unwrap() {
        SenderEvent::Applied { home, status } => {
            assert_eq!((home, status), (HOME, AckStatus::Applied));
        }
        other => panic!("{other:?}"),
    }
    let reply = node_receives(&mut node, &coa2, &gw).await;
    // HA:434 -> new care-of:434 (the port the registration came from).
    assert_eq!(&reply[12..16], &HA.octets());
    assert_eq!(&reply[16..20], &coa2_ip.octets());
    assert_eq!(&reply[20..24], &[0x01, 0xb2, 0x01, 0xb2]);
    assert_eq!(&reply[28..], &registration_reply()[..]);

    // From now on data goes to the new address only.
    let sent = inside_sends(&inside, &gw, b"new address").await;
    assert_eq!(node_receives(&mut node, &coa2, &gw).await, sent);
    assert!(silent(&coa1).await);

    // The same SIU again: an authenticated refusal (130), nothing moves,
    // no second reply.
    ha.send_to(&siu, addrs.siu).await.unwrap();
    let (ack, _) = recv(&ha).await;
    assert_eq!(
        AckPacket::new_checked(&ack[..]).unwrap().status(),
        AckStatus::IdentificationMismatch
    );
    let sent = inside_sends(&inside, &gw, b"still new").await;
    assert_eq!(
        node_receives(&mut node, &coa2, &gw).await,
        sent,
        "the next datagram is data, not a second reply"
    );
    assert!(silent(&coa1).await);

    let stats = gw.shutdown().await.unwrap();
    assert_eq!(stats.delivered, 2, "{stats:?}");
    assert_eq!(stats.sent, 5, "{stats:?}");
    assert_eq!(stats.siu_applied, 1, "{stats:?}");
    assert_eq!(stats.siu_refused, 1, "{stats:?}");
    assert_eq!(stats.siu_unanswered, 1, "{stats:?}");
    assert_eq!(stats.replies_sent, 1, "{stats:?}");
}

#[tokio::test]
async fn spoofed_replayed_and_off_limits_packets_are_dropped_and_counted() {
    let inside = socket(Ipv4Addr::new(127, 0, 0, 142)).await;
    let coa = socket(Ipv4Addr::new(127, 0, 0, 146)).await;
    let elsewhere = socket(Ipv4Addr::new(127, 0, 0, 147)).await;
    let gw = gw_service::start(&settings(&inside, &coa), state_file("drops"))
        .await
        .unwrap();
    let addrs = gw.local_addrs();
    let mut node = node_end(Ipv4Addr::new(127, 0, 0, 146), addrs.outside);
    let mut out = [0u8; 2048];

    // An authentic datagram, then the same octets again from elsewhere:
    // the replay window drops the copy.
    let data = udp(HOME, CORRESPONDENT, 6000, 5000, b"once");
    let o = node.seal(Instant::now(), &data, &mut out).unwrap();
    coa.send_to(&out[..o.len], o.to).await.unwrap();
    assert_eq!(recv(&inside).await.0, data);
    elsewhere.send_to(&out[..o.len], o.to).await.unwrap();
    // A spoofed inner source (not the node's, not a registration).
    let spoofed = udp(CORRESPONDENT, HA, 6000, 5000, b"spoof");
    node_sends(&mut node, &coa, &spoofed).await;
    // A destination outside the private networks.
    let away = udp(HOME, Ipv4Addr::new(192, 0, 2, 1), 6000, 5000, b"away");
    node_sends(&mut node, &coa, &away).await;
    // A forged ICV.
    let o = node.seal(Instant::now(), &data, &mut out).unwrap();
    out[o.len - 1] ^= 1;
    elsewhere.send_to(&out[..o.len], o.to).await.unwrap();
    // A NAT keep-alive (RFC 3948 §2.3): control, ignored.
    coa.send_to(&[0xff], addrs.outside).await.unwrap();
    assert!(silent(&inside).await, "none of those is delivered");

    // Inside: not for a node, and from outside the private networks.
    let link = addrs.inside_link.unwrap();
    let stray = udp(CORRESPONDENT, Ipv4Addr::new(10, 77, 0, 99), 1, 2, b"x");
    inside.send_to(&stray, link).await.unwrap();
    let foreign = udp(Ipv4Addr::new(192, 0, 2, 7), HOME, 1, 2, b"x");
    inside.send_to(&foreign, link).await.unwrap();
    inside.send_to(b"not ip", link).await.unwrap();
    assert!(silent(&coa).await, "nothing sealed towards the node");

    let s = gw.shutdown().await.unwrap();
    assert_eq!(s.delivered, 1, "{s:?}");
    assert_eq!(s.dropped_replay, 1, "{s:?}");
    assert_eq!(s.dropped_source, 1, "{s:?}");
    assert_eq!(s.dropped_not_private, 1, "{s:?}");
    assert_eq!(s.dropped_auth, 1, "{s:?}");
    assert_eq!(s.control, 1, "{s:?}");
    assert_eq!(s.not_for_a_node, 1, "{s:?}");
    assert_eq!(s.inside_refused, 2, "{s:?}");
    assert_eq!(s.sent, 0, "{s:?}");
}

/// The sequence number of an ESP datagram (RFC 4303 §2.2).
fn esp_sequence(d: &[u8]) -> u32 {
    u32::from_be_bytes([d[4], d[5], d[6], d[7]])
}

#[tokio::test]
async fn a_restart_never_sends_a_sequence_number_twice() {
    let inside = socket(Ipv4Addr::new(127, 0, 0, 142)).await;
    let coa = socket(Ipv4Addr::new(127, 0, 0, 148)).await;
    let state = state_file("restart");
    let s = settings(&inside, &coa);
    let mut seen = Vec::new();
    // One node end throughout: its replay window would refuse a number
    // it has seen (the outer source check compares addresses, not ports).
    let mut node = None;
    for run in 0..2 {
        let gw = gw_service::start(&s, state.clone()).await.unwrap();
        let node = node.get_or_insert_with(|| {
            node_end(Ipv4Addr::new(127, 0, 0, 148), gw.local_addrs().outside)
        });
        for _ in 0..3 {
            let sent = inside_sends(&inside, &gw, b"numbered").await;
            let (mut d, from) = recv(&coa).await;
            seen.push(esp_sequence(&d));
            let inner = node.open(Instant::now(), from, &mut d).unwrap();
            assert_eq!(&d[inner], &sent[..]);
        }
        gw.shutdown().await.unwrap();
        assert!(state.exists(), "run {run}: the reservation is on disk");
    }
    let lease = u32::try_from(LEASE).unwrap();
    assert_eq!(seen, [1, 2, 3, lease + 1, lease + 2, lease + 3]);
    let _ = std::fs::remove_dir_all(state.parent().unwrap());
}

#[tokio::test]
async fn bad_settings_are_refused_before_anything_is_opened() {
    let inside = socket(Ipv4Addr::new(127, 0, 0, 142)).await;
    let coa = socket(Ipv4Addr::new(127, 0, 0, 149)).await;
    let mut s = settings(&inside, &coa);
    s.nodes[0].secret = "00".into();
    let state = state_file("bad");
    let e = gw_service::start(&s, state.clone()).await.unwrap_err();
    assert!(e.to_string().contains("gw.nodes[0]"), "{e}");
    assert!(!state.exists(), "no state written for refused settings");
}
