//! RDATA of the two key-carrying record types hickory 0.26 has no typed
//! support for: IPSECKEY (RFC 4025) and HIP (RFC 8005).
//!
//! Both travel as RFC 3597 opaque RDATA inside hickory's `RData::Unknown`;
//! this module is their only encoder and decoder, so both sides of telsec
//! (update client and embedded server) agree byte for byte, and BIND parses
//! what they emit (checked by the interop tests).
//!
//! Code points, verified against the RFC text:
//! - IPSECKEY is RR type 45 (RFC 4025 §2); algorithm 4 is "an EdDSA public
//!   key", formatted as RFC 8080 §3 says (RFC 9373 §2): for Ed25519 the 32
//!   octets of RFC 8032 §5.1.5.
//! - HIP is RR type 55 (RFC 8005 §5); its PK algorithm field reuses the
//!   IPSECKEY algorithm values (RFC 8005 §5.2), so EdDSA is 4 there too.
//!   (The HIP protocol's own HI algorithm number for EdDSA, 13 in RFC 9374,
//!   belongs to HIP packets, not to this RR.)

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::{Name, RecordType};

use crate::Error;

/// RR type of IPSECKEY (RFC 4025 §2).
pub const IPSECKEY: RecordType = RecordType::Unknown(45);
/// RR type of HIP (RFC 8005 §5).
pub const HIP: RecordType = RecordType::Unknown(55);
/// IPSECKEY / HIP public-key algorithm value for EdDSA (RFC 9373 §2,
/// RFC 8005 §5.2).
pub const ALG_EDDSA: u8 = 4;
/// Length of an Ed25519 public key (RFC 8032 §5.1.5, RFC 8080 §3).
pub const ED25519_KEY_LEN: usize = 32;
/// Length of a HIT (RFC 7401 §3: 128 bits).
pub const HIT_LEN: usize = 16;

/// The gateway field of an IPSECKEY RR (RFC 4025 §2.3, §2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpsecGateway {
    /// Gateway type 0: no gateway; the key belongs to the named host itself.
    None,
    /// Gateway type 1: an IPv4 address.
    V4(Ipv4Addr),
    /// Gateway type 2: an IPv6 address.
    V6(Ipv6Addr),
    /// Gateway type 3: an uncompressed domain name.
    Name(Name),
}

/// An IPSECKEY RR's RDATA (RFC 4025 §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpsecKey {
    /// Precedence, lower is preferred (RFC 4025 §2.2).
    pub precedence: u8,
    /// The gateway (RFC 4025 §2.5).
    pub gateway: IpsecGateway,
    /// Public key algorithm (RFC 4025 §2.4; 4 = EdDSA, RFC 9373).
    pub algorithm: u8,
    /// The public key in the algorithm's format (RFC 4025 §2.6).
    pub public_key: Vec<u8>,
}

impl IpsecKey {
    /// The record telsec publishes for a node: precedence 10, no gateway
    /// (the node is its own IPsec peer), EdDSA with the Ed25519 key.
    pub fn ed25519(public_key: [u8; ED25519_KEY_LEN]) -> Self {
        Self {
            precedence: 10,
            gateway: IpsecGateway::None,
            algorithm: ALG_EDDSA,
            public_key: public_key.to_vec(),
        }
    }

    /// The Ed25519 key, if this record carries one (algorithm 4 with 32
    /// octets; Ed448 keys are 57 octets, RFC 8080 §3).
    pub fn ed25519_public_key(&self) -> Option<[u8; ED25519_KEY_LEN]> {
        if self.algorithm != ALG_EDDSA {
            return None;
        }
        self.public_key.as_slice().try_into().ok()
    }

    /// Encodes the RDATA (RFC 4025 §2.1).
    pub fn to_rdata(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(3 + 16 + self.public_key.len());
        let gateway_type = match self.gateway {
            IpsecGateway::None => 0,
            IpsecGateway::V4(_) => 1,
            IpsecGateway::V6(_) => 2,
            IpsecGateway::Name(_) => 3,
        };
        out.extend_from_slice(&[self.precedence, gateway_type, self.algorithm]);
        match &self.gateway {
            IpsecGateway::None => {}
            IpsecGateway::V4(a) => out.extend_from_slice(&a.octets()),
            IpsecGateway::V6(a) => out.extend_from_slice(&a.octets()),
            IpsecGateway::Name(n) => emit_name(n, &mut out),
        }
        out.extend_from_slice(&self.public_key);
        check_rdata_len("IPSECKEY", out)
    }

    /// Decodes the RDATA (RFC 4025 §2.1). Gateway type 3 names must be
    /// uncompressed (RFC 4025 §2.5); unknown gateway types are an error
    /// because the key's offset cannot be known.
    pub fn parse(rdata: &[u8]) -> Result<Self, Error> {
        let bad = |reason| Error::MalformedRdata {
            rtype: "IPSECKEY",
            reason,
        };
        let [precedence, gateway_type, algorithm, rest @ ..] = rdata else {
            return Err(bad("shorter than 3 octets"));
        };
        let (gateway, key) = match gateway_type {
            0 => (IpsecGateway::None, rest),
            1 => {
                let (a, key) = rest
                    .split_first_chunk::<4>()
                    .ok_or(bad("truncated IPv4 gateway"))?;
                (IpsecGateway::V4(Ipv4Addr::from(*a)), key)
            }
            2 => {
                let (a, key) = rest
                    .split_first_chunk::<16>()
                    .ok_or(bad("truncated IPv6 gateway"))?;
                (IpsecGateway::V6(Ipv6Addr::from(*a)), key)
            }
            3 => {
                let (name, used) = parse_name(rest).map_err(bad)?;
                (IpsecGateway::Name(name), &rest[used..])
            }
            _ => return Err(bad("unknown gateway type")),
        };
        Ok(Self {
            precedence: *precedence,
            gateway,
            algorithm: *algorithm,
            public_key: key.to_vec(),
        })
    }
}

/// A HIP RR's RDATA (RFC 8005 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HipRecord {
    /// The Host Identity Tag (RFC 7401 §3; 128 bits).
    pub hit: [u8; HIT_LEN],
    /// Public key algorithm, IPSECKEY values (RFC 8005 §5.2; 4 = EdDSA).
    pub pk_algorithm: u8,
    /// The Host Identity's public key in the algorithm's format
    /// (RFC 8005 §5.5).
    pub public_key: Vec<u8>,
    /// Rendezvous servers, in order of preference (RFC 8005 §5.6).
    pub rendezvous_servers: Vec<Name>,
}

impl HipRecord {
    /// A HIP RR for an Ed25519 Host Identity.
    pub fn ed25519(
        hit: [u8; HIT_LEN],
        public_key: [u8; ED25519_KEY_LEN],
        rendezvous_servers: Vec<Name>,
    ) -> Self {
        Self {
            hit,
            pk_algorithm: ALG_EDDSA,
            public_key: public_key.to_vec(),
            rendezvous_servers,
        }
    }

    /// Encodes the RDATA: HIT length, PK algorithm, PK length, HIT, public
    /// key, then the rendezvous servers as uncompressed names (RFC 8005 §5,
    /// §5.6).
    pub fn to_rdata(&self) -> Result<Vec<u8>, Error> {
        let pk_len = u16::try_from(self.public_key.len()).map_err(|_| Error::MalformedRdata {
            rtype: "HIP",
            reason: "public key longer than 65535 octets",
        })?;
        let mut out = Vec::with_capacity(4 + HIT_LEN + self.public_key.len());
        out.push(HIT_LEN as u8);
        out.push(self.pk_algorithm);
        out.extend_from_slice(&pk_len.to_be_bytes());
        out.extend_from_slice(&self.hit);
        out.extend_from_slice(&self.public_key);
        for rvs in &self.rendezvous_servers {
            emit_name(rvs, &mut out);
        }
        check_rdata_len("HIP", out)
    }

    /// Decodes the RDATA (RFC 8005 §5). A HIT other than 128 bits is
    /// refused: HIPv2 defines no other length (RFC 7401 §3).
    pub fn parse(rdata: &[u8]) -> Result<Self, Error> {
        let bad = |reason| Error::MalformedRdata {
            rtype: "HIP",
            reason,
        };
        let [hit_len, pk_algorithm, pk0, pk1, rest @ ..] = rdata else {
            return Err(bad("shorter than 4 octets"));
        };
        if usize::from(*hit_len) != HIT_LEN {
            return Err(bad("HIT is not 16 octets"));
        }
        let pk_len = usize::from(u16::from_be_bytes([*pk0, *pk1]));
        let (hit, rest) = rest
            .split_first_chunk::<HIT_LEN>()
            .ok_or(bad("truncated HIT"))?;
        if rest.len() < pk_len {
            return Err(bad("truncated public key"));
        }
        let (public_key, mut rest) = rest.split_at(pk_len);
        let mut rendezvous_servers = Vec::new();
        while !rest.is_empty() {
            let (name, used) = parse_name(rest).map_err(bad)?;
            rendezvous_servers.push(name);
            rest = &rest[used..];
        }
        Ok(Self {
            hit: *hit,
            pk_algorithm: *pk_algorithm,
            public_key: public_key.to_vec(),
            rendezvous_servers,
        })
    }
}

/// RDATA is at most 65535 octets (RFC 1035 §3.2.1, RDLENGTH is 16 bits).
fn check_rdata_len(rtype: &'static str, rdata: Vec<u8>) -> Result<Vec<u8>, Error> {
    if rdata.len() > usize::from(u16::MAX) {
        return Err(Error::MalformedRdata {
            rtype,
            reason: "RDATA longer than 65535 octets",
        });
    }
    Ok(rdata)
}

/// Writes `name` in uncompressed wire form (RFC 1035 §3.1), as RFC 4025
/// §2.5 and RFC 8005 §5.6 require inside RDATA.
fn emit_name(name: &Name, out: &mut Vec<u8>) {
    for label in name.iter() {
        // Labels of a hickory `Name` are at most 63 octets by construction.
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
}

/// Reads one uncompressed name; returns it and the octets used.
fn parse_name(buf: &[u8]) -> Result<(Name, usize), &'static str> {
    let mut labels: Vec<&[u8]> = Vec::new();
    let mut at = 0usize;
    loop {
        let len = usize::from(*buf.get(at).ok_or("truncated domain name")?);
        at += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return Err("compressed or invalid label in domain name");
        }
        let label = buf.get(at..at + len).ok_or("truncated domain name")?;
        labels.push(label);
        at += len;
        if at > 255 {
            return Err("domain name longer than 255 octets");
        }
    }
    let mut name = Name::from_labels(labels).map_err(|_| "invalid domain name")?;
    name.set_fqdn(true);
    Ok((name, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[test]
    fn ipseckey_ed25519_layout() {
        let key = [7u8; 32];
        let rdata = IpsecKey::ed25519(key).to_rdata().unwrap();
        // precedence 10, gateway type 0, algorithm 4, then the raw key.
        assert_eq!(&rdata[..3], &[10, 0, 4]);
        assert_eq!(&rdata[3..], &key);
        let back = IpsecKey::parse(&rdata).unwrap();
        assert_eq!(back.ed25519_public_key(), Some(key));
    }

    #[test]
    fn ipseckey_gateways_round_trip() {
        for gateway in [
            IpsecGateway::V4(Ipv4Addr::new(192, 0, 2, 38)),
            IpsecGateway::V6(Ipv6Addr::LOCALHOST),
            IpsecGateway::Name(name("gw.telsec.test.")),
        ] {
            let k = IpsecKey {
                precedence: 1,
                gateway,
                algorithm: 2,
                public_key: vec![1, 2, 3],
            };
            assert_eq!(IpsecKey::parse(&k.to_rdata().unwrap()).unwrap(), k);
        }
    }

    #[test]
    fn ipseckey_rfc4025_example_prefix() {
        // RFC 4025 §3.1, first example: precedence 10, gateway type 1
        // (192.0.2.38), algorithm 2; the key's first bytes (base64 "AQNRU3mG")
        // are 01 03 51 53 79 86.
        let rdata = [10, 1, 2, 192, 0, 2, 38, 0x01, 0x03, 0x51, 0x53, 0x79, 0x86];
        let k = IpsecKey::parse(&rdata).unwrap();
        assert_eq!(k.precedence, 10);
        assert_eq!(k.gateway, IpsecGateway::V4(Ipv4Addr::new(192, 0, 2, 38)));
        assert_eq!(k.algorithm, 2);
        assert_eq!(k.public_key, [0x01, 0x03, 0x51, 0x53, 0x79, 0x86]);
        assert_eq!(k.ed25519_public_key(), None);
        assert_eq!(k.to_rdata().unwrap(), rdata);
    }

    #[test]
    fn ipseckey_rejects_truncation() {
        assert!(IpsecKey::parse(&[10, 0]).is_err());
        assert!(IpsecKey::parse(&[10, 1, 2, 192, 0]).is_err());
        assert!(IpsecKey::parse(&[10, 2, 2, 0, 0, 0]).is_err());
        assert!(IpsecKey::parse(&[10, 3, 2, 5, b'a']).is_err());
        assert!(IpsecKey::parse(&[10, 4, 2]).is_err());
        // A compression pointer is not allowed in RDATA names.
        assert!(IpsecKey::parse(&[10, 3, 2, 0xc0, 0x0c]).is_err());
    }

    #[test]
    fn hip_layout_and_round_trip() {
        let hit = [
            0x20, 0x01, 0x00, 0x2a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
        ];
        let pk = [9u8; 32];
        let rec = HipRecord::ed25519(hit, pk, vec![name("rvs1.telsec.test."), name("rvs2.")]);
        let rdata = rec.to_rdata().unwrap();
        assert_eq!(rdata[0], 16);
        assert_eq!(rdata[1], ALG_EDDSA);
        assert_eq!(&rdata[2..4], &[0, 32]);
        assert_eq!(&rdata[4..20], &hit);
        assert_eq!(&rdata[20..52], &pk);
        assert_eq!(&rdata[52..57], b"\x04rvs1");
        assert_eq!(HipRecord::parse(&rdata).unwrap(), rec);
    }

    #[test]
    fn hip_rejects_bad_lengths() {
        let mut rdata = HipRecord::ed25519([1; 16], [2; 32], vec![])
            .to_rdata()
            .unwrap();
        assert!(HipRecord::parse(&rdata[..rdata.len() - 1]).is_err());
        rdata[0] = 15;
        assert!(HipRecord::parse(&rdata).is_err());
        assert!(HipRecord::parse(&[16, 4, 0]).is_err());
        let mut long_pk = HipRecord::ed25519([1; 16], [2; 32], vec![])
            .to_rdata()
            .unwrap();
        long_pk[3] = 33;
        assert!(HipRecord::parse(&long_pk).is_err());
    }
}
