//! Wireshark's ESP dissector decrypts what telsec seals.
//!
//! telsec seals IPv4/UDP inner packets as UDP-encapsulated ESP (RFC 3948)
//! datagrams with AES-GCM-128 and -256, writes them to a pcap file, and
//! tshark, given the SAs through its `esp_sa` table, must show the inner
//! IPv4/UDP headers with the addresses and ports telsec sealed, the payload
//! bytes, Next Header 4, the pad length, and a verified ICV. A datagram with a wrong key in the table must not decode.
//!
//! Needs tshark; fails unless TELSEC_SKIP_PEERS=1 when it is missing.
//! Extended sequence numbers are not covered here: tshark 4.0's `esp_sa`
//! table has no ESN column (they are covered by the scapy interop test).

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use support::{ipv4_udp, pattern, require_peer};
use telsec_esp::{Algorithm, Direction, SaConfig, SecurityAssociation};

const GW: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const MN: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
/// LINKTYPE_RAW: each record is an IPv4 or IPv6 packet.
const LINKTYPE_RAW: u32 = 101;

/// A classic libpcap file (microsecond timestamps).
fn pcap(records: &[Vec<u8>]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&0i32.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes());
    f.extend_from_slice(&65535u32.to_le_bytes());
    f.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
    for (i, r) in records.iter().enumerate() {
        f.extend_from_slice(&(1_700_000_000u32 + i as u32).to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&(r.len() as u32).to_le_bytes());
        f.extend_from_slice(&(r.len() as u32).to_le_bytes());
        f.extend_from_slice(r);
    }
    f
}

struct Flow {
    spi: u32,
    algorithm: Algorithm,
    key: Vec<u8>,
    inner_src: Ipv4Addr,
    inner_dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    payload: Vec<u8>,
}

fn uat_entry(spi: u32, key: &[u8]) -> String {
    format!(
        "\"IPv4\",\"{GW}\",\"{MN}\",\"{spi:#010x}\",\"AES-GCM with 16 octet ICV [RFC4106]\",\"0x{}\",\"NULL\",\"\"",
        hex::encode(key)
    )
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("telsec-esp-{}-{name}", std::process::id()))
}

#[test]
fn tshark_decrypts_telsec_esp_in_udp() {
    if !require_peer("tshark", "tshark", &["--version"]) {
        return;
    }
    let now = Instant::now();
    let flows = [
        Flow {
            spi: 0x0a00_0128,
            algorithm: Algorithm::AesGcm128,
            key: pattern(20, 0x11),
            inner_src: Ipv4Addr::new(10, 0, 0, 1),
            inner_dst: Ipv4Addr::new(10, 8, 0, 5),
            sport: 40001,
            dport: 47000,
            payload: b"telsec-esp aes-gcm-128 says hello".to_vec(),
        },
        Flow {
            spi: 0x0a00_0256,
            algorithm: Algorithm::AesGcm256,
            key: pattern(36, 0x22),
            inner_src: Ipv4Addr::new(10, 0, 0, 2),
            inner_dst: Ipv4Addr::new(10, 9, 0, 6),
            sport: 5683,
            dport: 7777,
            payload: pattern(301, 3),
        },
        // Sealed with a key tshark is not told: must not decode.
        Flow {
            spi: 0x0a00_0bad,
            algorithm: Algorithm::AesGcm128,
            key: pattern(20, 0x33),
            inner_src: Ipv4Addr::new(10, 0, 0, 3),
            inner_dst: Ipv4Addr::new(10, 0, 0, 4),
            sport: 1111,
            dport: 2222,
            payload: b"secret".to_vec(),
        },
    ];
    let mut records = Vec::new();
    let mut uat = Vec::new();
    for f in &flows {
        let mut cfg = SaConfig::new(f.spi, Direction::Outbound, f.algorithm, &f.key, GW.into());
        cfg.peer = Some(SocketAddr::new(MN.into(), 4500));
        let mut sa = SecurityAssociation::new(cfg, now).unwrap();
        let inner = ipv4_udp(f.inner_src, f.inner_dst, f.sport, f.dport, &f.payload);
        let mut d = vec![0u8; sa.datagram_len(inner.len())];
        // Two packets per SA so the sequence numbers 1 and 2 both appear.
        for _ in 0..2 {
            sa.seal_datagram(now, &inner, &mut d, 7).unwrap();
            records.push(d.clone());
        }
        let mut told = f.key.clone();
        if f.spi == 0x0a00_0bad {
            told[0] ^= 0xff;
        }
        uat.push(uat_entry(f.spi, &told));
    }
    let file = temp_path("tshark.pcap");
    std::fs::write(&file, pcap(&records)).unwrap();

    let mut cmd = Command::new("tshark");
    cmd.arg("-n")
        .arg("-r")
        .arg(&file)
        .args(["-o", "esp.enable_encryption_decode:TRUE"])
        .args(["-o", "esp.enable_authentication_check:TRUE"])
        .args(["-d", "udp.port==4500,udpencap"]);
    // Show the inner UDP payloads as plain data: a heuristic dissector that
    // throws on them would cut the ESP trailer fields from the tree.
    for f in &flows {
        cmd.arg("-d").arg(format!("udp.port=={},data", f.dport));
    }
    for entry in &uat {
        cmd.arg("-o").arg(format!("uat:esp_sa:{entry}"));
    }
    cmd.args([
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
        "-e",
        "esp.spi",
        "-e",
        "esp.sequence",
        "-e",
        "ip.src",
        "-e",
        "ip.dst",
        "-e",
        "udp.srcport",
        "-e",
        "udp.dstport",
        "-e",
        "udp.payload",
        "-e",
        "esp.protocol",
        "-e",
        "esp.pad_len",
        "-e",
        "esp.icv_good",
    ]);
    let out = cmd.output().expect("run tshark");
    let _ = std::fs::remove_file(&file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), records.len(), "one line per frame:\n{stdout}");

    for (i, line) in lines.iter().enumerate() {
        let f = &flows[i / 2];
        let cols: Vec<&str> = line.split('|').collect();
        assert_eq!(cols.len(), 10, "frame {i}: {line}");
        assert_eq!(
            u32::from_str_radix(cols[0].trim_start_matches("0x"), 16).unwrap(),
            f.spi,
            "frame {i}: {line}"
        );
        assert_eq!(
            cols[1],
            ((i % 2) + 1).to_string(),
            "frame {i}: sequence number"
        );
        let ip_src: Vec<&str> = cols[2].split(',').collect();
        let ip_dst: Vec<&str> = cols[3].split(',').collect();
        let sports: Vec<&str> = cols[4].split(',').collect();
        let dports: Vec<&str> = cols[5].split(',').collect();
        assert_eq!(ip_src[0], GW.to_string(), "frame {i}: outer source");
        assert_eq!(ip_dst[0], MN.to_string(), "frame {i}: outer destination");
        assert_eq!(
            (sports[0], dports[0]),
            ("4500", "4500"),
            "frame {i}: NAT-T ports"
        );
        if f.spi == 0x0a00_0bad {
            assert_eq!(
                ip_src.len(),
                1,
                "frame {i}: wrong key must not decode: {line}"
            );
            assert_eq!(sports.len(), 1, "frame {i}: {line}");
            assert_eq!(cols[9], "0", "frame {i}: ICV must not verify: {line}");
            continue;
        }
        // The decrypted trailer: Next Header IPv4, minimal padding, ICV good.
        let inner_len = 28 + f.payload.len();
        assert_eq!(cols[7], "0x04", "frame {i}: next header: {line}");
        assert_eq!(
            cols[8],
            telsec_esp::trailer::pad_len(inner_len).to_string(),
            "frame {i}: pad length: {line}"
        );
        assert_eq!(cols[9], "1", "frame {i}: tshark verifies the ICV: {line}");
        // The decrypted inner IPv4/UDP header as tshark parsed it.
        assert_eq!(
            ip_src.get(1).copied(),
            Some(f.inner_src.to_string().as_str()),
            "frame {i}: {line}"
        );
        assert_eq!(
            ip_dst.get(1).copied(),
            Some(f.inner_dst.to_string().as_str()),
            "frame {i}: {line}"
        );
        assert_eq!(
            sports.get(1).copied(),
            Some(f.sport.to_string().as_str()),
            "frame {i}: {line}"
        );
        assert_eq!(
            dports.get(1).copied(),
            Some(f.dport.to_string().as_str()),
            "frame {i}: {line}"
        );
        let udp_payloads: Vec<&str> = cols[6].split(',').collect();
        assert_eq!(
            udp_payloads.get(1).copied(),
            Some(hex::encode(&f.payload).as_str()),
            "frame {i}: inner UDP payload"
        );
    }
}
