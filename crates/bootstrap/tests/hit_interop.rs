//! HHITs (RFC 9374) checked against an independent cSHAKE128: PyCryptodome
//! computes the same tags from the same keys and hierarchy IDs.

use std::process::Command;

use telsec_bootstrap::{Hid, Hit};

/// Computed with PyCryptodome's `Cryptodome.Hash.cSHAKE128` (custom = the
/// HHIT context ID) for RAA 16376, HDA 20 and the key of 32 × 0x42.
const KNOWN: &str = "2001003ffe001405ff1341b3a5815218";

#[test]
fn known_answer() {
    let hit = Hit::for_ed25519(Hid::new(16376, 20).unwrap(), &[0x42; 32]);
    assert_eq!(hex::encode(hit.to_bytes()), KNOWN);
    assert_eq!(hit.to_string(), "2001:3f:fe00:1405:ff13:41b3:a581:5218");
}

#[test]
fn pycryptodome_computes_the_same_hits() {
    let have = Command::new("python3")
        .args(["-c", "from Cryptodome.Hash import cSHAKE128"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        have,
        "python3 with pycryptodomex is required (pip install pycryptodomex; .ci/run does)"
    );
    // Keys and hierarchies that exercise every bit of RAA/HDA.
    let cases: Vec<(u16, u16, [u8; 32])> = (0u8..24)
        .map(|i| {
            let raa = u16::from(i).wrapping_mul(683) & 0x3FFF;
            let hda = 0x3FFF - (u16::from(i).wrapping_mul(977) & 0x3FFF);
            let mut key = [0u8; 32];
            for (j, b) in key.iter_mut().enumerate() {
                *b = (j as u8).wrapping_mul(31).wrapping_add(i.wrapping_mul(7));
            }
            (raa, hda, key)
        })
        .collect();
    let input: String = cases
        .iter()
        .map(|(raa, hda, key)| format!("{raa} {hda} {}\n", hex::encode(key)))
        .collect();
    let script = r#"
import sys
from Cryptodome.Hash import cSHAKE128
ctx = bytes.fromhex("00B5A69C795DF5D5F0087F56843F2C40")
for line in sys.argv[1].splitlines():
    raa, hda, key = line.split()
    head = ((0x2001003 << 36) | (int(raa) << 22) | (int(hda) << 8) | 5).to_bytes(8, "big")
    h = cSHAKE128.new(custom=ctx)
    h.update(head + bytes.fromhex(key))
    print((head + h.read(8)).hex())
"#;
    let out = Command::new("python3")
        .args(["-c", script, &input])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<String> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(theirs.len(), cases.len());
    for ((raa, hda, key), their) in cases.iter().zip(&theirs) {
        let hid = Hid::new(*raa, *hda).unwrap();
        let ours = Hit::for_ed25519(hid, key);
        assert_eq!(&hex::encode(ours.to_bytes()), their, "RAA {raa} HDA {hda}");
        assert_eq!(ours.check_ed25519(key), Ok(hid));
    }
}
