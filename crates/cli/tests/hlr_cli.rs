//! Provisioning through the `telsec hlr subscriber` commands: JSON out, no
//! secret ever printed, CSV import all-or-nothing, exit codes that mean
//! something.
// Test code: a failed step should stop the test where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::telsec_hlr::{TelsecHlr, run, telsec};
use common::{K, OPC};
use serde_json::Value;

fn json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn add_show_update_list_delete() {
    let dir = TelsecHlr::new_data_dir();
    let d = dir.path();
    TelsecHlr::add_milenage(d, "001010000000001", "4912345", K, OPC);
    let out = run(
        d,
        &["hlr", "subscriber", "show", "--imsi", "001010000000001"],
    );
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        !shown.contains(K) && !shown.contains(OPC),
        "show printed a secret"
    );
    let v = json(&out);
    assert_eq!(v["msisdn"], "4912345");
    assert_eq!(v["auth_3g"]["algo"], "milenage");
    assert_eq!(v["auth_3g"]["op_kind"], "opc");

    let v = json(&run(
        d,
        &[
            "hlr",
            "subscriber",
            "update",
            "--imsi",
            "001010000000001",
            "--msisdn",
            "4999",
            "--name",
            "Alice",
        ],
    ));
    assert_eq!(v["msisdn"], "4999");
    assert_eq!(v["name"], "Alice");

    let out = run(
        d,
        &[
            "hlr",
            "subscriber",
            "add",
            "--imsi",
            "001010000000002",
            "--algo",
            "comp128v1",
            "--ki",
            K,
        ],
    );
    json(&out);
    let out = run(d, &["hlr", "subscriber", "list"]);
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let algo_2g = lines[1]["auth_2g"]["algo"].as_str().unwrap().to_lowercase();
    assert!(
        algo_2g.contains("comp128") && algo_2g.ends_with('1'),
        "{algo_2g}"
    );

    json(&run(
        d,
        &["hlr", "subscriber", "delete", "--imsi", "001010000000002"],
    ));
    let out = run(
        d,
        &["hlr", "subscriber", "show", "--imsi", "001010000000002"],
    );
    assert_eq!(out.status.code(), Some(3), "unknown subscriber");
}

#[test]
fn bad_options_are_usage_errors() {
    let dir = TelsecHlr::new_data_dir();
    let d = dir.path();
    // Milenage without OP/OPc.
    let out = run(
        d,
        &[
            "hlr",
            "subscriber",
            "add",
            "--imsi",
            "001010000000003",
            "--algo",
            "milenage",
            "--k",
            K,
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--op or --opc"));
    // An IMSI with letters.
    let out = run(d, &["hlr", "subscriber", "add", "--imsi", "00101abc"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn csv_import_is_all_or_nothing() {
    let dir = TelsecHlr::new_data_dir();
    let d = dir.path();
    let good = d.join("good.csv");
    std::fs::write(
        &good,
        format!(
            "imsi,msisdn,name,algo,k,opc,ki,amf\n\
             001010000000011,4900011,Alice,milenage,{K},{OPC},,8000\n\
             001010000000012,,Bob,comp128v3,,,{K},\n"
        ),
    )
    .unwrap();
    let v = json(&run(
        d,
        &["hlr", "subscriber", "import", good.to_str().unwrap()],
    ));
    assert_eq!(v["imported"], 2);

    let bad = d.join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "imsi,algo,k,opc\n001010000000021,milenage,{K},{OPC}\n001010000000022,milenage,{K},\n"
        ),
    )
    .unwrap();
    let out = run(d, &["hlr", "subscriber", "import", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 3"));
    let out = run(
        d,
        &["hlr", "subscriber", "show", "--imsi", "001010000000021"],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "the good row of a failed import is not kept"
    );
}

#[test]
fn missing_kek_is_refused_outside_up() {
    let dir = TelsecHlr::new_data_dir();
    let out = telsec()
        .env_remove("TELSEC_HLR_KEK")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["hlr", "subscriber", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no key-encryption key"));
}

/// `telsec up` on a fresh machine: no KEK, no database, no config but the
/// listen address; it creates what it needs, serves, and stops on SIGTERM.
#[test]
fn up_starts_from_nothing_and_stops_on_sigterm() {
    let dir = TelsecHlr::new_data_dir();
    let config = dir.path().join("telsec.toml");
    std::fs::write(
        &config,
        "[hlr]\ngsup_listen = \"127.0.0.27:4222\"\n[ha]\nlisten = \"127.0.0.27:10434\"\n\
         [ha.bootstrap]\nlisten = \"127.0.0.27:14434\"\nhlr = \"127.0.0.27:4222\"\n\
         dns_server = \"127.0.0.27:15353\"\n\
         [smsc]\nlisten = \"127.0.0.27:2775\"\n[dns]\nlisten = \"127.0.0.27:15353\"\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let mut child = telsec()
        .env_remove("TELSEC_HLR_KEK")
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .arg("up")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    common::osmo::wait_listening("127.0.0.27:4222".parse().unwrap());
    let kek = data.join("hlr.kek");
    assert!(kek.exists() && data.join("hlr.db").exists());
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kek).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "KEK file readable by others");
        let mode = std::fs::metadata(&data).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "data directory open to others");
        let mode = std::fs::metadata(data.join("ha.nonce"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "home agent nonce secret readable by others"
        );
    }
    // The home agent is up too: a registration for an unknown node gets a
    // signed-less refusal (131), and the binding list is empty.
    let mn = std::net::UdpSocket::bind("127.0.0.27:0").unwrap();
    mn.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let rrq = telsec_mip::Request {
        flags: telsec_mip::RequestFlags::default(),
        lifetime: 60,
        home_address: "10.77.0.9".parse().unwrap(),
        home_agent: "127.0.0.27".parse().unwrap(),
        care_of_address: "192.0.2.9".parse().unwrap(),
        identification: 1,
        extensions: Vec::new(),
    }
    .to_vec()
    .unwrap();
    let mut answered = None;
    for _ in 0..50 {
        mn.send_to(&rrq, "127.0.0.27:10434").unwrap();
        let mut buf = [0u8; 1024];
        if let Ok(n) = mn.recv(&mut buf) {
            answered = Some(telsec_mip::Reply::from_bytes(&buf[..n]).unwrap());
            break;
        }
    }
    let reply = answered.expect("home agent answers");
    assert_eq!(u8::from(reply.code), 131);
    let out = telsec()
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .args(["ha", "bindings"])
        .output()
        .unwrap();
    assert_eq!(json(&out), serde_json::json!([]));
    // The SMS centre is up as well: an SMPP bind_transceiver with the key
    // service's default account gets a bind_transceiver_resp, status 0.
    {
        use std::io::{Read, Write};
        let mut smpp = std::net::TcpStream::connect("127.0.0.27:2775").unwrap();
        smpp.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut body = Vec::new();
        body.extend_from_slice(b"telsec-ha\0telsecha\0\0");
        body.extend_from_slice(&[0x34, 0, 0, 0]);
        let mut pdu = Vec::new();
        pdu.extend_from_slice(&(16 + body.len() as u32).to_be_bytes());
        pdu.extend_from_slice(&0x0000_0009u32.to_be_bytes());
        pdu.extend_from_slice(&0u32.to_be_bytes());
        pdu.extend_from_slice(&1u32.to_be_bytes());
        pdu.extend_from_slice(&body);
        smpp.write_all(&pdu).unwrap();
        let mut head = [0u8; 16];
        smpp.read_exact(&mut head).unwrap();
        assert_eq!(
            &head[4..8],
            &0x8000_0009u32.to_be_bytes(),
            "bind_transceiver_resp"
        );
        assert_eq!(&head[8..12], &[0, 0, 0, 0], "command_status ESME_ROK");
    }
    // The bootstrap service answers a Start with the first EAP request
    // (EAP-AKA' Identity, RFC 9048), in a session the HA chose.
    {
        let node = std::net::UdpSocket::bind("127.0.0.27:0").unwrap();
        node.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let (_, start) = telsec_bootstrap::NodeSession::start(
            telsec_bootstrap::NodeSessionConfig {
                ha_name: "telsec.test".into(),
                identity_hint: None,
                retransmit: telsec_bootstrap::RetransmitPolicy::default(),
                pinned_ha_key: None,
            },
            [7; 16],
            std::time::Instant::now(),
        )
        .unwrap();
        node.send_to(&start, "127.0.0.27:14434").unwrap();
        let mut buf = [0u8; 2048];
        let n = node.recv(&mut buf).expect("the bootstrap service answers");
        let answer = telsec_bootstrap::Repr::parse_bytes(&buf[..n]).unwrap();
        assert!(!answer.session_id.is_none());
        let telsec_bootstrap::Body::Eap(eap) = answer.body else {
            panic!("not an EAP message: {answer:?}")
        };
        assert_eq!((eap[0], eap[4]), (1, 50), "EAP-Request, type AKA'");
    }
    // The embedded DNS server serves the zone, and its admin key was made.
    assert!(data.join("dns-admin.key").exists());
    if let Ok(out) = std::process::Command::new("dig")
        .args([
            "@127.0.0.27",
            "-p",
            "15353",
            "+short",
            "telsec.test.",
            "SOA",
        ])
        .output()
    {
        let soa = String::from_utf8_lossy(&out.stdout);
        assert!(
            soa.starts_with("ns1.telsec.test. hostmaster.telsec.test."),
            "dig SOA: {soa}"
        );
    }
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "telsec up exits 0 on SIGTERM: {status}");
}

/// After `rotate-kek`, the new KEK opens the store and the old one is refused.
#[test]
fn rotate_kek_then_only_the_new_key_opens() {
    let dir = TelsecHlr::new_data_dir();
    let d = dir.path();
    TelsecHlr::add_milenage(d, "001010000000001", "4912345", K, OPC);
    let new = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
    let out = telsec()
        .env("TELSEC_HLR_NEW_KEK", new)
        .arg("--data-dir")
        .arg(d)
        .args(["hlr", "rotate-kek"])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v["secrets_reencrypted"], 2, "K and OPc");
    let old = run(d, &["hlr", "subscriber", "list"]);
    assert!(
        !old.status.success(),
        "the old KEK must no longer open the store"
    );
    let with_new = telsec()
        .env("TELSEC_HLR_KEK", new)
        .arg("--data-dir")
        .arg(d)
        .args(["hlr", "subscriber", "show", "--imsi", "001010000000001"])
        .output()
        .unwrap();
    assert_eq!(json(&with_new)["msisdn"], "4912345");
}

/// `hlr.unknown_imsi_cause = 11` makes the HLR answer an unknown IMSI with
/// "PLMN not allowed", as osmo-hlr does by default since 1.3.
#[test]
fn unknown_imsi_cause_is_configurable() {
    let dir = TelsecHlr::new_data_dir();
    let config = dir.path().join("telsec.toml");
    std::fs::write(&config, "[hlr]\nunknown_imsi_cause = 11\n").unwrap();
    let mut child = telsec()
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .args(["hlr", "serve", "--listen", "127.0.0.28:4222"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    common::osmo::wait_listening("127.0.0.28:4222".parse().unwrap());
    let out = run(
        dir.path(),
        &[
            "hlr",
            "query",
            "--server",
            "127.0.0.28:4222",
            "--imsi",
            "001019999999999",
        ],
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PLMN not allowed"), "{stderr}");
}
