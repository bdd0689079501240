//! ISO/IEC 7816-4 APDUs in the short form a UICC speaks (TS 102 221 §10).
//!
//! A command is `CLA INS P1 P2 [Lc data] [Le]`, in one of four cases:
//! 1 (header only), 2 (Le), 3 (Lc + data), 4 (Lc + data + Le). Lc is 1..=255;
//! Le of 0x00 means 256. Extended lengths (Lc = 0x00 followed by two bytes)
//! are not supported by this card and are reported as malformed.
//!
//! A response is `[data] SW1 SW2`.

use thiserror::Error;

/// Errors decoding or encoding an APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ApduError {
    /// Fewer than the 4 header bytes (command) or 2 status bytes (response).
    #[error("APDU too short")]
    TooShort,
    /// The body matches none of the short cases: Lc disagrees with the number
    /// of bytes that follow.
    #[error("Lc {lc} does not match the {body} bytes after it")]
    LcMismatch {
        /// The Lc byte.
        lc: u8,
        /// Bytes present after Lc.
        body: usize,
    },
    /// An extended-length APDU (Lc byte 0x00 followed by more bytes).
    #[error("extended-length APDUs are not supported")]
    ExtendedLength,
    /// Encoding: more than 255 data bytes, or Le outside 1..=256.
    #[error("command does not fit a short APDU")]
    TooLong,
}

/// A status word SW1 SW2 (ISO/IEC 7816-4 §5.1.3; TS 102 221 §10.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// 90 00: normal ending.
    pub const OK: StatusWord = StatusWord(0x9000);
    /// 67 00: wrong length (Lc or Le missing or inconsistent).
    pub const WRONG_LENGTH: StatusWord = StatusWord(0x6700);
    /// 68 81: logical channel not supported.
    pub const CHANNEL_NOT_SUPPORTED: StatusWord = StatusWord(0x6881);
    /// 68 82: secure messaging not supported.
    pub const SM_NOT_SUPPORTED: StatusWord = StatusWord(0x6882);
    /// 69 81: command incompatible with file structure.
    pub const INCOMPATIBLE_FILE: StatusWord = StatusWord(0x6981);
    /// 69 82: security status not satisfied (PIN not verified).
    pub const SECURITY_STATUS: StatusWord = StatusWord(0x6982);
    /// 69 83: authentication/PIN method blocked.
    pub const PIN_BLOCKED: StatusWord = StatusWord(0x6983);
    /// 69 84: referenced data invalidated (e.g. PIN disabled).
    pub const REFERENCE_INVALIDATED: StatusWord = StatusWord(0x6984);
    /// 69 85: conditions of use not satisfied (e.g. no application selected,
    /// no response data waiting).
    pub const CONDITIONS_OF_USE: StatusWord = StatusWord(0x6985);
    /// 69 86: command not allowed (no EF selected).
    pub const NO_EF_SELECTED: StatusWord = StatusWord(0x6986);
    /// 6A 80: incorrect parameters in the data field.
    pub const WRONG_DATA: StatusWord = StatusWord(0x6A80);
    /// 6A 82: file or application not found.
    pub const FILE_NOT_FOUND: StatusWord = StatusWord(0x6A82);
    /// 6B 00: wrong parameters P1-P2 (includes an offset outside the EF).
    pub const WRONG_P1P2: StatusWord = StatusWord(0x6B00);
    /// 6D 00: instruction code not supported.
    pub const INS_NOT_SUPPORTED: StatusWord = StatusWord(0x6D00);
    /// 6E 00: class not supported.
    pub const CLA_NOT_SUPPORTED: StatusWord = StatusWord(0x6E00);
    /// 6F 00: technical problem, no precise diagnosis.
    pub const TECHNICAL_PROBLEM: StatusWord = StatusWord(0x6F00);
    /// 98 62: authentication error, application specific (MAC failure,
    /// TS 31.102 §7.3).
    pub const AUTH_ERROR: StatusWord = StatusWord(0x9862);
    /// 98 64: authentication error, security context not supported.
    pub const CONTEXT_NOT_SUPPORTED: StatusWord = StatusWord(0x9864);

    /// 61 xx: `n` response bytes waiting for GET RESPONSE (256 as xx = 00).
    pub fn bytes_available(n: usize) -> StatusWord {
        StatusWord(0x6100 | (n.min(256) & 0xff) as u16)
    }

    /// 6C xx: wrong Le; `n` bytes are available (256 as xx = 00).
    pub fn wrong_le(n: usize) -> StatusWord {
        StatusWord(0x6C00 | (n.min(256) & 0xff) as u16)
    }

    /// 63 Cx: verification failed, `tries` attempts left.
    pub fn verify_failed(tries: u8) -> StatusWord {
        StatusWord(0x63C0 | u16::from(tries.min(15)))
    }

    /// SW1.
    pub fn sw1(self) -> u8 {
        self.0.to_be_bytes()[0]
    }

    /// SW2.
    pub fn sw2(self) -> u8 {
        self.0.to_be_bytes()[1]
    }

    /// The two bytes as sent.
    pub fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }
}

impl core::fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SW({:04X})", self.0)
    }
}

impl core::fmt::Display for StatusWord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

/// A command APDU viewed over its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command<'a> {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (empty in cases 1 and 2).
    pub data: &'a [u8],
    /// Expected response length, 1..=256 (cases 2 and 4).
    pub le: Option<u16>,
}

impl<'a> Command<'a> {
    /// Decode a short-form command APDU; never panics.
    pub fn parse(bytes: &'a [u8]) -> Result<Command<'a>, ApduError> {
        let (header, body) = bytes.split_at_checked(4).ok_or(ApduError::TooShort)?;
        let mut cmd = Command {
            cla: header[0],
            ins: header[1],
            p1: header[2],
            p2: header[3],
            data: &[],
            le: None,
        };
        let le_of = |b: u8| if b == 0 { 256 } else { u16::from(b) };
        match body {
            [] => {}
            [le] => cmd.le = Some(le_of(*le)),
            [0, ..] => return Err(ApduError::ExtendedLength),
            [lc, rest @ ..] => {
                let n = usize::from(*lc);
                if rest.len() == n {
                    cmd.data = rest;
                } else if rest.len() == n + 1 {
                    cmd.data = &rest[..n];
                    cmd.le = Some(le_of(rest[n]));
                } else {
                    return Err(ApduError::LcMismatch {
                        lc: *lc,
                        body: rest.len(),
                    });
                }
            }
        }
        Ok(cmd)
    }

    /// The case-1 command `CLA INS P1 P2`.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Command<'static> {
        Command {
            cla,
            ins,
            p1,
            p2,
            data: &[],
            le: None,
        }
    }

    /// Encode in short form.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ApduError> {
        let mut out = Vec::with_capacity(6 + self.data.len());
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        if !self.data.is_empty() {
            let lc = u8::try_from(self.data.len()).map_err(|_| ApduError::TooLong)?;
            out.push(lc);
            out.extend_from_slice(self.data);
        }
        if let Some(le) = self.le {
            match le {
                256 => out.push(0),
                1..=255 => out.push(le as u8),
                _ => return Err(ApduError::TooLong),
            }
        }
        Ok(out)
    }
}

/// A response APDU: data and status word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Response data (empty for most status words).
    pub data: Vec<u8>,
    /// SW1 SW2.
    pub sw: StatusWord,
}

impl Response {
    /// A response without data.
    pub fn status(sw: StatusWord) -> Response {
        Response {
            data: Vec::new(),
            sw,
        }
    }

    /// Data and 90 00.
    pub fn ok(data: Vec<u8>) -> Response {
        Response {
            data,
            sw: StatusWord::OK,
        }
    }

    /// Split `[data] SW1 SW2`.
    pub fn parse(bytes: &[u8]) -> Result<Response, ApduError> {
        let split = bytes.len().checked_sub(2).ok_or(ApduError::TooShort)?;
        let (data, sw) = bytes.split_at(split);
        Ok(Response {
            data: data.to_vec(),
            sw: StatusWord(u16::from_be_bytes([sw[0], sw[1]])),
        })
    }

    /// The bytes sent to the terminal.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_cases() {
        let c1 = Command::parse(&[0x00, 0xA4, 0x00, 0x0C]);
        assert_eq!(c1, Ok(Command::new(0x00, 0xA4, 0x00, 0x0C)));
        let c2 = Command::parse(&[0x00, 0xB0, 0x00, 0x00, 0x00]);
        assert_eq!(c2.map(|c| c.le), Ok(Some(256)));
        let c3 = Command::parse(&[0x00, 0xA4, 0x00, 0x04, 0x02, 0x3F, 0x00]);
        assert_eq!(c3.map(|c| (c.data, c.le)), Ok((&[0x3F, 0x00][..], None)));
        let c4 = Command::parse(&[0x00, 0xA4, 0x00, 0x04, 0x02, 0x3F, 0x00, 0x1C]);
        assert_eq!(
            c4.map(|c| (c.data, c.le)),
            Ok((&[0x3F, 0x00][..], Some(0x1C)))
        );
        for bytes in [
            &[0x00, 0xA4, 0x00, 0x04, 0x02, 0x3F, 0x00][..],
            &[0x00, 0xA4, 0x00, 0x04, 0x02, 0x3F, 0x00, 0x1C][..],
            &[0x00, 0xB0, 0x00, 0x00, 0x09][..],
            &[0x00, 0xB0, 0x00, 0x00][..],
        ] {
            let c = Command::parse(bytes).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(c.to_bytes().as_deref(), Ok(bytes));
        }
    }

    #[test]
    fn malformed() {
        assert_eq!(Command::parse(&[]), Err(ApduError::TooShort));
        assert_eq!(Command::parse(&[0, 0xA4, 0]), Err(ApduError::TooShort));
        assert_eq!(
            Command::parse(&[0, 0xA4, 0, 4, 3, 0x3F, 0x00]),
            Err(ApduError::LcMismatch { lc: 3, body: 2 })
        );
        assert_eq!(
            Command::parse(&[0, 0xA4, 0, 4, 1, 0x3F, 0x00, 0x00]),
            Err(ApduError::LcMismatch { lc: 1, body: 3 })
        );
        assert_eq!(
            Command::parse(&[0, 0xB0, 0, 0, 0, 1, 0]),
            Err(ApduError::ExtendedLength)
        );
        let long = Command {
            data: &[0; 256],
            ..Command::new(0, 0xA4, 0, 0)
        };
        assert_eq!(long.to_bytes(), Err(ApduError::TooLong));
        assert_eq!(Response::parse(&[0x90]), Err(ApduError::TooShort));
    }

    #[test]
    fn responses_and_status_words() {
        let r = Response::parse(&[1, 2, 0x90, 0x00]);
        assert_eq!(r.clone().map(|r| r.sw), Ok(StatusWord::OK));
        assert_eq!(r.map(|r| r.to_bytes()), Ok(vec![1, 2, 0x90, 0x00]));
        assert_eq!(StatusWord::bytes_available(0x35).to_bytes(), [0x61, 0x35]);
        assert_eq!(StatusWord::bytes_available(256).to_bytes(), [0x61, 0x00]);
        assert_eq!(StatusWord::wrong_le(9).to_bytes(), [0x6C, 0x09]);
        assert_eq!(StatusWord::verify_failed(2).to_bytes(), [0x63, 0xC2]);
        assert_eq!(StatusWord::AUTH_ERROR.sw1(), 0x98);
        assert_eq!(StatusWord::AUTH_ERROR.sw2(), 0x62);
        assert_eq!(format!("{}", StatusWord::FILE_NOT_FOUND), "6A82");
    }
}
