//! A soft USIM behind an ISO/IEC 7816-4 APDU interface, and a typed client
//! that talks to it, or to a real card, through the same bytes.
//!
//! [`SoftUsim`] answers the commands a terminal needs to attach: SELECT,
//! READ BINARY, STATUS, VERIFY PIN, AUTHENTICATE and GET RESPONSE
//! (TS 102 221 §11, TS 31.102 §7). It keeps the USIM's SQN array
//! ([`crate::sqn::SqnState`]), which its owner can export and restore.
//!
//! # Transport behaviour: T=0 style
//!
//! The card behaves as a UICC does over T=0 (TS 102 221 §7.3.1):
//! - a case-4 command (SELECT asking for the FCP, AUTHENTICATE) never returns
//!   data directly: it answers `61 xx` and the terminal fetches the `xx` bytes
//!   with GET RESPONSE (`00 C0 00 00 xx`), which must be the very next command;
//!   whether or not the command carried Le makes no difference;
//! - a case-2 command (READ BINARY, STATUS, GET RESPONSE) whose Le asks for
//!   more than is available answers `6C xx` with the available length, and the
//!   terminal repeats it with Le = `xx`.
//!
//! [`UsimClient`] follows both rules, so it also works with a real card over
//! PC/SC whether or not the reader already resolves them.
//!
//! # Classes
//!
//! CLA `00` (ISO, basic logical channel, no secure messaging) for SELECT, READ
//! BINARY, VERIFY, AUTHENTICATE, GET RESPONSE; CLA `80` for STATUS. Other
//! logical channels answer `68 81`, secure messaging `68 82`, any other class
//! (including the GSM class `A0` of TS 51.011) `6E 00`. A 2G-only card
//! ([`CardAlgorithm::Comp128`]) therefore answers in the UICC way too: it has
//! no ADF_USIM, and runs A3/A8 for AUTHENTICATE in GSM context under DF_GSM.
//!
//! # Not implemented
//!
//! Records (READ RECORD, EF_DIR), UPDATE commands, PIN change/unblock, and the
//! storage of keys in EF_Keys/EF_KeysPS/EF_Kc after authentication.

mod apdu;
mod card;
mod client;
mod files;

pub use apdu::{ApduError, Command, Response, StatusWord};
pub use card::Card;
pub use client::{Auth3g, ClientError, GsmAuth, UsimClient};
pub use files::{
    EfError, FID_AD, FID_CURRENT_ADF, FID_DF_GSM, FID_ICCID, FID_IMSI, FID_MF, IMSI_EF_LEN,
    USIM_AID, USIM_AID_PREFIX, decode_ad, decode_iccid, decode_imsi, encode_ad, encode_iccid,
    encode_imsi,
};

use core::convert::Infallible;

use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::Zeroize;

use crate::aka::{self, AkaFailure};
use crate::algorithm::AkaAlgorithm;
use crate::comp128::Comp128Version;
use crate::sqn::SqnState;
use files::{FileSystem, MF, NodeKind};

/// Instruction bytes (TS 102 221 §10.1.2).
mod ins {
    pub const SELECT: u8 = 0xA4;
    pub const STATUS: u8 = 0xF2;
    pub const READ_BINARY: u8 = 0xB0;
    pub const VERIFY: u8 = 0x20;
    pub const AUTHENTICATE: u8 = 0x88;
    pub const GET_RESPONSE: u8 = 0xC0;
}

/// AUTHENTICATE P2 values (TS 31.102 §7.1.1): bit 8 set = specific reference
/// data, bits 3..1 = security context.
const P2_GSM_CONTEXT: u8 = 0x80;
const P2_3G_CONTEXT: u8 = 0x81;

/// Tags of the AUTHENTICATE response in 3G context (TS 31.102 §7.1.2.1).
const TAG_SUCCESS: u8 = 0xDB;
const TAG_SYNC_FAILURE: u8 = 0xDC;

/// Wrong PIN presentations allowed before PIN1 blocks (TS 102 221 §9.4).
const PIN_TRIES: u8 = 3;

/// Errors in a card's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UsimError {
    /// IMSI, ICCID or MNC length cannot be encoded in its EF.
    #[error(transparent)]
    File(#[from] EfError),
    /// PIN1 must be 4 to 8 decimal digits (TS 102 221 §9.5.1).
    #[error("PIN1 must be 4 to 8 decimal digits")]
    Pin,
}

/// A GSM secret key Ki, wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Ki(pub [u8; 16]);

impl Drop for Ki {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl core::fmt::Debug for Ki {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Ki(..)")
    }
}

/// The card's authentication algorithm.
pub enum CardAlgorithm {
    /// A USIM: the 3G functions (MILENAGE or TUAK) keyed for this subscriber.
    /// GSM context uses c2/c3 over them (TS 33.102 §6.8.1.2).
    Aka(Box<dyn AkaAlgorithm + Send>),
    /// A 2G-only SIM running COMP128 as A3/A8: GSM context only, no ADF_USIM.
    Comp128(Comp128Version, Ki),
}

impl core::fmt::Debug for CardAlgorithm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CardAlgorithm::Aka(_) => f.write_str("Aka(..)"),
            CardAlgorithm::Comp128(v, _) => write!(f, "Comp128({v}, ..)"),
        }
    }
}

/// What a card is personalised with.
#[derive(Debug)]
pub struct UsimConfig {
    /// The IMSI, 6 to 15 digits, written to EF_IMSI.
    pub imsi: String,
    /// The ICCID, up to 20 digits, written to EF_ICCID.
    pub iccid: String,
    /// Number of MNC digits in the IMSI (2 or 3), written to EF_AD.
    pub mnc_len: u8,
    /// The authentication algorithm with its keys.
    pub algorithm: CardAlgorithm,
    /// The SQN array, fresh or restored from storage.
    pub sqn: SqnState,
    /// PIN1 when enabled (4 to 8 digits); `None` leaves it disabled.
    pub pin1: Option<String>,
}

impl UsimConfig {
    /// A card with the given IMSI and algorithm, a fresh SQN array with the
    /// default policy, ICCID `89` followed by zeros, a 2-digit MNC and PIN1
    /// disabled.
    pub fn new(imsi: &str, algorithm: CardAlgorithm) -> UsimConfig {
        UsimConfig {
            imsi: imsi.to_owned(),
            iccid: "8900000000000000000".to_owned(),
            mnc_len: 2,
            algorithm,
            sqn: SqnState::default(),
            pin1: None,
        }
    }
}

/// PIN1 as stored: ASCII digits padded with FF to 8 bytes (TS 102 221 §9.5.1).
#[derive(Clone)]
struct Pin {
    value: [u8; 8],
    tries: u8,
    verified: bool,
}

impl Drop for Pin {
    fn drop(&mut self) {
        self.value.zeroize();
    }
}

/// Current selection (TS 102 221 §8.2).
#[derive(Debug, Clone, Copy)]
struct Selection {
    df: usize,
    ef: Option<usize>,
    app: Option<usize>,
}

impl Selection {
    const AFTER_RESET: Selection = Selection {
        df: MF,
        ef: None,
        app: None,
    };
}

/// A USIM in memory, answering APDUs. See the [module documentation](self).
pub struct SoftUsim {
    files: FileSystem,
    algorithm: CardAlgorithm,
    sqn: SqnState,
    pin: Option<Pin>,
    selection: Selection,
    /// Response data waiting for GET RESPONSE.
    pending: Vec<u8>,
}

impl core::fmt::Debug for SoftUsim {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SoftUsim")
            .field("algorithm", &self.algorithm)
            .field("sqn", &self.sqn)
            .finish_non_exhaustive()
    }
}

impl SoftUsim {
    /// Personalise a card.
    pub fn new(config: UsimConfig) -> Result<SoftUsim, UsimError> {
        let imsi = encode_imsi(&config.imsi)?;
        let iccid = encode_iccid(&config.iccid)?;
        let ad = encode_ad(config.mnc_len)?;
        let pin = match config.pin1.as_deref() {
            None => None,
            Some(p) if (4..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) => {
                let mut value = [0xFF; 8];
                value[..p.len()].copy_from_slice(p.as_bytes());
                Some(Pin {
                    value,
                    tries: PIN_TRIES,
                    verified: false,
                })
            }
            Some(_) => return Err(UsimError::Pin),
        };
        let usim = matches!(config.algorithm, CardAlgorithm::Aka(_));
        Ok(SoftUsim {
            files: FileSystem::build(imsi, iccid, ad, usim),
            algorithm: config.algorithm,
            sqn: config.sqn,
            pin,
            selection: Selection::AFTER_RESET,
            pending: Vec::new(),
        })
    }

    /// The SQN array, for the owner to persist after each authentication.
    pub fn sqn_state(&self) -> &SqnState {
        &self.sqn
    }

    /// Replace the SQN array (e.g. restored from storage).
    pub fn set_sqn_state(&mut self, state: SqnState) {
        self.sqn = state;
    }

    /// A cold reset: the MF is selected, no application is active, PIN1 must
    /// be verified again, pending response data is dropped. The PIN retry
    /// counter and the SQN array survive, as on a real card.
    pub fn reset(&mut self) {
        self.selection = Selection::AFTER_RESET;
        self.pending.clear();
        if let Some(pin) = &mut self.pin {
            pin.verified = false;
        }
    }

    /// Process one command APDU. Never panics; malformed input gets the
    /// status word a card would give.
    pub fn process(&mut self, apdu: &[u8]) -> Response {
        // GET RESPONSE must come immediately: anything else drops the data.
        let pending = core::mem::take(&mut self.pending);
        let (Some(&cla), Some(&ins_byte)) = (apdu.first(), apdu.get(1)) else {
            return Response::status(StatusWord::WRONG_LENGTH);
        };
        if let Some(sw) = check_class(cla, ins_byte) {
            return Response::status(sw);
        }
        let cmd = match Command::parse(apdu) {
            Ok(cmd) => cmd,
            Err(_) => return Response::status(StatusWord::WRONG_LENGTH),
        };
        match cmd.ins {
            ins::SELECT => self.select(&cmd),
            ins::STATUS => self.status(&cmd),
            ins::READ_BINARY => self.read_binary(&cmd),
            ins::VERIFY => self.verify(&cmd),
            ins::AUTHENTICATE => self.authenticate(&cmd),
            ins::GET_RESPONSE => self.get_response(&cmd, pending),
            _ => Response::status(StatusWord::INS_NOT_SUPPORTED),
        }
    }

    fn pin_ok(&self) -> bool {
        self.pin.as_ref().is_none_or(|p| p.verified)
    }

    /// Store data for GET RESPONSE and announce it with 61 xx.
    fn announce(&mut self, data: Vec<u8>) -> Response {
        let sw = StatusWord::bytes_available(data.len());
        self.pending = data;
        Response::status(sw)
    }

    /// SELECT (TS 102 221 §11.1.1).
    fn select(&mut self, cmd: &Command<'_>) -> Response {
        // P2: b8..b5 and b2..b1 zero (first or only occurrence); b4..b3 = 01
        // (or 00) return FCP, 11 no data.
        if cmd.p2 & 0xF3 != 0 {
            return Response::status(StatusWord::WRONG_P1P2);
        }
        let want_fcp = match cmd.p2 & 0x0C {
            0x00 | 0x04 => true,
            0x0C => false,
            _ => return Response::status(StatusWord::WRONG_P1P2),
        };
        let target = match cmd.p1 {
            0x00 => match cmd.data {
                [hi, lo] => self.select_fid(u16::from_be_bytes([*hi, *lo])),
                _ => return Response::status(StatusWord::WRONG_LENGTH),
            },
            0x03 => {
                if !cmd.data.is_empty() {
                    return Response::status(StatusWord::WRONG_LENGTH);
                }
                self.files.parent(self.selection.df)
            }
            0x04 => {
                if !(1..=16).contains(&cmd.data.len()) {
                    return Response::status(StatusWord::WRONG_LENGTH);
                }
                self.files.adf_by_aid(cmd.data)
            }
            0x08 | 0x09 => {
                if cmd.data.is_empty() || !cmd.data.len().is_multiple_of(2) {
                    return Response::status(StatusWord::WRONG_LENGTH);
                }
                let start = if cmd.p1 == 0x08 {
                    MF
                } else {
                    self.selection.df
                };
                self.select_path(start, cmd.data)
            }
            _ => return Response::status(StatusWord::WRONG_P1P2),
        };
        let Some(target) = target else {
            return Response::status(StatusWord::FILE_NOT_FOUND);
        };
        if self.files.is_df(target) {
            self.selection.df = target;
            self.selection.ef = None;
            if self.files.is_adf(target) {
                self.selection.app = Some(target);
            }
        } else {
            self.selection.df = self.files.parent(target).unwrap_or(MF);
            self.selection.ef = Some(target);
        }
        if want_fcp {
            let fcp = self.files.fcp(target, self.pin.is_some());
            self.announce(fcp)
        } else {
            Response::status(StatusWord::OK)
        }
    }

    /// Selection by FID from the current DF (TS 102 221 §8.4.1): the MF, the
    /// current application (7FFF), the current DF, its children, its parent
    /// and the parent's children.
    fn select_fid(&self, fid: u16) -> Option<usize> {
        let df = self.selection.df;
        if fid == FID_MF {
            return Some(MF);
        }
        if fid == FID_CURRENT_ADF {
            return self.selection.app;
        }
        if self.files.node(df).is_some_and(|n| n.fid == fid) {
            return Some(df);
        }
        if let Some(child) = self.files.child(df, fid) {
            return Some(child);
        }
        let parent = self.files.parent(df)?;
        if self.files.node(parent).is_some_and(|n| n.fid == fid) {
            return Some(parent);
        }
        self.files.child(parent, fid)
    }

    /// Follow a path of FIDs (without the MF) from `start`; 7FFF as the first
    /// element stands for the current application.
    fn select_path(&self, start: usize, path: &[u8]) -> Option<usize> {
        let mut at = start;
        for (i, pair) in path.chunks_exact(2).enumerate() {
            let fid = u16::from_be_bytes([pair[0], pair[1]]);
            if !self.files.is_df(at) {
                return None;
            }
            at = if i == 0 && fid == FID_CURRENT_ADF {
                self.selection.app?
            } else {
                self.files.child(at, fid)?
            };
        }
        Some(at)
    }

    /// STATUS (TS 102 221 §11.1.2): P2 00 returns the FCP of the current DF,
    /// 01 its DF name (AID), 0C nothing.
    fn status(&mut self, cmd: &Command<'_>) -> Response {
        if cmd.p1 > 0x02 {
            return Response::status(StatusWord::WRONG_P1P2);
        }
        if !cmd.data.is_empty() {
            return Response::status(StatusWord::WRONG_LENGTH);
        }
        let df = self.selection.df;
        let data = match cmd.p2 {
            0x00 => self.files.fcp(df, self.pin.is_some()),
            0x01 => match self.files.node(df).map(|n| &n.kind) {
                Some(NodeKind::Df { aid: Some(aid) }) => {
                    let mut out = vec![0x84, aid.len() as u8];
                    out.extend_from_slice(aid);
                    out
                }
                _ => Vec::new(),
            },
            0x0C => return Response::status(StatusWord::OK),
            _ => return Response::status(StatusWord::WRONG_P1P2),
        };
        match cmd.le {
            Some(le) if usize::from(le) == data.len() => Response::ok(data),
            Some(_) if !data.is_empty() => Response::status(StatusWord::wrong_le(data.len())),
            None if data.is_empty() => Response::status(StatusWord::OK),
            _ => Response::status(StatusWord::WRONG_LENGTH),
        }
    }

    /// READ BINARY (TS 102 221 §11.1.3): P1 bit 8 set selects the EF by SFI
    /// (P1 bits 5..1) and P2 is the offset; otherwise P1 P2 is a 15-bit offset
    /// into the current EF.
    fn read_binary(&mut self, cmd: &Command<'_>) -> Response {
        let (Some(le), true) = (cmd.le, cmd.data.is_empty()) else {
            return Response::status(StatusWord::WRONG_LENGTH);
        };
        let (ef, offset) = if cmd.p1 & 0x80 != 0 {
            // SFI 1..=30 in bits 5..1 (ISO/IEC 7816-4 §7.2.2); bits 7..6 zero.
            if cmd.p1 & 0x60 != 0 || matches!(cmd.p1 & 0x1F, 0 | 31) {
                return Response::status(StatusWord::WRONG_P1P2);
            }
            match self.files.child_by_sfi(self.selection.df, cmd.p1 & 0x1F) {
                Some(ef) => (ef, usize::from(cmd.p2)),
                None => return Response::status(StatusWord::FILE_NOT_FOUND),
            }
        } else {
            match self.selection.ef {
                Some(ef) => (ef, usize::from(u16::from_be_bytes([cmd.p1, cmd.p2]))),
                None => return Response::status(StatusWord::NO_EF_SELECTED),
            }
        };
        let Some(NodeKind::Ef { data, needs_pin }) = self.files.node(ef).map(|n| &n.kind) else {
            return Response::status(StatusWord::INCOMPATIBLE_FILE);
        };
        if *needs_pin && !self.pin_ok() {
            return Response::status(StatusWord::SECURITY_STATUS);
        }
        let Some(available) = data.len().checked_sub(offset).filter(|&n| n > 0) else {
            return Response::status(StatusWord::WRONG_P1P2);
        };
        let le = usize::from(le);
        if le > available {
            return Response::status(StatusWord::wrong_le(available));
        }
        let out = data[offset..offset + le].to_vec();
        if cmd.p1 & 0x80 != 0 {
            // Reading by SFI also selects the EF.
            self.selection.ef = Some(ef);
        }
        Response::ok(out)
    }

    /// VERIFY PIN (TS 102 221 §11.1.9), PIN1 only (P2 = 01). Without data it
    /// reports the retry counter.
    fn verify(&mut self, cmd: &Command<'_>) -> Response {
        if cmd.p1 != 0x00 || cmd.p2 != 0x01 {
            return Response::status(StatusWord::WRONG_P1P2);
        }
        if cmd.le.is_some() {
            return Response::status(StatusWord::WRONG_LENGTH);
        }
        let Some(pin) = &mut self.pin else {
            // PIN1 disabled: nothing to verify.
            return Response::status(if cmd.data.is_empty() {
                StatusWord::OK
            } else {
                StatusWord::REFERENCE_INVALIDATED
            });
        };
        if cmd.data.is_empty() {
            return Response::status(if pin.verified {
                StatusWord::OK
            } else {
                StatusWord::verify_failed(pin.tries)
            });
        }
        if cmd.data.len() != 8 {
            return Response::status(StatusWord::WRONG_LENGTH);
        }
        if pin.tries == 0 {
            return Response::status(StatusWord::PIN_BLOCKED);
        }
        if bool::from(pin.value.ct_eq(cmd.data)) {
            pin.tries = PIN_TRIES;
            pin.verified = true;
            Response::status(StatusWord::OK)
        } else {
            pin.tries -= 1;
            pin.verified = false;
            Response::status(StatusWord::verify_failed(pin.tries))
        }
    }

    /// AUTHENTICATE (TS 31.102 §7.1.2).
    ///
    /// 3G context (P2 = 81): data `10 RAND 10 AUTN`; success gives
    /// `DB len RES len CK len IK 08 Kc`, an SQN out of range gives `DC 0E AUTS`,
    /// a MAC failure the status word 98 62.
    /// GSM context (P2 = 80): data `10 RAND`; gives `04 SRES 08 Kc` (for a USIM
    /// by c2/c3, TS 33.102 §6.8.1.2; for a 2G card by COMP128).
    fn authenticate(&mut self, cmd: &Command<'_>) -> Response {
        if cmd.p1 != 0x00 {
            return Response::status(StatusWord::WRONG_P1P2);
        }
        match cmd.p2 {
            P2_GSM_CONTEXT | P2_3G_CONTEXT => {}
            // Other defined contexts: VGCS/VBS, GBA, MBMS, local key.
            0x82..=0x87 => return Response::status(StatusWord::CONTEXT_NOT_SUPPORTED),
            _ => return Response::status(StatusWord::WRONG_P1P2),
        }
        let in_usim = self
            .selection
            .app
            .is_some_and(|app| app == self.selection.df);
        let in_gsm = self
            .files
            .node(self.selection.df)
            .is_some_and(|n| n.fid == FID_DF_GSM && n.parent == Some(MF));
        if !(in_usim || (cmd.p2 == P2_GSM_CONTEXT && in_gsm)) {
            return Response::status(StatusWord::CONDITIONS_OF_USE);
        }
        if !self.pin_ok() {
            return Response::status(StatusWord::SECURITY_STATUS);
        }
        if cmd.p2 == P2_3G_CONTEXT {
            let (rand, autn) = match (lv16(cmd.data, 0, 34), lv16(cmd.data, 17, 34)) {
                (Ok(rand), Ok(autn)) => (rand, autn),
                (Err(sw), _) | (_, Err(sw)) => return Response::status(sw),
            };
            self.authenticate_3g(&rand, &autn)
        } else {
            let rand = match lv16(cmd.data, 0, 17) {
                Ok(rand) => rand,
                Err(sw) => return Response::status(sw),
            };
            let (sres, kc) = match &self.algorithm {
                CardAlgorithm::Aka(alg) => aka::gsm_context(alg.as_ref(), &rand),
                CardAlgorithm::Comp128(version, ki) => version.run(&ki.0, &rand),
            };
            let mut out = Vec::with_capacity(14);
            out.push(4);
            out.extend_from_slice(&sres);
            out.push(8);
            out.extend_from_slice(&kc);
            self.announce(out)
        }
    }

    fn authenticate_3g(&mut self, rand: &[u8; 16], autn: &[u8; 16]) -> Response {
        let CardAlgorithm::Aka(alg) = &self.algorithm else {
            return Response::status(StatusWord::CONTEXT_NOT_SUPPORTED);
        };
        match aka::verify_autn(alg.as_ref(), rand, autn, &mut self.sqn) {
            Ok(auth) => {
                let keys = auth.keys;
                let res = keys.res.as_bytes();
                let kc = crate::convert::c3(&keys.ck, &keys.ik);
                let mut out = Vec::with_capacity(4 + res.len() + 32 + 10);
                out.push(TAG_SUCCESS);
                out.push(res.len() as u8);
                out.extend_from_slice(res);
                out.push(16);
                out.extend_from_slice(&keys.ck);
                out.push(16);
                out.extend_from_slice(&keys.ik);
                out.push(8);
                out.extend_from_slice(&kc);
                self.announce(out)
            }
            Err(AkaFailure::SyncFailure { auts, .. }) => {
                let mut out = Vec::with_capacity(16);
                out.push(TAG_SYNC_FAILURE);
                out.push(14);
                out.extend_from_slice(&auts);
                self.announce(out)
            }
            Err(_) => Response::status(StatusWord::AUTH_ERROR),
        }
    }

    /// GET RESPONSE (TS 102 221 §11.1.13): Le equal to what is waiting returns
    /// it all; a smaller Le returns that much and announces the rest with
    /// 61 xx; a larger Le gets 6C xx.
    fn get_response(&mut self, cmd: &Command<'_>, pending: Vec<u8>) -> Response {
        if cmd.p1 != 0 || cmd.p2 != 0 {
            return Response::status(StatusWord::WRONG_P1P2);
        }
        let (Some(le), true) = (cmd.le, cmd.data.is_empty()) else {
            return Response::status(StatusWord::WRONG_LENGTH);
        };
        if pending.is_empty() {
            return Response::status(StatusWord::CONDITIONS_OF_USE);
        }
        let le = usize::from(le);
        if le > pending.len() {
            let sw = StatusWord::wrong_le(pending.len());
            self.pending = pending;
            return Response::status(sw);
        }
        let mut data = pending;
        let rest = data.split_off(le);
        if rest.is_empty() {
            Response::ok(data)
        } else {
            let sw = StatusWord::bytes_available(rest.len());
            self.pending = rest;
            Response { data, sw }
        }
    }
}

/// Class check before anything else, as a card does it.
fn check_class(cla: u8, ins_byte: u8) -> Option<StatusWord> {
    match cla {
        0x00..=0x0F => {
            if cla & 0x03 != 0 {
                Some(StatusWord::CHANNEL_NOT_SUPPORTED)
            } else if cla & 0x0C != 0 {
                Some(StatusWord::SM_NOT_SUPPORTED)
            } else if ins_byte == ins::STATUS {
                Some(StatusWord::INS_NOT_SUPPORTED)
            } else {
                None
            }
        }
        0x80 => (ins_byte != ins::STATUS).then_some(StatusWord::INS_NOT_SUPPORTED),
        _ => Some(StatusWord::CLA_NOT_SUPPORTED),
    }
}

/// The 16-byte value of the length-value pair `10 value` at `at`, in command
/// data that must be exactly `total` bytes long: 67 00 for a wrong total,
/// 6A 80 for a length byte other than 16.
fn lv16(data: &[u8], at: usize, total: usize) -> Result<[u8; 16], StatusWord> {
    if data.len() != total {
        return Err(StatusWord::WRONG_LENGTH);
    }
    match data.get(at..at + 17) {
        Some([16, value @ ..]) => {
            let mut out = [0u8; 16];
            out.copy_from_slice(value);
            Ok(out)
        }
        _ => Err(StatusWord::WRONG_DATA),
    }
}

impl Card for SoftUsim {
    type Error = Infallible;

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Infallible> {
        Ok(self.process(apdu).to_bytes())
    }
}
