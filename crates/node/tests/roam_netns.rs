//! Mobile IP end to end in Linux network namespaces (root; fails without
//! it, CI runs as root): the real `telsec ha`, `telsec fa` and `telsec mn`
//! processes, a correspondent streaming UDP to the node's home address,
//! and the node moving from a foreign network without an agent (co-located
//! care-of address, RFC 3519 UDP tunnel) to one with a foreign agent (the
//! agent's care-of address, IP in IP from the home agent, reverse
//! tunnelling offered) and back home (deregistration, direct delivery).
//! The tunnels are userspace: no ipip, ESP or SCTP module is needed.
//!
//! ```text
//!  [cn] c0 203.0.113.10 ── rc 203.0.113.1 [rt] rf 198.51.100.1 ── f0 198.51.100.2 [fa]
//!                               rh 10.77.0.1 │   r1 198.18.1.1                fv 192.0.2.1
//!   [sw]  br-home: s-rh, s-ha     br-fn1: s-r1     br-fn2: s-fa       (+ s-mn on one of them)
//!  [ha] h0 10.77.0.2 (home agent, TUN tsha0)            [mn] mn0 ── s-mn (TUN tsmn0 10.77.0.5)
//! ```
//!
//! The three networks are bridges in namespace `sw`; the node's cable is
//! the veth pair mn0 ── s-mn. A move is done the way a real one happens:
//! the L2 attachment changes (`ip link set s-mn master br-…`, one
//! command, no carrier change: a link toggle would wait for the kernel's
//! link watch, up to a second) and then the node's system reconfigures
//! mn0 in one `ip -batch` (flush, new address and routes). At fn1 mn0 gets
//! 198.18.1.10/24 (co-located care-of address); at fn2 it gets no address
//! of its own (the node uses the agent's care-of address and its home
//! address, which lives on the TUN device); at home it gets 10.77.0.5/24
//! and the node's system announces it with a gratuitous ARP (RFC 5944
//! §4.6; the peer script sends it, the driver has no link-layer socket).
//! The router usually hears of the node before that, from the ARP request
//! the node broadcasts for its home agent to deregister: Linux updates an
//! existing neighbour entry from any ARP packet it sees.
//! The home agent intercepts by proxy ARP: its driver routes bound home
//! addresses into its TUN device and the kernel answers ARP for them
//! (`proxy_arp` on h0).
//!
//! The test prints one JSON object: datagrams sent, received and lost per
//! phase, and per move the time from the address change (the instant
//! rtnetlink tells a listener in the node's namespace that mn0 lost or got
//! its address) to the registration and to the first datagram delivered
//! at the new location (the kernel's receive timestamp of the first one
//! sent after the change: nothing sent after it can arrive along the old
//! path, whose link is gone). It asserts that traffic resumes within a few
//! seconds after each move and that under 10 % of the datagrams are lost,
//! not timing goals (those numbers go to BENCHMARKS.md). It also replays
//! the node's first Registration Request, captured with a raw socket in
//! the home agent's namespace, from the correspondent's namespace: the
//! home agent refuses it (133) and `telsec ha bindings` does not change.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use telsec_mip::{Reply, ReplyCode, Request};

const PEER_PY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/roam_netns_peer.py");

const HOME: &str = "10.77.0.5";
const HA: &str = "10.77.0.2";
const CN: &str = "203.0.113.10";
const COLOCATED: &str = "198.18.1.10";
const FA_COA: &str = "198.51.100.2";
const DATA_PORT: u16 = 9000;
/// One datagram per millisecond.
const INTERVAL_US: u64 = 1000;
/// How long the node stays at each place once traffic flows there.
const DWELL: Duration = Duration::from_millis(1500);
/// How long traffic may take to resume after a move before the test fails.
const RESUME_WITHIN: Duration = Duration::from_secs(5);

const MN_KEY: &str = "6120333220627974652074656c73656320726f616d696e67206b6579206f6b21";
const FA_HA_KEY: &str = "66612d68612d7368617265642d6b6579";

fn now_ns() -> u64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(d.as_nanos()).unwrap()
}

fn run(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ip -n <ns> -batch -` with `lines`: one process for a whole
/// reconfiguration.
fn ip_batch(ns: &str, lines: &str) {
    let mut child = Command::new("ip")
        .args(["-n", ns, "-batch", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ip runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ip -n {ns} -batch: {lines}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// The `telsec` binary: `$TELSEC_BIN`, or the one cargo built beside this
/// test's directory (`cargo nextest run --workspace` builds it).
fn telsec_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("TELSEC_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = dir.join("telsec");
    assert!(
        bin.exists(),
        "{} not found: build it first (`cargo build -p telsec`; `cargo nextest run --workspace` does) or set TELSEC_BIN",
        bin.display()
    );
    bin
}

/// Named namespaces, deleted on drop (also when the test fails).
struct Namespaces(BTreeMap<&'static str, String>);

impl Namespaces {
    fn create(roles: &[&'static str]) -> Namespaces {
        let mut made = Namespaces(BTreeMap::new());
        for r in roles {
            let name = format!("tsroam{r}{}", std::process::id());
            let _ = Command::new("ip").args(["netns", "del", &name]).output();
            run(&["ip", "netns", "add", &name]);
            made.0.insert(r, name);
        }
        made
    }

    fn get(&self, role: &str) -> &str {
        &self.0[role]
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for n in self.0.values() {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

/// Child processes, killed on drop (before the namespaces go).
#[derive(Default)]
struct Procs(Vec<(&'static str, Child)>);

impl Procs {
    fn add(&mut self, name: &'static str, child: Child) {
        self.0.push((name, child));
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for (_, c) in self.0.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One move of the node.
#[derive(Debug, Clone, Copy)]
struct Move {
    /// Before the cable moved (phases begin here).
    started: u64,
    /// The address change: the first address event on mn0 that rtnetlink
    /// reported (handover times count from here).
    changed: u64,
    /// How long the test's `ip -batch` that reconfigured mn0 took.
    ip_command_ms: f64,
}

/// One received datagram.
#[derive(Debug, Clone, Copy)]
struct Arrival {
    seq: u64,
    sent_ns: u64,
    recv_ns: u64,
}

/// The scenario's state: where things are and what came in.
struct World {
    ns: Namespaces,
    dir: PathBuf,
    bin: PathBuf,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    events: std_mpsc::Receiver<(u64, String)>,
    seen_events: Vec<(u64, String)>,
    receiver_in: Option<ChildStdin>,
    garp_sent: std_mpsc::Receiver<u64>,
    /// When the kernel reported an address added to or removed from mn0.
    address_events: std_mpsc::Receiver<u64>,
}

impl World {
    fn ns(&self, role: &str) -> &str {
        self.ns.get(role)
    }

    fn ip(&self, role: &str, args: &str) {
        let mut v = vec!["ip", "-n", self.ns(role)];
        v.extend(args.split_whitespace());
        run(&v);
    }

    fn sysctl(&self, role: &str, settings: &[&str]) {
        let mut v = vec!["ip", "netns", "exec", self.ns(role), "sysctl", "-qw"];
        v.extend(settings);
        run(&v);
    }

    fn veth(&self, a: (&str, &str), b: (&str, &str)) {
        run(&[
            "ip",
            "link",
            "add",
            a.1,
            "netns",
            self.ns(a.0),
            "type",
            "veth",
            "peer",
            "name",
            b.1,
            "netns",
            self.ns(b.0),
        ]);
    }

    fn log_tails(&self) -> String {
        let mut out = String::new();
        for role in ["ha", "fa", "mn"] {
            let text =
                std::fs::read_to_string(self.dir.join(format!("{role}.log"))).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(25)..];
            out.push_str(&format!("--- {role}.log (tail)\n{}\n", tail.join("\n")));
        }
        out
    }

    fn fail(&self, what: &str) -> ! {
        panic!("{what}\n{}", self.log_tails());
    }

    /// Starts `telsec <role> --config <role>.toml` in the role's namespace,
    /// logging to `<role>.log`.
    fn telsec(&self, role: &'static str, stdout: Stdio) -> Child {
        let log = File::create(self.dir.join(format!("{role}.log"))).unwrap();
        Command::new("ip")
            .args(["netns", "exec", self.ns(role)])
            .arg(&self.bin)
            .args([role, "--config"])
            .arg(self.dir.join(format!("{role}.toml")))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(log)
            .spawn()
            .expect("telsec runs")
    }

    fn peer(&self, role: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", self.ns(role), "python3", PEER_PY])
            .args(args);
        c
    }

    /// Waits until `log` holds `needle`.
    fn wait_log(&self, role: &str, needle: &str) {
        let path = self.dir.join(format!("{role}.log"));
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if std::fs::read_to_string(&path)
                .unwrap_or_default()
                .contains(needle)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.fail(&format!("{role} did not log {needle:?} within 10 s"));
    }

    /// Waits for a node event whose text contains every needle; returns
    /// its time (Unix ms).
    fn wait_event(&mut self, needles: &[&str], within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok((at, text)) => {
                    self.seen_events.push((at, text.clone()));
                    if needles.iter().all(|n| text.contains(n)) {
                        return at;
                    }
                }
                Err(_) => self.fail(&format!(
                    "no node event with {needles:?} within {within:?}; events: {:?}",
                    self.seen_events
                )),
            }
        }
    }

    /// The first datagram sent at or after `since_ns` that arrived.
    fn first_after(&self, since_ns: u64) -> Option<Arrival> {
        self.arrivals
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.sent_ns >= since_ns)
            .min_by_key(|a| a.recv_ns)
            .copied()
    }

    fn wait_traffic(&self, since_ns: u64, place: &str) -> Arrival {
        let t = Instant::now();
        while t.elapsed() < RESUME_WITHIN {
            if let Some(a) = self.first_after(since_ns) {
                return a;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        self.fail(&format!(
            "traffic did not resume at {place} within {RESUME_WITHIN:?}"
        ));
    }

    /// `telsec ha bindings`, without the field that moves with the clock.
    fn bindings(&self) -> Value {
        let out = Command::new(&self.bin)
            .args(["ha", "bindings", "--config"])
            .arg(self.dir.join("ha.toml"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "telsec ha bindings: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
        for b in v.as_array_mut().unwrap() {
            b.as_object_mut().unwrap().remove("remaining_secs");
        }
        v
    }

    /// `telsec fa visitors` once it lists `n` visitors (within 2 s).
    fn visitors(&self, n: usize) -> Value {
        let t = Instant::now();
        loop {
            let out = run(&[
                self.bin.to_str().unwrap(),
                "fa",
                "visitors",
                "--config",
                self.dir.join("fa.toml").to_str().unwrap(),
            ]);
            let v: Value = serde_json::from_str(&out).unwrap();
            if v.as_array().unwrap().len() == n {
                return v;
            }
            if t.elapsed() > Duration::from_secs(2) {
                self.fail(&format!("telsec fa visitors: {v}, not {n} visitors"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Moves the node's cable to bridge `bridge` and reconfigures mn0 with
    /// `config` (ip batch lines).
    fn move_to(&self, bridge: &str, config: &str) -> Move {
        while self.address_events.try_recv().is_ok() {}
        let started = now_ns();
        self.ip("sw", &format!("link set s-mn master {bridge}"));
        let t = now_ns();
        ip_batch(
            self.ns("mn"),
            &format!("addr flush dev mn0\nroute flush dev mn0\nneigh flush dev mn0\n{config}"),
        );
        let ip_command_ms = ms(t, now_ns());
        match self.address_events.recv_timeout(Duration::from_secs(2)) {
            Ok(changed) => Move {
                started,
                changed,
                ip_command_ms,
            },
            Err(_) => self.fail("no address event on mn0 after a move"),
        }
    }
}

fn write_configs(dir: &Path) {
    let filter = std::env::var("ROAM_NETNS_LOG").unwrap_or_else(|_| "info".into());
    let log = format!("[log]\nfilter = \"{filter}\"\n");
    std::fs::write(
        dir.join("ha.toml"),
        format!(
            r#"data_dir = "{d}/ha"
{log}
[ha]
listen = "{HA}:434"
home_networks = ["10.77.0.0/24"]
udp_tunnelling = true
reverse_tunnelling = true
ipip = true
home_link = {{ kind = "tun", name = "tsha0" }}

[[ha.mobile_nodes]]
home_address = "{HOME}"
spi = 4096
algorithm = "hmac-sha256"
key = "{MN_KEY}"

[[ha.foreign_agents]]
address = "{FA_COA}"
spi = 8192
algorithm = "hmac-md5"
key = "{FA_HA_KEY}"

[ha.keys]
enabled = false
"#,
            d = dir.display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("fa.toml"),
        format!(
            r#"data_dir = "{d}/fa"
{log}
[fa]
listen = "192.0.2.1:434"
care_of_address = "{FA_COA}"
visitor_interface = "fv"
advertisement_interval_ms = 1000
advertisement_lifetime = 3
ipip = true
visitor_link = {{ kind = "tun", name = "tsfa0" }}
reverse_route_table = 100

[[fa.home_agents]]
home_agent = "{HA}"
spi = 8192
algorithm = "hmac-md5"
key = "{FA_HA_KEY}"
"#,
            d = dir.display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("mn.toml"),
        format!(
            r#"data_dir = "{d}/mn"
{log}
[mn]
home_address = "{HOME}"
home_agent = "{HA}"
home_network = "10.77.0.0/24"
agent_port = 434
lifetime = 300
udp_tunnelling = "forced"
reverse_tunnelling = true
interface = "mn0"
home_link = {{ kind = "tun", name = "tsmn0", address = "{HOME}", prefix_len = 32 }}

[mn.key]
spi = 4096
algorithm = "hmac-sha256"
key = "{MN_KEY}"
replay = "timestamp"
"#,
            d = dir.display()
        ),
    )
    .unwrap();
    for role in ["ha", "fa", "mn"] {
        std::fs::create_dir_all(dir.join(role)).unwrap();
    }
}

/// Datagrams sent in `[from, to)`, how many of them arrived, and the
/// echoes of them that came back, counted by IP TTL.
fn phase(
    send_ns: &[u64],
    got: &std::collections::BTreeSet<u64>,
    echoes: &[(u64, u64)],
    from: u64,
    to: u64,
) -> Value {
    let sent: Vec<u64> = send_ns
        .iter()
        .enumerate()
        .filter(|(_, t)| (from..to).contains(*t))
        .map(|(i, _)| i as u64)
        .collect();
    let received = sent.iter().filter(|s| got.contains(s)).count();
    let mut ttls: BTreeMap<String, u64> = BTreeMap::new();
    for (seq, ttl) in echoes {
        if send_ns
            .get(*seq as usize)
            .is_some_and(|t| (from..to).contains(t))
        {
            *ttls.entry(ttl.to_string()).or_default() += 1;
        }
    }
    json!({
        "sent": sent.len(),
        "received": received,
        "lost": sent.len() - received,
        "echo_ttls": ttls,
    })
}

/// An event's Unix-ms time relative to `from_ns`, ms.
fn unix_ms_since(at_ms: u64, from_ns: u64) -> f64 {
    at_ms as f64 - from_ns as f64 / 1e6
}

/// The median of round-trip times in microseconds, in ms (None: no echo
/// came back).
fn median_ms(us: &[u64]) -> Option<f64> {
    let mut v = us.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).map(|m| *m as f64 / 1e3)
}

fn ms(from_ns: u64, to_ns: u64) -> f64 {
    (to_ns as f64 - from_ns as f64) / 1e6
}

/// The namespaces' links, addresses, routes and sysctls (the diagram at
/// the top). The node's cable (s-mn) starts on no bridge.
fn build_topology(w: &World) {
    for role in ["cn", "rt", "ha", "fa", "sw", "mn"] {
        w.sysctl(
            role,
            &[
                "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.default.rp_filter=0",
            ],
        );
        w.ip(role, "link set lo up");
    }
    w.veth(("cn", "c0"), ("rt", "rc"));
    w.veth(("rt", "rh"), ("sw", "s-rh"));
    w.veth(("ha", "h0"), ("sw", "s-ha"));
    w.veth(("rt", "r1"), ("sw", "s-r1"));
    w.veth(("rt", "rf"), ("fa", "f0"));
    w.veth(("fa", "fv"), ("sw", "s-fa"));
    w.veth(("mn", "mn0"), ("sw", "s-mn"));
    for (bridge, ports) in [
        ("br-home", &["s-rh", "s-ha"][..]),
        ("br-fn1", &["s-r1"][..]),
        ("br-fn2", &["s-fa"][..]),
    ] {
        w.ip("sw", &format!("link add {bridge} type bridge"));
        w.ip("sw", &format!("link set {bridge} up"));
        for p in ports {
            w.ip("sw", &format!("link set {p} master {bridge}"));
        }
    }
    for p in ["s-rh", "s-ha", "s-r1", "s-fa", "s-mn"] {
        w.ip("sw", &format!("link set {p} up"));
    }
    ip_batch(
        w.ns("cn"),
        "addr add 203.0.113.10/24 dev c0\nlink set c0 up\nroute add default via 203.0.113.1\n",
    );
    ip_batch(
        w.ns("rt"),
        "addr add 203.0.113.1/24 dev rc\nlink set rc up\n\
         addr add 10.77.0.1/24 dev rh\nlink set rh up\n\
         addr add 198.18.1.1/24 dev r1\nlink set r1 up\n\
         addr add 198.51.100.1/24 dev rf\nlink set rf up\n\
         route add 192.0.2.0/24 via 198.51.100.2\n",
    );
    ip_batch(
        w.ns("ha"),
        "addr add 10.77.0.2/24 dev h0\nlink set h0 up\nroute add default via 10.77.0.1\n",
    );
    ip_batch(
        w.ns("fa"),
        "addr add 198.51.100.2/24 dev f0\nlink set f0 up\n\
         addr add 192.0.2.1/24 dev fv\nlink set fv up\n\
         route add default via 198.51.100.1\n",
    );
    w.ip("mn", "link set mn0 up");
    w.sysctl("rt", &["net.ipv4.ip_forward=1"]);
    w.sysctl("fa", &["net.ipv4.ip_forward=1"]);
    // The home agent forwards intercepted datagrams into its TUN device and
    // answers ARP for the nodes it routes there (RFC 5944 §4.6).
    w.sysctl(
        "ha",
        &[
            "net.ipv4.ip_forward=1",
            "net.ipv4.conf.h0.proxy_arp=1",
            "net.ipv4.neigh.h0.proxy_delay=0",
        ],
    );
}

/// A raw socket in the home agent's namespace printing every Registration
/// Request that arrives there; its lines come out of the receiver.
fn start_sniffer(w: &World, procs: &mut Procs) -> std_mpsc::Receiver<String> {
    let mut sniffer = w
        .peer("ha", &["sniff", "434"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let (tx, rx) = std_mpsc::channel::<String>();
    let mut lines = BufReader::new(sniffer.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    procs.add("sniffer", sniffer);
    rx
}

/// `telsec mn` (its events go to `events`) and, once its TUN device holds
/// the home address, the receiver bound to it (its arrivals go to
/// `w.arrivals`, its gratuitous ARP times to `garp`).
fn start_node(
    w: &mut World,
    procs: &mut Procs,
    event_tx: std_mpsc::Sender<(u64, String)>,
    garp_tx: std_mpsc::Sender<u64>,
    address_tx: std_mpsc::Sender<u64>,
) {
    let mut mn = w.telsec("mn", Stdio::piped());
    {
        let lines = BufReader::new(mn.stdout.take().unwrap()).lines();
        std::thread::spawn(move || {
            for l in lines.map_while(Result::ok) {
                let Ok(v) = serde_json::from_str::<Value>(&l) else {
                    continue;
                };
                let at = v["at_unix_ms"].as_u64().unwrap_or(0);
                let e = v["event"].as_str().unwrap_or_default().to_owned();
                if event_tx.send((at, e)).is_err() {
                    break;
                }
            }
        });
    }
    procs.add("mn", mn);
    // The receiver binds the home address once the node's TUN holds it.
    let t = Instant::now();
    while !run(&["ip", "-n", w.ns("mn"), "-4", "addr", "show"]).contains(HOME) {
        if t.elapsed() > Duration::from_secs(10) {
            w.fail("the node's TUN device did not come up");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut receiver = w
        .peer("mn", &["recv", HOME, &DATA_PORT.to_string(), "mn0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    w.receiver_in = receiver.stdin.take();
    {
        let mut lines = BufReader::new(receiver.stdout.take().unwrap()).lines();
        assert_eq!(lines.next().unwrap().unwrap(), "ready");
        let arrivals = w.arrivals.clone();
        std::thread::spawn(move || {
            for l in lines.map_while(Result::ok) {
                let f: Vec<u64> = l
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect();
                let word = l.split_whitespace().next().unwrap_or_default();
                match (word, f.as_slice()) {
                    ("garp", [t]) => {
                        let _ = garp_tx.send(*t);
                    }
                    ("addr", [t]) => {
                        let _ = address_tx.send(*t);
                    }
                    (_, [seq, sent_ns, recv_ns]) => arrivals.lock().unwrap().push(Arrival {
                        seq: *seq,
                        sent_ns: *sent_ns,
                        recv_ns: *recv_ns,
                    }),
                    _ => {}
                }
            }
        });
    }
    procs.add("receiver", receiver);
}

/// Stops the correspondent; its send times (index = seq) and the echoes
/// that came back, as (seq, TTL).
fn end_stream(sender: &mut Child, w: &World) -> (Vec<u64>, Vec<(u64, u64)>) {
    drop(sender.stdin.take());
    let mut report = String::new();
    std::io::Read::read_to_string(sender.stdout.as_mut().unwrap(), &mut report).unwrap();
    let _ = sender.wait();
    let sent: Value = serde_json::from_str(report.trim()).expect("sender report");
    let send_ns: Vec<u64> = sent["send_ns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let echoes: Vec<(u64, u64)> = sent["echoes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e[0].as_u64().unwrap(), e[1].as_u64().unwrap_or(0)))
        .collect();
    if std::env::var_os("ROAM_NETNS_KEEP").is_some() {
        let mut f = File::create(w.dir.join("arrivals.txt")).unwrap();
        for a in w.arrivals.lock().unwrap().iter() {
            writeln!(f, "{} {} {}", a.seq, a.sent_ns, a.recv_ns).unwrap();
        }
        std::fs::write(w.dir.join("sent.json"), &report).unwrap();
    }
    (send_ns, echoes)
}

#[test]
fn roam_fn1_fn2_home_in_namespaces() {
    assert!(
        is_root(),
        "this test builds network namespaces and needs root (CI runs as root)"
    );
    let bin = telsec_bin();
    let dir = std::env::temp_dir().join(format!("telsec-roam-netns-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    write_configs(&dir);

    let ns = Namespaces::create(&["cn", "rt", "ha", "fa", "sw", "mn"]);
    let (event_tx, events) = std_mpsc::channel();
    let (garp_tx, garp_sent) = std_mpsc::channel();
    let (address_tx, address_events) = std_mpsc::channel();
    let mut w = World {
        ns,
        dir: dir.clone(),
        bin,
        arrivals: Arc::new(Mutex::new(Vec::new())),
        events,
        seen_events: Vec::new(),
        receiver_in: None,
        garp_sent,
        address_events,
    };
    // Declared after `w`: the processes die before the namespaces go.
    let mut procs = Procs::default();

    build_topology(&w);
    // ROAM_NETNS_PCAP=1 captures the node's cable (s-mn, in the switch's
    // namespace) to <dir>/mn.pcap, for reading a handover packet by packet.
    if std::env::var_os("ROAM_NETNS_PCAP").is_some() {
        let dumpcap = Command::new("ip")
            .args([
                "netns",
                "exec",
                w.ns("sw"),
                "dumpcap",
                "-q",
                "-i",
                "s-mn",
                "-w",
            ])
            .arg(dir.join("mn.pcap"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dumpcap runs");
        procs.add("dumpcap", dumpcap);
        std::thread::sleep(Duration::from_millis(500));
    }

    // --- The capture of registrations at the home agent (for the replay).
    let sniffed = start_sniffer(&w, &mut procs);

    // --- The agents and the node.
    let ha = w.telsec("ha", Stdio::null());
    procs.add("ha", ha);
    w.wait_log("ha", "home agent up");
    let fa = w.telsec("fa", Stdio::null());
    procs.add("fa", fa);
    w.wait_log("fa", "foreign agent up");
    start_node(&mut w, &mut procs, event_tx, garp_tx, address_tx);

    // --- fn1: co-located care-of address, UDP tunnel from the home agent.
    let fn1 = w.move_to(
        "br-fn1",
        &format!("addr add {COLOCATED}/24 dev mn0\nroute add default via 198.18.1.1\n"),
    );
    let reg_fn1 = w.wait_event(
        &["Registered", &format!("coa: {COLOCATED}")],
        Duration::from_secs(10),
    );
    let bound = w.bindings();
    assert_eq!(bound.as_array().unwrap().len(), 1, "{bound}");
    assert_eq!(bound[0]["care_of_address"], COLOCATED, "{bound}");
    assert_eq!(bound[0]["tunnel"]["kind"], "udp", "{bound}");
    let captured = sniffed
        .recv_timeout(Duration::from_secs(5))
        .expect("the registration was captured");
    let rrq = Request::from_bytes(&hex(&captured)).expect("a Registration Request");
    assert_eq!(rrq.care_of_address.to_string(), COLOCATED, "{rrq:?}");
    assert_eq!(rrq.identification.to_string(), {
        let id = bound[0]["identification"].as_str().unwrap();
        u64::from_str_radix(id, 16).unwrap().to_string()
    });

    // The correspondent streams from now on.
    let mut sender = w
        .peer(
            "cn",
            &[
                "send",
                HOME,
                &DATA_PORT.to_string(),
                &INTERVAL_US.to_string(),
            ],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let t_stream = now_ns();
    let first_fn1 = w.wait_traffic(t_stream, "fn1");
    std::thread::sleep(DWELL);

    // --- fn2: the foreign agent's care-of address, IP in IP to it.
    let fn2 = w.move_to(
        "br-fn2",
        "route add 192.0.2.0/24 dev mn0\nroute add default via 192.0.2.1\n",
    );
    let first_fn2 = w.wait_traffic(fn2.changed, "fn2");
    let reg_fn2 = w.wait_event(
        &["Registered", &format!("coa: {FA_COA}")],
        Duration::from_secs(5),
    );
    // The round trip the handover goal is stated in: node → foreign agent
    // → router → home agent and back through the tunnel (ICMP echo from
    // the node's namespace to the home agent's address).
    let rtt_us: Vec<u64> = {
        let out = w.peer("mn", &["ping", HA, "20"]).output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_default()
    };
    let bound = w.bindings();
    assert_eq!(bound.as_array().unwrap().len(), 1, "{bound}");
    assert_eq!(bound[0]["care_of_address"], FA_COA, "{bound}");
    assert_eq!(bound[0]["tunnel"]["kind"], "ipip", "{bound}");
    assert_eq!(bound[0]["source"], format!("{FA_COA}:434"), "{bound}");
    // The agent's visitor list file follows its list shortly after (it is
    // written off the data path).
    let visitors = w.visitors(1);
    assert_eq!(visitors[0]["home_address"], HOME, "{visitors}");
    assert_eq!(visitors[0]["reverse_tunnel"], true, "{visitors}");

    // The node's first request (co-located, from fn1), replayed from the
    // correspondent's network while the node is at fn2: refused as a
    // replay (133, RFC 5944 §5.7), and nothing moves.
    let out = w
        .peer("cn", &["replay", CN, HA, "434", &captured])
        .output()
        .unwrap();
    let answer = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_ne!(answer, "timeout", "the home agent answers the replay");
    let reply = Reply::from_bytes(&hex(&answer)).expect("a Registration Reply");
    assert_eq!(reply.code, ReplyCode::HaIdentificationMismatch, "{reply:?}");
    assert_eq!(w.bindings(), bound, "the replay moved nothing");
    std::thread::sleep(DWELL);

    // --- Home: direct delivery on the home link, deregistration.
    let home = w.move_to(
        "br-home",
        &format!("addr add {HOME}/24 dev mn0\nroute add default via 10.77.0.1\n"),
    );
    writeln!(w.receiver_in.as_mut().unwrap(), "garp {HOME}").unwrap();
    let garp_at = w
        .garp_sent
        .recv_timeout(Duration::from_secs(5))
        .expect("gratuitous ARP sent");
    let first_home = w.wait_traffic(home.changed, "home");
    let dereg = w.wait_event(&["Deregistered"], Duration::from_secs(5));
    assert_eq!(w.bindings(), json!([]), "deregistered");
    std::thread::sleep(DWELL);

    // --- The stream ends; the counts.
    let (send_ns, echoes) = end_stream(&mut sender, &w);
    let t_end = now_ns();
    let got: std::collections::BTreeSet<u64> =
        w.arrivals.lock().unwrap().iter().map(|a| a.seq).collect();
    let phases = json!({
        "fn1": phase(&send_ns, &got, &echoes, t_stream, fn2.started),
        "fn2": phase(&send_ns, &got, &echoes, fn2.started, home.started),
        "home": phase(&send_ns, &got, &echoes, home.started, t_end),
    });
    let total_sent = send_ns.len();
    let total_received = got.iter().filter(|s| (**s as usize) < total_sent).count();
    let result = json!({
        "test": "roam_netns",
        "interval_us": INTERVAL_US,
        "sent": total_sent,
        "received": total_received,
        "lost": total_sent - total_received,
        "phases": phases,
        "fn1": {
            "registered_ms": unix_ms_since(reg_fn1, fn1.changed),
            "first_datagram_after_stream_start_ms":
                ms(send_ns.first().copied().unwrap_or(t_stream), first_fn1.recv_ns),
        },
        "handovers": [
            {
                "from": "fn1", "to": "fn2", "care_of": FA_COA,
                "changed_at_unix_ms": fn2.changed / 1_000_000,
                "ip_command_ms": fn2.ip_command_ms,
                "rtt_ms_median": median_ms(&rtt_us),
                "registered_ms": unix_ms_since(reg_fn2, fn2.changed),
                "first_datagram_ms": ms(fn2.changed, first_fn2.recv_ns),
            },
            {
                "from": "fn2", "to": "home",
                "changed_at_unix_ms": home.changed / 1_000_000,
                "ip_command_ms": home.ip_command_ms,
                "gratuitous_arp_ms": ms(home.changed, garp_at),
                "deregistered_ms": unix_ms_since(dereg, home.changed),
                "first_datagram_ms": ms(home.changed, first_home.recv_ns),
            },
        ],
    });
    println!("{result}");
    writeln!(w.receiver_in.as_mut().unwrap(), "quit").ok();
    drop(procs);
    drop(w);
    // ROAM_NETNS_KEEP=1 keeps the configurations and logs.
    if std::env::var_os("ROAM_NETNS_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }

    // Reverse tunnelling through the foreign agent (RFC 3024): the node's
    // echoes from fn2 reach the correspondent with TTL 61 (64, the agent
    // forwarding into its TUN device, the home agent forwarding out of
    // its own, the router), not 63 as along the direct path from home.
    // An echo sent in the instant of a move may still take the old path,
    // so the phases are judged by what nearly all echoes did.
    let mostly = |phase: &str, ttl: &str| {
        let ttls = result["phases"][phase]["echo_ttls"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let all: u64 = ttls.values().filter_map(|v| v.as_u64()).sum();
        let this = ttls.get(ttl).and_then(|v| v.as_u64()).unwrap_or(0);
        all > 0 && this * 10 >= all * 9
    };
    // From fn1 the node reverse-tunnels itself (RFC 3024 §5.1): its policy
    // rule sends what leaves from the home address into its TUN, the UDP
    // tunnel takes it to the home agent, which forwards it (63) to the
    // router (62); the direct path would arrive with 63.
    assert!(mostly("fn1", "62"), "{result}");
    assert!(mostly("fn2", "61"), "{result}");
    assert!(mostly("home", "63"), "{result}");

    // Bounded loss: under 10 % of what was sent, overall.
    let lost = total_sent - total_received;
    assert!(total_sent > 1000, "{result}");
    assert!(lost * 10 < total_sent, "loss not bounded: {result}");
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}
