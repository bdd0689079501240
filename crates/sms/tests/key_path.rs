//! The key delivery path end to end, without I/O: a binary key is split
//! into port-addressed segments, each arrives at a simulated modem as an
//! SMS-DELIVER in a `+CMT` (out of order), the [`ModemSession`] decodes
//! and acknowledges them, and the [`Reassembler`] joins the payload.

use std::time::{Duration, Instant};

use telsec_sms::at::{self, AtCommand};
use telsec_sms::{
    Address, Dcs, ModemConfig, ModemEvent, ModemSession, Reassembled, Reassembler,
    ReassemblerConfig, SmsDeliver, SmscAddress, Timestamp, split_binary,
};

fn modem_cmt(smsc: &SmscAddress, tpdu: &[u8]) -> Vec<u8> {
    let mut octets = Vec::new();
    SmscAddress::emit_prefix(Some(smsc), &mut octets).expect("smsc");
    octets.extend_from_slice(tpdu);
    format!(
        "\r\n+CMT: ,{}\r\n{}\r\n",
        tpdu.len(),
        hex::encode_upper(&octets)
    )
    .into_bytes()
}

#[test]
fn key_over_sms_reassembles() {
    let t0 = Instant::now();
    let key: Vec<u8> = (0..300u16).map(|i| (i * 31 + 7) as u8).collect();
    let parts = split_binary(&key, 9200, 9201, 0x1234).expect("split");
    assert_eq!(parts.len(), 3);
    let smsc = SmscAddress::international("+27381000015").expect("smsc");

    let mut modem = ModemSession::new(ModemConfig::default(), t0);
    // Answer the set-up commands.
    let mut setup = Vec::new();
    while !modem.is_idle() {
        while let Some(tx) = modem.poll_transmit() {
            setup.extend(tx);
        }
        modem.handle_input(t0, b"\r\nOK\r\n");
    }
    assert_eq!(
        setup,
        [
            AtCommand::EchoOff,
            AtCommand::PduMode,
            AtCommand::SelectService(1),
            AtCommand::ROUTE_DELIVERS
        ]
        .iter()
        .flat_map(AtCommand::to_bytes)
        .collect::<Vec<_>>()
    );
    assert_eq!(modem.poll_event(), Some(ModemEvent::Ready));

    let mut reassembler = Reassembler::new(ReassemblerConfig::default());
    let mut done = None;
    for (n, i) in [2usize, 0, 1].into_iter().enumerate() {
        let deliver = SmsDeliver {
            more_messages: i != 1,
            loop_prevention: false,
            status_report_indication: false,
            reply_path: false,
            originator: Address::international("+4930123456").expect("address"),
            pid: 0,
            dcs: Dcs::DATA8,
            scts: Timestamp {
                year: 26,
                month: 11,
                day: 23,
                hour: 12,
                minute: 0,
                second: n as u8,
                tz_quarters: 4,
            },
            user_data: parts[i].clone(),
        };
        let now = t0 + Duration::from_secs(n as u64);
        let bytes = modem_cmt(&smsc, &deliver.to_vec().expect("encode"));
        for chunk in bytes.chunks(9) {
            modem.handle_input(now, chunk);
        }
        let Some(ModemEvent::Received {
            smsc: got_smsc,
            deliver: got,
        }) = modem.poll_event()
        else {
            panic!("no Received event");
        };
        assert_eq!(got_smsc.as_ref(), Some(&smsc));
        assert_eq!(got, deliver);
        // Every +CMT is acknowledged before anything else is sent.
        assert_eq!(modem.poll_transmit(), Some(AtCommand::Ack.to_bytes()));
        modem.handle_input(now, b"\r\nOK\r\n");
        match reassembler.push(now, got.originator.as_str(), &got.user_data) {
            Reassembled::Pending => assert!(n < 2),
            Reassembled::Complete { data, ports } => {
                assert_eq!(n, 2);
                assert_eq!(ports, Some((9200, 9201)));
                done = Some(data);
            }
            Reassembled::Rejected => panic!("part rejected"),
        }
    }
    assert_eq!(done, Some(key));
    assert!(modem.is_idle());
    assert_eq!(reassembler.pending(), 0);
    assert_eq!(modem.poll_event(), None);
    // Sanity: the PDU text the modem would send for the same TPDU is upper-case hex + Ctrl-Z.
    let body = at::pdu_body(Some(&smsc), &[0x00]).expect("body");
    assert_eq!(body.last(), Some(&at::CTRL_Z));
}
