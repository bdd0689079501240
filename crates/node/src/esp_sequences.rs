//! Reservations of outbound ESP sequence numbers, kept in a file.
//!
//! ESP keys derived from a configured secret (telsec-vpn's keys: the
//! gateway's, and the mobile node's) are the same after every restart; its sequence numbers are the AES-GCM
//! IVs (RFC 4106 §3.1), and an IV sent twice under one key gives away the
//! authentication key and the XOR of two plaintexts (RFC 4106 §9). So no
//! sequence number is sent before the file says it may have been used: at
//! start an SA resumes after the last reservation and reserves
//! [`LEASE`] more; when half of that is used the reservation is extended
//! (one synced write per `LEASE / 2` packets); a packet beyond the
//! reservation (the file could not be written) is not sent. A crash then
//! skips at most `LEASE` numbers, as the HLR's SQN leases do.
//!
//! File: a `#` header, then one `<spi> <last reserved>` line per outbound
//! SA, both decimal.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::atomic_file;

/// Why the reservations could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SequenceError {
    /// The file could not be read or written.
    #[error("sequence state {path}: {source}")]
    State {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line does not parse.
    #[error("{0}")]
    Invalid(String),
}

/// Logging target.
const TARGET: &str = "telsec::esp";

/// Sequence numbers reserved per write.
pub const LEASE: u64 = 1 << 16;
/// Most lines read from the file (two SAs for each of 65 536 nodes).
const MAX_ENTRIES: usize = 1 << 17;
/// After a failed write, the next attempt waits this long.
const RETRY: Duration = Duration::from_secs(1);
const HEADER: &str = "# telsec outbound ESP sequence reservations v1: <spi> <last reserved>";

/// Whether a sealed packet may leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Its sequence number is reserved.
    Send,
    /// It is not (the file could not be written): drop it.
    Unreserved,
}

/// The reservations of a running gateway or node.
#[derive(Debug)]
pub struct SequenceBook {
    path: PathBuf,
    reserved: BTreeMap<u32, u64>,
    retry_at: Option<Instant>,
}

fn parse(text: &str, path: &Path) -> Result<BTreeMap<u32, u64>, SequenceError> {
    let bad = |line: usize| {
        SequenceError::Invalid(format!(
            "{}: line {line} is not `<spi> <sequence>`",
            path.display()
        ))
    };
    let mut out = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let mut parts = l.split_ascii_whitespace();
        let (Some(spi), Some(seq), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad(i + 1));
        };
        let spi: u32 = spi.parse().map_err(|_| bad(i + 1))?;
        let seq: u64 = seq.parse().map_err(|_| bad(i + 1))?;
        if out.len() >= MAX_ENTRIES {
            return Err(bad(i + 1));
        }
        let e = out.entry(spi).or_insert(seq);
        *e = (*e).max(seq);
    }
    Ok(out)
}

impl SequenceBook {
    /// Reads `path` (absent: nothing used yet), reserves a lease for each
    /// of `spis` and writes the file before anything is sent. Returns the
    /// book and the sequence number each SA resumes after.
    ///
    /// # Errors
    /// The file is unreadable, malformed or cannot be written.
    pub fn open(path: PathBuf, spis: &[u32]) -> Result<(Self, BTreeMap<u32, u64>), SequenceError> {
        let state = |source| SequenceError::State {
            path: path.clone(),
            source,
        };
        let old = match atomic_file::read_if_exists(&path).map_err(state)? {
            Some(bytes) => parse(&String::from_utf8_lossy(&bytes), &path)?,
            None => BTreeMap::new(),
        };
        let mut resume = BTreeMap::new();
        let mut reserved = BTreeMap::new();
        for &spi in spis {
            let last = old.get(&spi).copied().unwrap_or(0);
            resume.insert(spi, last);
            reserved.insert(spi, last.saturating_add(LEASE));
        }
        let book = SequenceBook {
            path,
            reserved,
            retry_at: None,
        };
        book.write()?;
        Ok((book, resume))
    }

    fn write(&self) -> Result<(), SequenceError> {
        let mut text = String::with_capacity(HEADER.len() + 1 + 32 * self.reserved.len());
        text.push_str(HEADER);
        text.push('\n');
        for (spi, seq) in &self.reserved {
            // Writing to a String cannot fail.
            let _ = writeln!(text, "{spi} {seq}");
        }
        atomic_file::replace(&self.path, text.as_bytes()).map_err(|source| SequenceError::State {
            path: self.path.clone(),
            source,
        })
    }

    /// The last sequence number reserved for `spi`.
    pub fn reserved(&self, spi: u32) -> Option<u64> {
        self.reserved.get(&spi).copied()
    }

    /// Whether the packet the SA `spi` just sealed with sequence number
    /// `seq` may leave; extends the reservation first when half of it is
    /// used.
    pub fn check(&mut self, now: Instant, spi: u32, seq: u64) -> Verdict {
        let Some(reserved) = self.reserved(spi) else {
            return Verdict::Unreserved;
        };
        let due = seq.saturating_add(LEASE / 2) > reserved;
        let may_retry = self.retry_at.is_none_or(|t| now >= t);
        if due && may_retry {
            let before = reserved;
            self.reserved.insert(spi, seq.saturating_add(LEASE));
            match self.write() {
                Ok(()) => self.retry_at = None,
                Err(e) => {
                    tracing::error!(target: TARGET, spi, error = %e,
                        "cannot extend the sequence reservation; packets beyond it are dropped");
                    self.reserved.insert(spi, before);
                    self.retry_at = Some(now + RETRY);
                }
            }
        }
        match self.reserved(spi) {
            Some(r) if seq <= r => Verdict::Send,
            _ => Verdict::Unreserved,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("telsec-esp-seq-{name}-{}", std::process::id()))
    }

    #[test]
    fn restarts_resume_after_the_reservation_and_extend_it() {
        let d = dir("resume");
        let _ = std::fs::remove_dir_all(&d);
        let path = d.join("seq");
        let (mut book, resume) = SequenceBook::open(path.clone(), &[300, 400]).expect("opens");
        assert_eq!(resume[&300], 0);
        assert_eq!(book.reserved(300), Some(LEASE));
        let now = Instant::now();
        assert_eq!(book.check(now, 300, 1), Verdict::Send);
        assert_eq!(book.reserved(300), Some(LEASE), "no write yet");
        assert_eq!(book.check(now, 300, LEASE / 2 + 1), Verdict::Send);
        assert_eq!(book.reserved(300), Some(LEASE / 2 + 1 + LEASE), "extended");
        assert_eq!(book.check(now, 999, 1), Verdict::Unreserved, "unknown SPI");
        // A restart resumes after what the file reserved, for known SPIs;
        // others are dropped from the file.
        let (book, resume) = SequenceBook::open(path.clone(), &[300, 500]).expect("reopens");
        assert_eq!(resume[&300], LEASE / 2 + 1 + LEASE);
        assert_eq!(resume[&500], 0);
        assert_eq!(book.reserved(400), None);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn unwritable_file_stops_packets_past_the_reservation() {
        let d = dir("fail");
        let _ = std::fs::remove_dir_all(&d);
        let path = d.join("seq");
        let (mut book, _) = SequenceBook::open(path.clone(), &[300]).expect("opens");
        // Make the directory unusable: a file where it was.
        std::fs::remove_dir_all(&d).expect("removes");
        std::fs::write(&d, b"not a directory").expect("blocks");
        let now = Instant::now();
        assert_eq!(
            book.check(now, 300, LEASE - 1),
            Verdict::Send,
            "still reserved"
        );
        assert_eq!(book.reserved(300), Some(LEASE), "write failed, unchanged");
        assert_eq!(book.check(now, 300, LEASE + 1), Verdict::Unreserved);
        let _ = std::fs::remove_file(&d);
        // Once the file can be written again the reservation moves on.
        let later = now + RETRY;
        assert_eq!(book.check(later, 300, LEASE + 2), Verdict::Send);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn malformed_files_are_refused() {
        let p = Path::new("x");
        assert!(parse("# c\n\n300 5\n", p).is_ok());
        for bad in ["300", "300 5 6", "x 5", "300 -1"] {
            assert!(parse(bad, p).is_err(), "{bad}");
        }
        assert_eq!(parse("300 5\n300 9\n300 7", p).expect("max")[&300], 9);
    }
}
