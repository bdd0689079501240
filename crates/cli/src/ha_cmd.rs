//! `telsec ha`: the Mobile IP home agent, and what it holds.

use std::net::SocketAddrV4;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use telsec_mip::ha::{Binding, Tunnel};
use telsec_node::config::Config;
use telsec_node::{ha_service, ha_setup};
use tracing::info;

/// `telsec ha [--listen ..]` serves; `telsec ha bindings` reports.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HaArgs {
    #[command(subcommand)]
    command: Option<HaCommand>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum HaCommand {
    /// Print the persisted binding list as JSON (works whether or not the
    /// home agent is running: it reads the snapshot and journal).
    Bindings,
    /// Measure registrations per second through the real driver (one core,
    /// authentication, journal synced per batch) beside a UDP echo server; prints JSON.
    Bench(crate::ha_bench::BenchArgs),
    /// Measure datagrams per second forwarded into an RFC 3519 UDP tunnel beside a plain UDP
    /// relay between the same kind of sockets, in the same run; prints JSON.
    BenchTunnel(crate::ha_bench::TunnelBenchArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Listen address, overriding `ha.listen`.
    #[arg(long)]
    listen: Option<SocketAddrV4>,
}

pub fn run(args: HaArgs, config: &Config) -> anyhow::Result<()> {
    match args.command {
        Some(HaCommand::Bindings) => bindings(config),
        Some(HaCommand::Bench(a)) => crate::ha_bench::run(a),
        Some(HaCommand::BenchTunnel(a)) => crate::ha_bench::run_tunnel(a),
        None => serve(args.serve, config),
    }
}

fn serve(args: ServeArgs, config: &Config) -> anyhow::Result<()> {
    let mut config = config.clone();
    if let Some(l) = args.listen {
        config.ha.listen = l;
    }
    config.validate()?;
    let core = ha_setup::build_core(&config)?;
    let params = ha_setup::params(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let running = ha_service::start(core, params)
            .await
            .context("starting the home agent")?;
        let keys = crate::up_cmd::start_key_service(&config, &running).await?;
        let bootstrap = crate::up_cmd::start_bootstrap(&config, &running, None).await?;
        info!(
            listen = %running.local_addr(),
            bootstrap = ?bootstrap.as_ref().map(|b| b.local_addr()),
            "home agent up; Ctrl-C stops it"
        );
        crate::up_cmd::wait_for_signal().await;
        if let Some(b) = bootstrap {
            b.shutdown().await;
        }
        if let Some(k) = keys {
            k.shutdown().await;
        }
        running.shutdown().await?;
        anyhow::Ok(())
    })
}

/// JSON of one binding, for scripts.
pub fn binding_json(b: &Binding, now_ms: u64) -> Value {
    let tunnel = match b.tunnel {
        Tunnel::IpInIp => json!({"kind": "ipip"}),
        Tunnel::Gre => json!({"kind": "gre"}),
        Tunnel::Minimal => json!({"kind": "minimal"}),
        Tunnel::Udp {
            encapsulation,
            keepalive_secs,
        } => json!({
            "kind": "udp",
            "encapsulation": u8::from(encapsulation),
            "keepalive_secs": keepalive_secs,
        }),
    };
    json!({
        "home_address": b.home_address.to_string(),
        "care_of_address": b.care_of_address.to_string(),
        "granted_lifetime": b.granted_lifetime,
        "expires_unix_ms": b.expires_ms,
        "remaining_secs": b.remaining_secs(now_ms),
        "identification": format!("{:016x}", b.identification),
        "flags": format!("{:02x}", b.flags.0),
        "tunnel": tunnel,
        "source": b.source.to_string(),
    })
}

fn bindings(config: &Config) -> anyhow::Result<()> {
    let dir = config.in_data_dir(&config.ha.state_dir);
    let (snapshot, journal) = ha_service::read_state(&dir)?;
    let now = ha_service::now_ms();
    let mut core = telsec_mip::ha::HomeAgent::new(telsec_mip::ha::Config::new(
        ha_setup::ha_address(config),
        telsec_mip::ha::HomeNetwork {
            prefix: std::net::Ipv4Addr::UNSPECIFIED,
            len: 0,
        },
        b"read only",
    ));
    core.restore_with_journal(&snapshot, &journal, now)
        .with_context(|| format!("reading {}", dir.display()))?;
    let list: Vec<Value> = core
        .bindings()
        .iter()
        .map(|b| binding_json(b, now))
        .collect();
    println!("{}", serde_json::to_string_pretty(&Value::Array(list))?);
    Ok(())
}
