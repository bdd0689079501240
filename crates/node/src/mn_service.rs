//! The mobile node's driver: the registration socket on the node's current
//! address (its co-located care-of address, or the home address at home),
//! a packet link carrying the home address (a TUN device, or the UDP wire
//! to local applications), RFC 3519 tunnel data and keep-alives, and
//! optionally a raw ICMP socket for agent advertisements and a raw IP-in-IP
//! socket. The decisions are [`telsec_mip::mn::MobileNode`]'s.
//!
//! Address changes come from [`MnCommand::AddressChanged`] (the operator,
//! a test, or the interface watcher). With `interface` set the driver
//! follows that interface's first IPv4 address through rtnetlink
//! ([`crate::addr_watch`]): the kernel's notification of an address added
//! or removed is acted on as it is read, and a fresh dump every
//! `address_poll` repairs anything a lost notification hid.
//! Keys come from [`MnCommand::InstallSa`] (the SMS key receiver).
//!
//! Agent discovery (RFC 5944 §2.4.1, §2.4.2): with `interface` set the
//! driver opens a raw ICMP socket bound to it (CAP_NET_RAW; without it the
//! node goes on with address changes alone). Agent Advertisements heard
//! there go to [`MobileNode::handle_advertisement`]; the core's Agent
//! Solicitations leave through it to 224.0.0.11 with TTL 1 (§2.2). The
//! driver starts soliciting at once when it starts without an address.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use telsec_mip::SecurityAssociation;
use telsec_mip::advert::{ALL_MOBILITY_AGENTS, ICMP_ROUTER_ADVERTISEMENT};
use telsec_mip::mn::{Event, Location, MobileNode, Registration, State, TunnelMode};
use telsec_mip::registration::MIP_PORT;
use telsec_mip::tunnel::{self, Ipv4Packet, ipv4};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::addr_watch::AddressWatch;
use crate::ha_service::now_ms;
use crate::home_rule::HomeRule;
use crate::packet_link::{LinkConfig, PacketLink};

/// How the driver is set up.
#[derive(Debug, Clone)]
pub struct MnParams {
    /// Port the home agent (and foreign agents) listen on; 434 except in
    /// unprivileged set-ups.
    pub agent_port: u16,
    /// The link carrying the home address.
    pub home_link: LinkConfig,
    /// The node's address at start (None: detached until told).
    pub initial_address: Option<Ipv4Addr>,
    /// Interface whose IPv4 address is watched for movement.
    pub interface: Option<String>,
    /// How often that interface's addresses are dumped afresh (the
    /// notifications in between are acted on at once).
    pub address_poll: Duration,
    /// With a TUN home link: the routing table and rule priority that
    /// steer the home address's own traffic into the TUN device while
    /// registered with a co-located address ([`crate::home_rule`]); None
    /// leaves routing alone.
    pub reverse_rule: Option<(u32, u32)>,
    /// Reach the home agent inside ESP through the VPN gateway (seed 002),
    /// and where its sequence reservations live.
    pub esp: Option<(crate::mn_esp::MnEspSettings, std::path::PathBuf)>,
}

/// First wait before a request that could not be sent is tried again:
/// right after a move the route often appears a millisecond or two after
/// the address, and every millisecond here is handover time.
const RESEND_FIRST: Duration = Duration::from_millis(1);
/// Early attempts after send failures (1 ms doubling: 255 ms in all);
/// then the core's own retransmissions go on.
const RESEND_ATTEMPTS: u32 = 8;

/// Requests to the running node.
#[derive(Debug)]
pub enum MnCommand {
    /// The node's own address changed (None: no address).
    AddressChanged(Option<Ipv4Addr>),
    /// A new MN-HA association (e.g. delivered by SMS).
    InstallSa(SecurityAssociation),
    /// Start a fresh registration (after a refusal or time-out).
    Reregister,
    /// The current state.
    State(oneshot::Sender<State>),
}

/// Errors starting the node.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MnError {
    /// A socket or device could not be opened.
    #[error("cannot open {what}: {source}")]
    Open {
        /// Which one.
        what: &'static str,
        /// Why.
        source: io::Error,
    },
    /// `[mn.esp]` is unusable.
    #[error("{0}")]
    Esp(String),
}

/// A started mobile node.
#[derive(Debug)]
pub struct RunningMn {
    commands: mpsc::Sender<MnCommand>,
    link_addr: Option<SocketAddr>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl RunningMn {
    /// A sender for [`MnCommand`]s.
    pub fn commands(&self) -> mpsc::Sender<MnCommand> {
        self.commands.clone()
    }

    /// The local address of a UDP home link.
    pub fn link_addr(&self) -> Option<SocketAddr> {
        self.link_addr
    }

    /// Stops the node.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Starts the node; its events are sent to `events` (dropped when full).
pub async fn start(
    core: MobileNode,
    params: MnParams,
    events: mpsc::Sender<(u64, Event)>,
) -> Result<RunningMn, MnError> {
    let esp = match &params.esp {
        Some((e, state)) if e.enabled => Some(
            crate::mn_esp::EspPath::new(
                e,
                core.config().home_address,
                params.initial_address,
                MIP_PORT,
                state,
            )
            .map_err(MnError::Esp)?,
        ),
        _ => None,
    };
    let link = PacketLink::open(&params.home_link)
        .await
        .map_err(|source| MnError::Open {
            what: "home link",
            source,
        })?;
    let link_addr = link.local_addr();
    let home_rule = match (params.reverse_rule, link.if_index()) {
        (Some((table, priority)), Some(index)) => {
            HomeRule::new(core.config().home_address, table, priority, index)
                .inspect_err(|e| {
                    warn!(error = %e, "no reverse-tunnel rule: co-located traffic leaves directly");
                })
                .ok()
        }
        _ => None,
    };
    let (commands, rx) = mpsc::channel(64);
    let (stop, stop_rx) = oneshot::channel();
    let (agent_link, watch) = match params.interface.as_deref() {
        Some(name) => (
            AgentLink::open(name)
                .inspect_err(|e| {
                    warn!(error = %e, interface = name, "no ICMP socket: agent advertisements not heard");
                })
                .ok(),
            AddressWatch::open(name)
                .inspect_err(|e| {
                    warn!(error = %e, interface = name, "no rtnetlink socket: address changes not followed");
                })
                .ok(),
        ),
        None => (None, None),
    };
    let driver = Driver {
        core,
        socket: None,
        link,
        events,
        agent_port: params.agent_port,
        tunnel: None,
        next_keepalive: None,
        address_poll: params.address_poll,
        watched: None,
        watch,
        home_rule,
        resends: 0,
        resend_at: None,
        agent_link,
        esp,
    };
    let initial = params.initial_address;
    let task = tokio::spawn(driver.run(rx, stop_rx, initial));
    Ok(RunningMn {
        commands,
        link_addr,
        stop,
        task,
    })
}

struct Driver {
    core: MobileNode,
    /// Registration/tunnel socket and the address it is bound to.
    socket: Option<(UdpSocket, Ipv4Addr)>,
    link: PacketLink,
    events: mpsc::Sender<(u64, Event)>,
    agent_port: u16,
    /// The tunnel of the registration in force.
    tunnel: Option<TunnelMode>,
    next_keepalive: Option<tokio::time::Instant>,
    address_poll: Duration,
    /// The watched interface's address as last acted on (None: not yet).
    watched: Option<Option<Ipv4Addr>>,
    watch: Option<AddressWatch>,
    /// Steers the home address's traffic into the TUN while co-located.
    home_rule: Option<HomeRule>,
    /// Early resends after failed sends in a row, and when the next is due.
    resends: u32,
    resend_at: Option<tokio::time::Instant>,
    /// Raw ICMP on the watched interface: advertisements and solicitations.
    agent_link: Option<AgentLink>,
    /// Seed 002: the home agent is reached inside ESP through the gateway;
    /// the socket is then bound to the care-of address's ESP port.
    esp: Option<crate::mn_esp::EspPath>,
}

impl Driver {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<MnCommand>,
        mut stop: oneshot::Receiver<()>,
        initial: Option<Ipv4Addr>,
    ) {
        if let Some(a) = initial {
            self.address_changed(Some(a)).await;
        }
        if self.agent_link.is_some() {
            // §2.4.1: a node without an address need not wait for the next
            // periodic advertisement (a no-op once it has an address).
            self.core.solicit(now_ms());
        }
        let mut buf = vec![0u8; 65_536];
        let mut link_buf = vec![0u8; 65_536];
        let mut icmp_buf = vec![0u8; 65_536];
        let mut poll = tokio::time::interval(self.address_poll.max(Duration::from_millis(10)));
        loop {
            self.flush().await;
            // A timer already due is handled here rather than by a zero
            // sleep: tokio rounds deadlines up to its next millisecond
            // tick, which would delay a handover step by up to two.
            if self.core.poll_timeout().is_some_and(|t| t <= now_ms()) {
                self.core.handle_timeout(now_ms());
                self.flush().await;
            }
            let sleep = self
                .core
                .poll_timeout()
                .map(|t| Duration::from_millis(t.saturating_sub(now_ms())));
            tokio::select! {
                _ = &mut stop => break,
                Some(cmd) = commands.recv() => self.command(cmd).await,
                r = recv_socket(self.socket.as_ref(), &mut buf) => match r {
                    Ok((n, from)) => self.received(&mut buf[..n], from).await,
                    Err(e) => { warn!(error = %e, "registration socket"); self.socket = None; }
                },
                r = self.link.recv(&mut link_buf) => match r {
                    Ok(n) => self.handle_home_link(&link_buf[..n]).await,
                    Err(e) => warn!(error = %e, "home link"),
                },
                _ = poll.tick(), if self.watch.is_some() => {
                    if let Some(Err(e)) = self.watch.as_mut().map(AddressWatch::request_dump) {
                        warn!(error = %e, "rtnetlink dump request");
                    }
                }
                r = next_address(self.watch.as_mut()) => match r {
                    Ok(()) => {
                        if let Some(now) = self.watch.as_ref().filter(|w| w.known()).map(AddressWatch::first) {
                            self.set_watched(now).await;
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "rtnetlink socket: address changes no longer followed");
                        self.watch = None;
                    }
                },
                r = recv_icmp(self.agent_link.as_ref(), &mut icmp_buf) => match r {
                    Ok(n) => self.icmp_in(&icmp_buf[..n]),
                    Err(e) => { warn!(error = %e, "ICMP socket"); self.agent_link = None; }
                },
                () = sleep_until(self.next_keepalive) => self.keepalive().await,
                () = sleep_until(self.resend_at) => {
                    debug!("registration request sent again after a send failure");
                    self.resend_at = None;
                    self.core.reregister(now_ms());
                }
                () = sleep_or_pending(sleep) => self.core.handle_timeout(now_ms()),
            }
        }
        info!("mobile node stopped");
    }

    async fn command(&mut self, cmd: MnCommand) {
        match cmd {
            MnCommand::AddressChanged(a) => self.address_changed(a).await,
            MnCommand::InstallSa(sa) => {
                info!(spi = sa.spi(), "MN-HA key installed");
                self.core.install_sa(now_ms(), sa);
            }
            MnCommand::Reregister => self.core.reregister(now_ms()),
            MnCommand::State(tx) => {
                let _ = tx.send(self.core.state());
            }
        }
    }

    async fn address_changed(&mut self, address: Option<Ipv4Addr>) {
        info!(address = ?address, "address changed");
        self.socket = None;
        if let (Some(esp), Some(a)) = (self.esp.as_mut(), address) {
            esp.moved(a);
        }
        if let Some(a) = address {
            match UdpSocket::bind((a, self.local_port())).await {
                Ok(s) => self.socket = Some((s, a)),
                Err(e) => warn!(error = %e, address = %a, "cannot bind registration socket"),
            }
        }
        let before = self.core.state().location;
        self.core.handle_address_change(now_ms(), address);
        let now = self.core.state();
        // Still at the same place with a request in flight (say, an agent
        // heard on the new link just before the old address went): that
        // request may have left along the old link's routes, so it is
        // sent again now rather than at its retransmission, a second away.
        if now.location == before
            && matches!(
                now.registration,
                Registration::Registering { .. } | Registration::Deregistering { .. }
            )
        {
            self.core.reregister(now_ms());
        }
    }

    /// The watched interface has `now` as its address.
    async fn set_watched(&mut self, now: Option<Ipv4Addr>) {
        if self.watched != Some(now) {
            self.watched = Some(now);
            self.address_changed(now).await;
        }
    }

    /// A request that could not leave (right after a move the address or
    /// the route may not be in place yet) is sent again soon, backing off
    /// from [`RESEND_FIRST`], rather than at the core's next
    /// retransmission, which is a second or more away (RFC 5944 §3.6.3).
    fn schedule_resend(&mut self) {
        if self.resends >= RESEND_ATTEMPTS || self.resend_at.is_some() {
            return;
        }
        let wait = RESEND_FIRST * (1 << self.resends);
        self.resends += 1;
        self.resend_at = Some(tokio::time::Instant::now() + wait);
    }

    /// Puts the home address's rule in place exactly while the node is
    /// registered with a co-located care-of address and a UDP tunnel in
    /// force; taken away before anything is sent from another place (a
    /// request to a foreign agent leaves from the home address).
    fn sync_home_rule(&mut self) {
        let Some(rule) = self.home_rule.as_mut() else {
            return;
        };
        let state = self.core.state();
        let want = matches!(state.location, Location::AwayColocated { .. })
            && matches!(state.registration, Registration::Registered { .. })
            && matches!(self.tunnel, Some(TunnelMode::Udp { .. }))
            && self.core.config().reverse_tunnelling;
        if let Err(e) = rule.set(want) {
            warn!(error = %e, on = want, "reverse-tunnel rule");
        }
    }

    /// Sends what the core queued and forwards its events and records.
    async fn flush(&mut self) {
        self.sync_home_rule();
        while let Some(t) = self.core.poll_transmit() {
            let mut dst = t.dst;
            if dst.port() == MIP_PORT {
                dst.set_port(self.agent_port);
            }
            if self.socket.as_ref().map(|(_, a)| *a) != Some(t.src) {
                if let Some(esp) = self.esp.as_mut() {
                    esp.moved(t.src);
                }
                match UdpSocket::bind((t.src, self.local_port())).await {
                    Ok(s) => self.socket = Some((s, t.src)),
                    Err(e) => {
                        warn!(error = %e, src = %t.src, "cannot send from this address");
                        self.schedule_resend();
                        continue;
                    }
                }
            }
            if self.socket.is_some() {
                match self.send_agent(&t.payload, dst).await {
                    Ok(()) => {
                        self.resends = 0;
                        self.resend_at = None;
                    }
                    Err(e) => {
                        warn!(error = %e, to = %dst, "cannot send request");
                        self.schedule_resend();
                    }
                }
            }
        }
        while let Some(sol) = self.core.poll_solicitation() {
            match &self.agent_link {
                Some(l) => {
                    if let Err(e) = l.solicit(&sol).await {
                        debug!(error = %e, "agent solicitation not sent");
                    }
                }
                None => debug!("agent solicitation not sent: no ICMP socket"),
            }
        }
        while let Some(r) = self.core.poll_record() {
            debug!(target: "telsec::mn", "{r}");
        }
        while let Some(e) = self.core.poll_event() {
            match &e {
                Event::Registered { tunnel, .. } => {
                    self.tunnel = Some(*tunnel);
                    self.next_keepalive = match tunnel {
                        TunnelMode::Udp { keepalive_secs } if *keepalive_secs > 0 => Some(
                            tokio::time::Instant::now()
                                + Duration::from_secs(u64::from(*keepalive_secs)),
                        ),
                        _ => None,
                    };
                    info!(target: "telsec::mn", event = ?e, "registered");
                }
                Event::Deregistered | Event::Moved { .. } => {
                    self.tunnel = None;
                    self.next_keepalive = None;
                    info!(target: "telsec::mn", event = ?e);
                }
                Event::Refused { .. } | Event::RegistrationTimedOut { .. } => {
                    self.tunnel = None;
                    warn!(target: "telsec::mn", event = ?e);
                }
                Event::KeyNeeded => info!(target: "telsec::mn", "no MN-HA key yet"),
            }
            if self.events.try_send((now_ms(), e)).is_err() {
                debug!("event dropped: nobody listening");
            }
        }
        self.sync_home_rule();
    }

    /// An ICMP packet from the watched interface: Agent Advertisements
    /// (RFC 5944 §2.1) go to the core, the rest is not ours.
    fn icmp_in(&mut self, packet: &[u8]) {
        let Ok(p) = Ipv4Packet::new_checked(packet) else {
            return;
        };
        let icmp = p.payload();
        if p.protocol() != ipv4::PROTO_ICMP || icmp.first() != Some(&ICMP_ROUTER_ADVERTISEMENT) {
            return;
        }
        match self.core.handle_advertisement(now_ms(), p.src(), icmp) {
            Ok(()) => debug!(from = %p.src(), "agent advertisement"),
            Err(why) => debug!(from = %p.src(), reason = ?why, "advertisement ignored"),
        }
    }

    fn home_agent(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.core.config().home_agent, self.agent_port)
    }

    async fn datagram(&mut self, bytes: &[u8], from: SocketAddr) {
        let SocketAddr::V4(from) = from else {
            return;
        };
        if bytes.first() == Some(&tunnel::TUNNEL_DATA_TYPE) {
            if from != self.home_agent() {
                debug!(from = %from, "tunnel data not from the home agent");
                return;
            }
            match tunnel::open_udp_data(bytes) {
                Ok(inner) if inner.dst() == self.core.config().home_address => {
                    if let Err(e) = self.link.send(inner.as_bytes()).await {
                        debug!(error = %e, "home link send");
                    }
                }
                Ok(inner) if inner.src() == self.core.config().home_agent => {
                    debug!("keep-alive answered");
                }
                Ok(inner) => debug!(dst = %inner.dst(), "tunnel data for another address"),
                Err(e) => debug!(error = %e, "bad tunnel data"),
            }
            return;
        }
        // The core wants the agent's port as 434 to match its requests.
        let mut as_agent = from;
        if from.port() == self.agent_port {
            as_agent.set_port(MIP_PORT);
        }
        if let Err(why) = self.core.handle_reply(now_ms(), as_agent, bytes) {
            warn!(target: "telsec::mn", from = %from, reason = %why, "reply ignored");
        }
    }

    /// A packet from the node's own stack: sent through the reverse
    /// tunnel when registered with UDP tunnelling away from home.
    async fn handle_home_link(&mut self, packet: &[u8]) {
        let Ok(p) = Ipv4Packet::new_checked(packet) else {
            return;
        };
        if p.src() != self.core.config().home_address {
            debug!(src = %p.src(), "not from the home address");
            return;
        }
        let away = !matches!(
            self.core.state().location,
            Location::AtHome | Location::Detached
        );
        match (&self.socket, self.tunnel, away) {
            (Some(_), Some(TunnelMode::Udp { .. }), true) => {
                let mut out = Vec::with_capacity(packet.len() + 4);
                tunnel::emit_udp_data(p.as_bytes(), &mut out);
                if let Err(e) = self.send_agent(&out, self.home_agent()).await {
                    debug!(error = %e, "reverse tunnel send");
                }
            }
            _ => debug!("no UDP tunnel in force: packet not sent"),
        }
    }

    /// RFC 3519 §4.9: an ICMP echo to the home agent inside the tunnel
    /// keeps the NAT mapping alive.
    async fn keepalive(&mut self) {
        let Some(TunnelMode::Udp { keepalive_secs }) = self.tunnel else {
            self.next_keepalive = None;
            return;
        };
        self.next_keepalive = Some(
            tokio::time::Instant::now() + Duration::from_secs(u64::from(keepalive_secs.max(1))),
        );
        let cfg = self.core.config();
        let echo = tunnel::echo_request(cfg.home_address, cfg.home_agent, 0x4d49, 1);
        let mut out = Vec::new();
        tunnel::emit_udp_data(&echo, &mut out);
        if self.socket.is_some()
            && let Err(e) = self.send_agent(&out, self.home_agent()).await
        {
            debug!(error = %e, "keep-alive not sent");
        }
    }

    /// The local port of the registration socket: any, or the ESP-in-UDP
    /// port when the home agent is reached through the gateway.
    fn local_port(&self) -> u16 {
        self.esp.as_ref().map_or(0, |e| e.port)
    }

    /// Sends `payload` to an agent: directly, or inside ESP to the gateway.
    async fn send_agent(&mut self, payload: &[u8], dst: SocketAddrV4) -> io::Result<()> {
        let Some((s, src)) = &self.socket else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        match self.esp.as_mut() {
            None => s.send_to(payload, dst).await.map(drop),
            Some(esp) => {
                let (sealed, gateway) = esp.seal(*src, dst, payload).map_err(io::Error::other)?;
                s.send_to(sealed, gateway).await.map(drop)
            }
        }
    }

    /// A datagram on the registration socket: as it is, or opened from ESP.
    async fn received(&mut self, bytes: &mut [u8], from: SocketAddr) {
        let Some(esp) = self.esp.as_mut() else {
            self.datagram(bytes, from).await;
            return;
        };
        match esp.open(from, bytes) {
            Ok((payload, src)) => {
                let inner = bytes[payload].to_vec();
                self.datagram(&inner, SocketAddr::V4(src)).await;
            }
            Err(why) => debug!(target: "telsec::mn", from = %from, why, "ESP datagram dropped"),
        }
    }
}

/// A raw ICMP socket bound to the watched interface (CAP_NET_RAW), driven
/// through tokio's `UdpSocket` as [`crate::raw_ipip`] explains. It hears
/// advertisements sent to 255.255.255.255 and to 224.0.0.1 (every host is
/// in that group) and sends solicitations with TTL 1 (RFC 5944 §2.2).
#[derive(Debug)]
struct AgentLink {
    socket: UdpSocket,
}

impl AgentLink {
    fn open(interface: &str) -> io::Result<AgentLink> {
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))?;
        s.bind_device(Some(interface.as_bytes()))?;
        s.set_ttl_v4(1)?;
        s.set_multicast_ttl_v4(1)?;
        s.set_multicast_loop_v4(false)?;
        s.set_nonblocking(true)?;
        let std_socket: std::net::UdpSocket = s.into();
        Ok(AgentLink {
            socket: UdpSocket::from_std(std_socket)?,
        })
    }

    /// One ICMP packet, IPv4 header included.
    async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.recv(buf).await
    }

    /// Sends an Agent Solicitation to the all-mobility-agents group.
    async fn solicit(&self, icmp: &[u8]) -> io::Result<()> {
        self.socket
            .send_to(icmp, SocketAddrV4::new(ALL_MOBILITY_AGENTS, 0))
            .await
            .map(drop)
    }
}

async fn recv_icmp(link: Option<&AgentLink>, buf: &mut [u8]) -> io::Result<usize> {
    match link {
        Some(l) => l.recv(buf).await,
        None => std::future::pending().await,
    }
}

/// The watch's next datagram from the kernel, applied.
async fn next_address(watch: Option<&mut AddressWatch>) -> io::Result<()> {
    match watch {
        Some(w) => w.next().await,
        None => std::future::pending().await,
    }
}

async fn recv_socket(
    socket: Option<&(UdpSocket, Ipv4Addr)>,
    buf: &mut [u8],
) -> io::Result<(usize, SocketAddr)> {
    match socket {
        Some((s, _)) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

async fn sleep_or_pending(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(t: Option<tokio::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
