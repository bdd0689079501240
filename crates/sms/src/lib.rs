//! SMS for key delivery, without I/O.
//!
//! A Mobile IP key travels from the home agent to an SMS centre over SMPP,
//! then to the mobile node's modem as an SMS-DELIVER, which the node reads
//! with TS 27.005 AT commands. This crate holds the pure codecs and the
//! modem state machine for that path:
//!
//! * [`address`]: TP-OA / TP-DA address fields and the PDU-mode SMSC prefix
//!   (TS 23.040 §9.1.2.5, TS 27.005 §3.1).
//! * [`gsm7`]: the GSM 7-bit default alphabet, its extension table and
//!   septet packing (TS 23.038 §6.1.2.1, §6.2.1).
//! * [`dcs`]: TP-DCS, the data coding scheme (TS 23.038 §4).
//! * [`udh`]: the user data header and its information elements
//!   (TS 23.040 §9.2.3.24).
//! * [`tpdu`]: SMS-SUBMIT, SMS-DELIVER and SMS-STATUS-REPORT
//!   (TS 23.040 §9.2.2).
//! * [`concat`](mod@concat): splitting a long binary payload into concatenated
//!   segments and a bounded reassembler.
//! * [`at`]: TS 27.005 command builder and modem output line parser.
//! * [`modem`]: [`ModemSession`], a sans-IO modem driver: octets and
//!   instants in, octets and events out.
//!
//! Decoders never panic on input and allocate no more than the input
//! length; code points this crate has no name for are kept as data.

#![forbid(unsafe_code)]

pub mod address;
pub mod at;
pub mod concat;
pub mod dcs;
pub mod error;
pub mod gsm7;
pub mod modem;
pub mod tpdu;
pub mod udh;

pub use address::{Address, NumberingPlan, SmscAddress, TypeOfNumber};
pub use at::{AtCommand, AtLine, ErrorReport, LineParser, PduSource};
pub use concat::{Reassembled, Reassembler, ReassemblerConfig, split_binary};
pub use dcs::{Alphabet, Dcs, MessageClass};
pub use error::SmsError;
pub use modem::{ModemConfig, ModemError, ModemEvent, ModemSession, SendId};
pub use tpdu::{
    MtTpdu, SmsDeliver, SmsStatusReport, SmsSubmit, Timestamp, UserData, ValidityPeriod,
};
pub use udh::{InformationElement, UserDataHeader};
