//! The home agent's side of a bootstrap, sans-IO (seed 003, steps 3-10).
//!
//! The driver keeps a table of sessions ([`crate::message::route`] says
//! which one a datagram belongs to) and, per session, an EAP server
//! (EAP-AKA', RFC 9048, fed by the HLR over GSUP):
//!
//! 1. A Start with an unknown nonce → [`HaSession::accept`] with 8 random
//!    octets as session id; start the EAP server and answer with its first
//!    request through [`HaSession::send_eap`].
//! 2. Every later datagram → [`HaSession::handle`]:
//!    - [`HaEvent::Eap`]: give the bytes to the EAP server; answer with
//!      [`HaSession::send_eap`] (next request), [`HaSession::eap_succeeded`]
//!      (EAP-Success and the EMSK) or [`HaSession::eap_failed`];
//!    - [`HaEvent::ConfigRequest`]: decide FQDN ([`crate::policy`]) and
//!      address ([`crate::pool`]), update DNS, then answer with
//!      [`HaSession::respond`] or [`HaSession::refuse`];
//!    - [`HaEvent::Retransmit`]: the node repeated its last request; send
//!      these octets (the stored answer, unchanged) again;
//!    - [`HaEvent::Pending`]: a repeat arrived before the answer is ready
//!      (e.g. the HLR is slow); nothing to send;
//!    - [`HaEvent::Rejected`]: the node's sealed request was authentic but
//!      its proof failed; send the sealed refusal included.
//!
//! The exchange is lock-step: each node message numbered n+1 follows the
//! HA's answer to n; the answer repeats n. Each answer is built once and
//! stored, so a repeat never re-runs EAP, policy or DNS. Errors from
//! `handle` mean "drop this datagram" and leave the session unchanged.
//!
//! As the lower layer retransmits, the EAP server's own retransmission
//! timer should be off (RFC 3748 §4.3 leaves it to reliable lower layers).

use ed25519_dalek::SigningKey;

use crate::cause::Cause;
use crate::keys::{Direction, EMSK_LEN, SessionKeys};
use crate::message::{Body, Header, MessageError, MessageType, NONCE_LEN, Packet, Repr, SessionId};
use crate::request::{ConfigRequest, VerifiedConfigRequest};
use crate::response::{ConfigResponse, ResponseError, encode_refusal};
use crate::seal::{self, ReplayGuard, SealError};

/// The most EAP round trips a session may take (EAP-AKA' needs two to four;
/// the bound stops a peer from keeping a session alive forever).
pub const MAX_EAP_ROUNDS: u32 = 16;

/// Where the HA's session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaPhase {
    /// EAP running.
    Eap,
    /// EAP succeeded; waiting for the ConfigRequest.
    Keyed,
    /// A verified ConfigRequest awaits the driver's decision.
    Configuring,
    /// Configuration sent.
    Done,
    /// Refused or failed.
    Failed,
}

/// What a datagram from the node means for the driver.
#[derive(Debug, Clone)]
pub enum HaEvent {
    /// An EAP packet for the EAP server.
    Eap(Vec<u8>),
    /// A sealed request that opened and whose proof verified.
    ConfigRequest(Box<VerifiedConfigRequest>),
    /// A repeat of the last request: send the stored answer again.
    Retransmit(Vec<u8>),
    /// A repeat of a request not answered yet: nothing to send.
    Pending,
    /// An authentic request whose contents or proof failed; `reply` is the
    /// sealed refusal to send; the session has failed.
    Rejected {
        /// Why.
        cause: Cause,
        /// The sealed ConfigResponse carrying the refusal.
        reply: Vec<u8>,
    },
}

/// Why the HA rejected a datagram or a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HaError {
    /// The datagram does not parse.
    #[error("malformed message: {0}")]
    Message(#[from] MessageError),
    /// A sealed request did not open (altered, wrong key, replayed).
    #[error("sealed request refused: {0}")]
    Seal(#[from] SealError),
    /// Building the answer failed.
    #[error("cannot build the answer: {0}")]
    Response(#[from] ResponseError),
    /// [`HaSession::accept`] was given something other than a Start with
    /// session id 0.
    #[error("not a Start")]
    NotStart,
    /// [`HaSession::accept`] was given the all-zero session id.
    #[error("session id must not be zero")]
    ZeroSessionId,
    /// Another session's id.
    #[error("message for session {0}")]
    WrongSession(SessionId),
    /// The last request's sequence with different contents.
    #[error("sequence {0} repeated with different contents")]
    Replay(u32),
    /// A sequence other than the next one.
    #[error("sequence {got}, expected {expected}")]
    OutOfOrder {
        /// The sequence received.
        got: u32,
        /// The sequence expected.
        expected: u32,
    },
    /// A new request while the previous one is unanswered.
    #[error("previous request not answered yet")]
    Busy,
    /// A message type that does not fit the phase.
    #[error("unexpected {0:?} message")]
    UnexpectedMessage(MessageType),
    /// A call that does not fit the phase.
    #[error("not allowed in phase {0:?}")]
    WrongPhase(HaPhase),
    /// More than [`MAX_EAP_ROUNDS`] EAP round trips.
    #[error("too many EAP round trips")]
    TooManyRounds,
}

/// The HA's bootstrap session with one node.
#[derive(Debug)]
pub struct HaSession {
    session_id: SessionId,
    ha_name: String,
    node_nonce: [u8; NONCE_LEN],
    identity_hint: Option<String>,
    phase: HaPhase,
    last_sequence: u32,
    last_request: Vec<u8>,
    /// The answer to `last_request`; `None` while the driver decides.
    answer: Option<Vec<u8>>,
    keys: Option<SessionKeys>,
    guard: ReplayGuard,
    rounds: u32,
}

impl HaSession {
    /// Opens a session for the Start `start`, with `session_id` (8 random
    /// octets, not all zero, unique among the driver's sessions) and the
    /// HA's network name (the one its EAP-AKA' server uses, RFC 9048 §3.1).
    /// The driver answers with [`HaSession::send_eap`] (or
    /// [`HaSession::refuse`]).
    pub fn accept(
        start: &[u8],
        session_id: SessionId,
        ha_name: &str,
    ) -> Result<HaSession, HaError> {
        if session_id.is_none() {
            return Err(HaError::ZeroSessionId);
        }
        let repr = Repr::parse_bytes(start)?;
        let Body::Start {
            nonce,
            identity_hint,
        } = repr.body
        else {
            return Err(HaError::NotStart);
        };
        if !repr.session_id.is_none() {
            return Err(HaError::NotStart);
        }
        Ok(HaSession {
            session_id,
            ha_name: ha_name.to_owned(),
            node_nonce: nonce,
            identity_hint: identity_hint.map(str::to_owned),
            phase: HaPhase::Eap,
            last_sequence: repr.sequence,
            last_request: start.to_vec(),
            answer: None,
            keys: None,
            guard: ReplayGuard::new(),
            rounds: 0,
        })
    }

    /// The session id.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// The node's nonce (the driver's key for repeated Starts).
    pub fn node_nonce(&self) -> &[u8; NONCE_LEN] {
        &self.node_nonce
    }

    /// The identity hint of the Start.
    pub fn identity_hint(&self) -> Option<&str> {
        self.identity_hint.as_deref()
    }

    /// The phase.
    pub fn phase(&self) -> HaPhase {
        self.phase
    }

    /// Whether the session has ended (the driver keeps it a while to
    /// answer repeats of the last request, then drops it).
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, HaPhase::Done | HaPhase::Failed) && self.answer.is_some()
    }

    /// The channel binding, once keys exist.
    pub fn channel_binding(&self) -> Option<&[u8; 32]> {
        self.keys.as_ref().map(SessionKeys::channel_binding)
    }

    /// Processes a datagram from the node (module doc).
    pub fn handle(&mut self, datagram: &[u8]) -> Result<HaEvent, HaError> {
        let packet = Packet::new_checked(datagram)?;
        let header = packet.header();
        if header.sequence == self.last_sequence
            && (header.session_id == self.session_id || header.session_id.is_none())
        {
            if datagram != self.last_request.as_slice() {
                return Err(HaError::Replay(header.sequence));
            }
            return Ok(match &self.answer {
                Some(a) => HaEvent::Retransmit(a.clone()),
                None => HaEvent::Pending,
            });
        }
        if header.session_id != self.session_id {
            return Err(HaError::WrongSession(header.session_id));
        }
        if self.answer.is_none() {
            return Err(HaError::Busy);
        }
        let expected = self.last_sequence.wrapping_add(1);
        if header.sequence != expected || expected == 0 {
            return Err(HaError::OutOfOrder {
                got: header.sequence,
                expected,
            });
        }
        match (header.msg_type, self.phase) {
            (MessageType::Eap, HaPhase::Eap) => {
                let repr = Repr::parse_bytes(datagram)?;
                let Body::Eap(eap) = repr.body else {
                    return Err(HaError::UnexpectedMessage(header.msg_type));
                };
                if self.rounds >= MAX_EAP_ROUNDS {
                    return Err(HaError::TooManyRounds);
                }
                self.rounds += 1;
                let eap = eap.to_vec();
                self.record(datagram, header.sequence);
                Ok(HaEvent::Eap(eap))
            }
            (MessageType::ConfigRequest, HaPhase::Keyed) => self.open_request(datagram),
            (t, _) => Err(HaError::UnexpectedMessage(t)),
        }
    }

    fn record(&mut self, datagram: &[u8], sequence: u32) {
        self.last_request = datagram.to_vec();
        self.last_sequence = sequence;
        self.answer = None;
    }

    /// Opens and verifies a ConfigRequest. AEAD or replay failures change
    /// nothing; an authentic request with bad contents is answered with a
    /// sealed refusal.
    fn open_request(&mut self, datagram: &[u8]) -> Result<HaEvent, HaError> {
        let keys = self.keys.as_ref().ok_or(HaError::WrongPhase(self.phase))?;
        let (header, plaintext) = seal::open(keys, Direction::NodeToHa, datagram)?;
        self.guard.check(header.sequence)?;
        let verified = ConfigRequest::decode(&plaintext)
            .map_err(|_| Cause::BadMessage)
            .and_then(|req| {
                let key = req
                    .verify(keys.channel_binding())
                    .map_err(|_| Cause::BadProof)?;
                Ok(VerifiedConfigRequest {
                    session_id: self.session_id,
                    public_key: key,
                    desired_fqdn: req.desired_fqdn.clone(),
                    secret: req.secret.clone(),
                })
            });
        self.guard.commit(header.sequence);
        self.record(datagram, header.sequence);
        match verified {
            Ok(v) => {
                self.phase = HaPhase::Configuring;
                Ok(HaEvent::ConfigRequest(Box::new(v)))
            }
            Err(cause) => {
                let reply = self.refuse(cause, "")?;
                Ok(HaEvent::Rejected { cause, reply })
            }
        }
    }

    fn require_pending(&self, phases: &[HaPhase]) -> Result<(), HaError> {
        if self.answer.is_some() || !phases.contains(&self.phase) {
            return Err(HaError::WrongPhase(self.phase));
        }
        Ok(())
    }

    fn header(&self, msg_type: MessageType) -> Header {
        Header {
            msg_type,
            session_id: self.session_id,
            sequence: self.last_sequence,
        }
    }

    fn store(&mut self, bytes: Vec<u8>) -> Vec<u8> {
        self.answer = Some(bytes.clone());
        bytes
    }

    fn eap_message(&self, eap: &[u8]) -> Result<Vec<u8>, HaError> {
        Ok(Repr {
            session_id: self.session_id,
            sequence: self.last_sequence,
            body: Body::Eap(eap),
        }
        .to_bytes()?)
    }

    /// Answers the pending request with the EAP server's next packet.
    pub fn send_eap(&mut self, eap: &[u8]) -> Result<Vec<u8>, HaError> {
        self.require_pending(&[HaPhase::Eap])?;
        let bytes = self.eap_message(eap)?;
        Ok(self.store(bytes))
    }

    /// The EAP server succeeded: answers with its EAP-Success and derives
    /// the session keys from `emsk` ([`crate::keys`]).
    pub fn eap_succeeded(
        &mut self,
        eap_success: &[u8],
        emsk: &[u8; EMSK_LEN],
    ) -> Result<Vec<u8>, HaError> {
        self.require_pending(&[HaPhase::Eap])?;
        let bytes = self.eap_message(eap_success)?;
        self.keys = Some(SessionKeys::derive(
            emsk,
            self.session_id,
            &self.node_nonce,
            &self.ha_name,
        ));
        self.phase = HaPhase::Keyed;
        Ok(self.store(bytes))
    }

    /// The EAP server failed: answers with its EAP-Failure; the session is
    /// over.
    pub fn eap_failed(&mut self, eap_failure: &[u8]) -> Result<Vec<u8>, HaError> {
        self.require_pending(&[HaPhase::Eap])?;
        let bytes = self.eap_message(eap_failure)?;
        self.phase = HaPhase::Failed;
        Ok(self.store(bytes))
    }

    /// Answers the verified ConfigRequest with the configuration, signed
    /// with the HA's key (whose public half must be `ha_public_key`) and
    /// sealed.
    pub fn respond(
        &mut self,
        response: &ConfigResponse,
        signing_key: &SigningKey,
    ) -> Result<Vec<u8>, HaError> {
        self.require_pending(&[HaPhase::Configuring])?;
        let keys = self.keys.as_ref().ok_or(HaError::WrongPhase(self.phase))?;
        let plaintext = response.encode_signed(signing_key, keys.channel_binding())?;
        let bytes = seal::seal(
            keys,
            Direction::HaToNode,
            &self.header(MessageType::ConfigResponse),
            &plaintext,
        )?;
        self.phase = HaPhase::Done;
        Ok(self.store(bytes))
    }

    /// Answers the pending request with a refusal: sealed once a
    /// ConfigRequest was opened, otherwise a clear Error. The session is
    /// over.
    pub fn refuse(&mut self, cause: Cause, text: &str) -> Result<Vec<u8>, HaError> {
        self.require_pending(&[HaPhase::Eap, HaPhase::Keyed, HaPhase::Configuring])?;
        let bytes = match (&self.keys, self.phase) {
            (Some(keys), HaPhase::Keyed | HaPhase::Configuring) => seal::seal(
                keys,
                Direction::HaToNode,
                &self.header(MessageType::ConfigResponse),
                &encode_refusal(cause, text)?,
            )?,
            _ => Repr {
                session_id: self.session_id,
                sequence: self.last_sequence,
                body: Body::Error { cause, text },
            }
            .to_bytes()?,
        };
        self.phase = HaPhase::Failed;
        Ok(self.store(bytes))
    }
}
