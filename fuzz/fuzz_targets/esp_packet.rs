//! The ESP data path's decoders on hostile input: the header view, the
//! RFC 3948 UDP classifier, outer datagram parsing, inner-packet selector
//! parsing, and the inbound open path of a fixed SA (both in place and into
//! a buffer), with and without ESN. None may panic, and a packet that fails
//! the ICV must leave the replay window exactly as it was.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use telsec_esp::trailer::Trailer;
use telsec_esp::udp_encap::{self, OuterDatagram, PayloadKind};
use telsec_esp::{
    Algorithm, Direction, Error, EspPacket, EspRepr, SaConfig, SecurityAssociation, inner,
};

const KEY: [u8; 20] = [0x5a; 20];
const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

fn start() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    *T0.get_or_init(Instant::now)
}

fn inbound(spi: u32, esn: bool) -> SecurityAssociation {
    let mut c = SaConfig::new(spi, Direction::Inbound, Algorithm::AesGcm128, &KEY, PEER);
    c.esn = esn;
    c.peer = Some(SocketAddr::new(PEER, 4500));
    c.initial_sequence = if esn { 0xffff_ff00 } else { 0 };
    SecurityAssociation::new(c, start()).expect("fixed SA config is valid")
}

fn open_all(esp: &[u8]) {
    let spi = match EspPacket::new_checked(esp) {
        Ok(p) => {
            let _ = (
                p.spi(),
                p.sequence_number(),
                p.payload().len(),
                p.to_string(),
            );
            let _ = EspRepr::parse(&p);
            p.spi()
        }
        Err(_) => 1,
    };
    if spi == 0 {
        return;
    }
    for esn in [false, true] {
        let mut sa = inbound(spi, esn);
        let before = sa.sequence();
        let mut copy = esp.to_vec();
        let r = sa.open_in_place(start(), PEER, &mut copy);
        if matches!(r, Err(Error::IcvMismatch)) {
            assert_eq!(sa.sequence(), before, "a forged packet moved the window");
        }
        if let Ok(o) = &r {
            assert!(o.inner.end <= copy.len());
        }
        let mut out = vec![0u8; SecurityAssociation::opened_buffer_len(esp.len())];
        let r = sa.open_into(start(), PEER, esp, &mut out);
        if let Ok(o) = r {
            assert!(o.inner.end <= out.len());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = Trailer::parse(data);
    let _ = inner::parse(data);
    match udp_encap::classify(data) {
        Ok(PayloadKind::Esp { .. }) => open_all(data),
        Ok(PayloadKind::Ike) => {
            let _ = udp_encap::ike_message(data);
        }
        Ok(PayloadKind::Keepalive) | Err(_) => {}
    }
    if let Ok(outer) = OuterDatagram::parse(data) {
        let payload = &data[outer.payload.clone()];
        let _ = udp_encap::classify(payload);
        open_all(payload);
    }
});
