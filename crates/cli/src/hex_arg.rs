//! Hex command-line arguments of a fixed or bounded length.

use crate::exit::UsageError;

/// Parse `value` as hex of exactly `N` bytes; `what` names the option in the error.
pub fn fixed<const N: usize>(what: &str, value: &str) -> Result<[u8; N], UsageError> {
    let bytes = any(what, value)?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        UsageError(format!(
            "--{what} must be {N} bytes ({} hex digits), got {} bytes",
            N * 2,
            b.len()
        ))
    })
}

/// Parse `value` as hex of any length.
pub fn any(what: &str, value: &str) -> Result<Vec<u8>, UsageError> {
    hex::decode(value.trim()).map_err(|e| UsageError(format!("--{what}: not hex: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_checks_length() {
        assert_eq!(fixed::<2>("amf", "b9b9").unwrap(), [0xb9, 0xb9]);
        assert!(fixed::<2>("amf", "b9").is_err());
        assert!(fixed::<2>("amf", "zz11").is_err());
    }
}
