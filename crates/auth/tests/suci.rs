//! SUCI concealment and de-concealment against TS 33.501 Annex C.4
//! (testdata/vectors/auth.toml [[suci]]): every intermediate value, both
//! directions, and the SUCI string layer on top.

use serde::Deserialize;
use telsec_auth::kdf::PlmnId;
use telsec_auth::suci::{
    self, HomeNetworkKeys, HomeNetworkPrivateKey, HomeNetworkPublicKey, Profile, ProtectionScheme,
    SchemeOutput, Suci, SuciError, SupiType, ecies,
};

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/vectors/auth.toml"
));

/// The IMSI-case scheme input of C.4.3.1/C.4.4.1: MSIN "001002086" in BCD.
const IMSI_PLAINTEXT: &str = "00012080f6";
const MSIN: &str = "001002086";

#[derive(Deserialize)]
struct Vectors {
    suci: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    annex: String,
    profile: String,
    hn_priv: String,
    hn_pub: String,
    eph_priv: String,
    eph_pub: String,
    shared_key: String,
    enc_key: String,
    icb: String,
    mac_key: String,
    plaintext: String,
    ciphertext: String,
    mac_tag: String,
    scheme_output: String,
}

fn entries() -> Vec<Entry> {
    let vectors: Vectors = toml::from_str(VECTORS).expect("auth.toml parses");
    assert_eq!(vectors.suci.len(), 4);
    vectors.suci
}

fn bytes(hex: &str) -> Vec<u8> {
    hex::decode(hex).expect("hex")
}

fn array<const N: usize>(hex: &str) -> [u8; N] {
    bytes(hex).try_into().expect("length")
}

fn profile(entry: &Entry) -> Profile {
    entry.profile.parse().expect("profile")
}

#[test]
fn home_network_public_keys() {
    for e in entries() {
        let private = HomeNetworkPrivateKey::from_hex(profile(&e), &e.hn_priv).expect("HN key");
        assert_eq!(private.profile(), profile(&e));
        assert_eq!(
            hex::encode(private.public_key().to_bytes()),
            e.hn_pub,
            "{}",
            e.annex
        );
        assert_eq!(hex::encode(*private.to_bytes()), e.hn_priv);
        let public = HomeNetworkPublicKey::from_hex(profile(&e), &e.hn_pub).expect("HN public key");
        assert_eq!(public, private.public_key());
    }
}

#[test]
fn intermediate_values_ue_side() {
    for e in entries() {
        let annex = &e.annex;
        let public = HomeNetworkPublicKey::from_hex(profile(&e), &e.hn_pub).expect("HN public key");
        let (eph_pub, shared) = public.shared_secret(&array(&e.eph_priv)).expect("ECDH");
        assert_eq!(
            hex::encode(&eph_pub),
            e.eph_pub,
            "{annex} ephemeral public key"
        );
        assert_eq!(hex::encode(*shared), e.shared_key, "{annex} shared key");
        let keys = ecies::derive_keys(&shared, &eph_pub);
        assert_eq!(hex::encode(keys.enc_key), e.enc_key, "{annex} enc key");
        assert_eq!(hex::encode(keys.icb), e.icb, "{annex} ICB");
        assert_eq!(hex::encode(keys.mac_key), e.mac_key, "{annex} MAC key");
        let mut data = bytes(&e.plaintext);
        ecies::apply_keystream(&keys, &mut data);
        assert_eq!(hex::encode(&data), e.ciphertext, "{annex} ciphertext");
        assert_eq!(
            hex::encode(ecies::mac_tag(&keys, &data)),
            e.mac_tag,
            "{annex} MAC tag"
        );
        let output =
            ecies::encrypt(&public, &array(&e.eph_priv), &bytes(&e.plaintext)).expect("encrypt");
        assert_eq!(
            hex::encode(output),
            e.scheme_output,
            "{annex} scheme output"
        );
    }
}

#[test]
fn intermediate_values_home_network_side() {
    for e in entries() {
        let annex = &e.annex;
        let private = HomeNetworkPrivateKey::from_hex(profile(&e), &e.hn_priv).expect("HN key");
        let shared = private.shared_secret(&bytes(&e.eph_pub)).expect("ECDH");
        assert_eq!(hex::encode(*shared), e.shared_key, "{annex} shared key");
        let keys = ecies::derive_keys(&shared, &bytes(&e.eph_pub));
        assert_eq!(hex::encode(keys.enc_key), e.enc_key, "{annex} enc key");
        assert_eq!(hex::encode(keys.icb), e.icb, "{annex} ICB");
        assert_eq!(hex::encode(keys.mac_key), e.mac_key, "{annex} MAC key");
        let mut data = bytes(&e.ciphertext);
        ecies::apply_keystream(&keys, &mut data);
        assert_eq!(hex::encode(&data), e.plaintext, "{annex} plaintext");
        let plaintext = ecies::decrypt(&private, &bytes(&e.scheme_output)).expect("decrypt");
        assert_eq!(hex::encode(&*plaintext), e.plaintext, "{annex} decrypt");
    }
}

/// The SUCI of each vector: for the IMSI case MSIN 001002086 under PLMN
/// 001-01; for the NAI case username "verylongusername1" at a realm.
fn suci_of(e: &Entry, key_id: u8) -> Suci {
    let public = HomeNetworkPublicKey::from_hex(profile(e), &e.hn_pub).expect("HN public key");
    let eph = array(&e.eph_priv);
    if e.plaintext == IMSI_PLAINTEXT {
        let plmn = PlmnId::new("001", "01").expect("PLMN");
        Suci::conceal_imsi(plmn, MSIN, "678", key_id, &public, &eph).expect("conceal IMSI")
    } else {
        let username = String::from_utf8(bytes(&e.plaintext)).expect("ASCII username");
        Suci::conceal_nai(
            SupiType::NetworkSpecific,
            &username,
            "example.com",
            "0",
            key_id,
            &public,
            &eph,
        )
        .expect("conceal NAI")
    }
}

fn expected_supi(e: &Entry) -> String {
    if e.plaintext == IMSI_PLAINTEXT {
        format!("imsi-00101{MSIN}")
    } else {
        format!(
            "nai-{}@example.com",
            String::from_utf8(bytes(&e.plaintext)).expect("ASCII")
        )
    }
}

#[test]
fn suci_strings_both_directions() {
    for e in entries() {
        let annex = &e.annex;
        let scheme_digit = if profile(&e) == Profile::A { 1 } else { 2 };
        let suci = suci_of(&e, 7);
        let text = suci.to_string();
        let expected_text = if e.plaintext == IMSI_PLAINTEXT {
            format!("suci-0-001-01-678-{scheme_digit}-7-{}", e.scheme_output)
        } else {
            format!("suci-1-example.com-0-{scheme_digit}-7-{}", e.scheme_output)
        };
        assert_eq!(text, expected_text, "{annex}");

        let parsed = Suci::parse(&text).expect("parse");
        assert_eq!(parsed, suci);
        assert_eq!(parsed.scheme(), profile(&e).scheme());
        assert_eq!(
            parsed.scheme_output(),
            &SchemeOutput::Concealed(bytes(&e.scheme_output))
        );

        let private = HomeNetworkPrivateKey::from_hex(profile(&e), &e.hn_priv).expect("HN key");
        let supi = parsed.deconceal_with(&private).expect("deconceal");
        assert_eq!(supi.to_string(), expected_supi(&e), "{annex}");

        // The CLI path: one call from profile, key hex and SUCI string.
        let supi = suci::deconceal_str(profile(&e), &e.hn_priv, &text).expect("deconceal_str");
        assert_eq!(supi.to_string(), expected_supi(&e), "{annex} CLI");
    }
}

#[test]
fn home_network_key_store() {
    let entries = entries();
    let mut keys = HomeNetworkKeys::new();
    // Profile A keys under 1, profile B under 2.
    let a = entries
        .iter()
        .find(|e| e.profile == "A")
        .expect("profile A entry");
    let b = entries
        .iter()
        .find(|e| e.profile == "B")
        .expect("profile B entry");
    keys.insert_hex(1, Profile::A, &a.hn_priv).expect("key A");
    keys.insert_hex(2, Profile::B, &b.hn_priv).expect("key B");
    assert_eq!(keys.len(), 2);
    let published: Vec<(u8, String)> = keys
        .public_keys()
        .map(|(id, key)| (id, hex::encode(key.to_bytes())))
        .collect();
    assert_eq!(
        published,
        vec![(1, a.hn_pub.clone()), (2, b.hn_pub.clone())]
    );

    for e in &entries {
        let id = if e.profile == "A" { 1 } else { 2 };
        let suci = suci_of(e, id);
        assert_eq!(
            keys.deconceal(&suci).expect("deconceal").to_string(),
            expected_supi(e)
        );
        // An identifier no key has
        assert_eq!(
            keys.deconceal(&suci_of(e, 9)),
            Err(SuciError::UnknownKeyId(9))
        );
        // The identifier of the key of the other profile
        let other = suci_of(e, 3 - id);
        assert!(matches!(
            keys.deconceal(&other),
            Err(SuciError::ProfileMismatch { .. })
        ));
    }
}

#[test]
fn wrong_key_or_tampering_fails_the_mac() {
    for e in entries() {
        let private = HomeNetworkPrivateKey::from_hex(profile(&e), &e.hn_priv).expect("HN key");
        let text = suci_of(&e, 1).to_string();
        // Flip one bit of each octet in turn after the ephemeral key.
        let output = bytes(&e.scheme_output);
        let start = profile(&e).ephemeral_key_len();
        for i in start..output.len() {
            let mut forged = output.clone();
            forged[i] ^= 0x01;
            assert_eq!(
                ecies::decrypt(&private, &forged),
                Err(SuciError::MacMismatch),
                "{} octet {i}",
                e.annex
            );
        }
        // Another key of the same profile
        let other = HomeNetworkPrivateKey::from_bytes(profile(&e), &[0x5a; 32]).expect("key");
        assert_eq!(
            Suci::parse(&text).expect("parse").deconceal_with(&other),
            Err(SuciError::MacMismatch)
        );
        // A key of the other profile is refused before any crypto.
        let wrong = if profile(&e) == Profile::A {
            Profile::B
        } else {
            Profile::A
        };
        assert!(matches!(
            suci::deconceal_str(wrong, &e.hn_priv, &text),
            Err(SuciError::ProfileMismatch { .. })
        ));
    }
}

#[test]
fn cli_path_errors() {
    let e = &entries()[0];
    let text = suci_of(e, 1).to_string();
    assert_eq!(
        suci::deconceal_str(Profile::A, "not hex", &text),
        Err(SuciError::InvalidKey)
    );
    assert_eq!(
        suci::deconceal_str(Profile::A, &e.hn_priv[..62], &text),
        Err(SuciError::InvalidKey)
    );
    assert!(matches!(
        suci::deconceal_str(Profile::A, &e.hn_priv, "suci-0-001"),
        Err(SuciError::Syntax(_))
    ));
    // Profile B scalar out of range (the group order n).
    let n = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
    assert_eq!(
        HomeNetworkPrivateKey::from_hex(Profile::B, n).err(),
        Some(SuciError::InvalidKey)
    );
    // A null-scheme SUCI needs no de-concealment.
    let supi = suci::deconceal_str(Profile::A, &e.hn_priv, "suci-0-001-01-0-0-0-0123456789")
        .expect("null");
    assert_eq!(supi.to_string(), "imsi-001010123456789");
    assert_eq!(supi.value(), "001010123456789");
}

#[test]
fn unsupported_scheme_is_reported() {
    let e = &entries()[0];
    let text = format!("suci-0-001-01-0-5-1-{}", e.scheme_output);
    let parsed = Suci::parse(&text).expect("parse");
    assert_eq!(parsed.scheme(), ProtectionScheme::Unknown(5));
    let private = HomeNetworkPrivateKey::from_hex(Profile::A, &e.hn_priv).expect("key");
    assert_eq!(
        parsed.deconceal_with(&private),
        Err(SuciError::UnsupportedScheme(5))
    );
    let mut keys = HomeNetworkKeys::new();
    keys.insert(1, private);
    assert_eq!(
        keys.deconceal(&parsed),
        Err(SuciError::UnsupportedScheme(5))
    );
}

/// A second implementation: the SUCI code of the oxirush-security crate
/// (written independently from TS 33.501 / TS 24.501). SUCIs concealed here
/// are de-concealed there and the other way round; the two meet in the
/// 5GS mobile identity octets of TS 24.501 §9.11.3.4, converted below.
mod cross_check_oxirush {
    use oxirush_security::Plmn;
    use oxirush_security::identity::RoutingIndicator;
    use oxirush_security::nas_5gs::{
        HomeNetwork, HomeNetworkPrivateKey as OxPrivate, HomeNetworkPublicKey as OxPublic,
        Protection, SchemeOutput as OxOutput, Suci as OxSuci,
    };
    use telsec_auth::kdf::PlmnId;
    use telsec_auth::suci::{HomeNetworkPrivateKey, Profile, SchemeOutput, Suci};

    /// TS 24.501 §9.11.3.4 SUCI (IMSI, SUPI format 0) from our parsed SUCI.
    fn nas_octets(suci: &Suci, plmn: &PlmnId) -> Vec<u8> {
        let mut octets = vec![0x01]; // SUPI format IMSI, type of identity SUCI
        octets.extend_from_slice(&plmn.to_bytes());
        let mut ri = [0x0fu8; 4];
        for (slot, digit) in ri.iter_mut().zip(suci.routing_indicator().bytes()) {
            *slot = digit - b'0';
        }
        octets.push((ri[1] << 4) | ri[0]);
        octets.push((ri[3] << 4) | ri[2]);
        octets.push(suci.scheme().value());
        octets.push(suci.hn_key_id());
        match suci.scheme_output() {
            SchemeOutput::Concealed(bytes) => octets.extend_from_slice(bytes),
            SchemeOutput::Clear(_) => panic!("only concealed SUCIs are cross-checked"),
        }
        octets
    }

    /// Our SUCI string from an oxirush SUCI of an IMSI.
    fn suci_string(suci: &OxSuci) -> String {
        let HomeNetwork::Plmn(plmn) = suci.home_network() else {
            panic!("IMSI SUCI")
        };
        let OxOutput::Ecies {
            ephemeral_public_key,
            ciphertext,
            mac_tag,
        } = suci.scheme_output()
        else {
            panic!("ECIES output")
        };
        format!(
            "suci-0-{}-{}-{}-{}-{}-{}{}{}",
            plmn.mcc(),
            plmn.mnc(),
            suci.routing_indicator(),
            suci.protection_scheme().identifier(),
            suci.home_network_public_key_id(),
            hex::encode(ephemeral_public_key),
            hex::encode(ciphertext),
            hex::encode(mac_tag),
        )
    }

    fn keys(profile: Profile, seed: u8) -> (HomeNetworkPrivateKey, OxPrivate) {
        let octets = [seed; 32];
        let ours = HomeNetworkPrivateKey::from_bytes(profile, &octets).expect("key");
        let theirs = match profile {
            Profile::A => OxPrivate::profile_a(&octets),
            Profile::B => OxPrivate::profile_b(&octets).expect("oxirush key"),
        };
        (ours, theirs)
    }

    #[test]
    fn ours_deconcealed_by_oxirush() {
        for profile in [Profile::A, Profile::B] {
            for seed in 1..=20u8 {
                let (ours, theirs) = keys(profile, seed);
                assert_eq!(
                    ours.public_key().to_bytes(),
                    theirs.public_key().to_octets()
                );
                let mnc = if seed % 2 == 0 { "01" } else { "001" };
                let plmn = PlmnId::new("999", mnc).expect("PLMN");
                let msin: String = (0..(15 - 3 - mnc.len() - usize::from(seed % 3)))
                    .map(|i| char::from(b'0' + ((i as u8 + seed) % 10)))
                    .collect();
                let ri = &"4321"[..1 + usize::from(seed % 4)];
                let eph = [seed.wrapping_mul(7).wrapping_add(1); 32];
                let suci = Suci::conceal_imsi(plmn, &msin, ri, seed, &ours.public_key(), &eph)
                    .expect("conceal");
                let ox =
                    OxSuci::from_nas_octets(&nas_octets(&suci, &plmn)).expect("oxirush parses");
                let supi = ox.deconceal(Some(&theirs)).expect("oxirush deconceals");
                assert_eq!(supi.to_string(), format!("imsi-999{mnc}{msin}"));
                assert_eq!(
                    supi.to_string(),
                    suci.deconceal_with(&ours)
                        .expect("we deconceal")
                        .to_string()
                );
            }
        }
    }

    #[test]
    fn oxirush_deconcealed_by_us() {
        for profile in [Profile::A, Profile::B] {
            for seed in 1..=20u8 {
                let (ours, theirs) = keys(profile, seed);
                let public: OxPublic = theirs.public_key();
                let mnc = if seed % 2 == 0 { "93" } else { "093" };
                let plmn = Plmn::new("208", mnc).expect("PLMN");
                let msin = format!(
                    "{:0width$}",
                    u32::from(seed) * 97_531,
                    width = 12 - mnc.len()
                );
                let ri = RoutingIndicator::new("17").expect("RI");
                let protection = Protection::Ecies {
                    key_id: seed,
                    key: &public,
                };
                let ox =
                    OxSuci::conceal_imsi(plmn, &msin, ri, protection).expect("oxirush conceals");
                let text = suci_string(&ox);
                let supi = Suci::parse(&text)
                    .expect("we parse")
                    .deconceal_with(&ours)
                    .expect("we deconceal");
                assert_eq!(supi.to_string(), format!("imsi-208{}{msin}", plmn.mnc()));
                assert_eq!(
                    supi.to_string(),
                    ox.deconceal(Some(&theirs)).expect("oxirush").to_string()
                );
            }
        }
    }
}
