//! The EAP-AKA' server (authenticator and EAP server in one), sans-IO.
//!
//! Packets from the peer go in through [`Server::handle`]; vectors from the
//! HLR through [`Server::on_vector`]; timer expiries through
//! [`Server::retransmit`]. Each returns an [`Action`]: a packet to send, a
//! vector to fetch, or the end of the run with its [`Outcome`].
//!
//! ```text
//! start ──► AKA-Identity(AT_PERMANENT_ID_REQ) ──► AT_IDENTITY ─┐
//! start_eap_identity ──► Identity ──► Response/Identity ───────┤ (or AKA-Identity
//! start_with_identity(id) ─────────────────────────────────────┤  when unusable)
//!                                                              ▼
//!                                              Action::NeedVector{imsi}
//!                                                              │ on_vector
//!                                                              ▼
//!       AKA-Challenge(AT_RAND, AT_AUTN, AT_KDF=1, AT_KDF_INPUT, AT_CHECKCODE, AT_MAC)
//!          │ AT_MAC and AT_RES good            │ Synchronization-Failure(AT_AUTS)
//!          ▼                                   ▼
//!   EAP-Success + Outcome::Success      Action::NeedResync ─► on_vector ─► new challenge
//!                                       (at most `max_resyncs` times)
//! ```
//!
//! Failures follow RFC 4187 §6.3.2/§6.3.3: an error found in a response
//! (bad AT_MAC, wrong RES, malformed message, unusable identity) starts one
//! AKA-Notification round with "General failure" and then EAP-Failure;
//! Authentication-Reject and Client-Error get EAP-Failure directly. No keys
//! leave the server unless AT_MAC and RES were both verified. Responses are
//! matched to the outstanding request by Identifier; others, including
//! duplicates of an already answered request, are silently discarded
//! (RFC 3748 §4.1). Retransmission is the caller's timer: it calls
//! [`Server::retransmit`], which resends the outstanding request up to
//! `max_retransmits` times.

use telsec_auth::aka::{AuthVector, res_matches};
use telsec_auth::kdf::KdfError;

use crate::attribute::{
    AT_AUTS, AT_IDENTITY, AT_RES, Attribute, KDF_AKA_PRIME_WITH_CK_IK_PRIME, MAX_ATTRIBUTE_LEN,
    notification,
};
use crate::crypto::{self, Checkcode, Emsk, Msk, SessionKeys};
use crate::error::Error;
use crate::identity::{IdentityError, IdentityResolver};
use crate::message::{Message, Subtype};
use crate::packet::{Code, EapType, Repr};

/// Resynchronisations allowed in one run by default.
pub const DEFAULT_MAX_RESYNCS: u8 = 2;
/// Retransmissions of one request allowed by default.
pub const DEFAULT_MAX_RETRANSMITS: u8 = 3;
/// The longest access network name: what AT_KDF_INPUT can carry.
pub const MAX_NETWORK_NAME_LEN: usize = MAX_ATTRIBUTE_LEN - 4;

/// What the server is configured with.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The access network name sent in AT_KDF_INPUT and bound into CK'/IK'
    /// (RFC 9048 §3.1), e.g. the home agent's network name.
    pub network_name: Vec<u8>,
    /// Realm and SUCI keys for reading identities.
    pub identities: IdentityResolver,
    /// Synchronization-Failures accepted before giving up.
    pub max_resyncs: u8,
    /// Retransmissions of one request before giving up.
    pub max_retransmits: u8,
}

impl ServerConfig {
    /// A server for `network_name` with no realm check, no SUCI keys and
    /// the default limits.
    pub fn new(network_name: impl Into<Vec<u8>>) -> ServerConfig {
        ServerConfig {
            network_name: network_name.into(),
            identities: IdentityResolver::default(),
            max_resyncs: DEFAULT_MAX_RESYNCS,
            max_retransmits: DEFAULT_MAX_RETRANSMITS,
        }
    }
}

/// Why the server refused a call (API misuse or configuration), as opposed
/// to a protocol failure, which is an [`Outcome::Failure`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    /// The network name is empty or longer than [`MAX_NETWORK_NAME_LEN`].
    #[error("invalid access network name")]
    NetworkName,
    /// `start*` was called on a server already started.
    #[error("server already started")]
    AlreadyStarted,
    /// A vector arrived while none was asked for.
    #[error("no vector was asked for")]
    UnexpectedVector,
    /// The vector's AMF has the separation bit clear: RFC 9048 §3.3 (after
    /// TS 33.402 §6.1) requires it set for EAP-AKA'.
    #[error("AMF separation bit not set in the vector")]
    AmfSeparationBit,
    /// Key derivation refused its inputs.
    #[error("key derivation: {0}")]
    Kdf(#[from] KdfError),
    /// A packet could not be encoded.
    #[error("encoding: {0}")]
    Encode(#[from] Error),
}

/// Why a run failed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReason {
    /// The peer answered with a Nak: it does not run EAP-AKA' (RFC 3748
    /// §5.3).
    Nak,
    /// No IMSI could be had from the peer's identity.
    Identity(IdentityError),
    /// A malformed EAP-AKA' response.
    Malformed(Error),
    /// A required attribute is missing.
    MissingAttribute(u8),
    /// A response of a subtype not expected now.
    Unexpected(Subtype),
    /// AT_MAC missing or wrong.
    Mac,
    /// AT_RES wrong: the peer's USIM does not hold the subscriber's key.
    Res,
    /// AT_CHECKCODE differs: the identity round was tampered with.
    Checkcode,
    /// AT_KDF negotiation or a Synchronization-Failure's AT_KDF list that
    /// does not match what was offered (RFC 9048 §3.2).
    Kdf,
    /// AKA-Authentication-Reject: the peer refused AUTN or the network name.
    AuthenticationReject,
    /// AKA-Client-Error with this code.
    ClientError(u16),
    /// More Synchronization-Failures than allowed.
    TooManyResyncs,
    /// The caller had no vector for the subscriber.
    VectorUnavailable,
    /// The peer stopped answering.
    Timeout,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// AT_MAC and RES verified: the keys of RFC 9048 §3.3.
    Success {
        /// The subscriber's IMSI.
        imsi: String,
        /// The identity the keys were derived with (RFC 9048 §3.3).
        identity: Vec<u8>,
        /// MSK.
        msk: Msk,
        /// EMSK.
        emsk: Emsk,
        /// The EAP Session-Id, `0x32 || RAND || AUTN`.
        session_id: Vec<u8>,
    },
    /// The run failed; no keys.
    Failure(FailureReason),
}

/// Why a packet was silently discarded (RFC 3748 §4.1, §7.2): nothing
/// changes in the server.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discard {
    /// Not a well-formed EAP packet.
    Malformed(Error),
    /// Not a Response.
    NotResponse(Code),
    /// No request is outstanding (a duplicate of an answered one, or a
    /// response while a vector is awaited).
    NoRequest,
    /// The Identifier does not match the outstanding request.
    Identifier {
        /// The identifier of the outstanding request.
        expected: u8,
        /// The identifier received.
        got: u8,
    },
    /// A Response Type the outstanding request does not allow.
    UnexpectedType(EapType),
    /// The run is over.
    Finished,
}

/// What the caller does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this EAP packet to the peer (and arm the retransmission timer).
    Send(Vec<u8>),
    /// Fetch a vector for this IMSI from the HLR, then call
    /// [`Server::on_vector`] (or [`Server::on_vector_unavailable`]).
    NeedVector {
        /// The subscriber.
        imsi: String,
    },
    /// The USIM refused the SQN: resynchronise the HLR with AUTS (GSUP
    /// SendAuthInfo with RAND and AUTS) and call [`Server::on_vector`] with
    /// the fresh vector.
    NeedResync {
        /// The subscriber.
        imsi: String,
        /// RAND of the refused challenge.
        rand: [u8; 16],
        /// AUTS from the USIM.
        auts: [u8; 14],
    },
    /// Send the final EAP-Success or EAP-Failure; the run is over.
    Finish {
        /// The EAP-Success or EAP-Failure packet.
        packet: Vec<u8>,
        /// The result.
        outcome: Outcome,
    },
    /// The packet was silently discarded.
    Discard(Discard),
    /// Nothing to do.
    Idle,
}

#[derive(Debug)]
struct Pending {
    identifier: u8,
    packet: Vec<u8>,
    retransmits: u8,
}

#[derive(Debug)]
struct Challenge {
    imsi: String,
    identity: Vec<u8>,
    rand: [u8; 16],
    autn: [u8; 16],
    xres: telsec_auth::Res,
    keys: SessionKeys,
}

#[derive(Debug)]
enum State {
    Idle,
    EapIdentity,
    AkaIdentity,
    AwaitVector { imsi: String, identity: Vec<u8> },
    Challenge(Box<Challenge>),
    AwaitResync { imsi: String, identity: Vec<u8> },
    Notifying(FailureReason),
    Done,
}

/// The EAP-AKA' server of one run. See the [module documentation](self).
#[derive(Debug)]
pub struct Server {
    config: ServerConfig,
    next_identifier: u8,
    pending: Option<Pending>,
    state: State,
    checkcode: Checkcode,
    resyncs: u8,
}

impl Server {
    /// A server for one run; `first_identifier` is the Identifier of its
    /// first request (RFC 3748 §4.1 suggests starting at a random value).
    ///
    /// # Errors
    /// [`ServerError::NetworkName`] for an empty or overlong network name.
    pub fn new(config: ServerConfig, first_identifier: u8) -> Result<Server, ServerError> {
        if config.network_name.is_empty() || config.network_name.len() > MAX_NETWORK_NAME_LEN {
            return Err(ServerError::NetworkName);
        }
        Ok(Server {
            config,
            next_identifier: first_identifier,
            pending: None,
            state: State::Idle,
            checkcode: Checkcode::new(),
            resyncs: 0,
        })
    }

    /// Whether the run is over.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Start by asking for the permanent identity with
    /// EAP-Request/AKA-Identity and AT_PERMANENT_ID_REQ (RFC 4187 §4.1.6).
    ///
    /// # Errors
    /// [`ServerError::AlreadyStarted`].
    pub fn start(&mut self) -> Result<Action, ServerError> {
        self.check_idle()?;
        self.request_permanent_identity()
    }

    /// Start with an EAP-Request/Identity (RFC 3748 §5.1); a usable identity
    /// in the answer goes straight to the vector request.
    ///
    /// # Errors
    /// [`ServerError::AlreadyStarted`].
    pub fn start_eap_identity(&mut self) -> Result<Action, ServerError> {
        self.check_idle()?;
        self.state = State::EapIdentity;
        let identifier = self.take_identifier();
        let packet = Repr::request(identifier, EapType::Identity, &[]).to_bytes()?;
        Ok(self.send(identifier, packet))
    }

    /// Start with an identity the lower layer already received in an
    /// EAP-Response/Identity. If it yields an IMSI the next action is
    /// [`Action::NeedVector`], otherwise an AKA-Identity request.
    ///
    /// # Errors
    /// [`ServerError::AlreadyStarted`].
    pub fn start_with_identity(&mut self, identity: &[u8]) -> Result<Action, ServerError> {
        self.check_idle()?;
        self.use_outer_identity(identity)
    }

    fn check_idle(&self) -> Result<(), ServerError> {
        match self.state {
            State::Idle => Ok(()),
            _ => Err(ServerError::AlreadyStarted),
        }
    }

    fn take_identifier(&mut self) -> u8 {
        let id = self.next_identifier;
        self.next_identifier = id.wrapping_add(1);
        id
    }

    fn send(&mut self, identifier: u8, packet: Vec<u8>) -> Action {
        self.pending = Some(Pending {
            identifier,
            packet: packet.clone(),
            retransmits: 0,
        });
        Action::Send(packet)
    }

    fn request_permanent_identity(&mut self) -> Result<Action, ServerError> {
        let identifier = self.take_identifier();
        let packet = Message::new(Subtype::Identity, vec![Attribute::PermanentIdReq]).to_packet(
            Code::Request,
            identifier,
            None,
        )?;
        self.checkcode.update(&packet);
        self.state = State::AkaIdentity;
        Ok(self.send(identifier, packet))
    }

    /// An identity from EAP-Response/Identity: use it when it gives an IMSI,
    /// else ask for the permanent identity.
    fn use_outer_identity(&mut self, identity: &[u8]) -> Result<Action, ServerError> {
        match self.config.identities.resolve(identity) {
            Ok(resolved) => {
                let imsi = resolved.imsi().to_owned();
                self.state = State::AwaitVector {
                    imsi: imsi.clone(),
                    identity: identity.to_vec(),
                };
                Ok(Action::NeedVector { imsi })
            }
            Err(_) => self.request_permanent_identity(),
        }
    }

    /// Feed a packet received from the peer.
    ///
    /// # Errors
    /// [`ServerError::Encode`] if an answer could not be encoded (not
    /// reachable with a valid configuration).
    pub fn handle(&mut self, bytes: &[u8]) -> Result<Action, ServerError> {
        if matches!(self.state, State::Done) {
            return Ok(Action::Discard(Discard::Finished));
        }
        let repr = match Repr::parse_bytes(bytes) {
            Ok(repr) => repr,
            Err(e) => return Ok(Action::Discard(Discard::Malformed(e))),
        };
        if repr.code != Code::Response {
            return Ok(Action::Discard(Discard::NotResponse(repr.code)));
        }
        let Some(pending) = &self.pending else {
            return Ok(Action::Discard(Discard::NoRequest));
        };
        if pending.identifier != repr.identifier {
            return Ok(Action::Discard(Discard::Identifier {
                expected: pending.identifier,
                got: repr.identifier,
            }));
        }
        let Some((typ, data)) = repr.payload else {
            return Ok(Action::Discard(Discard::Malformed(Error::BadLength(4))));
        };
        let packet = &bytes[..repr.buffer_len()];
        let identifier = repr.identifier;
        match (typ, &self.state) {
            (EapType::Nak, _) => {
                self.pending = None;
                self.finish_failure(identifier, FailureReason::Nak)
            }
            (EapType::Identity, State::EapIdentity) => {
                self.pending = None;
                self.use_outer_identity(data)
            }
            (EapType::AkaPrime, State::EapIdentity) | (EapType::Identity, _) => {
                Ok(Action::Discard(Discard::UnexpectedType(typ)))
            }
            (EapType::AkaPrime, _) => {
                self.pending = None;
                match Message::parse(data) {
                    Ok(message) => self.on_message(identifier, packet, &message),
                    Err(e) => self.fail(identifier, FailureReason::Malformed(e)),
                }
            }
            _ => Ok(Action::Discard(Discard::UnexpectedType(typ))),
        }
    }

    fn on_message(
        &mut self,
        identifier: u8,
        packet: &[u8],
        message: &Message<'_>,
    ) -> Result<Action, ServerError> {
        let set = match message.attribute_set() {
            Ok(set) => set,
            Err(e) => return self.fail(identifier, FailureReason::Malformed(e)),
        };
        if message.subtype == Subtype::ClientError {
            // RFC 4187 §6.3.3: EAP-Failure without a notification round.
            let code = set.client_error_code.unwrap_or(0);
            return self.finish_failure(identifier, FailureReason::ClientError(code));
        }
        let state = core::mem::replace(&mut self.state, State::Done);
        match (message.subtype, state) {
            (Subtype::Identity, State::AkaIdentity) => {
                let Some(identity) = set.identity else {
                    return self.fail(identifier, FailureReason::MissingAttribute(AT_IDENTITY));
                };
                self.checkcode.update(packet);
                match self.config.identities.resolve(identity) {
                    Ok(resolved) => {
                        let imsi = resolved.imsi().to_owned();
                        self.state = State::AwaitVector {
                            imsi: imsi.clone(),
                            identity: identity.to_vec(),
                        };
                        Ok(Action::NeedVector { imsi })
                    }
                    Err(e) => self.fail(identifier, FailureReason::Identity(e)),
                }
            }
            (Subtype::Challenge, State::Challenge(challenge)) => {
                self.on_challenge_response(identifier, packet, &set, *challenge)
            }
            (Subtype::SynchronizationFailure, State::Challenge(challenge)) => {
                let Some(auts) = set.auts else {
                    return self.fail(identifier, FailureReason::MissingAttribute(AT_AUTS));
                };
                // RFC 9048 §3.2: the peer repeats the challenge's AT_KDF
                // list; an RFC 5448 peer sends none.
                if !set.kdfs.is_empty() && set.kdfs != [KDF_AKA_PRIME_WITH_CK_IK_PRIME] {
                    return self.fail(identifier, FailureReason::Kdf);
                }
                if self.resyncs >= self.config.max_resyncs {
                    return self.fail(identifier, FailureReason::TooManyResyncs);
                }
                self.resyncs += 1;
                let Challenge {
                    imsi,
                    identity,
                    rand,
                    ..
                } = *challenge;
                self.state = State::AwaitResync {
                    imsi: imsi.clone(),
                    identity,
                };
                Ok(Action::NeedResync { imsi, rand, auts })
            }
            (Subtype::AuthenticationReject, State::Challenge(_)) => {
                self.finish_failure(identifier, FailureReason::AuthenticationReject)
            }
            // The answer to the notification, or anything else: only one
            // notification round (RFC 4187 §6.1), then EAP-Failure.
            (_, State::Notifying(reason)) => self.finish_failure(identifier, reason),
            (subtype, _) => self.fail(identifier, FailureReason::Unexpected(subtype)),
        }
    }

    fn on_challenge_response(
        &mut self,
        identifier: u8,
        packet: &[u8],
        set: &crate::message::AttributeSet<'_>,
        challenge: Challenge,
    ) -> Result<Action, ServerError> {
        if set.res.is_none() && !set.kdfs.is_empty() {
            // A KDF negotiation answer (RFC 9048 §3.2): only KDF 1 was
            // offered, so there is nothing the peer could pick instead.
            return self.fail(identifier, FailureReason::Kdf);
        }
        match crypto::verify_packet_mac(packet, challenge.keys.k_aut()) {
            Ok(true) => {}
            Ok(false) | Err(_) => return self.fail(identifier, FailureReason::Mac),
        }
        let Some((bits, res)) = set.res else {
            return self.fail(identifier, FailureReason::MissingAttribute(AT_RES));
        };
        let length_ok = usize::from(bits) == challenge.xres.as_bytes().len() * 8;
        if !(length_ok & res_matches(&challenge.xres, res)) {
            return self.fail(identifier, FailureReason::Res);
        }
        if set
            .checkcode
            .is_some_and(|code| !self.checkcode.matches(code))
        {
            return self.fail(identifier, FailureReason::Checkcode);
        }
        let outcome = Outcome::Success {
            imsi: challenge.imsi,
            identity: challenge.identity,
            msk: challenge.keys.msk(),
            emsk: challenge.keys.emsk(),
            session_id: crypto::session_id(&challenge.rand, &challenge.autn),
        };
        self.state = State::Done;
        Ok(Action::Finish {
            packet: Repr::success(identifier).to_bytes()?,
            outcome,
        })
    }

    /// An error in a response: one AKA-Notification round with "General
    /// failure", then EAP-Failure (RFC 4187 §6.3.2); if a notification was
    /// already sent, EAP-Failure at once.
    fn fail(&mut self, identifier: u8, reason: FailureReason) -> Result<Action, ServerError> {
        if matches!(self.state, State::Notifying(_)) {
            return self.finish_failure(identifier, reason);
        }
        let next = self.take_identifier();
        let packet = Message::new(
            Subtype::Notification,
            vec![Attribute::Notification(notification::GENERAL_FAILURE)],
        )
        .to_packet(Code::Request, next, None)?;
        self.state = State::Notifying(reason);
        Ok(self.send(next, packet))
    }

    fn finish_failure(
        &mut self,
        identifier: u8,
        reason: FailureReason,
    ) -> Result<Action, ServerError> {
        self.state = State::Done;
        self.pending = None;
        Ok(Action::Finish {
            packet: Repr::failure(identifier).to_bytes()?,
            outcome: Outcome::Failure(reason),
        })
    }

    /// The vector asked for by [`Action::NeedVector`] or
    /// [`Action::NeedResync`]: send the AKA-Challenge (RFC 4187 §9.3,
    /// RFC 9048 §3) with AT_RAND, AT_AUTN, AT_KDF = 1, AT_KDF_INPUT,
    /// AT_CHECKCODE and AT_MAC.
    ///
    /// # Errors
    /// [`ServerError::UnexpectedVector`] when no vector is awaited;
    /// [`ServerError::AmfSeparationBit`] for a vector not made for
    /// EAP-AKA' (the state is unchanged: another vector may be given).
    pub fn on_vector(&mut self, vector: &AuthVector) -> Result<Action, ServerError> {
        let (imsi, identity) = match &self.state {
            State::AwaitVector { imsi, identity } | State::AwaitResync { imsi, identity } => {
                (imsi.clone(), identity.clone())
            }
            _ => return Err(ServerError::UnexpectedVector),
        };
        // AMF bit 0 (the most significant) is the separation bit.
        if vector.autn[6] & 0x80 == 0 {
            return Err(ServerError::AmfSeparationBit);
        }
        let keys = SessionKeys::derive(
            &vector.ck,
            &vector.ik,
            &self.config.network_name,
            &vector.autn,
            &identity,
        )?;
        let checkcode = self.checkcode.value();
        let identifier = self.take_identifier();
        let packet = Message::new(
            Subtype::Challenge,
            vec![
                Attribute::Rand(vector.rand),
                Attribute::Autn(vector.autn),
                Attribute::Kdf(KDF_AKA_PRIME_WITH_CK_IK_PRIME),
                Attribute::KdfInput(&self.config.network_name),
                Attribute::Checkcode(&checkcode),
                Attribute::Mac([0; 16]),
            ],
        )
        .to_packet(Code::Request, identifier, Some(keys.k_aut()))?;
        self.state = State::Challenge(Box::new(Challenge {
            imsi,
            identity,
            rand: vector.rand,
            autn: vector.autn,
            xres: vector.xres,
            keys,
        }));
        Ok(self.send(identifier, packet))
    }

    /// The HLR had no vector (unknown subscriber, HLR down): fail the run
    /// with a notification round.
    ///
    /// # Errors
    /// [`ServerError::UnexpectedVector`] when no vector is awaited.
    pub fn on_vector_unavailable(&mut self) -> Result<Action, ServerError> {
        match self.state {
            State::AwaitVector { .. } | State::AwaitResync { .. } => {
                let identifier = self.next_identifier.wrapping_sub(1);
                self.fail(identifier, FailureReason::VectorUnavailable)
            }
            _ => Err(ServerError::UnexpectedVector),
        }
    }

    /// The retransmission timer fired: resend the outstanding request, or
    /// after `max_retransmits` resends end the run with EAP-Failure. With no
    /// request outstanding, [`Action::Idle`].
    ///
    /// # Errors
    /// [`ServerError::Encode`] (not reachable).
    pub fn retransmit(&mut self) -> Result<Action, ServerError> {
        let Some(pending) = &mut self.pending else {
            return Ok(Action::Idle);
        };
        if pending.retransmits < self.config.max_retransmits {
            pending.retransmits += 1;
            return Ok(Action::Send(pending.packet.clone()));
        }
        let identifier = pending.identifier;
        self.finish_failure(identifier, FailureReason::Timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::AT_PERMANENT_ID_REQ;

    fn server() -> Server {
        Server::new(ServerConfig::new("WLAN"), 10).unwrap()
    }

    #[test]
    fn config_checked() {
        assert_eq!(
            Server::new(ServerConfig::new(""), 0).err(),
            Some(ServerError::NetworkName)
        );
        assert_eq!(
            Server::new(ServerConfig::new(vec![b'a'; 2000]), 0).err(),
            Some(ServerError::NetworkName)
        );
    }

    #[test]
    fn start_sends_permanent_id_request() {
        let mut s = server();
        let Ok(Action::Send(packet)) = s.start() else {
            panic!("start");
        };
        assert_eq!(
            packet,
            [1, 10, 0, 12, 50, 5, 0, 0, AT_PERMANENT_ID_REQ, 1, 0, 0]
        );
        assert_eq!(s.start(), Err(ServerError::AlreadyStarted));
        assert_eq!(
            s.on_vector_unavailable(),
            Err(ServerError::UnexpectedVector)
        );
    }

    #[test]
    fn discards_per_rfc3748() {
        let mut s = server();
        s.start().unwrap();
        // Garbage, a request, a wrong identifier.
        assert!(matches!(
            s.handle(&[2, 10, 0]),
            Ok(Action::Discard(Discard::Malformed(_)))
        ));
        assert_eq!(
            s.handle(&[1, 10, 0, 5, 1]),
            Ok(Action::Discard(Discard::NotResponse(Code::Request)))
        );
        assert_eq!(
            s.handle(&[2, 11, 0, 5, 1]),
            Ok(Action::Discard(Discard::Identifier {
                expected: 10,
                got: 11
            }))
        );
        // An answer with the right identifier but the wrong type.
        assert_eq!(
            s.handle(&[2, 10, 0, 5, 1]),
            Ok(Action::Discard(Discard::UnexpectedType(EapType::Identity)))
        );
    }

    #[test]
    fn identity_then_vector_request() {
        let mut s = server();
        s.start().unwrap();
        let response = Message::new(
            Subtype::Identity,
            vec![Attribute::Identity(b"6001010123456789@realm")],
        )
        .to_packet(Code::Response, 10, None)
        .unwrap();
        assert_eq!(
            s.handle(&response),
            Ok(Action::NeedVector {
                imsi: "001010123456789".into()
            })
        );
        // The same response again: no request outstanding.
        assert_eq!(s.handle(&response), Ok(Action::Discard(Discard::NoRequest)));
        // No vector: a notification round then EAP-Failure.
        let Ok(Action::Send(notification)) = s.on_vector_unavailable() else {
            panic!("notification");
        };
        let (code, id, msg) = Message::parse_packet(&notification).unwrap();
        assert_eq!(
            (code, id, msg.subtype),
            (Code::Request, 11, Subtype::Notification)
        );
        let answer = Message::new(Subtype::Notification, vec![])
            .to_packet(Code::Response, 11, None)
            .unwrap();
        assert_eq!(
            s.handle(&answer),
            Ok(Action::Finish {
                packet: vec![4, 11, 0, 4],
                outcome: Outcome::Failure(FailureReason::VectorUnavailable)
            })
        );
        assert!(s.is_finished());
    }

    #[test]
    fn nak_and_client_error_fail_at_once() {
        let mut s = server();
        s.start().unwrap();
        assert_eq!(
            s.handle(&[2, 10, 0, 6, 3, 23]),
            Ok(Action::Finish {
                packet: vec![4, 10, 0, 4],
                outcome: Outcome::Failure(FailureReason::Nak)
            })
        );
        let mut s = server();
        s.start().unwrap();
        let error = Message::new(Subtype::ClientError, vec![Attribute::ClientErrorCode(0)])
            .to_packet(Code::Response, 10, None)
            .unwrap();
        assert_eq!(
            s.handle(&error),
            Ok(Action::Finish {
                packet: vec![4, 10, 0, 4],
                outcome: Outcome::Failure(FailureReason::ClientError(0))
            })
        );
    }

    #[test]
    fn retransmits_then_times_out() {
        let mut s = server();
        let Ok(Action::Send(first)) = s.start() else {
            panic!("start");
        };
        for _ in 0..DEFAULT_MAX_RETRANSMITS {
            assert_eq!(s.retransmit(), Ok(Action::Send(first.clone())));
        }
        assert_eq!(
            s.retransmit(),
            Ok(Action::Finish {
                packet: vec![4, 10, 0, 4],
                outcome: Outcome::Failure(FailureReason::Timeout)
            })
        );
        assert_eq!(s.retransmit(), Ok(Action::Idle));
    }

    #[test]
    fn unusable_outer_identity_asks_for_permanent() {
        let mut s = server();
        let Ok(Action::Send(packet)) = s.start_with_identity(b"7pseudonym@realm") else {
            panic!("AKA-Identity expected");
        };
        let (_, _, msg) = Message::parse_packet(&packet).unwrap();
        assert_eq!(msg.attributes, vec![Attribute::PermanentIdReq]);
        let mut s = server();
        assert_eq!(
            s.start_with_identity(b"6001010123456789@realm"),
            Ok(Action::NeedVector {
                imsi: "001010123456789".into()
            })
        );
    }
}
