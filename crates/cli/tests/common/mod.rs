//! Shared pieces of the interop tests: the peers, and the checks every HLR
//! must pass whoever implements it.
#![allow(dead_code)]
// Test support: a failed set-up step should stop the test where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod osmo;
pub mod telsec_hlr;

use std::net::SocketAddr;
use std::time::Duration;

use telsec_auth::aka::{self, AkaFailure};
use telsec_auth::milenage::Milenage;
use telsec_auth::sqn::{Sqn, SqnState};
use telsec_gsup::{Cause, Imsi, UnitIdentity};
use telsec_node::gsup_client::{ClientError, GsupClient};

/// TS 35.207 test set 1 keys, used as a subscriber's K and OPc.
pub const K: &str = "465b5ce8b199b49faa5f0a2ee238a6bc";
pub const OPC: &str = "cd63cb71954a9f4e48a5994e37a02baf";

pub fn milenage() -> Milenage {
    let k: [u8; 16] = hex::decode(K).unwrap().try_into().unwrap();
    let opc: [u8; 16] = hex::decode(OPC).unwrap().try_into().unwrap();
    Milenage::with_opc(&k, &opc)
}

pub async fn connect(addr: SocketAddr, name: &str) -> GsupClient {
    GsupClient::connect(addr, UnitIdentity::new("MSC", name), Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the HLR at {addr}: {e}"))
}

/// Fetch `n` vectors and check every one as the USIM would: AUTN verifies
/// (MAC and SQN freshness against `usim`), RES/CK/IK are what the card
/// computes, SRES/Kc are c2/c3 of them. Returns the SQNs in order.
pub async fn fetch_and_verify(
    client: &mut GsupClient,
    imsi: &str,
    n: u8,
    usim: &mut SqnState,
) -> Vec<Sqn> {
    let alg = milenage();
    let tuples = client
        .send_auth_info(&Imsi::new(imsi).unwrap(), n, None)
        .await
        .expect("SendAuthInfo");
    assert_eq!(tuples.len(), usize::from(n), "vector count");
    let mut sqns = Vec::new();
    for (i, t) in tuples.iter().enumerate() {
        let autn = t.autn.expect("AUTN in a 3G vector");
        let auth = aka::verify_autn(&alg, &t.rand, &autn, usim)
            .unwrap_or_else(|e| panic!("vector {i}: USIM rejects AUTN: {e:?}"));
        assert_eq!(
            t.res.as_deref(),
            Some(auth.keys.res.as_bytes()),
            "vector {i}: RES"
        );
        assert_eq!(t.ck, Some(auth.keys.ck), "vector {i}: CK");
        assert_eq!(t.ik, Some(auth.keys.ik), "vector {i}: IK");
        let (sres, kc) = aka::gsm_context(&alg, &t.rand);
        assert_eq!(t.sres, Some(sres), "vector {i}: SRES = c2(XRES)");
        assert_eq!(t.kc, Some(kc), "vector {i}: Kc = c3(CK, IK)");
        sqns.push(auth.sqn);
    }
    sqns
}

/// The whole behaviour an MSC relies on, against the HLR at `addr` where
/// `imsi` is a Milenage subscriber (K, OPC above) with `msisdn`.
pub async fn check_hlr(addr: SocketAddr, imsi: &str, msisdn: &str) {
    let mut client = connect(addr, "MSC-00-00-00-00-00-01").await;
    let mut usim = SqnState::default();

    // Vectors verify on the card, and each SQN is fresh.
    let mut sqns = fetch_and_verify(&mut client, imsi, 5, &mut usim).await;
    sqns.extend(fetch_and_verify(&mut client, imsi, 3, &mut usim).await);
    for pair in sqns.windows(2) {
        assert!(pair[1] > pair[0], "SQNs increase: {pair:?}");
    }

    // Unknown IMSI: the GSUP cause osmo-hlr answers with.
    let unknown = Imsi::new("001019999999999").unwrap();
    match client.send_auth_info(&unknown, 1, None).await {
        Err(ClientError::Refused { cause, .. }) => assert_eq!(cause, Cause::ImsiUnknown),
        other => panic!("unknown IMSI: expected IMSI unknown, got {other:?}"),
    }

    // Resynchronisation: a card that has seen a much higher SQN answers
    // with AUTS; the HLR recovers SQN_MS and its next vectors verify.
    let alg = milenage();
    let ahead = Sqn::new(sqns.last().unwrap().value() + (1 << 20)).unwrap();
    let mut card = SqnState::default();
    card.accept(ahead).unwrap();
    let tuples = client
        .send_auth_info(&Imsi::new(imsi).unwrap(), 1, None)
        .await
        .unwrap();
    let t = &tuples[0];
    let auts = match aka::verify_autn(&alg, &t.rand, &t.autn.unwrap(), &mut card) {
        Err(AkaFailure::SyncFailure { auts, .. }) => auts,
        other => panic!("a card ahead must ask for resync, got {other:?}"),
    };
    let resynced = client
        .send_auth_info(&Imsi::new(imsi).unwrap(), 2, Some((t.rand, auts)))
        .await
        .expect("SendAuthInfo with AUTS");
    for t in &resynced {
        let auth = aka::verify_autn(&alg, &t.rand, &t.autn.unwrap(), &mut card)
            .unwrap_or_else(|e| panic!("after resync the card accepts: {e:?}"));
        assert!(auth.sqn > ahead, "SQN after resync is above SQN_MS");
    }

    // A forged AUTS (bad MAC-S) is refused and moves nothing.
    let mut forged = auts;
    forged[13] ^= 1;
    assert!(
        client
            .send_auth_info(&Imsi::new(imsi).unwrap(), 1, Some((t.rand, forged)))
            .await
            .is_err(),
        "a bad MAC-S must not resynchronise"
    );

    // UpdateLocation: Insert Subscriber Data carries the MSISDN.
    let lu = client
        .update_location(&Imsi::new(imsi).unwrap())
        .await
        .expect("UpdateLocation");
    assert_eq!(lu.msisdn.as_deref(), Some(msisdn));

    // PurgeMS for a known subscriber succeeds; for an unknown one it is refused.
    client
        .purge_ms(&Imsi::new(imsi).unwrap())
        .await
        .expect("PurgeMS");
    assert!(client.purge_ms(&unknown).await.is_err());
}
