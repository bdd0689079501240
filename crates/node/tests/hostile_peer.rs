//! Bad input on the HLR's GSUP port: a peer that breaks the IPA identity
//! exchange is disconnected, a malformed GSUP request gets a GSUP error with
//! a cause, and through all of it the HLR keeps serving well-behaved clients.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use telsec_gsup::session::{ClientConfig, ClientConn, ClientEvent};
use telsec_gsup::{Cause, Imsi, MessageType, UnitIdentity};
use telsec_hlr::{
    Algorithm3g, Auc, AucConfig, Auth3g, HlrConfig, HlrCore, Imsi as HlrImsi, Kek, NewSubscriber,
    OperatorKey, SecretBytes, Store,
};
use telsec_node::gsup_client::GsupClient;
use telsec_node::hlr_service::{self, RunningHlr};

const IMSI: &str = "001010000000001";

fn start_hlr(runtime: &tokio::runtime::Runtime) -> RunningHlr {
    let mut store = Store::open_in_memory(Kek::generate().unwrap()).unwrap();
    let mut sub = NewSubscriber::new(HlrImsi::new(IMSI).unwrap());
    sub.auth_3g = Some(Auth3g::new(
        Algorithm3g::milenage(
            SecretBytes::from_hex("465b5ce8b199b49faa5f0a2ee238a6bc", "K").unwrap(),
            OperatorKey::Opc(
                SecretBytes::from_hex("cd63cb71954a9f4e48a5994e37a02baf", "OPc").unwrap(),
            ),
        )
        .unwrap(),
    ));
    store.add_subscriber(&sub).unwrap();
    let auc = Auc::new(store, AucConfig::default()).unwrap();
    let core = HlrCore::new(
        auc,
        HlrConfig::default(),
        rand::make_rng::<rand::rngs::StdRng>(),
    );
    runtime
        .block_on(hlr_service::start("127.0.0.1:0".parse().unwrap(), core))
        .unwrap()
}

/// A well-behaved client still gets vectors.
fn still_serves(runtime: &tokio::runtime::Runtime, addr: SocketAddr) {
    runtime.block_on(async {
        let mut client = GsupClient::connect(
            addr,
            UnitIdentity::new("MSC", "MSC-GOOD"),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        let tuples = client
            .send_auth_info(&Imsi::new(IMSI).unwrap(), 2, None)
            .await
            .unwrap();
        assert_eq!(tuples.len(), 2);
    });
}

/// Reads until the peer closes; panics if it is still open after 5 s.
fn expect_closed(stream: &mut TcpStream) {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
            Err(_) => assert!(Instant::now() < deadline, "HLR kept a broken peer"),
        }
    }
}

#[test]
fn broken_identity_exchange_is_disconnected() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let hlr = start_hlr(&runtime);
    // An ID_RESP whose item claims more bytes than follow.
    let mut peer = TcpStream::connect(hlr.local_addr()).unwrap();
    peer.write_all(&[0x00, 0x03, 0xfe, 0x05, 0x00, 0x09])
        .unwrap();
    expect_closed(&mut peer);
    // An ID_RESP without the unit id and serial osmo-hlr requires.
    let mut peer = TcpStream::connect(hlr.local_addr()).unwrap();
    peer.write_all(&[0x00, 0x01, 0xfe, 0x05]).unwrap();
    expect_closed(&mut peer);
    still_serves(&runtime, hlr.local_addr());
    runtime.block_on(hlr.shutdown());
}

#[test]
fn malformed_gsup_gets_an_error_with_cause() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let hlr = start_hlr(&runtime);
    let mut stream = TcpStream::connect(hlr.local_addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut session = ClientConn::new(
        ClientConfig::new(UnitIdentity::new("MSC", "MSC-BAD")),
        Instant::now(),
    );
    let mut buf = [0u8; 4096];
    let mut pump = |session: &mut ClientConn, stream: &mut TcpStream| {
        while let Some(frame) = session.poll_transmit() {
            stream.write_all(&frame).unwrap();
        }
        if let Ok(n) = stream.read(&mut buf) {
            assert!(n > 0, "HLR closed the connection");
            session.handle_bytes(&buf[..n]);
        }
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !session.is_ready() {
        assert!(
            Instant::now() < deadline,
            "identity exchange did not finish"
        );
        pump(&mut session, &mut stream);
    }
    // SendAuthInfo Request: IMSI, then an IE whose length runs past the end.
    let gsup = [
        0x08, 0x01, 0x08, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0xf1, 0x0a, 0x05, 0x01,
    ];
    // Our ID_RESP must be out before the GSUP frame, or it is dropped as
    // coming from an unidentified peer.
    while let Some(frame) = session.poll_transmit() {
        stream.write_all(&frame).unwrap();
    }
    // IPA length counts the OSMO extension byte (0x05) and the GSUP payload.
    let mut frame = vec![0x00, (1 + gsup.len()) as u8, 0xee, 0x05];
    frame.extend_from_slice(&gsup);
    stream.write_all(&frame).unwrap();
    let answer = loop {
        assert!(
            Instant::now() < deadline,
            "no answer to the malformed request"
        );
        pump(&mut session, &mut stream);
        if let Some(ClientEvent::Message(msg)) = session.poll_event() {
            break msg;
        }
    };
    assert_eq!(answer.msg_type, MessageType::SendAuthInfoError);
    assert_eq!(answer.imsi.as_str(), IMSI);
    assert!(
        matches!(
            answer.cause(),
            Some(Cause::ProtocolErrorUnspecified | Cause::InvalidMandatoryInfo)
        ),
        "cause {:?}",
        answer.cause()
    );
    still_serves(&runtime, hlr.local_addr());
    runtime.block_on(hlr.shutdown());
}
