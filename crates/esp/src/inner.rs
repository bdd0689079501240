//! The selector fields of an inner IP packet (RFC 4301 §4.4.1.1): source
//! and destination address, next-layer protocol and ports.
//!
//! This is just enough IPv4/IPv6 parsing to match selectors after
//! decryption (RFC 4301 §5.2 step 4) and to look up the SPD before
//! encryption; it also yields the packet's own length so that
//! traffic-flow-confidentiality padding after it (RFC 4303 §2.4) is cut off.
//! Ports are `None` ("OPAQUE", RFC 4301 §4.4.1.1) for protocols without
//! ports and for non-initial fragments (RFC 4301 §7).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::Error;

const TCP: u8 = 6;
const UDP: u8 = 17;
const SCTP: u8 = 132;
const UDP_LITE: u8 = 136;

/// IPv6 extension headers walked before the upper-layer header.
const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const AH: u8 = 51;
const DEST_OPTS: u8 = 60;
/// Bound on the extension headers walked, so hostile chains cost little.
const MAX_EXTENSIONS: usize = 8;

/// The selector-relevant fields of an IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flow {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Next-layer protocol (after IPv6 extension headers).
    pub protocol: u8,
    /// Source port, if the protocol has ports and this is a first fragment.
    pub src_port: Option<u16>,
    /// Destination port, likewise.
    pub dst_port: Option<u16>,
}

/// An inner packet's flow and its length per its own header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InnerPacket {
    /// Selector fields.
    pub flow: Flow,
    /// Length of the IP packet (header's total/payload length), which may be
    /// less than the bytes present.
    pub len: usize,
}

fn ports(protocol: u8, l4: &[u8]) -> (Option<u16>, Option<u16>) {
    match (protocol, l4) {
        (TCP | UDP | SCTP | UDP_LITE, [a, b, c, d, ..]) => (
            Some(u16::from_be_bytes([*a, *b])),
            Some(u16::from_be_bytes([*c, *d])),
        ),
        _ => (None, None),
    }
}

/// The IP version nibble, if the buffer has a first byte.
pub fn version(packet: &[u8]) -> Option<u8> {
    packet.first().map(|b| b >> 4)
}

/// Parses an IPv4 or IPv6 packet, whichever the version nibble says.
pub fn parse(packet: &[u8]) -> Result<InnerPacket, Error> {
    match version(packet) {
        Some(4) => parse_ipv4(packet),
        Some(6) => parse_ipv6(packet),
        Some(_) => Err(Error::MalformedInner("IP version is neither 4 nor 6")),
        None => Err(Error::MalformedInner("empty")),
    }
}

/// Parses an IPv4 packet (RFC 791 §3.1).
pub fn parse_ipv4(p: &[u8]) -> Result<InnerPacket, Error> {
    if p.len() < 20 {
        return Err(Error::MalformedInner("IPv4 header truncated"));
    }
    if p[0] >> 4 != 4 {
        return Err(Error::MalformedInner("not IPv4"));
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([p[2], p[3]]));
    if ihl < 20 || total < ihl || total > p.len() {
        return Err(Error::MalformedInner("IPv4 lengths inconsistent"));
    }
    let frag_offset = u16::from_be_bytes([p[6], p[7]]) & 0x1fff;
    let protocol = p[9];
    let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
    let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    let (src_port, dst_port) = if frag_offset == 0 {
        ports(protocol, &p[ihl..total])
    } else {
        (None, None)
    };
    Ok(InnerPacket {
        flow: Flow {
            src: src.into(),
            dst: dst.into(),
            protocol,
            src_port,
            dst_port,
        },
        len: total,
    })
}

/// Parses an IPv6 packet (RFC 8200 §3, §4), walking the usual extension
/// headers to the upper-layer protocol.
pub fn parse_ipv6(p: &[u8]) -> Result<InnerPacket, Error> {
    if p.len() < 40 {
        return Err(Error::MalformedInner("IPv6 header truncated"));
    }
    if p[0] >> 4 != 6 {
        return Err(Error::MalformedInner("not IPv6"));
    }
    let payload_len = usize::from(u16::from_be_bytes([p[4], p[5]]));
    let total = 40 + payload_len;
    if payload_len == 0 || total > p.len() {
        // Zero means a jumbogram (RFC 2675), which cannot fit in ESP here.
        return Err(Error::MalformedInner("IPv6 payload length inconsistent"));
    }
    let mut src = [0u8; 16];
    src.copy_from_slice(&p[8..24]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&p[24..40]);
    let body = &p[40..total];
    let mut next = p[6];
    let mut off = 0usize;
    let mut first_fragment = true;
    for _ in 0..MAX_EXTENSIONS {
        let ext_len = match next {
            HOP_BY_HOP | ROUTING | DEST_OPTS => match body.get(off + 1) {
                Some(&l) => (usize::from(l) + 1) * 8,
                None => return Err(Error::MalformedInner("IPv6 extension truncated")),
            },
            FRAGMENT => {
                let Some(fo) = body.get(off + 2..off + 4) else {
                    return Err(Error::MalformedInner("IPv6 fragment header truncated"));
                };
                if u16::from_be_bytes([fo[0], fo[1]]) >> 3 != 0 {
                    first_fragment = false;
                }
                8
            }
            AH => match body.get(off + 1) {
                Some(&l) => (usize::from(l) + 2) * 4,
                None => return Err(Error::MalformedInner("IPv6 AH truncated")),
            },
            _ => break,
        };
        let Some(&nh) = body.get(off) else {
            return Err(Error::MalformedInner("IPv6 extension truncated"));
        };
        if off + ext_len > body.len() {
            return Err(Error::MalformedInner("IPv6 extension truncated"));
        }
        next = nh;
        off += ext_len;
        if !first_fragment {
            break;
        }
    }
    let (src_port, dst_port) = if first_fragment {
        ports(next, &body[off..])
    } else {
        (None, None)
    };
    Ok(InnerPacket {
        flow: Flow {
            src: Ipv6Addr::from(src).into(),
            dst: Ipv6Addr::from(dst).into(),
            protocol: next,
            src_port,
            dst_port,
        },
        len: total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        let mut p = vec![
            0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0, src[0], src[1], src[2], src[3], dst[0],
            dst[1], dst[2], dst[3],
        ];
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&[0, 12, 0, 0, 0xde, 0xad, 0xbe, 0xef]);
        let len = p.len() as u16;
        p[2..4].copy_from_slice(&len.to_be_bytes());
        p
    }

    #[test]
    fn ipv4_udp_flow_and_tfc_padding() {
        let mut p = ipv4_udp([10, 0, 0, 1], [10, 0, 0, 2], 1234, 53);
        let real = p.len();
        p.extend_from_slice(&[0; 7]); // TFC padding after the packet
        let inner = parse(&p).unwrap();
        assert_eq!(inner.len, real);
        assert_eq!(inner.flow.src, IpAddr::from([10, 0, 0, 1]));
        assert_eq!(inner.flow.dst, IpAddr::from([10, 0, 0, 2]));
        assert_eq!(inner.flow.protocol, 17);
        assert_eq!(
            (inner.flow.src_port, inner.flow.dst_port),
            (Some(1234), Some(53))
        );
    }

    #[test]
    fn ipv4_fragment_has_opaque_ports() {
        let mut p = ipv4_udp([1, 1, 1, 1], [2, 2, 2, 2], 1, 2);
        p[7] = 1; // fragment offset 1
        let inner = parse_ipv4(&p).unwrap();
        assert_eq!(inner.flow.src_port, None);
    }

    #[test]
    fn ipv4_malformed() {
        let p = ipv4_udp([1, 1, 1, 1], [2, 2, 2, 2], 1, 2);
        for len in 0..20 {
            assert!(parse(&p[..len]).is_err());
        }
        let mut bad = p.clone();
        bad[0] = 0x44; // IHL 16 bytes
        assert!(parse(&bad).is_err());
        let mut bad = p.clone();
        bad[3] += 1; // total length beyond the buffer
        assert!(parse(&bad).is_err());
        assert!(parse(&[0x75; 40]).is_err());
    }

    #[test]
    fn ipv6_with_extensions() {
        let mut p = vec![0x60, 0, 0, 0, 0, 0, 0 /* hop-by-hop */, 64];
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        // Hop-by-hop (8 bytes) -> fragment (8 bytes, offset 0) -> TCP.
        p.extend_from_slice(&[44, 0, 1, 4, 0, 0, 0, 0]);
        p.extend_from_slice(&[6, 0, 0, 0, 0, 0, 0, 7]);
        p.extend_from_slice(&[0x01, 0xbb, 0xc0, 0x00, 0, 0, 0, 0]);
        let plen = (p.len() - 40) as u16;
        p[4..6].copy_from_slice(&plen.to_be_bytes());
        let inner = parse(&p).unwrap();
        assert_eq!(inner.flow.protocol, 6);
        assert_eq!(inner.flow.src_port, Some(443));
        assert_eq!(inner.flow.dst_port, Some(0xc000));
        assert_eq!(inner.len, p.len());
        // A non-initial fragment hides the ports.
        let mut frag = p.clone();
        frag[50] = 0x01; // offset != 0
        let inner = parse(&frag).unwrap();
        assert_eq!(inner.flow.protocol, 6);
        assert_eq!(inner.flow.src_port, None);
        // Truncated extension chain.
        let mut cut = p[..44].to_vec();
        cut[4..6].copy_from_slice(&4u16.to_be_bytes());
        assert!(parse(&cut).is_err());
    }
}
