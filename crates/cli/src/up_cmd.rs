//! `telsec up`: every service on its embedded defaults, in one process.
//!
//! Today that is the HLR (GSUP on loopback, SQLite under the data directory),
//! the SMS centre (SMPP on loopback), the Mobile IP home agent (UDP 434
//! on loopback, bindings under the data directory) with its key service
//! when `[ha.keys]` names subscribers, the embedded DNS server of the
//! operator zone and the home agent's bootstrap service (nodes with only a
//! SIM get FQDN, home address and Mobile IP key; seed 003), and the VPN
//! gateway of seed 002 when `[gw]` asks for it: `enabled = true` always,
//! `enabled = false` never, and with `enabled` unset as soon as
//! `[[gw.nodes]]` names a node (a gateway with no node would serve nobody,
//! and `[gw]` then needs SIU keys, so the bare defaults leave it off). On a
//! fresh machine it creates the data directory, a key-encryption key file
//! and the home agent's nonce secret, so the first run needs no set-up at
//! all.

use clap::Args;
use telsec_hlr::{Auc, AucConfig, HlrConfig, HlrCore};
use telsec_node::config::Config;
use telsec_node::kek::IfMissing;
use telsec_node::{ha_service, ha_setup, hlr_service, key_service, smsc_service};
use tracing::info;

#[derive(Debug, Args)]
pub struct UpArgs {}

pub fn run(_args: UpArgs, config: &Config) -> anyhow::Result<()> {
    serve_until_signal(config, IfMissing::Create, true)
}

/// Build the HLR (and with `with_ha` the home agent) from the config and
/// serve until SIGINT/SIGTERM.
pub fn serve_until_signal(
    config: &Config,
    if_missing: IfMissing,
    with_ha: bool,
) -> anyhow::Result<()> {
    let store = crate::hlr_cmd::open_store(config, if_missing)?;
    let subscribers = store.subscriber_count()?;
    let auc = Auc::new(
        store,
        AucConfig {
            lease_size: config.hlr.sqn_lease,
            ..AucConfig::default()
        },
    )?;
    let hlr_config = HlrConfig {
        ipa_name: config.hlr.unit_name.clone(),
        max_vectors_per_request: usize::from(config.hlr.max_vectors),
        unknown_imsi_cause: telsec_gsup::Cause::from(config.hlr.unknown_imsi_cause),
        ..HlrConfig::default()
    };
    let core = HlrCore::new(auc, hlr_config, rand::make_rng::<rand::rngs::StdRng>());
    let ha_core = if with_ha {
        Some(ha_setup::build_core(config)?)
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let running = hlr_service::start(config.hlr.gsup_listen, core).await?;
        let smsc = if with_ha {
            Some(smsc_service::start(config.smsc.clone()).await?)
        } else {
            None
        };
        let ha = match ha_core {
            Some(core) => Some(
                ha_service::start(core, ha_setup::params(config))
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "{e} (port 434 needs root or CAP_NET_BIND_SERVICE; \
                             set ha.listen to a higher port otherwise)"
                        )
                    })?,
            ),
            None => None,
        };
        let keys = match &ha {
            Some(h) => start_key_service(config, h).await?,
            None => None,
        };
        let dns = if with_ha && config.dns.enabled {
            Some(start_dns(config).await?)
        } else {
            None
        };
        let bootstrap = match (&ha, &dns) {
            (Some(h), Some((_, secret, _, _)))
                if config.ha.bootstrap.dns_key_name == config.dns.admin_key_name =>
            {
                start_bootstrap(config, h, Some(secret)).await?
            }
            (Some(h), _) => start_bootstrap(config, h, None).await?,
            _ => None,
        };
        let gw = if with_ha && config.gw.runs_in_up() {
            Some(crate::gw_cmd::start(config).await?)
        } else {
            None
        };
        info!(
            vpn_gateway = ?gw.as_ref().map(|g| g.local_addrs().outside),
            smpp = ?smsc.as_ref().map(|s| s.local_addr()),
            gsup = %running.local_addr(),
            mobile_ip = ?ha.as_ref().map(|h| h.local_addr()),
            dns = ?dns.as_ref().map(|d| d.0),
            bootstrap = ?bootstrap.as_ref().map(|b| b.local_addr()),
            data_dir = %config.data_dir.display(),
            subscribers,
            "telsec is up; Ctrl-C stops it"
        );
        wait_for_signal().await;
        info!("stopping");
        if let Some(g) = gw {
            g.shutdown().await?;
        }
        if let Some(b) = bootstrap {
            b.shutdown().await;
        }
        if let Some((_, _, stop, task)) = dns {
            let _ = stop.send(());
            let _ = task.await;
        }
        running.shutdown().await;
        if let Some(k) = keys {
            k.shutdown().await;
        }
        if let Some(ha) = ha {
            ha.shutdown().await?;
        }
        if let Some(s) = smsc {
            s.shutdown().await;
        }
        anyhow::Ok(())
    })
}

/// Starts the home agent's key service when `[ha.keys]` enables it and
/// names subscribers.
pub async fn start_key_service(
    config: &Config,
    ha: &ha_service::RunningHa,
) -> anyhow::Result<Option<key_service::RunningKeyService>> {
    match ha_setup::key_service(config)? {
        Some((params, issuer)) => Ok(Some(
            key_service::start(params, issuer, ha.commands()).await?,
        )),
        None => Ok(None),
    }
}

/// A running embedded DNS server: its address, admin secret, stop signal
/// and task.
type RunningDns = (
    std::net::SocketAddr,
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), telsec_dns::Error>>,
);

/// Starts the embedded DNS server of `[dns]` (creating its admin key on
/// first run).
pub async fn start_dns(config: &Config) -> anyhow::Result<RunningDns> {
    let (server_config, secret) = config
        .dns
        .server_config(&config.data_dir)
        .map_err(anyhow::Error::msg)?;
    let server = telsec_dns::DnsServer::bind(server_config).await?;
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    Ok((addr, secret, stop, task))
}

/// Starts the bootstrap service (seed 003) beside the home agent when
/// `[ha.bootstrap]` enables it and a DNS key secret is known (from the
/// settings, or `dns_secret`: the one `telsec up` generated for its
/// embedded DNS server).
pub async fn start_bootstrap(
    config: &Config,
    ha: &ha_service::RunningHa,
    dns_secret: Option<&str>,
) -> anyhow::Result<Option<telsec_node::bootstrap::service::RunningBootstrap>> {
    let mut settings = config.ha.bootstrap.clone();
    if !settings.enabled {
        return Ok(None);
    }
    if settings.dns_key_secret.is_empty() {
        match dns_secret {
            Some(s) => settings.dns_key_secret = s.to_owned(),
            None => {
                tracing::warn!(
                    "bootstrap service off: [ha.bootstrap] dns_key_secret is empty \
                     (telsec up generates one for its embedded DNS server)"
                );
                return Ok(None);
            }
        }
    }
    let running = telsec_node::bootstrap::service::start(
        settings,
        &config.data_dir,
        ha_setup::ha_address(config),
        ha.commands(),
    )
    .await?;
    Ok(Some(running))
}

pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
