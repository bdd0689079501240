//! Seed 002 end to end with the three real drivers on loopback: the
//! mobile node (`[mn.esp]`) registers through the VPN gateway (`telsec gw`'s
//! driver) with the home agent (`[ha.vpn]`), then moves to a second
//! care-of address and registers again: the registration enters through
//! the gateway's wildcard inbound SA, the home agent answers with an SIU,
//! the gateway moves its outbound SA and sends the reply through it. No
//! key exchange on the way. The private network between the gateway's
//! inside and the home agent is a relay in this test that delivers each
//! inner UDP packet from its own source address, as a router would.
//!
//! Addresses 127.0.0.150-156; ports ephemeral except the node's 4500.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use telsec_mip::ha::{Config as Policy, HomeAgent, HomeNetwork};
use telsec_mip::mn::{Config as MnConfig, Event, MobileNode};
use telsec_mip::{Algorithm, ReplayMode, SecurityAssociation};
use telsec_node::gw_service::{self, GwNode, GwSettings, GwSiuKey};
use telsec_node::ha_service::{self, HaCommand, HaParams};
use telsec_node::ha_vpn::HaVpnSettings;
use telsec_node::mn_esp::MnEspSettings;
use telsec_node::mn_service::{self, MnCommand, MnParams};
use telsec_node::packet_link::LinkConfig;
use telsec_vpn::inner::parse_udp;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

const HA_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 150);
const COA1: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 151);
const COA2: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 152);
const GW_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 153);
const WIRE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 154);
const HOME: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 5);
const MN_HA_KEY: &[u8] = b"a 32-octet key for HMAC-SHA-256!";
const NODE_SECRET: &str = "6e6f6465207365637265742031323334";
const SIU_SECRET: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

fn mn_ha_sa() -> SecurityAssociation {
    SecurityAssociation::new(
        4096,
        Algorithm::HmacSha256,
        MN_HA_KEY,
        ReplayMode::default(),
    )
    .unwrap()
}

fn temp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("telsec-vpn-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The private network: inner UDP packets from the gateway's inside link
/// go to their destination from a socket on their source address.
async fn relay(wire: UdpSocket) {
    let mut from_addr: HashMap<Ipv4Addr, UdpSocket> = HashMap::new();
    let mut buf = vec![0u8; 2048];
    while let Ok(n) = wire.recv(&mut buf).await {
        let Ok(p) = parse_udp(&buf[..n]) else {
            continue;
        };
        if !from_addr.contains_key(p.src.ip()) {
            let Ok(s) = UdpSocket::bind((*p.src.ip(), 0)).await else {
                continue;
            };
            from_addr.insert(*p.src.ip(), s);
        }
        if let Some(s) = from_addr.get(p.src.ip()) {
            let _ = s.send_to(&buf[p.payload.clone()], p.dst).await;
        }
    }
}

async fn registered_at(events: &mut mpsc::Receiver<(u64, Event)>, coa: Ipv4Addr) -> Duration {
    let start = Instant::now();
    let wait = async {
        while let Some((_, e)) = events.recv().await {
            match e {
                Event::Registered { coa: c, .. } if c == coa => return,
                Event::Refused { code, reason } => panic!("refused: {code:?} {reason}"),
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(6), wait)
        .await
        .unwrap_or_else(|_| panic!("not registered at {coa}"));
    start.elapsed()
}

#[tokio::test]
async fn node_registers_and_moves_through_the_gateway() {
    // The home agent, answering registrations from outside with SIUs.
    let gw_siu_probe = UdpSocket::bind((GW_IP, 0)).await.unwrap();
    let siu_port = gw_siu_probe.local_addr().unwrap().port();
    drop(gw_siu_probe);
    let mut policy = Policy::new(
        HA_IP,
        HomeNetwork {
            prefix: Ipv4Addr::new(10, 77, 0, 0),
            len: 24,
        },
        b"nonce secret of the test",
    );
    policy.udp_tunnelling = true;
    let mut core = HomeAgent::new(policy);
    core.add_sa_for_home(HOME, mn_ha_sa());
    let ha = ha_service::start(
        core,
        HaParams {
            listen: SocketAddrV4::new(HA_IP, 0),
            state_dir: temp("ha"),
            home_link: LinkConfig::None,
            ipip: false,
            compact_after_bytes: 1 << 20,
            vpn: HaVpnSettings {
                enabled: true,
                gateway: SocketAddrV4::new(GW_IP, siu_port),
                private_networks: vec!["10.77.0.0/24".into()],
                siu_spi: 768,
                siu_secret: SIU_SECRET.into(),
                node_esp_port: 4500,
            },
        },
    )
    .await
    .unwrap();
    let ha_port = ha.local_addr().port();

    // The gateway, its inside wire to the relay.
    let wire = UdpSocket::bind((WIRE, 0)).await.unwrap();
    let wire_addr = wire.local_addr().unwrap();
    tokio::spawn(relay(wire));
    let gw_settings = GwSettings {
        outside: SocketAddrV4::new(GW_IP, 0),
        siu_listen: SocketAddrV4::new(GW_IP, siu_port),
        home_agent: HA_IP,
        home_agent_port: ha_port,
        inside_link: LinkConfig::Udp {
            bind: SocketAddr::from((WIRE, 0)),
            peer: wire_addr,
        },
        private_networks: vec!["10.77.0.0/24".into()],
        siu_keys: vec![GwSiuKey {
            spi: 768,
            secret: SIU_SECRET.into(),
        }],
        nodes: vec![GwNode {
            home: HOME,
            care_of: COA1,
            care_of_port: 4500,
            secret: NODE_SECRET.into(),
        }],
        ..GwSettings::default()
    };
    let gw = gw_service::start(&gw_settings, temp("gw").join("seq"))
        .await
        .unwrap();
    let SocketAddr::V4(gw_outside) = gw.local_addrs().outside else {
        panic!("IPv4")
    };

    // The node, with only its home agent key and the gateway's secret.
    let mut mn_config = MnConfig::new(
        HOME,
        HA_IP,
        HomeNetwork {
            prefix: Ipv4Addr::new(10, 77, 0, 0),
            len: 24,
        },
        [7; 32],
    );
    mn_config.sa = Some(mn_ha_sa());
    let (tx, mut events) = mpsc::channel(64);
    let mn = mn_service::start(
        MobileNode::new(mn_config).unwrap(),
        MnParams {
            agent_port: ha_port,
            home_link: LinkConfig::None,
            initial_address: Some(COA1),
            interface: None,
            address_poll: Duration::from_secs(1),
            reverse_rule: None,
            esp: Some((
                MnEspSettings {
                    enabled: true,
                    gateway: gw_outside,
                    secret: NODE_SECRET.into(),
                    ..MnEspSettings::default()
                },
                temp("mn").join("seq"),
            )),
        },
        tx,
    )
    .await
    .unwrap();

    registered_at(&mut events, COA1).await;
    let first = gw.stats();
    assert!(first.delivered >= 1, "{first:?}");
    assert_eq!(first.siu_applied, 1, "{first:?}");

    // The move: the node's SA ends first, then its registration through
    // the tunnel; the gateway follows on the SIU.
    mn.commands()
        .send(MnCommand::AddressChanged(Some(COA2)))
        .await
        .unwrap();
    let handover = registered_at(&mut events, COA2).await;
    let after = gw.stats();
    assert_eq!(after.siu_applied, 2, "{after:?}");
    assert_eq!(
        after.dropped_source + after.dropped_auth + after.dropped_replay,
        0,
        "{after:?}"
    );
    let (btx, brx) = oneshot::channel();
    ha.commands().send(HaCommand::Bindings(btx)).await.unwrap();
    let bindings = brx.await.unwrap();
    assert_eq!(bindings.len(), 1);
    assert_eq!(bindings[0].care_of_address, COA2);
    eprintln!("handover through the gateway: {handover:?}");

    mn.shutdown().await;
    gw.shutdown().await.unwrap();
    ha.shutdown().await.unwrap();
}
