//! The roaming scenario of `telsec demo roam` and of the loopback
//! end-to-end test, on loopback addresses and unprivileged: a home agent,
//! a mobile node with two successive co-located care-of addresses, and a
//! correspondent on the home link streaming UDP to the node's home
//! address. It reports a timeline, each handover's time (address change
//! to the first datagram delivered at the new address) and the datagrams
//! lost.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;
use telsec_mip::ha::{Config as Policy, HomeAgent, HomeNetwork};
use telsec_mip::mn::{Config as MnConfig, Event, MobileNode, UdpTunnelling};
use telsec_mip::tunnel;
use telsec_mip::{Algorithm, ReplayMode, SecurityAssociation};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::ha_service::{self, HaParams};
use crate::mn_service::{self, MnCommand, MnParams};
use crate::packet_link::LinkConfig;

/// Where the scenario runs.
#[derive(Debug, Clone)]
pub struct RoamOptions {
    /// The home agent's loopback address.
    pub home_agent: Ipv4Addr,
    /// The correspondent's (home link) loopback address.
    pub correspondent: Ipv4Addr,
    /// The node's care-of addresses, visited in order.
    pub care_of: Vec<Ipv4Addr>,
    /// The node's home address.
    pub home_address: Ipv4Addr,
    /// Interval between the correspondent's datagrams.
    pub interval: Duration,
    /// How long the node stays at each care-of address.
    pub dwell: Duration,
    /// Directory for the home agent's bindings.
    pub state_dir: PathBuf,
    /// The MN-HA key the node starts with (`None`: the caller installs
    /// one, e.g. from the SMS key service, through the returned handle).
    pub key: Option<Vec<u8>>,
}

impl RoamOptions {
    /// Defaults on 127.0.0.50-53 with a 2 ms stream.
    pub fn loopback(state_dir: PathBuf) -> RoamOptions {
        RoamOptions {
            home_agent: Ipv4Addr::new(127, 0, 0, 50),
            correspondent: Ipv4Addr::new(127, 0, 0, 51),
            care_of: vec![Ipv4Addr::new(127, 0, 0, 52), Ipv4Addr::new(127, 0, 0, 53)],
            home_address: Ipv4Addr::new(10, 77, 0, 5),
            interval: Duration::from_millis(2),
            dwell: Duration::from_millis(1500),
            state_dir,
            key: Some(b"demo key: 32 octets for SHA-256".to_vec()),
        }
    }
}

/// One line of the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    /// Milliseconds since the scenario started.
    pub at_ms: f64,
    /// What happened.
    pub what: String,
}

/// One move.
#[derive(Debug, Clone, Serialize)]
pub struct Handover {
    /// Care-of address left (None: first registration).
    pub from: Option<Ipv4Addr>,
    /// Care-of address reached.
    pub to: Ipv4Addr,
    /// Address change to the registration reply, ms.
    pub registration_ms: f64,
    /// Address change to the first datagram delivered at the new
    /// address, ms.
    pub first_packet_ms: f64,
}

/// What the scenario measured.
#[derive(Debug, Clone, Serialize)]
pub struct RoamReport {
    /// The timeline.
    pub timeline: Vec<TimelineEntry>,
    /// Each care-of address reached.
    pub handovers: Vec<Handover>,
    /// Datagrams the correspondent sent.
    pub sent: u64,
    /// Datagrams the node received.
    pub received: u64,
    /// Datagrams the node answered that reached the correspondent through
    /// the reverse tunnel.
    pub answers_received: u64,
}

/// Errors of the scenario.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoamError {
    /// A service did not start.
    #[error("{0}")]
    Start(String),
    /// A socket failed.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// The node did not register in time.
    #[error("no registration at {0} within 10 s")]
    NotRegistered(Ipv4Addr),
}

const MN_SPI: u32 = 4096;

/// Runs the scenario. `on_start` gets the node's command sender before
/// the first move (the SMS key path installs the key through it).
pub async fn run(
    opts: RoamOptions,
    on_start: impl FnOnce(mpsc::Sender<MnCommand>),
) -> Result<RoamReport, RoamError> {
    let t0 = Instant::now();
    let ms = |t: Instant| t.duration_since(t0).as_secs_f64() * 1000.0;
    let mut timeline = Vec::new();
    let net = HomeNetwork {
        prefix: Ipv4Addr::new(
            opts.home_address.octets()[0],
            opts.home_address.octets()[1],
            opts.home_address.octets()[2],
            0,
        ),
        len: 24,
    };
    let key = opts.key.clone().unwrap_or_default();
    let sa = |k: &[u8]| {
        SecurityAssociation::new(MN_SPI, Algorithm::HmacSha256, k, ReplayMode::default())
    };
    let mut policy = Policy::new(opts.home_agent, net, &rand::random::<[u8; 32]>());
    policy.udp_tunnelling = true;
    let mut ha_core = HomeAgent::new(policy);
    if !key.is_empty() {
        ha_core.add_sa_for_home(
            opts.home_address,
            sa(&key).map_err(|e| RoamError::Start(e.to_string()))?,
        );
    }
    let correspondent = UdpSocket::bind((opts.correspondent, 0)).await?;
    let ha = ha_service::start(
        ha_core,
        HaParams {
            listen: SocketAddrV4::new(opts.home_agent, 0),
            state_dir: opts.state_dir.clone(),
            home_link: LinkConfig::Udp {
                bind: SocketAddr::from((opts.home_agent, 0)),
                peer: correspondent.local_addr()?,
            },
            ipip: false,
            compact_after_bytes: 1 << 20,
        },
    )
    .await
    .map_err(|e| RoamError::Start(e.to_string()))?;
    let ha_link = ha
        .link_addr()
        .ok_or_else(|| RoamError::Start("home link has no address".into()))?;
    timeline.push(TimelineEntry {
        at_ms: ms(Instant::now()),
        what: format!("home agent up on {}", ha.local_addr()),
    });

    let app = UdpSocket::bind((opts.correspondent, 0)).await?;
    let mut mn_config = MnConfig::new(opts.home_address, opts.home_agent, net, rand::random());
    if !key.is_empty() {
        mn_config.sa = Some(sa(&key).map_err(|e| RoamError::Start(e.to_string()))?);
    }
    mn_config.udp_tunnelling = UdpTunnelling::Forced;
    mn_config.reverse_tunnelling = true;
    mn_config.lifetime = 600;
    let core = MobileNode::new(mn_config).map_err(|e| RoamError::Start(e.to_string()))?;
    let (ev_tx, mut events) = mpsc::channel(256);
    let mn = mn_service::start(
        core,
        MnParams {
            agent_port: ha.local_addr().port(),
            home_link: LinkConfig::Udp {
                bind: SocketAddr::from((opts.correspondent, 0)),
                peer: app.local_addr()?,
            },
            initial_address: None,
            interface: None,
            address_poll: Duration::from_secs(1),
        },
        ev_tx,
    )
    .await
    .map_err(|e| RoamError::Start(e.to_string()))?;
    let mn_link = mn
        .link_addr()
        .ok_or_else(|| RoamError::Start("node link has no address".into()))?;
    on_start(mn.commands());

    let corr = SocketAddrV4::new(opts.correspondent, 7000);
    let home_port = SocketAddrV4::new(opts.home_address, 9000);
    let mut sent = 0u64;
    let mut received = 0u64;
    let mut answers = 0u64;
    let mut handovers = Vec::new();
    let mut previous = None;
    let mut tick = tokio::time::interval(opts.interval);
    let mut buf = vec![0u8; 2048];
    let mut cbuf = vec![0u8; 2048];
    for &coa in &opts.care_of {
        let moved_at = Instant::now();
        mn.commands()
            .send(MnCommand::AddressChanged(Some(coa)))
            .await
            .map_err(|_| RoamError::Start("node stopped".into()))?;
        timeline.push(TimelineEntry {
            at_ms: ms(moved_at),
            what: format!("node's address is now {coa}"),
        });
        let mut registered_at = None;
        let mut first_at = None;
        let deadline = moved_at + Duration::from_secs(10);
        let dwell_end = moved_at + opts.dwell;
        loop {
            let now = Instant::now();
            if registered_at.is_none() && now > deadline {
                return Err(RoamError::NotRegistered(coa));
            }
            if first_at.is_some() && now > dwell_end {
                break;
            }
            tokio::select! {
                _ = tick.tick() => {
                    let payload = sent.to_be_bytes();
                    if let Some(pkt) = tunnel::udp_packet(corr, home_port, &payload) {
                        correspondent.send_to(&pkt, ha_link).await?;
                        sent += 1;
                    }
                }
                Some((_, e)) = events.recv() => {
                    let at = Instant::now();
                    if let Event::Registered { coa: c, .. } = &e
                        && *c == coa && registered_at.is_none() {
                        registered_at = Some(at);
                    }
                    timeline.push(TimelineEntry { at_ms: ms(at), what: format!("node: {e:?}") });
                }
                r = app.recv_from(&mut buf) => {
                    let (n, _) = r?;
                    let Ok(p) = tunnel::Ipv4Packet::new_checked(&buf[..n]) else { continue };
                    if let Some((_, _, payload)) = tunnel::udp_payload(&p) {
                        received += 1;
                        if registered_at.is_some() && first_at.is_none() {
                            let at = Instant::now();
                            first_at = Some(at);
                            timeline.push(TimelineEntry { at_ms: ms(at), what: format!("first datagram delivered via {coa}") });
                        }
                        // Answer through the reverse tunnel.
                        if let Some(ans) = tunnel::udp_packet(home_port, corr, payload) {
                            app.send_to(&ans, mn_link).await?;
                        }
                    }
                }
                r = correspondent.recv_from(&mut cbuf) => {
                    let (n, _) = r?;
                    if tunnel::Ipv4Packet::new_checked(&cbuf[..n]).is_ok_and(|p| p.src() == opts.home_address) {
                        answers += 1;
                    }
                }
            }
        }
        let (Some(reg), Some(first)) = (registered_at, first_at) else {
            return Err(RoamError::NotRegistered(coa));
        };
        handovers.push(Handover {
            from: previous,
            to: coa,
            registration_ms: reg.duration_since(moved_at).as_secs_f64() * 1000.0,
            first_packet_ms: first.duration_since(moved_at).as_secs_f64() * 1000.0,
        });
        previous = Some(coa);
    }
    // Let the last datagrams in flight arrive.
    let drain_end = Instant::now() + Duration::from_millis(200);
    while let Ok(Ok((n, _))) =
        tokio::time::timeout_at(drain_end.into(), app.recv_from(&mut buf)).await
    {
        if tunnel::Ipv4Packet::new_checked(&buf[..n]).is_ok() {
            received += 1;
        }
    }
    mn.shutdown().await;
    ha.shutdown()
        .await
        .map_err(|e| RoamError::Start(e.to_string()))?;
    Ok(RoamReport {
        timeline,
        handovers,
        sent,
        received,
        answers_received: answers,
    })
}
