//! Registration Reply codes (RFC 5944 §3.4 and the RFCs that extend the
//! IANA "Code Values for Mobile IP Registration Reply Messages" registry).
//!
//! 0..=63 accept, 64..=127 are denials by the foreign agent, 128..=191
//! denials by the home agent (RFC 5944 §3.4).

use telsec_wire::open_enum;

open_enum! {
    /// The Code field of a Registration Reply (RFC 5944 §3.4).
    pub enum ReplyCode {
        /// RFC 5944 §3.4.
        Accepted = 0 => "registration accepted",
        /// RFC 5944 §3.4.
        AcceptedNoSimultaneousBindings = 1 => "registration accepted, but simultaneous mobility bindings unsupported",
        /// RFC 5944 §3.4.
        FaReasonUnspecified = 64 => "FA: reason unspecified",
        /// RFC 5944 §3.4.
        FaAdministrativelyProhibited = 65 => "FA: administratively prohibited",
        /// RFC 5944 §3.4.
        FaInsufficientResources = 66 => "FA: insufficient resources",
        /// RFC 5944 §3.4.
        FaMobileNodeFailedAuthentication = 67 => "FA: mobile node failed authentication",
        /// RFC 5944 §3.4.
        FaHomeAgentFailedAuthentication = 68 => "FA: home agent failed authentication",
        /// RFC 5944 §3.4.
        FaLifetimeTooLong = 69 => "FA: requested Lifetime too long",
        /// RFC 5944 §3.4.
        FaPoorlyFormedRequest = 70 => "FA: poorly formed Request",
        /// RFC 5944 §3.4.
        FaPoorlyFormedReply = 71 => "FA: poorly formed Reply",
        /// RFC 5944 §3.4.
        FaEncapsulationUnavailable = 72 => "FA: requested encapsulation unavailable",
        /// RFC 5944 §3.4 (formerly Van Jacobson compression unavailable).
        FaReservedUnavailable = 73 => "FA: reserved and unavailable",
        /// RFC 3024 §5.
        FaReverseTunnelUnavailable = 74 => "FA: requested reverse tunnel unavailable",
        /// RFC 3024 §5.
        FaReverseTunnelMandatory = 75 => "FA: reverse tunnel is mandatory and 'T' bit not set",
        /// RFC 3024 §5.
        FaMobileNodeTooDistant = 76 => "FA: mobile node too distant",
        /// RFC 5944 §3.4.
        FaInvalidCareOfAddress = 77 => "FA: invalid care-of address",
        /// RFC 5944 §3.4.
        FaRegistrationTimeout = 78 => "FA: registration timeout",
        /// RFC 3024 §5.
        FaDeliveryStyleNotSupported = 79 => "FA: delivery style not supported",
        /// RFC 5944 §3.4.
        FaHomeNetworkUnreachable = 80 => "FA: home network unreachable (ICMP error received)",
        /// RFC 5944 §3.4.
        FaHomeAgentHostUnreachable = 81 => "FA: home agent host unreachable (ICMP error received)",
        /// RFC 5944 §3.4.
        FaHomeAgentPortUnreachable = 82 => "FA: home agent port unreachable (ICMP error received)",
        /// RFC 5944 §3.4.
        FaHomeAgentUnreachable = 88 => "FA: home agent unreachable (other ICMP error received)",
        /// RFC 2794 §3.
        FaNonZeroHomeAddressRequired = 96 => "FA: non-zero home address required",
        /// RFC 2794 §3.
        FaMissingNai = 97 => "FA: missing NAI",
        /// RFC 2794 §3.
        FaMissingHomeAgent = 98 => "FA: missing home agent",
        /// RFC 2794 §3.
        FaMissingHomeAddress = 99 => "FA: missing home address",
        /// RFC 3115 §4.
        FaCvseFromMnUninterpretable = 100 => "FA: unable to interpret CVSE sent by mobile node",
        /// RFC 3115 §4.
        FaCvseFromHaUninterpretable = 101 => "FA: unable to interpret CVSE sent by home agent",
        /// RFC 3012 §9.
        FaUnknownChallenge = 104 => "FA: unknown challenge",
        /// RFC 3012 §9.
        FaMissingChallenge = 105 => "FA: missing challenge",
        /// RFC 3012 §9.
        FaStaleChallenge = 106 => "FA: stale challenge",
        /// RFC 5944 §3.4.
        HaReasonUnspecified = 128 => "HA: reason unspecified",
        /// RFC 5944 §3.4.
        HaAdministrativelyProhibited = 129 => "HA: administratively prohibited",
        /// RFC 5944 §3.4.
        HaInsufficientResources = 130 => "HA: insufficient resources",
        /// RFC 5944 §3.4.
        HaMobileNodeFailedAuthentication = 131 => "HA: mobile node failed authentication",
        /// RFC 5944 §3.4.
        HaForeignAgentFailedAuthentication = 132 => "HA: foreign agent failed authentication",
        /// RFC 5944 §3.4; §5.7 says the reply carries a corrected Identification.
        HaIdentificationMismatch = 133 => "HA: registration Identification mismatch",
        /// RFC 5944 §3.4.
        HaPoorlyFormedRequest = 134 => "HA: poorly formed Request",
        /// RFC 5944 §3.4.
        HaTooManyBindings = 135 => "HA: too many simultaneous mobility bindings",
        /// RFC 5944 §3.4.
        HaUnknownHomeAgentAddress = 136 => "HA: unknown home agent address",
        /// RFC 3024 §5.
        HaReverseTunnelUnavailable = 137 => "HA: requested reverse tunnel unavailable",
        /// RFC 3024 §5.
        HaReverseTunnelMandatory = 138 => "HA: reverse tunnel is mandatory and 'T' bit not set",
        /// RFC 3024 §5.
        HaEncapsulationUnavailable = 139 => "HA: requested encapsulation unavailable",
        /// RFC 3115 §4.
        HaCvseFromMnUninterpretable = 140 => "HA: unable to interpret CVSE sent by mobile node",
        /// RFC 3115 §4.
        HaCvseFromFaUninterpretable = 141 => "HA: unable to interpret CVSE sent by foreign agent",
        /// RFC 3519 §3.2: the HA cannot or will not do UDP tunnelling.
        HaUdpEncapsulationUnavailable = 142 => "HA: UDP encapsulation unavailable",
        /// RFC 4433 §3.
        HaRegisterWithRedirectedHa = 143 => "HA: register with redirected HA",
        /// RFC 4433 §3.
        HaMobileNodeFailedAaaAuthentication = 144 => "HA: mobile node failed AAA authentication",
    }
}

impl ReplyCode {
    /// Codes 0..=63 accept the registration (RFC 5944 §3.4).
    pub fn is_accepted(self) -> bool {
        u8::from(self) < 64
    }

    /// Codes 64..=127 are denials by the foreign agent (RFC 5944 §3.4).
    pub fn is_foreign_agent_denial(self) -> bool {
        (64..128).contains(&u8::from(self))
    }

    /// Codes 128..=191 are denials by the home agent (RFC 5944 §3.4).
    pub fn is_home_agent_denial(self) -> bool {
        (128..192).contains(&u8::from(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_code_round_trips_and_unknown_is_kept() {
        for &code in ReplyCode::ALL {
            let raw = u8::from(code);
            assert_eq!(ReplyCode::from(raw), code);
            assert!(code.name().is_some());
        }
        for raw in 0..=255u8 {
            assert_eq!(u8::from(ReplyCode::from(raw)), raw);
        }
        assert_eq!(ReplyCode::from(200), ReplyCode::Unknown(200));
        assert_eq!(ReplyCode::from(200).to_string(), "0xc8");
    }

    #[test]
    fn ranges() {
        assert!(ReplyCode::AcceptedNoSimultaneousBindings.is_accepted());
        assert!(ReplyCode::FaHomeAgentUnreachable.is_foreign_agent_denial());
        assert!(ReplyCode::HaUnknownHomeAgentAddress.is_home_agent_denial());
        assert!(!ReplyCode::HaUnknownHomeAgentAddress.is_accepted());
        assert_eq!(u8::from(ReplyCode::HaIdentificationMismatch), 133);
    }
}
