//! The subscriber store: one SQLite file in WAL mode, schema by
//! [`crate::migrations`], secrets sealed by
//! [`crate::crypto`].
//!
//! The store is the only I/O in this crate. Writes that must survive a crash
//! (SQN leases above all) commit with `synchronous = FULL`, so a committed
//! lease survives power loss as well as `kill -9`.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use zeroize::Zeroizing;

use crate::crypto::{self, CryptoError, Kek};
use crate::ids::{IdError, Imsi, Msisdn};
use crate::migrations::{self, MigrationError};
use crate::model::{
    Algorithm3g, Auth2g, Auth2gInfo, Auth3g, Auth3gInfo, ModelError, NewSubscriber, OpKind,
    OperatorKey, SQN_MAX, SecretBytes, Subscriber, SubscriberSecrets, SubscriberUpdate, TuakParams,
    parse_comp128,
};

/// File name of the database inside the HLR's data directory.
pub const DB_FILE_NAME: &str = "hlr.sqlite";

/// Key of the KEK check value in the `meta` table.
const META_KEK_CHECK: &str = "kek_check";

/// Column names used as associated data of sealed secrets. They name the
/// table and column, so a value moved to another column fails to open.
const COL_KI: &str = "auc_2g.ki";
const COL_K: &str = "auc_3g.k";
const COL_OP: &str = "auc_3g.op";

/// Errors of the subscriber store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The data directory could not be created.
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
    /// Schema migration failed or the schema is too new.
    #[error(transparent)]
    Migration(#[from] MigrationError),
    /// Key handling failed; [`CryptoError::WrongKek`] when the KEK does not
    /// match the store's.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// A subscriber's sealed secret failed to open: tampered with, or moved
    /// from another row or column.
    #[error("secret {column} of IMSI {imsi} failed authentication (tampered or swapped)")]
    SecretCorrupt {
        /// The subscriber.
        imsi: Imsi,
        /// The column.
        column: &'static str,
    },
    /// A provisioning value is invalid.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A stored identity is invalid (the database was edited by hand).
    #[error(transparent)]
    Id(#[from] IdError),
    /// A subscriber with this IMSI exists already.
    #[error("IMSI {0} already exists")]
    ImsiExists(Imsi),
    /// Another subscriber has this MSISDN.
    #[error("MSISDN {0} already in use")]
    MsisdnExists(Msisdn),
    /// No subscriber with this IMSI.
    #[error("no subscriber with IMSI {0}")]
    NotFound(Imsi),
    /// AMF or SQN given for a subscriber without 3G authentication data.
    #[error("IMSI {0} has no 3G authentication data")]
    No3gData(Imsi),
    /// The subscriber's SEQ space is used up (2^(48 − IND bits) values).
    #[error("SQN space of IMSI {0} exhausted")]
    SqnExhausted(Imsi),
    /// A stored value this code cannot interpret.
    #[error("corrupt database row: {0}")]
    Corrupt(String),
}

/// Circuit-switched or packet-switched core network domain (GSUP CN Domain
/// IE; PS when absent, per osmo-hlr's GSUP description).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CnDomain {
    /// Circuit-switched: MSC/VLR.
    Cs,
    /// Packet-switched: SGSN.
    Ps,
}

/// What identifies one version of a subscriber's authentication state:
/// equal stamps read at two times mean the AuC would read the same keys,
/// algorithm settings, AMF and enabled flag both times. `auth_rev` is raised
/// by triggers (schema version 3) on every such change by any writer, and a
/// deleted and re-added IMSI has a new row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AuthStamp {
    pub id: i64,
    pub enabled: bool,
    pub auth_rev: i64,
}

/// A point in the store's change history as one connection sees it: SQLite's
/// `PRAGMA data_version` (changes when another connection, in this process
/// or another, commits) and this handle's own count of provisioning writes
/// (which `data_version` does not reflect). When neither moved, nothing the
/// AuC reads can have changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChangeMarker {
    data_version: i64,
    local: u64,
}

/// Authentication data as the AuC reads it.
#[derive(Debug)]
pub(crate) struct AuthRecord {
    pub stamp: AuthStamp,
    pub auth_2g: Option<Auth2g>,
    pub auth_3g: Option<Auth3gState>,
}

/// 3G data plus its SQN state.
#[derive(Debug)]
pub(crate) struct Auth3gState {
    pub auth: Auth3g,
    /// Incremented whenever keys, AMF or SQN are provisioned: an in-memory
    /// SQN lease taken under an older revision is abandoned.
    pub rev: i64,
}

/// Subscriber location and state as the location-update logic needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberProfile {
    /// Row id.
    pub id: i64,
    /// MSISDN.
    pub msisdn: Option<Msisdn>,
    /// Administrative state.
    pub enabled: bool,
    /// NAM CS.
    pub nam_cs: bool,
    /// NAM PS.
    pub nam_ps: bool,
}

/// The subscriber store. One per process is enough; several processes may
/// open the same file (SQLite locking and the atomic SQN lease keep them
/// consistent).
pub struct Store {
    conn: Connection,
    kek: Kek,
    /// Provisioning writes through this handle (see [`ChangeMarker`]).
    local_changes: u64,
}

impl core::fmt::Debug for Store {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.conn.path())
            .finish_non_exhaustive()
    }
}

const SUBSCRIBER_SELECT: &str = "SELECT s.id, s.imsi, s.msisdn, s.name, s.address, s.enabled, \
     s.nam_cs, s.nam_ps, s.vlr_number, s.sgsn_number, s.last_lu_cs, s.last_lu_ps, \
     s.purged_cs, s.purged_ps, s.imei, s.created_at, s.updated_at, \
     a2.algo, a3.algo, a3.op_is_opc, length(a3.k), a3.amf, a3.ind_bitlen, \
     a3.tuak_iterations, a3.tuak_res_bits, a3.tuak_mac_bits, a3.tuak_ck_bits, \
     a3.tuak_ik_bits, a3.seq_hwm \
     FROM subscriber s LEFT JOIN auc_2g a2 ON a2.subscriber_id = s.id \
     LEFT JOIN auc_3g a3 ON a3.subscriber_id = s.id";

/// Sealed-value overhead: version byte, nonce, tag.
const SEAL_OVERHEAD: i64 = 1 + 12 + 16;

fn is_unique_violation(e: &rusqlite::Error, column: &str) -> bool {
    match e {
        rusqlite::Error::SqliteFailure(err, Some(msg)) => {
            err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE && msg.contains(column)
        }
        _ => false,
    }
}

fn amf_from_blob(blob: &[u8]) -> Result<[u8; 2], StoreError> {
    blob.try_into()
        .map_err(|_| StoreError::Corrupt("AMF is not 2 bytes".into()))
}

fn tuak_params_from(
    it: Option<i64>,
    res: Option<i64>,
    mac: Option<i64>,
    ck: Option<i64>,
    ik: Option<i64>,
) -> Result<TuakParams, StoreError> {
    let get = |v: Option<i64>, what: &str| -> Result<u16, StoreError> {
        v.and_then(|v| u16::try_from(v).ok())
            .ok_or_else(|| StoreError::Corrupt(format!("TUAK {what} missing or out of range")))
    };
    Ok(TuakParams {
        iterations: get(it, "iterations")?,
        res_bits: get(res, "res_bits")?,
        mac_bits: get(mac, "mac_bits")?,
        ck_bits: get(ck, "ck_bits")?,
        ik_bits: get(ik, "ik_bits")?,
    })
}

fn subscriber_from_row(row: &Row<'_>) -> Result<Subscriber, StoreError> {
    let imsi: String = row.get(1)?;
    let msisdn: Option<String> = row.get(2)?;
    let algo_2g: Option<String> = row.get(17)?;
    let algo_3g: Option<String> = row.get(18)?;
    let auth_2g = algo_2g
        .map(|a| parse_comp128(&a).map(|version| Auth2gInfo { version }))
        .transpose()?;
    let auth_3g = match algo_3g {
        None => None,
        Some(algo) => {
            let algorithm = match algo.as_str() {
                "milenage" => "milenage",
                "tuak" => "tuak",
                other => return Err(StoreError::Corrupt(format!("3G algorithm {other:?}"))),
            };
            let op_is_opc: bool = row.get(19)?;
            let k_len: i64 = row.get(20)?;
            let amf: Vec<u8> = row.get(21)?;
            let tuak = if algorithm == "tuak" {
                Some(tuak_params_from(
                    row.get(23)?,
                    row.get(24)?,
                    row.get(25)?,
                    row.get(26)?,
                    row.get(27)?,
                )?)
            } else {
                None
            };
            let seq_hwm: i64 = row.get(28)?;
            Some(Auth3gInfo {
                algorithm,
                op_kind: if op_is_opc { OpKind::Opc } else { OpKind::Op },
                k_len: usize::try_from(k_len - SEAL_OVERHEAD).unwrap_or(0),
                tuak,
                amf: amf_from_blob(&amf)?,
                ind_bitlen: row.get(22)?,
                seq_reserved: u64::try_from(seq_hwm).unwrap_or(0),
            })
        }
    };
    Ok(Subscriber {
        id: row.get(0)?,
        imsi: Imsi::new(&imsi)?,
        msisdn: msisdn.as_deref().map(Msisdn::new).transpose()?,
        name: row.get(3)?,
        address: row.get(4)?,
        enabled: row.get(5)?,
        nam_cs: row.get(6)?,
        nam_ps: row.get(7)?,
        vlr_number: row.get(8)?,
        sgsn_number: row.get(9)?,
        last_lu_cs: row.get(10)?,
        last_lu_ps: row.get(11)?,
        purged_cs: row.get(12)?,
        purged_ps: row.get(13)?,
        imei: row.get(14)?,
        created_at: row.get(15)?,
        updated_at: row.get(16)?,
        auth_2g,
        auth_3g,
    })
}

/// Open one sealed secret, mapping a failure to [`StoreError::SecretCorrupt`].
fn open_secret(
    kek: &Kek,
    imsi: &Imsi,
    column: &'static str,
    blob: &[u8],
) -> Result<SecretBytes, StoreError> {
    match crypto::open(kek, imsi.as_str(), column, blob) {
        Ok(mut plain) => Ok(SecretBytes::new(core::mem::take(&mut *plain))),
        Err(CryptoError::Authentication | CryptoError::Malformed) => {
            tracing::error!(imsi = %imsi, column, "sealed secret failed authentication");
            Err(StoreError::SecretCorrupt {
                imsi: imsi.clone(),
                column,
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// One subscriber's decrypted authentication data with its row state.
struct SecretsRow {
    stamp: AuthStamp,
    secrets: SubscriberSecrets,
    /// The 3G data revision, when there is 3G data.
    rev: Option<i64>,
}

/// Read and open one subscriber's secrets.
///
/// Three single-table lookups rather than one LEFT JOIN: SQLite marks a
/// LEFT JOIN statement for re-preparation whenever its bindings are cleared,
/// which rusqlite's statement cache does on every return; re-parsing cost
/// more than the rest of the AuC path together. The three run in one read
/// transaction, so the stamp describes exactly the secrets read.
fn read_secrets(
    conn: &Connection,
    kek: &Kek,
    imsi: &Imsi,
) -> Result<Option<SecretsRow>, StoreError> {
    // Deferred: a read snapshot, no lock taken. Dropped without commit it
    // rolls back, which for reads only ends the snapshot.
    let tx = conn.unchecked_transaction()?;
    let Some(stamp) = read_stamp(&tx, imsi)? else {
        return Ok(None);
    };
    let id = stamp.id;
    let row_2g: Option<(String, Zeroizing<Vec<u8>>)> = conn
        .prepare_cached("SELECT algo, ki FROM auc_2g WHERE subscriber_id = ?1")?
        .query_row(params![id], |r| Ok((r.get(0)?, Zeroizing::new(r.get(1)?))))
        .optional()?;
    let auth_2g = match row_2g {
        None => None,
        Some((algo, ki)) => {
            let ki = open_secret(kek, imsi, COL_KI, &ki)?;
            Some(Auth2g::new(parse_comp128(&algo)?, ki)?)
        }
    };
    let mut st = conn.prepare_cached(
        "SELECT algo, k, op, op_is_opc, amf, ind_bitlen, tuak_iterations, tuak_res_bits, \
         tuak_mac_bits, tuak_ck_bits, tuak_ik_bits, rev FROM auc_3g WHERE subscriber_id = ?1",
    )?;
    let mut rows = st.query(params![id])?;
    let (auth_3g, rev) = match rows.next()? {
        None => (None, None),
        Some(row) => {
            let algo: String = row.get(0)?;
            let k_blob: Vec<u8> = row.get(1)?;
            let op_blob: Vec<u8> = row.get(2)?;
            let k = open_secret(kek, imsi, COL_K, &k_blob)?;
            let op = open_secret(kek, imsi, COL_OP, &op_blob)?;
            let op_is_opc: bool = row.get(3)?;
            let op = if op_is_opc {
                OperatorKey::Opc(op)
            } else {
                OperatorKey::Op(op)
            };
            let amf: Vec<u8> = row.get(4)?;
            let algorithm = match algo.as_str() {
                "milenage" => Algorithm3g::milenage(k, op)?,
                "tuak" => Algorithm3g::tuak(
                    k,
                    op,
                    tuak_params_from(
                        row.get(6)?,
                        row.get(7)?,
                        row.get(8)?,
                        row.get(9)?,
                        row.get(10)?,
                    )?,
                )?,
                other => return Err(StoreError::Corrupt(format!("3G algorithm {other:?}"))),
            };
            let auth = Auth3g {
                algorithm,
                amf: amf_from_blob(&amf)?,
                ind_bitlen: row.get(5)?,
            };
            auth.validate()?;
            (Some(auth), Some(row.get::<_, i64>(11)?))
        }
    };
    drop(rows);
    drop(st);
    tx.commit()?;
    Ok(Some(SecretsRow {
        stamp,
        secrets: SubscriberSecrets { auth_2g, auth_3g },
        rev,
    }))
}

/// The [`AuthStamp`] of `imsi`: one lookup in the IMSI index.
fn read_stamp(conn: &Connection, imsi: &Imsi) -> Result<Option<AuthStamp>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id, enabled, auth_rev FROM subscriber WHERE imsi = ?1")?
        .query_row(params![imsi.as_str()], |r| {
            Ok(AuthStamp {
                id: r.get(0)?,
                enabled: r.get(1)?,
                auth_rev: r.get(2)?,
            })
        })
        .optional()?)
}

/// Check the 3G data and SQN of a new subscriber; returns the SEQ high-water.
fn initial_seq(new: &NewSubscriber) -> Result<u64, StoreError> {
    if new.sqn > SQN_MAX {
        return Err(ModelError::Sqn(new.sqn).into());
    }
    match &new.auth_3g {
        Some(a) => {
            a.validate()?;
            Ok(new.sqn >> a.ind_bitlen)
        }
        None if new.sqn != 0 => Err(StoreError::No3gData(new.imsi.clone())),
        None => Ok(0),
    }
}

fn write_auth_2g(
    conn: &Connection,
    kek: &Kek,
    id: i64,
    imsi: &Imsi,
    auth: &Auth2g,
) -> Result<(), StoreError> {
    let ki = crypto::seal(kek, imsi.as_str(), COL_KI, auth.ki().expose())?;
    conn.prepare_cached(
        "INSERT INTO auc_2g (subscriber_id, algo, ki) VALUES (?1, ?2, ?3) \
         ON CONFLICT (subscriber_id) DO UPDATE SET algo = excluded.algo, ki = excluded.ki",
    )?
    .execute(params![id, auth.version.name(), ki])?;
    Ok(())
}

/// Insert or replace 3G data with SEQ high-water mark `seq_hwm`.
fn write_auth_3g(
    conn: &Connection,
    kek: &Kek,
    id: i64,
    imsi: &Imsi,
    auth: &Auth3g,
    seq_hwm: u64,
) -> Result<(), StoreError> {
    auth.validate()?;
    let k = crypto::seal(kek, imsi.as_str(), COL_K, auth.algorithm.k().expose())?;
    let opk = auth.algorithm.operator_key();
    let op = crypto::seal(kek, imsi.as_str(), COL_OP, opk.bytes().expose())?;
    let tuak = match &auth.algorithm {
        Algorithm3g::Tuak { params, .. } => Some(*params),
        Algorithm3g::Milenage { .. } => None,
    };
    let seq_hwm = i64::try_from(seq_hwm).map_err(|_| ModelError::Sqn(seq_hwm))?;
    conn.prepare_cached(
        "INSERT INTO auc_3g (subscriber_id, algo, k, op, op_is_opc, amf, ind_bitlen, \
           tuak_iterations, tuak_res_bits, tuak_mac_bits, tuak_ck_bits, tuak_ik_bits, seq_hwm) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
         ON CONFLICT (subscriber_id) DO UPDATE SET algo = excluded.algo, k = excluded.k, \
           op = excluded.op, op_is_opc = excluded.op_is_opc, amf = excluded.amf, \
           ind_bitlen = excluded.ind_bitlen, tuak_iterations = excluded.tuak_iterations, \
           tuak_res_bits = excluded.tuak_res_bits, tuak_mac_bits = excluded.tuak_mac_bits, \
           tuak_ck_bits = excluded.tuak_ck_bits, tuak_ik_bits = excluded.tuak_ik_bits, \
           seq_hwm = excluded.seq_hwm, rev = auc_3g.rev + 1",
    )?
    .execute(params![
        id,
        auth.algorithm.name(),
        k,
        op,
        opk.is_opc(),
        auth.amf.as_slice(),
        auth.ind_bitlen,
        tuak.map(|t| t.iterations),
        tuak.map(|t| t.res_bits),
        tuak.map(|t| t.mac_bits),
        tuak.map(|t| t.ck_bits),
        tuak.map(|t| t.ik_bits),
        seq_hwm,
    ])?;
    Ok(())
}

/// Insert a subscriber using `conn` (a connection or an open transaction).
pub(crate) fn insert_subscriber(
    conn: &Connection,
    kek: &Kek,
    new: &NewSubscriber,
) -> Result<i64, StoreError> {
    let seq_hwm = initial_seq(new)?;
    let res = conn
        .prepare_cached(
            "INSERT INTO subscriber (imsi, msisdn, name, address, enabled, nam_cs, nam_ps) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            new.imsi.as_str(),
            new.msisdn.as_ref().map(Msisdn::as_str),
            new.name,
            new.address,
            new.enabled,
            new.nam_cs,
            new.nam_ps,
        ]);
    match res {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e, "subscriber.imsi") => {
            return Err(StoreError::ImsiExists(new.imsi.clone()));
        }
        Err(e) if is_unique_violation(&e, "subscriber.msisdn") => {
            let m = new.msisdn.clone();
            return Err(m.map_or(e.into(), StoreError::MsisdnExists));
        }
        Err(e) => return Err(e.into()),
    }
    let id = conn.last_insert_rowid();
    if let Some(a) = &new.auth_2g {
        write_auth_2g(conn, kek, id, &new.imsi, a)?;
    }
    if let Some(a) = &new.auth_3g {
        write_auth_3g(conn, kek, id, &new.imsi, a, seq_hwm)?;
    }
    Ok(id)
}

impl Store {
    /// Open (creating if missing) the database at `path`, migrate it, and
    /// check `kek` against its check value (writing one into a new store).
    pub fn open(path: impl AsRef<Path>, kek: Kek) -> Result<Store, StoreError> {
        let conn = Connection::open(path.as_ref())?;
        Store::setup(conn, kek)
    }

    /// Open `dir/hlr.sqlite`, creating the directory if needed.
    pub fn open_data_dir(dir: impl AsRef<Path>, kek: Kek) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir.as_ref())?;
        Store::open(dir.as_ref().join(DB_FILE_NAME), kek)
    }

    /// A private in-memory store (tests, benchmarks).
    pub fn open_in_memory(kek: Kek) -> Result<Store, StoreError> {
        Store::setup(Connection::open_in_memory()?, kek)
    }

    fn setup(mut conn: Connection, kek: Kek) -> Result<Store, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // WAL: readers (the CLI) do not block the HLR's writers. In-memory
        // databases answer "memory", which is fine.
        let _mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        // FULL: a commit (an SQN lease) is on disk before it returns, also
        // across power loss, not only process crashes.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        migrations::migrate(&mut conn)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let check: Option<Vec<u8>> = tx
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                params![META_KEK_CHECK],
                |r| r.get(0),
            )
            .optional()?;
        match check {
            Some(check) => {
                if let Err(e) = crypto::verify_check_value(&kek, &check) {
                    tracing::error!(error = %e, "HLR store refused the KEK");
                    return Err(e.into());
                }
            }
            None => {
                let check = crypto::make_check_value(&kek)?;
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                    params![META_KEK_CHECK, check],
                )?;
            }
        }
        tx.commit()?;
        Ok(Store {
            conn,
            kek,
            local_changes: 0,
        })
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(migrations::schema_version(&self.conn)?)
    }

    /// The connection and KEK together, for multi-row transactions.
    /// Counted as a provisioning write (see [`ChangeMarker`]).
    pub(crate) fn parts(&mut self) -> (&mut Connection, &Kek) {
        self.local_changes += 1;
        (&mut self.conn, &self.kek)
    }

    /// Where the store's change history stands for this handle: compare two
    /// markers to learn whether anything may have changed in between (one
    /// `PRAGMA data_version`, no table read).
    pub(crate) fn change_marker(&self) -> Result<ChangeMarker, StoreError> {
        let data_version = self
            .conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        Ok(ChangeMarker {
            data_version,
            local: self.local_changes,
        })
    }

    /// The current [`AuthStamp`] of `imsi`; `None` when there is no such
    /// subscriber.
    pub(crate) fn auth_stamp(&self, imsi: &Imsi) -> Result<Option<AuthStamp>, StoreError> {
        read_stamp(&self.conn, imsi)
    }

    /// The SEQ high-water mark of subscriber row `id` (for logs), if it has
    /// 3G data.
    pub(crate) fn seq_reserved(&self, id: i64) -> Result<Option<u64>, StoreError> {
        let hwm: Option<i64> = self
            .conn
            .prepare_cached("SELECT seq_hwm FROM auc_3g WHERE subscriber_id = ?1")?
            .query_row(params![id], |r| r.get(0))
            .optional()?;
        Ok(hwm.map(|h| u64::try_from(h).unwrap_or(0)))
    }

    /// Sets the SEQ high-water mark of subscriber row `id` to `seq` even
    /// when that is lower: the resynchronisation of TS 33.102 §6.3.5 step 5
    /// after an authenticated AUTS. The caller drops its lease.
    pub(crate) fn rewind_seq(&mut self, id: i64, seq: u64) -> Result<(), StoreError> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        self.conn
            .prepare_cached("UPDATE auc_3g SET seq_hwm = ?2 WHERE subscriber_id = ?1")?
            .execute(params![id, seq])?;
        Ok(())
    }

    /// Add a subscriber; returns its id.
    pub fn add_subscriber(&mut self, new: &NewSubscriber) -> Result<i64, StoreError> {
        self.local_changes += 1;
        let tx = self.conn.transaction()?;
        let id = insert_subscriber(&tx, &self.kek, new)?;
        tx.commit()?;
        tracing::info!(imsi = %new.imsi, id, "subscriber added");
        Ok(id)
    }

    /// Apply `update` to the subscriber `imsi`, all or nothing.
    pub fn update_subscriber(
        &mut self,
        imsi: &Imsi,
        update: &SubscriberUpdate,
    ) -> Result<(), StoreError> {
        self.local_changes += 1;
        let tx = self.conn.transaction()?;
        let id: i64 = tx
            .query_row(
                "SELECT id FROM subscriber WHERE imsi = ?1",
                params![imsi.as_str()],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(imsi.clone()))?;
        let mut sets: Vec<(&str, Box<dyn rusqlite::ToSql>)> = Vec::new();
        if let Some(m) = &update.msisdn {
            sets.push((
                "msisdn",
                Box::new(m.as_ref().map(|m| m.as_str().to_owned())),
            ));
        }
        if let Some(v) = &update.name {
            sets.push(("name", Box::new(v.clone())));
        }
        if let Some(v) = &update.address {
            sets.push(("address", Box::new(v.clone())));
        }
        for (col, v) in [
            ("enabled", update.enabled),
            ("nam_cs", update.nam_cs),
            ("nam_ps", update.nam_ps),
        ] {
            if let Some(v) = v {
                sets.push((col, Box::new(v)));
            }
        }
        let mut sql = String::from("UPDATE subscriber SET updated_at = unixepoch()");
        for (i, (col, _)) in sets.iter().enumerate() {
            sql.push_str(&format!(", {col} = ?{}", i + 2));
        }
        sql.push_str(" WHERE id = ?1");
        let mut values: Vec<&dyn rusqlite::ToSql> = vec![&id];
        values.extend(sets.iter().map(|(_, v)| v.as_ref()));
        match tx.execute(&sql, values.as_slice()) {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e, "subscriber.msisdn") => {
                let m = update.msisdn.clone().flatten();
                return Err(m.map_or(e.into(), StoreError::MsisdnExists));
            }
            Err(e) => return Err(e.into()),
        }
        match &update.auth_2g {
            Some(Some(a)) => write_auth_2g(&tx, &self.kek, id, imsi, a)?,
            Some(None) => {
                tx.execute("DELETE FROM auc_2g WHERE subscriber_id = ?1", params![id])?;
            }
            None => {}
        }
        let new_keys = matches!(update.auth_3g, Some(Some(_)));
        match &update.auth_3g {
            Some(Some(a)) => {
                a.validate()?;
                let seq_hwm = match update.sqn {
                    // New 3G data with an SQN: a new card, set as given.
                    Some(sqn) if sqn > SQN_MAX => return Err(ModelError::Sqn(sqn).into()),
                    Some(sqn) => sqn >> a.ind_bitlen,
                    // Without: keep the SQN state (the keys may be the same),
                    // re-expressed for a possibly different IND length.
                    None => {
                        let old: Option<(i64, u8)> = tx
                            .query_row(
                                "SELECT seq_hwm, ind_bitlen FROM auc_3g WHERE subscriber_id = ?1",
                                params![id],
                                |r| Ok((r.get(0)?, r.get(1)?)),
                            )
                            .optional()?;
                        match old {
                            Some((hwm, old_bits)) => {
                                let hwm = u64::try_from(hwm).unwrap_or(0);
                                let top_sqn =
                                    ((hwm + 1) << old_bits).saturating_sub(1).min(SQN_MAX);
                                top_sqn >> a.ind_bitlen
                            }
                            None => 0,
                        }
                    }
                };
                write_auth_3g(&tx, &self.kek, id, imsi, a, seq_hwm)?;
            }
            Some(None) => {
                tx.execute("DELETE FROM auc_3g WHERE subscriber_id = ?1", params![id])?;
            }
            None => {}
        }
        if update.amf.is_some() || (update.sqn.is_some() && !new_keys) {
            let ind_bitlen: u8 = tx
                .query_row(
                    "SELECT ind_bitlen FROM auc_3g WHERE subscriber_id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or_else(|| StoreError::No3gData(imsi.clone()))?;
            if let Some(amf) = update.amf {
                tx.execute(
                    "UPDATE auc_3g SET amf = ?2, rev = rev + 1 WHERE subscriber_id = ?1",
                    params![id, amf.as_slice()],
                )?;
            }
            if let (Some(sqn), false) = (update.sqn, new_keys) {
                if sqn > SQN_MAX {
                    return Err(ModelError::Sqn(sqn).into());
                }
                // Forward only: a lower SEQ could be issued a second time.
                let seq = (sqn >> ind_bitlen) as i64;
                tx.execute(
                    "UPDATE auc_3g SET seq_hwm = MAX(seq_hwm, ?2), rev = rev + 1 \
                     WHERE subscriber_id = ?1",
                    params![id, seq],
                )?;
            }
        }
        tx.commit()?;
        tracing::info!(imsi = %imsi, "subscriber updated");
        Ok(())
    }

    /// Delete the subscriber `imsi` and its authentication data.
    pub fn delete_subscriber(&mut self, imsi: &Imsi) -> Result<(), StoreError> {
        self.local_changes += 1;
        let n = self.conn.execute(
            "DELETE FROM subscriber WHERE imsi = ?1",
            params![imsi.as_str()],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(imsi.clone()));
        }
        tracing::info!(imsi = %imsi, "subscriber deleted");
        Ok(())
    }

    /// The subscriber `imsi`, without secrets.
    pub fn subscriber(&self, imsi: &Imsi) -> Result<Option<Subscriber>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(&format!("{SUBSCRIBER_SELECT} WHERE s.imsi = ?1"))?;
        let mut rows = st.query(params![imsi.as_str()])?;
        rows.next()?.map(subscriber_from_row).transpose()
    }

    /// The subscriber with MSISDN `msisdn`, without secrets.
    pub fn subscriber_by_msisdn(&self, msisdn: &Msisdn) -> Result<Option<Subscriber>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(&format!("{SUBSCRIBER_SELECT} WHERE s.msisdn = ?1"))?;
        let mut rows = st.query(params![msisdn.as_str()])?;
        rows.next()?.map(subscriber_from_row).transpose()
    }

    /// Subscribers in id order, without secrets: at most `limit` starting
    /// after the first `offset`.
    pub fn list_subscribers(&self, offset: u64, limit: u64) -> Result<Vec<Subscriber>, StoreError> {
        let mut st = self.conn.prepare_cached(&format!(
            "{SUBSCRIBER_SELECT} ORDER BY s.id LIMIT ?1 OFFSET ?2"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let mut rows = st.query(params![limit, offset])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(subscriber_from_row(row)?);
        }
        Ok(out)
    }

    /// Number of subscribers.
    pub fn subscriber_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM subscriber", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The secrets of subscriber `imsi`, decrypted. Only for an explicit
    /// operator request (`show --secrets`, export); logged.
    pub fn subscriber_secrets(&self, imsi: &Imsi) -> Result<Option<SubscriberSecrets>, StoreError> {
        tracing::warn!(imsi = %imsi, "subscriber secrets disclosed on request");
        Ok(read_secrets(&self.conn, &self.kek, imsi)?.map(|row| row.secrets))
    }

    /// What the AuC needs for one subscriber.
    pub(crate) fn auth_record(&self, imsi: &Imsi) -> Result<Option<AuthRecord>, StoreError> {
        Ok(
            read_secrets(&self.conn, &self.kek, imsi)?.map(|row| AuthRecord {
                stamp: row.stamp,
                auth_2g: row.secrets.auth_2g,
                auth_3g: row.secrets.auth_3g.map(|auth| Auth3gState {
                    auth,
                    rev: row.rev.unwrap_or(0),
                }),
            }),
        )
    }

    /// Atomically reserve `count` SEQ values above both the stored
    /// high-water mark and `floor`, for subscriber row `id`, at most up to
    /// `seq_max`. Returns the new high-water mark `hwm`: the reserved values
    /// are `hwm − count + 1 ..= hwm`. The update is one autocommitted
    /// statement: it is durable before any of the values is issued, and two
    /// processes sharing the file never get overlapping leases.
    pub(crate) fn reserve_seq(
        &mut self,
        id: i64,
        imsi: &Imsi,
        floor: u64,
        count: u64,
        seq_max: u64,
    ) -> Result<u64, StoreError> {
        let floor = i64::try_from(floor).map_err(|_| StoreError::SqnExhausted(imsi.clone()))?;
        let count = i64::try_from(count).map_err(|_| StoreError::SqnExhausted(imsi.clone()))?;
        let seq_max = i64::try_from(seq_max).map_err(|_| StoreError::SqnExhausted(imsi.clone()))?;
        let hwm: Option<i64> = self
            .conn
            .prepare_cached(
                "UPDATE auc_3g SET seq_hwm = MAX(seq_hwm, ?2) + ?3 \
                 WHERE subscriber_id = ?1 AND MAX(seq_hwm, ?2) <= ?4 - ?3 \
                 RETURNING seq_hwm",
            )?
            .query_row(params![id, floor, count, seq_max], |r| r.get(0))
            .optional()?;
        match hwm {
            Some(h) => Ok(h as u64),
            None => {
                let exists: bool = self.conn.query_row(
                    "SELECT EXISTS (SELECT 1 FROM auc_3g WHERE subscriber_id = ?1)",
                    params![id],
                    |r| r.get(0),
                )?;
                Err(if exists {
                    StoreError::SqnExhausted(imsi.clone())
                } else {
                    StoreError::No3gData(imsi.clone())
                })
            }
        }
    }

    /// Location and access state of `imsi`.
    pub fn profile(&self, imsi: &Imsi) -> Result<Option<SubscriberProfile>, StoreError> {
        let row: Option<(i64, Option<String>, bool, bool, bool)> = self
            .conn
            .prepare_cached(
                "SELECT id, msisdn, enabled, nam_cs, nam_ps FROM subscriber WHERE imsi = ?1",
            )?
            .query_row(params![imsi.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?;
        row.map(|(id, msisdn, enabled, nam_cs, nam_ps)| {
            Ok(SubscriberProfile {
                id,
                msisdn: msisdn.as_deref().map(Msisdn::new).transpose()?,
                enabled,
                nam_cs,
                nam_ps,
            })
        })
        .transpose()
    }

    /// Record a location update: the serving VLR (CS) or SGSN (PS) by its
    /// GSUP name, the time, and clear the domain's MS-purged flag
    /// (TS 23.012 §3.6.1.4: purged until the next location update).
    /// Returns false when the IMSI is unknown.
    pub fn record_location_update(
        &mut self,
        imsi: &Imsi,
        domain: CnDomain,
        peer: &str,
    ) -> Result<bool, StoreError> {
        let sql = match domain {
            CnDomain::Cs => {
                "UPDATE subscriber SET vlr_number = ?2, last_lu_cs = unixepoch(), purged_cs = 0 \
                 WHERE imsi = ?1"
            }
            CnDomain::Ps => {
                "UPDATE subscriber SET sgsn_number = ?2, last_lu_ps = unixepoch(), purged_ps = 0 \
                 WHERE imsi = ?1"
            }
        };
        let n = self
            .conn
            .prepare_cached(sql)?
            .execute(params![imsi.as_str(), peer])?;
        Ok(n == 1)
    }

    /// Mark the MS purged in `domain` (TS 23.012 §3.6.1.4). Returns false
    /// when the IMSI is unknown.
    pub fn purge(&mut self, imsi: &Imsi, domain: CnDomain) -> Result<bool, StoreError> {
        let sql = match domain {
            CnDomain::Cs => "UPDATE subscriber SET purged_cs = 1 WHERE imsi = ?1",
            CnDomain::Ps => "UPDATE subscriber SET purged_ps = 1 WHERE imsi = ?1",
        };
        let n = self
            .conn
            .prepare_cached(sql)?
            .execute(params![imsi.as_str()])?;
        Ok(n == 1)
    }

    /// Store the IMEI reported by Check IMEI. Returns false when the IMSI is
    /// unknown.
    pub fn set_imei(&mut self, imsi: &Imsi, imei: &str) -> Result<bool, StoreError> {
        let n = self
            .conn
            .prepare_cached("UPDATE subscriber SET imei = ?2 WHERE imsi = ?1")?
            .execute(params![imsi.as_str(), imei])?;
        Ok(n == 1)
    }

    /// The IND number of GSUP peer `peer` (its IPA unit name), allocated on
    /// first use and kept across restarts, as osmo-hlr's `ind` table: each
    /// VLR/SGSN then uses its own IND slot in the USIM's SQN array
    /// (TS 33.102 Annex C.3.2), so vectors fetched by one VLR do not make
    /// another's fail. The AuC reduces it modulo 2^ind_bitlen.
    pub fn ind_for_peer(&mut self, peer: &str) -> Result<u32, StoreError> {
        self.conn
            .prepare_cached("INSERT OR IGNORE INTO ind (peer) VALUES (?1)")?
            .execute(params![peer])?;
        let ind: i64 = self
            .conn
            .prepare_cached("SELECT ind FROM ind WHERE peer = ?1")?
            .query_row(params![peer], |r| r.get(0))?;
        u32::try_from(ind).map_err(|_| StoreError::Corrupt(format!("IND {ind} out of range")))
    }

    /// Re-encrypt every secret under `new_kek` and replace the check value,
    /// in one transaction; afterwards the store uses `new_kek`. Returns the
    /// number of secrets re-encrypted.
    pub fn rotate_kek(&mut self, new_kek: Kek) -> Result<u64, StoreError> {
        self.local_changes += 1;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut count = 0u64;
        {
            let mut rows = Vec::new();
            let mut st = tx.prepare(
                "SELECT s.imsi, a.subscriber_id, a.ki FROM auc_2g a \
                 JOIN subscriber s ON s.id = a.subscriber_id",
            )?;
            let mut q = st.query([])?;
            while let Some(r) = q.next()? {
                rows.push((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ));
            }
            for (imsi, id, ki) in rows {
                let imsi = Imsi::new(&imsi)?;
                let plain = open_secret(&self.kek, &imsi, COL_KI, &ki)?;
                let sealed = crypto::seal(&new_kek, imsi.as_str(), COL_KI, plain.expose())?;
                tx.execute(
                    "UPDATE auc_2g SET ki = ?2 WHERE subscriber_id = ?1",
                    params![id, sealed],
                )?;
                count += 1;
            }
            let mut rows = Vec::new();
            let mut st = tx.prepare(
                "SELECT s.imsi, a.subscriber_id, a.k, a.op FROM auc_3g a \
                 JOIN subscriber s ON s.id = a.subscriber_id",
            )?;
            let mut q = st.query([])?;
            while let Some(r) = q.next()? {
                rows.push((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ));
            }
            for (imsi, id, k, op) in rows {
                let imsi = Imsi::new(&imsi)?;
                let k = open_secret(&self.kek, &imsi, COL_K, &k)?;
                let op = open_secret(&self.kek, &imsi, COL_OP, &op)?;
                let k = crypto::seal(&new_kek, imsi.as_str(), COL_K, k.expose())?;
                let op = crypto::seal(&new_kek, imsi.as_str(), COL_OP, op.expose())?;
                tx.execute(
                    "UPDATE auc_3g SET k = ?2, op = ?3 WHERE subscriber_id = ?1",
                    params![id, k, op],
                )?;
                count += 2;
            }
        }
        let check = crypto::make_check_value(&new_kek)?;
        tx.execute(
            "UPDATE meta SET value = ?2 WHERE key = ?1",
            params![META_KEK_CHECK, check],
        )?;
        tx.commit()?;
        self.kek = new_kek;
        tracing::info!(secrets = count, "KEK rotated");
        Ok(count)
    }
}
