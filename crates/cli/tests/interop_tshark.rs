//! tshark, an independent GSUP/IPA dissector, decodes what telsec's HLR puts
//! on the wire: a live capture on loopback of a SendAuthInfo exchange, read
//! back field by field.
// Test code: a failed step should stop the test where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::osmo::tempdir::TempDir;
use common::telsec_hlr::TelsecHlr;
use common::{K, OPC, connect};
use telsec_gsup::Imsi;

const IP: &str = "127.0.0.26";
const IMSI: &str = "001010000000001";

#[tokio::test]
async fn interop_tshark_decodes_telsec_gsup() {
    let dir = TelsecHlr::new_data_dir();
    TelsecHlr::add_milenage(dir.path(), IMSI, "4912345", K, OPC);
    let hlr = TelsecHlr::start(IP, dir.path());

    let cap = TempDir::new("tshark");
    let pcap = cap.path().join("gsup.pcapng");
    let log = cap.path().join("tshark.log");
    let mut tshark = Command::new("tshark")
        .args([
            "-i",
            "lo",
            "-f",
            &format!("host {IP} and tcp port 4222"),
            "-w",
        ])
        .arg(&pcap)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("tshark must be installed for interop tests (apt-get install tshark)");
    // "Capturing on" comes before packets are really taken: probe with bare
    // TCP connections until the capture file grows.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("Capturing on")
    {
        assert!(Instant::now() < deadline, "tshark did not start capturing");
        std::thread::sleep(Duration::from_millis(50));
    }
    let size = || std::fs::metadata(&pcap).map(|m| m.len()).unwrap_or(0);
    let empty = size();
    while size() <= empty {
        assert!(Instant::now() < deadline, "tshark captures nothing on lo");
        drop(std::net::TcpStream::connect(hlr.gsup));
        std::thread::sleep(Duration::from_millis(200));
    }

    let mut client = connect(hlr.gsup, "MSC-00-00-00-00-00-01").await;
    let tuples = client
        .send_auth_info(&Imsi::new(IMSI).unwrap(), 2, None)
        .await
        .unwrap();
    let refused = client
        .send_auth_info(&Imsi::new("001019999999999").unwrap(), 1, None)
        .await;
    assert!(refused.is_err());
    drop(client);
    // Let the last segments reach the capture file, then stop it cleanly.
    let written = size();
    let deadline = Instant::now() + Duration::from_secs(10);
    while size() == written && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    Command::new("kill")
        .args(["-INT", &tshark.id().to_string()])
        .status()
        .unwrap();
    tshark.wait().unwrap();

    let out = Command::new("tshark")
        .arg("-r")
        .arg(&pcap)
        .args(["-d", "tcp.port==4222,gsm_ipa", "-Y", "gsup", "-T", "fields"])
        .args(["-e", "gsup.msg_type", "-e", "e212.imsi", "-e", "gsup.rand"])
        .args(["-e", "gsup.autn", "-e", "gsup.res", "-e", "gsup.cause"])
        .args(["-E", "separator=|", "-E", "aggregator=,"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('|').collect()).collect();
    assert_eq!(rows.len(), 4, "four GSUP messages decoded: {text}");

    // SendAuthInfo Request (0x08) and Result (0x0a) for our subscriber.
    assert_eq!(rows[0][..2], ["8", IMSI]);
    assert_eq!(rows[1][..2], ["10", IMSI]);
    let rands: Vec<String> = tuples.iter().map(|t| hex::encode(t.rand)).collect();
    let autns: Vec<String> = tuples
        .iter()
        .map(|t| hex::encode(t.autn.unwrap()))
        .collect();
    let ress: Vec<String> = tuples
        .iter()
        .map(|t| hex::encode(t.res.as_deref().unwrap()))
        .collect();
    assert_eq!(rows[1][2], rands.join(","), "RANDs as tshark reads them");
    assert_eq!(rows[1][3], autns.join(","), "AUTNs as tshark reads them");
    assert_eq!(rows[1][4], ress.join(","), "RESs as tshark reads them");

    // SendAuthInfo Error (0x09) with cause IMSI unknown (0x02).
    assert_eq!(rows[2][..2], ["8", "001019999999999"]);
    assert_eq!(rows[3][..2], ["9", "001019999999999"]);
    assert_eq!(rows[3][5], "0x02");
}
