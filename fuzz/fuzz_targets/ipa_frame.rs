//! IPA framing, CCM parsing and the server session fed with arbitrary
//! octets in arbitrary chunks: nothing panics, and parsed CCM messages
//! survive a re-encode.

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use telsec_gsup::ccm::CcmMessage;
use telsec_gsup::ipa::{FrameDecoder, StreamId};
use telsec_gsup::{ServerConfig, ServerConn};

fuzz_target!(|data: &[u8]| {
    // The first octet picks the chunk size the stream is fed in.
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);

    let mut decoder = FrameDecoder::default();
    let now = Instant::now();
    let mut server = ServerConn::new(ServerConfig::default(), now);
    for piece in stream.chunks(chunk) {
        decoder.feed(piece);
        while let Ok(Some(frame)) = decoder.next_frame() {
            let bytes = frame.to_vec().expect("a received frame re-encodes");
            assert_eq!(bytes.len(), frame.buffer_len());
            if frame.stream == StreamId::Ccm
                && let Ok(msg) = CcmMessage::parse(&frame.payload)
            {
                let again = msg.to_frame().expect("encodes");
                assert_eq!(CcmMessage::parse(&again.payload).ok(), Some(msg));
            }
        }
        server.handle_bytes(piece);
        while server.poll_event().is_some() {}
        while server.poll_transmit().is_some() {}
    }
    server.handle_timeout(now + Duration::from_secs(60));
});
