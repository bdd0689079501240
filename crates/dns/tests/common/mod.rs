//! Helpers shared by the integration tests and the bench: start the
//! embedded server, start BIND9, query, find the BIND tools.
#![allow(dead_code, clippy::unwrap_used)]

use std::{
    fs,
    net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use hickory_net::{
    DnsMultiplexer,
    client::{Client, ClientHandle},
    runtime::TokioRuntimeProvider,
    tcp::TcpClientStream,
    udp::UdpClientStream,
};
use hickory_proto::{
    op::{Message, ResponseCode},
    rr::{DNSClass, Name, RData, RecordType},
};
use telsec_dns::{DnsServer, Grant, ServerConfig, ServerHandle, Transport, TsigKey, ZoneConfig};
use tokio::sync::oneshot;

pub const ZONE: &str = "telsec.test.";

pub fn zone() -> Name {
    Name::from_ascii(ZONE).unwrap()
}

pub fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// The home agent's key (zone-wide grant).
pub fn admin_key() -> TsigKey {
    TsigKey::new(
        "ha.telsec.test.",
        "hmac-sha256",
        "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
    )
    .unwrap()
}

/// A node's own key, named after its FQDN.
pub fn node_key(fqdn: &str) -> TsigKey {
    let mut secret = [0u8; 32];
    for (i, b) in fqdn.bytes().enumerate() {
        secret[i % 32] ^= b.wrapping_add(i as u8);
    }
    TsigKey::hmac_sha256(fqdn, &secret).unwrap()
}

/// Same name as `admin_key`, different secret.
pub fn forged_admin_key() -> TsigKey {
    TsigKey::hmac_sha256("ha.telsec.test.", &[0x5a; 32]).unwrap()
}

/// A running embedded server.
pub struct Embedded {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Embedded {
    pub async fn start(
        addr: SocketAddr,
        storage: Option<PathBuf>,
        keys: Vec<(TsigKey, Grant)>,
    ) -> Self {
        let config = ServerConfig {
            zone: ZoneConfig::telsec_test(addr.ip()),
            listen: addr,
            storage,
            keys,
        };
        let server = DnsServer::bind(config).await.unwrap();
        let handle = server.handle();
        let addr = server.local_addr();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .run(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Self {
            addr,
            handle,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the server and waits until its sockets are closed.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
    }
}

/// An unsigned query; returns the whole answer message.
pub async fn query(
    server: SocketAddr,
    qname: &str,
    rtype: RecordType,
    transport: Transport,
) -> Message {
    let provider = TokioRuntimeProvider::default();
    let mut client = match transport {
        Transport::Udp => {
            let stream = UdpClientStream::builder(server, provider).build();
            let (client, bg) = Client::<TokioRuntimeProvider>::from_sender(stream);
            tokio::spawn(bg);
            client
        }
        Transport::Tcp => {
            let (connect, handle) =
                TcpClientStream::new(server, None, Some(Duration::from_secs(5)), provider);
            let stream = connect.await.unwrap();
            let (client, bg) =
                Client::<TokioRuntimeProvider>::from_sender(DnsMultiplexer::new(stream, handle));
            tokio::spawn(bg);
            client
        }
    };
    client
        .query(name(qname), DNSClass::IN, rtype)
        .await
        .unwrap()
        .into_message()
}

/// The RDATA of every answer record of `rtype`.
pub fn rdatas(m: &Message, rtype: RecordType) -> Vec<RData> {
    m.answers
        .iter()
        .filter(|r| r.record_type() == rtype)
        .map(|r| r.data.clone())
        .collect()
}

pub fn opaque(data: &RData) -> &[u8] {
    match data {
        RData::Unknown { rdata, .. } => &rdata.anything,
        other => panic!("expected opaque RDATA, got {other:?}"),
    }
}

pub fn assert_rcode(m: &Message, rcode: ResponseCode) {
    assert_eq!(m.metadata.response_code, rcode, "answer: {m:?}");
}

/// Finds a program in PATH or the sbin directories (named lives there).
pub fn find_tool(bin: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}

/// Prints a skip note and returns `None` when `bin` is not installed.
pub fn tool_or_skip(bin: &str, test: &str) -> Option<PathBuf> {
    let found = find_tool(bin);
    if found.is_none() {
        eprintln!(
            "SKIP {test}: `{bin}` not installed (Debian: apt-get install bind9 bind9-utils dnsutils)"
        );
    }
    found
}

/// Runs `dig +short` and returns its lines.
pub fn dig_short(
    dig: &Path,
    server: SocketAddr,
    qname: &str,
    rtype: &str,
    extra: &[&str],
) -> Vec<String> {
    let out = Command::new(dig)
        .arg(format!("@{}", server.ip()))
        .args(["-p", &server.port().to_string()])
        .args([qname, rtype, "+short", "+tries=1", "+time=3"])
        .args(extra)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "dig failed: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Runs nsupdate with a script on stdin and `-y alg:name:secret`.
pub fn nsupdate(nsupdate: &Path, key: &TsigKey, script: &str) -> (bool, String) {
    use std::io::Write;
    let y = format!(
        "{}:{}:{}",
        key.algorithm_name(),
        key.name().to_ascii(),
        key.secret_base64().as_str()
    );
    let mut child = Command::new(nsupdate)
        .args(["-y", &y, "-t", "5"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A port free for both UDP and TCP on `ip` (BIND needs one it can bind).
pub fn free_port(ip: IpAddr) -> u16 {
    for _ in 0..50 {
        let udp = UdpSocket::bind((ip, 0)).unwrap();
        let port = udp.local_addr().unwrap().port();
        if port > 10000 && TcpListener::bind((ip, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port on {ip}");
}

/// A BIND9 primary for telsec.test., running in a temporary directory.
///
/// BIND binds only addresses configured on an interface, and loopback
/// carries only 127.0.0.1 unless more are added, so BIND listens on
/// 127.0.0.1 with a free port above 10000 (the embedded server's tests
/// use 127.0.0.40-49).
pub struct Bind {
    pub addr: SocketAddr,
    child: Child,
    dir: tempfile::TempDir,
}

impl Bind {
    /// Starts `named -g` with the home agent's key (zonesub ANY) and the
    /// node self-policy (A, AAAA, IPSECKEY, HIP), as the issue asks.
    pub fn start(named: &Path, keys: &[TsigKey]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let port = free_port(ip);
        let admin = admin_key();
        let mut conf = format!(
            r#"options {{
  directory "{d}";
  listen-on port {port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  pid-file "{d}/named.pid";
  session-keyfile "{d}/session.key";
  managed-keys-directory "{d}";
  recursion no;
  dnssec-validation no;
  notify no;
}};
controls {{ }};
"#
        );
        for k in std::iter::once(&admin).chain(keys) {
            conf.push_str(&format!(
                "key \"{}\" {{ algorithm {}; secret \"{}\"; }};\n",
                k.name().to_ascii(),
                k.algorithm_name(),
                k.secret_base64().as_str()
            ));
        }
        conf.push_str(&format!(
            r#"zone "telsec.test." {{
  type primary;
  file "{d}/telsec.test.zone";
  journal "{d}/telsec.test.zone.jnl";
  update-policy {{ grant {} zonesub ANY; grant * self * A AAAA IPSECKEY HIP; }};
}};
"#,
            admin.name().to_ascii()
        ));
        fs::write(dir.path().join("named.conf"), conf).unwrap();
        fs::write(
            dir.path().join("telsec.test.zone"),
            "$TTL 3600\n@ IN SOA ns1.telsec.test. hostmaster.telsec.test. 1 3600 600 86400 60\n\
             @ IN NS ns1.telsec.test.\nns1 IN A 127.0.0.1\n",
        )
        .unwrap();
        let log = fs::File::create(dir.path().join("named.log")).unwrap();
        let child = Command::new(named)
            .arg("-g")
            .arg("-c")
            .arg(dir.path().join("named.conf"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut bind = Self {
            addr: SocketAddr::new(ip, port),
            child,
            dir,
        };
        bind.wait_ready();
        bind
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        // A minimal SOA query for telsec.test.
        let mut q = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        q.extend_from_slice(b"\x06telsec\x04test\x00\x00\x06\x00\x01");
        let mut buf = [0u8; 512];
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("named exited with {status}: {}", self.log());
            }
            let _ = sock.send_to(&q, self.addr);
            if let Ok((n, _)) = sock.recv_from(&mut buf) {
                // RCODE 0 and at least one answer: the zone is loaded.
                if n > 12 && buf[3] & 0x0f == 0 && buf[7] > 0 {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("named did not answer in time: {}", self.log());
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("named.log")).unwrap_or_default()
    }
}

impl Drop for Bind {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
