//! The gateway's counters: updated by the driver task, read from
//! [`super::RunningGw::stats`] at any time (relaxed atomics: each counter
//! is exact, a snapshot is not one instant).

use std::sync::atomic::{AtomicU64, Ordering};

use telsec_vpn::GatewayError;

macro_rules! counters {
    ($( $(#[$doc:meta])* $name:ident ),* $(,)?) => {
        /// A snapshot of the gateway's counters since start.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct GwStats {
            $( $(#[$doc])* pub $name: u64, )*
        }

        /// The live counters.
        #[derive(Debug, Default)]
        pub(super) struct Counters {
            $( pub(super) $name: AtomicU64, )*
        }

        impl Counters {
            pub(super) fn snapshot(&self) -> GwStats {
                GwStats {
                    $( $name: self.$name.load(Ordering::Relaxed), )*
                }
            }
        }
    };
}

counters! {
    /// Inner packets from nodes written to the inside link.
    delivered,
    /// Packets from inside sealed and sent to a node.
    sent,
    /// NAT keep-alives and non-ESP (IKE) datagrams on the outside socket,
    /// ignored (RFC 3948 §2.2, §2.3).
    control,
    /// Outside: no SA or node for the SPI.
    dropped_unknown_spi,
    /// Outside: a sequence number already seen or left of the window
    /// (RFC 4303 §3.4.3).
    dropped_replay,
    /// Outside: the ICV did not verify.
    dropped_auth,
    /// Outside: authentic, but the inner source is neither the node's
    /// care-of nor home address and it is no registration.
    dropped_source,
    /// Outside: the inner destination is not in the private networks nor
    /// the home agent.
    dropped_not_private,
    /// Outside: the SA is past its hard lifetime.
    dropped_expired,
    /// Outside: any other ESP refusal (padding, selectors, malformed).
    dropped_malformed,
    /// Inside: not addressed to any node.
    not_for_a_node,
    /// Inside: not IPv4, or from outside the private networks.
    inside_refused,
    /// Inside: ESP could not seal (hard lifetime, sequence exhausted).
    seal_failed,
    /// Sealed but not sent: the sequence number was not reserved on disk.
    sequence_unreserved,
    /// Datagrams that a socket or the link failed to send.
    send_errors,
    /// SIUs applied: the node's outbound SA moved.
    siu_applied,
    /// Authentic SIUs refused with an Ack (replay, unknown node, old
    /// care-of address mismatch, bad content).
    siu_refused,
    /// SIUs not answered: malformed, unknown key or failed authentication.
    siu_unanswered,
    /// Registration replies sent through a moved SA.
    replies_sent,
}

/// Adds one.
pub(super) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    /// The counter a packet from outside dropped for `e` goes to, with a
    /// short reason for the log.
    pub(super) fn for_drop(&self, e: &GatewayError) -> (&AtomicU64, &'static str) {
        use telsec_esp::Error as Esp;
        match e {
            GatewayError::NoNode(_) | GatewayError::Esp(Esp::UnknownSpi(_)) => {
                (&self.dropped_unknown_spi, "unknown SPI")
            }
            GatewayError::Esp(Esp::Replay(_) | Esp::TooOld { .. }) => {
                (&self.dropped_replay, "replay")
            }
            GatewayError::Esp(Esp::IcvMismatch) => (&self.dropped_auth, "ICV mismatch"),
            GatewayError::SourceNotNode { .. } => (&self.dropped_source, "inner source"),
            GatewayError::Esp(Esp::Expired(_)) => (&self.dropped_expired, "SA expired"),
            _ => (&self.dropped_malformed, "malformed"),
        }
    }
}
