//! SMSC delivery receipts (SMPP 3.4 §5.2.12, Appendix B).
//!
//! A receipt is a deliver_sm with message type "SMSC delivery receipt"
//! (esm_class 0x04), source and destination swapped relative to the
//! original submit_sm, and this text in short_message:
//!
//! `id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E Text:…`
//!
//! For ESMEs bound with interface_version 0x34 the SMPP 3.4 TLVs
//! receipted_message_id (§5.3.2.12) and message_state (§5.3.2.35) carry the
//! id and state as well. `err` is 000 when delivered; otherwise telsec's
//! reason: 001 validity period expired, 002 refused by the recipient.

use rusmpp::pdus::DeliverSm;
use rusmpp::tlvs::MessageDeliveryRequestTlvValue;
use rusmpp::types::{EmptyOrFullCOctetString, OctetString};
use rusmpp::values::{
    DataCoding, EsmClass, MessageState, Npi, PriorityFlag, RegisteredDelivery,
    ReplaceIfPresentFlag, ServiceType, Ton,
};

use crate::SmppError;
use crate::convert::c_string;
use crate::submission::SmppAddress;
use crate::time::receipt_date;

/// The final state a receipt reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalState {
    /// Delivered to the handset (`DELIVRD`, message_state 2).
    Delivered,
    /// The validity period ran out (`EXPIRED`, 3).
    Expired,
    /// Permanently refused (`UNDELIV`, 5).
    Undeliverable,
}

impl FinalState {
    fn stat(self) -> &'static str {
        match self {
            FinalState::Delivered => "DELIVRD",
            FinalState::Expired => "EXPIRED",
            FinalState::Undeliverable => "UNDELIV",
        }
    }

    fn err(self) -> u8 {
        match self {
            FinalState::Delivered => 0,
            FinalState::Expired => 1,
            FinalState::Undeliverable => 2,
        }
    }

    fn message_state(self) -> MessageState {
        match self {
            FinalState::Delivered => MessageState::Delivered,
            FinalState::Expired => MessageState::Expired,
            FinalState::Undeliverable => MessageState::Undeliverable,
        }
    }
}

/// What a receipt reports on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptInfo {
    /// The message_id returned in submit_sm_resp.
    pub message_id: String,
    /// source_addr of the submit_sm.
    pub source: SmppAddress,
    /// destination_addr of the submit_sm.
    pub destination: SmppAddress,
    /// When it was submitted (Unix time).
    pub submitted: u64,
    /// When it reached its final state (Unix time).
    pub done: u64,
    /// Segments the message was sent as.
    pub segments: usize,
    /// Segments delivered.
    pub delivered: usize,
    /// The final state.
    pub state: FinalState,
    /// The first 20 octets of the message.
    pub preview: Vec<u8>,
    /// Add the SMPP 3.4 TLVs.
    pub tlvs: bool,
}

/// The receipt text (Appendix B). Octets of the preview outside letters,
/// digits and space are shown as `.`, so the text is valid in the GSM
/// 7-bit alphabet of data_coding 0.
pub fn text(r: &ReceiptInfo) -> String {
    let preview: String = r
        .preview
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b == b' ' {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect();
    format!(
        "id:{} sub:{:03} dlvrd:{:03} submit date:{} done date:{} stat:{} err:{:03} Text:{}",
        r.message_id,
        r.segments.min(999),
        r.delivered.min(999),
        receipt_date(r.submitted),
        receipt_date(r.done),
        r.state.stat(),
        r.state.err(),
        preview
    )
}

/// The receipt deliver_sm.
pub fn deliver_sm(r: &ReceiptInfo) -> Result<DeliverSm, SmppError> {
    let body = OctetString::from_vec(text(r).into_bytes()).map_err(|_| SmppError::Field {
        field: "short_message",
        reason: "receipt text too long",
    })?;
    let mut d = DeliverSm::builder()
        .service_type(ServiceType::default())
        .source_addr_ton(Ton::from(r.destination.ton))
        .source_addr_npi(Npi::from(r.destination.npi))
        .source_addr(c_string(&r.destination.addr, "source_addr")?)
        .dest_addr_ton(Ton::from(r.source.ton))
        .dest_addr_npi(Npi::from(r.source.npi))
        .destination_addr(c_string(&r.source.addr, "destination_addr")?)
        .esm_class(EsmClass::from(0x04))
        .protocol_id(0)
        .priority_flag(PriorityFlag::from(0))
        .schedule_delivery_time(EmptyOrFullCOctetString::empty())
        .validity_period(EmptyOrFullCOctetString::empty())
        .registered_delivery(RegisteredDelivery::from(0))
        .replace_if_present_flag(ReplaceIfPresentFlag::from(0))
        .data_coding(DataCoding::from(0))
        .sm_default_msg_id(0)
        .short_message(body)
        .build();
    if r.tlvs {
        d.push_tlv(MessageDeliveryRequestTlvValue::ReceiptedMessageId(
            c_string(&r.message_id, "receipted_message_id")?,
        ));
        d.push_tlv(MessageDeliveryRequestTlvValue::MessageState(
            r.state.message_state(),
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ReceiptInfo {
        ReceiptInfo {
            message_id: "0000000042".into(),
            source: SmppAddress {
                ton: 5,
                npi: 0,
                addr: "telsecHA".into(),
            },
            destination: SmppAddress {
                ton: 1,
                npi: 1,
                addr: "491701234567".into(),
            },
            submitted: 1_772_368_496,
            done: 1_772_368_556,
            segments: 1,
            delivered: 1,
            state: FinalState::Delivered,
            preview: b"key: \x01\x02 abc".to_vec(),
            tlvs: true,
        }
    }

    #[test]
    fn appendix_b_text() {
        assert_eq!(
            text(&info()),
            "id:0000000042 sub:001 dlvrd:001 submit date:2603011234 done date:2603011235 \
             stat:DELIVRD err:000 Text:key. .. abc"
        );
        let mut r = info();
        r.state = FinalState::Expired;
        r.delivered = 0;
        assert!(text(&r).contains("dlvrd:000"));
        assert!(text(&r).contains("stat:EXPIRED err:001"));
    }

    #[test]
    fn receipt_pdu() {
        let d = deliver_sm(&info()).unwrap();
        assert_eq!(u8::from(d.esm_class), 0x04);
        assert_eq!(d.source_addr.as_str(), "491701234567");
        assert_eq!(d.destination_addr.as_str(), "telsecHA");
        assert_eq!(u8::from(d.dest_addr_ton), 5);
        assert_eq!(d.tlvs().len(), 2);
        let mut r = info();
        r.tlvs = false;
        assert!(deliver_sm(&r).unwrap().tlvs().is_empty());
    }
}
