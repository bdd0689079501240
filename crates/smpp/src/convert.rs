//! Between SMPP and TS 23.040: a checked submit_sm becomes SMS-DELIVER
//! TPDUs for the destination's modem, and a modem's SMS-SUBMIT becomes a
//! deliver_sm for an ESME (SMPP 3.4 §4.6, §5.2; TS 23.040 §9.2.2).

use rusmpp::pdus::DeliverSm;
use rusmpp::types::{COctetString, EmptyOrFullCOctetString, OctetString};
use rusmpp::values::{
    DataCoding, EsmClass, Npi, PriorityFlag, RegisteredDelivery, ReplaceIfPresentFlag, ServiceType,
    Ton,
};
use telsec_sms::address::AddressValue;
use telsec_sms::udh::InformationElement;
use telsec_sms::{Alphabet, SmsDeliver, SmsSubmit, Timestamp, UserData, UserDataHeader};

use crate::submission::{Submission, fits_one, segment_bounds};

/// `+CMS ERROR` codes (TS 27.005 §3.2.5): 0..=127 are TS 24.011 RP causes
/// (§8.2.5.4), 128..=255 TS 23.040 TP-FCS values (§9.2.3.22), 300.. ME errors.
pub mod cms {
    /// RP cause 27: destination out of order (no ESME can take the message).
    pub const DESTINATION_OUT_OF_ORDER: u16 = 27;
    /// RP cause 42: congestion (the destination's queue is full).
    pub const CONGESTION: u16 = 42;
    /// TP-FCS 0x90: data coding scheme (alphabet) not supported.
    pub const DCS_NOT_SUPPORTED: u16 = 0x90;
    /// TP-FCS 0xC3: invalid SME address.
    pub const INVALID_SME_ADDRESS: u16 = 0xC3;
    /// 302: operation not allowed.
    pub const OPERATION_NOT_ALLOWED: u16 = 302;
    /// 303: operation not supported.
    pub const OPERATION_NOT_SUPPORTED: u16 = 303;
    /// 304: invalid PDU mode parameter.
    pub const INVALID_PDU_PARAMETER: u16 = 304;
    /// 321: invalid memory index.
    pub const INVALID_MEMORY_INDEX: u16 = 321;
    /// 340: no +CNMA acknowledgement expected.
    pub const NO_CNMA_EXPECTED: u16 = 340;
    /// 500: unknown error.
    pub const UNKNOWN: u16 = 500;
}

/// The SMS-DELIVERs of a submission: one, or the segments of a long
/// headerless message, each with an 8-bit concatenation element carrying
/// `reference` (TS 23.040 §9.2.3.24.1). TP-MMS is left for the dispatcher.
pub fn deliver_parts(sub: &Submission, scts: Timestamp, reference: u8) -> Vec<SmsDeliver> {
    let deliver = |user_data: UserData| SmsDeliver {
        more_messages: false,
        loop_prevention: false,
        status_report_indication: sub.receipt != crate::submission::ReceiptRequest::None,
        reply_path: sub.reply_path,
        originator: sub.originator.clone(),
        pid: sub.pid,
        dcs: sub.dcs,
        scts,
        user_data,
    };
    if fits_one(&sub.user_data, sub.dcs) {
        return vec![deliver(sub.user_data.clone())];
    }
    let bounds = segment_bounds(&sub.user_data.data, sub.dcs);
    let total = u8::try_from(bounds.len()).unwrap_or(u8::MAX);
    bounds
        .iter()
        .zip(1u8..)
        .map(|(&(a, b), seq)| {
            deliver(UserData {
                header: Some(UserDataHeader {
                    elements: vec![InformationElement::Concat8 {
                        reference,
                        total,
                        seq,
                    }],
                }),
                data: sub.user_data.data[a..b].to_vec(),
            })
        })
        .collect()
}

/// The SMPP data_coding for a TP-DCS (the reverse of the table in
/// [`crate::submission`]); compressed text has none.
fn data_coding(dcs: telsec_sms::Dcs) -> Result<u8, u16> {
    if dcs.compressed() {
        return Err(cms::DCS_NOT_SUPPORTED);
    }
    let class = dcs.class().map(|c| match c {
        telsec_sms::MessageClass::Class0 => 0,
        telsec_sms::MessageClass::Class1 => 1,
        telsec_sms::MessageClass::Class2 => 2,
        telsec_sms::MessageClass::Class3 => 3,
    });
    Ok(match (dcs.alphabet(), class) {
        (Alphabet::Gsm7 | Alphabet::Reserved, None) => 0x00,
        (Alphabet::Gsm7 | Alphabet::Reserved, Some(c)) => 0xF0 | c,
        (Alphabet::Data8, None) => 0x04,
        (Alphabet::Data8, Some(c)) => 0xF4 | c,
        (Alphabet::Ucs2, _) => 0x08,
    })
}

/// A C-octet string field from text (the NUL is added).
pub fn c_string<const MIN: usize, const MAX: usize>(
    text: &str,
    field: &'static str,
) -> Result<COctetString<MIN, MAX>, crate::SmppError> {
    COctetString::from_string(text.to_owned()).map_err(|_| crate::SmppError::Field {
        field,
        reason: "too long or not ASCII",
    })
}

/// The deliver_sm carrying an SMS-SUBMIT that the modem of `msisdn` sent
/// (SMPP 3.4 §4.6.1): source_addr is the MSISDN (international, E.164),
/// destination_addr TP-DA; TP-UDHI and TP-RP set esm_class bits 6 and 7;
/// short_message holds the header octets then the septets (one per octet)
/// or octets. Errors are `+CMS ERROR` codes.
pub fn mo_deliver_sm(msisdn: &str, submit: &SmsSubmit) -> Result<DeliverSm, u16> {
    let coding = data_coding(submit.dcs)?;
    let dest = &submit.destination;
    let dest_text = match &dest.value {
        AddressValue::Digits(d) => d.clone(),
        AddressValue::Alphanumeric(_) => return Err(cms::INVALID_SME_ADDRESS),
    };
    let dest_npi = match u8::from(dest.npi) {
        n @ (0 | 1 | 3 | 4 | 8 | 9 | 10) => n,
        _ => 0,
    };
    let mut message = Vec::with_capacity(200);
    let mut esm = 0u8;
    if let Some(h) = &submit.user_data.header {
        h.emit(&mut message)
            .map_err(|_| cms::INVALID_PDU_PARAMETER)?;
        esm |= 0x40;
    }
    if submit.reply_path {
        esm |= 0x80;
    }
    message.extend_from_slice(&submit.user_data.data);
    let short = OctetString::from_vec(message).map_err(|_| cms::INVALID_PDU_PARAMETER)?;
    Ok(DeliverSm::builder()
        .service_type(ServiceType::default())
        .source_addr_ton(Ton::International)
        .source_addr_npi(Npi::Isdn)
        .source_addr(c_string(msisdn, "source_addr").map_err(|_| cms::INVALID_SME_ADDRESS)?)
        .dest_addr_ton(Ton::from(u8::from(dest.ton)))
        .dest_addr_npi(Npi::from(dest_npi))
        .destination_addr(
            c_string(&dest_text, "destination_addr").map_err(|_| cms::INVALID_SME_ADDRESS)?,
        )
        .esm_class(EsmClass::from(esm))
        .protocol_id(submit.pid)
        .priority_flag(PriorityFlag::from(0))
        .schedule_delivery_time(EmptyOrFullCOctetString::empty())
        .validity_period(EmptyOrFullCOctetString::empty())
        .registered_delivery(RegisteredDelivery::from(0))
        .replace_if_present_flag(ReplaceIfPresentFlag::from(0))
        .data_coding(DataCoding::from(coding))
        .sm_default_msg_id(0)
        .short_message(short)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::submission::check;
    use rusmpp::pdus::SubmitSm;
    use telsec_sms::{Address, Dcs};

    fn submit_sm(coding: u8, esm: u8, msg: &[u8]) -> SubmitSm {
        SubmitSm::builder()
            .source_addr_ton(Ton::Alphanumeric)
            .source_addr_npi(Npi::Unknown)
            .source_addr("telsecHA".parse().unwrap())
            .dest_addr_ton(Ton::International)
            .dest_addr_npi(Npi::Isdn)
            .destination_addr("491701234567".parse().unwrap())
            .esm_class(EsmClass::from(esm))
            .protocol_id(0x7F)
            .data_coding(DataCoding::from(coding))
            .registered_delivery(RegisteredDelivery::from(1))
            .short_message(OctetString::from_slice(msg).unwrap())
            .build()
    }

    fn ts() -> Timestamp {
        crate::time::scts(1_772_368_496)
    }

    #[test]
    fn binary_with_udh_to_deliver() {
        let mut msg = vec![6, 5, 4, 0x23, 0xF0, 0, 0]; // 16-bit ports 9200 / 0
        msg.extend_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF]);
        let sub = check(&submit_sm(0x04, 0x40, &msg)).unwrap();
        let parts = deliver_parts(&sub, ts(), 0);
        assert_eq!(parts.len(), 1);
        let d = &parts[0];
        assert_eq!(d.originator, Address::alphanumeric("telsecHA").unwrap());
        assert_eq!((d.pid, d.dcs), (0x7F, Dcs::DATA8));
        assert!(d.status_report_indication);
        assert_eq!(
            d.user_data.header.as_ref().and_then(|h| h.ports()),
            Some((9200, 0))
        );
        let tpdu = d.to_vec().unwrap();
        // First octet: MTI 00, TP-MMS set (no more), SRI, UDHI.
        assert_eq!(tpdu[0], 0x04 | 0x20 | 0x40);
        assert_eq!(SmsDeliver::parse(&tpdu).unwrap(), *d);
        assert_eq!(&tpdu[tpdu.len() - 4..], &[0xDE, 0xAD, 0xBE, 0xEF]);
    }

    #[test]
    fn long_text_is_concatenated() {
        let text = vec![b'a'; 200];
        let mut sm = submit_sm(0x00, 0x00, b"");
        sm.push_tlv(
            rusmpp::tlvs::MessageSubmissionRequestTlvValue::MessagePayload(
                rusmpp::values::MessagePayload::new(rusmpp::types::AnyOctetString::from_vec(text)),
            ),
        );
        let sub = check(&sm).unwrap();
        let parts = deliver_parts(&sub, ts(), 77);
        assert_eq!(parts.len(), 2);
        for (i, p) in parts.iter().enumerate() {
            let c = p
                .user_data
                .header
                .as_ref()
                .and_then(|h| h.concat())
                .unwrap();
            assert_eq!((c.reference, c.total, c.seq), (77, 2, i as u8 + 1));
            p.to_vec().unwrap();
        }
        assert_eq!(parts[0].user_data.data.len(), 153);
        assert_eq!(parts[1].user_data.data.len(), 47);
    }

    #[test]
    fn mo_submit_to_deliver_sm() {
        let mut s = SmsSubmit::new(
            Address::international("+4420000001").unwrap(),
            Dcs::DATA8,
            UserData::octets(vec![1, 2, 3]),
        );
        s.user_data.header = Some(UserDataHeader {
            elements: vec![InformationElement::Port16 {
                dst: 9200,
                src: 9201,
            }],
        });
        s.pid = 0x41;
        let d = mo_deliver_sm("491701234567", &s).unwrap();
        assert_eq!(d.source_addr.as_str(), "491701234567");
        assert_eq!(d.destination_addr.as_str(), "4420000001");
        assert_eq!(u8::from(d.dest_addr_ton), 1);
        assert_eq!(u8::from(d.esm_class), 0x40);
        assert_eq!(u8::from(d.data_coding), 0x04);
        assert_eq!(d.protocol_id, 0x41);
        assert_eq!(
            d.short_message().as_ref(),
            &[6, 5, 4, 0x23, 0xF0, 0x23, 0xF1, 1, 2, 3]
        );
        // Text keeps its septets; class and UCS-2 codings map across.
        let t = SmsSubmit::new(
            Address::international("1").unwrap(),
            Dcs::GSM7,
            UserData::gsm7("hi@").unwrap(),
        );
        let d = mo_deliver_sm("1", &t).unwrap();
        assert_eq!(d.short_message().as_ref(), &[0x68, 0x69, 0x00]);
        assert_eq!(data_coding(Dcs(0x11)), Ok(0xF1));
        assert_eq!(data_coding(Dcs(0x16)), Ok(0xF6));
        assert_eq!(data_coding(Dcs::UCS2), Ok(0x08));
        assert_eq!(data_coding(Dcs(0x20)), Err(cms::DCS_NOT_SUPPORTED));
        let mut a = t.clone();
        a.destination = Address::alphanumeric("abc").unwrap();
        assert_eq!(
            mo_deliver_sm("1", &a).unwrap_err(),
            cms::INVALID_SME_ADDRESS
        );
    }
}
