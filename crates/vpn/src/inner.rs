//! The inner IPv4/UDP packets both ends put in the tunnel for Mobile IP's
//! own traffic (registrations, RFC 3519 tunnel data): the node's to the
//! home agent, the gateway's registration reply to the node.

use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};

use telsec_esp::udp_encap::{self, IPPROTO_UDP, IPV4_HEADER_LEN, Ipv4Outer, UDP_HEADER_LEN};

/// The largest UDP payload put in an inner packet (a 1500-octet MTU).
pub const MAX_PAYLOAD: usize = 1500 - IPV4_HEADER_LEN - UDP_HEADER_LEN;

/// Why an inner packet was not built or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InnerError {
    /// The payload exceeds [`MAX_PAYLOAD`].
    #[error("UDP payload of {0} octets is too long for the tunnel")]
    TooLong(usize),
    /// Not an IPv4 packet carrying a whole UDP datagram.
    #[error("not an IPv4/UDP packet")]
    NotUdp,
}

/// Writes an IPv4 (RFC 791) / UDP (RFC 768) packet, checksums computed,
/// into `out`; returns its length.
///
/// # Errors
/// The payload is too long.
pub fn emit_udp(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    ident: u16,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize, InnerError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(InnerError::TooLong(payload.len()));
    }
    let udp_len = UDP_HEADER_LEN + payload.len();
    let total = IPV4_HEADER_LEN + udp_len;
    out.clear();
    out.resize(total, 0);
    let header = Ipv4Outer {
        src: *src.ip(),
        dst: *dst.ip(),
        protocol: IPPROTO_UDP,
        ident,
        ttl: 64,
    };
    // Both emits get buffers of exactly their size: they cannot fail.
    header
        .emit(out, udp_len)
        .map_err(|_| InnerError::TooLong(payload.len()))?;
    let segment = &mut out[IPV4_HEADER_LEN..];
    udp_encap::emit_udp_header(segment, src.port(), dst.port(), payload.len())
        .map_err(|_| InnerError::TooLong(payload.len()))?;
    segment[UDP_HEADER_LEN..].copy_from_slice(payload);
    let sum = udp_encap::udp_checksum(IpAddr::V4(*src.ip()), IpAddr::V4(*dst.ip()), segment);
    segment[6..8].copy_from_slice(&sum.to_be_bytes());
    Ok(total)
}

/// An inner IPv4/UDP packet's addresses and the range of its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpInner {
    /// Source address and port.
    pub src: SocketAddrV4,
    /// Destination address and port.
    pub dst: SocketAddrV4,
    /// Where the UDP payload lies in the packet.
    pub payload: core::ops::Range<usize>,
}

/// Reads an IPv4/UDP packet (no options beyond IHL, not a fragment).
///
/// # Errors
/// Anything else.
pub fn parse_udp(packet: &[u8]) -> Result<UdpInner, InnerError> {
    let bad = InnerError::NotUdp;
    let first = *packet.first().ok_or(bad)?;
    let ihl = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || ihl < IPV4_HEADER_LEN || packet.get(9) != Some(&IPPROTO_UDP) {
        return Err(bad);
    }
    let total = usize::from(u16::from_be_bytes([
        *packet.get(2).ok_or(bad)?,
        *packet.get(3).ok_or(bad)?,
    ]));
    let frag = u16::from_be_bytes([*packet.get(6).ok_or(bad)?, *packet.get(7).ok_or(bad)?]);
    if frag & 0x3fff != 0 || total > packet.len() || total < ihl + UDP_HEADER_LEN {
        return Err(bad);
    }
    let addr = |at: usize| -> Result<Ipv4Addr, InnerError> {
        let o: [u8; 4] = packet
            .get(at..at + 4)
            .ok_or(bad)?
            .try_into()
            .map_err(|_| bad)?;
        Ok(Ipv4Addr::from(o))
    };
    let udp = packet.get(ihl..total).ok_or(bad)?;
    let port = |at: usize| u16::from_be_bytes([udp[at], udp[at + 1]]);
    let udp_len = usize::from(port(4));
    if udp_len < UDP_HEADER_LEN || udp_len > udp.len() {
        return Err(bad);
    }
    Ok(UdpInner {
        src: SocketAddrV4::new(addr(12)?, port(0)),
        dst: SocketAddrV4::new(addr(16)?, port(2)),
        payload: ihl + UDP_HEADER_LEN..ihl + udp_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let src = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 434);
        let dst = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 434);
        let mut out = Vec::new();
        let n = emit_udp(src, dst, 7, b"registration", &mut out).unwrap();
        assert_eq!(n, out.len());
        assert_eq!(udp_encap::ipv4_checksum(&out[..IPV4_HEADER_LEN]), 0);
        let p = parse_udp(&out).unwrap();
        assert_eq!((p.src, p.dst), (src, dst));
        assert_eq!(&out[p.payload], b"registration");
        for cut in 0..out.len() {
            assert!(parse_udp(&out[..cut]).is_err(), "cut at {cut}");
        }
        let mut tcp = out.clone();
        tcp[9] = 6;
        assert_eq!(parse_udp(&tcp), Err(InnerError::NotUdp));
        let mut frag = out.clone();
        frag[6] = 0x20;
        assert_eq!(parse_udp(&frag), Err(InnerError::NotUdp));
        assert_eq!(
            emit_udp(src, dst, 0, &[0; MAX_PAYLOAD + 1], &mut out),
            Err(InnerError::TooLong(MAX_PAYLOAD + 1))
        );
    }
}
