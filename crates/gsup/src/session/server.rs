//! The HLR side of one GSUP connection.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{BadMessage, Incoming, KeepAlive, Link, SessionError, decode_gsup};
use crate::ccm::{CcmMessage, IdTag, OSMO_ID_GET_TAGS, PeerIdentity};
use crate::ipa::MAX_PAYLOAD_LEN;
use crate::message::GsupMessage;

/// Settings of a [`ServerConn`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Tags requested in ID_GET (default: the eight osmo-hlr asks for).
    pub id_tags: Vec<IdTag>,
    /// Close the connection if no acceptable ID_RESP arrives in this time
    /// (default 30 s; osmo-hlr has no such limit, its clients answer at once).
    pub identity_timeout: Option<Duration>,
    /// Ping the client this often and require a PONG by the next ping
    /// (default off, like osmo-hlr; clients ping the server).
    pub ping_interval: Option<Duration>,
    /// Largest IPA frame data accepted (default 65535).
    pub max_frame_payload: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            id_tags: OSMO_ID_GET_TAGS.to_vec(),
            identity_timeout: Some(Duration::from_secs(30)),
            ping_interval: None,
            max_frame_payload: MAX_PAYLOAD_LEN,
        }
    }
}

/// What the server reports to its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// The client identified itself; GSUP from it is now accepted.
    Identified(PeerIdentity),
    /// A GSUP message from the identified client.
    Message(GsupMessage),
    /// A GSUP payload that did not decode; answer with `reply` if wanted.
    BadMessage(BadMessage),
    /// A protocol problem; if [`SessionError::is_fatal`] the session is
    /// closed.
    Error(SessionError),
}

#[derive(Debug)]
enum State {
    AwaitingIdentity { deadline: Option<Instant> },
    Identified(PeerIdentity),
    Closed,
}

/// The server (HLR) end of a GSUP connection, sans I/O.
///
/// On creation it queues ID_GET. It answers PING, accepts one ID_RESP that
/// meets osmo-hlr's requirements (Unit ID and Serial Number present) and
/// acknowledges it, and from then on yields GSUP messages as events.
#[derive(Debug)]
pub struct ServerConn {
    link: Link,
    state: State,
    keepalive: Option<KeepAlive>,
    events: VecDeque<ServerEvent>,
}

impl ServerConn {
    /// A new connection accepted at `now`; ID_GET is queued for sending.
    pub fn new(config: ServerConfig, now: Instant) -> ServerConn {
        let mut link = Link::new(config.max_frame_payload);
        link.queue_ccm(&CcmMessage::IdGet(config.id_tags));
        let keepalive = config.ping_interval.map(|i| {
            link.queue_ccm(&CcmMessage::Ping);
            KeepAlive::start(i, now)
        });
        ServerConn {
            link,
            state: State::AwaitingIdentity {
                deadline: config.identity_timeout.map(|t| now + t),
            },
            keepalive,
            events: VecDeque::new(),
        }
    }

    /// Processes received octets.
    pub fn handle_bytes(&mut self, data: &[u8]) {
        for incoming in self.link.receive(data) {
            if matches!(self.state, State::Closed) {
                break;
            }
            match incoming {
                Incoming::Ccm(msg) => self.handle_ccm(msg),
                Incoming::Gsup(payload) => self.handle_gsup(&payload),
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
            // The client's own ID_ACK after its ID_RESP; ours went out already.
            CcmMessage::IdAck => {}
            CcmMessage::IdResp(values) => {
                if matches!(self.state, State::Identified(_)) {
                    self.events
                        .push_back(ServerEvent::Error(SessionError::IdentityRepeated));
                    return;
                }
                let identity = PeerIdentity::new(values);
                if let Err(tag) = identity.check_osmo_requirements() {
                    self.error(SessionError::IdentityIncomplete(tag));
                    return;
                }
                self.link.queue_ccm(&CcmMessage::IdAck);
                self.state = State::Identified(identity.clone());
                self.events.push_back(ServerEvent::Identified(identity));
            }
            other => self
                .events
                .push_back(ServerEvent::Error(SessionError::UnexpectedCcm(
                    other.msg_type(),
                ))),
        }
    }

    fn handle_gsup(&mut self, payload: &[u8]) {
        if !matches!(self.state, State::Identified(_)) {
            self.events
                .push_back(ServerEvent::Error(SessionError::NotIdentified));
            return;
        }
        self.events.push_back(match decode_gsup(payload) {
            Ok(msg) => ServerEvent::Message(msg),
            Err(bad) => ServerEvent::BadMessage(bad),
        });
    }

    fn error(&mut self, e: SessionError) {
        if e.is_fatal() {
            self.state = State::Closed;
            self.link.close();
        }
        self.events.push_back(ServerEvent::Error(e));
    }

    /// Queues a GSUP message for the client.
    pub fn send(&mut self, msg: &GsupMessage) -> Result<(), SessionError> {
        self.link.queue_gsup(msg)
    }

    /// The next encoded IPA frame to write to the socket.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.link.transmit.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// When [`ServerConn::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let identity = match self.state {
            State::AwaitingIdentity { deadline } => deadline,
            State::Identified(_) => None,
            State::Closed => return None,
        };
        let ping = self.keepalive.as_ref().map(|k| k.next_tick);
        identity.into_iter().chain(ping).min()
    }

    /// Runs timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let State::AwaitingIdentity { deadline: Some(d) } = self.state
            && now >= d
        {
            self.error(SessionError::IdentityTimeout);
            return;
        }
        if matches!(self.state, State::Closed) {
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

    /// The client's identity, once accepted.
    pub fn identity(&self) -> Option<&PeerIdentity> {
        match &self.state {
            State::Identified(id) => Some(id),
            _ => None,
        }
    }

    /// True once the client's ID_RESP was accepted.
    pub fn is_identified(&self) -> bool {
        matches!(self.state, State::Identified(_))
    }

    /// True after a fatal error or [`ServerConn::close`].
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Closes the session: pending frames are dropped, input ignored.
    pub fn close(&mut self) {
        self.state = State::Closed;
        self.link.close();
    }
}
