//! Just enough of the IPv4 header (RFC 791) to tunnel datagrams: check an
//! inner packet before it is forwarded, read its addresses, and build the
//! outer header of an IP-in-IP packet (RFC 2003 §3.1).

use std::net::Ipv4Addr;

/// Length of a header without options.
pub const HEADER_LEN: usize = 20;
/// IP protocol number of IP in IP (RFC 2003 §3.1).
pub const PROTO_IPIP: u8 = 4;
/// IP protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// Default TTL of headers we originate (RFC 1700's recommended 64).
pub const DEFAULT_TTL: u8 = 64;

/// Why octets are not an IPv4 packet we forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Ipv4Error {
    /// Shorter than the header or than its own Total Length.
    #[error("truncated IPv4 packet")]
    Truncated,
    /// Version field is not 4.
    #[error("not IPv4 (version {0})")]
    Version(u8),
    /// IHL below 5 or beyond the packet.
    #[error("bad IPv4 header length")]
    HeaderLength,
    /// The header checksum does not verify.
    #[error("bad IPv4 header checksum")]
    Checksum,
}

/// A checked view of an IPv4 packet.
#[derive(Debug, Clone, Copy)]
pub struct Ipv4Packet<'a> {
    bytes: &'a [u8],
}

impl<'a> Ipv4Packet<'a> {
    /// Checks version, header length, total length and header checksum.
    /// Octets after Total Length (link padding) are excluded from the view.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, Ipv4Error> {
        if bytes.len() < HEADER_LEN {
            return Err(Ipv4Error::Truncated);
        }
        let version = bytes[0] >> 4;
        if version != 4 {
            return Err(Ipv4Error::Version(version));
        }
        let ihl = usize::from(bytes[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
        if ihl < HEADER_LEN || ihl > total {
            return Err(Ipv4Error::HeaderLength);
        }
        if total > bytes.len() {
            return Err(Ipv4Error::Truncated);
        }
        if checksum(&bytes[..ihl]) != 0 {
            return Err(Ipv4Error::Checksum);
        }
        Ok(Ipv4Packet {
            bytes: &bytes[..total],
        })
    }

    /// The packet, without trailing link padding.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Header length in octets.
    pub fn header_len(&self) -> usize {
        usize::from(self.bytes[0] & 0x0f) * 4
    }

    /// The payload after the header.
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[self.header_len()..]
    }

    /// Type of Service octet.
    pub fn tos(&self) -> u8 {
        self.bytes[1]
    }

    /// Whether Don't Fragment is set.
    pub fn dont_fragment(&self) -> bool {
        self.bytes[6] & 0x40 != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.bytes[8]
    }

    /// Protocol number.
    pub fn protocol(&self) -> u8 {
        self.bytes[9]
    }

    /// Source address.
    pub fn src(&self) -> Ipv4Addr {
        Ipv4Addr::new(
            self.bytes[12],
            self.bytes[13],
            self.bytes[14],
            self.bytes[15],
        )
    }

    /// Destination address.
    pub fn dst(&self) -> Ipv4Addr {
        Ipv4Addr::new(
            self.bytes[16],
            self.bytes[17],
            self.bytes[18],
            self.bytes[19],
        )
    }
}

/// The Internet checksum (RFC 1071) of `data`: 0 when a header carrying
/// its checksum verifies.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Fields of a header we originate (no options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Header {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol of the payload.
    pub protocol: u8,
    /// Type of Service.
    pub tos: u8,
    /// Time to live.
    pub ttl: u8,
    /// Don't Fragment.
    pub dont_fragment: bool,
    /// Identification field.
    pub ident: u16,
}

impl Ipv4Header {
    /// Appends the 20-octet header for a payload of `payload_len` octets to
    /// `out`, checksum included. `None` when the packet would exceed 65535
    /// octets.
    pub fn emit(&self, payload_len: usize, out: &mut Vec<u8>) -> Option<()> {
        let total = u16::try_from(HEADER_LEN + payload_len).ok()?;
        let start = out.len();
        out.extend_from_slice(&[0x45, self.tos]);
        out.extend_from_slice(&total.to_be_bytes());
        out.extend_from_slice(&self.ident.to_be_bytes());
        out.extend_from_slice(&[if self.dont_fragment { 0x40 } else { 0 }, 0]);
        out.extend_from_slice(&[self.ttl, self.protocol, 0, 0]);
        out.extend_from_slice(&self.src.octets());
        out.extend_from_slice(&self.dst.octets());
        let sum = checksum(&out[start..start + HEADER_LEN]);
        out[start + 10..start + 12].copy_from_slice(&sum.to_be_bytes());
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let h = Ipv4Header {
            src: Ipv4Addr::new(192, 0, 2, 1),
            dst: Ipv4Addr::new(198, 51, 100, 7),
            protocol: PROTO_UDP,
            tos: 0x10,
            ttl: 63,
            dont_fragment: true,
            ident: 0x1234,
        };
        let mut v = Vec::new();
        h.emit(3, &mut v).expect("fits");
        v.extend_from_slice(b"abc");
        let p = Ipv4Packet::new_checked(&v).expect("valid");
        assert_eq!((p.src(), p.dst()), (h.src, h.dst));
        assert_eq!((p.protocol(), p.tos(), p.ttl()), (PROTO_UDP, 0x10, 63));
        assert!(p.dont_fragment());
        assert_eq!(p.payload(), b"abc");
        // Link padding is cut off by Total Length.
        v.push(0);
        assert_eq!(
            Ipv4Packet::new_checked(&v).expect("valid").payload(),
            b"abc"
        );
    }

    #[test]
    fn rejects() {
        let mut v = Vec::new();
        Ipv4Header {
            src: Ipv4Addr::LOCALHOST,
            dst: Ipv4Addr::LOCALHOST,
            protocol: 1,
            tos: 0,
            ttl: 1,
            dont_fragment: false,
            ident: 0,
        }
        .emit(0, &mut v)
        .expect("fits");
        let mut bad = v.clone();
        bad[8] ^= 1;
        assert_eq!(
            Ipv4Packet::new_checked(&bad).err(),
            Some(Ipv4Error::Checksum)
        );
        let mut v6 = v.clone();
        v6[0] = 0x65;
        assert_eq!(
            Ipv4Packet::new_checked(&v6).err(),
            Some(Ipv4Error::Version(6))
        );
        assert_eq!(
            Ipv4Packet::new_checked(&v[..19]).err(),
            Some(Ipv4Error::Truncated)
        );
        let mut long = v.clone();
        long[3] = 40;
        assert_eq!(
            Ipv4Packet::new_checked(&long).err(),
            Some(Ipv4Error::Truncated)
        );
        assert!(
            Ipv4Header {
                src: Ipv4Addr::LOCALHOST,
                dst: Ipv4Addr::LOCALHOST,
                protocol: 1,
                tos: 0,
                ttl: 1,
                dont_fragment: false,
                ident: 0,
            }
            .emit(70_000, &mut Vec::new())
            .is_none()
        );
    }

    #[test]
    fn checksum_rfc1071_example() {
        // RFC 1071 §3: the one's complement sum of these words is 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data), !0xddf2);
    }
}
