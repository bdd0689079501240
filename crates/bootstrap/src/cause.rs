//! The registry of error causes carried by Error messages and sealed
//! refusals (two octets, big-endian).
//!
//! Ranges: 1-15 message and session problems (the HA or node could not
//! process a message); 16-31 authentication and authorisation; 32-47
//! resources and policy; 48-63 the server's own trouble. Values not listed
//! are kept as [`Cause::Unknown`] and treated as fatal by the node.

use core::fmt;

use crate::tlv::open_enum;

open_enum! {
    /// Why a peer refused or aborted the bootstrap.
    pub enum Cause(u16) {
        /// The message did not parse (bad header, TLV or length).
        BadMessage = 1,
        /// The header carries a version this peer does not speak.
        UnsupportedVersion = 2,
        /// No session with this id exists (expired, or the HA restarted):
        /// the node starts again with a fresh Start.
        UnknownSession = 3,
        /// A message arrived out of order or repeats an earlier sequence
        /// with different contents.
        Replay = 4,
        /// EAP authentication failed (RFC 3748 §4.2 Failure; for
        /// EAP-AKA' a bad RES, or the HLR knows no such subscriber).
        AuthenticationFailed = 16,
        /// The node's proof signature over the channel binding did not
        /// verify, or its public key is not a valid Ed25519 point.
        BadProof = 17,
        /// The subscriber is authenticated but its profile has no mobility
        /// service.
        NotSubscribed = 18,
        /// No FQDN could be given: the policy found no usable name.
        FqdnRefused = 32,
        /// The home address pool has no free address.
        NoAddressFree = 33,
        /// The HA could not reach the HLR, the DNS server or its store.
        Internal = 48,
        /// The HA is overloaded; the node should try again later.
        Busy = 49,
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Cause::BadMessage => "bad message",
            Cause::UnsupportedVersion => "unsupported version",
            Cause::UnknownSession => "unknown session",
            Cause::Replay => "replay or out of order",
            Cause::AuthenticationFailed => "authentication failed",
            Cause::BadProof => "bad proof of possession",
            Cause::NotSubscribed => "not subscribed to mobility service",
            Cause::FqdnRefused => "no FQDN could be assigned",
            Cause::NoAddressFree => "no home address free",
            Cause::Internal => "internal error",
            Cause::Busy => "busy",
            Cause::Unknown(c) => return write!(f, "cause {c}"),
        };
        write!(f, "{text} ({})", u16::from(*self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in 0..=64u16 {
            assert_eq!(u16::from(Cause::from(c)), c);
        }
        assert_eq!(Cause::from(33), Cause::NoAddressFree);
        assert_eq!(Cause::from(999), Cause::Unknown(999));
        assert_eq!(
            Cause::NoAddressFree.to_string(),
            "no home address free (33)"
        );
        assert_eq!(Cause::Unknown(7).to_string(), "cause 7");
    }
}
