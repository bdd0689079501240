//! The agents' and the node's entry points on hostile octets: the home
//! agent (requests, and its snapshot and journal on restore), the foreign
//! agent (visitor requests, home agent replies) and the mobile node
//! (replies, advertisements). Nothing may panic; a refused request leaves
//! the home agent's bindings as they were.

#![no_main]

use std::net::{Ipv4Addr, SocketAddrV4};

use libfuzzer_sys::fuzz_target;
use telsec_mip::fa::{Config as FaConfig, ForeignAgent};
use telsec_mip::ha::{Config as HaConfig, HomeAgent, HomeNetwork, Verdict};
use telsec_mip::mn::{Config as MnConfig, MobileNode};
use telsec_mip::{Algorithm, ReplayMode, SecurityAssociation};

const NOW: u64 = 1_800_000_000_000;

fuzz_target!(|data: &[u8]| {
    let net = HomeNetwork {
        prefix: Ipv4Addr::new(10, 0, 0, 0),
        len: 24,
    };
    let sa = SecurityAssociation::new(0x100, Algorithm::HmacMd5, b"fuzz", ReplayMode::default())
        .expect("valid SA");
    let ha_addr = Ipv4Addr::new(10, 0, 0, 1);
    let src = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 9), 434);

    let mut ha = HomeAgent::new(HaConfig::new(ha_addr, net, b"secret"));
    ha.add_sa_for_home(Ipv4Addr::new(10, 0, 0, 5), sa.clone());
    let before = ha.bindings().clone();
    let out = ha.handle_request(NOW, src, ha_addr, data);
    if !matches!(out.record.verdict, Verdict::Accepted { .. }) {
        assert_eq!(ha.bindings(), &before, "a refused request changed state");
    }
    let (snapshot, journal) = data.split_at(data.len() / 2);
    let _ = ha.restore_with_journal(snapshot, journal, NOW);

    let mut fa = ForeignAgent::new(FaConfig::new(
        Ipv4Addr::new(192, 0, 2, 20),
        24,
        Ipv4Addr::new(192, 0, 2, 20),
    ))
    .expect("valid FA config");
    let _ = fa.handle_visitor_request(NOW, src, data);
    let _ = fa.handle_ha_reply(NOW, SocketAddrV4::new(ha_addr, 434), data);
    let _ = fa.handle_solicitation(NOW, data);

    let mut config = MnConfig::new(Ipv4Addr::new(10, 0, 0, 5), ha_addr, net, [7; 32]);
    config.sa = Some(sa);
    let mut mn = MobileNode::new(config).expect("valid MN config");
    mn.handle_address_change(NOW, Some(Ipv4Addr::new(198, 51, 100, 5)));
    let _ = mn.handle_reply(NOW + 10, SocketAddrV4::new(ha_addr, 434), data);
    let _ = mn.handle_advertisement(NOW + 20, Ipv4Addr::new(192, 0, 2, 20), data);
    while mn.poll_transmit().is_some() {}
});
