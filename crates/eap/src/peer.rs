//! The EAP-AKA' peer, sans-IO, running AKA on a USIM through
//! `telsec_auth::usim::UsimClient` (a soft USIM or a real card).
//!
//! Requests from the server go in through [`Peer::handle`]; the answer is a
//! [`PeerAction`]: a response to send, a discard, or the end of the run.
//!
//! On an AKA-Challenge the peer checks, in this order (RFC 4187 §9.3,
//! RFC 9048 §3):
//! 1. AT_RAND, AT_AUTN, AT_MAC, AT_KDF and AT_KDF_INPUT are present
//!    (Client-Error otherwise);
//! 2. AT_KDF: KDF 1 first is accepted; KDF 1 later in the list is asked
//!    for with an AKA-Challenge response carrying only AT_KDF = 1, and the
//!    server's repeated challenge must list 1 followed by its original list;
//!    no KDF 1 at all is an Authentication-Reject (RFC 9048 §3.2);
//! 3. AT_KDF_INPUT is not empty (Client-Error) and equals the expected
//!    network name when one is configured (Authentication-Reject,
//!    RFC 9048 §3.1);
//! 4. the AMF separation bit of AUTN is set (Authentication-Reject,
//!    RFC 9048 §3.3);
//! 5. the USIM checks AUTN: a MAC failure is an Authentication-Reject, an
//!    SQN out of range a Synchronization-Failure with AT_AUTS and the
//!    challenge's AT_KDF list (RFC 9048 §3.2);
//! 6. AT_MAC with K_aut from CK'/IK' (Client-Error when wrong), and
//!    AT_CHECKCODE against the identity messages seen (Client-Error);
//! 7. the answer: AT_RES (length in bits), AT_CHECKCODE when asked, AT_MAC.
//!
//! EAP-Success is accepted only after step 7 (and not after a failure
//! notification); before that it is discarded. A request with the
//! Identifier of the previous one and the same octets is a retransmission:
//! the previous response is sent again without touching the USIM
//! (RFC 3748 §4.1).

use telsec_auth::usim::{Auth3g, Card, UsimClient};

use crate::attribute::{
    AT_AUTN, AT_KDF, AT_KDF_INPUT, AT_MAC, AT_NOTIFICATION, AT_RAND, Attribute,
    KDF_AKA_PRIME_WITH_CK_IK_PRIME, client_error, notification,
};
use crate::crypto::{self, Checkcode, Emsk, Msk, SessionKeys};
use crate::error::Error;
use crate::message::{AttributeSet, IdRequest, Message, Subtype};
use crate::packet::{Code, EapType, Repr};

/// AKA-Challenge requests one run may carry: the first, one after KDF
/// negotiation and two after resynchronisations.
pub const MAX_CHALLENGES: u8 = 4;

/// What the peer is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// The identity sent in EAP-Response/Identity and AT_IDENTITY, e.g.
    /// `6<IMSI>@realm` or a SUCI in NAI form.
    pub identity: Vec<u8>,
    /// The access network name the peer expects in AT_KDF_INPUT
    /// (RFC 9048 §3.1); `None` accepts any non-empty name.
    pub network_name: Option<Vec<u8>>,
}

impl PeerConfig {
    /// A peer with `identity` expecting `network_name`.
    pub fn new(identity: impl Into<Vec<u8>>, network_name: impl Into<Vec<u8>>) -> PeerConfig {
        PeerConfig {
            identity: identity.into(),
            network_name: Some(network_name.into()),
        }
    }
}

/// Why the peer refused a request (its answer was an
/// Authentication-Reject or a Client-Error), or why it ended.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerProblem {
    /// A malformed AKA' request.
    Malformed(Error),
    /// A required attribute is missing.
    MissingAttribute(u8),
    /// No acceptable KDF, or a KDF list that breaks RFC 9048 §3.2.
    Kdf,
    /// AT_KDF_INPUT empty or not the expected network name.
    NetworkName,
    /// AUTN's AMF separation bit is clear.
    AmfSeparationBit,
    /// The USIM found AUTN's MAC wrong: the network is not authentic.
    AutnMac,
    /// AT_MAC of the request is wrong.
    Mac,
    /// AT_CHECKCODE differs from the identity messages this peer saw.
    Checkcode,
    /// Identity requests out of order (RFC 4187 §4.1.5) or after a
    /// challenge.
    IdentityRequest,
    /// More challenges than [`MAX_CHALLENGES`].
    TooManyChallenges,
    /// A notification this peer cannot accept (a second round, or a P = 0
    /// one without a verified challenge or with a bad AT_MAC).
    Notification,
    /// The server sent a failure notification with this code.
    FailureNotified(u16),
    /// A subtype a peer does not accept (re-authentication: not supported).
    Unsupported(Subtype),
    /// The card failed to answer.
    Card(String),
    /// The server ended with EAP-Failure.
    ServerFailure,
}

/// Why a packet was silently discarded.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerDiscard {
    /// Not a well-formed EAP packet.
    Malformed(Error),
    /// A Response (peers only take requests).
    NotRequest,
    /// EAP-Success before a verified challenge: refused.
    SuccessBeforeAuthentication,
    /// The same Identifier as the previous request with other contents.
    ConflictingRequest(u8),
    /// The run is over.
    Finished,
}

/// The result of a successful run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSuccess {
    /// The identity the keys were derived with.
    pub identity: Vec<u8>,
    /// MSK.
    pub msk: Msk,
    /// EMSK, for telsec-bootstrap's key derivation.
    pub emsk: Emsk,
    /// The EAP Session-Id, `0x32 || RAND || AUTN`.
    pub session_id: Vec<u8>,
}

/// What the caller does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerAction {
    /// Send this EAP-Response.
    Send(Vec<u8>),
    /// The packet was silently discarded.
    Discard(PeerDiscard),
    /// EAP-Success after a verified challenge: the keys.
    Success(PeerSuccess),
    /// EAP-Failure: the run is over without keys. `problem` says why this
    /// peer refused, when it did.
    Failure {
        /// This peer's last refusal, or [`PeerProblem::ServerFailure`].
        problem: PeerProblem,
    },
}

/// Why the peer could not produce an answer (not reachable with a valid
/// configuration).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// A response could not be encoded (an identity over 65535 octets).
    #[error("encoding: {0}")]
    Encode(#[from] Error),
}

#[derive(Debug)]
struct Authenticated {
    keys: SessionKeys,
    identity: Vec<u8>,
    session_id: Vec<u8>,
}

#[derive(Debug)]
struct Last {
    identifier: u8,
    request: Vec<u8>,
    response: Vec<u8>,
}

/// The EAP-AKA' peer of one run. See the [module documentation](self).
#[derive(Debug)]
pub struct Peer<C: Card> {
    config: PeerConfig,
    usim: UsimClient<C>,
    last: Option<Last>,
    /// The identity last sent (RFC 9048 §3.3 uses it in MK).
    sent_identity: Option<Vec<u8>>,
    checkcode: Checkcode,
    id_request: Option<IdRequest>,
    /// The server's first AT_KDF list, kept after asking for KDF 1.
    negotiated: Option<Vec<u16>>,
    challenges: u8,
    notified: bool,
    authenticated: Option<Authenticated>,
    problem: Option<PeerProblem>,
    finished: bool,
}

impl<C: Card> Peer<C> {
    /// A peer for one run over `usim`.
    pub fn new(config: PeerConfig, usim: UsimClient<C>) -> Peer<C> {
        Peer {
            config,
            usim,
            last: None,
            sent_identity: None,
            checkcode: Checkcode::new(),
            id_request: None,
            negotiated: None,
            challenges: 0,
            notified: false,
            authenticated: None,
            problem: None,
            finished: false,
        }
    }

    /// The USIM client, e.g. to read the card's state after the run.
    pub fn usim(&self) -> &UsimClient<C> {
        &self.usim
    }

    /// Give the USIM client back.
    pub fn into_usim(self) -> UsimClient<C> {
        self.usim
    }

    /// Why this peer last refused a request, if it did.
    pub fn problem(&self) -> Option<&PeerProblem> {
        self.problem.as_ref()
    }

    /// Whether the run is over.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Feed a packet received from the server.
    ///
    /// # Errors
    /// [`PeerError::Encode`] if the answer cannot be encoded.
    pub fn handle(&mut self, bytes: &[u8]) -> Result<PeerAction, PeerError> {
        if self.finished {
            return Ok(PeerAction::Discard(PeerDiscard::Finished));
        }
        let repr = match Repr::parse_bytes(bytes) {
            Ok(repr) => repr,
            Err(e) => return Ok(PeerAction::Discard(PeerDiscard::Malformed(e))),
        };
        let packet = &bytes[..repr.buffer_len()];
        match repr.code {
            // Only after a verified challenge; a failure notification, a
            // reject or a client error since then cleared it.
            Code::Success => match self.authenticated.take() {
                Some(auth) => {
                    self.finished = true;
                    Ok(PeerAction::Success(PeerSuccess {
                        msk: auth.keys.msk(),
                        emsk: auth.keys.emsk(),
                        identity: auth.identity,
                        session_id: auth.session_id,
                    }))
                }
                None => Ok(PeerAction::Discard(
                    PeerDiscard::SuccessBeforeAuthentication,
                )),
            },
            Code::Failure => {
                self.finished = true;
                self.authenticated = None;
                Ok(PeerAction::Failure {
                    problem: self.problem.clone().unwrap_or(PeerProblem::ServerFailure),
                })
            }
            Code::Request => {
                if let Some(last) = self
                    .last
                    .as_ref()
                    .filter(|l| l.identifier == repr.identifier)
                {
                    return Ok(if last.request == packet {
                        PeerAction::Send(last.response.clone())
                    } else {
                        PeerAction::Discard(PeerDiscard::ConflictingRequest(repr.identifier))
                    });
                }
                let response = self.on_request(&repr, packet)?;
                self.last = Some(Last {
                    identifier: repr.identifier,
                    request: packet.to_vec(),
                    response: response.clone(),
                });
                Ok(PeerAction::Send(response))
            }
            Code::Response | Code::Unknown(_) => Ok(PeerAction::Discard(PeerDiscard::NotRequest)),
        }
    }

    fn on_request(&mut self, repr: &Repr<'_>, packet: &[u8]) -> Result<Vec<u8>, PeerError> {
        let id = repr.identifier;
        let Some((typ, data)) = repr.payload else {
            return Ok(Repr::response(id, EapType::Nak, &[50]).to_bytes()?);
        };
        Ok(match typ {
            EapType::Identity => {
                self.sent_identity = Some(self.config.identity.clone());
                Repr::response(id, EapType::Identity, &self.config.identity).to_bytes()?
            }
            // RFC 3748 §5.2: a Notification Request gets an empty Response.
            EapType::Notification => Repr::response(id, EapType::Notification, &[]).to_bytes()?,
            EapType::AkaPrime => match Message::parse(data) {
                Ok(message) => self.on_message(id, packet, &message)?,
                Err(e) => self.client_error(id, PeerProblem::Malformed(e))?,
            },
            // RFC 3748 §5.3.2: an Expanded Nak naming AKA' (vendor 0).
            EapType::Expanded => Repr::response(
                id,
                EapType::Expanded,
                &[0, 0, 0, 0, 0, 0, 3, 254, 0, 0, 0, 0, 0, 0, 50],
            )
            .to_bytes()?,
            // RFC 3748 §5.3.1: a Legacy Nak proposing AKA'.
            _ => Repr::response(id, EapType::Nak, &[50]).to_bytes()?,
        })
    }

    fn respond(
        &self,
        id: u8,
        subtype: Subtype,
        attributes: Vec<Attribute<'_>>,
        k_aut: Option<&[u8; 32]>,
    ) -> Result<Vec<u8>, PeerError> {
        Ok(Message::new(subtype, attributes).to_packet(Code::Response, id, k_aut)?)
    }

    /// AKA-Client-Error "unable to process packet" (RFC 4187 §6.3.1).
    fn client_error(&mut self, id: u8, problem: PeerProblem) -> Result<Vec<u8>, PeerError> {
        self.problem = Some(problem);
        self.authenticated = None;
        self.respond(
            id,
            Subtype::ClientError,
            vec![Attribute::ClientErrorCode(
                client_error::UNABLE_TO_PROCESS_PACKET,
            )],
            None,
        )
    }

    /// AKA-Authentication-Reject (RFC 4187 §6.3.1, §9.5).
    fn reject(&mut self, id: u8, problem: PeerProblem) -> Result<Vec<u8>, PeerError> {
        self.problem = Some(problem);
        self.authenticated = None;
        self.respond(id, Subtype::AuthenticationReject, vec![], None)
    }

    fn on_message(
        &mut self,
        id: u8,
        packet: &[u8],
        message: &Message<'_>,
    ) -> Result<Vec<u8>, PeerError> {
        let set = match message.attribute_set() {
            Ok(set) => set,
            Err(e) => return self.client_error(id, PeerProblem::Malformed(e)),
        };
        match message.subtype {
            Subtype::Identity => self.on_identity(id, packet, &set),
            Subtype::Challenge => self.on_challenge(id, packet, &set),
            Subtype::Notification => self.on_notification(id, packet, &set),
            other => self.client_error(id, PeerProblem::Unsupported(other)),
        }
    }

    /// AKA-Identity (RFC 4187 §4.1.5, §9.1): exactly one identity request,
    /// each strictly stricter than the one before, none after a challenge.
    fn on_identity(
        &mut self,
        id: u8,
        packet: &[u8],
        set: &AttributeSet<'_>,
    ) -> Result<Vec<u8>, PeerError> {
        let [request] = set.id_requests[..] else {
            return self.client_error(id, PeerProblem::IdentityRequest);
        };
        if self.challenges > 0 || self.id_request.is_some_and(|prev| request <= prev) {
            return self.client_error(id, PeerProblem::IdentityRequest);
        }
        self.id_request = Some(request);
        let identity = self.config.identity.clone();
        let response = self.respond(
            id,
            Subtype::Identity,
            vec![Attribute::Identity(&identity)],
            None,
        )?;
        self.checkcode.update(packet);
        self.checkcode.update(&response);
        self.sent_identity = Some(identity);
        Ok(response)
    }

    fn on_challenge(
        &mut self,
        id: u8,
        packet: &[u8],
        set: &AttributeSet<'_>,
    ) -> Result<Vec<u8>, PeerError> {
        self.challenges = self.challenges.saturating_add(1);
        if self.challenges > MAX_CHALLENGES {
            return self.client_error(id, PeerProblem::TooManyChallenges);
        }
        // A new challenge replaces any earlier verified one.
        self.authenticated = None;
        let missing = [
            (set.rand.is_none(), AT_RAND),
            (set.autn.is_none(), AT_AUTN),
            (set.mac.is_none(), AT_MAC),
            (set.kdfs.is_empty(), AT_KDF),
            (set.kdf_input.is_none(), AT_KDF_INPUT),
        ];
        if let Some(&(_, typ)) = missing.iter().find(|(absent, _)| *absent) {
            return self.client_error(id, PeerProblem::MissingAttribute(typ));
        }
        let (Some(rand), Some(autn), Some(name)) = (set.rand, set.autn, set.kdf_input) else {
            return self.client_error(id, PeerProblem::MissingAttribute(AT_RAND));
        };

        // RFC 9048 §3.2: KDF selection and negotiation.
        if let Some(original) = &self.negotiated {
            let follows = set.kdfs.first() == Some(&KDF_AKA_PRIME_WITH_CK_IK_PRIME)
                && set.kdfs[1..] == original[..];
            if !follows {
                return self.client_error(id, PeerProblem::Kdf);
            }
        } else if set.kdfs[0] != KDF_AKA_PRIME_WITH_CK_IK_PRIME {
            if !set.kdfs.contains(&KDF_AKA_PRIME_WITH_CK_IK_PRIME) {
                return self.reject(id, PeerProblem::Kdf);
            }
            self.negotiated = Some(set.kdfs.clone());
            return self.respond(
                id,
                Subtype::Challenge,
                vec![Attribute::Kdf(KDF_AKA_PRIME_WITH_CK_IK_PRIME)],
                None,
            );
        }

        // RFC 9048 §3.1: the network name.
        if name.is_empty() {
            return self.client_error(id, PeerProblem::NetworkName);
        }
        if self
            .config
            .network_name
            .as_ref()
            .is_some_and(|expected| expected.as_slice() != name)
        {
            return self.reject(id, PeerProblem::NetworkName);
        }
        // RFC 9048 §3.3: AMF separation bit (bit 0 of AMF) set.
        if autn[6] & 0x80 == 0 {
            return self.reject(id, PeerProblem::AmfSeparationBit);
        }

        let (res, ck, ik) = match self.usim.authenticate_3g(&rand, &autn) {
            Ok(Auth3g::Success { res, ck, ik, .. }) => (res, ck, ik),
            Ok(Auth3g::SyncFailure { auts }) => {
                let mut attributes = vec![Attribute::Auts(auts)];
                attributes.extend(set.kdfs.iter().map(|&k| Attribute::Kdf(k)));
                return self.respond(id, Subtype::SynchronizationFailure, attributes, None);
            }
            Ok(Auth3g::MacFailure) => return self.reject(id, PeerProblem::AutnMac),
            Err(e) => return self.client_error(id, PeerProblem::Card(e.to_string())),
        };
        let identity = self
            .sent_identity
            .clone()
            .unwrap_or_else(|| self.config.identity.clone());
        let keys = match SessionKeys::derive(&ck, &ik, name, &autn, &identity) {
            Ok(keys) => keys,
            Err(_) => return self.client_error(id, PeerProblem::NetworkName),
        };
        match crypto::verify_packet_mac(packet, keys.k_aut()) {
            Ok(true) => {}
            Ok(false) | Err(_) => return self.client_error(id, PeerProblem::Mac),
        }
        if set
            .checkcode
            .is_some_and(|code| !self.checkcode.matches(code))
        {
            return self.client_error(id, PeerProblem::Checkcode);
        }
        let checkcode = self.checkcode.value();
        let res_bytes = res.as_bytes();
        let mut attributes = vec![Attribute::Res {
            bits: (res_bytes.len() * 8) as u16,
            res: res_bytes,
        }];
        if set.checkcode.is_some() {
            attributes.push(Attribute::Checkcode(&checkcode));
        }
        attributes.push(Attribute::Mac([0; 16]));
        let response = self.respond(id, Subtype::Challenge, attributes, Some(keys.k_aut()))?;
        self.problem = None;
        self.authenticated = Some(Authenticated {
            keys,
            identity,
            session_id: crypto::session_id(&rand, &autn),
        });
        Ok(response)
    }

    /// AKA-Notification (RFC 4187 §6, §9.10, §9.11): one round; P = 0
    /// notifications need a verified challenge and a good AT_MAC, and the
    /// answer then carries AT_MAC too.
    fn on_notification(
        &mut self,
        id: u8,
        packet: &[u8],
        set: &AttributeSet<'_>,
    ) -> Result<Vec<u8>, PeerError> {
        if self.notified {
            return self.client_error(id, PeerProblem::Notification);
        }
        self.notified = true;
        let Some(code) = set.notification else {
            return self.client_error(id, PeerProblem::MissingAttribute(AT_NOTIFICATION));
        };
        let before_challenge = code & notification::P_BIT != 0;
        let response = if before_challenge {
            if set.mac.is_some() {
                return self.client_error(id, PeerProblem::Notification);
            }
            self.respond(id, Subtype::Notification, vec![], None)?
        } else {
            let Some(auth) = &self.authenticated else {
                return self.client_error(id, PeerProblem::Notification);
            };
            let k_aut = *auth.keys.k_aut();
            if !matches!(crypto::verify_packet_mac(packet, &k_aut), Ok(true)) {
                return self.client_error(id, PeerProblem::Notification);
            }
            self.respond(
                id,
                Subtype::Notification,
                vec![Attribute::Mac([0; 16])],
                Some(&k_aut),
            )?
        };
        if code & notification::S_BIT == 0 {
            // A failure notification: no Success will be accepted.
            self.problem = Some(PeerProblem::FailureNotified(code));
            self.authenticated = None;
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telsec_auth::milenage::Milenage;
    use telsec_auth::usim::{CardAlgorithm, SoftUsim, UsimConfig};

    fn peer() -> Peer<SoftUsim> {
        let alg = Milenage::with_opc(&[1; 16], &[2; 16]);
        let card = SoftUsim::new(UsimConfig::new(
            "001010123456789",
            CardAlgorithm::Aka(Box::new(alg)),
        ))
        .unwrap();
        Peer::new(
            PeerConfig::new("6001010123456789@realm", "WLAN"),
            UsimClient::new(card),
        )
    }

    fn send(action: Result<PeerAction, PeerError>) -> Vec<u8> {
        match action {
            Ok(PeerAction::Send(p)) => p,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    #[test]
    fn answers_identity_requests() {
        let mut p = peer();
        let response = send(p.handle(&[1, 3, 0, 5, 1]));
        let repr = Repr::parse_bytes(&response).unwrap();
        assert_eq!(
            repr,
            Repr::response(3, EapType::Identity, b"6001010123456789@realm")
        );
        // The retransmitted request gets the same response.
        assert_eq!(send(p.handle(&[1, 3, 0, 5, 1])), response);
        // Other methods get a Nak proposing AKA'.
        assert_eq!(send(p.handle(&[1, 4, 0, 5, 4])), [2, 4, 0, 6, 3, 50]);
        // EAP Notification gets an empty answer.
        assert_eq!(send(p.handle(&[1, 5, 0, 6, 2, b'x'])), [2, 5, 0, 5, 2]);
    }

    #[test]
    fn identity_requests_must_tighten() {
        let mut p = peer();
        let any = Message::new(Subtype::Identity, vec![Attribute::AnyIdReq])
            .to_packet(Code::Request, 1, None)
            .unwrap();
        let response = send(p.handle(&any));
        let (_, _, msg) = Message::parse_packet(&response).unwrap();
        assert_eq!(
            msg.attributes,
            vec![Attribute::Identity(b"6001010123456789@realm")]
        );
        let permanent = Message::new(Subtype::Identity, vec![Attribute::PermanentIdReq])
            .to_packet(Code::Request, 2, None)
            .unwrap();
        let response = send(p.handle(&permanent));
        assert_eq!(
            Message::parse_packet(&response).unwrap().2.subtype,
            Subtype::Identity
        );
        // A looser request after a stricter one: Client-Error.
        let full = Message::new(Subtype::Identity, vec![Attribute::FullauthIdReq])
            .to_packet(Code::Request, 3, None)
            .unwrap();
        let response = send(p.handle(&full));
        assert_eq!(
            Message::parse_packet(&response).unwrap().2.subtype,
            Subtype::ClientError
        );
        assert_eq!(p.problem(), Some(&PeerProblem::IdentityRequest));
    }

    #[test]
    fn success_before_challenge_is_refused() {
        let mut p = peer();
        assert_eq!(
            p.handle(&[3, 1, 0, 4]),
            Ok(PeerAction::Discard(
                PeerDiscard::SuccessBeforeAuthentication
            ))
        );
        assert_eq!(
            p.handle(&[4, 1, 0, 4]),
            Ok(PeerAction::Failure {
                problem: PeerProblem::ServerFailure
            })
        );
        assert_eq!(
            p.handle(&[3, 1, 0, 4]),
            Ok(PeerAction::Discard(PeerDiscard::Finished))
        );
    }

    #[test]
    fn challenge_checks_before_the_card() {
        let challenge = |kdfs: &[u16], name: &[u8], autn: [u8; 16]| {
            let mut attrs = vec![Attribute::Rand([7; 16]), Attribute::Autn(autn)];
            attrs.extend(kdfs.iter().map(|&k| Attribute::Kdf(k)));
            attrs.push(Attribute::KdfInput(name));
            attrs.push(Attribute::Mac([0; 16]));
            Message::new(Subtype::Challenge, attrs)
                .to_packet(Code::Request, 9, None)
                .unwrap()
        };
        let mut autn = [0u8; 16];
        autn[6] = 0x80;
        fn subtype(p: &[u8]) -> Message<'_> {
            Message::parse_packet(p).unwrap().2
        }
        // No KDF 1 offered: reject.
        let mut p = peer();
        let r = send(p.handle(&challenge(&[2], b"WLAN", autn)));
        assert_eq!(subtype(&r).subtype, Subtype::AuthenticationReject);
        assert_eq!(p.problem(), Some(&PeerProblem::Kdf));
        // KDF 1 offered second: ask for it.
        let mut p = peer();
        let r = send(p.handle(&challenge(&[2, 1], b"WLAN", autn)));
        assert_eq!(
            subtype(&r),
            Message::new(Subtype::Challenge, vec![Attribute::Kdf(1)])
        );
        // The server's new list must be 1 followed by the original list.
        let mut wrong = challenge(&[1, 2], b"WLAN", autn);
        wrong[1] = 10;
        let r = send(p.handle(&wrong));
        assert_eq!(subtype(&r).subtype, Subtype::ClientError);
        // Wrong and empty network names.
        let mut p = peer();
        let r = send(p.handle(&challenge(&[1], b"HRPD", autn)));
        assert_eq!(subtype(&r).subtype, Subtype::AuthenticationReject);
        assert_eq!(p.problem(), Some(&PeerProblem::NetworkName));
        let mut p = peer();
        let r = send(p.handle(&challenge(&[1], b"", autn)));
        assert_eq!(subtype(&r).subtype, Subtype::ClientError);
        // AMF separation bit clear.
        let mut p = peer();
        let r = send(p.handle(&challenge(&[1], b"WLAN", [0; 16])));
        assert_eq!(subtype(&r).subtype, Subtype::AuthenticationReject);
        assert_eq!(p.problem(), Some(&PeerProblem::AmfSeparationBit));
        // A forged AUTN: the card's MAC check fails.
        let mut p = peer();
        let r = send(p.handle(&challenge(&[1], b"WLAN", autn)));
        assert_eq!(subtype(&r).subtype, Subtype::AuthenticationReject);
        assert_eq!(p.problem(), Some(&PeerProblem::AutnMac));
        // Missing attributes.
        let mut p = peer();
        let bare = Message::new(Subtype::Challenge, vec![Attribute::Rand([0; 16])])
            .to_packet(Code::Request, 1, None)
            .unwrap();
        let r = send(p.handle(&bare));
        assert_eq!(subtype(&r).subtype, Subtype::ClientError);
        assert_eq!(p.problem(), Some(&PeerProblem::MissingAttribute(AT_AUTN)));
    }

    #[test]
    fn reauthentication_is_refused() {
        let mut p = peer();
        let reauth = Message::new(Subtype::Reauthentication, vec![])
            .to_packet(Code::Request, 1, None)
            .unwrap();
        let r = send(p.handle(&reauth));
        assert_eq!(
            Message::parse_packet(&r).unwrap().2.attributes,
            vec![Attribute::ClientErrorCode(0)]
        );
        assert_eq!(
            p.problem(),
            Some(&PeerProblem::Unsupported(Subtype::Reauthentication))
        );
    }
}
