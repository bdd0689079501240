//! The foreign agent's driver (RFC 5944 §2.3, §3.7, §4.2.2; RFC 3024):
//! sockets, timers and tunnels around [`telsec_mip::fa::ForeignAgent`],
//! which makes every protocol decision. It follows the home agent's
//! driver ([`crate::ha_service`]): one task owns the core, other tasks
//! talk to it through [`FaCommand`]s.
//!
//! Sockets:
//!
//! * UDP on `listen` (the agent's address on the visited link, port 434)
//!   takes visitors' Registration Requests and sends them the replies.
//!   When a visitor interface is configured, or the care-of address
//!   differs from the listen address, a second UDP socket on the care-of
//!   address and the same port talks to home agents: relayed requests,
//!   their replies, and RFC 3519 tunnel data (which shares the port). With
//!   a visitor interface both sockets carry SO_REUSEADDR and the visitor
//!   one is bound to the interface (SO_BINDTODEVICE): the kernel hands it
//!   what arrives on the visited link and the other everything else, and
//!   replies to visitors leave through the visited link although no route
//!   names their home addresses. Otherwise one socket does both jobs.
//! * ICMP on the visited link (raw socket bound to the interface):
//!   Agent Advertisements every `advertisement_interval_ms` to
//!   255.255.255.255 or 224.0.0.1 with TTL 1, and in answer to Agent
//!   Solicitations (at most one answer per [`SOLICITED_MIN_GAP`], so a
//!   visitor cannot make the agent flood the link).
//! * IP in IP (optional raw socket bound to the care-of address).
//! * ICMP from anywhere (with either raw socket above): a Destination
//!   Unreachable quoting a request relayed to a home agent answers every
//!   request pending there with 80, 81, 82 or 88 (RFC 5944 §3.4).
//!
//! Data plane. A datagram tunnelled by a home agent (IP in IP to the
//! care-of address, or RFC 3519 tunnel data to the care-of socket) is
//! opened when its inner destination is a live visitor and its outer
//! source is that visitor's home agent; anything else is dropped
//! (§4.2.2). The inner packet is delivered unchanged (the home agent
//! decremented its TTL when it encapsulated it, RFC 2003 §3.1) through a
//! raw IPv4 socket with IP_HDRINCL bound to the visitor interface: the
//! kernel takes the home address as on-link there, so the driver adds no
//! routes, and finds the visitor's link-layer address in its neighbour
//! table (learnt from the ARP request the visitor sent for the agent's
//! address before registering). Without a visitor interface the packet
//! goes to `visitor_link` instead.
//!
//! Reverse tunnelling (RFC 3024): datagrams whose source is a visitor that
//! asked for T are read from `visitor_link` and tunnelled to its home
//! agent, IP in IP from the care-of address or, when the home agent
//! accepted UDP tunnelling for it (RFC 3519, seen in the UDP Tunnel Reply
//! extension of the relayed reply), as tunnel data from the care-of
//! socket. On a real link `visitor_link` is a TUN device into which the
//! kernel routes visitors' datagrams by policy ([`routes`] installs the
//! rules when `reverse_route_table` is set); a datagram read from the
//! unprivileged UDP wire has its TTL decremented here, as a router would.
//!
//! The visitor list is written to `state_file` as JSON on every change
//! ([`state`]); `telsec fa visitors` prints it. The file and the reverse
//! tunnel rules are kept by a worker thread ([`bookkeeping`]), so that
//! their syncs and `ip` processes never hold up datagrams.

mod bookkeeping;
pub mod held;
pub mod inspect;
pub mod raw;
pub mod routes;
pub mod settings;
pub mod state;

use std::collections::BTreeSet;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::Duration;

use telsec_mip::SecurityAssociation;
use telsec_mip::fa::{FaOutcome, ForeignAgent, Verdict, Visitor, VisitorChange};
use telsec_mip::registration::{TYPE_REPLY, TYPE_REQUEST};
use telsec_mip::tunnel::{self, Ipv4Packet, ipv4};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

pub use settings::{FaHaKey, FaSettings, MnFaKey, build_core};
pub use state::VisitorEntry;

use crate::ha_service::now_ms;
use crate::packet_link::{LinkConfig, PacketLink};
use bookkeeping::Bookkeeper;
use inspect::{udp_tunnel_accepted, unreachable};
use raw::{Delivery, IcmpErrors, IcmpLink};

use crate::raw_ipip::RawIpip;
use held::HeldData;
use routes::ReverseRoutes;

/// Shortest gap between two advertisements sent in answer to
/// solicitations.
pub const SOLICITED_MIN_GAP: Duration = Duration::from_millis(100);

/// ICMP type of a Router (Agent) Solicitation (RFC 1256, RFC 5944 §2.2).
const ICMP_SOLICITATION: u8 = telsec_mip::advert::ICMP_ROUTER_SOLICITATION;

/// Errors starting or running the foreign agent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FaError {
    /// The `[fa]` settings are inconsistent (the message names the field).
    #[error("{0}")]
    Invalid(String),
    /// A socket, device or route could not be set up.
    #[error("cannot open {what}: {source}")]
    Open {
        /// Which one.
        what: &'static str,
        /// Why.
        source: io::Error,
    },
    /// The visitor list file could not be written.
    #[error("visitor list {path}: {source}")]
    State {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// Requests to the running foreign agent.
#[derive(Debug)]
pub enum FaCommand {
    /// Adds or replaces the MN-FA association with the mobile node of
    /// `home` (RFC 5944 §3.5.3).
    InstallMnFaSa {
        /// The mobile node's home address.
        home: Ipv4Addr,
        /// The association.
        sa: SecurityAssociation,
    },
    /// Adds or replaces the FA-HA association with a home agent
    /// (RFC 5944 §3.5.4).
    InstallFaHaSa {
        /// The home agent.
        home_agent: Ipv4Addr,
        /// The association.
        sa: SecurityAssociation,
    },
    /// The visitor list, answered once the reverse tunnel rules and the
    /// file reflect it.
    Visitors(oneshot::Sender<Vec<VisitorEntry>>),
    /// Counters since start.
    Stats(oneshot::Sender<FaStats>),
}

/// Counters of a running foreign agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaStats {
    /// Visitors' requests relayed to home agents.
    pub requests_relayed: u64,
    /// Home agents' replies relayed to visitors.
    pub replies_relayed: u64,
    /// Requests and replies answered by this agent with a denial code.
    pub denied: u64,
    /// Messages dropped without an answer.
    pub dropped: u64,
    /// Agent Advertisements sent (periodic and solicited).
    pub advertisements: u64,
    /// Datagrams delivered to visitors.
    pub delivered: u64,
    /// Of those, datagrams held while the visitor's registration was
    /// pending and delivered when its reply came ([`held`]).
    pub delivered_after_hold: u64,
    /// Tunnelled datagrams dropped (no such visitor, wrong tunnel source).
    pub undeliverable: u64,
    /// Visitors' datagrams reverse-tunnelled to their home agents.
    pub reverse_tunnelled: u64,
    /// Visitors' datagrams dropped instead (no visitor with T).
    pub reverse_dropped: u64,
}

/// A started foreign agent.
#[derive(Debug)]
pub struct RunningFa {
    visitor_addr: SocketAddrV4,
    agent_addr: SocketAddrV4,
    link_addr: Option<SocketAddr>,
    commands: mpsc::Sender<FaCommand>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), FaError>>,
}

impl RunningFa {
    /// The socket visitors send their requests to.
    pub fn visitor_addr(&self) -> SocketAddrV4 {
        self.visitor_addr
    }

    /// The socket that talks to home agents (the care-of address).
    pub fn agent_addr(&self) -> SocketAddrV4 {
        self.agent_addr
    }

    /// The local address of a UDP visitor link.
    pub fn link_addr(&self) -> Option<SocketAddr> {
        self.link_addr
    }

    /// A sender for [`FaCommand`]s.
    pub fn commands(&self) -> mpsc::Sender<FaCommand> {
        self.commands.clone()
    }

    /// Stops the task: removes its routing rules and empties the visitor
    /// list file.
    pub async fn shutdown(self) -> Result<(), FaError> {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(FaError::State {
                path: PathBuf::from("<task>"),
                source: io::Error::other(e),
            }),
        }
    }
}

fn open_err(what: &'static str) -> impl FnOnce(io::Error) -> FaError {
    move |source| FaError::Open { what, source }
}

/// A UDP socket on `addr`, optionally bound to an interface; both
/// sockets of the two-socket set-up share the port (SO_REUSEADDR).
fn udp_socket(addr: SocketAddrV4, device: Option<&str>, shared: bool) -> io::Result<UdpSocket> {
    let s = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    if shared {
        s.set_reuse_address(true)?;
    }
    if let Some(d) = device {
        s.bind_device(Some(d.as_bytes()))?;
    }
    s.bind(&SocketAddr::V4(addr).into())?;
    s.set_nonblocking(true)?;
    let std_socket: std::net::UdpSocket = s.into();
    UdpSocket::from_std(std_socket)
}

fn v4(addr: io::Result<SocketAddr>, fallback: SocketAddrV4) -> SocketAddrV4 {
    match addr {
        Ok(SocketAddr::V4(a)) => a,
        _ => fallback,
    }
}

/// Starts the foreign agent with `core` (see [`build_core`]) as
/// `settings` describe; the visitor list goes to `state_file`.
pub async fn start(
    core: ForeignAgent,
    settings: &FaSettings,
    state_file: PathBuf,
) -> Result<RunningFa, FaError> {
    settings.validate()?;
    let device = settings.visitor_interface.as_deref();
    let coa = settings.care_of();
    let two = device.is_some() || coa != *settings.listen.ip();
    let visitor_sock =
        udp_socket(settings.listen, device, two).map_err(open_err("visitor socket"))?;
    let visitor_addr = v4(visitor_sock.local_addr(), settings.listen);
    let agent_sock = if two {
        let addr = SocketAddrV4::new(coa, visitor_addr.port());
        Some(udp_socket(addr, None, true).map_err(open_err("care-of socket"))?)
    } else {
        None
    };
    let agent_addr = match &agent_sock {
        Some(s) => v4(s.local_addr(), visitor_addr),
        None => visitor_addr,
    };
    let (icmp, delivery) = match device {
        Some(d) => (
            Some(
                IcmpLink::open(d, *settings.listen.ip(), settings.advertisement_destination)
                    .map_err(open_err("ICMP socket on the visitor interface"))?,
            ),
            Some(Delivery::open(d).map_err(open_err("delivery socket"))?),
        ),
        None => (None, None),
    };
    let ipip = if settings.ipip {
        Some(RawIpip::open_at(Some(coa)).map_err(open_err("IP-in-IP socket"))?)
    } else {
        None
    };
    let icmp_errors = if device.is_some() || settings.ipip {
        Some(IcmpErrors::open().map_err(open_err("ICMP error socket"))?)
    } else {
        None
    };
    let link = PacketLink::open(&settings.visitor_link)
        .await
        .map_err(open_err("visitor link"))?;
    let routes = match (&settings.visitor_link, settings.reverse_route_table) {
        (LinkConfig::Tun { name, .. }, Some(table)) => Some(
            ReverseRoutes::install(table, name, device)
                .map_err(open_err("reverse tunnel route"))?,
        ),
        _ => None,
    };
    state::write(&state_file, &[]).map_err(|source| FaError::State {
        path: state_file.clone(),
        source,
    })?;
    let books = Bookkeeper::spawn(routes, state_file).map_err(open_err("bookkeeping thread"))?;
    info!(
        visitors = %visitor_addr,
        care_of = %agent_addr,
        interface = ?device,
        ipip = settings.ipip,
        link = ?settings.visitor_link,
        "foreign agent started"
    );
    let link_addr = link.local_addr();
    let udp_wire = matches!(settings.visitor_link, LinkConfig::Udp { .. });
    let (commands, rx) = mpsc::channel(64);
    let (stop, stop_rx) = oneshot::channel();
    let driver = Driver {
        core,
        visitor_sock,
        agent_sock,
        care_of: coa,
        ha_port: settings.home_agent_port,
        icmp,
        icmp_errors,
        delivery,
        ipip,
        link,
        udp_wire,
        books: Some(books),
        udp_tunnelled: BTreeSet::new(),
        held: HeldData::default(),
        advertise_every: (settings.advertisement_interval_ms > 0)
            .then(|| Duration::from_millis(settings.advertisement_interval_ms)),
        last_solicited: None,
        stats: FaStats::default(),
    };
    let task = tokio::spawn(driver.run(rx, stop_rx));
    Ok(RunningFa {
        visitor_addr,
        agent_addr,
        link_addr,
        commands,
        stop,
        task,
    })
}

struct Driver {
    core: ForeignAgent,
    /// Visitors' side (or both sides when `agent_sock` is `None`).
    visitor_sock: UdpSocket,
    /// Home agents' side, on the care-of address.
    agent_sock: Option<UdpSocket>,
    care_of: Ipv4Addr,
    ha_port: u16,
    icmp: Option<IcmpLink>,
    icmp_errors: Option<IcmpErrors>,
    delivery: Option<Delivery>,
    ipip: Option<RawIpip>,
    link: PacketLink,
    /// The visitor link is the UDP wire (TTL is ours to decrement).
    udp_wire: bool,
    /// Reverse tunnel rules and the visitor list file, on their own
    /// thread (`None` once finished).
    books: Option<Bookkeeper>,
    /// Visitors the home agent tunnels to over UDP (RFC 3519).
    udp_tunnelled: BTreeSet<Ipv4Addr>,
    /// Tunnelled datagrams for visitors whose registration is pending.
    held: HeldData,
    advertise_every: Option<Duration>,
    last_solicited: Option<Instant>,
    stats: FaStats,
}

/// Which socket a datagram came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The visitor socket of the two-socket set-up.
    Visitors,
    /// The care-of socket of the two-socket set-up.
    HomeAgents,
    /// The one socket of the one-socket set-up.
    Both,
}

impl Driver {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<FaCommand>,
        mut stop: oneshot::Receiver<()>,
    ) -> Result<(), FaError> {
        let mut buf = vec![0u8; 65_536];
        let mut agent_buf = vec![0u8; 65_536];
        let mut icmp_buf = vec![0u8; 65_536];
        let mut error_buf = vec![0u8; 65_536];
        let mut ipip_buf = vec![0u8; 65_536];
        let mut link_buf = vec![0u8; 65_536];
        let mut adverts = self.advertise_every.map(|p| {
            let mut i = tokio::time::interval(p);
            i.set_missed_tick_behavior(MissedTickBehavior::Delay);
            i
        });
        let visitor_side = if self.agent_sock.is_some() {
            Side::Visitors
        } else {
            Side::Both
        };
        loop {
            let sleep = self
                .core
                .poll_timeout()
                .map(|t| Duration::from_millis(t.saturating_sub(now_ms())));
            tokio::select! {
                _ = &mut stop => break,
                Some(cmd) = commands.recv() => self.command(cmd),
                r = self.visitor_sock.recv_from(&mut buf) => match r {
                    Ok((n, SocketAddr::V4(from))) => self.datagram(visitor_side, &buf[..n], from).await,
                    Ok(_) => {}
                    Err(e) => warn!(error = %e, "visitor socket"),
                },
                r = recv_opt(self.agent_sock.as_ref(), &mut agent_buf) => match r {
                    Ok((n, SocketAddr::V4(from))) => self.datagram(Side::HomeAgents, &agent_buf[..n], from).await,
                    Ok(_) => {}
                    Err(e) => warn!(error = %e, "care-of socket"),
                },
                r = recv_icmp(self.icmp.as_ref(), &mut icmp_buf) => match r {
                    Ok(n) => self.icmp_in(&icmp_buf[..n]).await,
                    Err(e) => warn!(error = %e, "ICMP socket"),
                },
                r = recv_errors(self.icmp_errors.as_ref(), &mut error_buf) => match r {
                    Ok(n) => self.icmp_error_in(&error_buf[..n]).await,
                    Err(e) => warn!(error = %e, "ICMP error socket"),
                },
                r = RawIpip::recv_optional(self.ipip.as_ref(), &mut ipip_buf) => match r {
                    Ok(n) => self.ipip_in(&ipip_buf[..n]).await,
                    Err(e) => warn!(error = %e, "IP-in-IP socket"),
                },
                r = self.link.recv(&mut link_buf) => match r {
                    Ok(n) => self.visitor_link_in(&mut link_buf[..n]).await,
                    Err(e) => warn!(error = %e, "visitor link"),
                },
                () = tick(adverts.as_mut()), if self.icmp.is_some() => self.advertise().await,
                () = sleep_or_pending(sleep) => {
                    for out in self.core.handle_timeout(now_ms()) {
                        self.outcome(out).await;
                    }
                }
            }
        }
        if let Some(books) = self.books.take() {
            books
                .finish()
                .map_err(|(path, source)| FaError::State { path, source })?;
        }
        info!("foreign agent stopped");
        Ok(())
    }

    fn command(&mut self, cmd: FaCommand) {
        match cmd {
            FaCommand::InstallMnFaSa { home, sa } => {
                info!(home = %home, spi = sa.spi(), "MN-FA association installed");
                self.core.add_mn_fa_sa(home, sa);
            }
            FaCommand::InstallFaHaSa { home_agent, sa } => {
                info!(home_agent = %home_agent, spi = sa.spi(), "FA-HA association installed");
                self.core.add_fa_ha_sa(home_agent, sa);
            }
            FaCommand::Visitors(tx) => {
                // Answered once the rules and the file show this list.
                let entries = self.entries();
                match &self.books {
                    Some(b) => b.then(move || {
                        let _ = tx.send(entries);
                    }),
                    None => {
                        let _ = tx.send(entries);
                    }
                }
            }
            FaCommand::Stats(tx) => {
                let _ = tx.send(self.stats);
            }
        }
    }

    fn entries(&self) -> Vec<VisitorEntry> {
        self.core
            .visitors()
            .map(|v| VisitorEntry::new(v, self.udp_tunnelled.contains(&v.home_address)))
            .collect()
    }

    /// A UDP datagram on port 434: requests from visitors, replies and
    /// tunnel data (RFC 3519 §4.7: they share the port) from home agents.
    async fn datagram(&mut self, side: Side, bytes: &[u8], from: SocketAddrV4) {
        let now = now_ms();
        let kind = bytes.first().copied();
        let from_visitor = side != Side::HomeAgents;
        let from_agent = side != Side::Visitors;
        match kind {
            Some(TYPE_REQUEST) if from_visitor => {
                let out = self.core.handle_visitor_request(now, from, bytes);
                self.outcome(out).await;
            }
            Some(TYPE_REPLY) if from_agent => {
                let out = self.core.handle_ha_reply(now, from, bytes);
                self.outcome(out).await;
            }
            Some(tunnel::TUNNEL_DATA_TYPE) if from_agent => self.udp_tunnel_in(bytes, from).await,
            _ => {
                self.stats.dropped += 1;
                debug!(from = %from, kind = ?kind, side = ?side, "datagram not for this socket");
            }
        }
    }

    async fn outcome(&mut self, out: FaOutcome) {
        let FaOutcome {
            transmit,
            record,
            change,
        } = out;
        let to_home_agent = matches!(record.verdict, Verdict::RequestRelayed { .. });
        match &record.verdict {
            Verdict::RequestRelayed { .. } => {
                self.stats.requests_relayed += 1;
                debug!(target: "telsec::fa", "{record}");
            }
            Verdict::ReplyRelayed { .. } | Verdict::VisitorExpired => {
                if matches!(record.verdict, Verdict::ReplyRelayed { .. }) {
                    self.stats.replies_relayed += 1;
                }
                info!(target: "telsec::fa", "{record}");
            }
            Verdict::Denied(_) => {
                self.stats.denied += 1;
                warn!(target: "telsec::fa", "{record}");
            }
            Verdict::Dropped(_) => {
                self.stats.dropped += 1;
                warn!(target: "telsec::fa", "{record}");
            }
        }
        let udp_accepted = transmit
            .as_ref()
            .is_some_and(|t| udp_tunnel_accepted(&t.payload));
        if let Some(t) = transmit {
            let (socket, to) = if to_home_agent {
                (
                    self.agent_sock.as_ref().unwrap_or(&self.visitor_sock),
                    SocketAddrV4::new(*t.dst.ip(), self.ha_port),
                )
            } else {
                (&self.visitor_sock, t.dst)
            };
            if let Err(e) = socket.send_to(&t.payload, to).await {
                warn!(error = %e, to = %to, "cannot send");
            }
        }
        let now_visitor = match &change {
            Some(VisitorChange::Added(v) | VisitorChange::Refreshed(v)) => Some(v.home_address),
            _ => None,
        };
        if let Some(change) = change {
            self.visitor_change(change, udp_accepted);
        }
        if let Some(home) = now_visitor {
            for (source, packet) in self.held.release(home, now_ms()) {
                if let Ok(inner) = Ipv4Packet::new_checked(&packet[..])
                    && self.deliver(&inner, source).await
                {
                    self.stats.delivered_after_hold += 1;
                }
            }
        }
        if !self.held.is_empty() {
            let core = &self.core;
            let dropped = self.held.prune(now_ms(), |home| {
                core.pending().any(|p| p.home_address == home)
            });
            self.stats.undeliverable += dropped as u64;
        }
    }

    /// Follows a visitor list change: UDP tunnel marks here, reverse
    /// tunnel rules and the file through the bookkeeping thread.
    fn visitor_change(&mut self, change: VisitorChange, udp: bool) {
        match change {
            VisitorChange::Added(v) | VisitorChange::Refreshed(v) => {
                if udp {
                    self.udp_tunnelled.insert(v.home_address);
                } else {
                    self.udp_tunnelled.remove(&v.home_address);
                }
                self.reverse_rule(&v, v.reverse_tunnel);
            }
            VisitorChange::Removed(v) | VisitorChange::Expired(v) => {
                self.udp_tunnelled.remove(&v.home_address);
                self.reverse_rule(&v, false);
            }
        }
        if let Some(b) = &self.books {
            b.write(self.entries());
        }
    }

    fn reverse_rule(&mut self, v: &Visitor, on: bool) {
        if let Some(b) = &self.books {
            b.rule(v.home_address, on);
        }
    }

    /// The live visitor `home` if `tunnel_source` is its home agent.
    fn visitor_from(&self, home: Ipv4Addr, tunnel_source: Ipv4Addr) -> Option<&Visitor> {
        self.core
            .visitor(home)
            .filter(|v| !v.is_expired(now_ms()) && v.home_agent == tunnel_source)
    }

    async fn udp_tunnel_in(&mut self, bytes: &[u8], from: SocketAddrV4) {
        match tunnel::open_udp_data(bytes) {
            Ok(inner) => {
                self.deliver(&inner, *from.ip()).await;
            }
            Err(e) => {
                self.stats.undeliverable += 1;
                debug!(error = %e, from = %from, "bad tunnel data");
            }
        }
    }

    async fn ipip_in(&mut self, packet: &[u8]) {
        match tunnel::open_ipip(packet) {
            Ok((outer, inner)) if outer.dst() == self.care_of => {
                self.deliver(&inner, outer.src()).await;
            }
            Ok((outer, _)) => debug!(dst = %outer.dst(), "IP-in-IP for another address"),
            Err(e) => {
                self.stats.undeliverable += 1;
                debug!(error = %e, "bad IP-in-IP packet");
            }
        }
    }

    /// Delivers a decapsulated datagram to the visitor it is for (§4.2.2),
    /// or holds it while that node's registration through this agent to
    /// that home agent is pending ([`held`]). True when delivered.
    async fn deliver(&mut self, inner: &Ipv4Packet<'_>, tunnel_source: Ipv4Addr) -> bool {
        let dst = inner.dst();
        if self.visitor_from(dst, tunnel_source).is_none() {
            let pending = self
                .core
                .pending()
                .any(|p| p.home_address == dst && p.home_agent == tunnel_source);
            if pending
                && self
                    .held
                    .hold(dst, tunnel_source, inner.as_bytes(), now_ms())
            {
                return false;
            }
            self.stats.undeliverable += 1;
            debug!(dst = %dst, from = %tunnel_source, "tunnelled datagram for no visitor of that home agent");
            return false;
        }
        let sent = match &self.delivery {
            Some(d) => d.send(inner.as_bytes(), dst).await,
            None => self.link.send(inner.as_bytes()).await,
        };
        match sent {
            Ok(()) => {
                self.stats.delivered += 1;
                true
            }
            Err(e) => {
                self.stats.undeliverable += 1;
                debug!(error = %e, dst = %dst, "delivery");
                false
            }
        }
    }

    /// A visitor's datagram from the visitor link: reverse-tunnelled to
    /// its home agent when it asked for T (RFC 3024).
    async fn visitor_link_in(&mut self, packet: &mut [u8]) {
        let src = match Ipv4Packet::new_checked(packet) {
            Ok(p) => p.src(),
            Err(e) => {
                self.stats.reverse_dropped += 1;
                debug!(error = %e, "visitor link: not IPv4");
                return;
            }
        };
        let now = now_ms();
        let Some(v) = self
            .core
            .visitor(src)
            .filter(|v| !v.is_expired(now) && v.reverse_tunnel)
        else {
            self.stats.reverse_dropped += 1;
            debug!(src = %src, "visitor link: no visitor with reverse tunnelling");
            return;
        };
        let ha = v.home_agent;
        if self.udp_wire
            && let Err(e) = tunnel::decrement_ttl(packet)
        {
            self.stats.reverse_dropped += 1;
            debug!(error = %e, src = %src, "not forwarded");
            return;
        }
        let sent = if self.udp_tunnelled.contains(&src) {
            let mut out = Vec::with_capacity(packet.len() + tunnel::TUNNEL_DATA_HEADER_LEN);
            tunnel::emit_udp_data(packet, &mut out);
            let socket = self.agent_sock.as_ref().unwrap_or(&self.visitor_sock);
            socket
                .send_to(&out, SocketAddrV4::new(ha, self.ha_port))
                .await
                .map(drop)
        } else if let Some(raw) = &self.ipip {
            raw.send(packet, ha).await
        } else {
            Err(io::Error::other(
                "IP-in-IP tunnel but no raw socket (fa.ipip)",
            ))
        };
        match sent {
            Ok(()) => self.stats.reverse_tunnelled += 1,
            Err(e) => {
                self.stats.reverse_dropped += 1;
                debug!(error = %e, to = %ha, "reverse tunnel");
            }
        }
    }

    /// An ICMP error about a request relayed to a home agent: the pending
    /// requests to it are answered 80-88.
    async fn icmp_error_in(&mut self, packet: &[u8]) {
        let Some((ha, kind)) = unreachable(packet, self.care_of, self.ha_port) else {
            return;
        };
        debug!(home_agent = %ha, kind = ?kind, "ICMP error for a relayed request");
        for out in self.core.handle_icmp_error(now_ms(), ha, kind) {
            self.outcome(out).await;
        }
    }

    /// ICMP from the visited link: Agent Solicitations are answered.
    async fn icmp_in(&mut self, packet: &[u8]) {
        let Ok(p) = Ipv4Packet::new_checked(packet) else {
            return;
        };
        let icmp = p.payload();
        if p.protocol() != ipv4::PROTO_ICMP || icmp.first() != Some(&ICMP_SOLICITATION) {
            return;
        }
        if self
            .last_solicited
            .is_some_and(|t| t.elapsed() < SOLICITED_MIN_GAP)
        {
            debug!(from = %p.src(), "solicitation inside the minimum gap");
            return;
        }
        match self.core.handle_solicitation(now_ms(), icmp) {
            Ok(ad) => {
                debug!(from = %p.src(), "agent solicitation");
                self.last_solicited = Some(Instant::now());
                self.send_advertisement(&ad).await;
            }
            Err(e) => debug!(error = %e, from = %p.src(), "bad solicitation"),
        }
    }

    async fn advertise(&mut self) {
        let ad = self.core.advertisement(now_ms());
        self.send_advertisement(&ad).await;
    }

    async fn send_advertisement(&mut self, ad: &[u8]) {
        let Some(icmp) = &self.icmp else {
            return;
        };
        match icmp.send(ad).await {
            Ok(()) => self.stats.advertisements += 1,
            Err(e) => warn!(error = %e, "cannot send an agent advertisement"),
        }
    }
}

async fn recv_errors(s: Option<&IcmpErrors>, buf: &mut [u8]) -> io::Result<usize> {
    match s {
        Some(s) => s.recv(buf).await,
        None => std::future::pending().await,
    }
}

async fn recv_opt(s: Option<&UdpSocket>, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    match s {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

async fn recv_icmp(s: Option<&IcmpLink>, buf: &mut [u8]) -> io::Result<usize> {
    match s {
        Some(s) => s.recv(buf).await,
        None => std::future::pending().await,
    }
}

async fn tick(i: Option<&mut tokio::time::Interval>) {
    match i {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn sleep_or_pending(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
