//! The SIU protocol fed with arbitrary octets: the SIU and SIU-Ack views,
//! their `Repr`s, a gateway's `SiuReceiver` and a home agent's `SiuSender`,
//! each with one fixed key. Nothing panics; whatever frames re-emits to the
//! same octets (authenticator aside); nothing that fails authentication is
//! answered or moves the replay state.

#![no_main]

use std::net::Ipv4Addr;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use telsec_vpn::{
    AckPacket, AckRepr, HaGwKey, KeyRing, RefuseReason, SecurityInfoUpdate, SenderConfig,
    SiuOutcome, SiuPacket, SiuReceiver, SiuRepr, SiuSender,
};

const SPI: u32 = 0x1000;
// The clock of the seeds in fuzz/seeds/siu_message.
const NOW: u64 = 0xe800_0000_0000_0000;

fn ring() -> KeyRing {
    [HaGwKey::new(SPI, &[0x42; 32]).expect("valid key")]
        .into_iter()
        .collect()
}

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = SiuPacket::new_checked(data) {
        let _ = packet.to_string();
        if let Ok(repr) = SiuRepr::parse(&packet) {
            let again = repr.to_bytes().expect("a parsed SIU re-emits");
            let mac_at = data.len() - 32;
            assert_eq!(&again[..mac_at], &data[..mac_at]);
        }
    }
    if let Ok(packet) = AckPacket::new_checked(data) {
        let _ = packet.to_string();
        if let Ok(repr) = AckRepr::parse(&packet) {
            let again = repr.to_bytes().expect("a parsed Ack re-emits");
            // Reserved octets are re-emitted as zero.
            assert_eq!(again[0], data[0]);
            assert_eq!(&again[2..17], &data[2..17]);
            assert_eq!(&again[18..22], &data[18..22]);
        }
    }

    let mut gw = SiuReceiver::new(ring());
    match gw.handle(NOW, data) {
        SiuOutcome::Accepted { update, ack, .. } => {
            assert!(update.validate().is_ok());
            assert_eq!(ack.len(), 54);
            assert!(gw.replay().last(SPI).is_some());
        }
        SiuOutcome::Refused { ack, reason } => {
            let authenticated = matches!(reason, RefuseReason::Replay(_) | RefuseReason::Field(_));
            assert_eq!(ack.is_some(), authenticated);
            assert_eq!(gw.replay().last(SPI), None);
        }
        _ => {}
    }

    // A home agent with one SIU outstanding must not panic on any Ack.
    let mut ha = SiuSender::new(ring(), SenderConfig::default()).expect("config");
    let t = Instant::now();
    let update = SecurityInfoUpdate {
        home: Ipv4Addr::new(10, 0, 0, 7),
        old_coa: Ipv4Addr::new(192, 0, 2, 10),
        new_coa: Ipv4Addr::new(198, 51, 100, 20),
        new_port: 4500,
        lifetime: 1800,
        reply: vec![3; 20],
    };
    ha.send(t, NOW, SPI, update).expect("send");
    let _ = ha.handle_ack(t, NOW, data);
});
