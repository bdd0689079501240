//! The subscriber store: migrations, secrets at rest, provisioning.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use common::*;
use rusqlite::Connection;
use telsec_hlr::migrations::SCHEMA_VERSION;
use telsec_hlr::model::{Auth3g, OpKind, SQN_MAX};
use telsec_hlr::{
    Algorithm3g, Comp128Version, CryptoError, Msisdn, OperatorKey, Store, StoreError,
    SubscriberUpdate,
};

const K: &str = "465b5ce8b199b49faa5f0a2ee238a6bc";
const OPC: &str = "cd63cb71954a9f4e48a5994e37a02baf";
const KI: &str = "eb215756028d60e3275e613320aec880";

#[test]
fn migrates_from_empty_file_and_reopens() {
    let dir = temp_dir("migrate");
    {
        let store = Store::open_data_dir(&dir, kek()).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    }
    let path = dir.join(telsec_hlr::store::DB_FILE_NAME);
    let conn = Connection::open(&path).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let v: u32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    drop(conn);
    // Reopening runs no step and keeps data.
    let mut store = Store::open_data_dir(&dir, kek()).unwrap();
    store
        .add_subscriber(&milenage_sub("001010000000001", K, OPC))
        .unwrap();
    drop(store);
    let store = Store::open_data_dir(&dir, kek()).unwrap();
    assert_eq!(store.subscriber_count().unwrap(), 1);
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
}

#[test]
fn newer_schema_is_refused() {
    let dir = temp_dir("too-new");
    let path = dir.join("hlr.sqlite");
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
            .unwrap();
    }
    let err = Store::open(&path, kek()).unwrap_err();
    assert!(
        matches!(err, StoreError::Migration(_)),
        "unexpected error {err:?}"
    );
}

#[test]
fn wrong_kek_is_detected_at_open() {
    let dir = temp_dir("wrong-kek");
    {
        let mut store = Store::open_data_dir(&dir, kek()).unwrap();
        store
            .add_subscriber(&milenage_sub("001010000000001", K, OPC))
            .unwrap();
    }
    let err = Store::open_data_dir(&dir, other_kek()).unwrap_err();
    assert!(
        matches!(err, StoreError::Crypto(CryptoError::WrongKek)),
        "unexpected error {err:?}"
    );
    assert!(err.to_string().contains("wrong KEK"));
    // The right one still works.
    assert!(Store::open_data_dir(&dir, kek()).is_ok());
}

#[test]
fn swapped_ciphertexts_fail_authentication() {
    let dir = temp_dir("swap");
    let path = dir.join("hlr.sqlite");
    {
        let mut store = Store::open(&path, kek()).unwrap();
        store
            .add_subscriber(&milenage_sub("001010000000001", K, OPC))
            .unwrap();
        store
            .add_subscriber(&milenage_sub(
                "001010000000002",
                "000102030405060708090a0b0c0d0e0f",
                "0f0e0d0c0b0a09080706050403020100",
            ))
            .unwrap();
        store
            .add_subscriber(&comp128_sub("001010000000003", Comp128Version::V1, KI))
            .unwrap();
    }
    let a = imsi("001010000000001");
    let b = imsi("001010000000002");
    // Swap K between the two 3G rows.
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "UPDATE auc_3g SET k = (SELECT k FROM auc_3g WHERE subscriber_id = 2) WHERE subscriber_id = 1;",
        )
        .unwrap();
    }
    let store = Store::open(&path, kek()).unwrap();
    match store.subscriber_secrets(&a) {
        Err(StoreError::SecretCorrupt { imsi, column }) => {
            assert_eq!(imsi, a);
            assert_eq!(column, "auc_3g.k");
        }
        other => panic!("expected SecretCorrupt, got {other:?}"),
    }
    assert!(store.subscriber_secrets(&b).is_ok());
    drop(store);
    // Move row 2's OP into its own K column: the column binding catches it.
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("UPDATE auc_3g SET k = op WHERE subscriber_id = 2;")
            .unwrap();
    }
    let store = Store::open(&path, kek()).unwrap();
    assert!(matches!(
        store.subscriber_secrets(&b),
        Err(StoreError::SecretCorrupt {
            column: "auc_3g.k",
            ..
        })
    ));
    drop(store);
    // A 2G Ki moved into a 3G OP column fails too.
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "UPDATE auc_3g SET op = (SELECT ki FROM auc_2g WHERE subscriber_id = 3) WHERE subscriber_id = 2;",
        )
        .unwrap();
    }
    let store = Store::open(&path, kek()).unwrap();
    assert!(matches!(
        store.subscriber_secrets(&b),
        Err(StoreError::SecretCorrupt { .. })
    ));
    // Flipping one bit of a Ki fails.
    drop(store);
    {
        let conn = Connection::open(&path).unwrap();
        let mut ki: Vec<u8> = conn
            .query_row("SELECT ki FROM auc_2g WHERE subscriber_id = 3", [], |r| {
                r.get(0)
            })
            .unwrap();
        let last = ki.len() - 1;
        ki[last] ^= 0x01;
        conn.execute("UPDATE auc_2g SET ki = ?1 WHERE subscriber_id = 3", [ki])
            .unwrap();
    }
    let store = Store::open(&path, kek()).unwrap();
    assert!(matches!(
        store.subscriber_secrets(&imsi("001010000000003")),
        Err(StoreError::SecretCorrupt {
            column: "auc_2g.ki",
            ..
        })
    ));
}

/// All bytes of the database directory (main file, WAL, shm).
fn dir_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        all.extend(std::fs::read(e.unwrap().path()).unwrap());
    }
    all
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn no_plaintext_secret_in_database_files() {
    let dir = temp_dir("plaintext");
    let k = "00112233445566778899aabbccddeeff";
    let opc = "ffeeddccbbaa99887766554433221100";
    let ki = "0123456789abcdeffedcba9876543210";
    let tuak_k = "abababababababababababababababababababababababababababababababab";
    let top = "5555555555555555555555555555555555555555555555555555555555555555";
    {
        let mut store = Store::open_data_dir(&dir, kek()).unwrap();
        let mut both = milenage_sub("001010000000001", k, opc);
        both.auth_2g = comp128_sub("001010000000001", Comp128Version::V3, ki).auth_2g;
        store.add_subscriber(&both).unwrap();
        store
            .add_subscriber(&tuak_sub(
                "001010000000002",
                tuak_k,
                top,
                Default::default(),
            ))
            .unwrap();
        // Leave the WAL un-checkpointed: the WAL file must be clean too.
        let bytes = dir_bytes(&dir);
        for secret in [k, opc, ki, tuak_k, top] {
            let raw = hex::decode(secret).unwrap();
            assert!(!contains(&bytes, &raw), "raw secret {secret} found");
            assert!(
                !contains(&bytes, secret.as_bytes()),
                "hex secret {secret} found"
            );
            assert!(
                !contains(&bytes, secret.to_uppercase().as_bytes()),
                "HEX secret {secret} found"
            );
        }
    }
    let bytes = dir_bytes(&dir);
    for secret in [k, opc, ki, tuak_k, top] {
        assert!(!contains(&bytes, &hex::decode(secret).unwrap()));
    }
}

#[test]
fn provisioning_round_trip() {
    let mut store = memory_store();
    let mut new = with_msisdn(milenage_sub("001010000000001", K, OPC), "4900001");
    new.name = "Alice".into();
    new.address = "1 Main St".into();
    new.auth_2g = comp128_sub("001010000000001", Comp128Version::V2, KI).auth_2g;
    if let Some(a) = &mut new.auth_3g {
        a.amf = [0x80, 0x00];
        a.ind_bitlen = 4;
    }
    new.sqn = 0x123456;
    let id = store.add_subscriber(&new).unwrap();
    assert!(id > 0);

    let s = store.subscriber(&new.imsi).unwrap().unwrap();
    assert_eq!(s.id, id);
    assert_eq!(s.msisdn.as_ref().map(Msisdn::as_str), Some("4900001"));
    assert_eq!(s.name, "Alice");
    assert_eq!(s.address, "1 Main St");
    assert!(s.enabled && s.nam_cs && s.nam_ps);
    assert_eq!(s.auth_2g.as_ref().unwrap().version, Comp128Version::V2);
    let a3 = s.auth_3g.as_ref().unwrap();
    assert_eq!(a3.algorithm, "milenage");
    assert_eq!(a3.op_kind, OpKind::Opc);
    assert_eq!(a3.k_len, 16);
    assert_eq!(a3.amf, [0x80, 0x00]);
    assert_eq!(a3.ind_bitlen, 4);
    assert_eq!(a3.seq_reserved, 0x123456 >> 4);
    assert!(s.vlr_number.is_none() && !s.purged_cs && !s.purged_ps);
    // `show` has no secrets: Debug output holds none of them.
    let shown = format!("{s:?}");
    assert!(!shown.contains(K) && !shown.contains(OPC) && !shown.contains(KI));
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["imsi"], "001010000000001");
    assert_eq!(json["auth_2g"]["algorithm"], "comp128v2");
    assert_eq!(json["auth_3g"]["amf"], "8000");
    assert_eq!(json["auth_3g"]["op_kind"], "opc");
    let text = json.to_string();
    assert!(!text.contains(K) && !text.contains(OPC) && !text.contains(KI));

    // Secrets only on explicit request, and equal to what was given.
    let secrets = store.subscriber_secrets(&new.imsi).unwrap().unwrap();
    assert_eq!(secrets.auth_2g, new.auth_2g);
    assert_eq!(secrets.auth_3g, new.auth_3g);
    assert!(!format!("{secrets:?}").contains(K));

    // By MSISDN, list, count.
    let by_msisdn = store
        .subscriber_by_msisdn(&Msisdn::new("4900001").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(by_msisdn, s);
    store
        .add_subscriber(&comp128_sub("001010000000002", Comp128Version::V1, KI))
        .unwrap();
    assert_eq!(store.subscriber_count().unwrap(), 2);
    let list = store.list_subscribers(0, 10).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].imsi, new.imsi);
    assert_eq!(store.list_subscribers(1, 10).unwrap().len(), 1);
    assert_eq!(store.list_subscribers(0, 1).unwrap().len(), 1);

    // Update: name, MSISDN cleared, NAM, disable.
    let upd = SubscriberUpdate {
        name: Some("Alice B".into()),
        msisdn: Some(None),
        nam_ps: Some(false),
        enabled: Some(false),
        ..Default::default()
    };
    store.update_subscriber(&new.imsi, &upd).unwrap();
    let s2 = store.subscriber(&new.imsi).unwrap().unwrap();
    assert_eq!(s2.name, "Alice B");
    assert_eq!(s2.msisdn, None);
    assert!(!s2.nam_ps && s2.nam_cs && !s2.enabled);
    assert_eq!(s2.address, "1 Main St");
    assert_eq!(s2.auth_3g, s.auth_3g);

    // Replace 3G keys with OP (not OPc), remove 2G.
    let new_3g = Auth3g::new(
        Algorithm3g::milenage(
            secret("000102030405060708090a0b0c0d0e0f"),
            OperatorKey::Op(secret("cdc202d5123e20f62b6d676ac72cb318")),
        )
        .unwrap(),
    );
    store
        .update_subscriber(
            &new.imsi,
            &SubscriberUpdate {
                auth_3g: Some(Some(new_3g.clone())),
                auth_2g: Some(None),
                ..Default::default()
            },
        )
        .unwrap();
    let s3 = store.subscriber(&new.imsi).unwrap().unwrap();
    assert!(s3.auth_2g.is_none());
    assert_eq!(s3.auth_3g.as_ref().unwrap().op_kind, OpKind::Op);
    let secrets = store.subscriber_secrets(&new.imsi).unwrap().unwrap();
    assert_eq!(secrets.auth_3g, Some(new_3g));
    assert_eq!(secrets.auth_2g, None);

    // Delete.
    store.delete_subscriber(&new.imsi).unwrap();
    assert!(store.subscriber(&new.imsi).unwrap().is_none());
    assert!(store.subscriber_secrets(&new.imsi).unwrap().is_none());
    assert!(matches!(
        store.delete_subscriber(&new.imsi),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.subscriber_count().unwrap(), 1);
}

#[test]
fn uniqueness_and_validation() {
    let mut store = memory_store();
    store
        .add_subscriber(&with_msisdn(
            comp128_sub("001010000000001", Comp128Version::V1, KI),
            "123",
        ))
        .unwrap();
    assert!(matches!(
        store.add_subscriber(&comp128_sub("001010000000001", Comp128Version::V1, KI)),
        Err(StoreError::ImsiExists(_))
    ));
    assert!(matches!(
        store.add_subscriber(&with_msisdn(
            comp128_sub("001010000000002", Comp128Version::V1, KI),
            "123"
        )),
        Err(StoreError::MsisdnExists(_))
    ));
    // Nothing half-written by the failed inserts.
    assert_eq!(store.subscriber_count().unwrap(), 1);
    store
        .add_subscriber(&comp128_sub("001010000000002", Comp128Version::V1, KI))
        .unwrap();
    assert!(matches!(
        store.update_subscriber(
            &imsi("001010000000002"),
            &SubscriberUpdate {
                msisdn: Some(Some(Msisdn::new("123").unwrap())),
                ..Default::default()
            }
        ),
        Err(StoreError::MsisdnExists(_))
    ));
    // SQN for a 2G-only subscriber, AMF without 3G data: refused.
    let mut n = comp128_sub("001010000000003", Comp128Version::V1, KI);
    n.sqn = 5;
    assert!(matches!(
        store.add_subscriber(&n),
        Err(StoreError::No3gData(_))
    ));
    assert!(matches!(
        store.update_subscriber(
            &imsi("001010000000002"),
            &SubscriberUpdate {
                amf: Some([0, 1]),
                ..Default::default()
            }
        ),
        Err(StoreError::No3gData(_))
    ));
    let mut n = milenage_sub("001010000000004", K, OPC);
    n.sqn = SQN_MAX + 1;
    assert!(store.add_subscriber(&n).is_err());
    assert!(matches!(
        store.update_subscriber(&imsi("001010000000099"), &SubscriberUpdate::default()),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn sqn_update_only_moves_forward_without_new_keys() {
    let mut store = memory_store();
    let mut n = milenage_sub("001010000000001", K, OPC);
    n.sqn = 100 << 5;
    store.add_subscriber(&n).unwrap();
    let seq = |store: &Store| {
        store
            .subscriber(&n.imsi)
            .unwrap()
            .unwrap()
            .auth_3g
            .unwrap()
            .seq_reserved
    };
    assert_eq!(seq(&store), 100);
    let lower = SubscriberUpdate {
        sqn: Some(10 << 5),
        ..Default::default()
    };
    store.update_subscriber(&n.imsi, &lower).unwrap();
    assert_eq!(
        seq(&store),
        100,
        "SEQ must not move back under the same keys"
    );
    let higher = SubscriberUpdate {
        sqn: Some(200 << 5),
        amf: Some([0x12, 0x34]),
        ..Default::default()
    };
    store.update_subscriber(&n.imsi, &higher).unwrap();
    assert_eq!(seq(&store), 200);
    assert_eq!(
        store
            .subscriber(&n.imsi)
            .unwrap()
            .unwrap()
            .auth_3g
            .unwrap()
            .amf,
        [0x12, 0x34]
    );
    // New keys without an SQN keep the counter (the card may be the same);
    // with a different IND length it is re-expressed, never lowered.
    let mut a = milenage_sub("001010000000001", K, OPC).auth_3g.unwrap();
    a.ind_bitlen = 0;
    store
        .update_subscriber(
            &n.imsi,
            &SubscriberUpdate {
                auth_3g: Some(Some(a.clone())),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(seq(&store), (201 << 5) - 1);
    // New keys with an SQN: a new card, set as given.
    store
        .update_subscriber(
            &n.imsi,
            &SubscriberUpdate {
                auth_3g: Some(Some(a)),
                sqn: Some(7),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(seq(&store), 7);
}

#[test]
fn kek_rotation_reencrypts_everything() {
    let dir = temp_dir("rotate");
    let mut store = Store::open_data_dir(&dir, kek()).unwrap();
    let mut both = milenage_sub("001010000000001", K, OPC);
    both.auth_2g = comp128_sub("001010000000001", Comp128Version::V1, KI).auth_2g;
    store.add_subscriber(&both).unwrap();
    store
        .add_subscriber(&comp128_sub("001010000000002", Comp128Version::V3, KI))
        .unwrap();
    let before = store.subscriber_secrets(&both.imsi).unwrap();
    assert_eq!(store.rotate_kek(other_kek()).unwrap(), 4);
    assert_eq!(store.subscriber_secrets(&both.imsi).unwrap(), before);
    drop(store);
    assert!(matches!(
        Store::open_data_dir(&dir, kek()),
        Err(StoreError::Crypto(CryptoError::WrongKek))
    ));
    let store = Store::open_data_dir(&dir, other_kek()).unwrap();
    assert_eq!(store.subscriber_secrets(&both.imsi).unwrap(), before);
    assert!(
        store
            .subscriber_secrets(&imsi("001010000000002"))
            .unwrap()
            .is_some()
    );
}

#[test]
fn location_purge_imei_and_ind() {
    let mut store = memory_store();
    let i = imsi("001010000000001");
    store
        .add_subscriber(&comp128_sub(i.as_str(), Comp128Version::V1, KI))
        .unwrap();
    use telsec_hlr::CnDomain;
    assert!(store.purge(&i, CnDomain::Cs).unwrap());
    assert!(store.subscriber(&i).unwrap().unwrap().purged_cs);
    assert!(
        store
            .record_location_update(&i, CnDomain::Cs, "MSC-1")
            .unwrap()
    );
    let s = store.subscriber(&i).unwrap().unwrap();
    assert_eq!(s.vlr_number.as_deref(), Some("MSC-1"));
    assert!(!s.purged_cs, "a location update clears the purged flag");
    assert!(s.last_lu_cs.is_some() && s.last_lu_ps.is_none());
    assert!(
        store
            .record_location_update(&i, CnDomain::Ps, "SGSN-1")
            .unwrap()
    );
    assert_eq!(
        store
            .subscriber(&i)
            .unwrap()
            .unwrap()
            .sgsn_number
            .as_deref(),
        Some("SGSN-1")
    );
    assert!(!store.purge(&imsi("001010000000009"), CnDomain::Ps).unwrap());
    assert!(store.set_imei(&i, "35693803564380").unwrap());
    assert_eq!(
        store.subscriber(&i).unwrap().unwrap().imei.as_deref(),
        Some("35693803564380")
    );
    let a = store.ind_for_peer("MSC-1").unwrap();
    let b = store.ind_for_peer("SGSN-1").unwrap();
    assert_ne!(a, b);
    assert_eq!(store.ind_for_peer("MSC-1").unwrap(), a);
}
