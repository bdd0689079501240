//! Arbitrary octets into both SMPP session state machines (SMSC side with
//! the SMS centre behind it, ESME side), unbound and after a successful
//! bind: nothing panics and every buffered PDU stays within the limit.

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use telsec_smpp::rusmpp::pdus::{BindTransceiver, BindTransceiverResp};
use telsec_smpp::rusmpp::values::{InterfaceVersion, Npi, Ton};
use telsec_smpp::rusmpp::{CommandStatus, Pdu};
use telsec_smpp::{
    Account, Binding, Centre, CentreConfig, EsmeConfig, EsmeEvent, EsmeId, EsmeSession, Now,
    Output, SmscEvent, SmscSession, SmscSessionConfig, pdu,
};

fn bind() -> Vec<u8> {
    let b = BindTransceiver::new(
        "fuzz".parse().unwrap(),
        "pw".parse().unwrap(),
        "".parse().unwrap(),
        InterfaceVersion::Smpp3_4,
        Ton::Unknown,
        Npi::Unknown,
        "".parse().unwrap(),
    );
    pdu::encode(&pdu::command(
        CommandStatus::EsmeRok,
        1,
        Pdu::BindTransceiver(b),
    ))
}

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let clock = Now {
        instant: now,
        unix_secs: 1_772_368_496,
    };
    let (mode, body) = data.split_first().map_or((0, data), |(m, b)| (*m, b));

    // SMSC side, optionally bound first, with the centre answering.
    let mut centre = Centre::new(CentreConfig::default());
    centre.add_subscriber("491701234567").unwrap();
    centre.modem_ready(clock, "491701234567", true);
    let mut smsc = SmscSession::new(
        SmscSessionConfig {
            accounts: vec![Account {
                system_id: "fuzz".into(),
                password: "pw".into(),
            }],
            ..SmscSessionConfig::default()
        },
        now,
    );
    if mode & 1 == 1 {
        smsc.handle_input(now, &bind());
    }
    for (i, piece) in body.chunks(usize::from(mode >> 4) + 1).enumerate() {
        let t = now + Duration::from_millis(i as u64 * 250);
        smsc.handle_input(t, piece);
        while let Some(ev) = smsc.poll_event() {
            match ev {
                SmscEvent::Bound {
                    system_id,
                    interface_version,
                    address_range,
                    ..
                } => centre.esme_bound(
                    clock,
                    EsmeId(1),
                    Binding {
                        system_id,
                        receives: true,
                        address_range,
                        interface_version,
                    },
                ),
                SmscEvent::Submit {
                    sequence,
                    submission,
                } => {
                    let r = centre.submit(clock, EsmeId(1), &submission);
                    smsc.answer_submit(sequence, r);
                }
                _ => {}
            }
        }
        while let Some(out) = centre.poll_output() {
            if let Output::ToEsme {
                delivery,
                deliver_sm,
                ..
            } = out
            {
                let _ = smsc.deliver(t, delivery, *deliver_sm);
            }
        }
        while let Some(b) = smsc.poll_transmit() {
            assert!(b.len() >= pdu::HEADER_LEN);
        }
        smsc.handle_timeout(t);
        centre.handle_timeout(clock);
    }

    // ESME side, bound by a valid response when asked.
    let mut esme = EsmeSession::new(
        EsmeConfig {
            system_id: "fuzz".into(),
            password: "pw".into(),
            ..EsmeConfig::default()
        },
        now,
    )
    .unwrap();
    if mode & 2 == 2 {
        let r = BindTransceiverResp::new("smsc".parse().unwrap(), Some(InterfaceVersion::Smpp3_4));
        esme.handle_input(
            now,
            &pdu::encode(&pdu::command(
                CommandStatus::EsmeRok,
                1,
                Pdu::BindTransceiverResp(r),
            )),
        );
    }
    for (i, piece) in body.chunks(usize::from(mode >> 4) + 1).enumerate() {
        let t = now + Duration::from_millis(i as u64 * 250);
        esme.handle_input(t, piece);
        while let Some(ev) = esme.poll_event() {
            if let EsmeEvent::Deliver { sequence, .. } = ev {
                esme.answer_deliver(sequence, CommandStatus::EsmeRok);
            }
        }
        while esme.poll_transmit().is_some() {}
        esme.handle_timeout(t);
    }
});
