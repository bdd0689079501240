//! The home agent's half of seed 002 over real sockets (Figure 4): a
//! registration from outside the private network (so through the VPN
//! gateway) is answered with an SIU to the gateway carrying the reply; the
//! SIU is retransmitted until the gateway acknowledges it; a registration
//! from inside gets the ordinary reply; a refused one produces no SIU.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use telsec_mip::ha::{Config as Policy, HomeAgent, HomeNetwork};
use telsec_mip::{
    Algorithm, NtpTimestamp, ReplayMode, Reply, ReplyCode, ReplyPacket, Request, RequestFlags,
    SecurityAssociation, append_signature, ext::ExtensionType,
};
use telsec_node::ha_service::{self, HaParams, RunningHa};
use telsec_node::ha_vpn::{HaVpnSettings, ntp_now};
use telsec_node::packet_link::LinkConfig;
use telsec_vpn::{HaGwKey, KeyRing, SiuOutcome, SiuReceiver};
use tokio::net::UdpSocket;
use tokio::time::timeout;

const HA_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 37);
/// Outside the private network: where the node registers from, through
/// the gateway.
const OUTSIDE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 38);
/// Inside: the gateway's inner address, and a node at home-side.
const INSIDE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 39);
const HOME: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 5);
const KEY: &[u8] = b"a 32-octet key for HMAC-SHA-256!";
const SIU_SECRET: [u8; 32] = [0x5a; 32];

fn sa() -> SecurityAssociation {
    SecurityAssociation::new(4096, Algorithm::HmacSha256, KEY, ReplayMode::default()).unwrap()
}

fn core() -> HomeAgent {
    let policy = Policy::new(
        HA_IP,
        HomeNetwork {
            prefix: Ipv4Addr::new(10, 77, 0, 0),
            len: 24,
        },
        b"nonce secret of the test",
    );
    let mut ha = HomeAgent::new(policy);
    ha.add_sa_for_home(HOME, sa());
    ha
}

async fn start(gateway: SocketAddrV4, name: &str) -> RunningHa {
    let dir = std::env::temp_dir().join(format!("telsec-ha-vpn-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    ha_service::start(
        core(),
        HaParams {
            listen: SocketAddrV4::new(HA_IP, 0),
            state_dir: dir,
            home_link: LinkConfig::None,
            ipip: false,
            compact_after_bytes: 1 << 20,
            vpn: HaVpnSettings {
                enabled: true,
                gateway,
                private_networks: vec![format!("{INSIDE}/32"), "10.77.0.0/24".to_owned()],
                siu_spi: 768,
                siu_secret: SIU_SECRET.iter().map(|b| format!("{b:02x}")).collect(),
                node_esp_port: 4500,
            },
        },
    )
    .await
    .expect("home agent starts")
}

/// A co-located registration from `coa`, signed with `key`.
fn request(coa: Ipv4Addr, key: &SecurityAssociation) -> Vec<u8> {
    let ms = ha_service::now_ms();
    let mut bytes = Request {
        flags: RequestFlags::default(),
        lifetime: 600,
        home_address: HOME,
        home_agent: HA_IP,
        care_of_address: coa,
        identification: NtpTimestamp::from_unix(ms / 1000, ((ms % 1000) * 1_000_000) as u32).0,
        extensions: vec![],
    }
    .to_vec()
    .unwrap();
    append_signature(&mut bytes, ExtensionType::MnHaAuth, key).unwrap();
    bytes
}

async fn recv_within(sock: &UdpSocket, ms: u64) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = vec![0u8; 4096];
    let (n, from) = timeout(Duration::from_millis(ms), sock.recv_from(&mut buf))
        .await
        .ok()?
        .ok()?;
    buf.truncate(n);
    Some((buf, from))
}

fn receiver() -> SiuReceiver {
    let mut keys = KeyRing::new();
    keys.insert(HaGwKey::new(768, &SIU_SECRET).unwrap());
    SiuReceiver::new(keys)
}

#[tokio::test]
async fn outside_registration_is_answered_by_siu_until_acked() {
    let gateway = UdpSocket::bind((INSIDE, 0)).await.unwrap();
    let SocketAddr::V4(gw_addr) = gateway.local_addr().unwrap() else {
        unreachable!()
    };
    let ha = start(gw_addr, "outside").await;
    let node = UdpSocket::bind((OUTSIDE, 0)).await.unwrap();
    node.send_to(&request(OUTSIDE, &sa()), ha.local_addr())
        .await
        .unwrap();

    // The gateway gets an SIU; the node gets nothing directly.
    let Some((siu, from)) = recv_within(&gateway, 3000).await else {
        let direct = recv_within(&node, 100).await;
        panic!("no SIU; the node got {direct:?}");
    };
    assert_eq!(from, SocketAddr::V4(ha.local_addr()));
    let mut rx = receiver();
    let SiuOutcome::Accepted { update, ack, .. } = rx.handle(ntp_now(), &siu) else {
        panic!("SIU refused")
    };
    assert_eq!(
        (update.home, update.new_coa, update.new_port),
        (HOME, OUTSIDE, 4500)
    );
    assert_eq!(update.old_coa, OUTSIDE, "first binding: no earlier address");
    let reply = Reply::parse(&ReplyPacket::new_checked(&update.reply[..]).unwrap()).unwrap();
    assert_eq!(reply.code, ReplyCode::Accepted);
    assert!(recv_within(&node, 300).await.is_none(), "no direct reply");

    // Without an Ack the SIU is sent again (fresh Identification).
    let (again, _) = recv_within(&gateway, 2500).await.expect("a retransmission");
    assert_ne!(again, siu);
    let SiuOutcome::Accepted { ack: ack2, .. } = rx.handle(ntp_now(), &again) else {
        panic!("retransmission refused")
    };
    // Acked: no more retransmissions.
    // The Ack of the first transmission no longer matches (superseded);
    // the Ack of the second does, and ends the retransmissions.
    gateway.send_to(&ack, ha.local_addr()).await.unwrap();
    gateway.send_to(&ack2, ha.local_addr()).await.unwrap();
    assert!(
        recv_within(&gateway, 4500).await.is_none(),
        "still retransmitting"
    );
    ha.shutdown().await.unwrap();
}

#[tokio::test]
async fn inside_registration_gets_the_ordinary_reply_and_refusals_no_siu() {
    let gateway = UdpSocket::bind((INSIDE, 0)).await.unwrap();
    let SocketAddr::V4(gw_addr) = gateway.local_addr().unwrap() else {
        unreachable!()
    };
    let ha = start(gw_addr, "inside").await;
    // From inside the private network: the ordinary reply.
    let inside = UdpSocket::bind((INSIDE, 0)).await.unwrap();
    inside
        .send_to(&request(INSIDE, &sa()), ha.local_addr())
        .await
        .unwrap();
    let (reply, _) = recv_within(&inside, 3000).await.expect("a direct reply");
    assert_eq!(
        Reply::parse(&ReplyPacket::new_checked(&reply[..]).unwrap())
            .unwrap()
            .code,
        ReplyCode::Accepted
    );
    // From outside with a wrong key: refused, and no SIU.
    let wrong =
        SecurityAssociation::new(4096, Algorithm::HmacSha256, &[9; 32], ReplayMode::default())
            .unwrap();
    let node = UdpSocket::bind((OUTSIDE, 0)).await.unwrap();
    node.send_to(&request(OUTSIDE, &wrong), ha.local_addr())
        .await
        .unwrap();
    assert!(
        recv_within(&gateway, 1500).await.is_none(),
        "an SIU for a refused registration"
    );
    ha.shutdown().await.unwrap();
}
