//! `telsec auth …` prints the official vectors' values, field by field, as
//! one JSON object with lowercase hex: the command line is checked against
//! the same data files as the library.
// Test code: a failed step should stop the test where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use serde_json::Value;
use toml::Table;

fn vectors() -> Table {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/vectors/auth.toml"
    );
    std::fs::read_to_string(path).unwrap().parse().unwrap()
}

fn entries<'a>(t: &'a Table, path: &[&str]) -> Vec<&'a Table> {
    let mut v = &t[path[0]];
    for p in &path[1..] {
        v = &v[*p];
    }
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_table().unwrap())
        .collect()
}

fn s<'a>(e: &'a Table, k: &str) -> &'a str {
    e[k].as_str().unwrap_or_else(|| panic!("{k} missing"))
}

/// Run `telsec auth ARGS` and parse its one JSON object.
fn auth(args: &[&str]) -> serde_json::Map<String, Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_telsec"))
        .arg("auth")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "telsec auth {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let obj = v.as_object().unwrap().clone();
    for (k, v) in &obj {
        let text = v.as_str().unwrap();
        assert!(
            k == "supi" || text.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
            "{k} is not lowercase hex: {text}"
        );
    }
    obj
}

#[test]
fn milenage_every_ts35207_and_ts35208_set() {
    let t = vectors();
    let mut sets = entries(&t, &["milenage", "ts35207"]);
    sets.extend(entries(&t, &["milenage", "ts35208"]));
    assert_eq!(sets.len(), 26);
    for e in sets {
        for (op_flag, op_key) in [("--op", "op"), ("--opc", "opc")] {
            let out = auth(&[
                "milenage",
                "--k",
                s(e, "k"),
                op_flag,
                s(e, op_key),
                "--rand",
                s(e, "rand"),
                "--sqn",
                s(e, "sqn"),
                "--amf",
                s(e, "amf"),
            ]);
            let set = &e["set"];
            for (field, key) in [
                ("opc", "opc"),
                ("mac_a", "f1"),
                ("mac_s", "f1_star"),
                ("res", "f2"),
                ("ck", "f3"),
                ("ik", "f4"),
                ("ak", "f5"),
                ("ak_star", "f5_star"),
            ] {
                assert_eq!(out[field], s(e, key), "set {set} via {op_flag}: {field}");
            }
            assert_eq!(out.len(), 8, "exactly the named fields");
        }
    }
}

#[test]
fn comp128_v1_v2_v3() {
    let t = vectors();
    let v1 = entries(&t, &["comp128v1"])[0];
    let out = auth(&[
        "comp128",
        "--version",
        "1",
        "--ki",
        s(v1, "ki"),
        "--rand",
        s(v1, "rand"),
    ]);
    assert_eq!(out["sres"], s(v1, "sres"));
    assert_eq!(out["kc"], s(v1, "kc"));
    for version in ["2", "3"] {
        let table = t[&format!("comp128v{version}")].as_table().unwrap();
        let ki = s(table, "ki");
        // A spread of the 1024 rows (all of them run in the library tests).
        for row in table["vectors"].as_array().unwrap().iter().step_by(97) {
            let row: Vec<&str> = row
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            let out = auth(&[
                "comp128",
                "--version",
                version,
                "--ki",
                ki,
                "--rand",
                row[0],
            ]);
            assert_eq!(out["sres"], row[1], "v{version} rand {}", row[0]);
            assert_eq!(out["kc"], row[2], "v{version} rand {}", row[0]);
        }
    }
}

#[test]
fn tuak_every_ts35233_set() {
    let t = vectors();
    for e in entries(&t, &["tuak"]) {
        let bytes = |k: &str| (e[k].as_integer().unwrap() / 8).to_string();
        let iterations = e["keccak_iterations"].as_integer().unwrap().to_string();
        let (res, mac, ck, ik) = (
            bytes("res_bits"),
            bytes("mac_bits"),
            bytes("ck_bits"),
            bytes("ik_bits"),
        );
        let out = auth(&[
            "tuak",
            "--k",
            s(e, "k"),
            "--top",
            s(e, "top"),
            "--rand",
            s(e, "rand"),
            "--sqn",
            s(e, "sqn"),
            "--amf",
            s(e, "amf"),
            "--keccak-iterations",
            &iterations,
            "--res-len",
            &res,
            "--mac-len",
            &mac,
            "--ck-len",
            &ck,
            "--ik-len",
            &ik,
        ]);
        let set = &e["set"];
        for (field, key) in [
            ("topc", "topc"),
            ("mac_a", "f1"),
            ("mac_s", "f1_star"),
            ("res", "f2"),
            ("ck", "f3"),
            ("ik", "f4"),
            ("ak", "f5"),
            ("ak_star", "f5_star"),
        ] {
            assert_eq!(out[field], s(e, key), "TUAK set {set}: {field}");
        }
    }
}

#[test]
fn suci_profiles_a_and_b_from_ts33501_annex_c4() {
    let t = vectors();
    let mut checked = 0;
    for e in entries(&t, &["suci"]) {
        // The IMSI cases: plaintext is the MSIN 001002086 in TBCD.
        if s(e, "plaintext") != "00012080f6" {
            continue;
        }
        let (profile, scheme) = match s(e, "profile") {
            "A" => ("a", 1),
            _ => ("b", 2),
        };
        let suci = format!("suci-0-001-01-0000-{scheme}-1-{}", s(e, "scheme_output"));
        let out = auth(&[
            "suci",
            "--profile",
            profile,
            "--hn-private",
            s(e, "hn_priv"),
            "--suci",
            &suci,
        ]);
        assert_eq!(out["supi"], "imsi-00101001002086", "{}", s(e, "annex"));
        checked += 1;
    }
    assert_eq!(checked, 2, "C.4.3.1 and C.4.4.1");
}

#[test]
fn bad_hex_is_a_usage_error_with_exit_code_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_telsec"))
        .args([
            "auth",
            "comp128",
            "--version",
            "1",
            "--ki",
            "00",
            "--rand",
            "00",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ki must be 16 bytes"));
}
