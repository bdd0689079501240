//! What the home agent reports for each request: the reply code's reason,
//! the log record, and the binding change the driver acts on.

use core::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};

use super::binding::Binding;
use crate::code::ReplyCode;
use crate::error::Error;

/// Why a request was refused or dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Denial {
    /// Not a Registration Request (too short or another type): dropped.
    #[error("not a registration request: {0}")]
    NotARequest(Error),
    /// The extensions do not parse (134).
    #[error("poorly formed request: {0}")]
    Malformed(Error),
    /// A non-skippable extension we do not interpret (134, §1.9).
    #[error("unrecognized non-skippable extension {0}")]
    UnrecognizedExtension(u8),
    /// The Home Agent field is not one of our addresses (136).
    #[error("unknown home agent address {0}")]
    UnknownHomeAgent(Ipv4Addr),
    /// MN-HA authentication failed (131).
    #[error("mobile node failed authentication: {0}")]
    Authentication(Error),
    /// The request came from a foreign agent we share an FA-HA
    /// association with, and its FA-HA authentication extension is
    /// missing, names an unknown SPI, does not verify, or does not follow
    /// the MN-HA one (132, RFC 5944 §3.8.2.1, §3.5.4).
    #[error("foreign agent failed authentication: {0}")]
    ForeignAgentAuthentication(Error),
    /// The home address is not one we serve, or 0.0.0.0 (129).
    #[error("home address {0} not served")]
    HomeAddressNotServed(Ipv4Addr),
    /// The Identification is a replay or out of the window (133).
    #[error("identification {0:#018x} replayed or out of window")]
    Replay(u64),
    /// G or M encapsulation, or the one asked for inside UDP, is not
    /// offered (139).
    #[error("requested encapsulation unavailable")]
    EncapsulationUnavailable,
    /// T flag set but reverse tunnelling is off (137).
    #[error("reverse tunnel unavailable")]
    ReverseTunnelUnavailable,
    /// UDP Tunnel Request while UDP tunnelling is off (142).
    #[error("UDP tunnelling not offered")]
    UdpTunnellingRefused,
    /// A further simultaneous binding beyond the maximum (135).
    #[error("too many simultaneous bindings (max {0})")]
    TooManyBindings(usize),
}

impl Denial {
    /// The reply code for this denial; `None` when the request is dropped.
    pub fn reply_code(&self) -> Option<ReplyCode> {
        use ReplyCode as C;
        Some(match self {
            Denial::NotARequest(_) => return None,
            Denial::Malformed(_) | Denial::UnrecognizedExtension(_) => C::HaPoorlyFormedRequest,
            Denial::UnknownHomeAgent(_) => C::HaUnknownHomeAgentAddress,
            Denial::Authentication(_) => C::HaMobileNodeFailedAuthentication,
            Denial::ForeignAgentAuthentication(_) => C::HaForeignAgentFailedAuthentication,
            Denial::HomeAddressNotServed(_) => C::HaAdministrativelyProhibited,
            Denial::Replay(_) => C::HaIdentificationMismatch,
            Denial::EncapsulationUnavailable => C::HaEncapsulationUnavailable,
            Denial::ReverseTunnelUnavailable => C::HaReverseTunnelUnavailable,
            Denial::UdpTunnellingRefused => C::HaUdpEncapsulationUnavailable,
            Denial::TooManyBindings(_) => C::HaTooManyBindings,
        })
    }
}

/// What became of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Accepted with `code` (0 or 1) and the granted lifetime.
    Accepted {
        /// Reply code sent.
        code: ReplyCode,
        /// Lifetime granted, seconds (0 for a deregistration).
        lifetime: u16,
    },
    /// Refused; a reply with the denial's code was produced.
    Denied(Denial),
    /// Dropped without a reply.
    Dropped(Denial),
}

/// The log record of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Where the request came from.
    pub source: SocketAddrV4,
    /// Home address, if the fixed part was present.
    pub home_address: Option<Ipv4Addr>,
    /// Care-of address, if the fixed part was present.
    pub care_of_address: Option<Ipv4Addr>,
    /// Identification, if the fixed part was present.
    pub identification: Option<u64>,
    /// The outcome.
    pub verdict: Verdict,
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RRQ from {}", self.source)?;
        if let (Some(h), Some(c), Some(i)) =
            (self.home_address, self.care_of_address, self.identification)
        {
            write!(f, " home={h} coa={c} id={i:#018x}")?;
        }
        match &self.verdict {
            Verdict::Accepted { code, lifetime } => {
                write!(f, ": accepted ({}) lifetime={lifetime}", u8::from(*code))
            }
            Verdict::Denied(d) => {
                let code = d.reply_code().map_or(0, u8::from);
                write!(f, ": denied ({code}) {d}")
            }
            Verdict::Dropped(d) => write!(f, ": dropped, {d}"),
        }
    }
}

/// The bindings of one home address before and after a request; the
/// driver installs and removes tunnels from the difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingChange {
    /// The home address.
    pub home_address: Ipv4Addr,
    /// Its bindings before.
    pub before: Vec<Binding>,
    /// Its bindings after.
    pub after: Vec<Binding>,
}

/// The result of [`handle_request`](super::HomeAgent::handle_request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Registration Reply to send to the request's source, if any.
    pub reply: Option<Vec<u8>>,
    /// What to log.
    pub record: Record,
    /// The binding change, only for an accepted request that changed the
    /// list (the driver then writes a new snapshot).
    pub change: Option<BindingChange>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denial_codes() {
        assert_eq!(Denial::NotARequest(Error::Truncated).reply_code(), None);
        assert_eq!(
            Denial::TooManyBindings(2).reply_code().map(u8::from),
            Some(135)
        );
        assert_eq!(
            Denial::UdpTunnellingRefused.reply_code().map(u8::from),
            Some(142)
        );
        assert_eq!(
            Denial::ForeignAgentAuthentication(Error::BadAuthenticator)
                .reply_code()
                .map(u8::from),
            Some(132)
        );
    }
}
