//! `telsec demo`: scenarios that show a part of the system working, on
//! loopback, with no set-up and no privileges.

use clap::{Args, Subcommand};
use telsec_node::roam_demo::{self, RoamOptions};

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// A mobile node roams between two care-of addresses while a correspondent streams UDP
    /// to its home address through the home agent; prints the timeline and handover times.
    ///
    /// Everything runs in this process on 127.0.0.50-54: an HLR with the node's subscriber, an
    /// SMS centre with the node's virtual modem, the home agent (the real driver, bindings
    /// journalled to a temporary directory) with its key service, the mobile node's driver
    /// with RFC 3519 UDP and reverse tunnelling, and a correspondent on the home link. The
    /// node starts without a key: it asks for one by SMS, its USIM unwraps the secured
    /// packet, then it registers and roams.
    Roam(RoamArgs),
    /// A node with only its SIM bootstraps its mobility service (seed 003) and registers.
    ///
    /// Everything runs in this process on 127.0.0.90: telsec's HLR with two subscribers (Alice
    /// and Bob, Milenage), the embedded DNS server for telsec.test (RFC 2136 updates signed with
    /// TSIG), the home agent with its bootstrap service, and the nodes' bootstrap clients with
    /// soft USIMs. Alice runs EAP-AKA' through the home agent, which takes the vector from the
    /// HLR over GSUP, then sends her Ed25519 key and desired name sealed under keys from the
    /// EMSK; the home agent publishes A and IPSECKEY records, installs a fresh MN-HA key, and
    /// returns the configuration, with which her node registers. Bob asks for Alice's name and
    /// gets his own.
    Bootstrap(BootstrapArgs),
}

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// Print the report as JSON instead of a timeline.
    #[arg(long)]
    json: bool,
    /// Instead of the scenario, measure: N subscribers each bootstrap once per pass (HLR,
    /// DNS and the home agent's state on disk, as in service), at 1 and 8 in flight, then
    /// again with timing relays to say where the time goes. Prints bootstraps/s and
    /// p50/p99 latency (see BENCHMARKS.md).
    #[arg(long, value_name = "N")]
    bench: Option<usize>,
}

#[derive(Debug, Args)]
pub struct RoamArgs {
    /// Print the report as JSON instead of a timeline.
    #[arg(long)]
    json: bool,
    /// Milliseconds at each care-of address.
    #[arg(long, default_value_t = 1500)]
    dwell_ms: u64,
    /// Start from a pre-shared key instead of the key path of seed 000 (an HLR, an SMS
    /// centre and the home agent's key service deliver the key by secured SMS first).
    #[arg(long)]
    pre_shared_key: bool,
}

pub fn run(cmd: DemoCommand) -> anyhow::Result<()> {
    match cmd {
        DemoCommand::Roam(a) => roam(a),
        DemoCommand::Bootstrap(a) => bootstrap(a),
    }
}

fn bootstrap(a: BootstrapArgs) -> anyhow::Result<()> {
    use telsec_node::bootstrap_demo::{self, BootstrapOptions};
    if let Some(n) = a.bench {
        use telsec_node::bootstrap_bench::{self, BenchOptions};
        let opts = BenchOptions {
            address: std::net::Ipv4Addr::new(127, 0, 0, 91),
            subscribers: n,
            ..BenchOptions::default()
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let report = runtime.block_on(bootstrap_bench::run(&opts))?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{report}");
        }
        return Ok(());
    }
    let dir = std::env::temp_dir().join(format!("telsec-demo-bootstrap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let opts = BootstrapOptions {
        address: std::net::Ipv4Addr::new(127, 0, 0, 90),
        dir: dir.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let json = a.json;
    let report = runtime.block_on(bootstrap_demo::run(&opts, |s| {
        if !json {
            println!("{:>9.1} ms  {}", s.at_ms, s.what);
        }
    }));
    let _ = std::fs::remove_dir_all(&dir);
    let report = report?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    anyhow::ensure!(
        report.registered && report.dns_key_matches && report.bob_fqdn != report.alice_fqdn,
        "the scenario did not come out as it should"
    );
    Ok(())
}

fn roam(a: RoamArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("telsec-demo-roam-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut opts = RoamOptions::loopback(dir.clone());
    opts.dwell = std::time::Duration::from_millis(a.dwell_ms);
    if !a.pre_shared_key {
        opts.key = None;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(roam_demo::run(opts, |_| {}));
    let _ = std::fs::remove_dir_all(&dir);
    let report = report?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    for e in &report.timeline {
        println!("{:>9.1} ms  {}", e.at_ms, e.what);
    }
    println!();
    for h in &report.handovers {
        let from = h
            .from
            .map_or_else(|| "(first)".to_string(), |f| f.to_string());
        println!(
            "handover {from} -> {}: registered after {:.2} ms, first datagram after {:.2} ms",
            h.to, h.registration_ms, h.first_packet_ms
        );
    }
    println!(
        "datagrams: {} sent, {} delivered to the node, {} answers back through the reverse tunnel",
        report.sent, report.received, report.answers_received
    );
    Ok(())
}
