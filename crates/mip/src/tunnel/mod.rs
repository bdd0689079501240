//! The tunnels that carry datagrams between home agent, foreign agent and
//! mobile node, as pure functions over octets:
//!
//! * IP in IP (RFC 2003), the encapsulation every Mobile IP agent offers;
//! * the MIP Tunnel Data message of RFC 3519 §3.3, which carries the same
//!   inner packet inside UDP on port 434 so it crosses NATs (and needs no
//!   raw socket, which is why telsec's unprivileged setups use it);
//! * the keep-alive echo of RFC 3519 §4.9, answered by the home agent
//!   inside the tunnel.
//!
//! Forwarding decisions (which binding, which endpoint) are the home
//! agent's ([`crate::ha::HomeAgent::tunnel_targets`]); this module only
//! builds and opens the packets.

pub mod ipv4;

use std::net::Ipv4Addr;

pub use ipv4::{Ipv4Error, Ipv4Header, Ipv4Packet};

/// Message type of the MIP Tunnel Data message (RFC 3519 §3.3).
pub const TUNNEL_DATA_TYPE: u8 = 4;
/// Length of its header: type, next header, reserved (16 bits).
pub const TUNNEL_DATA_HEADER_LEN: usize = 4;

/// RFC 3519 §3.3 Next Header values: what follows the tunnel header.
pub const NEXT_HEADER_IPV4: u8 = 4;
/// GRE (RFC 2784).
pub const NEXT_HEADER_GRE: u8 = 47;
/// Minimal encapsulation (RFC 2004).
pub const NEXT_HEADER_MINIMAL: u8 = 55;

/// Why a tunnelled packet was not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TunnelError {
    /// Shorter than the tunnel header.
    #[error("truncated tunnel packet")]
    Truncated,
    /// The UDP payload is not a Tunnel Data message (type 4).
    #[error("not a tunnel data message (type {0})")]
    NotData(u8),
    /// An encapsulation we do not open (GRE, minimal).
    #[error("unsupported next header {0}")]
    UnsupportedNextHeader(u8),
    /// The outer packet is not IP in IP.
    #[error("outer protocol {0} is not IP in IP")]
    NotIpInIp(u8),
    /// The inner (or outer) packet is not valid IPv4.
    #[error(transparent)]
    Ipv4(#[from] Ipv4Error),
    /// The inner TTL is exhausted: a forwarder must drop it (RFC 2003 §3.1).
    #[error("inner TTL exhausted")]
    TtlExhausted,
    /// The packet would exceed 65535 octets.
    #[error("packet too large to encapsulate")]
    TooLarge,
}

/// Appends the RFC 3519 Tunnel Data message carrying `inner` (an IPv4
/// packet, Next Header 4) to `out`. The inner packet is forwarded
/// unchanged apart from its TTL, which the caller decrements when it is
/// forwarding ([`decrement_ttl`]).
pub fn emit_udp_data(inner: &[u8], out: &mut Vec<u8>) {
    out.reserve(TUNNEL_DATA_HEADER_LEN + inner.len());
    out.extend_from_slice(&[TUNNEL_DATA_TYPE, NEXT_HEADER_IPV4, 0, 0]);
    out.extend_from_slice(inner);
}

/// Opens a Tunnel Data message: checks the header and returns the inner
/// IPv4 packet (checked). Registration messages share the port (RFC 3519
/// §4.7): the caller tells them apart by the first octet before calling.
pub fn open_udp_data(datagram: &[u8]) -> Result<Ipv4Packet<'_>, TunnelError> {
    let [kind, next, _, _, inner @ ..] = datagram else {
        return Err(TunnelError::Truncated);
    };
    if *kind != TUNNEL_DATA_TYPE {
        return Err(TunnelError::NotData(*kind));
    }
    if *next != NEXT_HEADER_IPV4 {
        return Err(TunnelError::UnsupportedNextHeader(*next));
    }
    Ok(Ipv4Packet::new_checked(inner)?)
}

/// Appends an IP-in-IP packet (RFC 2003 §3.1) from `src` to `dst` carrying
/// `inner` to `out`: TOS copied from the inner header, DF copied
/// (RFC 2003 §5.1), TTL [`ipv4::DEFAULT_TTL`].
pub fn emit_ipip(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ident: u16,
    inner: &Ipv4Packet<'_>,
    out: &mut Vec<u8>,
) -> Result<(), TunnelError> {
    Ipv4Header {
        src,
        dst,
        protocol: ipv4::PROTO_IPIP,
        tos: inner.tos(),
        ttl: ipv4::DEFAULT_TTL,
        dont_fragment: inner.dont_fragment(),
        ident,
    }
    .emit(inner.as_bytes().len(), out)
    .ok_or(TunnelError::TooLarge)?;
    out.extend_from_slice(inner.as_bytes());
    Ok(())
}

/// Opens an IP-in-IP packet: returns the outer packet (for its source,
/// the tunnel entry point) and the inner one, both checked.
pub fn open_ipip(packet: &[u8]) -> Result<(Ipv4Packet<'_>, Ipv4Packet<'_>), TunnelError> {
    let outer = Ipv4Packet::new_checked(packet)?;
    if outer.protocol() != ipv4::PROTO_IPIP {
        return Err(TunnelError::NotIpInIp(outer.protocol()));
    }
    let inner = Ipv4Packet::new_checked(outer.payload())?;
    Ok((outer, inner))
}

/// Decrements the TTL of the IPv4 packet in `packet` in place, updating
/// the header checksum incrementally (RFC 1624 eq. 3), as a forwarder
/// must before encapsulating (RFC 2003 §3.1). Fails, leaving the packet
/// unchanged, when the TTL would reach zero.
pub fn decrement_ttl(packet: &mut [u8]) -> Result<(), TunnelError> {
    Ipv4Packet::new_checked(packet)?;
    let ttl = packet[8];
    if ttl <= 1 {
        return Err(TunnelError::TtlExhausted);
    }
    let old_word = u16::from_be_bytes([packet[8], packet[9]]);
    packet[8] = ttl - 1;
    let new_word = u16::from_be_bytes([packet[8], packet[9]]);
    let hc = u16::from_be_bytes([packet[10], packet[11]]);
    // HC' = ~(~HC + ~m + m')
    let mut sum = u32::from(!hc) + u32::from(!old_word) + u32::from(new_word);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    packet[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    Ok(())
}

/// An ICMP Echo Request from `src` to `dst` (identifier and sequence as
/// given): the keep-alive a mobile node sends through its UDP tunnel
/// (RFC 3519 §4.9), which [`echo_reply`] answers.
pub fn echo_request(src: Ipv4Addr, dst: Ipv4Addr, ident: u16, seq: u16) -> Vec<u8> {
    let mut icmp = [8, 0, 0, 0, 0, 0, 0, 0];
    icmp[4..6].copy_from_slice(&ident.to_be_bytes());
    icmp[6..8].copy_from_slice(&seq.to_be_bytes());
    let sum = ipv4::checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut out = Vec::with_capacity(ipv4::HEADER_LEN + icmp.len());
    // 28 octets always fit in a packet.
    let _ = Ipv4Header {
        src,
        dst,
        protocol: ipv4::PROTO_ICMP,
        tos: 0,
        ttl: ipv4::DEFAULT_TTL,
        dont_fragment: false,
        ident: 0,
    }
    .emit(icmp.len(), &mut out);
    out.extend_from_slice(&icmp);
    out
}

/// If `inner` is an ICMP Echo Request addressed to `to` (the keep-alive of
/// RFC 3519 §4.9, or a ping of the agent through the tunnel), the Echo
/// Reply to send back through the same tunnel.
pub fn echo_reply(inner: &Ipv4Packet<'_>, to: Ipv4Addr) -> Option<Vec<u8>> {
    if inner.dst() != to || inner.protocol() != ipv4::PROTO_ICMP {
        return None;
    }
    let icmp = inner.payload();
    // Type 8 code 0, and a checksum that verifies.
    if icmp.len() < 8 || icmp[0] != 8 || icmp[1] != 0 || ipv4::checksum(icmp) != 0 {
        return None;
    }
    let mut reply_icmp = icmp.to_vec();
    reply_icmp[0] = 0;
    reply_icmp[2] = 0;
    reply_icmp[3] = 0;
    let sum = ipv4::checksum(&reply_icmp);
    reply_icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut out = Vec::with_capacity(ipv4::HEADER_LEN + reply_icmp.len());
    Ipv4Header {
        src: to,
        dst: inner.src(),
        protocol: ipv4::PROTO_ICMP,
        tos: inner.tos(),
        ttl: ipv4::DEFAULT_TTL,
        dont_fragment: false,
        ident: 0,
    }
    .emit(reply_icmp.len(), &mut out)?;
    out.extend_from_slice(&reply_icmp);
    Some(out)
}

/// Builds an IPv4/UDP packet (checksum computed over the RFC 768 pseudo
/// header), for tests and for the unprivileged home link that carries
/// whole IP packets in UDP datagrams.
pub fn udp_packet(
    src: std::net::SocketAddrV4,
    dst: std::net::SocketAddrV4,
    payload: &[u8],
) -> Option<Vec<u8>> {
    let udp_len = u16::try_from(8 + payload.len()).ok()?;
    let mut udp = Vec::with_capacity(usize::from(udp_len));
    udp.extend_from_slice(&src.port().to_be_bytes());
    udp.extend_from_slice(&dst.port().to_be_bytes());
    udp.extend_from_slice(&udp_len.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    let mut pseudo = Vec::with_capacity(12 + udp.len());
    pseudo.extend_from_slice(&src.ip().octets());
    pseudo.extend_from_slice(&dst.ip().octets());
    pseudo.extend_from_slice(&[0, ipv4::PROTO_UDP]);
    pseudo.extend_from_slice(&udp_len.to_be_bytes());
    pseudo.extend_from_slice(&udp);
    let sum = match ipv4::checksum(&pseudo) {
        0 => 0xffff,
        s => s,
    };
    udp[6..8].copy_from_slice(&sum.to_be_bytes());
    let mut out = Vec::with_capacity(ipv4::HEADER_LEN + udp.len());
    Ipv4Header {
        src: *src.ip(),
        dst: *dst.ip(),
        protocol: ipv4::PROTO_UDP,
        tos: 0,
        ttl: ipv4::DEFAULT_TTL,
        dont_fragment: true,
        ident: 0,
    }
    .emit(udp.len(), &mut out)?;
    out.extend_from_slice(&udp);
    Some(out)
}

/// The UDP payload of an IPv4/UDP packet, with its ports; `None` when the
/// packet is not UDP or is truncated.
pub fn udp_payload<'a>(packet: &Ipv4Packet<'a>) -> Option<(u16, u16, &'a [u8])> {
    if packet.protocol() != ipv4::PROTO_UDP {
        return None;
    }
    let p = packet.payload();
    let [s0, s1, d0, d1, l0, l1, _, _, ..] = *p else {
        return None;
    };
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    if len < 8 || len > p.len() {
        return None;
    }
    Some((
        u16::from_be_bytes([s0, s1]),
        u16::from_be_bytes([d0, d1]),
        &p[8..len],
    ))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddrV4;

    use super::*;

    fn sample() -> Vec<u8> {
        udp_packet(
            SocketAddrV4::new(Ipv4Addr::new(203, 0, 113, 9), 5000),
            SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 5), 6000),
            b"payload",
        )
        .expect("small")
    }

    #[test]
    fn udp_tunnel_round_trip() {
        let inner = sample();
        let mut d = Vec::new();
        emit_udp_data(&inner, &mut d);
        assert_eq!(&d[..4], &[4, 4, 0, 0]);
        let p = open_udp_data(&d).expect("opens");
        assert_eq!(p.as_bytes(), &inner[..]);
        let (sp, dp, pl) = udp_payload(&p).expect("udp");
        assert_eq!((sp, dp, pl), (5000, 6000, &b"payload"[..]));
        assert_eq!(open_udp_data(&d[..3]).err(), Some(TunnelError::Truncated));
        assert_eq!(
            open_udp_data(&[1, 0, 0, 0]).err(),
            Some(TunnelError::NotData(1))
        );
        assert_eq!(
            open_udp_data(&[4, 47, 0, 0]).err(),
            Some(TunnelError::UnsupportedNextHeader(47))
        );
        assert!(matches!(
            open_udp_data(&[4, 4, 0, 0, 0x45]),
            Err(TunnelError::Ipv4(_))
        ));
    }

    #[test]
    fn ipip_round_trip_and_ttl() {
        let mut inner = sample();
        decrement_ttl(&mut inner).expect("ttl 64");
        let p = Ipv4Packet::new_checked(&inner).expect("checksum still valid");
        assert_eq!(p.ttl(), 63);
        let mut out = Vec::new();
        let ha = Ipv4Addr::new(192, 0, 2, 1);
        let coa = Ipv4Addr::new(198, 51, 100, 20);
        emit_ipip(ha, coa, 7, &p, &mut out).expect("fits");
        let (outer, back) = open_ipip(&out).expect("opens");
        assert_eq!((outer.src(), outer.dst(), outer.protocol()), (ha, coa, 4));
        assert!(outer.dont_fragment());
        assert_eq!(back.as_bytes(), &inner[..]);
        assert_eq!(
            open_ipip(back.as_bytes()).err(),
            Some(TunnelError::NotIpInIp(17))
        );
        let mut dying = inner.clone();
        dying[8] = 1;
        let sum = {
            dying[10] = 0;
            dying[11] = 0;
            ipv4::checksum(&dying[..20])
        };
        dying[10..12].copy_from_slice(&sum.to_be_bytes());
        let before = dying.clone();
        assert_eq!(decrement_ttl(&mut dying), Err(TunnelError::TtlExhausted));
        assert_eq!(dying, before);
    }

    #[test]
    fn answers_echo_to_itself_only() {
        let ha = Ipv4Addr::new(192, 0, 2, 1);
        let mn = Ipv4Addr::new(10, 77, 0, 5);
        let pkt = echo_request(mn, ha, 0x1234, 1);
        let p = Ipv4Packet::new_checked(&pkt).expect("valid");
        let icmp = p.payload().to_vec();
        let r = echo_reply(&p, ha).expect("answered");
        let rp = Ipv4Packet::new_checked(&r).expect("valid reply");
        assert_eq!((rp.src(), rp.dst()), (ha, mn));
        assert_eq!(rp.payload()[0], 0);
        assert_eq!(ipv4::checksum(rp.payload()), 0);
        assert_eq!(&rp.payload()[4..], &icmp[4..]);
        assert!(echo_reply(&p, Ipv4Addr::new(192, 0, 2, 2)).is_none());
    }
}
