//! `telsec gw`: the VPN gateway of seed 002, and the SPIs a node's secret
//! gives at it.
//!
//! `telsec gw keys` prints SPIs only, never keys: an operator compares
//! them with what the node derived from its copy of the secret (both ends
//! run [`telsec_vpn::derive_esp_keys`]) without anything secret on screen.

use std::net::{Ipv4Addr, SocketAddrV4};

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::json;
use telsec_node::config::Config;
use telsec_node::gw_service::{self, RunningGw, parse_algorithm};
use tracing::info;
use zeroize::Zeroizing;

use crate::exit::UsageError;

/// `telsec gw [run]` serves; `telsec gw keys` prints a node's SPIs.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct GwArgs {
    #[command(subcommand)]
    command: Option<GwCommand>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum GwCommand {
    /// Run the gateway from `[gw]` until interrupted (the same as `telsec gw`).
    Run(ServeArgs),
    /// Print the SPIs of a node's SA pair derived from its secret (never the keys), to
    /// match them with the node's.
    Keys(KeysArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Outside socket (ESP in UDP, RFC 3948), overriding `gw.outside`.
    #[arg(long)]
    outside: Option<SocketAddrV4>,
    /// SIU socket, overriding `gw.siu_listen`.
    #[arg(long)]
    siu_listen: Option<SocketAddrV4>,
}

#[derive(Debug, Args)]
struct KeysArgs {
    /// The node's home address.
    #[arg(long)]
    home: Ipv4Addr,
    /// The gateway's outside address as the node knows it (`gw.address`, or the address of
    /// `gw.outside`).
    #[arg(long)]
    gateway: Ipv4Addr,
    /// The node's secret, hex (16 octets or more).
    #[arg(long)]
    secret: String,
    /// ESP transform: aes-128-gcm or aes-256-gcm.
    #[arg(long, default_value = "aes-128-gcm")]
    algorithm: String,
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: GwArgs, config: &Config) -> anyhow::Result<()> {
    match args.command {
        Some(GwCommand::Keys(k)) => keys(&k),
        Some(GwCommand::Run(s)) => serve(s, config),
        None => serve(args.serve, config),
    }
}

/// Starts the gateway of `config` (`telsec gw`, and `telsec up` when
/// [`telsec_node::gw_service::GwSettings::runs_in_up`]).
pub async fn start(config: &Config) -> anyhow::Result<RunningGw> {
    let state = config.in_data_dir(&config.gw.state_file);
    gw_service::start(&config.gw, state)
        .await
        .context("starting the VPN gateway")
}

fn serve(args: ServeArgs, config: &Config) -> anyhow::Result<()> {
    let mut config = config.clone();
    if let Some(o) = args.outside {
        config.gw.outside = o;
    }
    if let Some(s) = args.siu_listen {
        config.gw.siu_listen = s;
    }
    config
        .gw
        .validate()
        .map_err(|e| UsageError(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let running = start(&config).await?;
        let a = running.local_addrs();
        println!(
            "{}",
            json!({
                "event": "up",
                "outside": a.outside.to_string(),
                "siu": a.siu.to_string(),
                "inside_link": a.inside_link.map(|l| l.to_string()),
                "nodes": config.gw.nodes.len(),
            })
        );
        info!(outside = %a.outside, siu = %a.siu, "VPN gateway up; Ctrl-C stops it");
        crate::up_cmd::wait_for_signal().await;
        running.shutdown().await?;
        anyhow::Ok(())
    })
}

fn keys(k: &KeysArgs) -> anyhow::Result<()> {
    let algorithm = parse_algorithm(&k.algorithm).ok_or_else(|| {
        UsageError(format!(
            "--algorithm {:?}: must be aes-128-gcm or aes-256-gcm",
            k.algorithm
        ))
    })?;
    let secret = Zeroizing::new(crate::hex_arg::any("secret", &k.secret)?);
    let derived = telsec_vpn::derive_esp_keys(&secret, k.home, k.gateway, algorithm)
        .map_err(|e| UsageError(format!("--secret: {e}")))?;
    let (up, down) = (derived.node_to_gateway.spi, derived.gateway_to_node.spi);
    if k.json {
        println!(
            "{}",
            json!({
                "home": k.home.to_string(),
                "gateway": k.gateway.to_string(),
                "algorithm": k.algorithm,
                "node_to_gateway_spi": up,
                "gateway_to_node_spi": down,
            })
        );
    } else {
        println!(
            "node {} behind gateway {} ({}):",
            k.home, k.gateway, k.algorithm
        );
        println!("  node -> gateway  SPI {up:#010x} ({up})  the gateway's inbound SA");
        println!("  gateway -> node  SPI {down:#010x} ({down})  the gateway's outbound SA");
    }
    Ok(())
}
