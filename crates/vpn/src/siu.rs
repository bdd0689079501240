//! The SIU and SIU-Ack on the wire: zero-copy views and checked values.
//!
//! No RFC defines these messages; they are telsec's rendering of the
//! "security information update" of seed 002 (page 6), laid out after the
//! Mobile IPv4 registration messages (RFC 5944 §3.3, §3.4): fixed fields,
//! a 64-bit Identification for replay protection (§5.7), an SPI naming the
//! shared key (§1.6, §3.5.1) and an authenticator over everything before
//! it. All integers are big-endian. Both travel over UDP, the SIU to the
//! gateway's port [`DEFAULT_PORT`], the SIU-Ack back to the sender's port.
//!
//! SIU, type 1, home agent → gateway:
//!
//! ```text
//! offset  len  field
//!      0    1  Type          1
//!      1    1  Flags         reserved: sent 0, ignored (but authenticated)
//!      2    2  Length        octets of the whole message
//!      4    8  Identification  NTP-format timestamp (RFC 5944 §5.7.1)
//!     12    4  Home Address  of the mobile node
//!     16    4  Old Care-of Address  the gateway's SA destination until now
//!     20    4  New Care-of Address  the SA destination from now on
//!     24    2  New CoA Port  source UDP port of the node's ESP-in-UDP
//!                            (RFC 3948 §2; 4500 when no NAT rewrote it)
//!     26    2  Lifetime      registration lifetime granted, seconds
//!     28    4  SPI           names the HA–GW key; 0..=255 reserved
//!     32    2  Reply Length  n, MIN_REPLY_LEN..=MAX_REPLY_LEN
//!     34    n  Registration Reply  RFC 5944 §3.4 message, opaque here
//!   34+n   32  Authenticator HMAC-SHA-256 over octets 0..34+n
//! ```
//!
//! SIU-Ack, type 2, gateway → home agent:
//!
//! ```text
//! offset  len  field
//!      0    1  Type          2
//!      1    1  Reserved      sent 0, ignored (but authenticated)
//!      2    2  Length        54
//!      4    8  Identification  the SIU's; for status 130 the gateway's
//!                            clock seconds in the high 32 bits and the
//!                            SIU's low 32 bits (as RFC 5944 §5.7.1 code 133)
//!     12    4  Home Address  the SIU's
//!     16    1  Status        see AckStatus
//!     17    1  Reserved      sent 0, ignored (but authenticated)
//!     18    4  SPI           the SIU's (the same key authenticates both)
//!     22   32  Authenticator HMAC-SHA-256 over octets 0..22
//! ```
//!
//! The type octet is authenticated, so an SIU-Ack can never pass for an SIU
//! under the shared key, nor the reverse.
//!
//! This module only frames octets; [`crate::auth`] computes and checks the
//! authenticator. Contract, as in smoltcp: after `new_checked` no accessor
//! panics; `emit` never panics and succeeds on a buffer of `buffer_len()`
//! octets; nothing here allocates more than [`MAX_SIU_LEN`] octets.

use core::fmt;
use std::net::Ipv4Addr;

use crate::error::{FieldError, WireError};

/// UDP port the gateway's SIU daemon listens on by default (telsec's
/// choice; unassigned by IANA).
pub const DEFAULT_PORT: u16 = 4436;
/// UDP port of IKE/ESP-in-UDP (RFC 3948 §2): the node's source port when no
/// NAT rewrote it.
pub const NAT_T_PORT: u16 = 4500;
/// Type octet of an SIU.
pub const TYPE_SIU: u8 = 1;
/// Type octet of an SIU-Ack.
pub const TYPE_ACK: u8 = 2;
/// Octets of the HMAC-SHA-256 authenticator.
pub const MAC_LEN: usize = 32;
/// Octets of the SIU before the registration reply.
pub const SIU_HEADER_LEN: usize = 34;
/// The fixed part of an RFC 5944 §3.4 Registration Reply (type, code,
/// lifetime, home address, home agent, identification): any real reply is
/// at least this long.
pub const MIN_REPLY_LEN: usize = 20;
/// Largest registration reply carried: the fixed part plus room for every
/// extension a home agent adds (RFC 5944 §3.4, §3.5).
pub const MAX_REPLY_LEN: usize = 1024;
/// The shortest SIU.
pub const MIN_SIU_LEN: usize = SIU_HEADER_LEN + MIN_REPLY_LEN + MAC_LEN;
/// The longest SIU; bounds every allocation.
pub const MAX_SIU_LEN: usize = SIU_HEADER_LEN + MAX_REPLY_LEN + MAC_LEN;
/// Octets of an SIU-Ack.
pub const ACK_LEN: usize = 54;
/// SPI 0..=255 are reserved, as in RFC 5944 §1.6.
pub const MIN_SPI: u32 = 256;

mod field {
    use core::ops::Range;

    pub const TYPE: usize = 0;
    pub const FLAGS: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..12;
    pub const HOME: Range<usize> = 12..16;
    // SIU
    pub const OLD_COA: Range<usize> = 16..20;
    pub const NEW_COA: Range<usize> = 20..24;
    pub const NEW_PORT: Range<usize> = 24..26;
    pub const LIFETIME: Range<usize> = 26..28;
    pub const SIU_SPI: Range<usize> = 28..32;
    pub const REPLY_LEN: Range<usize> = 32..34;
    pub const REPLY: usize = 34;
    // SIU-Ack
    pub const STATUS: usize = 16;
    pub const ACK_RESERVED: usize = 17;
    pub const ACK_SPI: Range<usize> = 18..22;
    pub const ACK_MAC: Range<usize> = 22..54;
}

fn be16(b: &[u8], r: core::ops::Range<usize>) -> u16 {
    let mut a = [0u8; 2];
    a.copy_from_slice(&b[r]);
    u16::from_be_bytes(a)
}

fn be32(b: &[u8], r: core::ops::Range<usize>) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[r]);
    u32::from_be_bytes(a)
}

fn be64(b: &[u8], r: core::ops::Range<usize>) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[r]);
    u64::from_be_bytes(a)
}

/// The type octet of a datagram, if it has one: lets a daemon that shares
/// a socket dispatch before choosing a view.
pub fn message_type(datagram: &[u8]) -> Option<u8> {
    datagram.first().copied()
}

/// A zero-copy view of an SIU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiuPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> SiuPacket<T> {
    /// Wraps octets without checking them; accessors may panic on a short
    /// buffer. Use for emitting into a buffer of [`SiuRepr::buffer_len`].
    pub const fn new_unchecked(buffer: T) -> Self {
        SiuPacket { buffer }
    }

    /// Wraps octets after checking the framing: type 1, Length equal to the
    /// datagram, Reply Length consistent with it and within bounds. After
    /// this no accessor panics.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// The checks of [`Self::new_checked`].
    pub fn check_len(&self) -> Result<(), WireError> {
        let b = self.buffer.as_ref();
        let len = b.len();
        if len < MIN_SIU_LEN {
            return Err(WireError::Truncated {
                len,
                min: MIN_SIU_LEN,
            });
        }
        if len > MAX_SIU_LEN {
            return Err(WireError::TooLong {
                len,
                max: MAX_SIU_LEN,
            });
        }
        if b[field::TYPE] != TYPE_SIU {
            return Err(WireError::UnexpectedType {
                found: b[field::TYPE],
                expected: TYPE_SIU,
            });
        }
        let length = usize::from(be16(b, field::LENGTH));
        if length != len {
            return Err(WireError::LengthMismatch {
                field: length,
                actual: len,
            });
        }
        let reply_len = usize::from(be16(b, field::REPLY_LEN));
        if !(MIN_REPLY_LEN..=MAX_REPLY_LEN).contains(&reply_len)
            || SIU_HEADER_LEN + reply_len + MAC_LEN != len
        {
            return Err(WireError::BadReplyLength(reply_len));
        }
        Ok(())
    }

    /// Unwraps the octets.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The Flags octet (reserved).
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// The Length field.
    pub fn length(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH)
    }

    /// The Identification (RFC 5944 §5.7.1 NTP timestamp).
    pub fn identification(&self) -> u64 {
        be64(self.buffer.as_ref(), field::IDENT)
    }

    /// The mobile node's home address.
    pub fn home_address(&self) -> Ipv4Addr {
        Ipv4Addr::from(be32(self.buffer.as_ref(), field::HOME))
    }

    /// The care-of address the gateway's outbound SA points at until now.
    pub fn old_care_of(&self) -> Ipv4Addr {
        Ipv4Addr::from(be32(self.buffer.as_ref(), field::OLD_COA))
    }

    /// The care-of address the outbound SA is to point at.
    pub fn new_care_of(&self) -> Ipv4Addr {
        Ipv4Addr::from(be32(self.buffer.as_ref(), field::NEW_COA))
    }

    /// Source UDP port of the node's ESP-in-UDP from the new care-of address.
    pub fn new_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::NEW_PORT)
    }

    /// Registration lifetime the home agent granted, seconds.
    pub fn lifetime(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LIFETIME)
    }

    /// SPI of the HA–GW key.
    pub fn spi(&self) -> u32 {
        be32(self.buffer.as_ref(), field::SIU_SPI)
    }

    /// The Reply Length field.
    pub fn reply_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::REPLY_LEN)
    }

    /// The embedded registration reply.
    pub fn reply(&self) -> &[u8] {
        let end = field::REPLY + usize::from(self.reply_len());
        &self.buffer.as_ref()[field::REPLY..end]
    }

    /// The octets the authenticator covers.
    pub fn authenticated(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[..b.len() - MAC_LEN]
    }

    /// The authenticator.
    pub fn authenticator(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[b.len() - MAC_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> SiuPacket<T> {
    fn put(&mut self, r: core::ops::Range<usize>, v: &[u8]) {
        self.buffer.as_mut()[r].copy_from_slice(v);
    }

    /// Sets the type octet.
    pub fn set_type(&mut self, v: u8) {
        self.buffer.as_mut()[field::TYPE] = v;
    }
    /// Sets the Flags octet.
    pub fn set_flags(&mut self, v: u8) {
        self.buffer.as_mut()[field::FLAGS] = v;
    }
    /// Sets the Length field.
    pub fn set_length(&mut self, v: u16) {
        self.put(field::LENGTH, &v.to_be_bytes());
    }
    /// Sets the Identification.
    pub fn set_identification(&mut self, v: u64) {
        self.put(field::IDENT, &v.to_be_bytes());
    }
    /// Sets the home address.
    pub fn set_home_address(&mut self, v: Ipv4Addr) {
        self.put(field::HOME, &v.octets());
    }
    /// Sets the old care-of address.
    pub fn set_old_care_of(&mut self, v: Ipv4Addr) {
        self.put(field::OLD_COA, &v.octets());
    }
    /// Sets the new care-of address.
    pub fn set_new_care_of(&mut self, v: Ipv4Addr) {
        self.put(field::NEW_COA, &v.octets());
    }
    /// Sets the new care-of UDP port.
    pub fn set_new_port(&mut self, v: u16) {
        self.put(field::NEW_PORT, &v.to_be_bytes());
    }
    /// Sets the lifetime.
    pub fn set_lifetime(&mut self, v: u16) {
        self.put(field::LIFETIME, &v.to_be_bytes());
    }
    /// Sets the SPI.
    pub fn set_spi(&mut self, v: u32) {
        self.put(field::SIU_SPI, &v.to_be_bytes());
    }
    /// Sets the Reply Length field.
    pub fn set_reply_len(&mut self, v: u16) {
        self.put(field::REPLY_LEN, &v.to_be_bytes());
    }
    /// The octets from the reply to the end (reply and authenticator).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::REPLY..]
    }
}

impl<T: AsRef<[u8]>> fmt::Display for SiuPacket<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match SiuRepr::parse(&SiuPacket::new_unchecked(self.buffer.as_ref())) {
            Ok(repr) => write!(f, "{repr}"),
            Err(e) => write!(f, "SIU ({e})"),
        }
    }
}

/// The checked content of an SIU, authenticator aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiuRepr<'a> {
    /// Flags octet (reserved; 0 when sending).
    pub flags: u8,
    /// Identification, NTP format (RFC 5944 §5.7.1).
    pub identification: u64,
    /// Home address of the mobile node.
    pub home: Ipv4Addr,
    /// Care-of address the outbound SA points at until now.
    pub old_coa: Ipv4Addr,
    /// Care-of address it is to point at.
    pub new_coa: Ipv4Addr,
    /// Source UDP port of the node's ESP-in-UDP at the new address.
    pub new_port: u16,
    /// Registration lifetime granted, seconds.
    pub lifetime: u16,
    /// SPI of the HA–GW key (>= 256).
    pub spi: u32,
    /// The RFC 5944 §3.4 Registration Reply to forward to the node.
    pub reply: &'a [u8],
}

impl<'a> SiuRepr<'a> {
    /// Reads a checked view; refuses a reserved SPI.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &SiuPacket<&'a T>) -> Result<Self, WireError> {
        packet.check_len()?;
        let inner: &'a T = packet.buffer;
        let bytes: &'a [u8] = inner.as_ref();
        let reply_end = field::REPLY + usize::from(packet.reply_len());
        let spi = packet.spi();
        if spi < MIN_SPI {
            return Err(WireError::ReservedSpi(spi));
        }
        Ok(SiuRepr {
            flags: packet.flags(),
            identification: packet.identification(),
            home: packet.home_address(),
            old_coa: packet.old_care_of(),
            new_coa: packet.new_care_of(),
            new_port: packet.new_port(),
            lifetime: packet.lifetime(),
            spi,
            reply: &bytes[field::REPLY..reply_end],
        })
    }

    /// Octets of the message, authenticator included.
    pub fn buffer_len(&self) -> usize {
        SIU_HEADER_LEN + self.reply.len() + MAC_LEN
    }

    /// Writes the message into the first [`Self::buffer_len`] octets of
    /// `buf` with a zero authenticator (for [`crate::auth::HaGwKey::seal`]);
    /// returns the length written. Refuses a reply out of bounds or a
    /// reserved SPI rather than write a message no receiver accepts.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        if !(MIN_REPLY_LEN..=MAX_REPLY_LEN).contains(&self.reply.len()) {
            return Err(WireError::BadReplyLength(self.reply.len()));
        }
        if self.spi < MIN_SPI {
            return Err(WireError::ReservedSpi(self.spi));
        }
        let len = self.buffer_len();
        let Some(out) = buf.get_mut(..len) else {
            return Err(WireError::BufferTooShort {
                len: buf.len(),
                needed: len,
            });
        };
        let mut p = SiuPacket::new_unchecked(out);
        p.set_type(TYPE_SIU);
        p.set_flags(self.flags);
        // Both fit in u16: len <= MAX_SIU_LEN, checked above.
        p.set_length(len as u16);
        p.set_identification(self.identification);
        p.set_home_address(self.home);
        p.set_old_care_of(self.old_coa);
        p.set_new_care_of(self.new_coa);
        p.set_new_port(self.new_port);
        p.set_lifetime(self.lifetime);
        p.set_spi(self.spi);
        p.set_reply_len(self.reply.len() as u16);
        let payload = p.payload_mut();
        let (reply, mac) = payload.split_at_mut(self.reply.len());
        reply.copy_from_slice(self.reply);
        mac.fill(0);
        Ok(len)
    }

    /// The message as a new vector, authenticator zero.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
        let mut v = vec![0u8; self.buffer_len().min(MAX_SIU_LEN)];
        self.emit(&mut v)?;
        Ok(v)
    }
}

impl fmt::Display for SiuRepr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SIU id={:#018x} home={} coa {} -> {}:{} lifetime={} spi={} reply={} octets",
            self.identification,
            self.home,
            self.old_coa,
            self.new_coa,
            self.new_port,
            self.lifetime,
            self.spi,
            self.reply.len()
        )
    }
}

/// The status of an SIU-Ack. Like RFC 5944 §3.4 reply codes, 0..=127 mean
/// the update was applied and 128..=255 that it was not. Open: an unknown
/// code is data, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AckStatus {
    /// 0: the outbound SA now points at the new care-of address and the
    /// registration reply has been (or is being) sent through it.
    Applied,
    /// 128: the gateway has no SA for this home address.
    UnknownNode,
    /// 129: authentication failed. Defined for completeness; telsec's
    /// gateway never sends it, since it answers nothing it cannot
    /// authenticate (an answer would be an oracle for forgers).
    AuthenticationFailed,
    /// 130: the Identification is stale, replayed or too far from the
    /// gateway's clock; the Ack's Identification carries the gateway's
    /// clock so the home agent can resynchronise (RFC 5944 §5.7.1, code 133).
    IdentificationMismatch,
    /// 131: authentic but its content cannot be applied (a new care-of
    /// address or home address that is not unicast, port 0).
    Malformed,
    /// 132: the old care-of address is not where the gateway's SA points:
    /// the home agent's view of the binding is not the gateway's.
    OldCoaMismatch,
    /// Any other code.
    Unknown(u8),
}

impl AckStatus {
    /// Whether the code means the update was applied (0..=127).
    pub fn is_success(self) -> bool {
        u8::from(self) < 128
    }
}

impl From<u8> for AckStatus {
    fn from(v: u8) -> Self {
        match v {
            0 => AckStatus::Applied,
            128 => AckStatus::UnknownNode,
            129 => AckStatus::AuthenticationFailed,
            130 => AckStatus::IdentificationMismatch,
            131 => AckStatus::Malformed,
            132 => AckStatus::OldCoaMismatch,
            other => AckStatus::Unknown(other),
        }
    }
}

impl From<AckStatus> for u8 {
    fn from(s: AckStatus) -> u8 {
        match s {
            AckStatus::Applied => 0,
            AckStatus::UnknownNode => 128,
            AckStatus::AuthenticationFailed => 129,
            AckStatus::IdentificationMismatch => 130,
            AckStatus::Malformed => 131,
            AckStatus::OldCoaMismatch => 132,
            AckStatus::Unknown(v) => v,
        }
    }
}

impl fmt::Display for AckStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            AckStatus::Applied => "applied",
            AckStatus::UnknownNode => "unknown node",
            AckStatus::AuthenticationFailed => "authentication failed",
            AckStatus::IdentificationMismatch => "identification mismatch",
            AckStatus::Malformed => "malformed",
            AckStatus::OldCoaMismatch => "old care-of address mismatch",
            AckStatus::Unknown(_) => "unknown",
        };
        write!(f, "{} ({name})", u8::from(*self))
    }
}

/// A zero-copy view of an SIU-Ack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> AckPacket<T> {
    /// Wraps octets without checking them.
    pub const fn new_unchecked(buffer: T) -> Self {
        AckPacket { buffer }
    }

    /// Wraps octets after checking type 2 and the fixed length.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// The checks of [`Self::new_checked`].
    pub fn check_len(&self) -> Result<(), WireError> {
        let b = self.buffer.as_ref();
        let len = b.len();
        if len < ACK_LEN {
            return Err(WireError::Truncated { len, min: ACK_LEN });
        }
        if len > ACK_LEN {
            return Err(WireError::TooLong { len, max: ACK_LEN });
        }
        if b[field::TYPE] != TYPE_ACK {
            return Err(WireError::UnexpectedType {
                found: b[field::TYPE],
                expected: TYPE_ACK,
            });
        }
        let length = usize::from(be16(b, field::LENGTH));
        if length != len {
            return Err(WireError::LengthMismatch {
                field: length,
                actual: len,
            });
        }
        Ok(())
    }

    /// Unwraps the octets.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The Identification.
    pub fn identification(&self) -> u64 {
        be64(self.buffer.as_ref(), field::IDENT)
    }

    /// The home address.
    pub fn home_address(&self) -> Ipv4Addr {
        Ipv4Addr::from(be32(self.buffer.as_ref(), field::HOME))
    }

    /// The status.
    pub fn status(&self) -> AckStatus {
        AckStatus::from(self.buffer.as_ref()[field::STATUS])
    }

    /// The SPI.
    pub fn spi(&self) -> u32 {
        be32(self.buffer.as_ref(), field::ACK_SPI)
    }

    /// The octets the authenticator covers.
    pub fn authenticated(&self) -> &[u8] {
        &self.buffer.as_ref()[..field::ACK_MAC.start]
    }

    /// The authenticator.
    pub fn authenticator(&self) -> &[u8] {
        &self.buffer.as_ref()[field::ACK_MAC]
    }
}

impl<T: AsRef<[u8]>> fmt::Display for AckPacket<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match AckRepr::parse(self) {
            Ok(repr) => write!(f, "{repr}"),
            Err(e) => write!(f, "SIU-Ack ({e})"),
        }
    }
}

/// The checked content of an SIU-Ack, authenticator aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckRepr {
    /// Identification (see the module doc for status 130).
    pub identification: u64,
    /// Home address of the SIU.
    pub home: Ipv4Addr,
    /// Status.
    pub status: AckStatus,
    /// SPI of the key (>= 256).
    pub spi: u32,
}

impl AckRepr {
    /// Reads a checked view; refuses a reserved SPI.
    pub fn parse<T: AsRef<[u8]>>(packet: &AckPacket<T>) -> Result<Self, WireError> {
        packet.check_len()?;
        let spi = packet.spi();
        if spi < MIN_SPI {
            return Err(WireError::ReservedSpi(spi));
        }
        Ok(AckRepr {
            identification: packet.identification(),
            home: packet.home_address(),
            status: packet.status(),
            spi,
        })
    }

    /// Octets of the message, authenticator included.
    pub const fn buffer_len(&self) -> usize {
        ACK_LEN
    }

    /// Writes the message into the first [`ACK_LEN`] octets of `buf`, zero
    /// authenticator; returns the length written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        if self.spi < MIN_SPI {
            return Err(WireError::ReservedSpi(self.spi));
        }
        let Some(b) = buf.get_mut(..ACK_LEN) else {
            return Err(WireError::BufferTooShort {
                len: buf.len(),
                needed: ACK_LEN,
            });
        };
        b[field::TYPE] = TYPE_ACK;
        b[field::FLAGS] = 0;
        b[field::LENGTH].copy_from_slice(&(ACK_LEN as u16).to_be_bytes());
        b[field::IDENT].copy_from_slice(&self.identification.to_be_bytes());
        b[field::HOME].copy_from_slice(&self.home.octets());
        b[field::STATUS] = u8::from(self.status);
        b[field::ACK_RESERVED] = 0;
        b[field::ACK_SPI].copy_from_slice(&self.spi.to_be_bytes());
        b[field::ACK_MAC].fill(0);
        Ok(ACK_LEN)
    }

    /// The message as a new vector, authenticator zero.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
        let mut v = vec![0u8; ACK_LEN];
        self.emit(&mut v)?;
        Ok(v)
    }
}

impl fmt::Display for AckRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SIU-Ack id={:#018x} home={} status={} spi={}",
            self.identification, self.home, self.status, self.spi
        )
    }
}

/// What an SIU orders, owned: the gateway's input to move the outbound SA
/// and the home agent's input to build an SIU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityInfoUpdate {
    /// Home address of the mobile node.
    pub home: Ipv4Addr,
    /// Care-of address the outbound SA points at until now.
    pub old_coa: Ipv4Addr,
    /// Care-of address it is to point at.
    pub new_coa: Ipv4Addr,
    /// Source UDP port of the node's ESP-in-UDP at the new address.
    pub new_port: u16,
    /// Registration lifetime granted, seconds.
    pub lifetime: u16,
    /// The RFC 5944 §3.4 Registration Reply, to be sent to the node through
    /// the moved SA and only then (seed 002, page 6).
    pub reply: Vec<u8>,
}

impl SecurityInfoUpdate {
    /// Copies an SIU's content.
    pub fn from_repr(repr: &SiuRepr<'_>) -> Self {
        SecurityInfoUpdate {
            home: repr.home,
            old_coa: repr.old_coa,
            new_coa: repr.new_coa,
            new_port: repr.new_port,
            lifetime: repr.lifetime,
            reply: repr.reply.to_vec(),
        }
    }

    /// The SIU carrying this update.
    pub fn to_repr(&self, identification: u64, spi: u32) -> SiuRepr<'_> {
        SiuRepr {
            flags: 0,
            identification,
            home: self.home,
            old_coa: self.old_coa,
            new_coa: self.new_coa,
            new_port: self.new_port,
            lifetime: self.lifetime,
            spi,
            reply: &self.reply,
        }
    }

    /// Checks what a gateway can apply: a unicast home address and new
    /// care-of address, a non-zero port. The old care-of address is not
    /// checked here; the gateway compares it with its SA (status 132).
    pub fn validate(&self) -> Result<(), FieldError> {
        if !is_unicast(self.home) {
            return Err(FieldError::HomeAddress(self.home));
        }
        if !is_unicast(self.new_coa) {
            return Err(FieldError::NewCareOf(self.new_coa));
        }
        if self.new_port == 0 {
            return Err(FieldError::ZeroPort);
        }
        Ok(())
    }
}

/// A host's unicast address: not unspecified, broadcast, multicast or
/// reserved class E (RFC 1122 §3.2.1.3, RFC 5771). Loopback addresses are
/// allowed: a lab on one host (`telsec up`, the tests) puts its gateway,
/// home agent and nodes on 127/8.
fn is_unicast(a: Ipv4Addr) -> bool {
    !(a.is_unspecified() || a.is_broadcast() || a.is_multicast() || a.octets()[0] >= 240)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply() -> Vec<u8> {
        // An RFC 5944 §3.4 reply: type 3, code 0, lifetime 1800, home
        // address, home agent, identification.
        let mut r = vec![3, 0, 0x07, 0x08];
        r.extend_from_slice(&[10, 0, 0, 7]);
        r.extend_from_slice(&[10, 0, 0, 1]);
        r.extend_from_slice(&0xe800_0000_1234_5678u64.to_be_bytes());
        r
    }

    fn repr(reply: &[u8]) -> SiuRepr<'_> {
        SiuRepr {
            flags: 0,
            identification: 0xe800_0000_8000_0000,
            home: Ipv4Addr::new(10, 0, 0, 7),
            old_coa: Ipv4Addr::new(192, 0, 2, 10),
            new_coa: Ipv4Addr::new(198, 51, 100, 20),
            new_port: NAT_T_PORT,
            lifetime: 1800,
            spi: 0x1000,
            reply,
        }
    }

    #[test]
    fn siu_layout_and_round_trip() {
        let r = reply();
        let siu = repr(&r);
        let bytes = siu.to_bytes().unwrap();
        assert_eq!(bytes.len(), 34 + 20 + 32);
        assert_eq!(&bytes[..4], &[1, 0, 0, 86]);
        assert_eq!(&bytes[4..12], &0xe800_0000_8000_0000u64.to_be_bytes());
        assert_eq!(&bytes[12..16], &[10, 0, 0, 7]);
        assert_eq!(&bytes[16..20], &[192, 0, 2, 10]);
        assert_eq!(&bytes[20..24], &[198, 51, 100, 20]);
        assert_eq!(&bytes[24..28], &[0x11, 0x94, 0x07, 0x08]);
        assert_eq!(&bytes[28..34], &[0, 0, 0x10, 0, 0, 20]);
        assert_eq!(&bytes[34..54], r.as_slice());
        let packet = SiuPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(SiuRepr::parse(&packet).unwrap(), siu);
        assert_eq!(packet.authenticated().len(), 54);
        assert!(packet.to_string().contains("198.51.100.20:4500"));
    }

    #[test]
    fn ack_layout_and_round_trip() {
        for status in [0u8, 7, 128, 129, 130, 131, 132, 200] {
            let ack = AckRepr {
                identification: 0x0102_0304_0506_0708,
                home: Ipv4Addr::new(10, 0, 0, 7),
                status: AckStatus::from(status),
                spi: 300,
            };
            let bytes = ack.to_bytes().unwrap();
            assert_eq!(bytes.len(), ACK_LEN);
            assert_eq!(&bytes[..4], &[2, 0, 0, 54]);
            assert_eq!(bytes[16], status);
            assert_eq!(&bytes[18..22], &300u32.to_be_bytes());
            let packet = AckPacket::new_checked(&bytes[..]).unwrap();
            assert_eq!(AckRepr::parse(&packet).unwrap(), ack);
            assert_eq!(u8::from(packet.status()), status);
            assert_eq!(packet.status().is_success(), status < 128);
        }
    }

    #[test]
    fn every_truncation_refused() {
        let r = reply();
        let bytes = repr(&r).to_bytes().unwrap();
        for n in 0..bytes.len() {
            assert!(SiuPacket::new_checked(&bytes[..n]).is_err(), "{n}");
        }
        let ack = AckRepr {
            identification: 1,
            home: Ipv4Addr::new(10, 0, 0, 7),
            status: AckStatus::Applied,
            spi: 300,
        }
        .to_bytes()
        .unwrap();
        for n in 0..ack.len() {
            assert!(AckPacket::new_checked(&ack[..n]).is_err(), "{n}");
        }
    }

    #[test]
    fn framing_errors() {
        let r = reply();
        let good = repr(&r).to_bytes().unwrap();
        let mut b = good.clone();
        b[0] = 2;
        assert_eq!(
            SiuPacket::new_checked(&b[..]).unwrap_err(),
            WireError::UnexpectedType {
                found: 2,
                expected: 1
            }
        );
        let mut b = good.clone();
        b.push(0);
        assert!(matches!(
            SiuPacket::new_checked(&b[..]),
            Err(WireError::LengthMismatch { .. })
        ));
        let mut b = good.clone();
        b[33] = 21;
        assert_eq!(
            SiuPacket::new_checked(&b[..]).unwrap_err(),
            WireError::BadReplyLength(21)
        );
        let mut b = good.clone();
        b[28..32].copy_from_slice(&255u32.to_be_bytes());
        let p = SiuPacket::new_checked(&b[..]).unwrap();
        assert_eq!(SiuRepr::parse(&p), Err(WireError::ReservedSpi(255)));
        let big = vec![0u8; MAX_SIU_LEN + 1];
        assert!(matches!(
            SiuPacket::new_checked(&big[..]),
            Err(WireError::TooLong { .. })
        ));
    }

    #[test]
    fn emit_bounds() {
        let r = reply();
        let siu = repr(&r);
        let mut short = vec![0u8; siu.buffer_len() - 1];
        assert!(matches!(
            siu.emit(&mut short),
            Err(WireError::BufferTooShort { .. })
        ));
        let long = vec![0u8; MAX_REPLY_LEN + 1];
        assert_eq!(
            repr(&long).to_bytes(),
            Err(WireError::BadReplyLength(MAX_REPLY_LEN + 1))
        );
        let max = vec![0u8; MAX_REPLY_LEN];
        let bytes = repr(&max).to_bytes().unwrap();
        assert_eq!(bytes.len(), MAX_SIU_LEN);
        assert!(SiuPacket::new_checked(&bytes[..]).is_ok());
        assert_eq!(
            repr(&r[..19]).to_bytes(),
            Err(WireError::BadReplyLength(19))
        );
    }

    #[test]
    fn update_validation() {
        let mut u = SecurityInfoUpdate::from_repr(&repr(&reply()));
        assert_eq!(u.validate(), Ok(()));
        u.new_coa = Ipv4Addr::new(224, 0, 0, 1);
        assert_eq!(u.validate(), Err(FieldError::NewCareOf(u.new_coa)));
        u.new_coa = Ipv4Addr::new(198, 51, 100, 20);
        u.new_port = 0;
        assert_eq!(u.validate(), Err(FieldError::ZeroPort));
        u.new_port = 4500;
        u.home = Ipv4Addr::UNSPECIFIED;
        assert_eq!(u.validate(), Err(FieldError::HomeAddress(u.home)));
    }
}
