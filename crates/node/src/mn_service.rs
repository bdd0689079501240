//! The mobile node's driver: the registration socket on the node's current
//! address (its co-located care-of address, or the home address at home),
//! a packet link carrying the home address (a TUN device, or the UDP wire
//! to local applications), RFC 3519 tunnel data and keep-alives, and
//! optionally a raw ICMP socket for agent advertisements and a raw IP-in-IP
//! socket. The decisions are [`telsec_mip::mn::MobileNode`]'s.
//!
//! Address changes come from [`MnCommand::AddressChanged`] (the operator,
//! a test, or the interface watcher: with `interface` set the driver reads
//! that interface's IPv4 address every `address_poll` and reports changes).
//! Keys come from [`MnCommand::InstallSa`] (the SMS key receiver).

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use telsec_mip::SecurityAssociation;
use telsec_mip::mn::{Event, Location, MobileNode, State, TunnelMode};
use telsec_mip::registration::MIP_PORT;
use telsec_mip::tunnel::{self, Ipv4Packet};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::ha_service::now_ms;
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
    /// How often that interface is read.
    pub address_poll: Duration,
}

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
    let link = PacketLink::open(&params.home_link)
        .await
        .map_err(|source| MnError::Open {
            what: "home link",
            source,
        })?;
    let link_addr = link.local_addr();
    let (commands, rx) = mpsc::channel(64);
    let (stop, stop_rx) = oneshot::channel();
    let driver = Driver {
        core,
        socket: None,
        link,
        events,
        agent_port: params.agent_port,
        tunnel: None,
        next_keepalive: None,
        interface: params.interface,
        address_poll: params.address_poll,
        watched: None,
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
    interface: Option<String>,
    address_poll: Duration,
    watched: Option<Option<Ipv4Addr>>,
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
        let mut buf = vec![0u8; 65_536];
        let mut link_buf = vec![0u8; 65_536];
        let mut poll = tokio::time::interval(self.address_poll.max(Duration::from_millis(10)));
        loop {
            self.flush().await;
            let sleep = self
                .core
                .poll_timeout()
                .map(|t| Duration::from_millis(t.saturating_sub(now_ms())));
            tokio::select! {
                _ = &mut stop => break,
                Some(cmd) = commands.recv() => self.command(cmd).await,
                r = recv_socket(self.socket.as_ref(), &mut buf) => match r {
                    Ok((n, from)) => self.datagram(&buf[..n], from).await,
                    Err(e) => { warn!(error = %e, "registration socket"); self.socket = None; }
                },
                r = self.link.recv(&mut link_buf) => match r {
                    Ok(n) => self.handle_home_link(&link_buf[..n]).await,
                    Err(e) => warn!(error = %e, "home link"),
                },
                _ = poll.tick(), if self.interface.is_some() => self.watch_interface().await,
                () = sleep_until(self.next_keepalive) => self.keepalive().await,
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
        if let Some(a) = address {
            match UdpSocket::bind((a, 0)).await {
                Ok(s) => self.socket = Some((s, a)),
                Err(e) => warn!(error = %e, address = %a, "cannot bind registration socket"),
            }
        }
        self.core.handle_address_change(now_ms(), address);
    }

    /// Reads the watched interface's address (first IPv4 address).
    async fn watch_interface(&mut self) {
        let Some(name) = self.interface.clone() else {
            return;
        };
        let now = interface_ipv4(&name).await;
        if self.watched != Some(now) {
            self.watched = Some(now);
            self.address_changed(now).await;
        }
    }

    /// Sends what the core queued and forwards its events and records.
    async fn flush(&mut self) {
        while let Some(t) = self.core.poll_transmit() {
            let mut dst = t.dst;
            if dst.port() == MIP_PORT {
                dst.set_port(self.agent_port);
            }
            if self.socket.as_ref().map(|(_, a)| *a) != Some(t.src) {
                match UdpSocket::bind((t.src, 0)).await {
                    Ok(s) => self.socket = Some((s, t.src)),
                    Err(e) => {
                        warn!(error = %e, src = %t.src, "cannot send from this address");
                        continue;
                    }
                }
            }
            if let Some((s, _)) = &self.socket
                && let Err(e) = s.send_to(&t.payload, dst).await
            {
                warn!(error = %e, to = %dst, "cannot send request");
            }
        }
        while self.core.poll_solicitation().is_some() {
            debug!("agent solicitation not sent: no ICMP socket in this driver");
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
            (Some((s, _)), Some(TunnelMode::Udp { .. }), true) => {
                let mut out = Vec::with_capacity(packet.len() + 4);
                tunnel::emit_udp_data(p.as_bytes(), &mut out);
                if let Err(e) = s.send_to(&out, self.home_agent()).await {
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
        let echo = keepalive_echo(cfg.home_address, cfg.home_agent);
        let mut out = Vec::new();
        tunnel::emit_udp_data(&echo, &mut out);
        if let Some((s, _)) = &self.socket {
            let _ = s.send_to(&out, self.home_agent()).await;
        }
    }
}

/// An ICMP Echo Request from `src` to `dst`.
fn keepalive_echo(src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0, 0x4d, 0x49, 0, 1];
    let sum = tunnel::ipv4::checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut out = Vec::with_capacity(28);
    // 28 octets always fit.
    let _ = tunnel::Ipv4Header {
        src,
        dst,
        protocol: tunnel::ipv4::PROTO_ICMP,
        tos: 0,
        ttl: tunnel::ipv4::DEFAULT_TTL,
        dont_fragment: false,
        ident: 0,
    }
    .emit(icmp.len(), &mut out);
    out.extend_from_slice(&icmp);
    out
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

/// The first IPv4 address of interface `name`, from `ip -4 -o addr show`.
async fn interface_ipv4(name: &str) -> Option<Ipv4Addr> {
    let name = name.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("ip")
            .args(["-4", "-o", "addr", "show", "dev", &name])
            .output()
    })
    .await
    .ok()?
    .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = text
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)?;
    field.split('/').next()?.parse().ok()
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
