//! What the foreign agent reports for each input: the reason behind a
//! denial code (RFC 5944 §3.7.2, §3.7.3; RFC 2794; RFC 3024), the log
//! record, and the visitor list change the driver acts on.

use core::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};

use super::visitor::Visitor;
use crate::code::ReplyCode;
use crate::error::Error;
use crate::mn::Transmit;

/// The kind of ICMP error a relayed request drew (RFC 5944 §3.4,
/// codes 80..=88).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    /// ICMP network unreachable: code 80.
    Network,
    /// ICMP host unreachable: code 81.
    Host,
    /// ICMP port unreachable: code 82.
    Port,
    /// Any other ICMP error: code 88.
    Other,
}

/// Why the foreign agent refused or dropped something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FaDenial {
    /// Not a Registration Request (too short or another type): dropped.
    #[error("not a registration request: {0}")]
    NotARequest(Error),
    /// Not a Registration Reply: dropped.
    #[error("not a registration reply: {0}")]
    NotAReply(Error),
    /// A reply matching no pending request: dropped (§3.7.3.1).
    #[error("reply matches no pending request")]
    NoPendingRequest,
    /// The request's extensions do not parse, or one is non-skippable and
    /// unknown (§1.9): 70.
    #[error("poorly formed request: {0}")]
    PoorlyFormedRequest(Error),
    /// Home address 0.0.0.0: this agent keeps visitors by home address and
    /// does not take part in RFC 2794 address assignment: 96.
    #[error("non-zero home address required")]
    HomeAddressRequired,
    /// Home Agent field 0.0.0.0 or broadcast: nowhere to relay (RFC 2794
    /// §3): 98.
    #[error("missing home agent")]
    MissingHomeAgent,
    /// Policy refuses this home address: 65.
    #[error("home address {0} administratively prohibited")]
    AdministrativelyProhibited(Ipv4Addr),
    /// MN-FA authentication missing or wrong (§3.7.2.1): 67.
    #[error("mobile node failed authentication: {0}")]
    MobileNodeAuthentication(Error),
    /// FA-HA authentication of the home agent's reply missing or wrong
    /// (§3.7.3.1): 68 to the mobile node.
    #[error("home agent failed authentication: {0}")]
    HomeAgentAuthentication(Error),
    /// Lifetime above this agent's maximum: 69, the reply carrying the
    /// maximum (§3.7.2.2).
    #[error("requested lifetime {requested} above maximum {max}")]
    LifetimeTooLong {
        /// Asked for.
        requested: u16,
        /// Allowed.
        max: u16,
    },
    /// The home agent's reply does not parse (§3.7.3.1): 71.
    #[error("poorly formed reply: {0}")]
    PoorlyFormedReply(Error),
    /// G or M encapsulation not offered: 72.
    #[error("requested encapsulation unavailable")]
    EncapsulationUnavailable,
    /// T flag but reverse tunnelling is not offered (RFC 3024 §5): 74.
    #[error("reverse tunnel unavailable")]
    ReverseTunnelUnavailable,
    /// Reverse tunnelling mandatory and T not set (RFC 3024 §5): 75.
    #[error("reverse tunnel mandatory and T not set")]
    ReverseTunnelMandatory,
    /// Care-of address not one of ours and D not set: 77.
    #[error("invalid care-of address {0}")]
    InvalidCareOfAddress(Ipv4Addr),
    /// Pending list full: 66.
    #[error("too many pending registrations (max {0})")]
    TooManyPending(usize),
    /// Visitor list full: 66.
    #[error("too many visitors (max {0})")]
    TooManyVisitors(usize),
    /// The home agent did not answer in time: 78.
    #[error("registration timeout")]
    RegistrationTimeout,
    /// The relayed request drew an ICMP error: 80, 81, 82 or 88.
    #[error("home agent unreachable ({0:?})")]
    HomeAgentUnreachable(Unreachable),
}

impl FaDenial {
    /// The code the mobile node is told; `None` when dropped silently.
    pub fn reply_code(&self) -> Option<ReplyCode> {
        use ReplyCode as C;
        Some(match self {
            FaDenial::NotARequest(_) | FaDenial::NotAReply(_) | FaDenial::NoPendingRequest => {
                return None;
            }
            FaDenial::PoorlyFormedRequest(_) => C::FaPoorlyFormedRequest,
            FaDenial::HomeAddressRequired => C::FaNonZeroHomeAddressRequired,
            FaDenial::MissingHomeAgent => C::FaMissingHomeAgent,
            FaDenial::AdministrativelyProhibited(_) => C::FaAdministrativelyProhibited,
            FaDenial::MobileNodeAuthentication(_) => C::FaMobileNodeFailedAuthentication,
            FaDenial::HomeAgentAuthentication(_) => C::FaHomeAgentFailedAuthentication,
            FaDenial::LifetimeTooLong { .. } => C::FaLifetimeTooLong,
            FaDenial::PoorlyFormedReply(_) => C::FaPoorlyFormedReply,
            FaDenial::EncapsulationUnavailable => C::FaEncapsulationUnavailable,
            FaDenial::ReverseTunnelUnavailable => C::FaReverseTunnelUnavailable,
            FaDenial::ReverseTunnelMandatory => C::FaReverseTunnelMandatory,
            FaDenial::InvalidCareOfAddress(_) => C::FaInvalidCareOfAddress,
            FaDenial::TooManyPending(_) | FaDenial::TooManyVisitors(_) => {
                C::FaInsufficientResources
            }
            FaDenial::RegistrationTimeout => C::FaRegistrationTimeout,
            FaDenial::HomeAgentUnreachable(u) => match u {
                Unreachable::Network => C::FaHomeNetworkUnreachable,
                Unreachable::Host => C::FaHomeAgentHostUnreachable,
                Unreachable::Port => C::FaHomeAgentPortUnreachable,
                Unreachable::Other => C::FaHomeAgentUnreachable,
            },
        })
    }
}

/// What became of an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A visitor's request was relayed to its home agent.
    RequestRelayed {
        /// The home agent.
        home_agent: Ipv4Addr,
    },
    /// A home agent's reply was relayed to the visitor.
    ReplyRelayed {
        /// Its code.
        code: ReplyCode,
    },
    /// Refused; the visitor gets a reply with the denial's code.
    Denied(FaDenial),
    /// Dropped without a reply.
    Dropped(FaDenial),
    /// A visitor's registration lapsed.
    VisitorExpired,
}

/// The log record of one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Where the message came from (for timeouts: the visitor).
    pub source: SocketAddrV4,
    /// Home address, when known.
    pub home_address: Option<Ipv4Addr>,
    /// Home agent, when known.
    pub home_agent: Option<Ipv4Addr>,
    /// Identification, when known.
    pub identification: Option<u64>,
    /// The outcome.
    pub verdict: Verdict,
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FA: from {}", self.source)?;
        if let Some(h) = self.home_address {
            write!(f, " home={h}")?;
        }
        if let Some(h) = self.home_agent {
            write!(f, " ha={h}")?;
        }
        if let Some(i) = self.identification {
            write!(f, " id={i:#018x}")?;
        }
        match &self.verdict {
            Verdict::RequestRelayed { home_agent } => {
                write!(f, ": request relayed to {home_agent}")
            }
            Verdict::ReplyRelayed { code } => write!(f, ": reply {} relayed", u8::from(*code)),
            Verdict::Denied(d) => {
                write!(f, ": denied ({}) {d}", d.reply_code().map_or(0, u8::from))
            }
            Verdict::Dropped(d) => write!(f, ": dropped, {d}"),
            Verdict::VisitorExpired => f.write_str(": visitor registration expired"),
        }
    }
}

/// A change of the visitor list (RFC 5944 §3.7.1); the driver installs or
/// removes the delivery route and the reverse tunnel from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitorChange {
    /// A new visitor.
    Added(Visitor),
    /// An existing visitor re-registered (possibly from a new link source).
    Refreshed(Visitor),
    /// Deregistered through this agent.
    Removed(Visitor),
    /// Its lifetime ran out.
    Expired(Visitor),
}

/// The result of one input to the [`super::ForeignAgent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaOutcome {
    /// A datagram to send: the relayed request (to the home agent), the
    /// relayed reply or a denial (to the visitor).
    pub transmit: Option<Transmit>,
    /// What to log.
    pub record: Record,
    /// Visitor list change, if any.
    pub change: Option<VisitorChange>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let c = |d: FaDenial| d.reply_code().map(u8::from);
        assert_eq!(c(FaDenial::NoPendingRequest), None);
        assert_eq!(
            c(FaDenial::AdministrativelyProhibited(Ipv4Addr::UNSPECIFIED)),
            Some(65)
        );
        assert_eq!(c(FaDenial::TooManyPending(1)), Some(66));
        assert_eq!(c(FaDenial::TooManyVisitors(1)), Some(66));
        assert_eq!(
            c(FaDenial::MobileNodeAuthentication(Error::BadAuthenticator)),
            Some(67)
        );
        assert_eq!(
            c(FaDenial::HomeAgentAuthentication(Error::BadAuthenticator)),
            Some(68)
        );
        assert_eq!(
            c(FaDenial::LifetimeTooLong {
                requested: 2,
                max: 1
            }),
            Some(69)
        );
        assert_eq!(c(FaDenial::PoorlyFormedRequest(Error::Truncated)), Some(70));
        assert_eq!(c(FaDenial::PoorlyFormedReply(Error::Truncated)), Some(71));
        assert_eq!(c(FaDenial::EncapsulationUnavailable), Some(72));
        assert_eq!(c(FaDenial::ReverseTunnelUnavailable), Some(74));
        assert_eq!(c(FaDenial::ReverseTunnelMandatory), Some(75));
        assert_eq!(
            c(FaDenial::InvalidCareOfAddress(Ipv4Addr::UNSPECIFIED)),
            Some(77)
        );
        assert_eq!(c(FaDenial::RegistrationTimeout), Some(78));
        assert_eq!(
            c(FaDenial::HomeAgentUnreachable(Unreachable::Network)),
            Some(80)
        );
        assert_eq!(
            c(FaDenial::HomeAgentUnreachable(Unreachable::Host)),
            Some(81)
        );
        assert_eq!(
            c(FaDenial::HomeAgentUnreachable(Unreachable::Port)),
            Some(82)
        );
        assert_eq!(
            c(FaDenial::HomeAgentUnreachable(Unreachable::Other)),
            Some(88)
        );
        assert_eq!(c(FaDenial::HomeAddressRequired), Some(96));
        assert_eq!(c(FaDenial::MissingHomeAgent), Some(98));
    }
}
