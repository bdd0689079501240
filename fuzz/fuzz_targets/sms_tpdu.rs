//! SMS TPDU decoders and the TS 27.005 line parser / modem session fed with
//! arbitrary octets: nothing panics, and decoded TPDUs survive a re-encode.

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use telsec_sms::tpdu::MtTpdu;
use telsec_sms::{LineParser, ModemConfig, ModemSession, SmsDeliver, SmsSubmit, SmscAddress};

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = SmsDeliver::parse(data)
        && let Ok(v) = d.to_vec()
    {
        SmsDeliver::parse(&v).expect("a re-encoded SMS-DELIVER decodes");
    }
    if let Ok(s) = SmsSubmit::parse(data)
        && let Ok(v) = s.to_vec()
    {
        SmsSubmit::parse(&v).expect("a re-encoded SMS-SUBMIT decodes");
    }
    let _ = MtTpdu::parse(data);
    if let Ok((_, used)) = SmscAddress::parse_prefix(data) {
        let _ = MtTpdu::parse(&data[used..]);
    }

    let mut parser = LineParser::new();
    let _ = parser.feed(data);

    let now = Instant::now();
    let mut session = ModemSession::new(ModemConfig::default(), now);
    for (i, piece) in data.chunks(7).enumerate() {
        session.handle_input(now, piece);
        while session.poll_transmit().is_some() {}
        while session.poll_event().is_some() {}
        session.handle_timeout(now + Duration::from_secs(i as u64));
    }
});
