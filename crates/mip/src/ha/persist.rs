//! A versioned text snapshot of the home agent's state: the binding list
//! and, per mobile node, the last accepted Identification, so that
//! bindings survive a restart and a request captured before it cannot be
//! replayed after it (RFC 5944 §5.7).
//!
//! Format (UTF-8, one record a line, fields separated by one space):
//!
//! ```text
//! telsec-mip-ha 1
//! B <home> <coa> <granted s> <expires unix ms | -> <ident hex> <flags hex> <tunnel> <src ip:port>
//! R <home> <last accepted ident hex> <accepted count>
//! ```
//!
//! `<tunnel>` is `ipip`, `gre`, `minimal` or `udp/<encapsulation>/<keepalive s>`.
//! Times are absolute wall-clock milliseconds, since a monotonic instant
//! means nothing after a restart.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};

use super::MnRecord;
use super::binding::{Binding, BindingCache, Tunnel};
use crate::ext::Encapsulation;
use crate::registration::RequestFlags;

/// First line of every snapshot; the number is the format version.
pub const MAGIC: &str = "telsec-mip-ha 1";

/// Largest snapshot [`restore`] accepts, to bound its allocation.
pub const MAX_SNAPSHOT_LEN: usize = 64 << 20;

/// Why a snapshot could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The first line is not [`MAGIC`] (another format or version).
    #[error("not a telsec home agent snapshot of version 1")]
    BadHeader,
    /// The snapshot is not UTF-8 or larger than [`MAX_SNAPSHOT_LEN`].
    #[error("snapshot is not UTF-8 text of acceptable size")]
    NotText,
    /// A record line does not parse.
    #[error("malformed snapshot line {0}")]
    BadLine(usize),
}

fn tunnel_text(t: Tunnel) -> String {
    match t {
        Tunnel::IpInIp => "ipip".into(),
        Tunnel::Gre => "gre".into(),
        Tunnel::Minimal => "minimal".into(),
        Tunnel::Udp {
            encapsulation,
            keepalive_secs,
        } => format!("udp/{}/{keepalive_secs}", u8::from(encapsulation)),
    }
}

fn parse_tunnel(s: &str) -> Option<Tunnel> {
    Some(match s {
        "ipip" => Tunnel::IpInIp,
        "gre" => Tunnel::Gre,
        "minimal" => Tunnel::Minimal,
        _ => {
            let mut p = s.strip_prefix("udp/")?.split('/');
            let encapsulation = Encapsulation::from(p.next()?.parse::<u8>().ok()?);
            let keepalive_secs = p.next()?.parse().ok()?;
            if p.next().is_some() {
                return None;
            }
            Tunnel::Udp {
                encapsulation,
                keepalive_secs,
            }
        }
    })
}

/// Writes the snapshot.
pub fn snapshot(cache: &BindingCache, records: &BTreeMap<Ipv4Addr, MnRecord>) -> Vec<u8> {
    let mut s = String::from(MAGIC);
    s.push('\n');
    for b in cache.iter() {
        let expires = b
            .expires_ms
            .map_or_else(|| "-".to_string(), |t| t.to_string());
        // Writing to a String cannot fail.
        let _ = writeln!(
            s,
            "B {} {} {} {} {:016x} {:02x} {} {}",
            b.home_address,
            b.care_of_address,
            b.granted_lifetime,
            expires,
            b.identification,
            b.flags.0,
            tunnel_text(b.tunnel),
            b.source
        );
    }
    for (home, r) in records {
        let _ = writeln!(s, "R {home} {:016x} {}", r.last_accepted, r.accepted);
    }
    s.into_bytes()
}

fn parse_binding(f: &[&str]) -> Option<Binding> {
    let [home, coa, granted, expires, ident, flags, tunnel, src] = f else {
        return None;
    };
    Some(Binding {
        home_address: home.parse().ok()?,
        care_of_address: coa.parse().ok()?,
        granted_lifetime: granted.parse().ok()?,
        expires_ms: match *expires {
            "-" => None,
            t => Some(t.parse().ok()?),
        },
        identification: u64::from_str_radix(ident, 16).ok()?,
        flags: RequestFlags(u8::from_str_radix(flags, 16).ok()?),
        tunnel: parse_tunnel(tunnel)?,
        source: src.parse::<SocketAddrV4>().ok()?,
    })
}

fn parse_record(f: &[&str]) -> Option<(Ipv4Addr, MnRecord)> {
    let [home, ident, count] = f else {
        return None;
    };
    Some((
        home.parse().ok()?,
        MnRecord {
            last_accepted: u64::from_str_radix(ident, 16).ok()?,
            accepted: count.parse().ok()?,
        },
    ))
}

/// Reads a snapshot, dropping bindings lapsed at `now_ms`; replay records
/// are always kept.
pub fn restore(
    bytes: &[u8],
    now_ms: u64,
) -> Result<(BindingCache, BTreeMap<Ipv4Addr, MnRecord>), SnapshotError> {
    if bytes.len() > MAX_SNAPSHOT_LEN {
        return Err(SnapshotError::NotText);
    }
    let text = core::str::from_utf8(bytes).map_err(|_| SnapshotError::NotText)?;
    let mut lines = text.lines();
    if lines.next() != Some(MAGIC) {
        return Err(SnapshotError::BadHeader);
    }
    let mut cache = BindingCache::new();
    let mut records = BTreeMap::new();
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(' ').collect();
        match fields.split_first() {
            Some((&"B", rest)) => {
                let b = parse_binding(rest).ok_or(SnapshotError::BadLine(n))?;
                if !b.is_expired(now_ms) {
                    // Replaying the list as simultaneous registrations
                    // with no limit rebuilds it exactly.
                    cache
                        .register(b, true, usize::MAX)
                        .map_err(|_| SnapshotError::BadLine(n))?;
                }
            }
            Some((&"R", rest)) => {
                let (home, r) = parse_record(rest).ok_or(SnapshotError::BadLine(n))?;
                records.insert(home, r);
            }
            _ => return Err(SnapshotError::BadLine(n)),
        }
    }
    Ok((cache, records))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_expiry() {
        let mut cache = BindingCache::new();
        let mk = |coa: u8, exp, tunnel| Binding {
            home_address: Ipv4Addr::new(10, 0, 0, 5),
            care_of_address: Ipv4Addr::new(192, 0, 2, coa),
            granted_lifetime: 600,
            expires_ms: exp,
            identification: 0xdead_beef_0000_0001,
            flags: RequestFlags(0x82),
            tunnel,
            source: SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 1), 40_000),
        };
        let udp = Tunnel::Udp {
            encapsulation: Encapsulation::Gre,
            keepalive_secs: 110,
        };
        cache
            .register(mk(1, Some(5_000), udp), true, 4)
            .expect("ok");
        cache
            .register(mk(2, None, Tunnel::Minimal), true, 4)
            .expect("ok");
        cache
            .register(mk(3, Some(1_000), Tunnel::Gre), true, 4)
            .expect("ok");
        let mut rec = BTreeMap::new();
        rec.insert(
            Ipv4Addr::new(10, 0, 0, 5),
            MnRecord {
                last_accepted: 7,
                accepted: 3,
            },
        );
        let bytes = snapshot(&cache, &rec);
        let (c2, r2) = restore(&bytes, 0).expect("restores");
        assert_eq!(c2, cache);
        assert_eq!(r2, rec);
        let (c3, _) = restore(&bytes, 1_000).expect("restores");
        assert_eq!(c3.len(), 2);
        assert_eq!(restore(b"x\n", 0), Err(SnapshotError::BadHeader));
        assert_eq!(
            restore(b"telsec-mip-ha 1\nB 1.2.3.4\n", 0),
            Err(SnapshotError::BadLine(2))
        );
        assert_eq!(restore(&[0xff], 0), Err(SnapshotError::NotText));
    }
}
