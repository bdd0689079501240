//! `telsec ha` and `telsec mn` as separate processes: the node registers
//! with the home agent using a static key from its config, and
//! `telsec ha bindings` shows the binding as JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn telsec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_telsec"))
}

#[test]
fn node_registers_with_home_agent_and_binding_is_listed() {
    let dir = std::env::temp_dir().join(format!("telsec-mip-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("telsec.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[ha]
listen = "127.0.0.35:10434"
home_networks = ["10.77.0.0/24"]
[[ha.mobile_nodes]]
home_address = "10.77.0.5"
spi = 4096
algorithm = "hmac-sha256"
key = "{KEY}"

[mn]
home_address = "10.77.0.5"
home_agent = "127.0.0.35"
home_network = "10.77.0.0/24"
agent_port = 10434
udp_tunnelling = "forced"
[mn.key]
spi = 4096
algorithm = "hmac-sha256"
key = "{KEY}"
"#
        ),
    )
    .unwrap();
    let data = dir.join("data");
    let mut ha = telsec()
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .arg("ha")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut mn = telsec()
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .args(["mn", "--address", "127.0.0.36"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(mn.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut registered = false;
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if v["event"]
            .as_str()
            .unwrap()
            .starts_with("Registered { coa: 127.0.0.36")
        {
            registered = true;
            break;
        }
    }
    assert!(registered, "the node printed its registration");
    let out = telsec()
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .args(["ha", "bindings"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["home_address"], "10.77.0.5");
    assert_eq!(v[0]["care_of_address"], "127.0.0.36");
    assert_eq!(v[0]["tunnel"]["kind"], "udp");
    for child in [&mut mn, &mut ha] {
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(child.wait().unwrap().success());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
