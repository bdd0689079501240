//! The pieces of the bootstrap end-to-end tests (seed 003): a `telsec up`
//! site (HLR, home agent with its bootstrap service, embedded DNS) on one
//! loopback address, nodes that run `telsec mn bootstrap` and `telsec mn`
//! as separate processes, and the BIND tools (`dig`, `nsupdate`, `named`)
//! as independent observers and peers.
//!
//! Every process logs JSON lines (`--log-json`), collected by a thread so a
//! test can wait for, and assert on, what the home agent or the node said.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::osmo::tempdir::TempDir;
use crate::common::telsec_hlr::telsec;

/// Ports of a site: every test has its own loopback address, so fixed.
pub const GSUP_PORT: u16 = 10222;
pub const MIP_PORT: u16 = 10434;
pub const BOOTSTRAP_PORT: u16 = 14434;
pub const SMPP_PORT: u16 = 12775;
pub const DNS_PORT: u16 = 11053;

/// The operator zone and the home-address pool of every site.
pub const ZONE: &str = "telsec.test.";
pub const POOL_PREFIX: &str = "10.77.0.";

/// A soft USIM's settings: IMSI and Milenage K/OPc (hex).
#[derive(Debug, Clone)]
pub struct Sim {
    pub imsi: String,
    pub k: String,
    pub opc: String,
}

impl Sim {
    pub fn new(imsi: &str, k: &str, opc: &str) -> Sim {
        Sim {
            imsi: imsi.to_owned(),
            k: k.to_owned(),
            opc: opc.to_owned(),
        }
    }
}

/// Where the home agent sends its DNS updates.
#[derive(Debug, Clone)]
pub enum DnsTarget {
    /// `telsec up`'s embedded server on the site's address (its admin key,
    /// generated on first start, signs the updates).
    Embedded,
    /// An outside server (BIND9) with this TSIG key; `[dns]` is disabled.
    External {
        server: SocketAddr,
        key_name: String,
        secret_base64: String,
    },
}

/// How a site is set up.
#[derive(Debug, Clone)]
pub struct SiteOptions {
    /// The HLR the bootstrap service asks; `None`: `telsec up`'s own.
    pub hlr: Option<SocketAddr>,
    pub dns: DnsTarget,
    /// Point `[ha.bootstrap] subscriber_database` at the HLR database so
    /// the home agent reads subscribers' names.
    pub read_names: bool,
    /// More `[ha.bootstrap]` lines (e.g. HIP mode).
    pub bootstrap_extra: String,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            hlr: None,
            dns: DnsTarget::Embedded,
            read_names: true,
            bootstrap_extra: String::new(),
        }
    }
}

/// Lines a child wrote on one stream, collected by a thread.
#[derive(Clone, Default)]
pub struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    /// Collects `stream` until it closes.
    pub fn collect(stream: impl Read + Send + 'static) -> Lines {
        let lines = Lines::default();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                sink.0.lock().unwrap().push(line);
            }
        });
        lines
    }

    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// The JSON log records (other lines skipped).
    pub fn records(&self) -> Vec<Value> {
        self.all()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Records whose message contains `text`.
    pub fn with_message(&self, text: &str) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| message(r).contains(text))
            .collect()
    }

    pub fn text(&self) -> String {
        self.all().join("\n")
    }
}

/// The message of a tracing JSON record.
pub fn message(record: &Value) -> &str {
    record["fields"]["message"].as_str().unwrap_or("")
}

/// A `telsec up` site on one loopback address: its config file and data
/// directory, and (once started) the process, killed on drop.
pub struct Site {
    process: Option<(Child, Lines)>,
    pub ip: Ipv4Addr,
    pub config: PathBuf,
    pub data_dir: PathBuf,
    pub options: SiteOptions,
    dir: TempDir,
}

impl Site {
    /// Writes the site's configuration; nothing runs yet.
    pub fn new(tag: &str, ip: Ipv4Addr, options: SiteOptions) -> Site {
        let dir = TempDir::new(tag);
        let data_dir = dir.path().join("data");
        let config = dir.path().join("up.toml");
        let hlr = options
            .hlr
            .unwrap_or(SocketAddr::from((ip, GSUP_PORT)))
            .to_string();
        let mut text = format!(
            r#"data_dir = "{data}"
[log]
filter = "info"
[hlr]
gsup_listen = "{ip}:{GSUP_PORT}"
[ha]
listen = "{ip}:{MIP_PORT}"
home_networks = ["{POOL_PREFIX}0/24"]
[ha.keys]
enabled = false
hlr = "{hlr}"
smsc = "{ip}:{SMPP_PORT}"
[smsc]
listen = "{ip}:{SMPP_PORT}"
"#,
            data = data_dir.display()
        );
        let (dns_enabled, dns_server, key_name, secret) = match &options.dns {
            DnsTarget::Embedded => (
                true,
                SocketAddr::from((ip, DNS_PORT)),
                "telsec-ha.".to_owned(),
                String::new(),
            ),
            DnsTarget::External {
                server,
                key_name,
                secret_base64,
            } => (false, *server, key_name.clone(), secret_base64.clone()),
        };
        writeln!(
            text,
            r#"[dns]
enabled = {dns_enabled}
listen = "{ip}:{DNS_PORT}"
zone = "{ZONE}"
ns_address = "{ip}"
admin_key_name = "telsec-ha."
[ha.bootstrap]
enabled = true
listen = "{ip}:{BOOTSTRAP_PORT}"
network_name = "telsec.test"
hlr = "{hlr}"
zone = "{ZONE}"
pool = "{POOL_PREFIX}0/24"
pool_excluded = ["{POOL_PREFIX}1"]
dns_server = "{dns_server}"
dns_key_name = "{key_name}"
dns_key_secret = "{secret}""#
        )
        .unwrap();
        if options.read_names {
            text.push_str("subscriber_database = \"hlr.db\"\n");
        }
        text.push_str(&options.bootstrap_extra);
        std::fs::write(&config, text).unwrap();
        Site {
            process: None,
            ip,
            config,
            data_dir,
            options,
            dir,
        }
    }

    /// `telsec -c up.toml ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        telsec()
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .output()
            .expect("run telsec")
    }

    /// Provisions a Milenage subscriber through the CLI (with a name when
    /// given, and `extra` options such as `--sqn`).
    pub fn add_subscriber(&self, sim: &Sim, msisdn: &str, name: Option<&str>, extra: &[&str]) {
        let mut args = vec![
            "hlr",
            "subscriber",
            "add",
            "--imsi",
            &sim.imsi,
            "--msisdn",
            msisdn,
            "--algo",
            "milenage",
            "--k",
            &sim.k,
            "--opc",
            &sim.opc,
        ];
        if let Some(n) = name {
            args.extend(["--name", n]);
        }
        args.extend(extra);
        let out = self.run(&args);
        assert!(
            out.status.success(),
            "subscriber add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts `telsec up` and waits until it says it is up.
    pub fn start(&mut self) {
        assert!(self.process.is_none(), "started twice");
        let mut child = telsec()
            .arg("--log-json")
            .arg("--config")
            .arg(&self.config)
            .arg("up")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start telsec up");
        let stderr: ChildStderr = child.stderr.take().unwrap();
        let lines = Lines::collect(stderr);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if !lines.with_message("telsec is up").is_empty() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                // Let the reader drain what is left.
                std::thread::sleep(Duration::from_millis(50));
                panic!("telsec up exited with {status}:\n{}", lines.text());
            }
            assert!(
                Instant::now() < deadline,
                "telsec up not up after 10 s:\n{}",
                lines.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.process = Some((child, lines));
    }

    /// Kills `telsec up` (its data directory stays).
    pub fn stop(&mut self) {
        if let Some((mut child, _)) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What `telsec up` logged so far.
    pub fn log(&self) -> Lines {
        self.process.as_ref().expect("started").1.clone()
    }

    /// The embedded DNS server's address.
    pub fn dns(&self) -> SocketAddr {
        match &self.options.dns {
            DnsTarget::Embedded => SocketAddr::from((self.ip, DNS_PORT)),
            DnsTarget::External { server, .. } => *server,
        }
    }

    /// The bootstrap service's address.
    pub fn bootstrap_addr(&self) -> SocketAddr {
        SocketAddr::from((self.ip, BOOTSTRAP_PORT))
    }

    /// The home agent's Ed25519 public key, from its key file.
    pub fn ha_public_key(&self) -> [u8; 32] {
        public_key_of(&self.data_dir.join("ha-bootstrap.key"))
    }

    /// `telsec dns key`: `hmac-sha256:<name>:<secret>` of the admin key.
    pub fn dns_admin_key(&self) -> String {
        let out = self.run(&["dns", "key"]);
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some((mut child, _)) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The Ed25519 public key of a 32-octet secret key file.
pub fn public_key_of(path: &Path) -> [u8; 32] {
    let seed: [u8; 32] = std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .try_into()
        .expect("a 32-octet key file");
    telsec_bootstrap::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes()
}

/// A mobile node: its own data directory and config (`[mn]`,
/// `[mn.bootstrap]`, `[mn.sim]`) pointing at a site.
pub struct Node {
    pub dir: TempDir,
    pub config: PathBuf,
    site_ip: Ipv4Addr,
    /// The IMSI of the SIM in `[mn.sim]` (the node's key file is per IMSI).
    imsi: std::cell::RefCell<String>,
}

/// The outcome of one `telsec mn bootstrap --json`.
pub struct Bootstrapped {
    pub code: Option<i32>,
    pub stdout: String,
    pub log: Lines,
}

impl Bootstrapped {
    /// The JSON object printed (panics with the log when it failed).
    pub fn json(&self) -> Value {
        assert_eq!(
            self.code,
            Some(0),
            "telsec mn bootstrap failed:\n{}",
            self.log.text()
        );
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }

    /// The node's record of the configuration it stored.
    pub fn stored_record(&self) -> Value {
        let r = self
            .log
            .with_message("configuration obtained and stored")
            .pop();
        r.unwrap_or_else(|| panic!("no stored-configuration record:\n{}", self.log.text()))
    }
}

impl Node {
    pub fn new(tag: &str, site: &Site, sim: &Sim) -> Node {
        let dir = TempDir::new(tag);
        let config = dir.path().join("node.toml");
        let node = Node {
            dir,
            config,
            site_ip: site.ip,
            imsi: std::cell::RefCell::new(sim.imsi.clone()),
        };
        node.set_sim(sim);
        node
    }

    /// Rewrites `[mn.sim]` (a SIM swap keeps the data directory).
    pub fn set_sim(&self, sim: &Sim) {
        self.imsi.replace(sim.imsi.clone());
        let ip = self.site_ip;
        std::fs::write(
            &self.config,
            format!(
                r#"data_dir = "{data}"
[mn]
home_agent = "{ip}"
home_network = "{POOL_PREFIX}0/24"
agent_port = {MIP_PORT}
home_link = {{ kind = "none" }}
[mn.bootstrap]
home_agent = "{ip}:{BOOTSTRAP_PORT}"
network_name = "telsec.test"
[mn.sim]
imsi = "{imsi}"
k = "{k}"
opc = "{opc}"
"#,
                data = self.dir.path().display(),
                imsi = sim.imsi,
                k = sim.k,
                opc = sim.opc,
            ),
        )
        .unwrap();
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// `telsec mn bootstrap --json [--desired-fqdn NAME]`.
    pub fn bootstrap(&self, desired: Option<&str>) -> Bootstrapped {
        self.bootstrap_with(desired, &[])
    }

    /// Sends the node's bootstrap to `addr` instead of the site.
    pub fn point_at(&self, addr: SocketAddr) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        let site = format!("home_agent = \"{}:{BOOTSTRAP_PORT}\"", self.site_ip);
        assert!(text.contains(&site), "{text}");
        let text = text.replace(&site, &format!("home_agent = \"{addr}\""));
        std::fs::write(&self.config, text).unwrap();
    }

    /// `telsec mn bootstrap --json [--desired-fqdn NAME] EXTRA…`.
    pub fn bootstrap_with(&self, desired: Option<&str>, extra: &[&str]) -> Bootstrapped {
        let mut cmd = telsec();
        cmd.arg("--log-json")
            .arg("--config")
            .arg(&self.config)
            .args(["mn", "bootstrap", "--json"])
            .env_remove("RUST_LOG");
        if let Some(d) = desired {
            cmd.args(["--desired-fqdn", d]);
        }
        cmd.args(extra);
        let out = cmd.output().expect("run telsec mn bootstrap");
        let log = Lines::default();
        for line in String::from_utf8_lossy(&out.stderr).lines() {
            log.0.lock().unwrap().push(line.to_owned());
        }
        Bootstrapped {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            log,
        }
    }

    /// The node's Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        public_key_of(&self.path(&format!("mn.{}.key", self.imsi.borrow())))
    }

    /// The configuration `telsec mn bootstrap` stored.
    pub fn stored(&self) -> telsec_bootstrap::NodeConfig {
        let text = std::fs::read_to_string(self.path("mn-bootstrap.conf")).unwrap();
        telsec_bootstrap::NodeConfig::parse(&text).unwrap()
    }

    /// Starts `telsec mn --address ADDRESS` (a co-located care-of address).
    pub fn run_mn(&self, address: Ipv4Addr) -> RunningNode {
        let mut child = telsec()
            .arg("--log-json")
            .arg("--config")
            .arg(&self.config)
            .args(["mn", "--address", &address.to_string()])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start telsec mn");
        let (tx, events) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let log = Lines::collect(child.stderr.take().unwrap());
        RunningNode { child, events, log }
    }
}

/// A running `telsec mn`, killed on drop.
pub struct RunningNode {
    child: Child,
    events: mpsc::Receiver<String>,
    pub log: Lines,
}

impl RunningNode {
    /// Waits for an event (a JSON line's `event`) starting with `prefix`.
    pub fn wait_event(&mut self, prefix: &str, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let line = self.events.recv_timeout(left).ok()?;
            let v: Value = serde_json::from_str(&line).unwrap();
            let event = v["event"].as_str().unwrap_or("").to_owned();
            if event.starts_with(prefix) {
                return Some(event);
            }
        }
    }

    /// Waits until the node logs a message containing `text`.
    pub fn wait_log(&self, text: &str, within: Duration) -> Option<Value> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(r) = self.log.with_message(text).pop() {
                return Some(r);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Finds a program in PATH or the sbin directories (named lives there).
pub fn find_tool(bin: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}

/// The tools, or `None` after a printed note naming the first one missing.
pub fn tools_or_skip<const N: usize>(bins: [&str; N], test: &str) -> Option<[PathBuf; N]> {
    let mut found = Vec::new();
    for bin in bins {
        match find_tool(bin) {
            Some(p) => found.push(p),
            None => {
                eprintln!(
                    "SKIP {test}: `{bin}` is not installed \
                     (Debian: apt-get install osmo-hlr bind9 bind9-utils dnsutils)"
                );
                return None;
            }
        }
    }
    found.try_into().ok()
}

/// `dig @server -p port NAME TYPE ARGS…`: its whole output.
pub fn dig(dig: &Path, server: SocketAddr, name: &str, rtype: &str, args: &[&str]) -> String {
    let out = Command::new(dig)
        .arg(format!("@{}", server.ip()))
        .args(["-p", &server.port().to_string()])
        .args([name, rtype, "+tries=1", "+time=2"])
        .args(args)
        .output()
        .expect("run dig");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "dig {name} {rtype}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// `dig +short`: the answer lines.
pub fn dig_short(d: &Path, server: SocketAddr, name: &str, rtype: &str) -> Vec<String> {
    dig(d, server, name, rtype, &["+short"])
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The RCODE dig shows (`NOERROR`, `NXDOMAIN`, …).
pub fn dig_status(d: &Path, server: SocketAddr, name: &str, rtype: &str) -> String {
    let text = dig(d, server, name, rtype, &["+noall", "+comments"]);
    text.lines()
        .find_map(|l| l.split("status: ").nth(1))
        .and_then(|s| s.split(',').next())
        .unwrap_or_else(|| panic!("no status in {text}"))
        .to_owned()
}

/// The Ed25519 key of a name's IPSECKEY record, read in RFC 3597 form
/// (`\# 35 0A0004<key>`: precedence 10, no gateway, algorithm 4 = EdDSA
/// of RFC 9373), so the test reads the octets BIND or telsec serve without
/// trusting either one's presentation format.
pub fn ipseckey_public_keys(d: &Path, server: SocketAddr, name: &str) -> Vec<[u8; 32]> {
    dig(d, server, name, "IPSECKEY", &["+short", "+unknownformat"])
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut fields = l.split_whitespace();
            assert_eq!(fields.next(), Some("\\#"), "{l}");
            assert_eq!(fields.next(), Some("35"), "RDATA length: {l}");
            let rdata = hex::decode(fields.collect::<String>()).unwrap();
            assert_eq!(
                &rdata[..3],
                &[10, 0, 4],
                "precedence, gateway type, EdDSA: {l}"
            );
            rdata[3..].try_into().unwrap()
        })
        .collect()
}

/// A name's HIP records as dig presents them (RFC 8005 §6: PK algorithm,
/// HIT in hex, public key in base64, rendezvous servers), decoded.
pub fn hip_records(d: &Path, server: SocketAddr, name: &str) -> Vec<HipRr> {
    dig(d, server, name, "HIP", &["+short"])
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert!(f.len() >= 3, "HIP presentation: {l}");
            let engine = data_encoding::BASE64;
            HipRr {
                pk_algorithm: f[0].parse().unwrap(),
                hit: hex::decode(f[1]).unwrap().try_into().unwrap(),
                public_key: engine.decode(f[2].as_bytes()).unwrap(),
                rendezvous_servers: f[3..].iter().map(|s| s.to_string()).collect(),
            }
        })
        .collect()
}

/// One HIP RR read by dig.
#[derive(Debug, PartialEq, Eq)]
pub struct HipRr {
    pub pk_algorithm: u8,
    pub hit: [u8; 16],
    pub public_key: Vec<u8>,
    pub rendezvous_servers: Vec<String>,
}

/// Runs `nsupdate` with `script` (which names its server) and an optional
/// `-y alg:name:secret` key; returns whether it succeeded and its output.
pub fn nsupdate(nsupdate: &Path, key: Option<&str>, script: &str) -> (bool, String) {
    let mut cmd = Command::new(nsupdate);
    if let Some(k) = key {
        cmd.args(["-y", k]);
    }
    let mut child = cmd
        .args(["-t", "3"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nsupdate");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A port above 10000 free for both UDP and TCP on `ip`.
pub fn free_port(ip: IpAddr) -> u16 {
    for _ in 0..100 {
        let udp = UdpSocket::bind((ip, 0)).unwrap();
        let port = udp.local_addr().unwrap().port();
        if port > 10000 && TcpListener::bind((ip, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port on {ip}");
}

/// A BIND9 primary for telsec.test. with one TSIG key (HMAC-SHA-256)
/// allowed to change any name below the zone (`zonesub`), as an operator
/// would give its home agent. BIND binds only addresses configured on an
/// interface, so it listens on 127.0.0.1 with a free port.
pub struct Bind {
    pub addr: SocketAddr,
    child: Child,
    dir: TempDir,
}

impl Bind {
    pub fn start(named: &Path, key_name: &str, secret_base64: &str) -> Bind {
        let dir = TempDir::new("bind");
        let d = dir.path().display().to_string();
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let port = free_port(ip);
        let conf = format!(
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
key "{key_name}" {{ algorithm hmac-sha256; secret "{secret_base64}"; }};
zone "{ZONE}" {{
  type primary;
  file "{d}/zone.db";
  journal "{d}/zone.db.jnl";
  update-policy {{ grant {key_name} zonesub ANY; }};
}};
"#
        );
        std::fs::write(dir.path().join("named.conf"), conf).unwrap();
        std::fs::write(
            dir.path().join("zone.db"),
            format!(
                "$TTL 3600\n@ IN SOA ns1.{ZONE} hostmaster.{ZONE} 1 3600 600 86400 60\n\
                 @ IN NS ns1.{ZONE}\nns1 IN A 127.0.0.1\n"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("named.log")).unwrap();
        let child = Command::new(named)
            .arg("-g")
            .arg("-c")
            .arg(dir.path().join("named.conf"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start named");
        let mut bind = Bind {
            addr: SocketAddr::new(ip, port),
            child,
            dir,
        };
        bind.wait_ready();
        bind
    }

    /// Until the zone answers its SOA (RCODE 0 with an answer).
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut query = vec![0x4b, 0x1d, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        query.extend_from_slice(b"\x06telsec\x04test\x00\x00\x06\x00\x01");
        let mut buf = [0u8; 512];
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("named exited with {status}: {}", self.log());
            }
            let _ = sock.send_to(&query, self.addr);
            if let Ok((n, _)) = sock.recv_from(&mut buf)
                && n > 12
                && buf[3] & 0x0f == 0
                && buf[7] > 0
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("named did not answer in 10 s: {}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("named.log")).unwrap_or_default()
    }
}

impl Drop for Bind {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Which way a relayed datagram went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    ToHa,
    ToNode,
}

/// Datagrams in the order the relay passed them.
type Seen = Arc<Mutex<Vec<(Way, Vec<u8>)>>>;

/// A UDP relay between one node and the bootstrap service: it records
/// every datagram and can alter the first node message of one type (the
/// bootstrap header's type octet) by flipping its last octet.
pub struct Relay {
    pub addr: SocketAddr,
    seen: Seen,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Relay {
    pub fn start(ip: Ipv4Addr, ha: SocketAddr, alter_type: Option<u8>) -> Relay {
        let front = UdpSocket::bind((ip, 0)).unwrap();
        let back = UdpSocket::bind((ip, 0)).unwrap();
        back.connect(ha).unwrap();
        for s in [&front, &back] {
            s.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
        }
        let addr = front.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (log, halt) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut node = None;
            let mut altered = alter_type.is_none();
            let mut buf = [0u8; 2048];
            while !halt.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok((n, from)) = front.recv_from(&mut buf) {
                    node = Some(from);
                    let mut d = buf[..n].to_vec();
                    if !altered && d.get(1).copied() == alter_type {
                        if let Some(last) = d.last_mut() {
                            *last ^= 0x01;
                        }
                        altered = true;
                    }
                    log.lock().unwrap().push((Way::ToHa, d.clone()));
                    let _ = back.send(&d);
                }
                if let Ok(n) = back.recv(&mut buf) {
                    log.lock().unwrap().push((Way::ToNode, buf[..n].to_vec()));
                    if let Some(to) = node {
                        let _ = front.send_to(&buf[..n], to);
                    }
                }
            }
        });
        Relay {
            addr,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// Every datagram so far, in order.
    pub fn seen(&self) -> Vec<(Way, Vec<u8>)> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sends `datagram` to `to` from a fresh socket on `ip`; the answer, if
/// one comes within `wait`.
pub fn send_once(ip: Ipv4Addr, to: SocketAddr, datagram: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let s = UdpSocket::bind((ip, 0)).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    s.send_to(datagram, to).unwrap();
    let mut buf = [0u8; 2048];
    s.recv(&mut buf).ok().map(|n| buf[..n].to_vec())
}
