//! The soft USIM at the byte level (TS 102 221, TS 31.102): SELECT, READ
//! BINARY, AUTHENTICATE and GET RESPONSE with exact response bytes and status
//! words, malformed APDUs, PIN1, a 2G COMP128 card, and the typed client.

use telsec_auth::aka::{generate_vector, resync};
use telsec_auth::comp128::Comp128Version;
use telsec_auth::milenage::Milenage;
use telsec_auth::sqn::{Sqn, SqnPolicy, SqnState};
use telsec_auth::usim::{
    Auth3g, CardAlgorithm, ClientError, GsmAuth, Ki, SoftUsim, StatusWord, UsimClient, UsimConfig,
};

fn h(s: &str) -> Vec<u8> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(&clean).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn arr<const N: usize>(s: &str) -> [u8; N] {
    h(s).try_into()
        .unwrap_or_else(|_| panic!("{s}: want {N} bytes"))
}

// [[milenage.autn]] from osmo-hlr auc_test (SQN 32).
const K1: &str = "eb215756028d60e3275e613320aec880";
const OPC1: &str = "fb2a3d1b360f599abab99db8669f8308";
const RAND1: &str = "39fa2f4e3d523d8619a73b4f65c3e14d";
const AUTN1: &str = "8704f5ba55d30000541dde77ea5b1d8c";

fn milenage1() -> Milenage {
    Milenage::with_opc(&arr(K1), &arr(OPC1))
}

fn card_with(alg: CardAlgorithm, pin: Option<&str>, sqn: Option<SqnState>) -> SoftUsim {
    let mut config = UsimConfig::new("001010123456789", alg);
    config.iccid = "89882110000000000017".into();
    config.pin1 = pin.map(str::to_owned);
    if let Some(sqn) = sqn {
        config.sqn = sqn;
    }
    SoftUsim::new(config).unwrap_or_else(|e| panic!("{e}"))
}

fn usim() -> SoftUsim {
    card_with(CardAlgorithm::Aka(Box::new(milenage1())), None, None)
}

/// Send hex, expect hex (data followed by SW).
fn tx(card: &mut SoftUsim, apdu: &str, expect: &str) {
    let got = card.process(&h(apdu)).to_bytes();
    assert_eq!(
        hex::encode_upper(&got),
        hex::encode_upper(h(expect)),
        "APDU {apdu}"
    );
}

#[test]
fn select_mf_returns_fcp_via_get_response() {
    let mut card = usim();
    tx(&mut card, "00A40004023F00", "611A");
    tx(
        &mut card,
        "00C000001A",
        "6218 82027821 83023F00 8A0105 8B032F0601 C606900100830101 9000",
    );
    // The data is gone after it was fetched.
    tx(&mut card, "00C000001A", "6985");
}

#[test]
fn get_response_length_handling() {
    let mut card = usim();
    tx(&mut card, "00A40004023F00", "611A");
    // Too long: 6C with the right length, data kept.
    tx(&mut card, "00C0000020", "6C1A");
    // Shorter: the first part, then 61 for the rest.
    tx(&mut card, "00C0000004", "62188202 6116");
    tx(
        &mut card,
        "00C0000016",
        "7821 83023F00 8A0105 8B032F0601 C606900100830101 9000",
    );
    // Any other command in between drops waiting data.
    tx(&mut card, "00A40004023F00", "611A");
    tx(&mut card, "00A4000C023F00", "9000");
    tx(&mut card, "00C000001A", "6985");
    // GET RESPONSE needs P1 P2 = 00 00 and Le.
    tx(&mut card, "00A40004023F00", "611A");
    tx(&mut card, "00C0010000", "6B00");
    tx(&mut card, "00C00000", "6700");
}

#[test]
fn select_usim_by_aid_and_read_imsi() {
    let mut card = usim();
    tx(&mut card, "00A4040407A0000000871002", "612C");
    tx(
        &mut card,
        "00C000002C",
        "622A 82027821 83027FFF 8410A0000000871002FFFFFFFF8901000001 8A0105 8B032F0601 \
         C606900100830101 9000",
    );
    tx(&mut card, "00A40004026F07", "6119");
    tx(
        &mut card,
        "00C0000019",
        "6217 82024121 83026F07 8A0105 8B036F0602 80020009 880138 9000",
    );
    tx(&mut card, "00B0000009", "080910101032547698 9000");
    // Part of the file, from an offset.
    tx(&mut card, "00B0000306", "101032547698 9000");
    // Le beyond the end: 6C with what is left; offset at/after the end: 6B00.
    tx(&mut card, "00B000000A", "6C09");
    tx(&mut card, "00B0000500", "6C04");
    tx(&mut card, "00B0000901", "6B00");
    tx(&mut card, "00B0800001", "6B00");
    // EF_AD, by FID and by SFI 03; EF_IMSI by SFI 07.
    tx(&mut card, "00A4000C026FAD", "9000");
    tx(&mut card, "00B0000004", "00000002 9000");
    tx(&mut card, "00B0870009", "080910101032547698 9000");
    tx(&mut card, "00B0830004", "00000002 9000");
    tx(&mut card, "00B0850001", "6A82");
    // 7FFF is the current application.
    tx(&mut card, "00A4000C027FFF", "9000");
    tx(&mut card, "00A4080C047FFF6F07", "9000");
    tx(&mut card, "00B0000001", "08 9000");
}

#[test]
fn select_paths_and_errors() {
    let mut card = usim();
    // Path from MF to DF_GSM/EF_IMSI and ICCID.
    tx(&mut card, "00A4080C047F206F07", "9000");
    tx(&mut card, "00B0000009", "080910101032547698 9000");
    tx(&mut card, "00A4000C022FE2", "9000");
    tx(&mut card, "00B000000A", "98881201000000000071 9000");
    // Parent of DF_GSM is the MF; the MF has no parent.
    tx(&mut card, "00A4000C027F20", "9000");
    tx(&mut card, "00A4030C", "9000");
    tx(&mut card, "00A4030C", "6A82");
    // 7FFF without an active application, unknown FID, unknown AID, short AID.
    tx(&mut card, "00A4000C027FFF", "6A82");
    tx(&mut card, "00A4000C026F07", "6A82");
    tx(&mut card, "00A4040C07A0000000871004", "6A82");
    tx(&mut card, "00A4040C04A0000000", "6A82");
    // Lengths and parameters.
    tx(&mut card, "00A4000C033F0000", "6700");
    tx(&mut card, "00A4080C037F2000", "6700");
    tx(&mut card, "00A4050C023F00", "6B00");
    tx(&mut card, "00A40008023F00", "6B00");
    tx(&mut card, "00A40001023F00", "6B00");
    // No EF selected after selecting a DF.
    tx(&mut card, "00A4000C023F00", "9000");
    tx(&mut card, "00B0000001", "6986");
    // A failed SELECT keeps the previous selection.
    tx(&mut card, "00A4000C022FE2", "9000");
    tx(&mut card, "00A4000C021234", "6A82");
    tx(&mut card, "00B0000001", "98 9000");
}

#[test]
fn status_command() {
    let mut card = usim();
    tx(&mut card, "80F2000C", "9000");
    tx(&mut card, "80F2000000", "6C1A");
    tx(
        &mut card,
        "80F200001A",
        "6218 82027821 83023F00 8A0105 8B032F0601 C606900100830101 9000",
    );
    tx(&mut card, "00A4040C07A0000000871002", "9000");
    tx(
        &mut card,
        "80F2000112",
        "8410A0000000871002FFFFFFFF8901000001 9000",
    );
    tx(&mut card, "80F2000900", "6B00");
    tx(&mut card, "00F2000000", "6D00");
}

fn select_adf(card: &mut SoftUsim) {
    tx(card, "00A4040C07A0000000871002", "9000");
}

#[test]
fn authenticate_3g_success_sync_failure_and_mac_failure() {
    let mut card = usim();
    select_adf(&mut card);
    let cmd = format!("008800812210{RAND1}10{AUTN1}");
    tx(&mut card, &cmd, "6135");
    tx(
        &mut card,
        "00C0000035",
        "DB08e229c19e791f2e41 10f64735036e5871319c679f4742a75ea1 \
         1027497388b6cb044648f396aa155b95ef 08059a4f668f6fbe39 9000",
    );
    // The same challenge again: authentic but replayed -> DC 0E AUTS.
    tx(&mut card, &cmd, "6110");
    let resp = card.process(&h("00C0000010"));
    assert_eq!(resp.sw, StatusWord::OK);
    assert_eq!(&resp.data[..2], &[0xDC, 0x0E]);
    // SQN_MS = 0x20 xor AK* (979498b1f73a, [[milenage.auts]] entry 1).
    assert_eq!(hex::encode(&resp.data[2..8]), "979498b1f71a");
    let auts: [u8; 14] = resp.data[2..].try_into().unwrap_or([0; 14]);
    assert_eq!(
        resync(&milenage1(), &arr(RAND1), &auts),
        Ok(Sqn::new(0x20).unwrap_or(Sqn::MAX))
    );
    // A flipped MAC bit: 98 62 and no data.
    let mut bad = h(&cmd);
    bad[38] ^= 0x01;
    assert_eq!(card.process(&bad).to_bytes(), vec![0x98, 0x62]);
    // With Le (case 4) the answer is the same: 61 xx.
    let v = generate_vector(
        &milenage1(),
        &arr(RAND1),
        Sqn::new(0x41).unwrap_or(Sqn::MAX),
        &[0, 0],
    );
    let mut case4 = h(&format!("008800812210{RAND1}10"));
    case4.extend_from_slice(&v.autn);
    case4.push(0x00);
    assert_eq!(card.process(&case4).to_bytes(), vec![0x61, 0x35]);
}

/// [[milenage.auts]] entry 2 (libosmocore milenage_test): a USIM at SQN 31
/// (SEQ 0, IND 31) with K = OPc = 000102..0f and RAND = 0 answers a stale
/// challenge with AUTS 8711a0ec9e1637df17f80b384ee4, and accepts the SQN 34
/// vector of [[milenage.autn]] entry 3 with its exact RES, CK, IK and Kc.
#[test]
fn authenticate_3g_with_libosmocore_vectors() {
    let key = arr::<16>("000102030405060708090a0b0c0d0e0f");
    let alg = Milenage::with_opc(&key, &key);
    let at_31 = SqnState::from_parts(
        SqnPolicy::default(),
        Sqn::new(31).unwrap_or(Sqn::MAX),
        &[0; 32],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut card = card_with(CardAlgorithm::Aka(Box::new(alg.clone())), None, Some(at_31));
    select_adf(&mut card);
    let rand = [0u8; 16];
    let stale = generate_vector(&alg, &rand, Sqn::new(7).unwrap_or(Sqn::MAX), &[0, 0]);
    let mut cmd = h("0088008122 10 00000000000000000000000000000000 10");
    cmd.extend_from_slice(&stale.autn);
    tx(&mut card, &hex::encode(&cmd), "6110");
    tx(
        &mut card,
        "00C0000010",
        "DC0E 8711a0ec9e1637df17f80b384ee4 9000",
    );
    tx(
        &mut card,
        "0088008122 10 00000000000000000000000000000000 10 ec9320c2c2120000c8b7de2a3449f1bd",
        "6135",
    );
    tx(
        &mut card,
        "00C0000035",
        "DB08e9fc88ccc8a35381 107200a184d8f2c758fbdf87900ddbf275 \
         1012cb2dd3e0ec8378f6fc1d606c619f47 086de816a759a42912 9000",
    );
    assert_eq!(card.sqn_state().sqn_ms(), Sqn::new(34).unwrap_or(Sqn::MAX));
}

#[test]
fn authenticate_gsm_context() {
    let mut card = usim();
    select_adf(&mut card);
    tx(&mut card, &format!("008800801110{RAND1}"), "610E");
    // sres_c2 / kc_c3 of the osmo-hlr [[milenage.autn]] entry.
    tx(
        &mut card,
        "00C000000E",
        "049b36efdf 08059a4f668f6fbe39 9000",
    );
    // Also allowed under DF_GSM.
    tx(&mut card, "00A4080C027F20", "9000");
    tx(&mut card, &format!("008800801110{RAND1}"), "610E");
    // 3G context is not available under DF_GSM.
    tx(&mut card, &format!("008800812210{RAND1}10{AUTN1}"), "6985");
}

#[test]
fn authenticate_errors() {
    let mut card = usim();
    let gsm = format!("008800801110{RAND1}");
    // No application selected.
    tx(&mut card, &gsm, "6985");
    select_adf(&mut card);
    tx(&mut card, &format!("008801801110{RAND1}"), "6B00");
    tx(&mut card, &format!("008800841110{RAND1}"), "9864");
    tx(&mut card, &format!("008800011110{RAND1}"), "6B00");
    // Wrong Lc for the context, wrong inner length byte.
    tx(&mut card, &format!("008800811110{RAND1}"), "6700");
    tx(&mut card, &format!("008800801210{RAND1}00"), "6700");
    tx(&mut card, &format!("008800801111{RAND1}"), "6A80");
    tx(&mut card, &format!("008800812210{RAND1}0F{AUTN1}"), "6A80");
    tx(&mut card, "0088008000", "6700");
}

#[test]
fn malformed_apdus_never_panic() {
    let mut card = usim();
    assert_eq!(card.process(&[]).to_bytes(), vec![0x67, 0x00]);
    assert_eq!(card.process(&[0x00]).to_bytes(), vec![0x67, 0x00]);
    tx(&mut card, "00A400", "6700");
    tx(&mut card, "A0A40000023F00", "6E00");
    tx(&mut card, "FFA40000023F00", "6E00");
    tx(&mut card, "01A4000C023F00", "6881");
    tx(&mut card, "04A4000C023F00", "6882");
    tx(&mut card, "00120000", "6D00");
    tx(&mut card, "80A4000C023F00", "6D00");
    tx(&mut card, "00A4000C033F00", "6700");
    tx(&mut card, "00A4000C00", "6700");
    tx(&mut card, "00A4000C003F00", "6700");
    tx(&mut card, "00B00000", "6700");
    // Every short prefix of every kind of command, and a deterministic
    // scramble of many more: always a status word, never a panic.
    let samples = [
        h(&format!("008800812210{RAND1}10{AUTN1}00")),
        h("00A4040407A0000000871002"),
        h("00B0000009"),
        h("00200001083132333435FFFFFF"),
    ];
    for s in &samples {
        for cut in 0..=s.len() {
            let resp = card.process(&s[..cut]);
            assert_eq!(resp.to_bytes().len(), resp.data.len() + 2);
        }
    }
    let mut x: u32 = 0x1234_5678;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let len = (x % 40) as usize;
        let ins = [0xA4, 0xB0, 0x88, 0xC0, 0x20, 0xF2][(x >> 8) as usize % 6];
        let bytes: Vec<u8> = (0..len)
            .map(|i| match i {
                0 => [0x00, 0x80][(x >> 16) as usize % 2],
                1 => ins,
                _ => (x.rotate_left(i as u32 * 7) & 0xff) as u8,
            })
            .collect();
        let resp = card.process(&bytes);
        assert!(resp.sw.0 != 0, "{bytes:02x?}");
    }
}

#[test]
fn pin1_guards_imsi_and_authentication() {
    let mut card = card_with(
        CardAlgorithm::Aka(Box::new(milenage1())),
        Some("1234"),
        None,
    );
    // The FCP announces PIN1 as enabled (PS_DO 80).
    tx(&mut card, "00A40004023F00", "611A");
    tx(
        &mut card,
        "00C000001A",
        "6218 82027821 83023F00 8A0105 8B032F0601 C606900180830101 9000",
    );
    select_adf(&mut card);
    tx(&mut card, "00A4000C026F07", "9000");
    tx(&mut card, "00B0000009", "6982");
    tx(&mut card, &format!("008800801110{RAND1}"), "6982");
    // EF_AD needs no PIN.
    tx(&mut card, "00B0830004", "00000002 9000");
    tx(&mut card, "00200001", "63C3");
    tx(&mut card, "002000010831323335FFFFFFFF", "63C2");
    tx(&mut card, "002000010431323334", "6700");
    tx(&mut card, "002000020831323334FFFFFFFF", "6B00");
    tx(&mut card, "002000010831323334FFFFFFFF", "9000");
    tx(&mut card, "00200001", "9000");
    tx(&mut card, "00B0870009", "080910101032547698 9000");
    // A reset forgets the verification, not the counter.
    card.reset();
    select_adf(&mut card);
    tx(&mut card, "00B0870009", "6982");
    for left in ["63C2", "63C1", "63C0"] {
        tx(&mut card, "002000010830303030FFFFFFFF", left);
    }
    tx(&mut card, "002000010831323334FFFFFFFF", "6983");
    tx(&mut card, "00B0870009", "6982");
    // Without PIN1 there is nothing to verify.
    let mut open = usim();
    tx(&mut open, "00200001", "9000");
    tx(&mut open, "002000010831323334FFFFFFFF", "6984");
}

#[test]
fn comp128_sim_answers_gsm_context_only() {
    // [[comp128v1]] entry 1 (osmo-hlr auc_test).
    let ki = Ki(arr("eb215756028d60e3275e613320aec880"));
    let mut card = card_with(CardAlgorithm::Comp128(Comp128Version::V1, ki), None, None);
    tx(&mut card, "00A4040C07A0000000871002", "6A82");
    tx(&mut card, "00A4080C027F20", "9000");
    tx(&mut card, &format!("008800801110{RAND1}"), "610E");
    tx(
        &mut card,
        "00C000000E",
        "04429d5b27 08241a5b16aeb8e400 9000",
    );
    tx(&mut card, &format!("008800812210{RAND1}10{AUTN1}"), "6985");

    let mut client = UsimClient::new(card);
    assert_eq!(client.read_imsi().ok().as_deref(), Some("001010123456789"));
    assert_eq!(
        client.authenticate_gsm(&arr(RAND1)).ok(),
        Some(GsmAuth {
            sres: arr("429d5b27"),
            kc: arr("241a5b16aeb8e400"),
        })
    );
    match client.authenticate_3g(&arr(RAND1), &arr(AUTN1)) {
        Err(ClientError::Status { sw, .. }) => assert_eq!(sw, StatusWord::FILE_NOT_FOUND),
        other => panic!("{other:?}"),
    }
}

#[test]
fn client_over_soft_usim() {
    let mut client = UsimClient::new(usim());
    assert_eq!(client.read_imsi().ok().as_deref(), Some("001010123456789"));
    assert_eq!(
        client.read_iccid().ok().as_deref(),
        Some("89882110000000000017")
    );
    assert_eq!(client.read_mnc_len().ok(), Some(2));
    assert!(
        client.select_path(&[0x3F00]).is_err(),
        "path excludes the MF"
    );
    assert_eq!(client.select_path(&[0x2FE2]).map(|f| f[0]).ok(), Some(0x62));

    let rand = arr::<16>(RAND1);
    match client.authenticate_3g(&rand, &arr(AUTN1)) {
        Ok(Auth3g::Success { res, ck, ik, kc }) => {
            assert_eq!(hex::encode(res.as_bytes()), "e229c19e791f2e41");
            assert_eq!(hex::encode(ck), "f64735036e5871319c679f4742a75ea1");
            assert_eq!(hex::encode(ik), "27497388b6cb044648f396aa155b95ef");
            assert_eq!(kc.map(hex::encode).as_deref(), Some("059a4f668f6fbe39"));
        }
        other => panic!("{other:?}"),
    }
    let auts = match client.authenticate_3g(&rand, &arr(AUTN1)) {
        Ok(Auth3g::SyncFailure { auts }) => auts,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        resync(&milenage1(), &rand, &auts).map(|s| s.value()),
        Ok(0x20)
    );
    let mut bad = arr::<16>(AUTN1);
    bad[15] ^= 1;
    assert!(matches!(
        client.authenticate_3g(&rand, &bad),
        Ok(Auth3g::MacFailure)
    ));
    assert_eq!(
        client.authenticate_gsm(&rand).ok(),
        Some(GsmAuth {
            sres: arr("9b36efdf"),
            kc: arr("059a4f668f6fbe39"),
        })
    );

    // The SQN array persists across a "power cycle" of the soft card.
    let saved = client.card().sqn_state().to_bytes();
    let restored = SqnState::from_bytes(&saved).unwrap_or_else(|e| panic!("{e}"));
    let mut client = UsimClient::new(card_with(
        CardAlgorithm::Aka(Box::new(milenage1())),
        None,
        Some(restored),
    ));
    assert!(matches!(
        client.authenticate_3g(&rand, &arr(AUTN1)),
        Ok(Auth3g::SyncFailure { .. })
    ));
    let next = generate_vector(
        &milenage1(),
        &rand,
        Sqn::new(0x40).unwrap_or(Sqn::MAX),
        &[0, 0],
    );
    assert!(matches!(
        client.authenticate_3g(&rand, &next.autn),
        Ok(Auth3g::Success { .. })
    ));
}

#[test]
fn client_pin_flow() {
    let mut client = UsimClient::new(card_with(
        CardAlgorithm::Aka(Box::new(milenage1())),
        Some("4321"),
        None,
    ));
    match client.read_imsi() {
        Err(ClientError::Status { sw, .. }) => assert_eq!(sw, StatusWord::SECURITY_STATUS),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        client.verify_pin("1111"),
        Err(ClientError::WrongPin { tries: 2 })
    ));
    assert!(client.verify_pin("4321").is_ok());
    assert_eq!(client.read_imsi().ok().as_deref(), Some("001010123456789"));
}
