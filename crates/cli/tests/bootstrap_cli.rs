//! Bootstrap from the SIM (seed 003, issue 4) end to end with the real
//! binaries and real peers: `telsec up` (telsec's HLR, the home agent with
//! its bootstrap service, the embedded DNS server), `telsec mn bootstrap`
//! and `telsec mn` as separate processes, `dig` and `nsupdate` as outside
//! observers, Debian's osmo-hlr as the HLR and BIND9 as the DNS server.
//!
//! Every test has its own loopback address (127.0.0.110-119; BIND binds
//! 127.0.0.1 on a free port). Tests needing osmo-hlr or the BIND tools
//! print a SKIP note when they are not installed.
// Test code: a failed step should stop the test where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/bootstrap_site.rs"]
mod site;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::osmo::OsmoHlr;
use common::{K, OPC};
use serde_json::Value;
use site::{
    Bind, DnsTarget, Node, Site, SiteOptions, dig_short, dig_status, ipseckey_public_keys, message,
    nsupdate, tools_or_skip,
};
use telsec_auth::aka;
use telsec_auth::sqn::{Sqn, SqnPolicy, SqnState};
use telsec_bootstrap::{Hid, Hit};
use telsec_gsup::{Imsi, UnitIdentity};
use telsec_node::gsup_client::GsupClient;

const ALICE_IMSI: &str = "001010000000001";
const BOB_IMSI: &str = "001010000000002";
/// Another subscriber's K (TS 35.207 test set 2's K) with test set 1's OPc.
const K2: &str = "0396eb317b6d1c36f19c1c84cd6ffd16";

fn alice() -> site::Sim {
    site::Sim::new(ALICE_IMSI, K, OPC)
}

fn bob() -> site::Sim {
    site::Sim::new(BOB_IMSI, K2, OPC)
}

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, last)
}

/// `telsec up` on `ip` with Alice (named) provisioned, started.
fn site_with_alice(tag: &str, ip: Ipv4Addr, options: SiteOptions) -> Site {
    let mut s = Site::new(tag, ip, options);
    s.add_subscriber(&alice(), "4912345", Some("Alice Liddell"), &[]);
    s.start();
    s
}

/// The checks every successful bootstrap's JSON must pass; returns the
/// home address.
fn check_config(json: &Value, site: &Site, node: &Node, imsi: &str, fqdn: &str) -> Ipv4Addr {
    assert_eq!(json["imsi"], imsi);
    assert_eq!(json["fqdn"], fqdn);
    let home: Ipv4Addr = json["home_address"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        home.octets()[..3],
        [10, 77, 0],
        "home address from the pool"
    );
    assert_ne!(home, Ipv4Addr::new(10, 77, 0, 1), "excluded address");
    assert_eq!(json["ha_address"], site.ip.to_string());
    assert_eq!(json["ha_public_key"], hex::encode(site.ha_public_key()));
    assert_eq!(json["dns_zone"], "telsec.test.");
    let mip = &json["mobile_ip"];
    assert!(mip["spi"].as_u64().unwrap() >= 256, "SPI outside 0-255");
    assert_eq!(mip["algorithm"], "hmac-sha256");
    assert_eq!(mip["key_lifetime_secs"], 86_400);
    assert_eq!(mip["registration_lifetime_secs"], 600);
    assert_eq!(
        json["config_file"],
        node.path("mn-bootstrap.conf").display().to_string()
    );
    // The stored configuration is the node's, bound to the IMSI, and
    // holds the key, which the output never shows.
    let stored = node.stored();
    assert_eq!(stored.imsi, imsi);
    assert_eq!(stored.home_address, home);
    let sa = &stored.mip.as_ref().unwrap().sa;
    assert_eq!(u64::from(sa.spi), mip["spi"].as_u64().unwrap());
    assert_eq!(sa.key.len(), 32);
    assert!(!json.to_string().contains(&hex::encode(&sa.key)));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(node.path("mn-bootstrap.conf"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "the stored key is readable by others");
    home
}

/// The proof of issue 4 §4: with only its SIM, a node obtains FQDN, home
/// address and key from `telsec up`; `dig` sees its address and public key;
/// `telsec mn` registers with the key it obtained and the home agent lists
/// the binding.
#[test]
fn bootstrap_publishes_dns_and_node_registers_with_the_key_obtained() {
    let dig = tools_or_skip(
        ["dig"],
        "bootstrap_publishes_dns_and_node_registers… (its dig checks)",
    );
    let site = site_with_alice("bs-e2e", ip(110), SiteOptions::default());
    let node = Node::new("bs-e2e-node", &site, &alice());

    let done = node.bootstrap(Some("alice.telsec.test"));
    let json = done.json();
    let home = check_config(&json, &site, &node, ALICE_IMSI, "alice.telsec.test");
    assert_eq!(done.stored_record()["fields"]["fqdn_outcome"], "Granted");
    // The home agent authenticated Alice over EAP-AKA' and set up her service.
    let log = site.log();
    assert_eq!(log.with_message("EAP-AKA' succeeded").len(), 1);
    let set_up = log.with_message("service set up");
    assert_eq!(set_up.len(), 1, "{}", log.text());
    assert_eq!(set_up[0]["fields"]["home"], home.to_string());

    if let Some([dig]) = &dig {
        let dns = site.dns();
        assert_eq!(
            dig_short(dig, dns, "alice.telsec.test", "A"),
            vec![home.to_string()]
        );
        assert_eq!(
            ipseckey_public_keys(dig, dns, "alice.telsec.test"),
            vec![node.public_key()],
            "IPSECKEY carries the node's Ed25519 key"
        );
    }

    // The node registers its co-located care-of address with that key.
    let coa = ip(110);
    let mut mn = node.run_mn(coa);
    let registered = mn.wait_event(&format!("Registered {{ coa: {coa}"), Duration::from_secs(4));
    let registered = registered.unwrap_or_else(|| panic!("no registration:\n{}", mn.log.text()));
    assert!(registered.contains("code: Accepted"), "{registered}");
    assert!(
        !mn.log
            .with_message("from the stored bootstrap configuration")
            .is_empty(),
        "{}",
        mn.log.text()
    );
    let out = site.run(&["ha", "bindings"]);
    assert!(out.status.success(), "{out:?}");
    let bindings: Value = serde_json::from_slice(&out.stdout).unwrap();
    let b = bindings
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["home_address"] == home.to_string())
        .unwrap_or_else(|| panic!("no binding for {home}: {bindings}"));
    assert_eq!(b["care_of_address"], coa.to_string());
}

/// A SIM with the wrong K: the card refuses AUTN's MAC (TS 33.102 §6.3.3),
/// the node exits 4, nothing is stored, nothing is published.
#[test]
fn wrong_k_fails_authentication_and_changes_nothing() {
    let dig = tools_or_skip(
        ["dig"],
        "wrong_k_fails_authentication_and_changes_nothing (its dig check)",
    );
    let site = site_with_alice("bs-wrongk", ip(111), SiteOptions::default());
    let mut k = hex::decode(K).unwrap();
    k[0] ^= 0x01;
    let forged = site::Sim::new(ALICE_IMSI, &hex::encode(k), OPC);
    let node = Node::new("bs-wrongk-node", &site, &forged);

    let done = node.bootstrap(Some("alice.telsec.test"));
    assert_eq!(done.code, Some(4), "exit code:\n{}", done.log.text());
    assert!(done.stdout.is_empty(), "{}", done.stdout);
    assert!(!node.path("mn-bootstrap.conf").exists());
    let log = site.log();
    assert!(log.with_message("EAP-AKA' succeeded").is_empty());
    assert_eq!(
        log.with_message("EAP-AKA' failed").len(),
        1,
        "{}",
        log.text()
    );
    assert!(log.with_message("service set up").is_empty());
    assert!(log.with_message("mobility SA installed").is_empty());
    if let Some([dig]) = &dig {
        assert_eq!(
            dig_status(dig, site.dns(), "alice.telsec.test", "A"),
            "NXDOMAIN"
        );
    }

    // The same SIM with the right K then succeeds: the refusal was the key.
    node.set_sim(&alice());
    node.bootstrap(Some("alice.telsec.test")).json();
}

/// A desired name outside the operator's zone: the home agent derives one
/// from the subscriber's name (read from the HLR database) and says so.
#[test]
fn desired_fqdn_outside_the_zone_gets_a_name_derived_from_the_subscriber() {
    let dig = tools_or_skip(["dig"], "desired_fqdn_outside_the_zone… (its dig checks)");
    let mut site = Site::new("bs-outside", ip(112), SiteOptions::default());
    site.add_subscriber(&bob(), "4912346", Some("Bob Dylan"), &[]);
    site.start();
    let node = Node::new("bs-outside-node", &site, &bob());

    let done = node.bootstrap(Some("bob.example.com"));
    let json = done.json();
    let home = check_config(&json, &site, &node, BOB_IMSI, "bob-dylan.telsec.test");
    assert_eq!(json["desired_fqdn"], "bob.example.com");
    assert_eq!(json["fqdn_outcome"], "outside-zone");
    assert_eq!(
        done.stored_record()["fields"]["fqdn_outcome"],
        "OutsideZone"
    );
    assert_eq!(
        site.log().with_message("service set up")[0]["fields"]["outcome"],
        "OutsideZone"
    );
    if let Some([dig]) = &dig {
        assert_eq!(
            dig_short(dig, site.dns(), "bob-dylan.telsec.test", "A"),
            vec![home.to_string()]
        );
    }
}

/// A desired name another subscriber holds: the node gets its own (here
/// from its MSISDN: no name in its profile); the holder's records stay.
#[test]
fn desired_fqdn_held_by_another_subscriber_is_not_given_away() {
    let dig = tools_or_skip(
        ["dig"],
        "desired_fqdn_held_by_another_subscriber… (its dig checks)",
    );
    let mut site = Site::new("bs-held", ip(113), SiteOptions::default());
    site.add_subscriber(&alice(), "4912345", Some("Alice Liddell"), &[]);
    site.add_subscriber(&bob(), "4912346", None, &[]);
    site.start();
    let alice_node = Node::new("bs-held-alice", &site, &alice());
    let alice_home = check_config(
        &alice_node.bootstrap(Some("alice.telsec.test")).json(),
        &site,
        &alice_node,
        ALICE_IMSI,
        "alice.telsec.test",
    );
    let before = dig.as_ref().map(|[d]| {
        (
            dig_short(d, site.dns(), "alice.telsec.test", "A"),
            ipseckey_public_keys(d, site.dns(), "alice.telsec.test"),
        )
    });

    let bob_node = Node::new("bs-held-bob", &site, &bob());
    let done = bob_node.bootstrap(Some("alice.telsec.test"));
    let bob_home = check_config(
        &done.json(),
        &site,
        &bob_node,
        BOB_IMSI,
        "4912346.telsec.test",
    );
    assert_eq!(done.json()["fqdn_outcome"], "held-by-another");
    assert_eq!(
        done.stored_record()["fields"]["fqdn_outcome"],
        "HeldByAnother"
    );
    assert_ne!(bob_home, alice_home);

    if let (Some([d]), Some(before)) = (&dig, before) {
        let after = (
            dig_short(d, site.dns(), "alice.telsec.test", "A"),
            ipseckey_public_keys(d, site.dns(), "alice.telsec.test"),
        );
        assert_eq!(after, before, "Alice's records changed");
        assert_eq!(before.0, vec![alice_home.to_string()]);
        assert_eq!(before.1, vec![alice_node.public_key()]);
        assert_eq!(
            dig_short(d, site.dns(), "4912346.telsec.test", "A"),
            vec![bob_home.to_string()]
        );
        assert_eq!(
            ipseckey_public_keys(d, site.dns(), "4912346.telsec.test"),
            vec![bob_node.public_key()]
        );
    }
}

/// The card has seen SQNs far above the HLR's (every IND slot): it
/// answers the first challenge with AUTS, the home agent resynchronises
/// the HLR, and the second challenge succeeds (TS 33.102 §6.3.5).
#[test]
fn card_ahead_of_the_hlr_resynchronises_and_succeeds() {
    let site = site_with_alice("bs-resync", ip(114), SiteOptions::default());
    let node = Node::new("bs-resync-node", &site, &alice());
    const SEQ_MS: u64 = 1_000_000;
    let policy = SqnPolicy::default();
    let slots = vec![SEQ_MS; 1 << policy.ind_bits];
    let ahead = SqnState::from_parts(
        policy,
        Sqn::from_parts(SEQ_MS, 0, policy.ind_bits).unwrap(),
        &slots,
    )
    .unwrap();
    std::fs::write(
        node.path(&format!("mn-usim.{ALICE_IMSI}.sqn")),
        ahead.to_bytes(),
    )
    .unwrap();

    let done = node.bootstrap(Some("alice.telsec.test"));
    check_config(&done.json(), &site, &node, ALICE_IMSI, "alice.telsec.test");
    assert_eq!(
        done.log
            .with_message("asking the network to resynchronise")
            .len(),
        1,
        "{}",
        done.log.text()
    );
    let log = site.log();
    assert_eq!(
        log.with_message("resynchronising the HLR from AUTS").len(),
        1,
        "{}",
        log.text()
    );
    assert_eq!(log.with_message("EAP-AKA' succeeded").len(), 1);
    // The card accepted an SQN above the one it had seen.
    let card = SqnState::from_bytes(
        &std::fs::read(node.path(&format!("mn-usim.{ALICE_IMSI}.sqn"))).unwrap(),
    )
    .unwrap();
    assert!(card.sqn_ms().seq(policy.ind_bits) > SEQ_MS, "{card:?}");

    // Back in step: the next bootstrap needs no resynchronisation.
    let again = node.bootstrap(Some("alice.telsec.test"));
    again.json();
    assert!(
        again
            .log
            .with_message("asking the network to resynchronise")
            .is_empty()
    );
    assert_eq!(
        site.log()
            .with_message("resynchronising the HLR from AUTS")
            .len(),
        1
    );
}

/// The HLR is more than Δ = 2^28 ahead of a fresh card (provisioned with
/// `--sqn` as if moved from another HLR): the card refuses (Annex C.2.1),
/// and TS 33.102 §6.3.5 has the HLR reset SQN_HE to the card's SQN_MS on
/// AUTS, after which the bootstrap succeeds.
#[test]
fn hlr_too_far_ahead_resynchronises_and_succeeds() {
    let mut site = Site::new("bs-resync2", ip(115), SiteOptions::default());
    site.add_subscriber(
        &alice(),
        "4912345",
        None,
        &["--sqn", &(1u64 << 40).to_string()],
    );
    site.start();
    let node = Node::new("bs-resync2-node", &site, &alice());
    let done = node.bootstrap(None);
    check_config(
        &done.json(),
        &site,
        &node,
        ALICE_IMSI,
        "4912345.telsec.test",
    );
    assert_eq!(
        done.log
            .with_message("asking the network to resynchronise")
            .len(),
        1,
        "{}",
        done.log.text()
    );
    assert_eq!(
        site.log()
            .with_message("resynchronising the HLR from AUTS")
            .len(),
        1
    );
    let card = SqnState::from_bytes(
        &std::fs::read(node.path(&format!("mn-usim.{ALICE_IMSI}.sqn"))).unwrap(),
    )
    .unwrap();
    assert!(
        card.sqn_ms().value() < 1 << 30,
        "the card kept its own range: {card:?}"
    );
}

/// RFC 2136 updates to the embedded DNS server need a valid TSIG: one
/// without a signature, one signed with a wrong secret and one with an
/// unknown key are refused and change nothing; the admin key (`telsec dns
/// key`) is accepted, so the refusals are about the signatures.
#[test]
fn unsigned_and_wrongly_signed_updates_are_refused() {
    let Some([dig, nsupdate_bin]) = tools_or_skip(
        ["dig", "nsupdate"],
        "unsigned_and_wrongly_signed_updates_are_refused",
    ) else {
        return;
    };
    let site = site_with_alice("bs-tsig", ip(116), SiteOptions::default());
    let node = Node::new("bs-tsig-node", &site, &alice());
    let home = check_config(
        &node.bootstrap(Some("alice.telsec.test")).json(),
        &site,
        &node,
        ALICE_IMSI,
        "alice.telsec.test",
    );
    let dns: SocketAddr = site.dns();
    let hijack = format!(
        "server {} {}\nzone telsec.test.\n\
         update delete alice.telsec.test. A\n\
         update delete alice.telsec.test. IPSECKEY\n\
         update add alice.telsec.test. 60 A 192.0.2.66\n\
         update add mallory.telsec.test. 60 A 192.0.2.66\nsend\n",
        dns.ip(),
        dns.port()
    );
    let admin = site.dns_admin_key();
    let (alg, rest) = admin.split_once(':').unwrap();
    let (name, _secret) = rest.split_once(':').unwrap();
    assert_eq!((alg, name), ("hmac-sha256", "telsec-ha"));
    let wrong_secret = format!("hmac-sha256:telsec-ha:{}", "QUJD".repeat(11));
    let unknown_key = format!("hmac-sha256:mallory:{}", "QUJD".repeat(11));
    // The answers of RFC 2136 §3.3 and RFC 8945 §5.2: REFUSED without a
    // signature, NOTAUTH with BADSIG / BADKEY in the TSIG error.
    for (what, key, answer) in [
        ("unsigned", None, "REFUSED"),
        (
            "wrong secret",
            Some(wrong_secret.as_str()),
            "NOTAUTH(BADSIG)",
        ),
        ("unknown key", Some(unknown_key.as_str()), "NOTAUTH(BADKEY)"),
    ] {
        let (ok, out) = nsupdate(&nsupdate_bin, key, &hijack);
        assert!(!ok, "{what} update accepted: {out}");
        assert!(out.contains(answer), "{what}: expected {answer}: {out}");
        assert_eq!(
            dig_short(&dig, dns, "alice.telsec.test", "A"),
            vec![home.to_string()],
            "{what}"
        );
        assert_eq!(
            ipseckey_public_keys(&dig, dns, "alice.telsec.test"),
            vec![node.public_key()],
            "{what}"
        );
        assert_eq!(
            dig_status(&dig, dns, "mallory.telsec.test", "A"),
            "NXDOMAIN",
            "{what}"
        );
    }
    // The control: the same tool with the admin key gets through.
    let control = format!(
        "server {} {}\nzone telsec.test.\nupdate add control.telsec.test. 60 A 192.0.2.1\nsend\n",
        dns.ip(),
        dns.port()
    );
    let (ok, out) = nsupdate(&nsupdate_bin, Some(&admin), &control);
    assert!(ok, "admin-signed update refused: {out}");
    assert_eq!(
        dig_short(&dig, dns, "control.telsec.test", "A"),
        vec!["192.0.2.1"]
    );
}

/// Seed step 11: the configuration is bound to the IMSI. After a SIM swap
/// (same data directory, another IMSI in `[mn.sim]`) `telsec mn` does not
/// use the stored configuration, and `telsec mn bootstrap` obtains a new
/// one for the new SIM.
#[test]
fn sim_swap_does_not_use_the_stored_configuration() {
    let mut site = Site::new("bs-swap", ip(117), SiteOptions::default());
    site.add_subscriber(&alice(), "4912345", Some("Alice Liddell"), &[]);
    site.add_subscriber(&bob(), "4912346", Some("Bob Dylan"), &[]);
    site.start();
    let node = Node::new("bs-swap-node", &site, &alice());
    let alice_home = check_config(
        &node.bootstrap(Some("alice.telsec.test")).json(),
        &site,
        &node,
        ALICE_IMSI,
        "alice.telsec.test",
    );

    node.set_sim(&bob());
    let mn = node.run_mn(ip(117));
    let waiting = mn.wait_log("waiting for a key by SMS", Duration::from_secs(3));
    let waiting = waiting.unwrap_or_else(|| panic!("{}", mn.log.text()));
    assert!(
        message(&waiting).contains("no bootstrap configuration for this SIM"),
        "{waiting}"
    );
    assert!(
        mn.log
            .with_message("from the stored bootstrap configuration")
            .is_empty()
    );
    drop(mn);

    let done = node.bootstrap(None);
    let bob_home = check_config(
        &done.json(),
        &site,
        &node,
        BOB_IMSI,
        "bob-dylan.telsec.test",
    );
    assert_ne!(bob_home, alice_home);
    assert_eq!(
        done.log
            .with_message("stored configuration belongs to another SIM")
            .len(),
        1,
        "{}",
        done.log.text()
    );
    let authenticated: Vec<Value> = site.log().with_message("EAP-AKA' succeeded");
    assert_eq!(authenticated.len(), 2);
    assert_eq!(authenticated[1]["fields"]["imsi"], BOB_IMSI);
}

/// Debian's osmo-hlr as the HLR. The home agent asks for vectors with
/// Current RAT Type = E-UTRAN; osmo-hlr 1.5 then sets the AMF separation
/// bit EAP-AKA' requires (RFC 9048 §3.3) and leaves it clear otherwise.
/// The whole bootstrap succeeds, and the name derived from the MSISDN
/// shows the home agent read osmo-hlr's Insert Subscriber Data.
#[test]
fn bootstrap_against_osmo_hlr() {
    if tools_or_skip(["osmo-hlr"], "bootstrap_against_osmo_hlr").is_none() {
        return;
    }
    let dig = tools_or_skip(["dig"], "bootstrap_against_osmo_hlr (DNS check)");
    let hlr = OsmoHlr::start("127.0.0.118");
    hlr.add_milenage(ALICE_IMSI, "4912377", K, OPC);

    // osmo-hlr's answer with and without the E-UTRAN RAT type.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let amfs = runtime.block_on(async {
        let mut client = GsupClient::connect(
            hlr.gsup,
            UnitIdentity::new("MSC", "MSC-00-00-00-00-00-77"),
            Duration::from_secs(3),
        )
        .await
        .unwrap();
        let imsi = Imsi::new(ALICE_IMSI).unwrap();
        let mut card = SqnState::default();
        let mut amfs = Vec::new();
        for eutran in [false, true] {
            let tuples = client
                .send_auth_info_for(&imsi, 1, None, eutran)
                .await
                .unwrap();
            let autn = tuples[0].autn.unwrap();
            aka::verify_autn(&common::milenage(), &tuples[0].rand, &autn, &mut card)
                .unwrap_or_else(|e| panic!("the card refuses osmo-hlr's AUTN: {e:?}"));
            amfs.push([autn[6], autn[7]]);
        }
        amfs
    });
    assert_eq!(amfs[0][0] & 0x80, 0, "separation bit without E-UTRAN");
    assert_eq!(amfs[1][0] & 0x80, 0x80, "separation bit for E-UTRAN");

    let mut site = Site::new(
        "bs-osmo",
        ip(118),
        SiteOptions {
            hlr: Some(hlr.gsup),
            read_names: false,
            ..SiteOptions::default()
        },
    );
    site.start();
    let node = Node::new("bs-osmo-node", &site, &alice());
    let done = node.bootstrap(None);
    let home = check_config(
        &done.json(),
        &site,
        &node,
        ALICE_IMSI,
        "4912377.telsec.test",
    );
    assert_eq!(site.log().with_message("EAP-AKA' succeeded").len(), 1);
    if let Some([dig]) = &dig {
        assert_eq!(
            dig_short(dig, site.dns(), "4912377.telsec.test", "A"),
            vec![home.to_string()]
        );
    }
}

/// BIND9 with the HA's TSIG key, and a started site (Alice provisioned)
/// whose bootstrap service updates it; `bootstrap_extra` goes into
/// `[ha.bootstrap]`.
fn site_on_bind(
    named: &std::path::Path,
    tag: &str,
    ip: Ipv4Addr,
    bootstrap_extra: String,
) -> (Bind, Site) {
    let secret = "dGVsc2VjLWhhLWJpbmQtdGVzdC1rZXktMzItb2N0ZXQ=";
    let bind = Bind::start(named, "telsec-ha-bind.", secret);
    let mut site = Site::new(
        tag,
        ip,
        SiteOptions {
            dns: DnsTarget::External {
                server: bind.addr,
                key_name: "telsec-ha-bind.".to_owned(),
                secret_base64: secret.to_owned(),
            },
            bootstrap_extra,
            ..SiteOptions::default()
        },
    );
    site.add_subscriber(&alice(), "4912345", Some("Alice Liddell"), &[]);
    site.start();
    (bind, site)
}

/// BIND9 as the operator's DNS server: the home agent's RFC 2136 update,
/// signed with the TSIG key BIND's update-policy grants, lands there, and
/// `dig` at BIND sees the address and the node's key.
#[test]
fn bootstrap_updates_bind9() {
    let Some([named, dig]) = tools_or_skip(["named", "dig"], "bootstrap_updates_bind9") else {
        return;
    };
    let (bind, site) = site_on_bind(&named, "bs-bind", ip(119), String::new());
    let node = Node::new("bs-bind-node", &site, &alice());
    let done = node.bootstrap(Some("alice.telsec.test"));
    let json = done.json();
    let home = check_config(&json, &site, &node, ALICE_IMSI, "alice.telsec.test");
    assert_eq!(
        dig_short(&dig, bind.addr, "alice.telsec.test", "A"),
        vec![home.to_string()],
        "{}",
        bind.log()
    );
    assert_eq!(
        ipseckey_public_keys(&dig, bind.addr, "alice.telsec.test"),
        vec![node.public_key()]
    );
    // BIND's own presentation of the record.
    let shown = dig_short(&dig, bind.addr, "alice.telsec.test", "IPSECKEY");
    assert_eq!(shown.len(), 1);
    assert!(shown[0].starts_with("10 0 4 . "), "{shown:?}");
    // No embedded server ran: [dns] enabled = false.
    assert!(site.log().with_message("zone loaded").is_empty());
}

/// `[ha.bootstrap]` of a HIP forwarding agent with hierarchy ID 16376/20.
fn hip_mode() -> String {
    "mode = \"hip\"\nforwarding_agent_name = \"fa.telsec.test.\"\nhit_raa = 16376\nhit_hda = 20\n"
        .to_owned()
}

/// HIP mode (seed 003, the forwarding agent instead of the home agent):
/// the node gets the HIT of its own key and no Mobile IP SA; `dig` at
/// `dns` sees the node's HIP RR (RFC 8005) with that HIT, its Ed25519 key
/// (algorithm 4, RFC 9373) and the forwarding agent as rendezvous server,
/// whose name resolves to the agent.
fn check_hip(site: &Site, node: &Node, dig: Option<&std::path::Path>, dns: SocketAddr) {
    let done = node.bootstrap(Some("hip-alice.telsec.test"));
    let json = done.json();
    assert_eq!(json["fqdn"], "hip-alice.telsec.test");
    assert!(json["mobile_ip"].is_null(), "no Mobile IP SA: {json}");
    let expected = Hit::for_ed25519(Hid::new(16376, 20).unwrap(), &node.public_key());
    assert_eq!(json["hip"]["hit"], expected.to_string());
    assert_eq!(json["hip"]["forwarding_agent"], site.ip.to_string());
    let stored = node.stored();
    assert_eq!(stored.hip.map(|h| h.hit), Some(expected));
    assert!(stored.mip.is_none());
    let set_up = site.log().with_message("service set up");
    assert_eq!(set_up.len(), 1);
    assert_eq!(
        set_up[0]["fields"]["service"],
        format!("hit={expected}"),
        "the service record names the HIT"
    );
    let Some(dig) = dig else { return };
    let hip = site::hip_records(dig, dns, "hip-alice.telsec.test");
    assert_eq!(
        hip,
        vec![site::HipRr {
            pk_algorithm: 4,
            hit: expected.to_bytes(),
            public_key: node.public_key().to_vec(),
            rendezvous_servers: vec!["fa.telsec.test.".to_owned()],
        }]
    );
    assert_eq!(
        dig_short(dig, dns, "fa.telsec.test", "A"),
        vec![site.ip.to_string()],
        "the rendezvous server's name resolves to the forwarding agent"
    );
    assert_eq!(
        ipseckey_public_keys(dig, dns, "hip-alice.telsec.test"),
        vec![node.public_key()]
    );
    // `telsec mn` does not run Mobile IP with a HIP configuration.
    let mn = node.run_mn(site.ip);
    let refused = mn.wait_log("is for HIP, not Mobile IP", Duration::from_secs(4));
    assert!(refused.is_some(), "{}", mn.log.text());
}

#[test]
fn hip_mode_publishes_hit_key_and_forwarding_agent() {
    let dig = tools_or_skip(["dig"], "hip_mode_publishes… (its dig checks)");
    let site = site_with_alice(
        "bs-hip",
        ip(120),
        SiteOptions {
            bootstrap_extra: hip_mode(),
            ..SiteOptions::default()
        },
    );
    let node = Node::new("bs-hip-node", &site, &alice());
    let dig = dig.as_ref().map(|[d]| d.as_path());
    check_hip(&site, &node, dig, site.dns());
}

/// The same against BIND9, which parses the HIP RDATA of the update
/// itself (RFC 8005 §5) before it stores it.
#[test]
fn hip_mode_updates_bind9() {
    let Some([named, dig]) = tools_or_skip(["named", "dig"], "hip_mode_updates_bind9") else {
        return;
    };
    let (bind, site) = site_on_bind(&named, "bs-hip-bind", ip(121), hip_mode());
    let node = Node::new("bs-hip-bind-node", &site, &alice());
    check_hip(&site, &node, Some(&dig), bind.addr);
}

/// Bootstrap header type octets (telsec-bootstrap's message.rs).
const CONFIG_REQUEST: u8 = 3;
const CONFIG_RESPONSE: u8 = 4;

fn soa_serial(dig: &std::path::Path, dns: SocketAddr) -> String {
    let soa = dig_short(dig, dns, "telsec.test", "SOA");
    soa[0].split_whitespace().nth(2).unwrap().to_owned()
}

/// Altered and replayed bootstrap messages, through the binaries: a relay
/// between `telsec mn bootstrap` and `telsec up` flips one octet of the
/// sealed ConfigRequest (the HA drops it; the node's retransmission gets
/// the one answer), then every message the node sent is replayed to the
/// HA from another port. Nothing runs twice: one authentication, one
/// service, the same DNS serial and service file, and every answer to a
/// replay is the answer already given.
#[test]
fn altered_and_replayed_bootstrap_messages_change_nothing() {
    let dig = tools_or_skip(["dig"], "altered_and_replayed… (its DNS serial check)");
    let site = site_with_alice("bs-replay", ip(122), SiteOptions::default());
    let node = Node::new("bs-replay-node", &site, &alice());
    let relay = site::Relay::start(site.ip, site.bootstrap_addr(), Some(CONFIG_REQUEST));
    node.point_at(relay.addr);
    let done = node.bootstrap(Some("alice.telsec.test"));
    let json = done.json();
    check_config(&json, &site, &node, ALICE_IMSI, "alice.telsec.test");
    let seen = relay.seen();
    drop(relay);
    let of = |way: site::Way, t: u8| -> Vec<Vec<u8>> {
        seen.iter()
            .filter(|(w, d)| *w == way && d.get(1) == Some(&t))
            .map(|(_, d)| d.clone())
            .collect()
    };
    let requests = of(site::Way::ToHa, CONFIG_REQUEST);
    assert_eq!(
        requests.len(),
        2,
        "the altered request and its retransmission"
    );
    assert_ne!(requests[0], requests[1]);
    assert_eq!(
        of(site::Way::ToNode, CONFIG_RESPONSE).len(),
        1,
        "the altered request got no answer"
    );

    let services_file = site.data_dir.join("bootstrap/services.txt");
    let services = std::fs::read(&services_file).unwrap();
    let serial = dig.as_ref().map(|[d]| soa_serial(d, site.dns()));
    let answers: Vec<&Vec<u8>> = seen
        .iter()
        .filter(|(w, _)| *w == site::Way::ToNode)
        .map(|(_, d)| d)
        .collect();
    for (way, datagram) in &seen {
        if *way != site::Way::ToHa {
            continue;
        }
        let answer = site::send_once(
            site.ip,
            site.bootstrap_addr(),
            datagram,
            Duration::from_millis(300),
        );
        let is_start = datagram.get(1) == Some(&1);
        if let Some(a) = answer
            && !is_start
        {
            assert!(
                answers.contains(&&a),
                "a replay of type {:?} got a new answer",
                datagram.get(1)
            );
        }
    }
    // The altered request, replayed, stays unanswered.
    assert_eq!(
        site::send_once(
            site.ip,
            site.bootstrap_addr(),
            &requests[0],
            Duration::from_millis(300)
        ),
        None
    );
    let log = site.log();
    assert_eq!(log.with_message("EAP-AKA' succeeded").len(), 1);
    assert_eq!(log.with_message("service set up").len(), 1);
    assert_eq!(std::fs::read(&services_file).unwrap(), services);
    if let (Some([d]), Some(serial)) = (&dig, serial) {
        assert_eq!(soa_serial(d, site.dns()), serial, "DNS changed");
    }
}

/// The node pins the home agent's key of its first bootstrap: after the
/// HA's key is replaced, `telsec mn bootstrap` fails with exit code 5 and
/// keeps its stored configuration; `--accept-new-ha-key` takes the new
/// key, which is pinned from then on.
#[test]
fn a_changed_home_agent_key_is_refused_until_accepted() {
    let mut site = site_with_alice("bs-pin", ip(123), SiteOptions::default());
    let node = Node::new("bs-pin-node", &site, &alice());
    let first = node.bootstrap(Some("alice.telsec.test"));
    first.json();
    let old_key = site.ha_public_key();
    assert_eq!(node.stored().ha_public_key, old_key);

    site.stop();
    std::fs::remove_file(site.data_dir.join("ha-bootstrap.key")).unwrap();
    site.start();
    let new_key = site.ha_public_key();
    assert_ne!(new_key, old_key);

    let refused = node.bootstrap(Some("alice.telsec.test"));
    assert_eq!(refused.code, Some(5), "{}", refused.log.text());
    assert!(
        refused.log.text().contains(&hex::encode(new_key)),
        "the error names the key offered: {}",
        refused.log.text()
    );
    assert_eq!(node.stored().ha_public_key, old_key, "stored config kept");

    let accepted = node.bootstrap_with(Some("alice.telsec.test"), &["--accept-new-ha-key"]);
    assert_eq!(accepted.json()["ha_public_key"], hex::encode(new_key));
    assert_eq!(node.stored().ha_public_key, new_key);
    let again = node.bootstrap(Some("alice.telsec.test"));
    assert_eq!(again.code, Some(0), "{}", again.log.text());
}
