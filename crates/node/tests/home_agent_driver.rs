//! The home agent's driver over real sockets on loopback, unprivileged:
//! a mobile node registers with UDP tunnelling (RFC 3519), a correspondent
//! on the home link reaches it through the tunnel and back (RFC 3024), a
//! stranger cannot inject through the tunnel, a replayed registration is
//! refused and changes nothing, the keep-alive echo is answered, and the
//! bindings and replay state survive a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::Duration;

use telsec_mip::ext::{Encapsulation, Extension, ExtensionType, UdpTunnelRequest};
use telsec_mip::ha::{Binding, Config as Policy, HomeAgent, HomeNetwork};
use telsec_mip::tunnel::{self, Ipv4Packet};
use telsec_mip::{
    Algorithm, NtpTimestamp, ReplayMode, Reply, ReplyCode, Request, RequestFlags,
    SecurityAssociation, append_signature,
};
use telsec_node::ha_service::{self, HaCommand, HaParams, RunningHa};
use telsec_node::packet_link::LinkConfig;
use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::time::timeout;

const HA_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 30);
const HOME: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 5);
/// The care-of address the node reports; its socket is elsewhere, as
/// behind a NAT, so the home agent chooses UDP tunnelling.
const COA: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 50);
const KEY: &[u8] = b"a 32-octet key for HMAC-SHA-256!";

fn sa() -> SecurityAssociation {
    SecurityAssociation::new(4096, Algorithm::HmacSha256, KEY, ReplayMode::default()).unwrap()
}

fn core() -> HomeAgent {
    let mut policy = Policy::new(
        HA_IP,
        HomeNetwork {
            prefix: Ipv4Addr::new(10, 77, 0, 0),
            len: 24,
        },
        b"nonce secret of the test",
    );
    policy.udp_tunnelling = true;
    let mut ha = HomeAgent::new(policy);
    ha.add_sa_for_home(HOME, sa());
    ha
}

fn state_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("telsec-ha-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

async fn start(dir: &Path, link_peer: SocketAddr) -> RunningHa {
    ha_service::start(
        core(),
        HaParams {
            listen: SocketAddrV4::new(HA_IP, 0),
            state_dir: dir.to_owned(),
            home_link: LinkConfig::Udp {
                bind: SocketAddr::from((HA_IP, 0)),
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

fn request(ident: u64) -> Vec<u8> {
    let mut bytes = Request {
        flags: RequestFlags::default().with(RequestFlags::T, true),
        lifetime: 600,
        home_address: HOME,
        home_agent: HA_IP,
        care_of_address: COA,
        identification: ident,
        extensions: vec![Extension::UdpTunnelRequest(UdpTunnelRequest {
            sub_type: 0,
            force: false,
            registration_through_fa: false,
            encapsulation: Encapsulation::IpInIp,
        })],
    }
    .to_vec()
    .unwrap();
    append_signature(&mut bytes, ExtensionType::MnHaAuth, &sa()).unwrap();
    bytes
}

fn now_ident() -> u64 {
    let ms = ha_service::now_ms();
    NtpTimestamp::from_unix(ms / 1000, ((ms % 1000) * 1_000_000) as u32).0
}

async fn recv(sock: &UdpSocket) -> Vec<u8> {
    let mut buf = vec![0u8; 65_536];
    let (n, _) = timeout(Duration::from_secs(5), sock.recv_from(&mut buf))
        .await
        .expect("answer within 5 s")
        .unwrap();
    buf.truncate(n);
    buf
}

async fn nothing_within(sock: &UdpSocket, ms: u64) -> bool {
    let mut buf = [0u8; 2048];
    timeout(Duration::from_millis(ms), sock.recv_from(&mut buf))
        .await
        .is_err()
}

async fn bindings(ha: &RunningHa) -> Vec<Binding> {
    let (tx, rx) = oneshot::channel();
    ha.commands().send(HaCommand::Bindings(tx)).await.unwrap();
    rx.await.unwrap()
}

#[tokio::test]
async fn registration_tunnel_reverse_replay_restart() {
    let dir = state_dir("driver");
    let correspondent = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 31), 0))
        .await
        .unwrap();
    let mn = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 32), 0))
        .await
        .unwrap();
    let stranger = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 33), 0))
        .await
        .unwrap();
    let ha = start(&dir, correspondent.local_addr().unwrap()).await;
    let ha_addr = ha.local_addr();
    let link = ha.link_addr().expect("udp link");

    // Register.
    let ident = now_ident();
    let rrq = request(ident);
    mn.send_to(&rrq, ha_addr).await.unwrap();
    let reply = Reply::from_bytes(&recv(&mn).await).unwrap();
    assert_eq!(reply.code, ReplyCode::Accepted);
    assert_eq!(reply.lifetime, 600);
    assert!(
        reply
            .extensions
            .iter()
            .any(|e| matches!(e, Extension::UdpTunnelReply(_)))
    );
    let bound = bindings(&ha).await;
    assert_eq!(bound.len(), 1);
    assert_eq!(bound[0].care_of_address, COA);

    // Correspondent -> home address: arrives at the node's socket, tunnelled.
    let corr_addr = SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 7), 5000);
    let to_mn = tunnel::udp_packet(corr_addr, SocketAddrV4::new(HOME, 6000), b"hello mn").unwrap();
    correspondent.send_to(&to_mn, link).await.unwrap();
    let got = recv(&mn).await;
    let inner = tunnel::open_udp_data(&got).expect("tunnel data");
    assert_eq!(inner.dst(), HOME);
    assert_eq!(inner.ttl(), 63, "forwarding decrements the inner TTL");
    assert_eq!(tunnel::udp_payload(&inner).unwrap().2, b"hello mn");

    // Node -> correspondent through the reverse tunnel.
    let from_mn =
        tunnel::udp_packet(SocketAddrV4::new(HOME, 6000), corr_addr, b"hello cn").unwrap();
    let mut d = Vec::new();
    tunnel::emit_udp_data(&from_mn, &mut d);
    mn.send_to(&d, ha_addr).await.unwrap();
    let out = recv(&correspondent).await;
    assert_eq!(out, from_mn);

    // A stranger's tunnel packet with the node's source is not let in.
    stranger.send_to(&d, ha_addr).await.unwrap();
    assert!(nothing_within(&correspondent, 300).await);

    // Keep-alive echo answered through the tunnel.
    let mut ka = Vec::new();
    tunnel::emit_udp_data(&tunnel::echo_request(HOME, HA_IP, 0x0102, 7), &mut ka);
    mn.send_to(&ka, ha_addr).await.unwrap();
    let echo = recv(&mn).await;
    let echo = tunnel::open_udp_data(&echo).unwrap();
    assert_eq!(
        (echo.src(), echo.dst(), echo.payload()[0]),
        (HA_IP, HOME, 0)
    );

    // The same request again: a replay, 133, nothing changes.
    let before = bindings(&ha).await;
    stranger.send_to(&rrq, ha_addr).await.unwrap();
    let replayed = Reply::from_bytes(&recv(&stranger).await).unwrap();
    assert_eq!(replayed.code, ReplyCode::HaIdentificationMismatch);
    assert_eq!(bindings(&ha).await, before);

    // A forged request (bit flipped in the authenticator): 131.
    let mut forged = request(now_ident());
    let last = forged.len() - 1;
    forged[last] ^= 1;
    stranger.send_to(&forged, ha_addr).await.unwrap();
    let denied = Reply::from_bytes(&recv(&stranger).await).unwrap();
    assert_eq!(denied.code, ReplyCode::HaMobileNodeFailedAuthentication);
    assert_eq!(bindings(&ha).await, before);

    // Restart: bindings and replay state come back.
    ha.shutdown().await.unwrap();
    let ha = start(&dir, correspondent.local_addr().unwrap()).await;
    assert_eq!(bindings(&ha).await, before);
    let ha_addr = ha.local_addr();
    mn.send_to(&rrq, ha_addr).await.unwrap();
    let after_restart = Reply::from_bytes(&recv(&mn).await).unwrap();
    assert_eq!(after_restart.code, ReplyCode::HaIdentificationMismatch);
    // Traffic still flows to the restored binding.
    correspondent
        .send_to(&to_mn, ha.link_addr().unwrap())
        .await
        .unwrap();
    let again = recv(&mn).await;
    let inner = tunnel::open_udp_data(&again).unwrap();
    assert_eq!(
        Ipv4Packet::new_checked(inner.as_bytes()).unwrap().dst(),
        HOME
    );
    ha.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn crash_keeps_acknowledged_bindings() {
    // The journal is synced before the reply: after an abort (no final
    // snapshot) the acknowledged binding is read back from the journal.
    let dir = state_dir("crash");
    let correspondent = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 31), 0))
        .await
        .unwrap();
    let mn = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 32), 0))
        .await
        .unwrap();
    let ha = start(&dir, correspondent.local_addr().unwrap()).await;
    mn.send_to(&request(now_ident()), ha.local_addr())
        .await
        .unwrap();
    let reply = Reply::from_bytes(&recv(&mn).await).unwrap();
    assert_eq!(reply.code, ReplyCode::Accepted);
    let (snapshot, journal) = ha_service::read_state(&dir).unwrap();
    let mut restored = core();
    restored
        .restore_with_journal(&snapshot, &journal, ha_service::now_ms())
        .unwrap();
    assert_eq!(restored.bindings().len(), 1);
    assert!(
        !journal.is_empty(),
        "binding is in the journal, not yet in a snapshot"
    );
    ha.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
