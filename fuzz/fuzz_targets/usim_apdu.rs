//! The soft USIM's APDU decoder and command handling: any byte string is a
//! command APDU from a hostile terminal; the card answers with a status word
//! and never panics. The input is split into several APDUs so that state
//! (selected file, pending GET RESPONSE data) is exercised too.

#![no_main]

use libfuzzer_sys::fuzz_target;
use telsec_auth::milenage::Milenage;
use telsec_auth::usim::{CardAlgorithm, Command, Response, SoftUsim, UsimConfig};

fuzz_target!(|data: &[u8]| {
    let _ = Command::parse(data);
    let _ = Response::parse(data);
    let alg = Milenage::with_opc(&[0x46; 16], &[0xcd; 16]);
    let config = UsimConfig::new("001010123456789", CardAlgorithm::Aka(Box::new(alg)));
    let Ok(mut card) = SoftUsim::new(config) else {
        return;
    };
    // A 0xff byte separates APDUs.
    for apdu in data.split(|&b| b == 0xff) {
        let response = card.process(apdu);
        assert!(response.to_bytes().len() >= 2, "every answer ends with SW1 SW2");
    }
});
