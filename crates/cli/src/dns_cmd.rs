//! `telsec dns`: the embedded authoritative DNS server of the operator zone
//! (`[dns]`), and `telsec dns key`, which prints the admin key in the form
//! BIND's tools take (`nsupdate -y`, `dig -y`).

use anyhow::Context as _;
use clap::{Args, Subcommand};
use telsec_node::config::Config;
use tracing::info;

#[derive(Debug, Args)]
pub struct DnsArgs {
    #[command(subcommand)]
    command: Option<DnsCommand>,
}

#[derive(Debug, Subcommand)]
enum DnsCommand {
    /// Print the admin TSIG key as `hmac-sha256:<name>:<base64 secret>` (creating it when absent).
    ///
    /// For BIND's tools: `nsupdate -y "$(telsec dns key)"`, `dig -y "$(telsec dns key)" …`.
    Key,
}

pub fn run(args: DnsArgs, config: &Config) -> anyhow::Result<()> {
    match args.command {
        Some(DnsCommand::Key) => {
            let secret = config
                .dns
                .admin_secret(&config.data_dir)
                .map_err(anyhow::Error::msg)?;
            println!(
                "hmac-sha256:{}:{secret}",
                config.dns.admin_key_name.trim_end_matches('.')
            );
            Ok(())
        }
        None => serve(config),
    }
}

fn serve(config: &Config) -> anyhow::Result<()> {
    let (server_config, _) = config
        .dns
        .server_config(&config.data_dir)
        .map_err(anyhow::Error::msg)
        .context("[dns]")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = telsec_dns::DnsServer::bind(server_config)
            .await
            .context("starting the DNS server")?;
        info!(listen = %server.local_addr(), zone = %config.dns.zone, "DNS server up; Ctrl-C stops it");
        server.run(crate::up_cmd::wait_for_signal()).await?;
        anyhow::Ok(())
    })
}
