//! Known-answer tests: the complete ESP packets of draft-mcgrew-gcm-test-01
//! §4, sealed and opened byte for byte through `GcmKey`.

use serde::Deserialize;
use telsec_esp::trailer::Trailer;
use telsec_esp::{Algorithm, Error, GcmKey, SeqNum};

#[derive(Deserialize)]
struct File {
    source: String,
    section: String,
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    page: u32,
    key: String,
    spi: String,
    seq: String,
    nonce: String,
    plaintext: String,
    aad: String,
    ctext_tag: String,
    packet: String,
}

fn unhex(s: &str) -> Vec<u8> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(compact).expect("hex in vector file")
}

fn load() -> File {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/gcm_esp_vectors.toml"
    ))
    .expect("vector file");
    toml::from_str(&text).expect("vector file parses")
}

#[test]
fn draft_mcgrew_gcm_test_01_section_4() {
    let file = load();
    assert_eq!(file.source, "draft-mcgrew-gcm-test-01");
    assert_eq!(file.section, "4. Test Cases");
    assert_eq!(file.case.len(), 15, "every 128/256-bit AES-GCM-ESP case");
    let mut esn_cases = 0;
    for c in &file.case {
        let page = c.page;
        let key = unhex(&c.key);
        let spi_bytes = unhex(&c.spi);
        let seq_bytes = unhex(&c.seq);
        let nonce = unhex(&c.nonce);
        let plaintext = unhex(&c.plaintext);
        let packet = unhex(&c.packet);
        let ctext_tag = unhex(&c.ctext_tag);

        let algorithm = match key.len() {
            16 => Algorithm::AesGcm128,
            32 => Algorithm::AesGcm256,
            n => panic!("page {page}: unexpected key length {n}"),
        };
        let spi = u32::from_be_bytes(spi_bytes.clone().try_into().unwrap());
        let seq = match seq_bytes.len() {
            4 => SeqNum::Short(u32::from_be_bytes(seq_bytes.clone().try_into().unwrap())),
            8 => {
                esn_cases += 1;
                SeqNum::Extended(u64::from_be_bytes(seq_bytes.clone().try_into().unwrap()))
            }
            n => panic!("page {page}: sequence number of {n} octets"),
        };
        let esn_high = match seq {
            SeqNum::Short(_) => None,
            SeqNum::Extended(s) => Some((s >> 32) as u32),
        };
        // RFC 4106 §5: AAD = SPI || seq (32-bit) or SPI || high || low (ESN).
        let aad: Vec<u8> = spi_bytes.iter().chain(&seq_bytes).copied().collect();
        assert_eq!(aad, unhex(&c.aad), "page {page}: AAD rule");
        // RFC 4106 §4: nonce = salt || IV; key material = key || salt.
        let (salt, iv) = nonce.split_at(4);
        let iv: [u8; 8] = iv.try_into().unwrap();
        let key_material: Vec<u8> = key.iter().chain(salt).copied().collect();
        let gcm = GcmKey::new(algorithm, &key_material).unwrap();

        // The plaintext's trailer uses the default padding 1, 2, ... and the
        // minimal length, which is what sealing produces.
        let t = Trailer::parse(&plaintext).unwrap_or_else(|e| panic!("page {page}: {e}"));
        let payload = &plaintext[..t.payload_len];

        let mut out = vec![0u8; GcmKey::sealed_len(payload.len())];
        let n = gcm
            .seal(spi, seq, iv, t.next_header, payload, &mut out)
            .unwrap();
        assert_eq!(n, packet.len(), "page {page}: packet length");
        assert_eq!(
            hex::encode(&out[..n]),
            hex::encode(&packet),
            "page {page}: sealed packet"
        );
        assert_eq!(
            &packet[16..],
            &ctext_tag[..],
            "page {page}: packet carries ctext+tag"
        );
        assert_eq!(
            &packet[4..8],
            &seq_bytes[seq_bytes.len() - 4..],
            "page {page}: low half on the wire"
        );

        let mut in_place = packet.clone();
        let plain = gcm.open_in_place(&mut in_place, esn_high).unwrap();
        assert_eq!(
            &in_place[plain.payload.clone()],
            payload,
            "page {page}: open in place"
        );
        assert_eq!(plain.next_header, t.next_header);

        let mut into = vec![0u8; GcmKey::opened_buffer_len(packet.len())];
        let plain = gcm.open_into(&packet, esn_high, &mut into).unwrap();
        assert_eq!(&into[plain.payload], payload, "page {page}: open into");

        // The wrong ESN high half, or none, must fail the ICV.
        let wrong = match esn_high {
            None => Some(0),
            Some(h) => Some(h.wrapping_add(1)),
        };
        assert_eq!(
            gcm.open_in_place(&mut packet.clone(), wrong),
            Err(Error::IcvMismatch),
            "page {page}"
        );
        if esn_high.is_some_and(|h| h != 0) {
            assert_eq!(
                gcm.open_in_place(&mut packet.clone(), None),
                Err(Error::IcvMismatch),
                "page {page}"
            );
        }
        // Any flipped bit in the tag fails.
        let mut bad = packet.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x80;
        assert_eq!(
            gcm.open_in_place(&mut bad, esn_high),
            Err(Error::IcvMismatch),
            "page {page}"
        );
    }
    assert_eq!(esn_cases, 11, "the draft's extended-sequence-number cases");
}
