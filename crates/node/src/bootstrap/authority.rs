//! The home agent's bootstrap authority, sans-IO: a table of bootstrap
//! sessions ([`telsec_bootstrap::HaSession`]), each with its EAP-AKA'
//! server ([`telsec_eap::Server`], RFC 9048), turning datagrams into
//! answers and into [`Work`] the driver does with real peers: a vector
//! or a resynchronisation from the HLR (GSUP), and the configuration
//! decision (subscriber data, FQDN policy, address pool, DNS update,
//! Mobile IP SA). The driver hands the results back with
//! [`Authority::on_vector`] and [`Authority::on_decision`].
//!
//! Every session is bounded: [`AuthorityConfig::max_sessions`] at once
//! (a Start beyond it is answered with a clear Error, cause Busy), idle
//! sessions are dropped after [`AuthorityConfig::idle_ms`], and finished
//! ones are kept that long only to answer repeats of their last
//! request. A datagram that does not fit its session (forged, replayed,
//! altered) is dropped and changes nothing; the [`Note`] says why.

use std::collections::HashMap;

use telsec_auth::aka::AuthVector;
use telsec_bootstrap::{
    Cause, ConfigResponse, HaError, HaEvent, HaSession, Route, SessionId, SigningKey,
    VerifiedConfigRequest, error_reply, route,
};
use telsec_eap::{Action, Outcome, Server, ServerConfig};

/// How often [`Authority::handle`] sweeps idle sessions (ms).
const SWEEP_EVERY_MS: u64 = 1_000;

/// How the authority is set up.
#[derive(Debug, Clone)]
pub struct AuthorityConfig {
    /// The home agent's network name: AT_KDF_INPUT of EAP-AKA' and an
    /// input of the bootstrap key schedule (the node checks both).
    pub ha_name: String,
    /// The EAP server's settings (its network name must be `ha_name`).
    pub eap: ServerConfig,
    /// Sessions at once.
    pub max_sessions: usize,
    /// A session idle this long is dropped (ms).
    pub idle_ms: u64,
}

impl AuthorityConfig {
    /// Defaults around `ha_name`: 1024 sessions, 60 s idle.
    pub fn new(ha_name: &str) -> AuthorityConfig {
        let mut eap = ServerConfig::new(ha_name.as_bytes());
        // The bootstrap protocol retransmits; the EAP layer must not
        // (RFC 3748 §4.3).
        eap.max_retransmits = 0;
        AuthorityConfig {
            ha_name: ha_name.to_owned(),
            eap,
            max_sessions: 1024,
            idle_ms: 60_000,
        }
    }
}

/// IO the driver must do for a session.
#[derive(Debug)]
pub enum Work {
    /// Fetch one authentication vector for `imsi` from the HLR.
    Vector {
        /// The session waiting.
        session: SessionId,
        /// Whose.
        imsi: String,
    },
    /// Resynchronise the HLR with the USIM's AUTS, then fetch a vector.
    Resync {
        /// The session waiting.
        session: SessionId,
        /// Whose.
        imsi: String,
        /// The RAND the USIM refused.
        rand: [u8; 16],
        /// Its AUTS.
        auts: [u8; 14],
    },
    /// Decide the node's configuration (seed 003 steps 7-9) and answer
    /// with [`Authority::on_decision`].
    Decide {
        /// The session waiting.
        session: SessionId,
        /// The authenticated subscriber.
        imsi: String,
        /// The node's verified request (public key, desired FQDN, secret).
        request: Box<VerifiedConfigRequest>,
    },
}

/// What became of an input, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A new session.
    Started(SessionId),
    /// A Start refused (the table is full).
    Busy,
    /// A step of a session went forward.
    Progress(SessionId),
    /// EAP-AKA' succeeded for this subscriber.
    Authenticated {
        /// The session.
        session: SessionId,
        /// The subscriber.
        imsi: String,
    },
    /// EAP-AKA' failed (wrong RES, bad MAC, reject, ...); nothing else
    /// happens for this session.
    AuthenticationFailed {
        /// The session.
        session: SessionId,
        /// The EAP server's reason.
        reason: String,
    },
    /// The configuration went out.
    Configured(SessionId),
    /// The session was refused after authentication.
    Refused {
        /// The session.
        session: SessionId,
        /// Why.
        cause: Cause,
    },
    /// A repeat answered from the stored answer.
    Repeat(SessionId),
    /// A datagram dropped without effect.
    Dropped(String),
}

/// An answer to send (to the datagram's source), work to do, and a note.
#[derive(Debug)]
pub struct Output {
    /// The datagram to send back, if any.
    pub reply: Option<Vec<u8>>,
    /// IO to start, if any.
    pub work: Option<Work>,
    /// What happened.
    pub note: Note,
}

impl Output {
    fn note(note: Note) -> Output {
        Output {
            reply: None,
            work: None,
            note,
        }
    }

    fn dropped(why: impl ToString) -> Output {
        Output::note(Note::Dropped(why.to_string()))
    }
}

#[derive(Debug)]
struct Entry {
    bootstrap: HaSession,
    eap: Server,
    imsi: Option<String>,
    last_ms: u64,
    /// Work handed out and not answered yet (answers to anything else
    /// are refused).
    waiting: Option<Waiting>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    Vector,
    Decision,
}

/// The sessions of one home agent.
#[derive(Debug)]
pub struct Authority {
    config: AuthorityConfig,
    sessions: HashMap<SessionId, Entry>,
    by_nonce: HashMap<[u8; 16], SessionId>,
    /// When the table was last swept for idle sessions.
    swept_ms: u64,
}

impl Authority {
    /// An empty table.
    pub fn new(config: AuthorityConfig) -> Authority {
        Authority {
            config,
            sessions: HashMap::new(),
            by_nonce: HashMap::new(),
            swept_ms: 0,
        }
    }

    /// Sessions in the table.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether `session` is in the table.
    pub fn contains(&self, session: SessionId) -> bool {
        self.sessions.contains_key(&session)
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// A datagram from a node. `random` gives 9 fresh random octets (8 of
    /// session id, 1 first EAP identifier) when a session is created.
    pub fn handle(&mut self, now_ms: u64, datagram: &[u8], random: [u8; 9]) -> Output {
        // A sweep walks every session: once a second is enough for an idle
        // limit of seconds, and keeps it off each datagram's path.
        if now_ms.saturating_sub(self.swept_ms) >= SWEEP_EVERY_MS {
            self.expire(now_ms);
        }
        match route(datagram) {
            Err(e) => Output::dropped(e),
            Ok(Route::Start { nonce }) => match self.by_nonce.get(&nonce).copied() {
                Some(id) => self.in_session(now_ms, id, datagram),
                None => self.start(now_ms, nonce, datagram, random),
            },
            Ok(Route::Session(id)) => self.in_session(now_ms, id, datagram),
        }
    }

    fn start(&mut self, now_ms: u64, nonce: [u8; 16], datagram: &[u8], random: [u8; 9]) -> Output {
        if self.sessions.len() >= self.config.max_sessions {
            // Idle sessions make room before a Start is refused.
            self.expire(now_ms);
        }
        if self.sessions.len() >= self.config.max_sessions {
            return match telsec_bootstrap::Packet::new_checked(datagram) {
                Ok(p) => Output {
                    reply: error_reply(&p.header(), Cause::Busy, "too many bootstraps at once")
                        .ok(),
                    work: None,
                    note: Note::Busy,
                },
                Err(e) => Output::dropped(e),
            };
        }
        let mut id_bytes = [0u8; 8];
        id_bytes.copy_from_slice(&random[..8]);
        let id = SessionId(id_bytes);
        if id.is_none() || self.sessions.contains_key(&id) {
            return Output::dropped("session id collision (the Start is retransmitted)");
        }
        let mut bootstrap = match HaSession::accept(datagram, id, &self.config.ha_name) {
            Ok(s) => s,
            Err(e) => return Output::dropped(e),
        };
        let mut eap = match Server::new(self.config.eap.clone(), random[8]) {
            Ok(s) => s,
            Err(e) => return Output::dropped(format!("EAP server: {e}")),
        };
        let first = match eap.start() {
            Ok(Action::Send(p)) => p,
            Ok(other) => return Output::dropped(format!("EAP server began with {other:?}")),
            Err(e) => return Output::dropped(format!("EAP server: {e}")),
        };
        let reply = match bootstrap.send_eap(&first) {
            Ok(r) => r,
            Err(e) => return Output::dropped(e),
        };
        self.by_nonce.insert(nonce, id);
        self.sessions.insert(
            id,
            Entry {
                bootstrap,
                eap,
                imsi: None,
                last_ms: now_ms,
                waiting: None,
            },
        );
        Output {
            reply: Some(reply),
            work: None,
            note: Note::Started(id),
        }
    }

    fn in_session(&mut self, now_ms: u64, id: SessionId, datagram: &[u8]) -> Output {
        let Some(entry) = self.sessions.get_mut(&id) else {
            return Output::dropped(format!("no session {id}"));
        };
        let event = match entry.bootstrap.handle(datagram) {
            Ok(e) => e,
            Err(e) => return Output::dropped(e),
        };
        entry.last_ms = now_ms;
        match event {
            HaEvent::Retransmit(reply) => Output {
                reply: Some(reply),
                work: None,
                note: Note::Repeat(id),
            },
            HaEvent::Pending => Output::note(Note::Repeat(id)),
            HaEvent::Rejected { cause, reply } => Output {
                reply: Some(reply),
                work: None,
                note: Note::Refused { session: id, cause },
            },
            HaEvent::Eap(eap) => match entry.eap.handle(&eap) {
                Ok(action) => Self::eap_action(id, entry, action),
                Err(e) => Output::dropped(format!("EAP server: {e}")),
            },
            HaEvent::ConfigRequest(request) => {
                let Some(imsi) = entry.imsi.clone() else {
                    return Output::dropped("configuration request before authentication");
                };
                entry.waiting = Some(Waiting::Decision);
                Output {
                    reply: None,
                    work: Some(Work::Decide {
                        session: id,
                        imsi,
                        request,
                    }),
                    note: Note::Progress(id),
                }
            }
        }
    }

    /// Carries out what the EAP server asked for.
    fn eap_action(id: SessionId, entry: &mut Entry, action: Action) -> Output {
        let step = |r: Result<Vec<u8>, HaError>, note| match r {
            Ok(reply) => Output {
                reply: Some(reply),
                work: None,
                note,
            },
            Err(e) => Output::dropped(e),
        };
        match action {
            Action::Send(p) => step(entry.bootstrap.send_eap(&p), Note::Progress(id)),
            Action::NeedVector { imsi } => {
                entry.waiting = Some(Waiting::Vector);
                Output {
                    reply: None,
                    work: Some(Work::Vector { session: id, imsi }),
                    note: Note::Progress(id),
                }
            }
            Action::NeedResync { imsi, rand, auts } => {
                entry.waiting = Some(Waiting::Vector);
                Output {
                    reply: None,
                    work: Some(Work::Resync {
                        session: id,
                        imsi,
                        rand,
                        auts,
                    }),
                    note: Note::Progress(id),
                }
            }
            Action::Finish { packet, outcome } => match outcome {
                Outcome::Success { imsi, emsk, .. } => {
                    let out = step(
                        entry.bootstrap.eap_succeeded(&packet, emsk.as_bytes()),
                        Note::Authenticated {
                            session: id,
                            imsi: imsi.clone(),
                        },
                    );
                    if out.reply.is_some() {
                        entry.imsi = Some(imsi);
                    }
                    out
                }
                Outcome::Failure(reason) => step(
                    entry.bootstrap.eap_failed(&packet),
                    Note::AuthenticationFailed {
                        session: id,
                        reason: format!("{reason:?}"),
                    },
                ),
            },
            Action::Discard(d) => Output::dropped(format!("EAP: {d:?}")),
            Action::Idle => Output::note(Note::Progress(id)),
        }
    }

    /// The HLR's answer to [`Work::Vector`] or [`Work::Resync`]: a vector,
    /// or why there is none (unknown subscriber, HLR down). Without one the
    /// EAP server fails the session (EAP-Failure to the node).
    pub fn on_vector(
        &mut self,
        now_ms: u64,
        session: SessionId,
        vector: Result<AuthVector, String>,
    ) -> Output {
        let Some(entry) = self.sessions.get_mut(&session) else {
            return Output::dropped(format!("vector for no session {session}"));
        };
        if entry.waiting != Some(Waiting::Vector) {
            return Output::dropped(format!("vector session {session} did not ask for"));
        }
        entry.waiting = None;
        entry.last_ms = now_ms;
        let action = match &vector {
            Ok(v) => match entry.eap.on_vector(v) {
                // An HLR that ignored the request for an EAP-AKA' vector
                // (Current RAT Type E-UTRAN): fail the node now rather
                // than leave it retransmitting into silence.
                Err(telsec_eap::ServerError::AmfSeparationBit) => entry.eap.on_vector_unavailable(),
                other => other,
            },
            Err(_) => entry.eap.on_vector_unavailable(),
        };
        match action {
            Ok(a) => Self::eap_action(session, entry, a),
            Err(e) => Output::dropped(format!("EAP server: {e}")),
        }
    }

    /// The driver's decision for [`Work::Decide`]: the configuration to
    /// send (signed with `signing_key`), or a refusal.
    pub fn on_decision(
        &mut self,
        now_ms: u64,
        session: SessionId,
        decision: Result<ConfigResponse, (Cause, String)>,
        signing_key: &SigningKey,
    ) -> Output {
        let Some(entry) = self.sessions.get_mut(&session) else {
            return Output::dropped(format!("decision for no session {session}"));
        };
        if entry.waiting != Some(Waiting::Decision) {
            return Output::dropped(format!("decision session {session} did not ask for"));
        }
        entry.waiting = None;
        entry.last_ms = now_ms;
        let (result, note) = match decision {
            Ok(config) => (
                entry.bootstrap.respond(&config, signing_key),
                Note::Configured(session),
            ),
            Err((cause, text)) => (
                entry.bootstrap.refuse(cause, &text),
                Note::Refused { session, cause },
            ),
        };
        match result {
            Ok(reply) => Output {
                reply: Some(reply),
                work: None,
                note,
            },
            Err(e) => Output::dropped(e),
        }
    }

    /// Drops sessions idle for longer than the configured time (finished
    /// ones included: they only answered repeats).
    pub fn expire(&mut self, now_ms: u64) {
        self.swept_ms = now_ms;
        let idle = self.config.idle_ms;
        let before = self.sessions.len();
        self.sessions
            .retain(|_, e| now_ms.saturating_sub(e.last_ms) <= idle);
        if self.sessions.len() != before {
            let sessions = &self.sessions;
            self.by_nonce.retain(|_, id| sessions.contains_key(id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telsec_auth::aka::generate_vector;
    use telsec_auth::milenage::Milenage;
    use telsec_auth::sqn::Sqn;
    use telsec_bootstrap::{NodeSession, NodeSessionConfig, RetransmitPolicy};

    /// A vector without the AMF separation bit (an HLR that ignored the
    /// E-UTRAN RAT type) ends the session with EAP-Failure at once.
    #[test]
    fn a_vector_unfit_for_eap_akaprime_fails_the_session_promptly() {
        let mut authority = Authority::new(AuthorityConfig::new("ha.telsec.test"));
        let (mut node, start) = NodeSession::start(
            NodeSessionConfig {
                ha_name: "ha.telsec.test".into(),
                identity_hint: None,
                retransmit: RetransmitPolicy::default(),
                pinned_ha_key: None,
            },
            [5; 16],
            std::time::Instant::now(),
        )
        .expect("start");
        let out = authority.handle(0, &start, [1; 9]);
        let Note::Started(session) = out.note else {
            panic!("{:?}", out.note)
        };
        let request = match node.handle(&out.reply.expect("first EAP request")) {
            Ok(telsec_bootstrap::NodeEvent::Eap(e)) => e,
            other => panic!("{other:?}"),
        };
        // The node's AKA'-Identity response with its permanent NAI.
        let identity = b"6001010000000001@nai.epc.mnc001.mcc001.3gppnetwork.org";
        let message = telsec_eap::Message {
            subtype: telsec_eap::Subtype::Identity,
            attributes: vec![telsec_eap::attribute::Attribute::Identity(identity)],
        };
        let response = message
            .to_packet(telsec_eap::Code::Response, request[1], None)
            .expect("packet");
        let datagram = node
            .send_eap(&response, std::time::Instant::now())
            .expect("sent");
        let out = authority.handle(0, &datagram, [2; 9]);
        assert!(matches!(out.work, Some(Work::Vector { .. })), "{out:?}");
        let m = Milenage::with_opc(&[1; 16], &[2; 16]);
        let sqn = Sqn::new(32).expect("sqn");
        let vector = generate_vector(&m, &[3; 16], sqn, &[0x00, 0x00]);
        let out = authority.on_vector(0, session, Ok(vector));
        // The server's failure path: an AKA-Notification ("general
        // failure", RFC 4187 §6.3.1), then EAP-Failure; no challenge.
        let reply = out.reply.expect("an answer goes out at once");
        match node.handle(&reply) {
            Ok(telsec_bootstrap::NodeEvent::Eap(e)) => {
                let (code, _, m) = telsec_eap::Message::parse_packet(&e).expect("EAP-AKA'");
                assert_eq!(code, telsec_eap::Code::Request);
                assert_eq!(m.subtype, telsec_eap::Subtype::Notification);
            }
            other => panic!("{other:?}"),
        }
    }
}
