//! Interoperability with independent decoders: Wireshark's `mip` dissector
//! (through tshark, reading a pcap this test writes) and scapy's
//! `scapy.layers.mobileip` (both directions). Skipped, with a message on
//! stderr, when the tool is not installed.

mod support;

use std::net::Ipv4Addr;
use std::process::Command;

use support::{Datagram, have, pcap};
use telsec_mip::{
    Algorithm, Encapsulation, Extension, ExtensionType, MIP_PORT, NtpTimestamp, ReplayMode, Reply,
    ReplyCode, Request, RequestFlags, SecurityAssociation, UdpTunnelRequest, append_signature,
};

const MN: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 7);
const HA: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const HOME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);

fn sa() -> SecurityAssociation {
    SecurityAssociation::new(
        0x1234,
        Algorithm::HmacMd5,
        b"interop-key",
        ReplayMode::default(),
    )
    .expect("SA")
}

/// Identification: 2024-01-01T00:00:00Z as an NTP timestamp, low word 1.
fn ident() -> u64 {
    NtpTimestamp::from_unix(1_704_067_200, 0).0 | 1
}

fn signed_request() -> Vec<u8> {
    let req = Request {
        flags: RequestFlags(RequestFlags::S | RequestFlags::D | RequestFlags::T),
        lifetime: 1800,
        home_address: HOME,
        home_agent: HA,
        care_of_address: MN,
        identification: ident(),
        extensions: vec![
            Extension::MnNai(b"mn@example.org".to_vec()),
            Extension::UdpTunnelRequest(UdpTunnelRequest {
                sub_type: 0,
                force: true,
                registration_through_fa: false,
                encapsulation: Encapsulation::IpInIp,
            }),
        ],
    };
    let mut bytes = req.to_vec().expect("emits");
    append_signature(&mut bytes, ExtensionType::MnHaAuth, &sa()).expect("signs");
    bytes
}

fn signed_reply() -> Vec<u8> {
    let rep = Reply {
        code: ReplyCode::HaIdentificationMismatch,
        lifetime: 0,
        home_address: HOME,
        home_agent: HA,
        identification: ident(),
        extensions: vec![],
    };
    let mut bytes = rep.to_vec().expect("emits");
    append_signature(&mut bytes, ExtensionType::MnHaAuth, &sa()).expect("signs");
    bytes
}

#[test]
fn tshark_decodes_request_and_reply() {
    assert!(
        have("tshark"),
        "tshark is required for this interop test (apt-get install tshark; .ci/run does)"
    );
    let rrq = signed_request();
    let rrp = signed_reply();
    let file = std::env::temp_dir().join(format!("telsec-mip-{}.pcap", std::process::id()));
    std::fs::write(
        &file,
        pcap(&[
            Datagram {
                src: MN,
                dst: HA,
                src_port: 40000,
                dst_port: MIP_PORT,
                payload: &rrq,
            },
            Datagram {
                src: HA,
                dst: MN,
                src_port: MIP_PORT,
                dst_port: 40000,
                payload: &rrp,
            },
        ]),
    )
    .expect("write pcap");
    let fields = [
        "mip.type",
        "mip.flags",
        "mip.life",
        "mip.homeaddr",
        "mip.haaddr",
        "mip.coa",
        "mip.code",
        "mip.ext.type",
        "mip.nai",
        "mip.ext.utrq.f",
        "mip.ext.utrq.encaptype",
        "mip.auth.spi",
        "mip.auth.auth",
        "mip.ident",
    ];
    let mut cmd = Command::new("tshark");
    cmd.args([
        "-r",
        file.to_str().expect("utf-8 path"),
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('|').collect()).collect();
    assert_eq!(lines.len(), 2, "{text}");
    let (q, p) = (&lines[0], &lines[1]);
    assert_eq!(q[0], "1");
    assert_eq!(q[1], "0xa2");
    assert_eq!(q[2], "1800");
    assert_eq!(q[3], "10.0.0.5");
    assert_eq!(q[4], "10.0.0.1");
    assert_eq!(q[5], "192.0.2.7");
    assert_eq!(q[7], "131,144,32");
    assert_eq!(q[8], "mn@example.org");
    assert!(q[9] == "1" || q[9] == "True", "F flag: {}", q[9]);
    assert_eq!(q[10], "4");
    assert_eq!(q[11], "0x00001234");
    assert_eq!(q[12].replace(':', ""), hex::encode(&rrq[rrq.len() - 16..]));
    assert!(
        q[13].contains("2024"),
        "identification as NTP time: {}",
        q[13]
    );
    assert_eq!(p[0], "3");
    assert_eq!(p[2], "0");
    assert_eq!(p[6], "133");
    assert_eq!(p[7], "32");
    assert_eq!(p[12].replace(':', ""), hex::encode(&rrp[rrp.len() - 16..]));
}

fn python(script: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", script])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

fn have_scapy() -> bool {
    have("python3")
        && Command::new("python3")
            .args(["-c", "from scapy.layers.mobileip import MobileIPRRQ"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
}

#[test]
fn scapy_parses_telsec_bytes() {
    assert!(
        have_scapy(),
        "python3 with scapy is required for this interop test (pip install scapy; .ci/run does)"
    );
    let rrq = signed_request();
    let rrp = signed_reply();
    let script = format!(
        "from scapy.layers.mobileip import MobileIP, MobileIPRRQ, MobileIPRRP\n\
         q = MobileIP(bytes.fromhex('{}'))\n\
         r = q[MobileIPRRQ]\n\
         print(q.type, r.flags, r.lifetime, r.homeaddr, r.haaddr, r.coaddr, r.id, bytes(r.payload).hex())\n\
         p = MobileIP(bytes.fromhex('{}'))\n\
         s = p[MobileIPRRP]\n\
         print(p.type, s.code, s.lifetime, s.homeaddr, s.haaddr, s.id, bytes(s.payload).hex())",
        hex::encode(&rrq),
        hex::encode(&rrp)
    );
    let out = python(&script);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "1 162 1800 10.0.0.5 10.0.0.1 192.0.2.7 {} {}",
            ident(),
            hex::encode(&rrq[24..])
        )
    );
    assert_eq!(
        lines[1],
        format!(
            "3 133 0 10.0.0.5 10.0.0.1 {} {}",
            ident(),
            hex::encode(&rrp[20..])
        )
    );
}

#[test]
fn telsec_parses_scapy_request() {
    assert!(
        have_scapy(),
        "python3 with scapy is required for this interop test (pip install scapy; .ci/run does)"
    );
    let hex_out = python(
        "from scapy.layers.mobileip import MobileIP, MobileIPRRQ\n\
         from scapy.packet import Raw\n\
         p = MobileIP(type=1)/MobileIPRRQ(flags=0x12, lifetime=300, homeaddr='10.1.2.3', haaddr='10.1.0.1', coaddr='198.51.100.9', id=0x0123456789abcdef)/Raw(bytes([131, 3]) + b'a@b')\n\
         print(bytes(p).hex())",
    );
    let bytes = hex::decode(hex_out).expect("hex");
    let req = Request::from_bytes(&bytes).expect("telsec parses scapy's request");
    assert_eq!(req.flags, RequestFlags(RequestFlags::M | RequestFlags::T));
    assert_eq!(req.lifetime, 300);
    assert_eq!(req.home_address, Ipv4Addr::new(10, 1, 2, 3));
    assert_eq!(req.home_agent, Ipv4Addr::new(10, 1, 0, 1));
    assert_eq!(req.care_of_address, Ipv4Addr::new(198, 51, 100, 9));
    assert_eq!(req.identification, 0x0123_4567_89ab_cdef);
    assert_eq!(req.extensions, [Extension::MnNai(b"a@b".to_vec())]);
    assert_eq!(req.to_vec().expect("emits"), bytes);
}
