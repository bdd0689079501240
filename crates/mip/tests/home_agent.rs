//! Home agent registration processing (RFC 5944 §3.8) end to end: a mobile
//! node side built from the wire layer talks to `telsec_mip::ha::HomeAgent`.

use std::net::{Ipv4Addr, SocketAddrV4};

use telsec_mip::ha::{Config, Denial, HomeAgent, HomeNetwork, Outcome, Tunnel, Verdict};
use telsec_mip::{
    Algorithm, Encapsulation, Extension, ExtensionType, NtpTimestamp, ReplayMode, Reply, ReplyCode,
    Request, RequestFlags, SecurityAssociation, UdpTunnelReplyCode, UdpTunnelRequest,
    append_signature, reply_matches_request, verify,
};

const HA: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const HOME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
const COA: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 7);
const COA2: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 8);
const COA3: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 9);
/// 2024-01-01T00:00:00Z.
const T0_SECS: u64 = 1_704_067_200;
const T0: u64 = T0_SECS * 1000;
const SPI: u32 = 0x1000;

fn sa() -> SecurityAssociation {
    SecurityAssociation::new(
        SPI,
        Algorithm::HmacMd5,
        b"mn-ha-shared-key",
        ReplayMode::default(),
    )
    .expect("SA")
}

fn nonce_sa() -> SecurityAssociation {
    SecurityAssociation::new(
        SPI,
        Algorithm::HmacSha256,
        b"mn-ha-shared-key",
        ReplayMode::Nonce,
    )
    .expect("SA")
}

fn config() -> Config {
    let mut c = Config::new(
        HA,
        HomeNetwork {
            prefix: Ipv4Addr::new(10, 0, 0, 0),
            len: 24,
        },
        b"nonce secret",
    );
    c.max_lifetime = 600;
    c.max_bindings = 2;
    c
}

fn agent() -> HomeAgent {
    let mut ha = HomeAgent::new(config());
    ha.add_sa_for_home(HOME, sa());
    ha
}

/// Identification for a request sent `secs` after T0, low word `n`.
fn ident(secs: u64, n: u32) -> u64 {
    NtpTimestamp::from_unix(T0_SECS + secs, 0).0 | u64::from(n)
}

fn request(flags: u8, lifetime: u16, coa: Ipv4Addr, id: u64) -> Request {
    Request {
        flags: RequestFlags(flags),
        lifetime,
        home_address: HOME,
        home_agent: HA,
        care_of_address: coa,
        identification: id,
        extensions: vec![],
    }
}

fn signed(req: &Request, sa: &SecurityAssociation) -> Vec<u8> {
    let mut b = req.to_vec().expect("emits");
    append_signature(&mut b, ExtensionType::MnHaAuth, sa).expect("signs");
    b
}

fn src(coa: Ipv4Addr) -> SocketAddrV4 {
    SocketAddrV4::new(coa, 434)
}

/// Parses the reply and checks it as the mobile node would.
fn reply_of(out: &Outcome, sa: &SecurityAssociation, signed: bool) -> Reply {
    let bytes = out.reply.as_ref().expect("a reply");
    if signed {
        verify(bytes, ExtensionType::MnHaAuth, sa).expect("reply authenticates");
    } else {
        assert!(verify(bytes, ExtensionType::MnHaAuth, sa).is_err());
    }
    Reply::from_bytes(bytes).expect("reply parses")
}

fn denial(out: &Outcome) -> &Denial {
    match &out.record.verdict {
        Verdict::Denied(d) => d,
        other => panic!("expected a denial, got {other:?}"),
    }
}

#[test]
fn register_reregister_and_cap() {
    let mut ha = agent();
    let id1 = ident(0, 1);
    let out = ha.handle_request(T0, src(COA), HA, &signed(&request(0, 300, COA, id1), &sa()));
    let rep = reply_of(&out, &sa(), true);
    assert_eq!(rep.code, ReplyCode::Accepted);
    assert_eq!(rep.lifetime, 300);
    assert_eq!((rep.home_address, rep.home_agent), (HOME, HA));
    assert_eq!(rep.identification, id1);
    assert!(reply_matches_request(id1, rep.identification));
    let change = out.change.expect("binding added");
    assert!(change.before.is_empty());
    assert_eq!(change.after.len(), 1);
    let b = &ha.bindings().get(HOME)[0];
    assert_eq!(b.care_of_address, COA);
    assert_eq!(b.expires_ms, Some(T0 + 300_000));
    assert_eq!(b.tunnel, Tunnel::IpInIp);
    assert_eq!(
        out.record.verdict,
        Verdict::Accepted {
            code: ReplyCode::Accepted,
            lifetime: 300
        }
    );
    assert!(out.record.to_string().contains("accepted (0)"));

    // Re-registration from a new CoA, asking for more than the maximum:
    // granted 600, the old binding replaced.
    let id2 = ident(2, 2);
    let out = ha.handle_request(
        T0 + 2000,
        src(COA2),
        HA,
        &signed(&request(0, 0xffff, COA2, id2), &sa()),
    );
    let rep = reply_of(&out, &sa(), true);
    assert_eq!((rep.code, rep.lifetime), (ReplyCode::Accepted, 600));
    let list = ha.bindings().get(HOME);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].care_of_address, COA2);
    assert_eq!(list[0].expires_ms, Some(T0 + 2000 + 600_000));
    assert_eq!(ha.record(HOME).map(|r| r.last_accepted), Some(id2));
}

#[test]
fn deregistration_both_ways() {
    let mut ha = agent();
    let s = RequestFlags::S;
    ha.handle_request(
        T0,
        src(COA),
        HA,
        &signed(&request(s, 60, COA, ident(0, 1)), &sa()),
    );
    ha.handle_request(
        T0,
        src(COA2),
        HA,
        &signed(&request(s, 60, COA2, ident(0, 2)), &sa()),
    );
    assert_eq!(ha.bindings().len(), 2);
    // Lifetime 0 for one CoA removes only that one.
    let out = ha.handle_request(
        T0,
        src(COA),
        HA,
        &signed(&request(s, 0, COA, ident(0, 3)), &sa()),
    );
    assert_eq!(reply_of(&out, &sa(), true).lifetime, 0);
    assert_eq!(ha.bindings().get(HOME).len(), 1);
    assert_eq!(ha.bindings().get(HOME)[0].care_of_address, COA2);
    let change = out.change.expect("changed");
    assert_eq!((change.before.len(), change.after.len()), (2, 1));
    // CoA = home address, lifetime 0: at home, everything goes.
    ha.handle_request(
        T0,
        src(COA3),
        HA,
        &signed(&request(s, 60, COA3, ident(0, 4)), &sa()),
    );
    assert_eq!(ha.bindings().len(), 2);
    let out = ha.handle_request(
        T0,
        src(HOME),
        HA,
        &signed(&request(0, 0, HOME, ident(0, 5)), &sa()),
    );
    assert_eq!(reply_of(&out, &sa(), true).code, ReplyCode::Accepted);
    assert!(ha.bindings().is_empty());
    assert_eq!(ha.poll_timeout(), None);
}

#[test]
fn simultaneous_bindings_and_135() {
    let mut ha = agent();
    let s = RequestFlags::S;
    for (i, coa) in [COA, COA2].into_iter().enumerate() {
        let out = ha.handle_request(
            T0,
            src(coa),
            HA,
            &signed(&request(s, 60, coa, ident(0, i as u32 + 1)), &sa()),
        );
        assert_eq!(reply_of(&out, &sa(), true).code, ReplyCode::Accepted);
    }
    let before = ha.snapshot();
    let out = ha.handle_request(
        T0,
        src(COA3),
        HA,
        &signed(&request(s, 60, COA3, ident(0, 9)), &sa()),
    );
    let rep = reply_of(&out, &sa(), true);
    assert_eq!(rep.code, ReplyCode::HaTooManyBindings);
    assert_eq!(*denial(&out), Denial::TooManyBindings(2));
    assert!(out.change.is_none());
    assert_eq!(ha.snapshot(), before, "a refused request changes nothing");
    // Refreshing an existing CoA is still fine at the limit.
    let out = ha.handle_request(
        T0,
        src(COA2),
        HA,
        &signed(&request(s, 60, COA2, ident(0, 10)), &sa()),
    );
    assert_eq!(reply_of(&out, &sa(), true).code, ReplyCode::Accepted);
    assert_eq!(ha.bindings().len(), 2);

    // With simultaneous bindings switched off: code 1, binding replaced.
    let mut cfg = config();
    cfg.simultaneous_bindings = false;
    let mut ha = HomeAgent::new(cfg);
    ha.add_sa_for_home(HOME, sa());
    ha.handle_request(
        T0,
        src(COA),
        HA,
        &signed(&request(s, 60, COA, ident(0, 1)), &sa()),
    );
    let out = ha.handle_request(
        T0,
        src(COA2),
        HA,
        &signed(&request(s, 60, COA2, ident(0, 2)), &sa()),
    );
    assert_eq!(
        reply_of(&out, &sa(), true).code,
        ReplyCode::AcceptedNoSimultaneousBindings
    );
    assert_eq!(ha.bindings().len(), 1);
}

#[test]
fn expiry() {
    let mut ha = agent();
    ha.handle_request(
        T0,
        src(COA),
        HA,
        &signed(&request(RequestFlags::S, 10, COA, ident(0, 1)), &sa()),
    );
    ha.handle_request(
        T0,
        src(COA2),
        HA,
        &signed(&request(RequestFlags::S, 20, COA2, ident(0, 2)), &sa()),
    );
    assert_eq!(ha.poll_timeout(), Some(T0 + 10_000));
    assert!(ha.handle_timeout(T0 + 9_999).is_empty());
    let gone = ha.handle_timeout(T0 + 10_000);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].care_of_address, COA);
    assert_eq!(ha.poll_timeout(), Some(T0 + 20_000));
    assert_eq!(ha.handle_timeout(T0 + 60_000).len(), 1);
    assert!(ha.bindings().is_empty());
}

#[test]
fn wrong_home_agent_136() {
    let mut ha = agent();
    let mut req = request(0, 60, COA, ident(0, 1));
    req.home_agent = Ipv4Addr::new(10, 0, 0, 255);
    let out = ha.handle_request(
        T0,
        src(COA),
        Ipv4Addr::new(10, 0, 0, 255),
        &signed(&req, &sa()),
    );
    let rep = reply_of(&out, &sa(), true);
    assert_eq!(rep.code, ReplyCode::HaUnknownHomeAgentAddress);
    assert_eq!(rep.home_agent, HA, "RFC 5944 §3.8.3.2: our address");
    assert!(ha.bindings().is_empty());
    assert_eq!(ha.record(HOME), None);
}

#[test]
fn authentication_failures_131_change_nothing() {
    let mut ha = agent();
    ha.handle_request(
        T0,
        src(COA),
        HA,
        &signed(&request(0, 60, COA, ident(0, 1)), &sa()),
    );
    let snap = ha.snapshot();

    // Bad authenticator: one flipped octet of the MAC.
    let mut bytes = signed(&request(0, 60, COA2, ident(1, 2)), &sa());
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    let out = ha.handle_request(T0 + 1000, src(COA2), HA, &bytes);
    let rep = reply_of(&out, &sa(), false);
    assert_eq!(rep.code, ReplyCode::HaMobileNodeFailedAuthentication);
    assert!(matches!(denial(&out), Denial::Authentication(_)));
    assert!(out.change.is_none());
    assert_eq!(ha.snapshot(), snap);

    // Unknown SPI.
    let other = SecurityAssociation::new(
        0x2000,
        Algorithm::HmacMd5,
        b"mn-ha-shared-key",
        ReplayMode::default(),
    )
    .expect("SA");
    let out = ha.handle_request(
        T0 + 1000,
        src(COA2),
        HA,
        &signed(&request(0, 60, COA2, ident(1, 3)), &other),
    );
    assert_eq!(
        reply_of(&out, &sa(), false).code,
        ReplyCode::HaMobileNodeFailedAuthentication
    );
    assert_eq!(
        *denial(&out),
        Denial::Authentication(telsec_mip::Error::UnknownSpi(0x2000))
    );

    // No MN-HA extension at all.
    let bytes = request(0, 60, COA2, ident(1, 4)).to_vec().expect("emits");
    let out = ha.handle_request(T0 + 1000, src(COA2), HA, &bytes);
    assert_eq!(
        reply_of(&out, &sa(), false).code,
        ReplyCode::HaMobileNodeFailedAuthentication
    );
    assert_eq!(ha.snapshot(), snap);
}

/// The FA-HA association of RFC 5944 §3.5.4 with the foreign agent that
/// relays from `COA`.
fn fa_ha() -> SecurityAssociation {
    SecurityAssociation::new(
        0x3000,
        Algorithm::HmacMd5,
        b"fa-ha-shared-key",
        ReplayMode::default(),
    )
    .expect("SA")
}

/// A request as a foreign agent relays it: MN-HA from the node, then the
/// agent's FA-HA when `fa` is given.
fn relayed(req: &Request, fa: Option<&SecurityAssociation>) -> Vec<u8> {
    let mut b = signed(req, &sa());
    if let Some(fa) = fa {
        append_signature(&mut b, ExtensionType::FaHaAuth, fa).expect("signs");
    }
    b
}

fn extension_types(reply: &[u8]) -> Vec<u8> {
    Reply::from_bytes(reply)
        .expect("reply parses")
        .extensions
        .iter()
        .map(|e| u8::from(e.ext_type()))
        .collect()
}

#[test]
fn fa_ha_authentication_132_and_signed_replies() {
    let mut ha = agent();
    ha.add_fa_ha_sa(COA, fa_ha());
    let snap = ha.snapshot();
    let wrong_key = SecurityAssociation::new(
        0x3000,
        Algorithm::HmacMd5,
        b"not-the-fa-ha-ke",
        ReplayMode::default(),
    )
    .expect("SA");
    let unknown_spi = SecurityAssociation::new(
        0x3001,
        Algorithm::HmacMd5,
        b"fa-ha-shared-key",
        ReplayMode::default(),
    )
    .expect("SA");
    // FA-HA in front of MN-HA covers nothing the node signed.
    let mut in_front = request(0, 60, COA, ident(0, 4)).to_vec().expect("emits");
    append_signature(&mut in_front, ExtensionType::FaHaAuth, &fa_ha()).expect("signs");
    append_signature(&mut in_front, ExtensionType::MnHaAuth, &sa()).expect("signs");
    let missing = telsec_mip::Error::MissingAuthentication(34);
    for (i, (bytes, why)) in [
        (
            relayed(&request(0, 60, COA, ident(0, 1)), None),
            missing.clone(),
        ),
        (
            relayed(&request(0, 60, COA, ident(0, 2)), Some(&wrong_key)),
            telsec_mip::Error::BadAuthenticator,
        ),
        (
            relayed(&request(0, 60, COA, ident(0, 3)), Some(&unknown_spi)),
            telsec_mip::Error::UnknownSpi(0x3001),
        ),
        (in_front, missing),
    ]
    .into_iter()
    .enumerate()
    {
        let out = ha.handle_request(T0, src(COA), HA, &bytes);
        assert_eq!(
            *denial(&out),
            Denial::ForeignAgentAuthentication(why),
            "case {i}"
        );
        // The node's part verified, so the node can trust the 132; the
        // agent's did not, so no FA-HA authenticator goes back.
        let rep = reply_of(&out, &sa(), true);
        assert_eq!(rep.code, ReplyCode::HaForeignAgentFailedAuthentication);
        assert_eq!(extension_types(out.reply.as_ref().expect("reply")), [32]);
        assert!(out.change.is_none());
        assert_eq!(ha.snapshot(), snap, "case {i} changed state");
    }

    // Valid: accepted, the reply carries MN-HA then FA-HA over all of it.
    let out = ha.handle_request(
        T0,
        src(COA),
        HA,
        &relayed(&request(0, 60, COA, ident(0, 5)), Some(&fa_ha())),
    );
    assert!(matches!(out.record.verdict, Verdict::Accepted { .. }));
    let bytes = out.reply.clone().expect("reply");
    assert_eq!(extension_types(&bytes), [32, 34]);
    reply_of(&out, &sa(), true);
    let v = verify(&bytes, ExtensionType::FaHaAuth, &fa_ha()).expect("FA-HA verifies");
    assert_eq!(v.protected_len, bytes.len());
    assert_eq!(ha.bindings().get(HOME)[0].care_of_address, COA);
    let snap = ha.snapshot();

    // MN-HA wrong but FA-HA right: 131 from the agent we trust, signed
    // for it and not for the node.
    let mut bad_node = request(0, 60, COA, ident(1, 6)).to_vec().expect("emits");
    let other_node = SecurityAssociation::new(
        SPI,
        Algorithm::HmacMd5,
        b"guessed-mn-ha-ke",
        ReplayMode::default(),
    )
    .expect("SA");
    append_signature(&mut bad_node, ExtensionType::MnHaAuth, &other_node).expect("signs");
    append_signature(&mut bad_node, ExtensionType::FaHaAuth, &fa_ha()).expect("signs");
    let out = ha.handle_request(T0 + 1000, src(COA), HA, &bad_node);
    assert!(matches!(denial(&out), Denial::Authentication(_)));
    let bytes = out.reply.clone().expect("reply");
    assert_eq!(extension_types(&bytes), [34]);
    verify(&bytes, ExtensionType::FaHaAuth, &fa_ha()).expect("FA-HA verifies");
    assert_eq!(ha.snapshot(), snap);

    // A replay through the agent: 133 signed for both.
    let out = ha.handle_request(
        T0 + 1000,
        src(COA),
        HA,
        &relayed(&request(0, 60, COA, ident(0, 5)), Some(&fa_ha())),
    );
    assert!(matches!(denial(&out), Denial::Replay(_)));
    let bytes = out.reply.clone().expect("reply");
    assert_eq!(extension_types(&bytes), [32, 34]);
    verify(&bytes, ExtensionType::FaHaAuth, &fa_ha()).expect("FA-HA verifies");
    assert_eq!(ha.snapshot(), snap);

    // From a source we share no FA-HA association with, an FA-HA
    // extension is not ours to check, and none is added to the reply.
    let out = ha.handle_request(
        T0 + 2000,
        src(COA2),
        HA,
        &relayed(&request(0, 60, COA2, ident(2, 7)), Some(&wrong_key)),
    );
    assert!(matches!(out.record.verdict, Verdict::Accepted { .. }));
    assert_eq!(extension_types(out.reply.as_ref().expect("reply")), [32]);
}

#[test]
fn replay_and_timestamp_window_133() {
    let mut ha = agent();
    let id = ident(0, 1);
    let bytes = signed(&request(0, 60, COA, id), &sa());
    let first = ha.handle_request(T0, src(COA), HA, &bytes);
    assert_eq!(reply_of(&first, &sa(), true).code, ReplyCode::Accepted);
    let snap = ha.snapshot();
    // Identical request again, still inside the timestamp window.
    let out = ha.handle_request(T0 + 1000, src(COA), HA, &bytes);
    let rep = reply_of(&out, &sa(), true);
    assert_eq!(rep.code, ReplyCode::HaIdentificationMismatch);
    assert_eq!(*denial(&out), Denial::Replay(id));
    assert!(reply_matches_request(id, rep.identification));
    assert_eq!(ha.snapshot(), snap);

    // Timestamp 60 s old: 133 with the HA's time of day in the high word.
    let old = ident(0, 7);
    let now = T0 + 60_000;
    let out = ha.handle_request(
        now,
        src(COA),
        HA,
        &signed(&request(0, 60, COA, old | 0x10), &sa()),
    );
    let rep = reply_of(&out, &sa(), true);
    assert_eq!(rep.code, ReplyCode::HaIdentificationMismatch);
    let ha_secs = NtpTimestamp::from_unix(T0_SECS + 60, 0).seconds();
    assert_eq!(rep.identification >> 32, u64::from(ha_secs));
    assert_eq!(rep.identification & 0xffff_ffff, 0x17);
    assert_eq!(ha.snapshot(), snap);
    // Resynchronised with the HA's time, the MN gets in.
    let fresh = ident(60, 0x18);
    let out = ha.handle_request(
        now,
        src(COA),
        HA,
        &signed(&request(0, 60, COA, fresh), &sa()),
    );
    assert_eq!(reply_of(&out, &sa(), true).code, ReplyCode::Accepted);
}

#[test]
fn nonce_mode_resynchronises() {
    let mut ha = HomeAgent::new(config());
    ha.add_sa_for_home(HOME, nonce_sa());
    let s = nonce_sa();
    // First contact: the MN does not know the HA nonce yet.
    let out = ha.handle_request(T0, src(COA), HA, &signed(&request(0, 60, COA, 0xabcd), &s));
    let rep = reply_of(&out, &s, true);
    assert_eq!(rep.code, ReplyCode::HaIdentificationMismatch);
    assert!(reply_matches_request(0xabcd, rep.identification));
    let ha_nonce = rep.identification >> 32;
    // Asking again without resynchronising gets the same nonce (no state).
    let again = ha.handle_request(T0, src(COA), HA, &signed(&request(0, 60, COA, 0xabce), &s));
    assert_eq!(reply_of(&again, &s, true).identification >> 32, ha_nonce);
    let id = (ha_nonce << 32) | 0x1111;
    let bytes = signed(&request(0, 60, COA, id), &s);
    let out = ha.handle_request(T0, src(COA), HA, &bytes);
    let rep = reply_of(&out, &s, true);
    assert_eq!(rep.code, ReplyCode::Accepted);
    let next = rep.identification >> 32;
    assert_ne!(next, ha_nonce);
    assert_eq!(rep.identification & 0xffff_ffff, 0x1111);
    // Replaying the accepted request fails and hands out the current nonce.
    let out = ha.handle_request(T0, src(COA), HA, &bytes);
    let rep = reply_of(&out, &s, true);
    assert_eq!(rep.code, ReplyCode::HaIdentificationMismatch);
    assert_eq!(rep.identification >> 32, next);
    let out = ha.handle_request(
        T0,
        src(COA),
        HA,
        &signed(&request(0, 60, COA, (next << 32) | 2), &s),
    );
    assert_eq!(reply_of(&out, &s, true).code, ReplyCode::Accepted);
}

#[test]
fn poorly_formed_134() {
    let mut ha = agent();
    // Truncated extension after a valid fixed part.
    let mut bytes = request(0, 60, COA, ident(0, 1)).to_vec().expect("emits");
    bytes.extend_from_slice(&[32, 20, 0, 0]);
    let out = ha.handle_request(T0, src(COA), HA, &bytes);
    let rep = reply_of(&out, &sa(), false);
    assert_eq!(rep.code, ReplyCode::HaPoorlyFormedRequest);
    assert!(matches!(denial(&out), Denial::Malformed(_)));
    // Unknown non-skippable extension, even when signed.
    let mut req = request(0, 60, COA, ident(0, 2));
    req.extensions.push(Extension::Other {
        ext_type: 99,
        subtype: None,
        data: vec![1, 2],
    });
    let out = ha.handle_request(T0, src(COA), HA, &signed(&req, &sa()));
    assert_eq!(
        reply_of(&out, &sa(), false).code,
        ReplyCode::HaPoorlyFormedRequest
    );
    assert_eq!(*denial(&out), Denial::UnrecognizedExtension(99));
    // Too short for a request, or not a request: dropped silently.
    for junk in [&[1u8, 0, 0][..], &[3u8; 40][..], &[][..]] {
        let out = ha.handle_request(T0, src(COA), HA, junk);
        assert!(out.reply.is_none());
        assert!(matches!(out.record.verdict, Verdict::Dropped(_)));
    }
    assert!(ha.bindings().is_empty());
}

#[test]
fn policy_denials() {
    let mut ha = agent();
    // Home address outside the home network (SA configured anyway).
    let other_home = Ipv4Addr::new(10, 9, 9, 9);
    ha.add_sa_for_home(other_home, sa());
    let mut req = request(0, 60, COA, ident(0, 1));
    req.home_address = other_home;
    let out = ha.handle_request(T0, src(COA), HA, &signed(&req, &sa()));
    assert_eq!(
        reply_of(&out, &sa(), true).code,
        ReplyCode::HaAdministrativelyProhibited
    );
    // GRE not offered.
    let out = ha.handle_request(
        T0,
        src(COA),
        HA,
        &signed(&request(RequestFlags::G, 60, COA, ident(0, 2)), &sa()),
    );
    assert_eq!(
        reply_of(&out, &sa(), true).code,
        ReplyCode::HaEncapsulationUnavailable
    );
    // UDP tunnelling not offered: 142.
    let mut req = request(RequestFlags::D, 60, COA, ident(0, 3));
    req.extensions
        .push(Extension::UdpTunnelRequest(UdpTunnelRequest {
            sub_type: 0,
            force: false,
            registration_through_fa: false,
            encapsulation: Encapsulation::IpInIp,
        }));
    let out = ha.handle_request(
        T0,
        SocketAddrV4::new(Ipv4Addr::new(203, 0, 113, 1), 4500),
        HA,
        &signed(&req, &sa()),
    );
    assert_eq!(
        reply_of(&out, &sa(), true).code,
        ReplyCode::HaUdpEncapsulationUnavailable
    );
    assert!(ha.bindings().is_empty());
    assert_eq!(ha.record(HOME), None);
}

#[test]
fn udp_tunnel_through_nat() {
    let mut cfg = config();
    cfg.udp_tunnelling = true;
    let mut ha = HomeAgent::new(cfg);
    ha.add_sa_for_home(HOME, sa());
    let mut req = request(RequestFlags::D, 60, COA, ident(0, 1));
    req.extensions
        .push(Extension::UdpTunnelRequest(UdpTunnelRequest {
            sub_type: 0,
            force: false,
            registration_through_fa: false,
            encapsulation: Encapsulation::IpInIp,
        }));
    let nat = SocketAddrV4::new(Ipv4Addr::new(203, 0, 113, 1), 40_001);
    let out = ha.handle_request(T0, nat, HA, &signed(&req, &sa()));
    let rep = reply_of(&out, &sa(), true);
    assert_eq!(rep.code, ReplyCode::Accepted);
    match rep.extensions.first() {
        Some(Extension::UdpTunnelReply(r)) => {
            assert_eq!(r.code, UdpTunnelReplyCode::Accepted);
            assert_eq!(r.keepalive_interval, 110);
        }
        other => panic!("no UDP tunnel reply: {other:?}"),
    }
    let b = &ha.bindings().get(HOME)[0];
    assert_eq!(b.source, nat);
    assert!(matches!(
        b.tunnel,
        Tunnel::Udp {
            encapsulation: Encapsulation::IpInIp,
            ..
        }
    ));
    // Without a NAT and without F: declined, ordinary tunnel.
    let mut req2 = req.clone();
    req2.identification = ident(0, 2);
    let out = ha.handle_request(T0, src(COA), HA, &signed(&req2, &sa()));
    let rep = reply_of(&out, &sa(), true);
    assert!(matches!(
        rep.extensions.first(),
        Some(Extension::UdpTunnelReply(r)) if r.code == UdpTunnelReplyCode::Declined
    ));
    assert_eq!(ha.bindings().get(HOME)[0].tunnel, Tunnel::IpInIp);
}

#[test]
fn sa_by_nai() {
    let mut ha = HomeAgent::new(config());
    ha.add_sa_for_nai(b"mn@example.org", sa());
    let mut req = request(0, 60, COA, ident(0, 1));
    req.extensions
        .push(Extension::MnNai(b"mn@example.org".to_vec()));
    let out = ha.handle_request(T0, src(COA), HA, &signed(&req, &sa()));
    assert_eq!(reply_of(&out, &sa(), true).code, ReplyCode::Accepted);
    let plain = request(0, 60, COA, ident(0, 2));
    let out = ha.handle_request(T0, src(COA), HA, &signed(&plain, &sa()));
    assert_eq!(
        reply_of(&out, &sa(), false).code,
        ReplyCode::HaMobileNodeFailedAuthentication
    );
}

#[test]
fn snapshot_restore_keeps_bindings_and_replay_state() {
    let mut ha = agent();
    let s = RequestFlags::S;
    let bytes = signed(&request(s, 100, COA, ident(0, 1)), &sa());
    ha.handle_request(T0, src(COA), HA, &bytes);
    ha.handle_request(
        T0,
        src(COA2),
        HA,
        &signed(&request(s, 10, COA2, ident(0, 2)), &sa()),
    );
    let snap = ha.snapshot();
    assert!(snap.starts_with(b"telsec-mip-ha 1\n"));

    // Restart 5 s later: both bindings kept, the replay still refused.
    let mut ha2 = agent();
    ha2.restore(&snap, T0 + 5_000).expect("restores");
    assert_eq!(ha2.bindings(), ha.bindings());
    assert_eq!(ha2.record(HOME), ha.record(HOME));
    let out = ha2.handle_request(
        T0 + 5_000,
        src(COA),
        HA,
        &signed(&request(s, 100, COA, ident(0, 1)), &sa()),
    );
    assert_eq!(
        reply_of(&out, &sa(), true).code,
        ReplyCode::HaIdentificationMismatch
    );
    assert_eq!(ha2.snapshot(), snap);

    // Restart after the short binding lapsed: it is dropped.
    let mut ha3 = agent();
    ha3.restore(&snap, T0 + 10_000).expect("restores");
    assert_eq!(ha3.bindings().len(), 1);
    assert_eq!(ha3.bindings().get(HOME)[0].care_of_address, COA);
    // A corrupt snapshot changes nothing.
    assert!(ha3.restore(b"garbage", T0).is_err());
    assert_eq!(ha3.bindings().len(), 1);
}

/// A small xorshift generator; the test must be reproducible.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn random_bytes_never_panic() {
    let mut ha = agent();
    let mut st = 0x9e37_79b9_7f4a_7c15u64;
    let valid = signed(&request(RequestFlags::S, 60, COA, ident(0, 1)), &sa());
    for i in 0..20_000u32 {
        let len = (xorshift(&mut st) % 80) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| xorshift(&mut st) as u8).collect();
        if i % 2 == 0 {
            // Mutations of a valid request reach the deeper checks.
            bytes = valid.clone();
            for _ in 0..1 + xorshift(&mut st) % 4 {
                let pos = (xorshift(&mut st) as usize) % bytes.len();
                bytes[pos] = xorshift(&mut st) as u8;
            }
            bytes.truncate((xorshift(&mut st) as usize) % (valid.len() + 1));
        } else if let Some(b) = bytes.first_mut() {
            *b = 1;
        }
        let out = ha.handle_request(T0, src(COA), HA, &bytes);
        if let Some(reply) = &out.reply {
            assert!(Reply::from_bytes(reply).is_ok());
        }
        let _ = out.record.to_string();
        let _ = ha.restore(&bytes, T0);
    }
}
