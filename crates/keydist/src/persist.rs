//! What the two snapshot formats share: the error type and line splitting.
//!
//! Both are versioned UTF-8 text, one record a line, fields separated by one
//! space, in the style of `telsec_mip::ha::persist`. The formats themselves
//! are documented in [`crate::issuer`] and [`crate::receiver`].

/// Largest snapshot accepted, to bound the allocation of a restore.
pub const MAX_SNAPSHOT_LEN: usize = 64 << 20;

/// Why a snapshot could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The first line is not the expected magic and version.
    #[error("not a {0} snapshot")]
    BadHeader(&'static str),
    /// The snapshot is not UTF-8 or larger than [`MAX_SNAPSHOT_LEN`].
    #[error("snapshot is not UTF-8 text of acceptable size")]
    NotText,
    /// A record line does not parse, or repeats an earlier key.
    #[error("malformed snapshot line {0}")]
    BadLine(usize),
}

/// The record lines after a `magic` first line, as (line number, fields),
/// skipping empty lines.
pub(crate) fn records<'a>(
    bytes: &'a [u8],
    magic: &'static str,
) -> Result<impl Iterator<Item = (usize, Vec<&'a str>)>, SnapshotError> {
    if bytes.len() > MAX_SNAPSHOT_LEN {
        return Err(SnapshotError::NotText);
    }
    let text = core::str::from_utf8(bytes).map_err(|_| SnapshotError::NotText)?;
    let mut lines = text.lines();
    if lines.next() != Some(magic) {
        return Err(SnapshotError::BadHeader(magic));
    }
    Ok(lines
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| (i + 2, l.split(' ').collect())))
}

/// Six hex digits to a TAR.
pub(crate) fn parse_tar(s: &str) -> Option<[u8; 3]> {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let v = u32::from_str_radix(s, 16).ok()?;
    let [_, a, b, c] = v.to_be_bytes();
    Some([a, b, c])
}

/// A TAR as six hex digits.
pub(crate) fn tar_hex(tar: &[u8; 3]) -> String {
    format!("{:02x}{:02x}{:02x}", tar[0], tar[1], tar[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_text() {
        assert_eq!(tar_hex(&[0x54, 0x4b, 0x44]), "544b44");
        assert_eq!(parse_tar("544b44"), Some([0x54, 0x4b, 0x44]));
        assert_eq!(parse_tar("544b4"), None);
        assert_eq!(parse_tar("+44b44"), None);
    }

    #[test]
    fn header_and_text_checks() {
        assert_eq!(
            records(b"other\n", "magic 1").err(),
            Some(SnapshotError::BadHeader("magic 1"))
        );
        assert_eq!(
            records(&[0xff, 0xfe], "magic 1").err(),
            Some(SnapshotError::NotText)
        );
        let lines: Vec<_> = records(b"magic 1\n\nA b\n", "magic 1")
            .map(|it| it.collect())
            .unwrap_or_default();
        assert_eq!(lines, vec![(3, vec!["A", "b"])]);
    }
}
