//! telsec's own HLR as a test peer: the real binary, `telsec hlr serve`,
//! provisioned with `telsec hlr subscriber add`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use super::osmo::{tempdir::TempDir, wait_listening};

/// A KEK for tests only.
pub const TEST_KEK: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

pub fn telsec() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_telsec"));
    cmd.env("TELSEC_HLR_KEK", TEST_KEK)
        .env_remove("TELSEC_CONFIG");
    cmd
}

/// Run `telsec` with `args`, returning its output.
pub fn run(data_dir: &Path, args: &[&str]) -> Output {
    telsec()
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("run telsec")
}

/// A `telsec hlr serve` process, killed (SIGKILL) on drop.
pub struct TelsecHlr {
    child: Option<Child>,
    pub gsup: SocketAddr,
    pub data_dir: PathBuf,
    _dir: Option<TempDir>,
}

impl TelsecHlr {
    /// A fresh data directory.
    pub fn new_data_dir() -> TempDir {
        TempDir::new("telsec-hlr")
    }

    /// Start serving `data_dir` on `ip:4222`.
    pub fn start(ip: &str, data_dir: &Path) -> TelsecHlr {
        let gsup: SocketAddr = format!("{ip}:4222").parse().unwrap();
        let child = telsec()
            .arg("--data-dir")
            .arg(data_dir)
            .args(["hlr", "serve", "--listen", &gsup.to_string()])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start telsec hlr serve");
        wait_listening(gsup);
        TelsecHlr {
            child: Some(child),
            gsup,
            data_dir: data_dir.to_owned(),
            _dir: None,
        }
    }

    /// Provision a Milenage subscriber with the CLI.
    pub fn add_milenage(data_dir: &Path, imsi: &str, msisdn: &str, k: &str, opc: &str) {
        let out = run(
            data_dir,
            &[
                "hlr",
                "subscriber",
                "add",
                "--imsi",
                imsi,
                "--msisdn",
                msisdn,
                "--algo",
                "milenage",
                "--k",
                k,
                "--opc",
                opc,
            ],
        );
        assert!(
            out.status.success(),
            "subscriber add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// kill -9: no shutdown path runs.
    pub fn kill9(mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for TelsecHlr {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
