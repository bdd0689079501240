//! Bulk CSV provisioning: all rows or none.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use common::*;
use telsec_hlr::model::OpKind;
use telsec_hlr::{Comp128Version, ImportError};

const GOOD: &str = "\
imsi,msisdn,name,address,algo,ki,k,op,opc,amf,sqn,ind_bitlen,algo_2g
001010000000001,4900001,Alice,1 Main St,milenage,,465b5ce8b199b49faa5f0a2ee238a6bc,,cd63cb71954a9f4e48a5994e37a02baf,8000,1024,,
001010000000002,,Bob,,comp128v1,eb215756028d60e3275e613320aec880,,,,,,,
001010000000003,4900003,\"Carol, Jr.\",,milenage,eb215756028d60e3275e613320aec880,000102030405060708090a0b0c0d0e0f,cdc202d5123e20f62b6d676ac72cb318,,,,4,comp128v3
001010000000004,,,,,,,,,,,,
";

#[test]
fn imports_every_row() {
    let mut store = memory_store();
    let report = store.import_csv(GOOD.as_bytes()).unwrap();
    assert_eq!(report.imported, 4);
    assert_eq!(store.subscriber_count().unwrap(), 4);

    let a = store.subscriber(&imsi("001010000000001")).unwrap().unwrap();
    assert_eq!(a.name, "Alice");
    assert_eq!(a.address, "1 Main St");
    assert_eq!(a.msisdn.unwrap().as_str(), "4900001");
    let a3 = a.auth_3g.unwrap();
    assert_eq!(
        (a3.algorithm, a3.op_kind, a3.amf),
        ("milenage", OpKind::Opc, [0x80, 0])
    );
    assert_eq!(a3.seq_reserved, 1024 >> 5);

    let b = store.subscriber(&imsi("001010000000002")).unwrap().unwrap();
    assert_eq!(b.auth_2g.unwrap().version, Comp128Version::V1);
    assert!(b.auth_3g.is_none());

    let c = store.subscriber(&imsi("001010000000003")).unwrap().unwrap();
    assert_eq!(c.name, "Carol, Jr.");
    assert_eq!(c.auth_2g.unwrap().version, Comp128Version::V3);
    let c3 = c.auth_3g.unwrap();
    assert_eq!((c3.op_kind, c3.ind_bitlen), (OpKind::Op, 4));
    let secrets = store
        .subscriber_secrets(&imsi("001010000000003"))
        .unwrap()
        .unwrap();
    assert_eq!(
        hex::encode(secrets.auth_3g.unwrap().algorithm.k().expose()),
        "000102030405060708090a0b0c0d0e0f"
    );

    let d = store.subscriber(&imsi("001010000000004")).unwrap().unwrap();
    assert!(d.auth_2g.is_none() && d.auth_3g.is_none());
}

#[test]
fn tuak_and_flags() {
    let csv = "\
IMSI,algo,k,topc,tuak_res_bits,tuak_iterations,enabled,nam_ps
001010000000001,tuak,abababababababababababababababab,bd04d9530e87513c5d837ac2ad954623a8e2330c115305a73eb45d1f40cccbff,32,2,no,0
";
    let mut store = memory_store();
    store.import_csv(csv.as_bytes()).unwrap();
    let s = store.subscriber(&imsi("001010000000001")).unwrap().unwrap();
    assert!(!s.enabled && !s.nam_ps && s.nam_cs);
    let t = s.auth_3g.unwrap();
    assert_eq!(t.algorithm, "tuak");
    assert_eq!(t.op_kind, OpKind::Opc);
    let p = t.tuak.unwrap();
    assert_eq!((p.res_bits, p.iterations, p.mac_bits), (32, 2, 64));
}

#[test]
fn an_error_row_rolls_back_everything_and_lines_are_reported() {
    let csv = "\
imsi,msisdn,algo,ki,k,opc
001010000000001,4900001,milenage,,465b5ce8b199b49faa5f0a2ee238a6bc,cd63cb71954a9f4e48a5994e37a02baf
001010000000002,,comp128v1,,,
0010100000000033,,,,,
001010000000004,4900001,,,,
001010000000005,,milenage,,465b5ce8b199b49faa5f0a2ee238a6,cd63cb71954a9f4e48a5994e37a02baf
001010000000001,,,,,
001010000000007,,milenage,,465b5ce8b199b49faa5f0a2ee238a6bc,
001010000000008,,foo,,,
001010000000009,,comp128v2,zz,,
";
    let mut store = memory_store();
    // A subscriber that exists before the import must survive it untouched.
    store
        .add_subscriber(&comp128_sub(
            "001010000000099",
            Comp128Version::V1,
            "eb215756028d60e3275e613320aec880",
        ))
        .unwrap();
    let err = store.import_csv(csv.as_bytes()).unwrap_err();
    let ImportError::Rows { errors, total } = err else {
        panic!("expected row errors, got {err:?}");
    };
    let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![3, 4, 5, 6, 7, 8, 9, 10], "{errors:#?}");
    assert_eq!(total, 8);
    let msg = |line: u64| {
        errors
            .iter()
            .find(|e| e.line == line)
            .map(|e| e.message.clone())
            .unwrap()
    };
    assert!(msg(3).contains("needs ki"), "{}", msg(3));
    assert!(msg(4).contains("IMSI"), "{}", msg(4));
    assert!(msg(5).contains("MSISDN"), "{}", msg(5));
    assert!(msg(6).contains("K must be"), "{}", msg(6));
    assert!(
        msg(7).contains("IMSI 001010000000001 already exists"),
        "{}",
        msg(7)
    );
    assert!(msg(8).contains("op, opc"), "{}", msg(8));
    assert!(msg(9).contains("unknown algorithm"), "{}", msg(9));
    assert!(msg(10).contains("hex"), "{}", msg(10));
    // No key material in any message.
    for e in &errors {
        assert!(!e.message.contains("465b5ce8"), "{e}");
    }
    // Rolled back: only the pre-existing subscriber is there.
    assert_eq!(store.subscriber_count().unwrap(), 1);
    assert!(
        store
            .subscriber(&imsi("001010000000001"))
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .subscriber(&imsi("001010000000099"))
            .unwrap()
            .is_some()
    );
}

#[test]
fn header_problems() {
    let mut store = memory_store();
    for (csv, want) in [
        ("msisdn,name\n123,x\n", "no imsi column"),
        ("imsi,kk\n001010000000001,00\n", "unknown column \"kk\""),
        ("imsi,imsi\n00101,00102\n", "appears twice"),
    ] {
        match store.import_csv(csv.as_bytes()) {
            Err(ImportError::Header(m)) => assert!(m.contains(want), "{m}"),
            other => panic!("{csv:?}: {other:?}"),
        }
    }
    // A row with the wrong number of fields is a row error with its line.
    let csv = "imsi,name\n001010000000001,a\n001010000000002,b,extra\n";
    match store.import_csv(csv.as_bytes()) {
        Err(ImportError::Rows { errors, .. }) => {
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].line, 3);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.subscriber_count().unwrap(), 0);
}
