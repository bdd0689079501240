//! tshark (Wireshark's `smpp` dissector) decodes the SMPP exchange telsec's
//! sessions produce: an [`EsmeSession`] and an [`SmscSession`] with a
//! [`Centre`] behind it talk in memory; every chunk either side writes
//! becomes a TCP segment of a hand-built Ethernet/IPv4/TCP pcap, and the
//! fields tshark reads back are compared with what was sent.
//!
//! tshark is required (`apt-get install tshark`); without it the test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Instant;

use telsec_smpp::rusmpp::pdus::SubmitSm;
use telsec_smpp::rusmpp::types::OctetString;
use telsec_smpp::rusmpp::values::{DataCoding, EsmClass, Npi, RegisteredDelivery, Ton};
use telsec_smpp::{
    Account, Binding, Centre, CentreConfig, EsmeConfig, EsmeEvent, EsmeId, EsmeSession, Now,
    Output, SmscEvent, SmscSession, SmscSessionConfig,
};
use telsec_sms::udh::InformationElement;
use telsec_sms::{Address, Dcs, SmsSubmit, UserData, UserDataHeader};

const ESME: ([u8; 4], u16) = ([127, 0, 0, 29], 40_000);
const SMSC: ([u8; 4], u16) = ([127, 0, 0, 30], 2775);

/// A TCP connection written into a pcap, one segment per chunk.
struct Capture {
    out: Vec<u8>,
    seq: [u32; 2],
    t: u32,
}

fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while s > 0xFFFF {
        s = (s & 0xFFFF) + (s >> 16);
    }
    !(s as u16)
}

impl Capture {
    fn new() -> Self {
        let mut out = Vec::new();
        out.extend_from_slice(&0xA1B2_C3D4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&65_535u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
        let mut c = Capture {
            out,
            seq: [1000, 5000],
            t: 0,
        };
        // Three-way handshake.
        c.segment(0, 0x02, &[]);
        c.segment(1, 0x12, &[]);
        c.segment(0, 0x10, &[]);
        c
    }

    /// `dir` 0 is ESME to SMSC.
    fn segment(&mut self, dir: usize, flags: u8, data: &[u8]) {
        let (src, dst) = if dir == 0 { (ESME, SMSC) } else { (SMSC, ESME) };
        let syn = flags & 0x02 != 0;
        let ack = if flags & 0x10 != 0 {
            self.seq[1 - dir]
        } else {
            0
        };
        let mut tcp = Vec::new();
        tcp.extend_from_slice(&src.1.to_be_bytes());
        tcp.extend_from_slice(&dst.1.to_be_bytes());
        tcp.extend_from_slice(&self.seq[dir].to_be_bytes());
        tcp.extend_from_slice(&ack.to_be_bytes());
        tcp.extend_from_slice(&[0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]);
        tcp.extend_from_slice(data);
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&src.0);
        pseudo.extend_from_slice(&dst.0);
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        pseudo.extend_from_slice(&tcp);
        let sum = checksum(&pseudo);
        tcp[16..18].copy_from_slice(&sum.to_be_bytes());
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
        ip.extend_from_slice(&src.0);
        ip.extend_from_slice(&dst.0);
        let sum = checksum(&ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let mut frame = vec![2, 0, 0, 0, 0, if dir == 0 { 2 } else { 1 }];
        frame.extend_from_slice(&[2, 0, 0, 0, 0, if dir == 0 { 1 } else { 2 }]);
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend(ip);
        frame.extend(tcp);
        self.t += 1;
        self.out.extend_from_slice(&self.t.to_le_bytes());
        self.out.extend_from_slice(&0u32.to_le_bytes());
        self.out
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.out
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.out.extend(frame);
        self.seq[dir] = self.seq[dir].wrapping_add(data.len() as u32 + u32::from(syn));
    }
}

/// Moves octets both ways, recording them; returns the SMSC's events.
fn pump(
    now: Instant,
    cap: &mut Capture,
    e: &mut EsmeSession,
    s: &mut SmscSession,
) -> Vec<SmscEvent> {
    let mut ev = Vec::new();
    loop {
        let mut moved = false;
        while let Some(b) = e.poll_transmit() {
            cap.segment(0, 0x18, &b);
            s.handle_input(now, &b);
            moved = true;
        }
        while let Some(b) = s.poll_transmit() {
            cap.segment(1, 0x18, &b);
            e.handle_input(now, &b);
            moved = true;
        }
        ev.extend(std::iter::from_fn(|| s.poll_event()));
        if !moved {
            return ev;
        }
    }
}

fn submit(dest: &str, payload: &[u8]) -> SubmitSm {
    SubmitSm::builder()
        .source_addr_ton(Ton::Alphanumeric)
        .source_addr_npi(Npi::Unknown)
        .source_addr("telsecHA".parse().unwrap())
        .dest_addr_ton(Ton::International)
        .dest_addr_npi(Npi::Isdn)
        .destination_addr(dest.parse().unwrap())
        .esm_class(EsmClass::from(0x40))
        .registered_delivery(RegisteredDelivery::from(1))
        .data_coding(DataCoding::from(4))
        .short_message(OctetString::from_slice(payload).unwrap())
        .build()
}

#[test]
fn tshark_decodes_the_smpp_exchange() {
    let now = Instant::now();
    let clock = Now {
        instant: now,
        unix_secs: 1_772_368_496,
    };
    let mut cap = Capture::new();
    let mut centre = Centre::new(CentreConfig::default());
    centre.add_subscriber("491701234567").unwrap();
    let mut smsc = SmscSession::new(
        SmscSessionConfig {
            accounts: vec![Account {
                system_id: "homeagent".into(),
                password: "s3cret".into(),
            }],
            ..SmscSessionConfig::default()
        },
        now,
    );
    let mut esme = EsmeSession::new(
        EsmeConfig {
            system_id: "homeagent".into(),
            password: "s3cret".into(),
            ..EsmeConfig::default()
        },
        now,
    )
    .unwrap();
    for ev in pump(now, &mut cap, &mut esme, &mut smsc) {
        if let SmscEvent::Bound {
            system_id,
            interface_version,
            address_range,
            ..
        } = ev
        {
            centre.esme_bound(
                clock,
                EsmeId(1),
                Binding {
                    system_id,
                    receives: true,
                    address_range,
                    interface_version,
                },
            );
        }
    }
    let payload = [
        0x06, 0x05, 0x04, 0x23, 0xF0, 0x23, 0xF0, 0xDE, 0xAD, 0xBE, 0xEF,
    ];
    esme.submit(now, submit("491701234567", &payload)).unwrap();
    let mut events = pump(now, &mut cap, &mut esme, &mut smsc);
    esme.submit(now, submit("491700000000", &payload)).unwrap();
    events.extend(pump(now, &mut cap, &mut esme, &mut smsc));
    for ev in events {
        if let SmscEvent::Submit {
            sequence,
            submission,
        } = ev
        {
            let r = centre.submit(clock, EsmeId(1), &submission);
            smsc.answer_submit(sequence, r);
        }
    }
    pump(now, &mut cap, &mut esme, &mut smsc);
    // A mobile-originated message for the ESME.
    let mut ud = UserData::octets(b"KEYREQ".to_vec());
    ud.header = Some(UserDataHeader {
        elements: vec![InformationElement::Port16 {
            dst: 9200,
            src: 9201,
        }],
    });
    centre
        .submit_mo(
            clock,
            "491701234567",
            &SmsSubmit::new(
                Address::international("+4420000001").unwrap(),
                Dcs::DATA8,
                ud,
            ),
        )
        .unwrap();
    let Some(Output::ToEsme {
        delivery,
        deliver_sm,
        ..
    }) = centre.poll_output()
    else {
        panic!("expected a deliver_sm")
    };
    smsc.deliver(now, delivery, *deliver_sm).unwrap();
    pump(now, &mut cap, &mut esme, &mut smsc);
    let got: Vec<EsmeEvent> = std::iter::from_fn(|| esme.poll_event()).collect();
    for e in got {
        if let EsmeEvent::Deliver { sequence, .. } = e {
            esme.answer_deliver(sequence, telsec_smpp::rusmpp::CommandStatus::EsmeRok);
        }
    }
    pump(now, &mut cap, &mut esme, &mut smsc);
    esme.handle_timeout(now + std::time::Duration::from_secs(30)); // idle: enquire_link
    pump(now, &mut cap, &mut esme, &mut smsc);
    esme.unbind(now);
    pump(now, &mut cap, &mut esme, &mut smsc);
    assert!(esme.is_closed() && smsc.is_closed());

    let path = std::env::temp_dir().join(format!("telsec-smpp-{}.pcap", std::process::id()));
    std::fs::write(&path, &cap.out).unwrap();
    let fields = [
        "smpp.command_id",
        "smpp.command_status",
        "smpp.sequence_number",
        "smpp.system_id",
        "smpp.source_addr",
        "smpp.destination_addr",
        "smpp.message_id",
        "smpp.esm.submit.features",
        "smpp.data_coding",
        "smpp.sm_length",
        "gsm_sms.destination_port",
        "gsm_sms.originator_port",
    ];
    let mut cmd = Command::new("tshark");
    cmd.args([
        "-r",
        path.to_str().unwrap(),
        "-d",
        "tcp.port==2775,smpp",
        "-Y",
        "smpp",
        "-T",
        "fields",
        "-E",
        "separator=|",
    ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd
        .output()
        .expect("tshark is required (apt-get install tshark)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    // Requests carry no command_status in tshark's output; responses do.
    let expected: Vec<String> = [
        [
            "0x00000009",
            "",
            "1",
            "homeagent",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        [
            "0x80000009",
            "0x00000000",
            "1",
            "telsec",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        // UDHI with 16-bit ports 9200/9200, decoded from short_message.
        [
            "0x00000004",
            "",
            "2",
            "",
            "telsecHA",
            "491701234567",
            "",
            "0x01",
            "0x04",
            "11",
            "9200",
            "9200",
        ],
        [
            "0x00000004",
            "",
            "3",
            "",
            "telsecHA",
            "491700000000",
            "",
            "0x01",
            "0x04",
            "11",
            "9200",
            "9200",
        ],
        [
            "0x80000004",
            "0x00000000",
            "2",
            "",
            "",
            "",
            "0000000001",
            "",
            "",
            "",
            "",
            "",
        ],
        // ESME_RINVDSTADR, without a body.
        [
            "0x80000004",
            "0x0000000b",
            "3",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        // The modem's SMS-SUBMIT as deliver_sm: its UDH carried across.
        [
            "0x00000005",
            "",
            "1",
            "",
            "491701234567",
            "4420000001",
            "",
            "0x01",
            "0x04",
            "13",
            "9200",
            "9201",
        ],
        [
            "0x80000005",
            "0x00000000",
            "1",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        ["0x00000015", "", "4", "", "", "", "", "", "", "", "", ""],
        [
            "0x80000015",
            "0x00000000",
            "4",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        ["0x00000006", "", "5", "", "", "", "", "", "", "", "", ""],
        [
            "0x80000006",
            "0x00000000",
            "5",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
    ]
    .iter()
    .map(|r| r.join("|"))
    .collect();
    assert_eq!(rows, expected, "tshark said:\n{text}");
}

/// A pcapng of bare TPDUs on user link type 147, each marked outbound (SC
/// to MS), which tells Wireshark's `gsm_sms` an SMS-DELIVER from a
/// DELIVER-REPORT.
fn tpdu_pcapng(tpdus: &[Vec<u8>]) -> Vec<u8> {
    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let padded = body.len().next_multiple_of(4);
        let len = (12 + padded) as u32;
        let mut b = kind.to_le_bytes().to_vec();
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(body);
        b.resize(8 + padded, 0);
        b.extend_from_slice(&len.to_le_bytes());
        b
    }
    let mut shb = 0x1A2B_3C4Du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    let mut out = block(0x0A0D_0D0A, &shb);
    let mut idb = 147u16.to_le_bytes().to_vec();
    idb.extend_from_slice(&[0, 0]);
    idb.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend(block(1, &idb));
    for t in tpdus {
        let mut epb = Vec::new();
        for v in [0u32, 0, 0, t.len() as u32, t.len() as u32] {
            epb.extend_from_slice(&v.to_le_bytes());
        }
        epb.extend_from_slice(t);
        epb.resize(20 + t.len().next_multiple_of(4), 0);
        // epb_flags: outbound.
        epb.extend_from_slice(&[2, 0, 4, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
        out.extend(block(6, &epb));
    }
    out
}

#[test]
fn tshark_decodes_the_sms_deliver_for_the_modem() {
    let now = Instant::now();
    let clock = Now {
        instant: now,
        unix_secs: 1_772_368_496,
    };
    let mut centre = Centre::new(CentreConfig::default());
    centre.add_subscriber("491701234567").unwrap();
    centre.modem_ready(clock, "491701234567", true);
    let payload = [
        0x06, 0x05, 0x04, 0x23, 0xF0, 0x23, 0xF0, 0xDE, 0xAD, 0xBE, 0xEF,
    ];
    let sub = telsec_smpp::submission::check(&submit("491701234567", &payload)).unwrap();
    centre.submit(clock, EsmeId(1), &sub).unwrap();
    let Some(Output::ToModem { tpdu, .. }) = centre.poll_output() else {
        panic!("expected a delivery")
    };
    let path = std::env::temp_dir().join(format!("telsec-smpp-tpdu-{}.pcapng", std::process::id()));
    std::fs::write(&path, tpdu_pcapng(&[tpdu])).unwrap();
    let out = Command::new("tshark")
        .args([
            "-r",
            path.to_str().unwrap(),
            "-o",
            r#"uat:user_dlts:"User 0 (DLT=147)","gsm_sms","0","","0","""#,
        ])
        .args(["-T", "fields", "-E", "separator=|"])
        .args([
            "-e",
            "gsm_sms.tp-mti",
            "-e",
            "gsm_sms.tp-oa",
            "-e",
            "gsm_sms.tp-udhi",
            "-e",
            "gsm_sms.tp-sri",
        ])
        .args([
            "-e",
            "gsm_sms.tp-dcs",
            "-e",
            "gsm_sms.destination_port",
            "-e",
            "gsm_sms.scts.year",
        ])
        .output()
        .expect("tshark is required (apt-get install tshark)");
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.trim_end(),
        "0|telsecHA|1|1|4|9200|26",
        "tshark said:\n{text}"
    );
}
