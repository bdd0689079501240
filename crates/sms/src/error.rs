//! The error type of the codecs.

/// Why an SMS octet string or text could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmsError {
    /// The input ended before the named field was complete.
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// Octets were left over after the last field of a TPDU.
    #[error("{0} trailing octets after the TPDU")]
    TrailingData(usize),
    /// A length field is larger than its field allows (TS 23.040 §9.1.2.5,
    /// §9.2.3.16).
    #[error("{field} length {len} exceeds the maximum {max}")]
    TooLong {
        /// The field whose length is out of range.
        field: &'static str,
        /// The length found or requested.
        len: usize,
        /// The largest length the specification allows.
        max: usize,
    },
    /// A semi-octet that is not a decimal digit where one is required
    /// (time stamps, TS 23.040 §9.2.3.11).
    #[error("invalid BCD semi-octet 0x{0:x}")]
    InvalidBcd(u8),
    /// A character that the address digit set (0-9 * # a b c) cannot carry.
    #[error("invalid address digit {0:?}")]
    InvalidDigit(char),
    /// A character that neither the GSM 7-bit default alphabet nor its
    /// extension table contains (TS 23.038 §6.2.1).
    #[error("character {0:?} is not in the GSM 7-bit default alphabet")]
    NotGsm7(char),
    /// The TP-MTI does not name the message type being parsed.
    #[error("TP-MTI {0} is not the expected message type")]
    WrongMessageType(u8),
    /// A user data header whose IEs overrun its declared length.
    #[error("malformed user data header")]
    BadUdh,
    /// Hexadecimal text (PDU mode) with an odd length or a non-hex digit.
    #[error("invalid hexadecimal PDU text")]
    BadHex,
    /// A value outside the range the field encodes (e.g. month 13).
    #[error("{0} out of range")]
    OutOfRange(&'static str),
}
