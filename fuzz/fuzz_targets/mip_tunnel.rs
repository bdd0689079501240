//! The Mobile IP data path's decoders: RFC 3519 tunnel data, IP in IP,
//! the inner IPv4 view, TTL decrement and the keep-alive echo. None may
//! panic, and a TTL decrement keeps the header checksum valid.

#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use telsec_mip::tunnel::{self, Ipv4Packet};

fuzz_target!(|data: &[u8]| {
    if let Ok(inner) = tunnel::open_udp_data(data) {
        let _ = tunnel::udp_payload(&inner);
        let _ = tunnel::echo_reply(&inner, inner.dst());
    }
    if let Ok((outer, inner)) = tunnel::open_ipip(data) {
        let _ = (outer.src(), inner.dst(), inner.payload().len());
    }
    if let Ok(p) = Ipv4Packet::new_checked(data) {
        let mut copy = p.as_bytes().to_vec();
        if tunnel::decrement_ttl(&mut copy).is_ok() {
            let after = Ipv4Packet::new_checked(&copy).expect("still a valid header");
            assert_eq!(after.ttl() + 1, p.ttl());
        }
        let _ = tunnel::echo_reply(&p, Ipv4Addr::new(192, 0, 2, 1));
    }
});
