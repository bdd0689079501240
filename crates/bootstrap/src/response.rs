//! The sealed contents of a ConfigResponse (seed 003, step 10): the
//! configuration the HA decided, signed, or a refusal.
//!
//! **Configuration** TLVs, in this order:
//!
//! | TLV | value |
//! |---|---|
//! | `Fqdn` | the chosen FQDN, 1..=253 octets |
//! | `FqdnOutcome` | one octet, [`FqdnOutcome`] |
//! | `HomeAddress` | IPv4, 4 octets |
//! | `HaAddress` | IPv4, 4 octets |
//! | `HaPublicKey` | Ed25519, 32 octets |
//! | `MipSa` | SPI (4) ‖ algorithm (1) ‖ lifetime s (4) ‖ key (16..=64) |
//! | `RegistrationLifetime` | seconds, 2 octets (RFC 5944 §3.3) |
//! | `Rendezvous` | IPv4 of the HIP forwarding agent / RVS, 4 octets |
//! | `NameServer` | IPv4, 4 octets |
//! | `DnsZone` | the zone, 1..=253 octets |
//! | `Hit` | the node's HIT, 16 octets ([`crate::hit`]) |
//! | `HaSignature` | Ed25519, 64 octets; always last |
//!
//! `MipSa` and `RegistrationLifetime` come together (Mobile IP mode);
//! `Rendezvous` and `Hit` come together (HIP mode: the forwarding agent,
//! and the HIT it published with the node's key); at least one mode is
//! present. The SA is an RFC 5944 §1.6 / §5.1 mobility security
//! association: SPI ≥ 256 (0-255 reserved), algorithm 1 = HMAC-MD5 (the
//! RFC 5944 §3.5.1 default), 2 = HMAC-SHA-256.
//!
//! `HaSignature` is Ed25519 (RFC 8032 §5.1.6, verified strictly) over
//! `"telsec-bootstrap ha-proof v1" || CB || every plaintext octet before
//! the HaSignature TLV`, so the node holds the HA's key bound to this
//! session; it may pin that key for later sessions.
//!
//! **Refusal** TLVs: `Cause` (2 octets, [`Cause`]) and `Text` (optional).
//! Sealed, so the node can trust it; no signature.

use core::net::Ipv4Addr;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::cause::Cause;
use crate::hit::{HIT_LEN, Hit};
use crate::keys::KEY_LEN;
use crate::message::{MAX_TEXT_LEN, truncate_utf8};
use crate::policy::FqdnOutcome;
use crate::request::{Hex, MAX_FQDN_LEN};
use crate::tlv::{self, Fields, TLV_HEADER_LEN, TlvError, TlvType};

/// The signing context of the HA's signature.
pub const HA_PROOF_LABEL: &[u8] = b"telsec-bootstrap ha-proof v1";
/// The shortest MIP SA key (RFC 5944 §5.1: 128 bits by default).
pub const MIN_SA_KEY_LEN: usize = 16;
/// The longest MIP SA key (one HMAC block).
pub const MAX_SA_KEY_LEN: usize = 64;

/// Why ConfigResponse contents were refused or could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The TLVs are not acceptable.
    #[error("bad response contents: {0}")]
    Tlv(#[from] TlvError),
    /// The HaSignature TLV is not the last one.
    #[error("HA signature is not the last TLV")]
    SignatureNotLast,
    /// The HA public key is not a valid Ed25519 point.
    #[error("HA public key is not a valid Ed25519 key")]
    BadPublicKey,
    /// The HA signature does not verify.
    #[error("HA signature does not verify")]
    BadSignature,
    /// Neither Mobile IP (SA and lifetime) nor HIP (rendezvous and HIT), or
    /// half of either (an SA without a lifetime, a HIT without a
    /// rendezvous, or the reverse).
    #[error("no complete Mobile IP or HIP configuration")]
    NoMobility,
    /// An SA with a reserved SPI or a key of bad length.
    #[error("invalid mobility security association")]
    BadSa,
    /// An empty or over-long name.
    #[error("bad FQDN or zone length")]
    BadName,
    /// The signing key does not match `ha_public_key`.
    #[error("signing key does not match the HA public key in the response")]
    KeyMismatch,
}

/// The MAC algorithm of a Mobile IP SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MipAlgorithm {
    /// HMAC-MD5, RFC 5944 §3.5.1 default (code 1).
    HmacMd5,
    /// HMAC-SHA-256 (code 2).
    HmacSha256,
}

impl MipAlgorithm {
    /// The code on the wire and in stored configuration.
    pub fn code(self) -> u8 {
        match self {
            MipAlgorithm::HmacMd5 => 1,
            MipAlgorithm::HmacSha256 => 2,
        }
    }

    /// The algorithm of a code.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(MipAlgorithm::HmacMd5),
            2 => Some(MipAlgorithm::HmacSha256),
            _ => None,
        }
    }
}

/// A Mobile IP mobility security association (RFC 5944 §1.6).
#[derive(Clone, PartialEq, Eq)]
pub struct MipSa {
    /// The SPI, ≥ 256.
    pub spi: u32,
    /// The MAC algorithm.
    pub algorithm: MipAlgorithm,
    /// The shared key (wiped on drop).
    pub key: Zeroizing<Vec<u8>>,
    /// How long the SA is valid, in seconds from issue.
    pub lifetime: u32,
}

impl core::fmt::Debug for MipSa {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MipSa")
            .field("spi", &self.spi)
            .field("algorithm", &self.algorithm)
            .field("key", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

impl MipSa {
    /// Checks the RFC 5944 constraints kept here.
    pub fn validate(&self) -> Result<(), ResponseError> {
        if self.spi < 256 || !(MIN_SA_KEY_LEN..=MAX_SA_KEY_LEN).contains(&self.key.len()) {
            return Err(ResponseError::BadSa);
        }
        Ok(())
    }

    fn encode(&self) -> Result<Zeroizing<Vec<u8>>, ResponseError> {
        self.validate()?;
        let mut v = Zeroizing::new(Vec::with_capacity(9 + self.key.len()));
        v.extend_from_slice(&self.spi.to_be_bytes());
        v.push(self.algorithm.code());
        v.extend_from_slice(&self.lifetime.to_be_bytes());
        v.extend_from_slice(&self.key);
        Ok(v)
    }

    fn decode(v: &[u8]) -> Result<Self, ResponseError> {
        let bad = TlvError::BadLength {
            kind: TlvType::MipSa,
            len: v.len(),
        };
        let (spi, rest) = v.split_first_chunk::<4>().ok_or(bad)?;
        let (&alg, rest) = rest.split_first().ok_or(bad)?;
        let (lifetime, key) = rest.split_first_chunk::<4>().ok_or(bad)?;
        let sa = MipSa {
            spi: u32::from_be_bytes(*spi),
            algorithm: MipAlgorithm::from_code(alg).ok_or(TlvError::BadValue(TlvType::MipSa))?,
            key: Zeroizing::new(key.to_vec()),
            lifetime: u32::from_be_bytes(*lifetime),
        };
        sa.validate()?;
        Ok(sa)
    }
}

/// Mobile IP mode: the SA and the registration lifetime the node uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MipConfig {
    /// The MN-HA security association.
    pub sa: MipSa,
    /// The registration lifetime to request, seconds (RFC 5944 §3.3).
    pub registration_lifetime: u16,
}

/// HIP mode: where the node is reachable through, and under which tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HipConfig {
    /// The forwarding agent, the node's rendezvous server (RFC 8004).
    pub forwarding_agent: Ipv4Addr,
    /// The HIT published in the node's HIP RR (RFC 8005 §5).
    pub hit: Hit,
}

/// The configuration the HA gives a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigResponse {
    /// The FQDN chosen (seed step 9).
    pub fqdn: String,
    /// What became of the name the node asked for.
    pub fqdn_outcome: FqdnOutcome,
    /// The node's home address.
    pub home_address: Ipv4Addr,
    /// The home agent's address.
    pub ha_address: Ipv4Addr,
    /// The HA's Ed25519 public key.
    pub ha_public_key: [u8; 32],
    /// Mobile IP mode.
    pub mip: Option<MipConfig>,
    /// HIP mode.
    pub hip: Option<HipConfig>,
    /// The DNS server that serves the zone.
    pub name_server: Option<Ipv4Addr>,
    /// The DNS zone of the FQDN.
    pub dns_zone: Option<String>,
}

/// What a node finds in a ConfigResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigAnswer {
    /// A configuration whose HA signature verified.
    Config(ConfigResponse),
    /// The HA refused.
    Refused {
        /// Why.
        cause: Cause,
        /// Its explanation.
        text: String,
    },
}

/// The octets the HA's signature covers.
fn ha_proof_message(channel_binding: &[u8; KEY_LEN], signed_tlvs: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(HA_PROOF_LABEL.len() + KEY_LEN + signed_tlvs.len());
    m.extend_from_slice(HA_PROOF_LABEL);
    m.extend_from_slice(channel_binding);
    m.extend_from_slice(signed_tlvs);
    m
}

fn check_name(name: &str) -> Result<(), ResponseError> {
    if name.is_empty() || name.len() > MAX_FQDN_LEN {
        return Err(ResponseError::BadName);
    }
    Ok(())
}

impl ConfigResponse {
    /// The plaintext TLVs, signed with `signing_key` (which must match
    /// `ha_public_key`) for the session of `channel_binding`.
    pub fn encode_signed(
        &self,
        signing_key: &SigningKey,
        channel_binding: &[u8; KEY_LEN],
    ) -> Result<Zeroizing<Vec<u8>>, ResponseError> {
        if signing_key.verifying_key().to_bytes() != self.ha_public_key {
            return Err(ResponseError::KeyMismatch);
        }
        check_name(&self.fqdn)?;
        if let Some(z) = &self.dns_zone {
            check_name(z)?;
        }
        if self.mip.is_none() && self.hip.is_none() {
            return Err(ResponseError::NoMobility);
        }
        let mut out = Zeroizing::new(Vec::new());
        tlv::put(&mut out, TlvType::Fqdn, self.fqdn.as_bytes())?;
        tlv::put(&mut out, TlvType::FqdnOutcome, &[self.fqdn_outcome.code()])?;
        tlv::put(&mut out, TlvType::HomeAddress, &self.home_address.octets())?;
        tlv::put(&mut out, TlvType::HaAddress, &self.ha_address.octets())?;
        tlv::put(&mut out, TlvType::HaPublicKey, &self.ha_public_key)?;
        if let Some(mip) = &self.mip {
            tlv::put(&mut out, TlvType::MipSa, &mip.sa.encode()?)?;
            tlv::put(
                &mut out,
                TlvType::RegistrationLifetime,
                &mip.registration_lifetime.to_be_bytes(),
            )?;
        }
        if let Some(hip) = &self.hip {
            tlv::put(
                &mut out,
                TlvType::Rendezvous,
                &hip.forwarding_agent.octets(),
            )?;
        }
        if let Some(ns) = self.name_server {
            tlv::put(&mut out, TlvType::NameServer, &ns.octets())?;
        }
        if let Some(z) = &self.dns_zone {
            tlv::put(&mut out, TlvType::DnsZone, z.as_bytes())?;
        }
        if let Some(hip) = &self.hip {
            tlv::put(&mut out, TlvType::Hit, &hip.hit.to_bytes())?;
        }
        let sig = signing_key.sign(&ha_proof_message(channel_binding, &out));
        tlv::put(&mut out, TlvType::HaSignature, &sig.to_bytes())?;
        Ok(out)
    }
}

/// The plaintext TLVs of a refusal.
pub fn encode_refusal(cause: Cause, text: &str) -> Result<Vec<u8>, ResponseError> {
    let mut out = Vec::new();
    tlv::put(&mut out, TlvType::Cause, &u16::from(cause).to_be_bytes())?;
    if !text.is_empty() {
        tlv::put(&mut out, TlvType::Text, truncate_utf8(text, MAX_TEXT_LEN))?;
    }
    Ok(out)
}

/// Parses ConfigResponse plaintext and, for a configuration, verifies the
/// HA signature for the session of `channel_binding`.
pub fn decode_answer(
    plaintext: &[u8],
    channel_binding: &[u8; KEY_LEN],
) -> Result<ConfigAnswer, ResponseError> {
    const CONFIG: [TlvType; 12] = [
        TlvType::Fqdn,
        TlvType::FqdnOutcome,
        TlvType::HomeAddress,
        TlvType::HaAddress,
        TlvType::HaPublicKey,
        TlvType::MipSa,
        TlvType::RegistrationLifetime,
        TlvType::Rendezvous,
        TlvType::NameServer,
        TlvType::DnsZone,
        TlvType::Hit,
        TlvType::HaSignature,
    ];
    let first = tlv::TlvReader::new(plaintext).next().transpose()?;
    if first.is_some_and(|t| t.kind == TlvType::Cause) {
        let f = Fields::read(plaintext, &[TlvType::Cause, TlvType::Text])?;
        let cause = Cause::from(u16::from_be_bytes(f.req_array(TlvType::Cause)?));
        let text = f.opt_str(TlvType::Text, MAX_TEXT_LEN)?.unwrap_or("");
        return Ok(ConfigAnswer::Refused {
            cause,
            text: text.to_owned(),
        });
    }
    let f = Fields::read(plaintext, &CONFIG)?;
    let sig_tlv = f
        .get(TlvType::HaSignature)
        .ok_or(TlvError::Missing(TlvType::HaSignature))?;
    let signed = &plaintext[..sig_tlv.offset];
    if sig_tlv.offset + TLV_HEADER_LEN + sig_tlv.value.len() != plaintext.len() {
        return Err(ResponseError::SignatureNotLast);
    }
    let signature: [u8; 64] = f.req_array(TlvType::HaSignature)?;
    let ha_public_key: [u8; 32] = f.req_array(TlvType::HaPublicKey)?;

    let key = VerifyingKey::from_bytes(&ha_public_key).map_err(|_| ResponseError::BadPublicKey)?;
    key.verify_strict(
        &ha_proof_message(channel_binding, signed),
        &Signature::from_bytes(&signature),
    )
    .map_err(|_| ResponseError::BadSignature)?;

    let fqdn = f
        .opt_str(TlvType::Fqdn, MAX_FQDN_LEN)?
        .ok_or(TlvError::Missing(TlvType::Fqdn))?;
    check_name(fqdn)?;
    let [outcome] = f.req_array::<1>(TlvType::FqdnOutcome)?;
    let fqdn_outcome =
        FqdnOutcome::from_code(outcome).ok_or(TlvError::BadValue(TlvType::FqdnOutcome))?;
    let ipv4 = |kind| -> Result<Option<Ipv4Addr>, TlvError> {
        Ok(f.opt_array::<4>(kind)?.map(Ipv4Addr::from))
    };
    let mip = match (
        f.opt(TlvType::MipSa),
        f.opt_array::<2>(TlvType::RegistrationLifetime)?,
    ) {
        (Some(sa), Some(lt)) => Some(MipConfig {
            sa: MipSa::decode(sa)?,
            registration_lifetime: u16::from_be_bytes(lt),
        }),
        (None, None) => None,
        _ => return Err(ResponseError::NoMobility),
    };
    let hip = match (
        ipv4(TlvType::Rendezvous)?,
        f.opt_array::<HIT_LEN>(TlvType::Hit)?,
    ) {
        (Some(forwarding_agent), Some(hit)) => Some(HipConfig {
            forwarding_agent,
            hit: Hit::from_bytes(hit),
        }),
        (None, None) => None,
        _ => return Err(ResponseError::NoMobility),
    };
    if mip.is_none() && hip.is_none() {
        return Err(ResponseError::NoMobility);
    }
    let dns_zone = f.opt_str(TlvType::DnsZone, MAX_FQDN_LEN)?;
    if let Some(z) = dns_zone {
        check_name(z)?;
    }
    Ok(ConfigAnswer::Config(ConfigResponse {
        fqdn: fqdn.to_owned(),
        fqdn_outcome,
        home_address: ipv4(TlvType::HomeAddress)?.ok_or(TlvError::Missing(TlvType::HomeAddress))?,
        ha_address: ipv4(TlvType::HaAddress)?.ok_or(TlvError::Missing(TlvType::HaAddress))?,
        ha_public_key,
        mip,
        hip,
        name_server: ipv4(TlvType::NameServer)?,
        dns_zone: dns_zone.map(str::to_owned),
    }))
}

impl core::fmt::Display for ConfigResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "fqdn={} ({:?}) home={} ha={} ha_key={:?}",
            self.fqdn,
            self.fqdn_outcome,
            self.home_address,
            self.ha_address,
            Hex(&self.ha_public_key)
        )?;
        if let Some(m) = &self.mip {
            write!(
                f,
                " spi={} alg={:?} reg_lifetime={}",
                m.sa.spi, m.sa.algorithm, m.registration_lifetime
            )?;
        }
        if let Some(h) = &self.hip {
            write!(f, " rvs={} hit={}", h.forwarding_agent, h.hit)?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn ha_key() -> SigningKey {
        SigningKey::from_bytes(&[0x11; 32])
    }

    pub(crate) fn sample() -> ConfigResponse {
        ConfigResponse {
            fqdn: "zoe-smith.mobile.example.net".into(),
            fqdn_outcome: FqdnOutcome::HeldByAnother,
            home_address: Ipv4Addr::new(10, 1, 0, 7),
            ha_address: Ipv4Addr::new(192, 0, 2, 1),
            ha_public_key: ha_key().verifying_key().to_bytes(),
            mip: Some(MipConfig {
                sa: MipSa {
                    spi: 0x1000,
                    algorithm: MipAlgorithm::HmacSha256,
                    key: Zeroizing::new(vec![0x5a; 32]),
                    lifetime: 86_400,
                },
                registration_lifetime: 600,
            }),
            hip: None,
            name_server: Some(Ipv4Addr::new(192, 0, 2, 53)),
            dns_zone: Some("mobile.example.net".into()),
        }
    }

    #[test]
    fn config_round_trips_and_verifies() {
        let cb = [9u8; 32];
        let pt = sample().encode_signed(&ha_key(), &cb).unwrap();
        assert_eq!(
            decode_answer(&pt, &cb).unwrap(),
            ConfigAnswer::Config(sample())
        );
        let mut hip = sample();
        hip.mip = None;
        hip.hip = Some(HipConfig {
            forwarding_agent: Ipv4Addr::new(192, 0, 2, 9),
            hit: Hit::from_bytes([0x20; 16]),
        });
        hip.name_server = None;
        hip.dns_zone = None;
        let pt = hip.encode_signed(&ha_key(), &cb).unwrap();
        assert_eq!(decode_answer(&pt, &cb).unwrap(), ConfigAnswer::Config(hip));
        assert!(!format!("{:?}", sample()).contains("5a5a"));
    }

    #[test]
    fn refusal_round_trips() {
        let pt = encode_refusal(Cause::NoAddressFree, "full").unwrap();
        assert_eq!(
            decode_answer(&pt, &[0; 32]).unwrap(),
            ConfigAnswer::Refused {
                cause: Cause::NoAddressFree,
                text: "full".into()
            }
        );
    }

    #[test]
    fn signature_binds_channel_and_contents() {
        let cb = [9u8; 32];
        let pt = sample().encode_signed(&ha_key(), &cb).unwrap();
        assert_eq!(
            decode_answer(&pt, &[8u8; 32]).unwrap_err(),
            ResponseError::BadSignature
        );
        // Change the home address inside the signed part.
        let mut bad = pt.to_vec();
        let pos = bad.windows(4).position(|w| w == [10, 1, 0, 7]).unwrap();
        bad[pos + 3] = 8;
        assert_eq!(
            decode_answer(&bad, &cb).unwrap_err(),
            ResponseError::BadSignature
        );
        // Replace the HA key and re-sign with another key: verifies only
        // with that key, which is what the node pins.
        let other = SigningKey::from_bytes(&[0x22; 32]);
        let mut swapped = sample();
        swapped.ha_public_key = other.verifying_key().to_bytes();
        let pt2 = swapped.encode_signed(&other, &cb).unwrap();
        assert!(decode_answer(&pt2, &cb).is_ok());
        assert_eq!(
            sample().encode_signed(&other, &cb).unwrap_err(),
            ResponseError::KeyMismatch
        );
    }

    #[test]
    fn signature_must_be_last() {
        let cb = [9u8; 32];
        let mut pt = sample().encode_signed(&ha_key(), &cb).unwrap().to_vec();
        // An unknown optional TLV after the signature.
        pt.extend_from_slice(&[0x01, 0x00, 0, 1, 0]);
        assert_eq!(
            decode_answer(&pt, &cb).unwrap_err(),
            ResponseError::SignatureNotLast
        );
    }

    #[test]
    fn unknown_optional_tlvs_before_the_signature_are_signed_and_skipped() {
        let cb = [9u8; 32];
        let pt = sample().encode_signed(&ha_key(), &cb).unwrap();
        // Rebuild: insert an unknown non-mandatory TLV before the signature,
        // re-sign.
        let sig_at = pt.len() - (TLV_HEADER_LEN + 64);
        let mut body = pt[..sig_at].to_vec();
        body.extend_from_slice(&[0x01, 0x00, 0, 2, 7, 7]);
        let sig = ha_key().sign(&ha_proof_message(&cb, &body));
        tlv::put(&mut body, TlvType::HaSignature, &sig.to_bytes()).unwrap();
        assert_eq!(
            decode_answer(&body, &cb).unwrap(),
            ConfigAnswer::Config(sample())
        );
    }

    #[test]
    fn hip_needs_both_rendezvous_and_hit() {
        let cb = [9u8; 32];
        let mut r = sample();
        r.mip = None;
        r.hip = Some(HipConfig {
            forwarding_agent: Ipv4Addr::new(192, 0, 2, 9),
            hit: Hit::from_bytes([0x20; 16]),
        });
        let pt = r.encode_signed(&ha_key(), &cb).unwrap();
        // Drop the Hit TLV (just before the signature) and re-sign.
        let sig_at = pt.len() - (TLV_HEADER_LEN + 64);
        let mut body = pt[..sig_at - (TLV_HEADER_LEN + HIT_LEN)].to_vec();
        let sig = ha_key().sign(&ha_proof_message(&cb, &body));
        tlv::put(&mut body, TlvType::HaSignature, &sig.to_bytes()).unwrap();
        assert_eq!(
            decode_answer(&body, &cb).unwrap_err(),
            ResponseError::NoMobility
        );
    }

    #[test]
    fn sa_and_mode_checks() {
        let cb = [9u8; 32];
        let mut r = sample();
        if let Some(m) = r.mip.as_mut() {
            m.sa.spi = 255;
        }
        assert_eq!(
            r.encode_signed(&ha_key(), &cb).unwrap_err(),
            ResponseError::BadSa
        );
        let mut r = sample();
        if let Some(m) = r.mip.as_mut() {
            m.sa.key = Zeroizing::new(vec![1; 8]);
        }
        assert_eq!(
            r.encode_signed(&ha_key(), &cb).unwrap_err(),
            ResponseError::BadSa
        );
        let mut r = sample();
        r.mip = None;
        assert_eq!(
            r.encode_signed(&ha_key(), &cb).unwrap_err(),
            ResponseError::NoMobility
        );
        assert_eq!(
            MipSa::decode(&[0; 8]).unwrap_err(),
            ResponseError::Tlv(TlvError::BadLength {
                kind: TlvType::MipSa,
                len: 8
            })
        );
        let mut raw = vec![0, 0, 1, 0, 9, 0, 0, 0, 1];
        raw.extend_from_slice(&[0; 16]);
        assert_eq!(
            MipSa::decode(&raw).unwrap_err(),
            ResponseError::Tlv(TlvError::BadValue(TlvType::MipSa))
        );
    }
}
