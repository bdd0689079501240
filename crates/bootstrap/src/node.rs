//! The mobile node's side of a bootstrap, sans-IO (seed 003, steps 2-6
//! and 10-11).
//!
//! The driver owns an EAP peer (EAP-AKA', RFC 9048) and this session:
//!
//! 1. [`NodeSession::start`] → send the Start.
//! 2. Every datagram from the HA → [`NodeSession::handle`]:
//!    [`NodeEvent::Eap`] bytes go to the EAP peer; its response goes back
//!    through [`NodeSession::send_eap`]. When the peer reports success
//!    (after the EAP-Success the HA sent), call
//!    [`NodeSession::eap_succeeded`] with its EMSK, then
//!    [`NodeSession::send_config_request`].
//! 3. [`NodeEvent::Configured`] ends the bootstrap (store it with
//!    [`crate::NodeConfig::from_response`]); [`NodeEvent::Refused`] ends it
//!    with a cause.
//! 4. Whenever [`NodeSession::poll_timeout`] passes, call
//!    [`NodeSession::handle_timeout`]: it returns the message to resend, or
//!    [`NodeError::GaveUp`].
//!
//! Errors from `handle` mean "drop this datagram": the session is
//! unchanged (a forged, replayed or stale datagram changes nothing).

use std::time::Instant;

use ed25519_dalek::SigningKey;

use crate::cause::Cause;
use crate::keys::{Direction, EMSK_LEN, SessionKeys};
use crate::message::{Body, Header, MessageError, MessageType, NONCE_LEN, Repr, SessionId};
use crate::request::{ConfigRequest, RequestError};
use crate::response::{ConfigAnswer, ConfigResponse, ResponseError, decode_answer};
use crate::retransmit::{Outstanding, RetransmitPolicy, Tick};
use crate::seal::{self, ReplayGuard, SealError};

/// How a node session is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSessionConfig {
    /// The network name the HA uses; the same string the EAP-AKA' peer
    /// checks in AT_KDF_INPUT (RFC 9048 §3.1). An input of the key
    /// schedule.
    pub ha_name: String,
    /// An identity hint for the Start (e.g. the NAI the peer will use).
    pub identity_hint: Option<String>,
    /// Retransmission timers.
    pub retransmit: RetransmitPolicy,
    /// The HA key learnt in an earlier bootstrap: a response signed by
    /// another key is refused.
    pub pinned_ha_key: Option<[u8; 32]>,
}

/// Where the node's session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodePhase {
    /// Start sent, no answer yet.
    Starting,
    /// EAP running.
    Eap,
    /// EAP succeeded, keys derived; the ConfigRequest is next.
    Keyed,
    /// ConfigRequest sent.
    Configuring,
    /// Configuration received.
    Done,
    /// Refused, failed or given up.
    Failed,
}

/// What a datagram from the HA meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// An EAP packet for the EAP peer.
    Eap(Vec<u8>),
    /// The configuration, sealed and signed by the HA.
    Configured(Box<ConfigResponse>),
    /// The HA refused; the session is over.
    Refused {
        /// Why.
        cause: Cause,
        /// The HA's text.
        text: String,
        /// Whether the refusal was sealed (otherwise anyone on the path
        /// could have sent it: before keys exist there is no better).
        authenticated: bool,
    },
    /// A clear Error arrived while the node waits for a sealed answer;
    /// ignored (it may be forged), the node keeps retransmitting.
    UnauthenticatedError {
        /// The claimed cause.
        cause: Cause,
        /// The claimed text.
        text: String,
    },
}

/// Why the node rejected a datagram or a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The datagram does not parse.
    #[error("malformed message: {0}")]
    Message(#[from] MessageError),
    /// A sealed answer did not open (altered, wrong key, replayed).
    #[error("sealed answer refused: {0}")]
    Seal(#[from] SealError),
    /// The sealed configuration is not valid or its signature fails.
    #[error("configuration refused: {0}")]
    Response(#[from] ResponseError),
    /// The configuration is signed by a key other than the pinned one.
    #[error("the home agent signed with key {:?} instead of the pinned key", crate::request::Hex(.offered))]
    PinnedKeyMismatch {
        /// The key the configuration carries.
        offered: [u8; 32],
    },
    /// HIP mode: the HIT the forwarding agent published is not the HIT
    /// of the key this node sent.
    #[error("HIT {0} is not this node's: {1}")]
    WrongHit(crate::hit::Hit, crate::hit::HitError),
    /// Building the ConfigRequest failed.
    #[error("cannot build the request: {0}")]
    Request(#[from] RequestError),
    /// Nothing is outstanding, or the answer's sequence is not the
    /// outstanding one (a duplicate or stale answer).
    #[error("answer with sequence {0} does not match the outstanding request")]
    UnexpectedSequence(u32),
    /// Another session's id.
    #[error("message for session {0}")]
    WrongSession(SessionId),
    /// A message type that does not fit the phase.
    #[error("unexpected {0:?} message")]
    UnexpectedMessage(MessageType),
    /// A call that does not fit the phase.
    #[error("not allowed in phase {0:?}")]
    WrongPhase(NodePhase),
    /// Every transmission went unanswered; the session failed.
    #[error("no answer from the home agent")]
    GaveUp,
    /// The sequence space is used up.
    #[error("sequence numbers exhausted")]
    SequenceExhausted,
}

/// The node's bootstrap session.
#[derive(Debug)]
pub struct NodeSession {
    config: NodeSessionConfig,
    nonce: [u8; NONCE_LEN],
    session_id: SessionId,
    phase: NodePhase,
    next_sequence: u32,
    outstanding: Option<Outstanding>,
    keys: Option<SessionKeys>,
    guard: ReplayGuard,
    /// The public key the ConfigRequest carried (HIP mode checks its HIT).
    sent_key: Option<[u8; 32]>,
}

impl NodeSession {
    /// A session whose Start carries `nonce` (16 random octets from the
    /// caller's CSPRNG), sent at `now`; returns the session and the Start.
    pub fn start(
        config: NodeSessionConfig,
        nonce: [u8; NONCE_LEN],
        now: Instant,
    ) -> Result<(NodeSession, Vec<u8>), NodeError> {
        let mut s = NodeSession {
            config,
            nonce,
            session_id: SessionId::NONE,
            phase: NodePhase::Starting,
            next_sequence: 1,
            outstanding: None,
            keys: None,
            guard: ReplayGuard::new(),
            sent_key: None,
        };
        let sequence = s.take_sequence()?;
        let bytes = Repr {
            session_id: SessionId::NONE,
            sequence,
            body: Body::Start {
                nonce,
                identity_hint: s.config.identity_hint.as_deref(),
            },
        }
        .to_bytes()?;
        s.send(bytes.clone(), sequence, now);
        Ok((s, bytes))
    }

    /// The phase.
    pub fn phase(&self) -> NodePhase {
        self.phase
    }

    /// The session id (none until the HA's first answer).
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// The channel binding, once keys exist.
    pub fn channel_binding(&self) -> Option<&[u8; 32]> {
        self.keys.as_ref().map(SessionKeys::channel_binding)
    }

    /// When [`NodeSession::handle_timeout`] should be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.outstanding.as_ref().map(Outstanding::deadline)
    }

    /// At `now`: the message to resend, if one is due. After the last
    /// transmission goes unanswered the session fails with
    /// [`NodeError::GaveUp`].
    pub fn handle_timeout(&mut self, now: Instant) -> Result<Option<Vec<u8>>, NodeError> {
        let Some(o) = self.outstanding.as_mut() else {
            return Ok(None);
        };
        match o.tick(now, &self.config.retransmit) {
            Tick::NotYet => Ok(None),
            Tick::Resend => Ok(Some(o.bytes.clone())),
            Tick::GiveUp => {
                self.outstanding = None;
                self.phase = NodePhase::Failed;
                Err(NodeError::GaveUp)
            }
        }
    }

    fn take_sequence(&mut self) -> Result<u32, NodeError> {
        let s = self.next_sequence;
        self.next_sequence = s.checked_add(1).ok_or(NodeError::SequenceExhausted)?;
        Ok(s)
    }

    fn send(&mut self, bytes: Vec<u8>, sequence: u32, now: Instant) {
        self.outstanding = Some(Outstanding::new(
            bytes,
            sequence,
            now,
            &self.config.retransmit,
        ));
    }

    /// Processes a datagram from the HA.
    pub fn handle(&mut self, datagram: &[u8]) -> Result<NodeEvent, NodeError> {
        let repr = Repr::parse_bytes(datagram)?;
        let Some(outstanding) = &self.outstanding else {
            return Err(NodeError::UnexpectedSequence(repr.sequence));
        };
        if repr.sequence != outstanding.sequence {
            return Err(NodeError::UnexpectedSequence(repr.sequence));
        }
        let session_ok = match self.phase {
            // The first answer names the session; a clear Error to the
            // Start may carry no session at all.
            NodePhase::Starting => {
                !repr.session_id.is_none() || matches!(repr.body, Body::Error { .. })
            }
            _ => repr.session_id == self.session_id,
        };
        if !session_ok {
            return Err(NodeError::WrongSession(repr.session_id));
        }
        match (repr.body, self.phase) {
            (Body::Eap(eap), NodePhase::Starting | NodePhase::Eap) => {
                if self.phase == NodePhase::Starting {
                    self.session_id = repr.session_id;
                }
                self.phase = NodePhase::Eap;
                self.outstanding = None;
                Ok(NodeEvent::Eap(eap.to_vec()))
            }
            (Body::Error { cause, text }, NodePhase::Starting | NodePhase::Eap) => {
                self.outstanding = None;
                self.phase = NodePhase::Failed;
                Ok(NodeEvent::Refused {
                    cause,
                    text: text.to_owned(),
                    authenticated: false,
                })
            }
            (Body::Error { cause, text }, NodePhase::Configuring) => {
                Ok(NodeEvent::UnauthenticatedError {
                    cause,
                    text: text.to_owned(),
                })
            }
            (Body::ConfigResponse(_), NodePhase::Configuring) => self.open_response(datagram),
            (body, _) => Err(NodeError::UnexpectedMessage(body.msg_type())),
        }
    }

    /// Opens, checks and applies a sealed ConfigResponse; no state changes
    /// unless it is accepted.
    fn open_response(&mut self, datagram: &[u8]) -> Result<NodeEvent, NodeError> {
        let keys = self
            .keys
            .as_ref()
            .ok_or(NodeError::WrongPhase(self.phase))?;
        let (header, plaintext) = seal::open(keys, Direction::HaToNode, datagram)?;
        self.guard.check(header.sequence)?;
        let answer = decode_answer(&plaintext, keys.channel_binding())?;
        let event = match answer {
            ConfigAnswer::Config(config) => {
                if self
                    .config
                    .pinned_ha_key
                    .is_some_and(|k| k != config.ha_public_key)
                {
                    return Err(NodeError::PinnedKeyMismatch {
                        offered: config.ha_public_key,
                    });
                }
                if let (Some(hip), Some(key)) = (&config.hip, &self.sent_key) {
                    hip.hit
                        .check_ed25519(key)
                        .map_err(|e| NodeError::WrongHit(hip.hit, e))?;
                }
                self.phase = NodePhase::Done;
                NodeEvent::Configured(Box::new(config))
            }
            ConfigAnswer::Refused { cause, text } => {
                self.phase = NodePhase::Failed;
                NodeEvent::Refused {
                    cause,
                    text,
                    authenticated: true,
                }
            }
        };
        self.guard.commit(header.sequence);
        self.outstanding = None;
        Ok(event)
    }

    /// Sends the EAP peer's response to the HA's last EAP packet.
    pub fn send_eap(&mut self, eap: &[u8], now: Instant) -> Result<Vec<u8>, NodeError> {
        if self.phase != NodePhase::Eap || self.outstanding.is_some() {
            return Err(NodeError::WrongPhase(self.phase));
        }
        let sequence = self.next_sequence;
        let bytes = Repr {
            session_id: self.session_id,
            sequence,
            body: Body::Eap(eap),
        }
        .to_bytes()?;
        self.take_sequence()?;
        self.send(bytes.clone(), sequence, now);
        Ok(bytes)
    }

    /// The EAP peer succeeded (it received EAP-Success) and exported
    /// `emsk`: derive the session keys ([`crate::keys`]).
    pub fn eap_succeeded(&mut self, emsk: &[u8; EMSK_LEN]) -> Result<(), NodeError> {
        if self.phase != NodePhase::Eap || self.outstanding.is_some() {
            return Err(NodeError::WrongPhase(self.phase));
        }
        self.keys = Some(SessionKeys::derive(
            emsk,
            self.session_id,
            &self.nonce,
            &self.config.ha_name,
        ));
        self.phase = NodePhase::Keyed;
        Ok(())
    }

    /// The EAP peer failed (EAP-Failure, or it refused the server): the
    /// session is over.
    pub fn eap_failed(&mut self) {
        self.outstanding = None;
        self.phase = NodePhase::Failed;
    }

    /// Builds, signs and seals the ConfigRequest (seed step 6) with the
    /// node's key pair, desired FQDN and optional secret.
    pub fn send_config_request(
        &mut self,
        signing_key: &SigningKey,
        desired_fqdn: Option<&str>,
        secret: Option<&[u8]>,
        now: Instant,
    ) -> Result<Vec<u8>, NodeError> {
        let keys = match (&self.keys, self.phase) {
            (Some(k), NodePhase::Keyed) => k,
            _ => return Err(NodeError::WrongPhase(self.phase)),
        };
        let request =
            ConfigRequest::sign(signing_key, keys.channel_binding(), desired_fqdn, secret)?;
        let plaintext = request.encode()?;
        let header = Header {
            msg_type: MessageType::ConfigRequest,
            session_id: self.session_id,
            sequence: self.next_sequence,
        };
        let bytes = seal::seal(keys, Direction::NodeToHa, &header, &plaintext)?;
        self.take_sequence()?;
        self.send(bytes.clone(), header.sequence, now);
        self.sent_key = Some(signing_key.verifying_key().to_bytes());
        self.phase = NodePhase::Configuring;
        Ok(bytes)
    }
}
