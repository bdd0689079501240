//! SMPP 3.4 and the SMS centre of telsec's key-delivery path, without I/O.
//!
//! A home agent sends a mobile node its MN-HA key by SMS: it submits over
//! SMPP (as an ESME) to telsec's SMS centre, which delivers the message as
//! a TS 23.040 SMS-DELIVER to the node's modem; the node reads it with TS
//! 27.005 AT commands from a "virtual modem" the centre serves. Messages
//! the node sends travel back as deliver_sm. The PDU codec is `rusmpp`;
//! the TPDU codec is `telsec-sms`. This crate holds the session logic:
//!
//! * [`pdu`]: framing a byte stream into PDUs; which command_status answers
//!   an undecodable one (generic_nack and friends).
//! * [`esme`]: [`EsmeSession`], the client side (bind, submit_sm window,
//!   deliver_sm, enquire_link, unbind).
//! * [`smsc_session`]: [`SmscSession`], the server side of one ESME
//!   connection (bind checks, submit_sm checks, deliver_sm window).
//! * [`submission`]: checking a submit_sm field by field.
//! * [`convert`]: submit_sm to SMS-DELIVER, SMS-SUBMIT to deliver_sm.
//! * [`receipt`]: SMSC delivery receipts (SMPP 3.4 Appendix B).
//! * [`centre`]: [`Centre`], subscribers, store-and-forward queues,
//!   retries, validity, routing.
//! * [`vmodem`]: [`VirtualModem`], the network side of a TS 27.005 modem.
//! * [`time`]: the clock passed in, SMPP time strings, TP-SCTS.
//!
//! Every state machine takes `now` from its caller, returns octets with
//! `poll_transmit`, events with `poll_event` and its next deadline with
//! `poll_timeout`; decoders never panic and bound what they buffer.

#![forbid(unsafe_code)]

pub mod centre;
pub mod convert;
pub mod error;
pub mod esme;
pub mod pdu;
pub mod receipt;
pub mod smsc_session;
pub mod submission;
pub mod time;
pub mod vmodem;

pub use centre::{Binding, Centre, CentreConfig, DeliveryId, EsmeId, Outcome, Output, Route};
pub use error::SmppError;
pub use esme::{EsmeCloseReason, EsmeConfig, EsmeEvent, EsmeSession, RequestId, SubmitFailure};
pub use rusmpp;
pub use smsc_session::{Account, BindMode, CloseReason, SmscEvent, SmscSession, SmscSessionConfig};
pub use submission::Submission;
pub use time::Now;
pub use vmodem::{VirtualModem, VmodemConfig, VmodemEvent};
