//! Seed 002's handover, deterministically, with real ESP (telsec-esp) and
//! real SIUs and no sockets: the node moves from care-of address 1 to 2,
//! its registration goes through the gateway's wildcard inbound SA, the
//! home agent answers with an SIU, the gateway moves its outbound SA and
//! only then sends the reply through it. Then the attacks of issue 5 §3:
//! nothing but a validated SIU moves the outbound SA.
// Test code: a failed step should stop the test where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Instant;

use telsec_esp::{AddrRange, Algorithm, Direction, SaConfig, SecurityAssociation};
use telsec_vpn::{
    AckStatus, FromInside, FromOutside, Gateway, GatewayError, HaGwKey, HaLink, KeyRing,
    NodeTunnelEnd, ReplyRoute, SecurityInfoUpdate, SenderConfig, SenderEvent, SiuReceiver,
    SiuSender,
};

const HA: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const HOME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 50);
const CORRESPONDENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);
const GW: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const COA1: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const COA2: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 20);
const ELSEWHERE: Ipv4Addr = Ipv4Addr::new(233, 252, 0, 7);
const NODE_TO_GW: u32 = 0x1000;
const GW_TO_NODE: u32 = 0x2000;
const SIU_SPI: u32 = 0x300;
/// 2026-11-23 in NTP seconds (era 0), shifted into the high 32 bits.
const NTP: u64 = 3_973_000_000 << 32;

fn at(ip: Ipv4Addr) -> SocketAddr {
    SocketAddr::from((ip, 4500))
}

fn sa(
    spi: u32,
    direction: Direction,
    key: u8,
    local: Ipv4Addr,
    peer: Option<Ipv4Addr>,
) -> SecurityAssociation {
    let mut c = SaConfig::new(
        spi,
        direction,
        Algorithm::AesGcm128,
        &[key; 20],
        IpAddr::V4(local),
    );
    c.peer = peer.map(at);
    SecurityAssociation::new(c, Instant::now()).unwrap()
}

fn keys() -> KeyRing {
    let mut k = KeyRing::new();
    k.insert(HaGwKey::new(SIU_SPI, &[0x5a; 32]).unwrap());
    k
}

/// An IPv4/UDP packet (checksums computed).
fn udp(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    telsec_vpn::inner::emit_udp(
        SocketAddrV4::new(src, sport),
        SocketAddrV4::new(dst, dport),
        1,
        payload,
        &mut p,
    )
    .unwrap();
    p
}

struct World {
    now: Instant,
    node: NodeTunnelEnd,
    gw: Gateway,
    ha: HaLink,
}

fn world() -> World {
    let now = Instant::now();
    let node = NodeTunnelEnd::new(
        sa(GW_TO_NODE, Direction::Inbound, 2, COA1, Some(GW)),
        sa(NODE_TO_GW, Direction::Outbound, 1, COA1, Some(GW)),
    )
    .unwrap();
    let mut gw = Gateway::new(HA, SiuReceiver::new(keys()), 64);
    gw.add_node(
        HOME,
        // The wildcard: any outer source.
        sa(NODE_TO_GW, Direction::Inbound, 1, GW, None),
        sa(GW_TO_NODE, Direction::Outbound, 2, GW, Some(COA1)),
    )
    .unwrap();
    let sender = SiuSender::new(keys(), SenderConfig::default()).unwrap();
    let ha = HaLink::new(
        vec![AddrRange::prefix(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)), 8).unwrap()],
        sender,
        SIU_SPI,
    );
    World { now, node, gw, ha }
}

impl World {
    /// A correspondent's packet to the node's home address, through the
    /// gateway: where it is sent.
    fn data_goes_to(&mut self) -> SocketAddr {
        let packet = udp(CORRESPONDENT, HOME, 5000, 6000, b"data");
        let mut out = [0u8; 2048];
        match self.gw.from_inside(self.now, &packet, &mut out).unwrap() {
            FromInside::Send { to, .. } => to,
            FromInside::NotForANode => panic!("not for a node"),
        }
    }

    /// The node seals `inner`; the datagram and where it comes from.
    fn node_sends(&mut self, inner: &[u8]) -> (SocketAddr, Vec<u8>) {
        let mut out = [0u8; 2048];
        let o = self.node.seal(self.now, inner, &mut out).unwrap();
        assert_eq!(o.to, at(GW));
        (o.from, out[..o.len].to_vec())
    }
}

fn registration_reply() -> Vec<u8> {
    // The RFC 5944 §3.4 fixed part: type 3, code 0 (accepted), lifetime
    // 600, home address, home agent, identification.
    let mut r = vec![3, 0, 0x02, 0x58];
    r.extend_from_slice(&HOME.octets());
    r.extend_from_slice(&HA.octets());
    r.extend_from_slice(&[0x11; 8]);
    r
}

fn update() -> SecurityInfoUpdate {
    SecurityInfoUpdate {
        home: HOME,
        old_coa: COA1,
        new_coa: COA2,
        new_port: 4500,
        lifetime: 600,
        reply: registration_reply(),
    }
}

#[test]
fn handover_moves_the_outbound_sa_only_on_the_siu() {
    let mut w = world();
    assert_eq!(w.data_goes_to(), at(COA1));

    // 1. The node moves its own ends, then registers through the tunnel.
    w.node.change_care_of(COA2);
    let rrq = udp(COA2, HA, 434, 434, b"registration request");
    let (from, mut datagram) = w.node_sends(&rrq);
    assert_eq!(from, at(COA2));
    let replayed = datagram.clone();
    match w.gw.from_outside(w.now, from, &mut datagram) {
        FromOutside::Deliver { inner, home } => {
            assert_eq!(home, HOME);
            assert_eq!(&datagram[inner], &rrq[..]);
        }
        other => panic!("{other:?}"),
    }
    // The registration got in; nothing moved yet.
    assert_eq!(w.gw.node(HOME).unwrap().coa, COA1);
    assert_eq!(w.data_goes_to(), at(COA1));

    // An attacker replays that authentic datagram from elsewhere: the
    // replay window drops it, and still nothing moves.
    let mut again = replayed.clone();
    assert!(matches!(
        w.gw.from_outside(w.now, at(ELSEWHERE), &mut again),
        FromOutside::Dropped(GatewayError::Esp(telsec_esp::Error::Replay(_)))
    ));
    assert_eq!(w.data_goes_to(), at(COA1));

    // 2. The home agent accepted it; the source is outside: an SIU.
    let ReplyRoute::ViaGateway(siu) = w.ha.route(w.now, NTP, COA2, update()).unwrap() else {
        panic!("expected an SIU")
    };
    // A forged SIU (one bit) is not answered and moves nothing.
    let mut forged = siu.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let mut out = [0u8; 2048];
    let h = w.gw.handle_siu(w.now, NTP, &forged, &mut out);
    assert!(h.ack.is_none() && h.moved.is_none() && h.reply.is_none());
    assert_eq!(w.data_goes_to(), at(COA1));

    // 3. The real SIU: the SA moves, then the reply leaves through it.
    let h = w.gw.handle_siu(w.now, NTP, &siu, &mut out);
    assert_eq!(h.refused, None);
    assert_eq!(h.moved, Some((HOME, at(COA1), at(COA2))));
    let (len, to) = h.reply.expect("the reply through the moved SA");
    assert_eq!(to, at(COA2));
    let sealed = out[..len].to_vec();
    let mut reply = sealed.clone();
    let inner = w.node.open(w.now, at(GW), &mut reply).unwrap();
    // HA:434 -> new care-of:434 (the port the registration came from),
    // carrying the reply the SIU held.
    assert_eq!(
        &reply[inner],
        &udp(HA, COA2, 434, 434, &registration_reply())[..]
    );
    assert!(
        w.node.open(w.now, at(GW), &mut sealed.clone()).is_err(),
        "the node's window refuses the same reply twice"
    );
    match w
        .ha
        .sender_mut()
        .handle_ack(w.now, NTP, &h.ack.unwrap())
        .unwrap()
    {
        SenderEvent::Applied { home, status } => {
            assert_eq!((home, status), (HOME, AckStatus::Applied));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(w.data_goes_to(), at(COA2));

    // 4. The same SIU again: an authenticated refusal, nothing moves.
    let h = w.gw.handle_siu(w.now, NTP, &siu, &mut out);
    assert!(h.moved.is_none() && h.ack.is_some() && h.refused.is_some());
    assert_eq!(w.data_goes_to(), at(COA2));
}

#[test]
fn inner_sources_other_than_the_node_are_refused_except_registrations() {
    let mut w = world();
    // An authentic packet from a new outer address with the node's own
    // inner source is delivered, but moves nothing.
    let own = udp(COA1, CORRESPONDENT, 6000, 5000, b"hello");
    let (_, mut d) = w.node_sends(&own);
    assert!(matches!(
        w.gw.from_outside(w.now, at(ELSEWHERE), &mut d),
        FromOutside::Deliver { .. }
    ));
    assert_eq!(w.data_goes_to(), at(COA1));
    // A spoofed inner source is dropped after decryption.
    let spoofed = udp(ELSEWHERE, CORRESPONDENT, 6000, 5000, b"spoof");
    let (from, mut d) = w.node_sends(&spoofed);
    assert!(matches!(
        w.gw.from_outside(w.now, from, &mut d),
        FromOutside::Dropped(GatewayError::SourceNotNode { .. })
    ));
    // From that same source, a registration request to the home agent is
    // the one exception.
    let rrq = udp(ELSEWHERE, HA, 434, 434, b"registration request");
    let (from, mut d) = w.node_sends(&rrq);
    assert!(matches!(
        w.gw.from_outside(w.now, from, &mut d),
        FromOutside::Deliver { .. }
    ));
}

#[test]
fn siu_for_an_unknown_node_or_a_wrong_old_address_moves_nothing() {
    let mut w = world();
    let mut out = [0u8; 2048];
    let stranger = SecurityInfoUpdate {
        home: Ipv4Addr::new(10, 0, 0, 77),
        ..update()
    };
    let ReplyRoute::ViaGateway(siu) = w.ha.route(w.now, NTP, COA2, stranger).unwrap() else {
        panic!("expected an SIU")
    };
    let h = w.gw.handle_siu(w.now, NTP, &siu, &mut out);
    assert!(h.moved.is_none() && h.ack.is_some());
    let wrong_old = SecurityInfoUpdate {
        old_coa: ELSEWHERE,
        ..update()
    };
    let ReplyRoute::ViaGateway(siu) = w.ha.route(w.now, NTP + (1 << 32), COA2, wrong_old).unwrap()
    else {
        panic!("expected an SIU")
    };
    let h = w.gw.handle_siu(w.now, NTP + (1 << 32), &siu, &mut out);
    assert!(h.moved.is_none() && h.ack.is_some());
    assert_eq!(w.data_goes_to(), at(COA1));
}

#[test]
fn a_registration_from_inside_gets_the_ordinary_reply() {
    let mut w = world();
    let inside = Ipv4Addr::new(10, 0, 0, 60);
    assert_eq!(
        w.ha.route(w.now, NTP, inside, update()).unwrap(),
        ReplyRoute::Direct
    );
}
