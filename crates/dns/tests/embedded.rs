//! The embedded server over real UDP and TCP on loopback (127.0.0.40),
//! driven by telsec's update client and by raw messages.
#![allow(clippy::unwrap_used)]

mod common;

use std::{
    net::{Ipv4Addr, SocketAddr},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use common::*;
use hickory_proto::{
    op::{Message, OpCode, Query, ResponseCode},
    rr::{
        DNSClass, RData, Record, RecordType,
        rdata::{A, tsig::TsigError},
    },
};
use telsec_dns::{
    Error, Grant, HipIdentity, NodeRecords, PublishMode, Transport, UpdateClient,
    rdata::{HIP, HipRecord, IPSECKEY, IpsecKey},
};
use tokio::net::UdpSocket;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 40], port))
}

fn node(n: u8) -> NodeRecords {
    NodeRecords::new(
        &format!("mn{n}.telsec.test."),
        Ipv4Addr::new(10, 1, 0, n),
        [n; 32],
    )
    .unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Sends raw bytes over UDP and returns the parsed answer.
async fn raw_udp(server: SocketAddr, bytes: &[u8]) -> Message {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(bytes, server).await.unwrap();
    let mut buf = vec![0u8; 65535];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    Message::from_vec(&buf[..n]).unwrap()
}

fn update_a(owner: &str, ip: Ipv4Addr) -> Message {
    let mut m = Message::query();
    m.metadata.id = 0x4242;
    m.metadata.op_code = OpCode::Update;
    m.add_query(Query::query(zone(), RecordType::SOA));
    m.add_authority(Record::from_rdata(name(owner), 60, RData::A(A(ip))));
    m
}

#[tokio::test]
async fn publish_query_withdraw_over_udp_and_tcp() {
    let srv = Embedded::start(addr(15401), None, vec![(admin_key(), Grant::Zone)]).await;
    let ha = UpdateClient::connect(srv.addr, Transport::Udp, &admin_key(), &zone())
        .await
        .unwrap();
    let mut mn = node(1);
    mn.ipv6 = Some("2001:db8::1".parse().unwrap());
    mn.hip = Some(HipIdentity {
        hit: [0x20, 0x01, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        rendezvous_servers: vec![name("rvs1.telsec.test.")],
    });
    ha.publish(&mn, PublishMode::Replace).await.unwrap();
    assert_eq!(srv.handle.serial(), 2);

    for transport in [Transport::Udp, Transport::Tcp] {
        let a = query(srv.addr, "mn1.telsec.test.", RecordType::A, transport).await;
        assert_rcode(&a, ResponseCode::NoError);
        assert!(a.metadata.authoritative);
        assert_eq!(
            rdatas(&a, RecordType::A),
            vec![RData::A(A(Ipv4Addr::new(10, 1, 0, 1)))]
        );

        let k = query(srv.addr, "mn1.telsec.test.", IPSECKEY, transport).await;
        let keys = rdatas(&k, IPSECKEY);
        assert_eq!(keys.len(), 1);
        let parsed = IpsecKey::parse(opaque(&keys[0])).unwrap();
        assert_eq!(parsed.ed25519_public_key(), Some([1; 32]));

        let h = query(srv.addr, "mn1.telsec.test.", HIP, transport).await;
        let hips = rdatas(&h, HIP);
        assert_eq!(hips.len(), 1);
        let hip = HipRecord::parse(opaque(&hips[0])).unwrap();
        assert_eq!(hip.hit, mn.hip.as_ref().unwrap().hit);
        assert_eq!(hip.public_key, vec![1; 32]);
        assert_eq!(hip.rendezvous_servers, vec![name("rvs1.telsec.test.")]);

        // NODATA: the name exists, the type does not.
        let txt = query(srv.addr, "mn1.telsec.test.", RecordType::TXT, transport).await;
        assert_rcode(&txt, ResponseCode::NoError);
        assert!(txt.answers.is_empty());
        assert_eq!(txt.authorities[0].record_type(), RecordType::SOA);
        assert!(txt.metadata.authoritative);
    }

    // Re-publishing without HIP and with a new address replaces atomically.
    let mut moved = node(1);
    moved.ipv4 = Ipv4Addr::new(10, 1, 9, 1);
    ha.publish(&moved, PublishMode::Replace).await.unwrap();
    let a = query(srv.addr, "mn1.telsec.test.", RecordType::A, Transport::Udp).await;
    assert_eq!(
        rdatas(&a, RecordType::A),
        vec![RData::A(A(Ipv4Addr::new(10, 1, 9, 1)))]
    );
    let h = query(srv.addr, "mn1.telsec.test.", HIP, Transport::Udp).await;
    assert!(rdatas(&h, HIP).is_empty());
    let aaaa = query(
        srv.addr,
        "mn1.telsec.test.",
        RecordType::AAAA,
        Transport::Udp,
    )
    .await;
    assert!(aaaa.answers.is_empty());

    // Withdraw over TCP; then the name is gone (NXDOMAIN with SOA).
    let tcp = UpdateClient::connect(srv.addr, Transport::Tcp, &admin_key(), &zone())
        .await
        .unwrap();
    tcp.withdraw(&name("mn1.telsec.test.")).await.unwrap();
    let gone = query(srv.addr, "mn1.telsec.test.", RecordType::A, Transport::Udp).await;
    assert_rcode(&gone, ResponseCode::NXDomain);
    assert!(gone.metadata.authoritative);
    assert_eq!(gone.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(srv.handle.serial(), 4);

    // Outside the zone: refused, not authoritative.
    let out = query(srv.addr, "example.com.", RecordType::A, Transport::Udp).await;
    assert_rcode(&out, ResponseCode::Refused);
    assert!(!out.metadata.authoritative);
    srv.stop().await;
}

#[tokio::test]
async fn unsigned_update_is_refused() {
    let srv = Embedded::start(addr(15402), None, vec![(admin_key(), Grant::Zone)]).await;
    let resp = raw_udp(
        srv.addr,
        &update_a("mn1.telsec.test.", Ipv4Addr::new(10, 0, 0, 1))
            .to_vec()
            .unwrap(),
    )
    .await;
    assert_rcode(&resp, ResponseCode::Refused);
    assert!(resp.signature().is_none());
    let a = query(srv.addr, "mn1.telsec.test.", RecordType::A, Transport::Udp).await;
    assert_rcode(&a, ResponseCode::NXDomain);
    assert_eq!(srv.handle.serial(), 1);
    srv.stop().await;
}

#[tokio::test]
async fn wrong_secret_is_refused_and_zone_unchanged() {
    let srv = Embedded::start(addr(15403), None, vec![(admin_key(), Grant::Zone)]).await;
    let ha = UpdateClient::connect(srv.addr, Transport::Udp, &admin_key(), &zone())
        .await
        .unwrap();
    ha.publish(&node(3), PublishMode::Replace).await.unwrap();
    let serial = srv.handle.serial();

    // Through the client: the unsigned BADSIG answer is not trusted.
    let forged = UpdateClient::connect(srv.addr, Transport::Udp, &forged_admin_key(), &zone())
        .await
        .unwrap();
    let mut hijack = node(3);
    hijack.ipv4 = Ipv4Addr::new(192, 0, 2, 66);
    let err = forged
        .publish(&hijack, PublishMode::Replace)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthenticated(_)), "{err:?}");

    // On the wire: NOTAUTH with TSIG error BADSIG and an empty MAC.
    let mut m = update_a("mn3.telsec.test.", Ipv4Addr::new(192, 0, 2, 66));
    m.finalize(
        &hickory_proto::rr::TSigner::new(
            vec![0x5a; 32],
            hickory_proto::rr::rdata::tsig::TsigAlgorithm::HmacSha256,
            name("ha.telsec.test."),
            300,
        )
        .unwrap(),
        now(),
    )
    .unwrap();
    let resp = raw_udp(srv.addr, &m.to_vec().unwrap()).await;
    assert_rcode(&resp, ResponseCode::NotAuth);
    let tsig = &resp.signature().unwrap().data;
    assert_eq!(tsig.error, Some(TsigError::BadSig));
    assert!(tsig.mac.is_empty());

    let a = query(srv.addr, "mn3.telsec.test.", RecordType::A, Transport::Udp).await;
    assert_eq!(
        rdatas(&a, RecordType::A),
        vec![RData::A(A(Ipv4Addr::new(10, 1, 0, 3)))]
    );
    assert_eq!(srv.handle.serial(), serial);
    srv.stop().await;
}

#[tokio::test]
async fn node_key_changes_only_its_own_name() {
    let srv = Embedded::start(addr(15404), None, vec![(admin_key(), Grant::Zone)]).await;
    // The home agent issues mn4's key at bootstrap time.
    srv.handle
        .add_key(node_key("mn4.telsec.test."), Grant::node());
    let ha = UpdateClient::connect(srv.addr, Transport::Udp, &admin_key(), &zone())
        .await
        .unwrap();
    ha.publish(&node(5), PublishMode::Replace).await.unwrap();

    let mn4 = UpdateClient::connect(
        srv.addr,
        Transport::Tcp,
        &node_key("mn4.telsec.test."),
        &zone(),
    )
    .await
    .unwrap();
    mn4.publish(&node(4), PublishMode::Replace).await.unwrap();

    // mn4 tries to take over mn5's name and to withdraw it: REFUSED.
    let mut evil = node(5);
    evil.ipv4 = Ipv4Addr::new(192, 0, 2, 4);
    let err = mn4.publish(&evil, PublishMode::Replace).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Rejected {
                rcode: ResponseCode::Refused
            }
        ),
        "{err:?}"
    );
    let err = mn4.withdraw(&name("mn5.telsec.test.")).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Rejected {
                rcode: ResponseCode::Refused
            }
        ),
        "{err:?}"
    );
    let a = query(srv.addr, "mn5.telsec.test.", RecordType::A, Transport::Udp).await;
    assert_eq!(
        rdatas(&a, RecordType::A),
        vec![RData::A(A(Ipv4Addr::new(10, 1, 0, 5)))]
    );

    // A type outside its grant at its own name: REFUSED too.
    let mut txt = Message::query();
    txt.metadata.op_code = OpCode::Update;
    txt.add_query(Query::query(zone(), RecordType::SOA));
    txt.add_authority(Record::from_rdata(
        name("mn4.telsec.test."),
        60,
        RData::TXT(hickory_proto::rr::rdata::TXT::new(vec!["x".into()])),
    ));
    let resp = mn4.send(txt).await.unwrap();
    assert_rcode(&resp, ResponseCode::Refused);

    // Its own withdraw works; a removed key no longer does.
    mn4.withdraw(&name("mn4.telsec.test.")).await.unwrap();
    assert!(srv.handle.remove_key(&name("mn4.telsec.test.")));
    let err = mn4
        .publish(&node(4), PublishMode::Replace)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthenticated(_)), "{err:?}");
    srv.stop().await;
}

#[tokio::test]
async fn restart_keeps_the_zone() {
    let dir = tempfile::tempdir().unwrap();
    let keys = vec![(admin_key(), Grant::Zone)];
    let srv = Embedded::start(addr(15405), Some(dir.path().to_owned()), keys.clone()).await;
    let ha = UpdateClient::connect(srv.addr, Transport::Udp, &admin_key(), &zone())
        .await
        .unwrap();
    for n in 1..=3 {
        ha.publish(&node(n), PublishMode::Replace).await.unwrap();
    }
    ha.withdraw(&name("mn2.telsec.test.")).await.unwrap();
    let serial = srv.handle.serial();
    assert_eq!(serial, 5);
    srv.stop().await;

    let srv = Embedded::start(addr(15405), Some(dir.path().to_owned()), keys).await;
    assert_eq!(srv.handle.serial(), serial);
    let soa = query(srv.addr, "telsec.test.", RecordType::SOA, Transport::Udp).await;
    match &soa.answers[0].data {
        RData::SOA(s) => assert_eq!(s.serial, serial),
        other => panic!("{other:?}"),
    }
    for (n, present) in [(1u8, true), (2, false), (3, true)] {
        let a = query(
            srv.addr,
            &format!("mn{n}.telsec.test."),
            RecordType::A,
            Transport::Udp,
        )
        .await;
        assert_eq!(!a.answers.is_empty(), present, "mn{n}");
        let k = query(
            srv.addr,
            &format!("mn{n}.telsec.test."),
            IPSECKEY,
            Transport::Tcp,
        )
        .await;
        assert_eq!(!k.answers.is_empty(), present, "mn{n}");
    }
    srv.stop().await;
}

#[tokio::test]
async fn create_only_does_not_take_over_a_name() {
    let srv = Embedded::start(addr(15406), None, vec![(admin_key(), Grant::Zone)]).await;
    let ha = UpdateClient::connect(srv.addr, Transport::Udp, &admin_key(), &zone())
        .await
        .unwrap();
    ha.publish(&node(6), PublishMode::CreateOnly).await.unwrap();
    let mut other = node(6);
    other.ipv4 = Ipv4Addr::new(10, 6, 6, 6);
    let err = ha
        .publish(&other, PublishMode::CreateOnly)
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
    let a = query(srv.addr, "mn6.telsec.test.", RecordType::A, Transport::Udp).await;
    assert_eq!(
        rdatas(&a, RecordType::A),
        vec![RData::A(A(Ipv4Addr::new(10, 1, 0, 6)))]
    );
    srv.stop().await;
}

#[tokio::test]
async fn prerequisites_are_honoured() {
    let srv = Embedded::start(addr(15407), None, vec![(admin_key(), Grant::Zone)]).await;
    let ha = UpdateClient::connect(srv.addr, Transport::Udp, &admin_key(), &zone())
        .await
        .unwrap();
    ha.publish(&node(7), PublishMode::Replace).await.unwrap();
    let owner = name("mn7.telsec.test.");
    let with_prereq = |class: DNSClass, rtype: RecordType, data: Option<RData>| {
        let mut m = update_a("mn7.telsec.test.", Ipv4Addr::new(10, 7, 7, 7));
        let mut p = match data {
            Some(d) => Record::from_rdata(owner.clone(), 0, d),
            None => Record::update0(owner.clone(), 0, rtype),
        };
        p.dns_class = class;
        m.add_answer(p);
        m
    };
    // (§2.4.1) RRset exists: A yes, TXT no.
    let r = ha
        .send(with_prereq(DNSClass::ANY, RecordType::TXT, None))
        .await
        .unwrap();
    assert_rcode(&r, ResponseCode::NXRRSet);
    // (§2.4.3) RRset does not exist: A exists.
    let r = ha
        .send(with_prereq(DNSClass::NONE, RecordType::A, None))
        .await
        .unwrap();
    assert_rcode(&r, ResponseCode::YXRRSet);
    // (§2.4.2) RRset exists with this value: wrong value.
    let wrong = Some(RData::A(A(Ipv4Addr::new(10, 9, 9, 9))));
    let r = ha
        .send(with_prereq(DNSClass::IN, RecordType::A, wrong))
        .await
        .unwrap();
    assert_rcode(&r, ResponseCode::NXRRSet);
    // (§2.4.4) name in use: another name is not.
    let mut m = update_a("mn7.telsec.test.", Ipv4Addr::new(10, 7, 7, 7));
    let mut p = Record::update0(name("nobody.telsec.test."), 0, RecordType::ANY);
    p.dns_class = DNSClass::ANY;
    m.add_answer(p);
    assert_rcode(&ha.send(m).await.unwrap(), ResponseCode::NXDomain);
    // Prerequisite outside the zone: NOTZONE.
    let mut m = update_a("mn7.telsec.test.", Ipv4Addr::new(10, 7, 7, 7));
    let mut p = Record::update0(name("x.example.com."), 0, RecordType::ANY);
    p.dns_class = DNSClass::ANY;
    m.add_answer(p);
    assert_rcode(&ha.send(m).await.unwrap(), ResponseCode::NotZone);
    // None of the failed updates changed anything.
    let a = query(srv.addr, "mn7.telsec.test.", RecordType::A, Transport::Udp).await;
    assert_eq!(
        rdatas(&a, RecordType::A),
        vec![RData::A(A(Ipv4Addr::new(10, 1, 0, 7)))]
    );
    assert_eq!(srv.handle.serial(), 2);
    // The right value passes, and the update applies.
    let right = Some(RData::A(A(Ipv4Addr::new(10, 1, 0, 7))));
    let r = ha
        .send(with_prereq(DNSClass::IN, RecordType::A, right))
        .await
        .unwrap();
    assert_rcode(&r, ResponseCode::NoError);
    let a = query(srv.addr, "mn7.telsec.test.", RecordType::A, Transport::Udp).await;
    assert_eq!(rdatas(&a, RecordType::A).len(), 2);
    assert_eq!(srv.handle.serial(), 3);
    srv.stop().await;
}

#[tokio::test]
async fn large_answers_truncate_over_udp() {
    let srv = Embedded::start(addr(15408), None, vec![(admin_key(), Grant::Zone)]).await;
    let ha = UpdateClient::connect(srv.addr, Transport::Tcp, &admin_key(), &zone())
        .await
        .unwrap();
    let mut m = Message::query();
    m.metadata.op_code = OpCode::Update;
    m.add_query(Query::query(zone(), RecordType::SOA));
    for i in 0..60u8 {
        m.add_authority(Record::from_rdata(
            name("pool.telsec.test."),
            60,
            RData::A(A(Ipv4Addr::new(10, 2, 0, i))),
        ));
    }
    assert_rcode(&ha.send(m).await.unwrap(), ResponseCode::NoError);

    let mut q = Message::query();
    q.metadata.id = 99;
    q.add_query(Query::query(name("pool.telsec.test."), RecordType::A));
    let resp = raw_udp(srv.addr, &q.to_vec().unwrap()).await;
    assert!(resp.metadata.truncation);
    assert!(resp.answers.is_empty());
    let full = query(srv.addr, "pool.telsec.test.", RecordType::A, Transport::Tcp).await;
    assert_eq!(full.answers.len(), 60);
    srv.stop().await;
}
