//! A ClientConn and a ServerConn talking through memory, with octets cut
//! into arbitrary chunks and simulated time.

use std::time::{Duration, Instant};

use telsec_gsup::ccm::UnitIdentity;
use telsec_gsup::ie::{Apn, CnDomain, PdpAddress, PdpInfo};
use telsec_gsup::{
    AddressString, AuthTuple, Cause, ClientConfig, ClientConn, ClientEvent, GsupMessage, Imsi,
    MessageType, ServerConfig, ServerConn, ServerEvent, SessionError,
};

/// Deterministic xorshift generator for chunk sizes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

struct Pair {
    client: ClientConn,
    server: ServerConn,
    rng: Rng,
    /// When false, octets from the server are lost (dead link).
    server_to_client: bool,
    client_events: Vec<ClientEvent>,
    server_events: Vec<ServerEvent>,
}

impl Pair {
    fn new(now: Instant, seed: u64) -> Pair {
        let identity = UnitIdentity::new("MSC", "MSC-00-00-00-00-00-00");
        Pair {
            client: ClientConn::new(ClientConfig::new(identity), now),
            server: ServerConn::new(ServerConfig::default(), now),
            rng: Rng(seed),
            server_to_client: true,
            client_events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    /// Delivers `bytes` in random-sized pieces.
    fn deliver(rng: &mut Rng, bytes: &[u8], mut sink: impl FnMut(&[u8])) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = 1 + (rng.next() as usize % rest.len().min(7));
            sink(&rest[..n]);
            rest = &rest[n..];
        }
    }

    /// Moves octets both ways until neither side has anything to send.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(bytes) = self.client.poll_transmit() {
                moved = true;
                let server = &mut self.server;
                Pair::deliver(&mut self.rng, &bytes, |b| server.handle_bytes(b));
            }
            while let Some(bytes) = self.server.poll_transmit() {
                moved = true;
                if self.server_to_client {
                    let client = &mut self.client;
                    Pair::deliver(&mut self.rng, &bytes, |b| client.handle_bytes(b));
                }
            }
            self.client_events
                .extend(std::iter::from_fn(|| self.client.poll_event()));
            self.server_events
                .extend(std::iter::from_fn(|| self.server.poll_event()));
            if !moved {
                break;
            }
        }
    }
}

fn imsi() -> Imsi {
    Imsi::new("001010123456789").expect("valid IMSI")
}

fn tuples(n: u8) -> Vec<AuthTuple> {
    (0..n)
        .map(|i| {
            AuthTuple::umts(
                [i; 16],
                [0xa0 | i; 16],
                [0xc0 | i; 16],
                [0xd0 | i; 16],
                &[0xe0 | i; 8],
            )
            .expect("8-octet RES")
            .with_gsm([0x50 | i; 4], [0x60 | i; 8])
        })
        .collect()
}

#[test]
fn identity_exchange_and_send_auth_info() {
    for seed in 1..=20u64 {
        let now = Instant::now();
        let mut p = Pair::new(now, seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        // Sent before the link is up: held back until the ID_GET is answered.
        let req = GsupMessage::send_auth_info_request(imsi())
            .with(telsec_gsup::Ie::NumVectorsRequested(5))
            .with(telsec_gsup::Ie::CnDomain(CnDomain::Cs));
        p.client.send(&req).unwrap();
        p.pump();

        assert!(p.server.is_identified());
        let id = p.server.identity().unwrap();
        assert_eq!(id.serial(), Some("MSC-00-00-00-00-00-00"));
        assert_eq!(id.ipa_name(), Some(&b"MSC-00-00-00-00-00-00\0"[..]));
        assert_eq!(id.unit_name(), Some("MSC"));
        assert_eq!(id.unit_id(), Some("0/0/0"));
        assert!(matches!(
            p.server_events.remove(0),
            ServerEvent::Identified(_)
        ));
        let ServerEvent::Message(got) = p.server_events.remove(0) else {
            panic!("expected the request")
        };
        assert_eq!(got, req);
        assert!(p.server_events.is_empty(), "{:?}", p.server_events);

        assert_eq!(
            p.client_events,
            vec![ClientEvent::Ready, ClientEvent::IdentityAcknowledged]
        );
        p.client_events.clear();
        assert!(p.client.is_ready());

        // The HLR answers with five tuples.
        assert_eq!(got.num_vectors_requested(), Some(5));
        let res = GsupMessage::send_auth_info_result(got.imsi.clone(), tuples(5));
        p.server.send(&res).unwrap();
        p.pump();
        assert_eq!(p.client_events, vec![ClientEvent::Message(res.clone())]);
        let ClientEvent::Message(m) = &p.client_events[0] else {
            unreachable!()
        };
        assert_eq!(m.auth_tuples().count(), 5);
        assert_eq!(m.auth_tuples().nth(4).unwrap().kc, Some([0x64; 8]));
    }
}

#[test]
fn error_answer_and_server_initiated_procedure() {
    let now = Instant::now();
    let mut p = Pair::new(now, 7);
    p.pump();
    p.server_events.clear();
    p.client_events.clear();

    // Unknown subscriber: error with the request's type.
    let req = GsupMessage::update_location_request(imsi(), Some(CnDomain::Ps));
    p.client.send(&req).unwrap();
    p.pump();
    let ServerEvent::Message(got) = p.server_events.remove(0) else {
        panic!("expected request")
    };
    let err = got.error_response(Cause::ImsiUnknown).unwrap();
    assert_eq!(
        err,
        GsupMessage::error(
            MessageType::UpdateLocationRequest,
            imsi(),
            Cause::ImsiUnknown
        )
    );
    p.server.send(&err).unwrap();
    p.pump();
    let ClientEvent::Message(m) = p.client_events.remove(0) else {
        panic!("expected error")
    };
    assert_eq!(m.msg_type, MessageType::UpdateLocationError);
    assert_eq!(m.cause(), Some(Cause::ImsiUnknown));

    // Insert Subscriber Data from the HLR, answered by the client.
    let isd = GsupMessage::insert_data_request(
        imsi(),
        Some(AddressString::length_prefixed("4912345").unwrap()),
        Some(CnDomain::Ps),
        vec![PdpInfo::new(
            1,
            PdpAddress::ipv4(None),
            Apn::from_dotted("*").unwrap(),
        )],
    );
    p.server.send(&isd).unwrap();
    p.pump();
    let ClientEvent::Message(m) = p.client_events.remove(0) else {
        panic!("expected ISD")
    };
    assert_eq!(m, isd);
    assert_eq!(m.msisdn().unwrap().digits().unwrap(), "4912345");
    p.client.send(&m.response(false, true)).unwrap();
    p.pump();
    let ServerEvent::Message(ack) = p.server_events.remove(0) else {
        panic!("expected ISD result")
    };
    assert_eq!(ack.msg_type, MessageType::InsertDataResult);
    assert_eq!(ack.imsi, imsi());
}

#[test]
fn keepalive_over_the_pair() {
    let start = Instant::now();
    let mut p = Pair::new(start, 99);
    p.pump();
    let interval = Duration::from_secs(20);
    let mut now = start;
    for _ in 0..5 {
        let due = p.client.poll_timeout().unwrap();
        assert_eq!(due, now + interval);
        now = due;
        p.client.handle_timeout(now);
        p.pump();
        assert!(!p.client.is_closed());
    }
    // The server stops answering: the next tick sends a PING, the one after
    // finds no PONG.
    p.server_to_client = false;
    for _ in 0..2 {
        now = p.client.poll_timeout().unwrap();
        p.client.handle_timeout(now);
        p.pump();
    }
    assert!(p.client.is_closed());
    assert!(
        p.client_events
            .contains(&ClientEvent::Error(SessionError::PingTimeout))
    );
    assert_eq!(
        p.client.send(&GsupMessage::send_auth_info_request(imsi())),
        Err(SessionError::Closed)
    );
}
