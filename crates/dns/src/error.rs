//! The crate's one error type.

use std::{io, net::SocketAddr, path::PathBuf};

use hickory_proto::op::ResponseCode;

/// Everything that can go wrong in telsec-dns.
///
/// Protocol-level refusals seen by the *server* are not errors: they are
/// answered with the RFC 2136 / RFC 8945 RCODE and TSIG error. This enum is
/// what the library's callers see: bad configuration, storage failures, and
/// on the client side the server's answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configured or supplied domain name is not a valid name.
    #[error("invalid domain name {name:?}: {reason}")]
    InvalidName {
        /// The text given.
        name: String,
        /// Why it was refused.
        reason: String,
    },
    /// A name lies outside the zone it was meant for.
    #[error("{name} is not inside zone {zone}")]
    NotInZone {
        /// The offending name.
        name: String,
        /// The zone.
        zone: String,
    },
    /// A TSIG key's secret is unusable (not base64, or too short).
    #[error("TSIG key {name}: {reason}")]
    InvalidKey {
        /// Key name.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A TSIG algorithm other than HMAC-SHA-256/384/512 (RFC 8945 §6).
    #[error("unsupported TSIG algorithm {0:?} (use hmac-sha256, hmac-sha384 or hmac-sha512)")]
    UnsupportedAlgorithm(String),
    /// A record's RDATA does not follow its RFC layout.
    #[error("malformed {rtype} RDATA: {reason}")]
    MalformedRdata {
        /// Record type mnemonic.
        rtype: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// Reading or writing the zone's journal or snapshot failed.
    #[error("zone storage {path}: {source}")]
    Storage {
        /// File concerned.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The zone's journal or snapshot is damaged beyond a torn final write,
    /// or belongs to another zone.
    #[error("zone storage {path} is corrupt: {reason}")]
    CorruptStorage {
        /// File concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Building or encoding a DNS message failed.
    #[error("DNS message: {0}")]
    Message(String),
    /// Binding a server socket failed.
    #[error("socket {addr}: {source}")]
    Socket {
        /// Address being bound.
        addr: SocketAddr,
        /// The I/O error.
        source: io::Error,
    },
    /// The server answered the update, authenticated, with an error RCODE
    /// (RFC 2136 §2.2: e.g. REFUSED for a name the key may not change,
    /// YXDOMAIN / NXRRSET for a failed prerequisite).
    #[error("server answered {rcode}")]
    Rejected {
        /// The RCODE.
        rcode: ResponseCode,
    },
    /// The answer could not be authenticated with the key: missing or wrong
    /// TSIG, or an unsigned BADSIG/BADKEY error, which RFC 8945 §5.3.2 says
    /// the client must not trust (so it is reported here, not as `Rejected`).
    #[error("answer not authenticated: {0}")]
    Unauthenticated(String),
    /// No answer: network error or timeout.
    #[error("transport: {0}")]
    Transport(String),
}
