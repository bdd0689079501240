//! The key delivery decoders fed with arbitrary octets: the secured packet
//! framing, the key record, the MO requests, checksum/decipher with fixed
//! keys, and the node's whole unwrap path against a fixed soft USIM. Nothing
//! panics; whatever decodes re-encodes to the same octets; seal then open
//! returns any data unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use telsec_auth::milenage::Milenage;
use telsec_auth::usim::{CardAlgorithm, SoftUsim, UsimConfig};
use telsec_keydist::packet::Header;
use telsec_keydist::{
    KeyRecord, Packet, Receiver, ReceiverConfig, Repr, Request, TransportKeys, secure,
};

// MILENAGE test set 1 (TS 35.207): K and OPc.
const K: [u8; 16] = [
    0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f, 0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc,
];
const OPC: [u8; 16] = [
    0xcd, 0x63, 0xcb, 0x71, 0x95, 0x4a, 0x9f, 0x4e, 0x48, 0xa5, 0x99, 0x4e, 0x37, 0xa0, 0x2b, 0xaf,
];
const IMSI: &str = "001010000000001";

fuzz_target!(|data: &[u8]| {
    // Framing: a checked packet re-emits to the same octets.
    if let Ok(packet) = Packet::new_checked(data) {
        let _ = packet.to_string();
        let repr = Repr::parse(&packet).expect("a checked packet parses");
        assert_eq!(repr.to_bytes().expect("re-emit").as_slice(), data);
        // Decipher and checksum under fixed keys: an error, never a panic.
        let keys = TransportKeys::from_raw([0x11; 16], [0x22; 16]);
        let _ = secure::open(&keys, &packet);
    }
    if let Ok(record) = KeyRecord::parse(data) {
        let again = KeyRecord::parse(&record.to_bytes()).expect("re-encoded record parses");
        assert_eq!(again, record);
    }
    if let Ok(request) = Request::parse(data) {
        assert_eq!(request.to_bytes().as_slice(), data);
    }

    // Seal then open round trip of arbitrary secured data.
    let keys = TransportKeys::from_raw([0x33; 16], [0x44; 16]);
    let header = Header::keydist([0x55; 16], [0x66; 16]);
    if let Ok(sealed) = secure::seal(&keys, &header, 1, data) {
        let packet = Packet::new_checked(&sealed[..]).expect("sealed packet frames");
        let opened = secure::open(&keys, &packet).expect("sealed packet opens");
        assert_eq!(opened.counter, 1);
        assert_eq!(opened.data.as_slice(), data);
    }

    // The node's unwrap with a real card behind the APDU interface.
    let alg = Milenage::with_opc(&K, &OPC);
    let config = UsimConfig::new(IMSI, CardAlgorithm::Aka(Box::new(alg)));
    let Ok(mut card) = SoftUsim::new(config) else {
        return;
    };
    let Ok(mut node) = Receiver::new(ReceiverConfig::new(IMSI, 2, "ha.home.example.net")) else {
        return;
    };
    let before = node.snapshot();
    if node.unwrap(&mut card, data).is_err() {
        assert_eq!(node.snapshot(), before, "a rejected packet changes nothing");
    }
});
