//! The MSC/SGSN side of one GSUP connection.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{BadMessage, Incoming, KeepAlive, Link, SessionError, decode_gsup, encode_gsup_frame};
use crate::ccm::{CcmMessage, UnitIdentity};
use crate::ipa::MAX_PAYLOAD_LEN;
use crate::message::GsupMessage;

/// Settings of a [`ClientConn`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// What to answer ID_GET with.
    pub identity: UnitIdentity,
    /// PING period and PONG deadline (default 20 s, as osmo clients; `None`
    /// disables keep-alive).
    pub ping_interval: Option<Duration>,
    /// Most GSUP messages held back until the server has asked for our
    /// identity (default 1024).
    pub max_queued: usize,
    /// Largest IPA frame data accepted (default 65535).
    pub max_frame_payload: usize,
}

impl ClientConfig {
    /// Defaults around `identity`.
    pub fn new(identity: UnitIdentity) -> ClientConfig {
        ClientConfig {
            identity,
            ping_interval: Some(Duration::from_secs(20)),
            max_queued: 1024,
            max_frame_payload: MAX_PAYLOAD_LEN,
        }
    }
}

/// What the client reports to its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// ID_GET was answered; queued GSUP messages have been released.
    Ready,
    /// The server acknowledged our identity (ID_ACK).
    IdentityAcknowledged,
    /// A GSUP message from the server.
    Message(GsupMessage),
    /// A GSUP payload that did not decode; answer with `reply` if wanted.
    BadMessage(BadMessage),
    /// A protocol problem; if [`SessionError::is_fatal`] the session is
    /// closed.
    Error(SessionError),
}

#[derive(Debug, PartialEq, Eq)]
enum State {
    AwaitingIdGet,
    Ready,
    Closed,
}

/// The client end of a GSUP connection, sans I/O.
///
/// It pings at once and then every interval (osmo `start_test_procedure`),
/// answers ID_GET with ID_RESP and ID_ACK, and holds GSUP messages back
/// until then: osmo-hlr cannot route answers to a peer it has no name for.
#[derive(Debug)]
pub struct ClientConn {
    link: Link,
    state: State,
    identity: UnitIdentity,
    keepalive: Option<KeepAlive>,
    queued: VecDeque<Vec<u8>>,
    max_queued: usize,
    events: VecDeque<ClientEvent>,
}

impl ClientConn {
    /// A new connection established at `now`; the first PING is queued.
    pub fn new(config: ClientConfig, now: Instant) -> ClientConn {
        let mut link = Link::new(config.max_frame_payload);
        let keepalive = config.ping_interval.map(|i| {
            link.queue_ccm(&CcmMessage::Ping);
            KeepAlive::start(i, now)
        });
        ClientConn {
            link,
            state: State::AwaitingIdGet,
            identity: config.identity,
            keepalive,
            queued: VecDeque::new(),
            max_queued: config.max_queued,
            events: VecDeque::new(),
        }
    }

    /// Processes received octets.
    pub fn handle_bytes(&mut self, data: &[u8]) {
        for incoming in self.link.receive(data) {
            if self.state == State::Closed {
                break;
            }
            match incoming {
                Incoming::Ccm(msg) => self.handle_ccm(msg),
                Incoming::Gsup(payload) => self.events.push_back(match decode_gsup(&payload) {
                    Ok(msg) => ClientEvent::Message(msg),
                    Err(bad) => ClientEvent::BadMessage(bad),
                }),
                Incoming::Ignored => {}
                Incoming::Error(e) => self.error(e),
            }
        }
    }

    fn handle_ccm(&mut self, msg: CcmMessage) {
        match msg {
            CcmMessage::Ping => self.link.queue_ccm(&CcmMessage::Pong),
            CcmMessage::Pong => {
                if let Some(k) = &mut self.keepalive {
                    k.on_pong();
                }
            }
            CcmMessage::IdGet(tags) => {
                // Answer every ID_GET, as libosmo-abis does, but release the
                // queue only once.
                self.link.queue_ccm(&self.identity.id_resp(&tags));
                self.link.queue_ccm(&CcmMessage::IdAck);
                if self.state == State::AwaitingIdGet {
                    self.state = State::Ready;
                    self.link.transmit.extend(self.queued.drain(..));
                    self.events.push_back(ClientEvent::Ready);
                }
            }
            CcmMessage::IdAck => self.events.push_back(ClientEvent::IdentityAcknowledged),
            other => self
                .events
                .push_back(ClientEvent::Error(SessionError::UnexpectedCcm(
                    other.msg_type(),
                ))),
        }
    }

    fn error(&mut self, e: SessionError) {
        if e.is_fatal() {
            self.state = State::Closed;
            self.link.close();
            self.queued.clear();
        }
        self.events.push_back(ClientEvent::Error(e));
    }

    /// Sends a GSUP message, or holds it until the identity exchange.
    pub fn send(&mut self, msg: &GsupMessage) -> Result<(), SessionError> {
        match self.state {
            State::Closed => Err(SessionError::Closed),
            State::Ready => self.link.queue_gsup(msg),
            State::AwaitingIdGet => {
                if self.queued.len() >= self.max_queued {
                    return Err(SessionError::QueueFull);
                }
                self.queued.push_back(encode_gsup_frame(msg)?);
                Ok(())
            }
        }
    }

    /// The next encoded IPA frame to write to the socket.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.link.transmit.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When [`ClientConn::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Closed {
            return None;
        }
        self.keepalive.as_ref().map(|k| k.next_tick)
    }

    /// Runs timers due at `now`: the next PING, or the PONG deadline.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == State::Closed {
            return;
        }
        if let Some(k) = &mut self.keepalive {
            match k.tick(now) {
                Ok(true) => self.link.queue_ccm(&CcmMessage::Ping),
                Ok(false) => {}
                Err(e) => self.error(e),
            }
        }
    }

    /// True once ID_GET has been answered and GSUP flows.
    pub fn is_ready(&self) -> bool {
        self.state == State::Ready
    }

    /// True after a fatal error or [`ClientConn::close`].
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Closes the session: pending and held-back frames are dropped.
    pub fn close(&mut self) {
        self.state = State::Closed;
        self.link.close();
        self.queued.clear();
    }
}
