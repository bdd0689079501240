//! The sealed contents of a ConfigRequest (seed 003, step 6) and the node's
//! proof of possession.
//!
//! Plaintext TLVs: `NodePublicKey` (32, Ed25519, RFC 8032 §5.1.5),
//! `NodeSignature` (64), `DesiredFqdn` (optional, 1..=253 octets UTF-8),
//! `Secret` (optional, 1..=[`MAX_SECRET_LEN`] octets).
//!
//! The signature is Ed25519 (RFC 8032 §5.1.6) over
//!
//! ```text
//! "telsec-bootstrap node-proof v1" || CB (32) || public key (32)
//!   || FQDN length (2) || desired FQDN || secret present (1: 0 or 1)
//! ```
//!
//! with CB the session's channel binding ([`crate::keys`]). It proves that
//! the holder of the private key is the party that ran EAP in this session,
//! so the HA may publish the key in DNS under the subscriber's name (seed
//! step 9) without any PKI. The secret itself is not signed: the AEAD
//! already authenticates it, and the flag stops it being stripped.
//! Verification is strict (`verify_strict`: no small-order keys, canonical
//! S and R).

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::keys::KEY_LEN;
use crate::message::SessionId;
use crate::tlv::{self, Fields, TlvError, TlvType};

/// The signing context of the node's proof.
pub const NODE_PROOF_LABEL: &[u8] = b"telsec-bootstrap node-proof v1";
/// The longest shared secret a node may send.
pub const MAX_SECRET_LEN: usize = 256;
/// The longest FQDN (RFC 1035 §2.3.4, as text without the final dot).
pub const MAX_FQDN_LEN: usize = 253;

/// Why ConfigRequest contents were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The TLVs are not acceptable.
    #[error("bad request contents: {0}")]
    Tlv(#[from] TlvError),
    /// The public key is not a valid Ed25519 point.
    #[error("public key is not a valid Ed25519 key")]
    BadPublicKey,
    /// The proof signature does not verify.
    #[error("proof signature does not verify")]
    BadSignature,
    /// An empty or over-long FQDN or secret was given to build a request.
    #[error("desired FQDN or secret has a bad length")]
    BadLength,
}

/// ConfigRequest contents as sent.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfigRequest {
    /// The node's Ed25519 public key.
    pub public_key: [u8; 32],
    /// The proof signature.
    pub signature: [u8; 64],
    /// The FQDN the node would like, as it wrote it.
    pub desired_fqdn: Option<String>,
    /// A secret to share with the HA (wiped on drop).
    pub secret: Option<Zeroizing<Vec<u8>>>,
}

impl core::fmt::Debug for ConfigRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ConfigRequest")
            .field("public_key", &Hex(&self.public_key))
            .field("desired_fqdn", &self.desired_fqdn)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Lower-case hex for Debug output.
pub(crate) struct Hex<'a>(pub(crate) &'a [u8]);

impl core::fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// The octets the node's proof signs.
pub fn node_proof_message(
    channel_binding: &[u8; KEY_LEN],
    public_key: &[u8; 32],
    desired_fqdn: Option<&str>,
    secret_present: bool,
) -> Vec<u8> {
    let fqdn = desired_fqdn.unwrap_or("").as_bytes();
    let mut m = Vec::with_capacity(NODE_PROOF_LABEL.len() + 64 + 2 + fqdn.len() + 1);
    m.extend_from_slice(NODE_PROOF_LABEL);
    m.extend_from_slice(channel_binding);
    m.extend_from_slice(public_key);
    // FQDNs are at most 253 octets here, so the length always fits.
    m.extend_from_slice(&u16::try_from(fqdn.len()).unwrap_or(u16::MAX).to_be_bytes());
    m.extend_from_slice(fqdn);
    m.push(u8::from(secret_present));
    m
}

impl ConfigRequest {
    /// Builds and signs the contents for the session whose channel binding
    /// is `channel_binding`.
    pub fn sign(
        signing_key: &SigningKey,
        channel_binding: &[u8; KEY_LEN],
        desired_fqdn: Option<&str>,
        secret: Option<&[u8]>,
    ) -> Result<Self, RequestError> {
        if desired_fqdn.is_some_and(|f| f.is_empty() || f.len() > MAX_FQDN_LEN)
            || secret.is_some_and(|s| s.is_empty() || s.len() > MAX_SECRET_LEN)
        {
            return Err(RequestError::BadLength);
        }
        let public_key = signing_key.verifying_key().to_bytes();
        let msg = node_proof_message(channel_binding, &public_key, desired_fqdn, secret.is_some());
        let signature = signing_key.sign(&msg).to_bytes();
        Ok(ConfigRequest {
            public_key,
            signature,
            desired_fqdn: desired_fqdn.map(str::to_owned),
            secret: secret.map(|s| Zeroizing::new(s.to_vec())),
        })
    }

    /// Checks the proof against `channel_binding`; returns the verified key.
    pub fn verify(&self, channel_binding: &[u8; KEY_LEN]) -> Result<VerifyingKey, RequestError> {
        let key =
            VerifyingKey::from_bytes(&self.public_key).map_err(|_| RequestError::BadPublicKey)?;
        let msg = node_proof_message(
            channel_binding,
            &self.public_key,
            self.desired_fqdn.as_deref(),
            self.secret.is_some(),
        );
        key.verify_strict(&msg, &Signature::from_bytes(&self.signature))
            .map_err(|_| RequestError::BadSignature)?;
        Ok(key)
    }

    /// The plaintext TLVs (wiped on drop: they may hold the secret).
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, RequestError> {
        let mut out = Zeroizing::new(Vec::new());
        tlv::put(&mut out, TlvType::NodePublicKey, &self.public_key)?;
        tlv::put(&mut out, TlvType::NodeSignature, &self.signature)?;
        if let Some(f) = &self.desired_fqdn {
            if f.is_empty() || f.len() > MAX_FQDN_LEN {
                return Err(RequestError::BadLength);
            }
            tlv::put(&mut out, TlvType::DesiredFqdn, f.as_bytes())?;
        }
        if let Some(s) = &self.secret {
            if s.is_empty() || s.len() > MAX_SECRET_LEN {
                return Err(RequestError::BadLength);
            }
            tlv::put(&mut out, TlvType::Secret, s)?;
        }
        Ok(out)
    }

    /// Parses plaintext TLVs (the signature is checked by
    /// [`ConfigRequest::verify`]).
    pub fn decode(plaintext: &[u8]) -> Result<Self, RequestError> {
        let f = Fields::read(
            plaintext,
            &[
                TlvType::NodePublicKey,
                TlvType::NodeSignature,
                TlvType::DesiredFqdn,
                TlvType::Secret,
            ],
        )?;
        let desired_fqdn = f.opt_str(TlvType::DesiredFqdn, MAX_FQDN_LEN)?;
        if desired_fqdn.is_some_and(str::is_empty) {
            return Err(TlvError::BadLength {
                kind: TlvType::DesiredFqdn,
                len: 0,
            }
            .into());
        }
        let secret = f.opt(TlvType::Secret);
        if let Some(s) = secret {
            if s.is_empty() || s.len() > MAX_SECRET_LEN {
                return Err(TlvError::BadLength {
                    kind: TlvType::Secret,
                    len: s.len(),
                }
                .into());
            }
        }
        Ok(ConfigRequest {
            public_key: f.req_array(TlvType::NodePublicKey)?,
            signature: f.req_array(TlvType::NodeSignature)?,
            desired_fqdn: desired_fqdn.map(str::to_owned),
            secret: secret.map(|s| Zeroizing::new(s.to_vec())),
        })
    }
}

/// A ConfigRequest the HA has opened (AEAD) and whose proof verified
/// against this session's channel binding. Only
/// [`crate::ha::HaSession`] makes these.
#[derive(Clone)]
pub struct VerifiedConfigRequest {
    pub(crate) session_id: SessionId,
    pub(crate) public_key: VerifyingKey,
    pub(crate) desired_fqdn: Option<String>,
    pub(crate) secret: Option<Zeroizing<Vec<u8>>>,
}

impl core::fmt::Debug for VerifiedConfigRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VerifiedConfigRequest")
            .field("session_id", &self.session_id)
            .field("public_key", &Hex(self.public_key.as_bytes()))
            .field("desired_fqdn", &self.desired_fqdn)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl VerifiedConfigRequest {
    /// The session it arrived in.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// The node's public key, proven held by the authenticated subscriber.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.public_key
    }

    /// The FQDN the node would like, unvalidated (see
    /// [`crate::policy::decide_fqdn`]).
    pub fn desired_fqdn(&self) -> Option<&str> {
        self.desired_fqdn.as_deref()
    }

    /// The secret the node shares, if any.
    pub fn secret(&self) -> Option<&[u8]> {
        self.secret.as_deref().map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn sign_encode_decode_verify() {
        let cb = [5u8; 32];
        let req =
            ConfigRequest::sign(&key(1), &cb, Some("zoe.example.net"), Some(b"s3cret")).unwrap();
        let pt = req.encode().unwrap();
        let back = ConfigRequest::decode(&pt).unwrap();
        assert_eq!(back, req);
        assert_eq!(
            back.verify(&cb).unwrap().to_bytes(),
            key(1).verifying_key().to_bytes()
        );
        assert!(!format!("{back:?}").contains("s3cret"));

        let bare = ConfigRequest::sign(&key(1), &cb, None, None).unwrap();
        let back = ConfigRequest::decode(&bare.encode().unwrap()).unwrap();
        assert_eq!(back, bare);
        back.verify(&cb).unwrap();
    }

    #[test]
    fn proof_binds_channel_key_name_and_secret_flag() {
        let cb = [5u8; 32];
        let req = ConfigRequest::sign(&key(1), &cb, Some("a.example.net"), Some(b"x")).unwrap();
        assert_eq!(
            req.verify(&[6u8; 32]).unwrap_err(),
            RequestError::BadSignature
        );

        let mut other_key = req.clone();
        other_key.public_key = key(2).verifying_key().to_bytes();
        assert_eq!(
            other_key.verify(&cb).unwrap_err(),
            RequestError::BadSignature
        );

        let mut other_name = req.clone();
        other_name.desired_fqdn = Some("b.example.net".into());
        assert_eq!(
            other_name.verify(&cb).unwrap_err(),
            RequestError::BadSignature
        );

        let mut stripped = req.clone();
        stripped.secret = None;
        assert_eq!(
            stripped.verify(&cb).unwrap_err(),
            RequestError::BadSignature
        );

        // A secret may change without breaking the proof: only its presence
        // is signed (the AEAD protects its value).
        let mut changed = req.clone();
        changed.secret = Some(Zeroizing::new(b"y".to_vec()));
        assert!(changed.verify(&cb).is_ok());
    }

    #[test]
    fn small_order_keys_are_refused() {
        // The identity point (y = 1): a weak key verify_strict rejects.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let req = ConfigRequest {
            public_key: identity,
            signature: [0; 64],
            desired_fqdn: None,
            secret: None,
        };
        assert!(req.verify(&[0; 32]).is_err());
    }

    #[test]
    fn decode_checks() {
        let mut pt = Vec::new();
        tlv::put(&mut pt, TlvType::NodePublicKey, &[1; 32]).unwrap();
        assert_eq!(
            ConfigRequest::decode(&pt).unwrap_err(),
            RequestError::Tlv(TlvError::Missing(TlvType::NodeSignature))
        );
        tlv::put(&mut pt, TlvType::NodeSignature, &[1; 64]).unwrap();
        let mut long_secret = pt.clone();
        tlv::put(&mut long_secret, TlvType::Secret, &[0; 257]).unwrap();
        assert!(ConfigRequest::decode(&long_secret).is_err());
        let mut empty_name = pt.clone();
        tlv::put(&mut empty_name, TlvType::DesiredFqdn, b"").unwrap();
        assert!(ConfigRequest::decode(&empty_name).is_err());
        let mut stranger = pt.clone();
        tlv::put(&mut stranger, TlvType::Fqdn, b"x").unwrap();
        assert!(ConfigRequest::decode(&stranger).is_err());
        assert!(ConfigRequest::decode(&pt).is_ok());
    }

    #[test]
    fn sign_refuses_bad_lengths() {
        let cb = [0u8; 32];
        assert_eq!(
            ConfigRequest::sign(&key(1), &cb, Some(""), None).unwrap_err(),
            RequestError::BadLength
        );
        assert_eq!(
            ConfigRequest::sign(&key(1), &cb, None, Some(&[0; 257])).unwrap_err(),
            RequestError::BadLength
        );
    }
}
