//! `telsec auth`: the algorithms on the command line, one JSON object out with
//! lowercase hex fields, so a script (or a person checking a SIM) can compare
//! against a card or another implementation.

use clap::builder::TypedValueParser;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Map, Value, json};
use telsec_auth::comp128::Comp128Version;
use telsec_auth::milenage::Milenage;
use telsec_auth::tuak::{Tuak, TuakParams};

use crate::exit::UsageError;
use crate::hex_arg;

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Milenage (TS 35.206): OPc, f1 (MAC-A), f1* (MAC-S), f2 (RES), f3 (CK), f4 (IK), f5 (AK), f5* (AK*).
    Milenage(MilenageArgs),
    /// COMP128 v1/v2/v3 (GSM A3/A8): SRES and Kc. v1 and v2 zero Kc's last 10 bits, as real SIMs do.
    Comp128(Comp128Args),
    /// TUAK (TS 35.231): TOPc and f1..f5* with the chosen output lengths.
    Tuak(TuakArgs),
    /// De-conceal a SUCI (TS 33.501 Annex C) with the home network's private key.
    Suci(SuciArgs),
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("operator").required(true).args(["op", "opc"]))]
pub struct MilenageArgs {
    /// Subscriber key K (16 bytes hex).
    #[arg(long)]
    k: String,
    /// Operator variant OP (16 bytes hex); OPc is derived from it.
    #[arg(long)]
    op: Option<String>,
    /// Derived operator key OPc (16 bytes hex).
    #[arg(long)]
    opc: Option<String>,
    /// RAND (16 bytes hex).
    #[arg(long)]
    rand: String,
    /// SQN (6 bytes hex).
    #[arg(long)]
    sqn: String,
    /// AMF (2 bytes hex).
    #[arg(long)]
    amf: String,
}

#[derive(Debug, Args)]
pub struct Comp128Args {
    /// Algorithm version.
    #[arg(long, value_parser = ["1", "2", "3"])]
    version: String,
    /// Ki (16 bytes hex).
    #[arg(long)]
    ki: String,
    /// RAND (16 bytes hex).
    #[arg(long)]
    rand: String,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("operator").required(true).args(["top", "topc"]))]
pub struct TuakArgs {
    /// Subscriber key K (16 or 32 bytes hex).
    #[arg(long)]
    k: String,
    /// Operator variant TOP (32 bytes hex); TOPc is derived from it.
    #[arg(long)]
    top: Option<String>,
    /// Derived operator key TOPc (32 bytes hex).
    #[arg(long)]
    topc: Option<String>,
    /// RAND (16 bytes hex).
    #[arg(long)]
    rand: String,
    /// SQN (6 bytes hex).
    #[arg(long)]
    sqn: String,
    /// AMF (2 bytes hex).
    #[arg(long)]
    amf: String,
    /// Keccak permutations per function call.
    #[arg(long, default_value_t = 1)]
    keccak_iterations: u32,
    /// RES length in bytes.
    #[arg(long, default_value_t = 8, value_parser = clap::builder::PossibleValuesParser::new(["4", "8", "16", "32"]).map(|s| s.parse::<u16>().unwrap_or(8)))]
    res_len: u16,
    /// MAC-A/MAC-S length in bytes.
    #[arg(long, default_value_t = 8, value_parser = clap::builder::PossibleValuesParser::new(["8", "16", "32"]).map(|s| s.parse::<u16>().unwrap_or(8)))]
    mac_len: u16,
    /// CK length in bytes.
    #[arg(long, default_value_t = 16, value_parser = clap::builder::PossibleValuesParser::new(["16", "32"]).map(|s| s.parse::<u16>().unwrap_or(16)))]
    ck_len: u16,
    /// IK length in bytes.
    #[arg(long, default_value_t = 16, value_parser = clap::builder::PossibleValuesParser::new(["16", "32"]).map(|s| s.parse::<u16>().unwrap_or(16)))]
    ik_len: u16,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SuciProfile {
    /// Profile A: X25519.
    A,
    /// Profile B: P-256.
    B,
}

#[derive(Debug, Args)]
pub struct SuciArgs {
    /// Protection scheme profile of the home-network key.
    #[arg(long, value_enum)]
    profile: SuciProfile,
    /// Home network private key (32 bytes hex).
    #[arg(long)]
    hn_private: String,
    /// The SUCI, e.g. suci-0-001-01-0000-1-1-<scheme output hex>.
    #[arg(long)]
    suci: String,
}

pub fn run(cmd: AuthCommand) -> anyhow::Result<()> {
    let out = match cmd {
        AuthCommand::Milenage(a) => milenage(&a)?,
        AuthCommand::Comp128(a) => comp128(&a)?,
        AuthCommand::Tuak(a) => tuak(&a)?,
        AuthCommand::Suci(a) => suci(&a)?,
    };
    println!("{}", serde_json::to_string_pretty(&Value::Object(out))?);
    Ok(())
}

fn milenage(a: &MilenageArgs) -> Result<Map<String, Value>, UsageError> {
    let k = hex_arg::fixed::<16>("k", &a.k)?;
    let alg = match (&a.op, &a.opc) {
        (Some(op), _) => Milenage::with_op(&k, &hex_arg::fixed::<16>("op", op)?),
        (None, Some(opc)) => Milenage::with_opc(&k, &hex_arg::fixed::<16>("opc", opc)?),
        (None, None) => return Err(UsageError("one of --op or --opc is required".into())),
    };
    let rand = hex_arg::fixed::<16>("rand", &a.rand)?;
    let sqn = hex_arg::fixed::<6>("sqn", &a.sqn)?;
    let amf = hex_arg::fixed::<2>("amf", &a.amf)?;
    let o = alg.generate(&rand, &sqn, &amf);
    Ok(hex_fields(&[
        ("opc", &alg.opc()),
        ("mac_a", &o.mac_a),
        ("mac_s", &o.mac_s),
        ("res", &o.res),
        ("ck", &o.ck),
        ("ik", &o.ik),
        ("ak", &o.ak),
        ("ak_star", &o.ak_star),
    ]))
}

fn comp128(a: &Comp128Args) -> Result<Map<String, Value>, UsageError> {
    let version = match a.version.as_str() {
        "1" => Comp128Version::V1,
        "2" => Comp128Version::V2,
        _ => Comp128Version::V3,
    };
    let ki = hex_arg::fixed::<16>("ki", &a.ki)?;
    let rand = hex_arg::fixed::<16>("rand", &a.rand)?;
    let (sres, kc) = version.run(&ki, &rand);
    Ok(hex_fields(&[("sres", &sres), ("kc", &kc)]))
}

fn tuak(a: &TuakArgs) -> Result<Map<String, Value>, UsageError> {
    let k = hex_arg::any("k", &a.k)?;
    let params = TuakParams::from_bits(
        a.mac_len * 8,
        a.res_len * 8,
        a.ck_len * 8,
        a.ik_len * 8,
        a.keccak_iterations,
    )
    .map_err(|e| UsageError(format!("TUAK parameters: {e}")))?;
    let alg = match (&a.top, &a.topc) {
        (Some(top), _) => Tuak::with_top(&k, &hex_arg::fixed::<32>("top", top)?, params),
        (None, Some(topc)) => Tuak::with_topc(&k, &hex_arg::fixed::<32>("topc", topc)?, params),
        (None, None) => return Err(UsageError("one of --top or --topc is required".into())),
    }
    .map_err(|e| UsageError(format!("TUAK: {e}")))?;
    let rand = hex_arg::fixed::<16>("rand", &a.rand)?;
    let sqn = hex_arg::fixed::<6>("sqn", &a.sqn)?;
    let amf = hex_arg::fixed::<2>("amf", &a.amf)?;
    let o = alg.generate(&rand, &sqn, &amf);
    Ok(hex_fields(&[
        ("topc", &alg.topc()),
        ("mac_a", o.mac_a.as_bytes()),
        ("mac_s", o.mac_s.as_bytes()),
        ("res", o.res.as_bytes()),
        ("ck", o.ck.as_bytes()),
        ("ik", o.ik.as_bytes()),
        ("ak", &o.ak),
        ("ak_star", &o.ak_star),
    ]))
}

fn suci(a: &SuciArgs) -> Result<Map<String, Value>, UsageError> {
    use telsec_auth::suci::{Profile, deconceal_str};
    let profile = match a.profile {
        SuciProfile::A => Profile::A,
        SuciProfile::B => Profile::B,
    };
    let supi = deconceal_str(profile, a.hn_private.trim(), a.suci.trim())
        .map_err(|e| UsageError(format!("cannot de-conceal the SUCI: {e}")))?;
    let mut out = Map::new();
    out.insert("supi".into(), json!(supi.to_string()));
    Ok(out)
}

fn hex_fields(fields: &[(&str, &[u8])]) -> Map<String, Value> {
    fields
        .iter()
        .map(|(name, bytes)| ((*name).to_owned(), json!(hex::encode(bytes))))
        .collect()
}
