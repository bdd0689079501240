//! `telsec hlr`: provisioning, the GSUP server, and a GSUP query client.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use telsec_gsup::{Imsi as GsupImsi, UnitIdentity};
use telsec_hlr::model::parse_amf;
use telsec_hlr::{
    Algorithm3g, Auth2g, Auth3g, Imsi, Msisdn, NewSubscriber, OperatorKey, SecretBytes, Store,
    Subscriber, SubscriberUpdate, TuakParams,
};
use telsec_node::config::Config;
use telsec_node::gsup_client::{ClientError, GsupClient};
use telsec_node::kek::{self, IfMissing};

use crate::exit::{ProtocolRefusal, UsageError};

#[derive(Debug, Subcommand)]
pub enum HlrCommand {
    /// Serve GSUP over IPA (default 127.0.0.1:4222) until interrupted.
    Serve(ServeArgs),
    /// Add, change, show, list, delete and import subscribers.
    #[command(subcommand)]
    Subscriber(SubscriberCommand),
    /// Ask a GSUP HLR (telsec's or osmo-hlr) for authentication vectors; prints JSON.
    Query(QueryArgs),
    /// Measure SendAuthInfo throughput of a GSUP HLR (telsec's or osmo-hlr); prints JSON.
    Bench(crate::hlr_bench::BenchArgs),
    /// Re-encrypt every stored secret under a new key-encryption key, in one transaction.
    ///
    /// The current KEK comes from the usual place (hlr.kek_env, then hlr.kek_file); the new
    /// one from the environment variable named here. Afterwards, give the services the new
    /// KEK: the old one no longer opens the database.
    RotateKek {
        /// Environment variable holding the new KEK (64 hex digits).
        #[arg(long, default_value = "TELSEC_HLR_NEW_KEK")]
        new_kek_env: String,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen address, overriding `hlr.gsup_listen`.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The HLR's GSUP address.
    #[arg(long, default_value = "127.0.0.1:4222")]
    server: SocketAddr,
    /// The subscriber.
    #[arg(long)]
    imsi: String,
    /// Vectors to ask for (1..=5).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
    vectors: u8,
    /// Resynchronise first: the RAND the USIM answered with an AUTS (16 bytes hex).
    #[arg(long, requires = "auts")]
    rand: Option<String>,
    /// Resynchronise first: the USIM's AUTS (14 bytes hex).
    #[arg(long, requires = "rand")]
    auts: Option<String>,
    /// IPA name to identify as (osmo-hlr uses it to route answers).
    #[arg(long, default_value = "telsec-query")]
    ipa_name: String,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 5)]
    timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum SubscriberCommand {
    /// Add a subscriber; prints it as JSON (without secrets).
    Add(AddArgs),
    /// Change a subscriber; only the options given change.
    Update(UpdateArgs),
    /// Show one subscriber as JSON (never its secrets).
    Show {
        /// The subscriber's IMSI.
        #[arg(long)]
        imsi: String,
    },
    /// List subscribers as JSON lines, one object per subscriber.
    List {
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: u64,
        /// At most this many.
        #[arg(long, default_value_t = 1000)]
        limit: u64,
    },
    /// Delete a subscriber.
    Delete {
        /// The subscriber's IMSI.
        #[arg(long)]
        imsi: String,
    },
    /// Import a CSV file, all or nothing. Columns (header row, any order): imsi, msisdn, name,
    /// address, enabled, nam_cs, nam_ps, algo (comp128v1|comp128v2|comp128v3|milenage|tuak),
    /// algo_2g, ki, k, op, opc, top, topc, amf, sqn, ind_bitlen, tuak_iterations, tuak_res_bits,
    /// tuak_mac_bits, tuak_ck_bits, tuak_ik_bits.
    Import {
        /// The CSV file.
        file: PathBuf,
    },
}

/// Authentication options shared by `add` and `update`.
#[derive(Debug, Args)]
pub struct AuthOptions {
    /// Algorithm: comp128v1, comp128v2, comp128v3 (2G, needs --ki), milenage (--k and
    /// --op or --opc) or tuak (--k and --top or --topc).
    #[arg(long)]
    algo: Option<String>,
    /// COMP128 Ki (16 bytes hex).
    #[arg(long)]
    ki: Option<String>,
    /// K (16 bytes hex; TUAK also 32).
    #[arg(long)]
    k: Option<String>,
    /// Milenage OP (16 bytes hex).
    #[arg(long, conflicts_with = "opc")]
    op: Option<String>,
    /// Milenage OPc (16 bytes hex).
    #[arg(long)]
    opc: Option<String>,
    /// TUAK TOP (32 bytes hex).
    #[arg(long, conflicts_with = "topc")]
    top: Option<String>,
    /// TUAK TOPc (32 bytes hex).
    #[arg(long)]
    topc: Option<String>,
    /// AMF (4 hex digits).
    #[arg(long)]
    amf: Option<String>,
    /// IND bits at the low end of SQN (TS 33.102 Annex C).
    #[arg(long)]
    ind_bitlen: Option<u8>,
    /// Last SQN the card accepted (48 bits, decimal), when moving a card from another HLR.
    #[arg(long)]
    sqn: Option<u64>,
    /// TUAK Keccak iterations.
    #[arg(long, default_value_t = 1)]
    tuak_iterations: u16,
    /// TUAK RES length in bits (32, 64, 128).
    #[arg(long, default_value_t = 64)]
    tuak_res_bits: u16,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// IMSI (5..15 digits).
    #[arg(long)]
    imsi: String,
    /// MSISDN (E.164 digits).
    #[arg(long)]
    msisdn: Option<String>,
    /// Subscriber name.
    #[arg(long, default_value = "")]
    name: String,
    /// Postal address.
    #[arg(long, default_value = "")]
    address: String,
    /// Add the subscriber disabled (no vectors, no location updates).
    #[arg(long)]
    disabled: bool,
    #[command(flatten)]
    auth: AuthOptions,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// IMSI of the subscriber to change.
    #[arg(long)]
    imsi: String,
    /// New MSISDN ("none" removes it).
    #[arg(long)]
    msisdn: Option<String>,
    /// New name.
    #[arg(long)]
    name: Option<String>,
    /// New postal address.
    #[arg(long)]
    address: Option<String>,
    /// Enable or disable the subscriber.
    #[arg(long)]
    enabled: Option<bool>,
    /// Remove all authentication data.
    #[arg(long, conflicts_with = "algo")]
    clear_auth: bool,
    #[command(flatten)]
    auth: AuthOptions,
}

pub fn run(cmd: HlrCommand, config: &Config) -> anyhow::Result<()> {
    match cmd {
        HlrCommand::Serve(args) => {
            let mut config = config.clone();
            if let Some(listen) = args.listen {
                config.hlr.gsup_listen = listen;
            }
            crate::up_cmd::serve_until_signal(&config, IfMissing::Fail, false)
        }
        HlrCommand::Subscriber(cmd) => subscriber(cmd, config),
        HlrCommand::Query(args) => query(args),
        HlrCommand::Bench(args) => crate::hlr_bench::run(args),
        HlrCommand::RotateKek { new_kek_env } => {
            let text = std::env::var(&new_kek_env)
                .map_err(|_| UsageError(format!("set ${new_kek_env} to the new KEK")))?;
            let new_kek = telsec_hlr::Kek::from_hex(text.trim())
                .map_err(|_| UsageError(format!("${new_kek_env} is not 64 hex digits")))?;
            let mut store = open_store(config, IfMissing::Fail)?;
            let count = store.rotate_kek(new_kek)?;
            println!("{}", json!({ "secrets_reencrypted": count }));
            Ok(())
        }
    }
}

/// Open the store the config names, with its KEK.
pub fn open_store(config: &Config, if_missing: IfMissing) -> anyhow::Result<Store> {
    // The data directory holds subscriber identities (IMSI, MSISDN, names)
    // in the clear, and the secrets sealed: only the owner may read it.
    if !config.data_dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(&config.data_dir)
            .with_context(|| format!("creating {}", config.data_dir.display()))?;
    }
    let kek = kek::load(config, if_missing)?;
    let path = config.in_data_dir(&config.hlr.database);
    Store::open(&path, kek).with_context(|| format!("opening {}", path.display()))
}

fn subscriber(cmd: SubscriberCommand, config: &Config) -> anyhow::Result<()> {
    let mut store = open_store(config, IfMissing::Fail)?;
    match cmd {
        SubscriberCommand::Add(a) => {
            let imsi = parse_imsi(&a.imsi)?;
            let mut new = NewSubscriber::new(imsi.clone());
            new.msisdn = a.msisdn.as_deref().map(parse_msisdn).transpose()?;
            new.name = a.name;
            new.address = a.address;
            new.enabled = !a.disabled;
            let (auth_2g, auth_3g) = auth_data(&a.auth)?.unwrap_or((None, None));
            new.auth_2g = auth_2g;
            new.auth_3g = auth_3g;
            new.sqn = a.auth.sqn.unwrap_or(0);
            store.add_subscriber(&new)?;
            print_subscriber(&store, &imsi)
        }
        SubscriberCommand::Update(a) => {
            let imsi = parse_imsi(&a.imsi)?;
            let mut update = SubscriberUpdate {
                name: a.name,
                address: a.address,
                enabled: a.enabled,
                sqn: a.auth.sqn,
                ..SubscriberUpdate::default()
            };
            if let Some(m) = a.msisdn.as_deref() {
                update.msisdn = Some(if m == "none" {
                    None
                } else {
                    Some(parse_msisdn(m)?)
                });
            }
            if a.clear_auth {
                update.auth_2g = Some(None);
                update.auth_3g = Some(None);
            } else if let Some((auth_2g, auth_3g)) = auth_data(&a.auth)? {
                update.auth_2g = Some(auth_2g);
                update.auth_3g = Some(auth_3g);
            } else if let Some(amf) = &a.auth.amf {
                update.amf = Some(parse_amf(amf)?);
            }
            store.update_subscriber(&imsi, &update)?;
            print_subscriber(&store, &imsi)
        }
        SubscriberCommand::Show { imsi } => print_subscriber(&store, &parse_imsi(&imsi)?),
        SubscriberCommand::List { offset, limit } => {
            for s in store.list_subscribers(offset, limit)? {
                println!("{}", subscriber_json(&s));
            }
            Ok(())
        }
        SubscriberCommand::Delete { imsi } => {
            store.delete_subscriber(&parse_imsi(&imsi)?)?;
            println!("{}", json!({ "deleted": imsi }));
            Ok(())
        }
        SubscriberCommand::Import { file } => {
            let input = std::fs::File::open(&file)
                .with_context(|| format!("opening {}", file.display()))?;
            match store.import_csv(input) {
                Ok(report) => {
                    println!("{}", json!({ "imported": report.imported }));
                    Ok(())
                }
                Err(telsec_hlr::ImportError::Rows { errors, total }) => {
                    for e in &errors {
                        eprintln!("{}: {e}", file.display());
                    }
                    Err(UsageError(format!("{total} row(s) failed; nothing imported")).into())
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// The authentication data the options describe, or `None` when no `--algo` was given.
fn auth_data(a: &AuthOptions) -> anyhow::Result<Option<(Option<Auth2g>, Option<Auth3g>)>> {
    let Some(algo) = a.algo.as_deref() else {
        return Ok(None);
    };
    let secret = |value: &Option<String>, what: &'static str| -> anyhow::Result<SecretBytes> {
        let text = value
            .as_deref()
            .ok_or_else(|| UsageError(format!("--algo {algo} needs --{what}")))?;
        Ok(SecretBytes::from_hex(text, what)?)
    };
    let operator = |op: &Option<String>,
                    opc: &Option<String>,
                    names: (&'static str, &'static str)| match (op, opc) {
        (Some(_), _) => secret(op, names.0).map(OperatorKey::Op),
        (None, Some(_)) => secret(opc, names.1).map(OperatorKey::Opc),
        (None, None) => Err(UsageError(format!(
            "--algo {algo} needs --{} or --{}",
            names.0, names.1
        ))
        .into()),
    };
    let finish_3g = |algorithm: Algorithm3g| -> anyhow::Result<Auth3g> {
        let mut auth = Auth3g::new(algorithm);
        if let Some(amf) = &a.amf {
            auth.amf = parse_amf(amf)?;
        }
        if let Some(bits) = a.ind_bitlen {
            auth.ind_bitlen = bits;
        }
        auth.validate()?;
        Ok(auth)
    };
    let data = match algo.to_ascii_lowercase().as_str() {
        "milenage" => {
            let alg =
                Algorithm3g::milenage(secret(&a.k, "k")?, operator(&a.op, &a.opc, ("op", "opc"))?)?;
            (None, Some(finish_3g(alg)?))
        }
        "tuak" => {
            let params = TuakParams {
                iterations: a.tuak_iterations,
                res_bits: a.tuak_res_bits,
                ..TuakParams::default()
            };
            let alg = Algorithm3g::tuak(
                secret(&a.k, "k")?,
                operator(&a.top, &a.topc, ("top", "topc"))?,
                params,
            )?;
            (None, Some(finish_3g(alg)?))
        }
        other => {
            let version = telsec_hlr::model::parse_comp128(other)
                .map_err(|_| UsageError(format!("unknown --algo {other}")))?;
            (Some(Auth2g::new(version, secret(&a.ki, "ki")?)?), None)
        }
    };
    Ok(Some(data))
}

fn parse_imsi(text: &str) -> Result<Imsi, UsageError> {
    Imsi::new(text.trim()).map_err(|e| UsageError(format!("--imsi: {e}")))
}

fn parse_msisdn(text: &str) -> Result<Msisdn, UsageError> {
    Msisdn::new(text.trim()).map_err(|e| UsageError(format!("--msisdn: {e}")))
}

fn print_subscriber(store: &Store, imsi: &Imsi) -> anyhow::Result<()> {
    let s = store
        .subscriber(imsi)?
        .ok_or_else(|| ProtocolRefusal(format!("no subscriber with IMSI {imsi}")))?;
    println!("{}", serde_json::to_string_pretty(&subscriber_json(&s))?);
    Ok(())
}

/// A subscriber as JSON: everything but secrets.
fn subscriber_json(s: &Subscriber) -> Value {
    json!({
        "id": s.id,
        "imsi": s.imsi.as_str(),
        "msisdn": s.msisdn.as_ref().map(|m| m.as_str().to_owned()),
        "name": s.name,
        "address": s.address,
        "enabled": s.enabled,
        "nam_cs": s.nam_cs,
        "nam_ps": s.nam_ps,
        "auth_2g": s.auth_2g.as_ref().map(|a| json!({ "algo": a.version.to_string() })),
        "auth_3g": s.auth_3g.as_ref().map(|a| json!({
            "algo": a.algorithm,
            "op_kind": format!("{:?}", a.op_kind).to_lowercase(),
            "k_bytes": a.k_len,
            "amf": hex::encode(a.amf),
            "ind_bitlen": a.ind_bitlen,
            "seq_reserved": a.seq_reserved,
        })),
        "vlr_number": s.vlr_number,
        "sgsn_number": s.sgsn_number,
        "last_lu_cs": s.last_lu_cs,
        "last_lu_ps": s.last_lu_ps,
        "purged_cs": s.purged_cs,
        "purged_ps": s.purged_ps,
        "imei": s.imei,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    })
}

fn query(a: QueryArgs) -> anyhow::Result<()> {
    let imsi = GsupImsi::new(a.imsi.trim()).map_err(|e| UsageError(format!("--imsi: {e}")))?;
    let resync = match (&a.rand, &a.auts) {
        (Some(rand), Some(auts)) => Some((
            crate::hex_arg::fixed::<16>("rand", rand)?,
            crate::hex_arg::fixed::<14>("auts", auts)?,
        )),
        _ => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let timeout = Duration::from_secs(a.timeout);
    let tuples = runtime.block_on(async {
        let mut client =
            GsupClient::connect(a.server, UnitIdentity::new("telsec", &a.ipa_name), timeout)
                .await?;
        client.send_auth_info(&imsi, a.vectors, resync).await
    });
    let tuples = match tuples {
        Ok(t) => t,
        Err(ClientError::Refused { cause, .. }) => {
            return Err(ProtocolRefusal(format!(
                "HLR refused SendAuthInfo for {}: {cause}",
                a.imsi
            ))
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    let vectors: Vec<Value> = tuples
        .iter()
        .map(|t| {
            let field = |v: Option<&[u8]>| v.map(hex::encode);
            json!({
                "rand": hex::encode(t.rand),
                "autn": field(t.autn.as_ref().map(|v| &v[..])),
                "res": field(t.res.as_deref()),
                "ck": field(t.ck.as_ref().map(|v| &v[..])),
                "ik": field(t.ik.as_ref().map(|v| &v[..])),
                "sres": field(t.sres.as_ref().map(|v| &v[..])),
                "kc": field(t.kc.as_ref().map(|v| &v[..])),
            })
        })
        .collect();
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({ "imsi": a.imsi, "vectors": vectors }))?
    );
    Ok(())
}
