//! The SMS centre's pty endpoint and telsec's own async SMPP client: a
//! terminal opens the linked pty path like a serial modem and runs
//! `telsec_sms::ModemSession` on it; the home agent's side is
//! [`SmppClient`], which submits the key message and receives the
//! terminal's answer as deliver_sm.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use telsec_node::smpp_client::{ClientError, SmppClient};
use telsec_node::smsc_service::{self, AccountSettings, ModemSettings, SmscSettings};
use telsec_smpp::EsmeConfig;
use telsec_smpp::rusmpp::CommandStatus;
use telsec_smpp::rusmpp::pdus::SubmitSm;
use telsec_smpp::rusmpp::types::OctetString;
use telsec_smpp::rusmpp::values::{DataCoding, EsmClass, Npi, RegisteredDelivery, Ton};
use telsec_sms::{Address, Dcs, ModemConfig, ModemEvent, ModemSession, SmsSubmit, UserData};

const MSISDN: &str = "491701234568";

/// A blocking terminal on the pty: returns the events it saw, in order,
/// through `events`; sends `reply` after the first message it receives.
fn terminal(path: std::path::PathBuf, reply: SmsSubmit, events: std_mpsc::Sender<ModemEvent>) {
    let mut dev = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let mut reader = dev.try_clone().unwrap();
    let (bytes_tx, bytes) = std_mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || bytes_tx.send(buf[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    let mut modem = ModemSession::new(ModemConfig::default(), Instant::now());
    let mut replied = false;
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end {
        while let Some(b) = modem.poll_transmit() {
            dev.write_all(&b).unwrap();
        }
        while let Some(e) = modem.poll_event() {
            if matches!(e, ModemEvent::Received { .. }) && !replied {
                replied = true;
                modem.send(Instant::now(), &reply).unwrap();
            }
            let sent = matches!(e, ModemEvent::Sent { .. });
            if events.send(e).is_err() || sent {
                // Keep the device open a moment so the last answer flushes.
                std::thread::sleep(Duration::from_millis(200));
                return;
            }
        }
        match bytes.recv_timeout(Duration::from_millis(100)) {
            Ok(b) => modem.handle_input(Instant::now(), &b),
            Err(std_mpsc::RecvTimeoutError::Timeout) => modem.handle_timeout(Instant::now()),
            Err(_) => return,
        }
    }
}

fn esme(password: &str) -> EsmeConfig {
    EsmeConfig {
        system_id: "homeagent".into(),
        password: password.into(),
        ..EsmeConfig::default()
    }
}

#[test]
fn pty_modem_and_async_client() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("telsec-smsc-pty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("modem0");
    let settings = SmscSettings {
        listen: "127.0.0.29:0".parse().unwrap(),
        accounts: vec![AccountSettings {
            system_id: "homeagent".into(),
            password: "pw".into(),
        }],
        modems: vec![ModemSettings {
            msisdn: MSISDN.into(),
            tcp: None,
            pty: Some(link.clone()),
        }],
        retry_interval_secs: 1,
        ..SmscSettings::default()
    };
    let smsc = rt.block_on(smsc_service::start(settings)).unwrap();
    assert_eq!(smsc.modem_pty(MSISDN), Some(link.as_path()));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let addr = smsc.local_addr();

    let bad = rt.block_on(SmppClient::connect(addr, esme("nope")));
    assert!(
        matches!(
            bad,
            Err(ClientError::BindRefused(CommandStatus::EsmeRinvpaswd))
        ),
        "{bad:?}"
    );

    let (client, mut deliveries) = rt.block_on(SmppClient::connect(addr, esme("pw"))).unwrap();
    let reply = SmsSubmit::new(
        Address::international("+4420000001").unwrap(),
        Dcs::GSM7,
        UserData::gsm7("ok").unwrap(),
    );
    let (ev_tx, events) = std_mpsc::channel();
    let term = std::thread::spawn(move || terminal(link, reply, ev_tx));
    assert_eq!(
        events.recv_timeout(Duration::from_secs(10)).unwrap(),
        ModemEvent::Ready
    );

    let sm = SubmitSm::builder()
        .source_addr_ton(Ton::International)
        .source_addr_npi(Npi::Isdn)
        .source_addr("4420000001".parse().unwrap())
        .dest_addr_ton(Ton::International)
        .dest_addr_npi(Npi::Isdn)
        .destination_addr(MSISDN.parse().unwrap())
        .esm_class(EsmClass::from(0))
        .registered_delivery(RegisteredDelivery::from(0))
        .data_coding(DataCoding::from(1))
        .short_message(OctetString::from_slice(b"MN-HA key follows").unwrap())
        .build();
    let id = rt.block_on(client.submit(sm.clone())).unwrap();
    assert_eq!(id.len(), 10);
    let mut unknown = sm;
    unknown.destination_addr = "491700000000".parse().unwrap();
    let refused = rt.block_on(client.submit(unknown));
    assert!(
        matches!(
            refused,
            Err(ClientError::Refused(CommandStatus::EsmeRinvdstadr))
        ),
        "{refused:?}"
    );

    let ModemEvent::Received { deliver, .. } =
        events.recv_timeout(Duration::from_secs(10)).unwrap()
    else {
        panic!("expected a message on the pty");
    };
    assert_eq!(
        deliver.user_data.text(deliver.dcs).as_deref(),
        Some("MN-HA key follows")
    );
    assert!(matches!(
        events.recv_timeout(Duration::from_secs(10)).unwrap(),
        ModemEvent::Sent { .. }
    ));

    let mo = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), deliveries.recv()).await })
        .unwrap()
        .unwrap();
    assert_eq!(mo.source_addr.as_str(), MSISDN);
    assert_eq!(mo.destination_addr.as_str(), "4420000001");
    assert_eq!(mo.short_message().as_ref(), &[0x6F, 0x6B]);
    term.join().unwrap();
    rt.block_on(client.unbind());
    rt.block_on(smsc.shutdown());
    let _ = std::fs::remove_dir_all(&dir);
}
