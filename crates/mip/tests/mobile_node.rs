//! The mobile node (`telsec_mip::mn`) against the real home agent and
//! foreign agent cores, wired together in memory with a fake clock
//! (RFC 5944 §2.4, §3.6, §5.7): register, renew, move, resynchronise,
//! retransmit, deregister, change keys, ignore forgeries.

use std::net::{Ipv4Addr, SocketAddrV4};

use telsec_mip::advert::{
    AdvertisementExtension, AgentFlags, AgentSolicitation, MobilityAgentAdvertisement,
    RouterAdvertisement, RouterEntry,
};
use telsec_mip::fa::{self, ForeignAgent, VisitorChange};
use telsec_mip::ha::{self, HomeAgent, HomeNetwork, Verdict};
use telsec_mip::mn::{
    self, Event, Ignored, Location, MobileNode, Note, Registration, Renewal, Transmit, TunnelMode,
    UdpTunnelling,
};
use telsec_mip::{
    Algorithm, Error, Extension, ExtensionType, MIP_PORT, ReplayMode, Reply, ReplyCode, Request,
    RequestFlags, SecurityAssociation, append_signature,
};

const HA: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const HOME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
const COA1: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
const COA2: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 9);
const FA1: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const FA1_SAME_LINK: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const FA2: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const MN_PORT: u16 = 49152;
/// 2024-01-01T00:00:00Z in Unix ms.
const T0: u64 = 1_704_067_200_000;
const SPI: u32 = 0x1000;

fn home_net() -> HomeNetwork {
    HomeNetwork {
        prefix: Ipv4Addr::new(10, 0, 0, 0),
        len: 24,
    }
}

fn sa_with(spi: u32, key: &[u8], replay: ReplayMode) -> SecurityAssociation {
    SecurityAssociation::new(spi, Algorithm::HmacMd5, key, replay).expect("SA")
}

fn sa() -> SecurityAssociation {
    sa_with(SPI, b"mn-ha-shared-key", ReplayMode::default())
}

fn mn_config(sa: Option<SecurityAssociation>) -> mn::Config {
    let mut c = mn::Config::new(HOME, HA, home_net(), [0x5a; 32]);
    c.sa = sa;
    c.lifetime = 300;
    c
}

fn ha_config() -> ha::Config {
    let mut c = ha::Config::new(HA, home_net(), b"nonce secret");
    c.max_lifetime = 600;
    c
}

fn fa_config(addr: Ipv4Addr, max_life: u16) -> fa::Config {
    let mut c = fa::Config::new(addr, 24, addr);
    c.max_registration_lifetime = max_life;
    c
}

/// The mobile node, the home agent and any foreign agents, with one clock
/// and a lossy path for replies.
struct Net {
    now: u64,
    /// The node's clock reads `now + skew_ms`.
    skew_ms: i64,
    mn: MobileNode,
    ha: HomeAgent,
    fas: Vec<ForeignAgent>,
    /// Replies from the home agent to drop before delivering again.
    lose_replies: u32,
    /// Everything the node sent, with the time.
    sent: Vec<(u64, Transmit)>,
    ha_outcomes: Vec<ha::Outcome>,
    fa_outcomes: Vec<fa::FaOutcome>,
    /// Every datagram delivered to the node, with its source.
    to_mn: Vec<(SocketAddrV4, Vec<u8>)>,
}

impl Net {
    fn new(mn: mn::Config) -> Self {
        let sa = mn.sa.clone();
        let mut ha = HomeAgent::new(ha_config());
        if let Some(sa) = sa {
            ha.add_sa_for_home(HOME, sa);
        }
        Net {
            now: T0,
            skew_ms: 0,
            mn: MobileNode::new(mn).expect("valid config"),
            ha,
            fas: Vec::new(),
            lose_replies: 0,
            sent: Vec::new(),
            ha_outcomes: Vec::new(),
            fa_outcomes: Vec::new(),
            to_mn: Vec::new(),
        }
    }

    fn mn_now(&self) -> u64 {
        (self.now as i64 + self.skew_ms) as u64
    }

    fn fa_index(&self, addr: Ipv4Addr) -> Option<usize> {
        self.fas.iter().position(|f| f.config().address == addr)
    }

    fn deliver_to_mn(&mut self, from: SocketAddrV4, payload: Vec<u8>) {
        self.to_mn.push((from, payload.clone()));
        let now = self.mn_now();
        let _ = self.mn.handle_reply(now, from, &payload);
    }

    /// The home agent answers a request from `from`; the reply, unless
    /// lost, is returned.
    fn ha_answers(&mut self, from: SocketAddrV4, payload: &[u8]) -> Option<Vec<u8>> {
        let out = self.ha.handle_request(self.now, from, HA, payload);
        let reply = out.reply.clone();
        self.ha_outcomes.push(out);
        let reply = reply?;
        if self.lose_replies > 0 {
            self.lose_replies -= 1;
            return None;
        }
        Some(reply)
    }

    fn deliver_fa_outcome(&mut self, i: usize, out: fa::FaOutcome) {
        self.fa_outcomes.push(out.clone());
        let Some(t) = out.transmit else {
            return;
        };
        if *t.dst.ip() == HA {
            let from = SocketAddrV4::new(t.src, MIP_PORT);
            if let Some(reply) = self.ha_answers(from, &t.payload) {
                let back =
                    self.fas[i].handle_ha_reply(self.now, SocketAddrV4::new(HA, MIP_PORT), &reply);
                self.deliver_fa_outcome(i, back);
            }
        } else {
            self.deliver_to_mn(SocketAddrV4::new(t.src, MIP_PORT), t.payload);
        }
    }

    /// Delivers everything the node has queued, and the answers, until
    /// nothing moves.
    fn pump(&mut self) {
        while let Some(t) = self.mn.poll_transmit() {
            self.sent.push((self.now, t.clone()));
            let from = SocketAddrV4::new(t.src, MN_PORT);
            if *t.dst.ip() == HA {
                if let Some(reply) = self.ha_answers(from, &t.payload) {
                    self.deliver_to_mn(SocketAddrV4::new(HA, MIP_PORT), reply);
                }
            } else if let Some(i) = self.fa_index(*t.dst.ip()) {
                let out = self.fas[i].handle_visitor_request(self.now, from, &t.payload);
                self.deliver_fa_outcome(i, out);
            }
        }
    }

    /// Runs every timer up to `to`.
    fn advance(&mut self, to: u64) {
        for _ in 0..100_000 {
            let mn_next = self
                .mn
                .poll_timeout()
                .map(|t| (t as i64 - self.skew_ms) as u64);
            let next = mn_next
                .into_iter()
                .chain(self.fas.iter().filter_map(|f| f.poll_timeout()))
                .chain(self.ha.poll_timeout())
                .min();
            match next {
                Some(t) if t <= to => {
                    self.now = self.now.max(t);
                    let now = self.mn_now();
                    self.mn.handle_timeout(now);
                    for i in 0..self.fas.len() {
                        for out in self.fas[i].handle_timeout(self.now) {
                            self.deliver_fa_outcome(i, out);
                        }
                    }
                    self.ha.handle_timeout(self.now);
                    self.pump();
                }
                _ => {
                    self.now = to;
                    return;
                }
            }
        }
        panic!("timers do not settle");
    }

    /// Agent `addr` advertises now.
    fn advertise(&mut self, addr: Ipv4Addr) {
        let i = self.fa_index(addr).expect("known agent");
        let ad = self.fas[i].advertisement(self.now);
        let now = self.mn_now();
        let _ = self.mn.handle_advertisement(now, addr, &ad);
        self.pump();
    }

    /// Runs to `to` with agent `addr` advertising every `period` ms.
    fn advance_advertising(&mut self, to: u64, addr: Ipv4Addr, period: u64) {
        while self.now + period <= to {
            let t = self.now + period;
            self.advance(t);
            self.advertise(addr);
        }
        self.advance(to);
    }

    fn address(&mut self, a: Option<Ipv4Addr>) {
        let now = self.mn_now();
        self.mn.handle_address_change(now, a);
        self.pump();
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.mn.poll_event()).collect()
    }

    fn records(&mut self) -> Vec<mn::Record> {
        std::iter::from_fn(|| self.mn.poll_record()).collect()
    }

    fn last_request(&self) -> Request {
        let (_, t) = self.sent.last().expect("something sent");
        Request::from_bytes(&t.payload).expect("a request")
    }

    fn coas_bound(&self) -> Vec<Ipv4Addr> {
        self.ha
            .bindings()
            .get(HOME)
            .iter()
            .map(|b| b.care_of_address)
            .collect()
    }
}

fn registered(coa: Ipv4Addr, lifetime: u16) -> Event {
    Event::Registered {
        coa,
        lifetime,
        code: ReplyCode::Accepted,
        tunnel: TunnelMode::Plain,
    }
}

fn mn_ha_spi(req: &Request) -> Option<u32> {
    req.extensions.iter().find_map(|e| match e {
        Extension::MnHaAuth(a) => Some(a.spi),
        _ => None,
    })
}

#[test]
fn colocated_register_renew_move_and_return_home() {
    let mut net = Net::new(mn_config(Some(sa())));
    assert_eq!(net.mn.state().location, Location::Detached);
    net.address(Some(COA1));
    assert_eq!(
        net.events(),
        [
            Event::Moved {
                from: Location::Detached,
                to: Location::AwayColocated { coa: COA1 }
            },
            registered(COA1, 300)
        ]
    );
    let (at, t) = net.sent[0].clone();
    assert_eq!(at, T0);
    assert_eq!(t.src, COA1);
    assert_eq!(t.dst, SocketAddrV4::new(HA, MIP_PORT));
    let req = net.last_request();
    assert!(req.flags.contains(RequestFlags::D));
    assert!(!req.flags.contains(RequestFlags::S | RequestFlags::T));
    assert_eq!(
        (req.home_address, req.home_agent, req.care_of_address),
        (HOME, HA, COA1)
    );
    assert_eq!(req.lifetime, 300);
    assert_eq!(mn_ha_spi(&req), Some(SPI));
    assert_eq!(net.coas_bound(), [COA1]);
    assert_eq!(
        net.mn.state().registration,
        Registration::Registered {
            until_ms: Some(T0 + 300_000),
            renew_at_ms: Some(T0 + 200_000)
        }
    );
    assert_eq!(net.mn.poll_timeout(), Some(T0 + 200_000));

    // Renewal at two thirds of the lifetime, not before.
    net.advance(T0 + 199_999);
    assert_eq!(net.sent.len(), 1);
    net.advance(T0 + 200_000);
    assert_eq!(net.sent.len(), 2);
    assert_eq!(net.sent[1].0, T0 + 200_000);
    assert!(net.last_request().identification > req.identification);
    assert_eq!(net.events(), [registered(COA1, 300)]);
    assert_eq!(
        net.mn.state().registration,
        Registration::Registered {
            until_ms: Some(T0 + 500_000),
            renew_at_ms: Some(T0 + 400_000)
        }
    );
    let binding = &net.ha.bindings().get(HOME)[0];
    assert_eq!(binding.expires_ms, Some(T0 + 500_000));

    // Moving: a new co-located address replaces the binding.
    net.advance(T0 + 250_000);
    net.address(Some(COA2));
    assert_eq!(
        net.events(),
        [
            Event::Moved {
                from: Location::AwayColocated { coa: COA1 },
                to: Location::AwayColocated { coa: COA2 }
            },
            registered(COA2, 300)
        ]
    );
    assert_eq!(net.sent.last().map(|(_, t)| t.src), Some(COA2));
    assert_eq!(net.coas_bound(), [COA2]);

    // Home again: deregistration from the home address, to the HA.
    net.advance(T0 + 260_000);
    net.address(Some(HOME));
    assert_eq!(
        net.events(),
        [
            Event::Moved {
                from: Location::AwayColocated { coa: COA2 },
                to: Location::AtHome
            },
            Event::Deregistered
        ]
    );
    let (_, t) = net.sent.last().cloned().expect("dereg");
    assert_eq!((t.src, t.dst), (HOME, SocketAddrV4::new(HA, MIP_PORT)));
    let dereg = net.last_request();
    assert_eq!(
        (dereg.lifetime, dereg.care_of_address, dereg.flags),
        (0, HOME, RequestFlags::default())
    );
    assert!(net.coas_bound().is_empty());
    assert_eq!(net.mn.state().registration, Registration::Unregistered);
    assert_eq!(net.mn.poll_timeout(), None);
    // Nothing more happens at home.
    net.advance(T0 + 2_000_000);
    assert_eq!(net.sent.len(), 4);
}

#[test]
fn retransmits_with_exponential_backoff_then_gives_up() {
    let mut net = Net::new(mn_config(Some(sa())));
    net.lose_replies = u32::MAX;
    net.address(Some(COA1));
    net.advance(T0 + 2_000);
    assert_eq!(
        net.mn.state().registration,
        Registration::Registering {
            attempt: 2,
            next_retransmit_ms: T0 + 3_000
        }
    );
    net.advance(T0 + 100_000);
    let at: Vec<u64> = net.sent.iter().map(|(t, _)| t - T0).collect();
    // §3.6.3: 1 s, then doubling (max 32 s), 6 attempts by default.
    assert_eq!(at, [0, 1_000, 3_000, 7_000, 15_000, 31_000]);
    let ids: Vec<u64> = net
        .sent
        .iter()
        .map(|(_, t)| Request::from_bytes(&t.payload).expect("req").identification)
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "fresh timestamps: {ids:x?}"
    );
    let events = net.events();
    assert_eq!(
        events.last(),
        Some(&Event::RegistrationTimedOut {
            deregistration: false
        })
    );
    assert!(!events.iter().any(|e| matches!(e, Event::Registered { .. })));
    assert_eq!(net.mn.state().registration, Registration::Unregistered);
    let gave_up = net
        .records()
        .into_iter()
        .find(|r| matches!(r.what, Note::GaveUp { .. }))
        .expect("logged");
    assert_eq!(gave_up.at_ms, T0 + 63_000);
    assert_eq!(gave_up.what, Note::GaveUp { attempts: 6 });

    // The application retries; with a 4 s cap the intervals stop growing.
    let mut cfg = mn_config(Some(sa()));
    cfg.max_retransmit_ms = 4_000;
    cfg.max_attempts = 7;
    let mut net = Net::new(cfg);
    net.lose_replies = u32::MAX;
    net.address(Some(COA1));
    net.advance(T0 + 60_000);
    let at: Vec<u64> = net.sent.iter().map(|(t, _)| t - T0).collect();
    assert_eq!(at, [0, 1_000, 3_000, 7_000, 11_000, 15_000, 19_000]);
    net.lose_replies = 0;
    net.mn.reregister(net.now);
    net.pump();
    assert!(matches!(
        net.events().last(),
        Some(Event::Registered { .. })
    ));
}

#[test]
fn lost_replies_then_success_counts_lifetime_from_the_accepted_attempt() {
    let mut net = Net::new(mn_config(Some(sa())));
    net.lose_replies = 2;
    net.address(Some(COA1));
    net.advance(T0 + 10_000);
    let at: Vec<u64> = net.sent.iter().map(|(t, _)| t - T0).collect();
    assert_eq!(at, [0, 1_000, 3_000]);
    assert_eq!(
        net.mn.state().registration,
        Registration::Registered {
            until_ms: Some(T0 + 3_000 + 300_000),
            renew_at_ms: Some(T0 + 3_000 + 200_000)
        }
    );
    // The HA accepted all three (strictly increasing timestamps).
    assert!(
        net.ha_outcomes
            .iter()
            .all(|o| matches!(o.record.verdict, Verdict::Accepted { .. }))
    );
}

#[test]
fn identification_mismatch_resynchronises_the_clock() {
    for skew in [-100_000i64, 50_000] {
        let mut net = Net::new(mn_config(Some(sa())));
        net.skew_ms = skew;
        net.address(Some(COA1));
        // 133, then at once a request with the HA's time, accepted.
        assert_eq!(net.sent.len(), 2);
        assert_eq!(net.sent[0].0, net.sent[1].0);
        assert_eq!(
            net.ha_outcomes[0].record.verdict,
            Verdict::Denied(ha::Denial::Replay(
                Request::from_bytes(&net.sent[0].1.payload)
                    .expect("req")
                    .identification
            ))
        );
        assert!(matches!(
            net.ha_outcomes[1].record.verdict,
            Verdict::Accepted { .. }
        ));
        assert_eq!(net.mn.clock_offset_ms(), -skew);
        assert!(
            net.records()
                .iter()
                .any(|r| matches!(r.what, Note::Resynchronised { .. }))
        );
        assert_eq!(net.events().last(), Some(&registered(COA1, 300)));
        // The node's own timers still run on its own clock: renewal at
        // two thirds of the lifetime after sending.
        let renew = (T0 as i64 + skew) as u64 + 200_000;
        assert!(matches!(
            net.mn.state().registration,
            Registration::Registered { renew_at_ms: Some(t), .. } if t == renew
        ));
        net.advance(T0 + 200_000);
        assert_eq!(net.sent.len(), 3);
        assert!(matches!(
            net.ha_outcomes[2].record.verdict,
            Verdict::Accepted { .. }
        ));
    }
}

#[test]
fn nonce_mode_resync_renewal_and_unchanged_retransmission() {
    let nsa = sa_with(SPI, b"nonce-mode-key", ReplayMode::Nonce);
    let mut net = Net::new(mn_config(Some(nsa)));
    net.address(Some(COA1));
    // First contact: the HA's nonce is unknown, 133 hands it over.
    assert_eq!(net.sent.len(), 2);
    let first = Request::from_bytes(&net.sent[0].1.payload).expect("req");
    let second = Request::from_bytes(&net.sent[1].1.payload).expect("req");
    let (_, reply133) = &net.to_mn[0];
    let reply133 = Reply::from_bytes(reply133).expect("reply");
    assert_eq!(reply133.code, ReplyCode::HaIdentificationMismatch);
    assert_eq!(first.identification >> 32, 0);
    assert_eq!(second.identification >> 32, reply133.identification >> 32);
    assert_eq!(net.events().last(), Some(&registered(COA1, 300)));

    // Renewal uses the nonce from the last reply: accepted at once.
    net.advance(T0 + 200_000);
    assert_eq!(net.sent.len(), 3);
    let accepted = Reply::from_bytes(&net.to_mn[1].1).expect("reply");
    let renewal = net.last_request();
    assert_eq!(renewal.identification >> 32, accepted.identification >> 32);
    assert!(matches!(
        net.ha_outcomes[2].record.verdict,
        Verdict::Accepted { .. }
    ));

    // Reply lost: the retransmission is byte-identical (§3.6.3), the HA
    // has moved on to a new nonce and says 133, the node catches up.
    net.lose_replies = 1;
    net.advance(T0 + 400_000);
    assert_eq!(net.sent.len(), 4);
    net.advance(T0 + 401_000);
    assert_eq!(net.sent.len(), 6);
    assert_eq!(net.sent[3].1.payload, net.sent[4].1.payload);
    assert_eq!(net.sent[4].0, T0 + 401_000);
    assert_eq!(
        net.ha_outcomes[4].record.verdict,
        Verdict::Denied(ha::Denial::Replay(
            Request::from_bytes(&net.sent[4].1.payload)
                .expect("req")
                .identification
        ))
    );
    assert!(matches!(
        net.ha_outcomes[5].record.verdict,
        Verdict::Accepted { .. }
    ));
    assert!(matches!(
        net.mn.state().registration,
        Registration::Registered { .. }
    ));
}

#[test]
fn key_needed_then_installed_then_replaced_at_run_time() {
    let mut net = Net::new(mn_config(None));
    net.ha.add_sa_for_home(HOME, sa());
    net.address(Some(COA1));
    assert_eq!(
        net.events(),
        [
            Event::Moved {
                from: Location::Detached,
                to: Location::AwayColocated { coa: COA1 }
            },
            Event::KeyNeeded
        ]
    );
    assert!(net.sent.is_empty());
    assert_eq!(net.mn.state().registration, Registration::Unregistered);
    assert_eq!(net.mn.poll_timeout(), None);

    // The key arrives (by SMS in the real system): registration at once.
    net.advance(T0 + 5_000);
    net.mn.install_sa(net.mn_now(), sa());
    net.pump();
    assert_eq!(net.sent.len(), 1);
    assert_eq!(mn_ha_spi(&net.last_request()), Some(SPI));
    assert_eq!(net.events(), [registered(COA1, 300)]);

    // A new key: the HA learns it, the node installs it; the binding in
    // force is left alone and the renewal is signed with the new key.
    let sa2 = sa_with(0x2000, b"a fresh key from the SMS", ReplayMode::default());
    net.ha.add_sa_for_home(HOME, sa2.clone());
    net.mn.install_sa(net.mn_now(), sa2);
    net.pump();
    assert_eq!(net.sent.len(), 1);
    net.advance(T0 + 5_000 + 200_000);
    assert_eq!(net.sent.len(), 2);
    assert_eq!(mn_ha_spi(&net.last_request()), Some(0x2000));
    assert_eq!(net.events(), [registered(COA1, 300)]);
    assert_eq!(net.mn.sa().map(SecurityAssociation::spi), Some(0x2000));
}

#[test]
fn key_replaced_while_registration_fails_restarts_it() {
    // The HA only knows the new key; the node still signs with the old
    // one, so the HA's 131 (unsigned) is ignored and the node retransmits
    // until the new key is installed.
    let mut net = Net::new(mn_config(Some(sa())));
    net.ha = HomeAgent::new(ha_config());
    let sa2 = sa_with(0x2000, b"new-key-new-key!", ReplayMode::default());
    net.ha.add_sa_for_home(HOME, sa2.clone());
    net.address(Some(COA1));
    net.advance(T0 + 1_500);
    assert_eq!(net.sent.len(), 2);
    assert!(net.ha_outcomes.iter().all(|o| matches!(
        o.record.verdict,
        Verdict::Denied(ha::Denial::Authentication(_))
    )));
    assert!(net.records().iter().any(|r| matches!(
        &r.what,
        Note::Ignored {
            reason: Ignored::Unauthenticated { code: 131, .. },
            ..
        }
    )));
    net.mn.install_sa(net.mn_now(), sa2);
    net.pump();
    assert_eq!(net.sent.len(), 3);
    assert_eq!(net.sent[2].0, T0 + 1_500);
    assert_eq!(net.events().last(), Some(&registered(COA1, 300)));
}

#[test]
fn forged_replayed_and_misdirected_replies_are_ignored() {
    let mut net = Net::new(mn_config(Some(sa())));
    net.address(Some(COA1));
    let _ = net.events();
    let genuine = net.to_mn[0].1.clone();
    let ha_src = SocketAddrV4::new(HA, MIP_PORT);
    let before = net.mn.state();
    assert_eq!(
        net.mn.handle_reply(net.now, ha_src, &genuine),
        Err(Ignored::NoRequestOutstanding)
    );
    assert_eq!(net.mn.state(), before);

    // A registration in flight whose reply is lost.
    net.lose_replies = 1;
    net.address(Some(COA2));
    let _ = net.events();
    let flying = net.last_request();
    let in_flight = net.mn.state();
    assert!(matches!(
        in_flight.registration,
        Registration::Registering { attempt: 1, .. }
    ));
    let reply = |code: ReplyCode, home: Ipv4Addr, id: u64| Reply {
        code,
        lifetime: 300,
        home_address: home,
        home_agent: HA,
        identification: id,
        extensions: vec![],
    };
    let signed = |r: Reply, key: &SecurityAssociation| {
        let mut b = r.to_vec().expect("emits");
        append_signature(&mut b, ExtensionType::MnHaAuth, key).expect("signs");
        b
    };
    let forger = sa_with(SPI, b"not-the-real-key", ReplayMode::default());
    let id = flying.identification;
    let cases: Vec<(SocketAddrV4, Vec<u8>, Ignored)> = vec![
        (
            ha_src,
            genuine.clone(),
            Ignored::IdentificationMismatch(
                Reply::from_bytes(&genuine).expect("reply").identification,
            ),
        ),
        (
            ha_src,
            signed(reply(ReplyCode::Accepted, HOME, id), &forger),
            Ignored::Unauthenticated {
                code: 0,
                error: Error::BadAuthenticator,
            },
        ),
        (
            ha_src,
            reply(ReplyCode::Accepted, HOME, id)
                .to_vec()
                .expect("emits"),
            Ignored::Unauthenticated {
                code: 0,
                error: Error::MissingAuthentication(32),
            },
        ),
        (
            SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 99), MIP_PORT),
            signed(reply(ReplyCode::Accepted, HOME, id), &sa()),
            Ignored::WrongSource(Ipv4Addr::new(198, 51, 100, 99), HA),
        ),
        (
            ha_src,
            signed(
                reply(ReplyCode::Accepted, Ipv4Addr::new(10, 0, 0, 6), id),
                &sa(),
            ),
            Ignored::OtherHomeAddress(Ipv4Addr::new(10, 0, 0, 6)),
        ),
        (
            ha_src,
            reply(ReplyCode::FaAdministrativelyProhibited, HOME, id)
                .to_vec()
                .expect("emits"),
            Ignored::UnexpectedForeignAgentCode(65),
        ),
        (
            ha_src,
            signed(reply(ReplyCode::Accepted, HOME, id ^ (1 << 40)), &sa()),
            Ignored::IdentificationMismatch(id ^ (1 << 40)),
        ),
        (ha_src, vec![3, 0, 0], Ignored::NotAReply(Error::Truncated)),
    ];
    for (src, bytes, why) in cases {
        assert_eq!(net.mn.handle_reply(net.now, src, &bytes), Err(why.clone()));
        let rec = net.records().pop().expect("logged");
        assert_eq!(
            rec.what,
            Note::Ignored {
                from: *src.ip(),
                reason: why
            }
        );
        assert_eq!(net.mn.state(), in_flight);
        assert!(net.events().is_empty());
    }
    // The genuine answer still comes with the retransmission.
    net.advance(T0 + 1_000);
    assert_eq!(net.events(), [registered(COA2, 300)]);
}

#[test]
fn refusals_surface_as_events() {
    let mut cfg = mn_config(Some(sa()));
    cfg.reverse_tunnelling = true;
    let mut net = Net::new(cfg);
    let mut hc = ha_config();
    hc.reverse_tunnelling = false;
    net.ha = HomeAgent::new(hc);
    net.ha.add_sa_for_home(HOME, sa());
    net.address(Some(COA1));
    assert!(net.last_request().flags.contains(RequestFlags::T));
    assert_eq!(
        net.events().last(),
        Some(&Event::Refused {
            code: ReplyCode::HaReverseTunnelUnavailable,
            reason: "HA: requested reverse tunnel unavailable".to_owned()
        })
    );
    assert_eq!(net.mn.state().registration, Registration::Unregistered);
    assert_eq!(net.mn.poll_timeout(), None);
}

#[test]
fn udp_tunnelling_request_and_simultaneous_bindings() {
    let mut cfg = mn_config(Some(sa()));
    cfg.udp_tunnelling = UdpTunnelling::Forced;
    cfg.simultaneous_bindings = true;
    cfg.renewal = Renewal::Margin(10_000);
    let mut net = Net::new(cfg);
    let mut hc = ha_config();
    hc.udp_tunnelling = true;
    net.ha = HomeAgent::new(hc);
    net.ha.add_sa_for_home(HOME, sa());
    net.address(Some(COA1));
    let req = net.last_request();
    assert!(req.flags.contains(RequestFlags::S | RequestFlags::D));
    assert!(
        req.extensions
            .iter()
            .any(|e| matches!(e, Extension::UdpTunnelRequest(r) if r.force))
    );
    assert_eq!(
        net.events().last(),
        Some(&Event::Registered {
            coa: COA1,
            lifetime: 300,
            code: ReplyCode::Accepted,
            tunnel: TunnelMode::Udp {
                keepalive_secs: ha::DEFAULT_UDP_KEEPALIVE_SECS
            }
        })
    );
    assert_eq!(
        net.mn.state().registration,
        Registration::Registered {
            until_ms: Some(T0 + 300_000),
            renew_at_ms: Some(T0 + 290_000)
        }
    );
}

#[test]
fn via_foreign_agents_move_by_prefix_and_come_home() {
    let mut cfg = mn_config(Some(sa()));
    cfg.reverse_tunnelling = true;
    let mut net = Net::new(cfg);
    net.fas
        .push(ForeignAgent::new(fa_config(FA1, 200)).expect("FA1"));
    net.fas
        .push(ForeignAgent::new(fa_config(FA2, 600)).expect("FA2"));
    net.advertise(FA1);
    assert_eq!(
        net.events(),
        [
            Event::Moved {
                from: Location::Detached,
                to: Location::AwayViaForeignAgent { fa: FA1, coa: FA1 }
            },
            registered(FA1, 200)
        ]
    );
    let (_, t) = net.sent[0].clone();
    assert_eq!((t.src, t.dst), (HOME, SocketAddrV4::new(FA1, MIP_PORT)));
    let req = net.last_request();
    // The lifetime the agent allows; T because the agent offers it; no D.
    assert_eq!(req.lifetime, 200);
    assert!(req.flags.contains(RequestFlags::T));
    assert!(!req.flags.contains(RequestFlags::D));
    assert_eq!(req.care_of_address, FA1);
    assert_eq!(net.coas_bound(), [FA1]);
    let v = net.fas[0].visitor(HOME).expect("visitor").clone();
    assert_eq!(v.link_source, SocketAddrV4::new(HOME, MN_PORT));
    assert!(v.reverse_tunnel);
    assert_eq!(v.expires_ms, Some(T0 + 200_000));

    // Renewal through the agent while its advertisements keep coming.
    net.advance_advertising(T0 + 140_000, FA1, 10_000);
    assert_eq!(net.sent.len(), 2);
    assert_eq!(net.sent[1].0, T0 + 133_333);
    assert!(matches!(
        net.fa_outcomes.last().and_then(|o| o.change.clone()),
        Some(VisitorChange::Refreshed(_))
    ));
    let _ = net.events();

    // Another agent on the same link (same prefix): no movement.
    let mut same_link = fa_config(FA1_SAME_LINK, 600);
    same_link.advertisement_lifetime = 100;
    net.fas.push(ForeignAgent::new(same_link).expect("FA1b"));
    net.advertise(FA1_SAME_LINK);
    assert!(net.events().is_empty());
    assert_eq!(net.sent.len(), 2);

    // An agent on another prefix while FA1 is still valid: moved (§2.4.2
    // method 2).
    net.advertise(FA2);
    assert_eq!(
        net.events(),
        [
            Event::Moved {
                from: Location::AwayViaForeignAgent { fa: FA1, coa: FA1 },
                to: Location::AwayViaForeignAgent { fa: FA2, coa: FA2 }
            },
            registered(FA2, 300)
        ]
    );
    assert!(net.records().iter().any(|r| r.what
        == Note::PrefixChanged {
            agent: FA1,
            new_agent: FA2
        }));
    assert_eq!(net.coas_bound(), [FA2]);
    assert!(net.fas[1].visitor(HOME).is_some());
    // FA1 was not told; its entry lapses on its own.
    assert!(net.fas[0].visitor(HOME).is_some());

    // FA2 falls silent. The other agent of the link left behind is still
    // advertised as valid, but it is not where the node is: detached.
    let moved_at = net.now;
    net.advance(moved_at + 30_000);
    assert_eq!(
        net.events(),
        [Event::Moved {
            from: Location::AwayViaForeignAgent { fa: FA2, coa: FA2 },
            to: Location::Detached
        }]
    );

    // The home agent's advertisement: home, deregister directly.
    let home_ad = RouterAdvertisement {
        code: 0,
        lifetime: 30,
        routers: vec![RouterEntry {
            address: HA,
            preference: 0,
        }],
        extensions: vec![AdvertisementExtension::MobilityAgent(
            MobilityAgentAdvertisement {
                sequence: 9,
                registration_lifetime: 600,
                flags: AgentFlags(AgentFlags::H),
                care_of_addresses: vec![],
            },
        )],
    }
    .to_vec()
    .expect("emits");
    net.mn
        .handle_advertisement(net.now, HA, &home_ad)
        .expect("valid advertisement");
    net.pump();
    assert_eq!(
        net.events(),
        [
            Event::Moved {
                from: Location::Detached,
                to: Location::AtHome
            },
            Event::Deregistered
        ]
    );
    let (_, t) = net.sent.last().cloned().expect("dereg");
    assert_eq!((t.src, t.dst), (HOME, SocketAddrV4::new(HA, MIP_PORT)));
    assert!(net.coas_bound().is_empty());

    net.advance(T0 + 400_000);
    assert!(net.fas[0].visitor(HOME).is_none());
    assert!(net.fa_outcomes.iter().any(|o| matches!(
        &o.change,
        Some(VisitorChange::Expired(v)) if v.home_address == HOME && v.care_of_address == FA1
    )));
}

#[test]
fn agent_lifetime_expiry_falls_back_and_solicits() {
    let mut net = Net::new(mn_config(Some(sa())));
    let mut c = fa_config(FA1, 600);
    c.advertisement_lifetime = 30;
    net.fas.push(ForeignAgent::new(c).expect("FA"));
    net.advertise(FA1);
    let _ = net.events();
    // No more advertisements: after 30 s the agent is lost (method 1).
    net.advance(T0 + 29_999);
    assert!(net.events().is_empty());
    net.advance(T0 + 30_000);
    assert_eq!(
        net.events(),
        [Event::Moved {
            from: Location::AwayViaForeignAgent { fa: FA1, coa: FA1 },
            to: Location::Detached
        }]
    );
    let mut records = net.records();
    assert!(
        records
            .iter()
            .any(|r| r.at_ms == T0 + 30_000 && r.what == Note::AgentLost { agent: FA1 })
    );
    assert_eq!(net.mn.state().registration, Registration::Unregistered);
    // Solicitations: three a second apart, then backing off.
    net.advance(T0 + 50_000);
    records.extend(net.records());
    let solicited: Vec<u64> = records
        .iter()
        .filter(|r| r.what == Note::Solicited)
        .map(|r| r.at_ms - T0)
        .collect();
    assert_eq!(solicited, [30_000, 31_000, 32_000, 34_000, 38_000, 46_000]);
    let s = net.mn.poll_solicitation().expect("queued");
    assert_eq!(s, AgentSolicitation.to_bytes());
    // The agent answers the solicitation; the node registers again.
    let answer = net.fas[0]
        .handle_solicitation(net.now, &s)
        .expect("answers");
    net.mn
        .handle_advertisement(net.now, FA1, &answer)
        .expect("valid");
    net.pump();
    assert_eq!(net.events().last(), Some(&registered(FA1, 300)));
    // Registered again: solicitations stop.
    while net.mn.poll_solicitation().is_some() {}
    let _ = net.records();
    net.advance(T0 + 60_000);
    assert_eq!(net.mn.poll_solicitation(), None);
    assert!(!net.records().iter().any(|r| r.what == Note::Solicited));

    // With a co-located address the node falls back to it instead.
    net.address(Some(COA1));
    assert!(net.events().is_empty(), "FA preferred while heard");
    net.advance(T0 + 60_000 + 30_000);
    assert_eq!(
        net.events(),
        [
            Event::Moved {
                from: Location::AwayViaForeignAgent { fa: FA1, coa: FA1 },
                to: Location::AwayColocated { coa: COA1 }
            },
            registered(COA1, 300)
        ]
    );
    assert_eq!(
        net.sent.last().map(|(_, t)| t.dst),
        Some(SocketAddrV4::new(HA, MIP_PORT))
    );
}

#[test]
fn sequence_rollback_means_reboot_but_wrap_does_not() {
    let mut net = Net::new(mn_config(Some(sa())));
    net.fas
        .push(ForeignAgent::new(fa_config(FA1, 600)).expect("FA"));
    for _ in 0..5 {
        net.advertise(FA1);
    }
    assert_eq!(net.sent.len(), 1);
    let _ = net.events();

    // The agent reboots: sequence numbers start again at 0 (< 256).
    net.fas[0] = ForeignAgent::new(fa_config(FA1, 600)).expect("FA");
    assert!(net.fas[0].visitor(HOME).is_none());
    net.advertise(FA1);
    assert_eq!(net.sent.len(), 2, "registered again");
    assert!(net.records().iter().any(|r| r.what
        == Note::AgentRebooted {
            agent: FA1,
            previous: 4,
            sequence: 0
        }));
    assert_eq!(net.events(), [registered(FA1, 300)]);
    assert!(net.fas[0].visitor(HOME).is_some());

    // Run the agent's counter to 0xffff: the next one is 256, a wrap.
    while net.fas[0].next_advertisement_sequence() != 0xffff {
        let _ = net.fas[0].advertisement(net.now);
    }
    net.advertise(FA1);
    assert_eq!(net.fas[0].next_advertisement_sequence(), 256);
    net.advertise(FA1);
    assert_eq!(net.sent.len(), 2, "a wrap is not a reboot");
    assert!(net.events().is_empty());
}

#[test]
fn busy_agents_are_not_used_and_lifetime_too_long_is_lowered() {
    let mut net = Net::new(mn_config(Some(sa())));
    let mut busy = fa_config(FA1, 600);
    busy.busy = true;
    net.fas.push(ForeignAgent::new(busy).expect("FA"));
    net.advertise(FA1);
    assert!(net.sent.is_empty());
    assert_eq!(net.mn.state().location, Location::Detached);

    // An advertisement that claims more lifetime than the agent allows:
    // 69 carries the maximum and the node asks again with it.
    let mut net = Net::new(mn_config(Some(sa())));
    net.fas
        .push(ForeignAgent::new(fa_config(FA2, 120)).expect("FA"));
    let lying = RouterAdvertisement {
        code: 0,
        lifetime: 30,
        routers: vec![RouterEntry {
            address: FA2,
            preference: 0,
        }],
        extensions: vec![AdvertisementExtension::MobilityAgent(
            MobilityAgentAdvertisement {
                sequence: 0,
                registration_lifetime: 1000,
                flags: AgentFlags(AgentFlags::F),
                care_of_addresses: vec![FA2],
            },
        )],
    }
    .to_vec()
    .expect("emits");
    net.mn
        .handle_advertisement(net.now, FA2, &lying)
        .expect("valid");
    net.pump();
    let lifetimes: Vec<u16> = net
        .sent
        .iter()
        .map(|(_, t)| Request::from_bytes(&t.payload).expect("req").lifetime)
        .collect();
    assert_eq!(lifetimes, [300, 120]);
    assert!(
        net.records()
            .iter()
            .any(|r| r.what == Note::LifetimeLowered { lifetime: 120 })
    );
    assert_eq!(net.events().last(), Some(&registered(FA2, 120)));
}

#[test]
fn mn_fa_authentication_both_ways() {
    let mf = sa_with(0x3000, b"mn-fa-shared-key", ReplayMode::default());
    let mut cfg = mn_config(Some(sa()));
    cfg.foreign_agent_sas.push(mn::ForeignAgentSa {
        agent: FA1,
        sa: mf.clone(),
    });
    let mut net = Net::new(cfg);
    // The agent and the home agent share FA-HA (RFC 5944 §3.5.4) too.
    let fh = sa_with(0x4000, b"fa-ha-shared-key", ReplayMode::default());
    let mut f = ForeignAgent::new(fa_config(FA1, 600)).expect("FA");
    f.add_mn_fa_sa(HOME, mf.clone());
    f.add_fa_ha_sa(HA, fh.clone());
    net.fas.push(f);
    net.ha.add_fa_ha_sa(FA1, fh.clone());
    net.advertise(FA1);
    let req = net.last_request();
    assert!(matches!(req.extensions.last(), Some(Extension::MnFaAuth(a)) if a.spi == 0x3000));
    // The home agent checked the agent's FA-HA and signed its reply for
    // it; the agent replaced FA-HA by MN-FA on the way to the node.
    let ha_reply = net
        .ha_outcomes
        .last()
        .and_then(|o| o.reply.clone())
        .expect("HA reply");
    telsec_mip::verify(&ha_reply, ExtensionType::FaHaAuth, &fh).expect("FA-HA from the HA");
    let (_, relayed_reply) = net.to_mn.last().cloned().expect("reply");
    telsec_mip::verify(&relayed_reply, ExtensionType::MnFaAuth, &mf).expect("MN-FA on reply");
    let types: Vec<u8> = Reply::from_bytes(&relayed_reply)
        .expect("parses")
        .extensions
        .iter()
        .map(|e| u8::from(e.ext_type()))
        .collect();
    assert_eq!(types, [32, 33]);
    assert_eq!(net.events().last(), Some(&registered(FA1, 300)));

    // An FA denial without MN-FA from the agent's address is not believed.
    net.lose_replies = 1;
    net.mn.reregister(net.now);
    net.pump();
    let _ = net.events();
    let id = net.last_request().identification;
    let forged = Reply {
        code: ReplyCode::FaAdministrativelyProhibited,
        lifetime: 0,
        home_address: HOME,
        home_agent: HA,
        identification: id,
        extensions: vec![],
    }
    .to_vec()
    .expect("emits");
    assert_eq!(
        net.mn
            .handle_reply(net.now, SocketAddrV4::new(FA1, MIP_PORT), &forged),
        Err(Ignored::Unauthenticated {
            code: 65,
            error: Error::MissingAuthentication(33)
        })
    );
}

#[test]
fn an_fa_denial_is_reported() {
    let mut net = Net::new(mn_config(Some(sa())));
    let mut c = fa_config(FA1, 600);
    c.allowed_home_networks = vec![HomeNetwork {
        prefix: Ipv4Addr::new(172, 16, 0, 0),
        len: 12,
    }];
    net.fas.push(ForeignAgent::new(c).expect("FA"));
    net.advertise(FA1);
    assert_eq!(
        net.events().last(),
        Some(&Event::Refused {
            code: ReplyCode::FaAdministrativelyProhibited,
            reason: "FA: administratively prohibited".to_owned()
        })
    );
    assert!(net.ha_outcomes.is_empty());
    assert_eq!(net.mn.state().registration, Registration::Unregistered);
}

#[test]
fn starting_at_home_deregisters_once() {
    let mut net = Net::new(mn_config(Some(sa())));
    net.address(Some(HOME));
    assert_eq!(
        net.events(),
        [
            Event::Moved {
                from: Location::Detached,
                to: Location::AtHome
            },
            Event::Deregistered
        ]
    );
    assert_eq!(net.sent.len(), 1);
    // Leaving and losing the address: detached, nothing to send.
    net.address(None);
    assert_eq!(
        net.events(),
        [Event::Moved {
            from: Location::AtHome,
            to: Location::Detached
        }]
    );
    net.address(Some(HOME));
    assert_eq!(net.sent.len(), 1, "no binding can exist: no deregistration");
    assert_eq!(net.mn.state().location, Location::AtHome);
}

#[test]
fn advertisements_that_are_not_for_us() {
    let mut net = Net::new(mn_config(Some(sa())));
    assert!(matches!(
        net.mn.handle_advertisement(T0, FA1, &[9, 0, 0]),
        Err(Ignored::BadAdvertisement(Error::Truncated))
    ));
    let plain_router = RouterAdvertisement {
        code: 0,
        lifetime: 30,
        routers: vec![RouterEntry {
            address: FA1,
            preference: 0,
        }],
        extensions: vec![],
    }
    .to_vec()
    .expect("emits");
    assert_eq!(
        net.mn.handle_advertisement(T0, FA1, &plain_router),
        Err(Ignored::NotAMobilityAgent)
    );
    // A home agent of some other network (H, no F).
    let other_ha = RouterAdvertisement {
        code: 0,
        lifetime: 30,
        routers: vec![RouterEntry {
            address: FA2,
            preference: 0,
        }],
        extensions: vec![AdvertisementExtension::MobilityAgent(
            MobilityAgentAdvertisement {
                sequence: 0,
                registration_lifetime: 600,
                flags: AgentFlags(AgentFlags::H),
                care_of_addresses: vec![],
            },
        )],
    }
    .to_vec()
    .expect("emits");
    assert_eq!(
        net.mn.handle_advertisement(T0, FA2, &other_ha),
        Err(Ignored::NotAForeignAgent)
    );
    assert_eq!(net.mn.state().location, Location::Detached);
    assert!(net.mn.poll_transmit().is_none());
    assert_eq!(net.records().len(), 3, "each one logged");
}
