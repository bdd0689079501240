//! Interop with pycrate (`pycrate_mobile.TS23040_SMS`): pycrate decodes
//! PDUs telsec encodes, and telsec decodes PDUs pycrate encodes.
//!
//! pycrate is required: `pip install pycrate`. Without it these tests fail
//! rather than skip.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;
use telsec_sms::address::{NumberingPlan, TypeOfNumber};
use telsec_sms::udh::InformationElement;
use telsec_sms::{
    Address, Dcs, SmsDeliver, SmsSubmit, Timestamp, UserData, UserDataHeader, ValidityPeriod,
    split_binary,
};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pycrate_interop.py");

fn run_python(mode: &str, stdin: &str) -> Vec<Value> {
    let mut child = Command::new("python3")
        .arg(SCRIPT)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}); install python3 and `pip install pycrate`")
        });
    child
        .stdin
        .take()
        .expect("stdin piped")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'pycrate") {
        panic!(
            "pycrate is not installed: run `pip install pycrate` (required by the telsec-sms interop tests)"
        );
    }
    assert!(out.status.success(), "pycrate script failed: {stderr}");
    String::from_utf8(out.stdout)
        .expect("utf-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn scts() -> Timestamp {
    Timestamp {
        year: 26,
        month: 11,
        day: 23,
        hour: 16,
        minute: 30,
        second: 5,
        tz_quarters: -20,
    }
}

/// The key-delivery shape: 8-bit data to a 16-bit port, concatenated.
fn key_delivers() -> Vec<SmsDeliver> {
    let payload: Vec<u8> = (0..200u16).map(|i| (i * 7) as u8).collect();
    split_binary(&payload, 9200, 9201, 0xA55A)
        .expect("split")
        .into_iter()
        .map(|ud| SmsDeliver {
            more_messages: true,
            loop_prevention: false,
            status_report_indication: true,
            reply_path: false,
            originator: Address::international("+33612345678").expect("address"),
            pid: 0,
            dcs: Dcs::DATA8,
            scts: scts(),
            user_data: ud,
        })
        .collect()
}

#[test]
fn pycrate_decodes_telsec_pdus() {
    let delivers = key_delivers();
    let mut text_ud = UserData::gsm7("Key for HoA 10.0.0.2: €[ok]").expect("gsm7");
    text_ud.header = Some(UserDataHeader {
        elements: vec![InformationElement::Concat8 {
            reference: 3,
            total: 1,
            seq: 1,
        }],
    });
    let text_deliver = SmsDeliver {
        more_messages: false,
        loop_prevention: false,
        status_report_indication: false,
        reply_path: false,
        originator: Address::digits(TypeOfNumber::National, NumberingPlan::Isdn, "0612345")
            .expect("address"),
        pid: 0,
        dcs: Dcs::GSM7,
        scts: scts(),
        user_data: text_ud,
    };
    let mut submit = SmsSubmit::new(
        Address::international("+46708251358").expect("address"),
        Dcs::GSM7,
        UserData::gsm7("hellohello").expect("gsm7"),
    );
    submit.message_reference = 0x42;
    submit.validity = Some(ValidityPeriod::Relative(0xAA));
    submit.status_report_request = true;
    let mut port_submit = SmsSubmit::new(
        Address::international("+4917612345").expect("address"),
        Dcs::DATA8,
        UserData {
            header: Some(UserDataHeader {
                elements: vec![InformationElement::Port8 { dst: 0xB1, src: 0 }],
            }),
            data: vec![0; 10],
        },
    );
    port_submit.reject_duplicates = true;
    let ucs2 = SmsSubmit::new(
        Address::international("+1555").expect("address"),
        Dcs::UCS2,
        UserData::ucs2("Ключ"),
    );

    let mut pdus = Vec::new();
    for d in delivers.iter().chain([&text_deliver]) {
        pdus.push(("deliver", d.to_vec().expect("encode")));
    }
    for s in [&submit, &port_submit, &ucs2] {
        pdus.push(("submit", s.to_vec().expect("encode")));
    }
    let input: String = pdus
        .iter()
        .map(|(k, p)| format!("{k} {}\n", hex::encode(p)))
        .collect();
    let out = run_python("decode", &input);
    assert_eq!(out.len(), pdus.len());

    // pycrate re-encodes every PDU to the same octets.
    for ((_, p), v) in pdus.iter().zip(&out) {
        assert_eq!(v["reencoded"], hex::encode(p), "{v}");
    }

    // The two key segments.
    for (i, v) in out[..2].iter().enumerate() {
        assert_eq!(v["mti"], 0);
        assert_eq!(v["udhi"], 1);
        assert_eq!(v["mms"], 0);
        assert_eq!(v["sri"], 1);
        assert_eq!(v["addr"], "33612345678");
        assert_eq!(v["addr_type"], 1);
        assert_eq!(v["addr_npi"], 1);
        assert_eq!(v["charset"], 1);
        assert_eq!(
            v["scts"],
            hex::encode(scts().to_bytes().expect("time stamp"))
        );
        let seq = i as u64 + 1;
        assert_eq!(v["udh"][0][0], 8);
        assert_eq!(v["udh"][0][1], serde_json::json!([0xA55A, 2, seq]));
        assert_eq!(v["udh"][1][0], 5);
        assert_eq!(v["udh"][1][1], serde_json::json!([9200, 9201]));
        let data = &delivers[i].user_data.data;
        assert_eq!(v["udl"], 13 + data.len());
        assert_eq!(v["ud_hex"], hex::encode(data));
    }
    // The 7-bit text with a UDH (fill bit) and escapes.
    let v = &out[2];
    assert_eq!(v["text"], "Key for HoA 10.0.0.2: €[ok]");
    assert_eq!(v["addr"], "0612345");
    assert_eq!(v["addr_type"], 2);
    assert_eq!(v["udl"], 7 + 30);
    assert_eq!(v["udh"][0][1], serde_json::json!([3, 1, 1]));
    // SMS-SUBMIT hellohello.
    let v = &out[3];
    assert_eq!(
        (
            v["mti"].clone(),
            v["mr"].clone(),
            v["vpf"].clone(),
            v["srr"].clone()
        ),
        (1.into(), 0x42.into(), 2.into(), 1.into())
    );
    assert_eq!(v["addr"], "46708251358");
    assert_eq!(v["text"], "hellohello");
    assert_eq!(v["udl"], 10);
    // 8-bit port addressing and TP-RD.
    let v = &out[4];
    assert_eq!(v["rd"], 1);
    assert_eq!(v["udh"][0], serde_json::json!([4, [0xB1, 0]]));
    assert_eq!(v["udl"], 5 + 10);
    // UCS-2.
    let v = &out[5];
    assert_eq!(v["charset"], 2);
    assert_eq!(v["udl"], 8);
    assert_eq!(v["text"], "Ключ");
}

#[test]
fn telsec_decodes_pycrate_pdus() {
    let out = run_python("build", "");
    assert_eq!(out.len(), 3);
    let pdu = |i: usize| hex::decode(out[i]["hex"].as_str().expect("hex")).expect("hex");

    let d = SmsDeliver::parse(&pdu(0)).expect("pycrate deliver decodes");
    assert_eq!(d.originator.to_string(), "+33612345678");
    assert_eq!(d.dcs, Dcs::DATA8);
    assert!(!d.more_messages);
    assert_eq!(
        d.scts,
        Timestamp {
            year: 26,
            month: 11,
            day: 23,
            hour: 16,
            minute: 30,
            second: 0,
            tz_quarters: 8
        }
    );
    let h = d.user_data.header.as_ref().expect("UDH");
    assert_eq!(h.ports(), Some((9200, 9201)));
    let c = h.concat().expect("concat");
    assert_eq!((c.reference, c.wide, c.total, c.seq), (0x1234, true, 2, 1));
    assert_eq!(d.user_data.data, [1, 2, 3, 0xFF]);
    assert_eq!(d.to_vec().expect("re-encode"), pdu(0));

    let s = SmsSubmit::parse(&pdu(1)).expect("pycrate submit decodes");
    assert_eq!(s.message_reference, 5);
    assert!(s.status_report_request);
    assert_eq!(s.validity, Some(ValidityPeriod::Relative(167)));
    assert_eq!(s.destination.as_str(), "4917612345");
    assert_eq!(
        s.user_data.text(s.dcs).as_deref(),
        Some("Hello €uro [x] {y}")
    );
    let c = s
        .user_data
        .header
        .as_ref()
        .and_then(UserDataHeader::concat)
        .expect("concat");
    assert_eq!((c.reference, c.wide, c.total, c.seq), (9, false, 3, 2));
    assert_eq!(s.to_vec().expect("re-encode"), pdu(1));

    let t = SmsDeliver::parse(&pdu(2)).expect("pycrate 160-char deliver decodes");
    assert!(t.more_messages);
    assert_eq!(t.originator.ton, TypeOfNumber::National);
    assert_eq!(t.user_data.text(t.dcs), Some("x".repeat(160)));
    assert_eq!(t.scts.tz_quarters, -20);
    assert_eq!((t.scts.hour, t.scts.minute, t.scts.second), (9, 5, 59));
    assert_eq!(t.to_vec().expect("re-encode"), pdu(2));
}
