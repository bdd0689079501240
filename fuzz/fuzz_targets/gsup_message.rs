//! GSUP message codec: decoding never panics, and whatever decodes
//! re-encodes to octets that decode to the same message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use telsec_gsup::GsupMessage;

fuzz_target!(|data: &[u8]| {
    match GsupMessage::decode(data) {
        Ok(msg) => {
            let bytes = msg.to_vec().expect("a decoded message encodes");
            let again = GsupMessage::decode(&bytes).expect("an encoded message decodes");
            assert_eq!(again, msg);
            assert_eq!(
                again.to_vec().expect("encodes"),
                bytes,
                "encoding is a fixed point"
            );
            let _ = msg.validate();
            let _ = msg.to_string();
            for a in [msg.msisdn(), msg.hlr_number(), msg.imei()]
                .into_iter()
                .flatten()
            {
                let _ = a.digits();
            }
        }
        Err(e) => {
            let _ = e.cause();
            let _ = telsec_gsup::message::error_reply_for(data, &e);
        }
    }
});
