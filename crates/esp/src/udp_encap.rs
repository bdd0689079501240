//! UDP encapsulation of ESP for NAT traversal (RFC 3948).
//!
//! On port 4500 one UDP socket carries three things (RFC 3948 §2):
//!
//! - ESP: the UDP payload is the ESP packet itself; its first 4 bytes are
//!   the SPI, never zero (§2.1);
//! - IKE: the payload starts with the 4-byte Non-ESP Marker (zeros) and the
//!   IKE message follows (§2.2);
//! - NAT keepalive: a single 0xFF byte, to be ignored (§2.3).
//!
//! [`classify`] tells them apart; the builders write the UDP header (with a
//! zero checksum over IPv4, as §3.1 allows) and, for drivers that write
//! whole datagrams to a TUN device or raw socket, IPv4 or IPv6 headers with
//! correct checksums. [`OuterDatagram`] does the reverse for received
//! datagrams.

use core::ops::Range;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::Error;
use crate::wire::HEADER_LEN;

/// The IKE/ESP NAT-traversal port (RFC 3948 §2, RFC 7296 §2.23).
pub const PORT: u16 = 4500;
/// The UDP header.
pub const UDP_HEADER_LEN: usize = 8;
/// An IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// The fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;
/// The Non-ESP Marker before IKE messages (RFC 3948 §2.2).
pub const NON_ESP_MARKER: [u8; 4] = [0; 4];
/// A NAT-keepalive packet (RFC 3948 §2.3).
pub const KEEPALIVE: [u8; 1] = [0xff];
/// IP protocol number of ESP (RFC 4303 §2).
pub const IPPROTO_ESP: u8 = 50;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;

/// What a UDP payload on port 4500 is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadKind {
    /// An ESP packet with this SPI, starting at offset 0.
    Esp {
        /// The packet's SPI, for the SAD lookup.
        spi: u32,
    },
    /// An IKE message after the Non-ESP Marker ([`ike_message`]).
    Ike,
    /// A NAT keepalive: ignore it.
    Keepalive,
}

/// Classifies a UDP payload received on port 4500 (RFC 3948 §2.1–§2.3).
pub fn classify(payload: &[u8]) -> Result<PayloadKind, Error> {
    if payload == KEEPALIVE {
        return Ok(PayloadKind::Keepalive);
    }
    let Some(&[a, b, c, d]) = payload.first_chunk::<4>() else {
        return Err(Error::Truncated {
            needed: 4,
            got: payload.len(),
        });
    };
    let spi = u32::from_be_bytes([a, b, c, d]);
    if spi == 0 {
        return Ok(PayloadKind::Ike);
    }
    if payload.len() < HEADER_LEN {
        return Err(Error::Truncated {
            needed: HEADER_LEN,
            got: payload.len(),
        });
    }
    Ok(PayloadKind::Esp { spi })
}

/// The IKE message after the Non-ESP Marker, if `payload` has one.
pub fn ike_message(payload: &[u8]) -> Option<&[u8]> {
    payload.strip_prefix(&NON_ESP_MARKER[..])
}

/// Writes an 8-byte UDP header for `payload_len` bytes of payload, with a
/// zero checksum (RFC 3948 §3.1 for IPv4; over IPv6 fill it in with
/// [`udp_checksum`]).
pub fn emit_udp_header(
    buf: &mut [u8],
    src_port: u16,
    dst_port: u16,
    payload_len: usize,
) -> Result<(), Error> {
    let got = buf.len();
    let Some(h) = buf.get_mut(..UDP_HEADER_LEN) else {
        return Err(Error::BufferTooSmall {
            needed: UDP_HEADER_LEN,
            got,
        });
    };
    let len =
        u16::try_from(UDP_HEADER_LEN + payload_len).map_err(|_| Error::TooLong(payload_len))?;
    h[0..2].copy_from_slice(&src_port.to_be_bytes());
    h[2..4].copy_from_slice(&dst_port.to_be_bytes());
    h[4..6].copy_from_slice(&len.to_be_bytes());
    h[6..8].copy_from_slice(&[0, 0]);
    Ok(())
}

fn ones_complement_sum(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The Internet checksum of an IPv4 header (RFC 791 §3.1, RFC 1071); the
/// checksum field itself must be zero or be included as received (a valid
/// header then sums to 0).
pub fn ipv4_checksum(header: &[u8]) -> u16 {
    !fold(ones_complement_sum(0, header))
}

/// The UDP checksum of `segment` (header + payload, checksum field zero)
/// with the pseudo-header of `src` and `dst` (RFC 768, RFC 8200 §8.1).
/// A computed zero is sent as 0xFFFF.
pub fn udp_checksum(src: IpAddr, dst: IpAddr, segment: &[u8]) -> u16 {
    let mut sum = 0u32;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            sum = ones_complement_sum(sum, &s.octets());
            sum = ones_complement_sum(sum, &d.octets());
        }
        _ => {
            sum = ones_complement_sum(sum, &to_v6(src).octets());
            sum = ones_complement_sum(sum, &to_v6(dst).octets());
        }
    }
    sum += u32::from(IPPROTO_UDP);
    // Segments here come from 16-bit length fields; fold the rest too.
    let len = segment.len() as u64;
    sum += (len & 0xffff) as u32 + ((len >> 16) & 0xffff) as u32;
    let c = !fold(ones_complement_sum(sum, segment));
    if c == 0 { 0xffff } else { c }
}

fn to_v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// Fields of an outer IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Outer {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol: [`IPPROTO_UDP`] or [`IPPROTO_ESP`].
    pub protocol: u8,
    /// Identification (RFC 6864: unique while fragments may exist).
    pub ident: u16,
    /// Time to live.
    pub ttl: u8,
}

impl Ipv4Outer {
    /// Writes a 20-byte header for `payload_len` bytes of payload, with its
    /// header checksum.
    pub fn emit(&self, buf: &mut [u8], payload_len: usize) -> Result<(), Error> {
        let got = buf.len();
        let Some(h) = buf.get_mut(..IPV4_HEADER_LEN) else {
            return Err(Error::BufferTooSmall {
                needed: IPV4_HEADER_LEN,
                got,
            });
        };
        let total = u16::try_from(IPV4_HEADER_LEN + payload_len)
            .map_err(|_| Error::TooLong(payload_len))?;
        h[0] = 0x45;
        h[1] = 0;
        h[2..4].copy_from_slice(&total.to_be_bytes());
        h[4..6].copy_from_slice(&self.ident.to_be_bytes());
        h[6..8].copy_from_slice(&[0, 0]);
        h[8] = self.ttl;
        h[9] = self.protocol;
        h[10..12].copy_from_slice(&[0, 0]);
        h[12..16].copy_from_slice(&self.src.octets());
        h[16..20].copy_from_slice(&self.dst.octets());
        let c = ipv4_checksum(h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        Ok(())
    }
}

/// Fields of an outer IPv6 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Outer {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Next header: [`IPPROTO_UDP`] or [`IPPROTO_ESP`].
    pub next_header: u8,
    /// Hop limit.
    pub hop_limit: u8,
}

impl Ipv6Outer {
    /// Writes the 40-byte header for `payload_len` bytes of payload.
    pub fn emit(&self, buf: &mut [u8], payload_len: usize) -> Result<(), Error> {
        let got = buf.len();
        let Some(h) = buf.get_mut(..IPV6_HEADER_LEN) else {
            return Err(Error::BufferTooSmall {
                needed: IPV6_HEADER_LEN,
                got,
            });
        };
        let plen = u16::try_from(payload_len).map_err(|_| Error::TooLong(payload_len))?;
        h[0..4].copy_from_slice(&[0x60, 0, 0, 0]);
        h[4..6].copy_from_slice(&plen.to_be_bytes());
        h[6] = self.next_header;
        h[7] = self.hop_limit;
        h[8..24].copy_from_slice(&self.src.octets());
        h[24..40].copy_from_slice(&self.dst.octets());
        Ok(())
    }
}

/// A received outer datagram carrying ESP, directly (protocol 50) or in UDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OuterDatagram {
    /// Outer source address.
    pub src: IpAddr,
    /// Outer destination address.
    pub dst: IpAddr,
    /// UDP source and destination ports, if UDP-encapsulated.
    pub udp_ports: Option<(u16, u16)>,
    /// Where the ESP packet (protocol 50) or the UDP payload lies; classify
    /// a UDP payload with [`classify`].
    pub payload: Range<usize>,
}

impl OuterDatagram {
    /// Parses an IPv4 (options allowed) or IPv6 (no extension headers)
    /// datagram whose protocol is ESP or UDP. Fragments are refused:
    /// reassembly belongs to the driver.
    pub fn parse(p: &[u8]) -> Result<Self, Error> {
        let (src, dst, protocol, start, end): (IpAddr, IpAddr, u8, usize, usize) =
            match p.first().map(|b| b >> 4) {
                Some(4) => {
                    if p.len() < IPV4_HEADER_LEN {
                        return Err(Error::Truncated {
                            needed: IPV4_HEADER_LEN,
                            got: p.len(),
                        });
                    }
                    let ihl = usize::from(p[0] & 0x0f) * 4;
                    let total = usize::from(u16::from_be_bytes([p[2], p[3]]));
                    if ihl < IPV4_HEADER_LEN || total < ihl || total > p.len() {
                        return Err(Error::MalformedInner("outer IPv4 lengths inconsistent"));
                    }
                    let frag = u16::from_be_bytes([p[6], p[7]]);
                    if frag & 0x3fff != 0 {
                        return Err(Error::MalformedInner("outer IPv4 fragment"));
                    }
                    let s = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
                    let d = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
                    (s.into(), d.into(), p[9], ihl, total)
                }
                Some(6) => {
                    if p.len() < IPV6_HEADER_LEN {
                        return Err(Error::Truncated {
                            needed: IPV6_HEADER_LEN,
                            got: p.len(),
                        });
                    }
                    let total = IPV6_HEADER_LEN + usize::from(u16::from_be_bytes([p[4], p[5]]));
                    if total > p.len() {
                        return Err(Error::MalformedInner(
                            "outer IPv6 payload length inconsistent",
                        ));
                    }
                    let mut s = [0u8; 16];
                    s.copy_from_slice(&p[8..24]);
                    let mut d = [0u8; 16];
                    d.copy_from_slice(&p[24..40]);
                    (
                        Ipv6Addr::from(s).into(),
                        Ipv6Addr::from(d).into(),
                        p[6],
                        IPV6_HEADER_LEN,
                        total,
                    )
                }
                _ => return Err(Error::MalformedInner("outer packet is not IPv4 or IPv6")),
            };
        match protocol {
            IPPROTO_ESP => Ok(OuterDatagram {
                src,
                dst,
                udp_ports: None,
                payload: start..end,
            }),
            IPPROTO_UDP => {
                let Some(u) = p.get(start..start + UDP_HEADER_LEN) else {
                    return Err(Error::Truncated {
                        needed: start + UDP_HEADER_LEN,
                        got: end,
                    });
                };
                let udp_len = usize::from(u16::from_be_bytes([u[4], u[5]]));
                if udp_len < UDP_HEADER_LEN || start + udp_len > end {
                    return Err(Error::MalformedInner("outer UDP length inconsistent"));
                }
                Ok(OuterDatagram {
                    src,
                    dst,
                    udp_ports: Some((
                        u16::from_be_bytes([u[0], u[1]]),
                        u16::from_be_bytes([u[2], u[3]]),
                    )),
                    payload: start + UDP_HEADER_LEN..start + udp_len,
                })
            }
            _ => Err(Error::NotEsp),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(classify(&[0xff]), Ok(PayloadKind::Keepalive));
        assert_eq!(classify(&[0, 0, 0, 0, 0x11, 0x22]), Ok(PayloadKind::Ike));
        assert_eq!(
            ike_message(&[0, 0, 0, 0, 0x11, 0x22]),
            Some(&[0x11, 0x22][..])
        );
        assert_eq!(ike_message(&[0, 0, 1, 0, 0x11]), None);
        assert_eq!(
            classify(&[0, 0, 1, 0, 0, 0, 0, 1, 9]),
            Ok(PayloadKind::Esp { spi: 0x100 })
        );
        for short in [&[][..], &[0xfe], &[0xff, 0xff], &[1, 2, 3]] {
            assert!(
                matches!(classify(short), Err(Error::Truncated { needed: 4, .. })),
                "{short:?}"
            );
        }
        assert!(matches!(
            classify(&[0, 0, 1, 0, 0]),
            Err(Error::Truncated { needed: 8, .. })
        ));
    }

    #[test]
    fn ipv4_header_checksum_verifies() {
        let h = Ipv4Outer {
            src: Ipv4Addr::new(192, 0, 2, 1),
            dst: Ipv4Addr::new(198, 51, 100, 2),
            protocol: IPPROTO_UDP,
            ident: 0x1c46,
            ttl: 64,
        };
        let mut buf = [0u8; 20];
        h.emit(&mut buf, 100).unwrap();
        assert_eq!(ipv4_checksum(&buf), 0, "a valid header sums to zero");
        assert_eq!(u16::from_be_bytes([buf[2], buf[3]]), 120);
        // RFC 1071 style known value: header from Wikipedia's IPv4 example.
        let known = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(ipv4_checksum(&known), 0xb861);
        assert!(h.emit(&mut buf, 70_000).is_err());
        assert!(h.emit(&mut [0u8; 19], 1).is_err());
    }

    #[test]
    fn udp_header_and_checksum() {
        let mut seg = [0u8; 12];
        emit_udp_header(&mut seg, 4500, 4501, 4).unwrap();
        assert_eq!(&seg[..8], &[0x11, 0x94, 0x11, 0x95, 0, 12, 0, 0]);
        seg[8..].copy_from_slice(&[1, 2, 3, 4]);
        let src: IpAddr = "2001:db8::1".parse().unwrap();
        let dst: IpAddr = "2001:db8::2".parse().unwrap();
        let c = udp_checksum(src, dst, &seg);
        seg[6..8].copy_from_slice(&c.to_be_bytes());
        // With the checksum in place the pseudo-header sum verifies to 0,
        // which this function reports as 0xffff.
        assert_eq!(udp_checksum(src, dst, &seg), 0xffff);
        assert!(emit_udp_header(&mut seg, 1, 2, 65_530).is_err());
    }

    #[test]
    fn outer_datagram_round_trip() {
        let mut d = vec![0u8; 20 + 8 + 12];
        emit_udp_header(&mut d[20..], 4500, 4500, 12).unwrap();
        d[28..32].copy_from_slice(&[0, 0, 0, 9]);
        Ipv4Outer {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            protocol: IPPROTO_UDP,
            ident: 1,
            ttl: 64,
        }
        .emit(&mut d, 20)
        .unwrap();
        let o = OuterDatagram::parse(&d).unwrap();
        assert_eq!(o.udp_ports, Some((4500, 4500)));
        assert_eq!(o.payload, 28..40);
        assert_eq!(classify(&d[o.payload]), Ok(PayloadKind::Esp { spi: 9 }));
        for len in 0..28 {
            assert!(OuterDatagram::parse(&d[..len]).is_err());
        }
        let mut frag = d.clone();
        frag[6] = 0x20; // more fragments
        assert!(OuterDatagram::parse(&frag).is_err());
        let mut tcp = d.clone();
        tcp[9] = 6;
        assert_eq!(OuterDatagram::parse(&tcp), Err(Error::NotEsp));
    }
}
