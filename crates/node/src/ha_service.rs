//! The home agent's driver: one UDP socket on port 434 for registrations
//! and RFC 3519 tunnel data (they share the port, RFC 3519 §4.7), a packet
//! link to the home network, optionally a raw IP-in-IP socket, and a
//! durable binding store. The protocol decisions are
//! [`telsec_mip::ha::HomeAgent`]'s; this file moves octets and writes
//! files.
//!
//! Durability: an accepted registration is journalled and the journal is
//! synced before its reply leaves, so a binding the mobile node was told
//! about survives a crash. Requests that arrive together are processed as
//! one batch whose journal entries are written at once; a sync thread then
//! syncs the journal and only afterwards sends that batch's replies, while
//! the driver already reads the next batch (pipelined group commit: one
//! sync covers every batch written while the previous one ran). That is
//! what lets persistence keep up with tens of thousands of registrations a
//! second on a disk whose sync takes milliseconds. The journal
//! is folded into a fresh snapshot when it grows past a threshold and at
//! shutdown ([`telsec_mip::ha::persist`] has the formats).
//!
//! The task owns the core: no locks. Other tasks talk to it through
//! [`HaCommand`]s (the key service installs new mobility SAs this way).
//!
//! Interception (RFC 5944 §4.6): with a TUN home link the driver routes
//! every home address that has a binding into the device (`ip route
//! replace <home>/32 dev <tun>`, CAP_NET_ADMIN) and removes the route with
//! the last binding, before the reply to that deregistration leaves, so
//! the reply and the traffic after it reach the node on its home link.
//! With `net.ipv4.conf.<home interface>.proxy_arp = 1` (and `proxy_delay
//! = 0` for prompt answers) the kernel then answers ARP on the home link
//! for exactly the nodes that are away. Gratuitous ARP when a binding
//! starts is not sent (it needs a link-layer socket): neighbours that
//! still hold the node's own link-layer address keep it until they ask
//! again.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use telsec_mip::SecurityAssociation;
use telsec_mip::ha::{Binding, HomeAgent, Outcome, Tunnel, TunnelSource, Verdict};
use telsec_mip::tunnel::{self, Ipv4Packet};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::packet_link::{LinkConfig, PacketLink};
use crate::raw_ipip::RawIpip;

/// File holding the last snapshot, inside the state directory.
pub const SNAPSHOT_FILE: &str = "ha-bindings.snapshot";
/// File holding the journal since that snapshot.
pub const JOURNAL_FILE: &str = "ha-bindings.journal";
/// Most datagrams handled in one batch before the journal is written.
const MAX_BATCH: usize = 1024;
/// Receive buffer asked for on the registration socket.
const RECV_BUFFER: usize = 4 << 20;

/// How the driver is set up.
#[derive(Debug, Clone)]
pub struct HaParams {
    /// Registration and UDP-tunnel socket (RFC 5944 port 434).
    pub listen: SocketAddrV4,
    /// Directory of the snapshot and journal.
    pub state_dir: PathBuf,
    /// Link to the home network.
    pub home_link: LinkConfig,
    /// Whether to open a raw socket for IP-in-IP tunnels (needs
    /// CAP_NET_RAW); without it only UDP-tunnelled bindings carry data.
    pub ipip: bool,
    /// Journal size after which it is folded into a new snapshot.
    pub compact_after_bytes: u64,
    /// The link to a VPN gateway (seed 002).
    pub vpn: crate::ha_vpn::HaVpnSettings,
}

/// Errors starting or running the home agent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HaError {
    /// A socket or device could not be opened.
    #[error("cannot open {what}: {source}")]
    Open {
        /// Which one.
        what: &'static str,
        /// Why.
        source: io::Error,
    },
    /// The binding store could not be read or written.
    #[error("binding store {path}: {source}")]
    Store {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// `[ha.vpn]` is unusable.
    #[error("{0}")]
    Vpn(String),
    /// The stored state does not parse.
    #[error("binding store {path} is corrupt: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: telsec_mip::ha::SnapshotError,
    },
}

/// Requests to the running home agent.
#[derive(Debug)]
pub enum HaCommand {
    /// Adds (or replaces, by SPI) a mobility SA for a home address.
    InstallSa {
        /// The mobile node's home address.
        home: Ipv4Addr,
        /// The SA.
        sa: SecurityAssociation,
    },
    /// The current bindings.
    Bindings(oneshot::Sender<Vec<Binding>>),
    /// Counters since start.
    Stats(oneshot::Sender<HaStats>),
}

/// Counters of a running home agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HaStats {
    /// Registration requests accepted.
    pub accepted: u64,
    /// Requests refused with a reply code.
    pub denied: u64,
    /// Datagrams dropped without a reply.
    pub dropped: u64,
    /// Journal syncs (one per batch that changed state).
    pub commits: u64,
    /// Datagrams tunnelled to mobile nodes.
    pub tunnelled: u64,
    /// Reverse-tunnelled datagrams let into the home network.
    pub reverse_forwarded: u64,
    /// Reverse-tunnelled datagrams refused.
    pub reverse_dropped: u64,
}

/// A started home agent.
#[derive(Debug)]
pub struct RunningHa {
    local_addr: SocketAddrV4,
    link_addr: Option<SocketAddr>,
    commands: mpsc::Sender<HaCommand>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), HaError>>,
}

impl RunningHa {
    /// The registration socket's address.
    pub fn local_addr(&self) -> SocketAddrV4 {
        self.local_addr
    }

    /// The local address of a UDP home link.
    pub fn link_addr(&self) -> Option<SocketAddr> {
        self.link_addr
    }

    /// A sender for [`HaCommand`]s.
    pub fn commands(&self) -> mpsc::Sender<HaCommand> {
        self.commands.clone()
    }

    /// Stops the task after writing a final snapshot.
    pub async fn shutdown(self) -> Result<(), HaError> {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(HaError::Store {
                path: PathBuf::from("<task>"),
                source: io::Error::other(e),
            }),
        }
    }
}

/// Wall-clock time in Unix milliseconds, the clock of the sans-IO core.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Reads the snapshot and journal of `dir` (empty when absent).
pub fn read_state(dir: &Path) -> Result<(Vec<u8>, Vec<u8>), HaError> {
    let read = |name: &str| -> Result<Vec<u8>, HaError> {
        let path = dir.join(name);
        crate::atomic_file::read_if_exists(&path)
            .map(Option::unwrap_or_default)
            .map_err(|source| HaError::Store { path, source })
    };
    let mut snapshot = read(SNAPSHOT_FILE)?;
    if snapshot.is_empty() {
        snapshot = HomeAgent::empty_snapshot();
    }
    Ok((snapshot, read(JOURNAL_FILE)?))
}

/// Restores `core` from the files of `dir`.
pub fn restore(core: &mut HomeAgent, dir: &Path, now: u64) -> Result<(), HaError> {
    let (snapshot, journal) = read_state(dir)?;
    core.restore_with_journal(&snapshot, &journal, now)
        .map_err(|source| HaError::Corrupt {
            path: dir.to_owned(),
            source,
        })
}

/// The snapshot file and the open journal.
struct Store {
    dir: PathBuf,
    journal: File,
    journal_len: u64,
    pending: Vec<u8>,
}

impl Store {
    fn open(dir: &Path) -> Result<Store, HaError> {
        fs::create_dir_all(dir).map_err(|source| HaError::Store {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(JOURNAL_FILE);
        let journal = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| HaError::Store {
                path: path.clone(),
                source,
            })?;
        let journal_len = journal
            .metadata()
            .map_err(|source| HaError::Store { path, source })?
            .len();
        Ok(Store {
            dir: dir.to_owned(),
            journal,
            journal_len,
            pending: Vec::new(),
        })
    }

    fn err(&self, name: &str, source: io::Error) -> HaError {
        HaError::Store {
            path: self.dir.join(name),
            source,
        }
    }

    /// Writes (without syncing) what was journalled since the last call;
    /// whether there was anything.
    fn write_pending(&mut self) -> Result<bool, HaError> {
        if self.pending.is_empty() {
            return Ok(false);
        }
        self.journal
            .write_all(&self.pending)
            .map_err(|e| self.err(JOURNAL_FILE, e))?;
        self.journal_len += self.pending.len() as u64;
        self.pending.clear();
        Ok(true)
    }

    /// Writes and syncs what was journalled since the last call.
    fn commit(&mut self) -> Result<(), HaError> {
        if self.write_pending()? {
            self.journal
                .sync_data()
                .map_err(|e| self.err(JOURNAL_FILE, e))?;
        }
        Ok(())
    }

    /// Replaces the snapshot atomically (write, sync, rename, sync the
    /// directory) and empties the journal.
    fn compact(&mut self, snapshot: &[u8]) -> Result<(), HaError> {
        self.commit()?;
        crate::atomic_file::replace(&self.dir.join(SNAPSHOT_FILE), snapshot)
            .map_err(|e| self.err(SNAPSHOT_FILE, e))?;
        self.journal
            .set_len(0)
            .and_then(|()| self.journal.sync_all())
            .map_err(|e| self.err(JOURNAL_FILE, e))?;
        self.journal_len = 0;
        Ok(())
    }
}

/// Starts the home agent: restores its state from `params.state_dir`,
/// binds its sockets and spawns the task.
pub async fn start(mut core: HomeAgent, params: HaParams) -> Result<RunningHa, HaError> {
    let vpn = params
        .vpn
        .build()
        .map_err(HaError::Vpn)?
        .map(|link| VpnLink {
            link,
            gateway: params.vpn.gateway,
            node_esp_port: params.vpn.node_esp_port,
        });
    restore(&mut core, &params.state_dir, now_ms())?;
    let mut store = Store::open(&params.state_dir)?;
    store.compact(&core.snapshot())?;
    let (socket, reply_socket) =
        registration_socket(params.listen).map_err(|source| HaError::Open {
            what: "registration socket",
            source,
        })?;
    let sync = SyncWorker::spawn(&store, reply_socket)?;
    let local_addr = match socket.local_addr() {
        Ok(SocketAddr::V4(a)) => a,
        Ok(SocketAddr::V6(_)) | Err(_) => params.listen,
    };
    let link = PacketLink::open(&params.home_link)
        .await
        .map_err(|source| HaError::Open {
            what: "home link",
            source,
        })?;
    let ipip = if params.ipip {
        Some(RawIpip::open().map_err(|source| HaError::Open {
            what: "raw IP-in-IP socket",
            source,
        })?)
    } else {
        None
    };
    info!(
        listen = %local_addr,
        bindings = core.bindings().len(),
        link = ?params.home_link,
        ipip = params.ipip,
        "home agent started"
    );
    let link_addr = link.local_addr();
    let mut home_routes = match &params.home_link {
        LinkConfig::Tun { name, .. } => Some(HomeRoutes::new(name)),
        LinkConfig::None | LinkConfig::Udp { .. } => None,
    };
    if let Some(r) = home_routes.as_mut() {
        let homes: BTreeSet<Ipv4Addr> = core.bindings().iter().map(|b| b.home_address).collect();
        for home in homes {
            r.sync(home, true);
        }
    }
    let (commands, rx) = mpsc::channel(64);
    let (stop, stop_rx) = oneshot::channel();
    let driver = Driver {
        home_routes,
        core,
        socket: Arc::new(socket),
        address: *local_addr.ip(),
        link,
        ipip,
        store,
        sync,
        compact_after: params.compact_after_bytes,
        stats: HaStats::default(),
        targets: Vec::new(),
        out: Vec::with_capacity(65_536),
        vpn,
    };
    let task = tokio::spawn(driver.run(rx, stop_rx));
    Ok(RunningHa {
        local_addr,
        link_addr,
        commands,
        stop,
        task,
    })
}

struct Driver {
    /// Host routes into a TUN home link for nodes away from home.
    home_routes: Option<HomeRoutes>,
    core: HomeAgent,
    socket: Arc<UdpSocket>,
    address: Ipv4Addr,
    link: PacketLink,
    ipip: Option<RawIpip>,
    store: Store,
    sync: SyncWorker,
    compact_after: u64,
    stats: HaStats,
    targets: Vec<(Tunnel, SocketAddrV4, Ipv4Addr)>,
    out: Vec<u8>,
    /// Seed 002: replies to registrations that came through the gateway go
    /// there inside SIUs.
    vpn: Option<VpnLink>,
}

/// The home agent's side of the VPN gateway.
struct VpnLink {
    link: telsec_vpn::HaLink,
    gateway: SocketAddrV4,
    node_esp_port: u16,
}

/// The SIU-Ack's type octet (telsec-vpn): on the registration socket only
/// from the gateway.
const SIU_ACK_TYPE: u8 = 2;

/// Replies of a batch, held until the journal is synced.
type Replies = Vec<(Vec<u8>, SocketAddrV4)>;

impl Driver {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<HaCommand>,
        mut stop: oneshot::Receiver<()>,
    ) -> Result<(), HaError> {
        let mut buf = vec![0u8; 65_536];
        let mut link_buf = vec![0u8; 65_536];
        let mut ipip_buf = vec![0u8; 65_536];
        loop {
            let sleep = self
                .core
                .poll_timeout()
                .map(|t| Duration::from_millis(t.saturating_sub(now_ms())));
            let siu_sleep = self
                .vpn
                .as_ref()
                .and_then(|v| v.link.sender().poll_timeout())
                .map(|t| t.saturating_duration_since(std::time::Instant::now()));
            tokio::select! {
                _ = &mut stop => break,
                Some(cmd) = commands.recv() => self.command(cmd),
                r = self.socket.recv_from(&mut buf) => {
                    let mut replies = Replies::new();
                    match r {
                        Ok((n, from)) => self.datagram(&buf[..n], from, &mut replies).await,
                        Err(e) => warn!(error = %e, "registration socket"),
                    }
                    for _ in 1..MAX_BATCH {
                        match self.socket.try_recv_from(&mut buf) {
                            Ok((n, from)) => self.datagram(&buf[..n], from, &mut replies).await,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => { warn!(error = %e, "registration socket"); break; }
                        }
                    }
                    // Durable before anyone is told: the sync thread sends
                    // the replies after the journal sync.
                    if self.store.write_pending()? {
                        self.sync.submit(replies)?;
                    } else {
                        for (bytes, to) in replies {
                            if let Err(e) = self.socket.send_to(&bytes, to).await {
                                warn!(error = %e, to = %to, "cannot send reply");
                            }
                        }
                    }
                }
                r = self.link.recv(&mut link_buf) => match r {
                    Ok(n) => self.forward_to_mobile(&link_buf[..n]).await,
                    Err(e) => warn!(error = %e, "home link"),
                },
                r = RawIpip::recv_optional(self.ipip.as_ref(), &mut ipip_buf) => match r {
                    Ok(n) => self.handle_ipip(&ipip_buf[..n]).await,
                    Err(e) => warn!(error = %e, "IP-in-IP socket"),
                },
                () = sleep_or_pending(siu_sleep) => self.siu_timers().await,
                () = sleep_or_pending(sleep) => {
                    let now = now_ms();
                    for gone in self.core.handle_timeout(now) {
                        info!(home = %gone.home_address, coa = %gone.care_of_address, "binding expired");
                        let entry = self.core.journal_entry(gone.home_address);
                        self.store.pending.extend_from_slice(&entry);
                        self.route_home(gone.home_address);
                    }
                    self.store.commit()?;
                }
            }
            if self.store.journal_len > self.compact_after {
                self.store.compact(&self.core.snapshot())?;
            }
        }
        self.store.compact(&self.core.snapshot())?;
        self.sync.finish()?;
        info!("home agent stopped");
        Ok(())
    }

    fn command(&mut self, cmd: HaCommand) {
        match cmd {
            HaCommand::InstallSa { home, sa } => {
                info!(home = %home, spi = sa.spi(), "mobility SA installed");
                self.core.add_sa_for_home(home, sa);
            }
            HaCommand::Bindings(tx) => {
                let _ = tx.send(self.core.bindings().iter().cloned().collect());
            }
            HaCommand::Stats(tx) => {
                let mut stats = self.stats;
                stats.commits = self.sync.commits.load(Ordering::Relaxed);
                let _ = tx.send(stats);
            }
        }
    }

    async fn datagram(&mut self, bytes: &[u8], from: SocketAddr, replies: &mut Replies) {
        let SocketAddr::V4(from) = from else {
            return;
        };
        match bytes.first() {
            Some(&tunnel::TUNNEL_DATA_TYPE) => self.handle_udp_tunnel(bytes, from).await,
            Some(&SIU_ACK_TYPE) if self.vpn.as_ref().is_some_and(|v| v.gateway == from) => {
                self.siu_ack(bytes);
            }
            _ => {
                let now = now_ms();
                let outcome = self.core.handle_request(now, from, self.address, bytes);
                self.registration(outcome, from, replies);
            }
        }
    }

    fn registration(&mut self, outcome: Outcome, from: SocketAddrV4, replies: &mut Replies) {
        let Outcome {
            reply,
            record,
            change,
        } = outcome;
        match &record.verdict {
            Verdict::Accepted { .. } => {
                self.stats.accepted += 1;
                // New bindings, moves and deregistrations at info; a mere
                // refresh (same care-of addresses) at debug, since a busy
                // home agent sees tens of thousands a second.
                let moved = change.as_ref().is_some_and(|c| {
                    let coas = |v: &[Binding]| {
                        let mut a: Vec<Ipv4Addr> = v.iter().map(|b| b.care_of_address).collect();
                        a.sort_unstable();
                        a
                    };
                    coas(&c.before) != coas(&c.after)
                });
                if moved {
                    info!(target: "telsec::ha", "{record}");
                } else {
                    debug!(target: "telsec::ha", "{record}");
                }
                if let Some(home) = record.home_address {
                    let entry = self.core.journal_entry(home);
                    self.store.pending.extend_from_slice(&entry);
                }
                if let Some(c) = &change {
                    self.route_home(c.home_address);
                }
            }
            Verdict::Denied(_) => {
                self.stats.denied += 1;
                warn!(target: "telsec::ha", "{record}");
            }
            Verdict::Dropped(_) => {
                self.stats.dropped += 1;
                warn!(target: "telsec::ha", "{record}");
            }
        }
        if let Some(bytes) = reply {
            match (&mut self.vpn, &change, &record.verdict) {
                (Some(vpn), Some(c), Verdict::Accepted { .. }) => {
                    let lifetime = c.after.first().map_or(0, |b| b.granted_lifetime);
                    match crate::ha_vpn::siu_for(
                        &mut vpn.link,
                        *from.ip(),
                        c,
                        &bytes,
                        lifetime,
                        vpn.node_esp_port,
                    ) {
                        Ok(Some(siu)) => {
                            info!(
                                target: "telsec::ha",
                                home = %c.home_address,
                                gateway = %vpn.gateway,
                                "registration came through the VPN gateway: reply sent inside an SIU"
                            );
                            replies.push((siu, vpn.gateway));
                        }
                        Ok(None) => replies.push((bytes, from)),
                        Err(e) => warn!(target: "telsec::ha", error = e, "SIU not built"),
                    }
                }
                _ => replies.push((bytes, from)),
            }
        }
    }

    /// An SIU-Ack from the gateway.
    fn siu_ack(&mut self, bytes: &[u8]) {
        let Some(vpn) = self.vpn.as_mut() else { return };
        match vpn.link.sender_mut().handle_ack(
            std::time::Instant::now(),
            crate::ha_vpn::ntp_now(),
            bytes,
        ) {
            Ok(event) => info!(target: "telsec::ha", ?event, "SIU answered"),
            Err(e) => warn!(target: "telsec::ha", error = %e, "SIU-Ack refused"),
        }
    }

    /// SIU retransmissions (a fresh Identification each) and give-ups.
    async fn siu_timers(&mut self) {
        let Some(vpn) = self.vpn.as_mut() else { return };
        let events = vpn
            .link
            .sender_mut()
            .handle_timeout(std::time::Instant::now(), crate::ha_vpn::ntp_now());
        for event in events {
            match event {
                telsec_vpn::SenderEvent::Retransmit { datagram, .. } => {
                    if let Err(e) = self.socket.send_to(&datagram, vpn.gateway).await {
                        warn!(target: "telsec::ha", error = %e, "SIU not sent");
                    }
                }
                other => warn!(target: "telsec::ha", event = ?other, "SIU"),
            }
        }
    }

    /// Routes `home` into the TUN home link while it has a binding.
    fn route_home(&mut self, home: Ipv4Addr) {
        if let Some(r) = self.home_routes.as_mut() {
            r.sync(home, !self.core.bindings().get(home).is_empty());
        }
    }

    /// A datagram from the home network for a mobile node.
    async fn forward_to_mobile(&mut self, packet: &[u8]) {
        let dst = match Ipv4Packet::new_checked(packet) {
            Ok(p) => p.dst(),
            Err(e) => {
                debug!(error = %e, "home link: not IPv4");
                return;
            }
        };
        let now = now_ms();
        // Reused buffers: this is the data path, one call per datagram.
        self.targets.clear();
        self.targets.extend(
            self.core
                .tunnel_targets(now, dst)
                .map(|b| (b.tunnel, b.source, b.care_of_address)),
        );
        if self.targets.is_empty() {
            debug!(dst = %dst, "home link: no binding");
            return;
        }
        // The RFC 3519 header, then the packet, whose TTL is decremented in
        // place (RFC 2003 §3.1): one copy per datagram.
        self.out.clear();
        tunnel::emit_udp_data(packet, &mut self.out);
        if let Err(e) = tunnel::decrement_ttl(&mut self.out[tunnel::TUNNEL_DATA_HEADER_LEN..]) {
            debug!(error = %e, dst = %dst, "not forwarded");
            return;
        }
        for &(kind, source, coa) in &self.targets {
            match kind {
                Tunnel::Udp { .. } => {
                    self.stats.tunnelled += 1;
                    if let Err(e) = self.socket.send_to(&self.out, source).await {
                        debug!(error = %e, to = %source, "tunnel send");
                    }
                }
                Tunnel::IpInIp => match &self.ipip {
                    Some(raw) => {
                        self.stats.tunnelled += 1;
                        let inner = &self.out[tunnel::TUNNEL_DATA_HEADER_LEN..];
                        if let Err(e) = raw.send(inner, coa).await {
                            debug!(error = %e, to = %coa, "IP-in-IP send");
                        }
                    }
                    None => debug!(coa = %coa, "IP-in-IP binding but no raw socket"),
                },
                Tunnel::Gre | Tunnel::Minimal => {
                    debug!(coa = %coa, "encapsulation not offered by this driver")
                }
            }
        }
    }

    async fn handle_udp_tunnel(&mut self, bytes: &[u8], from: SocketAddrV4) {
        match tunnel::open_udp_data(bytes) {
            Ok(inner) => {
                if let Some(echo) = tunnel::echo_reply(&inner, self.address) {
                    // RFC 3519 §4.9 keep-alive: answered inside the tunnel,
                    // and it moves nothing (§6.1.2).
                    let mut out = Vec::new();
                    tunnel::emit_udp_data(&echo, &mut out);
                    let _ = self.socket.send_to(&out, from).await;
                    return;
                }
                self.reverse(TunnelSource::Udp(from), &inner).await;
            }
            Err(e) => debug!(error = %e, from = %from, "bad tunnel data"),
        }
    }

    async fn handle_ipip(&mut self, packet: &[u8]) {
        match tunnel::open_ipip(packet) {
            Ok((outer, inner)) => {
                self.reverse(TunnelSource::IpInIp(outer.src()), &inner)
                    .await
            }
            Err(e) => debug!(error = %e, "bad IP-in-IP packet"),
        }
    }

    /// RFC 3024: a reverse-tunnelled datagram enters the home network
    /// only from the tunnel its source is bound to.
    async fn reverse(&mut self, from: TunnelSource, inner: &Ipv4Packet<'_>) {
        match self.core.check_reverse(now_ms(), from, inner) {
            Ok(_) => {
                self.stats.reverse_forwarded += 1;
                if let Err(e) = self.link.send(inner.as_bytes()).await {
                    debug!(error = %e, "home link send");
                }
            }
            Err(e) => {
                warn!(target: "telsec::ha", reason = %e, "reverse-tunnelled datagram dropped")
            }
        }
    }
}

/// The host routes of the interception described in the module
/// documentation, run through `ip` (iproute2): they change when a node
/// leaves home or returns, rarely next to datagrams.
#[derive(Debug)]
struct HomeRoutes {
    device: String,
    routed: BTreeSet<Ipv4Addr>,
}

impl HomeRoutes {
    fn new(device: &str) -> HomeRoutes {
        HomeRoutes {
            device: device.to_owned(),
            routed: BTreeSet::new(),
        }
    }

    /// Adds (`bound`) or removes the route of `home` unless it is so
    /// already; a failure is logged and retried at the next change.
    fn sync(&mut self, home: Ipv4Addr, bound: bool) {
        if bound == self.routed.contains(&home) {
            return;
        }
        let prefix = format!("{home}/32");
        let verb = if bound { "replace" } else { "del" };
        let out = std::process::Command::new("ip")
            .args(["route", verb, &prefix, "dev", &self.device])
            .output();
        match out {
            Ok(o) if o.status.success() => {
                info!(home = %home, device = %self.device, routed = bound, "home address route");
                if bound {
                    self.routed.insert(home);
                } else {
                    self.routed.remove(&home);
                }
            }
            Ok(o) => warn!(
                home = %home,
                error = %String::from_utf8_lossy(&o.stderr).trim(),
                "ip route {verb}"
            ),
            Err(e) => warn!(home = %home, error = %e, "ip route {verb}"),
        }
    }
}

/// The registration socket, with a receive buffer for bursts that arrive
/// while a batch is processed, and a clone for the sync thread's replies.
fn registration_socket(listen: SocketAddrV4) -> io::Result<(UdpSocket, std::net::UdpSocket)> {
    let s = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    // Capped by net.core.rmem_max; a larger buffer only helps.
    let _ = s.set_recv_buffer_size(RECV_BUFFER);
    s.bind(&SocketAddr::V4(listen).into())?;
    s.set_nonblocking(true)?;
    let std_socket: std::net::UdpSocket = s.into();
    let clone = std_socket.try_clone()?;
    Ok((UdpSocket::from_std(std_socket)?, clone))
}

/// The thread that syncs the journal and then sends the replies that
/// waited for it.
struct SyncWorker {
    jobs: Option<std::sync::mpsc::Sender<Replies>>,
    thread: Option<std::thread::JoinHandle<Result<(), io::Error>>>,
    commits: Arc<AtomicU64>,
    dir: PathBuf,
}

impl SyncWorker {
    fn spawn(store: &Store, socket: std::net::UdpSocket) -> Result<SyncWorker, HaError> {
        let journal = store
            .journal
            .try_clone()
            .map_err(|e| store.err(JOURNAL_FILE, e))?;
        let (tx, rx) = std::sync::mpsc::channel::<Replies>();
        let commits = Arc::new(AtomicU64::new(0));
        let counter = commits.clone();
        let thread = std::thread::Builder::new()
            .name("telsec-ha-sync".into())
            .spawn(move || -> Result<(), io::Error> {
                while let Ok(first) = rx.recv() {
                    // Every batch written before this sync starts is covered.
                    let mut batches = vec![first];
                    batches.extend(rx.try_iter());
                    journal.sync_data()?;
                    counter.fetch_add(1, Ordering::Relaxed);
                    for (bytes, to) in batches.into_iter().flatten() {
                        send_nonblocking(&socket, &bytes, to);
                    }
                }
                Ok(())
            })
            .map_err(|e| store.err(JOURNAL_FILE, e))?;
        Ok(SyncWorker {
            jobs: Some(tx),
            thread: Some(thread),
            commits,
            dir: store.dir.clone(),
        })
    }

    fn failed(&mut self) -> HaError {
        let source = match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            _ => io::Error::other("journal sync thread stopped"),
        };
        HaError::Store {
            path: self.dir.join(JOURNAL_FILE),
            source,
        }
    }

    /// Queues a batch's replies behind the next sync. A failed sync
    /// stops the home agent: it must not acknowledge what it cannot keep.
    fn submit(&mut self, replies: Replies) -> Result<(), HaError> {
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|tx| tx.send(replies).is_ok());
        if sent { Ok(()) } else { Err(self.failed()) }
    }

    /// Lets the thread drain its queue and stop.
    fn finish(&mut self) -> Result<(), HaError> {
        self.jobs = None;
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(Err(source))) => Err(HaError::Store {
                path: self.dir.join(JOURNAL_FILE),
                source,
            }),
            _ => Ok(()),
        }
    }
}

/// Sends on the shared non-blocking socket, retrying briefly when its
/// send buffer is full; a reply still not sent is dropped like any lost
/// datagram (the mobile node retransmits, RFC 5944 §3.6.3).
fn send_nonblocking(socket: &std::net::UdpSocket, bytes: &[u8], to: SocketAddrV4) {
    for _ in 0..100 {
        match socket.send_to(bytes, to) {
            Ok(_) => return,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_micros(50));
            }
            Err(e) => {
                debug!(error = %e, to = %to, "cannot send reply");
                return;
            }
        }
    }
    debug!(to = %to, "reply dropped: send buffer full");
}

async fn sleep_or_pending(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
