//! The foreign agent core (`telsec_mip::fa`, RFC 5944 §2.3 and §3.7,
//! RFC 3024) with a fake clock: advertisements and their sequence numbers,
//! every denial code it sends, relaying both ways with FA-HA and MN-FA
//! authentication against the real home agent, pending timeouts, the
//! visitor list.

use std::net::{Ipv4Addr, SocketAddrV4};

use telsec_mip::advert::{AgentFlags, AgentSolicitation, RouterAdvertisement};
use telsec_mip::fa::{
    Config, ConfigError, FaDenial, FaOutcome, ForeignAgent, Unreachable, Verdict, VisitorChange,
};
use telsec_mip::ha::{self, HomeAgent, HomeNetwork};
use telsec_mip::{
    Algorithm, Encapsulation, Error, Extension, ExtensionType, MIP_PORT, ReplayMode, Reply,
    ReplyCode, Request, RequestFlags, SecurityAssociation, append_signature, verify,
};

const FA: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const COA: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const COA_B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 200);
const HA: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const HOME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
const HOME2: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 6);
const T0: u64 = 1_704_067_200_000;
const T0_SECS: u64 = T0 / 1000;

fn sa(spi: u32, key: &[u8]) -> SecurityAssociation {
    SecurityAssociation::new(spi, Algorithm::HmacMd5, key, ReplayMode::default()).expect("SA")
}
fn mn_ha() -> SecurityAssociation {
    sa(0x1000, b"mn-ha-shared-key")
}
fn mn_fa() -> SecurityAssociation {
    sa(0x2000, b"mn-fa-shared-key")
}
fn fa_ha() -> SecurityAssociation {
    sa(0x3000, b"fa-ha-shared-key")
}

fn config() -> Config {
    let mut c = Config::new(FA, 24, COA);
    c.care_of_addresses.push(COA_B);
    c.max_registration_lifetime = 600;
    c
}

fn agent(c: Config) -> ForeignAgent {
    ForeignAgent::new(c).expect("valid config")
}

fn home_agent() -> HomeAgent {
    let mut h = HomeAgent::new(ha::Config::new(
        HA,
        HomeNetwork {
            prefix: Ipv4Addr::new(10, 0, 0, 0),
            len: 24,
        },
        b"secret",
    ));
    h.add_sa_for_home(HOME, mn_ha());
    h.add_sa_for_home(HOME2, mn_ha());
    h
}

fn visitor(home: Ipv4Addr) -> SocketAddrV4 {
    SocketAddrV4::new(home, 49152)
}

/// Identification `secs` after T0, low word `n`.
fn ident(secs: u64, n: u32) -> u64 {
    telsec_mip::NtpTimestamp::from_unix(T0_SECS + secs, 0).0 | u64::from(n)
}

fn request(home: Ipv4Addr, flags: u8, lifetime: u16, coa: Ipv4Addr, id: u64) -> Request {
    Request {
        flags: RequestFlags(flags),
        lifetime,
        home_address: home,
        home_agent: HA,
        care_of_address: coa,
        identification: id,
        extensions: vec![Extension::MnNai(b"mn@example.org".to_vec())],
    }
}

/// A request as the mobile node sends it: MN-HA, then MN-FA if given.
fn signed(req: &Request, mf: Option<&SecurityAssociation>) -> Vec<u8> {
    let mut b = req.to_vec().expect("emits");
    append_signature(&mut b, ExtensionType::MnHaAuth, &mn_ha()).expect("signs");
    if let Some(mf) = mf {
        append_signature(&mut b, ExtensionType::MnFaAuth, mf).expect("signs");
    }
    b
}

fn plain(home: Ipv4Addr, id: u64) -> Vec<u8> {
    signed(&request(home, 0, 300, COA, id), None)
}

fn ha_src() -> SocketAddrV4 {
    SocketAddrV4::new(HA, MIP_PORT)
}

/// The reply a denial sent to the visitor.
fn denied_reply(out: &FaOutcome, to: SocketAddrV4) -> Reply {
    let t = out.transmit.as_ref().expect("a reply to the visitor");
    assert_eq!((t.src, t.dst), (FA, to));
    Reply::from_bytes(&t.payload).expect("reply parses")
}

fn denial(out: &FaOutcome) -> FaDenial {
    match &out.record.verdict {
        Verdict::Denied(d) => d.clone(),
        other => panic!("expected a denial, got {other:?}"),
    }
}

/// Relays a request to the real home agent (which adds FA-HA itself when
/// it shares an association with the relaying address) and its reply back
/// through the foreign agent; `tamper` plays someone on the path who
/// alters the reply.
fn round_trip(
    fa: &mut ForeignAgent,
    ha: &mut HomeAgent,
    now: u64,
    from: SocketAddrV4,
    bytes: &[u8],
    tamper: Option<fn(&mut [u8])>,
) -> (FaOutcome, FaOutcome) {
    let out = fa.handle_visitor_request(now, from, bytes);
    let t = out.transmit.clone().expect("relayed");
    assert_eq!(t.dst, SocketAddrV4::new(HA, MIP_PORT));
    let ha_out = ha.handle_request(now, SocketAddrV4::new(t.src, MIP_PORT), HA, &t.payload);
    let mut reply = ha_out.reply.expect("HA replies");
    if let Some(tamper) = tamper {
        tamper(&mut reply);
    }
    let back = fa.handle_ha_reply(now, ha_src(), &reply);
    (out, back)
}

#[test]
fn advertisement_fields_flags_and_sequence_wrap() {
    let mut fa = agent(config());
    let first = RouterAdvertisement::from_bytes(&fa.advertisement(T0)).expect("valid ICMP");
    assert_eq!(first.code, 0);
    assert_eq!(first.lifetime, 30);
    assert_eq!(first.routers.len(), 1);
    assert_eq!(first.routers[0].address, FA);
    let m = first.mobility_agent().expect("agent extension");
    assert_eq!(m.sequence, 0);
    assert_eq!(m.registration_lifetime, 600);
    assert_eq!(
        m.flags.0,
        AgentFlags::R | AgentFlags::F | AgentFlags::T,
        "R, F, T; no B, H, M, G"
    );
    assert_eq!(m.care_of_addresses, [COA, COA_B]);
    assert_eq!(first.prefix_lengths(), Some(&[24u8][..]));
    let second = RouterAdvertisement::from_bytes(&fa.advertisement(T0)).expect("valid");
    assert_eq!(second.mobility_agent().map(|m| m.sequence), Some(1));

    // §2.3.2: ... 0xfffe, 0xffff, then 256, never back below 256.
    let mut seen = Vec::new();
    for _ in 2..=0x10001u32 {
        let ad = RouterAdvertisement::from_bytes(&fa.advertisement(T0)).expect("valid");
        seen.push(ad.mobility_agent().expect("ext").sequence);
    }
    assert_eq!(&seen[seen.len() - 4..], [0xfffe, 0xffff, 256, 257]);
    assert_eq!(seen.iter().filter(|&&s| s < 256).count(), 254);

    // Answering a solicitation uses the next number; garbage is refused.
    let answer = fa
        .handle_solicitation(T0, &AgentSolicitation.to_bytes())
        .expect("a solicitation");
    let answer = RouterAdvertisement::from_bytes(&answer).expect("valid");
    assert_eq!(answer.mobility_agent().map(|m| m.sequence), Some(258));
    assert_eq!(
        fa.handle_solicitation(T0, &[10, 0, 0, 0, 0, 0, 0, 0]),
        Err(Error::Checksum)
    );

    // Other flags and the mobility-only code.
    let mut c = config();
    c.home_agent = true;
    c.busy = true;
    c.gre = true;
    c.minimal_encapsulation = true;
    c.reverse_tunnelling = false;
    c.registration_required = false;
    c.routes_common_traffic = false;
    let ad = RouterAdvertisement::from_bytes(&agent(c).advertisement(T0)).expect("valid");
    assert_eq!(ad.code, 16);
    assert_eq!(
        ad.mobility_agent().expect("ext").flags.0,
        AgentFlags::B | AgentFlags::H | AgentFlags::F | AgentFlags::M | AgentFlags::G
    );
}

#[test]
fn configuration_is_checked() {
    let mut c = config();
    c.care_of_addresses.clear();
    assert_eq!(
        ForeignAgent::new(c).map(|_| ()),
        Err(ConfigError::NoCareOfAddress)
    );
    let mut c = config();
    c.care_of_addresses = vec![COA; 63];
    assert_eq!(
        ForeignAgent::new(c).map(|_| ()),
        Err(ConfigError::TooManyCareOfAddresses(63))
    );
    let mut c = config();
    c.care_of_addresses = vec![COA; 62];
    let mut fa = agent(c);
    let ad = RouterAdvertisement::from_bytes(&fa.advertisement(T0)).expect("62 fit");
    assert_eq!(
        ad.mobility_agent().map(|m| m.care_of_addresses.len()),
        Some(62)
    );
    let mut c = config();
    c.prefix_len = 33;
    assert_eq!(
        ForeignAgent::new(c).map(|_| ()),
        Err(ConfigError::PrefixLength(33))
    );
}

#[test]
fn relays_both_ways_with_fa_ha_and_mn_fa_authentication() {
    let mut fa = agent(config());
    fa.add_fa_ha_sa(HA, fa_ha());
    fa.add_mn_fa_sa(HOME, mn_fa());
    let mut ha = home_agent();
    // The agent relays from the care-of address the visitor chose.
    ha.add_fa_ha_sa(COA_B, fa_ha());
    let req = request(HOME, RequestFlags::T, 300, COA_B, ident(0, 1));
    let bytes = signed(&req, Some(&mn_fa()));
    let mn_ha_end = bytes.len() - 22;

    let out = fa.handle_visitor_request(T0, visitor(HOME), &bytes);
    assert_eq!(
        out.record.verdict,
        Verdict::RequestRelayed { home_agent: HA }
    );
    assert_eq!(out.change, None);
    let t = out.transmit.clone().expect("relayed");
    // From the care-of address the visitor chose, to the HA's port 434.
    assert_eq!((t.src, t.dst), (COA_B, SocketAddrV4::new(HA, MIP_PORT)));
    // MN-FA removed, FA-HA appended after the untouched MN-HA part.
    assert_eq!(&t.payload[..mn_ha_end], &bytes[..mn_ha_end]);
    let relayed = Request::from_bytes(&t.payload).expect("parses");
    let types: Vec<u8> = relayed
        .extensions
        .iter()
        .map(|e| e.ext_type().into())
        .collect();
    assert_eq!(types, [131, 32, 34]);
    let v = verify(&t.payload, ExtensionType::FaHaAuth, &fa_ha()).expect("FA-HA verifies");
    assert_eq!(v.protected_len, t.payload.len());
    verify(&t.payload, ExtensionType::MnHaAuth, &mn_ha()).expect("MN-HA intact");
    assert_eq!(fa.pending().count(), 1);

    // The real HA checks FA-HA, accepts, and signs its reply for the
    // agent too: MN-HA, then FA-HA over everything before it (§3.5.4).
    let ha_out = ha.handle_request(T0, SocketAddrV4::new(t.src, MIP_PORT), HA, &t.payload);
    assert!(matches!(
        ha_out.record.verdict,
        ha::Verdict::Accepted { .. }
    ));
    assert_eq!(ha.bindings().get(HOME)[0].care_of_address, COA_B);
    let reply = ha_out.reply.expect("reply");
    let v = verify(&reply, ExtensionType::FaHaAuth, &fa_ha()).expect("HA signed FA-HA");
    assert_eq!(v.protected_len, reply.len());
    let ha_part = reply.len() - 22;
    let back = fa.handle_ha_reply(T0, ha_src(), &reply);
    assert_eq!(
        back.record.verdict,
        Verdict::ReplyRelayed {
            code: ReplyCode::Accepted
        }
    );
    let t = back.transmit.clone().expect("to the visitor");
    assert_eq!((t.src, t.dst), (FA, visitor(HOME)));
    // FA-HA stripped, MN-FA appended (§3.7.3.2).
    assert_eq!(&t.payload[..ha_part], &reply[..ha_part]);
    let rep = Reply::from_bytes(&t.payload).expect("parses");
    assert_eq!(
        rep.extensions
            .iter()
            .map(|e| u8::from(e.ext_type()))
            .collect::<Vec<_>>(),
        [32, 33]
    );
    verify(&t.payload, ExtensionType::MnHaAuth, &mn_ha()).expect("MN-HA for the node");
    verify(&t.payload, ExtensionType::MnFaAuth, &mn_fa()).expect("MN-FA for the node");
    let Some(VisitorChange::Added(v)) = back.change.clone() else {
        panic!("visitor added: {:?}", back.change);
    };
    assert_eq!(v.home_address, HOME);
    assert_eq!(v.home_agent, HA);
    assert_eq!(v.link_source, visitor(HOME));
    assert_eq!(v.care_of_address, COA_B);
    assert!(v.reverse_tunnel);
    assert_eq!(v.encapsulation, Encapsulation::IpInIp);
    assert_eq!(v.granted_lifetime, 300);
    assert_eq!(v.expires_ms, Some(T0 + 300_000));
    assert_eq!(fa.visitors().collect::<Vec<_>>(), [&v]);
    assert_eq!(fa.pending().count(), 0);
    assert_eq!(fa.poll_timeout(), Some(T0 + 300_000));

    // Deregistration through the agent removes the visitor.
    let dereg = signed(&request(HOME, 0, 0, COA_B, ident(10, 2)), Some(&mn_fa()));
    let (out, back) = round_trip(&mut fa, &mut ha, T0 + 10_000, visitor(HOME), &dereg, None);
    assert!(matches!(out.record.verdict, Verdict::RequestRelayed { .. }));
    assert!(matches!(back.change, Some(VisitorChange::Removed(ref v)) if v.home_address == HOME));
    assert_eq!(fa.visitors().count(), 0);
    assert!(ha.bindings().get(HOME).is_empty());
}

#[test]
fn home_agent_failed_authentication_68() {
    let mut fa = agent(config());
    fa.add_fa_ha_sa(HA, fa_ha());
    fn flip_last_octet(reply: &mut [u8]) {
        if let Some(last) = reply.last_mut() {
            *last ^= 1;
        }
    }
    struct Case {
        /// The FA-HA association the home agent holds for the agent.
        ha_sa: Option<SecurityAssociation>,
        tamper: Option<fn(&mut [u8])>,
        why: Error,
        /// Whether the home agent took the registration.
        bound: bool,
    }
    let cases = [
        // A home agent without the association sends no FA-HA.
        Case {
            ha_sa: None,
            tamper: None,
            why: Error::MissingAuthentication(34),
            bound: true,
        },
        // The home agent signs; the reply is altered on the way.
        Case {
            ha_sa: Some(fa_ha()),
            tamper: Some(flip_last_octet),
            why: Error::BadAuthenticator,
            bound: true,
        },
        // The home agent holds another key: it refuses our FA-HA (132)
        // and its reply cannot carry one we accept.
        Case {
            ha_sa: Some(sa(0x3000, b"wrong-fa-ha-key!")),
            tamper: None,
            why: Error::MissingAuthentication(34),
            bound: false,
        },
    ];
    for (i, case) in cases.into_iter().enumerate() {
        let mut ha = home_agent();
        if let Some(s) = case.ha_sa {
            ha.add_fa_ha_sa(COA, s);
        }
        let (why, bound) = (case.why, case.bound);
        let (_, back) = round_trip(
            &mut fa,
            &mut ha,
            T0 + i as u64 * 1000,
            visitor(HOME),
            &plain(HOME, ident(i as u64, 1)),
            case.tamper,
        );
        assert_eq!(denial(&back), FaDenial::HomeAgentAuthentication(why));
        let rep = denied_reply(&back, visitor(HOME));
        assert_eq!(rep.code, ReplyCode::FaHomeAgentFailedAuthentication);
        assert_eq!(rep.identification, ident(i as u64, 1));
        assert!(rep.extensions.is_empty());
        assert_eq!(!ha.bindings().get(HOME).is_empty(), bound, "case {i}");
        assert_eq!(back.change, None);
        assert_eq!(fa.visitors().count(), 0);
        assert_eq!(fa.pending().count(), 0);
    }
}

#[test]
fn request_denials_with_their_codes_change_nothing() {
    struct Case {
        name: &'static str,
        config: fn(&mut Config),
        bytes: Vec<u8>,
        code: ReplyCode,
        denial: FaDenial,
        lifetime: u16,
    }
    let id = ident(0, 7);
    let with_ext = |ext: Extension| {
        let mut r = request(HOME, 0, 300, COA, id);
        r.extensions.push(ext);
        signed(&r, None)
    };
    let cases = vec![
        Case {
            name: "65 administratively prohibited",
            config: |c| {
                c.allowed_home_networks = vec![HomeNetwork {
                    prefix: Ipv4Addr::new(172, 16, 0, 0),
                    len: 12,
                }]
            },
            bytes: plain(HOME, id),
            code: ReplyCode::FaAdministrativelyProhibited,
            denial: FaDenial::AdministrativelyProhibited(HOME),
            lifetime: 0,
        },
        Case {
            name: "67 MN-FA required, none configured",
            config: |c| c.require_mn_fa_auth = true,
            bytes: plain(HOME, id),
            code: ReplyCode::FaMobileNodeFailedAuthentication,
            denial: FaDenial::MobileNodeAuthentication(Error::MissingAuthentication(33)),
            lifetime: 0,
        },
        Case {
            name: "69 lifetime too long",
            config: |_| {},
            bytes: signed(&request(HOME, 0, 601, COA, id), None),
            code: ReplyCode::FaLifetimeTooLong,
            denial: FaDenial::LifetimeTooLong {
                requested: 601,
                max: 600,
            },
            lifetime: 600,
        },
        Case {
            name: "70 unknown non-skippable extension",
            config: |_| {},
            bytes: with_ext(Extension::Other {
                ext_type: 99,
                subtype: None,
                data: vec![1, 2],
            }),
            code: ReplyCode::FaPoorlyFormedRequest,
            denial: FaDenial::PoorlyFormedRequest(Error::UnrecognizedExtension(99)),
            lifetime: 0,
        },
        Case {
            name: "70 truncated extension",
            config: |_| {},
            bytes: {
                let mut b = plain(HOME, id);
                b.extend_from_slice(&[200, 5, 1]);
                b
            },
            code: ReplyCode::FaPoorlyFormedRequest,
            denial: FaDenial::PoorlyFormedRequest(Error::Truncated),
            lifetime: 0,
        },
        Case {
            name: "72 GRE",
            config: |_| {},
            bytes: signed(&request(HOME, RequestFlags::G, 300, COA, id), None),
            code: ReplyCode::FaEncapsulationUnavailable,
            denial: FaDenial::EncapsulationUnavailable,
            lifetime: 0,
        },
        Case {
            name: "72 minimal encapsulation",
            config: |_| {},
            bytes: signed(&request(HOME, RequestFlags::M, 300, COA, id), None),
            code: ReplyCode::FaEncapsulationUnavailable,
            denial: FaDenial::EncapsulationUnavailable,
            lifetime: 0,
        },
        Case {
            name: "74 reverse tunnel unavailable",
            config: |c| c.reverse_tunnelling = false,
            bytes: signed(&request(HOME, RequestFlags::T, 300, COA, id), None),
            code: ReplyCode::FaReverseTunnelUnavailable,
            denial: FaDenial::ReverseTunnelUnavailable,
            lifetime: 0,
        },
        Case {
            name: "75 reverse tunnel mandatory",
            config: |c| c.reverse_tunnel_mandatory = true,
            bytes: plain(HOME, id),
            code: ReplyCode::FaReverseTunnelMandatory,
            denial: FaDenial::ReverseTunnelMandatory,
            lifetime: 0,
        },
        Case {
            name: "77 invalid care-of address",
            config: |_| {},
            bytes: signed(
                &request(HOME, 0, 300, Ipv4Addr::new(198, 51, 100, 1), id),
                None,
            ),
            code: ReplyCode::FaInvalidCareOfAddress,
            denial: FaDenial::InvalidCareOfAddress(Ipv4Addr::new(198, 51, 100, 1)),
            lifetime: 0,
        },
        Case {
            name: "96 zero home address",
            config: |_| {},
            bytes: signed(&request(Ipv4Addr::UNSPECIFIED, 0, 300, COA, id), None),
            code: ReplyCode::FaNonZeroHomeAddressRequired,
            denial: FaDenial::HomeAddressRequired,
            lifetime: 0,
        },
        Case {
            name: "98 missing home agent",
            config: |_| {},
            bytes: {
                let mut r = request(HOME, 0, 300, COA, id);
                r.home_agent = Ipv4Addr::UNSPECIFIED;
                signed(&r, None)
            },
            code: ReplyCode::FaMissingHomeAgent,
            denial: FaDenial::MissingHomeAgent,
            lifetime: 0,
        },
    ];
    for case in cases {
        let mut c = config();
        (case.config)(&mut c);
        let mut fa = agent(c);
        let out = fa.handle_visitor_request(T0, visitor(HOME), &case.bytes);
        assert_eq!(denial(&out), case.denial, "{}", case.name);
        let rep = denied_reply(&out, visitor(HOME));
        assert_eq!(rep.code, case.code, "{}", case.name);
        assert_eq!(
            u8::from(case.code),
            case.name[..2].parse::<u8>().expect("code")
        );
        assert_eq!(rep.lifetime, case.lifetime, "{}", case.name);
        assert_eq!(rep.identification, id, "{}", case.name);
        assert!(rep.extensions.is_empty(), "{}", case.name);
        assert_eq!(out.change, None);
        assert_eq!(fa.pending().count(), 0, "{}", case.name);
        assert_eq!(fa.visitors().count(), 0, "{}", case.name);
        assert_eq!(fa.poll_timeout(), None);
    }
}

#[test]
fn mn_fa_failures_67_and_signed_denials() {
    let mut fa = agent(config());
    fa.add_mn_fa_sa(HOME, mn_fa());
    let wrong = sa(0x2000, b"not-the-mn-fa-k!");
    for (bytes, why) in [
        (plain(HOME, ident(0, 1)), Error::MissingAuthentication(33)),
        (
            signed(&request(HOME, 0, 300, COA, ident(0, 2)), Some(&wrong)),
            Error::BadAuthenticator,
        ),
    ] {
        let out = fa.handle_visitor_request(T0, visitor(HOME), &bytes);
        assert_eq!(denial(&out), FaDenial::MobileNodeAuthentication(why));
        let t = out.transmit.expect("reply");
        let rep = Reply::from_bytes(&t.payload).expect("parses");
        assert_eq!(rep.code, ReplyCode::FaMobileNodeFailedAuthentication);
        // Not signed: the request did not authenticate.
        assert!(rep.extensions.is_empty());
    }
    // A request that authenticates gets its denial signed with MN-FA.
    let bytes = signed(&request(HOME, 0, 700, COA, ident(0, 3)), Some(&mn_fa()));
    let out = fa.handle_visitor_request(T0, visitor(HOME), &bytes);
    let t = out.transmit.expect("reply");
    assert_eq!(
        Reply::from_bytes(&t.payload).map(|r| r.code),
        Ok(ReplyCode::FaLifetimeTooLong)
    );
    verify(&t.payload, ExtensionType::MnFaAuth, &mn_fa()).expect("MN-FA signed denial");
    assert_eq!(fa.pending().count(), 0);
}

#[test]
fn insufficient_resources_66_and_busy() {
    // Pending list of one: a second visitor waits in vain; the same
    // visitor's retransmission replaces its entry.
    let mut c = config();
    c.max_pending = 1;
    let mut fa = agent(c);
    let out = fa.handle_visitor_request(T0, visitor(HOME), &plain(HOME, ident(0, 1)));
    assert!(out.transmit.is_some());
    let out = fa.handle_visitor_request(T0, visitor(HOME2), &plain(HOME2, ident(0, 1)));
    assert_eq!(denial(&out), FaDenial::TooManyPending(1));
    assert_eq!(
        denied_reply(&out, visitor(HOME2)).code,
        ReplyCode::FaInsufficientResources
    );
    let out = fa.handle_visitor_request(T0 + 1, visitor(HOME), &plain(HOME, ident(1, 2)));
    assert_eq!(
        out.record.verdict,
        Verdict::RequestRelayed { home_agent: HA }
    );
    let pend: Vec<u64> = fa.pending().map(|p| p.identification).collect();
    assert_eq!(pend, [ident(1, 2)]);

    // Visitor list of one: full after one registration, B advertised.
    let mut c = config();
    c.max_visitors = 1;
    let mut fa = agent(c);
    let mut ha = home_agent();
    let (_, back) = round_trip(
        &mut fa,
        &mut ha,
        T0,
        visitor(HOME),
        &plain(HOME, ident(0, 1)),
        None,
    );
    assert!(matches!(back.change, Some(VisitorChange::Added(_))));
    let ad = RouterAdvertisement::from_bytes(&fa.advertisement(T0)).expect("valid");
    assert!(
        ad.mobility_agent()
            .expect("ext")
            .flags
            .contains(AgentFlags::B)
    );
    let out = fa.handle_visitor_request(T0, visitor(HOME2), &plain(HOME2, ident(0, 2)));
    assert_eq!(denial(&out), FaDenial::TooManyVisitors(1));
    assert_eq!(
        denied_reply(&out, visitor(HOME2)).code,
        ReplyCode::FaInsufficientResources
    );
    // The registered visitor may still renew.
    let (out, _) = round_trip(
        &mut fa,
        &mut ha,
        T0 + 1000,
        visitor(HOME),
        &plain(HOME, ident(1, 3)),
        None,
    );
    assert!(matches!(out.record.verdict, Verdict::RequestRelayed { .. }));
    // Once it lapses the agent is no longer busy.
    assert!(!fa.handle_timeout(T0 + 400_000).is_empty());
    let ad = RouterAdvertisement::from_bytes(&fa.advertisement(T0 + 400_000)).expect("valid");
    assert!(
        !ad.mobility_agent()
            .expect("ext")
            .flags
            .contains(AgentFlags::B)
    );
}

#[test]
fn pending_timeout_answers_78_and_icmp_errors_answer_80_to_88() {
    let mut fa = agent(config());
    let out = fa.handle_visitor_request(T0, visitor(HOME), &plain(HOME, ident(0, 1)));
    assert!(out.transmit.is_some());
    assert_eq!(fa.poll_timeout(), Some(T0 + 7_000));
    assert!(fa.handle_timeout(T0 + 6_999).is_empty());
    let outs = fa.handle_timeout(T0 + 7_000);
    assert_eq!(outs.len(), 1);
    assert_eq!(denial(&outs[0]), FaDenial::RegistrationTimeout);
    let rep = denied_reply(&outs[0], visitor(HOME));
    assert_eq!(rep.code, ReplyCode::FaRegistrationTimeout);
    assert_eq!((rep.home_address, rep.home_agent), (HOME, HA));
    assert_eq!(rep.identification, ident(0, 1));
    assert_eq!(fa.pending().count(), 0);
    assert_eq!(fa.poll_timeout(), None);
    // The late reply finds nothing pending.
    let mut ha = home_agent();
    let late = ha
        .handle_request(
            T0,
            SocketAddrV4::new(COA, MIP_PORT),
            HA,
            &plain(HOME, ident(0, 1)),
        )
        .reply
        .expect("reply");
    let out = fa.handle_ha_reply(T0 + 8_000, ha_src(), &late);
    assert_eq!(
        out.record.verdict,
        Verdict::Dropped(FaDenial::NoPendingRequest)
    );
    assert_eq!(out.transmit, None);

    for (kind, code) in [
        (Unreachable::Network, 80),
        (Unreachable::Host, 81),
        (Unreachable::Port, 82),
        (Unreachable::Other, 88),
    ] {
        let _ = fa.handle_visitor_request(T0, visitor(HOME), &plain(HOME, ident(0, 2)));
        let _ = fa.handle_visitor_request(T0, visitor(HOME2), &plain(HOME2, ident(0, 3)));
        assert!(
            fa.handle_icmp_error(T0, Ipv4Addr::new(10, 9, 9, 9), kind)
                .is_empty()
        );
        let outs = fa.handle_icmp_error(T0, HA, kind);
        assert_eq!(outs.len(), 2);
        for o in &outs {
            assert_eq!(denial(o), FaDenial::HomeAgentUnreachable(kind));
            let to = o.transmit.as_ref().expect("reply").dst;
            assert_eq!(u8::from(denied_reply(o, to).code), code);
        }
        assert_eq!(fa.pending().count(), 0);
    }
}

#[test]
fn replies_are_matched_checked_and_relayed() {
    let mut fa = agent(config());
    let mut ha = home_agent();
    // Garbage either way is dropped without an answer.
    let out = fa.handle_visitor_request(T0, visitor(HOME), &[1, 0, 0]);
    assert_eq!(
        out.record.verdict,
        Verdict::Dropped(FaDenial::NotARequest(Error::Truncated))
    );
    assert_eq!(out.transmit, None);
    let out = fa.handle_ha_reply(T0, ha_src(), &plain(HOME, 1));
    assert_eq!(
        out.record.verdict,
        Verdict::Dropped(FaDenial::NotAReply(Error::WrongType(1)))
    );

    let bytes = plain(HOME, ident(0, 1));
    let relay = fa.handle_visitor_request(T0, visitor(HOME), &bytes);
    let t = relay.transmit.expect("relayed");
    // No FA-HA SA: relayed exactly as received.
    assert_eq!(t.payload, bytes);
    let reply = ha
        .handle_request(T0, SocketAddrV4::new(t.src, MIP_PORT), HA, &t.payload)
        .reply
        .expect("reply");
    // From another address than the HA the request went to: dropped.
    let out = fa.handle_ha_reply(
        T0,
        SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 434),
        &reply,
    );
    assert_eq!(
        out.record.verdict,
        Verdict::Dropped(FaDenial::NoPendingRequest)
    );
    // Another Identification: dropped.
    let mut other = Reply::from_bytes(&reply).expect("parses");
    other.identification ^= 1;
    let out = fa.handle_ha_reply(T0, ha_src(), &other.to_vec().expect("emits"));
    assert_eq!(
        out.record.verdict,
        Verdict::Dropped(FaDenial::NoPendingRequest)
    );
    assert_eq!(fa.pending().count(), 1);
    // A reply that does not parse: 71 to the visitor.
    let mut bad = reply[..20].to_vec();
    bad.extend_from_slice(&[99, 0]);
    let out = fa.handle_ha_reply(T0, ha_src(), &bad);
    assert_eq!(
        denial(&out),
        FaDenial::PoorlyFormedReply(Error::UnrecognizedExtension(99))
    );
    assert_eq!(
        denied_reply(&out, visitor(HOME)).code,
        ReplyCode::FaPoorlyFormedReply
    );
    assert_eq!(fa.pending().count(), 0);
    assert_eq!(fa.visitors().count(), 0);

    // A home agent denial is relayed unchanged, with no visitor entry.
    let mut wrong_key = signed(&request(HOME, 0, 300, COA, ident(2, 1)), None);
    let n = wrong_key.len();
    wrong_key[n - 1] ^= 0xff;
    let (_, back) = round_trip(
        &mut fa,
        &mut ha,
        T0 + 2_000,
        visitor(HOME),
        &wrong_key,
        None,
    );
    assert_eq!(
        back.record.verdict,
        Verdict::ReplyRelayed {
            code: ReplyCode::HaMobileNodeFailedAuthentication
        }
    );
    assert_eq!(back.change, None);
    assert_eq!(fa.visitors().count(), 0);

    // A co-located node registering through us (R) is relayed; nothing
    // to deliver for it, so no visitor entry.
    let colocated = Ipv4Addr::new(198, 51, 100, 7);
    let req = signed(
        &request(HOME, RequestFlags::D, 300, colocated, ident(3, 1)),
        None,
    );
    let (out, back) = round_trip(&mut fa, &mut ha, T0 + 3_000, visitor(HOME), &req, None);
    assert_eq!(out.transmit.map(|t| t.src), Some(COA));
    assert_eq!(
        back.record.verdict,
        Verdict::ReplyRelayed {
            code: ReplyCode::Accepted
        }
    );
    assert_eq!(back.change, None);
    assert_eq!(ha.bindings().get(HOME)[0].care_of_address, colocated);
}

#[test]
fn visitor_list_add_refresh_remove_expire() {
    let mut fa = agent(config());
    let mut ha = home_agent();
    let (_, back) = round_trip(
        &mut fa,
        &mut ha,
        T0,
        visitor(HOME),
        &plain(HOME, ident(0, 1)),
        None,
    );
    assert!(matches!(back.change, Some(VisitorChange::Added(_))));
    // Re-registration from a new port refreshes the entry.
    let moved = SocketAddrV4::new(HOME, 50000);
    let (_, back) = round_trip(
        &mut fa,
        &mut ha,
        T0 + 100_000,
        moved,
        &plain(HOME, ident(100, 1)),
        None,
    );
    let Some(VisitorChange::Refreshed(v)) = back.change else {
        panic!("refreshed");
    };
    assert_eq!(v.link_source, moved);
    assert_eq!(v.expires_ms, Some(T0 + 400_000));
    // A replayed request is refused by the HA (133): the entry stays.
    let (_, back) = round_trip(
        &mut fa,
        &mut ha,
        T0 + 101_000,
        moved,
        &plain(HOME, ident(100, 1)),
        None,
    );
    assert_eq!(
        back.record.verdict,
        Verdict::ReplyRelayed {
            code: ReplyCode::HaIdentificationMismatch
        }
    );
    assert_eq!(back.change, None);
    assert_eq!(fa.visitor(HOME), Some(&v));
    // A second visitor, then the first deregisters (CoA = home address).
    let (_, back) = round_trip(
        &mut fa,
        &mut ha,
        T0 + 102_000,
        visitor(HOME2),
        &plain(HOME2, ident(102, 1)),
        None,
    );
    assert!(matches!(back.change, Some(VisitorChange::Added(_))));
    let dereg = signed(&request(HOME, 0, 300, HOME, ident(103, 1)), None);
    let (_, back) = round_trip(&mut fa, &mut ha, T0 + 103_000, moved, &dereg, None);
    assert!(matches!(back.change, Some(VisitorChange::Removed(ref r)) if r.home_address == HOME));
    let homes: Vec<Ipv4Addr> = fa.visitors().map(|v| v.home_address).collect();
    assert_eq!(homes, [HOME2]);
    // The other one lapses.
    assert_eq!(fa.poll_timeout(), Some(T0 + 402_000));
    assert!(fa.handle_timeout(T0 + 401_999).is_empty());
    let outs = fa.handle_timeout(T0 + 402_000);
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0].record.verdict, Verdict::VisitorExpired);
    assert_eq!(outs[0].transmit, None);
    assert!(matches!(&outs[0].change, Some(VisitorChange::Expired(v)) if v.home_address == HOME2));
    assert_eq!(fa.visitors().count(), 0);
    assert_eq!(fa.poll_timeout(), None);
}

#[test]
fn records_display_reasons() {
    let mut fa = agent(config());
    let out = fa.handle_visitor_request(
        T0,
        visitor(HOME),
        &signed(&request(HOME, RequestFlags::G, 300, COA, ident(0, 1)), None),
    );
    let line = out.record.to_string();
    assert!(line.contains("denied (72)"), "{line}");
    assert!(line.contains("home=10.0.0.5"), "{line}");
}
