//! Decoding and encoding a Send Authentication Info Result with five UMTS
//! tuples, the largest message on an HLR's hot path, bare and IPA-framed.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use telsec_gsup::ipa::FrameDecoder;
use telsec_gsup::session::encode_gsup_frame;
use telsec_gsup::{AuthTuple, GsupMessage, Imsi};

fn sai_result() -> GsupMessage {
    let tuples = (0..5u8)
        .map(|i| {
            AuthTuple::umts(
                [i; 16],
                [0xa0 | i; 16],
                [0xc0 | i; 16],
                [0xd0 | i; 16],
                &[0xe0 | i; 8],
            )
            .expect("8-octet RES")
            .with_gsm([0x50 | i; 4], [0x60 | i; 8])
        })
        .collect();
    GsupMessage::send_auth_info_result(Imsi::new("001010123456789").expect("valid IMSI"), tuples)
}

fn bench(c: &mut Criterion) {
    let msg = sai_result();
    let bytes = msg.to_vec().expect("encodes");
    let framed = encode_gsup_frame(&msg).expect("frames");

    c.bench_function("gsup/decode_sai_result_5_tuples", |b| {
        b.iter(|| GsupMessage::decode(black_box(&bytes)).expect("decodes"))
    });
    c.bench_function("gsup/encode_sai_result_5_tuples", |b| {
        let mut out = Vec::with_capacity(bytes.len());
        b.iter(|| {
            out.clear();
            black_box(&msg).encode(&mut out).expect("encodes");
            out.len()
        })
    });
    c.bench_function("gsup/decode_encode_sai_result_5_tuples", |b| {
        let mut out = Vec::with_capacity(bytes.len());
        b.iter(|| {
            let m = GsupMessage::decode(black_box(&bytes)).expect("decodes");
            out.clear();
            m.encode(&mut out).expect("encodes");
            out.len()
        })
    });
    c.bench_function("gsup/ipa_deframe_decode_sai_result_5_tuples", |b| {
        let mut decoder = FrameDecoder::default();
        b.iter(|| {
            decoder.feed(black_box(&framed));
            let frame = decoder
                .next_frame()
                .expect("frame ok")
                .expect("complete frame");
            let (_, data) = frame.osmo_ext().expect("extension");
            GsupMessage::decode(data).expect("decodes")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
