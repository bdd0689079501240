//! Arbitrary octets never panic any decoder, and whatever decodes
//! re-encodes to something that decodes to the same value.

use telsec_mip::{
    Algorithm, ExtensionType, Message, ReplayMode, RouterAdvertisement, SecurityAssociation, verify,
};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn exercise(data: &[u8], sa: &SecurityAssociation) -> bool {
    let mut ok = false;
    if let Ok(m) = Message::from_bytes(data) {
        ok = true;
        let bytes = m.to_vec().expect("a decoded message encodes");
        assert_eq!(Message::from_bytes(&bytes).as_ref(), Ok(&m));
    }
    for kind in [
        ExtensionType::MnHaAuth,
        ExtensionType::MnFaAuth,
        ExtensionType::FaHaAuth,
    ] {
        let _ = verify(data, kind, sa);
    }
    if let Ok(a) = RouterAdvertisement::from_bytes(data) {
        let bytes = a.to_vec().expect("a decoded advertisement encodes");
        assert_eq!(RouterAdvertisement::from_bytes(&bytes).as_ref(), Ok(&a));
    }
    ok
}

#[test]
fn random_bytes_never_panic() {
    let sa = SecurityAssociation::new(0x1000, Algorithm::HmacMd5, b"k", ReplayMode::default())
        .expect("SA");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut decoded = 0;
    for _ in 0..200_000 {
        let len = (rng.next() % 96) as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Bias towards plausible headers so the extension paths are reached.
        if let Some(b) = buf.first_mut() {
            *b = [1, 3, 9, 1, 3][(rng.next() % 5) as usize];
        }
        if buf.len() > 24 && rng.next().is_multiple_of(2) {
            buf[24] = [32, 33, 34, 36, 38, 44, 131, 144][(rng.next() % 8) as usize];
        }
        if exercise(&buf, &sa) {
            decoded += 1;
        }
    }
    assert!(
        decoded > 1000,
        "random input should sometimes decode ({decoded})"
    );
}

#[test]
fn every_truncation_of_a_valid_message_is_an_error_not_a_panic() {
    let sa = SecurityAssociation::new(0x1000, Algorithm::HmacMd5, b"k", ReplayMode::default())
        .expect("SA");
    let mut msg = vec![
        1, 0, 0, 60, 10, 0, 0, 5, 10, 0, 0, 1, 192, 0, 2, 7, 0, 0, 0, 0, 0, 0, 0, 1,
    ];
    msg.extend_from_slice(&[36, 1, 0, 2, 0xaa, 0xbb, 144, 6, 0, 0, 0x80, 4, 0, 0]);
    telsec_mip::append_signature(&mut msg, ExtensionType::MnHaAuth, &sa).expect("signs");
    assert!(verify(&msg, ExtensionType::MnHaAuth, &sa).is_ok());
    for cut in 0..msg.len() {
        assert!(
            Message::from_bytes(&msg[..cut]).is_err() || cut == 24 || cut == 30 || cut == 38,
            "cut {cut}"
        );
        assert!(verify(&msg[..cut], ExtensionType::MnHaAuth, &sa).is_err());
    }
}
