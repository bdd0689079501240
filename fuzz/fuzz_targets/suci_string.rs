//! SUCI strings from the network: parsing never panics, what parses prints
//! back to a string that parses to the same SUCI, and de-concealment with a
//! home-network key fails cleanly on garbage.

#![no_main]

use libfuzzer_sys::fuzz_target;
use telsec_auth::suci::{HomeNetworkPrivateKey, Profile, Suci};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(suci) = Suci::parse(text) {
        let printed = suci.to_string();
        let again = Suci::parse(&printed).expect("a printed SUCI parses");
        assert_eq!(again.to_string(), printed);
        for profile in [Profile::A, Profile::B] {
            if let Ok(key) = HomeNetworkPrivateKey::from_bytes(profile, &[0x5a; 32]) {
                let _ = suci.deconceal_with(&key);
            }
        }
    }
});
