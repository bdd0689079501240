//! `telsec ha bench`: registrations per second through the real home agent
//! driver (UDP socket, MN-HA authentication, replay check, binding update,
//! journal synced before every batch of replies), its task on one core,
//! measured beside the physical limit of the same path: a UDP echo server
//! on one core answering the same client with the same datagrams.
//!
//! Every node's requests go out on one socket in order, so Identifications
//! arrive increasing and each request is a fresh, accepted registration.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;
use telsec_mip::ext::ExtensionType;
use telsec_mip::ha::{Config as Policy, HomeAgent, HomeNetwork};
use telsec_mip::{
    Algorithm, NtpTimestamp, ReplayMode, Reply, ReplyCode, Request, RequestFlags,
    SecurityAssociation, append_signature,
};
use telsec_node::ha_service::{self, HaCommand, HaParams};
use telsec_node::packet_link::LinkConfig;
use tokio::net::UdpSocket;
use tokio::sync::oneshot;

use crate::exit::UsageError;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Mobile nodes (each with its own SA).
    #[arg(long, default_value_t = 10_000)]
    nodes: u32,
    /// Registrations per node.
    #[arg(long, default_value_t = 10)]
    rounds: u32,
    /// Client sockets.
    #[arg(long, default_value_t = 4)]
    sockets: u32,
    /// Requests in flight per socket.
    #[arg(long, default_value_t = 64)]
    window: u32,
    /// MN-HA algorithm: hmac-md5 (RFC 5944 default) or hmac-sha256.
    #[arg(long, default_value = "hmac-md5")]
    algorithm: String,
    /// Loopback address the servers listen on.
    #[arg(long, default_value = "127.0.0.1")]
    address: Ipv4Addr,
    /// Directory for the journal (default: a fresh one under the system's temp dir).
    #[arg(long)]
    state_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    answered: u64,
    accepted: u64,
    seconds: f64,
}

fn home(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 64, 0, 0)) + n + 1)
}

pub fn run(a: BenchArgs) -> anyhow::Result<()> {
    if a.nodes == 0 || a.rounds == 0 || a.sockets == 0 || a.window == 0 || a.nodes < a.sockets {
        return Err(UsageError(
            "nodes, rounds, sockets, window must be >= 1 and nodes >= sockets".into(),
        )
        .into());
    }
    let algorithm = match a.algorithm.as_str() {
        "hmac-md5" => Algorithm::HmacMd5,
        "hmac-sha256" => Algorithm::HmacSha256,
        _ => return Err(UsageError("--algorithm is hmac-md5 or hmac-sha256".into()).into()),
    };
    let sa = |n: u32| {
        SecurityAssociation::new(
            256 + n,
            algorithm,
            &n.to_be_bytes().repeat(4),
            ReplayMode::default(),
        )
    };
    let mut core = HomeAgent::new(Policy::new(
        a.address,
        HomeNetwork {
            prefix: Ipv4Addr::new(10, 64, 0, 0),
            len: 10,
        },
        b"bench",
    ));
    for n in 0..a.nodes {
        core.add_sa_for_home(home(n), sa(n)?);
    }
    // Requests per socket, in send order.
    let now = ha_service::now_ms();
    let base = NtpTimestamp::from_unix(now / 1000, 0).0;
    let mut per_socket: Vec<Vec<Vec<u8>>> = vec![Vec::new(); a.sockets as usize];
    for r in 0..a.rounds {
        for n in 0..a.nodes {
            let mut bytes = Request {
                flags: RequestFlags::default(),
                lifetime: 600,
                home_address: home(n),
                home_agent: a.address,
                care_of_address: Ipv4Addr::new(198, 18, (n >> 8) as u8, n as u8),
                identification: base + u64::from(r) + 1,
                extensions: Vec::new(),
            }
            .to_vec()?;
            append_signature(&mut bytes, ExtensionType::MnHaAuth, &sa(n)?)?;
            per_socket[(n % a.sockets) as usize].push(bytes);
        }
    }
    let per_socket = Arc::new(per_socket);
    let dir = a.state_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("telsec-ha-bench-{}", std::process::id()))
    });
    let _ = std::fs::remove_dir_all(&dir);

    // The home agent first, while the Identifications are fresh (RFC 5944
    // §5.7.1 tolerance), ...
    let (ha_tally, commits) = {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = oneshot::channel::<()>();
        let params = HaParams {
            listen: SocketAddrV4::new(a.address, 0),
            state_dir: dir.clone(),
            home_link: LinkConfig::None,
            ipip: false,
            compact_after_bytes: 64 << 20,
            vpn: telsec_node::ha_vpn::HaVpnSettings::default(),
        };
        let server = std::thread::spawn(move || -> anyhow::Result<u64> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let running = ha_service::start(core, params).await?;
                addr_tx.send((running.local_addr(), running.commands()))?;
                let _ = done_rx.await;
                let (tx, rx) = oneshot::channel();
                running.commands().send(HaCommand::Stats(tx)).await?;
                let stats = rx.await?;
                running.shutdown().await?;
                Ok(stats.commits)
            })
        });
        let (addr, _commands) = addr_rx.recv()?;
        let t = drive(
            SocketAddr::V4(addr),
            per_socket.clone(),
            a.window,
            a.address,
            true,
        )?;
        let _ = done_tx.send(());
        let commits = server
            .join()
            .map_err(|_| anyhow::anyhow!("home agent thread panicked"))??;
        (t, commits)
    };
    // Then the echo baseline, same client and datagrams.
    let echo = {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let ip = a.address;
        let server = std::thread::spawn(move || -> anyhow::Result<()> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let s = UdpSocket::bind((ip, 0)).await?;
                addr_tx.send(s.local_addr()?)?;
                let mut buf = vec![0u8; 2048];
                let serve = async {
                    loop {
                        let (n, from) = s.recv_from(&mut buf).await?;
                        s.send_to(&buf[..n], from).await?;
                    }
                    #[allow(unreachable_code)]
                    anyhow::Ok(())
                };
                tokio::select! { r = serve => r, _ = stop_rx => Ok(()) }
            })
        });
        let addr = addr_rx.recv()?;
        let t = drive(addr, per_socket.clone(), a.window, a.address, false)?;
        let _ = stop_tx.send(());
        server
            .join()
            .map_err(|_| anyhow::anyhow!("echo thread panicked"))??;
        t
    };

    let _ = std::fs::remove_dir_all(&dir);
    let rate = |t: Tally| t.answered as f64 / t.seconds;
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "nodes": a.nodes,
            "rounds": a.rounds,
            "sockets": a.sockets,
            "window": a.window,
            "algorithm": a.algorithm,
            "home_agent": {
                "answered": ha_tally.answered,
                "accepted": ha_tally.accepted,
                "seconds": ha_tally.seconds,
                "per_second": rate(ha_tally),
                "journal_syncs": commits,
                "registrations_per_sync": ha_tally.accepted as f64 / commits.max(1) as f64,
            },
            "udp_echo": {
                "answered": echo.answered,
                "seconds": echo.seconds,
                "per_second": rate(echo),
            },
            "ratio_to_echo": rate(ha_tally) / rate(echo),
        }))?
    );
    Ok(())
}

/// Sends every socket's requests keeping `window` in flight, counts answers.
fn drive(
    server: SocketAddr,
    per_socket: Arc<Vec<Vec<Vec<u8>>>>,
    window: u32,
    ip: Ipv4Addr,
    check_code: bool,
) -> anyhow::Result<Tally> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let start = Instant::now();
        let mut tasks = Vec::new();
        // The clock stops at the last answer, not at the loss timeout.
        for i in 0..per_socket.len() {
            let list = per_socket.clone();
            tasks.push(tokio::spawn(async move {
                let s = UdpSocket::bind((ip, 0)).await?;
                s.connect(server).await?;
                let reqs = &list[i];
                let mut next = 0usize;
                let mut t = Tally::default();
                let mut last = Instant::now();
                while next < reqs.len().min(window as usize) {
                    s.send(&reqs[next]).await?;
                    next += 1;
                }
                let mut buf = vec![0u8; 2048];
                while (t.answered as usize) < reqs.len() {
                    let n = match tokio::time::timeout(Duration::from_secs(3), s.recv(&mut buf))
                        .await
                    {
                        Ok(r) => r?,
                        Err(_) => break, // lost datagrams: stop counting
                    };
                    t.answered += 1;
                    last = Instant::now();
                    if !check_code
                        || Reply::from_bytes(&buf[..n]).is_ok_and(|r| r.code == ReplyCode::Accepted)
                    {
                        t.accepted += 1;
                    }
                    if next < reqs.len() {
                        s.send(&reqs[next]).await?;
                        next += 1;
                    }
                }
                anyhow::Ok((t, last))
            }));
        }
        let mut total = Tally::default();
        let mut end = start;
        for task in tasks {
            let (t, last) = task.await??;
            total.answered += t.answered;
            total.accepted += t.accepted;
            end = end.max(last);
        }
        total.seconds = end.duration_since(start).as_secs_f64();
        Ok(total)
    })
}

/// `telsec ha bench-tunnel`: datagrams per second the home agent forwards
/// from its home link into an RFC 3519 UDP tunnel, beside a plain UDP
/// relay between the same kind of sockets doing no Mobile IP work, in the
/// same run.
#[derive(Debug, Args)]
pub struct TunnelBenchArgs {
    /// Inner packet sizes, octets (IPv4 packets, headers included).
    #[arg(long, value_delimiter = ',', default_value = "64,512,1400")]
    sizes: Vec<usize>,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Loopback address the forwarders use.
    #[arg(long, default_value = "127.0.0.1")]
    address: Ipv4Addr,
}

/// One measurement: datagrams and octets that reached the receiver.
#[derive(Debug, Clone, Copy)]
struct Flow {
    sent: u64,
    received: u64,
    octets: u64,
    seconds: f64,
}

/// Floods `to` with `packet` from one socket and counts what `rx` gets,
/// both non-blocking in one thread (the forwarder has the other core).
fn flood(
    tx: &std::net::UdpSocket,
    to: SocketAddr,
    rx: &std::net::UdpSocket,
    packet: &[u8],
    seconds: f64,
) -> std::io::Result<Flow> {
    tx.set_nonblocking(true)?;
    rx.set_nonblocking(true)?;
    let mut buf = vec![0u8; 65_536];
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let mut f = Flow {
        sent: 0,
        received: 0,
        octets: 0,
        seconds,
    };
    while Instant::now() < end {
        for _ in 0..16 {
            if tx.send_to(packet, to).is_ok() {
                f.sent += 1;
            }
        }
        while let Ok(n) = rx.recv(&mut buf) {
            f.received += 1;
            f.octets += n as u64;
        }
    }
    f.seconds = start.elapsed().as_secs_f64();
    Ok(f)
}

pub fn run_tunnel(a: TunnelBenchArgs) -> anyhow::Result<()> {
    const HOME: Ipv4Addr = Ipv4Addr::new(10, 64, 0, 1);
    let key = [7u8; 32];
    let sa = SecurityAssociation::new(256, Algorithm::HmacSha256, &key, ReplayMode::default())?;
    let mut policy = Policy::new(
        a.address,
        HomeNetwork {
            prefix: Ipv4Addr::new(10, 64, 0, 0),
            len: 16,
        },
        b"bench",
    );
    policy.udp_tunnelling = true;
    let mut core = HomeAgent::new(policy);
    core.add_sa_for_home(HOME, sa.clone());
    let generator = std::net::UdpSocket::bind((a.address, 0))?;
    let mn = std::net::UdpSocket::bind((a.address, 0))?;
    let dir = std::env::temp_dir().join(format!("telsec-tunnel-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let params = HaParams {
        listen: SocketAddrV4::new(a.address, 0),
        state_dir: dir.clone(),
        home_link: LinkConfig::Udp {
            bind: SocketAddr::from((a.address, 0)),
            peer: generator.local_addr()?,
        },
        ipip: false,
        compact_after_bytes: 64 << 20,
        vpn: telsec_node::ha_vpn::HaVpnSettings::default(),
    };
    // The home agent on its own thread and runtime (one core).
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let ha_thread = std::thread::spawn(move || -> anyhow::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let running = ha_service::start(core, params).await?;
            addr_tx.send((running.local_addr(), running.link_addr()))?;
            let _ = done_rx.await;
            running.shutdown().await?;
            Ok(())
        })
    });
    let (ha_addr, link) = addr_rx.recv()?;
    let link = link.ok_or_else(|| anyhow::anyhow!("home link has no address"))?;
    // Register the node with UDP tunnelling forced (no NAT on loopback).
    let ms = ha_service::now_ms();
    let mut rrq = Request {
        flags: RequestFlags::default(),
        lifetime: 600,
        home_address: HOME,
        home_agent: a.address,
        care_of_address: a.address,
        identification: NtpTimestamp::from_unix(ms / 1000, 0).0 + 1,
        extensions: vec![telsec_mip::Extension::UdpTunnelRequest(
            telsec_mip::UdpTunnelRequest {
                sub_type: 0,
                force: true,
                registration_through_fa: false,
                encapsulation: telsec_mip::Encapsulation::IpInIp,
            },
        )],
    }
    .to_vec()?;
    append_signature(&mut rrq, ExtensionType::MnHaAuth, &sa)?;
    mn.set_read_timeout(Some(Duration::from_secs(5)))?;
    mn.send_to(&rrq, ha_addr)?;
    let mut buf = [0u8; 2048];
    let n = mn.recv(&mut buf)?;
    let reply = Reply::from_bytes(&buf[..n])?;
    if reply.code != ReplyCode::Accepted {
        return Err(anyhow::anyhow!(
            "registration refused: {}",
            u8::from(reply.code)
        ));
    }

    // The baseline relay: same loop shape, no Mobile IP work.
    let relay = std::net::UdpSocket::bind((a.address, 0))?;
    let relay_addr = relay.local_addr()?;
    let mn_addr = mn.local_addr()?;
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let relay_thread = std::thread::spawn(move || -> anyhow::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            relay.set_nonblocking(true)?;
            let s = UdpSocket::from_std(relay)?;
            let mut buf = vec![0u8; 65_536];
            let serve = async {
                loop {
                    let (n, _) = s.recv_from(&mut buf).await?;
                    s.send_to(&buf[..n], mn_addr).await?;
                }
                #[allow(unreachable_code)]
                anyhow::Ok(())
            };
            tokio::select! { r = serve => r, _ = stop_rx => Ok(()) }
        })
    });

    let mut rows = Vec::new();
    for &size in &a.sizes {
        let payload = vec![0x5a; size.saturating_sub(28).max(1)];
        let packet = telsec_mip::tunnel::udp_packet(
            SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 7), 5000),
            SocketAddrV4::new(HOME, 6000),
            &payload,
        )
        .ok_or_else(|| anyhow::anyhow!("size {size} too large"))?;
        let tunnel = flood(&generator, link, &mn, &packet, a.seconds)?;
        std::thread::sleep(Duration::from_millis(200));
        while mn.recv(&mut buf).is_ok() {}
        let plain = flood(&generator, relay_addr, &mn, &packet, a.seconds)?;
        std::thread::sleep(Duration::from_millis(200));
        while mn.recv(&mut buf).is_ok() {}
        let pps = |f: Flow| f.received as f64 / f.seconds;
        rows.push(json!({
            "inner_size": packet.len(),
            "tunnel": {
                "datagrams_per_second": pps(tunnel),
                "inner_mbit_per_second": pps(tunnel) * packet.len() as f64 * 8.0 / 1e6,
                "sent": tunnel.sent,
                "received": tunnel.received,
            },
            "plain_udp_relay": {
                "datagrams_per_second": pps(plain),
                "mbit_per_second": pps(plain) * packet.len() as f64 * 8.0 / 1e6,
                "sent": plain.sent,
                "received": plain.received,
            },
            "ratio": pps(tunnel) / pps(plain),
        }));
    }
    let _ = stop_tx.send(());
    let _ = done_tx.send(());
    relay_thread
        .join()
        .map_err(|_| anyhow::anyhow!("relay thread panicked"))??;
    ha_thread
        .join()
        .map_err(|_| anyhow::anyhow!("home agent thread panicked"))??;
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({ "sizes": rows }))?
    );
    Ok(())
}
