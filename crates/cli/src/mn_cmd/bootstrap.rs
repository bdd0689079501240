//! `telsec mn bootstrap` (seed 003): obtain the node's configuration from
//! the home agent with the SIM, print it (never the key); and the stored
//! configuration `telsec mn` falls back on without `[mn.key]`.

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use serde_json::{Value, json};
use telsec_mip::SecurityAssociation;
use telsec_node::bootstrap::client::{self, BootstrapError, EnrolError, NodeConfig};
use telsec_node::config::{Config, parse_prefix};
use tracing::{info, warn};

use crate::exit::{ProtocolRefusal, UsageError};

/// EAP-AKA' failed during `telsec mn bootstrap` (wrong network name, a
/// SIM the network does not know, a replayed challenge): its own exit
/// code, 4, so a script can tell it from a refusal (3) and from no answer
/// (1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AuthenticationFailed(pub String);

/// The home agent answered with a key other than the pinned one: exit
/// code 5, so a script can tell a key change from other failures.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HaKeyChanged(pub String);

/// `telsec mn bootstrap [--desired-fqdn NAME] [--json] [--accept-new-ha-key]`.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// The name to ask for, e.g. `alice.telsec.test` (one label below the operator's zone),
    /// overriding `mn.bootstrap.desired_fqdn`. The home agent grants it when it is a valid host
    /// name that is free or already yours; otherwise it picks one from your subscriber name or
    /// number. The name obtained is printed.
    #[arg(long, value_name = "NAME")]
    desired_fqdn: Option<String>,
    /// Print the configuration as one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Accept a home agent key other than the one of this SIM's first bootstrap (after the
    /// operator replaced it). Without it a changed key fails with exit code 5 and the stored
    /// configuration stays. A key set in `mn.bootstrap.ha_public_key` is always enforced.
    #[arg(long)]
    accept_new_ha_key: bool,
}

pub fn run(args: BootstrapArgs, config: &Config) -> anyhow::Result<()> {
    let mut settings = config.mn.bootstrap.clone();
    if let Some(name) = args.desired_fqdn {
        settings.desired_fqdn = Some(name);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client::Obtained {
        config: obtained,
        fqdn_outcome,
    } = runtime
        .block_on(client::bootstrap_reporting(
            &settings,
            &config.mn.sim,
            &config.data_dir,
            &client::Options {
                accept_new_ha_key: args.accept_new_ha_key,
                ..client::Options::default()
            },
        ))
        .map_err(classify)?;
    let path = config.in_data_dir(&settings.config_file);
    if args.json {
        let mut v = to_json(&obtained, &path);
        v["desired_fqdn"] = json!(settings.desired_fqdn);
        v["fqdn_outcome"] = json!(outcome_name(fqdn_outcome));
        println!("{v}");
    } else {
        print!("{}", to_text(&obtained, &path));
        println!(
            "  {:<22} {}",
            "desired FQDN",
            match &settings.desired_fqdn {
                Some(d) => format!("{d}: {}", outcome_name(fqdn_outcome)),
                None => "none asked".to_owned(),
            }
        );
    }
    Ok(())
}

/// The error type that gives the failure its exit code.
fn classify(e: BootstrapError) -> anyhow::Error {
    let text = e.to_string();
    match &e {
        BootstrapError::Sim(_) | BootstrapError::Setting(_) => UsageError(text).into(),
        BootstrapError::Enrolment { failure, .. } => match failure {
            EnrolError::Refused { .. } => ProtocolRefusal(text).into(),
            EnrolError::Authentication { .. } => AuthenticationFailed(text).into(),
            EnrolError::HaKeyChanged { .. } => HaKeyChanged(text).into(),
            _ => anyhow::Error::new(e),
        },
        _ => anyhow::Error::new(e),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What the home agent made of the desired FQDN, for people and scripts.
fn outcome_name(o: telsec_bootstrap::FqdnOutcome) -> &'static str {
    use telsec_bootstrap::FqdnOutcome;
    match o {
        FqdnOutcome::NotRequested => "not-requested",
        FqdnOutcome::Granted => "granted",
        FqdnOutcome::Invalid => "invalid",
        FqdnOutcome::OutsideZone => "outside-zone",
        FqdnOutcome::HeldByAnother => "held-by-another",
    }
}

/// The configuration as JSON: everything but the key.
fn to_json(c: &NodeConfig, path: &Path) -> Value {
    json!({
        "imsi": c.imsi,
        "fqdn": c.fqdn,
        "home_address": c.home_address.to_string(),
        "ha_address": c.ha_address.to_string(),
        "ha_public_key": hex::encode(c.ha_public_key),
        "mobile_ip": c.mip.as_ref().map(|m| json!({
            "spi": m.sa.spi,
            "algorithm": client::algorithm_name(m.sa.algorithm),
            "key_lifetime_secs": m.sa.lifetime,
            "key_expires_at_unix": c.sa_expires_at(),
            "registration_lifetime_secs": m.registration_lifetime,
        })),
        "hip": c.hip.as_ref().map(|h| json!({
            "hit": h.hit.to_string(),
            "forwarding_agent": h.forwarding_agent.to_string(),
        })),
        "name_server": c.name_server.map(|a| a.to_string()),
        "dns_zone": c.dns_zone,
        "obtained_at_unix": c.obtained_at,
        "config_file": path.display().to_string(),
    })
}

/// The configuration for a person: everything but the key.
fn to_text(c: &NodeConfig, path: &Path) -> String {
    let mut out = format!(
        "Configuration obtained for IMSI {} (stored in {})\n",
        c.imsi,
        path.display()
    );
    let mut line = |label: &str, value: String| out.push_str(&format!("  {label:<22} {value}\n"));
    line("FQDN", c.fqdn.clone());
    line("home address", c.home_address.to_string());
    line("home agent", c.ha_address.to_string());
    line("home agent public key", hex::encode(c.ha_public_key));
    if let Some(m) = &c.mip {
        line("MN-HA SPI", m.sa.spi.to_string());
        line(
            "algorithm",
            client::algorithm_name(m.sa.algorithm).to_owned(),
        );
        let until = c
            .sa_expires_at()
            .map(|t| format!(" (expires at Unix time {t})"))
            .unwrap_or_default();
        line("key lifetime", format!("{} s{until}", m.sa.lifetime));
        line(
            "registration lifetime",
            format!("{} s", m.registration_lifetime),
        );
    }
    if let Some(h) = &c.hip {
        line("HIT", h.hit.to_string());
        line("forwarding agent", h.forwarding_agent.to_string());
    }
    if let Some(ns) = c.name_server {
        line("name server", ns.to_string());
    }
    if let Some(z) = &c.dns_zone {
        line("DNS zone", z.clone());
    }
    out
}

/// What `telsec mn` takes from a stored bootstrap configuration.
pub struct Obtained {
    /// The home address the home agent assigned.
    pub home_address: Ipv4Addr,
    /// The home agent.
    pub ha_address: Ipv4Addr,
    /// The MN-HA SA.
    pub sa: SecurityAssociation,
    /// The registration lifetime the home agent asked for.
    pub registration_lifetime: u16,
}

/// The stored bootstrap configuration of this SIM (`mn.sim.imsi`), when
/// there is one with a Mobile IP SA that has not expired; logs which
/// source of the key the node uses.
pub fn usable_stored(config: &Config) -> Option<Obtained> {
    let mn = &config.mn;
    let path = config.in_data_dir(&mn.bootstrap.config_file);
    let waiting = "no [mn.key]: waiting for a key by SMS";
    let stored = match client::stored_config(&mn.bootstrap, &mn.sim.imsi, &config.data_dir) {
        Ok(Some(c)) => c,
        Ok(None) => {
            info!(
                path = %path.display(),
                "{waiting} (no bootstrap configuration for this SIM; `telsec mn bootstrap` obtains one)"
            );
            return None;
        }
        Err(e) => {
            warn!(error = %e, "{waiting} (the stored bootstrap configuration is unusable)");
            return None;
        }
    };
    if let Some(at) = stored.sa_expires_at()
        && at <= unix_now()
    {
        warn!(
            path = %path.display(),
            expired_at = at,
            "{waiting} (the bootstrap key expired; run `telsec mn bootstrap` again)"
        );
        return None;
    }
    let sa = match client::mip_security_association(&stored) {
        Ok(Some(sa)) => sa,
        Ok(None) => {
            match &stored.hip {
                Some(h) => warn!(
                    hit = %h.hit,
                    forwarding_agent = %h.forwarding_agent,
                    "{waiting} (the bootstrap configuration is for HIP, not Mobile IP)"
                ),
                None => warn!("{waiting} (the bootstrap configuration has no Mobile IP SA)"),
            }
            return None;
        }
        Err(e) => {
            warn!(error = %e, "{waiting} (the bootstrap SA is unusable)");
            return None;
        }
    };
    if let Some((prefix, len)) = parse_prefix(&mn.home_network)
        && !in_prefix(stored.home_address, prefix, len)
    {
        warn!(
            home_address = %stored.home_address,
            home_network = mn.home_network,
            "the bootstrap home address is outside mn.home_network"
        );
    }
    let registration_lifetime = stored
        .mip
        .as_ref()
        .map_or(mn.lifetime, |m| m.registration_lifetime);
    info!(
        path = %path.display(),
        fqdn = stored.fqdn,
        home_address = %stored.home_address,
        home_agent = %stored.ha_address,
        spi = sa.spi(),
        "MN-HA key, home address and home agent from the stored bootstrap configuration"
    );
    Some(Obtained {
        home_address: stored.home_address,
        ha_address: stored.ha_address,
        sa,
        registration_lifetime,
    })
}

fn in_prefix(address: Ipv4Addr, prefix: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0);
    u32::from(address) & mask == u32::from(prefix) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_HEX: &str = "5a5b5c5d5e5f606162636465666768695a5b5c5d5e5f60616263646566676869";

    fn config() -> NodeConfig {
        let text = format!(
            "telsec-bootstrap node-config v1\nimsi 001010000000001\nfqdn alice.telsec.test\n\
             home-address 10.77.0.23\nha-address 10.77.0.1\nha-public-key {}\n\
             mip-sa 4200 2 3600 {KEY_HEX}\nregistration-lifetime 600\n\
             name-server 10.77.0.53\ndns-zone telsec.test\nobtained-at 1700000000\n",
            "ab".repeat(32)
        );
        NodeConfig::parse(&text).expect("parses")
    }

    #[test]
    fn output_shows_the_configuration_but_never_the_key() {
        let c = config();
        let path = Path::new("/var/lib/telsec/mn-bootstrap.conf");
        let j = to_json(&c, path);
        assert_eq!(j["fqdn"], "alice.telsec.test");
        assert_eq!(j["home_address"], "10.77.0.23");
        assert_eq!(j["ha_address"], "10.77.0.1");
        assert_eq!(j["mobile_ip"]["spi"], 4200);
        assert_eq!(j["mobile_ip"]["algorithm"], "hmac-sha256");
        assert_eq!(j["mobile_ip"]["key_lifetime_secs"], 3600);
        assert_eq!(j["mobile_ip"]["key_expires_at_unix"], 1_700_003_600u64);
        assert_eq!(j["mobile_ip"]["registration_lifetime_secs"], 600);
        let text = to_text(&c, path);
        for needle in [
            "alice.telsec.test",
            "10.77.0.23",
            "4200",
            "hmac-sha256",
            "600 s",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
        for shown in [j.to_string(), text] {
            assert!(!shown.contains(KEY_HEX), "{shown}");
            assert!(!shown.contains("5a5b5c5d"), "{shown}");
        }
    }

    #[test]
    fn failures_get_their_exit_code_types() {
        let home_agent = "127.0.0.1:4434".parse().expect("addr");
        let refused = classify(BootstrapError::Enrolment {
            home_agent,
            failure: EnrolError::Refused {
                cause: client::Cause::NoAddressFree,
                text: "pool empty".into(),
                authenticated: true,
            },
        });
        assert!(refused.downcast_ref::<ProtocolRefusal>().is_some());
        let auth = classify(BootstrapError::Enrolment {
            home_agent,
            failure: EnrolError::Authentication {
                problem: telsec_node::bootstrap::client::PeerProblem::NetworkName,
                sync_failures: 0,
            },
        });
        assert!(auth.downcast_ref::<AuthenticationFailed>().is_some());
        assert!(auth.to_string().contains("network name"), "{auth}");
        let silent = classify(BootstrapError::Enrolment {
            home_agent,
            failure: EnrolError::NoAnswer {
                transmissions: 6,
                last_drop: None,
            },
        });
        assert!(silent.downcast_ref::<BootstrapError>().is_some());
        assert!(silent.downcast_ref::<ProtocolRefusal>().is_none());
        let usage = classify(BootstrapError::Sim("k must be 32 hex digits".into()));
        assert!(usage.downcast_ref::<UsageError>().is_some());
    }

    #[test]
    fn prefix_membership() {
        let net = Ipv4Addr::new(10, 77, 0, 0);
        assert!(in_prefix(Ipv4Addr::new(10, 77, 0, 23), net, 24));
        assert!(!in_prefix(Ipv4Addr::new(10, 78, 0, 23), net, 24));
        assert!(in_prefix(Ipv4Addr::new(1, 2, 3, 4), net, 0));
    }
}
