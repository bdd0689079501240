//! Debian's osmo-hlr as a test peer: its own loopback address (its GSUP and VTY
//! ports are fixed), its own fresh database, provisioned over its VTY.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running osmo-hlr, killed on drop.
pub struct OsmoHlr {
    child: Child,
    /// Its GSUP address.
    pub gsup: SocketAddr,
    vty: SocketAddr,
    _dir: tempdir::TempDir,
}

/// A throwaway directory removed on drop (kept tiny to avoid a dependency).
pub mod tempdir {
    use std::path::{Path, PathBuf};

    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new(tag: &str) -> TempDir {
            let path = std::env::temp_dir().join(format!(
                "telsec-test-{tag}-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            ));
            std::fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl OsmoHlr {
    /// Start osmo-hlr bound to `ip` (e.g. "127.0.0.21") with an empty database.
    pub fn start(ip: &str) -> OsmoHlr {
        let dir = tempdir::TempDir::new("osmo-hlr");
        let cfg = dir.path().join("osmo-hlr.cfg");
        std::fs::write(
            &cfg,
            format!(
                "log stderr\n logging filter all 1\n logging level main notice\n\
                 line vty\n bind {ip}\nctrl\n bind {ip}\nhlr\n gsup\n  bind ip {ip}\n"
            ),
        )
        .unwrap();
        let db: PathBuf = dir.path().join("hlr.db");
        let log = std::fs::File::create(dir.path().join("osmo-hlr.log")).unwrap();
        let child = Command::new("osmo-hlr")
            .arg("-c")
            .arg(&cfg)
            .arg("-l")
            .arg(&db)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("osmo-hlr must be installed for interop tests (apt-get install osmo-hlr)");
        let gsup: SocketAddr = format!("{ip}:4222").parse().unwrap();
        let vty: SocketAddr = format!("{ip}:4258").parse().unwrap();
        let hlr = OsmoHlr {
            child,
            gsup,
            vty,
            _dir: dir,
        };
        wait_listening(gsup);
        wait_listening(vty);
        hlr
    }

    /// Run VTY commands in enable mode; returns everything the VTY printed.
    pub fn vty(&self, commands: &[String]) -> String {
        let mut s = TcpStream::connect(self.vty).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut out = Vec::new();
        let drain = |s: &mut TcpStream, out: &mut Vec<u8>| {
            let mut buf = [0u8; 4096];
            let deadline = Instant::now() + Duration::from_secs(5);
            // Read until the prompt comes back.
            loop {
                match s.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        out.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(out);
                        if text.trim_end().ends_with('#') || text.trim_end().ends_with('>') {
                            break;
                        }
                    }
                    Err(_) if Instant::now() < deadline => continue,
                    Err(_) => break,
                }
            }
        };
        drain(&mut s, &mut out);
        let mut all = vec!["enable".to_owned()];
        all.extend_from_slice(commands);
        for cmd in &all {
            out.clear();
            s.write_all(format!("{cmd}\r\n").as_bytes()).unwrap();
            drain(&mut s, &mut out);
            let text = String::from_utf8_lossy(&out).to_string();
            let refused = text.lines().any(|line| {
                let line = line.trim();
                line.starts_with("% ")
                    && !line.starts_with("% Created")
                    && !line.starts_with("% Updated")
            });
            assert!(!refused, "VTY refused {cmd:?}: {text}");
        }
        String::from_utf8_lossy(&out).to_string()
    }

    /// Create a Milenage subscriber (K + OPc) with an MSISDN.
    pub fn add_milenage(&self, imsi: &str, msisdn: &str, k: &str, opc: &str) {
        self.vty(&[
            format!("subscriber imsi {imsi} create"),
            format!("subscriber imsi {imsi} update msisdn {msisdn}"),
            format!("subscriber imsi {imsi} update aud3g milenage k {k} opc {opc}"),
        ]);
    }
}

impl Drop for OsmoHlr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait until something accepts TCP connections on `addr` (at most 10 s).
pub fn wait_listening(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on {addr} after 10 s");
}
