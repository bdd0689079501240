//! `telsec mn`: the Mobile IP mobile node.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde_json::json;
use telsec_mip::ha::HomeNetwork;
use telsec_mip::mn::{Config as MnCore, MobileNode, UdpTunnelling};
use telsec_node::config::{Config, MobileNodeConfig, parse_prefix};
use telsec_node::ha_setup;
use telsec_node::mn_service::{self, MnParams};
use tokio::sync::mpsc;

use crate::exit::UsageError;

/// Runs the node until interrupted; prints each event as a JSON line.
#[derive(Debug, Args)]
pub struct MnArgs {
    /// Start from this address (co-located care-of address), overriding `mn.address`.
    #[arg(long)]
    address: Option<std::net::Ipv4Addr>,
    /// Watch this interface's address, overriding `mn.interface`.
    #[arg(long)]
    interface: Option<String>,
}

pub fn run(args: MnArgs, config: &Config) -> anyhow::Result<()> {
    let mn = &config.mn;
    let (prefix, len) = parse_prefix(&mn.home_network)
        .ok_or_else(|| UsageError(format!("mn.home_network {:?}", mn.home_network)))?;
    let mut core = MnCore::new(
        mn.home_address,
        mn.home_agent,
        HomeNetwork { prefix, len },
        rand::random(),
    );
    core.lifetime = mn.lifetime;
    core.reverse_tunnelling = mn.reverse_tunnelling;
    core.udp_tunnelling = match mn.udp_tunnelling.as_str() {
        "off" => UdpTunnelling::Off,
        "forced" => UdpTunnelling::Forced,
        _ => UdpTunnelling::WhenNatted,
    };
    if let Some(k) = &mn.key {
        core.sa = Some(ha_setup::security_association(&MobileNodeConfig {
            home_address: mn.home_address,
            nai: None,
            spi: k.spi,
            algorithm: k.algorithm.clone(),
            key: k.key.clone(),
            replay: k.replay.clone(),
        })?);
    }
    let node = MobileNode::new(core).context("mobile node configuration")?;
    let params = MnParams {
        agent_port: mn.agent_port,
        home_link: mn.home_link.clone(),
        initial_address: args.address.or(mn.address),
        interface: args.interface.or_else(|| mn.interface.clone()),
        address_poll: Duration::from_millis(500),
        reverse_rule: mn
            .reverse_tunnelling
            .then_some((mn.reverse_rule_table, mn.reverse_rule_priority)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (tx, mut events) = mpsc::channel(256);
        let running = mn_service::start(node, params, tx).await?;
        let print = async {
            while let Some((at_ms, e)) = events.recv().await {
                println!(
                    "{}",
                    json!({"at_unix_ms": at_ms, "event": format!("{e:?}")})
                );
            }
        };
        tokio::select! {
            () = crate::up_cmd::wait_for_signal() => {}
            () = print => {}
        }
        running.shutdown().await;
        anyhow::Ok(())
    })
}
