//! Arbitrary octets from a terminal into the SMS centre's virtual modem,
//! with deliveries and submit answers interleaved: nothing panics and the
//! modem's output stays bounded by what it was given.

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use telsec_smpp::{DeliveryId, VirtualModem, VmodemConfig, VmodemEvent};
use telsec_sms::SmscAddress;

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let mut vm = VirtualModem::new(VmodemConfig {
        smsc: SmscAddress::international("+4420000099").ok(),
        ack_timeout: Duration::from_secs(5),
    });
    // A real SMS-DELIVER TPDU ("hi" from +1).
    let tpdu = vec![
        0x04, 0x01, 0x91, 0xF1, 0, 0, 0x62, 0x30, 0x10, 0x21, 0x43, 0x65, 0, 2, 0xE8, 0x34,
    ];
    let mut next = 0u64;
    for (i, piece) in data.chunks(5).enumerate() {
        let t = now + Duration::from_secs(i as u64);
        vm.handle_input(t, piece);
        if i % 3 == 0 {
            next += 1;
            let _ = vm.deliver(t, DeliveryId(next), tpdu.clone());
        }
        while let Some(ev) = vm.poll_event() {
            if let VmodemEvent::Submit { .. } = ev {
                let r = if piece.first().is_some_and(|b| b & 1 == 1) {
                    Ok(())
                } else {
                    Err(42)
                };
                vm.submit_result(t, r);
            }
        }
        let mut out = 0usize;
        while let Some(b) = vm.poll_transmit() {
            out += b.len();
        }
        assert!(
            out <= 4096 + 64 * piece.len(),
            "output {out} for {} octets",
            piece.len()
        );
        vm.handle_timeout(t);
    }
    vm.close();
    while vm.poll_event().is_some() {}
});
