//! An independent decoder: the packets of several runs (success with an
//! identity round, resynchronisation, a failure notification, a client
//! error, a reject) written into a pcap as EAPOL (IEEE 802.1X-2010 §11.3:
//! version 2, type 0 EAP-Packet) over Ethernet (ethertype 0x888E,
//! linktype 1), and read back by Wireshark's `tshark`. Its EAP code,
//! identifier, length, type, AKA subtype, attribute types, notification
//! and client error codes, the AT_IDENTITY actual length, and the identity's
//! prefix, remainder and IMSI must match what our decoders say.
//! Skipped with a note when tshark is not installed.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::*;
use telsec_auth::sqn::{Sqn, SqnState};
use telsec_eap::{EapType, IdentityResolver, Message, Repr};

/// The PAE group address (IEEE 802.1X-2010 §11.1.1).
const PAE_GROUP: [u8; 6] = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x03];

fn pcap(packets: &[(Dir, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    // Global header: magic, version 2.4, zone, sigfigs, snaplen, linktype 1.
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, (dir, eap)) in packets.iter().enumerate() {
        let (src, dst) = match dir {
            Dir::ToPeer => ([0x02, 0, 0, 0, 0, 0xaa], [0x02, 0, 0, 0, 0, 0xbb]),
            Dir::ToServer => ([0x02, 0, 0, 0, 0, 0xbb], PAE_GROUP),
        };
        let mut frame = Vec::new();
        frame.extend_from_slice(&dst);
        frame.extend_from_slice(&src);
        frame.extend_from_slice(&0x888Eu16.to_be_bytes());
        frame.push(2); // EAPOL version
        frame.push(0); // EAP-Packet
        frame.extend_from_slice(&(eap.len() as u16).to_be_bytes());
        frame.extend_from_slice(eap);
        out.extend_from_slice(&(1_700_000_000u32 + i as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame);
    }
    out
}

/// What tshark should print for one packet, from our own decoder.
fn expected(eap: &[u8]) -> Vec<String> {
    let repr = Repr::parse_bytes(eap).unwrap();
    let mut row = vec![
        u8::from(repr.code).to_string(),
        repr.identifier.to_string(),
        eap.len().to_string(),
    ];
    let mut typ = String::new();
    let mut subtype = String::new();
    let mut attrs = String::new();
    let mut note = String::new();
    let mut error = String::new();
    let mut actual_len = String::new();
    let mut identity: Option<Vec<u8>> = None;
    if let Some((t, data)) = repr.payload {
        typ = u8::from(t).to_string();
        match Message::parse_packet(eap) {
            Ok((_, _, m)) => {
                let set = m.attribute_set().unwrap();
                subtype = u8::from(m.subtype).to_string();
                let list: Vec<String> = m.attributes.iter().map(|a| a.typ().to_string()).collect();
                attrs = list.join(",");
                note = set.notification.map(|n| n.to_string()).unwrap_or_default();
                error = set
                    .client_error_code
                    .map(|n| n.to_string())
                    .unwrap_or_default();
                if let Some(id) = set.identity {
                    actual_len = id.len().to_string();
                    identity = Some(id.to_vec());
                }
            }
            Err(_) if t == EapType::Identity && !data.is_empty() => identity = Some(data.to_vec()),
            Err(_) => {}
        }
    }
    // Wireshark splits a 3GPP identity into its prefix digit, the rest and
    // the IMSI (TS 23.003 §19.3); our resolver must find the same IMSI.
    let (prefix, full, imsi) = match &identity {
        Some(id) => {
            let text = String::from_utf8(id.clone()).unwrap();
            let imsi = IdentityResolver::default().resolve(id).unwrap();
            (
                format!("'{}'", &text[..1]),
                text[1..].to_owned(),
                imsi.imsi().to_owned(),
            )
        }
        None => Default::default(),
    };
    // The last column, Wireshark's "malformed packet" marker, stays empty.
    row.extend([
        typ,
        subtype,
        attrs,
        note,
        error,
        actual_len,
        prefix,
        full,
        imsi,
        String::new(),
    ]);
    row
}

fn traces() -> Vec<(Dir, Vec<u8>)> {
    let mut all = Vec::new();
    // Success with an AKA-Identity round.
    let (mut s, mut p, mut hlr) = (
        server(NETWORK),
        peer(card(1, SqnState::default()), NETWORK),
        Hlr::new(1, Sqn::ZERO),
    );
    all.extend(run(&mut s, &mut p, &mut hlr).trace);
    // EAP-Request/Identity, then a resynchronisation.
    let mut state = SqnState::default();
    state.accept(Sqn::new(500 << 5).unwrap()).unwrap();
    let (mut s, mut p, mut hlr) = (
        server(NETWORK),
        peer(card(1, state), NETWORK),
        Hlr::new(1, Sqn::ZERO),
    );
    let first = s.start_eap_identity().unwrap();
    all.extend(run_with(&mut s, &mut p, &mut hlr, first, &mut |_, _| {}).trace);
    // Wrong RES: a notification round.
    let (mut s, mut p, mut hlr) = (
        server(NETWORK),
        peer(card(1, SqnState::default()), NETWORK),
        Hlr::new(1, Sqn::ZERO),
    );
    hlr.corrupt_xres = true;
    all.extend(run(&mut s, &mut p, &mut hlr).trace);
    // Wrong network name: an Authentication-Reject.
    let (mut s, mut p, mut hlr) = (
        server(NETWORK),
        peer(card(1, SqnState::default()), "elsewhere"),
        Hlr::new(1, Sqn::ZERO),
    );
    all.extend(run(&mut s, &mut p, &mut hlr).trace);
    // Bad AT_MAC: a Client-Error.
    let (mut s, mut p, mut hlr) = (
        server(NETWORK),
        peer(card(1, SqnState::default()), NETWORK),
        Hlr::new(1, Sqn::ZERO),
    );
    let first = s.start().unwrap();
    all.extend(
        run_with(&mut s, &mut p, &mut hlr, first, &mut |dir, packet| {
            if dir == Dir::ToPeer && packet.len() > 60 {
                let last = packet.len() - 1;
                packet[last] ^= 1;
            }
        })
        .trace,
    );
    all
}

#[test]
fn tshark_decodes_the_same() {
    if Command::new("tshark").arg("-v").output().is_err() {
        println!("note: tshark not installed; skipping the independent decoder check");
        return;
    }
    let packets = traces();
    let path = std::env::temp_dir().join(format!("telsec-eap-{}.pcap", std::process::id()));
    std::fs::write(&path, pcap(&packets)).unwrap();
    let output = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args(["-T", "fields", "-E", "separator=|", "-E", "occurrence=a"])
        .args([
            "-e", "eap.code", "-e", "eap.id", "-e", "eap.len", "-e", "eap.type",
        ])
        .args(["-e", "eap.aka.subtype", "-e", "eap.aka.subtype.type"])
        .args([
            "-e",
            "eap.aka.notification_type",
            "-e",
            "eap.aka.error_code",
        ])
        .args(["-e", "eap.identity.actual_len", "-e", "eap.identity.prefix"])
        .args([
            "-e",
            "eap.identity.full",
            "-e",
            "e212.imsi",
            "-e",
            "_ws.malformed",
        ])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        output.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let rows: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split('|').map(str::to_owned).collect())
        .collect();
    assert_eq!(rows.len(), packets.len());
    let mut subtypes = std::collections::BTreeSet::new();
    for (i, ((_, eap), row)) in packets.iter().zip(&rows).enumerate() {
        let want = expected(eap);
        assert_eq!(row, &want, "packet {i}: {}", hex::encode(eap));
        subtypes.insert(want[4].clone());
    }
    // Every AKA' subtype the runs produce was checked: Challenge,
    // Authentication-Reject, Synchronization-Failure, Identity,
    // Notification, Client-Error.
    for s in ["1", "2", "4", "5", "12", "14"] {
        assert!(subtypes.contains(s), "subtype {s} not in the capture");
    }
}
