//! The foreign agent's driver with the real home agent driver, over
//! loopback sockets, unprivileged: a visitor registers through the agent
//! (FA-HA both ways, RFC 3519 UDP tunnelling), a correspondent on the home
//! link reaches it through HA -> FA -> visitor link and back through the
//! reverse tunnel (RFC 3024), strangers and non-visitors get nothing
//! through, the visitor list file follows, and the agent's own denials
//! (69, 68 after the home agent's 132, 78) reach the visitor.
//!
//! The raw-socket half (advertisements and solicitations, IP in IP,
//! IP_HDRINCL delivery, TUN capture with policy routing) runs in network
//! namespaces in [`namespaces_advertise_deliver_and_reverse_tunnel`],
//! which needs root and fails without it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::Duration;

use telsec_mip::ext::{Encapsulation, Extension, ExtensionType, UdpTunnelRequest};
use telsec_mip::ha::{Binding, Config as Policy, HomeAgent, HomeNetwork, Tunnel};
use telsec_mip::tunnel::{self, Ipv4Packet};
use telsec_mip::{
    Algorithm, NtpTimestamp, ReplayMode, Reply, ReplyCode, Request, RequestFlags,
    SecurityAssociation, append_signature, verify,
};
use telsec_node::fa_service::{
    self, FaCommand, FaHaKey, FaSettings, FaStats, RunningFa, VisitorEntry, state,
};
use telsec_node::ha_service::{self, HaCommand, HaParams, RunningHa};
use telsec_node::packet_link::LinkConfig;
use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::time::timeout;

const HOME: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 5);
const MN_HA_KEY: &[u8] = b"a 32-octet key for HMAC-SHA-256!";
const FA_HA_KEY: &[u8] = b"fa-ha-shared-key";
const FA_HA_SPI: u32 = 0x3000;

/// The addresses of one scenario; each test takes its own block of
/// 127.0.0.0/8 so the tests can run in parallel.
#[derive(Clone, Copy)]
struct Net {
    ha: Ipv4Addr,
    fa: Ipv4Addr,
    coa: Ipv4Addr,
    mn: Ipv4Addr,
    correspondent: Ipv4Addr,
    wire: Ipv4Addr,
    stranger: Ipv4Addr,
}

impl Net {
    fn block(b: u8) -> Net {
        let a = |n| Ipv4Addr::new(127, 0, b, n);
        Net {
            ha: a(1),
            fa: a(2),
            coa: a(3),
            mn: a(4),
            correspondent: a(5),
            wire: a(6),
            stranger: a(7),
        }
    }
}

fn mn_ha() -> SecurityAssociation {
    SecurityAssociation::new(
        4096,
        Algorithm::HmacSha256,
        MN_HA_KEY,
        ReplayMode::default(),
    )
    .unwrap()
}

fn fa_ha(key: &[u8]) -> SecurityAssociation {
    SecurityAssociation::new(FA_HA_SPI, Algorithm::HmacMd5, key, ReplayMode::default()).unwrap()
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("telsec-fa-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The home agent's core: the node's SA, and FA-HA with the foreign agent,
/// which relays from its care-of address.
fn ha_core(net: Net) -> HomeAgent {
    let mut policy = Policy::new(
        net.ha,
        HomeNetwork {
            prefix: Ipv4Addr::new(10, 77, 0, 0),
            len: 24,
        },
        b"nonce secret of the test",
    );
    policy.udp_tunnelling = true;
    let mut core = HomeAgent::new(policy);
    core.add_sa_for_home(HOME, mn_ha());
    core.add_fa_ha_sa(net.coa, fa_ha(FA_HA_KEY));
    core
}

async fn start_ha(net: Net, dir: &Path, link_peer: SocketAddr) -> RunningHa {
    ha_service::start(
        ha_core(net),
        HaParams {
            listen: SocketAddrV4::new(net.ha, 0),
            state_dir: dir.join("ha"),
            home_link: LinkConfig::Udp {
                bind: SocketAddr::from((net.ha, 0)),
                peer: link_peer,
            },
            ipip: false,
            compact_after_bytes: 1 << 20,
            vpn: telsec_node::ha_vpn::HaVpnSettings::default(),
        },
    )
    .await
    .expect("home agent starts")
}

fn fa_settings(net: Net, ha_port: u16, wire: SocketAddr) -> FaSettings {
    FaSettings {
        listen: SocketAddrV4::new(net.fa, 0),
        care_of_address: Some(net.coa),
        home_agent_port: ha_port,
        max_registration_lifetime: 600,
        // Long enough for a home agent syncing its journal on a loaded CI
        // machine, short enough for the "silent home agent" case.
        pending_timeout_ms: 2_000,
        visitor_link: LinkConfig::Udp {
            bind: SocketAddr::from((net.fa, 0)),
            peer: wire,
        },
        home_agents: vec![FaHaKey {
            home_agent: net.ha,
            spi: FA_HA_SPI,
            algorithm: "hmac-md5".into(),
            key: FA_HA_KEY.iter().map(|b| format!("{b:02x}")).collect(),
        }],
        ..FaSettings::default()
    }
}

async fn start_fa(settings: &FaSettings, state_file: PathBuf) -> RunningFa {
    let core = fa_service::build_core(settings).expect("valid settings");
    fa_service::start(core, settings, state_file)
        .await
        .expect("foreign agent starts")
}

fn now_ident() -> u64 {
    let ms = ha_service::now_ms();
    NtpTimestamp::from_unix(ms / 1000, ((ms % 1000) * 1_000_000) as u32).0
}

/// A Registration Request of the visitor through the agent at `coa`,
/// asking for T and (forced) UDP tunnelling so the loopback data path
/// needs no raw socket.
fn request(net: Net, home_agent: Ipv4Addr, lifetime: u16, ident: u64) -> Vec<u8> {
    let mut bytes = Request {
        flags: RequestFlags::default().with(RequestFlags::T, true),
        lifetime,
        home_address: HOME,
        home_agent,
        care_of_address: net.coa,
        identification: ident,
        extensions: vec![Extension::UdpTunnelRequest(UdpTunnelRequest {
            sub_type: 0,
            force: true,
            registration_through_fa: true,
            encapsulation: Encapsulation::IpInIp,
        })],
    }
    .to_vec()
    .unwrap();
    append_signature(&mut bytes, ExtensionType::MnHaAuth, &mn_ha()).unwrap();
    bytes
}

async fn recv_from(sock: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; 65_536];
    let (n, from) = timeout(Duration::from_secs(5), sock.recv_from(&mut buf))
        .await
        .expect("a datagram within 5 s")
        .unwrap();
    buf.truncate(n);
    (buf, from)
}

async fn nothing_within(sock: &UdpSocket, ms: u64) -> bool {
    let mut buf = [0u8; 2048];
    timeout(Duration::from_millis(ms), sock.recv_from(&mut buf))
        .await
        .is_err()
}

async fn visitors(fa: &RunningFa) -> Vec<VisitorEntry> {
    let (tx, rx) = oneshot::channel();
    fa.commands().send(FaCommand::Visitors(tx)).await.unwrap();
    rx.await.unwrap()
}

async fn stats(fa: &RunningFa) -> FaStats {
    let (tx, rx) = oneshot::channel();
    fa.commands().send(FaCommand::Stats(tx)).await.unwrap();
    rx.await.unwrap()
}

async fn bindings(ha: &RunningHa) -> Vec<Binding> {
    let (tx, rx) = oneshot::channel();
    ha.commands().send(HaCommand::Bindings(tx)).await.unwrap();
    rx.await.unwrap()
}

fn extension_types(reply: &[u8]) -> Vec<u8> {
    Reply::from_bytes(reply)
        .unwrap()
        .extensions
        .iter()
        .map(|e| u8::from(e.ext_type()))
        .collect()
}

#[tokio::test]
async fn relay_deliver_reverse_tunnel_and_deregister() {
    let net = Net::block(70);
    let dir = temp("relay");
    let correspondent = UdpSocket::bind((net.correspondent, 0)).await.unwrap();
    let wire = UdpSocket::bind((net.wire, 0)).await.unwrap();
    let mn = UdpSocket::bind((net.mn, 0)).await.unwrap();
    let stranger = UdpSocket::bind((net.stranger, 0)).await.unwrap();
    let ha = start_ha(net, &dir, correspondent.local_addr().unwrap()).await;
    let settings = FaSettings {
        // No timeout answer is expected here: the default.
        pending_timeout_ms: telsec_mip::fa::DEFAULT_PENDING_TIMEOUT_MS,
        ..fa_settings(net, ha.local_addr().port(), wire.local_addr().unwrap())
    };
    let state_file = dir.join("fa-visitors.json");
    let fa = start_fa(&settings, state_file.clone()).await;
    assert_eq!(*fa.agent_addr().ip(), net.coa);
    assert_eq!(fa.agent_addr().port(), fa.visitor_addr().port());
    assert_eq!(state::read(&state_file).unwrap(), []);

    // Registration: visitor -> FA -> HA (FA-HA checked) -> FA -> visitor.
    mn.send_to(&request(net, net.ha, 300, now_ident()), fa.visitor_addr())
        .await
        .unwrap();
    let (reply, from) = recv_from(&mn).await;
    assert_eq!(from, SocketAddr::V4(fa.visitor_addr()));
    let rep = Reply::from_bytes(&reply).unwrap();
    assert_eq!(rep.code, ReplyCode::Accepted, "{rep:?}");
    assert_eq!(rep.lifetime, 300);
    verify(&reply, ExtensionType::MnHaAuth, &mn_ha()).expect("MN-HA from the home agent");
    // UDP Tunnel Reply and MN-HA; the HA's FA-HA was for the agent only.
    assert_eq!(extension_types(&reply), [44, 32]);
    let bound = bindings(&ha).await;
    assert_eq!(bound.len(), 1);
    assert_eq!(bound[0].care_of_address, net.coa);
    assert_eq!(bound[0].source, fa.agent_addr());
    assert!(matches!(bound[0].tunnel, Tunnel::Udp { .. }));
    let listed = visitors(&fa).await;
    assert_eq!(listed.len(), 1);
    let v = &listed[0];
    assert_eq!(v.home_address, HOME);
    assert_eq!(v.home_agent, net.ha);
    assert_eq!(SocketAddr::V4(v.link_source), mn.local_addr().unwrap());
    assert!(v.reverse_tunnel);
    assert_eq!(v.tunnel, "udp");
    assert_eq!(v.granted_lifetime, 300);
    assert_eq!(state::read(&state_file).unwrap(), listed);

    // Correspondent -> home address: HA tunnels to the care-of socket,
    // the agent opens it and puts the packet on the visitor link.
    let cn = SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 7), 5000);
    let to_mn = tunnel::udp_packet(cn, SocketAddrV4::new(HOME, 6000), b"hello mn").unwrap();
    correspondent
        .send_to(&to_mn, ha.link_addr().unwrap())
        .await
        .unwrap();
    let (delivered, from) = recv_from(&wire).await;
    assert_eq!(from, fa.link_addr().unwrap());
    let p = Ipv4Packet::new_checked(&delivered).unwrap();
    assert_eq!((p.src(), p.dst(), p.ttl()), (*cn.ip(), HOME, 63));
    assert_eq!(tunnel::udp_payload(&p).unwrap().2, b"hello mn");

    // Visitor -> correspondent: reverse-tunnelled to the HA, which lets it
    // into the home network because it came from the registered tunnel.
    let from_mn = tunnel::udp_packet(SocketAddrV4::new(HOME, 6000), cn, b"hello cn").unwrap();
    wire.send_to(&from_mn, fa.link_addr().unwrap())
        .await
        .unwrap();
    let (out, _) = recv_from(&correspondent).await;
    let p = Ipv4Packet::new_checked(&out).unwrap();
    assert_eq!((p.src(), p.dst(), p.ttl()), (HOME, *cn.ip(), 63));
    assert_eq!(tunnel::udp_payload(&p).unwrap().2, b"hello cn");

    // A node that is no visitor is not tunnelled for.
    let other = Ipv4Addr::new(10, 77, 0, 9);
    let not_visitor = tunnel::udp_packet(SocketAddrV4::new(other, 6000), cn, b"x").unwrap();
    wire.send_to(&not_visitor, fa.link_addr().unwrap())
        .await
        .unwrap();
    assert!(nothing_within(&correspondent, 300).await);

    // Tunnel data from someone who is not the visitor's home agent is not
    // delivered.
    let mut forged = Vec::new();
    tunnel::emit_udp_data(&to_mn, &mut forged);
    stranger.send_to(&forged, fa.agent_addr()).await.unwrap();
    assert!(nothing_within(&wire, 300).await);
    let s = stats(&fa).await;
    assert_eq!(
        (
            s.delivered,
            s.undeliverable,
            s.reverse_tunnelled,
            s.reverse_dropped
        ),
        (1, 1, 1, 1)
    );
    assert_eq!((s.requests_relayed, s.replies_relayed), (1, 1));

    // Deregistration through the agent empties both lists and the file.
    mn.send_to(&request(net, net.ha, 0, now_ident()), fa.visitor_addr())
        .await
        .unwrap();
    let (reply, _) = recv_from(&mn).await;
    assert_eq!(Reply::from_bytes(&reply).unwrap().code, ReplyCode::Accepted);
    assert_eq!(visitors(&fa).await, []);
    assert_eq!(state::read(&state_file).unwrap(), []);
    assert_eq!(bindings(&ha).await, []);
    // And traffic for it stops at the agent.
    wire.send_to(&from_mn, fa.link_addr().unwrap())
        .await
        .unwrap();
    assert!(nothing_within(&correspondent, 300).await);

    fa.shutdown().await.unwrap();
    ha.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A home agent tunnels as it accepts, before its reply (held back for
/// its journal) reaches the agent: what arrives for the pending visitor
/// is held, not delivered (RFC 5944 §4.2.2), and delivered in order when
/// the reply makes the node a visitor; a time-out drops what was held.
/// The home agent here is the sans-IO core driven by the test, so the
/// order of data and reply is the test's to choose.
#[tokio::test]
async fn data_for_a_pending_visitor_waits_for_its_reply() {
    let net = Net::block(72);
    let ha_sock = UdpSocket::bind((net.ha, 0)).await.unwrap();
    let wire = UdpSocket::bind((net.wire, 0)).await.unwrap();
    let mn = UdpSocket::bind((net.mn, 0)).await.unwrap();
    let stranger = UdpSocket::bind((net.stranger, 0)).await.unwrap();
    let mut core = ha_core(net);
    let settings = FaSettings {
        pending_timeout_ms: 400,
        ..fa_settings(
            net,
            ha_sock.local_addr().unwrap().port(),
            wire.local_addr().unwrap(),
        )
    };
    let dir = temp("held");
    let fa = start_fa(&settings, dir.join("fa-visitors.json")).await;

    let cn = SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 7), 5000);
    let datagram = |text: &[u8]| {
        let inner = tunnel::udp_packet(cn, SocketAddrV4::new(HOME, 6000), text).unwrap();
        let mut out = Vec::new();
        tunnel::emit_udp_data(&inner, &mut out);
        out
    };

    // The request reaches the "home agent"; before it answers, two
    // datagrams for the node come from it, one from a stranger.
    mn.send_to(&request(net, net.ha, 300, now_ident()), fa.visitor_addr())
        .await
        .unwrap();
    let (relayed, from) = recv_from(&ha_sock).await;
    let SocketAddr::V4(from) = from else {
        panic!("IPv4")
    };
    let out = core.handle_request(ha_service::now_ms(), from, net.ha, &relayed);
    let reply = out.reply.expect("the home agent answers");
    assert_eq!(Reply::from_bytes(&reply).unwrap().code, ReplyCode::Accepted);
    for text in [&b"first"[..], b"second"] {
        ha_sock
            .send_to(&datagram(text), fa.agent_addr())
            .await
            .unwrap();
    }
    stranger
        .send_to(&datagram(b"forged"), fa.agent_addr())
        .await
        .unwrap();
    assert!(
        nothing_within(&wire, 300).await,
        "nothing reaches a node that is not yet a visitor"
    );

    // The reply: the visitor gets it, then both held datagrams in order.
    ha_sock.send_to(&reply, from).await.unwrap();
    let (answer, _) = recv_from(&mn).await;
    assert_eq!(
        Reply::from_bytes(&answer).unwrap().code,
        ReplyCode::Accepted
    );
    for text in [&b"first"[..], b"second"] {
        let (delivered, _) = recv_from(&wire).await;
        let p = Ipv4Packet::new_checked(&delivered).unwrap();
        assert_eq!(tunnel::udp_payload(&p).unwrap().2, text);
    }
    assert!(
        nothing_within(&wire, 200).await,
        "the forged one was never held"
    );
    let s = stats(&fa).await;
    assert_eq!(
        (s.delivered, s.delivered_after_hold, s.undeliverable),
        (2, 2, 1)
    );

    // Another node's request that its home agent never answers: what was
    // held for it goes with the time-out (78 to the node) and is counted
    // as undeliverable. (The agent does not check MN-HA; the home address
    // is patched after signing.)
    let other = Ipv4Addr::new(10, 77, 0, 6);
    let mut silent = request(net, net.ha, 300, now_ident());
    silent[4..8].copy_from_slice(&other.octets());
    mn.send_to(&silent, fa.visitor_addr()).await.unwrap();
    let _ = recv_from(&ha_sock).await;
    let inner = tunnel::udp_packet(cn, SocketAddrV4::new(other, 6000), b"never").unwrap();
    let mut held = Vec::new();
    tunnel::emit_udp_data(&inner, &mut held);
    ha_sock.send_to(&held, fa.agent_addr()).await.unwrap();
    let (answer, _) = recv_from(&mn).await;
    let answer = Reply::from_bytes(&answer).unwrap();
    assert_eq!(
        (answer.code, answer.home_address),
        (ReplyCode::FaRegistrationTimeout, other)
    );
    assert!(nothing_within(&wire, 200).await);
    let s = stats(&fa).await;
    assert_eq!(
        (s.delivered, s.delivered_after_hold, s.undeliverable),
        (2, 2, 2)
    );
    fa.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn denials_reach_the_visitor() {
    let net = Net::block(71);
    let dir = temp("denials");
    let correspondent = UdpSocket::bind((net.correspondent, 0)).await.unwrap();
    let wire = UdpSocket::bind((net.wire, 0)).await.unwrap();
    let mn = UdpSocket::bind((net.mn, 0)).await.unwrap();
    let ha = start_ha(net, &dir, correspondent.local_addr().unwrap()).await;
    let settings = fa_settings(net, ha.local_addr().port(), wire.local_addr().unwrap());
    let fa = start_fa(&settings, dir.join("fa-visitors.json")).await;

    // 69 from the agent itself, with the lifetime it would accept; the
    // home agent never hears of it.
    mn.send_to(&request(net, net.ha, 601, now_ident()), fa.visitor_addr())
        .await
        .unwrap();
    let (reply, from) = recv_from(&mn).await;
    assert_eq!(from, SocketAddr::V4(fa.visitor_addr()));
    let rep = Reply::from_bytes(&reply).unwrap();
    assert_eq!(rep.code, ReplyCode::FaLifetimeTooLong);
    assert_eq!(rep.lifetime, 600);
    assert_eq!(bindings(&ha).await, []);

    // The agent's FA-HA key replaced by a wrong one: the home agent
    // refuses with 132, and its reply cannot carry an FA-HA the agent
    // accepts, so the visitor hears 68.
    fa.commands()
        .send(FaCommand::InstallFaHaSa {
            home_agent: net.ha,
            sa: fa_ha(b"not-the-fa-ha-ke"),
        })
        .await
        .unwrap();
    mn.send_to(&request(net, net.ha, 300, now_ident()), fa.visitor_addr())
        .await
        .unwrap();
    let (reply, _) = recv_from(&mn).await;
    assert_eq!(
        Reply::from_bytes(&reply).unwrap().code,
        ReplyCode::FaHomeAgentFailedAuthentication
    );
    assert_eq!(bindings(&ha).await, []);
    assert_eq!(visitors(&fa).await, []);

    // A home agent that does not answer: 78 after the pending timeout.
    let silent = Ipv4Addr::new(127, 0, 71, 9);
    mn.send_to(&request(net, silent, 300, now_ident()), fa.visitor_addr())
        .await
        .unwrap();
    let (reply, _) = recv_from(&mn).await;
    assert_eq!(
        Reply::from_bytes(&reply).unwrap().code,
        ReplyCode::FaRegistrationTimeout
    );
    let s = stats(&fa).await;
    assert_eq!(s.denied, 3, "{s:?}");
    assert_eq!(s.requests_relayed, 2);

    fa.shutdown().await.unwrap();
    ha.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------
// Network namespaces (root): HA <-> FA <-> visitor over veth pairs.
//
//   [ha ns] ha0 198.51.100.1 --- up0 198.51.100.2 (care-of) [fa ns]
//   [fa ns] vis0 192.0.2.1 --- mn0 10.77.0.5/32 (home address) [mn ns]
//
// The home and foreign agents run on threads moved into their namespaces
// (setns), each with its own runtime; the visitor is a Python script run
// with `ip netns exec`, which decodes the advertisements itself.
// ---------------------------------------------------------------------

use std::io::BufRead as _;
use std::os::fd::AsFd as _;
use std::process::{Command, Stdio};
use std::sync::mpsc as std_mpsc;
use tokio::sync::mpsc;

const NS_HA: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const NS_COA: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
const NS_FA: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const NS_CN: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(203, 0, 113, 9), 5000);
const NS_TABLE: u32 = 100;

/// The visitor: waits for an advertisement, solicits one, registers
/// with the request given in hex, waits for a delivered datagram, sends
/// one to the correspondent, sends the second request. One JSON line per
/// step.
const VISITOR_PY: &str = r#"
import json, socket, struct, sys, time
rrq, home, fa, cn_ip, cn_port = bytes.fromhex(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
rrq_nowhere = bytes.fromhex(sys.argv[6])
def out(**kw): print(json.dumps(kw), flush=True)
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def decode(pkt):
    ihl = (pkt[0] & 15) * 4
    icmp = pkt[ihl:]
    n, size, life = icmp[4], icmp[5], struct.unpack("!H", icmp[6:8])[0]
    d = dict(src=socket.inet_ntoa(pkt[12:16]), dst=socket.inet_ntoa(pkt[16:20]), ttl=pkt[8],
             type=icmp[0], code=icmp[1], checksum_ok=csum(bytes(icmp)) == 0, lifetime=life,
             routers=[socket.inet_ntoa(icmp[8 + 8 * i:12 + 8 * i]) for i in range(n)], icmp=icmp.hex())
    i, exts = 8 + 4 * size * n, []
    while i + 2 <= len(icmp):
        t, l = icmp[i], icmp[i + 1]
        body = icmp[i + 2:i + 2 + l]
        exts.append(t)
        if t == 16:
            d["sequence"], d["registration_lifetime"] = struct.unpack("!HH", body[:4])
            d["flags"] = body[4]
            d["care_of"] = [socket.inet_ntoa(body[6 + 4 * k:10 + 4 * k]) for k in range((l - 6) // 4)]
        if t == 19:
            d["prefix_lengths"] = list(body)
        i += 2 + l
    d["extensions"] = exts
    return d
icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
icmp.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"mn0")
icmp.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
icmp.settimeout(5)
def advertisement():
    while True:
        pkt, _ = icmp.recvfrom(65535)
        if pkt[(pkt[0] & 15) * 4] == 9:
            return pkt, time.monotonic()
first, t1 = advertisement()
out(event="advert", **decode(first))
sol = bytearray(8); sol[0] = 10
struct.pack_into("!H", sol, 2, csum(bytes(sol)))
t2 = time.monotonic()
icmp.sendto(bytes(sol), ("224.0.0.11", 0))
second, t3 = advertisement()
out(event="solicited", delay_ms=(t3 - t2) * 1000, since_first_ms=(t3 - t1) * 1000, **decode(second))
data = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
data.bind((home, 6000))
data.settimeout(5)
reg = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
reg.bind((home, 0))
reg.settimeout(5)
reg.sendto(rrq, (fa, 434))
reply, frm = reg.recvfrom(65535)
out(event="reply", src="%s:%d" % frm, reply=reply.hex())
payload, frm = data.recvfrom(65535)
out(event="data", src="%s:%d" % frm, payload=payload.hex())
data.sendto(b"hello cn", (cn_ip, cn_port))
out(event="sent")
reg.sendto(rrq_nowhere, (fa, 434))
reply, frm = reg.recvfrom(65535)
out(event="reply", src="%s:%d" % frm, reply=reply.hex())
"#;

fn run(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Named namespaces, deleted on drop (also when the test fails).
struct Namespaces(Vec<String>);

impl Namespaces {
    fn create(roles: &[&str]) -> Namespaces {
        let mut made = Namespaces(Vec::new());
        for r in roles {
            let name = format!("tsfa{r}{}", std::process::id());
            let _ = Command::new("ip").args(["netns", "del", &name]).output();
            run(&["ip", "netns", "add", &name]);
            made.0.push(name);
        }
        made
    }

    fn name(&self, i: usize) -> &str {
        &self.0[i]
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

/// Requests to an agent thread.
#[derive(Debug)]
enum Req {
    Visitors,
    Inject(Vec<u8>),
    Stop,
}

/// What an agent thread reports.
#[derive(Debug)]
enum Ev {
    Ready,
    Visitors(Vec<VisitorEntry>),
    FromHomeLink(Vec<u8>),
    Stopped,
}

/// Runs `role` on a thread moved into network namespace `ns`; sockets,
/// devices and `ip` commands of that thread live there.
fn in_netns<F, Fut>(ns: &str, role: F) -> (mpsc::UnboundedSender<Req>, std_mpsc::Receiver<Ev>)
where
    F: FnOnce(mpsc::UnboundedReceiver<Req>, std_mpsc::Sender<Ev>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let (req_tx, req_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = std_mpsc::channel();
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let handle = std::fs::File::open(&path).expect("namespace handle");
        rustix::thread::move_into_link_name_space(
            handle.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .expect("setns");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(role(req_rx, ev_tx));
    });
    (req_tx, ev_rx)
}

fn expect_ev(rx: &std_mpsc::Receiver<Ev>, what: &str) -> Ev {
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("waiting for {what}: {e}"))
}

async fn ha_role(mut rx: mpsc::UnboundedReceiver<Req>, tx: std_mpsc::Sender<Ev>, dir: PathBuf) {
    let correspondent = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let mut policy = Policy::new(
        NS_HA,
        HomeNetwork {
            prefix: Ipv4Addr::new(10, 77, 0, 0),
            len: 24,
        },
        b"nonce secret of the test",
    );
    policy.udp_tunnelling = false;
    let mut core = HomeAgent::new(policy);
    core.add_sa_for_home(HOME, mn_ha());
    core.add_fa_ha_sa(NS_COA, fa_ha(FA_HA_KEY));
    let ha = ha_service::start(
        core,
        HaParams {
            listen: SocketAddrV4::new(NS_HA, 434),
            state_dir: dir,
            home_link: LinkConfig::Udp {
                bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                peer: correspondent.local_addr().unwrap(),
            },
            ipip: true,
            compact_after_bytes: 1 << 20,
            vpn: telsec_node::ha_vpn::HaVpnSettings::default(),
        },
    )
    .await
    .expect("home agent starts");
    let link = ha.link_addr().unwrap();
    tx.send(Ev::Ready).unwrap();
    let mut buf = vec![0u8; 65_536];
    loop {
        tokio::select! {
            req = rx.recv() => match req {
                Some(Req::Inject(p)) => {
                    correspondent.send_to(&p, link).await.unwrap();
                }
                Some(Req::Visitors) => {}
                Some(Req::Stop) | None => break,
            },
            r = correspondent.recv_from(&mut buf) => {
                let (n, _) = r.unwrap();
                tx.send(Ev::FromHomeLink(buf[..n].to_vec())).unwrap();
            }
        }
    }
    ha.shutdown().await.unwrap();
    tx.send(Ev::Stopped).unwrap();
}

async fn fa_role(mut rx: mpsc::UnboundedReceiver<Req>, tx: std_mpsc::Sender<Ev>, dir: PathBuf) {
    let settings = FaSettings {
        listen: SocketAddrV4::new(NS_FA, 434),
        care_of_address: Some(NS_COA),
        visitor_interface: Some("vis0".into()),
        advertisement_interval_ms: 1000,
        advertisement_lifetime: 3,
        ipip: true,
        visitor_link: LinkConfig::Tun {
            name: "tsfa0".into(),
            address: None,
            prefix_len: 24,
            mtu: 1400,
        },
        reverse_route_table: Some(NS_TABLE),
        home_agents: vec![FaHaKey {
            home_agent: NS_HA,
            spi: FA_HA_SPI,
            algorithm: "hmac-md5".into(),
            key: FA_HA_KEY.iter().map(|b| format!("{b:02x}")).collect(),
        }],
        ..FaSettings::default()
    };
    let fa = start_fa(&settings, dir.join("fa-visitors.json")).await;
    tx.send(Ev::Ready).unwrap();
    while let Some(req) = rx.recv().await {
        match req {
            Req::Visitors => tx.send(Ev::Visitors(visitors(&fa).await)).unwrap(),
            Req::Inject(_) => {}
            Req::Stop => break,
        }
    }
    fa.shutdown().await.unwrap();
    tx.send(Ev::Stopped).unwrap();
}

fn unhex(v: &serde_json::Value) -> Vec<u8> {
    let h = v.as_str().expect("hex string");
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect()
}

fn json_field<'a>(line: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    line.get(key)
        .unwrap_or_else(|| panic!("{key} missing in {line}"))
}

#[test]
fn namespaces_advertise_deliver_and_reverse_tunnel() {
    let ns = Namespaces::create(&["ha", "fa", "mn"]);
    let (ha_ns, fa_ns, mn_ns) = (ns.name(0), ns.name(1), ns.name(2));
    let ip = |n: &str, args: &str| {
        let mut v = vec!["ip", "-n", n];
        v.extend(args.split_whitespace());
        run(&v);
    };
    run(&[
        "ip", "link", "add", "ha0", "netns", ha_ns, "type", "veth", "peer", "name", "up0", "netns",
        fa_ns,
    ]);
    run(&[
        "ip", "link", "add", "vis0", "netns", fa_ns, "type", "veth", "peer", "name", "mn0",
        "netns", mn_ns,
    ]);
    for n in [ha_ns, fa_ns, mn_ns] {
        ip(n, "link set lo up");
    }
    ip(ha_ns, "addr add 198.51.100.1/24 dev ha0");
    // An address of the home agent's host where nothing listens on 434.
    ip(ha_ns, "addr add 198.51.100.4/24 dev ha0");
    ip(ha_ns, "link set ha0 up");
    ip(fa_ns, "addr add 198.51.100.2/24 dev up0");
    ip(fa_ns, "link set up0 up");
    ip(fa_ns, "addr add 192.0.2.1/24 dev vis0");
    ip(fa_ns, "link set vis0 up");
    ip(mn_ns, "addr add 10.77.0.5/32 dev mn0");
    ip(mn_ns, "link set mn0 up");
    ip(mn_ns, "route add 192.0.2.0/24 dev mn0");
    ip(mn_ns, "route add default via 192.0.2.1 dev mn0");
    // The agent forwards visitors' datagrams into its TUN device.
    run(&[
        "ip",
        "netns",
        "exec",
        fa_ns,
        "sysctl",
        "-qw",
        "net.ipv4.ip_forward=1",
    ]);

    // A rule left by an agent that did not stop cleanly.
    ip(fa_ns, "rule add from 10.77.0.99/32 lookup 100");
    let dir = temp("netns");
    let ha_dir = dir.join("ha");
    let (ha_tx, ha_rx) = in_netns(ha_ns, move |rx, tx| ha_role(rx, tx, ha_dir));
    assert!(matches!(expect_ev(&ha_rx, "home agent"), Ev::Ready));
    let fa_dir = dir.clone();
    let (fa_tx, fa_rx) = in_netns(fa_ns, move |rx, tx| fa_role(rx, tx, fa_dir));
    assert!(matches!(expect_ev(&fa_rx, "foreign agent"), Ev::Ready));

    // The visitor's request: T, through the agent's care-of address.
    let rrq = |home_agent: Ipv4Addr| {
        let mut rrq = Request {
            flags: RequestFlags::default().with(RequestFlags::T, true),
            lifetime: 300,
            home_address: HOME,
            home_agent,
            care_of_address: NS_COA,
            identification: now_ident(),
            extensions: vec![],
        }
        .to_vec()
        .unwrap();
        append_signature(&mut rrq, ExtensionType::MnHaAuth, &mn_ha()).unwrap();
        rrq.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let hex_rrq = rrq(NS_HA);
    let hex_rrq_nowhere = rrq(Ipv4Addr::new(198, 51, 100, 4));
    let mut child = Command::new("ip")
        .args(["netns", "exec", mn_ns, "python3", "-c", VISITOR_PY])
        .args([
            hex_rrq.as_str(),
            "10.77.0.5",
            "192.0.2.1",
            &NS_CN.ip().to_string(),
            &NS_CN.port().to_string(),
            hex_rrq_nowhere.as_str(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let stdout = child.stdout.take().unwrap();
    let (line_tx, lines) = std_mpsc::channel::<serde_json::Value>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let Ok(v) = serde_json::from_str(&line) else {
                break;
            };
            if line_tx.send(v).is_err() {
                break;
            }
        }
    });
    let mut next = |event: &str| -> serde_json::Value {
        match lines.recv_timeout(Duration::from_secs(10)) {
            Ok(v) => {
                assert_eq!(json_field(&v, "event"), event, "{v}");
                v
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                panic!("visitor gave no {event}: {err}");
            }
        }
    };

    // A periodic advertisement, as the visitor decodes it (RFC 5944 §2.1,
    // §2.3.1): from the agent's address, broadcast, TTL 1.
    let ad = next("advert");
    assert_eq!(json_field(&ad, "src"), "192.0.2.1");
    assert_eq!(json_field(&ad, "dst"), "255.255.255.255");
    assert_eq!(json_field(&ad, "ttl"), 1);
    assert_eq!(json_field(&ad, "type"), 9);
    assert_eq!(json_field(&ad, "code"), 0);
    assert_eq!(json_field(&ad, "checksum_ok"), true);
    assert_eq!(json_field(&ad, "lifetime"), 3);
    assert_eq!(
        json_field(&ad, "routers"),
        &serde_json::json!(["192.0.2.1"])
    );
    assert_eq!(json_field(&ad, "extensions"), &serde_json::json!([16, 19]));
    assert_eq!(json_field(&ad, "registration_lifetime"), 1800);
    assert_eq!(
        json_field(&ad, "care_of"),
        &serde_json::json!(["198.51.100.2"])
    );
    assert_eq!(json_field(&ad, "prefix_lengths"), &serde_json::json!([24]));
    // R, F and T (RFC 5944 §2.1.1, RFC 3024).
    assert_eq!(json_field(&ad, "flags"), 0x80 | 0x10 | 0x01);
    let icmp = unhex(json_field(&ad, "icmp"));
    let parsed = telsec_mip::RouterAdvertisement::from_bytes(&icmp).expect("our decoder agrees");
    let seq = parsed.mobility_agent().unwrap().sequence;
    assert_eq!(json_field(&ad, "sequence"), seq);

    // A solicitation is answered at once with the next sequence number,
    // well before the next periodic advertisement.
    let sol = next("solicited");
    assert_eq!(json_field(&sol, "sequence"), seq + 1);
    assert!(
        json_field(&sol, "delay_ms").as_f64().unwrap() < 500.0,
        "{sol}"
    );
    assert!(
        json_field(&sol, "since_first_ms").as_f64().unwrap() < 900.0,
        "{sol}"
    );

    // Registration through the agent: the reply comes from the agent's
    // address, MN-HA for the node, the HA's FA-HA stripped.
    let rep = next("reply");
    assert_eq!(json_field(&rep, "src"), "192.0.2.1:434");
    let reply = unhex(&rep["reply"]);
    let r = Reply::from_bytes(&reply).unwrap();
    assert_eq!(r.code, ReplyCode::Accepted, "{r:?}");
    assert_eq!(extension_types(&reply), [32]);
    verify(&reply, ExtensionType::MnHaAuth, &mn_ha()).unwrap();
    fa_tx.send(Req::Visitors).unwrap();
    let Ev::Visitors(v) = expect_ev(&fa_rx, "visitors") else {
        panic!("visitors");
    };
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].home_address, v[0].tunnel.as_str()), (HOME, "ipip"));
    let rules = run(&["ip", "-n", fa_ns, "rule", "show"]);
    assert!(
        rules.contains("from 10.77.0.5 iif vis0 lookup 100"),
        "{rules}"
    );
    assert!(!rules.contains("10.77.0.99"), "stale rule removed: {rules}");

    // Correspondent -> home address: the HA tunnels IP in IP to the
    // care-of address, the agent delivers it on the visitor link.
    let cn_src = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 7), 7000);
    let to_mn = tunnel::udp_packet(cn_src, SocketAddrV4::new(HOME, 6000), b"hello mn").unwrap();
    ha_tx.send(Req::Inject(to_mn)).unwrap();
    let data = next("data");
    assert_eq!(json_field(&data, "src"), "198.18.0.7:7000");
    assert_eq!(
        json_field(&data, "payload"),
        b"hello mn"
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .as_str()
    );

    // Visitor -> correspondent: policy-routed into the agent's TUN device,
    // IP in IP from the care-of address to the HA, into the home network.
    next("sent");
    let Ev::FromHomeLink(p) = expect_ev(&ha_rx, "reverse-tunnelled datagram") else {
        panic!("home link");
    };
    let p = Ipv4Packet::new_checked(&p).unwrap();
    assert_eq!((p.src(), p.dst()), (HOME, *NS_CN.ip()));
    assert_eq!(p.ttl(), 63, "the agent's kernel forwarded it once");
    assert_eq!(tunnel::udp_payload(&p).unwrap().2, b"hello cn");
    // A request relayed to where no home agent listens draws an ICMP
    // port unreachable, which the agent turns into 82 (RFC 5944 §3.4).
    let rep = next("reply");
    let r = Reply::from_bytes(&unhex(&rep["reply"])).unwrap();
    assert_eq!(r.code, ReplyCode::FaHomeAgentPortUnreachable, "{r:?}");
    let _ = child.wait();

    // Stopping the agent removes its rule and route.
    fa_tx.send(Req::Stop).unwrap();
    assert!(matches!(expect_ev(&fa_rx, "agent stop"), Ev::Stopped));
    let rules = run(&["ip", "-n", fa_ns, "rule", "show"]);
    assert!(!rules.contains("lookup 100"), "{rules}");
    ha_tx.send(Req::Stop).unwrap();
    assert!(matches!(expect_ev(&ha_rx, "home agent stop"), Ev::Stopped));
    let _ = std::fs::remove_dir_all(&dir);
}
