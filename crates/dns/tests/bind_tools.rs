//! BIND's own tools against the embedded server (127.0.0.41): `dig` reads
//! what telsec published, and `nsupdate` (an independent RFC 2136 + TSIG
//! client) updates it. Skipped, with a note, when the tools are absent.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::{Ipv4Addr, SocketAddr};

use common::*;
use hickory_proto::rr::{RData, RecordType, rdata::A};
use telsec_dns::{Grant, HipIdentity, NodeRecords, PublishMode, Transport, UpdateClient};

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 41], port))
}

fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64.encode(bytes)
}

#[tokio::test]
async fn dig_sees_published_records() {
    let Some(dig) = tool_or_skip("dig", "dig_sees_published_records") else {
        return;
    };
    let srv = Embedded::start(addr(15411), None, vec![(admin_key(), Grant::Zone)]).await;
    let ha = UpdateClient::connect(srv.addr, Transport::Udp, &admin_key(), &zone())
        .await
        .unwrap();
    let key = [0x42u8; 32];
    let hit = [
        0x20, 0x01, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34,
    ];
    let mut mn = NodeRecords::new("mn1.telsec.test.", Ipv4Addr::new(10, 1, 0, 1), key).unwrap();
    mn.hip = Some(HipIdentity {
        hit,
        rendezvous_servers: vec![name("rvs1.telsec.test.")],
    });
    ha.publish(&mn, PublishMode::Replace).await.unwrap();

    // dig runs synchronously; the server runs on the test's runtime.
    let server = srv.addr;
    let (a, ipseckey, hip, soa, nx, signed) = tokio::task::spawn_blocking(move || {
        (
            dig_short(&dig, server, "mn1.telsec.test.", "A", &[]),
            dig_short(&dig, server, "mn1.telsec.test.", "IPSECKEY", &["+tcp"]),
            dig_short(&dig, server, "mn1.telsec.test.", "HIP", &[]),
            dig_short(&dig, server, "telsec.test.", "SOA", &[]),
            dig_short(
                &dig,
                server,
                "nobody.telsec.test.",
                "A",
                &["+noshort", "+noall", "+comments"],
            ),
            // A TSIG-signed query: dig verifies the server's signed answer.
            dig_short(
                &dig,
                server,
                "mn1.telsec.test.",
                "A",
                &[
                    "-y",
                    &format!(
                        "hmac-sha256:ha.telsec.test.:{}",
                        admin_key().secret_base64().as_str()
                    ),
                ],
            ),
        )
    })
    .await
    .unwrap();
    assert_eq!(a, vec!["10.1.0.1"]);
    assert_eq!(ipseckey, vec![format!("10 0 4 . {}", b64(&key))]);
    assert_eq!(
        hip,
        vec![format!(
            "4 {} {} rvs1.telsec.test.",
            data_encoding::HEXUPPER.encode(&hit),
            b64(&key)
        )]
    );
    assert_eq!(
        soa,
        vec!["ns1.telsec.test. hostmaster.telsec.test. 2 3600 600 86400 60"]
    );
    let header = nx.join("\n");
    assert!(header.contains("status: NXDOMAIN"), "{header}");
    assert!(header.contains(" aa"), "{header}");
    assert_eq!(signed, vec!["10.1.0.1"]);
    srv.stop().await;
}

#[tokio::test]
async fn nsupdate_updates_the_embedded_server() {
    let Some(nsupdate_bin) = tool_or_skip("nsupdate", "nsupdate_updates_the_embedded_server")
    else {
        return;
    };
    let srv = Embedded::start(addr(15412), None, vec![(admin_key(), Grant::Zone)]).await;
    srv.handle
        .add_key(node_key("mn8.telsec.test."), Grant::node());
    let server = srv.addr;
    let key = b64(&[0x17; 32]);
    let head = format!(
        "server {} {}\nzone telsec.test.\n",
        server.ip(),
        server.port()
    );

    let script = format!(
        "{head}update delete mn7.telsec.test. A\n\
         update add mn7.telsec.test. 60 A 10.7.7.7\n\
         update add mn7.telsec.test. 60 IPSECKEY 10 0 4 . {key}\n\
         update add mn7.telsec.test. 60 HIP 4 20010020000000000000000000000007 {key} rvs.telsec.test.\n\
         send\n"
    );
    let bin = nsupdate_bin.clone();
    let (ok, out) = tokio::task::spawn_blocking(move || nsupdate(&bin, &admin_key(), &script))
        .await
        .unwrap();
    assert!(ok, "nsupdate failed: {out}");
    let a = query(server, "mn7.telsec.test.", RecordType::A, Transport::Udp).await;
    assert_eq!(
        rdatas(&a, RecordType::A),
        vec![RData::A(A(Ipv4Addr::new(10, 7, 7, 7)))]
    );
    let k = query(
        server,
        "mn7.telsec.test.",
        telsec_dns::rdata::IPSECKEY,
        Transport::Udp,
    )
    .await;
    let parsed = telsec_dns::rdata::IpsecKey::parse(opaque(&k.answers[0].data)).unwrap();
    assert_eq!(parsed.ed25519_public_key(), Some([0x17; 32]));
    let h = query(
        server,
        "mn7.telsec.test.",
        telsec_dns::rdata::HIP,
        Transport::Udp,
    )
    .await;
    let hip = telsec_dns::rdata::HipRecord::parse(opaque(&h.answers[0].data)).unwrap();
    assert_eq!(hip.hit[15], 7);
    assert_eq!(hip.rendezvous_servers, vec![name("rvs.telsec.test.")]);
    let serial = srv.handle.serial();

    // A wrong secret: nsupdate reports the failure, nothing changes.
    let script = format!("{head}update add mn7.telsec.test. 60 A 10.6.6.6\nsend\n");
    let bin = nsupdate_bin.clone();
    let s2 = script.clone();
    let (ok, out) = tokio::task::spawn_blocking(move || nsupdate(&bin, &forged_admin_key(), &s2))
        .await
        .unwrap();
    assert!(!ok, "forged update accepted: {out}");
    assert!(out.contains("BADSIG") || out.contains("tsig"), "{out}");
    assert_eq!(srv.handle.serial(), serial);

    // mn8's key at another node's name: REFUSED; at its own: accepted.
    let bin = nsupdate_bin.clone();
    let s3 = script.clone();
    let (ok, out) =
        tokio::task::spawn_blocking(move || nsupdate(&bin, &node_key("mn8.telsec.test."), &s3))
            .await
            .unwrap();
    assert!(!ok && out.contains("REFUSED"), "{out}");
    let own = format!("{head}update add mn8.telsec.test. 60 A 10.8.8.8\nsend\n");
    let bin = nsupdate_bin.clone();
    let (ok, out) =
        tokio::task::spawn_blocking(move || nsupdate(&bin, &node_key("mn8.telsec.test."), &own))
            .await
            .unwrap();
    assert!(ok, "{out}");
    let a = query(server, "mn8.telsec.test.", RecordType::A, Transport::Tcp).await;
    assert_eq!(
        rdatas(&a, RecordType::A),
        vec![RData::A(A(Ipv4Addr::new(10, 8, 8, 8)))]
    );
    let a = query(server, "mn7.telsec.test.", RecordType::A, Transport::Tcp).await;
    assert_eq!(
        rdatas(&a, RecordType::A),
        vec![RData::A(A(Ipv4Addr::new(10, 7, 7, 7)))]
    );
    srv.stop().await;
}
