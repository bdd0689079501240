//! EAP-AKA' messages (RFC 4187 §8.1, §9; RFC 9048 §3): the Type-Data of an
//! EAP packet of Type 50.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Code      |  Identifier   |            Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Type (50)   |    Subtype    |           Reserved            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  attributes ...
//! ```
//!
//! [`Message`] is the codec (subtype and the attribute list, emitted in
//! order); [`AttributeSet`] is the checked summary the state machines read:
//! each attribute at most once, except AT_KDF which may repeat in priority
//! order (RFC 9048 §3.2), AT_PADDING and skippable ones. [`Message::to_packet`]
//! fills AT_MAC as RFC 9048 §3.4.1 defines it.

use core::fmt;

use crate::attribute::{
    AT_AUTN, AT_AUTS, AT_BIDDING, AT_CHECKCODE, AT_CLIENT_ERROR_CODE, AT_ENCR_DATA, AT_IDENTITY,
    AT_IV, AT_KDF_INPUT, AT_MAC, AT_NOTIFICATION, AT_RAND, AT_RES, AT_RESULT_IND, Attribute,
    Attributes,
};
use crate::crypto;
use crate::error::Error;
use crate::packet::{Code, EapType, Repr};

/// The most attributes one message may carry. The largest legitimate
/// message (an AKA-Challenge with a KDF list) has a dozen; the bound keeps a
/// hostile packet from making the decoder allocate for thousands.
pub const MAX_ATTRIBUTES: usize = 64;

/// Octets of Subtype and Reserved.
pub const AKA_HEADER_LEN: usize = 3;

/// Offset of the first attribute in the EAP packet: Code, Identifier,
/// Length, Type, Subtype, Reserved.
pub const ATTRIBUTES_OFFSET: usize = 5 + AKA_HEADER_LEN;

/// The EAP-AKA' Subtype (RFC 4187 §11; the same values in AKA').
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subtype {
    /// 1: AKA-Challenge (§9.3, §9.4).
    Challenge,
    /// 2: AKA-Authentication-Reject (§9.5).
    AuthenticationReject,
    /// 4: AKA-Synchronization-Failure (§9.6).
    SynchronizationFailure,
    /// 5: AKA-Identity (§9.1, §9.2).
    Identity,
    /// 12: AKA-Notification (§9.10, §9.11).
    Notification,
    /// 13: AKA-Reauthentication (§9.7, §9.8); parsed, never run here.
    Reauthentication,
    /// 14: AKA-Client-Error (§9.9).
    ClientError,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for Subtype {
    fn from(value: u8) -> Subtype {
        match value {
            1 => Subtype::Challenge,
            2 => Subtype::AuthenticationReject,
            4 => Subtype::SynchronizationFailure,
            5 => Subtype::Identity,
            12 => Subtype::Notification,
            13 => Subtype::Reauthentication,
            14 => Subtype::ClientError,
            other => Subtype::Unknown(other),
        }
    }
}

impl From<Subtype> for u8 {
    fn from(subtype: Subtype) -> u8 {
        match subtype {
            Subtype::Challenge => 1,
            Subtype::AuthenticationReject => 2,
            Subtype::SynchronizationFailure => 4,
            Subtype::Identity => 5,
            Subtype::Notification => 12,
            Subtype::Reauthentication => 13,
            Subtype::ClientError => 14,
            Subtype::Unknown(other) => other,
        }
    }
}

impl fmt::Display for Subtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subtype::Challenge => f.write_str("AKA-Challenge"),
            Subtype::AuthenticationReject => f.write_str("AKA-Authentication-Reject"),
            Subtype::SynchronizationFailure => f.write_str("AKA-Synchronization-Failure"),
            Subtype::Identity => f.write_str("AKA-Identity"),
            Subtype::Notification => f.write_str("AKA-Notification"),
            Subtype::Reauthentication => f.write_str("AKA-Reauthentication"),
            Subtype::ClientError => f.write_str("AKA-Client-Error"),
            Subtype::Unknown(v) => write!(f, "Subtype({v})"),
        }
    }
}

/// An EAP-AKA' message: the subtype and its attributes, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// The subtype.
    pub subtype: Subtype,
    /// The attributes in wire order.
    pub attributes: Vec<Attribute<'a>>,
}

impl<'a> Message<'a> {
    /// A message of `subtype` with `attributes`.
    pub fn new(subtype: Subtype, attributes: Vec<Attribute<'a>>) -> Message<'a> {
        Message {
            subtype,
            attributes,
        }
    }

    /// Decode the Type-Data of an EAP-AKA' packet. The Reserved field is
    /// ignored (RFC 4187 §8.1).
    ///
    /// # Errors
    /// [`Error::ShortAkaHeader`], the attribute errors, and
    /// [`Error::TooManyAttributes`] past [`MAX_ATTRIBUTES`].
    pub fn parse(type_data: &'a [u8]) -> Result<Message<'a>, Error> {
        let Some((&subtype, rest)) = type_data.split_first() else {
            return Err(Error::ShortAkaHeader);
        };
        let Some((_reserved, attrs)) = rest.split_first_chunk::<2>() else {
            return Err(Error::ShortAkaHeader);
        };
        let mut attributes = Vec::new();
        for item in Attributes::new(attrs) {
            let (_, attribute) = item?;
            if attributes.len() == MAX_ATTRIBUTES {
                return Err(Error::TooManyAttributes);
            }
            attributes.push(attribute);
        }
        Ok(Message {
            subtype: Subtype::from(subtype),
            attributes,
        })
    }

    /// Decode a whole EAP packet that must be a Request or Response of Type
    /// 50, returning its Code, Identifier and message.
    ///
    /// # Errors
    /// The EAP packet errors, [`Error::NotAkaPrime`], and those of
    /// [`Message::parse`].
    pub fn parse_packet(bytes: &'a [u8]) -> Result<(Code, u8, Message<'a>), Error> {
        let repr = Repr::parse_bytes(bytes)?;
        match repr.payload {
            Some((EapType::AkaPrime, data)) => {
                Ok((repr.code, repr.identifier, Message::parse(data)?))
            }
            _ => Err(Error::NotAkaPrime),
        }
    }

    /// Octets of the Type-Data this message encodes to.
    pub fn buffer_len(&self) -> usize {
        AKA_HEADER_LEN
            + self
                .attributes
                .iter()
                .map(Attribute::buffer_len)
                .sum::<usize>()
    }

    /// Write the Type-Data into `out`, which holds [`Message::buffer_len`]
    /// octets.
    ///
    /// # Errors
    /// [`Error::TooManyAttributes`], and those of [`Attribute::emit`].
    pub fn emit(&self, out: &mut [u8]) -> Result<(), Error> {
        if self.attributes.len() > MAX_ATTRIBUTES {
            return Err(Error::TooManyAttributes);
        }
        let need = self.buffer_len();
        let Some(out) = out.get_mut(..need) else {
            return Err(Error::Truncated {
                have: out.len(),
                need,
            });
        };
        out[0] = self.subtype.into();
        out[1] = 0;
        out[2] = 0;
        let mut at = AKA_HEADER_LEN;
        for attribute in &self.attributes {
            at += attribute.emit(&mut out[at..])?;
        }
        Ok(())
    }

    /// The whole EAP packet (Type 50) with this message. With `k_aut`, the
    /// message's AT_MAC (whatever value it holds) is filled with
    /// HMAC-SHA-256-128 over the packet with the MAC field zeroed
    /// (RFC 9048 §3.4.1).
    ///
    /// # Errors
    /// [`Error::MissingMac`] when `k_aut` is given and there is no AT_MAC;
    /// [`Error::TooLong`], and those of [`Message::emit`].
    pub fn to_packet(
        &self,
        code: Code,
        identifier: u8,
        k_aut: Option<&[u8; 32]>,
    ) -> Result<Vec<u8>, Error> {
        let data_len = self.buffer_len();
        let mut data = vec![0u8; data_len];
        self.emit(&mut data)?;
        let mut packet = Repr {
            code,
            identifier,
            payload: Some((EapType::AkaPrime, &data)),
        }
        .to_bytes()?;
        if let Some(k_aut) = k_aut {
            let at = mac_offset(&packet)?.ok_or(Error::MissingMac)?;
            packet[at..at + 16].fill(0);
            let mac = crypto::mac(k_aut, &packet);
            packet[at..at + 16].copy_from_slice(&mac);
        }
        Ok(packet)
    }

    /// The checked summary of the attributes.
    ///
    /// # Errors
    /// As [`AttributeSet::new`].
    pub fn attribute_set(&self) -> Result<AttributeSet<'a>, Error> {
        AttributeSet::new(&self.attributes)
    }
}

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.subtype)?;
        for attribute in &self.attributes {
            write!(f, " AT{}", attribute.typ())?;
        }
        Ok(())
    }
}

/// Offset of the 16 MAC octets of the (first) AT_MAC in a whole EAP-AKA'
/// packet, if it has one.
///
/// # Errors
/// The packet and attribute decoding errors.
pub fn mac_offset(packet: &[u8]) -> Result<Option<usize>, Error> {
    let repr = Repr::parse_bytes(packet)?;
    let Some((EapType::AkaPrime, data)) = repr.payload else {
        return Err(Error::NotAkaPrime);
    };
    let attrs = data.get(AKA_HEADER_LEN..).ok_or(Error::ShortAkaHeader)?;
    for item in Attributes::new(attrs) {
        let (at, attribute) = item?;
        if attribute.typ() == AT_MAC {
            // Type, Length, Reserved(2) precede the MAC.
            return Ok(Some(ATTRIBUTES_OFFSET + at + 4));
        }
    }
    Ok(None)
}

/// The identity-request attribute of an AKA-Identity request
/// (RFC 4187 §4.1.5, §10.2-§10.4), ordered from the loosest to the
/// strictest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IdRequest {
    /// AT_ANY_ID_REQ: a pseudonym, fast re-authentication or permanent
    /// identity.
    Any,
    /// AT_FULLAUTH_ID_REQ: a pseudonym or permanent identity.
    FullAuth,
    /// AT_PERMANENT_ID_REQ: the permanent identity.
    Permanent,
}

/// The attributes of one message, each at most once (AT_KDF may repeat).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributeSet<'a> {
    /// AT_RAND.
    pub rand: Option<[u8; 16]>,
    /// AT_AUTN.
    pub autn: Option<[u8; 16]>,
    /// AT_RES: length in bits and the RES octets.
    pub res: Option<(u16, &'a [u8])>,
    /// AT_AUTS.
    pub auts: Option<[u8; 14]>,
    /// AT_IDENTITY.
    pub identity: Option<&'a [u8]>,
    /// AT_MAC.
    pub mac: Option<[u8; 16]>,
    /// AT_NOTIFICATION.
    pub notification: Option<u16>,
    /// AT_CLIENT_ERROR_CODE.
    pub client_error_code: Option<u16>,
    /// AT_KDF_INPUT.
    pub kdf_input: Option<&'a [u8]>,
    /// Every AT_KDF, in order (RFC 9048 §3.2).
    pub kdfs: Vec<u16>,
    /// AT_CHECKCODE.
    pub checkcode: Option<&'a [u8]>,
    /// The identity requests present (more than one is the caller's error
    /// to report, RFC 4187 §10.2-§10.4).
    pub id_requests: Vec<IdRequest>,
    /// AT_RESULT_IND present.
    pub result_ind: bool,
    /// AT_BIDDING and its D bit.
    pub bidding: Option<bool>,
    /// AT_IV.
    pub iv: Option<[u8; 16]>,
    /// AT_ENCR_DATA.
    pub encr_data: Option<&'a [u8]>,
}

fn once<T>(slot: &mut Option<T>, value: T, typ: u8) -> Result<(), Error> {
    if slot.replace(value).is_some() {
        return Err(Error::DuplicateAttribute(typ));
    }
    Ok(())
}

impl<'a> AttributeSet<'a> {
    /// Collect `attributes`, refusing a second occurrence of any attribute
    /// but AT_KDF, AT_PADDING and skippable unknown ones.
    ///
    /// # Errors
    /// [`Error::DuplicateAttribute`].
    pub fn new(attributes: &[Attribute<'a>]) -> Result<AttributeSet<'a>, Error> {
        let mut set = AttributeSet::default();
        for attribute in attributes {
            match *attribute {
                Attribute::Rand(v) => once(&mut set.rand, v, AT_RAND)?,
                Attribute::Autn(v) => once(&mut set.autn, v, AT_AUTN)?,
                Attribute::Res { bits, res } => once(&mut set.res, (bits, res), AT_RES)?,
                Attribute::Auts(v) => once(&mut set.auts, v, AT_AUTS)?,
                Attribute::Identity(v) => once(&mut set.identity, v, AT_IDENTITY)?,
                Attribute::Mac(v) => once(&mut set.mac, v, AT_MAC)?,
                Attribute::Notification(v) => once(&mut set.notification, v, AT_NOTIFICATION)?,
                Attribute::ClientErrorCode(v) => {
                    once(&mut set.client_error_code, v, AT_CLIENT_ERROR_CODE)?;
                }
                Attribute::KdfInput(v) => once(&mut set.kdf_input, v, AT_KDF_INPUT)?,
                Attribute::Kdf(v) => set.kdfs.push(v),
                Attribute::Checkcode(v) => once(&mut set.checkcode, v, AT_CHECKCODE)?,
                Attribute::PermanentIdReq => push_id(&mut set.id_requests, IdRequest::Permanent)?,
                Attribute::FullauthIdReq => push_id(&mut set.id_requests, IdRequest::FullAuth)?,
                Attribute::AnyIdReq => push_id(&mut set.id_requests, IdRequest::Any)?,
                Attribute::ResultInd => {
                    if set.result_ind {
                        return Err(Error::DuplicateAttribute(AT_RESULT_IND));
                    }
                    set.result_ind = true;
                }
                Attribute::Bidding { d } => once(&mut set.bidding, d, AT_BIDDING)?,
                Attribute::Iv(v) => once(&mut set.iv, v, AT_IV)?,
                Attribute::EncrData(v) => once(&mut set.encr_data, v, AT_ENCR_DATA)?,
                Attribute::Padding(_) | Attribute::Skippable { .. } => {}
            }
        }
        Ok(set)
    }
}

fn push_id(list: &mut Vec<IdRequest>, request: IdRequest) -> Result<(), Error> {
    if list.contains(&request) {
        let typ = match request {
            IdRequest::Any => crate::attribute::AT_ANY_ID_REQ,
            IdRequest::FullAuth => crate::attribute::AT_FULLAUTH_ID_REQ,
            IdRequest::Permanent => crate::attribute::AT_PERMANENT_ID_REQ,
        };
        return Err(Error::DuplicateAttribute(typ));
    }
    list.push(request);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::{AT_KDF, AT_PERMANENT_ID_REQ};

    #[test]
    fn identity_request_fixture() {
        // EAP-Request/AKA'-Identity, id 7, AT_PERMANENT_ID_REQ.
        let bytes = [
            0x01,
            0x07,
            0x00,
            0x0c,
            50,
            5,
            0,
            0,
            AT_PERMANENT_ID_REQ,
            1,
            0,
            0,
        ];
        let (code, id, msg) = Message::parse_packet(&bytes).unwrap();
        assert_eq!((code, id), (Code::Request, 7));
        assert_eq!(
            msg,
            Message::new(Subtype::Identity, vec![Attribute::PermanentIdReq])
        );
        assert_eq!(msg.to_packet(code, id, None).unwrap(), bytes);
        assert_eq!(msg.to_string(), "AKA-Identity AT10");
    }

    #[test]
    fn mac_is_filled_and_located() {
        let k_aut = [0x5a; 32];
        let msg = Message::new(
            Subtype::Challenge,
            vec![
                Attribute::Rand([1; 16]),
                Attribute::Kdf(1),
                Attribute::Mac([0xff; 16]),
            ],
        );
        let packet = msg.to_packet(Code::Request, 1, Some(&k_aut)).unwrap();
        let at = mac_offset(&packet).unwrap().unwrap();
        assert_eq!(at, ATTRIBUTES_OFFSET + 20 + 4 + 4);
        let mut zeroed = packet.clone();
        zeroed[at..at + 16].fill(0);
        assert_eq!(packet[at..at + 16], crypto::mac(&k_aut, &zeroed));
        assert!(crypto::verify_packet_mac(&packet, &k_aut).unwrap());
        // No AT_MAC: refused.
        let bare = Message::new(Subtype::Challenge, vec![Attribute::Kdf(1)]);
        assert_eq!(
            bare.to_packet(Code::Request, 1, Some(&k_aut)),
            Err(Error::MissingMac)
        );
    }

    #[test]
    fn attribute_set_rules() {
        let attrs = [Attribute::Kdf(2), Attribute::Kdf(1), Attribute::Padding(1)];
        let set = AttributeSet::new(&attrs).unwrap();
        assert_eq!(set.kdfs, vec![2, 1]);
        let dup = [Attribute::Rand([0; 16]), Attribute::Rand([1; 16])];
        assert_eq!(
            AttributeSet::new(&dup),
            Err(Error::DuplicateAttribute(AT_RAND))
        );
        let ids = [Attribute::AnyIdReq, Attribute::PermanentIdReq];
        let set = AttributeSet::new(&ids).unwrap();
        assert_eq!(set.id_requests, vec![IdRequest::Any, IdRequest::Permanent]);
    }

    #[test]
    fn bounded_and_total() {
        // 65 AT_KDF attributes exceed the bound.
        let mut data = vec![1u8, 0, 0];
        for _ in 0..=MAX_ATTRIBUTES {
            data.extend_from_slice(&[AT_KDF, 1, 0, 1]);
        }
        assert_eq!(Message::parse(&data), Err(Error::TooManyAttributes));
        assert_eq!(Message::parse(&[1, 0]), Err(Error::ShortAkaHeader));
        // Not AKA'.
        assert_eq!(
            Message::parse_packet(&[1, 1, 0, 5, 1]),
            Err(Error::NotAkaPrime)
        );
        assert_eq!(
            Message::parse_packet(&[3, 1, 0, 4]),
            Err(Error::NotAkaPrime)
        );
    }
}
