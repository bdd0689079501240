//! The home agent's registration processing (RFC 5944 §3.8) as a sans-IO
//! core: octets and clock readings in, reply octets, a log record and a
//! binding change out. A driver owns the socket, the tunnels, the clock and
//! the file the [`HomeAgent::snapshot`] is written to.
//!
//! Clock: every entry point takes `now_ms`, the wall-clock time in Unix
//! milliseconds. One clock serves three needs: binding expiry, the NTP
//! timestamp replay check (RFC 5944 §5.7.1 compares against the time of
//! day anyway) and persistence (absolute times survive a restart, a
//! monotonic `Instant` does not). A wall-clock step moves expiries with
//! it; the driver should keep the host clock disciplined (NTP), as §5.7.1
//! already requires for timestamps.
//!
//! Processing order of a request (RFC 5944 §3.8.2, §3.8.3):
//!
//! 1. shorter than the fixed part or not type 1: dropped, no reply;
//! 2. extensions that do not parse: 134; a non-skippable extension we do
//!    not know (§1.9): 134;
//! 3. Home Agent field not one of ours: 136, the reply naming our address
//!    (§3.8.3.2);
//! 4. MN-HA authentication missing, unknown SPI, bad authenticator: 131;
//!    then, when we share an FA-HA association with the request's source
//!    (the foreign agent that relayed it), FA-HA authentication missing,
//!    unknown SPI, bad authenticator, or not after MN-HA: 132
//!    (§3.8.2.1, §3.5.4);
//! 5. home address 0.0.0.0 (RFC 2794 assignment, not offered) or outside
//!    our home networks: 129;
//! 6. Identification replayed or out of the window: 133 with the
//!    resynchronising Identification of §5.7;
//! 7. G/M encapsulation not offered: 139; T without reverse tunnelling:
//!    137; UDP Tunnel Request (RFC 3519) when UDP tunnelling is off: 142;
//! 8. a further simultaneous binding beyond the maximum: 135;
//! 9. accepted: 0 (or 1 when S was asked for and simultaneous bindings
//!    are switched off), lifetime min(requested, maximum).
//!
//! A reply is signed with the request's MN-HA association exactly when the
//! request's own MN-HA authenticator verified: a reply to an unauthenticated
//! request is sent without one, so it is no MAC oracle for an attacker.
//! The same rule holds for FA-HA (§3.5.4, §3.8.3): a reply to a request
//! whose FA-HA authenticator verified carries an FA-HA authenticator
//! after the MN-HA one, computed with the association the request named;
//! a 132 goes back without it (the foreign agent then tells the mobile
//! node 68, RFC 5944 §3.7.3.1). A refused request changes no state.

pub mod binding;
pub mod config;
pub mod forward;
pub mod outcome;
pub mod persist;

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddrV4};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub use binding::{Binding, BindingCache, TooManyBindings, Tunnel};
pub use config::{Config, DEFAULT_UDP_KEEPALIVE_SECS, HomeNetwork};
pub use forward::{ReverseDrop, TunnelSource};
pub use outcome::{BindingChange, Denial, Outcome, Record, Verdict};
pub use persist::SnapshotError;

use crate::auth::{SaTable, SecurityAssociation, append_signature, verify_with_table};
use crate::code::ReplyCode;
use crate::error::Error;
use crate::ext::{
    Encapsulation, Extension, ExtensionType, UdpTunnelReply, UdpTunnelReplyCode, UdpTunnelRequest,
};
use crate::registration::{LIFETIME_INFINITE, Reply, Request, RequestFlags, RequestPacket};
use crate::replay::{NtpTimestamp, ReplayCheck, ReplayMode};

/// Per mobile node replay state: the last accepted Identification and how
/// many requests were accepted (the count keeps derived nonces from ever
/// cycling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MnRecord {
    /// Identification of the last accepted request.
    pub last_accepted: u64,
    /// Number of accepted requests.
    pub accepted: u64,
}

/// The home agent: configuration, mobility security associations,
/// binding list and replay state.
#[derive(Debug, Clone)]
pub struct HomeAgent {
    config: Config,
    sa_by_home: HashMap<Ipv4Addr, SaTable>,
    sa_by_nai: HashMap<Vec<u8>, SaTable>,
    sa_by_fa: HashMap<Ipv4Addr, SaTable>,
    cache: BindingCache,
    records: BTreeMap<Ipv4Addr, MnRecord>,
}

/// A reply under construction.
struct Draft<'a> {
    code: ReplyCode,
    lifetime: u16,
    home_agent: Ipv4Addr,
    identification: u64,
    extensions: Vec<Extension>,
    sa: Option<&'a SecurityAssociation>,
    /// The FA-HA association to append an authenticator with.
    fa_sa: Option<&'a SecurityAssociation>,
}

impl HomeAgent {
    /// A home agent with no SA and an empty binding list.
    pub fn new(config: Config) -> Self {
        HomeAgent {
            config,
            sa_by_home: HashMap::new(),
            sa_by_nai: HashMap::new(),
            sa_by_fa: HashMap::new(),
            cache: BindingCache::new(),
            records: BTreeMap::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Adds the mobility SA shared with the mobile node of `home`.
    pub fn add_sa_for_home(&mut self, home: Ipv4Addr, sa: SecurityAssociation) {
        self.sa_by_home.entry(home).or_default().insert(sa);
    }

    /// Adds the mobility SA shared with the mobile node identified by its
    /// NAI (RFC 2794); used when the request carries an MN-NAI extension.
    pub fn add_sa_for_nai(&mut self, nai: &[u8], sa: SecurityAssociation) {
        self.sa_by_nai.entry(nai.to_vec()).or_default().insert(sa);
    }

    /// Adds (or replaces, by SPI) an FA-HA association with the foreign
    /// agent whose relayed requests come from the IP address `fa` (its
    /// care-of address, RFC 5944 §3.7.2.2). From then on every request
    /// from `fa` must carry a valid FA-HA authentication extension after
    /// its MN-HA one, else 132 (§3.8.2.1), and replies to it carry one
    /// (§3.5.4).
    pub fn add_fa_ha_sa(&mut self, fa: Ipv4Addr, sa: SecurityAssociation) {
        self.sa_by_fa.entry(fa).or_default().insert(sa);
    }

    /// The binding list.
    pub fn bindings(&self) -> &BindingCache {
        &self.cache
    }

    /// The live bindings a datagram for `dst` is tunnelled along
    /// ([`forward::tunnel_targets`]).
    pub fn tunnel_targets(&self, now_ms: u64, dst: Ipv4Addr) -> impl Iterator<Item = &Binding> {
        forward::tunnel_targets(&self.cache, now_ms, dst)
    }

    /// Checks a reverse-tunnelled datagram before it enters the home
    /// network ([`forward::check_reverse`]).
    pub fn check_reverse(
        &self,
        now_ms: u64,
        from: TunnelSource,
        inner: &crate::tunnel::Ipv4Packet<'_>,
    ) -> Result<Ipv4Addr, ReverseDrop> {
        forward::check_reverse(&self.cache, now_ms, from, inner)
    }

    /// The replay record of a home address.
    pub fn record(&self, home: Ipv4Addr) -> Option<MnRecord> {
        self.records.get(&home).copied()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be
    /// called, Unix milliseconds.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.cache.next_expiry()
    }

    /// Removes and returns the bindings lapsed at `now_ms`.
    pub fn handle_timeout(&mut self, now_ms: u64) -> Vec<Binding> {
        self.cache.expire(now_ms)
    }

    /// The versioned snapshot of the binding list and replay state
    /// ([`persist`] describes the format).
    pub fn snapshot(&self) -> Vec<u8> {
        persist::snapshot(&self.cache, &self.records)
    }

    /// The snapshot of a home agent with no state, for a first start.
    pub fn empty_snapshot() -> Vec<u8> {
        persist::snapshot(&BindingCache::new(), &BTreeMap::new())
    }

    /// The journal entry for `home` to append after an accepted request
    /// ([`persist`] describes the journal).
    pub fn journal_entry(&self, home: Ipv4Addr) -> Vec<u8> {
        persist::journal_entry(home, self.cache.get(home), self.records.get(&home).copied())
    }

    /// Replaces the state by a snapshot's followed by its journal's. On
    /// error nothing changes.
    pub fn restore_with_journal(
        &mut self,
        snapshot: &[u8],
        journal: &[u8],
        now_ms: u64,
    ) -> Result<(), SnapshotError> {
        let (cache, records) = persist::restore_with_journal(snapshot, journal, now_ms)?;
        self.cache = cache;
        self.records = records;
        Ok(())
    }

    /// Replaces the binding list and replay state by a snapshot's,
    /// dropping bindings lapsed at `now_ms`. On error nothing changes.
    pub fn restore(&mut self, bytes: &[u8], now_ms: u64) -> Result<(), SnapshotError> {
        let (cache, records) = persist::restore(bytes, now_ms)?;
        self.cache = cache;
        self.records = records;
        Ok(())
    }

    /// Nonce for the next request of `home` given its record
    /// (RFC 5944 §5.7.2): HMAC-SHA-256 under the configured secret over
    /// the home address, the accepted count and the last Identification,
    /// so it is unpredictable without the secret, needs no stored state
    /// beyond the record, and never repeats in a cycle.
    fn nonce(&self, home: Ipv4Addr, rec: MnRecord) -> u32 {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.config.nonce_secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        m.update(&home.octets());
        m.update(&rec.accepted.to_be_bytes());
        m.update(&rec.last_accepted.to_be_bytes());
        let out = m.finalize().into_bytes();
        u32::from_be_bytes([out[0], out[1], out[2], out[3]])
    }

    fn our_address(&self, dst: Ipv4Addr) -> Ipv4Addr {
        if self.config.addresses.contains(&dst) {
            dst
        } else {
            self.config.addresses.first().copied().unwrap_or(dst)
        }
    }

    /// Processes one Registration Request received from `src` on our
    /// address `dst` (RFC 5944 §3.8).
    pub fn handle_request(
        &mut self,
        now_ms: u64,
        src: SocketAddrV4,
        dst: Ipv4Addr,
        bytes: &[u8],
    ) -> Outcome {
        let packet = match RequestPacket::new_checked(bytes) {
            Ok(p) => p,
            Err(e) => {
                return Outcome {
                    reply: None,
                    record: Record {
                        source: src,
                        home_address: None,
                        care_of_address: None,
                        identification: None,
                        verdict: Verdict::Dropped(Denial::NotARequest(e)),
                    },
                    change: None,
                };
            }
        };
        let home = packet.home_address();
        let record = |verdict| Record {
            source: src,
            home_address: Some(home),
            care_of_address: Some(packet.care_of_address()),
            identification: Some(packet.identification()),
            verdict,
        };
        let deny = |this: &Self,
                    denial: Denial,
                    ha: Ipv4Addr,
                    sa: Option<&SecurityAssociation>,
                    fa_sa: Option<&SecurityAssociation>| {
            let code = denial
                .reply_code()
                .unwrap_or(ReplyCode::HaReasonUnspecified);
            let reply = this.emit_reply(
                home,
                Draft {
                    code,
                    lifetime: 0,
                    home_agent: ha,
                    identification: packet.identification(),
                    extensions: Vec::new(),
                    sa,
                    fa_sa,
                },
            );
            Outcome {
                reply,
                record: record(Verdict::Denied(denial)),
                change: None,
            }
        };
        let request = match Request::parse(&packet) {
            Ok(r) => r,
            Err(e) => {
                return deny(self, Denial::Malformed(e), packet.home_agent(), None, None);
            }
        };
        // Authenticate first (the results decide whether replies are
        // signed), report in the order of the module documentation.
        let fa_auth = self.authenticate_fa(bytes, &request, *src.ip());
        let fa_sa = fa_auth.as_ref().and_then(|r| r.as_ref().ok());
        if let Err(Error::UnrecognizedExtension(t)) = request.check_extensions() {
            return deny(
                self,
                Denial::UnrecognizedExtension(t),
                request.home_agent,
                None,
                fa_sa,
            );
        }
        let auth = self.authenticate(bytes, &request);
        let sa = auth.as_ref().ok().map(|(sa, _)| sa);
        if !self.config.addresses.contains(&request.home_agent) {
            let ha = self.our_address(dst);
            return deny(
                self,
                Denial::UnknownHomeAgent(request.home_agent),
                ha,
                sa,
                fa_sa,
            );
        }
        let ha = request.home_agent;
        let (sa, protected) = match &auth {
            Ok((sa, n)) => (sa, &request.extensions[..*n]),
            Err(e) => return deny(self, Denial::Authentication(e.clone()), ha, None, fa_sa),
        };
        if let Some(Err(e)) = &fa_auth {
            return deny(
                self,
                Denial::ForeignAgentAuthentication(e.clone()),
                ha,
                Some(sa),
                None,
            );
        }
        if home.is_unspecified() || !self.config.home_networks.iter().any(|n| n.contains(home)) {
            return deny(
                self,
                Denial::HomeAddressNotServed(home),
                ha,
                Some(sa),
                fa_sa,
            );
        }

        // RFC 5944 §5.7.
        let rec = self.records.get(&home).copied().unwrap_or_default();
        let ident = request.identification;
        let next_rec = MnRecord {
            last_accepted: ident,
            accepted: rec.accepted.wrapping_add(1),
        };
        let reply_ident = match sa.replay() {
            ReplayMode::Timestamp { tolerance_secs } => ReplayCheck::Timestamp {
                now: NtpTimestamp::from_unix(now_ms / 1000, ((now_ms % 1000) * 1_000_000) as u32),
                tolerance_secs,
                last_accepted: self.records.get(&home).map(|r| r.last_accepted),
            }
            .check(ident)
            .map_err(|r| r.reply_identification),
            ReplayMode::Nonce => {
                let expected = self.nonce(home, rec);
                ReplayCheck::Nonce {
                    expected,
                    next: self.nonce(home, next_rec),
                }
                .check(ident)
                // The HA's state is unchanged, so the nonce to use next
                // is still the expected one.
                .map_err(|_| (u64::from(expected) << 32) | (ident & 0xffff_ffff))
            }
        };
        let reply_ident = match reply_ident {
            Ok(i) => i,
            Err(resync) => {
                // §5.7: the reply carries the resynchronising value.
                return Outcome {
                    reply: self.emit_reply(
                        home,
                        Draft {
                            code: ReplyCode::HaIdentificationMismatch,
                            lifetime: 0,
                            home_agent: ha,
                            identification: resync,
                            extensions: Vec::new(),
                            sa: Some(sa),
                            fa_sa,
                        },
                    ),
                    record: record(Verdict::Denied(Denial::Replay(ident))),
                    change: None,
                };
            }
        };

        let flags = request.flags;
        let coa = request.care_of_address;
        let before = self.cache.get(home).to_vec();
        let at_home = coa == home;
        let mut code = ReplyCode::Accepted;
        let mut extensions = Vec::new();
        let granted;
        if request.lifetime == 0 || at_home {
            // RFC 5944 §3.6.1.2, §3.8.3.1: deregistration.
            granted = 0;
            if at_home {
                self.cache.remove_all(home);
            } else {
                self.cache.remove(home, coa);
            }
            self.records.insert(home, next_rec);
            return self.accept(
                home,
                ha,
                code,
                granted,
                reply_ident,
                extensions,
                (sa, fa_sa),
                before,
                &record,
            );
        }
        let udp_req = protected.iter().find_map(|e| match e {
            Extension::UdpTunnelRequest(r) => Some(*r),
            _ => None,
        });
        if (flags.contains(RequestFlags::G) && !self.config.gre)
            || (flags.contains(RequestFlags::M) && !self.config.minimal_encapsulation)
        {
            return deny(self, Denial::EncapsulationUnavailable, ha, Some(sa), fa_sa);
        }
        if flags.contains(RequestFlags::T) && !self.config.reverse_tunnelling {
            return deny(self, Denial::ReverseTunnelUnavailable, ha, Some(sa), fa_sa);
        }
        let mut tunnel = if flags.contains(RequestFlags::G) {
            Tunnel::Gre
        } else if flags.contains(RequestFlags::M) {
            Tunnel::Minimal
        } else {
            Tunnel::IpInIp
        };
        if let Some(r) = udp_req {
            match self.udp_tunnel(src, coa, r) {
                Err(d) => return deny(self, d, ha, Some(sa), fa_sa),
                Ok((t, ext)) => {
                    tunnel = t.unwrap_or(tunnel);
                    extensions.push(Extension::UdpTunnelReply(ext));
                }
            }
        }
        let simultaneous = flags.contains(RequestFlags::S) && self.config.simultaneous_bindings;
        if flags.contains(RequestFlags::S) && !self.config.simultaneous_bindings {
            code = ReplyCode::AcceptedNoSimultaneousBindings;
        }
        let max = self.config.max_bindings;
        if self.cache.would_exceed(home, coa, simultaneous, max) {
            return deny(self, Denial::TooManyBindings(max), ha, Some(sa), fa_sa);
        }
        granted = request.lifetime.min(self.config.max_lifetime);
        let binding = Binding {
            home_address: home,
            care_of_address: coa,
            granted_lifetime: granted,
            expires_ms: (granted != LIFETIME_INFINITE)
                .then(|| now_ms.saturating_add(u64::from(granted) * 1000)),
            identification: ident,
            flags,
            tunnel,
            source: src,
        };
        if self.cache.register(binding, simultaneous, max).is_err() {
            return deny(self, Denial::TooManyBindings(max), ha, Some(sa), fa_sa);
        }
        self.records.insert(home, next_rec);
        self.accept(
            home,
            ha,
            code,
            granted,
            reply_ident,
            extensions,
            (sa, fa_sa),
            before,
            &record,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn accept(
        &self,
        home: Ipv4Addr,
        ha: Ipv4Addr,
        code: ReplyCode,
        lifetime: u16,
        identification: u64,
        extensions: Vec<Extension>,
        (sa, fa_sa): (&SecurityAssociation, Option<&SecurityAssociation>),
        before: Vec<Binding>,
        record: &dyn Fn(Verdict) -> Record,
    ) -> Outcome {
        let after = self.cache.get(home).to_vec();
        let change = (before != after).then_some(BindingChange {
            home_address: home,
            before,
            after,
        });
        Outcome {
            reply: self.emit_reply(
                home,
                Draft {
                    code,
                    lifetime,
                    home_agent: ha,
                    identification,
                    extensions,
                    sa: Some(sa),
                    fa_sa,
                },
            ),
            record: record(Verdict::Accepted { code, lifetime }),
            change,
        }
    }

    /// RFC 3519 §3.1–§3.2: decides on UDP tunnelling. A NAT is assumed
    /// when the request's source address differs from the care-of address;
    /// the F flag forces tunnelling without one. Returns the tunnel to use
    /// (`None`: keep the ordinary one) and the UDP Tunnel Reply.
    fn udp_tunnel(
        &self,
        src: SocketAddrV4,
        coa: Ipv4Addr,
        r: UdpTunnelRequest,
    ) -> Result<(Option<Tunnel>, UdpTunnelReply), Denial> {
        if !self.config.udp_tunnelling {
            return Err(Denial::UdpTunnellingRefused);
        }
        let offered = match r.encapsulation {
            Encapsulation::IpInIp => true,
            Encapsulation::Gre => self.config.gre,
            Encapsulation::Minimal => self.config.minimal_encapsulation,
            Encapsulation::Unknown(_) => false,
        };
        if !offered {
            return Err(Denial::EncapsulationUnavailable);
        }
        let nat = *src.ip() != coa;
        let used = nat || r.force;
        let reply = UdpTunnelReply {
            sub_type: 0,
            code: if used {
                UdpTunnelReplyCode::Accepted
            } else {
                UdpTunnelReplyCode::Declined
            },
            forced: false,
            keepalive_interval: self.config.udp_keepalive_secs,
        };
        let tunnel = used.then_some(Tunnel::Udp {
            encapsulation: r.encapsulation,
            keepalive_secs: self.config.udp_keepalive_secs,
        });
        Ok((tunnel, reply))
    }

    /// Finds the MN-HA SA (by NAI when the request carries a configured
    /// MN-NAI, else by home address) and verifies the request. Returns the
    /// SA and how many leading extensions the authenticator protects.
    fn authenticate(
        &self,
        bytes: &[u8],
        request: &Request,
    ) -> Result<(SecurityAssociation, usize), Error> {
        let auth_index = request
            .extensions
            .iter()
            .position(|e| matches!(e, Extension::MnHaAuth(_)))
            .ok_or(Error::MissingAuthentication(ExtensionType::MnHaAuth.into()))?;
        let spi = match &request.extensions[auth_index] {
            Extension::MnHaAuth(a) => a.spi,
            _ => unreachable!("position matched MnHaAuth"),
        };
        let by_nai = request.extensions[..auth_index]
            .iter()
            .find_map(|e| match e {
                Extension::MnNai(nai) => self.sa_by_nai.get(nai),
                _ => None,
            });
        let table = by_nai
            .or_else(|| self.sa_by_home.get(&request.home_address))
            .ok_or(Error::UnknownSpi(spi))?;
        let verified = verify_with_table(bytes, ExtensionType::MnHaAuth, table)?;
        let sa = table
            .get(verified.extension.spi)
            .ok_or(Error::UnknownSpi(spi))?;
        Ok((sa.clone(), auth_index))
    }

    /// With an FA-HA association for `from` (the request's source), checks
    /// the request's FA-HA authentication extension (RFC 5944 §3.8.2.1):
    /// it must follow the MN-HA one, whose authenticator it then covers
    /// (§3.5.4, §3.7.2.2), and verify with the association its SPI names.
    /// `None` when we share no association with `from`: the extension, if
    /// any, is then not for us and is ignored.
    fn authenticate_fa(
        &self,
        bytes: &[u8],
        request: &Request,
        from: Ipv4Addr,
    ) -> Option<Result<SecurityAssociation, Error>> {
        let table = self.sa_by_fa.get(&from)?;
        let check = || {
            let missing = Error::MissingAuthentication(ExtensionType::FaHaAuth.into());
            let position = |f: fn(&Extension) -> bool| request.extensions.iter().position(f);
            let fa_ha = position(|e| matches!(e, Extension::FaHaAuth(_))).ok_or(missing.clone())?;
            if position(|e| matches!(e, Extension::MnHaAuth(_))).is_some_and(|m| fa_ha < m) {
                return Err(missing);
            }
            let verified = verify_with_table(bytes, ExtensionType::FaHaAuth, table)?;
            let spi = verified.extension.spi;
            table.get(spi).cloned().ok_or(Error::UnknownSpi(spi))
        };
        Some(check())
    }

    /// Encodes and, with an SA, signs a reply (RFC 5944 §3.4, §3.5.2);
    /// an FA-HA authenticator follows the MN-HA one (§3.5.4).
    fn emit_reply(&self, home: Ipv4Addr, d: Draft<'_>) -> Option<Vec<u8>> {
        let mut bytes = Reply {
            code: d.code,
            lifetime: d.lifetime,
            home_address: home,
            home_agent: d.home_agent,
            identification: d.identification,
            extensions: d.extensions,
        }
        .to_vec()
        .ok()?;
        if let Some(sa) = d.sa {
            append_signature(&mut bytes, ExtensionType::MnHaAuth, sa).ok()?;
        }
        if let Some(sa) = d.fa_sa {
            append_signature(&mut bytes, ExtensionType::FaHaAuth, sa).ok()?;
        }
        Some(bytes)
    }
}
