//! The same GSUP client checks against Debian's osmo-hlr and against
//! telsec's own HLR (the `telsec` binary), so that telsec's client is proven
//! on an independent server and telsec's server on the same checks.
//!
//! Every server gets its own loopback address: osmo-hlr's ports are fixed.
// Test code: a failed step should stop the test where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::osmo::OsmoHlr;
use common::telsec_hlr::{TelsecHlr, run};
use common::{K, OPC, check_hlr, connect, fetch_and_verify};
use telsec_auth::sqn::SqnState;

const IMSI: &str = "001010000000001";
const MSISDN: &str = "4912345";

#[tokio::test]
async fn interop_osmo_hlr_answers_telsec_client() {
    let hlr = OsmoHlr::start("127.0.0.21");
    hlr.add_milenage(IMSI, MSISDN, K, OPC);
    check_hlr(hlr.gsup, IMSI, MSISDN).await;
}

#[tokio::test]
async fn interop_telsec_hlr_passes_the_same_checks() {
    let dir = TelsecHlr::new_data_dir();
    TelsecHlr::add_milenage(dir.path(), IMSI, MSISDN, K, OPC);
    let hlr = TelsecHlr::start("127.0.0.22", dir.path());
    check_hlr(hlr.gsup, IMSI, MSISDN).await;
}

/// No SQN is issued twice even when the HLR dies without any shutdown:
/// the card (which rejects any SQN not above what it accepted) accepts
/// every vector across several kill -9 restarts.
#[tokio::test]
async fn interop_telsec_hlr_never_reuses_sqn_after_kill_9() {
    let dir = TelsecHlr::new_data_dir();
    TelsecHlr::add_milenage(dir.path(), IMSI, MSISDN, K, OPC);
    let mut usim = SqnState::default();
    let mut all = Vec::new();
    for round in 0..4 {
        let hlr = TelsecHlr::start("127.0.0.23", dir.path());
        let mut client = connect(hlr.gsup, "MSC-00-00-00-00-00-01").await;
        for _ in 0..3 {
            all.extend(fetch_and_verify(&mut client, IMSI, 5, &mut usim).await);
        }
        drop(client);
        hlr.kill9();
        assert!(all.len() == (round + 1) * 15);
    }
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), all.len(), "an SQN was issued twice");
}

/// `telsec hlr query` prints the vectors as JSON, from osmo-hlr.
#[test]
fn interop_cli_query_against_osmo_hlr() {
    let hlr = OsmoHlr::start("127.0.0.24");
    hlr.add_milenage(IMSI, MSISDN, K, OPC);
    let dir = TelsecHlr::new_data_dir();
    let out = run(
        dir.path(),
        &[
            "hlr",
            "query",
            "--server",
            &hlr.gsup.to_string(),
            "--imsi",
            IMSI,
            "--vectors",
            "2",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let vectors = json["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 2);
    let alg = common::milenage();
    for v in vectors {
        for field in ["rand", "autn", "res", "ck", "ik", "sres", "kc"] {
            let text = v[field]
                .as_str()
                .unwrap_or_else(|| panic!("{field} missing"));
            assert!(
                text.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
        }
        let rand: [u8; 16] = hex::decode(v["rand"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let keys = telsec_auth::AkaAlgorithm::f2345(&alg, &rand);
        assert_eq!(v["res"], hex::encode(keys.res.as_bytes()));
        assert_eq!(v["ck"], hex::encode(keys.ck));
    }

    // An unknown IMSI exits with 3 (protocol refusal).
    let out = run(
        dir.path(),
        &[
            "hlr",
            "query",
            "--server",
            &hlr.gsup.to_string(),
            "--imsi",
            "001019999999999",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
}
