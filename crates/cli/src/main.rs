//! `telsec`: the one binary. Each part of the system is a subcommand; this file
//! only parses arguments and maps outcomes to exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod auth_cmd;
mod demo_cmd;
mod dns_cmd;
mod exit;
mod fa_cmd;
mod gw_cmd;
mod ha_bench;
mod ha_cmd;
mod hex_arg;
mod hlr_bench;
mod hlr_cmd;
mod logging;
mod mn_cmd;
mod smsc_cmd;
mod up_cmd;

use telsec_node::config::Config;

/// telsec: mobile network security.
///
/// The subscriber-authentication centre (AuC/HLR) with GSUP compatible with
/// osmo-hlr, and the algorithms it runs (COMP128, Milenage, TUAK, 5G key
/// derivation, SUCI). Every command that a script would read prints JSON.
///
/// Exit codes: 0 success; 1 runtime failure (I/O, peer unreachable); 2 usage
/// error (bad arguments or config); 3 the peer answered with a protocol error
/// (for example a GSUP cause such as "IMSI unknown"); 4 authentication failed (`telsec mn
/// bootstrap`: the SIM and the network did not agree); 5 the home agent's key is not the one
/// pinned (`telsec mn bootstrap`).
#[derive(Debug, Parser)]
#[command(name = "telsec", version)]
struct Cli {
    /// TOML config file; without one, the documented defaults apply (`telsec config` prints them).
    #[arg(long, short = 'c', global = true, env = "TELSEC_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory, overriding `data_dir` of the config.
    #[arg(long, global = true, env = "TELSEC_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Log lines as JSON objects instead of text (overrides `log.format`).
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every service on its embedded defaults: HLR, SMS centre, home agent (with its key and bootstrap services), DNS.
    Up(up_cmd::UpArgs),
    /// Run an authentication algorithm and print its outputs as JSON.
    #[command(subcommand)]
    Auth(auth_cmd::AuthCommand),
    /// The HLR/AuC: provision subscribers, serve GSUP, query a GSUP HLR.
    #[command(subcommand)]
    Hlr(hlr_cmd::HlrCommand),
    /// The Mobile IP home agent (RFC 5944): serve registrations and tunnels, or list bindings.
    ///
    /// `telsec ha` serves on `ha.listen` (UDP 434) until interrupted: registrations with
    /// MN-HA authentication and replay protection, RFC 3519 UDP tunnels and IP-in-IP, reverse
    /// tunnelling, bindings synced to disk before each reply. `telsec ha bindings` prints the
    /// persisted binding list as JSON.
    Ha(ha_cmd::HaArgs),
    /// The Mobile IP mobile node: registers its care-of address, tunnels its home address.
    ///
    /// Reads `[mn]`: home address, home agent, the link carrying the home address (a TUN
    /// device), the interface whose address is the co-located care-of address (watched for
    /// moves), and the MN-HA key (static, delivered by SMS, or obtained with `telsec mn bootstrap`
    /// from the SIM alone). Prints each event as a JSON line.
    Mn(mn_cmd::MnArgs),
    /// The Mobile IP foreign agent (RFC 5944 §3.7): advertise, relay registrations, deliver and reverse-tunnel.
    ///
    /// `telsec fa` serves on `fa.listen` (UDP 434 on the visited link) until interrupted: Agent
    /// Advertisements, registrations relayed with FA-HA and MN-FA authentication, IP-in-IP and
    /// RFC 3519 UDP tunnels delivered to visitors, reverse tunnelling (RFC 3024). `telsec fa
    /// visitors` prints the visitor list as JSON.
    Fa(fa_cmd::FaArgs),
    /// The VPN gateway (seed 002): ESP tunnels to mobile nodes, moved only by the home agent.
    ///
    /// Mobile nodes run Mobile IP inside an IPsec ESP tunnel (ESP in UDP, RFC 3948) to this
    /// gateway, which guards the private network. It accepts a node's packets from any outer
    /// address, so a registration sent from a new care-of address still reaches the home agent;
    /// but it points its own SA at the new address only when the home agent's authenticated
    /// Security Information Update (SIU) says so, and then sends the registration reply the SIU
    /// carries through the moved SA. Without IKE, each node's SA pair is derived from a secret
    /// both ends hold.
    ///
    /// `telsec gw` (or `telsec gw run`) serves `[gw]` until interrupted and prints one JSON line
    /// when up; `telsec gw keys` prints the SPIs a node's secret gives, to check them against
    /// the node.
    Gw(gw_cmd::GwArgs),
    /// The SMS centre: SMPP 3.4 server for ESMEs and virtual modems for subscribers.
    ///
    /// Reads `[smsc]`: ESME accounts, routes for mobile-originated messages, and one virtual
    /// modem per subscriber (TCP or a pty) that speaks TS 27.005 AT commands like a GSM modem.
    /// Messages wait in a bounded queue per destination and are retried until they expire.
    Smsc(smsc_cmd::SmscArgs),
    /// The operator zone's authoritative DNS server: queries, and RFC 2136 updates signed with TSIG.
    ///
    /// Reads `[dns]`: the zone (default `telsec.test.`), where to listen, the admin key (created on
    /// first use) that may change any name. Every update needs a valid HMAC-SHA-256 TSIG; the zone is
    /// journalled and survives restarts. The home agent's bootstrap service publishes nodes' names,
    /// addresses and public keys (A, IPSECKEY, HIP) here. `telsec dns key` prints the admin key
    /// for `nsupdate -y`.
    Dns(dns_cmd::DnsArgs),
    /// Print the configuration with its defaults, one comment per field.
    Config,
    /// Run a scenario on loopback and print its timeline (no set-up, no privileges).
    #[command(subcommand)]
    Demo(demo_cmd::DemoCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match load_config(&cli) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("telsec: {err:#}");
            return exit::usage();
        }
    };
    logging::init(&config.log, cli.log_json);
    let outcome = match cli.command {
        Command::Config => {
            print!("{}", Config::documented_default());
            Ok(())
        }
        Command::Auth(cmd) => auth_cmd::run(cmd),
        Command::Demo(cmd) => demo_cmd::run(cmd),
        Command::Hlr(cmd) => hlr_cmd::run(cmd, &config),
        Command::Ha(args) => ha_cmd::run(args, &config),
        Command::Mn(args) => mn_cmd::run(args, &config),
        Command::Fa(args) => fa_cmd::run(args, &config),
        Command::Gw(args) => gw_cmd::run(args, &config),
        Command::Smsc(args) => smsc_cmd::run(args, &config),
        Command::Dns(args) => dns_cmd::run(args, &config),
        Command::Up(args) => up_cmd::run(args, &config),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("telsec: {err:#}");
            exit::code_for(&err)
        }
    }
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(dir) = &cli.data_dir {
        config.data_dir = dir.clone();
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks over every subcommand (duplicate
    /// options, bad defaults) run here instead of at a user's first call.
    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
