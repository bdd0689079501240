//! `telsec demo bootstrap --bench N`: complete bootstraps per second on
//! loopback, with latency percentiles and where the time goes (issue 4
//! §6 "Speed").
//!
//! Every service is the real driver, as in [`crate::bootstrap_demo`]:
//! telsec's HLR (GSUP over IPA, SQLite store with N subscribers, each with
//! its own random Milenage K and OPc, TS 35.206), the embedded DNS server
//! with its journal on disk (RFC 2136 + TSIG, fdatasync before each
//! answer), the home agent and its bootstrap service (pool and services
//! files replaced atomically before each answer), and N node clients, each
//! with a soft USIM and its own state directory. Each subscriber
//! bootstraps once per pass, asking for `bench-<i>.telsec.test`;
//! `concurrency` clients run at a time.
//!
//! Latency runs from the call of [`client::bootstrap`] (the node sends
//! Start) to its return (the configuration stored, synced). The node's
//! Ed25519 key is created before the clock starts: on a node's first
//! bootstrap that is one more atomic file write.
//!
//! A pass with attribution ([`BenchOptions::attribute`]) runs again on a
//! fresh set of services with timing relays ([`relay`]) on every hop:
//! node ↔ bootstrap service (the home agent's time per exchange),
//! bootstrap service ↔ HLR (SendAuthInfo; UpdateLocation with Insert
//! Subscriber Data), bootstrap service ↔ DNS (the UPDATE, including the
//! server's journal sync). The relays add loopback hops, so throughput and
//! latency are taken from the pass without them. A probe of the disk under
//! the state directory ([`DiskProbe`]) gives the cost of one fdatasync and
//! of one atomic file replacement (write, sync, rename, sync directory).
//! After each pass, every node's name is checked in the zone: A record =
//! its home address, addresses distinct.

mod relay;

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use telsec_bootstrap::NodeConfig;
use telsec_dns::{Grant, Name, RecordType, ServerConfig, ServerHandle, TsigKey, ZoneConfig};
use telsec_mip::ha::{Config as Policy, HomeAgent, HomeNetwork};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::bootstrap::client;
use crate::bootstrap::service::RunningBootstrap;
use crate::bootstrap::{HaBootstrapSettings, MnBootstrapSettings, SimSettings};
use crate::ha_service::{self, HaParams, RunningHa};
use crate::hlr_service::RunningHlr;
use crate::packet_link::LinkConfig;
use relay::{Classify, Meter, Relay, hlr_bucket, node_bucket};

const ZONE: &str = "telsec.test.";
const NETWORK_NAME: &str = "telsec.test";
/// First address of the home-address pool; the prefix length follows N.
const POOL_NETWORK: Ipv4Addr = Ipv4Addr::new(10, 64, 0, 0);
/// The shortest pool prefix [`POOL_NETWORK`] is aligned to.
const POOL_MIN_PREFIX: u8 = 10;
/// Samples of the disk probe.
const PROBE_SYNCS: usize = 100;
const PROBE_REPLACES: usize = 50;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Loopback address every service binds to (port 0).
    pub address: Ipv4Addr,
    /// Working directory; `None`: a fresh one in the system's temporary
    /// directory, removed at the end. Each pass uses (and first empties)
    /// its own `pass-c<C>[-attributed]` subdirectory.
    pub dir: Option<PathBuf>,
    /// Subscribers in the HLR; each bootstraps once per pass.
    pub subscribers: usize,
    /// One pass per entry: bootstraps in flight at a time.
    pub concurrency: Vec<usize>,
    /// After each pass, a pass with timing relays to attribute the time.
    pub attribute: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            address: Ipv4Addr::LOCALHOST,
            dir: None,
            subscribers: 200,
            concurrency: vec![1, 8],
            attribute: true,
        }
    }
}

/// Why the benchmark stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// The options cannot be run (no subscribers, concurrency 0, a pool
    /// that does not fit).
    #[error("options: {0}")]
    Options(String),
    /// A service or a state directory could not be set up.
    #[error("start: {0}")]
    Start(String),
    /// A bootstrap failed: every one must complete.
    #[error("bootstrap {index} ({imsi}): {error}")]
    Bootstrap {
        /// Its index in the pass.
        index: usize,
        /// The subscriber.
        imsi: String,
        /// What failed.
        error: String,
    },
    /// A node's configuration does not match the zone.
    #[error("check: {0}")]
    Check(String),
}

fn start_err(e: impl fmt::Display) -> BenchError {
    BenchError::Start(e.to_string())
}

/// Latency distribution, milliseconds (nearest-rank percentiles).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    /// Mean.
    pub mean_ms: f64,
    /// Smallest.
    pub min_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

impl Latency {
    fn of(samples: &mut [Duration]) -> Latency {
        samples.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let rank = |p: f64| {
            let n = samples.len();
            // Nearest rank: the smallest sample with at least p of them at or below it.
            let i = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
            ms(samples[i])
        };
        if samples.is_empty() {
            return Latency::default();
        }
        let total: Duration = samples.iter().sum();
        Latency {
            mean_ms: ms(total) / samples.len() as f64,
            min_ms: ms(samples[0]),
            p50_ms: rank(0.50),
            p99_ms: rank(0.99),
            max_ms: ms(samples[samples.len() - 1]),
        }
    }
}

/// One part of the time, from the attributed pass.
#[derive(Debug, Clone, Serialize)]
pub struct Component {
    /// What it is.
    pub name: String,
    /// Timed exchanges (e.g. one SendAuthInfo per bootstrap; two for
    /// UpdateLocation: the request and the Insert Data result).
    pub count: u64,
    /// Mean per bootstrap, milliseconds.
    pub per_bootstrap_ms: f64,
    /// `per_bootstrap_ms` over the attributed pass's mean latency.
    pub share_of_latency: f64,
    /// Total time over the pass's wall time: the part of the run a serial
    /// resource (the HLR link, the bootstrap worker) was busy with it;
    /// above 1 when it overlaps itself (node side at concurrency > 1).
    pub busy_per_wall: f64,
}

/// Where the time went, measured with relays on every hop.
#[derive(Debug, Clone, Serialize)]
pub struct Attribution {
    /// Bootstraps per second with the relays.
    pub per_second: f64,
    /// Latency with the relays (compare with the pass without them).
    pub latency: Latency,
    /// A partition of each bootstrap: the home agent's four answers, and
    /// the node side (the rest: USIM, SQN file, signature, configuration
    /// file, and the relay hops).
    pub stages: Vec<Component>,
    /// Peers' time inside those stages: HLR procedures, the DNS update
    /// (with its journal sync), and the home agent's remainder.
    pub inside: Vec<Component>,
}

/// One pass at one concurrency.
#[derive(Debug, Clone, Serialize)]
pub struct PassReport {
    /// Bootstraps in flight at a time.
    pub concurrency: usize,
    /// Complete bootstraps (all of them, or the pass fails).
    pub bootstraps: usize,
    /// Wall time, seconds.
    pub wall_s: f64,
    /// Complete bootstraps per second.
    pub per_second: f64,
    /// Start → configuration stored.
    pub latency: Latency,
    /// From the relayed pass, when asked for.
    pub attribution: Option<Attribution>,
}

/// Cost of durability on the disk under the state directory.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct DiskProbe {
    /// fdatasync of a 120-octet append (one journal entry), ms.
    pub fdatasync: Latency,
    /// [`crate::atomic_file::replace`] of 200 octets (two syncs and a
    /// rename), ms.
    pub atomic_replace: Latency,
}

/// The benchmark's result.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Subscribers (= bootstraps per pass).
    pub subscribers: usize,
    /// Working directory.
    pub dir: String,
    /// 1, 5 and 15 minute load averages at the start (Linux).
    pub load_average: Option<[f64; 3]>,
    /// Durability costs on that disk.
    pub disk: DiskProbe,
    /// The passes, in the order of [`BenchOptions::concurrency`].
    pub passes: Vec<PassReport>,
}

/// Runs the passes of `opts` and reports them.
///
/// # Errors
/// Bad options, a service that does not start, a bootstrap that fails,
/// or a configuration the zone does not confirm.
pub async fn run(opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    if opts.subscribers == 0 {
        return Err(BenchError::Options("no subscribers".into()));
    }
    if opts.concurrency.is_empty() || opts.concurrency.contains(&0) {
        return Err(BenchError::Options(
            "concurrency: one or more values, each at least 1".into(),
        ));
    }
    let pool_prefix = pool_prefix(opts.subscribers)?;
    let root = WorkDir::new(opts.dir.as_deref())?;
    let load_average = load_average();
    let disk = probe_disk(root.path()).await?;
    let subscribers: Arc<[Subscriber]> = (0..opts.subscribers).map(Subscriber::new).collect();
    let mut passes = Vec::new();
    for &concurrency in &opts.concurrency {
        let plain = pass(
            opts,
            &root.path().join(format!("pass-c{concurrency}")),
            &subscribers,
            pool_prefix,
            concurrency,
            false,
        )
        .await?;
        let attribution = if opts.attribute {
            let relayed = pass(
                opts,
                &root.path().join(format!("pass-c{concurrency}-attributed")),
                &subscribers,
                pool_prefix,
                concurrency,
                true,
            )
            .await?;
            Some(attribute(&relayed))
        } else {
            None
        };
        passes.push(PassReport {
            concurrency,
            bootstraps: plain.latencies.len(),
            wall_s: plain.wall.as_secs_f64(),
            per_second: plain.latencies.len() as f64 / plain.wall.as_secs_f64(),
            latency: Latency::of(&mut plain.latencies.clone()),
            attribution,
        });
    }
    Ok(BenchReport {
        subscribers: opts.subscribers,
        dir: root.path().display().to_string(),
        load_average,
        disk,
        passes,
    })
}

/// The pool's prefix length: the longest that holds `n` nodes besides the
/// network and broadcast addresses.
fn pool_prefix(n: usize) -> Result<u8, BenchError> {
    let needed = n as u64 + 2;
    let host_bits = (64 - (needed - 1).leading_zeros()).max(2);
    let prefix = 32u32.saturating_sub(host_bits);
    u8::try_from(prefix)
        .ok()
        .filter(|p| *p >= POOL_MIN_PREFIX)
        .ok_or_else(|| {
            BenchError::Options(format!(
                "{n} subscribers do not fit the pool {POOL_NETWORK}/{POOL_MIN_PREFIX}"
            ))
        })
}

/// The working directory, removed at the end when it is a temporary one.
struct WorkDir {
    path: PathBuf,
    remove: bool,
}

impl WorkDir {
    fn new(dir: Option<&Path>) -> Result<WorkDir, BenchError> {
        let (path, remove) = match dir {
            Some(d) => (d.to_owned(), false),
            None => (
                std::env::temp_dir().join(format!(
                    "telsec-bootstrap-bench-{}-{:016x}",
                    std::process::id(),
                    rand::random::<u64>()
                )),
                true,
            ),
        };
        std::fs::create_dir_all(&path).map_err(start_err)?;
        Ok(WorkDir { path, remove })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut f = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([f.next()??, f.next()??, f.next()??])
}

/// Times fdatasync and atomic replacement in `dir`.
async fn probe_disk(dir: &Path) -> Result<DiskProbe, BenchError> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || {
        let journal = dir.join("probe.journal");
        let mut syncs = Vec::with_capacity(PROBE_SYNCS);
        {
            let mut f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&journal)
                .map_err(start_err)?;
            let entry = [0x5au8; 120];
            for _ in 0..PROBE_SYNCS {
                f.write_all(&entry).map_err(start_err)?;
                let t = Instant::now();
                f.sync_data().map_err(start_err)?;
                syncs.push(t.elapsed());
            }
        }
        let file = dir.join("probe.state");
        let mut replaces = Vec::with_capacity(PROBE_REPLACES);
        for i in 0..PROBE_REPLACES {
            let content = [i as u8; 200];
            let t = Instant::now();
            crate::atomic_file::replace(&file, &content).map_err(start_err)?;
            replaces.push(t.elapsed());
        }
        let _ = std::fs::remove_file(&journal);
        let _ = std::fs::remove_file(&file);
        Ok(DiskProbe {
            fdatasync: Latency::of(&mut syncs),
            atomic_replace: Latency::of(&mut replaces),
        })
    })
    .await
    .map_err(start_err)?
}

/// One subscriber: HLR record and the node's SIM.
struct Subscriber {
    imsi: String,
    msisdn: String,
    name: String,
    k: String,
    opc: String,
    fqdn: String,
}

impl Subscriber {
    fn new(i: usize) -> Subscriber {
        let hex = |b: [u8; 16]| data_encoding::HEXLOWER.encode(&b);
        Subscriber {
            imsi: format!("00101{:010}", i + 1),
            msisdn: format!("4917{:08}", i + 1),
            name: format!("Bench Node {i}"),
            k: hex(rand::random()),
            opc: hex(rand::random()),
            fqdn: format!("bench-{i}.telsec.test"),
        }
    }
}

/// What one pass measured.
struct PassResult {
    wall: Duration,
    latencies: Vec<Duration>,
    /// With relays: node ↔ HA, HA ↔ HLR, HA ↔ DNS totals.
    meters: Option<[Vec<(Duration, u64)>; 3]>,
}

/// The services of one pass.
struct Stack {
    hlr: RunningHlr,
    dns_stop: oneshot::Sender<()>,
    dns_task: tokio::task::JoinHandle<Result<(), telsec_dns::Error>>,
    zone: ServerHandle,
    ha: RunningHa,
    bootstrap: RunningBootstrap,
    /// Where nodes send Start (the service, or its relay).
    entry: SocketAddr,
    relays: Vec<Relay>,
    meters: Option<[Arc<Meter>; 3]>,
}

impl Stack {
    async fn shutdown(self) {
        drop(self.relays);
        self.bootstrap.shutdown().await;
        let _ = self.ha.shutdown().await;
        let _ = self.dns_stop.send(());
        let _ = self.dns_task.await;
        self.hlr.shutdown().await;
    }
}

async fn pass(
    opts: &BenchOptions,
    dir: &Path,
    subscribers: &Arc<[Subscriber]>,
    pool_prefix: u8,
    concurrency: usize,
    relayed: bool,
) -> Result<PassResult, BenchError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(start_err)?;
    }
    std::fs::create_dir_all(dir).map_err(start_err)?;
    let stack = start_stack(opts.address, dir, subscribers, pool_prefix, relayed).await?;
    let outcome = bootstraps(dir, subscribers, stack.entry, concurrency).await;
    let checked = match &outcome {
        Ok((_, _, configs)) => check(&stack.zone, subscribers, configs),
        Err(_) => Ok(()),
    };
    let meters = stack
        .meters
        .as_ref()
        .map(|[n, h, d]| [n.totals(), h.totals(), d.totals()]);
    stack.shutdown().await;
    let (wall, latencies, _) = outcome?;
    checked?;
    Ok(PassResult {
        wall,
        latencies,
        meters,
    })
}

async fn start_stack(
    address: Ipv4Addr,
    dir: &Path,
    subscribers: &[Subscriber],
    pool_prefix: u8,
    relayed: bool,
) -> Result<Stack, BenchError> {
    let any = SocketAddr::from((address, 0));
    let db = dir.join("hlr.db");
    let hlr = start_hlr(&db, any, subscribers).await?;

    let secret = data_encoding::BASE64.encode(&rand::random::<[u8; 32]>());
    let admin = TsigKey::new("telsec-ha.", "hmac-sha256", &secret).map_err(start_err)?;
    let dns = telsec_dns::DnsServer::bind(ServerConfig {
        zone: ZoneConfig::new(ZONE, address.into()).map_err(start_err)?,
        listen: any,
        storage: Some(dir.join("dns")),
        keys: vec![(admin, Grant::Zone)],
    })
    .await
    .map_err(start_err)?;
    let dns_addr = dns.local_addr();
    let zone = dns.handle();
    let (dns_stop, dns_stopped) = oneshot::channel::<()>();
    let dns_task = tokio::spawn(dns.run(async {
        let _ = dns_stopped.await;
    }));

    let (meters, mut relays, hlr_addr, dns_addr) = if relayed {
        let m = [
            Meter::new(node_bucket::COUNT),
            Meter::new(hlr_bucket::COUNT),
            Meter::new(1),
        ];
        let h = relay::gsup(any, hlr.local_addr(), m[1].clone())
            .await
            .map_err(start_err)?;
        let d = relay::udp(any, dns_addr, Classify::Single, m[2].clone())
            .await
            .map_err(start_err)?;
        let (ha, da) = (h.local_addr(), d.local_addr());
        (Some(m), vec![h, d], ha, da)
    } else {
        (None, Vec::new(), hlr.local_addr(), dns_addr)
    };

    let home_net = HomeNetwork {
        prefix: POOL_NETWORK,
        len: pool_prefix,
    };
    let ha = ha_service::start(
        HomeAgent::new(Policy::new(address, home_net, &rand::random::<[u8; 32]>())),
        HaParams {
            listen: SocketAddrV4::new(address, 0),
            state_dir: dir.join("ha"),
            home_link: LinkConfig::None,
            ipip: false,
            compact_after_bytes: 1 << 20,
            vpn: crate::ha_vpn::HaVpnSettings::default(),
        },
    )
    .await
    .map_err(start_err)?;
    let settings = HaBootstrapSettings {
        listen: SocketAddrV4::new(address, 0),
        network_name: NETWORK_NAME.into(),
        hlr: hlr_addr,
        zone: ZONE.into(),
        pool: format!("{POOL_NETWORK}/{pool_prefix}"),
        pool_excluded: Vec::new(),
        dns_server: dns_addr,
        dns_key_name: "telsec-ha.".into(),
        dns_key_secret: secret,
        subscriber_database: Some(db),
        ..HaBootstrapSettings::default()
    };
    let bootstrap =
        crate::bootstrap::service::start(settings, &dir.join("ha"), address, ha.commands())
            .await
            .map_err(start_err)?;
    let entry = match &meters {
        Some(m) => {
            let r = relay::udp(
                any,
                bootstrap.local_addr(),
                Classify::Bootstrap,
                m[0].clone(),
            )
            .await
            .map_err(start_err)?;
            let a = r.local_addr();
            relays.push(r);
            a
        }
        None => bootstrap.local_addr(),
    };
    Ok(Stack {
        hlr,
        dns_stop,
        dns_task,
        zone,
        ha,
        bootstrap,
        entry,
        relays,
        meters,
    })
}

async fn start_hlr(
    db: &Path,
    listen: SocketAddr,
    subscribers: &[Subscriber],
) -> Result<RunningHlr, BenchError> {
    use telsec_hlr::{
        Algorithm3g, Auc, AucConfig, Auth3g, HlrConfig, HlrCore, Imsi, Kek, Msisdn, NewSubscriber,
        OperatorKey, SecretBytes, Store,
    };
    let kek = Kek::generate().map_err(start_err)?;
    let mut store = Store::open(db, kek).map_err(start_err)?;
    for s in subscribers {
        let bytes = |hex: &str| {
            data_encoding::HEXLOWER
                .decode(hex.as_bytes())
                .map_err(start_err)
        };
        let mut sub = NewSubscriber::new(Imsi::new(&s.imsi).map_err(start_err)?);
        sub.msisdn = Some(Msisdn::new(&s.msisdn).map_err(start_err)?);
        sub.name = s.name.clone();
        sub.auth_3g = Some(Auth3g::new(
            Algorithm3g::milenage(
                SecretBytes::new(bytes(&s.k)?),
                OperatorKey::Opc(SecretBytes::new(bytes(&s.opc)?)),
            )
            .map_err(start_err)?,
        ));
        store.add_subscriber(&sub).map_err(start_err)?;
    }
    let auc = Auc::new(store, AucConfig::default()).map_err(start_err)?;
    let core = HlrCore::new(
        auc,
        HlrConfig::default(),
        rand::make_rng::<rand::rngs::StdRng>(),
    );
    crate::hlr_service::start(listen, core)
        .await
        .map_err(start_err)
}

/// Runs every subscriber's bootstrap, `concurrency` at a time; returns the
/// wall time, each latency and each configuration (by subscriber index).
async fn bootstraps(
    dir: &Path,
    subscribers: &Arc<[Subscriber]>,
    entry: SocketAddr,
    concurrency: usize,
) -> Result<(Duration, Vec<Duration>, Vec<NodeConfig>), BenchError> {
    let nodes = dir.join("nodes");
    // Each node's key exists before its clock starts (see the module doc).
    let defaults = MnBootstrapSettings::default();
    for i in 0..subscribers.len() {
        let node = nodes.join(i.to_string());
        std::fs::create_dir_all(&node).map_err(start_err)?;
        client::load_or_create_signing_key(&client::signing_key_path(
            &defaults,
            &subscribers[i].imsi,
            &node,
        ))
        .map_err(start_err)?;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = JoinSet::new();
    let t0 = Instant::now();
    for _ in 0..concurrency.min(subscribers.len()) {
        let (next, subscribers, nodes) = (next.clone(), subscribers.clone(), nodes.clone());
        workers.spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(s) = subscribers.get(i) else { break };
                let settings = MnBootstrapSettings {
                    home_agent: entry,
                    network_name: NETWORK_NAME.into(),
                    desired_fqdn: Some(s.fqdn.clone()),
                    ..MnBootstrapSettings::default()
                };
                let sim = SimSettings {
                    imsi: s.imsi.clone(),
                    k: s.k.clone(),
                    opc: s.opc.clone(),
                    ..SimSettings::default()
                };
                let t = Instant::now();
                let config = client::bootstrap(&settings, &sim, &nodes.join(i.to_string()))
                    .await
                    .map_err(|e| BenchError::Bootstrap {
                        index: i,
                        imsi: s.imsi.clone(),
                        error: e.to_string(),
                    })?;
                done.push((i, t.elapsed(), config));
            }
            Ok::<_, BenchError>(done)
        });
    }
    let mut all = Vec::with_capacity(subscribers.len());
    let mut failure = None;
    while let Some(r) = workers.join_next().await {
        match r {
            Ok(Ok(done)) => all.extend(done),
            Ok(Err(e)) => {
                // The first failure; the other workers stop at theirs.
                failure.get_or_insert(e);
                workers.abort_all();
            }
            Err(e) if e.is_cancelled() => {}
            Err(e) => {
                failure.get_or_insert(BenchError::Start(format!("worker: {e}")));
            }
        }
    }
    let wall = t0.elapsed();
    if let Some(e) = failure {
        return Err(e);
    }
    all.sort_unstable_by_key(|(i, _, _)| *i);
    if all.len() != subscribers.len() {
        return Err(BenchError::Check(format!(
            "{} of {} bootstraps reported",
            all.len(),
            subscribers.len()
        )));
    }
    let (latencies, configs) = all.into_iter().map(|(_, l, c)| (l, c)).unzip();
    Ok((wall, latencies, configs))
}

/// Every node got the name it asked for, the zone has its home address,
/// and no address was handed out twice.
fn check(
    zone: &ServerHandle,
    subscribers: &[Subscriber],
    configs: &[NodeConfig],
) -> Result<(), BenchError> {
    let mut addresses = std::collections::HashSet::new();
    for (s, c) in subscribers.iter().zip(configs) {
        if !c.fqdn.trim_end_matches('.').eq_ignore_ascii_case(&s.fqdn) {
            return Err(BenchError::Check(format!(
                "{} asked for {} and got {}",
                s.imsi, s.fqdn, c.fqdn
            )));
        }
        if !addresses.insert(c.home_address) {
            return Err(BenchError::Check(format!(
                "home address {} handed out twice",
                c.home_address
            )));
        }
        let name = Name::from_ascii(&c.fqdn).map_err(|e| BenchError::Check(e.to_string()))?;
        let a: Vec<String> = zone
            .lookup(&name, RecordType::A)
            .iter()
            .map(|r| r.data.to_string())
            .collect();
        if a != [c.home_address.to_string()] {
            return Err(BenchError::Check(format!(
                "{}: A {a:?} in the zone, home address {}",
                c.fqdn, c.home_address
            )));
        }
    }
    Ok(())
}

/// The components of a relayed pass.
fn attribute(r: &PassResult) -> Attribution {
    let n = r.latencies.len().max(1) as f64;
    let wall = r.wall.as_secs_f64();
    let latency = Latency::of(&mut r.latencies.clone());
    let total_latency: Duration = r.latencies.iter().sum();
    let component = |name: &str, (total, count): (Duration, u64)| {
        let per = total.as_secs_f64() * 1e3 / n;
        Component {
            name: name.to_owned(),
            count,
            per_bootstrap_ms: per,
            share_of_latency: if latency.mean_ms > 0.0 {
                per / latency.mean_ms
            } else {
                0.0
            },
            busy_per_wall: if wall > 0.0 {
                total.as_secs_f64() / wall
            } else {
                0.0
            },
        }
    };
    let empty = (Duration::ZERO, 0);
    let [node, hlr, dns] = r.meters.clone().unwrap_or_default();
    let at = |v: &[(Duration, u64)], i: usize| v.get(i).copied().unwrap_or(empty);
    let ha_total: Duration = node.iter().map(|(d, _)| *d).sum();
    let identity = at(&node, node_bucket::IDENTITY);
    let config = at(&node, node_bucket::CONFIG);
    let sai = at(&hlr, hlr_bucket::SEND_AUTH_INFO);
    let ul = at(&hlr, hlr_bucket::UPDATE_LOCATION);
    let update = at(&dns, 0);
    let stages = vec![
        component(
            "HA: Start → EAP Identity request",
            at(&node, node_bucket::START),
        ),
        component("HA: Identity response → Challenge", identity),
        component(
            "HA: Challenge response → Success",
            at(&node, node_bucket::CHALLENGE),
        ),
        component("HA: ConfigRequest → ConfigResponse", config),
        component(
            "node side and hops (USIM, SQN file, signature, config file)",
            (
                total_latency.saturating_sub(ha_total),
                r.latencies.len() as u64,
            ),
        ),
    ];
    let inside = vec![
        component("HLR SendAuthInfo (in Identity → Challenge)", sai),
        component(
            "HA rest of Identity → Challenge (EAP, worker queue)",
            (identity.0.saturating_sub(sai.0), identity.1),
        ),
        component("HLR UpdateLocation + Insert Data (in ConfigRequest)", ul),
        component(
            "DNS UPDATE incl. journal fdatasync (in ConfigRequest)",
            update,
        ),
        component(
            "HA rest of ConfigRequest (name lookup, pool and services files, signing, SA, queue)",
            (config.0.saturating_sub(ul.0 + update.0), config.1),
        ),
    ];
    Attribution {
        per_second: n / wall.max(f64::MIN_POSITIVE),
        latency,
        stages,
        inside,
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "mean {:.2} ms, p50 {:.2}, p99 {:.2}, min {:.2}, max {:.2}",
            self.mean_ms, self.p50_ms, self.p99_ms, self.min_ms, self.max_ms
        )
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "bootstrap bench: {} subscribers, one bootstrap each per pass, in {}",
            self.subscribers, self.dir
        )?;
        if let Some([a, b, c]) = self.load_average {
            writeln!(f, "load average at start: {a:.2} {b:.2} {c:.2}")?;
        }
        writeln!(f, "disk: fdatasync {}", self.disk.fdatasync)?;
        writeln!(f, "disk: atomic file replace {}", self.disk.atomic_replace)?;
        for p in &self.passes {
            writeln!(
                f,
                "\nconcurrency {}: {} bootstraps in {:.2} s = {:.1}/s; latency {}",
                p.concurrency, p.bootstraps, p.wall_s, p.per_second, p.latency
            )?;
            let Some(a) = &p.attribution else { continue };
            writeln!(
                f,
                "  attributed pass (relays on every hop): {:.1}/s; latency {}",
                a.per_second, a.latency
            )?;
            writeln!(
                f,
                "  {:<86} {:>6} {:>9} {:>6} {:>6}",
                "component", "count", "ms/boot", "share", "busy"
            )?;
            for (c, indent) in a
                .stages
                .iter()
                .map(|c| (c, ""))
                .chain(a.inside.iter().map(|c| (c, "  ")))
            {
                writeln!(
                    f,
                    "  {:<86} {:>6} {:>9.3} {:>5.1}% {:>6.2}",
                    format!("{indent}{}", c.name),
                    c.count,
                    c.per_bootstrap_ms,
                    c.share_of_latency * 100.0,
                    c.busy_per_wall
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let l = Latency::of(&mut v);
        assert_eq!(l.p50_ms, 50.0);
        assert_eq!(l.p99_ms, 99.0);
        assert_eq!(l.min_ms, 1.0);
        assert_eq!(l.max_ms, 100.0);
        assert!((l.mean_ms - 50.5).abs() < 1e-9);
        let mut one = vec![Duration::from_millis(7)];
        assert_eq!(Latency::of(&mut one).p99_ms, 7.0);
        assert_eq!(Latency::of(&mut []).max_ms, 0.0);
    }

    #[test]
    fn pool_fits_the_subscribers() {
        // 2 nodes + network + broadcast: a /30.
        assert_eq!(pool_prefix(2).ok(), Some(30));
        assert_eq!(pool_prefix(3).ok(), Some(29));
        // 254 hosts in a /24.
        assert_eq!(pool_prefix(254).ok(), Some(24));
        assert_eq!(pool_prefix(255).ok(), Some(23));
        assert!(pool_prefix(1 << 22).is_err());
    }
}
