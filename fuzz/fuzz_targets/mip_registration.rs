//! Mobile IPv4 registration messages and agent advertisements: decoding
//! never panics, what decodes re-encodes to an equal value, and
//! authentication checks on arbitrary octets only ever return errors.

#![no_main]

use libfuzzer_sys::fuzz_target;
use telsec_mip::{
    Algorithm, ExtensionType, Message, ReplayMode, RouterAdvertisement, SecurityAssociation, verify,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = Message::from_bytes(data) {
        let bytes = msg.to_vec().expect("a decoded message encodes");
        let again = Message::from_bytes(&bytes).expect("an encoded message decodes");
        assert_eq!(again, msg);
        let _ = format!("{msg:?}");
    }
    let sa = SecurityAssociation::new(0x100, Algorithm::HmacMd5, b"fuzz", ReplayMode::default())
        .expect("valid SA");
    for kind in [
        ExtensionType::MnHaAuth,
        ExtensionType::MnFaAuth,
        ExtensionType::FaHaAuth,
    ] {
        let _ = verify(data, kind, &sa);
    }
    if let Ok(adv) = RouterAdvertisement::from_bytes(data) {
        let bytes = adv.to_vec().expect("a decoded advertisement encodes");
        assert_eq!(
            RouterAdvertisement::from_bytes(&bytes).expect("decodes"),
            adv
        );
    }
});
