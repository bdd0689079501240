//! What the two text formats ([`crate::pool`], [`crate::node_config`])
//! share: line splitting under a magic first line, hex, IMSI syntax.
//!
//! Both are versioned UTF-8 text, one record a line, fields separated by
//! one space; the driver writes them atomically (temporary file + rename).

/// Largest text accepted, to bound the allocation of a restore.
pub const MAX_TEXT_LEN: usize = 16 << 20;

/// Why a text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// The first line is not the expected magic and version.
    #[error("not a {0} file")]
    BadHeader(&'static str),
    /// The text is larger than [`MAX_TEXT_LEN`].
    #[error("text too large")]
    TooLarge,
    /// A line does not parse; the line number (1-based) and why.
    #[error("line {0}: {1}")]
    BadLine(usize, &'static str),
}

/// The record lines after a `magic` first line, as (line number, fields),
/// skipping empty lines.
pub(crate) fn records<'a>(
    text: &'a str,
    magic: &'static str,
) -> Result<impl Iterator<Item = (usize, Vec<&'a str>)>, TextError> {
    if text.len() > MAX_TEXT_LEN {
        return Err(TextError::TooLarge);
    }
    let mut lines = text.lines();
    if lines.next() != Some(magic) {
        return Err(TextError::BadHeader(magic));
    }
    Ok(lines
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| (i + 2, l.split(' ').collect())))
}

/// Lower-case hex.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex (either case) to octets.
pub(crate) fn from_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// An IMSI: 6 to 15 decimal digits (TS 23.003 §2.2: MCC 3, MNC 2-3, MSIN;
/// at most 15 digits).
pub fn is_valid_imsi(imsi: &str) -> bool {
    (6..=15).contains(&imsi.len()) && imsi.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_both_ways() {
        assert_eq!(to_hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(from_hex("00AB10"), Some(vec![0, 0xab, 0x10]));
        assert_eq!(from_hex("0"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex("+1"), None);
        assert_eq!(from_hex("é1"), None);
    }

    #[test]
    fn imsi_syntax() {
        assert!(is_valid_imsi("001010000000001"));
        assert!(!is_valid_imsi("0010100000000011"));
        assert!(!is_valid_imsi("00101"));
        assert!(!is_valid_imsi("00101000000000a"));
    }

    #[test]
    fn header_and_records() {
        assert_eq!(
            records("other\n", "magic 1").err(),
            Some(TextError::BadHeader("magic 1"))
        );
        let r: Vec<_> = records("magic 1\n\na b\nc\n", "magic 1").unwrap().collect();
        assert_eq!(r, vec![(3, vec!["a", "b"]), (4, vec!["c"])]);
    }
}
