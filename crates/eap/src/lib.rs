//! EAP (RFC 3748) and EAP-AKA' (RFC 9048, updating RFC 5448; message formats
//! of RFC 4187) for a mobile node that bootstraps its mobility service from
//! its SIM: the home agent runs the [`server`], the node the [`peer`] over
//! its USIM. Everything is sans-IO: packets and vectors go in, packets and
//! actions come out; no sockets, no clock, no randomness drawn here.
//!
//! # Layers
//!
//! - [`packet`]: the EAP packet of RFC 3748 §4, a checked view
//!   ([`packet::Packet`]) and a value that emits ([`packet::Repr`]).
//! - [`attribute`] and [`message`]: the EAP-AKA' Type-Data (RFC 4187 §8,
//!   §10, §11; RFC 9048 §3.1, §3.2, §4): subtypes, attributes with their exact
//!   layouts, unknown non-skippable attributes refused (RFC 4187 §8.1).
//! - [`crypto`]: AT_MAC as HMAC-SHA-256-128 over the whole packet with the
//!   MAC zeroed, keyed with K_aut (RFC 9048 §3.4.1); AT_CHECKCODE as SHA-256
//!   over the AKA-Identity messages; the keys of RFC 9048 §3.3 through
//!   `telsec_auth::kdf::eap_aka_prime` (CK'/IK' from CK, IK, the access
//!   network name and SQN ⊕ AK; MK = PRF'(IK' || CK', "EAP-AKA'" || Identity)).
//! - [`identity`]: the peer's identity (permanent NAI `0`/`6` + IMSI, bare
//!   IMSI, SUCI in NAI form de-concealed with telsec-auth) to an IMSI.
//! - [`server`] and [`peer`]: the state machines.
//!
//! # The flow
//!
//! ```text
//!  peer (node, USIM)                               server (home agent)      HLR
//!                        <── Request/AKA'-Identity (AT_PERMANENT_ID_REQ)
//!  Response/AKA'-Identity (AT_IDENTITY) ──>
//!                                                  NeedVector{imsi} ──GSUP──>
//!                                                  on_vector(RAND,AUTN,XRES,CK,IK) <──
//!                 <── Request/AKA'-Challenge (AT_RAND, AT_AUTN, AT_KDF=1,
//!                                  AT_KDF_INPUT, AT_CHECKCODE, AT_MAC)
//!  USIM: AUTN ok → RES, CK, IK; CK'/IK'; check AT_MAC
//!  Response/AKA'-Challenge (AT_RES, AT_CHECKCODE, AT_MAC) ──>
//!                                                  check AT_MAC, RES
//!                        <── EAP-Success          Outcome::Success{imsi, identity, msk, emsk}
//!  PeerAction::Success{msk, emsk}
//! ```
//!
//! When the USIM finds the SQN out of range it answers with AUTS
//! (Synchronization-Failure, RFC 4187 §6.3.1 / §9.6; AT_KDF repeated per
//! RFC 9048 §3.2); the server asks the caller to resynchronise the HLR
//! ([`server::Action::NeedResync`]) and challenges again with the fresh
//! vector, a bounded number of times. Failures follow RFC 4187 §6.3:
//! Authentication-Reject and Client-Error end in EAP-Failure, errors the
//! server finds end in one AKA-Notification round and EAP-Failure. The keys
//! come out only after both sides verified AT_MAC (and the server RES).
//!
//! Not implemented: fast re-authentication (subtype 13 is parsed and
//! refused), pseudonyms and AT_ENCR_DATA contents (parsed, skipped), result
//! indications (AT_RESULT_IND parsed, not used), KDFs other than 1.
#![forbid(unsafe_code)]

pub mod attribute;
pub mod crypto;
pub mod error;
pub mod identity;
pub mod message;
pub mod packet;
pub mod peer;
pub mod server;

pub use crypto::{Emsk, Msk, SessionKey};
pub use error::Error;
pub use identity::{IdentityError, IdentityResolver};
pub use message::{Message, Subtype};
pub use packet::{Code, EapType, Packet, Repr};
pub use peer::{Peer, PeerAction, PeerConfig, PeerProblem, PeerSuccess};
pub use server::{Action, FailureReason, Outcome, Server, ServerConfig, ServerError};
