//! The mobile node's enrolment, sans-IO (seed 003, steps 2-6 and 10): the
//! bootstrap session ([`NodeSession`]) and the EAP-AKA' peer
//! ([`Peer`], RFC 9048) over the node's USIM, glued in the order
//! `telsec_bootstrap::node` documents.
//!
//! 1. [`Enrolment::start`] reads IMSI and MNC length from the card
//!    (EF_IMSI, EF_AD; TS 31.102 §4.2.2, §4.2.18), builds the permanent
//!    NAI ([`permanent_nai`]) and returns the Start to send.
//! 2. Every datagram from the home agent goes to [`Enrolment::handle`];
//!    whenever [`Enrolment::poll_timeout`] passes, call
//!    [`Enrolment::handle_timeout`]. Both return a [`Step`]: octets to send,
//!    nothing, a dropped datagram, the configuration, or the failure.
//!
//! EAP-Success carries the EMSK into the bootstrap key schedule
//! ([`NodeSession::eap_succeeded`]) and the signed ConfigRequest goes out
//! at once. One network name serves both layers: the peer checks it in
//! AT_KDF_INPUT (RFC 9048 §3.1) and the session keys are derived with it,
//! so a node configured for another home agent fails in EAP already.
//!
//! A datagram that does not fit the session (forged, replayed, stale,
//! garbage) is dropped and changes nothing; nothing here panics on input.
//! One exception is not recoverable: an EAP packet the bootstrap layer
//! accepted but the peer discards (e.g. an EAP-Success before the
//! challenge was verified). The bootstrap layer has then taken the answer
//! and no retransmission can bring another, so the enrolment fails
//! ([`EnrolError::Protocol`]) rather than hang.

use std::time::Instant;
use telsec_auth::suci::{HomeNetworkPublicKey, Profile, SchemeOutput, Suci};

use telsec_auth::usim::{Card, UsimClient};
use telsec_bootstrap::message::NONCE_LEN;
use telsec_bootstrap::{
    Cause, ConfigResponse, NodeError, NodeEvent, NodeSession, NodeSessionConfig, RetransmitPolicy,
    SigningKey,
};
use telsec_eap::peer::PeerDiscard;
use telsec_eap::{Code, Message, Peer, PeerAction, PeerConfig, PeerProblem, Subtype};
use zeroize::Zeroizing;

/// How an enrolment is set up (the IMSI comes from the card).
#[derive(Clone)]
pub struct EnrolmentConfig {
    /// The home agent's network name: expected in AT_KDF_INPUT by the EAP
    /// peer (RFC 9048 §3.1) and an input of the bootstrap key schedule.
    pub network_name: String,
    /// The FQDN the node asks for (the HA decides, seed step 9).
    pub desired_fqdn: Option<String>,
    /// A secret the node shares with the HA in the ConfigRequest.
    pub secret: Option<Zeroizing<Vec<u8>>>,
    /// Retransmission timers of the bootstrap layer.
    pub retransmit: RetransmitPolicy,
    /// The HA key learnt earlier: a configuration signed by another key is
    /// dropped.
    pub pinned_ha_key: Option<[u8; 32]>,
    /// Conceal the IMSI as a SUCI instead of sending the permanent NAI.
    pub suci: Option<SuciConcealment>,
}

/// How the node conceals its IMSI (TS 33.501 §6.12.2 and Annex C): the
/// home network's public key and its id, the routing indicator, and a
/// fresh ephemeral private key for this bootstrap (from the caller's
/// CSPRNG). Without it the permanent identity crosses the access network
/// in clear, as AKA'-Identity carries it.
#[derive(Clone)]
pub struct SuciConcealment {
    /// The home network public key id (hnkey).
    pub key_id: u8,
    /// The home network public key (profile A: X25519, B: P-256).
    pub public_key: HomeNetworkPublicKey,
    /// The routing indicator, 1 to 4 digits.
    pub routing_indicator: String,
    /// This bootstrap's ephemeral private key.
    pub ephemeral: Zeroizing<[u8; 32]>,
}

impl core::fmt::Debug for SuciConcealment {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SuciConcealment")
            .field("key_id", &self.key_id)
            .field("profile", &self.public_key.profile())
            .field("routing_indicator", &self.routing_indicator)
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for EnrolmentConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EnrolmentConfig")
            .field("network_name", &self.network_name)
            .field("desired_fqdn", &self.desired_fqdn)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("retransmit", &self.retransmit)
            .field("pinned_ha_key", &self.pinned_ha_key.is_some())
            .finish()
    }
}

impl EnrolmentConfig {
    /// An enrolment with the home agent called `network_name`, no desired
    /// name, no secret, default timers and no pinned key.
    pub fn new(network_name: &str) -> EnrolmentConfig {
        EnrolmentConfig {
            network_name: network_name.to_owned(),
            desired_fqdn: None,
            secret: None,
            retransmit: RetransmitPolicy::default(),
            pinned_ha_key: None,
            suci: None,
        }
    }
}

/// Why an enrolment could not start, or how it failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnrolError {
    /// The card could not be read (EF_IMSI, EF_AD).
    #[error("cannot read the SIM: {0}")]
    Card(String),
    /// The IMSI or MNC length cannot form a permanent NAI
    /// (TS 23.003 §2.2: 6 to 15 digits; MNC of 2 or 3).
    #[error("IMSI {imsi:?} with a {mnc_len}-digit MNC gives no permanent NAI")]
    BadImsi {
        /// The IMSI.
        imsi: String,
        /// The MNC length.
        mnc_len: u8,
    },
    /// The bootstrap layer refused to start (network name or identity too
    /// long for a message).
    #[error("cannot start: {0}")]
    Start(NodeError),
    /// The home agent refused: a clear Error before keys existed (anyone
    /// on the path could have sent it) or a sealed refusal.
    #[error("refused by the home agent: {cause}{}{}", text_suffix(.text), clear_suffix(.authenticated))]
    Refused {
        /// Its cause.
        cause: Cause,
        /// Its text.
        text: String,
        /// Whether it was sealed with the session keys.
        authenticated: bool,
    },
    /// EAP-AKA' failed: the server sent EAP-Failure.
    #[error("authentication failed: {}{}", describe(.problem), resync_suffix(.sync_failures))]
    Authentication {
        /// Why this peer refused, or [`PeerProblem::ServerFailure`].
        problem: PeerProblem,
        /// Synchronization-Failures the USIM answered with (SQN refused,
        /// TS 33.102 §6.3.5): a replayed challenge shows up here.
        sync_failures: u8,
    },
    /// Every transmission of a message went unanswered.
    #[error("no answer from the home agent after {transmissions} transmissions{}", drop_suffix(.last_drop))]
    NoAnswer {
        /// Transmissions of the last message.
        transmissions: u32,
        /// Why the last datagram that did arrive was dropped, if one did.
        last_drop: Option<String>,
    },
    /// The configuration, sealed with this session's keys (so from the
    /// home agent this SIM authenticated with), is signed by a key other
    /// than the pinned one: the home agent's key changed, or this is
    /// another home agent of the same operator.
    #[error(
        "the home agent's key changed: it signed with {} instead of the pinned {}",
        hex32(.offered),
        hex32(.pinned)
    )]
    HaKeyChanged {
        /// The key pinned.
        pinned: [u8; 32],
        /// The key the home agent used.
        offered: [u8; 32],
    },
    /// The exchange broke in a way no retransmission repairs.
    #[error("protocol failure: {0}")]
    Protocol(String),
}

fn hex32(key: &[u8; 32]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

fn text_suffix(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

fn clear_suffix(authenticated: &bool) -> &'static str {
    if *authenticated {
        ""
    } else {
        " (unauthenticated)"
    }
}

fn resync_suffix(n: &u8) -> String {
    match *n {
        0 => String::new(),
        n => format!(" (the USIM refused the sequence number {n} time(s))"),
    }
}

fn drop_suffix(last: &Option<String>) -> String {
    last.as_ref()
        .map(|d| format!(" (last datagram dropped: {d})"))
        .unwrap_or_default()
}

/// A person's reading of the peer's refusal (RFC 4187 §6.3, RFC 9048 §3).
pub fn describe(problem: &PeerProblem) -> String {
    match problem {
        PeerProblem::NetworkName => {
            "the home agent's network name (AT_KDF_INPUT) is not the configured one".into()
        }
        PeerProblem::AutnMac => {
            "the USIM found AUTN's MAC wrong: the network does not hold this SIM's key".into()
        }
        PeerProblem::AmfSeparationBit => "AUTN's AMF separation bit is clear".into(),
        PeerProblem::Kdf => "no acceptable key derivation function".into(),
        PeerProblem::Mac => "the challenge's AT_MAC is wrong".into(),
        PeerProblem::Checkcode => "AT_CHECKCODE differs: the identity round was altered".into(),
        PeerProblem::ServerFailure => "the server ended with EAP-Failure".into(),
        PeerProblem::FailureNotified(code) => {
            format!("the server notified failure (code {code})")
        }
        PeerProblem::Card(e) => format!("the card failed: {e}"),
        PeerProblem::TooManyChallenges => "too many challenges".into(),
        other => format!("{other:?}"),
    }
}

/// Why a datagram was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dropped {
    /// The bootstrap layer refused it (malformed, other session, stale
    /// sequence, seal or signature failure, pinned key mismatch).
    Session(NodeError),
    /// A clear Error while a sealed answer is awaited: possibly forged,
    /// ignored; the node keeps retransmitting.
    UnauthenticatedError {
        /// The claimed cause.
        cause: Cause,
        /// The claimed text.
        text: String,
    },
    /// The enrolment is over.
    Finished,
}

impl core::fmt::Display for Dropped {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Dropped::Session(e) => write!(f, "{e}"),
            Dropped::UnauthenticatedError { cause, text } => {
                write!(f, "unauthenticated error {cause}{}", text_suffix(text))
            }
            Dropped::Finished => f.write_str("enrolment already finished"),
        }
    }
}

/// The outcome of a successful enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    /// The IMSI of the SIM that authenticated (the configuration is bound
    /// to it, seed step 11).
    pub imsi: String,
    /// The EAP identity used.
    pub identity: String,
    /// The configuration, its HA signature verified.
    pub response: ConfigResponse,
}

/// What the driver does next.
#[derive(Debug)]
pub enum Step {
    /// Send these octets to the home agent.
    Send(Vec<u8>),
    /// Nothing to do until the next datagram or [`Enrolment::poll_timeout`].
    Wait,
    /// The datagram was dropped; nothing changed.
    Dropped(Dropped),
    /// The configuration arrived; the enrolment is over.
    Done(Box<Enrolled>),
    /// The enrolment failed and is over.
    Failed(EnrolError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Finished,
}

/// One enrolment: bootstrap session + EAP-AKA' peer over a USIM.
pub struct Enrolment<C: Card> {
    session: NodeSession,
    peer: Peer<C>,
    signing_key: SigningKey,
    desired_fqdn: Option<String>,
    secret: Option<Zeroizing<Vec<u8>>>,
    imsi: String,
    identity: String,
    state: State,
    sync_failures: u8,
    transmissions: u32,
    last_drop: Option<String>,
    pinned_ha_key: Option<[u8; 32]>,
}

impl<C: Card> core::fmt::Debug for Enrolment<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Enrolment")
            .field("identity", &self.identity)
            .field("phase", &self.session.phase())
            .field("state", &self.state)
            .field("sync_failures", &self.sync_failures)
            .finish_non_exhaustive()
    }
}

/// The permanent NAI of an EAP-AKA' peer: `6<IMSI>@nai.epc.mnc<MNC>.mcc<MCC>.3gppnetwork.org`
/// (RFC 9048 §3.2 with the realm of TS 23.003 §19.3.2; a two-digit MNC is
/// written with a leading zero).
///
/// # Errors
/// [`EnrolError::BadImsi`] unless the IMSI has 6 to 15 digits, the MNC 2
/// or 3, and the IMSI is longer than MCC and MNC.
pub fn permanent_nai(imsi: &str, mnc_len: u8) -> Result<String, EnrolError> {
    let bad = || EnrolError::BadImsi {
        imsi: imsi.to_owned(),
        mnc_len,
    };
    let mnc_end = 3 + usize::from(mnc_len);
    if !(6..=15).contains(&imsi.len())
        || !imsi.bytes().all(|b| b.is_ascii_digit())
        || !(2..=3).contains(&mnc_len)
        || imsi.len() <= mnc_end
    {
        return Err(bad());
    }
    let mcc = imsi.get(..3).ok_or_else(bad)?;
    let mnc = imsi.get(3..mnc_end).ok_or_else(bad)?;
    Ok(format!(
        "6{imsi}@nai.epc.mnc{mnc:0>3}.mcc{mcc}.3gppnetwork.org"
    ))
}

/// The SUCI of `imsi` in NAI form (TS 23.003 §28.7.3):
/// `type0.rid<RI>.schid<1|2>.hnkey<id>.ecckey<hex>.cip<hex>.mac<hex>@nai.5gc.mnc<MNC>.mcc<MCC>.3gppnetwork.org`,
/// the MSIN concealed with ECIES under the home network's key (TS 33.501
/// Annex C.3).
///
/// # Errors
/// [`EnrolError::BadImsi`] as [`permanent_nai`], or the concealment fails
/// (bad routing indicator, unusable key).
pub fn suci_nai(imsi: &str, mnc_len: u8, c: &SuciConcealment) -> Result<String, EnrolError> {
    // The same checks as the permanent NAI's.
    permanent_nai(imsi, mnc_len)?;
    let bad = |e: telsec_auth::suci::SuciError| EnrolError::Card(format!("SUCI: {e}"));
    let mnc_end = 3 + usize::from(mnc_len);
    let (mcc, mnc, msin) = (&imsi[..3], &imsi[3..mnc_end], &imsi[mnc_end..]);
    let plmn = telsec_auth::kdf::PlmnId::new(mcc, mnc)
        .map_err(|e| EnrolError::Card(format!("PLMN: {e}")))?;
    let suci = Suci::conceal_imsi(
        plmn,
        msin,
        &c.routing_indicator,
        c.key_id,
        &c.public_key,
        &c.ephemeral,
    )
    .map_err(bad)?;
    let SchemeOutput::Concealed(output) = suci.scheme_output() else {
        return Err(EnrolError::Card("SUCI: not concealed".into()));
    };
    let key_len = match c.public_key.profile() {
        Profile::A => 32,
        Profile::B => 33,
    };
    // ECC ephemeral public key || ciphertext || 8-octet MAC tag (C.3.4).
    if output.len() < key_len + 8 {
        return Err(EnrolError::Card("SUCI: short scheme output".into()));
    }
    let (ecc, rest) = output.split_at(key_len);
    let (cipher, mac) = rest.split_at(rest.len() - 8);
    let scheme = match c.public_key.profile() {
        Profile::A => 1,
        Profile::B => 2,
    };
    Ok(format!(
        "type0.rid{}.schid{scheme}.hnkey{}.ecckey{}.cip{}.mac{}@nai.5gc.mnc{mnc:0>3}.mcc{mcc}.3gppnetwork.org",
        c.routing_indicator,
        c.key_id,
        hex(ecc),
        hex(cipher),
        hex(mac)
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `response` is an EAP-AKA' Synchronization-Failure: the USIM
/// refused the challenge's SQN (TS 33.102 §6.3.3) and sent AUTS.
fn is_sync_failure(response: &[u8]) -> bool {
    matches!(
        Message::parse_packet(response),
        Ok((Code::Response, _, m)) if m.subtype == Subtype::SynchronizationFailure
    )
}

impl<C: Card> Enrolment<C> {
    /// Reads the card, starts the bootstrap session with `nonce` (16 octets
    /// from the caller's CSPRNG) at `now`, and returns the Start to send.
    /// `signing_key` is the node's Ed25519 key, proven to the HA in the
    /// ConfigRequest (seed step 6).
    ///
    /// # Errors
    /// The card cannot be read, its IMSI forms no NAI, or the session cannot
    /// start.
    pub fn start(
        config: EnrolmentConfig,
        mut usim: UsimClient<C>,
        signing_key: SigningKey,
        nonce: [u8; NONCE_LEN],
        now: Instant,
    ) -> Result<(Enrolment<C>, Vec<u8>), EnrolError> {
        let card = |e: telsec_auth::usim::ClientError| EnrolError::Card(e.to_string());
        let imsi = usim.read_imsi().map_err(card)?;
        let mnc_len = usim.read_mnc_len().map_err(card)?;
        let identity = match &config.suci {
            Some(c) => suci_nai(&imsi, mnc_len, c)?,
            None => permanent_nai(&imsi, mnc_len)?,
        };
        let peer = Peer::new(
            PeerConfig::new(identity.as_bytes(), config.network_name.as_bytes()),
            usim,
        );
        let (session, start) = NodeSession::start(
            NodeSessionConfig {
                ha_name: config.network_name,
                // The permanent identity goes out in EAP anyway; the Start
                // does not need to carry it a second time.
                identity_hint: None,
                retransmit: config.retransmit,
                pinned_ha_key: config.pinned_ha_key,
            },
            nonce,
            now,
        )
        .map_err(EnrolError::Start)?;
        Ok((
            Enrolment {
                session,
                peer,
                signing_key,
                desired_fqdn: config.desired_fqdn,
                secret: config.secret,
                imsi,
                identity,
                state: State::Running,
                sync_failures: 0,
                transmissions: 1,
                last_drop: None,
                pinned_ha_key: config.pinned_ha_key,
            },
            start,
        ))
    }

    /// The IMSI read from the card.
    pub fn imsi(&self) -> &str {
        &self.imsi
    }

    /// The EAP identity (permanent NAI).
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The card, e.g. to persist its SQN array after a step.
    pub fn card(&self) -> &C {
        self.peer.usim().card()
    }

    /// Synchronization-Failures sent so far.
    pub fn sync_failures(&self) -> u8 {
        self.sync_failures
    }

    /// Whether the enrolment is over (done or failed).
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    /// When [`Enrolment::handle_timeout`] should be called; `None` once
    /// finished.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Running => self.session.poll_timeout(),
            State::Finished => None,
        }
    }

    fn fail(&mut self, e: EnrolError) -> Step {
        self.state = State::Finished;
        Step::Failed(e)
    }

    fn sent(&mut self, bytes: Vec<u8>) -> Step {
        self.transmissions = 1;
        Step::Send(bytes)
    }

    fn dropped(&mut self, why: Dropped) -> Step {
        self.last_drop = Some(why.to_string());
        Step::Dropped(why)
    }

    /// A datagram from the home agent, at `now`.
    pub fn handle(&mut self, datagram: &[u8], now: Instant) -> Step {
        if self.state == State::Finished {
            return Step::Dropped(Dropped::Finished);
        }
        match self.session.handle(datagram) {
            // Both come from a configuration that opened with the session
            // keys: the home agent itself answered so, and repeats would
            // bring the same answer.
            Err(NodeError::PinnedKeyMismatch { offered }) => match self.pinned_ha_key {
                Some(pinned) => self.fail(EnrolError::HaKeyChanged { pinned, offered }),
                None => self.fail(EnrolError::Protocol("pinned key mismatch".into())),
            },
            Err(e @ NodeError::WrongHit(..)) => self.fail(EnrolError::Protocol(e.to_string())),
            Err(e) => self.dropped(Dropped::Session(e)),
            Ok(NodeEvent::Eap(eap)) => self.on_eap(&eap, now),
            Ok(NodeEvent::Configured(response)) => {
                self.state = State::Finished;
                Step::Done(Box::new(Enrolled {
                    imsi: self.imsi.clone(),
                    identity: self.identity.clone(),
                    response: *response,
                }))
            }
            Ok(NodeEvent::Refused {
                cause,
                text,
                authenticated,
            }) => self.fail(EnrolError::Refused {
                cause,
                text,
                authenticated,
            }),
            Ok(NodeEvent::UnauthenticatedError { cause, text }) => {
                self.dropped(Dropped::UnauthenticatedError { cause, text })
            }
        }
    }

    /// An EAP packet the bootstrap layer accepted.
    fn on_eap(&mut self, eap: &[u8], now: Instant) -> Step {
        let action = match self.peer.handle(eap) {
            Ok(a) => a,
            Err(e) => {
                self.session.eap_failed();
                return self.fail(EnrolError::Protocol(format!("EAP peer: {e}")));
            }
        };
        match action {
            PeerAction::Send(response) => {
                if is_sync_failure(&response) {
                    self.sync_failures = self.sync_failures.saturating_add(1);
                }
                match self.session.send_eap(&response, now) {
                    Ok(bytes) => self.sent(bytes),
                    Err(e) => self.fail(EnrolError::Protocol(e.to_string())),
                }
            }
            PeerAction::Success(success) => {
                if let Err(e) = self.session.eap_succeeded(success.emsk.as_bytes()) {
                    return self.fail(EnrolError::Protocol(e.to_string()));
                }
                let request = self.session.send_config_request(
                    &self.signing_key,
                    self.desired_fqdn.as_deref(),
                    self.secret.as_deref().map(Vec::as_slice),
                    now,
                );
                match request {
                    Ok(bytes) => self.sent(bytes),
                    Err(e) => self.fail(EnrolError::Protocol(e.to_string())),
                }
            }
            PeerAction::Failure { problem } => {
                self.session.eap_failed();
                let sync_failures = self.sync_failures;
                self.fail(EnrolError::Authentication {
                    problem,
                    sync_failures,
                })
            }
            PeerAction::Discard(d) => {
                self.session.eap_failed();
                let why = match d {
                    PeerDiscard::SuccessBeforeAuthentication => {
                        "EAP-Success before the challenge was verified".to_owned()
                    }
                    other => format!("EAP packet discarded: {other:?}"),
                };
                self.fail(EnrolError::Protocol(why))
            }
        }
    }

    /// The timer, at `now`: the message to resend when due, or the end
    /// ([`EnrolError::NoAnswer`]) after the last transmission.
    pub fn handle_timeout(&mut self, now: Instant) -> Step {
        if self.state == State::Finished {
            return Step::Wait;
        }
        match self.session.handle_timeout(now) {
            Ok(Some(bytes)) => {
                self.transmissions = self.transmissions.saturating_add(1);
                Step::Send(bytes)
            }
            Ok(None) => Step::Wait,
            Err(NodeError::GaveUp) => {
                let e = EnrolError::NoAnswer {
                    transmissions: self.transmissions,
                    last_drop: self.last_drop.take(),
                };
                self.fail(e)
            }
            Err(e) => self.fail(EnrolError::Protocol(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use telsec_auth::aka::generate_vector;
    use telsec_auth::milenage::Milenage;
    use telsec_auth::sqn::{Sqn, SqnGenerator};
    use telsec_auth::usim::{CardAlgorithm, SoftUsim, UsimConfig};
    use telsec_bootstrap::response::{MipAlgorithm, MipConfig, MipSa};
    use telsec_bootstrap::{FqdnOutcome, SessionId};
    use telsec_eap::IdentityResolver;

    use super::*;
    use crate::bootstrap::authority::{Authority, AuthorityConfig, Output, Work};

    const IMSI: &str = "001010000000001";
    const K: [u8; 16] = [0x11; 16];
    const OPC: [u8; 16] = [0x22; 16];
    const AMF: [u8; 2] = [0x80, 0x00];

    fn card() -> UsimClient<SoftUsim> {
        let card = SoftUsim::new(UsimConfig::new(
            IMSI,
            CardAlgorithm::Aka(Box::new(Milenage::with_opc(&K, &OPC))),
        ))
        .expect("card");
        UsimClient::new(card)
    }

    /// The HA side in memory: authority, AuC counter, fixed decision.
    struct Ha {
        authority: Authority,
        auc: SqnGenerator,
        key: SigningKey,
        counter: u8,
    }

    impl Ha {
        fn new(name: &str) -> Ha {
            Ha {
                authority: Authority::new(AuthorityConfig::new(name)),
                auc: SqnGenerator::new(Sqn::ZERO, 5).expect("generator"),
                key: SigningKey::from_bytes(&[7; 32]),
                counter: 0,
            }
        }

        fn config(&self) -> ConfigResponse {
            ConfigResponse {
                fqdn: "node.telsec.test".into(),
                fqdn_outcome: FqdnOutcome::NotRequested,
                home_address: "10.77.0.9".parse().expect("ip"),
                ha_address: "10.77.0.1".parse().expect("ip"),
                ha_public_key: self.key.verifying_key().to_bytes(),
                mip: Some(MipConfig {
                    sa: MipSa {
                        spi: 4096,
                        algorithm: MipAlgorithm::HmacSha256,
                        key: Zeroizing::new(vec![0x5a; 32]),
                        lifetime: 3600,
                    },
                    registration_lifetime: 600,
                }),
                hip: None,
                name_server: None,
                dns_zone: None,
            }
        }

        /// A datagram in; the reply out after doing any work.
        fn answer(&mut self, datagram: &[u8]) -> Option<Vec<u8>> {
            self.counter = self.counter.wrapping_add(1);
            let mut out = self.authority.handle(0, datagram, [self.counter; 9]);
            loop {
                let Output { reply, work, .. } = out;
                let Some(work) = work else { return reply };
                out = match work {
                    Work::Vector { session, .. } => self.vector(session),
                    Work::Resync { .. } => panic!("no resync expected"),
                    Work::Decide { session, .. } => {
                        let c = self.config();
                        self.authority.on_decision(0, session, Ok(c), &self.key)
                    }
                };
            }
        }

        fn vector(&mut self, session: SessionId) -> Output {
            let sqn = self.auc.next(0).expect("sqn");
            let m = Milenage::with_opc(&K, &OPC);
            let v = generate_vector(&m, &[self.counter; 16], sqn, &AMF);
            self.authority.on_vector(0, session, Ok(v))
        }
    }

    fn run(ha: &mut Ha, config: EnrolmentConfig) -> Result<Enrolled, EnrolError> {
        let now = Instant::now();
        let (mut e, mut out) = Enrolment::start(
            config,
            card(),
            SigningKey::from_bytes(&[3; 32]),
            [9; 16],
            now,
        )
        .expect("start");
        for _ in 0..20 {
            let reply = ha.answer(&out).expect("the HA answers");
            match e.handle(&reply, now) {
                Step::Send(b) => out = b,
                Step::Done(d) => return Ok(*d),
                Step::Failed(f) => return Err(f),
                other => panic!("unexpected {other:?}"),
            }
        }
        panic!("no end")
    }

    #[test]
    fn nai_follows_ts_23_003_and_the_server_reads_it() {
        let nai = permanent_nai(IMSI, 2).expect("nai");
        assert_eq!(
            nai,
            "6001010000000001@nai.epc.mnc001.mcc001.3gppnetwork.org"
        );
        assert_eq!(
            permanent_nai("310150123456789", 3).expect("nai"),
            "6310150123456789@nai.epc.mnc150.mcc310.3gppnetwork.org"
        );
        let resolver = IdentityResolver {
            realm: Some("nai.epc.mnc001.mcc001.3gppnetwork.org".into()),
            ..IdentityResolver::default()
        };
        assert_eq!(
            resolver.resolve(nai.as_bytes()).expect("resolves").imsi(),
            IMSI
        );
        for (imsi, mnc) in [
            ("00101", 2),
            ("0010100000000011", 2),
            ("00101a000000001", 2),
        ] {
            assert!(permanent_nai(imsi, mnc).is_err(), "{imsi}");
        }
        assert!(permanent_nai(IMSI, 4).is_err());
        assert!(permanent_nai("001010", 3).is_err());
    }

    #[test]
    fn enrols_against_the_authority() {
        let mut ha = Ha::new("ha.telsec.test");
        let mut config = EnrolmentConfig::new("ha.telsec.test");
        config.desired_fqdn = Some("node.telsec.test".into());
        let done = run(&mut ha, config).expect("enrolled");
        assert_eq!(done.imsi, IMSI);
        assert_eq!(done.response, ha.config());
        assert_eq!(
            done.identity,
            "6001010000000001@nai.epc.mnc001.mcc001.3gppnetwork.org"
        );
    }

    #[test]
    fn a_suci_hides_the_imsi_and_the_authority_resolves_it() {
        use telsec_auth::suci::HomeNetworkPrivateKey;
        let private = HomeNetworkPrivateKey::from_bytes(Profile::A, &[0x42; 32]).expect("key");
        let mut ha = Ha::new("ha.telsec.test");
        let mut authority = AuthorityConfig::new("ha.telsec.test");
        authority
            .eap
            .identities
            .suci_keys
            .insert(3, private.clone());
        ha.authority = Authority::new(authority);
        let mut config = EnrolmentConfig::new("ha.telsec.test");
        config.suci = Some(SuciConcealment {
            key_id: 3,
            public_key: private.public_key(),
            routing_indicator: "0".into(),
            ephemeral: Zeroizing::new([0x24; 32]),
        });
        let done = run(&mut ha, config).expect("enrolled");
        assert_eq!(done.imsi, IMSI, "the home network de-concealed it");
        assert!(done.identity.starts_with("type0.rid0.schid1.hnkey3.ecckey"));
        assert!(!done.identity.contains("0000000001"), "no MSIN in clear");
        // A home agent without the key cannot resolve the identity: no
        // vector is asked for and the node does not enrol.
        let mut blind = Ha::new("ha.telsec.test");
        let mut config = EnrolmentConfig::new("ha.telsec.test");
        config.suci = Some(SuciConcealment {
            key_id: 3,
            public_key: private.public_key(),
            routing_indicator: "0".into(),
            ephemeral: Zeroizing::new([0x25; 32]),
        });
        assert!(run(&mut blind, config).is_err());
    }

    #[test]
    fn other_network_name_fails_in_eap() {
        let mut ha = Ha::new("ha.telsec.test");
        let err = run(&mut ha, EnrolmentConfig::new("elsewhere.test")).expect_err("fails");
        assert_eq!(
            err,
            EnrolError::Authentication {
                problem: PeerProblem::NetworkName,
                sync_failures: 0
            }
        );
    }

    #[test]
    fn garbage_is_dropped_and_silence_gives_up() {
        let t0 = Instant::now();
        let mut config = EnrolmentConfig::new("ha.telsec.test");
        config.retransmit = RetransmitPolicy {
            initial: Duration::from_millis(10),
            max_interval: Duration::from_millis(10),
            max_transmissions: 3,
        };
        let (mut e, start) = Enrolment::start(
            config,
            card(),
            SigningKey::from_bytes(&[3; 32]),
            [9; 16],
            t0,
        )
        .expect("start");
        assert!(matches!(
            e.handle(&[1, 2, 3], t0),
            Step::Dropped(Dropped::Session(_))
        ));
        assert!(matches!(e.handle_timeout(t0), Step::Wait));
        let mut resent = 0;
        let (err, now) = loop {
            let now = e.poll_timeout().expect("armed");
            match e.handle_timeout(now) {
                Step::Send(b) => {
                    assert_eq!(b, start);
                    resent += 1;
                }
                Step::Failed(err) => break (err, now),
                other => panic!("unexpected {other:?}"),
            }
        };
        assert_eq!(resent, 2);
        assert!(matches!(
            err,
            EnrolError::NoAnswer {
                transmissions: 3,
                last_drop: Some(_)
            }
        ));
        assert!(e.is_finished());
        assert_eq!(e.poll_timeout(), None);
        assert!(matches!(
            e.handle(&start, now),
            Step::Dropped(Dropped::Finished)
        ));
    }
}
