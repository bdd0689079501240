//! Bulk provisioning from CSV, all or nothing.
//!
//! The first row is a header naming the columns, in any order
//! (case-insensitive). Only `imsi` is required; an empty cell means "not
//! given". Unknown column names are refused, so that a typo does not
//! silently drop a key.
//!
//! | column | meaning | default |
//! |---|---|---|
//! | `imsi` | 5..15 digits | required |
//! | `msisdn` | 1..15 digits | none |
//! | `name`, `address` | free text | empty |
//! | `enabled`, `nam_cs`, `nam_ps` | `1`/`0`, `true`/`false`, `yes`/`no` | `1` |
//! | `algo` | `comp128v1`, `comp128v2`, `comp128v3`, `milenage`, `tuak` | no auth data |
//! | `algo_2g` | a COMP128 version used *besides* a 3G `algo` (SRES/Kc from Ki instead of c2/c3) | none |
//! | `ki` | 32 hex digits, with a COMP128 `algo` or with `algo_2g` | |
//! | `k` | 32 hex (Milenage), 32 or 64 hex (TUAK) | |
//! | `op` / `opc` | 32 hex, Milenage: exactly one of the two | |
//! | `top` / `topc` | 64 hex, TUAK: exactly one of the two | |
//! | `amf` | 4 hex digits | `0000` |
//! | `sqn` | last SQN used by the card, decimal (48 bits) | `0` |
//! | `ind_bitlen` | IND bits of SQN, 0..=10 | `5` |
//! | `tuak_iterations` | Keccak iterations | `1` |
//! | `tuak_res_bits`, `tuak_mac_bits`, `tuak_ck_bits`, `tuak_ik_bits` | TS 35.231 §6 lengths | `64`, `64`, `128`, `128` |
//!
//! Example:
//!
//! ```text
//! imsi,msisdn,name,algo,k,opc,amf
//! 001010000000001,4900001,Alice,milenage,465b5ce8b199b49faa5f0a2ee238a6bc,cd63cb71954a9f4e48a5994e37a02baf,8000
//! 001010000000002,,Bob,comp128v1,,,
//! ```
//!
//! (the second row fails: COMP128 needs `ki`). Every failing row is reported
//! with its line number, and then nothing is imported.

use std::collections::HashMap;
use std::io::Read;

use crate::ids::{Imsi, Msisdn};
use crate::model::{
    Algorithm3g, Auth2g, Auth3g, NewSubscriber, OperatorKey, SecretBytes, TuakParams, parse_amf,
    parse_comp128,
};
use crate::store::{Store, StoreError, insert_subscriber};

/// The columns a CSV file may have.
pub const COLUMNS: &[&str] = &[
    "imsi",
    "msisdn",
    "name",
    "address",
    "enabled",
    "nam_cs",
    "nam_ps",
    "algo",
    "algo_2g",
    "ki",
    "k",
    "op",
    "opc",
    "top",
    "topc",
    "amf",
    "sqn",
    "ind_bitlen",
    "tuak_iterations",
    "tuak_res_bits",
    "tuak_mac_bits",
    "tuak_ck_bits",
    "tuak_ik_bits",
];

/// At most this many row errors are listed; the rest are only counted.
pub const MAX_REPORTED_ERRORS: usize = 1000;

/// One failing row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    /// What is wrong (never contains key material).
    pub message: String,
}

impl core::fmt::Display for RowError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Why an import was refused. Nothing was imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The header row is missing, lacks `imsi`, or names unknown columns.
    #[error("bad CSV header: {0}")]
    Header(String),
    /// Rows failed; every listed row error, and the total count.
    #[error("{total} row(s) failed, nothing imported; first: {}", .errors.first().map(|e| e.to_string()).unwrap_or_default())]
    Rows {
        /// The first [`MAX_REPORTED_ERRORS`] row errors, in file order.
        errors: Vec<RowError>,
        /// How many rows failed in all.
        total: usize,
    },
    /// The store failed outside any one row (opening the transaction,
    /// committing).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// Subscribers added.
    pub imported: u64,
}

struct Columns(HashMap<String, usize>);

impl Columns {
    fn get<'r>(&self, rec: &'r csv::StringRecord, name: &str) -> Option<&'r str> {
        let i = *self.0.get(name)?;
        rec.get(i).map(str::trim).filter(|s| !s.is_empty())
    }
}

fn parse_bool(v: &str, what: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "y" => Ok(true),
        "0" | "false" | "no" | "n" => Ok(false),
        _ => Err(format!("{what}: expected 1/0, true/false or yes/no")),
    }
}

fn parse_num<T: core::str::FromStr>(v: &str, what: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("{what}: not a valid number"))
}

fn secret(
    cols: &Columns,
    rec: &csv::StringRecord,
    name: &'static str,
) -> Result<Option<SecretBytes>, String> {
    cols.get(rec, name)
        .map(|v| SecretBytes::from_hex(v, name).map_err(|e| e.to_string()))
        .transpose()
}

/// Build a subscriber from one record.
fn parse_row(cols: &Columns, rec: &csv::StringRecord) -> Result<NewSubscriber, String> {
    let imsi = cols.get(rec, "imsi").ok_or("imsi is empty")?;
    let mut new = NewSubscriber::new(Imsi::new(imsi).map_err(|e| e.to_string())?);
    new.msisdn = cols
        .get(rec, "msisdn")
        .map(Msisdn::new)
        .transpose()
        .map_err(|e| e.to_string())?;
    new.name = cols.get(rec, "name").unwrap_or_default().to_owned();
    new.address = cols.get(rec, "address").unwrap_or_default().to_owned();
    for (col, field) in [
        ("enabled", &mut new.enabled),
        ("nam_cs", &mut new.nam_cs),
        ("nam_ps", &mut new.nam_ps),
    ] {
        if let Some(v) = cols.get(rec, col) {
            *field = parse_bool(v, col)?;
        }
    }
    let ki = secret(cols, rec, "ki")?;
    let k = secret(cols, rec, "k")?;
    let op = secret(cols, rec, "op")?;
    let opc = secret(cols, rec, "opc")?;
    let top = secret(cols, rec, "top")?;
    let topc = secret(cols, rec, "topc")?;
    let algo = cols.get(rec, "algo").map(str::to_ascii_lowercase);
    let algo_2g = cols
        .get(rec, "algo_2g")
        .map(|a| parse_comp128(a).map_err(|e| e.to_string()))
        .transpose()?;
    let operator_key =
        |op: Option<SecretBytes>, opc: Option<SecretBytes>, names: &str| match (op, opc) {
            (Some(op), None) => Ok(OperatorKey::Op(op)),
            (None, Some(opc)) => Ok(OperatorKey::Opc(opc)),
            _ => Err(format!("give exactly one of {names}")),
        };
    let three_g_cols = ["k", "op", "opc", "top", "topc", "amf", "sqn", "ind_bitlen"]
        .iter()
        .chain(&[
            "tuak_iterations",
            "tuak_res_bits",
            "tuak_mac_bits",
            "tuak_ck_bits",
            "tuak_ik_bits",
        ])
        .find(|c| cols.get(rec, c).is_some());
    let algorithm_3g = match algo.as_deref() {
        None => None,
        Some("milenage") => {
            if top.is_some() || topc.is_some() {
                return Err("top/topc are for TUAK; Milenage takes op or opc".into());
            }
            let k = k.ok_or("milenage needs k")?;
            Some(
                Algorithm3g::milenage(k, operator_key(op, opc, "op, opc")?)
                    .map_err(|e| e.to_string())?,
            )
        }
        Some("tuak") => {
            if op.is_some() || opc.is_some() {
                return Err("op/opc are for Milenage; TUAK takes top or topc".into());
            }
            let k = k.ok_or("tuak needs k")?;
            let d = TuakParams::default();
            let p = |col: &str, default: u16| -> Result<u16, String> {
                cols.get(rec, col)
                    .map_or(Ok(default), |v| parse_num(v, col))
            };
            let params = TuakParams {
                iterations: p("tuak_iterations", d.iterations)?,
                res_bits: p("tuak_res_bits", d.res_bits)?,
                mac_bits: p("tuak_mac_bits", d.mac_bits)?,
                ck_bits: p("tuak_ck_bits", d.ck_bits)?,
                ik_bits: p("tuak_ik_bits", d.ik_bits)?,
            };
            Some(
                Algorithm3g::tuak(k, operator_key(top, topc, "top, topc")?, params)
                    .map_err(|e| e.to_string())?,
            )
        }
        Some(other) => {
            let v = parse_comp128(other).map_err(|e| e.to_string())?;
            if algo_2g.is_some() {
                return Err("algo_2g goes with a 3G algo; algo is already COMP128".into());
            }
            if let Some(c) = three_g_cols {
                return Err(format!("column {c} given for a 2G-only subscriber"));
            }
            let ki = ki.clone().ok_or_else(|| format!("{other} needs ki"))?;
            new.auth_2g = Some(Auth2g::new(v, ki).map_err(|e| e.to_string())?);
            None
        }
    };
    match (&algorithm_3g, algo_2g) {
        (Some(_), Some(v)) => {
            let ki = ki.ok_or("algo_2g needs ki")?;
            new.auth_2g = Some(Auth2g::new(v, ki).map_err(|e| e.to_string())?);
        }
        (Some(_), None) if ki.is_some() => {
            return Err("ki given with a 3G algo but no algo_2g".into());
        }
        (None, Some(_)) => return Err("algo_2g needs a 3G algo".into()),
        (None, None) if algo.is_none() && (ki.is_some() || three_g_cols.is_some()) => {
            return Err("key columns given without algo".into());
        }
        _ => {}
    }
    if let Some(alg) = algorithm_3g {
        let mut a = Auth3g::new(alg);
        if let Some(v) = cols.get(rec, "amf") {
            a.amf = parse_amf(v).map_err(|e| e.to_string())?;
        }
        if let Some(v) = cols.get(rec, "ind_bitlen") {
            a.ind_bitlen = parse_num(v, "ind_bitlen")?;
        }
        a.validate().map_err(|e| e.to_string())?;
        if let Some(v) = cols.get(rec, "sqn") {
            new.sqn = parse_num(v, "sqn")?;
        }
        new.auth_3g = Some(a);
    }
    Ok(new)
}

impl Store {
    /// Import subscribers from CSV (format in the [module doc](self)): every
    /// row or none. All row errors are collected with their line numbers
    /// before the transaction is rolled back.
    pub fn import_csv<R: Read>(&mut self, input: R) -> Result<ImportReport, ImportError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .flexible(false)
            .from_reader(input);
        let header = reader
            .headers()
            .map_err(|e| ImportError::Header(e.to_string()))?
            .clone();
        let mut map = HashMap::new();
        for (i, name) in header.iter().enumerate() {
            let name = name.trim().to_ascii_lowercase();
            if !COLUMNS.contains(&name.as_str()) {
                return Err(ImportError::Header(format!("unknown column {name:?}")));
            }
            if map.insert(name.clone(), i).is_some() {
                return Err(ImportError::Header(format!(
                    "column {name:?} appears twice"
                )));
            }
        }
        if !map.contains_key("imsi") {
            return Err(ImportError::Header("no imsi column".into()));
        }
        let cols = Columns(map);
        let (conn, kek) = self.parts();
        let tx = conn.transaction().map_err(StoreError::from)?;
        let mut errors = Vec::new();
        let mut total_errors = 0usize;
        let mut imported = 0u64;
        let mut record = csv::StringRecord::new();
        loop {
            let line_before = reader.position().line();
            let more = match reader.read_record(&mut record) {
                Ok(more) => more,
                Err(e) => {
                    let line = e.position().map_or(line_before, |p| p.line());
                    total_errors += 1;
                    if errors.len() < MAX_REPORTED_ERRORS {
                        errors.push(RowError {
                            line,
                            message: format!("malformed CSV: {e}"),
                        });
                    }
                    // A structural error (e.g. wrong field count) skips the
                    // record; an I/O error would repeat, so stop.
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        break;
                    }
                    continue;
                }
            };
            if !more {
                break;
            }
            let line = record.position().map_or(line_before, |p| p.line());
            let result = parse_row(&cols, &record)
                .and_then(|new| insert_subscriber(&tx, kek, &new).map_err(|e| e.to_string()));
            match result {
                Ok(_) => imported += 1,
                Err(message) => {
                    total_errors += 1;
                    if errors.len() < MAX_REPORTED_ERRORS {
                        errors.push(RowError { line, message });
                    }
                }
            }
        }
        if total_errors > 0 {
            drop(tx);
            tracing::warn!(failed = total_errors, "CSV import rolled back");
            return Err(ImportError::Rows {
                errors,
                total: total_errors,
            });
        }
        tx.commit().map_err(StoreError::from)?;
        tracing::info!(imported, "CSV import committed");
        Ok(ImportReport { imported })
    }
}
