//! Persistence: an append-only journal of applied updates plus a periodic
//! snapshot, so the zone survives a restart.
//!
//! Every accepted update is appended to `zone.jnl` and `fdatasync`ed
//! *before* the server answers NOERROR, so an acknowledged update is on
//! disk. A journal entry is the update section itself (RFC 2136 §2.5
//! records, whose class says add / delete RRset / delete name / delete RR),
//! with the serial it produced and a sequence number; replaying the entries
//! in order on the same starting state gives the same zone, as §3.4.2's
//! rules are deterministic. Every `SNAPSHOT_EVERY` entries the whole zone
//! is written to `zone.snap.tmp`, synced, renamed over `zone.snap` and the
//! directory synced (an atomic replace); then the journal is emptied.
//! Entries whose sequence number is not above the snapshot's are skipped
//! on load, so a crash between the rename and the truncation is harmless.
//!
//! Each entry and the snapshot end in a SHA-256 prefix. A short or
//! mismatching *last* entry is a torn write (the update was never
//! acknowledged) and is cut off; damage anywhere else is reported as
//! corruption rather than silently dropping acknowledged updates.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Read, Write},
    path::{Path, PathBuf},
};

use hickory_proto::{
    rr::{Name, Record},
    serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder},
};
use sha2::{Digest, Sha256};

use crate::Error;

const JOURNAL_MAGIC: &[u8; 8] = b"TSDNSJ01";
const SNAPSHOT_MAGIC: &[u8; 8] = b"TSDNSS01";
const CHECK_LEN: usize = 8;
/// Journal entries between two snapshots.
pub(crate) const SNAPSHOT_EVERY: u32 = 1000;
/// Bound on one journal entry. An update message is at most 65535 octets,
/// but its records are journaled one by one without name compression, so
/// an entry may be larger; anything past this bound is a torn length.
const MAX_ENTRY: usize = 4 << 20;

/// One replayable journal entry.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) serial: u32,
    pub(crate) records: Vec<Record>,
}

/// What `Store::open` found on disk.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// Snapshot serial and records, if a snapshot exists.
    pub(crate) snapshot: Option<(u32, Vec<Record>)>,
    /// Journal entries newer than the snapshot, in order.
    pub(crate) entries: Vec<Entry>,
}

/// The open journal.
#[derive(Debug)]
pub(crate) struct Store {
    dir: PathBuf,
    journal: File,
    /// Sequence number of the last entry written (or of the snapshot).
    seq: u64,
    since_snapshot: u32,
    snapshot_every: u32,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Storage {
        path: path.to_owned(),
        source,
    }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> Error {
    Error::CorruptStorage {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn check(data: &[u8]) -> [u8; CHECK_LEN] {
    let digest = Sha256::digest(data);
    let mut out = [0u8; CHECK_LEN];
    out.copy_from_slice(&digest[..CHECK_LEN]);
    out
}

fn encode_name(name: &Name, out: &mut Vec<u8>) -> Result<(), Error> {
    // A `BinEncoder` writes from offset 0 of its buffer: use a fresh one.
    let mut buf = Vec::with_capacity(64);
    let mut enc = BinEncoder::new(&mut buf);
    name.emit(&mut enc)
        .map_err(|e| Error::Message(e.to_string()))?;
    out.extend_from_slice(&buf);
    Ok(())
}

/// Records as `u32 count` then `u16 length + wire form` each.
fn encode_records(records: &[Record], out: &mut Vec<u8>) -> Result<(), Error> {
    let count = u32::try_from(records.len()).map_err(|e| Error::Message(e.to_string()))?;
    out.extend_from_slice(&count.to_be_bytes());
    let mut buf = Vec::with_capacity(128);
    for r in records {
        buf.clear();
        let mut enc = BinEncoder::new(&mut buf);
        r.emit(&mut enc)
            .map_err(|e| Error::Message(e.to_string()))?;
        let len = u16::try_from(buf.len()).map_err(|e| Error::Message(e.to_string()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&buf);
    }
    Ok(())
}

/// A cursor over a checked byte buffer.
struct Cursor<'a> {
    buf: &'a [u8],
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.buf.len() < n {
            return Err(corrupt(self.path, "truncated record data"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn u16(&mut self) -> Result<u16, Error> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, Error> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    fn name(&mut self) -> Result<Name, Error> {
        let mut dec = BinDecoder::new(self.buf);
        let name = Name::read(&mut dec).map_err(|e| corrupt(self.path, e.to_string()))?;
        let used = self.buf.len() - dec.len();
        self.take(used)?;
        Ok(name)
    }

    fn records(&mut self) -> Result<Vec<Record>, Error> {
        let count = self.u32()? as usize;
        // Every record takes at least 2 + 11 octets: bound the allocation
        // by what the buffer can hold.
        let mut out = Vec::with_capacity(count.min(self.buf.len() / 13));
        for _ in 0..count {
            let len = usize::from(self.u16()?);
            let wire = self.take(len)?;
            let mut dec = BinDecoder::new(wire);
            let r = Record::read(&mut dec).map_err(|e| corrupt(self.path, e.to_string()))?;
            out.push(r);
        }
        Ok(out)
    }
}

impl Store {
    /// Opens (creating if needed) the store in `dir` for zone `origin` and
    /// returns what must be replayed.
    pub(crate) fn open(dir: &Path, origin: &Name) -> Result<(Self, Loaded), Error> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let mut loaded = Loaded::default();
        let snap_path = dir.join("zone.snap");
        let mut seq = 0u64;
        match fs::read(&snap_path) {
            Ok(bytes) => {
                let (snap_seq, serial, records) = parse_snapshot(&bytes, &snap_path, origin)?;
                seq = snap_seq;
                loaded.snapshot = Some((serial, records));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&snap_path)(e)),
        }

        let jpath = dir.join("zone.jnl");
        let mut journal = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&jpath)
            .map_err(io_err(&jpath))?;
        let mut bytes = Vec::new();
        journal.read_to_end(&mut bytes).map_err(io_err(&jpath))?;
        let (entries, good_len, last_seq) = parse_journal(&bytes, &jpath, origin, seq)?;
        if good_len != bytes.len() {
            tracing::warn!(
                path = %jpath.display(),
                dropped = bytes.len() - good_len,
                "cutting a torn final journal entry (never acknowledged)"
            );
            journal.set_len(good_len as u64).map_err(io_err(&jpath))?;
        }
        if good_len == 0 {
            let mut header = JOURNAL_MAGIC.to_vec();
            encode_name(origin, &mut header)?;
            journal.write_all(&header).map_err(io_err(&jpath))?;
        }
        journal.sync_data().map_err(io_err(&jpath))?;
        sync_dir(dir)?;
        let since_snapshot = u32::try_from(entries.len()).unwrap_or(u32::MAX);
        loaded.entries = entries;
        Ok((
            Self {
                dir: dir.to_owned(),
                journal,
                seq: last_seq.max(seq),
                since_snapshot,
                snapshot_every: SNAPSHOT_EVERY,
            },
            loaded,
        ))
    }

    /// Appends one applied update and syncs it to disk.
    pub(crate) fn append(&mut self, serial: u32, records: &[Record]) -> Result<(), Error> {
        let seq = self.seq + 1;
        let mut payload = Vec::with_capacity(256);
        payload.extend_from_slice(&seq.to_be_bytes());
        payload.extend_from_slice(&serial.to_be_bytes());
        encode_records(records, &mut payload)?;
        if payload.len() > MAX_ENTRY {
            return Err(Error::Message(
                "update too large for one journal entry".into(),
            ));
        }
        let mut entry = Vec::with_capacity(4 + payload.len() + CHECK_LEN);
        entry.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        entry.extend_from_slice(&payload);
        entry.extend_from_slice(&check(&payload));
        let path = self.dir.join("zone.jnl");
        self.journal.write_all(&entry).map_err(io_err(&path))?;
        self.journal.sync_data().map_err(io_err(&path))?;
        self.seq = seq;
        self.since_snapshot += 1;
        Ok(())
    }

    /// Whether enough entries accumulated for a snapshot.
    pub(crate) fn wants_snapshot(&self) -> bool {
        self.since_snapshot >= self.snapshot_every
    }

    pub(crate) fn set_snapshot_every(&mut self, n: u32) {
        self.snapshot_every = n.max(1);
    }

    /// Writes the whole zone atomically, then empties the journal.
    pub(crate) fn snapshot(
        &mut self,
        origin: &Name,
        serial: u32,
        records: &[Record],
    ) -> Result<(), Error> {
        let mut body = SNAPSHOT_MAGIC.to_vec();
        encode_name(origin, &mut body)?;
        body.extend_from_slice(&self.seq.to_be_bytes());
        body.extend_from_slice(&serial.to_be_bytes());
        encode_records(records, &mut body)?;
        let sum = check(&body);
        body.extend_from_slice(&sum);

        let tmp = self.dir.join("zone.snap.tmp");
        let path = self.dir.join("zone.snap");
        {
            let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
            f.write_all(&body).map_err(io_err(&tmp))?;
            f.sync_all().map_err(io_err(&tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        sync_dir(&self.dir)?;

        let jpath = self.dir.join("zone.jnl");
        let mut header = JOURNAL_MAGIC.to_vec();
        encode_name(origin, &mut header)?;
        self.journal
            .set_len(header.len() as u64)
            .map_err(io_err(&jpath))?;
        self.journal.sync_data().map_err(io_err(&jpath))?;
        self.since_snapshot = 0;
        Ok(())
    }
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

fn parse_snapshot(
    bytes: &[u8],
    path: &Path,
    origin: &Name,
) -> Result<(u64, u32, Vec<Record>), Error> {
    if bytes.len() < SNAPSHOT_MAGIC.len() + CHECK_LEN || !bytes.starts_with(SNAPSHOT_MAGIC) {
        return Err(corrupt(path, "not a telsec zone snapshot"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - CHECK_LEN);
    if check(body) != sum {
        return Err(corrupt(path, "checksum mismatch"));
    }
    let mut c = Cursor {
        buf: &body[SNAPSHOT_MAGIC.len()..],
        path,
    };
    let name = c.name()?;
    if name != *origin {
        return Err(corrupt(
            path,
            format!("snapshot of zone {name}, not {origin}"),
        ));
    }
    let seq = c.u64()?;
    let serial = c.u32()?;
    let records = c.records()?;
    Ok((seq, serial, records))
}

/// Returns the entries after `after_seq`, the length of the well-formed
/// prefix, and the last sequence number seen.
fn parse_journal(
    bytes: &[u8],
    path: &Path,
    origin: &Name,
    after_seq: u64,
) -> Result<(Vec<Entry>, usize, u64), Error> {
    if bytes.len() < JOURNAL_MAGIC.len() {
        // Empty, or a header torn at creation.
        return Ok((Vec::new(), 0, 0));
    }
    if !bytes.starts_with(JOURNAL_MAGIC) {
        return Err(corrupt(path, "not a telsec zone journal"));
    }
    let mut c = Cursor {
        buf: &bytes[JOURNAL_MAGIC.len()..],
        path,
    };
    let Ok(name) = c.name() else {
        return Ok((Vec::new(), 0, 0));
    };
    if name != *origin {
        return Err(corrupt(
            path,
            format!("journal of zone {name}, not {origin}"),
        ));
    }
    let mut at = bytes.len() - c.buf.len();
    let mut entries = Vec::new();
    let mut last_seq = 0u64;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let Some(len_bytes) = rest.first_chunk::<4>() else {
            break; // torn length field
        };
        let len = u32::from_be_bytes(*len_bytes) as usize;
        let total = 4 + len + CHECK_LEN;
        if len > MAX_ENTRY || rest.len() < total {
            // A length running past the end can only be the final write.
            break;
        }
        let payload = &rest[4..4 + len];
        if check(payload) != rest[4 + len..total] {
            if rest.len() == total {
                break; // torn final entry
            }
            return Err(corrupt(
                path,
                format!("journal entry at offset {at} fails its checksum"),
            ));
        }
        let mut pc = Cursor { buf: payload, path };
        let seq = pc.u64()?;
        let serial = pc.u32()?;
        let records = pc.records()?;
        if last_seq != 0 && seq != last_seq + 1 {
            return Err(corrupt(
                path,
                format!("journal sequence jumps from {last_seq} to {seq}"),
            ));
        }
        last_seq = seq;
        if seq > after_seq {
            entries.push(Entry { serial, records });
        }
        at += total;
    }
    Ok((entries, at, last_seq))
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use hickory_proto::rr::{RData, rdata::A};

    use super::*;

    fn origin() -> Name {
        Name::from_ascii("telsec.test.").unwrap()
    }

    fn rec(i: u8) -> Record {
        Record::from_rdata(
            Name::from_ascii(format!("mn{i}.telsec.test.")).unwrap(),
            60,
            RData::A(A(Ipv4Addr::new(10, 0, 0, i))),
        )
    }

    #[test]
    fn journal_round_trip_and_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut s, loaded) = Store::open(dir.path(), &origin()).unwrap();
            assert!(loaded.entries.is_empty());
            s.append(2, &[rec(1)]).unwrap();
            s.append(3, &[rec(2), rec(3)]).unwrap();
        }
        // Simulate a torn third write.
        let jpath = dir.path().join("zone.jnl");
        let mut f = OpenOptions::new().append(true).open(&jpath).unwrap();
        f.write_all(&[0, 0, 0, 40, 1, 2, 3]).unwrap();
        drop(f);
        let (mut s, loaded) = Store::open(dir.path(), &origin()).unwrap();
        assert_eq!(loaded.entries.len(), 2);
        assert_eq!(loaded.entries[1].serial, 3);
        assert_eq!(loaded.entries[1].records.len(), 2);
        // The torn bytes are gone and appending continues the sequence.
        s.append(4, &[rec(4)]).unwrap();
        drop(s);
        let (_, loaded) = Store::open(dir.path(), &origin()).unwrap();
        assert_eq!(loaded.entries.len(), 3);
        assert_eq!(loaded.entries[2].serial, 4);
    }

    #[test]
    fn damage_before_the_end_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut s, _) = Store::open(dir.path(), &origin()).unwrap();
            s.append(2, &[rec(1)]).unwrap();
            s.append(3, &[rec(2)]).unwrap();
        }
        let jpath = dir.path().join("zone.jnl");
        let mut bytes = fs::read(&jpath).unwrap();
        let header = JOURNAL_MAGIC.len() + 13; // magic + "telsec.test."
        bytes[header + 4 + 9] ^= 0xff; // inside the first entry's payload
        fs::write(&jpath, &bytes).unwrap();
        assert!(matches!(
            Store::open(dir.path(), &origin()),
            Err(Error::CorruptStorage { .. })
        ));
    }

    #[test]
    fn snapshot_replaces_journal() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut s, _) = Store::open(dir.path(), &origin()).unwrap();
            s.append(2, &[rec(1)]).unwrap();
            s.snapshot(&origin(), 2, &[rec(1)]).unwrap();
            s.append(3, &[rec(2)]).unwrap();
        }
        let (_, loaded) = Store::open(dir.path(), &origin()).unwrap();
        let (serial, records) = loaded.snapshot.unwrap();
        assert_eq!(serial, 2);
        assert_eq!(records, vec![rec(1)]);
        assert_eq!(loaded.entries.len(), 1);
        assert_eq!(loaded.entries[0].serial, 3);
    }

    #[test]
    fn other_zone_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path(), &origin()).unwrap());
        let other = Name::from_ascii("example.test.").unwrap();
        assert!(matches!(
            Store::open(dir.path(), &other),
            Err(Error::CorruptStorage { .. })
        ));
    }
}
