//! Schema migrations: numbered SQL steps, the schema version kept in SQLite's
//! `PRAGMA user_version`.
//!
//! Step *n* brings the schema from version *n − 1* to *n*. Each step runs in
//! its own transaction together with the `user_version` update, so a crash
//! leaves the database at a whole version, and running the migrations again
//! applies only the steps not yet applied. A database whose version is newer
//! than this code knows is refused rather than misread.

use rusqlite::{Connection, TransactionBehavior};

/// The migration steps, in order; `STEPS[i]` makes version `i + 1`.
const STEPS: &[&str] = &[
    // 1: subscribers, authentication data (secrets sealed, see crypto.rs),
    //    IND pool per peer, meta (KEK check value).
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE subscriber (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    imsi        TEXT NOT NULL UNIQUE
                CHECK (length(imsi) BETWEEN 5 AND 15 AND imsi NOT GLOB '*[^0-9]*'),
    msisdn      TEXT UNIQUE
                CHECK (msisdn IS NULL OR (length(msisdn) BETWEEN 1 AND 15
                                          AND msisdn NOT GLOB '*[^0-9]*')),
    name        TEXT NOT NULL DEFAULT '',
    address     TEXT NOT NULL DEFAULT '',
    enabled     INTEGER NOT NULL DEFAULT 1,
    nam_cs      INTEGER NOT NULL DEFAULT 1,
    nam_ps      INTEGER NOT NULL DEFAULT 1,
    vlr_number  TEXT,
    sgsn_number TEXT,
    last_lu_cs  INTEGER,
    last_lu_ps  INTEGER,
    purged_cs   INTEGER NOT NULL DEFAULT 0,
    purged_ps   INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at  INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE TABLE auc_2g (
    subscriber_id INTEGER PRIMARY KEY REFERENCES subscriber(id) ON DELETE CASCADE,
    algo          TEXT NOT NULL CHECK (algo IN ('comp128v1', 'comp128v2', 'comp128v3')),
    ki            BLOB NOT NULL
);
CREATE TABLE auc_3g (
    subscriber_id   INTEGER PRIMARY KEY REFERENCES subscriber(id) ON DELETE CASCADE,
    algo            TEXT NOT NULL CHECK (algo IN ('milenage', 'tuak')),
    k               BLOB NOT NULL,
    op              BLOB NOT NULL,
    op_is_opc       INTEGER NOT NULL,
    amf             BLOB NOT NULL CHECK (length(amf) = 2),
    ind_bitlen      INTEGER NOT NULL DEFAULT 5 CHECK (ind_bitlen BETWEEN 0 AND 10),
    tuak_iterations INTEGER,
    tuak_res_bits   INTEGER,
    tuak_mac_bits   INTEGER,
    tuak_ck_bits    INTEGER,
    tuak_ik_bits    INTEGER,
    seq_hwm         INTEGER NOT NULL DEFAULT 0 CHECK (seq_hwm >= 0),
    rev             INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE ind (
    ind  INTEGER PRIMARY KEY,
    peer TEXT NOT NULL UNIQUE
);
"#,
    // 2: the IMEI last reported through Check IMEI (TS 23.008 §2.1.9).
    r#"
ALTER TABLE subscriber ADD COLUMN imei TEXT;
"#,
    // 3: subscriber.auth_rev, raised by triggers on every change of what the
    //    AuC uses (enabled, 2G and 3G data, but not the SQN high-water mark
    //    that every lease moves), by any writer, this process or another
    //    one or a hand edit: the AuC's cache of prepared keys compares it to
    //    tell whether an entry is still current (see auc_cache.rs).
    r#"
ALTER TABLE subscriber ADD COLUMN auth_rev INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER subscriber_auth_rev AFTER UPDATE OF id, imsi, enabled ON subscriber
BEGIN UPDATE subscriber SET auth_rev = auth_rev + 1 WHERE id = NEW.id; END;
CREATE TRIGGER auc_2g_insert_rev AFTER INSERT ON auc_2g
BEGIN UPDATE subscriber SET auth_rev = auth_rev + 1 WHERE id = NEW.subscriber_id; END;
CREATE TRIGGER auc_2g_update_rev AFTER UPDATE ON auc_2g
BEGIN
  UPDATE subscriber SET auth_rev = auth_rev + 1 WHERE id IN (OLD.subscriber_id, NEW.subscriber_id);
END;
CREATE TRIGGER auc_2g_delete_rev AFTER DELETE ON auc_2g
BEGIN UPDATE subscriber SET auth_rev = auth_rev + 1 WHERE id = OLD.subscriber_id; END;
CREATE TRIGGER auc_3g_insert_rev AFTER INSERT ON auc_3g
BEGIN UPDATE subscriber SET auth_rev = auth_rev + 1 WHERE id = NEW.subscriber_id; END;
CREATE TRIGGER auc_3g_update_rev AFTER UPDATE OF subscriber_id, algo, k, op, op_is_opc, amf,
    ind_bitlen, tuak_iterations, tuak_res_bits, tuak_mac_bits, tuak_ck_bits, tuak_ik_bits, rev
    ON auc_3g
BEGIN
  UPDATE subscriber SET auth_rev = auth_rev + 1 WHERE id IN (OLD.subscriber_id, NEW.subscriber_id);
END;
CREATE TRIGGER auc_3g_delete_rev AFTER DELETE ON auc_3g
BEGIN UPDATE subscriber SET auth_rev = auth_rev + 1 WHERE id = OLD.subscriber_id; END;
"#,
];

/// The schema version this code writes and understands.
pub const SCHEMA_VERSION: u32 = STEPS.len() as u32;

/// Errors while migrating.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrationError {
    /// The database has a schema newer than this program.
    #[error("database schema version {found} is newer than supported {supported}")]
    TooNew {
        /// The version found.
        found: u32,
        /// The newest version this code knows.
        supported: u32,
    },
    /// SQLite failed while applying a step.
    #[error("migration to schema version {step} failed: {source}")]
    Step {
        /// The version the failing step makes.
        step: u32,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// SQLite failed reading the version.
    #[error("reading schema version: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The database's schema version.
pub fn schema_version(conn: &Connection) -> Result<u32, rusqlite::Error> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Apply every step above the database's version. Returns how many steps
/// ran (0 when already current).
pub fn migrate(conn: &mut Connection) -> Result<u32, MigrationError> {
    let mut ran = 0;
    loop {
        // Read the version inside an immediate (write-locked) transaction, so
        // that two processes opening the same new file do not both run a step.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = schema_version(&tx)?;
        if current > SCHEMA_VERSION {
            return Err(MigrationError::TooNew {
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        if current == SCHEMA_VERSION {
            tx.commit()?;
            return Ok(ran);
        }
        let step = current + 1;
        let sql = STEPS[current as usize];
        tx.execute_batch(sql)
            .and_then(|()| tx.pragma_update(None, "user_version", step))
            .and_then(|()| tx.commit())
            .map_err(|source| MigrationError::Step { step, source })?;
        tracing::info!(version = step, "HLR database schema migrated");
        ran += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_empty_then_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(schema_version(&conn).unwrap(), 0);
        assert_eq!(migrate(&mut conn).unwrap(), SCHEMA_VERSION);
        assert_eq!(schema_version(&conn).unwrap(), SCHEMA_VERSION);
        assert_eq!(migrate(&mut conn).unwrap(), 0);
        assert_eq!(schema_version(&conn).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn step_by_step_equals_all_at_once() {
        // Apply step 1 alone, then migrate the rest: same schema as from empty.
        let mut a = Connection::open_in_memory().unwrap();
        a.execute_batch(STEPS[0]).unwrap();
        a.pragma_update(None, "user_version", 1).unwrap();
        assert_eq!(migrate(&mut a).unwrap(), SCHEMA_VERSION - 1);
        let mut b = Connection::open_in_memory().unwrap();
        migrate(&mut b).unwrap();
        let schema = |c: &Connection| -> Vec<String> {
            let mut st = c
                .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
                .unwrap();
            st.query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(schema(&a), schema(&b));
    }

    #[test]
    fn too_new_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(MigrationError::TooNew { .. })
        ));
    }
}
