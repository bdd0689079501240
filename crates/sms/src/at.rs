//! TS 27.005 AT commands in PDU mode, without I/O.
//!
//! [`AtCommand`] builds the command lines this crate needs; [`LineParser`]
//! turns modem output into [`AtLine`]s. The parser knows that the
//! responses `+CMT`, `+CDS`, `+CMGR` and `+CMGL` in PDU mode (TS 27.005
//! §3.4.1, §3.1 `<pdu>`) are followed by a line of hexadecimal PDU, which
//! is the SMSC address (TS 24.011 RP-address) then the TPDU, and that
//! `+CMGS` answers with the two-character prompt `> ` and no line end
//! (§3.5.1).

use crate::address::SmscAddress;
use crate::error::SmsError;

/// Longest line the parser buffers; longer ones are dropped. A PDU line is
/// at most (12 + 176) * 2 characters.
pub const MAX_LINE: usize = 1024;

/// Ctrl-Z, which ends the PDU after the `> ` prompt (§3.5.1).
pub const CTRL_Z: u8 = 0x1A;
/// ESC, which cancels a message at the prompt (§3.5.1).
pub const ESC: u8 = 0x1B;

/// A command line to send to the modem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AtCommand {
    /// `AT`: attention, a no-op to check the modem answers.
    Attention,
    /// `ATE0`: stop echoing commands (V.250 §6.2.4).
    EchoOff,
    /// `AT+CMGF=0`: PDU mode (§3.2.3).
    PduMode,
    /// `AT+CSMS=<service>`: message service; 1 makes `+CMT` need `+CNMA` (§3.2.1).
    SelectService(u8),
    /// `AT+CNMI=<mode>,<mt>,<bm>,<ds>,<bfr>` (§3.4.1); `2,2,0,0,0` routes
    /// SMS-DELIVERs straight to the terminal as `+CMT`.
    NewMessageIndications {
        /// Buffering of indications.
        mode: u8,
        /// SMS-DELIVER routing.
        mt: u8,
        /// Cell broadcast routing.
        bm: u8,
        /// Status report routing.
        ds: u8,
        /// Buffer flush behaviour.
        bfr: u8,
    },
    /// `AT+CMGS=<length>`: send; the length is the TPDU's, SMSC prefix excluded (§3.5.1).
    SendPdu(usize),
    /// `AT+CNMA`: acknowledge a `+CMT` / `+CDS` (§3.4.4).
    Ack,
    /// `AT+CMGR=<index>`: read a stored message (§3.4.3).
    Read(u32),
    /// `AT+CMGD=<index>`: delete a stored message (§3.5.4).
    Delete(u32),
}

impl AtCommand {
    /// `AT+CNMI=2,2,0,0,0`.
    pub const ROUTE_DELIVERS: AtCommand = AtCommand::NewMessageIndications {
        mode: 2,
        mt: 2,
        bm: 0,
        ds: 0,
        bfr: 0,
    };

    /// The command line, with its CR terminator (V.250 S3).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = match self {
            AtCommand::Attention => "AT".to_owned(),
            AtCommand::EchoOff => "ATE0".to_owned(),
            AtCommand::PduMode => "AT+CMGF=0".to_owned(),
            AtCommand::SelectService(s) => format!("AT+CSMS={s}"),
            AtCommand::NewMessageIndications {
                mode,
                mt,
                bm,
                ds,
                bfr,
            } => {
                format!("AT+CNMI={mode},{mt},{bm},{ds},{bfr}")
            }
            AtCommand::SendPdu(len) => format!("AT+CMGS={len}"),
            AtCommand::Ack => "AT+CNMA".to_owned(),
            AtCommand::Read(i) => format!("AT+CMGR={i}"),
            AtCommand::Delete(i) => format!("AT+CMGD={i}"),
        }
        .into_bytes();
        s.push(b'\r');
        s
    }
}

/// The text sent after the `> ` prompt: SMSC prefix and TPDU in upper-case
/// hex, then Ctrl-Z.
pub fn pdu_body(smsc: Option<&SmscAddress>, tpdu: &[u8]) -> Result<Vec<u8>, SmsError> {
    let mut octets = Vec::with_capacity(12 + tpdu.len());
    SmscAddress::emit_prefix(smsc, &mut octets)?;
    octets.extend_from_slice(tpdu);
    let mut out = encode_hex(&octets).into_bytes();
    out.push(CTRL_Z);
    Ok(out)
}

fn encode_hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(char::from(DIGITS[usize::from(x >> 4)]));
        s.push(char::from(DIGITS[usize::from(x & 0x0F)]));
    }
    s
}

/// Decodes hex text (either case).
pub fn decode_hex(text: &str) -> Result<Vec<u8>, SmsError> {
    let t = text.as_bytes();
    if !t.len().is_multiple_of(2) {
        return Err(SmsError::BadHex);
    }
    let nib = |c: u8| {
        char::from(c)
            .to_digit(16)
            .map(|d| d as u8)
            .ok_or(SmsError::BadHex)
    };
    t.chunks_exact(2)
        .map(|p| Ok((nib(p[0])? << 4) | nib(p[1])?))
        .collect()
}

/// Splits a PDU-mode octet string into its SMSC prefix and TPDU, checking
/// the TPDU length announced by the response header.
pub fn split_pdu(
    octets: &[u8],
    tpdu_len: usize,
) -> Result<(Option<SmscAddress>, Vec<u8>), SmsError> {
    let (smsc, used) = SmscAddress::parse_prefix(octets)?;
    let tpdu = &octets[used..];
    if tpdu.len() < tpdu_len {
        return Err(SmsError::Truncated("PDU line"));
    }
    if tpdu.len() > tpdu_len {
        return Err(SmsError::TrailingData(tpdu.len() - tpdu_len));
    }
    Ok((smsc, tpdu.to_vec()))
}

/// An error report's payload: numeric (`+CMEE=1`) or verbose (`+CMEE=2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorReport {
    /// A numeric code (TS 27.005 §3.2.5 for `+CMS`, TS 27.007 §9.2 for `+CME`).
    Code(u16),
    /// Verbose text.
    Text(String),
}

/// Which response a PDU line followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PduSource {
    /// `+CMT: [<alpha>],<length>`: an SMS-DELIVER routed to the terminal.
    Cmt {
        /// The phonebook name of the originator, if the modem gave one.
        alpha: Option<String>,
    },
    /// `+CDS: <length>`: a status report routed to the terminal.
    Cds,
    /// `+CMGR: <stat>,[<alpha>],<length>`: a message read from storage.
    Cmgr {
        /// Storage status (0 unread, 1 read, 2 unsent, 3 sent).
        stat: u8,
    },
    /// `+CMGL: <index>,<stat>,[<alpha>],<length>`: one entry of a listing.
    Cmgl {
        /// Storage index.
        index: u32,
        /// Storage status.
        stat: u8,
    },
}

/// One unit of modem output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AtLine {
    /// `OK`.
    Ok,
    /// `ERROR`.
    Error,
    /// `+CMS ERROR: <err>` (TS 27.005 §3.2.5).
    CmsError(ErrorReport),
    /// `+CME ERROR: <err>` (TS 27.007 §9.2).
    CmeError(ErrorReport),
    /// The `> ` prompt after `AT+CMGS`.
    Prompt,
    /// A PDU with its header line.
    Pdu {
        /// The response that announced it.
        source: PduSource,
        /// The SMSC address prefix.
        smsc: Option<SmscAddress>,
        /// The TPDU.
        tpdu: Vec<u8>,
    },
    /// A header line announced a PDU but the next line was not a valid one.
    BadPdu {
        /// The response that announced it.
        source: PduSource,
        /// What was wrong.
        error: SmsError,
    },
    /// `+CMTI: <mem>,<index>`: a message was stored.
    Cmti {
        /// Storage name, quotes removed.
        mem: String,
        /// Storage index.
        index: u32,
    },
    /// `+CMGS: <mr>`: the message was sent with this TP-MR.
    Cmgs(u8),
    /// A line starting with `AT`: the modem echoing a command.
    Echo(String),
    /// Any other line, kept as text.
    Other(String),
    /// A line over [`MAX_LINE`] was dropped.
    Overflow,
}

#[derive(Debug, Clone)]
struct Expect {
    source: PduSource,
    length: usize,
}

/// Splits modem output into [`AtLine`]s; fed any chunking of the octets.
#[derive(Debug, Default)]
pub struct LineParser {
    line: Vec<u8>,
    overflowed: bool,
    expect_pdu: Option<Expect>,
}

impl LineParser {
    /// A parser at the start of a line.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a header line was seen and its PDU line is awaited.
    pub fn awaiting_pdu(&self) -> bool {
        self.expect_pdu.is_some()
    }

    /// Feeds octets; returns the complete lines they end (at most one per
    /// octet, so the output is bounded by the input).
    pub fn feed(&mut self, data: &[u8]) -> Vec<AtLine> {
        data.iter().filter_map(|&b| self.push(b)).collect()
    }

    /// Feeds one octet.
    pub fn push(&mut self, b: u8) -> Option<AtLine> {
        if b == b'\r' || b == b'\n' {
            let was_over = std::mem::take(&mut self.overflowed);
            let line = std::mem::take(&mut self.line);
            if was_over {
                self.expect_pdu = None;
                return Some(AtLine::Overflow);
            }
            if line.is_empty() {
                return None;
            }
            let text = String::from_utf8_lossy(&line);
            return Some(self.line_done(text.trim()));
        }
        if self.overflowed {
            return None;
        }
        if self.line.len() >= MAX_LINE {
            self.overflowed = true;
            self.line.clear();
            return None;
        }
        self.line.push(b);
        if self.line == b"> " && self.expect_pdu.is_none() {
            self.line.clear();
            return Some(AtLine::Prompt);
        }
        None
    }

    fn line_done(&mut self, text: &str) -> AtLine {
        if let Some(expect) = self.expect_pdu.take() {
            return match decode_hex(text).and_then(|o| split_pdu(&o, expect.length)) {
                Ok((smsc, tpdu)) => AtLine::Pdu {
                    source: expect.source,
                    smsc,
                    tpdu,
                },
                Err(error) => AtLine::BadPdu {
                    source: expect.source,
                    error,
                },
            };
        }
        match text {
            "OK" => return AtLine::Ok,
            "ERROR" => return AtLine::Error,
            _ => {}
        }
        if let Some(rest) = text.strip_prefix("+CMS ERROR:") {
            return AtLine::CmsError(error_report(rest));
        }
        if let Some(rest) = text.strip_prefix("+CME ERROR:") {
            return AtLine::CmeError(error_report(rest));
        }
        if let Some(rest) = text.strip_prefix("+CMGS:") {
            // `+CMGS: <mr>[,<scts>]` (§3.5.1).
            let mr = rest.split(',').next().unwrap_or("").trim();
            if let Ok(mr) = mr.parse::<u8>() {
                return AtLine::Cmgs(mr);
            }
        }
        if let Some(rest) = text.strip_prefix("+CMTI:")
            && let Some((mem, index)) = rest.rsplit_once(',')
            && let Ok(index) = index.trim().parse()
        {
            return AtLine::Cmti {
                mem: unquote(mem).to_owned(),
                index,
            };
        }
        if let Some(expect) = header_line(text) {
            // The header produces no event of its own (the PDU line does);
            // it is reported as `Other` so a trace still shows it.
            self.expect_pdu = Some(expect);
            return AtLine::Other(text.to_owned());
        }
        if text
            .as_bytes()
            .get(..2)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"AT"))
        {
            return AtLine::Echo(text.to_owned());
        }
        AtLine::Other(text.to_owned())
    }
}

fn error_report(rest: &str) -> ErrorReport {
    let t = rest.trim();
    match t.parse() {
        Ok(n) => ErrorReport::Code(n),
        Err(_) => ErrorReport::Text(t.to_owned()),
    }
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s)
}

fn alpha(s: &str) -> Option<String> {
    let a = unquote(s);
    (!a.is_empty()).then(|| a.to_owned())
}

/// Recognises the PDU-mode header lines and the TPDU length they announce.
fn header_line(text: &str) -> Option<Expect> {
    let length = |s: &str| s.trim().parse::<usize>().ok().filter(|&n| n <= 255);
    if let Some(rest) = text.strip_prefix("+CMT:") {
        let (a, len) = rest.rsplit_once(',')?;
        return Some(Expect {
            source: PduSource::Cmt { alpha: alpha(a) },
            length: length(len)?,
        });
    }
    if let Some(rest) = text.strip_prefix("+CDS:") {
        return Some(Expect {
            source: PduSource::Cds,
            length: length(rest)?,
        });
    }
    if let Some(rest) = text.strip_prefix("+CMGR:") {
        let (stat, tail) = rest.split_once(',')?;
        let (_, len) = tail.rsplit_once(',')?;
        return Some(Expect {
            source: PduSource::Cmgr {
                stat: stat.trim().parse().ok()?,
            },
            length: length(len)?,
        });
    }
    if let Some(rest) = text.strip_prefix("+CMGL:") {
        let (index, tail) = rest.split_once(',')?;
        let (stat, tail) = tail.split_once(',')?;
        let (_, len) = tail.rsplit_once(',')?;
        return Some(Expect {
            source: PduSource::Cmgl {
                index: index.trim().parse().ok()?,
                stat: stat.trim().parse().ok()?,
            },
            length: length(len)?,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        assert_eq!(AtCommand::PduMode.to_bytes(), b"AT+CMGF=0\r");
        assert_eq!(AtCommand::ROUTE_DELIVERS.to_bytes(), b"AT+CNMI=2,2,0,0,0\r");
        assert_eq!(AtCommand::SendPdu(23).to_bytes(), b"AT+CMGS=23\r");
        assert_eq!(AtCommand::Ack.to_bytes(), b"AT+CNMA\r");
        let tpdu = decode_hex("11000B916407281553F80000AA0AE8329BFD4697D9EC37").unwrap();
        assert_eq!(
            pdu_body(None, &tpdu).unwrap(),
            b"0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a".to_vec()
        );
    }

    #[test]
    fn parses_final_results_and_prompt() {
        let mut p = LineParser::new();
        let out = p.feed(b"\r\nOK\r\n\r\n+CMS ERROR: 500\r\n+CME ERROR: SIM busy\r\nERROR\r\n> ");
        assert_eq!(
            out,
            vec![
                AtLine::Ok,
                AtLine::CmsError(ErrorReport::Code(500)),
                AtLine::CmeError(ErrorReport::Text("SIM busy".into())),
                AtLine::Error,
                AtLine::Prompt,
            ]
        );
        assert_eq!(
            p.feed(b"\r\n+CMGS: 42\r\n\r\nOK\r\n"),
            vec![AtLine::Cmgs(42), AtLine::Ok]
        );
        assert_eq!(
            p.feed(b"+CMTI: \"SM\",3\r\nAT+CMGF=0\r\nRING\r\n"),
            vec![
                AtLine::Cmti {
                    mem: "SM".into(),
                    index: 3
                },
                AtLine::Echo("AT+CMGF=0".into()),
                AtLine::Other("RING".into())
            ]
        );
    }

    #[test]
    fn cmt_with_pdu_in_pieces() {
        let input = b"\r\n+CMT: ,28\r\n07917283010010F5040B917238880900F10000993020811553800AE8329BFD4697D9EC37\r\n";
        let mut p = LineParser::new();
        let mut lines = Vec::new();
        for chunk in input.chunks(5) {
            lines.extend(p.feed(chunk));
        }
        assert_eq!(lines.len(), 2);
        let AtLine::Pdu { source, smsc, tpdu } = &lines[1] else {
            panic!("{lines:?}")
        };
        assert_eq!(*source, PduSource::Cmt { alpha: None });
        assert_eq!(
            smsc.as_ref().map(|s| s.digits.as_str()),
            Some("27381000015")
        );
        assert_eq!(tpdu.len(), 28);
        // A wrong length is reported, not panicked on.
        let out = p.feed(b"+CMT: \"Bob\",30\r\n00040B\r\n");
        assert!(matches!(out[1], AtLine::BadPdu { .. }));
        assert!(!p.awaiting_pdu());
    }

    #[test]
    fn overflow() {
        let mut p = LineParser::new();
        let mut v = vec![b'A'; MAX_LINE + 10];
        v.extend_from_slice(b"\r\nOK\r\n");
        assert_eq!(p.feed(&v), vec![AtLine::Overflow, AtLine::Ok]);
    }
}
