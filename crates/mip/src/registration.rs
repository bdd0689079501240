//! Registration Request (type 1, RFC 5944 §3.3) and Registration Reply
//! (type 3, RFC 5944 §3.4), sent over UDP port 434.
//!
//! Two levels, as in smoltcp: [`RequestPacket`] / [`ReplyPacket`] are
//! zero-copy views whose accessors never panic once `new_checked` accepted
//! the buffer; [`Request`] / [`Reply`] are owned values with `parse`,
//! `buffer_len` and `emit`, and `emit` never panics on a buffer of
//! `buffer_len()` octets.

use core::fmt;
use std::net::Ipv4Addr;

use crate::code::ReplyCode;
use crate::error::Error;
use crate::ext::{
    Extension, ExtensionReader, emit_extensions, extensions_len, first_unrecognized,
    parse_extensions,
};

/// UDP port of Mobile IP registration (RFC 5944 §3.1).
pub const MIP_PORT: u16 = 434;

/// Type octet of a Registration Request.
pub const TYPE_REQUEST: u8 = 1;
/// Type octet of a Registration Reply.
pub const TYPE_REPLY: u8 = 3;

/// Lifetime 0 asks for deregistration (RFC 5944 §3.3).
pub const LIFETIME_DEREGISTER: u16 = 0;
/// Lifetime 0xffff means infinity (RFC 5944 §3.3).
pub const LIFETIME_INFINITE: u16 = 0xffff;

mod field {
    use core::ops::Range;
    pub const TYPE: usize = 0;
    pub const FLAGS_OR_CODE: usize = 1;
    pub const LIFETIME: Range<usize> = 2..4;
    pub const HOME_ADDRESS: Range<usize> = 4..8;
    pub const HOME_AGENT: Range<usize> = 8..12;
    pub const REQ_CARE_OF: Range<usize> = 12..16;
    pub const REQ_IDENT: Range<usize> = 16..24;
    pub const REP_IDENT: Range<usize> = 12..20;
    pub const REQ_LEN: usize = 24;
    pub const REP_LEN: usize = 20;
}

/// Length of the fixed part of a Registration Request.
pub const REQUEST_FIXED_LEN: usize = field::REQ_LEN;
/// Length of the fixed part of a Registration Reply.
pub const REPLY_FIXED_LEN: usize = field::REP_LEN;

/// The flag octet of a Registration Request (RFC 5944 §3.3):
/// `S B D M G r T x`, most significant bit first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RequestFlags(pub u8);

impl RequestFlags {
    /// S: simultaneous bindings.
    pub const S: u8 = 0x80;
    /// B: broadcast datagrams.
    pub const B: u8 = 0x40;
    /// D: decapsulation by mobile node (co-located care-of address).
    pub const D: u8 = 0x20;
    /// M: minimal encapsulation.
    pub const M: u8 = 0x10;
    /// G: GRE encapsulation.
    pub const G: u8 = 0x08;
    /// r: sent as zero, ignored on reception.
    pub const R_RESERVED: u8 = 0x04;
    /// T: reverse tunnelling requested (RFC 3024).
    pub const T: u8 = 0x02;
    /// x: sent as zero, ignored on reception.
    pub const X_RESERVED: u8 = 0x01;

    /// Whether every bit of `mask` is set.
    pub fn contains(self, mask: u8) -> bool {
        self.0 & mask == mask
    }

    /// Returns these flags with `mask` set or cleared.
    #[must_use]
    pub fn with(self, mask: u8, on: bool) -> Self {
        if on {
            RequestFlags(self.0 | mask)
        } else {
            RequestFlags(self.0 & !mask)
        }
    }
}

impl fmt::Display for RequestFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (mask, c) in [
            (Self::S, 'S'),
            (Self::B, 'B'),
            (Self::D, 'D'),
            (Self::M, 'M'),
            (Self::G, 'G'),
            (Self::R_RESERVED, 'r'),
            (Self::T, 'T'),
            (Self::X_RESERVED, 'x'),
        ] {
            let shown = if self.contains(mask) { c } else { '-' };
            write!(f, "{shown}")?;
        }
        Ok(())
    }
}

fn addr(b: &[u8]) -> Ipv4Addr {
    let mut o = [0u8; 4];
    o.copy_from_slice(b);
    Ipv4Addr::from(o)
}

fn u64_at(b: &[u8]) -> u64 {
    let mut o = [0u8; 8];
    o.copy_from_slice(b);
    u64::from_be_bytes(o)
}

/// Zero-copy view of a Registration Request.
#[derive(Debug, Clone)]
pub struct RequestPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> RequestPacket<T> {
    /// Wraps a buffer without checks; accessors may panic on a short one.
    pub fn new_unchecked(buffer: T) -> Self {
        RequestPacket { buffer }
    }

    /// Wraps a buffer after checking its type octet and length.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        let ty = p.buffer.as_ref()[field::TYPE];
        if ty != TYPE_REQUEST {
            return Err(Error::WrongType(ty));
        }
        Ok(p)
    }

    /// Checks that the fixed part is present.
    pub fn check_len(&self) -> Result<(), Error> {
        if self.buffer.as_ref().len() < field::REQ_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Returns the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Flag octet.
    pub fn flags(&self) -> RequestFlags {
        RequestFlags(self.buffer.as_ref()[field::FLAGS_OR_CODE])
    }

    /// Requested lifetime in seconds.
    pub fn lifetime(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::LIFETIME];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Home address of the mobile node.
    pub fn home_address(&self) -> Ipv4Addr {
        addr(&self.buffer.as_ref()[field::HOME_ADDRESS])
    }

    /// Home agent address.
    pub fn home_agent(&self) -> Ipv4Addr {
        addr(&self.buffer.as_ref()[field::HOME_AGENT])
    }

    /// Care-of address.
    pub fn care_of_address(&self) -> Ipv4Addr {
        addr(&self.buffer.as_ref()[field::REQ_CARE_OF])
    }

    /// 64-bit Identification (RFC 5944 §5.7).
    pub fn identification(&self) -> u64 {
        u64_at(&self.buffer.as_ref()[field::REQ_IDENT])
    }

    /// The extensions after the fixed part.
    pub fn extensions(&self) -> ExtensionReader<'_> {
        ExtensionReader::new(self.buffer.as_ref(), field::REQ_LEN)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> RequestPacket<T> {
    /// Writes the Type octet.
    pub fn set_type(&mut self) {
        self.buffer.as_mut()[field::TYPE] = TYPE_REQUEST;
    }
    /// Writes the flag octet.
    pub fn set_flags(&mut self, flags: RequestFlags) {
        self.buffer.as_mut()[field::FLAGS_OR_CODE] = flags.0;
    }
    /// Writes the lifetime.
    pub fn set_lifetime(&mut self, v: u16) {
        self.buffer.as_mut()[field::LIFETIME].copy_from_slice(&v.to_be_bytes());
    }
    /// Writes the home address.
    pub fn set_home_address(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::HOME_ADDRESS].copy_from_slice(&a.octets());
    }
    /// Writes the home agent address.
    pub fn set_home_agent(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::HOME_AGENT].copy_from_slice(&a.octets());
    }
    /// Writes the care-of address.
    pub fn set_care_of_address(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::REQ_CARE_OF].copy_from_slice(&a.octets());
    }
    /// Writes the Identification.
    pub fn set_identification(&mut self, v: u64) {
        self.buffer.as_mut()[field::REQ_IDENT].copy_from_slice(&v.to_be_bytes());
    }
}

impl<T: AsRef<[u8]>> fmt::Display for RequestPacket<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MIP RRQ flags={} life={} home={} ha={} coa={} id={:#018x}",
            self.flags(),
            self.lifetime(),
            self.home_address(),
            self.home_agent(),
            self.care_of_address(),
            self.identification()
        )
    }
}

/// Zero-copy view of a Registration Reply.
#[derive(Debug, Clone)]
pub struct ReplyPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ReplyPacket<T> {
    /// Wraps a buffer without checks; accessors may panic on a short one.
    pub fn new_unchecked(buffer: T) -> Self {
        ReplyPacket { buffer }
    }

    /// Wraps a buffer after checking its type octet and length.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        let ty = p.buffer.as_ref()[field::TYPE];
        if ty != TYPE_REPLY {
            return Err(Error::WrongType(ty));
        }
        Ok(p)
    }

    /// Checks that the fixed part is present.
    pub fn check_len(&self) -> Result<(), Error> {
        if self.buffer.as_ref().len() < field::REP_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Returns the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Reply code.
    pub fn code(&self) -> ReplyCode {
        ReplyCode::from(self.buffer.as_ref()[field::FLAGS_OR_CODE])
    }

    /// Granted lifetime in seconds.
    pub fn lifetime(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::LIFETIME];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Home address of the mobile node.
    pub fn home_address(&self) -> Ipv4Addr {
        addr(&self.buffer.as_ref()[field::HOME_ADDRESS])
    }

    /// Home agent address.
    pub fn home_agent(&self) -> Ipv4Addr {
        addr(&self.buffer.as_ref()[field::HOME_AGENT])
    }

    /// 64-bit Identification (RFC 5944 §5.7).
    pub fn identification(&self) -> u64 {
        u64_at(&self.buffer.as_ref()[field::REP_IDENT])
    }

    /// The extensions after the fixed part.
    pub fn extensions(&self) -> ExtensionReader<'_> {
        ExtensionReader::new(self.buffer.as_ref(), field::REP_LEN)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ReplyPacket<T> {
    /// Writes the Type octet.
    pub fn set_type(&mut self) {
        self.buffer.as_mut()[field::TYPE] = TYPE_REPLY;
    }
    /// Writes the reply code.
    pub fn set_code(&mut self, code: ReplyCode) {
        self.buffer.as_mut()[field::FLAGS_OR_CODE] = code.into();
    }
    /// Writes the lifetime.
    pub fn set_lifetime(&mut self, v: u16) {
        self.buffer.as_mut()[field::LIFETIME].copy_from_slice(&v.to_be_bytes());
    }
    /// Writes the home address.
    pub fn set_home_address(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::HOME_ADDRESS].copy_from_slice(&a.octets());
    }
    /// Writes the home agent address.
    pub fn set_home_agent(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::HOME_AGENT].copy_from_slice(&a.octets());
    }
    /// Writes the Identification.
    pub fn set_identification(&mut self, v: u64) {
        self.buffer.as_mut()[field::REP_IDENT].copy_from_slice(&v.to_be_bytes());
    }
}

impl<T: AsRef<[u8]>> fmt::Display for ReplyPacket<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MIP RRP code={} life={} home={} ha={} id={:#018x}",
            self.code(),
            self.lifetime(),
            self.home_address(),
            self.home_agent(),
            self.identification()
        )
    }
}

/// An owned Registration Request (RFC 5944 §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Flag octet.
    pub flags: RequestFlags,
    /// Requested lifetime in seconds (0: deregister, 0xffff: infinite).
    pub lifetime: u16,
    /// Home address (0.0.0.0 asks for one, RFC 2794 §2).
    pub home_address: Ipv4Addr,
    /// Home agent address.
    pub home_agent: Ipv4Addr,
    /// Care-of address.
    pub care_of_address: Ipv4Addr,
    /// Identification for matching and replay protection (RFC 5944 §5.7).
    pub identification: u64,
    /// Extensions in wire order (order matters for authentication).
    pub extensions: Vec<Extension>,
}

impl Request {
    /// Parses a checked view and its extensions.
    pub fn parse<T: AsRef<[u8]>>(packet: &RequestPacket<T>) -> Result<Self, Error> {
        Ok(Request {
            flags: packet.flags(),
            lifetime: packet.lifetime(),
            home_address: packet.home_address(),
            home_agent: packet.home_agent(),
            care_of_address: packet.care_of_address(),
            identification: packet.identification(),
            extensions: parse_extensions(packet.buffer.as_ref(), field::REQ_LEN)?,
        })
    }

    /// Parses a request from bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::parse(&RequestPacket::new_checked(bytes)?)
    }

    /// Octets the request occupies.
    pub fn buffer_len(&self) -> usize {
        field::REQ_LEN + extensions_len(&self.extensions)
    }

    /// Writes the request into `buf`; returns octets written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let (head, tail) = buf
            .split_at_mut_checked(field::REQ_LEN)
            .ok_or(Error::BufferTooSmall)?;
        let n = emit_extensions(&self.extensions, tail)?;
        let mut p = RequestPacket::new_unchecked(head);
        p.set_type();
        p.set_flags(self.flags);
        p.set_lifetime(self.lifetime);
        p.set_home_address(self.home_address);
        p.set_home_agent(self.home_agent);
        p.set_care_of_address(self.care_of_address);
        p.set_identification(self.identification);
        Ok(field::REQ_LEN + n)
    }

    /// Encodes into a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        let mut v = vec![0; self.buffer_len()];
        let n = self.emit(&mut v)?;
        v.truncate(n);
        Ok(v)
    }

    /// RFC 5944 §1.9: fails with the first non-skippable extension this
    /// crate cannot interpret (answer: code 70 at an FA, 134 at the HA).
    pub fn check_extensions(&self) -> Result<(), Error> {
        first_unrecognized(&self.extensions)
            .map_or(Ok(()), |t| Err(Error::UnrecognizedExtension(t)))
    }
}

/// An owned Registration Reply (RFC 5944 §3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Result of the registration.
    pub code: ReplyCode,
    /// Granted lifetime in seconds.
    pub lifetime: u16,
    /// Home address.
    pub home_address: Ipv4Addr,
    /// Home agent address.
    pub home_agent: Ipv4Addr,
    /// Identification (RFC 5944 §5.7).
    pub identification: u64,
    /// Extensions in wire order.
    pub extensions: Vec<Extension>,
}

impl Reply {
    /// Parses a checked view and its extensions.
    pub fn parse<T: AsRef<[u8]>>(packet: &ReplyPacket<T>) -> Result<Self, Error> {
        Ok(Reply {
            code: packet.code(),
            lifetime: packet.lifetime(),
            home_address: packet.home_address(),
            home_agent: packet.home_agent(),
            identification: packet.identification(),
            extensions: parse_extensions(packet.buffer.as_ref(), field::REP_LEN)?,
        })
    }

    /// Parses a reply from bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::parse(&ReplyPacket::new_checked(bytes)?)
    }

    /// Octets the reply occupies.
    pub fn buffer_len(&self) -> usize {
        field::REP_LEN + extensions_len(&self.extensions)
    }

    /// Writes the reply into `buf`; returns octets written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let (head, tail) = buf
            .split_at_mut_checked(field::REP_LEN)
            .ok_or(Error::BufferTooSmall)?;
        let n = emit_extensions(&self.extensions, tail)?;
        let mut p = ReplyPacket::new_unchecked(head);
        p.set_type();
        p.set_code(self.code);
        p.set_lifetime(self.lifetime);
        p.set_home_address(self.home_address);
        p.set_home_agent(self.home_agent);
        p.set_identification(self.identification);
        Ok(field::REP_LEN + n)
    }

    /// Encodes into a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        let mut v = vec![0; self.buffer_len()];
        let n = self.emit(&mut v)?;
        v.truncate(n);
        Ok(v)
    }

    /// RFC 5944 §1.9 check, as for [`Request::check_extensions`].
    pub fn check_extensions(&self) -> Result<(), Error> {
        first_unrecognized(&self.extensions)
            .map_or(Ok(()), |t| Err(Error::UnrecognizedExtension(t)))
    }
}

/// Any registration message, dispatched on the Type octet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Type 1.
    Request(Request),
    /// Type 3.
    Reply(Reply),
}

impl Message {
    /// Parses a UDP port-434 payload; other types yield `WrongType`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        match bytes.first() {
            None => Err(Error::Truncated),
            Some(&TYPE_REQUEST) => Request::from_bytes(bytes).map(Message::Request),
            Some(&TYPE_REPLY) => Reply::from_bytes(bytes).map(Message::Reply),
            Some(&other) => Err(Error::WrongType(other)),
        }
    }

    /// Encodes into a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        match self {
            Message::Request(r) => r.to_vec(),
            Message::Reply(r) => r.to_vec(),
        }
    }

    /// Length of the fixed part for a message of this Type octet, which is
    /// where the extensions start; `None` for other types.
    pub fn fixed_len(message_type: u8) -> Option<usize> {
        match message_type {
            TYPE_REQUEST => Some(field::REQ_LEN),
            TYPE_REPLY => Some(field::REP_LEN),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::AuthExtension;

    // A request built by hand from RFC 5944 §3.3's layout: flags S and T,
    // lifetime 1800, home 10.0.0.5, HA 10.0.0.1, CoA 192.0.2.7,
    // identification 0xE8B6A3C0_00000001, then an MN-HA extension with
    // SPI 256 and a 16-octet authenticator of 0x11.
    const RRQ: [u8; 46] = [
        0x01, 0x82, 0x07, 0x08, 10, 0, 0, 5, 10, 0, 0, 1, 192, 0, 2, 7, 0xe8, 0xb6, 0xa3, 0xc0, 0,
        0, 0, 1, 32, 20, 0, 0, 1, 0, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
        0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    ];

    #[test]
    fn request_fixture() {
        let p = RequestPacket::new_checked(&RRQ[..]).expect("valid");
        assert!(p.flags().contains(RequestFlags::S | RequestFlags::T));
        assert!(!p.flags().contains(RequestFlags::D));
        assert_eq!(p.lifetime(), 1800);
        assert_eq!(p.home_address(), Ipv4Addr::new(10, 0, 0, 5));
        assert_eq!(p.home_agent(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(p.care_of_address(), Ipv4Addr::new(192, 0, 2, 7));
        assert_eq!(p.identification(), 0xe8b6_a3c0_0000_0001);
        assert_eq!(
            p.to_string(),
            "MIP RRQ flags=S-----T- life=1800 home=10.0.0.5 ha=10.0.0.1 coa=192.0.2.7 id=0xe8b6a3c000000001"
        );
        let r = Request::parse(&p).expect("parses");
        assert_eq!(
            r.extensions,
            [Extension::MnHaAuth(AuthExtension {
                spi: 256,
                authenticator: vec![0x11; 16]
            })]
        );
        assert_eq!(r.buffer_len(), RRQ.len());
        assert_eq!(r.to_vec().expect("emits"), RRQ);
        assert_eq!(r.check_extensions(), Ok(()));
    }

    #[test]
    fn reply_round_trip_every_code() {
        for raw in 0..=255u8 {
            let reply = Reply {
                code: ReplyCode::from(raw),
                lifetime: 600,
                home_address: Ipv4Addr::new(10, 0, 0, 5),
                home_agent: Ipv4Addr::new(10, 0, 0, 1),
                identification: 0x0102_0304_0506_0708,
                extensions: vec![Extension::MnNai(b"mn@example.org".to_vec())],
            };
            let bytes = reply.to_vec().expect("emits");
            assert_eq!(bytes.len(), reply.buffer_len());
            assert_eq!(&bytes[..4], &[3, raw, 0x02, 0x58]);
            assert_eq!(Reply::from_bytes(&bytes), Ok(reply.clone()));
            assert_eq!(Message::from_bytes(&bytes), Ok(Message::Reply(reply)));
        }
    }

    #[test]
    fn errors() {
        assert_eq!(Request::from_bytes(&RRQ[..23]), Err(Error::Truncated));
        assert_eq!(Reply::from_bytes(&RRQ), Err(Error::WrongType(1)));
        assert_eq!(Message::from_bytes(&[2; 30]), Err(Error::WrongType(2)));
        assert_eq!(Message::from_bytes(&[]), Err(Error::Truncated));
        assert_eq!(Request::from_bytes(&RRQ[..45]), Err(Error::Truncated));
        let r = Request::from_bytes(&RRQ).expect("parses");
        assert_eq!(r.emit(&mut [0u8; 45]), Err(Error::BufferTooSmall));
        assert_eq!(r.emit(&mut [0u8; 10]), Err(Error::BufferTooSmall));
        let mut with_unknown = r.clone();
        with_unknown.extensions.push(Extension::Other {
            ext_type: 99,
            subtype: None,
            data: vec![],
        });
        assert_eq!(
            with_unknown.check_extensions(),
            Err(Error::UnrecognizedExtension(99))
        );
        assert_eq!(
            Error::UnrecognizedExtension(99).reply_code(crate::Role::HomeAgent),
            Some(ReplyCode::HaPoorlyFormedRequest)
        );
        assert_eq!(
            Error::UnrecognizedExtension(99).reply_code(crate::Role::ForeignAgent),
            Some(ReplyCode::FaPoorlyFormedRequest)
        );
    }

    #[test]
    fn flags_helpers() {
        let f = RequestFlags::default()
            .with(RequestFlags::G, true)
            .with(RequestFlags::B, true);
        assert_eq!(f.0, 0x48);
        assert_eq!(f.with(RequestFlags::G, false).0, 0x40);
    }
}
