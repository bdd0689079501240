//! `telsec fa`: the Mobile IP foreign agent, and its visitor list.
//!
//! `telsec fa visitors` reads the file the running agent rewrites on every
//! change of its visitor list (`fa.state_file`, see
//! [`telsec_node::fa_service::state`]), so it needs no connection to the
//! agent and works from any process that can read the data directory.

use std::net::SocketAddrV4;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use telsec_node::config::Config;
use telsec_node::fa_service::{self, VisitorEntry, state};
use telsec_node::ha_service;
use tracing::info;

use crate::exit::UsageError;

/// `telsec fa [--listen ..]` serves; `telsec fa visitors` reports.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct FaArgs {
    #[command(subcommand)]
    command: Option<FaCommand>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum FaCommand {
    /// Print the visitor list as JSON (read from `fa.state_file`, which the
    /// running agent rewrites on every change; registrations that lapsed
    /// since are left out).
    Visitors,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Listen address (the agent's address on the visited link), overriding `fa.listen`.
    #[arg(long)]
    listen: Option<SocketAddrV4>,
    /// Visited link's interface, overriding `fa.visitor_interface`.
    #[arg(long)]
    interface: Option<String>,
}

pub fn run(args: FaArgs, config: &Config) -> anyhow::Result<()> {
    match args.command {
        Some(FaCommand::Visitors) => visitors(config),
        None => serve(args.serve, config),
    }
}

fn serve(args: ServeArgs, config: &Config) -> anyhow::Result<()> {
    let mut settings = config.fa.clone();
    if let Some(l) = args.listen {
        settings.listen = l;
    }
    if let Some(i) = args.interface {
        settings.visitor_interface = Some(i);
    }
    settings.validate().map_err(|e| UsageError(e.to_string()))?;
    let core = fa_service::build_core(&settings)?;
    let state_file = config.in_data_dir(&settings.state_file);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let running = fa_service::start(core, &settings, state_file)
            .await
            .context("starting the foreign agent (raw sockets need CAP_NET_RAW, port 434 root)")?;
        info!(
            visitors = %running.visitor_addr(),
            care_of = %running.agent_addr(),
            "foreign agent up; Ctrl-C stops it"
        );
        crate::up_cmd::wait_for_signal().await;
        running.shutdown().await?;
        anyhow::Ok(())
    })
}

/// JSON of one visitor, for scripts.
pub fn visitor_json(v: &VisitorEntry, now_ms: u64) -> Value {
    json!({
        "home_address": v.home_address.to_string(),
        "home_agent": v.home_agent.to_string(),
        "link_source": v.link_source.to_string(),
        "care_of_address": v.care_of_address.to_string(),
        "reverse_tunnel": v.reverse_tunnel,
        "tunnel": v.tunnel,
        "granted_lifetime": v.granted_lifetime,
        "expires_unix_ms": v.expires_unix_ms,
        "remaining_secs": v.remaining_secs(now_ms),
        "identification": v.identification,
    })
}

/// The visitors still registered at `now_ms`.
fn live(list: &[VisitorEntry], now_ms: u64) -> Vec<Value> {
    list.iter()
        .filter(|v| v.remaining_secs(now_ms) != Some(0))
        .map(|v| visitor_json(v, now_ms))
        .collect()
}

fn visitors(config: &Config) -> anyhow::Result<()> {
    let path = config.in_data_dir(&config.fa.state_file);
    let list = state::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let out = live(&list, ha_service::now_ms());
    println!("{}", serde_json::to_string_pretty(&Value::Array(out))?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn lapsed_visitors_are_left_out() {
        let entry = |home: u8, expires| VisitorEntry {
            home_address: Ipv4Addr::new(10, 77, 0, home),
            home_agent: Ipv4Addr::new(10, 77, 0, 1),
            link_source: SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, home), 49152),
            care_of_address: Ipv4Addr::new(192, 0, 2, 1),
            reverse_tunnel: true,
            tunnel: "ipip".into(),
            granted_lifetime: 300,
            expires_unix_ms: expires,
            identification: "0000000000000001".into(),
        };
        let list = [
            entry(5, Some(10_000)),
            entry(6, Some(20_500)),
            entry(7, None),
        ];
        let out = live(&list, 10_000);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0]["home_address"], "10.77.0.6");
        assert_eq!(out[0]["remaining_secs"], 11);
        assert_eq!(out[0]["tunnel"], "ipip");
        assert_eq!(out[1]["remaining_secs"], Value::Null);
    }
}
