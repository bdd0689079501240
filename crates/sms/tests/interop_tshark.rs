//! tshark (Wireshark's `gsm_sms` dissector) decodes TPDUs telsec encodes.
//!
//! There is no link type for bare TPDUs, so the test writes a pcapng with
//! the user link type DLT 147 and maps it to `gsm_sms` with the
//! `uat:user_dlts` preference. The dissector tells SMS-SUBMIT (MS to SC)
//! from SMS-SUBMIT-REPORT (SC to MS, same TP-MTI) by packet direction, so
//! each packet carries the pcapng `epb_flags` direction: inbound for MS to
//! SC, outbound for SC to MS.
//!
//! tshark is required (`apt-get install tshark`); without it the test fails.

use std::process::Command;

use telsec_sms::udh::InformationElement;
use telsec_sms::{
    Address, Dcs, SmsDeliver, SmsSubmit, Timestamp, UserData, UserDataHeader, ValidityPeriod,
    split_binary,
};

const USER_DLT: &str = r#"uat:user_dlts:"User 0 (DLT=147)","gsm_sms","0","","0","""#;

/// Direction flag values of the pcapng `epb_flags` option.
const INBOUND: u32 = 1;
const OUTBOUND: u32 = 2;

fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let pad = body.len().next_multiple_of(4) - body.len();
    let len = (12 + body.len() + pad) as u32;
    let mut b = Vec::new();
    b.extend_from_slice(&kind.to_le_bytes());
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(body);
    b.extend(std::iter::repeat_n(0, pad));
    b.extend_from_slice(&len.to_le_bytes());
    b
}

fn pcapng(packets: &[(Vec<u8>, u32)]) -> Vec<u8> {
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    let mut out = block(0x0A0D_0D0A, &shb);
    let mut idb = Vec::new();
    idb.extend_from_slice(&147u16.to_le_bytes());
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&65535u32.to_le_bytes());
    out.extend(block(1, &idb));
    for (data, direction) in packets {
        let mut epb = Vec::new();
        for v in [0u32, 0, 0, data.len() as u32, data.len() as u32] {
            epb.extend_from_slice(&v.to_le_bytes());
        }
        epb.extend_from_slice(data);
        epb.extend(std::iter::repeat_n(
            0,
            data.len().next_multiple_of(4) - data.len(),
        ));
        // epb_flags (code 2, length 4), then opt_endofopt.
        epb.extend_from_slice(&2u16.to_le_bytes());
        epb.extend_from_slice(&4u16.to_le_bytes());
        epb.extend_from_slice(&direction.to_le_bytes());
        epb.extend_from_slice(&[0, 0, 0, 0]);
        out.extend(block(6, &epb));
    }
    out
}

const FIELDS: &[&str] = &[
    "gsm_sms.tp-mti",
    "gsm_sms.tp-oa",
    "gsm_sms.tp-da",
    "gsm_sms.tp-mr",
    "gsm_sms.dis_field_addr.num_type",
    "gsm_sms.tp-dcs",
    "gsm_sms.tp.user_data_length",
    "gsm_sms.sms_text",
    "gsm_sms.sms_body",
    "gsm_sms.destination_port",
    "gsm_sms.originator_port",
    "gsm_sms.udh.mm.msg_id",
    "gsm_sms.udh.mm.msg_parts",
    "gsm_sms.udh.mm.msg_part",
    "gsm_sms.scts.hour",
    "gsm_sms.scts.timezone",
    "gsm_sms.tp-srr",
    "gsm_sms.tp-vpf",
    "gsm_sms.vp.validity_period",
    "gsm_sms.tp-sri",
];

/// Runs tshark over the packets twice: once for the fields in [`FIELDS`]
/// (one row per packet), once for the verbose text.
fn tshark(packets: &[(Vec<u8>, u32)]) -> (Vec<Vec<String>>, String) {
    let path =
        std::env::temp_dir().join(format!("telsec-sms-tshark-{}.pcapng", std::process::id()));
    std::fs::write(&path, pcapng(packets)).expect("write pcapng");
    let run = |extra: &[&str]| {
        let mut cmd = Command::new("tshark");
        cmd.arg("-r")
            .arg(&path)
            .args(["-o", USER_DLT, "-o", "gsm_sms.reassemble:FALSE"])
            .args(extra);
        let out = cmd
            .output()
            .expect("tshark must be installed for interop tests (apt-get install tshark)");
        assert!(
            out.status.success(),
            "tshark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let mut args = vec![
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ];
    for f in FIELDS {
        args.extend(["-e", f]);
    }
    let fields = run(&args);
    let verbose = run(&["-V", "-O", "gsm_sms"]);
    let _ = std::fs::remove_file(&path);
    let rows = fields
        .lines()
        .map(|l| l.split('|').map(str::to_owned).collect())
        .collect();
    (rows, verbose)
}

fn field<'a>(row: &'a [String], name: &str) -> &'a str {
    let i = FIELDS.iter().position(|f| *f == name).expect("known field");
    row.get(i).map_or("", String::as_str)
}

#[test]
fn tshark_decodes_telsec_tpdus() {
    let scts = Timestamp {
        year: 26,
        month: 11,
        day: 23,
        hour: 16,
        minute: 30,
        second: 5,
        tz_quarters: -20,
    };
    let key: Vec<u8> = (0..150u8).collect();
    let parts = split_binary(&key, 9200, 9201, 0x0BEE).expect("split");
    let mut packets = Vec::new();
    for ud in &parts {
        let d = SmsDeliver {
            more_messages: true,
            loop_prevention: false,
            status_report_indication: true,
            reply_path: false,
            originator: Address::international("+33612345678").expect("address"),
            pid: 0,
            dcs: Dcs::DATA8,
            scts,
            user_data: ud.clone(),
        };
        packets.push((d.to_vec().expect("encode"), OUTBOUND));
    }
    let text = SmsDeliver {
        more_messages: false,
        loop_prevention: false,
        status_report_indication: false,
        reply_path: false,
        originator: Address::alphanumeric("telsec HA").expect("alpha"),
        pid: 0,
        dcs: Dcs::GSM7,
        scts,
        user_data: UserData::gsm7("key ready {1} €5").expect("gsm7"),
    };
    packets.push((text.to_vec().expect("encode"), OUTBOUND));
    let mut submit = SmsSubmit::new(
        Address::international("+46708251358").expect("address"),
        Dcs::GSM7,
        UserData::gsm7("hellohello").expect("gsm7"),
    );
    submit.message_reference = 77;
    submit.status_report_request = true;
    submit.validity = Some(ValidityPeriod::Relative(167));
    packets.push((submit.to_vec().expect("encode"), INBOUND));
    let mut ud = UserData::gsm7("after the header").expect("gsm7");
    ud.header = Some(UserDataHeader {
        elements: vec![InformationElement::Port16 {
            dst: 2948,
            src: 9200,
        }],
    });
    let with_udh = SmsSubmit::new(
        Address::international("+4917612345").expect("address"),
        Dcs::GSM7,
        ud,
    );
    packets.push((with_udh.to_vec().expect("encode"), INBOUND));

    let (rows, verbose) = tshark(&packets);
    assert_eq!(rows.len(), packets.len(), "{rows:?}");

    // Key segments: 8-bit data, 16-bit concatenation and ports.
    for (i, row) in rows[..2].iter().enumerate() {
        assert_eq!(field(row, "gsm_sms.tp-mti"), "0");
        assert_eq!(field(row, "gsm_sms.tp-oa"), "33612345678");
        assert_eq!(field(row, "gsm_sms.dis_field_addr.num_type"), "1");
        assert_eq!(field(row, "gsm_sms.tp-dcs"), "4");
        assert_eq!(field(row, "gsm_sms.tp-sri"), "1");
        assert_eq!(field(row, "gsm_sms.destination_port"), "9200");
        assert_eq!(field(row, "gsm_sms.originator_port"), "9201");
        assert_eq!(field(row, "gsm_sms.udh.mm.msg_id"), "3054");
        assert_eq!(field(row, "gsm_sms.udh.mm.msg_parts"), "2");
        assert_eq!(field(row, "gsm_sms.udh.mm.msg_part"), (i + 1).to_string());
        assert_eq!(
            field(row, "gsm_sms.tp.user_data_length"),
            (13 + parts[i].data.len()).to_string()
        );
        assert_eq!(field(row, "gsm_sms.scts.hour"), "16");
        // The field holds the magnitude in quarter hours; the sign shows
        // in the verbose text, checked below.
        assert_eq!(field(row, "gsm_sms.scts.timezone"), "20");
    }
    assert_eq!(
        verbose.matches("Timezone: GMT - 5 hours 0 minutes").count(),
        3,
        "{verbose}"
    );
    assert!(
        !verbose.contains("SUBMIT REPORT"),
        "direction flags not honoured: {verbose}"
    );
    let body: String = field(&rows[0], "gsm_sms.sms_body").split(':').collect();
    assert_eq!(body, hex::encode(&parts[0].data));

    // Alphanumeric originator, 7-bit text with escapes.
    let row = &rows[2];
    assert_eq!(field(row, "gsm_sms.tp-oa"), "telsec HA");
    assert_eq!(field(row, "gsm_sms.dis_field_addr.num_type"), "5");
    assert_eq!(field(row, "gsm_sms.sms_text"), "key ready {1} €5");
    assert_eq!(field(row, "gsm_sms.tp.user_data_length"), "19");

    // SMS-SUBMIT with SRR and a relative validity period.
    let row = &rows[3];
    assert_eq!(field(row, "gsm_sms.tp-mti"), "1");
    assert_eq!(field(row, "gsm_sms.tp-mr"), "77");
    assert_eq!(field(row, "gsm_sms.tp-da"), "46708251358");
    assert_eq!(field(row, "gsm_sms.tp-srr"), "1");
    assert_eq!(field(row, "gsm_sms.tp-vpf"), "2");
    assert_eq!(field(row, "gsm_sms.vp.validity_period"), "167");
    assert_eq!(field(row, "gsm_sms.sms_text"), "hellohello");

    // 7-bit text after a 7-octet UDH: one fill bit, then septets.
    let row = &rows[4];
    assert_eq!(field(row, "gsm_sms.destination_port"), "2948");
    assert_eq!(field(row, "gsm_sms.sms_text"), "after the header");
    assert_eq!(
        field(row, "gsm_sms.tp.user_data_length"),
        (8 + 16).to_string()
    );
}
