//! SUCI: the concealed subscription identifier of 5G (TS 33.501 §6.12,
//! Annex C; TS 23.003 §2.2B) in the text form of TS 29.503, and its
//! de-concealment by the SIDF.
//!
//! A SUCI string is, for an IMSI (SUPI type 0),
//! `suci-0-<MCC>-<MNC>-<routing indicator>-<protection scheme>-<HN public key id>-<scheme output>`
//! and, for a NAI-form SUPI (types 1 to 3),
//! `suci-<type>-<realm>-<routing indicator>-<protection scheme>-<HN public key id>-<scheme output>`
//! (TS 29.503 `Suci` pattern). The null scheme (`0-0-`) carries the MSIN
//! digits or the NAI username in clear; profiles A and B carry the hex of the
//! ECIES scheme output ([`ecies`]).
//!
//! The parser returns errors and never panics; the input length is bounded
//! by [`MAX_SUCI_LEN`] before anything is allocated for it.

use core::fmt;
use core::str::FromStr;

use crate::kdf::PlmnId;

pub mod ecies;
mod keys;

pub use keys::{HomeNetworkKeys, HomeNetworkPrivateKey, HomeNetworkPublicKey};

/// The longest SUCI string accepted: room for a 253-octet NAI realm and a
/// concealed 253-octet username in hex (RFC 7542 §2.2), with margin.
pub const MAX_SUCI_LEN: usize = 2048;

/// Why a SUCI could not be parsed, built or de-concealed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuciError {
    /// The SUCI string is longer than [`MAX_SUCI_LEN`].
    #[error("SUCI of {len} characters exceeds {max}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The SUCI string does not follow TS 29.503; the text names the field.
    #[error("malformed SUCI: {0}")]
    Syntax(&'static str),
    /// A SUPI type other than IMSI, network specific identifier, GCI or GLI
    /// (TS 23.003 §2.2B: values 4-7 are spare).
    #[error("unsupported SUPI type {0}")]
    UnsupportedSupiType(u8),
    /// A protection scheme other than null, profile A or profile B
    /// (TS 33.501 Annex C.1).
    #[error("unsupported protection scheme {0:#x}")]
    UnsupportedScheme(u8),
    /// A profile name other than `a` or `b`.
    #[error("unknown ECIES profile (expected a or b)")]
    UnknownProfile,
    /// No home network key has the identifier the SUCI names.
    #[error("no home network key with identifier {0}")]
    UnknownKeyId(u8),
    /// The key named by the SUCI is of another profile than its scheme.
    #[error("SUCI uses profile {suci} but the home network key is profile {key}")]
    ProfileMismatch {
        /// The profile of the SUCI's protection scheme.
        suci: Profile,
        /// The profile of the key.
        key: Profile,
    },
    /// A home network key (or ephemeral private key) that is not valid for
    /// its profile, or bad hex.
    #[error("invalid key")]
    InvalidKey,
    /// The ephemeral public key in the scheme output is not a valid point
    /// (or gives an all-zero X25519 secret).
    #[error("invalid ephemeral public key")]
    InvalidEphemeralKey,
    /// The scheme output cannot hold the ephemeral key, a ciphertext and the
    /// MAC tag.
    #[error("scheme output too short")]
    SchemeOutputTooShort,
    /// The MAC tag does not match: forged, corrupted or another key.
    #[error("scheme output MAC tag mismatch")]
    MacMismatch,
    /// The decrypted scheme input is not an MSIN in BCD or a UTF-8 username.
    #[error("decrypted identity is malformed")]
    InvalidPlaintext,
    /// An identity to conceal (MSIN, username, realm, routing indicator)
    /// is malformed, or a SUPI string is not valid.
    #[error("invalid subscriber identity")]
    InvalidIdentity,
}

/// The ECIES profile of a home network key pair (TS 33.501 Annex C.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Profile A: Curve25519 / X25519.
    A,
    /// Profile B: secp256r1 with point compression.
    B,
}

impl Profile {
    /// The protection scheme identifier of the profile.
    pub fn scheme(self) -> ProtectionScheme {
        match self {
            Profile::A => ProtectionScheme::ProfileA,
            Profile::B => ProtectionScheme::ProfileB,
        }
    }

    /// Octets of the ephemeral public key in the scheme output: 32 for A,
    /// 33 (a compressed point) for B.
    pub fn ephemeral_key_len(self) -> usize {
        match self {
            Profile::A => 32,
            Profile::B => 33,
        }
    }
}

/// `a` / `b`, either case.
impl FromStr for Profile {
    type Err = SuciError;

    fn from_str(s: &str) -> Result<Profile, SuciError> {
        match s {
            "a" | "A" => Ok(Profile::A),
            "b" | "B" => Ok(Profile::B),
            _ => Err(SuciError::UnknownProfile),
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::A => "A",
            Profile::B => "B",
        })
    }
}

/// The protection scheme identifier, one hex digit (TS 33.501 Annex C.1,
/// TS 24.501 §9.11.3.4): 0 null, 1 profile A, 2 profile B; 3-B are reserved
/// and C-F operator specific, kept as [`ProtectionScheme::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtectionScheme {
    /// The null scheme: the identity in clear.
    Null,
    /// ECIES profile A.
    ProfileA,
    /// ECIES profile B.
    ProfileB,
    /// Any other value.
    Unknown(u8),
}

impl ProtectionScheme {
    /// The scheme of an identifier value.
    pub fn from_value(value: u8) -> ProtectionScheme {
        match value {
            0 => ProtectionScheme::Null,
            1 => ProtectionScheme::ProfileA,
            2 => ProtectionScheme::ProfileB,
            other => ProtectionScheme::Unknown(other),
        }
    }

    /// The identifier value.
    pub fn value(self) -> u8 {
        match self {
            ProtectionScheme::Null => 0,
            ProtectionScheme::ProfileA => 1,
            ProtectionScheme::ProfileB => 2,
            ProtectionScheme::Unknown(value) => value,
        }
    }

    /// The ECIES profile of the scheme, if it is one.
    pub fn profile(self) -> Option<Profile> {
        match self {
            ProtectionScheme::ProfileA => Some(Profile::A),
            ProtectionScheme::ProfileB => Some(Profile::B),
            _ => None,
        }
    }
}

/// The SUPI type of a SUCI (TS 23.003 §2.2B, TS 24.501 §9.11.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SupiType {
    /// 0: an IMSI.
    Imsi,
    /// 1: a network specific identifier (a NAI).
    NetworkSpecific,
    /// 2: a Global Cable Identifier.
    Gci,
    /// 3: a Global Line Identifier.
    Gli,
}

impl SupiType {
    /// The type of a value 0..=3.
    ///
    /// # Errors
    /// [`SuciError::UnsupportedSupiType`] for the spare values 4 and above.
    pub fn from_value(value: u8) -> Result<SupiType, SuciError> {
        match value {
            0 => Ok(SupiType::Imsi),
            1 => Ok(SupiType::NetworkSpecific),
            2 => Ok(SupiType::Gci),
            3 => Ok(SupiType::Gli),
            other => Err(SuciError::UnsupportedSupiType(other)),
        }
    }

    /// The type value.
    pub fn value(self) -> u8 {
        match self {
            SupiType::Imsi => 0,
            SupiType::NetworkSpecific => 1,
            SupiType::Gci => 2,
            SupiType::Gli => 3,
        }
    }

    /// The prefix of the SUPI text form (TS 29.571 `Supi`).
    fn prefix(self) -> &'static str {
        match self {
            SupiType::Imsi => "imsi",
            SupiType::NetworkSpecific => "nai",
            SupiType::Gci => "gci",
            SupiType::Gli => "gli",
        }
    }
}

/// The home network identifier of a SUCI (TS 23.003 §2.2B).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HomeNetworkId {
    /// MCC and MNC, for an IMSI.
    Plmn(PlmnId),
    /// The realm of a NAI-form SUPI.
    Realm(String),
}

/// The scheme output of a SUCI.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum SchemeOutput {
    /// Null scheme: the MSIN digits or the NAI username, in clear.
    Clear(String),
    /// An ECIES (or other) scheme output: its octets.
    Concealed(Vec<u8>),
}

impl fmt::Debug for SchemeOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemeOutput::Clear(text) => write!(f, "Clear({text:?})"),
            SchemeOutput::Concealed(bytes) => {
                f.write_str("Concealed(")?;
                write_hex(f, bytes)?;
                f.write_str(")")
            }
        }
    }
}

/// A subscription permanent identifier (TS 23.003 §2.2A) in the text form of
/// TS 29.571: `imsi-<digits>`, `nai-<user@realm>`, `gci-<..>`, `gli-<..>`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Supi {
    kind: SupiType,
    value: String,
}

impl Supi {
    /// The SUPI of an IMSI of 5 to 15 digits (TS 23.003 §2.2, TS 29.571).
    ///
    /// # Errors
    /// [`SuciError::InvalidIdentity`] for anything else.
    pub fn imsi(digits: &str) -> Result<Supi, SuciError> {
        if !(5..=15).contains(&digits.len()) || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return Err(SuciError::InvalidIdentity);
        }
        Ok(Supi {
            kind: SupiType::Imsi,
            value: digits.to_owned(),
        })
    }

    /// The SUPI of a NAI-form identity (`username@realm`) of `kind`.
    ///
    /// # Errors
    /// [`SuciError::InvalidIdentity`] for an IMSI kind, a NAI without `@`,
    /// an empty part or control characters.
    pub fn nai(kind: SupiType, nai: &str) -> Result<Supi, SuciError> {
        let (user, realm) = nai.rsplit_once('@').ok_or(SuciError::InvalidIdentity)?;
        if kind == SupiType::Imsi || !valid_username(user) || !valid_realm(realm) {
            return Err(SuciError::InvalidIdentity);
        }
        Ok(Supi {
            kind,
            value: nai.to_owned(),
        })
    }

    /// The SUPI type.
    pub fn kind(&self) -> SupiType {
        self.kind
    }

    /// The identity without its type prefix: the IMSI digits or the NAI.
    /// This is `P0` of the KAMF derivation (TS 33.501 A.7.0,
    /// [`crate::kdf::fiveg::kamf`]).
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for Supi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.kind.prefix(), self.value)
    }
}

impl fmt::Debug for Supi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Supi({self})")
    }
}

/// Parses `imsi-<5..15 digits>`, `nai-<user@realm>`, `gci-..`, `gli-..`.
impl FromStr for Supi {
    type Err = SuciError;

    fn from_str(s: &str) -> Result<Supi, SuciError> {
        if s.len() > MAX_SUCI_LEN {
            return Err(SuciError::InvalidIdentity);
        }
        let (prefix, value) = s.split_once('-').ok_or(SuciError::InvalidIdentity)?;
        match prefix {
            "imsi" => Supi::imsi(value),
            "nai" => Supi::nai(SupiType::NetworkSpecific, value),
            "gci" => Supi::nai(SupiType::Gci, value),
            "gli" => Supi::nai(SupiType::Gli, value),
            _ => Err(SuciError::InvalidIdentity),
        }
    }
}

/// A parsed SUCI (TS 23.003 §2.2B) in its TS 29.503 text form.
///
/// Built only by [`Suci::parse`] and the constructors, which keep it
/// consistent: an IMSI has a PLMN home network, the null scheme has key
/// identifier 0 and a clear output, other schemes a concealed one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Suci {
    supi_type: SupiType,
    home_network: HomeNetworkId,
    routing_indicator: String,
    scheme: ProtectionScheme,
    hn_key_id: u8,
    output: SchemeOutput,
}

impl Suci {
    /// Parse a SUCI string (TS 29.503 `Suci`).
    ///
    /// For NAI-form SUCIs the realm may contain `-`: the realm ends at the
    /// first `-` after which a routing indicator, scheme, key identifier and
    /// output follow.
    ///
    /// # Errors
    /// [`SuciError::TooLong`], [`SuciError::Syntax`] naming the bad field,
    /// [`SuciError::UnsupportedSupiType`] for types 4-7.
    pub fn parse(text: &str) -> Result<Suci, SuciError> {
        if text.len() > MAX_SUCI_LEN {
            return Err(SuciError::TooLong {
                len: text.len(),
                max: MAX_SUCI_LEN,
            });
        }
        let rest = text
            .strip_prefix("suci-")
            .ok_or(SuciError::Syntax("missing suci- prefix"))?;
        let (kind, rest) = rest.split_once('-').ok_or(SuciError::Syntax("SUPI type"))?;
        let supi_type = match kind.as_bytes() {
            [digit @ b'0'..=b'9'] => SupiType::from_value(digit - b'0')?,
            _ => return Err(SuciError::Syntax("SUPI type")),
        };
        if supi_type == SupiType::Imsi {
            let (mcc, rest) = rest.split_once('-').ok_or(SuciError::Syntax("MCC"))?;
            let (mnc, rest) = rest.split_once('-').ok_or(SuciError::Syntax("MNC"))?;
            let plmn = PlmnId::new(mcc, mnc).map_err(|_| SuciError::Syntax("MCC/MNC"))?;
            let tail = Tail::parse(rest)?;
            return Suci::assemble(supi_type, HomeNetworkId::Plmn(plmn), tail);
        }
        // The realm is the shortest prefix after which a valid tail follows.
        let mut error = SuciError::Syntax("home network identifier");
        for (index, _) in rest.match_indices('-') {
            let realm = &rest[..index];
            if realm.is_empty() {
                continue;
            }
            match Tail::parse(&rest[index + 1..]) {
                Ok(tail) => {
                    if !valid_realm(realm) {
                        return Err(SuciError::Syntax("realm"));
                    }
                    return Suci::assemble(supi_type, HomeNetworkId::Realm(realm.to_owned()), tail);
                }
                Err(e) => error = e,
            }
        }
        Err(error)
    }

    fn assemble(
        supi_type: SupiType,
        home_network: HomeNetworkId,
        tail: Tail<'_>,
    ) -> Result<Suci, SuciError> {
        let output = match tail.output {
            TailOutput::Clear(text) => {
                let valid = match &home_network {
                    HomeNetworkId::Plmn(plmn) => valid_msin(plmn, text),
                    HomeNetworkId::Realm(_) => valid_username(text),
                };
                if !valid {
                    return Err(SuciError::Syntax("null-scheme output"));
                }
                SchemeOutput::Clear(text.to_owned())
            }
            TailOutput::Concealed(bytes) => SchemeOutput::Concealed(bytes),
        };
        Ok(Suci {
            supi_type,
            home_network,
            routing_indicator: tail.routing_indicator.to_owned(),
            scheme: tail.scheme,
            hn_key_id: tail.hn_key_id,
            output,
        })
    }

    /// A null-scheme SUCI of an IMSI (TS 33.501 §6.12.2: used when the home
    /// network has provisioned no public key).
    ///
    /// # Errors
    /// [`SuciError::InvalidIdentity`] for a routing indicator that is not 1-4
    /// digits or an MSIN that does not make an IMSI of 5-15 digits.
    pub fn null_imsi(plmn: PlmnId, msin: &str, routing_indicator: &str) -> Result<Suci, SuciError> {
        if !valid_routing_indicator(routing_indicator) || !valid_msin(&plmn, msin) {
            return Err(SuciError::InvalidIdentity);
        }
        Ok(Suci {
            supi_type: SupiType::Imsi,
            home_network: HomeNetworkId::Plmn(plmn),
            routing_indicator: routing_indicator.to_owned(),
            scheme: ProtectionScheme::Null,
            hn_key_id: 0,
            output: SchemeOutput::Clear(msin.to_owned()),
        })
    }

    /// Conceal an IMSI (the UE side, TS 33.501 §6.12.2 and C.3.2): the MSIN
    /// in packed BCD (C.3.1) is encrypted with ECIES under `hn_public` and
    /// the caller's fresh `ephemeral_private` key.
    ///
    /// # Errors
    /// [`SuciError::InvalidIdentity`] as [`Suci::null_imsi`]; key errors as
    /// [`ecies::encrypt`].
    pub fn conceal_imsi(
        plmn: PlmnId,
        msin: &str,
        routing_indicator: &str,
        hn_key_id: u8,
        hn_public: &HomeNetworkPublicKey,
        ephemeral_private: &[u8; 32],
    ) -> Result<Suci, SuciError> {
        let mut suci = Suci::null_imsi(plmn, msin, routing_indicator)?;
        let plaintext = zeroize::Zeroizing::new(tbcd_encode(msin));
        suci.output =
            SchemeOutput::Concealed(ecies::encrypt(hn_public, ephemeral_private, &plaintext)?);
        suci.scheme = hn_public.profile().scheme();
        suci.hn_key_id = hn_key_id;
        Ok(suci)
    }

    /// A null-scheme SUCI of a NAI-form SUPI (`username@realm`).
    ///
    /// # Errors
    /// [`SuciError::InvalidIdentity`] for an IMSI kind, an empty or malformed
    /// username or realm, or a bad routing indicator.
    pub fn null_nai(
        kind: SupiType,
        username: &str,
        realm: &str,
        routing_indicator: &str,
    ) -> Result<Suci, SuciError> {
        if kind == SupiType::Imsi
            || !valid_username(username)
            || !valid_realm(realm)
            || !valid_routing_indicator(routing_indicator)
        {
            return Err(SuciError::InvalidIdentity);
        }
        Ok(Suci {
            supi_type: kind,
            home_network: HomeNetworkId::Realm(realm.to_owned()),
            routing_indicator: routing_indicator.to_owned(),
            scheme: ProtectionScheme::Null,
            hn_key_id: 0,
            output: SchemeOutput::Clear(username.to_owned()),
        })
    }

    /// Conceal the username of a NAI-form SUPI (TS 33.501 C.3.1: the
    /// username is the scheme input, the realm stays in clear).
    ///
    /// # Errors
    /// As [`Suci::null_nai`] and [`ecies::encrypt`].
    pub fn conceal_nai(
        kind: SupiType,
        username: &str,
        realm: &str,
        routing_indicator: &str,
        hn_key_id: u8,
        hn_public: &HomeNetworkPublicKey,
        ephemeral_private: &[u8; 32],
    ) -> Result<Suci, SuciError> {
        let mut suci = Suci::null_nai(kind, username, realm, routing_indicator)?;
        suci.output = SchemeOutput::Concealed(ecies::encrypt(
            hn_public,
            ephemeral_private,
            username.as_bytes(),
        )?);
        suci.scheme = hn_public.profile().scheme();
        suci.hn_key_id = hn_key_id;
        Ok(suci)
    }

    /// The SUPI type.
    pub fn supi_type(&self) -> SupiType {
        self.supi_type
    }

    /// The home network identifier.
    pub fn home_network(&self) -> &HomeNetworkId {
        &self.home_network
    }

    /// The routing indicator, 1 to 4 digits (leading zeros count).
    pub fn routing_indicator(&self) -> &str {
        &self.routing_indicator
    }

    /// The protection scheme.
    pub fn scheme(&self) -> ProtectionScheme {
        self.scheme
    }

    /// The home network public key identifier (0 for the null scheme).
    pub fn hn_key_id(&self) -> u8 {
        self.hn_key_id
    }

    /// The scheme output.
    pub fn scheme_output(&self) -> &SchemeOutput {
        &self.output
    }

    /// De-conceal with one home network private key (the SIDF,
    /// TS 33.501 §6.12.2 and C.3.3). A null-scheme SUCI needs no key and
    /// `key` is ignored for it. The key identifier in the SUCI is not
    /// checked here; [`HomeNetworkKeys::deconceal`] selects by it.
    ///
    /// # Errors
    /// [`SuciError::UnsupportedScheme`] for schemes other than null, A, B;
    /// [`SuciError::ProfileMismatch`] when the key is of the other profile;
    /// the ECIES errors of [`ecies::decrypt`]; [`SuciError::InvalidPlaintext`]
    /// when the decrypted input is not a valid MSIN or username.
    pub fn deconceal_with(&self, key: &HomeNetworkPrivateKey) -> Result<Supi, SuciError> {
        let bytes = match (&self.output, self.scheme.profile()) {
            (SchemeOutput::Clear(_), _) => return self.null_supi(),
            (SchemeOutput::Concealed(bytes), Some(profile)) => {
                if key.profile() != profile {
                    return Err(SuciError::ProfileMismatch {
                        suci: profile,
                        key: key.profile(),
                    });
                }
                bytes
            }
            (SchemeOutput::Concealed(_), None) => {
                return Err(SuciError::UnsupportedScheme(self.scheme.value()));
            }
        };
        let plaintext = ecies::decrypt(key, bytes)?;
        match &self.home_network {
            HomeNetworkId::Plmn(plmn) => {
                let msin = tbcd_decode(&plaintext).ok_or(SuciError::InvalidPlaintext)?;
                if !valid_msin(plmn, &msin) {
                    return Err(SuciError::InvalidPlaintext);
                }
                imsi_supi(plmn, &msin)
            }
            HomeNetworkId::Realm(realm) => {
                let username =
                    core::str::from_utf8(&plaintext).map_err(|_| SuciError::InvalidPlaintext)?;
                if !valid_username(username) {
                    return Err(SuciError::InvalidPlaintext);
                }
                Supi::nai(self.supi_type, &format!("{username}@{realm}"))
            }
        }
    }

    /// The SUPI of a null-scheme SUCI.
    fn null_supi(&self) -> Result<Supi, SuciError> {
        match (&self.output, &self.home_network) {
            (SchemeOutput::Clear(msin), HomeNetworkId::Plmn(plmn)) => imsi_supi(plmn, msin),
            (SchemeOutput::Clear(user), HomeNetworkId::Realm(realm)) => {
                Supi::nai(self.supi_type, &format!("{user}@{realm}"))
            }
            (SchemeOutput::Concealed(_), _) => {
                Err(SuciError::UnsupportedScheme(self.scheme.value()))
            }
        }
    }
}

impl FromStr for Suci {
    type Err = SuciError;

    fn from_str(s: &str) -> Result<Suci, SuciError> {
        Suci::parse(s)
    }
}

/// The TS 29.503 text form; hex in lower case.
impl fmt::Display for Suci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "suci-{}-", self.supi_type.value())?;
        match &self.home_network {
            HomeNetworkId::Plmn(plmn) => write!(f, "{}-{}", plmn.mcc(), plmn.mnc())?,
            HomeNetworkId::Realm(realm) => f.write_str(realm)?,
        }
        write!(
            f,
            "-{}-{:x}-{}-",
            self.routing_indicator,
            self.scheme.value(),
            self.hn_key_id
        )?;
        match &self.output {
            SchemeOutput::Clear(text) => f.write_str(text),
            SchemeOutput::Concealed(bytes) => write_hex(f, bytes),
        }
    }
}

impl fmt::Debug for Suci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Suci({self})")
    }
}

/// De-conceal a SUCI string with one home network private key given in hex:
/// what `telsec auth suci --profile a|b --hn-private HEX --suci STRING` runs.
/// The key identifier in the SUCI is not checked against anything (there is
/// one key); a null-scheme SUCI needs no key but the key must still parse.
///
/// # Errors
/// [`SuciError::InvalidKey`] for a bad key, the parse errors of
/// [`Suci::parse`] and the de-concealment errors of [`Suci::deconceal_with`].
pub fn deconceal_str(
    profile: Profile,
    hn_private_hex: &str,
    suci: &str,
) -> Result<Supi, SuciError> {
    let key = HomeNetworkPrivateKey::from_hex(profile, hn_private_hex)?;
    Suci::parse(suci)?.deconceal_with(&key)
}

/// The fields after the home network identifier.
struct Tail<'a> {
    routing_indicator: &'a str,
    scheme: ProtectionScheme,
    hn_key_id: u8,
    output: TailOutput<'a>,
}

enum TailOutput<'a> {
    Clear(&'a str),
    Concealed(Vec<u8>),
}

impl<'a> Tail<'a> {
    /// `<routing indicator>-<scheme>-<key id>-<output>`. Checks the short
    /// fields first, so trying it at every `-` of a realm stays linear.
    fn parse(text: &'a str) -> Result<Tail<'a>, SuciError> {
        let (routing_indicator, rest) = text
            .split_once('-')
            .ok_or(SuciError::Syntax("routing indicator"))?;
        if !valid_routing_indicator(routing_indicator) {
            return Err(SuciError::Syntax("routing indicator"));
        }
        let (scheme, rest) = rest
            .split_once('-')
            .ok_or(SuciError::Syntax("protection scheme"))?;
        let scheme = match scheme.as_bytes() {
            [digit] => (*digit as char)
                .to_digit(16)
                .ok_or(SuciError::Syntax("protection scheme"))?,
            _ => return Err(SuciError::Syntax("protection scheme")),
        };
        let scheme = ProtectionScheme::from_value(scheme as u8);
        let (key_id, output) = rest
            .split_once('-')
            .ok_or(SuciError::Syntax("HN public key id"))?;
        let hn_key_id = parse_key_id(key_id).ok_or(SuciError::Syntax("HN public key id"))?;
        if output.is_empty() {
            return Err(SuciError::Syntax("scheme output"));
        }
        let output = if scheme == ProtectionScheme::Null {
            if hn_key_id != 0 {
                return Err(SuciError::Syntax("null scheme needs HN public key id 0"));
            }
            TailOutput::Clear(output)
        } else {
            // Checked before allocating: a realm with many `-` makes the
            // caller try this tail at each of them.
            if !output.len().is_multiple_of(2) || !output.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(SuciError::Syntax("scheme output"));
            }
            let mut bytes = vec![0u8; output.len() / 2];
            hex_decode_into(output, &mut bytes).ok_or(SuciError::Syntax("scheme output"))?;
            TailOutput::Concealed(bytes)
        };
        Ok(Tail {
            routing_indicator,
            scheme,
            hn_key_id,
            output,
        })
    }
}

/// A decimal 0..=255 without sign or leading zeros.
fn parse_key_id(text: &str) -> Option<u8> {
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if text.len() > 1 && text.starts_with('0') {
        return None;
    }
    text.parse().ok()
}

fn valid_routing_indicator(text: &str) -> bool {
    (1..=4).contains(&text.len()) && text.bytes().all(|c| c.is_ascii_digit())
}

/// An MSIN that, after the MCC and MNC, makes an IMSI of at most 15 digits
/// (TS 23.003 §2.2) and 5 at least (TS 29.571 `Supi`).
fn valid_msin(plmn: &PlmnId, msin: &str) -> bool {
    let total = 3 + plmn.mnc().len() + msin.len();
    !msin.is_empty() && (5..=15).contains(&total) && msin.bytes().all(|c| c.is_ascii_digit())
}

/// A NAI username: non-empty, no `@`, no control characters or spaces.
fn valid_username(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c != '@' && !c.is_control() && !c.is_whitespace())
}

/// A NAI realm: non-empty printable ASCII without `@` (RFC 7542 §2.2 realms
/// are domain names).
fn valid_realm(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|c| c.is_ascii_graphic() && c != b'@')
}

fn imsi_supi(plmn: &PlmnId, msin: &str) -> Result<Supi, SuciError> {
    Supi::imsi(&format!("{}{}{}", plmn.mcc(), plmn.mnc(), msin))
}

/// Packed BCD of TS 24.501 Figure 9.11.3.4.3a as TS 33.501 C.3.1 uses it:
/// the first digit in the low nibble, an odd count padded with `1111`.
fn tbcd_encode(digits: &str) -> Vec<u8> {
    digits
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let low = pair[0] - b'0';
            let high = pair.get(1).map_or(0xf, |d| d - b'0');
            (high << 4) | low
        })
        .collect()
}

/// The inverse of [`tbcd_encode`]; `None` for a non-digit nibble or a
/// filler anywhere but the high nibble of the last octet.
fn tbcd_decode(bytes: &[u8]) -> Option<String> {
    let mut digits = String::with_capacity(bytes.len() * 2);
    for (index, &byte) in bytes.iter().enumerate() {
        let (low, high) = (byte & 0xf, byte >> 4);
        if low > 9 {
            return None;
        }
        digits.push(char::from(b'0' + low));
        match high {
            0..=9 => digits.push(char::from(b'0' + high)),
            0xf if index + 1 == bytes.len() => {}
            _ => return None,
        }
    }
    (!digits.is_empty()).then_some(digits)
}

/// Decode hex digits (either case) into `out`, which must be exactly half
/// as long as `hex`.
pub(crate) fn hex_decode_into(hex: &str, out: &mut [u8]) -> Option<()> {
    let hex = hex.as_bytes();
    if hex.len() != out.len() * 2 {
        return None;
    }
    for (slot, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let high = (pair[0] as char).to_digit(16)?;
        let low = (pair[1] as char).to_digit(16)?;
        *slot = ((high << 4) | low) as u8;
    }
    Some(())
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tbcd_round_trip() {
        assert_eq!(tbcd_encode("001002086"), [0x00, 0x01, 0x20, 0x80, 0xf6]);
        assert_eq!(
            tbcd_decode(&[0x00, 0x01, 0x20, 0x80, 0xf6]).as_deref(),
            Some("001002086")
        );
        assert_eq!(tbcd_decode(&[0x21, 0x43]).as_deref(), Some("1234"));
        assert_eq!(tbcd_decode(&[0xf1, 0x43]), None, "filler before the end");
        assert_eq!(tbcd_decode(&[0x1a]), None);
        assert_eq!(tbcd_decode(&[0xff]), None);
        assert_eq!(tbcd_decode(&[]), None);
    }

    #[test]
    fn parses_null_scheme_imsi() {
        let suci = Suci::parse("suci-0-208-93-0000-0-0-0000000003").unwrap();
        assert_eq!(suci.supi_type(), SupiType::Imsi);
        assert_eq!(
            suci.home_network(),
            &HomeNetworkId::Plmn(PlmnId::new("208", "93").unwrap())
        );
        assert_eq!(suci.routing_indicator(), "0000");
        assert_eq!(suci.scheme(), ProtectionScheme::Null);
        assert_eq!(
            suci.scheme_output(),
            &SchemeOutput::Clear("0000000003".into())
        );
        assert_eq!(suci.to_string(), "suci-0-208-93-0000-0-0-0000000003");
        let supi = suci.null_supi().unwrap();
        assert_eq!(supi.to_string(), "imsi-208930000000003");
        assert_eq!(supi.value(), "208930000000003");
    }

    #[test]
    fn parses_nai_with_hyphens() {
        let suci = Suci::parse("suci-1-t-mobile.example-12-0-0-user-name").unwrap();
        assert_eq!(
            suci.home_network(),
            &HomeNetworkId::Realm("t-mobile.example".into())
        );
        assert_eq!(suci.routing_indicator(), "12");
        assert_eq!(
            suci.scheme_output(),
            &SchemeOutput::Clear("user-name".into())
        );
        assert_eq!(
            suci.null_supi().unwrap().to_string(),
            "nai-user-name@t-mobile.example"
        );
        assert_eq!(suci.to_string(), "suci-1-t-mobile.example-12-0-0-user-name");
    }

    #[test]
    fn parses_concealed_and_upper_case_hex() {
        let suci = Suci::parse("suci-0-001-001-1-2-255-ABcd").unwrap();
        assert_eq!(suci.scheme(), ProtectionScheme::ProfileB);
        assert_eq!(suci.hn_key_id(), 255);
        assert_eq!(
            suci.scheme_output(),
            &SchemeOutput::Concealed(vec![0xab, 0xcd])
        );
        assert_eq!(suci.to_string(), "suci-0-001-001-1-2-255-abcd");
        let other = Suci::parse("suci-0-001-01-1-f-1-00").unwrap();
        assert_eq!(other.scheme(), ProtectionScheme::Unknown(15));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "suci",
            "SUCI-0-001-01-0-0-0-1234567890",
            "suci-0-001-01-0-0-0-",
            "suci-0-01-01-0-0-0-1234567890",
            "suci-0-001-1-0-0-0-1234567890",
            "suci-0-001-01-00000-0-0-1234567890",
            "suci-0-001-01--0-0-1234567890",
            "suci-0-001-01-0-0-1-1234567890",
            "suci-0-001-01-0-0-0-12345678a0",
            "suci-0-001-01-0-0-0-12345678901",
            "suci-0-001-01-0-1-256-00",
            "suci-0-001-01-0-1-01-00",
            "suci-0-001-01-0-1-1-0",
            "suci-0-001-01-0-1-1-zz",
            "suci-0-001-01-0-10-1-00",
            "suci-x-001-01-0-0-0-1",
            "suci-1--0-0-0-user",
            "suci-1-realm-0-0-0-us@er",
            "suci-1-realm",
            "suci-0-001-01-0-0-0-1234\u{e9}",
        ] {
            assert!(Suci::parse(bad).is_err(), "{bad:?} should not parse");
        }
        assert_eq!(
            Suci::parse("suci-4-realm-0-0-0-user"),
            Err(SuciError::UnsupportedSupiType(4))
        );
        let long = format!("suci-1-{}-0-0-0-user", "a".repeat(MAX_SUCI_LEN));
        assert!(matches!(Suci::parse(&long), Err(SuciError::TooLong { .. })));
    }

    #[test]
    fn truncations_and_substitutions_never_panic() {
        let valid = [
            "suci-0-208-93-0000-0-0-0000000003",
            "suci-1-t-mobile.example-12-0-0-user-name",
            "suci-0-001-001-1-2-255-abcd",
        ];
        for text in valid {
            for end in 0..=text.len() {
                let _ = Suci::parse(&text[..end]);
            }
            for index in 0..text.len() {
                for replacement in ["-", "", "é", "0", "f", "@", " ", "--"] {
                    let mutated = format!("{}{replacement}{}", &text[..index], &text[index + 1..]);
                    if let Ok(suci) = Suci::parse(&mutated) {
                        // Whatever parses prints back to something that parses
                        // to the same value.
                        assert_eq!(Suci::parse(&suci.to_string()).as_ref(), Ok(&suci));
                    }
                }
            }
        }
    }

    #[test]
    fn null_scheme_needs_no_key() {
        let key = HomeNetworkPrivateKey::from_bytes(Profile::B, &[3; 32]).unwrap();
        let suci = Suci::parse("suci-0-001-01-0-0-0-1234567890").unwrap();
        assert_eq!(
            suci.deconceal_with(&key).unwrap().to_string(),
            "imsi-001011234567890"
        );
        assert_eq!(
            HomeNetworkKeys::new().deconceal(&suci).unwrap().to_string(),
            "imsi-001011234567890"
        );
    }

    #[test]
    fn supi_text_forms() {
        assert_eq!(
            "imsi-001011234567890".parse::<Supi>().unwrap().kind(),
            SupiType::Imsi
        );
        assert_eq!("nai-a@b".parse::<Supi>().unwrap().value(), "a@b");
        assert_eq!(
            "gli-line@operator.example".parse::<Supi>().unwrap().kind(),
            SupiType::Gli
        );
        for bad in [
            "imsi-1234",
            "imsi-1234567890123456",
            "nai-ab",
            "nai-@b",
            "msisdn-123456",
            "imsi",
        ] {
            assert!(bad.parse::<Supi>().is_err(), "{bad}");
        }
    }

    #[test]
    fn profile_names() {
        assert_eq!("a".parse::<Profile>(), Ok(Profile::A));
        assert_eq!("B".parse::<Profile>(), Ok(Profile::B));
        assert_eq!("c".parse::<Profile>(), Err(SuciError::UnknownProfile));
    }
}
