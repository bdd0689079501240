//! `telsec mn`: the Mobile IP mobile node, and `telsec mn bootstrap`, which
//! obtains its configuration from the home agent with nothing but the SIM.

use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::json;
use telsec_mip::ha::HomeNetwork;
use telsec_mip::mn::{Config as MnCore, MobileNode, UdpTunnelling};
use telsec_node::config::{Config, MobileNodeConfig, parse_prefix};
use telsec_node::ha_setup;
use telsec_node::mn_service::{self, MnParams};
use tokio::sync::mpsc;
use tracing::info;

use crate::exit::UsageError;

/// `telsec mn bootstrap`; its [`bootstrap::AuthenticationFailed`] has exit code 4.
pub(crate) mod bootstrap;

/// `telsec mn [--address ..] [--interface ..]` runs the node;
/// `telsec mn bootstrap` obtains its configuration from the SIM.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MnArgs {
    #[command(subcommand)]
    command: Option<MnCommand>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum MnCommand {
    /// Obtain FQDN, home address and Mobile IP key from the home agent with nothing but the SIM.
    ///
    /// Runs EAP-AKA' (RFC 9048) with the home agent of `[mn.bootstrap]` (its `network_name`
    /// must equal the home agent's `[ha.bootstrap] network_name`), using the USIM of `[mn.sim]`
    /// (IMSI, Milenage K and OPc). The home agent fetches the challenge from the HLR, checks
    /// the answer, then decides the node's name and home address, publishes its public key in
    /// DNS and hands over the MN-HA security association. The node stores that configuration
    /// in `mn.bootstrap.config_file` (mode 0600), bound to the SIM's IMSI; `telsec mn` then uses
    /// it when `[mn.key]` is absent. The USIM's sequence numbers are kept in `mn.sim.sqn_file`
    /// so a replayed challenge is refused in later runs too.
    ///
    /// Prints what was obtained (never the key). Exit codes: 0 configured; 3 the home agent
    /// refused (cause printed); 4 authentication failed (wrong network name, SIM key or a
    /// replayed challenge); 5 the home agent signed with a key other than the pinned one (the
    /// key of this SIM's first bootstrap, or `mn.bootstrap.ha_public_key`); 1 no answer from
    /// the home agent (after about 31 s of retransmissions) or local trouble; 2 bad settings.
    Bootstrap(bootstrap::BootstrapArgs),
}

/// Runs the node until interrupted; prints each event as a JSON line.
#[derive(Debug, Args)]
struct RunArgs {
    /// Start from this address (co-located care-of address), overriding `mn.address`.
    #[arg(long)]
    address: Option<std::net::Ipv4Addr>,
    /// Watch this interface's address, overriding `mn.interface`.
    #[arg(long)]
    interface: Option<String>,
}

pub fn run(args: MnArgs, config: &Config) -> anyhow::Result<()> {
    match args.command {
        Some(MnCommand::Bootstrap(a)) => bootstrap::run(a, config),
        None => run_node(args.run, config),
    }
}

fn run_node(args: RunArgs, config: &Config) -> anyhow::Result<()> {
    let mn = &config.mn;
    let (prefix, len) = parse_prefix(&mn.home_network)
        .ok_or_else(|| UsageError(format!("mn.home_network {:?}", mn.home_network)))?;
    // Without a static key, a configuration `telsec mn bootstrap` stored
    // for this SIM gives SA, home address and home agent.
    let obtained = if mn.key.is_none() {
        bootstrap::usable_stored(config)
    } else {
        info!("MN-HA key from [mn.key]");
        None
    };
    let (home_address, home_agent) = match &obtained {
        Some(o) => (o.home_address, o.ha_address),
        None => (mn.home_address, mn.home_agent),
    };
    let mut core = MnCore::new(
        home_address,
        home_agent,
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
    if let Some(o) = obtained {
        core.sa = Some(o.sa);
        core.lifetime = o.registration_lifetime;
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
        esp: Some((mn.esp.clone(), config.in_data_dir(&mn.esp.state_file))),
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
