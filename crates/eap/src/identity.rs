//! The identities an EAP-AKA' peer presents, and how the server gets an
//! IMSI out of them to ask the HLR for a vector.
//!
//! Understood forms:
//! - the permanent NAI `0<IMSI>@realm` (EAP-AKA, RFC 4187 §4.1.1.6) or
//!   `6<IMSI>@realm` (EAP-AKA', TS 23.003 §19.3.2), and the same without a
//!   realm when it is 16 digits (RFC 9048 Appendix C uses
//!   `0555444333222111`);
//! - a bare IMSI of 6 to 15 digits without a realm (a realm-less string of
//!   15 digits or fewer is always read this way, never as prefix + IMSI);
//! - a SUCI in NAI form (TS 23.003 §28.7.3, RFC 9048 §3.2's 5G usage):
//!   `type0.rid<RI>.schid0.userid<MSIN>@...mnc<MNC>.mcc<MCC>...` for the
//!   null scheme, `type0.rid<RI>.schid<1|2>.hnkey<id>.ecckey<hex>.cip<hex>.mac<hex>@...`
//!   for ECIES profiles A and B, de-concealed with
//!   `telsec_auth::suci::HomeNetworkKeys`.
//!
//! Not understood: pseudonyms and fast re-authentication identities (this
//! server keeps no such state, so it asks for the permanent identity), and
//! SUCIs of SUPI types 1-3 (a NAI-form SUPI has no IMSI for the HLR). The
//! realm carries the MNC as three digits: `mnc0XY` is read as the two-digit
//! MNC `XY`, unless the three-digit `0XY` makes the IMSI 15 digits long
//! (the usual length) where `XY` makes it 14.

use telsec_auth::suci::{HomeNetworkKeys, Suci, SuciError, SupiType};

/// The longest identity accepted (an NAI is at most 253 octets, RFC 7542
/// §2.2; a SUCI of profile B in NAI form stays well below this).
pub const MAX_IDENTITY_LEN: usize = 1024;

/// Why an identity yields no IMSI.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The identity is empty.
    #[error("empty identity")]
    Empty,
    /// Longer than [`MAX_IDENTITY_LEN`].
    #[error("identity of {0} octets is too long")]
    TooLong(usize),
    /// Not UTF-8 (an NAI is UTF-8, RFC 7542 §2.2).
    #[error("identity is not UTF-8")]
    NotUtf8,
    /// A pseudonym, fast re-authentication identity or anything else that is
    /// not a permanent identity or SUCI: the server asks for the permanent
    /// identity (RFC 4187 §4.1.6).
    #[error("not a permanent identity")]
    NotPermanent,
    /// The realm of a permanent NAI is not the configured one.
    #[error("realm {0:?} is not served here")]
    WrongRealm(String),
    /// A SUCI without the `mncXXX` / `mccYYY` labels in its realm.
    #[error("SUCI realm has no MCC/MNC")]
    SuciRealm,
    /// A SUCI NAI username that does not follow TS 23.003 §28.7.3; the text
    /// names the field.
    #[error("malformed SUCI NAI: {0}")]
    SuciSyntax(&'static str),
    /// A SUCI of a SUPI type without IMSI (TS 23.003 §2.2B types 1-3).
    #[error("SUCI of SUPI type {0} carries no IMSI")]
    NoImsi(u8),
    /// De-concealment failed (unknown key, MAC tag mismatch...).
    #[error("SUCI: {0}")]
    Suci(#[from] SuciError),
}

/// How an identity was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A permanent identity: `prefix` is `'0'`, `'6'` or `None` for a bare
    /// IMSI.
    Permanent {
        /// The IMSI.
        imsi: String,
        /// The leading digit that marks the identity type.
        prefix: Option<char>,
    },
    /// A SUCI, de-concealed to this IMSI.
    Suci {
        /// The IMSI.
        imsi: String,
    },
}

impl Resolved {
    /// The IMSI.
    pub fn imsi(&self) -> &str {
        match self {
            Resolved::Permanent { imsi, .. } | Resolved::Suci { imsi } => imsi,
        }
    }
}

/// Turns identities into IMSIs with the server's realm and SUCI keys.
#[derive(Clone, Default)]
pub struct IdentityResolver {
    /// When set, a permanent NAI with a realm must carry this one (compared
    /// without regard to ASCII case). SUCI realms are not compared with it:
    /// they are built from MCC and MNC (TS 23.003 §28.7.3).
    pub realm: Option<String>,
    /// Home network private keys for SUCI de-concealment. The null scheme
    /// needs none.
    pub suci_keys: HomeNetworkKeys,
}

impl core::fmt::Debug for IdentityResolver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IdentityResolver")
            .field("realm", &self.realm)
            .field("suci_keys", &self.suci_keys)
            .finish()
    }
}

fn is_imsi(digits: &str) -> bool {
    (6..=15).contains(&digits.len()) && digits.bytes().all(|c| c.is_ascii_digit())
}

impl IdentityResolver {
    /// Read an identity and find its IMSI.
    ///
    /// # Errors
    /// [`IdentityError`] saying why there is none.
    pub fn resolve(&self, identity: &[u8]) -> Result<Resolved, IdentityError> {
        if identity.is_empty() {
            return Err(IdentityError::Empty);
        }
        if identity.len() > MAX_IDENTITY_LEN {
            return Err(IdentityError::TooLong(identity.len()));
        }
        let text = core::str::from_utf8(identity).map_err(|_| IdentityError::NotUtf8)?;
        let (user, realm) = match text.rsplit_once('@') {
            Some((user, realm)) => (user, Some(realm)),
            None => (text, None),
        };
        if user.starts_with("type") {
            return self.resolve_suci(user, realm.unwrap_or(""));
        }
        let permanent = match (user.as_bytes().first(), realm) {
            (Some(&p @ (b'0' | b'6')), Some(_)) if is_imsi(&user[1..]) => {
                Some((user[1..].to_owned(), Some(char::from(p))))
            }
            (Some(&p @ (b'0' | b'6')), None) if user.len() == 16 && is_imsi(&user[1..]) => {
                Some((user[1..].to_owned(), Some(char::from(p))))
            }
            (_, None) if is_imsi(user) => Some((user.to_owned(), None)),
            _ => None,
        };
        let Some((imsi, prefix)) = permanent else {
            return Err(IdentityError::NotPermanent);
        };
        if let (Some(want), Some(got)) = (&self.realm, realm) {
            if !want.eq_ignore_ascii_case(got) {
                return Err(IdentityError::WrongRealm(got.to_owned()));
            }
        }
        Ok(Resolved::Permanent { imsi, prefix })
    }

    /// A SUCI in NAI form (TS 23.003 §28.7.3).
    fn resolve_suci(&self, user: &str, realm: &str) -> Result<Resolved, IdentityError> {
        let nai = SuciNai::parse(user)?;
        if nai.supi_type != 0 {
            return Err(IdentityError::NoImsi(nai.supi_type));
        }
        let (mcc, mnc) = plmn_labels(realm).ok_or(IdentityError::SuciRealm)?;
        // The realm pads a two-digit MNC to three (TS 23.003 §28.7.3): read
        // `mnc0XY` as `XY`, unless `0XY` gives the usual 15-digit IMSI.
        let short = mnc.strip_prefix('0').unwrap_or(mnc);
        let text = format!(
            "suci-0-{mcc}-{short}-{}-{:x}-{}-{}",
            nai.routing_indicator, nai.scheme, nai.hn_key_id, nai.output
        );
        let supi = self.suci_keys.deconceal(&Suci::parse(&text)?)?;
        if supi.kind() != SupiType::Imsi {
            return Err(IdentityError::NoImsi(supi.kind().value()));
        }
        let imsi = supi.value();
        let imsi = if short.len() == 2 && imsi.len() == 14 {
            format!("{mcc}{mnc}{}", &imsi[5..])
        } else {
            imsi.to_owned()
        };
        Ok(Resolved::Suci { imsi })
    }
}

/// The `mccYYY` and `mncXXX` labels of a 3GPP realm.
fn plmn_labels(realm: &str) -> Option<(&str, &str)> {
    let mut mcc = None;
    let mut mnc = None;
    for label in realm.split('.') {
        let digits = |prefix: &str| {
            label
                .strip_prefix(prefix)
                .filter(|d| d.len() == 3 && d.bytes().all(|c| c.is_ascii_digit()))
        };
        if let Some(d) = digits("mcc") {
            mcc = Some(d);
        } else if let Some(d) = digits("mnc") {
            mnc = Some(d);
        }
    }
    Some((mcc?, mnc?))
}

/// The fields of a SUCI NAI username.
struct SuciNai<'a> {
    supi_type: u8,
    routing_indicator: &'a str,
    scheme: u8,
    hn_key_id: &'a str,
    /// The scheme output in TS 29.503 text form: the clear MSIN/username,
    /// or the hex of ephemeral key || ciphertext || MAC tag.
    output: String,
}

fn field<'a>(rest: &mut &'a str, name: &'static str) -> Result<&'a str, IdentityError> {
    let value = rest
        .strip_prefix(name)
        .ok_or(IdentityError::SuciSyntax(name))?;
    let (value, tail) = value.split_once('.').unwrap_or((value, ""));
    *rest = tail;
    Ok(value)
}

fn decimal(text: &str, max: u8, name: &'static str) -> Result<u8, IdentityError> {
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|c| c.is_ascii_digit()) {
        return Err(IdentityError::SuciSyntax(name));
    }
    text.parse::<u8>()
        .ok()
        .filter(|&v| v <= max)
        .ok_or(IdentityError::SuciSyntax(name))
}

fn hex<'a>(text: &'a str, name: &'static str) -> Result<&'a str, IdentityError> {
    if text.is_empty() || text.len() % 2 != 0 || !text.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(IdentityError::SuciSyntax(name));
    }
    Ok(text)
}

impl<'a> SuciNai<'a> {
    fn parse(user: &'a str) -> Result<SuciNai<'a>, IdentityError> {
        let mut rest = user;
        let supi_type = decimal(field(&mut rest, "type")?, 7, "type")?;
        let routing_indicator = field(&mut rest, "rid")?;
        let scheme = decimal(field(&mut rest, "schid")?, 15, "schid")?;
        if scheme == 0 {
            // The clear username may itself contain dots: take it all.
            let output = rest
                .strip_prefix("userid")
                .ok_or(IdentityError::SuciSyntax("userid"))?;
            return Ok(SuciNai {
                supi_type,
                routing_indicator,
                scheme,
                hn_key_id: "0",
                output: output.to_owned(),
            });
        }
        let hn_key_id = field(&mut rest, "hnkey")?;
        decimal(hn_key_id, u8::MAX, "hnkey")?;
        let ecc = hex(field(&mut rest, "ecckey")?, "ecckey")?;
        let cip = hex(field(&mut rest, "cip")?, "cip")?;
        let mac = hex(field(&mut rest, "mac")?, "mac")?;
        if !rest.is_empty() {
            return Err(IdentityError::SuciSyntax("trailing fields"));
        }
        Ok(SuciNai {
            supi_type,
            routing_indicator,
            scheme,
            hn_key_id,
            output: format!("{ecc}{cip}{mac}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telsec_auth::kdf::PlmnId;
    use telsec_auth::suci::{HomeNetworkPrivateKey, Profile};

    fn resolver() -> IdentityResolver {
        IdentityResolver {
            realm: Some("wlan.mnc001.mcc001.3gppnetwork.org".into()),
            suci_keys: HomeNetworkKeys::new(),
        }
    }

    fn imsi(r: Result<Resolved, IdentityError>) -> String {
        r.unwrap().imsi().to_owned()
    }

    #[test]
    fn permanent_forms() {
        let r = resolver();
        assert_eq!(
            r.resolve(b"6001010123456789@wlan.mnc001.mcc001.3gppnetwork.org"),
            Ok(Resolved::Permanent {
                imsi: "001010123456789".into(),
                prefix: Some('6')
            })
        );
        assert_eq!(
            imsi(r.resolve(b"0001010123456789@WLAN.mnc001.mcc001.3gppnetwork.org")),
            "001010123456789"
        );
        // RFC 9048 Appendix C's identity: 16 digits, no realm.
        assert_eq!(imsi(r.resolve(b"0555444333222111")), "555444333222111");
        // A bare IMSI.
        assert_eq!(
            r.resolve(b"001010123456789"),
            Ok(Resolved::Permanent {
                imsi: "001010123456789".into(),
                prefix: None
            })
        );
    }

    #[test]
    fn refusals() {
        let r = resolver();
        assert_eq!(r.resolve(b""), Err(IdentityError::Empty));
        assert_eq!(r.resolve(&[b'6'; 2000]), Err(IdentityError::TooLong(2000)));
        assert_eq!(r.resolve(&[0xff, 0xfe]), Err(IdentityError::NotUtf8));
        assert_eq!(
            r.resolve(b"7pseudonym@wlan.mnc001.mcc001.3gppnetwork.org"),
            Err(IdentityError::NotPermanent)
        );
        assert_eq!(
            r.resolve(b"6001010123456789@other.example"),
            Err(IdentityError::WrongRealm("other.example".into()))
        );
        // Prefix + IMSI needs a realm unless it is 16 digits.
        assert_eq!(imsi(r.resolve(b"600101012345678")), "600101012345678");
        assert_eq!(
            r.resolve(b"6001@wlan.mnc001.mcc001.3gppnetwork.org"),
            Err(IdentityError::NotPermanent)
        );
    }

    #[test]
    fn null_scheme_suci_nai() {
        let r = resolver();
        // TS 23.003 §28.7.3 example: MCC 234, MNC 15, MSIN 0999999999.
        let id = b"type0.rid678.schid0.userid0999999999@nai.5gc.mnc015.mcc234.3gppnetwork.org";
        assert_eq!(
            r.resolve(id),
            Ok(Resolved::Suci {
                imsi: "234150999999999".into()
            })
        );
        // A three-digit MNC: taken as it is.
        let id = b"type0.rid1.schid0.userid123456789@5gc.mnc310.mcc310.3gppnetwork.org";
        assert_eq!(imsi(r.resolve(id)), "310310123456789");
        // mnc030 with a 9-digit MSIN: only the three-digit reading gives 15
        // digits.
        let id = b"type0.rid1.schid0.userid123456789@5gc.mnc030.mcc310.3gppnetwork.org";
        assert_eq!(imsi(r.resolve(id)), "310030123456789");
        // SUPI type 1 has no IMSI.
        assert_eq!(
            r.resolve(b"type1.rid678.schid0.useriduser17@example.com"),
            Err(IdentityError::NoImsi(1))
        );
        assert!(matches!(
            r.resolve(b"type0.rid678.schid0.userid0999@nowhere.example"),
            Err(IdentityError::SuciRealm)
        ));
        assert!(matches!(
            r.resolve(b"type0.rid678.schid1.hnkey1.ecckeyzz.cip00.mac00@5gc.mnc015.mcc234.3gppnetwork.org"),
            Err(IdentityError::SuciSyntax("ecckey"))
        ));
    }

    #[test]
    fn concealed_suci_nai() {
        // Conceal with telsec-auth, write the NAI form, resolve it back.
        let private = HomeNetworkPrivateKey::from_bytes(Profile::A, &[0x42; 32]).unwrap();
        let public = private.public_key();
        let mut keys = HomeNetworkKeys::new();
        keys.insert(7, private);
        let plmn = PlmnId::new("001", "01").unwrap();
        let suci = Suci::conceal_imsi(plmn, "0123456789", "0", 7, &public, &[0x24; 32]).unwrap();
        let telsec_auth::suci::SchemeOutput::Concealed(output) = suci.scheme_output() else {
            panic!("concealed");
        };
        let (ecc, rest) = output.split_at(32);
        let (cip, mac) = rest.split_at(rest.len() - 8);
        let nai = format!(
            "type0.rid0.schid1.hnkey7.ecckey{}.cip{}.mac{}@nai.5gc.mnc001.mcc001.3gppnetwork.org",
            to_hex(ecc),
            to_hex(cip),
            to_hex(mac)
        );
        let r = IdentityResolver {
            realm: None,
            suci_keys: keys,
        };
        assert_eq!(imsi(r.resolve(nai.as_bytes())), "001010123456789");
        // Without the key: an error naming it.
        assert_eq!(
            resolver().resolve(nai.as_bytes()),
            Err(IdentityError::Suci(SuciError::UnknownKeyId(7)))
        );
        // A flipped MAC tag.
        let bad = nai.replace(&format!(".mac{}", to_hex(mac)), ".mac0000000000000000");
        assert!(matches!(
            r.resolve(bad.as_bytes()),
            Err(IdentityError::Suci(SuciError::MacMismatch))
        ));
    }

    fn to_hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
