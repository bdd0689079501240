//! IPA CCM (stream 0xFE): keep-alive and identity exchange.
//!
//! The first data octet is the message type (libosmocore
//! `enum ipaccess_msgtype`). Two list formats follow for the identity
//! messages (libosmocore `ipa.c`):
//!
//! * ID_GET lists the wanted tags as `len(1) tag` items, `len` counting the
//!   tag octet (so normally 1) — osmo-hlr sends
//!   `01 08 01 07 01 02 01 03 01 04 01 05 01 01 01 00`;
//! * ID_RESP carries `len(2, big-endian) tag value` items, `len` counting
//!   the tag octet plus the value; osmo clients send each value as a
//!   NUL-terminated string (`ipa_ccm_make_id_resp`).
//!
//! osmo-hlr (through libosmo-abis `ipa_server_conn_ccm` and its
//! `osmo_gsup_server_ccm_cb`) closes a connection whose ID_RESP lacks the
//! Unit ID tag, or lacks a non-empty Serial Number; the serial number value,
//! NUL included, becomes the peer's IPA name used for GSUP routing.

use crate::ipa::{Frame, IpaError, StreamId};
use telsec_wire::open_enum;

open_enum! {
    /// CCM message types (libosmocore `enum ipaccess_msgtype`).
    pub enum CcmMsgType {
        Ping = 0x00 => "PING",
        Pong = 0x01 => "PONG",
        IdGet = 0x04 => "ID_GET",
        IdResp = 0x05 => "ID_RESP",
        IdAck = 0x06 => "ID_ACK",
        IdNack = 0x07 => "ID_NACK",
        Proxy = 0x08 => "PROXY",
        ProxyAck = 0x09 => "PROXY_ACK",
        ProxyNack = 0x0a => "PROXY_NACK",
        SslInfo = 0x0b => "SSL_INFO",
    }
}

open_enum! {
    /// Identity tags (libosmocore `enum ipaccess_id_tags`).
    pub enum IdTag {
        Serial = 0x00 => "Serial_Number",
        UnitName = 0x01 => "Unit_Name",
        Location1 = 0x02 => "Location_1",
        Location2 = 0x03 => "Location_2",
        EquipmentVersion = 0x04 => "Equipment_Version",
        SoftwareVersion = 0x05 => "Software_Version",
        IpAddress = 0x06 => "IP_Address",
        MacAddress = 0x07 => "MAC_Address",
        UnitId = 0x08 => "Unit_ID",
        UserName = 0x09 => "User_Name",
        Password = 0x0a => "Password",
        AccessClass = 0x0b => "Access_Class",
        AppProtocolVersion = 0x0c => "App_Protocol_Version",
    }
}

/// The tags osmo-hlr asks for, in its order (libosmocore `ipa_id_req_msg`).
pub const OSMO_ID_GET_TAGS: [IdTag; 8] = [
    IdTag::UnitId,
    IdTag::MacAddress,
    IdTag::Location1,
    IdTag::Location2,
    IdTag::EquipmentVersion,
    IdTag::SoftwareVersion,
    IdTag::UnitName,
    IdTag::Serial,
];

/// One ID_RESP item: tag and raw value (osmo includes the trailing NUL).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdValue {
    /// The tag.
    pub tag: IdTag,
    /// The value as sent.
    pub value: Vec<u8>,
}

/// A CCM message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CcmMessage {
    /// Keep-alive request; answered with PONG.
    Ping,
    /// Keep-alive answer.
    Pong,
    /// Identity request listing the wanted tags.
    IdGet(Vec<IdTag>),
    /// Identity response.
    IdResp(Vec<IdValue>),
    /// Identity acknowledgement.
    IdAck,
    /// Any other type, with its data.
    Other {
        /// Message type.
        msg_type: CcmMsgType,
        /// Octets after the type.
        data: Vec<u8>,
    },
}

impl CcmMessage {
    /// The message type.
    pub fn msg_type(&self) -> CcmMsgType {
        match self {
            CcmMessage::Ping => CcmMsgType::Ping,
            CcmMessage::Pong => CcmMsgType::Pong,
            CcmMessage::IdGet(_) => CcmMsgType::IdGet,
            CcmMessage::IdResp(_) => CcmMsgType::IdResp,
            CcmMessage::IdAck => CcmMsgType::IdAck,
            CcmMessage::Other { msg_type, .. } => *msg_type,
        }
    }

    /// Parses the data of a stream 0xFE frame. Octets after PING, PONG and
    /// ID_ACK, and an incomplete item header at the end of an identity
    /// list, are ignored as libosmocore does.
    pub fn parse(data: &[u8]) -> Result<CcmMessage, IpaError> {
        let (&t, rest) = data.split_first().ok_or(IpaError::EmptyCcm)?;
        Ok(match CcmMsgType::from(t) {
            CcmMsgType::Ping => CcmMessage::Ping,
            CcmMsgType::Pong => CcmMessage::Pong,
            CcmMsgType::IdAck => CcmMessage::IdAck,
            CcmMsgType::IdGet => CcmMessage::IdGet(parse_id_get(rest)?),
            CcmMsgType::IdResp => CcmMessage::IdResp(parse_id_resp(rest)?),
            msg_type => CcmMessage::Other {
                msg_type,
                data: rest.to_vec(),
            },
        })
    }

    /// Appends the frame data (type octet and body).
    pub fn emit_payload(&self, out: &mut Vec<u8>) -> Result<(), IpaError> {
        out.push(self.msg_type().into());
        match self {
            CcmMessage::Ping | CcmMessage::Pong | CcmMessage::IdAck => {}
            CcmMessage::IdGet(tags) => {
                for &tag in tags {
                    out.extend_from_slice(&[1, tag.into()]);
                }
            }
            CcmMessage::IdResp(values) => {
                for v in values {
                    let len = u16::try_from(v.value.len() + 1)
                        .map_err(|_| IpaError::PayloadTooLong(v.value.len()))?;
                    out.extend_from_slice(&len.to_be_bytes());
                    out.push(v.tag.into());
                    out.extend_from_slice(&v.value);
                }
            }
            CcmMessage::Other { data, .. } => out.extend_from_slice(data),
        }
        Ok(())
    }

    /// The whole IPA frame.
    pub fn to_frame(&self) -> Result<Frame, IpaError> {
        let mut payload = Vec::new();
        self.emit_payload(&mut payload)?;
        Ok(Frame {
            stream: StreamId::Ccm,
            payload,
        })
    }

    /// The encoded IPA frame.
    pub fn to_vec(&self) -> Result<Vec<u8>, IpaError> {
        self.to_frame()?.to_vec()
    }
}

fn parse_id_get(mut data: &[u8]) -> Result<Vec<IdTag>, IpaError> {
    let mut tags = Vec::new();
    while let [len, tag, rest @ ..] = data {
        let value_len = usize::from(*len)
            .checked_sub(1)
            .ok_or(IpaError::BadIdentityElement)?;
        if value_len > rest.len() {
            return Err(IpaError::BadIdentityElement);
        }
        tags.push(IdTag::from(*tag));
        data = &rest[value_len..];
    }
    Ok(tags)
}

fn parse_id_resp(mut data: &[u8]) -> Result<Vec<IdValue>, IpaError> {
    let mut values = Vec::new();
    while let [hi, lo, tag, rest @ ..] = data {
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let value_len = len.checked_sub(1).ok_or(IpaError::BadIdentityElement)?;
        let value = rest.get(..value_len).ok_or(IpaError::BadIdentityElement)?;
        values.push(IdValue {
            tag: IdTag::from(*tag),
            value: value.to_vec(),
        });
        data = &rest[value_len..];
    }
    Ok(values)
}

/// What a GSUP client announces about itself in ID_RESP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitIdentity {
    /// Serial number: osmo-hlr uses it as the IPA name for routing (osmo
    /// programs call it `ipa-name`, e.g. `MSC-00-00-00-00-00-00`).
    pub serial: String,
    /// Unit name (osmo clients: "MSC", "SGSN", "HLR").
    pub unit_name: String,
    /// Unit ID as site/BTS/TRX numbers, sent as `"site/bts/trx"`.
    pub unit_id: (u16, u16, u16),
    /// MAC address, sent as `aa:bb:cc:dd:ee:ff`.
    pub mac: [u8; 6],
    /// Location 1.
    pub location1: String,
    /// Location 2 (unit type).
    pub location2: String,
    /// Equipment version.
    pub equipment_version: String,
    /// Software version.
    pub software_version: String,
}

impl UnitIdentity {
    /// An identity with the given unit name and serial number (IPA name),
    /// unit ID 0/0/0 and empty other fields.
    pub fn new(unit_name: &str, serial: &str) -> UnitIdentity {
        UnitIdentity {
            serial: serial.to_owned(),
            unit_name: unit_name.to_owned(),
            unit_id: (0, 0, 0),
            mac: [0; 6],
            location1: String::new(),
            location2: String::new(),
            equipment_version: String::new(),
            software_version: String::new(),
        }
    }

    /// The value sent for `tag`: the text plus a NUL, as
    /// `ipa_ccm_make_id_resp` writes it; `None` for tags it does not know
    /// (libosmocore refuses those; we leave them out of the response).
    pub fn value_for(&self, tag: IdTag) -> Option<Vec<u8>> {
        let text = match tag {
            IdTag::Serial => self.serial.clone(),
            IdTag::UnitName => self.unit_name.clone(),
            IdTag::UnitId => format!("{}/{}/{}", self.unit_id.0, self.unit_id.1, self.unit_id.2),
            IdTag::MacAddress => {
                let m = self.mac;
                format!(
                    "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                    m[0], m[1], m[2], m[3], m[4], m[5]
                )
            }
            IdTag::Location1 => self.location1.clone(),
            IdTag::Location2 => self.location2.clone(),
            IdTag::EquipmentVersion => self.equipment_version.clone(),
            IdTag::SoftwareVersion => self.software_version.clone(),
            _ => return None,
        };
        let mut value = text.into_bytes();
        value.push(0);
        Some(value)
    }

    /// The ID_RESP answering an ID_GET for `requested`, in its order.
    pub fn id_resp(&self, requested: &[IdTag]) -> CcmMessage {
        CcmMessage::IdResp(
            requested
                .iter()
                .filter_map(|&tag| self.value_for(tag).map(|value| IdValue { tag, value }))
                .collect(),
        )
    }
}

/// The identity a peer sent in ID_RESP, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    values: Vec<IdValue>,
}

impl PeerIdentity {
    /// Wraps the items of an ID_RESP.
    pub fn new(values: Vec<IdValue>) -> PeerIdentity {
        PeerIdentity { values }
    }

    /// All items, in the order received.
    pub fn values(&self) -> &[IdValue] {
        &self.values
    }

    /// The raw value of `tag` (the last one if repeated, as libosmocore's
    /// TLV table keeps it).
    pub fn get(&self, tag: IdTag) -> Option<&[u8]> {
        self.values
            .iter()
            .rev()
            .find(|v| v.tag == tag)
            .map(|v| v.value.as_slice())
    }

    /// The value of `tag` as text, up to the first NUL; `None` if absent or
    /// not UTF-8.
    pub fn get_str(&self, tag: IdTag) -> Option<&str> {
        let raw = self.get(tag)?;
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        core::str::from_utf8(&raw[..end]).ok()
    }

    /// The IPA name osmo-hlr routes by: the raw Serial Number value, NUL
    /// included — the same octets osmo peers put in the Source Name and
    /// Destination Name IEs.
    pub fn ipa_name(&self) -> Option<&[u8]> {
        self.get(IdTag::Serial)
    }

    /// Serial number text.
    pub fn serial(&self) -> Option<&str> {
        self.get_str(IdTag::Serial)
    }

    /// Unit name text.
    pub fn unit_name(&self) -> Option<&str> {
        self.get_str(IdTag::UnitName)
    }

    /// Unit ID text (`site/bts/trx`).
    pub fn unit_id(&self) -> Option<&str> {
        self.get_str(IdTag::UnitId)
    }

    /// The check osmo-hlr applies before accepting a GSUP peer: a Unit ID
    /// item of at least one octet and a Serial Number item of at least one
    /// octet. Returns the first missing tag.
    pub fn check_osmo_requirements(&self) -> Result<(), IdTag> {
        for tag in [IdTag::UnitId, IdTag::Serial] {
            if self.get(tag).is_none_or(<[u8]>::is_empty) {
                return Err(tag);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osmo_hlr_id_get() {
        let frame = hex::decode("0011fe0401080107010201030104010501010100").unwrap();
        let (f, used) = Frame::parse(&frame).unwrap();
        assert_eq!(used, frame.len());
        assert_eq!(f.stream, StreamId::Ccm);
        let msg = CcmMessage::parse(&f.payload).unwrap();
        assert_eq!(msg, CcmMessage::IdGet(OSMO_ID_GET_TAGS.to_vec()));
        assert_eq!(msg.to_vec().unwrap(), frame);
    }

    #[test]
    fn id_resp_like_libosmocore() {
        let id = UnitIdentity::new("MSC", "MSC-00-00-00-00-00-00");
        let resp = id.id_resp(&[
            IdTag::UnitName,
            IdTag::Serial,
            IdTag::UnitId,
            IdTag::Password,
        ]);
        let bytes = resp.to_vec().unwrap();
        let mut expected = vec![0x05];
        expected.extend_from_slice(&[0x00, 0x05, 0x01]);
        expected.extend_from_slice(b"MSC\0");
        expected.extend_from_slice(&[0x00, 0x17, 0x00]);
        expected.extend_from_slice(b"MSC-00-00-00-00-00-00\0");
        expected.extend_from_slice(&[0x00, 0x07, 0x08]);
        expected.extend_from_slice(b"0/0/0\0");
        let mut framed = (expected.len() as u16).to_be_bytes().to_vec();
        framed.push(0xfe);
        framed.extend_from_slice(&expected);
        assert_eq!(bytes, framed);

        let (f, _) = Frame::parse(&bytes).unwrap();
        let CcmMessage::IdResp(values) = CcmMessage::parse(&f.payload).unwrap() else {
            panic!("not ID_RESP")
        };
        let peer = PeerIdentity::new(values);
        assert_eq!(peer.serial(), Some("MSC-00-00-00-00-00-00"));
        assert_eq!(peer.ipa_name(), Some(&b"MSC-00-00-00-00-00-00\0"[..]));
        assert_eq!(peer.unit_name(), Some("MSC"));
        assert_eq!(peer.unit_id(), Some("0/0/0"));
        assert_eq!(peer.check_osmo_requirements(), Ok(()));
    }

    #[test]
    fn osmo_requirements() {
        let only_serial = PeerIdentity::new(vec![IdValue {
            tag: IdTag::Serial,
            value: b"x\0".to_vec(),
        }]);
        assert_eq!(only_serial.check_osmo_requirements(), Err(IdTag::UnitId));
        let empty_serial = PeerIdentity::new(vec![
            IdValue {
                tag: IdTag::UnitId,
                value: b"0/0/0\0".to_vec(),
            },
            IdValue {
                tag: IdTag::Serial,
                value: vec![],
            },
        ]);
        assert_eq!(empty_serial.check_osmo_requirements(), Err(IdTag::Serial));
    }

    #[test]
    fn simple_messages() {
        assert_eq!(CcmMessage::Ping.to_vec().unwrap(), [0x00, 0x01, 0xfe, 0x00]);
        assert_eq!(CcmMessage::Pong.to_vec().unwrap(), [0x00, 0x01, 0xfe, 0x01]);
        assert_eq!(
            CcmMessage::IdAck.to_vec().unwrap(),
            [0x00, 0x01, 0xfe, 0x06]
        );
        assert_eq!(CcmMessage::parse(&[0x06]).unwrap(), CcmMessage::IdAck);
        assert_eq!(
            CcmMessage::parse(&[0x0b, 1, 2]).unwrap(),
            CcmMessage::Other {
                msg_type: CcmMsgType::SslInfo,
                data: vec![1, 2]
            }
        );
        assert_eq!(CcmMessage::parse(&[]), Err(IpaError::EmptyCcm));
    }

    #[test]
    fn malformed_identity_lists() {
        // ID_GET item with length 0.
        assert_eq!(
            CcmMessage::parse(&[0x04, 0x00, 0x01]),
            Err(IpaError::BadIdentityElement)
        );
        // ID_GET item longer than the message.
        assert_eq!(
            CcmMessage::parse(&[0x04, 0x03, 0x01, 0x00]),
            Err(IpaError::BadIdentityElement)
        );
        // ID_GET item with a value is accepted, the value skipped.
        assert_eq!(
            CcmMessage::parse(&[0x04, 0x02, 0x01, 0xaa]).unwrap(),
            CcmMessage::IdGet(vec![IdTag::UnitName])
        );
        // ID_RESP length 0 and overrun.
        assert_eq!(
            CcmMessage::parse(&[0x05, 0x00, 0x00, 0x01]),
            Err(IpaError::BadIdentityElement)
        );
        assert_eq!(
            CcmMessage::parse(&[0x05, 0x00, 0x03, 0x01, 0x41]),
            Err(IpaError::BadIdentityElement)
        );
        // Trailing partial item header is ignored.
        assert_eq!(
            CcmMessage::parse(&[0x05, 0x00, 0x02]).unwrap(),
            CcmMessage::IdResp(vec![])
        );
    }
}
