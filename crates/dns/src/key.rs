//! TSIG keys (RFC 8945) and what each key may change.

use std::fmt;

use hickory_proto::rr::{Name, RecordType, TSigner, rdata::tsig::TsigAlgorithm};
use zeroize::Zeroizing;

use crate::Error;

/// Shortest secret accepted, in octets. RFC 8945 §6 recommends keys at
/// least as long as the HMAC output; 16 octets (128 bits) is the floor
/// below which a key is refused outright.
pub const MIN_SECRET_LEN: usize = 16;

/// Fudge telsec puts in the TSIG RRs it signs, in seconds (RFC 8945 §10
/// recommends 300).
pub const FUDGE: u16 = 300;

/// A named TSIG key: name, HMAC algorithm and shared secret (RFC 8945 §4.2,
/// §6). The name is what both ends use to find the secret, so it must be
/// identical in BIND's `key` statement, in nsupdate's `-y`, and here.
#[derive(Clone)]
pub struct TsigKey {
    name: Name,
    algorithm: TsigAlgorithm,
    secret: Zeroizing<Vec<u8>>,
}

impl TsigKey {
    /// A key from its configured form: name, algorithm name (`hmac-sha256`,
    /// `hmac-sha384`, `hmac-sha512`, as in BIND's `algorithm` clause) and
    /// base64 secret (RFC 4648 §4, as in BIND's `secret` clause).
    pub fn new(name: &str, algorithm: &str, secret_base64: &str) -> Result<Self, Error> {
        let alg = match algorithm
            .trim_end_matches('.')
            .to_ascii_lowercase()
            .as_str()
        {
            "hmac-sha256" => TsigAlgorithm::HmacSha256,
            "hmac-sha384" => TsigAlgorithm::HmacSha384,
            "hmac-sha512" => TsigAlgorithm::HmacSha512,
            _ => return Err(Error::UnsupportedAlgorithm(algorithm.to_owned())),
        };
        let secret = data_encoding::BASE64
            .decode(secret_base64.trim().as_bytes())
            .map_err(|_| Error::InvalidKey {
                name: name.to_owned(),
                reason: "secret is not base64",
            })?;
        Self::from_parts(name, alg, secret)
    }

    /// An HMAC-SHA-256 key from raw secret octets.
    pub fn hmac_sha256(name: &str, secret: &[u8]) -> Result<Self, Error> {
        Self::from_parts(name, TsigAlgorithm::HmacSha256, secret.to_vec())
    }

    fn from_parts(name: &str, algorithm: TsigAlgorithm, secret: Vec<u8>) -> Result<Self, Error> {
        let secret = Zeroizing::new(secret);
        if secret.len() < MIN_SECRET_LEN {
            return Err(Error::InvalidKey {
                name: name.to_owned(),
                reason: "secret shorter than 16 octets",
            });
        }
        Ok(Self {
            name: crate::parse_name(name)?,
            algorithm,
            secret,
        })
    }

    /// Key name (lower case, fully qualified).
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// Algorithm name as BIND and nsupdate spell it (`hmac-sha256`, ...).
    pub fn algorithm_name(&self) -> &'static str {
        match self.algorithm {
            TsigAlgorithm::HmacSha384 => "hmac-sha384",
            TsigAlgorithm::HmacSha512 => "hmac-sha512",
            _ => "hmac-sha256",
        }
    }

    /// The secret in base64, for writing a BIND `key` statement or an
    /// nsupdate `-y` argument.
    pub fn secret_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(data_encoding::BASE64.encode(&self.secret))
    }

    pub(crate) fn algorithm(&self) -> &TsigAlgorithm {
        &self.algorithm
    }

    pub(crate) fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// hickory's signer for this key (fudge 300 s), for signing messages
    /// built by hand. hickory keeps its own copy of the secret, which it
    /// does not zeroize.
    pub fn signer(&self) -> Result<TSigner, Error> {
        TSigner::new(
            self.secret.to_vec(),
            self.algorithm.clone(),
            self.name.clone(),
            FUDGE,
        )
        .map_err(|e| Error::UnsupportedAlgorithm(e.to_string()))
    }
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name.to_ascii())
            .field("algorithm", &self.algorithm_name())
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// What a key may change in the zone: the embedded server's update policy
/// (RFC 2136 §3.3 leaves policy to the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// Any name in the zone, any type but the zone's own SOA and NS (which
    /// the server generates): the home agent's key. BIND's
    /// `grant <key> zonesub ANY`.
    Zone,
    /// Only the owner name equal to the key's name, and only these types:
    /// a node's own key, so a node controls its own name and address and
    /// never another's. BIND's `grant * self * <types>`.
    SelfName {
        /// Types the key may add or delete at its name.
        types: Vec<RecordType>,
    },
}

impl Grant {
    /// The node grant telsec uses: A, AAAA, IPSECKEY and HIP at the key's
    /// own name.
    pub fn node() -> Self {
        Self::SelfName {
            types: vec![
                RecordType::A,
                RecordType::AAAA,
                crate::rdata::IPSECKEY,
                crate::rdata::HIP,
            ],
        }
    }

    /// Whether `key_name` holding this grant may touch `rtype` at `owner`
    /// (both lower-case). `RecordType::ANY` stands for "delete all RRsets
    /// at a name" (RFC 2136 §2.5.3): a self grant never covers that, as it
    /// would delete types outside the grant.
    pub(crate) fn permits(&self, key_name: &Name, owner: &Name, rtype: RecordType) -> bool {
        if matches!(rtype, RecordType::SOA | RecordType::NS) {
            return false;
        }
        match self {
            Grant::Zone => true,
            Grant::SelfName { types } => owner == key_name && types.contains(&rtype),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bind_style_key() {
        let k = TsigKey::new(
            "ha.telsec.test",
            "HMAC-SHA256",
            "c2VjcmV0LXNlY3JldC1zZWNyZXQtMzItb2N0ZXRzISE=",
        )
        .unwrap();
        assert_eq!(k.name().to_ascii(), "ha.telsec.test.");
        assert_eq!(k.algorithm_name(), "hmac-sha256");
        assert_eq!(k.secret(), b"secret-secret-secret-32-octets!!");
        assert!(!format!("{k:?}").contains("c2Vj"));
    }

    #[test]
    fn refuses_bad_keys() {
        assert!(matches!(
            TsigKey::new("k", "hmac-md5", "AAAAAAAAAAAAAAAAAAAAAA=="),
            Err(Error::UnsupportedAlgorithm(_))
        ));
        assert!(matches!(
            TsigKey::new("k", "hmac-sha256", "not base64!"),
            Err(Error::InvalidKey { .. })
        ));
        assert!(matches!(
            TsigKey::hmac_sha256("k", b"short"),
            Err(Error::InvalidKey { .. })
        ));
    }

    #[test]
    fn self_grant_is_name_and_type_bound() {
        let me = Name::from_ascii("mn1.telsec.test.").unwrap();
        let other = Name::from_ascii("mn2.telsec.test.").unwrap();
        let g = Grant::node();
        assert!(g.permits(&me, &me, RecordType::A));
        assert!(g.permits(&me, &me, crate::rdata::HIP));
        assert!(!g.permits(&me, &other, RecordType::A));
        assert!(!g.permits(&me, &me, RecordType::TXT));
        assert!(!g.permits(&me, &me, RecordType::ANY));
        assert!(Grant::Zone.permits(&me, &other, RecordType::TXT));
        assert!(!Grant::Zone.permits(&me, &other, RecordType::NS));
        assert!(!Grant::Zone.permits(&me, &other, RecordType::SOA));
    }
}
