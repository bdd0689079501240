//! Agent Advertisement: an ICMP Router Advertisement (RFC 1256 §3) carrying
//! the Mobility Agent Advertisement extension (type 16) and optionally the
//! Prefix-Lengths extension (type 19), RFC 5944 §2.1.
//!
//! Extensions here come from a separate number space from registration
//! extensions (RFC 5944 §1.9); type 0 is the one-octet Pad (§2.1.3).
//!
//! An Agent Solicitation is an ICMP Router Solicitation (RFC 1256 §3,
//! RFC 5944 §2.2) unchanged; [`AgentSolicitation`] encodes and checks it.

use core::fmt;
use std::net::Ipv4Addr;

use crate::error::Error;

/// ICMP type of a Router Advertisement (RFC 1256 §3).
pub const ICMP_ROUTER_ADVERTISEMENT: u8 = 9;
/// ICMP type of a Router Solicitation, which is what an Agent Solicitation
/// is (RFC 1256 §3, RFC 5944 §2.2).
pub const ICMP_ROUTER_SOLICITATION: u8 = 10;
/// Length of a Router Solicitation: type, code, checksum, 4 reserved octets.
pub const SOLICITATION_LEN: usize = 8;
/// The "all mobility agents" multicast group a mobile node may solicit
/// (RFC 5944 §2.4.1); the limited broadcast address is the alternative.
pub const ALL_MOBILITY_AGENTS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 11);
/// ICMP code of a Router Advertisement from an agent that also routes
/// ordinary traffic.
pub const CODE_ROUTES_COMMON_TRAFFIC: u8 = 0;
/// ICMP code 16: the mobility agent does not route common traffic
/// (RFC 5944 §2.1).
pub const CODE_MOBILITY_ONLY: u8 = 16;

/// Type of the one-octet Pad extension (RFC 5944 §2.1.3).
pub const EXT_PAD: u8 = 0;
/// Type of the Mobility Agent Advertisement extension (RFC 5944 §2.1.1).
pub const EXT_MOBILITY_AGENT: u8 = 16;
/// Type of the Prefix-Lengths extension (RFC 5944 §2.1.2).
pub const EXT_PREFIX_LENGTHS: u8 = 19;

mod field {
    use core::ops::Range;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const NUM_ADDRS: usize = 4;
    pub const ENTRY_SIZE: usize = 5;
    pub const LIFETIME: Range<usize> = 6..8;
    pub const HEADER_LEN: usize = 8;
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn internet_checksum(data: &[u8]) -> u16 {
    crate::tunnel::ipv4::checksum(data)
}

/// Flags of the Mobility Agent Advertisement extension (RFC 5944 §2.1.1):
/// `R B H F M G r T U X I` then five reserved bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AgentFlags(pub u16);

impl AgentFlags {
    /// R: registration with this FA required.
    pub const R: u16 = 0x8000;
    /// B: busy, no more registrations.
    pub const B: u16 = 0x4000;
    /// H: home agent.
    pub const H: u16 = 0x2000;
    /// F: foreign agent.
    pub const F: u16 = 0x1000;
    /// M: minimal encapsulation supported.
    pub const M: u16 = 0x0800;
    /// G: GRE supported.
    pub const G: u16 = 0x0400;
    /// r: sent as zero, ignored.
    pub const R_RESERVED: u16 = 0x0200;
    /// T: reverse tunnelling supported (RFC 3024).
    pub const T: u16 = 0x0100;
    /// U: UDP tunnelling supported (RFC 3519).
    pub const U: u16 = 0x0080;
    /// X: registration revocation supported (RFC 3543).
    pub const X: u16 = 0x0040;
    /// I: regional registration supported (RFC 4857).
    pub const I: u16 = 0x0020;

    /// Whether every bit of `mask` is set.
    pub fn contains(self, mask: u16) -> bool {
        self.0 & mask == mask
    }
}

/// Mobility Agent Advertisement extension (RFC 5944 §2.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobilityAgentAdvertisement {
    /// Advertisements sent since initialisation (RFC 5944 §2.1.1).
    pub sequence: u16,
    /// Longest registration lifetime this agent accepts, seconds.
    pub registration_lifetime: u16,
    /// R B H F M G r T U X I.
    pub flags: AgentFlags,
    /// Care-of addresses offered (a foreign agent offers at least one).
    pub care_of_addresses: Vec<Ipv4Addr>,
}

/// One router address entry (RFC 1256 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouterEntry {
    /// Router address.
    pub address: Ipv4Addr,
    /// Preference level (two's complement, higher preferred).
    pub preference: i32,
}

/// An extension of an ICMP Router Advertisement sent by a mobility agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdvertisementExtension {
    /// One-octet Pad (type 0, no length).
    Pad,
    /// Mobility Agent Advertisement (type 16).
    MobilityAgent(MobilityAgentAdvertisement),
    /// Prefix-Lengths (type 19): one prefix length per router address.
    PrefixLengths(Vec<u8>),
    /// Any other extension, kept raw.
    Other {
        /// Type octet.
        ext_type: u8,
        /// Data after Type and Length.
        data: Vec<u8>,
    },
}

impl AdvertisementExtension {
    fn buffer_len(&self) -> usize {
        match self {
            AdvertisementExtension::Pad => 1,
            AdvertisementExtension::MobilityAgent(m) => 2 + 6 + 4 * m.care_of_addresses.len(),
            AdvertisementExtension::PrefixLengths(p) => 2 + p.len(),
            AdvertisementExtension::Other { data, .. } => 2 + data.len(),
        }
    }

    fn parse(ext_type: u8, data: &[u8]) -> Result<Self, Error> {
        Ok(match ext_type {
            EXT_MOBILITY_AGENT => {
                let (head, coas) = data
                    .split_at_checked(6)
                    .ok_or(Error::MalformedExtension(ext_type))?;
                if coas.len() % 4 != 0 {
                    return Err(Error::MalformedExtension(ext_type));
                }
                AdvertisementExtension::MobilityAgent(MobilityAgentAdvertisement {
                    sequence: u16::from_be_bytes([head[0], head[1]]),
                    registration_lifetime: u16::from_be_bytes([head[2], head[3]]),
                    flags: AgentFlags(u16::from_be_bytes([head[4], head[5]])),
                    care_of_addresses: coas
                        .chunks_exact(4)
                        .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                        .collect(),
                })
            }
            EXT_PREFIX_LENGTHS => AdvertisementExtension::PrefixLengths(data.to_vec()),
            _ => AdvertisementExtension::Other {
                ext_type,
                data: data.to_vec(),
            },
        })
    }

    fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        let total = self.buffer_len();
        let out = out.get_mut(..total).ok_or(Error::BufferTooSmall)?;
        let (ty, body_len) = match self {
            AdvertisementExtension::Pad => {
                out[0] = EXT_PAD;
                return Ok(1);
            }
            AdvertisementExtension::MobilityAgent(_) => (EXT_MOBILITY_AGENT, total - 2),
            AdvertisementExtension::PrefixLengths(_) => (EXT_PREFIX_LENGTHS, total - 2),
            AdvertisementExtension::Other { ext_type, .. } => (*ext_type, total - 2),
        };
        out[0] = ty;
        out[1] = u8::try_from(body_len).map_err(|_| Error::ExtensionTooLong(ty))?;
        let body = &mut out[2..];
        match self {
            AdvertisementExtension::MobilityAgent(m) => {
                body[0..2].copy_from_slice(&m.sequence.to_be_bytes());
                body[2..4].copy_from_slice(&m.registration_lifetime.to_be_bytes());
                body[4..6].copy_from_slice(&m.flags.0.to_be_bytes());
                for (slot, a) in body[6..].chunks_exact_mut(4).zip(&m.care_of_addresses) {
                    slot.copy_from_slice(&a.octets());
                }
            }
            AdvertisementExtension::PrefixLengths(p) => body.copy_from_slice(p),
            AdvertisementExtension::Other { data, .. } => body.copy_from_slice(data),
            AdvertisementExtension::Pad => {}
        }
        Ok(total)
    }
}

/// Zero-copy view of an ICMP Router Advertisement.
#[derive(Debug, Clone)]
pub struct RouterAdvertisementPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> RouterAdvertisementPacket<T> {
    /// Wraps without checks.
    pub fn new_unchecked(buffer: T) -> Self {
        RouterAdvertisementPacket { buffer }
    }

    /// Wraps after checking type 9, entry size ≥ 2 and that the address
    /// list fits; the checksum is checked by [`Self::verify_checksum`].
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer);
        let b = p.buffer.as_ref();
        if b.len() < field::HEADER_LEN {
            return Err(Error::Truncated);
        }
        if b[field::TYPE] != ICMP_ROUTER_ADVERTISEMENT || b[field::ENTRY_SIZE] < 2 {
            return Err(Error::MalformedAdvertisement);
        }
        if p.extensions_offset() > b.len() {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    /// ICMP code (0, or 16 for a mobility-only agent).
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Whether the checksum over the whole message verifies.
    pub fn verify_checksum(&self) -> bool {
        internet_checksum(self.buffer.as_ref()) == 0
    }

    /// Num Addrs.
    pub fn num_addrs(&self) -> u8 {
        self.buffer.as_ref()[field::NUM_ADDRS]
    }

    /// Addr Entry Size in 32-bit words.
    pub fn entry_size(&self) -> u8 {
        self.buffer.as_ref()[field::ENTRY_SIZE]
    }

    /// Router lifetime, seconds.
    pub fn lifetime(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::LIFETIME];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn extensions_offset(&self) -> usize {
        field::HEADER_LEN + usize::from(self.num_addrs()) * usize::from(self.entry_size()) * 4
    }

    /// Router address `i` (the first two words of the entry).
    pub fn router(&self, i: u8) -> Option<RouterEntry> {
        if i >= self.num_addrs() {
            return None;
        }
        let at = field::HEADER_LEN + usize::from(i) * usize::from(self.entry_size()) * 4;
        let e = self.buffer.as_ref().get(at..at + 8)?;
        Some(RouterEntry {
            address: Ipv4Addr::new(e[0], e[1], e[2], e[3]),
            preference: i32::from_be_bytes([e[4], e[5], e[6], e[7]]),
        })
    }

    /// Octets after the router addresses, where the extensions are.
    pub fn extension_bytes(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(self.extensions_offset()..)
            .unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]>> fmt::Display for RouterAdvertisementPacket<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ICMP router advertisement code={} addrs={} lifetime={} ext_octets={}",
            self.code(),
            self.num_addrs(),
            self.lifetime(),
            self.extension_bytes().len()
        )
    }
}

/// An owned Router Advertisement with its mobility extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterAdvertisement {
    /// ICMP code (0 or 16, RFC 5944 §2.1).
    pub code: u8,
    /// Router lifetime, seconds.
    pub lifetime: u16,
    /// Router addresses (RFC 5944 §2.1 allows none in an Agent Advertisement).
    pub routers: Vec<RouterEntry>,
    /// Extensions in wire order.
    pub extensions: Vec<AdvertisementExtension>,
}

impl RouterAdvertisement {
    /// Parses a checked view; fails on a bad checksum.
    pub fn parse<T: AsRef<[u8]>>(p: &RouterAdvertisementPacket<T>) -> Result<Self, Error> {
        if !p.verify_checksum() {
            return Err(Error::Checksum);
        }
        let routers = (0..p.num_addrs()).filter_map(|i| p.router(i)).collect();
        let mut extensions = Vec::new();
        let mut rest = p.extension_bytes();
        while let Some((&ty, after)) = rest.split_first() {
            if ty == EXT_PAD {
                extensions.push(AdvertisementExtension::Pad);
                rest = after;
                continue;
            }
            let (&len, after) = after.split_first().ok_or(Error::Truncated)?;
            let (data, after) = after
                .split_at_checked(usize::from(len))
                .ok_or(Error::Truncated)?;
            extensions.push(AdvertisementExtension::parse(ty, data)?);
            rest = after;
        }
        Ok(RouterAdvertisement {
            code: p.code(),
            lifetime: p.lifetime(),
            routers,
            extensions,
        })
    }

    /// Parses from ICMP octets.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::parse(&RouterAdvertisementPacket::new_checked(bytes)?)
    }

    /// The Mobility Agent Advertisement extension, if present.
    pub fn mobility_agent(&self) -> Option<&MobilityAgentAdvertisement> {
        self.extensions.iter().find_map(|e| match e {
            AdvertisementExtension::MobilityAgent(m) => Some(m),
            _ => None,
        })
    }

    /// The Prefix-Lengths extension, if present.
    pub fn prefix_lengths(&self) -> Option<&[u8]> {
        self.extensions.iter().find_map(|e| match e {
            AdvertisementExtension::PrefixLengths(p) => Some(p.as_slice()),
            _ => None,
        })
    }

    /// Octets the ICMP message occupies (entry size 2).
    pub fn buffer_len(&self) -> usize {
        field::HEADER_LEN
            + 8 * self.routers.len()
            + self
                .extensions
                .iter()
                .map(AdvertisementExtension::buffer_len)
                .sum::<usize>()
    }

    /// Writes the message with its checksum; returns octets written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let num = u8::try_from(self.routers.len()).map_err(|_| Error::MalformedAdvertisement)?;
        let total = self.buffer_len();
        let out = buf.get_mut(..total).ok_or(Error::BufferTooSmall)?;
        out[field::TYPE] = ICMP_ROUTER_ADVERTISEMENT;
        out[field::CODE] = self.code;
        out[field::CHECKSUM].fill(0);
        out[field::NUM_ADDRS] = num;
        out[field::ENTRY_SIZE] = 2;
        out[field::LIFETIME].copy_from_slice(&self.lifetime.to_be_bytes());
        let mut pos = field::HEADER_LEN;
        for r in &self.routers {
            out[pos..pos + 4].copy_from_slice(&r.address.octets());
            out[pos + 4..pos + 8].copy_from_slice(&r.preference.to_be_bytes());
            pos += 8;
        }
        for e in &self.extensions {
            pos += e.emit(&mut out[pos..])?;
        }
        let sum = internet_checksum(out);
        out[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
        Ok(total)
    }

    /// Encodes into a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        let mut v = vec![0; self.buffer_len()];
        self.emit(&mut v)?;
        Ok(v)
    }
}

/// An Agent Solicitation (RFC 5944 §2.2): an ICMP Router Solicitation
/// (RFC 1256 §3) with code 0 and four reserved octets; a mobility agent
/// answers it with an Agent Advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AgentSolicitation;

impl AgentSolicitation {
    /// The eight ICMP octets, checksum included.
    pub fn to_bytes(self) -> [u8; SOLICITATION_LEN] {
        let mut out = [0u8; SOLICITATION_LEN];
        out[field::TYPE] = ICMP_ROUTER_SOLICITATION;
        let sum = internet_checksum(&out);
        out[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
        out
    }

    /// Checks a received solicitation as RFC 1256 §5.1 asks of a router:
    /// at least 8 octets, type 10, code 0, a valid checksum. The reserved
    /// octets and anything after them are ignored.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() < SOLICITATION_LEN {
            return Err(Error::Truncated);
        }
        if bytes[field::TYPE] != ICMP_ROUTER_SOLICITATION || bytes[field::CODE] != 0 {
            return Err(Error::MalformedAdvertisement);
        }
        if internet_checksum(bytes) != 0 {
            return Err(Error::Checksum);
        }
        Ok(AgentSolicitation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RouterAdvertisement {
        RouterAdvertisement {
            code: CODE_MOBILITY_ONLY,
            lifetime: 1800,
            routers: vec![RouterEntry {
                address: Ipv4Addr::new(192, 0, 2, 1),
                preference: 0,
            }],
            extensions: vec![
                AdvertisementExtension::MobilityAgent(MobilityAgentAdvertisement {
                    sequence: 7,
                    registration_lifetime: 600,
                    flags: AgentFlags(
                        AgentFlags::F | AgentFlags::G | AgentFlags::T | AgentFlags::U,
                    ),
                    care_of_addresses: vec![Ipv4Addr::new(192, 0, 2, 1)],
                }),
                AdvertisementExtension::PrefixLengths(vec![24]),
                AdvertisementExtension::Pad,
            ],
        }
    }

    #[test]
    fn fixture_and_round_trip() {
        let a = sample();
        let bytes = a.to_vec().expect("emits");
        let expected_no_sum: [u8; 31] = [
            9, 16, 0, 0, 1, 2, 0x07, 0x08, 192, 0, 2, 1, 0, 0, 0, 0, // header + router
            16, 10, 0, 7, 0x02, 0x58, 0x15, 0x80, 192, 0, 2, 1, // agent adv
            19, 1, 24, // prefix lengths (then pad)
        ];
        assert_eq!(&bytes[4..31], &expected_no_sum[4..]);
        assert_eq!(bytes[31], 0);
        assert_eq!(internet_checksum(&bytes), 0);
        let back = RouterAdvertisement::from_bytes(&bytes).expect("parses");
        assert_eq!(back, a);
        let m = back.mobility_agent().expect("present");
        assert!(m.flags.contains(AgentFlags::F | AgentFlags::U));
        assert!(!m.flags.contains(AgentFlags::H));
        assert_eq!(back.prefix_lengths(), Some(&[24u8][..]));
        let p = RouterAdvertisementPacket::new_checked(&bytes[..]).expect("valid");
        assert!(p.to_string().contains("addrs=1"));
    }

    #[test]
    fn checksum_and_malformed() {
        let mut bytes = sample().to_vec().expect("emits");
        bytes[10] ^= 0xff;
        assert_eq!(
            RouterAdvertisement::from_bytes(&bytes),
            Err(Error::Checksum)
        );
        assert_eq!(
            RouterAdvertisement::from_bytes(&[9, 0, 0]),
            Err(Error::Truncated)
        );
        assert_eq!(
            RouterAdvertisement::from_bytes(&[10, 0, 0, 0, 0, 2, 0, 0]),
            Err(Error::MalformedAdvertisement)
        );
        // 3 addresses announced, none present.
        assert_eq!(
            RouterAdvertisement::from_bytes(&[9, 0, 0, 0, 3, 2, 0, 0]),
            Err(Error::Truncated)
        );
        // Agent advertisement extension of length 5 is malformed.
        let a = RouterAdvertisement {
            code: 0,
            lifetime: 0,
            routers: vec![],
            extensions: vec![AdvertisementExtension::Other {
                ext_type: 16,
                data: vec![0; 5],
            }],
        };
        let bytes = a.to_vec().expect("emits");
        assert_eq!(
            RouterAdvertisement::from_bytes(&bytes),
            Err(Error::MalformedExtension(16))
        );
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 example octets 00 01 f2 03 f4 f5 f6 f7: sum ddf2, checksum 220d.
        assert_eq!(
            internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
    }
    #[test]
    fn solicitation_round_trip_and_checks() {
        let b = AgentSolicitation.to_bytes();
        // RFC 1256 §3: type 10, code 0; all-zero body gives checksum !0x0a00.
        assert_eq!(b, [10, 0, 0xf5, 0xff, 0, 0, 0, 0]);
        assert_eq!(AgentSolicitation::from_bytes(&b), Ok(AgentSolicitation));
        assert_eq!(
            AgentSolicitation::from_bytes(&b[..7]),
            Err(Error::Truncated)
        );
        let mut bad = b;
        bad[6] = 1;
        assert_eq!(AgentSolicitation::from_bytes(&bad), Err(Error::Checksum));
        let mut code1 = b;
        code1[1] = 1;
        assert_eq!(
            AgentSolicitation::from_bytes(&code1),
            Err(Error::MalformedAdvertisement)
        );
        let adv = sample().to_vec().expect("emits");
        assert_eq!(
            AgentSolicitation::from_bytes(&adv),
            Err(Error::MalformedAdvertisement)
        );
    }
}
