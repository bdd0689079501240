//! The crate's error type: misuse of a session by its driver, or a value
//! that cannot be put on the wire. What a peer did wrong is not an error
//! here but an answer: a `command_status` (SMPP 3.4 §5.1.3) or a
//! `+CMS ERROR` code (TS 27.005 §3.2.5).

use rusmpp::CommandStatus;

/// Why a session or the SMS centre refused a request from its driver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmppError {
    /// The session is not bound in a mode that allows the operation
    /// (SMPP 3.4 §2.3: submit_sm needs a transmitter or transceiver bind,
    /// deliver_sm a receiver or transceiver bind).
    #[error("not bound for this operation")]
    NotBound,
    /// The session is closed (unbound, timed out or lost framing).
    #[error("session closed")]
    Closed,
    /// The window of outstanding requests and the backlog behind it are full.
    #[error("too many outstanding requests")]
    WindowFull,
    /// A value does not fit its SMPP field (SMPP 3.4 §5.2).
    #[error("{field}: {reason}")]
    Field {
        /// The SMPP parameter name.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The SMS centre refused a request with this command_status.
    #[error("refused with {0:?}")]
    Refused(CommandStatus),
    /// A virtual modem already has a delivery in hand.
    #[error("modem busy")]
    ModemBusy,
}
