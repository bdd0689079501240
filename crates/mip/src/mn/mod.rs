//! The mobile node (RFC 5944 §2.4 and §3.6) as a sans-IO state machine.
//!
//! Inputs: agent advertisements ([`MobileNode::handle_advertisement`]),
//! changes of the node's own address ([`MobileNode::handle_address_change`]),
//! registration replies ([`MobileNode::handle_reply`]), keys
//! ([`MobileNode::install_sa`]) and the clock ([`MobileNode::handle_timeout`]).
//! Outputs are polled: datagrams ([`MobileNode::poll_transmit`]), agent
//! solicitations, events for the application and log records. Every entry
//! point takes `now_ms`, wall-clock Unix milliseconds, which also feeds
//! the timestamps of RFC 5944 §5.7.1.
//!
//! Movement detection (§2.4.2): a foreign agent is used while its
//! advertisement is valid (method 1: its ICMP Lifetime); an agent on
//! another network prefix, when both advertise Prefix-Lengths, means the
//! node moved (method 2); a sequence number that falls below 256 means the
//! current agent rebooted and lost its visitor list, so the node registers
//! again (§2.4.4, while a fall to 256 or above is the 0xffff → 256 wrap of
//! §2.3.2). An advertisement from the home agent or an address on the home
//! network means the node is home (§2.4.3). A foreign agent is preferred
//! while one is heard; otherwise a co-located care-of address is used
//! (§3.6.1.1, D flag).
//!
//! Registration (§3.6): requests go to the foreign agent, or to the home
//! agent when co-located; retransmission backs off exponentially from
//! `initial_retransmit_ms`, doubling up to `max_retransmit_ms` and never
//! longer than the requested lifetime (§3.6.3). With timestamps each
//! retransmission carries a new Identification; with nonces it is resent
//! unchanged (§3.6.3). The lifetime in force runs from when the request was
//! sent, and the node re-registers before it ends. Coming home it
//! deregisters (lifetime 0, care-of address = home address, §3.6.1.2) to
//! the home agent from the home address; after a restart it cannot know
//! whether a binding is left, so the first arrival home deregisters too.
//!
//! Replies (§3.6.2.1): the low 32 bits of the Identification must match a
//! request of the registration in flight and the MN-HA authenticator must
//! verify with the association that signed it (plus MN-FA where the node
//! shares one with the agent). Foreign-agent denials (64..=127) cannot
//! carry an MN-HA authenticator; they are believed from the agent the
//! request went to, authenticated by MN-FA when configured. Anything else
//! is ignored and logged. Code 133 resynchronises the Identification
//! (§5.7) and the request is resent at once.

pub mod agents;
pub mod config;
pub mod event;
mod ident;
pub mod state;

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

pub use config::{Config, ForeignAgentSa, Renewal, UdpTunnelling};
pub use event::{Event, Ignored, Note, Record, RequestKind, Transmit, TunnelMode};
pub use state::{Location, Registration, State};

use crate::advert::{AgentFlags, AgentSolicitation, RouterAdvertisement};
use crate::auth::{SecurityAssociation, append_signature, verify};
use crate::code::ReplyCode;
use crate::error::Error;
use crate::ext::{Encapsulation, Extension, ExtensionType, UdpTunnelReplyCode, UdpTunnelRequest};
use crate::registration::{LIFETIME_INFINITE, MIP_PORT, Reply, ReplyPacket, Request, RequestFlags};
use crate::replay::ReplayMode;
use agents::Agents;
use ident::IdSource;

/// 133 answers followed in a row for one registration before it is
/// treated as a refusal: a home agent that keeps refusing freshly
/// resynchronised values is not going to accept.
pub const MAX_RESYNCS: u32 = 2;

/// Agent solicitations (§2.4.1): the first few one second apart, then
/// doubling up to a minute.
const SOLICIT_BURST: u32 = 3;
const SOLICIT_FIRST_MS: u64 = 1_000;
const SOLICIT_MAX_MS: u64 = 60_000;

/// One request sent for the registration in flight.
#[derive(Debug, Clone)]
struct Attempt {
    identification: u64,
    sent_ms: u64,
    sa: SecurityAssociation,
}

/// The registration in flight.
#[derive(Debug, Clone)]
struct Flight {
    kind: RequestKind,
    src: Ipv4Addr,
    dst: SocketAddrV4,
    coa: Ipv4Addr,
    via_fa: Option<Ipv4Addr>,
    flags: RequestFlags,
    lifetime: u16,
    /// Requests sent in the current backoff series.
    sends: u32,
    next_retransmit_ms: u64,
    /// Identifications sent (one per send with timestamps, one for the
    /// series with nonces).
    attempts: Vec<Attempt>,
    /// The last request, resent unchanged with nonces.
    payload: Vec<u8>,
    resyncs: u32,
    lowered: bool,
}

#[derive(Debug, Clone, Copy)]
struct Solicit {
    sent: u32,
    next_ms: u64,
}

/// The mobile node.
#[derive(Debug)]
pub struct MobileNode {
    config: Config,
    sa: Option<SecurityAssociation>,
    ids: IdSource,
    location: Location,
    registration: Registration,
    /// Address the node currently has of its own (home or foreign).
    address: Option<Ipv4Addr>,
    agents: Agents,
    home_advert_until: Option<u64>,
    flight: Option<Flight>,
    /// Whether the home agent may hold a binding for us.
    binding_possible: bool,
    awaiting_key: bool,
    solicit: Option<Solicit>,
    transmits: VecDeque<Transmit>,
    solicitations: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    records: VecDeque<Record>,
}

impl MobileNode {
    /// A detached node. Fails when the configuration could never produce
    /// a request (an NAI longer than the 255 octets an extension holds).
    pub fn new(config: Config) -> Result<Self, Error> {
        if config.nai.as_ref().is_some_and(|n| n.len() > 255) {
            return Err(Error::ExtensionTooLong(ExtensionType::MnNai.into()));
        }
        Ok(MobileNode {
            sa: config.sa.clone(),
            ids: IdSource::new(&config.entropy),
            config,
            location: Location::Detached,
            registration: Registration::Unregistered,
            address: None,
            agents: Agents::default(),
            home_advert_until: None,
            flight: None,
            binding_possible: true,
            awaiting_key: false,
            solicit: None,
            transmits: VecDeque::new(),
            solicitations: VecDeque::new(),
            events: VecDeque::new(),
            records: VecDeque::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Location and registration sub-state.
    pub fn state(&self) -> State {
        State {
            location: self.location,
            registration: self.registration,
        }
    }

    /// The MN-HA association in use.
    pub fn sa(&self) -> Option<&SecurityAssociation> {
        self.sa.as_ref()
    }

    /// Clock correction learnt from the home agent's 133 replies, ms.
    pub fn clock_offset_ms(&self) -> i64 {
        self.ids.offset_ms()
    }

    /// Installs a new MN-HA association (e.g. a key delivered by SMS),
    /// replacing the old one. A registration waiting for a key, or one in
    /// flight, is (re)sent at once with it; a registered node uses it from
    /// its next renewal.
    pub fn install_sa(&mut self, now_ms: u64, sa: SecurityAssociation) {
        self.sa = Some(sa);
        if self.awaiting_key {
            self.awaiting_key = false;
            self.register_here(now_ms);
        } else if let Some(kind) = self.flight.as_ref().map(|f| f.kind) {
            self.start(now_ms, kind);
        }
    }

    /// Starts a fresh registration for the current location (or a
    /// deregistration at home), e.g. after a refusal the application has
    /// dealt with. Does nothing while detached.
    pub fn reregister(&mut self, now_ms: u64) {
        self.register_here(now_ms);
    }

    /// Starts soliciting agents (§2.4.1) while detached; the driver may
    /// call this at start-up instead of waiting for an advertisement.
    /// The first solicitation is queued at once: a node that just lost
    /// its link's address is waiting for nothing else, and a timer due
    /// "now" would cost the driver a clock tick (a millisecond or two)
    /// on the handover's critical path.
    pub fn solicit(&mut self, now_ms: u64) {
        if self.location == Location::Detached && self.solicit.is_none() {
            self.solicit = Some(Solicit {
                sent: 0,
                next_ms: now_ms,
            });
            self.solicit_if_due(now_ms);
        }
    }

    /// An ICMP message received from `src` that may be an Agent
    /// Advertisement (RFC 5944 §2.1, §2.4.2).
    pub fn handle_advertisement(
        &mut self,
        now_ms: u64,
        src: Ipv4Addr,
        icmp: &[u8],
    ) -> Result<(), Ignored> {
        let r = self.advertisement(now_ms, src, icmp);
        if let Err(reason) = &r {
            self.note(
                now_ms,
                Note::Ignored {
                    from: src,
                    reason: reason.clone(),
                },
            );
        }
        r
    }

    fn advertisement(&mut self, now_ms: u64, src: Ipv4Addr, icmp: &[u8]) -> Result<(), Ignored> {
        let ad = RouterAdvertisement::from_bytes(icmp).map_err(Ignored::BadAdvertisement)?;
        let ma = ad.mobility_agent().ok_or(Ignored::NotAMobilityAgent)?;
        if self.is_home(src) {
            // §2.4.3: our home agent or the home link.
            self.home_advert_until = Some(now_ms.saturating_add(u64::from(ad.lifetime) * 1000));
            self.reevaluate(now_ms);
            return Ok(());
        }
        if !ma.flags.contains(AgentFlags::F) {
            return Err(Ignored::NotAForeignAgent);
        }
        let previous = self.agents.update(now_ms, src, &ad, ma);
        match self.location {
            Location::AwayViaForeignAgent { fa, .. } if fa == src => {
                if let Some(previous) = previous
                    && ma.sequence < previous
                    && ma.sequence < 256
                {
                    self.note(
                        now_ms,
                        Note::AgentRebooted {
                            agent: src,
                            previous,
                            sequence: ma.sequence,
                        },
                    );
                    let before = self.location;
                    self.reevaluate(now_ms);
                    if self.location == before {
                        self.register_here(now_ms);
                    }
                    return Ok(());
                }
            }
            Location::AwayViaForeignAgent { fa, .. } => {
                let current = self.agents.valid(fa, now_ms).and_then(|a| a.prefix);
                let heard = self.agents.valid(src, now_ms);
                if let (Some(cur), Some(new)) = (current, heard)
                    && new.usable()
                    && new.prefix.is_some_and(|p| p != cur)
                {
                    self.note(
                        now_ms,
                        Note::PrefixChanged {
                            agent: fa,
                            new_agent: src,
                        },
                    );
                    self.agents.remove(fa);
                    self.agents.remove_network(cur);
                }
            }
            _ => {}
        }
        self.reevaluate(now_ms);
        Ok(())
    }

    /// The node's own address changed: a co-located care-of address
    /// appeared or changed, the node got an address on its home network,
    /// or (`None`) it lost its address.
    pub fn handle_address_change(&mut self, now_ms: u64, address: Option<Ipv4Addr>) {
        self.address = address;
        self.reevaluate(now_ms);
    }

    /// A datagram received from `src` on the registration socket.
    pub fn handle_reply(
        &mut self,
        now_ms: u64,
        src: SocketAddrV4,
        bytes: &[u8],
    ) -> Result<(), Ignored> {
        let r = self.reply(now_ms, src, bytes);
        if let Err(reason) = &r {
            self.note(
                now_ms,
                Note::Ignored {
                    from: *src.ip(),
                    reason: reason.clone(),
                },
            );
        }
        r
    }

    fn reply(&mut self, now_ms: u64, src: SocketAddrV4, bytes: &[u8]) -> Result<(), Ignored> {
        let packet = ReplyPacket::new_checked(bytes).map_err(Ignored::NotAReply)?;
        let flight = self.flight.as_ref().ok_or(Ignored::NoRequestOutstanding)?;
        if packet.home_address() != self.config.home_address {
            return Err(Ignored::OtherHomeAddress(packet.home_address()));
        }
        let id = packet.identification();
        let attempt = flight
            .attempts
            .iter()
            .find(|a| a.identification as u32 == id as u32)
            .ok_or(Ignored::IdentificationMismatch(id))?
            .clone();
        if src.ip() != flight.dst.ip() {
            return Err(Ignored::WrongSource(*src.ip(), *flight.dst.ip()));
        }
        let code = packet.code();
        let unauthenticated = |error| Ignored::Unauthenticated {
            code: code.into(),
            error,
        };
        let fa_sa = flight
            .via_fa
            .and_then(|fa| self.config.foreign_agent_sa(fa));
        if code.is_foreign_agent_denial() {
            if flight.via_fa.is_none() {
                return Err(Ignored::UnexpectedForeignAgentCode(code.into()));
            }
        } else {
            verify(bytes, ExtensionType::MnHaAuth, &attempt.sa).map_err(unauthenticated)?;
        }
        if let Some(sa) = fa_sa {
            verify(bytes, ExtensionType::MnFaAuth, sa).map_err(unauthenticated)?;
        }
        let reply = Reply::parse(&packet).map_err(Ignored::Malformed)?;
        reply.check_extensions().map_err(Ignored::Malformed)?;
        let timestamps = matches!(attempt.sa.replay(), ReplayMode::Timestamp { .. });
        if code.is_accepted() && timestamps && id != attempt.identification {
            return Err(Ignored::IdentificationMismatch(id));
        }
        self.note(
            now_ms,
            Note::Reply {
                from: src,
                code,
                lifetime: reply.lifetime,
            },
        );
        self.act_on_reply(now_ms, &reply, &attempt, timestamps);
        Ok(())
    }

    fn act_on_reply(&mut self, now_ms: u64, reply: &Reply, attempt: &Attempt, timestamps: bool) {
        let Some(flight) = self.flight.take() else {
            return;
        };
        let code = reply.code;
        if code == ReplyCode::HaIdentificationMismatch && flight.resyncs < MAX_RESYNCS {
            if timestamps {
                self.ids.adopt_home_agent_time(now_ms, reply.identification);
            } else {
                self.ids.adopt_home_agent_nonce(reply.identification);
            }
            self.note(
                now_ms,
                Note::Resynchronised {
                    reply_identification: reply.identification,
                },
            );
            self.restart(now_ms, flight, true);
            return;
        }
        if code == ReplyCode::FaLifetimeTooLong
            && !flight.lowered
            && reply.lifetime > 0
            && reply.lifetime < flight.lifetime
        {
            let mut flight = flight;
            flight.lifetime = reply.lifetime;
            flight.lowered = true;
            self.note(
                now_ms,
                Note::LifetimeLowered {
                    lifetime: reply.lifetime,
                },
            );
            self.restart(now_ms, flight, false);
            return;
        }
        if !code.is_accepted() {
            self.registration = Registration::Unregistered;
            self.events.push_back(Event::Refused {
                code,
                reason: code.name().unwrap_or("unknown code").to_owned(),
            });
            return;
        }
        if !timestamps {
            // §5.7.2: the reply's high half is the nonce to use next.
            self.ids.adopt_home_agent_nonce(reply.identification);
        }
        if flight.kind == RequestKind::Deregister {
            self.binding_possible = false;
            self.registration = Registration::Unregistered;
            self.events.push_back(Event::Deregistered);
            return;
        }
        let granted = reply.lifetime.min(flight.lifetime);
        if granted == 0 {
            self.registration = Registration::Unregistered;
            self.events.push_back(Event::Refused {
                code,
                reason: "accepted with lifetime 0".to_owned(),
            });
            return;
        }
        let (until_ms, renew_at_ms) = if granted == LIFETIME_INFINITE {
            (None, None)
        } else {
            let life_ms = u64::from(granted) * 1000;
            let until = attempt.sent_ms.saturating_add(life_ms);
            let renew = match self.config.renewal {
                Renewal::Fraction(n, d) if d > 0 && n < d => {
                    attempt.sent_ms + life_ms * u64::from(n) / u64::from(d)
                }
                Renewal::Fraction(..) => attempt.sent_ms + life_ms * 2 / 3,
                Renewal::Margin(m) => until.saturating_sub(m).max(attempt.sent_ms),
            };
            (Some(until), Some(renew))
        };
        let tunnel = reply
            .extensions
            .iter()
            .find_map(|e| match e {
                Extension::UdpTunnelReply(r) if r.code == UdpTunnelReplyCode::Accepted => {
                    Some(TunnelMode::Udp {
                        keepalive_secs: r.keepalive_interval,
                    })
                }
                _ => None,
            })
            .unwrap_or(TunnelMode::Plain);
        self.registration = Registration::Registered {
            until_ms,
            renew_at_ms,
        };
        self.events.push_back(Event::Registered {
            coa: flight.coa,
            lifetime: granted,
            code,
            tunnel,
        });
    }

    /// Timers: retransmission, renewal, advertisement lapses and
    /// solicitations due at `now_ms`.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        let lapsed = self.agents.expire(now_ms);
        if let Location::AwayViaForeignAgent { fa, .. } = self.location
            && lapsed.contains(&fa)
        {
            self.note(now_ms, Note::AgentLost { agent: fa });
        }
        if self.home_advert_until.is_some_and(|t| t <= now_ms) {
            self.home_advert_until = None;
        }
        self.reevaluate(now_ms);

        if let Some(f) = &self.flight
            && f.next_retransmit_ms <= now_ms
        {
            if f.sends >= self.config.max_attempts {
                let deregistration = f.kind == RequestKind::Deregister;
                let attempts = f.sends;
                self.flight = None;
                self.registration = Registration::Unregistered;
                self.note(now_ms, Note::GaveUp { attempts });
                self.events
                    .push_back(Event::RegistrationTimedOut { deregistration });
            } else {
                self.send(now_ms);
            }
        }
        if let Registration::Registered {
            renew_at_ms: Some(t),
            ..
        } = self.registration
            && t <= now_ms
            && self.flight.is_none()
        {
            self.start(now_ms, RequestKind::Renew);
        }
        self.solicit_if_due(now_ms);
    }

    /// Queues a solicitation when one is due, and schedules the next one
    /// (§2.4.1: a few a second apart, then backing off).
    fn solicit_if_due(&mut self, now_ms: u64) {
        if let Some(s) = self.solicit
            && s.next_ms <= now_ms
        {
            self.solicitations
                .push_back(AgentSolicitation.to_bytes().to_vec());
            self.note(now_ms, Note::Solicited);
            let sent = s.sent + 1;
            let wait = if sent < SOLICIT_BURST {
                SOLICIT_FIRST_MS
            } else {
                (SOLICIT_FIRST_MS << (sent - SOLICIT_BURST + 1).min(16)).min(SOLICIT_MAX_MS)
            };
            self.solicit = Some(Solicit {
                sent,
                next_ms: now_ms.saturating_add(wait),
            });
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next run.
    pub fn poll_timeout(&self) -> Option<u64> {
        let renew = match (self.registration, &self.flight) {
            (
                Registration::Registered {
                    renew_at_ms: Some(t),
                    ..
                },
                None,
            ) => Some(t),
            _ => None,
        };
        [
            self.flight.as_ref().map(|f| f.next_retransmit_ms),
            renew,
            self.agents.next_expiry(),
            self.home_advert_until,
            self.solicit.map(|s| s.next_ms),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next Agent Solicitation (ICMP octets, RFC 5944 §2.2) to send to
    /// [`crate::advert::ALL_MOBILITY_AGENTS`] or the broadcast address with
    /// IP TTL 1.
    pub fn poll_solicitation(&mut self) -> Option<Vec<u8>> {
        self.solicitations.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next log record.
    pub fn poll_record(&mut self) -> Option<Record> {
        self.records.pop_front()
    }

    fn note(&mut self, at_ms: u64, what: Note) {
        self.records.push_back(Record { at_ms, what });
    }

    fn in_home_network(&self, a: Ipv4Addr) -> bool {
        a == self.config.home_address || self.config.home_network.contains(a)
    }

    fn is_home(&self, agent: Ipv4Addr) -> bool {
        agent == self.config.home_agent || self.in_home_network(agent)
    }

    fn at_home(&self, now_ms: u64) -> bool {
        self.address.is_some_and(|a| self.in_home_network(a))
            || self.home_advert_until.is_some_and(|t| t > now_ms)
    }

    /// Where movement detection places the node now.
    fn desired_location(&self, now_ms: u64) -> Location {
        if self.at_home(now_ms) {
            return Location::AtHome;
        }
        if let Location::AwayViaForeignAgent { fa, coa } = self.location
            && let Some(agent) = self.agents.valid(fa, now_ms)
            && agent.flags.contains(AgentFlags::F)
            && let Some(&first) = agent.care_of_addresses.first()
        {
            let coa = if agent.care_of_addresses.contains(&coa) {
                coa
            } else {
                first
            };
            return Location::AwayViaForeignAgent { fa, coa };
        }
        if let Some(agent) = self.agents.best(now_ms)
            && let Some(&coa) = agent.care_of_addresses.first()
        {
            return Location::AwayViaForeignAgent {
                fa: agent.address,
                coa,
            };
        }
        match self.address {
            Some(coa) => Location::AwayColocated { coa },
            None => Location::Detached,
        }
    }

    fn reevaluate(&mut self, now_ms: u64) {
        let to = self.desired_location(now_ms);
        if to == self.location {
            return;
        }
        let from = self.location;
        self.location = to;
        self.events.push_back(Event::Moved { from, to });
        if to == Location::Detached {
            self.flight = None;
            self.registration = Registration::Unregistered;
            self.solicit(now_ms);
        } else {
            self.solicit = None;
            self.register_here(now_ms);
        }
    }

    /// Registers from the current location, or deregisters at home when a
    /// binding may exist.
    fn register_here(&mut self, now_ms: u64) {
        match self.location {
            Location::Detached => {}
            Location::AtHome if !self.binding_possible => {
                self.flight = None;
                self.registration = Registration::Unregistered;
            }
            Location::AtHome => self.start(now_ms, RequestKind::Deregister),
            Location::AwayViaForeignAgent { .. } | Location::AwayColocated { .. } => {
                self.start(now_ms, RequestKind::Register)
            }
        }
    }

    /// Starts a registration of `kind` from the current location and sends
    /// its first request.
    fn start(&mut self, now_ms: u64, kind: RequestKind) {
        self.flight = None;
        if self.sa.is_none() {
            self.registration = Registration::Unregistered;
            if !self.awaiting_key {
                self.awaiting_key = true;
                self.events.push_back(Event::KeyNeeded);
            }
            return;
        }
        let home = self.config.home_address;
        let ha = SocketAddrV4::new(self.config.home_agent, MIP_PORT);
        let reverse = self.config.reverse_tunnelling;
        let mut flags = RequestFlags::default();
        let (src, dst, coa, via_fa, lifetime) = match (kind, self.location) {
            (RequestKind::Deregister, _) | (_, Location::AtHome) => (home, ha, home, None, 0),
            (_, Location::AwayColocated { coa }) => {
                flags = flags
                    .with(RequestFlags::D, true)
                    .with(RequestFlags::T, reverse);
                (coa, ha, coa, None, self.config.lifetime)
            }
            (_, Location::AwayViaForeignAgent { fa, coa }) => {
                let (max, offers_t) = self
                    .agents
                    .valid(fa, now_ms)
                    .map(|a| (a.registration_lifetime, a.flags.contains(AgentFlags::T)))
                    .unwrap_or((self.config.lifetime, false));
                flags = flags.with(RequestFlags::T, reverse && offers_t);
                let lifetime = self.config.lifetime.min(max).max(1);
                (
                    home,
                    SocketAddrV4::new(fa, MIP_PORT),
                    coa,
                    Some(fa),
                    lifetime,
                )
            }
            (_, Location::Detached) => {
                self.registration = Registration::Unregistered;
                return;
            }
        };
        let kind = if lifetime == 0 {
            RequestKind::Deregister
        } else {
            flags = flags.with(RequestFlags::S, self.config.simultaneous_bindings);
            kind
        };
        self.binding_possible |= kind != RequestKind::Deregister;
        self.flight = Some(Flight {
            kind,
            src,
            dst,
            coa,
            via_fa,
            flags,
            lifetime,
            sends: 0,
            next_retransmit_ms: now_ms,
            attempts: Vec::new(),
            payload: Vec::new(),
            resyncs: 0,
            lowered: false,
        });
        self.send(now_ms);
    }

    /// Resends a flight at once as a new backoff series (after 133 or 69).
    fn restart(&mut self, now_ms: u64, mut flight: Flight, resync: bool) {
        flight.sends = 0;
        flight.attempts.clear();
        flight.payload.clear();
        flight.resyncs += u32::from(resync);
        self.flight = Some(flight);
        self.send(now_ms);
    }

    /// Sends (or resends) the request of the flight in progress.
    fn send(&mut self, now_ms: u64) {
        let Some(sa) = self.sa.clone() else {
            return;
        };
        let Some(mut flight) = self.flight.take() else {
            return;
        };
        let nonce = sa.replay() == ReplayMode::Nonce;
        let resend = nonce && !flight.payload.is_empty();
        if !resend {
            let identification = if nonce {
                self.ids.nonce()
            } else {
                self.ids.timestamp(now_ms)
            };
            match self.build(&flight, identification, &sa) {
                Ok(payload) => flight.payload = payload,
                Err(error) => {
                    self.note(now_ms, Note::Unsendable { error });
                    self.registration = Registration::Unregistered;
                    return;
                }
            }
            // Bounded: one per send, at most `max_attempts` per series.
            flight.attempts.push(Attempt {
                identification,
                sent_ms: now_ms,
                sa,
            });
        }
        // An unchanged resend keeps the first copy's send time: the
        // lifetime is counted from the earliest moment the home agent can
        // have started it, which errs on the short side.
        flight.sends += 1;
        let mut wait = self
            .config
            .initial_retransmit_ms
            .max(1)
            .saturating_mul(1u64 << (flight.sends - 1).min(32))
            .min(self.config.max_retransmit_ms.max(1));
        if flight.lifetime > 0 {
            wait = wait.min(u64::from(flight.lifetime) * 1000);
        }
        flight.next_retransmit_ms = now_ms.saturating_add(wait);
        let identification = flight.attempts.last().map_or(0, |a| a.identification);
        self.note(
            now_ms,
            Note::Sent {
                kind: flight.kind,
                attempt: flight.sends,
                dst: flight.dst,
                coa: flight.coa,
                identification,
                lifetime: flight.lifetime,
            },
        );
        self.transmits.push_back(Transmit {
            src: flight.src,
            dst: flight.dst,
            payload: flight.payload.clone(),
        });
        let state = (flight.sends, flight.next_retransmit_ms);
        self.registration = if flight.kind == RequestKind::Deregister {
            Registration::Deregistering {
                attempt: state.0,
                next_retransmit_ms: state.1,
            }
        } else {
            Registration::Registering {
                attempt: state.0,
                next_retransmit_ms: state.1,
            }
        };
        self.flight = Some(flight);
    }

    /// Encodes and signs a request (RFC 5944 §3.3, §3.5): MN-NAI and the
    /// UDP Tunnel Request before the MN-HA authenticator, MN-FA after it.
    fn build(
        &self,
        flight: &Flight,
        identification: u64,
        sa: &SecurityAssociation,
    ) -> Result<Vec<u8>, Error> {
        let mut extensions = Vec::new();
        if let Some(nai) = &self.config.nai {
            extensions.push(Extension::MnNai(nai.clone()));
        }
        let colocated = flight.flags.contains(RequestFlags::D);
        if colocated && flight.kind != RequestKind::Deregister {
            let force = match self.config.udp_tunnelling {
                UdpTunnelling::Off => None,
                UdpTunnelling::WhenNatted => Some(false),
                UdpTunnelling::Forced => Some(true),
            };
            if let Some(force) = force {
                extensions.push(Extension::UdpTunnelRequest(UdpTunnelRequest {
                    sub_type: 0,
                    force,
                    registration_through_fa: false,
                    encapsulation: Encapsulation::IpInIp,
                }));
            }
        }
        let mut bytes = Request {
            flags: flight.flags,
            lifetime: flight.lifetime,
            home_address: self.config.home_address,
            home_agent: self.config.home_agent,
            care_of_address: flight.coa,
            identification,
            extensions,
        }
        .to_vec()?;
        append_signature(&mut bytes, ExtensionType::MnHaAuth, sa)?;
        if let Some(fa_sa) = flight
            .via_fa
            .and_then(|fa| self.config.foreign_agent_sa(fa))
        {
            append_signature(&mut bytes, ExtensionType::MnFaAuth, fa_sa)?;
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ha::HomeNetwork;

    const T0: u64 = 1_704_067_200_000;

    fn config() -> Config {
        Config::new(
            Ipv4Addr::new(10, 0, 0, 5),
            Ipv4Addr::new(10, 0, 0, 1),
            HomeNetwork {
                prefix: Ipv4Addr::new(10, 0, 0, 0),
                len: 24,
            },
            [1; 32],
        )
    }

    #[test]
    fn an_overlong_nai_is_refused_up_front() {
        let mut c = config();
        c.nai = Some(vec![b'x'; 256]);
        assert_eq!(
            MobileNode::new(c).map(|_| ()),
            Err(Error::ExtensionTooLong(131))
        );
    }

    #[test]
    fn detached_node_is_idle_until_asked_to_solicit() {
        let mut mn = MobileNode::new(config()).expect("valid");
        assert_eq!(
            mn.state(),
            State {
                location: Location::Detached,
                registration: Registration::Unregistered
            }
        );
        assert_eq!(mn.poll_timeout(), None);
        mn.reregister(T0);
        assert!(mn.poll_transmit().is_none());
        mn.solicit(T0);
        assert_eq!(
            mn.poll_solicitation(),
            Some(AgentSolicitation.to_bytes().to_vec()),
            "the first solicitation leaves without waiting for a timer"
        );
        assert_eq!(mn.poll_timeout(), Some(T0 + 1_000));
        mn.handle_timeout(T0 + 999);
        assert_eq!(mn.poll_solicitation(), None);
        mn.handle_timeout(T0 + 1_000);
        assert!(mn.poll_solicitation().is_some());
    }

    #[test]
    fn location_helpers() {
        let coa = Ipv4Addr::new(192, 0, 2, 7);
        assert_eq!(Location::AwayColocated { coa }.care_of_address(), Some(coa));
        assert_eq!(Location::AtHome.care_of_address(), None);
        assert_eq!(
            Location::AwayViaForeignAgent { fa: coa, coa }.to_string(),
            "away via foreign agent 192.0.2.7 (care-of 192.0.2.7)"
        );
    }
}
