//! GSUP messages: the message type, the IMSI and the IE list.
//!
//! Layout (osmo-gsm-manuals `gsup.adoc`, "Message Format / General"): one
//! octet of message type, then the IMSI IE (0x01) — libosmocore requires it
//! right there — then any number of TLV IEs "in any order". Decoding keeps
//! the IEs in the order received, so `encode(decode(x)) == x` for every
//! accepted `x` whose nested IEs are in libosmocore's order; the builders
//! sort IEs into the order `osmo_gsup_encode` uses.
//!
//! Message types follow libosmocore's scheme (`gsup.h`): request, error and
//! result of one procedure differ only in the two low bits
//! (`00` request, `01` error, `10` result, `11` other).

use core::fmt;

use thiserror::Error;

use crate::bcd::{AddressString, Imsi};
use crate::ie::{
    AnApdu, AuthTuple, CancelType, Cause, CnDomain, Ie, Iei, ImeiResult, MAX_AUTH_TUPLES,
    MAX_PDP_INFOS, MessageClass, PdpInfo, RatType, RawIe, SessionState, SmAlertReason, SmRpAddress,
    TlvReader, put_tlv,
};
use telsec_wire::open_enum;

open_enum! {
    /// GSUP message types (libosmocore `enum osmo_gsup_message_type`;
    /// `gsup.adoc` "Message Type").
    pub enum MessageType {
        UpdateLocationRequest = 0x04 => "UPDATE_LOCATION_REQUEST",
        UpdateLocationError = 0x05 => "UPDATE_LOCATION_ERROR",
        UpdateLocationResult = 0x06 => "UPDATE_LOCATION_RESULT",
        SendAuthInfoRequest = 0x08 => "SEND_AUTH_INFO_REQUEST",
        SendAuthInfoError = 0x09 => "SEND_AUTH_INFO_ERROR",
        SendAuthInfoResult = 0x0a => "SEND_AUTH_INFO_RESULT",
        AuthFailReport = 0x0b => "AUTH_FAIL_REPORT",
        PurgeMsRequest = 0x0c => "PURGE_MS_REQUEST",
        PurgeMsError = 0x0d => "PURGE_MS_ERROR",
        PurgeMsResult = 0x0e => "PURGE_MS_RESULT",
        InsertDataRequest = 0x10 => "INSERT_DATA_REQUEST",
        InsertDataError = 0x11 => "INSERT_DATA_ERROR",
        InsertDataResult = 0x12 => "INSERT_DATA_RESULT",
        DeleteDataRequest = 0x14 => "DELETE_DATA_REQUEST",
        DeleteDataError = 0x15 => "DELETE_DATA_ERROR",
        DeleteDataResult = 0x16 => "DELETE_DATA_RESULT",
        LocationCancelRequest = 0x1c => "LOCATION_CANCEL_REQUEST",
        LocationCancelError = 0x1d => "LOCATION_CANCEL_ERROR",
        LocationCancelResult = 0x1e => "LOCATION_CANCEL_RESULT",
        ProcSsRequest = 0x20 => "PROC_SS_REQUEST",
        ProcSsError = 0x21 => "PROC_SS_ERROR",
        ProcSsResult = 0x22 => "PROC_SS_RESULT",
        MoForwardSmRequest = 0x24 => "MO_FORWARD_SM_REQUEST",
        MoForwardSmError = 0x25 => "MO_FORWARD_SM_ERROR",
        MoForwardSmResult = 0x26 => "MO_FORWARD_SM_RESULT",
        MtForwardSmRequest = 0x28 => "MT_FORWARD_SM_REQUEST",
        MtForwardSmError = 0x29 => "MT_FORWARD_SM_ERROR",
        MtForwardSmResult = 0x2a => "MT_FORWARD_SM_RESULT",
        ReadyForSmRequest = 0x2c => "READY_FOR_SM_REQUEST",
        ReadyForSmError = 0x2d => "READY_FOR_SM_ERROR",
        ReadyForSmResult = 0x2e => "READY_FOR_SM_RESULT",
        CheckImeiRequest = 0x30 => "CHECK_IMEI_REQUEST",
        CheckImeiError = 0x31 => "CHECK_IMEI_ERROR",
        CheckImeiResult = 0x32 => "CHECK_IMEI_RESULT",
        EPrepareHandoverRequest = 0x34 => "E_PREPARE_HANDOVER_REQUEST",
        EPrepareHandoverError = 0x35 => "E_PREPARE_HANDOVER_ERROR",
        EPrepareHandoverResult = 0x36 => "E_PREPARE_HANDOVER_RESULT",
        EPrepareSubsequentHandoverRequest = 0x38 => "E_PREPARE_SUBSEQUENT_HANDOVER_REQUEST",
        EPrepareSubsequentHandoverError = 0x39 => "E_PREPARE_SUBSEQUENT_HANDOVER_ERROR",
        EPrepareSubsequentHandoverResult = 0x3a => "E_PREPARE_SUBSEQUENT_HANDOVER_RESULT",
        ESendEndSignalRequest = 0x3c => "E_SEND_END_SIGNAL_REQUEST",
        ESendEndSignalError = 0x3d => "E_SEND_END_SIGNAL_ERROR",
        ESendEndSignalResult = 0x3e => "E_SEND_END_SIGNAL_RESULT",
        EProcessAccessSignallingRequest = 0x40 => "E_PROCESS_ACCESS_SIGNALLING_REQUEST",
        EForwardAccessSignallingRequest = 0x44 => "E_FORWARD_ACCESS_SIGNALLING_REQUEST",
        EClose = 0x47 => "E_CLOSE",
        EAbort = 0x4b => "E_ABORT",
        RoutingError = 0x4e => "ROUTING_ERROR",
        EpdgTunnelRequest = 0x50 => "EPDG_TUNNEL_REQUEST",
        EpdgTunnelError = 0x51 => "EPDG_TUNNEL_ERROR",
        EpdgTunnelResult = 0x52 => "EPDG_TUNNEL_RESULT",
    }
}

impl MessageType {
    /// Low two bits `00`: a request (`OSMO_GSUP_IS_MSGT_REQUEST`).
    pub fn is_request(self) -> bool {
        u8::from(self) & 0b11 == 0b00
    }

    /// Low two bits `01`: an error.
    pub fn is_error(self) -> bool {
        u8::from(self) & 0b11 == 0b01
    }

    /// Low two bits `10`: a result.
    pub fn is_result(self) -> bool {
        u8::from(self) & 0b11 == 0b10
    }

    /// The request type of the same procedure.
    pub fn to_request(self) -> MessageType {
        MessageType::from(u8::from(self) & 0b1111_1100)
    }

    /// The error type of the same procedure (`OSMO_GSUP_TO_MSGT_ERROR`).
    pub fn to_error(self) -> MessageType {
        MessageType::from((u8::from(self) & 0b1111_1100) | 0b01)
    }

    /// The result type of the same procedure (`OSMO_GSUP_TO_MSGT_RESULT`).
    pub fn to_result(self) -> MessageType {
        MessageType::from((u8::from(self) & 0b1111_1100) | 0b10)
    }
}

/// Why a GSUP message could not be decoded or encoded.
///
/// [`GsupError::cause`] gives the GMM cause to answer a bad request with,
/// following libosmocore's `osmo_gsup_decode` return codes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum GsupError {
    /// The message has no message type octet.
    #[error("empty GSUP message")]
    Empty,
    /// The IMSI IE does not follow the message type.
    #[error("IMSI IE missing after the message type")]
    MissingImsi,
    /// The IMSI is not 0-15 decimal TBCD digits with `F` filler.
    #[error("invalid IMSI")]
    InvalidImsi,
    /// A TLV's length runs past the end of the message (or of its parent IE).
    #[error("IE 0x{iei:02x} truncated")]
    Truncated {
        /// Tag of the truncated IE.
        iei: u8,
    },
    /// A known IE has a length its type does not allow.
    #[error("IE 0x{iei:02x} has invalid length {len}")]
    BadIeLength {
        /// Tag of the IE.
        iei: u8,
        /// Its length.
        len: usize,
    },
    /// A known IE has a value its type does not allow.
    #[error("IE 0x{iei:02x} invalid: {reason}")]
    InvalidIe {
        /// Tag of the IE.
        iei: u8,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An IE that may appear once inside Auth Tuple or PDP Info appears twice.
    #[error("IE 0x{iei:02x} repeated")]
    DuplicateIe {
        /// Tag of the IE.
        iei: u8,
    },
    /// More Auth Tuple (5) or PDP Info (10) IEs than libosmocore accepts.
    #[error("too many IE 0x{iei:02x} (at most {max})")]
    TooManyIes {
        /// Tag of the IE.
        iei: u8,
        /// The limit.
        max: usize,
    },
    /// An IE the message type requires is absent.
    #[error("mandatory IE 0x{iei:02x} missing")]
    MissingMandatoryIe {
        /// Tag of the missing IE.
        iei: u8,
    },
    /// Encoding: a value longer than its length field can express.
    #[error("IE 0x{iei:02x} too long to encode ({len} octets)")]
    IeTooLong {
        /// Tag of the IE.
        iei: u8,
        /// Its length.
        len: usize,
    },
    /// A digit string has a character BCD cannot carry, or a BCD value has
    /// a nibble that is not a digit.
    #[error("invalid BCD digits")]
    InvalidDigits,
    /// An APN label is empty or longer than 63 octets, or the APN is longer
    /// than 100 octets.
    #[error("invalid APN")]
    InvalidApn,
}

impl GsupError {
    /// The GMM cause to put in the error response to a request that failed
    /// this way (libosmocore: a missing type or IMSI gives "invalid
    /// mandatory information", a broken TLV "protocol error, unspecified",
    /// bad AUTS/RAND lengths and too many PDP infos "conditional IE error").
    pub fn cause(&self) -> Cause {
        match self {
            GsupError::Empty
            | GsupError::MissingImsi
            | GsupError::InvalidImsi
            | GsupError::MissingMandatoryIe { .. } => Cause::InvalidMandatoryInfo,
            GsupError::TooManyIes { iei, .. } if *iei == u8::from(Iei::AuthTuple) => {
                Cause::InvalidMandatoryInfo
            }
            GsupError::BadIeLength { .. }
            | GsupError::InvalidIe { .. }
            | GsupError::DuplicateIe { .. }
            | GsupError::TooManyIes { .. } => Cause::ConditionalIeError,
            GsupError::Truncated { .. }
            | GsupError::IeTooLong { .. }
            | GsupError::InvalidDigits
            | GsupError::InvalidApn => Cause::ProtocolErrorUnspecified,
        }
    }
}

/// A GSUP message: type, IMSI, and the other IEs in wire order.
///
/// Build one with a constructor such as
/// [`GsupMessage::send_auth_info_result`] or [`GsupMessage::error`], or with
/// [`GsupMessage::new`] and [`GsupMessage::with`]; read IEs with the typed
/// accessors ([`GsupMessage::cause`], [`GsupMessage::auth_tuples`], ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GsupMessage {
    /// Message type.
    pub msg_type: MessageType,
    /// Subscriber IMSI.
    pub imsi: Imsi,
    /// IEs after the IMSI, in wire order.
    pub ies: Vec<Ie>,
}

impl GsupMessage {
    /// A message with no IEs besides the IMSI.
    pub fn new(msg_type: MessageType, imsi: Imsi) -> GsupMessage {
        GsupMessage {
            msg_type,
            imsi,
            ies: Vec::new(),
        }
    }

    /// Adds an IE at its place in libosmocore's encoding order (see
    /// [`GsupMessage::push`]).
    pub fn with(mut self, ie: Ie) -> GsupMessage {
        self.push(ie);
        self
    }

    /// Adds an IE at its place in libosmocore's encoding order (after IEs
    /// of the same rank, so repeated IEs keep their relative order).
    pub fn push(&mut self, ie: Ie) {
        let rank = ie.canonical_rank();
        let at = self
            .ies
            .iter()
            .position(|e| e.canonical_rank() > rank)
            .unwrap_or(self.ies.len());
        self.ies.insert(at, ie);
    }

    /// Sorts the IEs into libosmocore's encoding order (stable).
    pub fn canonicalize(&mut self) {
        self.ies.sort_by_key(Ie::canonical_rank);
    }

    // ----- constructors -------------------------------------------------

    /// Send Authentication Info Request (`gsup.adoc` 0x08).
    pub fn send_auth_info_request(imsi: Imsi) -> GsupMessage {
        GsupMessage::new(MessageType::SendAuthInfoRequest, imsi)
    }

    /// Send Authentication Info Request asking for UMTS AKA
    /// re-synchronisation with AUTS and the RAND it answers.
    pub fn send_auth_info_resync_request(
        imsi: Imsi,
        auts: [u8; 14],
        rand: [u8; 16],
    ) -> GsupMessage {
        GsupMessage::send_auth_info_request(imsi)
            .with(Ie::Auts(auts))
            .with(Ie::Rand(rand))
    }

    /// Send Authentication Info Result carrying `tuples` (at most
    /// [`MAX_AUTH_TUPLES`]; more fail at [`GsupMessage::encode`]).
    pub fn send_auth_info_result(imsi: Imsi, tuples: Vec<AuthTuple>) -> GsupMessage {
        let mut m = GsupMessage::new(MessageType::SendAuthInfoResult, imsi);
        m.ies.extend(tuples.into_iter().map(Ie::AuthTuple));
        m
    }

    /// Update Location Request, optionally naming the CN domain.
    pub fn update_location_request(imsi: Imsi, cn_domain: Option<CnDomain>) -> GsupMessage {
        let m = GsupMessage::new(MessageType::UpdateLocationRequest, imsi);
        match cn_domain {
            Some(d) => m.with(Ie::CnDomain(d)),
            None => m,
        }
    }

    /// Update Location Result with no subscriber data (osmo-hlr sends the
    /// data in Insert Subscriber Data before this).
    pub fn update_location_result(imsi: Imsi) -> GsupMessage {
        GsupMessage::new(MessageType::UpdateLocationResult, imsi)
    }

    /// Insert Subscriber Data Request with the MSISDN (length-prefixed, as
    /// osmo-hlr encodes it), the CN domain, and the PDP contexts for PS.
    pub fn insert_data_request(
        imsi: Imsi,
        msisdn: Option<AddressString>,
        cn_domain: Option<CnDomain>,
        pdp_infos: Vec<PdpInfo>,
    ) -> GsupMessage {
        let mut m = GsupMessage::new(MessageType::InsertDataRequest, imsi);
        if let Some(msisdn) = msisdn {
            m.push(Ie::Msisdn(msisdn));
        }
        if let Some(d) = cn_domain {
            m.push(Ie::CnDomain(d));
        }
        for p in pdp_infos {
            m.push(Ie::PdpInfo(p));
        }
        m
    }

    /// Location Cancellation Request (HLR to VLR/SGSN).
    pub fn location_cancel_request(
        imsi: Imsi,
        cancel_type: CancelType,
        cn_domain: Option<CnDomain>,
    ) -> GsupMessage {
        let mut m = GsupMessage::new(MessageType::LocationCancelRequest, imsi)
            .with(Ie::CancelType(cancel_type));
        if let Some(d) = cn_domain {
            m.push(Ie::CnDomain(d));
        }
        m
    }

    /// Purge MS Request with the HLR number.
    pub fn purge_ms_request(imsi: Imsi, hlr_number: Option<AddressString>) -> GsupMessage {
        let m = GsupMessage::new(MessageType::PurgeMsRequest, imsi);
        match hlr_number {
            Some(n) => m.with(Ie::HlrNumber(n)),
            None => m,
        }
    }

    /// Purge MS Result, with the Freeze P-TMSI flag if set.
    pub fn purge_ms_result(imsi: Imsi, freeze_ptmsi: bool) -> GsupMessage {
        let m = GsupMessage::new(MessageType::PurgeMsResult, imsi);
        if freeze_ptmsi {
            m.with(Ie::FreezePtmsi)
        } else {
            m
        }
    }

    /// Check IMEI Request.
    pub fn check_imei_request(imsi: Imsi, imei: AddressString) -> GsupMessage {
        GsupMessage::new(MessageType::CheckImeiRequest, imsi).with(Ie::Imei(imei))
    }

    /// Check IMEI Result.
    pub fn check_imei_result(imsi: Imsi, result: ImeiResult) -> GsupMessage {
        GsupMessage::new(MessageType::CheckImeiResult, imsi).with(Ie::ImeiResult(result))
    }

    /// The error message answering a request of type `request_type` (any
    /// type of the procedure works: the low bits are replaced).
    pub fn error(request_type: MessageType, imsi: Imsi, cause: Cause) -> GsupMessage {
        GsupMessage::new(request_type.to_error(), imsi).with(Ie::Cause(cause))
    }

    /// Starts the response to this message the way osmo-hlr's
    /// `osmo_gsup_make_response` does: the result (or error) type of the
    /// procedure, the same IMSI and Message Class, Destination Name set to
    /// the request's Source Name, SM-RP-MR and Session ID copied, and the
    /// session state END if `final_response` (or the request ended the
    /// session), CONTINUE otherwise.
    pub fn response(&self, error: bool, final_response: bool) -> GsupMessage {
        let msg_type = if error {
            self.msg_type.to_error()
        } else {
            self.msg_type.to_result()
        };
        let mut r = GsupMessage::new(msg_type, self.imsi.clone());
        if let Some(class) = self.message_class() {
            r.push(Ie::MessageClass(class));
        }
        if let Some(name) = self.source_name() {
            r.push(Ie::DestinationName(name.to_vec()));
        }
        if let Some(mr) = self.sm_rp_mr() {
            r.push(Ie::SmRpMr(mr));
        }
        let state = self.session_state().unwrap_or(SessionState::Undefined);
        if state != SessionState::Undefined {
            if let Some(id) = self.session_id() {
                r.push(Ie::SessionId(id));
            }
            let ended = final_response || state == SessionState::End;
            r.push(Ie::SessionState(if ended {
                SessionState::End
            } else {
                SessionState::Continue
            }));
        }
        r
    }

    /// The error response to this message with `cause`, built like
    /// [`GsupMessage::response`]. `None` when this message is not a
    /// request: osmo peers never answer errors or results.
    pub fn error_response(&self, cause: Cause) -> Option<GsupMessage> {
        if !self.msg_type.is_request() {
            return None;
        }
        Some(self.response(true, true).with(Ie::Cause(cause)))
    }

    // ----- codec --------------------------------------------------------

    /// Decodes a GSUP message (the payload after the IPA `0xEE 0x05` header).
    pub fn decode(data: &[u8]) -> Result<GsupMessage, GsupError> {
        let (&msg_type, rest) = data.split_first().ok_or(GsupError::Empty)?;
        let mut reader = TlvReader::new(rest);
        let imsi = match reader.next() {
            Some(Ok((tag, value))) if tag == u8::from(Iei::Imsi) => Imsi::from_tbcd(value)?,
            Some(Err(_)) | Some(Ok(_)) | None => return Err(GsupError::MissingImsi),
        };
        let mut ies = Vec::new();
        let (mut tuples, mut pdps) = (0usize, 0usize);
        for item in reader {
            let (tag, value) = item?;
            let ie = Ie::decode(tag, value)?;
            count_limited(&ie, &mut tuples, &mut pdps)?;
            ies.push(ie);
        }
        Ok(GsupMessage {
            msg_type: msg_type.into(),
            imsi,
            ies,
        })
    }

    /// Appends the encoded message. Fails only for values the wire format
    /// cannot carry (an IE over 255 octets, more than 5 tuples, ...).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), GsupError> {
        let start = out.len();
        let result = self.encode_inner(out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn encode_inner(&self, out: &mut Vec<u8>) -> Result<(), GsupError> {
        out.push(self.msg_type.into());
        let mut imsi = Vec::with_capacity(8);
        self.imsi.emit_tbcd(&mut imsi);
        put_tlv(out, Iei::Imsi.into(), &imsi)?;
        let (mut tuples, mut pdps) = (0usize, 0usize);
        for ie in &self.ies {
            count_limited(ie, &mut tuples, &mut pdps)?;
            ie.emit(out)?;
        }
        Ok(())
    }

    /// Encodes into a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, GsupError> {
        let mut out = Vec::with_capacity(64);
        self.encode(&mut out)?;
        Ok(out)
    }

    /// Checks the IEs the message type makes mandatory or conditional
    /// (`gsup.adoc` message tables): Cause in every error, AUTS and RAND
    /// together in Send Auth Info Request, IMEI in Check IMEI Request, its
    /// result in the Check IMEI Result, Session ID and State in the
    /// supplementary-service messages. Decoding does not apply these rules
    /// (libosmocore does not either), so a server can still answer.
    pub fn validate(&self) -> Result<(), GsupError> {
        let need = |present: bool, iei: Iei| {
            if present {
                Ok(())
            } else {
                Err(GsupError::MissingMandatoryIe { iei: iei.into() })
            }
        };
        if self.msg_type.is_error() && self.msg_type != MessageType::RoutingError {
            need(self.cause().is_some(), Iei::Cause)?;
        }
        match self.msg_type {
            MessageType::SendAuthInfoRequest => {
                need(self.auts().is_some() == self.rand().is_some(), Iei::Rand)?;
                need(self.rand().is_none() || self.auts().is_some(), Iei::Auts)?;
            }
            MessageType::CheckImeiRequest => need(self.imei().is_some(), Iei::Imei)?,
            MessageType::CheckImeiResult => need(self.imei_result().is_some(), Iei::ImeiResult)?,
            MessageType::ProcSsRequest | MessageType::ProcSsError | MessageType::ProcSsResult => {
                need(self.session_id().is_some(), Iei::SessionId)?;
                need(self.session_state().is_some(), Iei::SessionState)?;
            }
            _ => {}
        }
        Ok(())
    }

    // ----- accessors ----------------------------------------------------

    fn find<'a, T: 'a>(&'a self, f: impl FnMut(&'a Ie) -> Option<T>) -> Option<T> {
        self.ies.iter().find_map(f)
    }

    /// Cause (0x02).
    pub fn cause(&self) -> Option<Cause> {
        self.find(|ie| {
            if let Ie::Cause(c) = ie {
                Some(*c)
            } else {
                None
            }
        })
    }

    /// Auth Tuples (0x03), in order.
    pub fn auth_tuples(&self) -> impl Iterator<Item = &AuthTuple> {
        self.ies.iter().filter_map(|ie| {
            if let Ie::AuthTuple(t) = ie {
                Some(t)
            } else {
                None
            }
        })
    }

    /// PDP Info Complete flag (0x04).
    pub fn pdp_info_complete(&self) -> bool {
        self.ies.iter().any(|ie| matches!(ie, Ie::PdpInfoComplete))
    }

    /// PDP Infos (0x05), in order.
    pub fn pdp_infos(&self) -> impl Iterator<Item = &PdpInfo> {
        self.ies.iter().filter_map(|ie| {
            if let Ie::PdpInfo(p) = ie {
                Some(p)
            } else {
                None
            }
        })
    }

    /// Top-level PDP Context IDs (0x10), as in Delete Subscriber Data.
    pub fn pdp_context_ids(&self) -> impl Iterator<Item = u8> + '_ {
        self.ies.iter().filter_map(|ie| {
            if let Ie::PdpContextId(id) = ie {
                Some(*id)
            } else {
                None
            }
        })
    }

    /// Cancellation Type (0x06).
    pub fn cancel_type(&self) -> Option<CancelType> {
        self.find(|ie| {
            if let Ie::CancelType(c) = ie {
                Some(*c)
            } else {
                None
            }
        })
    }

    /// Freeze P-TMSI flag (0x07).
    pub fn freeze_ptmsi(&self) -> bool {
        self.ies.iter().any(|ie| matches!(ie, Ie::FreezePtmsi))
    }

    /// MSISDN (0x08).
    pub fn msisdn(&self) -> Option<&AddressString> {
        self.find(|ie| {
            if let Ie::Msisdn(a) = ie {
                Some(a)
            } else {
                None
            }
        })
    }

    /// HLR Number (0x09).
    pub fn hlr_number(&self) -> Option<&AddressString> {
        self.find(|ie| {
            if let Ie::HlrNumber(a) = ie {
                Some(a)
            } else {
                None
            }
        })
    }

    /// Message Class (0x0a).
    pub fn message_class(&self) -> Option<MessageClass> {
        self.find(|ie| {
            if let Ie::MessageClass(c) = ie {
                Some(*c)
            } else {
                None
            }
        })
    }

    /// PDP-Charging Characteristics (0x14) at top level.
    pub fn charging_characteristics(&self) -> Option<&[u8]> {
        self.find(|ie| {
            if let Ie::ChargingCharacteristics(v) = ie {
                Some(v.as_slice())
            } else {
                None
            }
        })
    }

    /// PCO (0x15).
    pub fn pco(&self) -> Option<&[u8]> {
        self.find(|ie| {
            if let Ie::Pco(v) = ie {
                Some(v.as_slice())
            } else {
                None
            }
        })
    }

    /// RAND (0x20) at top level, for AUTS re-synchronisation.
    pub fn rand(&self) -> Option<&[u8; 16]> {
        self.find(|ie| if let Ie::Rand(v) = ie { Some(v) } else { None })
    }

    /// AUTS (0x26).
    pub fn auts(&self) -> Option<&[u8; 14]> {
        self.find(|ie| if let Ie::Auts(v) = ie { Some(v) } else { None })
    }

    /// CN Domain (0x28) as sent; see [`GsupMessage::cn_domain_or_default`].
    pub fn cn_domain(&self) -> Option<CnDomain> {
        self.find(|ie| {
            if let Ie::CnDomain(d) = ie {
                Some(*d)
            } else {
                None
            }
        })
    }

    /// CN Domain, PS when absent (`gsup.adoc` "CN Domain": backwards
    /// compatibility).
    pub fn cn_domain_or_default(&self) -> CnDomain {
        self.cn_domain().unwrap_or(CnDomain::Ps)
    }

    /// Supported RAT Types (0x29).
    pub fn supported_rat_types(&self) -> Option<&[RatType]> {
        self.find(|ie| {
            if let Ie::SupportedRatTypes(v) = ie {
                Some(v.as_slice())
            } else {
                None
            }
        })
    }

    /// Current RAT Type (0x2a).
    pub fn current_rat_type(&self) -> Option<RatType> {
        self.find(|ie| {
            if let Ie::CurrentRatType(v) = ie {
                Some(*v)
            } else {
                None
            }
        })
    }

    /// Session ID (0x30).
    pub fn session_id(&self) -> Option<u32> {
        self.find(|ie| {
            if let Ie::SessionId(v) = ie {
                Some(*v)
            } else {
                None
            }
        })
    }

    /// Session State (0x31).
    pub fn session_state(&self) -> Option<SessionState> {
        self.find(|ie| {
            if let Ie::SessionState(v) = ie {
                Some(*v)
            } else {
                None
            }
        })
    }

    /// Supplementary Service Info (0x35).
    pub fn ss_info(&self) -> Option<&[u8]> {
        self.find(|ie| {
            if let Ie::SsInfo(v) = ie {
                Some(v.as_slice())
            } else {
                None
            }
        })
    }

    /// SM-RP-MR (0x40).
    pub fn sm_rp_mr(&self) -> Option<u8> {
        self.find(|ie| {
            if let Ie::SmRpMr(v) = ie {
                Some(*v)
            } else {
                None
            }
        })
    }

    /// SM-RP-DA (0x41).
    pub fn sm_rp_da(&self) -> Option<&SmRpAddress> {
        self.find(|ie| {
            if let Ie::SmRpDa(v) = ie {
                Some(v)
            } else {
                None
            }
        })
    }

    /// SM-RP-OA (0x42).
    pub fn sm_rp_oa(&self) -> Option<&SmRpAddress> {
        self.find(|ie| {
            if let Ie::SmRpOa(v) = ie {
                Some(v)
            } else {
                None
            }
        })
    }

    /// SM-RP-UI (0x43).
    pub fn sm_rp_ui(&self) -> Option<&[u8]> {
        self.find(|ie| {
            if let Ie::SmRpUi(v) = ie {
                Some(v.as_slice())
            } else {
                None
            }
        })
    }

    /// SM-RP-Cause (0x44).
    pub fn sm_rp_cause(&self) -> Option<u8> {
        self.find(|ie| {
            if let Ie::SmRpCause(v) = ie {
                Some(*v)
            } else {
                None
            }
        })
    }

    /// SM-RP-MMS (0x45).
    pub fn sm_rp_mms(&self) -> Option<u8> {
        self.find(|ie| {
            if let Ie::SmRpMms(v) = ie {
                Some(*v)
            } else {
                None
            }
        })
    }

    /// SM Alert Reason (0x46).
    pub fn sm_alert_reason(&self) -> Option<SmAlertReason> {
        self.find(|ie| {
            if let Ie::SmAlertReason(v) = ie {
                Some(*v)
            } else {
                None
            }
        })
    }

    /// IMEI (0x50).
    pub fn imei(&self) -> Option<&AddressString> {
        self.find(|ie| if let Ie::Imei(v) = ie { Some(v) } else { None })
    }

    /// IMEI Check Result (0x51).
    pub fn imei_result(&self) -> Option<ImeiResult> {
        self.find(|ie| {
            if let Ie::ImeiResult(v) = ie {
                Some(*v)
            } else {
                None
            }
        })
    }

    /// Number of vectors requested (0x52).
    pub fn num_vectors_requested(&self) -> Option<u8> {
        self.find(|ie| {
            if let Ie::NumVectorsRequested(v) = ie {
                Some(*v)
            } else {
                None
            }
        })
    }

    /// Source Name (0x60), raw (osmo sends it NUL-terminated).
    pub fn source_name(&self) -> Option<&[u8]> {
        self.find(|ie| {
            if let Ie::SourceName(v) = ie {
                Some(v.as_slice())
            } else {
                None
            }
        })
    }

    /// Destination Name (0x61), raw.
    pub fn destination_name(&self) -> Option<&[u8]> {
        self.find(|ie| {
            if let Ie::DestinationName(v) = ie {
                Some(v.as_slice())
            } else {
                None
            }
        })
    }

    /// AN-APDU (0x62).
    pub fn an_apdu(&self) -> Option<&AnApdu> {
        self.find(|ie| {
            if let Ie::AnApdu(v) = ie {
                Some(v)
            } else {
                None
            }
        })
    }

    /// RR Cause (0x63).
    pub fn cause_rr(&self) -> Option<u8> {
        self.find(|ie| {
            if let Ie::CauseRr(v) = ie {
                Some(*v)
            } else {
                None
            }
        })
    }

    /// BSSAP Cause (0x64).
    pub fn cause_bssap(&self) -> Option<u8> {
        self.find(|ie| {
            if let Ie::CauseBssap(v) = ie {
                Some(*v)
            } else {
                None
            }
        })
    }

    /// Session Management Cause (0x65).
    pub fn cause_sm(&self) -> Option<u8> {
        self.find(|ie| {
            if let Ie::CauseSm(v) = ie {
                Some(*v)
            } else {
                None
            }
        })
    }

    /// IEs kept as raw octets (unknown tags and misplaced nested tags).
    pub fn raw_ies(&self) -> impl Iterator<Item = &RawIe> {
        self.ies
            .iter()
            .filter_map(|ie| if let Ie::Raw(r) = ie { Some(r) } else { None })
    }
}

/// Enforces libosmocore's limits on repeated IEs.
fn count_limited(ie: &Ie, tuples: &mut usize, pdps: &mut usize) -> Result<(), GsupError> {
    let (count, max, iei) = match ie {
        Ie::AuthTuple(_) => (tuples, MAX_AUTH_TUPLES, Iei::AuthTuple),
        Ie::PdpInfo(_) | Ie::PdpContextId(_) => (pdps, MAX_PDP_INFOS, Iei::PdpInfo),
        _ => return Ok(()),
    };
    *count += 1;
    if *count > max {
        return Err(GsupError::TooManyIes {
            iei: iei.into(),
            max,
        });
    }
    Ok(())
}

/// Reads the message type and IMSI of a message that failed to decode, so
/// that a server can still answer it with an error (osmo-hlr only drops
/// such messages; answering is kinder to the client and safe, since only
/// requests are answered). `None` if the head itself is unreadable or the
/// message is not a request.
pub fn error_reply_for(data: &[u8], err: &GsupError) -> Option<GsupMessage> {
    let (&msg_type, rest) = data.split_first()?;
    let msg_type = MessageType::from(msg_type);
    if !msg_type.is_request() {
        return None;
    }
    let (tag, value) = TlvReader::new(rest).next()?.ok()?;
    if tag != u8::from(Iei::Imsi) {
        return None;
    }
    let imsi = Imsi::from_tbcd(value).ok()?;
    Some(GsupMessage::error(msg_type, imsi, err.cause()))
}

impl fmt::Display for GsupMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} imsi={}", self.msg_type, self.imsi)?;
        if let Some(c) = self.cause() {
            write!(f, " cause={c}")?;
        }
        let tuples = self.auth_tuples().count();
        if tuples > 0 {
            write!(f, " tuples={tuples}")?;
        }
        for ie in &self.ies {
            match ie {
                Ie::Cause(_) | Ie::AuthTuple(_) => {}
                other => write!(f, " {}", Iei::from(other.iei()))?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imsi() -> Imsi {
        Imsi::new("123456789012345").unwrap()
    }

    #[test]
    fn message_type_bits() {
        let t = MessageType::SendAuthInfoRequest;
        assert!(t.is_request());
        assert_eq!(t.to_error(), MessageType::SendAuthInfoError);
        assert_eq!(t.to_result(), MessageType::SendAuthInfoResult);
        assert_eq!(
            MessageType::PurgeMsResult.to_request(),
            MessageType::PurgeMsRequest
        );
        assert!(MessageType::UpdateLocationError.is_error());
        assert!(MessageType::UpdateLocationResult.is_result());
        assert_eq!(MessageType::from(0x7c), MessageType::Unknown(0x7c));
        assert_eq!(MessageType::from(0x7c).to_string(), "0x7c");
        assert_eq!(
            MessageType::CheckImeiRequest.to_string(),
            "CHECK_IMEI_REQUEST"
        );
    }

    #[test]
    fn error_constructor() {
        let m = GsupMessage::error(MessageType::SendAuthInfoRequest, imsi(), Cause::ImsiUnknown);
        assert_eq!(
            m.to_vec().unwrap(),
            hex::decode("09010821436587092143f5020102").unwrap()
        );
        assert_eq!(m.cause(), Some(Cause::ImsiUnknown));
        m.validate().unwrap();
    }

    #[test]
    fn decode_errors() {
        assert_eq!(GsupMessage::decode(&[]), Err(GsupError::Empty));
        assert_eq!(GsupMessage::decode(&[0x08]), Err(GsupError::MissingImsi));
        assert_eq!(
            GsupMessage::decode(&[0x08, 0x02, 0x01, 0x02]),
            Err(GsupError::MissingImsi)
        );
        assert_eq!(
            GsupMessage::decode(&[0x08, 0x01, 0x02, 0x21]),
            Err(GsupError::MissingImsi)
        );
        assert_eq!(
            GsupMessage::decode(&[0x08, 0x01, 0x01, 0x2a]),
            Err(GsupError::InvalidImsi)
        );
        assert_eq!(
            GsupMessage::decode(&[0x08, 0x01, 0x01, 0x21, 0x02]),
            Err(GsupError::Truncated { iei: 0x02 })
        );
        assert_eq!(GsupError::Empty.cause(), Cause::InvalidMandatoryInfo);
        assert_eq!(
            GsupError::Truncated { iei: 2 }.cause(),
            Cause::ProtocolErrorUnspecified
        );
        assert_eq!(
            GsupError::BadIeLength { iei: 0x26, len: 3 }.cause(),
            Cause::ConditionalIeError
        );
        assert_eq!(
            GsupError::TooManyIes { iei: 3, max: 5 }.cause(),
            Cause::InvalidMandatoryInfo
        );
        assert_eq!(
            GsupError::TooManyIes { iei: 5, max: 10 }.cause(),
            Cause::ConditionalIeError
        );
    }

    #[test]
    fn too_many_tuples() {
        let t = AuthTuple::gsm([1; 16], [2; 4], [3; 8]);
        let m = GsupMessage::send_auth_info_result(imsi(), vec![t; 6]);
        let mut out = vec![0xaa];
        assert_eq!(
            m.encode(&mut out),
            Err(GsupError::TooManyIes { iei: 3, max: 5 })
        );
        assert_eq!(out, [0xaa], "failed encode leaves the buffer as it was");
        let five =
            GsupMessage::send_auth_info_result(imsi(), m.auth_tuples().take(5).cloned().collect());
        let mut bytes = five.to_vec().unwrap();
        // Append a sixth tuple by hand: the decoder refuses it.
        let extra = bytes[11..11 + 36].to_vec();
        bytes.extend_from_slice(&extra);
        assert_eq!(
            GsupMessage::decode(&bytes),
            Err(GsupError::TooManyIes { iei: 3, max: 5 })
        );
    }

    #[test]
    fn builder_orders_like_libosmocore() {
        let m = GsupMessage::new(MessageType::SendAuthInfoRequest, imsi())
            .with(Ie::MessageClass(MessageClass::SubscriberManagement))
            .with(Ie::Rand([0; 16]))
            .with(Ie::NumVectorsRequested(2))
            .with(Ie::Auts([0; 14]));
        let tags: Vec<u8> = m.ies.iter().map(Ie::iei).collect();
        assert_eq!(tags, [0x52, 0x26, 0x20, 0x0a]);
        m.validate().unwrap();
        let half = GsupMessage::send_auth_info_request(imsi()).with(Ie::Rand([0; 16]));
        assert!(half.validate().is_err());
    }

    #[test]
    fn response_copies_routing_fields() {
        let req = GsupMessage::new(MessageType::ProcSsRequest, imsi())
            .with(Ie::SessionId(0xdead_beef))
            .with(Ie::SessionState(SessionState::Begin))
            .with(Ie::MessageClass(MessageClass::Ussd))
            .with(Ie::SourceName(b"MSC-1\0".to_vec()));
        let res = req.response(false, false);
        assert_eq!(res.msg_type, MessageType::ProcSsResult);
        assert_eq!(res.session_id(), Some(0xdead_beef));
        assert_eq!(res.session_state(), Some(SessionState::Continue));
        assert_eq!(res.message_class(), Some(MessageClass::Ussd));
        assert_eq!(res.destination_name(), Some(&b"MSC-1\0"[..]));
        let err = req.error_response(Cause::NetworkFailure).unwrap();
        assert_eq!(err.msg_type, MessageType::ProcSsError);
        assert_eq!(err.session_state(), Some(SessionState::End));
        err.validate().unwrap();
        assert!(res.error_response(Cause::NetworkFailure).is_none());
    }

    #[test]
    fn error_reply_for_bad_request() {
        let data = hex::decode("08010821436587092143f5260301").unwrap();
        let err = GsupMessage::decode(&data).unwrap_err();
        let reply = error_reply_for(&data, &err).unwrap();
        assert_eq!(reply.msg_type, MessageType::SendAuthInfoError);
        assert_eq!(reply.cause(), Some(Cause::ProtocolErrorUnspecified));
        // Not answered: results, unreadable heads.
        assert!(error_reply_for(&[0x0a, 0x01, 0x01, 0x21], &err).is_none());
        assert!(error_reply_for(&[0x08], &err).is_none());
    }

    #[test]
    fn display() {
        let m = GsupMessage::error(
            MessageType::UpdateLocationRequest,
            imsi(),
            Cause::NetworkFailure,
        )
        .with(Ie::CnDomain(CnDomain::Cs));
        assert_eq!(
            m.to_string(),
            "UPDATE_LOCATION_ERROR imsi=123456789012345 cause=Network failure CN Domain"
        );
    }
}
