//! Interop: python smpplib 2.2.4 (an independent SMPP 3.4 implementation)
//! binds to telsec's SMS centre (the real tokio driver on 127.0.0.29), is
//! refused with a wrong password (`ESME_RINVPASWD`) and for an unknown
//! MSISDN (`ESME_RINVDSTADR`), submits a port-addressed binary message that
//! a terminal on the subscriber's virtual modem reads through
//! `telsec_sms::ModemSession` byte for byte, and then receives that
//! terminal's SMS-SUBMIT as deliver_sm, plus the delivery receipt.
//!
//! Needs `python3` with `pip install smpplib==2.2.4`; without it the test
//! fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use telsec_node::smsc_service::{self, AccountSettings, ModemSettings, SmscSettings};
use telsec_sms::udh::InformationElement;
use telsec_sms::{
    Address, Dcs, ModemConfig, ModemEvent, ModemSession, SmsSubmit, UserData, UserDataHeader,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

const MSISDN: &str = "491701234567";

/// A terminal on a virtual modem: `ModemSession` over TCP.
async fn terminal(
    addr: SocketAddr,
    mut sends: mpsc::UnboundedReceiver<SmsSubmit>,
    events: mpsc::UnboundedSender<ModemEvent>,
) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut modem = ModemSession::new(ModemConfig::default(), Instant::now());
    let mut buf = [0u8; 2048];
    loop {
        while let Some(b) = modem.poll_transmit() {
            stream.write_all(&b).await.unwrap();
        }
        while let Some(e) = modem.poll_event() {
            if events.send(e).is_err() {
                return;
            }
        }
        let wait = modem.poll_timeout().map_or(Duration::from_secs(3600), |t| {
            t.saturating_duration_since(Instant::now())
        });
        tokio::select! {
            n = stream.read(&mut buf) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => modem.handle_input(Instant::now(), &buf[..n]),
            },
            Some(s) = sends.recv() => { modem.send(Instant::now(), &s).unwrap(); }
            _ = tokio::time::sleep(wait) => modem.handle_timeout(Instant::now()),
        }
    }
}

fn next_event(
    rt: &tokio::runtime::Runtime,
    rx: &mut mpsc::UnboundedReceiver<ModemEvent>,
) -> ModemEvent {
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(15), rx.recv()).await })
        .expect("modem event timed out")
        .expect("terminal ended")
}

#[test]
fn smpplib_binds_submits_and_receives() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let settings = SmscSettings {
        listen: "127.0.0.29:0".parse().unwrap(),
        address: "+4420000099".into(),
        accounts: vec![AccountSettings {
            system_id: "homeagent".into(),
            password: "s3cret".into(),
        }],
        modems: vec![ModemSettings {
            msisdn: format!("+{MSISDN}"),
            tcp: Some("127.0.0.29:0".parse().unwrap()),
            pty: None,
        }],
        retry_interval_secs: 1,
        ..SmscSettings::default()
    };
    let smsc = rt.block_on(smsc_service::start(settings)).unwrap();
    let (send_tx, send_rx) = mpsc::unbounded_channel();
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    rt.spawn(terminal(smsc.modem_addr(MSISDN).unwrap(), send_rx, ev_tx));
    assert_eq!(next_event(&rt, &mut ev_rx), ModemEvent::Ready);

    // UDH with 16-bit application ports 9200/9200, then 8-bit key material.
    let key: Vec<u8> = (0u8..48).map(|i| i.wrapping_mul(37) ^ 0xA5).collect();
    let mut payload = vec![0x06, 0x05, 0x04, 0x23, 0xF0, 0x23, 0xF0];
    payload.extend_from_slice(&key);
    let hex: String = payload.iter().map(|b| format!("{b:02x}")).collect();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smpplib_interop.py");
    let addr = smsc.local_addr();
    let mut child = Command::new("python3")
        .args([
            script,
            &addr.ip().to_string(),
            &addr.port().to_string(),
            MSISDN,
            &hex,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 is required (with `pip install smpplib==2.2.4`)");
    let (line_tx, lines) = std_mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line_tx.send(line).is_err() {
                return;
            }
        }
    });
    let next_line = || {
        let l = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("smpplib script stalled");
        assert!(!l.starts_with("NO_SMPPLIB"), "{l}");
        l
    };

    assert_eq!(next_line(), "BADPASS 14", "ESME_RINVPASWD");
    assert_eq!(next_line(), "UNKNOWN_DEST 11", "ESME_RINVDSTADR");
    let submitted = next_line();
    let message_id = submitted
        .strip_prefix("SUBMITTED ")
        .expect(&submitted)
        .to_owned();
    assert_eq!(message_id.len(), 10);

    // The terminal gets the SMS-DELIVER with exactly what smpplib sent.
    let ModemEvent::Received { smsc: sc, deliver } = next_event(&rt, &mut ev_rx) else {
        panic!("expected +CMT");
    };
    assert_eq!(sc.unwrap().digits, "4420000099");
    assert_eq!(
        deliver.originator,
        Address::alphanumeric("telsecHA").unwrap()
    );
    assert_eq!(deliver.dcs, Dcs::DATA8);
    assert!(deliver.status_report_indication);
    let header = deliver.user_data.header.as_ref().unwrap();
    assert_eq!(header.ports(), Some((9200, 9200)));
    assert_eq!(deliver.user_data.data, key);

    // The terminal answers: an SMS-SUBMIT to the home agent's number.
    let mut ud = UserData::octets(b"KEYREQ".to_vec());
    ud.header = Some(UserDataHeader {
        elements: vec![InformationElement::Port16 {
            dst: 9200,
            src: 9201,
        }],
    });
    let submit = SmsSubmit::new(
        Address::international("+4420000001").unwrap(),
        Dcs::DATA8,
        ud,
    );
    send_tx.send(submit).unwrap();
    assert!(matches!(
        next_event(&rt, &mut ev_rx),
        ModemEvent::Sent { mr: 0, .. }
    ));

    let mut mo = None;
    let mut receipt = None;
    while mo.is_none() || receipt.is_none() {
        let l = next_line();
        let f: Vec<&str> = l.split(' ').collect();
        assert_eq!(f[0], "DELIVER", "{l}");
        if f[1] == "0" || f[1] == "64" {
            mo = Some(l.clone());
        } else {
            receipt = Some(l.clone());
        }
    }
    // MO: UDHI set, from the MSISDN to TP-DA, 8-bit, header then data.
    let mut expect = String::from("06050423f023f1");
    expect.extend(b"KEYREQ".iter().map(|b| format!("{b:02x}")));
    assert_eq!(
        mo.unwrap(),
        format!("DELIVER 64 {MSISDN} 4420000001 4 {expect}")
    );
    // Receipt: esm_class 4, from the MSISDN back to telsecHA, Appendix B text.
    let r = receipt.unwrap();
    let f: Vec<&str> = r.split(' ').collect();
    assert_eq!(&f[1..4], &["4", MSISDN, "telsecHA"], "{r}");
    let text = String::from_utf8(
        (0..f[5].len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&f[5][i..i + 2], 16).unwrap())
            .collect(),
    )
    .unwrap();
    assert!(
        text.starts_with(&format!("id:{message_id} sub:001 dlvrd:001 ")),
        "{text}"
    );
    assert!(text.contains("stat:DELIVRD err:000"), "{text}");
    assert_eq!(next_line(), "DONE");
    assert!(child.wait().unwrap().success());
    rt.block_on(smsc.shutdown());
}
