//! The foreign agent (RFC 5944 §2.3, §3.7; RFC 3024 for reverse
//! tunnelling) as a sans-IO core: octets and clock readings in, datagrams,
//! log records and visitor list changes out. The driver owns the sockets,
//! the ICMP advertisement timer, decapsulation and the reverse tunnel, and
//! reads [`ForeignAgent::visitors`] to deliver traffic.
//!
//! Clock: `now_ms` is wall-clock Unix milliseconds, as for the home agent.
//!
//! Advertisements (§2.3): each one, periodic or in answer to an Agent
//! Solicitation, carries the next sequence number: 0 after start, then one
//! more each time, 0xffff followed by 256 (§2.3.2) so that a mobile node
//! can tell a wrap from a reboot. B is set while the visitor list is full.
//!
//! Processing order of a visitor's request (§3.7.2):
//!
//! 1. shorter than the fixed part or not type 1: dropped, no reply;
//! 2. extensions that do not parse, or a non-skippable one we do not
//!    know (§1.9): 70;
//! 3. MN-FA authentication, when an association with the home address is
//!    configured (or required by policy), missing or wrong: 67;
//! 4. home address 0.0.0.0: 96; Home Agent field 0.0.0.0 or broadcast: 98;
//! 5. home address outside the admitted home networks: 65;
//! 6. lifetime above the maximum: 69, the reply carrying the maximum;
//! 7. G or M not offered: 72; T not offered: 74; T missing where reverse
//!    tunnelling is mandatory: 75 (not for deregistrations);
//! 8. D clear and a care-of address that is not ours: 77;
//! 9. pending list full: 66; a new visitor beyond the visitor maximum: 66;
//! 10. relayed: everything after the MN-HA authenticator is removed (it
//!     was for us), an FA-HA authenticator appended when an association
//!     with the home agent is configured (§3.7.2.2), sent from the care-of
//!     address to the home agent's port 434; a pending entry remembers the
//!     visitor. A later request from the same home address replaces it.
//!
//! A home agent's reply (§3.7.3) must come from the home agent a pending
//! request went to and match its home address and the low 32 bits of its
//! Identification; otherwise it is dropped. With an FA-HA association the
//! reply must carry a valid FA-HA authenticator, else the visitor is told
//! 68; a reply that does not parse gets 71. A valid reply is relayed with
//! everything after its MN-HA authenticator removed and an MN-FA one
//! appended where the request had one (§3.7.3.2); codes 0 and 1 create,
//! refresh or (deregistration) remove the visitor entry. A request that
//! waits longer than `pending_timeout_ms` is answered 78. Denials sent by
//! this agent carry no MN-HA authenticator (it has no such key); they are
//! signed with MN-FA when the request's MN-FA authenticator verified.
//! A refused request changes no state.

pub mod config;
pub mod outcome;
pub mod visitor;

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddrV4};

pub use config::{Config, ConfigError, DEFAULT_PENDING_TIMEOUT_MS, MAX_CARE_OF_ADDRESSES};
pub use outcome::{FaDenial, FaOutcome, Record, Unreachable, Verdict, VisitorChange};
pub use visitor::{Pending, Visitor};

use crate::advert::{
    AdvertisementExtension, AgentFlags, AgentSolicitation, CODE_MOBILITY_ONLY,
    CODE_ROUTES_COMMON_TRAFFIC, MobilityAgentAdvertisement, RouterAdvertisement, RouterEntry,
};
use crate::auth::{SecurityAssociation, append_signature, verify};
use crate::code::ReplyCode;
use crate::error::Error;
use crate::ext::{Encapsulation, ExtensionReader, ExtensionType};
use crate::mn::Transmit;
use crate::registration::{
    LIFETIME_INFINITE, MIP_PORT, REPLY_FIXED_LEN, REQUEST_FIXED_LEN, Reply, ReplyPacket, Request,
    RequestFlags, RequestPacket,
};

/// The sequence number after `n` (§2.3.2: 0xffff is followed by 256).
pub fn next_sequence(n: u16) -> u16 {
    if n == u16::MAX { 256 } else { n + 1 }
}

/// Where agent-bound extensions start: just past the MN-HA authenticator
/// if there is one, else at the first MN-FA or FA-HA authenticator, else
/// the end (RFC 5944 §3.7.2.2, §3.7.3.2: what follows the MN-HA
/// authenticator was for the agent).
fn agent_part_offset(message: &[u8], fixed_len: usize) -> Result<usize, Error> {
    let mut mn_ha_end = None;
    let mut first_agent = None;
    for raw in ExtensionReader::new(message, fixed_len) {
        let raw = raw?;
        match ExtensionType::from(raw.ext_type) {
            ExtensionType::MnHaAuth if mn_ha_end.is_none() => mn_ha_end = Some(raw.end()),
            ExtensionType::MnFaAuth | ExtensionType::FaHaAuth if first_agent.is_none() => {
                first_agent = Some(raw.offset);
            }
            _ => {}
        }
    }
    Ok(mn_ha_end.or(first_agent).unwrap_or(message.len()))
}

/// The foreign agent.
#[derive(Debug, Clone)]
pub struct ForeignAgent {
    config: Config,
    /// Sequence number of the next advertisement.
    sequence: u16,
    mn_fa: HashMap<Ipv4Addr, SecurityAssociation>,
    fa_ha: HashMap<Ipv4Addr, SecurityAssociation>,
    pending: Vec<Pending>,
    visitors: BTreeMap<Ipv4Addr, Visitor>,
}

/// A reply the agent composes itself (a denial or 78).
struct OwnReply {
    code: ReplyCode,
    lifetime: u16,
    home_address: Ipv4Addr,
    home_agent: Ipv4Addr,
    identification: u64,
    sign_mn_fa: bool,
}

impl ForeignAgent {
    /// An agent with empty tables whose first advertisement has sequence
    /// number 0.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(ForeignAgent {
            config,
            sequence: 0,
            mn_fa: HashMap::new(),
            fa_ha: HashMap::new(),
            pending: Vec::new(),
            visitors: BTreeMap::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Adds or replaces the MN-FA association with the mobile node of
    /// `home` (RFC 5944 §3.5.3).
    pub fn add_mn_fa_sa(&mut self, home: Ipv4Addr, sa: SecurityAssociation) {
        self.mn_fa.insert(home, sa);
    }

    /// Adds or replaces the FA-HA association with `home_agent`
    /// (RFC 5944 §3.5.4).
    pub fn add_fa_ha_sa(&mut self, home_agent: Ipv4Addr, sa: SecurityAssociation) {
        self.fa_ha.insert(home_agent, sa);
    }

    /// Sequence number the next advertisement will carry.
    pub fn next_advertisement_sequence(&self) -> u16 {
        self.sequence
    }

    /// The visitor list.
    pub fn visitors(&self) -> impl Iterator<Item = &Visitor> {
        self.visitors.values()
    }

    /// The visitor with home address `home`.
    pub fn visitor(&self, home: Ipv4Addr) -> Option<&Visitor> {
        self.visitors.get(&home)
    }

    /// Requests relayed and not yet answered.
    pub fn pending(&self) -> impl Iterator<Item = &Pending> {
        self.pending.iter()
    }

    /// The next Agent Advertisement (ICMP octets, RFC 5944 §2.1): a Router
    /// Advertisement naming our address, the Mobility Agent Advertisement
    /// extension and the Prefix-Lengths extension. Consumes a sequence
    /// number (§2.3.2).
    pub fn advertisement(&mut self, now_ms: u64) -> Vec<u8> {
        let c = &self.config;
        let live = self
            .visitors
            .values()
            .filter(|v| !v.is_expired(now_ms))
            .count();
        let mut flags = AgentFlags::F;
        for (on, bit) in [
            (c.registration_required, AgentFlags::R),
            (c.busy || live >= c.max_visitors, AgentFlags::B),
            (c.home_agent, AgentFlags::H),
            (c.minimal_encapsulation, AgentFlags::M),
            (c.gre, AgentFlags::G),
            (c.reverse_tunnelling, AgentFlags::T),
        ] {
            if on {
                flags |= bit;
            }
        }
        let ad = RouterAdvertisement {
            code: if c.routes_common_traffic {
                CODE_ROUTES_COMMON_TRAFFIC
            } else {
                CODE_MOBILITY_ONLY
            },
            lifetime: c.advertisement_lifetime,
            routers: vec![RouterEntry {
                address: c.address,
                preference: 0,
            }],
            extensions: vec![
                AdvertisementExtension::MobilityAgent(MobilityAgentAdvertisement {
                    sequence: self.sequence,
                    registration_lifetime: c.max_registration_lifetime,
                    flags: AgentFlags(flags),
                    care_of_addresses: c.care_of_addresses.clone(),
                }),
                AdvertisementExtension::PrefixLengths(vec![c.prefix_len]),
            ],
        };
        self.sequence = next_sequence(self.sequence);
        // `new` checked the configuration, so this cannot fail.
        ad.to_vec().unwrap_or_default()
    }

    /// An ICMP message that may be an Agent Solicitation (RFC 5944 §2.2);
    /// answered with an advertisement (RFC 1256 §5.1 allows unicast to the
    /// soliciting address or multicast, the driver chooses).
    pub fn handle_solicitation(&mut self, now_ms: u64, icmp: &[u8]) -> Result<Vec<u8>, Error> {
        AgentSolicitation::from_bytes(icmp)?;
        Ok(self.advertisement(now_ms))
    }

    /// Processes a Registration Request from a visitor at `src`
    /// (RFC 5944 §3.7.2).
    pub fn handle_visitor_request(
        &mut self,
        now_ms: u64,
        src: SocketAddrV4,
        bytes: &[u8],
    ) -> FaOutcome {
        let packet = match RequestPacket::new_checked(bytes) {
            Ok(p) => p,
            Err(e) => {
                return FaOutcome {
                    transmit: None,
                    record: Record {
                        source: src,
                        home_address: None,
                        home_agent: None,
                        identification: None,
                        verdict: Verdict::Dropped(FaDenial::NotARequest(e)),
                    },
                    change: None,
                };
            }
        };
        let home = packet.home_address();
        let ha = packet.home_agent();
        let ident = packet.identification();
        let record = |verdict| Record {
            source: src,
            home_address: Some(home),
            home_agent: Some(ha),
            identification: Some(ident),
            verdict,
        };
        let deny = |this: &Self, denial: FaDenial, sign_mn_fa: bool| {
            let lifetime = match denial {
                FaDenial::LifetimeTooLong { max, .. } => max,
                _ => 0,
            };
            let code = denial
                .reply_code()
                .unwrap_or(ReplyCode::FaReasonUnspecified);
            FaOutcome {
                transmit: this.own_reply(
                    src,
                    OwnReply {
                        code,
                        lifetime,
                        home_address: home,
                        home_agent: ha,
                        identification: ident,
                        sign_mn_fa,
                    },
                ),
                record: record(Verdict::Denied(denial)),
                change: None,
            }
        };
        let request = match Request::parse(&packet) {
            Ok(r) => r,
            Err(e) => return deny(self, FaDenial::PoorlyFormedRequest(e), false),
        };
        if let Err(e) = request.check_extensions() {
            return deny(self, FaDenial::PoorlyFormedRequest(e), false);
        }
        // §3.7.2.1: MN-FA first.
        let mn_fa_verified = match self.mn_fa.get(&home) {
            Some(sa) => match verify(bytes, ExtensionType::MnFaAuth, sa) {
                Ok(_) => true,
                Err(e) => return deny(self, FaDenial::MobileNodeAuthentication(e), false),
            },
            None if self.config.require_mn_fa_auth => {
                let e = Error::MissingAuthentication(ExtensionType::MnFaAuth.into());
                return deny(self, FaDenial::MobileNodeAuthentication(e), false);
            }
            None => false,
        };
        let c = &self.config;
        let flags = request.flags;
        let dereg = request.lifetime == 0 || request.care_of_address == home;
        let checks = [
            (home.is_unspecified(), FaDenial::HomeAddressRequired),
            (
                ha.is_unspecified() || ha.is_broadcast(),
                FaDenial::MissingHomeAgent,
            ),
            (
                !c.allowed_home_networks.is_empty()
                    && !c.allowed_home_networks.iter().any(|n| n.contains(home)),
                FaDenial::AdministrativelyProhibited(home),
            ),
            (
                request.lifetime > c.max_registration_lifetime,
                FaDenial::LifetimeTooLong {
                    requested: request.lifetime,
                    max: c.max_registration_lifetime,
                },
            ),
            (
                (flags.contains(RequestFlags::G) && !c.gre)
                    || (flags.contains(RequestFlags::M) && !c.minimal_encapsulation),
                FaDenial::EncapsulationUnavailable,
            ),
            (
                flags.contains(RequestFlags::T) && !c.reverse_tunnelling,
                FaDenial::ReverseTunnelUnavailable,
            ),
            (
                !dereg && c.reverse_tunnel_mandatory && !flags.contains(RequestFlags::T),
                FaDenial::ReverseTunnelMandatory,
            ),
            (
                !flags.contains(RequestFlags::D)
                    && !dereg
                    && !c.care_of_addresses.contains(&request.care_of_address),
                FaDenial::InvalidCareOfAddress(request.care_of_address),
            ),
        ];
        if let Some((_, denial)) = checks.into_iter().find(|(failed, _)| *failed) {
            return deny(self, denial, mn_fa_verified);
        }
        let replaced = self.pending.iter().any(|p| p.home_address == home);
        if !replaced && self.pending.len() >= c.max_pending {
            return deny(
                self,
                FaDenial::TooManyPending(c.max_pending),
                mn_fa_verified,
            );
        }
        let live = self
            .visitors
            .values()
            .filter(|v| !v.is_expired(now_ms))
            .count();
        if !dereg && !self.visitors.contains_key(&home) && live >= c.max_visitors {
            return deny(
                self,
                FaDenial::TooManyVisitors(c.max_visitors),
                mn_fa_verified,
            );
        }
        // §3.7.2.2: relay what the home agent needs, then our FA-HA part.
        let cut = match agent_part_offset(bytes, REQUEST_FIXED_LEN) {
            Ok(n) => n,
            Err(e) => return deny(self, FaDenial::PoorlyFormedRequest(e), mn_fa_verified),
        };
        let mut relayed = bytes[..cut].to_vec();
        if let Some(sa) = self.fa_ha.get(&ha)
            && let Err(e) = append_signature(&mut relayed, ExtensionType::FaHaAuth, sa)
        {
            return deny(self, FaDenial::PoorlyFormedRequest(e), mn_fa_verified);
        }
        // One of ours, or (D set) the first we offer; `new` checked that
        // there is one.
        let coa = if c.care_of_addresses.contains(&request.care_of_address) {
            request.care_of_address
        } else {
            c.care_of_addresses
                .first()
                .copied()
                .unwrap_or(self.config.address)
        };
        let expires_ms = now_ms.saturating_add(c.pending_timeout_ms);
        self.pending.retain(|p| p.home_address != home);
        self.pending.push(Pending {
            link_source: src,
            home_address: home,
            home_agent: ha,
            care_of_address: request.care_of_address,
            identification: ident,
            requested_lifetime: request.lifetime,
            flags,
            mn_fa_verified,
            expires_ms,
        });
        FaOutcome {
            transmit: Some(Transmit {
                src: coa,
                dst: SocketAddrV4::new(ha, MIP_PORT),
                payload: relayed,
            }),
            record: record(Verdict::RequestRelayed { home_agent: ha }),
            change: None,
        }
    }

    /// Processes a Registration Reply from a home agent at `src`
    /// (RFC 5944 §3.7.3).
    pub fn handle_ha_reply(&mut self, now_ms: u64, src: SocketAddrV4, bytes: &[u8]) -> FaOutcome {
        let dropped = |home, ha, ident, denial| FaOutcome {
            transmit: None,
            record: Record {
                source: src,
                home_address: home,
                home_agent: ha,
                identification: ident,
                verdict: Verdict::Dropped(denial),
            },
            change: None,
        };
        let packet = match ReplyPacket::new_checked(bytes) {
            Ok(p) => p,
            Err(e) => return dropped(None, None, None, FaDenial::NotAReply(e)),
        };
        let home = packet.home_address();
        let ident = packet.identification();
        let Some(index) = self.pending.iter().position(|p| {
            p.home_address == home
                && p.identification as u32 == ident as u32
                && p.home_agent == *src.ip()
        }) else {
            return dropped(
                Some(home),
                Some(packet.home_agent()),
                Some(ident),
                FaDenial::NoPendingRequest,
            );
        };
        let pending = self.pending.swap_remove(index);
        let record = |verdict| Record {
            source: src,
            home_address: Some(home),
            home_agent: Some(pending.home_agent),
            identification: Some(ident),
            verdict,
        };
        let refuse = |this: &Self, denial: FaDenial| {
            let code = denial
                .reply_code()
                .unwrap_or(ReplyCode::FaReasonUnspecified);
            FaOutcome {
                transmit: this.own_reply(
                    pending.link_source,
                    OwnReply {
                        code,
                        lifetime: 0,
                        home_address: home,
                        home_agent: pending.home_agent,
                        identification: pending.identification,
                        sign_mn_fa: pending.mn_fa_verified,
                    },
                ),
                record: record(Verdict::Denied(denial)),
                change: None,
            }
        };
        if let Some(sa) = self.fa_ha.get(&pending.home_agent)
            && let Err(e) = verify(bytes, ExtensionType::FaHaAuth, sa)
        {
            return refuse(self, FaDenial::HomeAgentAuthentication(e));
        }
        let reply = match Reply::parse(&packet).and_then(|r| r.check_extensions().map(|()| r)) {
            Ok(r) => r,
            Err(e) => return refuse(self, FaDenial::PoorlyFormedReply(e)),
        };
        let cut = match agent_part_offset(bytes, REPLY_FIXED_LEN) {
            Ok(n) => n,
            Err(e) => return refuse(self, FaDenial::PoorlyFormedReply(e)),
        };
        let mut relayed = bytes[..cut].to_vec();
        if pending.mn_fa_verified
            && let Some(sa) = self.mn_fa.get(&home)
            && let Err(e) = append_signature(&mut relayed, ExtensionType::MnFaAuth, sa)
        {
            return refuse(self, FaDenial::PoorlyFormedReply(e));
        }
        let change = if reply.code.is_accepted() {
            self.apply_accept(now_ms, &pending, &reply)
        } else {
            None
        };
        FaOutcome {
            transmit: Some(Transmit {
                src: self.config.address,
                dst: pending.link_source,
                payload: relayed,
            }),
            record: record(Verdict::ReplyRelayed { code: reply.code }),
            change,
        }
    }

    /// Visitor list update for an accepting reply (§3.7.3.2).
    fn apply_accept(
        &mut self,
        now_ms: u64,
        pending: &Pending,
        reply: &Reply,
    ) -> Option<VisitorChange> {
        let home = pending.home_address;
        let granted = reply.lifetime.min(pending.requested_lifetime);
        if pending.is_deregistration() || granted == 0 {
            return self.visitors.remove(&home).map(VisitorChange::Removed);
        }
        if pending.flags.contains(RequestFlags::D) {
            // A co-located node registering through us because of R
            // decapsulates itself; nothing for us to deliver.
            return None;
        }
        let flags = pending.flags;
        let visitor = Visitor {
            home_address: home,
            home_agent: pending.home_agent,
            link_source: pending.link_source,
            care_of_address: pending.care_of_address,
            reverse_tunnel: flags.contains(RequestFlags::T),
            encapsulation: if flags.contains(RequestFlags::G) {
                Encapsulation::Gre
            } else if flags.contains(RequestFlags::M) {
                Encapsulation::Minimal
            } else {
                Encapsulation::IpInIp
            },
            granted_lifetime: granted,
            expires_ms: (granted != LIFETIME_INFINITE)
                .then(|| now_ms.saturating_add(u64::from(granted) * 1000)),
            identification: pending.identification,
        };
        let change = if self.visitors.contains_key(&home) {
            VisitorChange::Refreshed(visitor.clone())
        } else {
            VisitorChange::Added(visitor.clone())
        };
        self.visitors.insert(home, visitor);
        Some(change)
    }

    /// An ICMP error (destination unreachable) drawn by a request relayed
    /// to `home_agent`: every pending request to it is answered with code
    /// 80, 81, 82 or 88 (RFC 5944 §3.4) and dropped.
    pub fn handle_icmp_error(
        &mut self,
        _now_ms: u64,
        home_agent: Ipv4Addr,
        kind: Unreachable,
    ) -> Vec<FaOutcome> {
        let (hit, keep): (Vec<_>, Vec<_>) = self
            .pending
            .drain(..)
            .partition(|p| p.home_agent == home_agent);
        self.pending = keep;
        hit.into_iter()
            .map(|p| self.answer_pending(p, FaDenial::HomeAgentUnreachable(kind)))
            .collect()
    }

    /// Expires pending requests (answered 78) and visitors whose lifetime
    /// ran out.
    pub fn handle_timeout(&mut self, now_ms: u64) -> Vec<FaOutcome> {
        let (late, keep): (Vec<_>, Vec<_>) =
            self.pending.drain(..).partition(|p| p.expires_ms <= now_ms);
        self.pending = keep;
        let mut out: Vec<FaOutcome> = late
            .into_iter()
            .map(|p| self.answer_pending(p, FaDenial::RegistrationTimeout))
            .collect();
        let lapsed: Vec<Ipv4Addr> = self
            .visitors
            .values()
            .filter(|v| v.is_expired(now_ms))
            .map(|v| v.home_address)
            .collect();
        for home in lapsed {
            if let Some(v) = self.visitors.remove(&home) {
                out.push(FaOutcome {
                    transmit: None,
                    record: Record {
                        source: v.link_source,
                        home_address: Some(v.home_address),
                        home_agent: Some(v.home_agent),
                        identification: Some(v.identification),
                        verdict: Verdict::VisitorExpired,
                    },
                    change: Some(VisitorChange::Expired(v)),
                });
            }
        }
        out
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next run.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.pending
            .iter()
            .map(|p| p.expires_ms)
            .chain(self.visitors.values().filter_map(|v| v.expires_ms))
            .min()
    }

    fn answer_pending(&self, p: Pending, denial: FaDenial) -> FaOutcome {
        let code = denial
            .reply_code()
            .unwrap_or(ReplyCode::FaReasonUnspecified);
        FaOutcome {
            transmit: self.own_reply(
                p.link_source,
                OwnReply {
                    code,
                    lifetime: 0,
                    home_address: p.home_address,
                    home_agent: p.home_agent,
                    identification: p.identification,
                    sign_mn_fa: p.mn_fa_verified,
                },
            ),
            record: Record {
                source: p.link_source,
                home_address: Some(p.home_address),
                home_agent: Some(p.home_agent),
                identification: Some(p.identification),
                verdict: Verdict::Denied(denial),
            },
            change: None,
        }
    }

    /// A reply composed by this agent, sent from our link address to the
    /// visitor; MN-FA signed when asked (RFC 5944 §3.5.3).
    fn own_reply(&self, to: SocketAddrV4, r: OwnReply) -> Option<Transmit> {
        let mut bytes = Reply {
            code: r.code,
            lifetime: r.lifetime,
            home_address: r.home_address,
            home_agent: r.home_agent,
            identification: r.identification,
            extensions: Vec::new(),
        }
        .to_vec()
        .ok()?;
        if r.sign_mn_fa
            && let Some(sa) = self.mn_fa.get(&r.home_address)
        {
            append_signature(&mut bytes, ExtensionType::MnFaAuth, sa).ok()?;
        }
        Some(Transmit {
            src: self.config.address,
            dst: to,
            payload: bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_wraps_to_256() {
        assert_eq!(next_sequence(0), 1);
        assert_eq!(next_sequence(255), 256);
        assert_eq!(next_sequence(0xfffe), 0xffff);
        assert_eq!(next_sequence(0xffff), 256);
    }

    #[test]
    fn agent_part() {
        // Fixed part of 24, NAI (5), MN-HA (2+4+16), MN-FA (2+4+16).
        let mut m = vec![1u8; REQUEST_FIXED_LEN];
        m.extend_from_slice(&[131, 3, b'a', b'@', b'b']);
        let mn_ha_at = m.len();
        m.extend_from_slice(&[32, 20]);
        m.extend_from_slice(&[0; 20]);
        let mn_fa_at = m.len();
        m.extend_from_slice(&[33, 20]);
        m.extend_from_slice(&[0; 20]);
        assert_eq!(agent_part_offset(&m, REQUEST_FIXED_LEN), Ok(mn_fa_at));
        // Without MN-HA: cut at the MN-FA extension.
        let mut n = m[..mn_ha_at].to_vec();
        n.extend_from_slice(&m[mn_fa_at..]);
        assert_eq!(agent_part_offset(&n, REQUEST_FIXED_LEN), Ok(mn_ha_at));
        // Neither: keep everything.
        assert_eq!(
            agent_part_offset(&m[..mn_ha_at], REQUEST_FIXED_LEN),
            Ok(mn_ha_at)
        );
        assert_eq!(
            agent_part_offset(&m[..mn_ha_at + 3], REQUEST_FIXED_LEN),
            Err(Error::Truncated)
        );
    }
}
