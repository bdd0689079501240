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
//! H <home>
//! E
//! ```
//!
//! `H` forgets every binding of `<home>`; it starts each journal entry,
//! and `E` ends it.
//! The journal ([`journal_entry`]) is what makes persistence cheap enough
//! to keep up with tens of thousands of registrations a second: after each
//! accepted request the driver appends the new state of that one home
//! address (`H`, its `B` lines, its `R` line) to a journal file, syncs the
//! journal once per batch of requests before sending their replies, and
//! now and then writes a fresh snapshot and empties the journal. Restoring
//! reads the snapshot and then the journal's entries in order; a last
//! entry without its `E` line was torn by a crash before it was synced (so
//! its reply was never sent) and is ignored as a whole.
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
    /// A complete journal line does not parse.
    #[error("malformed journal line {0}")]
    BadJournalLine(usize),
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

fn binding_line(s: &mut String, b: &Binding) {
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

/// Writes the snapshot.
pub fn snapshot(cache: &BindingCache, records: &BTreeMap<Ipv4Addr, MnRecord>) -> Vec<u8> {
    let mut s = String::from(MAGIC);
    s.push('\n');
    for b in cache.iter() {
        binding_line(&mut s, b);
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

/// The journal entry recording the state of `home` after a change: its
/// bindings and its replay record.
pub fn journal_entry(home: Ipv4Addr, bindings: &[Binding], record: Option<MnRecord>) -> Vec<u8> {
    let mut s = format!("H {home}\n");
    for b in bindings {
        binding_line(&mut s, b);
    }
    if let Some(r) = record {
        let _ = writeln!(s, "R {home} {:016x} {}", r.last_accepted, r.accepted);
    }
    s.push_str("E\n");
    s.into_bytes()
}

/// The home agent state being rebuilt.
type State = (BindingCache, BTreeMap<Ipv4Addr, MnRecord>);

/// Applies record lines to `state`; `bad` makes the error for line `n`.
fn apply<'a>(
    lines: impl Iterator<Item = &'a str>,
    first_line: usize,
    now_ms: u64,
    state: &mut State,
    bad: fn(usize) -> SnapshotError,
) -> Result<(), SnapshotError> {
    let (cache, records) = state;
    for (i, line) in lines.enumerate() {
        let n = i + first_line;
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(' ').collect();
        match fields.split_first() {
            Some((&"B", rest)) => {
                let b = parse_binding(rest).ok_or(bad(n))?;
                if !b.is_expired(now_ms) {
                    // Replaying the list as simultaneous registrations
                    // with no limit rebuilds it exactly.
                    cache.register(b, true, usize::MAX).map_err(|_| bad(n))?;
                }
            }
            Some((&"R", rest)) => {
                let (home, r) = parse_record(rest).ok_or(bad(n))?;
                records.insert(home, r);
            }
            Some((&"H", [home])) => {
                cache.remove_all(home.parse().map_err(|_| bad(n))?);
            }
            _ => return Err(bad(n)),
        }
    }
    Ok(())
}

fn text(bytes: &[u8]) -> Result<&str, SnapshotError> {
    if bytes.len() > MAX_SNAPSHOT_LEN {
        return Err(SnapshotError::NotText);
    }
    core::str::from_utf8(bytes).map_err(|_| SnapshotError::NotText)
}

/// Reads a snapshot, dropping bindings lapsed at `now_ms`; replay records
/// are always kept.
pub fn restore(bytes: &[u8], now_ms: u64) -> Result<State, SnapshotError> {
    restore_with_journal(bytes, b"", now_ms)
}

/// Reads a snapshot and then its journal (see the module documentation).
pub fn restore_with_journal(
    snapshot: &[u8],
    journal: &[u8],
    now_ms: u64,
) -> Result<State, SnapshotError> {
    let mut lines = text(snapshot)?.lines();
    if lines.next() != Some(MAGIC) {
        return Err(SnapshotError::BadHeader);
    }
    let mut state = (BindingCache::new(), BTreeMap::new());
    apply(lines, 2, now_ms, &mut state, SnapshotError::BadLine)?;
    // Entries are applied whole, when their `E` line has been read.
    let mut entry_start = 0;
    let mut entry = Vec::new();
    for (i, line) in text(journal)?.split('\n').enumerate() {
        match line {
            "E" => {
                apply(
                    entry.drain(..),
                    entry_start + 1,
                    now_ms,
                    &mut state,
                    SnapshotError::BadJournalLine,
                )?;
            }
            _ if line.starts_with("H ") => {
                if !entry.is_empty() {
                    // An entry without its end inside the journal: only
                    // the tail may be torn.
                    return Err(SnapshotError::BadJournalLine(i + 1));
                }
                entry_start = i;
                entry.push(line);
            }
            "" => {}
            _ if entry.is_empty() => return Err(SnapshotError::BadJournalLine(i + 1)),
            _ => entry.push(line),
        }
    }
    Ok(state)
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

        // A journal replaces one home address's state; a torn last line
        // is ignored, a complete bad one is an error.
        let home = Ipv4Addr::new(10, 0, 0, 5);
        let moved = mk(9, Some(9_000), Tunnel::IpInIp);
        let newer = MnRecord {
            last_accepted: 8,
            accepted: 4,
        };
        let mut journal = journal_entry(home, std::slice::from_ref(&moved), Some(newer));
        journal.extend_from_slice(b"H 10.0.0.5\nB 10.0.0.5 192.0.2.1 60");
        let (c4, r4) = restore_with_journal(&bytes, &journal, 0).expect("restores");
        assert_eq!(c4.get(home), std::slice::from_ref(&moved));
        assert_eq!(r4.get(&home), Some(&newer));
        assert_eq!(
            restore_with_journal(&bytes, b"H 10.0.0.5\nX\nE\n", 0),
            Err(SnapshotError::BadJournalLine(2))
        );
        assert_eq!(
            restore_with_journal(&bytes, b"H 10.0.0.5\nH 10.0.0.6\nE\n", 0),
            Err(SnapshotError::BadJournalLine(2))
        );
    }
}
