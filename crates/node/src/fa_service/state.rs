//! The visitor list as a JSON file, replaced atomically on every change,
//! so `telsec fa visitors` can show it from another process. The list is
//! soft state (visitors re-register, RFC 5944 §3.6.3), so the agent does
//! not read it back at start: it begins with an empty list.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

use serde::{Deserialize, Serialize};
use telsec_mip::Encapsulation;
use telsec_mip::fa::Visitor;

/// One visitor as the file holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitorEntry {
    /// Home address.
    pub home_address: Ipv4Addr,
    /// Home agent.
    pub home_agent: Ipv4Addr,
    /// Where its requests come from on the visited link.
    pub link_source: SocketAddrV4,
    /// The care-of address the home agent tunnels to.
    pub care_of_address: Ipv4Addr,
    /// Reverse tunnelling (T, RFC 3024).
    pub reverse_tunnel: bool,
    /// How the home agent tunnels to us: `ipip`, `udp` (RFC 3519), `gre`
    /// or `minimal`.
    pub tunnel: String,
    /// Lifetime granted, seconds.
    pub granted_lifetime: u16,
    /// When it lapses, Unix ms (`None`: never).
    pub expires_unix_ms: Option<u64>,
    /// Identification of the request that registered it, hex.
    pub identification: String,
}

impl VisitorEntry {
    /// The entry of `v`; `udp` when the home agent accepted RFC 3519 UDP
    /// tunnelling for it.
    pub fn new(v: &Visitor, udp: bool) -> VisitorEntry {
        let tunnel = match (udp, v.encapsulation) {
            (true, _) => "udp",
            (false, Encapsulation::Gre) => "gre",
            (false, Encapsulation::Minimal) => "minimal",
            (false, _) => "ipip",
        };
        VisitorEntry {
            home_address: v.home_address,
            home_agent: v.home_agent,
            link_source: v.link_source,
            care_of_address: v.care_of_address,
            reverse_tunnel: v.reverse_tunnel,
            tunnel: tunnel.to_owned(),
            granted_lifetime: v.granted_lifetime,
            expires_unix_ms: v.expires_ms,
            identification: format!("{:016x}", v.identification),
        }
    }

    /// Seconds left at `now_ms` (`None`: never lapses).
    pub fn remaining_secs(&self, now_ms: u64) -> Option<u64> {
        self.expires_unix_ms
            .map(|t| t.saturating_sub(now_ms).div_ceil(1000))
    }
}

/// Replaces the file at `path` by the list ([`crate::atomic_file`]).
pub fn write(path: &Path, entries: &[VisitorEntry]) -> io::Result<()> {
    let json = serde_json::to_vec_pretty(entries).map_err(io::Error::other)?;
    crate::atomic_file::replace(path, &json)
}

/// Reads the list; a missing file is an empty list (no agent ran yet).
pub fn read(path: &Path) -> io::Result<Vec<VisitorEntry>> {
    match crate::atomic_file::read_if_exists(path)? {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
        None => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telsec_mip::fa::Visitor;

    #[test]
    fn round_trip_and_missing_file() {
        let dir = std::env::temp_dir().join(format!("telsec-fa-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("sub").join("visitors.json");
        assert_eq!(read(&path).expect("missing is empty"), []);
        let v = Visitor {
            home_address: Ipv4Addr::new(10, 77, 0, 5),
            home_agent: Ipv4Addr::new(10, 77, 0, 1),
            link_source: SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 5), 49152),
            care_of_address: Ipv4Addr::new(192, 0, 2, 1),
            reverse_tunnel: true,
            encapsulation: Encapsulation::IpInIp,
            granted_lifetime: 300,
            expires_ms: Some(10_500),
            identification: 0xabcd,
        };
        let entries = vec![VisitorEntry::new(&v, false), VisitorEntry::new(&v, true)];
        assert_eq!(entries[0].tunnel, "ipip");
        assert_eq!(entries[1].tunnel, "udp");
        assert_eq!(entries[0].identification, "000000000000abcd");
        assert_eq!(entries[0].remaining_secs(10_000), Some(1));
        assert_eq!(entries[0].remaining_secs(11_000), Some(0));
        write(&path, &entries).expect("writes");
        assert_eq!(read(&path).expect("reads"), entries);
        std::fs::write(&path, b"{").expect("writes");
        assert!(read(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
