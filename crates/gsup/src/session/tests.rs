use std::time::{Duration, Instant};

use super::*;
use crate::bcd::Imsi;
use crate::ccm::{IdValue, UnitIdentity};
use crate::ie::Cause;

const ID_GET: &str = "0011fe0401080107010201030104010501010100";
const PING: [u8; 4] = [0x00, 0x01, 0xfe, 0x00];
const PONG: [u8; 4] = [0x00, 0x01, 0xfe, 0x01];
const ID_ACK: [u8; 4] = [0x00, 0x01, 0xfe, 0x06];
const SAI_REQ: &str = "000fee0508010821436587092143f50a0101";

fn drain(tx: impl FnMut() -> Option<Vec<u8>>) -> Vec<Vec<u8>> {
    std::iter::from_fn(tx).collect()
}

fn id_resp(values: &[(IdTag, &[u8])]) -> Vec<u8> {
    CcmMessage::IdResp(
        values
            .iter()
            .map(|(t, v)| IdValue {
                tag: *t,
                value: v.to_vec(),
            })
            .collect(),
    )
    .to_vec()
    .unwrap()
}

fn identified_server(now: Instant) -> ServerConn {
    let mut s = ServerConn::new(ServerConfig::default(), now);
    drain(|| s.poll_transmit());
    s.handle_bytes(&id_resp(&[
        (IdTag::UnitId, b"0/0/0\0"),
        (IdTag::Serial, b"MSC-1\0"),
    ]));
    assert!(matches!(s.poll_event(), Some(ServerEvent::Identified(_))));
    assert_eq!(drain(|| s.poll_transmit()), vec![ID_ACK.to_vec()]);
    s
}

#[test]
fn server_greets_with_osmo_hlr_id_get() {
    let mut s = ServerConn::new(ServerConfig::default(), Instant::now());
    assert_eq!(s.poll_transmit().unwrap(), hex::decode(ID_GET).unwrap());
    assert!(s.poll_transmit().is_none());
    assert!(!s.is_identified());
}

#[test]
fn server_answers_ping_before_and_after_identity() {
    let now = Instant::now();
    let mut s = ServerConn::new(ServerConfig::default(), now);
    drain(|| s.poll_transmit());
    s.handle_bytes(&PING);
    assert_eq!(drain(|| s.poll_transmit()), vec![PONG.to_vec()]);
    let mut s = identified_server(now);
    s.handle_bytes(&PING);
    assert_eq!(drain(|| s.poll_transmit()), vec![PONG.to_vec()]);
    assert!(s.poll_event().is_none());
}

#[test]
fn server_drops_gsup_before_identity() {
    let mut s = ServerConn::new(ServerConfig::default(), Instant::now());
    s.handle_bytes(&hex::decode(SAI_REQ).unwrap());
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Error(SessionError::NotIdentified))
    );
    assert!(!s.is_closed());
}

#[test]
fn server_requires_unit_id_and_serial() {
    let mut s = ServerConn::new(ServerConfig::default(), Instant::now());
    drain(|| s.poll_transmit());
    // Bytes after the bad ID_RESP in the same read are not processed.
    let mut input = id_resp(&[(IdTag::Serial, b"MSC-1\0")]);
    input.extend_from_slice(&PING);
    s.handle_bytes(&input);
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Error(SessionError::IdentityIncomplete(
            IdTag::UnitId
        )))
    );
    assert!(s.poll_event().is_none());
    assert!(s.is_closed());
    assert!(s.poll_transmit().is_none());
    assert_eq!(
        s.send(&GsupMessage::send_auth_info_request(Imsi::default())),
        Err(SessionError::Closed)
    );

    let mut s = ServerConn::new(ServerConfig::default(), Instant::now());
    s.handle_bytes(&id_resp(&[
        (IdTag::UnitId, b"0/0/0\0"),
        (IdTag::UnitName, b"MSC\0"),
    ]));
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Error(SessionError::IdentityIncomplete(
            IdTag::Serial
        )))
    );
}

#[test]
fn server_identity_is_fixed_once_accepted() {
    let mut s = identified_server(Instant::now());
    s.handle_bytes(&id_resp(&[
        (IdTag::UnitId, b"0/0/0\0"),
        (IdTag::Serial, b"OTHER\0"),
    ]));
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Error(SessionError::IdentityRepeated))
    );
    assert_eq!(s.identity().unwrap().serial(), Some("MSC-1"));
    assert!(s.poll_transmit().is_none());
}

#[test]
fn server_identity_timeout() {
    let now = Instant::now();
    let mut s = ServerConn::new(ServerConfig::default(), now);
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(30)));
    s.handle_timeout(now + Duration::from_secs(29));
    assert!(s.poll_event().is_none());
    s.handle_timeout(now + Duration::from_secs(30));
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Error(SessionError::IdentityTimeout))
    );
    assert!(s.is_closed());
    assert_eq!(s.poll_timeout(), None);
    // Once identified there is no deadline.
    let s = identified_server(now);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn server_reports_bad_gsup_with_reply() {
    let mut s = identified_server(Instant::now());
    // AUTS of 1 octet: conditional IE error.
    let frame = hex::decode("000fee0508010821436587092143f5260101").unwrap();
    s.handle_bytes(&frame);
    let Some(ServerEvent::BadMessage(bad)) = s.poll_event() else {
        panic!("expected BadMessage")
    };
    assert_eq!(bad.error, GsupError::BadIeLength { iei: 0x26, len: 1 });
    let reply = bad.reply.unwrap();
    assert_eq!(
        reply.msg_type,
        crate::message::MessageType::SendAuthInfoError
    );
    assert_eq!(reply.cause(), Some(Cause::ConditionalIeError));
    assert!(!s.is_closed());
}

#[test]
fn oversized_frame_is_fatal() {
    let cfg = ServerConfig {
        max_frame_payload: 1200,
        ..ServerConfig::default()
    };
    let mut s = ServerConn::new(cfg, Instant::now());
    s.handle_bytes(&[0x04, 0xb1, 0xee]);
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Error(SessionError::Framing(
            IpaError::FrameTooLong {
                len: 1201,
                max: 1200
            }
        )))
    );
    assert!(s.is_closed());
}

#[test]
fn other_streams_and_extensions_are_ignored() {
    let mut s = identified_server(Instant::now());
    s.handle_bytes(&[0x00, 0x01, 0x00, 0x42]);
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Error(SessionError::UnsupportedStream(
            StreamId::Rsl
        )))
    );
    s.handle_bytes(&[0x00, 0x02, 0xee, 0x00, 0x42]);
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Error(SessionError::UnsupportedExtension(
            OsmoExt::Ctrl
        )))
    );
    s.handle_bytes(&[0x00, 0x02, 0xee, 0x06, 0x42, 0x00, 0x00, 0xee]);
    assert!(s.poll_event().is_none());
    s.handle_bytes(&[0x00, 0x02, 0xfe, 0x0b, 0x00]);
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Error(SessionError::UnexpectedCcm(
            CcmMsgType::SslInfo
        )))
    );
    assert!(!s.is_closed());
}

#[test]
fn server_optional_ping() {
    let now = Instant::now();
    let cfg = ServerConfig {
        ping_interval: Some(Duration::from_secs(5)),
        ..ServerConfig::default()
    };
    let mut s = ServerConn::new(cfg, now);
    assert_eq!(
        drain(|| s.poll_transmit()),
        vec![hex::decode(ID_GET).unwrap(), PING.to_vec()]
    );
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(5)));
    s.handle_bytes(&PONG);
    s.handle_timeout(now + Duration::from_secs(5));
    assert_eq!(drain(|| s.poll_transmit()), vec![PING.to_vec()]);
    s.handle_timeout(now + Duration::from_secs(10));
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Error(SessionError::PingTimeout))
    );
}

fn client(now: Instant) -> ClientConn {
    ClientConn::new(
        ClientConfig::new(UnitIdentity::new("MSC", "MSC-00-00-00-00-00-00")),
        now,
    )
}

#[test]
fn client_pings_and_detects_dead_server() {
    let now = Instant::now();
    let mut c = client(now);
    assert_eq!(drain(|| c.poll_transmit()), vec![PING.to_vec()]);
    let tick = now + Duration::from_secs(20);
    assert_eq!(c.poll_timeout(), Some(tick));
    c.handle_timeout(tick - Duration::from_millis(1));
    assert!(c.poll_transmit().is_none());
    c.handle_bytes(&PONG);
    c.handle_timeout(tick);
    assert_eq!(drain(|| c.poll_transmit()), vec![PING.to_vec()]);
    assert_eq!(c.poll_timeout(), Some(tick + Duration::from_secs(20)));
    c.handle_timeout(tick + Duration::from_secs(20));
    assert_eq!(
        c.poll_event(),
        Some(ClientEvent::Error(SessionError::PingTimeout))
    );
    assert!(c.is_closed());
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn client_answers_id_get_like_libosmo_abis() {
    let mut c = client(Instant::now());
    drain(|| c.poll_transmit());
    let req = GsupMessage::send_auth_info_request(Imsi::new("123456789012345").unwrap());
    c.send(&req).unwrap();
    assert!(c.poll_transmit().is_none(), "held back until identified");
    c.handle_bytes(&hex::decode(ID_GET).unwrap());
    let out = drain(|| c.poll_transmit());
    assert_eq!(out.len(), 3);
    let (frame, _) = Frame::parse(&out[0]).unwrap();
    let CcmMessage::IdResp(values) = CcmMessage::parse(&frame.payload).unwrap() else {
        panic!("not ID_RESP")
    };
    let tags: Vec<IdTag> = values.iter().map(|v| v.tag).collect();
    assert_eq!(tags, crate::ccm::OSMO_ID_GET_TAGS);
    let peer = crate::ccm::PeerIdentity::new(values);
    assert_eq!(peer.serial(), Some("MSC-00-00-00-00-00-00"));
    assert_eq!(peer.get_str(IdTag::MacAddress), Some("00:00:00:00:00:00"));
    assert_eq!(out[1], ID_ACK);
    assert_eq!(out[2], encode_gsup_frame(&req).unwrap());
    assert_eq!(c.poll_event(), Some(ClientEvent::Ready));
    c.handle_bytes(&ID_ACK);
    assert_eq!(c.poll_event(), Some(ClientEvent::IdentityAcknowledged));
    assert!(c.poll_transmit().is_none(), "no answer to ID_ACK");
}

#[test]
fn client_queue_is_bounded() {
    let mut cfg = ClientConfig::new(UnitIdentity::new("SGSN", "SGSN-1"));
    cfg.max_queued = 2;
    let mut c = ClientConn::new(cfg, Instant::now());
    let req = GsupMessage::send_auth_info_request(Imsi::new("001010000000001").unwrap());
    c.send(&req).unwrap();
    c.send(&req).unwrap();
    assert_eq!(c.send(&req), Err(SessionError::QueueFull));
}

#[test]
fn client_sample_frame_matches_libosmocore() {
    let mut c = client(Instant::now());
    drain(|| c.poll_transmit());
    c.handle_bytes(&hex::decode(ID_GET).unwrap());
    drain(|| c.poll_transmit());
    let req = GsupMessage::send_auth_info_request(Imsi::new("123456789012345").unwrap()).with(
        crate::ie::Ie::MessageClass(crate::ie::MessageClass::SubscriberManagement),
    );
    c.send(&req).unwrap();
    assert_eq!(c.poll_transmit().unwrap(), hex::decode(SAI_REQ).unwrap());
}

#[test]
fn keepalive_tick_logic() {
    let now = Instant::now();
    let mut k = KeepAlive::start(Duration::from_secs(1), now);
    assert_eq!(k.tick(now), Ok(false));
    assert_eq!(
        k.tick(now + Duration::from_secs(1)),
        Err(SessionError::PingTimeout)
    );
    k.on_pong();
    assert_eq!(k.tick(now + Duration::from_secs(1)), Ok(true));
    assert_eq!(k.next_tick, now + Duration::from_secs(2));
}
