//! Byte fixtures from widely used PDU-mode documentation, run through the
//! whole receive path: modem output line, SMSC prefix, TPDU.

use telsec_sms::address::{NumberingPlan, TypeOfNumber};
use telsec_sms::at::{AtLine, LineParser, PduSource};
use telsec_sms::{Dcs, SmsDeliver, SmsSubmit, Timestamp, ValidityPeriod};

/// The classic SMS-DELIVER example: SMSC +27381000015, originator
/// 27838890001 with TOA C8 (subscriber number, national plan), sent
/// 99-03-29 15:16:59 GMT+2, "hellohello".
const DELIVER_PDU: &str =
    "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37";

#[test]
fn classic_deliver_via_cmt() {
    let mut p = LineParser::new();
    let mut lines = p.feed(b"\r\n+CMT: \"\",28\r\n");
    lines.extend(p.feed(DELIVER_PDU.as_bytes()));
    lines.extend(p.feed(b"\r\n"));
    let [AtLine::Other(_), AtLine::Pdu { source, smsc, tpdu }] = lines.as_slice() else {
        panic!("unexpected lines {lines:?}");
    };
    assert_eq!(*source, PduSource::Cmt { alpha: None });
    let smsc = smsc.as_ref().expect("SMSC present");
    assert_eq!(
        (smsc.ton, smsc.npi, smsc.digits.as_str()),
        (
            TypeOfNumber::International,
            NumberingPlan::Isdn,
            "27381000015"
        )
    );
    let d = SmsDeliver::parse(tpdu).expect("decodes");
    assert_eq!(d.originator.ton, TypeOfNumber::Subscriber);
    assert_eq!(d.originator.npi, NumberingPlan::National);
    assert_eq!(d.originator.as_str(), "27838890001");
    assert_eq!(d.dcs, Dcs::GSM7);
    assert_eq!(
        d.scts,
        Timestamp {
            year: 99,
            month: 3,
            day: 29,
            hour: 15,
            minute: 16,
            second: 59,
            tz_quarters: 8
        }
    );
    assert_eq!(d.user_data.text(d.dcs).as_deref(), Some("hellohello"));
    assert_eq!(d.to_vec().expect("encodes"), tpdu.as_slice());
}

#[test]
fn classic_submit() {
    // "0011000B916407281553F80000AA0AE8329BFD4697D9EC37": no SMSC, VPF
    // relative, VP 0xAA (4 days), to +46708251358, "hellohello".
    let pdu = hex::decode("0011000B916407281553F80000AA0AE8329BFD4697D9EC37").expect("hex");
    let s = SmsSubmit::parse(&pdu[1..]).expect("decodes");
    assert_eq!(s.validity, Some(ValidityPeriod::Relative(0xAA)));
    assert_eq!(ValidityPeriod::relative_minutes(0xAA), 4 * 1440);
    assert_eq!(
        telsec_sms::at::pdu_body(None, &s.to_vec().expect("encodes")).expect("body"),
        [
            b"0011000B916407281553F80000AA0AE8329BFD4697D9EC37".as_slice(),
            &[0x1A]
        ]
        .concat()
    );
}

#[test]
fn relative_validity_table() {
    // TS 23.040 §9.2.3.12.1 boundaries.
    let m = ValidityPeriod::relative_minutes;
    assert_eq!((m(0), m(143)), (5, 720));
    assert_eq!((m(144), m(167)), (750, 1440));
    assert_eq!((m(168), m(196)), (2 * 1440, 30 * 1440));
    assert_eq!((m(197), m(255)), (5 * 7 * 1440, 63 * 7 * 1440));
}
