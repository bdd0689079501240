//! A terminal's view of a USIM: typed operations built only from APDU bytes
//! sent through [`Card`], so the same code drives [`super::SoftUsim`] and a
//! real card in a PC/SC reader.

use thiserror::Error;

use super::apdu::{Command, Response, StatusWord};
use super::card::Card;
use super::files::{
    FID_AD, FID_DF_GSM, FID_ICCID, FID_IMSI, IMSI_EF_LEN, USIM_AID_PREFIX, decode_ad, decode_iccid,
    decode_imsi,
};
use crate::algorithm::Res;

/// How many 61xx/6Cxx rounds one exchange may take before the card is
/// considered broken.
const MAX_ROUNDS: usize = 16;
/// Upper bound on the data of one response assembled from GET RESPONSE rounds.
const MAX_RESPONSE: usize = 4096;

/// Errors of [`UsimClient`].
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The command did not reach the card, or no answer came back.
    #[error("card transport failed: {0}")]
    Transport(Box<dyn std::error::Error + Send + Sync>),
    /// The card answered with a status word other than success.
    #[error("{command} failed with status {sw}")]
    Status {
        /// The command that failed.
        command: &'static str,
        /// The card's status word.
        sw: StatusWord,
    },
    /// PIN verification failed; `tries` presentations remain (63 Cx).
    #[error("wrong PIN, {tries} tries left")]
    WrongPin {
        /// Remaining tries.
        tries: u8,
    },
    /// The card's answer does not have the structure the command defines.
    #[error("malformed {0} response")]
    Malformed(&'static str),
}

/// Result of AUTHENTICATE in 3G context (TS 31.102 §7.1.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth3g {
    /// AUTN accepted.
    Success {
        /// RES for the network.
        res: Res,
        /// Cipher key.
        ck: [u8; 16],
        /// Integrity key.
        ik: [u8; 16],
        /// Kc = c3(CK, IK), when the card returns it (GSM access service).
        kc: Option<[u8; 8]>,
    },
    /// SQN not acceptable; AUTS for the network's resynchronisation.
    SyncFailure {
        /// AUTS = SQN_MS ⊕ AK* || MAC-S.
        auts: [u8; 14],
    },
    /// MAC-A did not verify (status word 98 62).
    MacFailure,
}

/// Result of AUTHENTICATE in GSM context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GsmAuth {
    /// Signed response.
    pub sres: [u8; 4],
    /// GSM cipher key.
    pub kc: [u8; 8],
}

/// Typed commands over a [`Card`].
#[derive(Debug)]
pub struct UsimClient<C: Card> {
    card: C,
}

impl<C: Card> UsimClient<C> {
    /// Wrap a card.
    pub fn new(card: C) -> UsimClient<C> {
        UsimClient { card }
    }

    /// The card, e.g. to export its state.
    pub fn card(&self) -> &C {
        &self.card
    }

    /// The card, mutably.
    pub fn card_mut(&mut self) -> &mut C {
        &mut self.card
    }

    /// Give the card back.
    pub fn into_inner(self) -> C {
        self.card
    }

    /// Send one command and collect its full response: `61 xx` is followed by
    /// GET RESPONSE (data accumulated), `6C xx` by the same command with
    /// Le = `xx`.
    pub fn exchange(&mut self, cmd: &Command<'_>) -> Result<Response, ClientError> {
        let mut current = *cmd;
        let mut data = Vec::new();
        for _ in 0..MAX_ROUNDS {
            let bytes = current
                .to_bytes()
                .map_err(|e| ClientError::Transport(Box::new(e)))?;
            let raw = self
                .card
                .transmit(&bytes)
                .map_err(|e| ClientError::Transport(Box::new(e)))?;
            let resp = Response::parse(&raw).map_err(|_| ClientError::Malformed("APDU"))?;
            if data.len() + resp.data.len() > MAX_RESPONSE {
                return Err(ClientError::Malformed("oversized"));
            }
            data.extend_from_slice(&resp.data);
            let le = if resp.sw.sw2() == 0 {
                256
            } else {
                u16::from(resp.sw.sw2())
            };
            match resp.sw.sw1() {
                0x61 => {
                    current = Command {
                        le: Some(le),
                        ..Command::new(cmd.cla & 0x03, 0xC0, 0x00, 0x00)
                    };
                }
                0x6C => current.le = Some(le),
                _ => return Ok(Response { data, sw: resp.sw }),
            }
        }
        Err(ClientError::Malformed("endless 61xx/6Cxx"))
    }

    fn expect_ok(
        &mut self,
        command: &'static str,
        cmd: &Command<'_>,
    ) -> Result<Vec<u8>, ClientError> {
        let resp = self.exchange(cmd)?;
        if resp.sw == StatusWord::OK {
            Ok(resp.data)
        } else {
            Err(ClientError::Status {
                command,
                sw: resp.sw,
            })
        }
    }

    /// SELECT ADF_USIM by its partial AID (A0000000871002), no FCP asked.
    pub fn select_usim(&mut self) -> Result<(), ClientError> {
        let cmd = Command {
            data: &USIM_AID_PREFIX,
            ..Command::new(0x00, 0xA4, 0x04, 0x0C)
        };
        self.expect_ok("SELECT ADF_USIM", &cmd).map(drop)
    }

    /// SELECT by path from the MF (P1 = 08) and return the FCP.
    pub fn select_path(&mut self, path: &[u16]) -> Result<Vec<u8>, ClientError> {
        let bytes: Vec<u8> = path.iter().flat_map(|f| f.to_be_bytes()).collect();
        let cmd = Command {
            data: &bytes,
            ..Command::new(0x00, 0xA4, 0x08, 0x04)
        };
        self.expect_ok("SELECT", &cmd)
    }

    /// SELECT a file by FID from the current DF (P1 = 00), no FCP asked.
    pub fn select_fid(&mut self, fid: u16) -> Result<(), ClientError> {
        let fid = fid.to_be_bytes();
        let cmd = Command {
            data: &fid,
            ..Command::new(0x00, 0xA4, 0x00, 0x0C)
        };
        self.expect_ok("SELECT", &cmd).map(drop)
    }

    /// READ BINARY of the current EF: `len` bytes (1..=256) from `offset`.
    pub fn read_binary(&mut self, offset: u16, len: u16) -> Result<Vec<u8>, ClientError> {
        let [p1, p2] = (offset & 0x7FFF).to_be_bytes();
        let cmd = Command {
            le: Some(len),
            ..Command::new(0x00, 0xB0, p1, p2)
        };
        self.expect_ok("READ BINARY", &cmd)
    }

    /// VERIFY PIN1 (PIN padded with FF to 8 bytes).
    pub fn verify_pin(&mut self, pin: &str) -> Result<(), ClientError> {
        let mut block = [0xFFu8; 8];
        let digits = pin.as_bytes();
        if !(4..=8).contains(&digits.len()) {
            return Err(ClientError::Malformed("PIN length"));
        }
        block[..digits.len()].copy_from_slice(digits);
        let cmd = Command {
            data: &block,
            ..Command::new(0x00, 0x20, 0x00, 0x01)
        };
        let resp = self.exchange(&cmd)?;
        match resp.sw.0 {
            0x9000 => Ok(()),
            sw if sw & 0xFFF0 == 0x63C0 => Err(ClientError::WrongPin {
                tries: (sw & 0x0F) as u8,
            }),
            _ => Err(ClientError::Status {
                command: "VERIFY",
                sw: resp.sw,
            }),
        }
    }

    /// Select the USIM application, or DF_GSM on a card without one (a 2G
    /// SIM). Returns whether the USIM was found.
    fn select_application(&mut self) -> Result<bool, ClientError> {
        match self.select_usim() {
            Ok(()) => Ok(true),
            Err(ClientError::Status { sw, .. }) if sw == StatusWord::FILE_NOT_FOUND => {
                self.select_path(&[FID_DF_GSM])?;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Read the IMSI from EF_IMSI of the USIM (DF_GSM on a 2G card).
    pub fn read_imsi(&mut self) -> Result<String, ClientError> {
        self.select_application()?;
        self.select_fid(FID_IMSI)?;
        let ef = self.read_binary(0, IMSI_EF_LEN as u16)?;
        decode_imsi(&ef).map_err(|_| ClientError::Malformed("EF_IMSI"))
    }

    /// Read the number of MNC digits from EF_AD.
    pub fn read_mnc_len(&mut self) -> Result<u8, ClientError> {
        self.select_application()?;
        self.select_fid(FID_AD)?;
        let ef = self.read_binary(0, 4)?;
        decode_ad(&ef).map_err(|_| ClientError::Malformed("EF_AD"))
    }

    /// Read the ICCID from EF_ICCID under the MF.
    pub fn read_iccid(&mut self) -> Result<String, ClientError> {
        self.select_path(&[FID_ICCID])?;
        let ef = self.read_binary(0, 10)?;
        decode_iccid(&ef).map_err(|_| ClientError::Malformed("EF_ICCID"))
    }

    /// AUTHENTICATE in 3G context (P2 = 81) within ADF_USIM.
    pub fn authenticate_3g(
        &mut self,
        rand: &[u8; 16],
        autn: &[u8; 16],
    ) -> Result<Auth3g, ClientError> {
        self.select_usim()?;
        let mut data = [0u8; 34];
        data[0] = 16;
        data[1..17].copy_from_slice(rand);
        data[17] = 16;
        data[18..].copy_from_slice(autn);
        let cmd = Command {
            data: &data,
            ..Command::new(0x00, 0x88, 0x00, 0x81)
        };
        let resp = self.exchange(&cmd)?;
        match resp.sw {
            StatusWord::OK => parse_auth_3g(&resp.data),
            StatusWord::AUTH_ERROR => Ok(Auth3g::MacFailure),
            sw => Err(ClientError::Status {
                command: "AUTHENTICATE",
                sw,
            }),
        }
    }

    /// AUTHENTICATE in GSM context (P2 = 80) within ADF_USIM, or DF_GSM on a
    /// 2G card.
    pub fn authenticate_gsm(&mut self, rand: &[u8; 16]) -> Result<GsmAuth, ClientError> {
        self.select_application()?;
        let mut data = [0u8; 17];
        data[0] = 16;
        data[1..].copy_from_slice(rand);
        let cmd = Command {
            data: &data,
            ..Command::new(0x00, 0x88, 0x00, 0x80)
        };
        let out = self.expect_ok("AUTHENTICATE", &cmd)?;
        match out.as_slice() {
            [4, sres @ ..] if sres.len() == 13 && sres[4] == 8 => {
                let mut auth = GsmAuth {
                    sres: [0; 4],
                    kc: [0; 8],
                };
                auth.sres.copy_from_slice(&sres[..4]);
                auth.kc.copy_from_slice(&sres[5..]);
                Ok(auth)
            }
            _ => Err(ClientError::Malformed("AUTHENTICATE (GSM)")),
        }
    }
}

/// Take one `len value` pair off the front of `rest` when `len_ok(len)`.
fn take_lv<'a>(
    rest: &mut &'a [u8],
    len_ok: impl Fn(usize) -> bool,
) -> Result<&'a [u8], ClientError> {
    const WHAT: &str = "AUTHENTICATE (3G)";
    let (&len, tail) = rest.split_first().ok_or(ClientError::Malformed(WHAT))?;
    let len = usize::from(len);
    if !len_ok(len) || tail.len() < len {
        return Err(ClientError::Malformed(WHAT));
    }
    let (value, tail) = tail.split_at(len);
    *rest = tail;
    Ok(value)
}

fn array<const N: usize>(value: &[u8]) -> Result<[u8; N], ClientError> {
    value
        .try_into()
        .map_err(|_| ClientError::Malformed("AUTHENTICATE (3G)"))
}

/// Split `DB len RES len CK len IK [len Kc]` or `DC 0E AUTS`.
fn parse_auth_3g(data: &[u8]) -> Result<Auth3g, ClientError> {
    const WHAT: &str = "AUTHENTICATE (3G)";
    let (&tag, mut rest) = data.split_first().ok_or(ClientError::Malformed(WHAT))?;
    let out = match tag {
        0xDB => {
            let res = take_lv(&mut rest, |n| (4..=16).contains(&n))?;
            let ck = array(take_lv(&mut rest, |n| n == 16)?)?;
            let ik = array(take_lv(&mut rest, |n| n == 16)?)?;
            let kc = if rest.is_empty() {
                None
            } else {
                Some(array(take_lv(&mut rest, |n| n == 8)?)?)
            };
            Auth3g::Success {
                res: Res::new(res).ok_or(ClientError::Malformed(WHAT))?,
                ck,
                ik,
                kc,
            }
        }
        0xDC => Auth3g::SyncFailure {
            auts: array(take_lv(&mut rest, |n| n == 14)?)?,
        },
        _ => return Err(ClientError::Malformed(WHAT)),
    };
    if !rest.is_empty() {
        return Err(ClientError::Malformed(WHAT));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_3g_responses() {
        let mut ok = vec![0xDB, 8];
        ok.extend_from_slice(&[1; 8]);
        ok.push(16);
        ok.extend_from_slice(&[2; 16]);
        ok.push(16);
        ok.extend_from_slice(&[3; 16]);
        let without_kc = parse_auth_3g(&ok);
        assert!(matches!(without_kc, Ok(Auth3g::Success { kc: None, .. })));
        ok.push(8);
        ok.extend_from_slice(&[4; 8]);
        match parse_auth_3g(&ok) {
            Ok(Auth3g::Success { res, ck, ik, kc }) => {
                assert_eq!(res.as_bytes(), &[1; 8]);
                assert_eq!((ck, ik, kc), ([2; 16], [3; 16], Some([4; 8])));
            }
            other => panic!("{other:?}"),
        }
        // Every truncation is rejected, never a panic.
        for cut in (0..ok.len()).filter(|&c| c != ok.len() - 9) {
            assert!(parse_auth_3g(&ok[..cut]).is_err(), "cut at {cut}");
        }
        let mut sync = vec![0xDC, 14];
        sync.extend_from_slice(&[9; 14]);
        assert_eq!(
            parse_auth_3g(&sync).ok(),
            Some(Auth3g::SyncFailure { auts: [9; 14] })
        );
        sync.push(0);
        assert!(parse_auth_3g(&sync).is_err());
        assert!(parse_auth_3g(&[0xDD, 0]).is_err());
        assert!(parse_auth_3g(&[0xDB, 3, 1, 2, 3]).is_err());
    }
}
