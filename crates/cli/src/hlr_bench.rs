//! `telsec hlr bench`: SendAuthInfo load against any GSUP HLR, so telsec's
//! HLR and osmo-hlr are measured by the same client in the same run.
//!
//! Each connection keeps `window` requests in flight, each for a different
//! subscriber (GSUP matches answers by IMSI, so one IMSI is never asked twice
//! at once on a connection). IMSIs are `imsi_base + i` for i in
//! 0..subscribers, spread over connections without overlap.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;
use telsec_gsup::{GsupMessage, Ie, Imsi, UnitIdentity};
use telsec_node::gsup_client::GsupClient;

use crate::exit::UsageError;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The HLR's GSUP address.
    #[arg(long, default_value = "127.0.0.1:4222")]
    server: SocketAddr,
    /// First IMSI of the provisioned range (15 digits).
    #[arg(long)]
    imsi_base: u64,
    /// How many consecutive IMSIs are provisioned.
    #[arg(long, default_value_t = 1000)]
    subscribers: u64,
    /// Parallel GSUP connections.
    #[arg(long, default_value_t = 4)]
    connections: u64,
    /// Requests in flight per connection.
    #[arg(long, default_value_t = 16)]
    window: u64,
    /// Vectors per request (1..=5).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
    vectors: u8,
    /// Seconds to measure (after one second of warm-up).
    #[arg(long, default_value_t = 5)]
    seconds: u64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    results: u64,
    errors: u64,
}

pub fn run(a: BenchArgs) -> anyhow::Result<()> {
    if a.connections == 0 || a.window == 0 || a.subscribers < a.connections * a.window {
        return Err(UsageError(
            "need connections >= 1, window >= 1 and subscribers >= connections * window".into(),
        )
        .into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let per_conn = a.subscribers / a.connections;
    let measure = Duration::from_secs(a.seconds);
    let counts = runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for c in 0..a.connections {
            let first = a.imsi_base + c * per_conn;
            tasks.spawn(load_one_connection(
                a.server, c, first, per_conn, a.window, a.vectors, measure,
            ));
        }
        let mut total = Counts::default();
        while let Some(done) = tasks.join_next().await {
            let c = done??;
            total.results += c.results;
            total.errors += c.errors;
        }
        anyhow::Ok(total)
    })?;
    let secs = measure.as_secs_f64();
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "server": a.server.to_string(),
            "connections": a.connections,
            "window": a.window,
            "subscribers": a.subscribers,
            "vectors_per_request": a.vectors,
            "seconds": secs,
            "results": counts.results,
            "errors": counts.errors,
            "requests_per_second": (counts.results as f64 / secs).round(),
            "vectors_per_second": (counts.results as f64 * f64::from(a.vectors) / secs).round(),
        }))?
    );
    if counts.errors > 0 {
        return Err(anyhow::anyhow!("{} requests were refused", counts.errors));
    }
    Ok(())
}

async fn load_one_connection(
    server: SocketAddr,
    index: u64,
    first_imsi: u64,
    count: u64,
    window: u64,
    vectors: u8,
    measure: Duration,
) -> anyhow::Result<Counts> {
    let name = format!("BENCH-{index:04}");
    let mut client = GsupClient::connect(
        server,
        UnitIdentity::new("MSC", &name),
        Duration::from_secs(10),
    )
    .await?;
    let request = |i: u64| -> anyhow::Result<GsupMessage> {
        let imsi = Imsi::new(&format!("{:015}", first_imsi + i % count))?;
        Ok(GsupMessage::send_auth_info_request(imsi).with(Ie::NumVectorsRequested(vectors)))
    };
    let mut next = 0u64;
    for _ in 0..window {
        client.send(&request(next)?).await?;
        next += 1;
    }
    let warm_until = Instant::now() + Duration::from_secs(1);
    let mut end = None;
    let mut counts = Counts::default();
    loop {
        let answer = client.recv().await?;
        let now = Instant::now();
        match end {
            None if now >= warm_until => end = Some(now + measure),
            Some(end) if now >= end => break,
            Some(_) if answer.msg_type.is_error() => counts.errors += 1,
            Some(_) => counts.results += 1,
            None => {}
        }
        client.send(&request(next)?).await?;
        next += 1;
    }
    Ok(counts)
}
