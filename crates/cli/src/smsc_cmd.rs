//! `telsec smsc`: the SMS centre.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Args;
use telsec_node::config::Config;
use telsec_node::smsc_service;
use tracing::info;

/// Serves SMPP and the virtual modems until interrupted.
#[derive(Debug, Args)]
pub struct SmscArgs {
    /// SMPP listen address, overriding `smsc.listen`.
    #[arg(long)]
    listen: Option<SocketAddr>,
}

pub fn run(args: SmscArgs, config: &Config) -> anyhow::Result<()> {
    let mut settings = config.smsc.clone();
    if let Some(l) = args.listen {
        settings.listen = l;
    }
    settings.validate()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let running = smsc_service::start(settings)
            .await
            .context("starting the SMS centre")?;
        info!(smpp = %running.local_addr(), "SMS centre up; Ctrl-C stops it");
        crate::up_cmd::wait_for_signal().await;
        running.shutdown().await;
        anyhow::Ok(())
    })
}
