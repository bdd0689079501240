//! telsec's update client against a real BIND9 primary with a TSIG key and
//! an update-policy (`grant <ha> zonesub ANY; grant * self * A AAAA
//! IPSECKEY HIP;`): updates land, `dig` sees A, IPSECKEY and HIP, and BIND
//! refuses what the embedded server refuses. Skipped, with a note, when
//! `named` or `dig` is absent.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::Ipv4Addr;

use common::*;
use hickory_proto::{op::ResponseCode, rr::RecordType};
use telsec_dns::{
    Error, HipIdentity, NodeRecords, PublishMode, Transport, UpdateClient, publish_node,
    rdata::{HIP, HipRecord, IPSECKEY, IpsecKey},
    withdraw_node,
};

fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64.encode(bytes)
}

#[tokio::test]
async fn telsec_updates_land_in_bind() {
    let (Some(named), Some(dig)) = (
        tool_or_skip("named", "telsec_updates_land_in_bind"),
        tool_or_skip("dig", "telsec_updates_land_in_bind"),
    ) else {
        return;
    };
    let mn2 = node_key("mn2.telsec.test.");
    let bind = tokio::task::spawn_blocking(move || Bind::start(&named, &[mn2]))
        .await
        .unwrap();
    let server = bind.addr;

    // The home agent publishes mn1 (HIP mode) over UDP.
    let key = [0x33u8; 32];
    let hit = [
        0x20, 0x01, 0x00, 0x20, 0, 0, 0, 0, 0xaa, 0xbb, 0, 0, 0, 0, 0, 1,
    ];
    let mut mn1 = NodeRecords::new("mn1.telsec.test.", Ipv4Addr::new(10, 1, 0, 1), key).unwrap();
    mn1.hip = Some(HipIdentity {
        hit,
        rendezvous_servers: vec![name("rvs1.telsec.test."), name("rvs2.telsec.test.")],
    });
    publish_node(server, &admin_key(), &zone(), &mn1)
        .await
        .unwrap();

    let d = dig.clone();
    let (a, ipseckey, hip) = tokio::task::spawn_blocking(move || {
        (
            dig_short(&d, server, "mn1.telsec.test.", "A", &[]),
            dig_short(&d, server, "mn1.telsec.test.", "IPSECKEY", &[]),
            dig_short(&d, server, "mn1.telsec.test.", "HIP", &[]),
        )
    })
    .await
    .unwrap();
    assert_eq!(a, vec!["10.1.0.1"], "{}", bind.log());
    assert_eq!(ipseckey, vec![format!("10 0 4 . {}", b64(&key))]);
    assert_eq!(
        hip,
        vec![format!(
            "4 {} {} rvs1.telsec.test. rvs2.telsec.test.",
            data_encoding::HEXUPPER.encode(&hit),
            b64(&key)
        )]
    );
    // BIND re-encodes from its own parse; telsec's decoder reads it back.
    let k = query(server, "mn1.telsec.test.", IPSECKEY, Transport::Tcp).await;
    assert_eq!(
        IpsecKey::parse(opaque(&k.answers[0].data))
            .unwrap()
            .ed25519_public_key(),
        Some(key)
    );
    let h = query(server, "mn1.telsec.test.", HIP, Transport::Udp).await;
    assert_eq!(
        HipRecord::parse(opaque(&h.answers[0].data)).unwrap().hit,
        hit
    );

    // A wrongly signed update: BIND answers BADSIG; nothing changes.
    let forged = UpdateClient::connect(server, Transport::Udp, &forged_admin_key(), &zone())
        .await
        .unwrap();
    let mut hijack = mn1.clone();
    hijack.ipv4 = Ipv4Addr::new(192, 0, 2, 66);
    let err = forged
        .publish(&hijack, PublishMode::Replace)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthenticated(_)), "{err:?}");

    // mn2's own key: its name yes (over TCP), mn1's name no.
    let mn2_client = UpdateClient::connect(
        server,
        Transport::Tcp,
        &node_key("mn2.telsec.test."),
        &zone(),
    )
    .await
    .unwrap();
    let mn2 = NodeRecords::new("mn2.telsec.test.", Ipv4Addr::new(10, 1, 0, 2), [0x44; 32]).unwrap();
    mn2_client
        .publish(&mn2, PublishMode::CreateOnly)
        .await
        .unwrap();
    let err = mn2_client
        .publish(&hijack, PublishMode::Replace)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Rejected {
                rcode: ResponseCode::Refused
            }
        ),
        "{err:?}"
    );
    // The CreateOnly prerequisite is honoured by BIND as well.
    let err = mn2_client
        .publish(&mn2, PublishMode::CreateOnly)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Rejected {
                rcode: ResponseCode::YXDomain
            }
        ),
        "{err:?}"
    );

    let d = dig.clone();
    let (a1, a2) = tokio::task::spawn_blocking(move || {
        (
            dig_short(&d, server, "mn1.telsec.test.", "A", &[]),
            dig_short(&d, server, "mn2.telsec.test.", "A", &[]),
        )
    })
    .await
    .unwrap();
    assert_eq!(a1, vec!["10.1.0.1"]);
    assert_eq!(a2, vec!["10.1.0.2"]);

    // Withdraw: the name is gone.
    withdraw_node(server, &admin_key(), &zone(), &name("mn1.telsec.test."))
        .await
        .unwrap();
    let gone = query(server, "mn1.telsec.test.", RecordType::A, Transport::Udp).await;
    assert_rcode(&gone, ResponseCode::NXDomain);
    drop(bind);
}
