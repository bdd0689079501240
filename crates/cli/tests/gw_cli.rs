//! `telsec gw` as a process: the SPIs `telsec gw keys` prints are the
//! derivation's, bad `[gw]` settings exit 2 naming the field, `telsec
//! config` documents a `[gw]` section that parses back to the defaults,
//! and the gateway serves and says so in one JSON line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use telsec_esp::Algorithm;
use telsec_node::gw_service::GwSettings;

const NODE_SECRET: &str = "00112233445566778899aabbccddeeff";
const SIU_SECRET: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

fn telsec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_telsec"))
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("telsec-gw-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn keys_prints_the_derived_spis() {
    let home = Ipv4Addr::new(10, 77, 0, 5);
    let gateway = Ipv4Addr::new(198, 51, 100, 1);
    for (name, algorithm) in [
        ("aes-128-gcm", Algorithm::AesGcm128),
        ("aes-256-gcm", Algorithm::AesGcm256),
    ] {
        let out = telsec()
            .args([
                "gw",
                "keys",
                "--home",
                "10.77.0.5",
                "--gateway",
                "198.51.100.1",
            ])
            .args(["--secret", NODE_SECRET, "--algorithm", name, "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let secret = hex::decode(NODE_SECRET).unwrap();
        let k = telsec_vpn::derive_esp_keys(&secret, home, gateway, algorithm).unwrap();
        assert_eq!(v["node_to_gateway_spi"], k.node_to_gateway.spi);
        assert_eq!(v["gateway_to_node_spi"], k.gateway_to_node.spi);
        assert_eq!(v["algorithm"], name);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            !text.contains(&hex::encode(&*k.node_to_gateway.key_material)),
            "never the keys"
        );
    }
    let short = telsec()
        .args([
            "gw",
            "keys",
            "--home",
            "10.77.0.5",
            "--gateway",
            "198.51.100.1",
        ])
        .args(["--secret", "0011"])
        .output()
        .unwrap();
    assert_eq!(short.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&short.stderr).contains("--secret"));
}

fn run_with(name: &str, config: &str) -> std::process::Output {
    let d = dir(name);
    let path = d.join("telsec.toml");
    std::fs::write(&path, config).unwrap();
    telsec()
        .arg("--config")
        .arg(&path)
        .arg("--data-dir")
        .arg(d.join("data"))
        .arg("gw")
        .output()
        .unwrap()
}

#[test]
fn bad_settings_exit_2_naming_the_field() {
    // A node with a short secret: the configuration itself is refused.
    let out = run_with(
        "short",
        &format!(
            "[gw]\n[[gw.siu_keys]]\nspi = 768\nsecret = \"{SIU_SECRET}\"\n\
             [[gw.nodes]]\nhome = \"10.77.0.5\"\ncare_of = \"192.0.2.10\"\nsecret = \"0011\"\n"
        ),
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("gw.nodes[0] (10.77.0.5).secret"), "{err}");
    // Disabled for `telsec up`, so only `telsec gw` checks it.
    let out = run_with(
        "algorithm",
        &format!(
            "[gw]\nenabled = false\nalgorithm = \"aes-128-cbc\"\n\
             [[gw.siu_keys]]\nspi = 768\nsecret = \"{SIU_SECRET}\"\n\
             [[gw.nodes]]\nhome = \"10.77.0.5\"\ncare_of = \"192.0.2.10\"\nsecret = \"{NODE_SECRET}\"\n"
        ),
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("gw.algorithm"), "{err}");
    // An unknown field is a parse error (exit 2 too).
    let out = run_with("unknown", "[gw]\noutsde = \"127.0.0.1:4500\"\n");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("outsde"));
}

#[test]
fn config_documents_a_gw_section_that_parses_back() {
    let out = telsec().arg("config").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let doc: toml::Value = toml::from_str(&text).unwrap();
    let gw: GwSettings = doc["gw"].clone().try_into().unwrap();
    assert_eq!(gw, GwSettings::default());
    assert!(text.contains("[gw]"));
}

#[test]
fn the_gateway_serves_and_prints_one_json_line() {
    let d = dir("serve");
    let path = d.join("telsec.toml");
    std::fs::write(
        &path,
        format!(
            "[gw]\noutside = \"127.0.0.149:0\"\nsiu_listen = \"127.0.0.149:0\"\n\
             [[gw.siu_keys]]\nspi = 768\nsecret = \"{SIU_SECRET}\"\n\
             [[gw.nodes]]\nhome = \"10.77.0.5\"\ncare_of = \"192.0.2.10\"\nsecret = \"{NODE_SECRET}\"\n"
        ),
    )
    .unwrap();
    let data = d.join("data");
    let mut child = telsec()
        .arg("--config")
        .arg(&path)
        .arg("--data-dir")
        .arg(&data)
        .args(["gw", "run"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().expect("a line").unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["event"], "up");
    assert_eq!(v["nodes"], 1);
    assert!(v["outside"].as_str().unwrap().starts_with("127.0.0.149:"));
    assert!(
        data.join("gw-sequences").exists(),
        "reservations before serving"
    );
    let _ = std::fs::remove_dir_all(&d);
}
