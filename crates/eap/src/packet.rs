//! The EAP packet (RFC 3748 §4): Code, Identifier, Length, and for a
//! Request or Response a Type and its Type-Data.
//!
//! ```text
//! offset  len  field
//!      0    1  Code        1 Request, 2 Response, 3 Success, 4 Failure (§4)
//!      1    1  Identifier  matches a Response to its Request (§4.1)
//!      2    2  Length      octets of Code..Data, big-endian (§4.1)
//!      4    1  Type        Request/Response only (§5)
//!      5    n  Type-Data
//! ```
//!
//! Contract, as in smoltcp: after [`Packet::new_checked`] no accessor panics;
//! [`Repr::emit`] never panics on a buffer of [`Repr::buffer_len`] octets.
//! Octets after Length are data-link padding and are ignored (§4.1).

use core::fmt;

use crate::error::Error;

/// Octets of Code, Identifier and Length.
pub const HEADER_LEN: usize = 4;
/// The largest packet the Length field can describe.
pub const MAX_PACKET_LEN: usize = u16::MAX as usize;

mod field {
    use core::ops::Range;

    pub const CODE: usize = 0;
    pub const IDENTIFIER: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const TYPE: usize = 4;
    pub const TYPE_DATA: usize = 5;
}

/// The EAP Code (RFC 3748 §4). Other values are kept as
/// [`Code::Unknown`]; [`Packet::new_checked`] refuses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// 1: sent by the authenticator.
    Request,
    /// 2: sent by the peer in answer to a Request.
    Response,
    /// 3: the authenticator's final success indication (§4.2).
    Success,
    /// 4: the authenticator's final failure indication (§4.2).
    Failure,
    /// Anything else.
    Unknown(u8),
}

impl From<u8> for Code {
    fn from(value: u8) -> Code {
        match value {
            1 => Code::Request,
            2 => Code::Response,
            3 => Code::Success,
            4 => Code::Failure,
            other => Code::Unknown(other),
        }
    }
}

impl From<Code> for u8 {
    fn from(code: Code) -> u8 {
        match code {
            Code::Request => 1,
            Code::Response => 2,
            Code::Success => 3,
            Code::Failure => 4,
            Code::Unknown(other) => other,
        }
    }
}

impl Code {
    /// Whether packets of this code carry a Type (Request, Response).
    pub fn has_type(self) -> bool {
        matches!(self, Code::Request | Code::Response)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Code::Request => f.write_str("Request"),
            Code::Response => f.write_str("Response"),
            Code::Success => f.write_str("Success"),
            Code::Failure => f.write_str("Failure"),
            Code::Unknown(v) => write!(f, "Code({v})"),
        }
    }
}

/// The EAP method Type (RFC 3748 §5, IANA "Method Types"); an open set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EapType {
    /// 1: Identity (§5.1).
    Identity,
    /// 2: Notification (§5.2).
    Notification,
    /// 3: Legacy Nak, Response only (§5.3.1).
    Nak,
    /// 4: MD5-Challenge (§5.4).
    Md5Challenge,
    /// 18: EAP-SIM (RFC 4186).
    Sim,
    /// 23: EAP-AKA (RFC 4187).
    Aka,
    /// 50: EAP-AKA' (RFC 9048).
    AkaPrime,
    /// 254: Expanded Type (§5.7).
    Expanded,
    /// 255: Experimental (§5.8).
    Experimental,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for EapType {
    fn from(value: u8) -> EapType {
        match value {
            1 => EapType::Identity,
            2 => EapType::Notification,
            3 => EapType::Nak,
            4 => EapType::Md5Challenge,
            18 => EapType::Sim,
            23 => EapType::Aka,
            50 => EapType::AkaPrime,
            254 => EapType::Expanded,
            255 => EapType::Experimental,
            other => EapType::Unknown(other),
        }
    }
}

impl From<EapType> for u8 {
    fn from(typ: EapType) -> u8 {
        match typ {
            EapType::Identity => 1,
            EapType::Notification => 2,
            EapType::Nak => 3,
            EapType::Md5Challenge => 4,
            EapType::Sim => 18,
            EapType::Aka => 23,
            EapType::AkaPrime => 50,
            EapType::Expanded => 254,
            EapType::Experimental => 255,
            EapType::Unknown(other) => other,
        }
    }
}

impl fmt::Display for EapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EapType::Identity => f.write_str("Identity"),
            EapType::Notification => f.write_str("Notification"),
            EapType::Nak => f.write_str("Nak"),
            EapType::Md5Challenge => f.write_str("MD5-Challenge"),
            EapType::Sim => f.write_str("SIM"),
            EapType::Aka => f.write_str("AKA"),
            EapType::AkaPrime => f.write_str("AKA'"),
            EapType::Expanded => f.write_str("Expanded"),
            EapType::Experimental => f.write_str("Experimental"),
            EapType::Unknown(v) => write!(f, "Type({v})"),
        }
    }
}

/// A read/write view of an EAP packet in a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it; accessors may panic until
    /// [`Packet::check_len`] succeeds.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a buffer and check it: see [`Packet::check_len`].
    ///
    /// # Errors
    /// As [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Check what the accessors rely on (RFC 3748 §4.1, §4.2): a header,
    /// a known Code, a Length of at least 4 that the buffer holds, a Type for
    /// Request/Response and no data for Success/Failure.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::UnknownCode`], [`Error::BadLength`].
    pub fn check_len(&self) -> Result<(), Error> {
        let buf = self.buffer.as_ref();
        if buf.len() < HEADER_LEN {
            return Err(Error::Truncated {
                have: buf.len(),
                need: HEADER_LEN,
            });
        }
        let code = Code::from(buf[field::CODE]);
        if let Code::Unknown(v) = code {
            return Err(Error::UnknownCode(v));
        }
        let length = u16::from_be_bytes([buf[2], buf[3]]);
        let min = if code.has_type() {
            HEADER_LEN + 1
        } else {
            HEADER_LEN
        };
        if usize::from(length) < min || (!code.has_type() && usize::from(length) != HEADER_LEN) {
            return Err(Error::BadLength(length));
        }
        if buf.len() < usize::from(length) {
            return Err(Error::Truncated {
                have: buf.len(),
                need: usize::from(length),
            });
        }
        Ok(())
    }

    /// Give the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The Code.
    pub fn code(&self) -> Code {
        Code::from(self.buffer.as_ref()[field::CODE])
    }

    /// The Identifier.
    pub fn identifier(&self) -> u8 {
        self.buffer.as_ref()[field::IDENTIFIER]
    }

    /// The Length field.
    pub fn length(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::LENGTH];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// The Type of a Request or Response; `None` for Success/Failure.
    pub fn eap_type(&self) -> Option<EapType> {
        if self.code().has_type() {
            Some(EapType::from(self.buffer.as_ref()[field::TYPE]))
        } else {
            None
        }
    }

    /// The Type-Data, up to Length (empty for Success/Failure).
    pub fn type_data(&self) -> &[u8] {
        if self.code().has_type() {
            &self.buffer.as_ref()[field::TYPE_DATA..usize::from(self.length())]
        } else {
            &[]
        }
    }

    /// The packet's octets up to Length, without data-link padding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[..usize::from(self.length())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Set the Code.
    pub fn set_code(&mut self, code: Code) {
        self.buffer.as_mut()[field::CODE] = code.into();
    }

    /// Set the Identifier.
    pub fn set_identifier(&mut self, identifier: u8) {
        self.buffer.as_mut()[field::IDENTIFIER] = identifier;
    }

    /// Set the Length field.
    pub fn set_length(&mut self, length: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&length.to_be_bytes());
    }

    /// Set the Type (the buffer must hold it).
    pub fn set_eap_type(&mut self, typ: EapType) {
        self.buffer.as_mut()[field::TYPE] = typ.into();
    }

    /// The Type-Data, mutably, up to Length.
    pub fn type_data_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.length());
        &mut self.buffer.as_mut()[field::TYPE_DATA..end]
    }
}

impl<T: AsRef<[u8]>> fmt::Display for Packet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Repr::parse_bytes(self.buffer.as_ref()) {
            Ok(repr) => write!(f, "{repr}"),
            Err(e) => write!(f, "EAP ({e})"),
        }
    }
}

/// A checked EAP packet: Code, Identifier and for Request/Response the Type
/// and a borrowed Type-Data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    /// The Code.
    pub code: Code,
    /// The Identifier.
    pub identifier: u8,
    /// Type and Type-Data: `Some` exactly for Request and Response.
    pub payload: Option<(EapType, &'a [u8])>,
}

impl<'a> Repr<'a> {
    /// A Request of `typ` carrying `data`.
    pub fn request(identifier: u8, typ: EapType, data: &'a [u8]) -> Repr<'a> {
        Repr {
            code: Code::Request,
            identifier,
            payload: Some((typ, data)),
        }
    }

    /// A Response of `typ` carrying `data`.
    pub fn response(identifier: u8, typ: EapType, data: &'a [u8]) -> Repr<'a> {
        Repr {
            code: Code::Response,
            identifier,
            payload: Some((typ, data)),
        }
    }

    /// An EAP-Success (RFC 3748 §4.2).
    pub fn success(identifier: u8) -> Repr<'a> {
        Repr {
            code: Code::Success,
            identifier,
            payload: None,
        }
    }

    /// An EAP-Failure (RFC 3748 §4.2).
    pub fn failure(identifier: u8) -> Repr<'a> {
        Repr {
            code: Code::Failure,
            identifier,
            payload: None,
        }
    }

    /// Read a checked packet.
    ///
    /// # Errors
    /// As [`Packet::check_len`], for a packet made with
    /// [`Packet::new_unchecked`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Repr<'a>, Error> {
        Repr::parse_bytes(<T as AsRef<[u8]>>::as_ref(packet.buffer))
    }

    /// Check and read the octets of a packet (padding after Length ignored).
    ///
    /// # Errors
    /// As [`Packet::check_len`].
    pub fn parse_bytes(bytes: &'a [u8]) -> Result<Repr<'a>, Error> {
        let packet = Packet::new_checked(bytes)?;
        let code = packet.code();
        let identifier = packet.identifier();
        let payload = match packet.eap_type() {
            Some(typ) => {
                let end = usize::from(packet.length());
                Some((typ, &bytes[field::TYPE_DATA..end]))
            }
            None => None,
        };
        Ok(Repr {
            code,
            identifier,
            payload,
        })
    }

    /// Octets of the packet this represents.
    pub fn buffer_len(&self) -> usize {
        match self.payload {
            Some((_, data)) => field::TYPE_DATA + data.len(),
            None => HEADER_LEN,
        }
    }

    /// Write the packet into `buffer`, which holds at least
    /// [`Repr::buffer_len`] octets.
    ///
    /// # Errors
    /// [`Error::TooLong`] above 65535 octets, [`Error::Truncated`] for a short
    /// buffer, [`Error::BadLength`] when the payload does not fit the Code (a
    /// Type on Success/Failure or none on Request/Response),
    /// [`Error::UnknownCode`] for [`Code::Unknown`].
    pub fn emit(&self, buffer: &mut [u8]) -> Result<(), Error> {
        let len = self.buffer_len();
        let length = u16::try_from(len).map_err(|_| Error::TooLong(len))?;
        if buffer.len() < len {
            return Err(Error::Truncated {
                have: buffer.len(),
                need: len,
            });
        }
        if let Code::Unknown(v) = self.code {
            return Err(Error::UnknownCode(v));
        }
        if self.code.has_type() != self.payload.is_some() {
            return Err(Error::BadLength(length));
        }
        let mut packet = Packet::new_unchecked(&mut buffer[..len]);
        packet.set_code(self.code);
        packet.set_identifier(self.identifier);
        packet.set_length(length);
        if let Some((typ, data)) = self.payload {
            packet.set_eap_type(typ);
            packet.type_data_mut().copy_from_slice(data);
        }
        Ok(())
    }

    /// The packet's octets.
    ///
    /// # Errors
    /// As [`Repr::emit`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let len = self.buffer_len();
        if len > MAX_PACKET_LEN {
            return Err(Error::TooLong(len));
        }
        let mut out = vec![0u8; len];
        self.emit(&mut out)?;
        Ok(out)
    }
}

impl fmt::Display for Repr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EAP {} id={}", self.code, self.identifier)?;
        if let Some((typ, data)) = self.payload {
            write!(f, " type={typ} len={}", data.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // EAP-Request/Identity, id 1, no data (RFC 3748 §5.1).
    const IDENTITY_REQUEST: [u8; 5] = [0x01, 0x01, 0x00, 0x05, 0x01];
    // EAP-Response/Identity "user", id 1.
    const IDENTITY_RESPONSE: [u8; 9] = [0x02, 0x01, 0x00, 0x09, 0x01, b'u', b's', b'e', b'r'];
    const SUCCESS: [u8; 4] = [0x03, 0x07, 0x00, 0x04];

    #[test]
    fn parses_fixtures() {
        let p = Packet::new_checked(&IDENTITY_REQUEST[..]).unwrap();
        assert_eq!(p.code(), Code::Request);
        assert_eq!(p.identifier(), 1);
        assert_eq!(p.eap_type(), Some(EapType::Identity));
        assert!(p.type_data().is_empty());
        let r = Repr::parse_bytes(&IDENTITY_RESPONSE).unwrap();
        assert_eq!(r, Repr::response(1, EapType::Identity, b"user"));
        let s = Repr::parse_bytes(&SUCCESS).unwrap();
        assert_eq!(s, Repr::success(7));
        assert_eq!(s.to_string(), "EAP Success id=7");
        assert_eq!(p.to_string(), "EAP Request id=1 type=Identity len=0");
    }

    #[test]
    fn round_trips() {
        for repr in [
            Repr::request(9, EapType::AkaPrime, &[5, 0, 0]),
            Repr::response(0, EapType::Nak, &[50]),
            Repr::success(255),
            Repr::failure(3),
            Repr::request(1, EapType::Unknown(99), &[]),
        ] {
            let bytes = repr.to_bytes().unwrap();
            assert_eq!(bytes.len(), repr.buffer_len());
            assert_eq!(Repr::parse_bytes(&bytes).unwrap(), repr);
        }
    }

    #[test]
    fn padding_after_length_is_ignored() {
        let mut padded = IDENTITY_RESPONSE.to_vec();
        padded.extend_from_slice(&[0xAA; 7]);
        let p = Packet::new_checked(&padded[..]).unwrap();
        assert_eq!(p.type_data(), b"user");
        assert_eq!(p.as_bytes(), &IDENTITY_RESPONSE);
    }

    #[test]
    fn rejects_malformed() {
        // Every truncation of a valid packet fails, never panics.
        for cut in 0..IDENTITY_RESPONSE.len() {
            assert!(Packet::new_checked(&IDENTITY_RESPONSE[..cut]).is_err());
        }
        assert_eq!(
            Packet::new_checked(&[0x05, 0x01, 0x00, 0x04][..]),
            Err(Error::UnknownCode(5))
        );
        // Request without a Type.
        assert_eq!(
            Packet::new_checked(&[0x01, 0x01, 0x00, 0x04][..]),
            Err(Error::BadLength(4))
        );
        // Success with data.
        assert_eq!(
            Packet::new_checked(&[0x03, 0x01, 0x00, 0x05, 0x00][..]),
            Err(Error::BadLength(5))
        );
        // Length below the header.
        assert_eq!(
            Packet::new_checked(&[0x03, 0x01, 0x00, 0x02][..]),
            Err(Error::BadLength(2))
        );
        // Emit refuses inconsistent reprs and oversize packets.
        let bad = Repr {
            code: Code::Success,
            identifier: 0,
            payload: Some((EapType::Identity, &[])),
        };
        assert!(bad.to_bytes().is_err());
        let big = vec![0u8; MAX_PACKET_LEN];
        assert_eq!(
            Repr::request(0, EapType::Identity, &big).to_bytes(),
            Err(Error::TooLong(MAX_PACKET_LEN + 5))
        );
    }
}
