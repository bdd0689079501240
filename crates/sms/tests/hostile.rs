//! Hostile input: random octets, truncations and bit flips of valid PDUs
//! never panic any decoder, and what decodes re-encodes.

use std::time::{Duration, Instant};

use telsec_sms::address::AddressValue;
use telsec_sms::tpdu::MtTpdu;
use telsec_sms::{
    Address, LineParser, ModemConfig, ModemSession, SmsDeliver, SmsStatusReport, SmsSubmit,
    SmscAddress, UserDataHeader,
};

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = (self.next() as usize) % (max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn numeric(a: &Address) -> bool {
    matches!(a.value, AddressValue::Digits(_))
}

fn check_all(b: &[u8]) {
    if let Ok(d) = SmsDeliver::parse(b)
        && let Ok(v) = d.to_vec()
    {
        let again = SmsDeliver::parse(&v).expect("re-encoded DELIVER decodes");
        if numeric(&d.originator) {
            // Values match; octets may not (a non-F filler nibble or spare
            // bits after the last septet are not kept).
            assert_eq!(again, d);
        }
    }
    if let Ok(s) = SmsSubmit::parse(b)
        && let Ok(v) = s.to_vec()
    {
        let again = SmsSubmit::parse(&v).expect("re-encoded SUBMIT decodes");
        if numeric(&s.destination) {
            assert_eq!(again, s);
        }
    }
    let _ = SmsStatusReport::parse(b);
    let _ = MtTpdu::parse(b);
    let _ = Address::parse(b);
    let _ = SmscAddress::parse_prefix(b);
    if let Ok((h, used)) = UserDataHeader::parse(b) {
        let mut v = Vec::new();
        h.emit(&mut v).expect("parsed header re-encodes");
        assert_eq!(v, &b[..used]);
    }
    let mut p = LineParser::new();
    let _ = p.feed(b);
}

#[test]
fn random_octets() {
    let mut rng = Rng(0x5EED_0001);
    for _ in 0..50_000 {
        let b = rng.bytes(200);
        check_all(&b);
    }
}

#[test]
fn mutations_of_valid_pdus() {
    let seeds = [
        "11000B916407281553F80000AA0AE8329BFD4697D9EC37",
        "040B917238880900F10000993020811553800AE8329BFD4697D9EC37",
        "440B913316325476F8000462112361030080110C080412340201050423F023F1010203FF",
        "71050A9194711632540000A71E050003090302906536FB0DDA94EBF23768C3C36F7CA00D2ABF4901",
        "062A0B916407281553F8621132905000806211329050008000",
    ];
    let mut rng = Rng(0x5EED_0002);
    for s in seeds {
        let pdu = hex::decode(s).expect("hex");
        for n in 0..=pdu.len() {
            check_all(&pdu[..n]);
        }
        for _ in 0..5_000 {
            let mut m = pdu.clone();
            let flips = 1 + rng.next() % 3;
            for _ in 0..flips {
                let i = (rng.next() as usize) % m.len();
                m[i] ^= 1 << (rng.next() % 8);
            }
            check_all(&m);
        }
    }
}

#[test]
fn modem_session_survives_garbage() {
    let mut rng = Rng(0x5EED_0003);
    let t0 = Instant::now();
    let pieces: [&[u8]; 8] = [
        b"\r\nOK\r\n",
        b"\r\n> ",
        b"+CMT: ,28\r\n",
        b"+CMGS: 9\r\n",
        b"+CMS ERROR: 500\r\n",
        b"07917283010010F5040B917238880900F10000993020811553800AE8329BFD4697D9EC37\r\n",
        b"+CMTI: \"SM\",1\r\n",
        b"+CDS: 25\r\n",
    ];
    for round in 0..200u64 {
        let mut s = ModemSession::new(ModemConfig::default(), t0);
        let mut now = t0;
        for _ in 0..100 {
            match rng.next() % 4 {
                0 => s.handle_input(now, &rng.bytes(64)),
                1 => s.handle_input(now, pieces[(rng.next() % 8) as usize]),
                2 => {
                    now += Duration::from_millis(rng.next() % 10_000);
                    s.handle_timeout(now);
                }
                _ => {
                    let sub = SmsSubmit::new(
                        Address::international("+123").expect("address"),
                        telsec_sms::Dcs::DATA8,
                        telsec_sms::UserData::octets(vec![round as u8]),
                    );
                    s.send(now, &sub).expect("encodes");
                }
            }
            while s.poll_transmit().is_some() {}
            while s.poll_event().is_some() {}
        }
    }
}
