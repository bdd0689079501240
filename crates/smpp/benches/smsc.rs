//! submit_sm to SMS-DELIVER through the sans-IO SMS centre: the octets of a
//! submit_sm into an [`SmscSession`], its check, [`Centre::submit`] (queue,
//! message id, TPDU), the TPDU out, the delivery acknowledged, and the
//! submit_sm_resp written; per message, on one core. Alongside, the same
//! without the session (check and conversion only) and the rusmpp decode
//! alone, to show where the time goes.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use telsec_smpp::rusmpp::pdus::{BindTransceiver, SubmitSm};
use telsec_smpp::rusmpp::types::OctetString;
use telsec_smpp::rusmpp::values::{DataCoding, EsmClass, InterfaceVersion, Npi, Ton};
use telsec_smpp::rusmpp::{CommandStatus, Pdu};
use telsec_smpp::{
    Account, Centre, CentreConfig, EsmeId, Now, Outcome, Output, SmscEvent, SmscSession,
    SmscSessionConfig, pdu, submission,
};

const MSISDN: &str = "491701234567";

fn submit_sm() -> SubmitSm {
    // A key message: 16-bit ports, 100 octets of 8-bit data.
    let mut msg = vec![0x06, 0x05, 0x04, 0x23, 0xF0, 0x23, 0xF0];
    msg.extend((0..100u8).map(|i| i.wrapping_mul(29)));
    SubmitSm::builder()
        .source_addr_ton(Ton::Alphanumeric)
        .source_addr_npi(Npi::Unknown)
        .source_addr("telsecHA".parse().expect("address"))
        .dest_addr_ton(Ton::International)
        .dest_addr_npi(Npi::Isdn)
        .destination_addr(MSISDN.parse().expect("address"))
        .esm_class(EsmClass::from(0x40))
        .data_coding(DataCoding::from(4))
        .short_message(OctetString::from_vec(msg).expect("message"))
        .build()
}

fn centre(now: Now) -> Centre {
    let mut c = Centre::new(CentreConfig::default());
    c.add_subscriber(MSISDN).expect("msisdn");
    c.modem_ready(now, MSISDN, true);
    c
}

/// Takes the delivery out and acknowledges it, keeping the queue empty.
fn drain(c: &mut Centre, now: Now) -> usize {
    let mut n = 0;
    while let Some(out) = c.poll_output() {
        if let Output::ToModem { delivery, tpdu, .. } = out {
            n += tpdu.len();
            c.delivery_outcome(now, delivery, Outcome::Delivered);
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let now = Now {
        instant: Instant::now(),
        unix_secs: 1_772_368_496,
    };
    let sm = submit_sm();
    let mut group = c.benchmark_group("smsc");
    group.throughput(Throughput::Elements(1));

    group.bench_function("submit_sm_octets_to_sms_deliver", |b| {
        let mut session = SmscSession::new(
            SmscSessionConfig {
                accounts: vec![Account {
                    system_id: "ha".into(),
                    password: "pw".into(),
                }],
                ..SmscSessionConfig::default()
            },
            now.instant,
        );
        let bind = BindTransceiver::new(
            "ha".parse().expect("id"),
            "pw".parse().expect("pw"),
            "".parse().expect("type"),
            InterfaceVersion::Smpp3_4,
            Ton::Unknown,
            Npi::Unknown,
            "".parse().expect("range"),
        );
        session.handle_input(
            now.instant,
            &pdu::encode(&pdu::command(
                CommandStatus::EsmeRok,
                1,
                Pdu::BindTransceiver(bind),
            )),
        );
        while session.poll_transmit().is_some() {}
        while session.poll_event().is_some() {}
        let wire = pdu::encode(&pdu::command(
            CommandStatus::EsmeRok,
            2,
            Pdu::SubmitSm(sm.clone()),
        ));
        let mut core = centre(now);
        b.iter(|| {
            session.handle_input(now.instant, black_box(&wire));
            let mut n = 0;
            while let Some(ev) = session.poll_event() {
                if let SmscEvent::Submit {
                    sequence,
                    submission,
                } = ev
                {
                    let r = core.submit(now, EsmeId(1), &submission);
                    session.answer_submit(sequence, r);
                    n += drain(&mut core, now);
                }
            }
            while let Some(resp) = session.poll_transmit() {
                n += resp.len();
            }
            n
        })
    });

    group.bench_function("checked_submit_sm_to_sms_deliver", |b| {
        let mut core = centre(now);
        b.iter(|| {
            let s = submission::check(black_box(&sm)).expect("valid");
            core.submit(now, EsmeId(1), &s).expect("accepted");
            drain(&mut core, now)
        })
    });

    group.bench_function("rusmpp_decode_submit_sm", |b| {
        let wire = pdu::encode(&pdu::command(
            CommandStatus::EsmeRok,
            2,
            Pdu::SubmitSm(sm.clone()),
        ));
        let mut reader = pdu::PduReader::new(pdu::DEFAULT_MAX_PDU);
        b.iter(|| {
            reader.push(black_box(&wire));
            reader.next_pdu()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
