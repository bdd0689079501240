//! Exit codes that mean something to a script.

use std::process::ExitCode;

/// Bad arguments or configuration.
pub fn usage() -> ExitCode {
    ExitCode::from(2)
}

/// The peer answered with a protocol-level refusal (a GSUP error cause).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProtocolRefusal(pub String);

/// A usage error found after argument parsing (e.g. a hex string of the wrong length).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Map an error to its exit code: 5 when the home agent's key is not the
/// pinned one, 4 for a failed authentication (the SIM and the network
/// disagree), 3 for a protocol refusal, 2 for usage, 1 otherwise.
pub fn code_for(err: &anyhow::Error) -> ExitCode {
    if err
        .downcast_ref::<crate::mn_cmd::bootstrap::HaKeyChanged>()
        .is_some()
    {
        ExitCode::from(5)
    } else if err
        .downcast_ref::<crate::mn_cmd::bootstrap::AuthenticationFailed>()
        .is_some()
    {
        ExitCode::from(4)
    } else if err.downcast_ref::<ProtocolRefusal>().is_some() {
        ExitCode::from(3)
    } else if err.downcast_ref::<UsageError>().is_some() {
        usage()
    } else {
        ExitCode::from(1)
    }
}
