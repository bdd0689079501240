//! The VPN gateway's driver (seed 002, WO 2004/086718): sockets, the
//! inside link and timers around [`telsec_vpn::Gateway`], which makes
//! every protocol decision.
//!
//! One task owns the core (no locks) and waits on four things at once:
//!
//! * the outside UDP socket (ESP in UDP, RFC 3948): a datagram is opened
//!   by the node's inbound SA, whose outer source is a wildcard; the inner
//!   packet goes to the inside link when its destination is in the
//!   private networks or is the home agent;
//! * the inside link (a TUN device, or the unprivileged UDP virtual wire
//!   of [`crate::packet_link`]): a packet from the private network for a
//!   node's home or care-of address is sealed with the node's outbound SA
//!   and sent from the outside socket to wherever that SA points;
//! * the SIU socket: the home agent's Security Information Update moves a
//!   node's outbound SA to its new care-of address (only an authentic,
//!   fresh SIU can: seed Figure 3, issue 5 §3); the Ack goes back to the
//!   SIU's source and the registration reply the SIU carries leaves
//!   through the moved SA, after the move (seed step 27);
//! * the SA lifetime timer ([`lifetimes`]): soft expiry is logged as "a
//!   new secret is due" (there is no IKE: keys come from configured
//!   secrets), hard expiry as the SA refusing traffic.
//!
//! Outbound sequence numbers are reserved on disk before they are sent
//! ([`sequences`]), so a restart with the same derived key never repeats
//! an AES-GCM IV. The first SIU accepted after a start must carry an
//! Identification later than the start: one captured before cannot be
//! replayed across the restart.
//!
//! Buffers are allocated once per task (65 536 octets each), so the data
//! path does not allocate. Logs go to the target `telsec::gw`; counters
//! are read with [`RunningGw::stats`].

pub mod lifetimes;
pub mod settings;
mod stats;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use telsec_esp::{AddrRange, Direction};
use telsec_vpn::{FromInside, FromOutside, Gateway, GatewayError};
use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};

pub use settings::{GwNode, GwSettings, GwSiuKey, NodeSpis, parse_algorithm};
pub use stats::GwStats;

use crate::esp_sequences::{SequenceBook, SequenceError, Verdict};
use crate::packet_link::{LinkConfig, PacketLink};
use lifetimes::{Limit, Schedule};
use stats::{Counters, bump};

/// The tracing target of the gateway's logs.
pub const TARGET: &str = "telsec::gw";
/// The largest UDP payload, and the size of the receive buffers.
const DATAGRAM_MAX: usize = 65_536;
/// Room for a sealed packet: the largest inner packet plus ESP's SPI,
/// sequence number, IV, padding, trailer and ICV.
const SEALED_MAX: usize = DATAGRAM_MAX + 64;
/// After a failed receive, wait this long before the next (a broken
/// device must not spin the task).
const RECV_ERROR_PAUSE: Duration = Duration::from_millis(10);

/// Errors starting or running the gateway.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GwError {
    /// The `[gw]` settings are inconsistent (the message names the field).
    #[error("{0}")]
    Invalid(String),
    /// A socket or the inside link could not be opened.
    #[error("cannot open {what}: {source}")]
    Open {
        /// Which one.
        what: &'static str,
        /// Why.
        source: io::Error,
    },
    /// The sequence reservation file could not be read or written.
    #[error("sequence state {path}: {source}")]
    State {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The driver task ended abnormally.
    #[error("gateway task: {0}")]
    Task(String),
}

impl From<SequenceError> for GwError {
    fn from(e: SequenceError) -> Self {
        match e {
            SequenceError::State { path, source } => GwError::State { path, source },
            SequenceError::Invalid(what) => GwError::Invalid(what),
        }
    }
}

/// Where a running gateway listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GwAddrs {
    /// The outside socket (ESP in UDP).
    pub outside: SocketAddr,
    /// The SIU socket.
    pub siu: SocketAddr,
    /// The local end of a UDP inside link.
    pub inside_link: Option<SocketAddr>,
}

/// A started gateway.
#[derive(Debug)]
pub struct RunningGw {
    addrs: GwAddrs,
    counters: Arc<Counters>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), GwError>>,
}

impl RunningGw {
    /// The bound addresses.
    pub fn local_addrs(&self) -> GwAddrs {
        self.addrs
    }

    /// The counters so far.
    pub fn stats(&self) -> GwStats {
        self.counters.snapshot()
    }

    /// Stops the task; the final counters.
    ///
    /// # Errors
    /// The task failed or panicked.
    pub async fn shutdown(self) -> Result<GwStats, GwError> {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(r) => r.map(|()| self.counters.snapshot()),
            Err(e) => Err(GwError::Task(e.to_string())),
        }
    }
}

/// Now as a 64-bit NTP timestamp (RFC 5905 §6, era 0): the SIU
/// Identification clock.
pub fn ntp_now() -> u64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    telsec_mip::replay::NtpTimestamp::from_unix(d.as_secs(), d.subsec_nanos()).0
}

fn open_err(what: &'static str) -> impl FnOnce(io::Error) -> GwError {
    move |source| GwError::Open { what, source }
}

/// Starts the gateway as `settings` describe; outbound sequence numbers
/// are reserved in `state_file` (see [`sequences`]).
///
/// # Errors
/// Invalid settings (the message names the field), a socket or link that
/// cannot be opened, an unusable state file.
pub async fn start(settings: &GwSettings, state_file: PathBuf) -> Result<RunningGw, GwError> {
    settings.validate()?;
    let spis = settings.node_spis()?;
    let outbound: Vec<u32> = spis.iter().map(|s| s.outbound).collect();
    let (book, resume) = SequenceBook::open(state_file, &outbound)?;
    let created = Instant::now();
    let gateway = settings.build_gateway(
        created,
        |spi| resume.get(&spi).copied().unwrap_or(0),
        ntp_now(),
    )?;
    let outside = UdpSocket::bind(settings.outside)
        .await
        .map_err(open_err("outside socket"))?;
    let siu = UdpSocket::bind(settings.siu_listen)
        .await
        .map_err(open_err("SIU socket"))?;
    let link = PacketLink::open(&settings.inside_link)
        .await
        .map_err(open_err("inside link"))?;
    let addrs = GwAddrs {
        outside: outside.local_addr().map_err(open_err("outside socket"))?,
        siu: siu.local_addr().map_err(open_err("SIU socket"))?,
        inside_link: link.local_addr(),
    };
    if settings.inside_link == LinkConfig::None {
        warn!(target: TARGET, "gw.inside_link is none: packets from nodes are dropped");
    }
    let secs = |s: u64| (s > 0).then(|| Duration::from_secs(s));
    let schedule = Schedule::new(
        created,
        secs(settings.sa_soft_lifetime_secs),
        secs(settings.sa_hard_lifetime_secs),
        spis.iter().flat_map(|s| {
            [
                (s.home, s.inbound, Direction::Inbound),
                (s.home, s.outbound, Direction::Outbound),
            ]
        }),
    );
    for s in &spis {
        let t = gateway.node(s.home);
        info!(
            target: TARGET,
            home = %s.home,
            care_of = ?t.map(|t| t.coa),
            inbound_spi = format_args!("{:#010x}", s.inbound),
            outbound_spi = format_args!("{:#010x}", s.outbound),
            resumes_after = resume.get(&s.outbound).copied().unwrap_or(0),
            "node"
        );
    }
    info!(
        target: TARGET,
        outside = %addrs.outside,
        address = %settings.gateway_address(),
        siu = %addrs.siu,
        home_agent = %settings.home_agent,
        inside_link = ?settings.inside_link,
        nodes = spis.len(),
        algorithm = %settings.algorithm,
        "VPN gateway started"
    );
    let counters = Arc::new(Counters::default());
    let driver = Driver {
        gw: gateway,
        outside,
        siu,
        link,
        private: settings.private_ranges(),
        home_agent: settings.home_agent,
        book,
        schedule,
        counters: Arc::clone(&counters),
    };
    let (stop, stop_rx) = oneshot::channel();
    let task = tokio::spawn(driver.run(stop_rx));
    Ok(RunningGw {
        addrs,
        counters,
        stop,
        task,
    })
}

struct Driver {
    gw: Gateway,
    outside: UdpSocket,
    siu: UdpSocket,
    link: PacketLink,
    private: Vec<AddrRange>,
    home_agent: Ipv4Addr,
    book: SequenceBook,
    schedule: Schedule,
    counters: Arc<Counters>,
}

/// An IPv4 address field of a packet (RFC 791 §3.1), if it is IPv4.
fn ipv4_field(packet: &[u8], at: usize) -> Option<Ipv4Addr> {
    if packet.first()? >> 4 != 4 {
        return None;
    }
    let a: [u8; 4] = packet.get(at..at + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(a))
}

impl Driver {
    async fn run(mut self, mut stop: oneshot::Receiver<()>) -> Result<(), GwError> {
        let mut outside_buf = vec![0u8; DATAGRAM_MAX];
        let mut inside_buf = vec![0u8; DATAGRAM_MAX];
        // One more than the longest SIU, so that a longer datagram is seen
        // as too long instead of silently truncated.
        let mut siu_buf = vec![0u8; telsec_vpn::siu::MAX_SIU_LEN + 1];
        let mut out = vec![0u8; SEALED_MAX];
        loop {
            let deadline = self.schedule.next_at();
            let sleep = tokio::time::sleep_until(
                deadline
                    .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))
                    .into(),
            );
            tokio::select! {
                _ = &mut stop => break,
                r = self.outside.recv_from(&mut outside_buf) => match r {
                    Ok((n, from)) => self.outside_in(from, &mut outside_buf[..n]).await,
                    Err(e) => recv_failed("outside socket", &e).await,
                },
                r = self.link.recv(&mut inside_buf) => match r {
                    Ok(n) => self.inside_in(&inside_buf[..n], &mut out).await,
                    Err(e) => recv_failed("inside link", &e).await,
                },
                r = self.siu.recv_from(&mut siu_buf) => match r {
                    Ok((n, from)) => self.siu_in(from, &siu_buf[..n], &mut out).await,
                    Err(e) => recv_failed("SIU socket", &e).await,
                },
                () = sleep, if deadline.is_some() => self.lifetimes(),
            }
        }
        info!(target: TARGET, stats = ?self.counters.snapshot(), "VPN gateway stopped");
        Ok(())
    }

    /// Whether `a` is behind the gateway.
    fn is_private(&self, a: Ipv4Addr) -> bool {
        a == self.home_agent || self.private.iter().any(|r| r.contains(IpAddr::V4(a)))
    }

    /// A datagram on the outside socket.
    async fn outside_in(&mut self, from: SocketAddr, datagram: &mut [u8]) {
        match self.gw.from_outside(Instant::now(), from, datagram) {
            FromOutside::Deliver { inner, home } => {
                let Some(packet) = datagram.get(inner) else {
                    bump(&self.counters.dropped_malformed);
                    return;
                };
                let dst = ipv4_field(packet, 16);
                if !dst.is_some_and(|d| self.is_private(d)) {
                    bump(&self.counters.dropped_not_private);
                    debug!(target: TARGET, %home, dst = ?dst, "inner destination not behind the gateway");
                    return;
                }
                match self.link.send(packet).await {
                    Ok(()) => bump(&self.counters.delivered),
                    Err(e) => {
                        bump(&self.counters.send_errors);
                        debug!(target: TARGET, error = %e, "inside link send");
                    }
                }
            }
            FromOutside::Control => bump(&self.counters.control),
            FromOutside::Dropped(e) => {
                let (counter, reason) = self.counters.for_drop(&e);
                bump(counter);
                debug!(target: TARGET, %from, reason, error = %e, "dropped from outside");
            }
        }
    }

    /// A packet from the private network.
    async fn inside_in(&mut self, packet: &[u8], out: &mut [u8]) {
        let Some(src) = ipv4_field(packet, 12) else {
            bump(&self.counters.inside_refused);
            return;
        };
        if !self.is_private(src) {
            bump(&self.counters.inside_refused);
            debug!(target: TARGET, %src, "inside packet from outside the private networks");
            return;
        }
        let now = Instant::now();
        match self.gw.from_inside(now, packet, out) {
            Ok(FromInside::Send { len, to }) => {
                if let Some(sealed) = out.get(..len)
                    && self.send_sealed(now, sealed, to).await
                {
                    bump(&self.counters.sent);
                }
            }
            Ok(FromInside::NotForANode) => bump(&self.counters.not_for_a_node),
            Err(GatewayError::NotIpv4) => bump(&self.counters.inside_refused),
            Err(e) => {
                bump(&self.counters.seal_failed);
                debug!(target: TARGET, error = %e, "cannot seal towards the node");
            }
        }
    }

    /// Sends a sealed ESP packet from the outside socket if its sequence
    /// number is reserved on disk; whether it left.
    async fn send_sealed(&mut self, now: Instant, sealed: &[u8], to: SocketAddr) -> bool {
        // RFC 4303 §2.1: the SPI is the first four octets.
        let spi = sealed
            .get(..4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes);
        let seq = spi.and_then(|spi| {
            self.gw
                .sad()
                .get(spi, Direction::Outbound)
                .map(|sa| (spi, sa.sequence()))
        });
        let reserved = match seq {
            Some((spi, seq)) => self.book.check(now, spi, seq) == Verdict::Send,
            None => false,
        };
        if !reserved {
            bump(&self.counters.sequence_unreserved);
            return false;
        }
        match self.outside.send_to(sealed, to).await {
            Ok(_) => true,
            Err(e) => {
                bump(&self.counters.send_errors);
                debug!(target: TARGET, %to, error = %e, "outside send");
                false
            }
        }
    }

    /// A datagram on the SIU socket.
    async fn siu_in(&mut self, from: SocketAddr, datagram: &[u8], out: &mut [u8]) {
        let now = Instant::now();
        let handled = self.gw.handle_siu(now, ntp_now(), datagram, out);
        match (&handled.refused, &handled.ack) {
            (None, _) => {
                bump(&self.counters.siu_applied);
                if let Some((home, old, new)) = handled.moved {
                    info!(target: TARGET, %home, from = %old, to = %new, siu_from = %from,
                        "outbound SA moved by the home agent's SIU");
                }
            }
            (Some(why), Some(_)) => {
                bump(&self.counters.siu_refused);
                warn!(target: TARGET, %from, reason = %why, "SIU refused (answered)");
            }
            (Some(why), None) => {
                // Not authenticated: counted, logged at debug only, so
                // that a flood of forgeries cannot flood the log.
                bump(&self.counters.siu_unanswered);
                debug!(target: TARGET, %from, reason = %why, "SIU ignored");
            }
        }
        // The node waits for the reply: it goes first, through the SA that
        // has just moved.
        match handled.reply {
            Some((len, to)) => {
                if let Some(sealed) = out.get(..len)
                    && self.send_sealed(now, sealed, to).await
                {
                    bump(&self.counters.replies_sent);
                }
            }
            None if handled.refused.is_none() => {
                warn!(target: TARGET, "SIU applied, but its registration reply could not be sealed");
            }
            None => {}
        }
        if let Some(ack) = &handled.ack
            && let Err(e) = self.siu.send_to(ack, from).await
        {
            bump(&self.counters.send_errors);
            warn!(target: TARGET, %from, error = %e, "cannot send the SIU-Ack");
        }
    }

    /// SA lifetime deadlines that have passed.
    fn lifetimes(&mut self) {
        let now = Instant::now();
        while let Some(d) = self.schedule.pop_due(now) {
            let phase = self
                .gw
                .sad()
                .get(d.spi, d.direction)
                .map(|sa| sa.phase(now));
            let spi = format_args!("{:#010x}", d.spi);
            match d.limit {
                Limit::Soft => warn!(
                    target: TARGET, home = %d.home, spi = %spi, direction = ?d.direction, ?phase,
                    "SA soft lifetime reached: a new secret is due (there is no IKE: give the \
                     node and its [[gw.nodes]] entry a fresh secret, then restart both)"
                ),
                Limit::Hard => error!(
                    target: TARGET, home = %d.home, spi = %spi, direction = ?d.direction, ?phase,
                    "SA hard lifetime reached: it refuses all traffic until the gateway \
                     restarts with a new secret"
                ),
            }
        }
    }
}

async fn recv_failed(what: &str, e: &io::Error) {
    warn!(target: TARGET, error = %e, "{what} receive failed");
    tokio::time::sleep(RECV_ERROR_PAUSE).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_clock_is_unix_plus_the_1900_offset() {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let ntp_secs = ntp_now() >> 32;
        // RFC 5905 §6: 2 208 988 800 s from 1900 to 1970.
        assert!(ntp_secs.abs_diff(unix + 2_208_988_800) <= 1);
    }

    #[test]
    fn address_fields_of_ipv4_only() {
        let mut p = [0u8; 20];
        p[0] = 0x45;
        p[12..16].copy_from_slice(&[10, 0, 0, 1]);
        p[16..20].copy_from_slice(&[10, 0, 0, 2]);
        assert_eq!(ipv4_field(&p, 12), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(ipv4_field(&p, 16), Some(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(ipv4_field(&p[..18], 16), None, "truncated");
        p[0] = 0x60;
        assert_eq!(ipv4_field(&p, 16), None, "IPv6");
    }
}
