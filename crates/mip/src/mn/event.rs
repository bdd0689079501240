//! What the mobile node hands back: datagrams to send, events for the
//! application, log records, and why an input was ignored.

use core::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};

use super::state::Location;
use crate::code::ReplyCode;
use crate::error::Error;

/// A UDP datagram for the driver to send (the agents use the same type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// IP source address to send from.
    pub src: Ipv4Addr,
    /// Destination address and port (434 for registration, RFC 5944 §3.1).
    pub dst: SocketAddrV4,
    /// The UDP payload.
    pub payload: Vec<u8>,
}

/// How the home agent tunnels to the care-of address, as the reply said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelMode {
    /// IP in IP (or the G/M encapsulation asked for) straight to the
    /// care-of address.
    Plain,
    /// UDP encapsulation (RFC 3519): the reply carried an accepting UDP
    /// Tunnel Reply; the node sends keep-alives at this interval, seconds.
    Udp {
        /// Keep-alive interval from the UDP Tunnel Reply.
        keepalive_secs: u16,
    },
}

/// Something the application should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The home agent accepted (or renewed) a registration.
    Registered {
        /// The care-of address bound.
        coa: Ipv4Addr,
        /// Lifetime in force, seconds (the smaller of asked and granted).
        lifetime: u16,
        /// Reply code (0, or 1 when S was not honoured).
        code: ReplyCode,
        /// The tunnel the home agent will use.
        tunnel: TunnelMode,
    },
    /// The home agent removed the bindings after the node came home.
    Deregistered,
    /// An agent refused the request (a denial other than 133, which the
    /// node handles itself).
    Refused {
        /// The reply code.
        code: ReplyCode,
        /// Its meaning (RFC 5944 §3.4 wording).
        reason: String,
    },
    /// Movement detection changed the location (RFC 5944 §2.4.2).
    Moved {
        /// Previous location.
        from: Location,
        /// New location.
        to: Location,
    },
    /// A registration is needed but no MN-HA association is installed:
    /// the key service should send one (then `install_sa`).
    KeyNeeded,
    /// No valid reply came after the configured number of attempts. The
    /// node stays unregistered until it moves, gets a key, or the
    /// application calls [`super::MobileNode::reregister`].
    RegistrationTimedOut {
        /// Whether it was a deregistration.
        deregistration: bool,
    },
}

/// Why an input was ignored (RFC 5944 §3.6.2.1: invalid replies are
/// discarded silently; here they are also logged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Ignored {
    /// Not a Registration Reply (too short or another type).
    #[error("not a registration reply: {0}")]
    NotAReply(Error),
    /// The reply's extensions do not parse, or carry a non-skippable one
    /// we do not know (§1.9).
    #[error("malformed reply: {0}")]
    Malformed(Error),
    /// No request is in flight.
    #[error("no request outstanding")]
    NoRequestOutstanding,
    /// The reply names another home address.
    #[error("reply for home address {0}")]
    OtherHomeAddress(Ipv4Addr),
    /// The low 32 bits of the Identification match no request in flight
    /// (§3.6.2.1), or a timestamp accept does not echo it whole (§5.7.1).
    #[error("identification {0:#018x} matches no request in flight")]
    IdentificationMismatch(u64),
    /// The reply came from another address than the request went to.
    #[error("reply from {0}, request went to {1}")]
    WrongSource(Ipv4Addr, Ipv4Addr),
    /// A foreign-agent code (64..=127) where no foreign agent is involved.
    #[error("foreign agent code {0} without a foreign agent")]
    UnexpectedForeignAgentCode(u8),
    /// MN-HA (or MN-FA) authentication missing or wrong (§3.6.2.1); the
    /// code is the unauthenticated claim.
    #[error("reply with code {code} failed authentication: {error}")]
    Unauthenticated {
        /// Code the reply claimed.
        code: u8,
        /// Why it failed.
        error: Error,
    },
    /// An ICMP message that is not a valid Router Advertisement.
    #[error("bad agent advertisement: {0}")]
    BadAdvertisement(Error),
    /// A Router Advertisement without the Mobility Agent extension.
    #[error("router advertisement without mobility agent extension")]
    NotAMobilityAgent,
    /// An agent advertisement from outside the home network without the
    /// F flag: a home agent of some other network, no use to us.
    #[error("agent offers no foreign agent service")]
    NotAForeignAgent,
}

/// Why a registration request was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// First registration at this location.
    Register,
    /// Re-registration before the lifetime ends.
    Renew,
    /// Deregistration from home (§3.6.1.2).
    Deregister,
}

/// One log record of the mobile node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// When, Unix ms.
    pub at_ms: u64,
    /// What happened.
    pub what: Note,
}

/// What a [`Record`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A Registration Request was sent.
    Sent {
        /// Why.
        kind: RequestKind,
        /// Attempt number for this registration (1 = first).
        attempt: u32,
        /// Destination.
        dst: SocketAddrV4,
        /// Care-of address in the request.
        coa: Ipv4Addr,
        /// Identification.
        identification: u64,
        /// Requested lifetime.
        lifetime: u16,
    },
    /// A valid reply was received.
    Reply {
        /// Sender.
        from: SocketAddrV4,
        /// Code.
        code: ReplyCode,
        /// Lifetime field.
        lifetime: u16,
    },
    /// Code 133: the Identification was resynchronised (§5.7) and the
    /// request resent.
    Resynchronised {
        /// Identification the home agent returned.
        reply_identification: u64,
    },
    /// Code 69: the request is resent with the lifetime the foreign agent
    /// allows (§3.7.2.2 puts it in the reply).
    LifetimeLowered {
        /// The new lifetime asked for.
        lifetime: u16,
    },
    /// An input was ignored.
    Ignored {
        /// Its source.
        from: Ipv4Addr,
        /// Why.
        reason: Ignored,
    },
    /// The current agent's sequence number fell below 256: it rebooted
    /// and lost its visitor list, so the node registers again (§2.4.4).
    AgentRebooted {
        /// The agent.
        agent: Ipv4Addr,
        /// Sequence number before.
        previous: u16,
        /// Sequence number now.
        sequence: u16,
    },
    /// The current agent's advertisement lapsed (§2.4.2, method 1).
    AgentLost {
        /// The agent.
        agent: Ipv4Addr,
    },
    /// A foreign agent on another network prefix was heard while the
    /// current one is still valid (§2.4.2, method 2).
    PrefixChanged {
        /// The current agent.
        agent: Ipv4Addr,
        /// The newly heard one.
        new_agent: Ipv4Addr,
    },
    /// An Agent Solicitation was queued (§2.4.1).
    Solicited,
    /// The registration was given up after `attempts` requests.
    GaveUp {
        /// Requests sent.
        attempts: u32,
    },
    /// A request could not be encoded (cannot happen with a configuration
    /// [`super::MobileNode::new`] accepted; logged rather than panicking).
    Unsendable {
        /// The encoder's error.
        error: Error,
    },
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] ", self.at_ms)?;
        match &self.what {
            Note::Sent {
                kind,
                attempt,
                dst,
                coa,
                identification,
                lifetime,
            } => write!(
                f,
                "RRQ {kind:?} #{attempt} to {dst} coa={coa} id={identification:#018x} life={lifetime}"
            ),
            Note::Reply {
                from,
                code,
                lifetime,
            } => write!(
                f,
                "RRP from {from}: {} ({code}) life={lifetime}",
                u8::from(*code)
            ),
            Note::Resynchronised {
                reply_identification,
            } => write!(
                f,
                "identification resynchronised from {reply_identification:#018x}"
            ),
            Note::LifetimeLowered { lifetime } => {
                write!(f, "lifetime too long, asking for {lifetime}")
            }
            Note::Ignored { from, reason } => write!(f, "ignored message from {from}: {reason}"),
            Note::AgentRebooted {
                agent,
                previous,
                sequence,
            } => write!(
                f,
                "agent {agent} rebooted (sequence {previous} -> {sequence}), registering again"
            ),
            Note::AgentLost { agent } => write!(f, "advertisement of agent {agent} lapsed"),
            Note::PrefixChanged { agent, new_agent } => write!(
                f,
                "agent {new_agent} advertises another prefix than {agent}: moved"
            ),
            Note::Solicited => f.write_str("agent solicitation queued"),
            Note::GaveUp { attempts } => write!(f, "no valid reply after {attempts} requests"),
            Note::Unsendable { error } => write!(f, "request not encodable: {error}"),
        }
    }
}
