//! What the HLR knows about a subscriber, as typed values: identity and
//! profile, authentication data (the secrets), and the provisioning requests
//! that create and change them.
//!
//! The data model follows osmo-hlr's (which follows TS 23.008): a subscriber
//! may have 2G authentication data (COMP128 Ki), 3G authentication data
//! (Milenage or TUAK), or both; with both, 3G quintets carry triplets
//! computed by the 2G algorithm over the same RAND, as osmo-hlr's AuC does.

use core::fmt;

use zeroize::Zeroizing;

pub use telsec_auth::comp128::Comp128Version;

use crate::ids::{Imsi, Msisdn};

/// Errors in provisioning values: wrong key lengths, unknown algorithm
/// names, out-of-range parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// An algorithm name that is none of comp128v1, comp128v2, comp128v3,
    /// milenage, tuak.
    #[error("unknown algorithm {0:?}")]
    UnknownAlgorithm(String),
    /// A key or operator constant of the wrong length for its algorithm.
    #[error("{what} must be {expected}, got {got} bytes")]
    KeyLength {
        /// Which value.
        what: &'static str,
        /// The lengths allowed, in words.
        expected: &'static str,
        /// The length given.
        got: usize,
    },
    /// A value that is not valid hexadecimal.
    #[error("{0} is not valid hex")]
    Hex(&'static str),
    /// IND length outside 0..=10 bits (TS 33.102 Annex C.3.2 recommends 5).
    #[error("ind_bitlen {0} out of range 0..=10")]
    IndBitlen(u8),
    /// A TUAK parameter outside what TS 35.231 §6 allows.
    #[error("TUAK {what} = {value} not allowed (TS 35.231 §6)")]
    TuakParam {
        /// Which parameter.
        what: &'static str,
        /// The value given.
        value: u16,
    },
    /// A TUAK parameter allowed by TS 35.231 but too long for a UMTS/EPS
    /// authentication vector (MAC 64, CK/IK 128, RES ≤ 128 bits).
    #[error("TUAK {what} = {value} does not fit a 3G AKA vector")]
    TuakNotAka {
        /// Which parameter.
        what: &'static str,
        /// The value given.
        value: u16,
    },
    /// An SQN beyond 48 bits.
    #[error("SQN {0} exceeds 48 bits")]
    Sqn(u64),
}

/// Secret key material (Ki, K, OP, OPc, TOP, TOPc): zeroized on drop and
/// never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Wrap key bytes.
    pub fn new(bytes: Vec<u8>) -> SecretBytes {
        SecretBytes(Zeroizing::new(bytes))
    }

    /// Parse hex digits, naming the value in the error.
    pub fn from_hex(text: &str, what: &'static str) -> Result<SecretBytes, ModelError> {
        let v = hex::decode(text.trim()).map_err(|_| ModelError::Hex(what))?;
        Ok(SecretBytes::new(v))
    }

    /// The key bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The key as lowercase hex (for an explicit `show --secrets`).
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.expose()))
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn require(
        self,
        what: &'static str,
        expected: &'static str,
        lens: &[usize],
    ) -> Result<SecretBytes, ModelError> {
        if lens.contains(&self.len()) {
            Ok(self)
        } else {
            Err(ModelError::KeyLength {
                what,
                expected,
                got: self.len(),
            })
        }
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

/// Parse a COMP128 version name (`comp128v1`, `comp128v2`, `comp128v3`,
/// also `v1`.., `1`..; case-insensitive).
pub fn parse_comp128(name: &str) -> Result<Comp128Version, ModelError> {
    name.parse()
        .map_err(|_| ModelError::UnknownAlgorithm(name.to_owned()))
}

/// 2G authentication data: COMP128 version and the 128-bit Ki.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth2g {
    /// Which COMP128.
    pub version: Comp128Version,
    ki: SecretBytes,
}

impl Auth2g {
    /// Check that Ki is 16 bytes.
    pub fn new(version: Comp128Version, ki: SecretBytes) -> Result<Auth2g, ModelError> {
        Ok(Auth2g {
            version,
            ki: ki.require("Ki", "16 bytes", &[16])?,
        })
    }

    /// Ki.
    pub fn ki(&self) -> &SecretBytes {
        &self.ki
    }
}

/// The operator constant as provisioned: the raw OP (from which the AuC
/// derives OPc = OP ⊕ E_K(OP), TS 35.206 §4.1) or OPc itself. For TUAK the
/// same choice is TOP or TOPc (TS 35.231 §7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorKey {
    /// OP (Milenage) or TOP (TUAK).
    Op(SecretBytes),
    /// OPc (Milenage) or TOPc (TUAK).
    Opc(SecretBytes),
}

impl OperatorKey {
    /// The key bytes, whichever kind.
    pub fn bytes(&self) -> &SecretBytes {
        match self {
            OperatorKey::Op(b) | OperatorKey::Opc(b) => b,
        }
    }

    /// Whether this is OPc/TOPc.
    pub fn is_opc(&self) -> bool {
        matches!(self, OperatorKey::Opc(_))
    }
}

/// TUAK's instance parameters (TS 35.231 §6), in bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TuakParams {
    /// Keccak iterations, at least 1 (TS 35.231 §6: "number of
    /// iterations of Keccak").
    pub iterations: u16,
    /// RES length: 32, 64, 128 or 256 bits.
    pub res_bits: u16,
    /// MAC-A / MAC-S length: 64, 128 or 256 bits.
    pub mac_bits: u16,
    /// CK length: 128 or 256 bits.
    pub ck_bits: u16,
    /// IK length: 128 or 256 bits.
    pub ik_bits: u16,
}

impl Default for TuakParams {
    /// One iteration, 64-bit RES and MAC, 128-bit CK and IK: the sizes a
    /// UMTS/EPS authentication vector carries.
    fn default() -> TuakParams {
        TuakParams {
            iterations: 1,
            res_bits: 64,
            mac_bits: 64,
            ck_bits: 128,
            ik_bits: 128,
        }
    }
}

impl TuakParams {
    /// Check each parameter against the values TS 35.231 §6 allows and
    /// against what a UMTS/EPS vector can carry (MAC 64 bits, CK and IK 128
    /// bits, RES at most 128 bits: the AuC produces 3G AKA vectors only).
    pub fn validate(&self) -> Result<(), ModelError> {
        self.to_auth().map(|_| ())
    }

    /// The same parameters as `telsec_auth` takes them.
    pub fn to_auth(&self) -> Result<telsec_auth::tuak::TuakParams, ModelError> {
        use telsec_auth::tuak::TuakParams as P;
        let err = |what, value| ModelError::TuakParam { what, value };
        if !(1..=telsec_auth::tuak::MAX_KECCAK_ITERATIONS).contains(&u32::from(self.iterations)) {
            return Err(err("iterations", self.iterations));
        }
        let p = P::from_bits(
            self.mac_bits,
            self.res_bits,
            self.ck_bits,
            self.ik_bits,
            u32::from(self.iterations),
        )
        .map_err(|_| {
            // Name the first value outside the lists of TS 35.231 §6.
            if ![64, 128, 256].contains(&self.mac_bits) {
                err("mac_bits", self.mac_bits)
            } else if ![32, 64, 128, 256].contains(&self.res_bits) {
                err("res_bits", self.res_bits)
            } else if ![128, 256].contains(&self.ck_bits) {
                err("ck_bits", self.ck_bits)
            } else {
                err("ik_bits", self.ik_bits)
            }
        })?;
        if !p.fits_aka() {
            let (what, value) = if self.mac_bits != 64 {
                ("mac_bits", self.mac_bits)
            } else if self.res_bits > 128 {
                ("res_bits", self.res_bits)
            } else if self.ck_bits != 128 {
                ("ck_bits", self.ck_bits)
            } else {
                ("ik_bits", self.ik_bits)
            };
            return Err(ModelError::TuakNotAka { what, value });
        }
        Ok(p)
    }
}

/// A 3G algorithm with its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Algorithm3g {
    /// Milenage (TS 35.206): 128-bit K and OP/OPc.
    Milenage {
        /// K.
        k: SecretBytes,
        /// OP or OPc.
        op: OperatorKey,
    },
    /// TUAK (TS 35.231): 128- or 256-bit K and 256-bit TOP/TOPc.
    Tuak {
        /// K.
        k: SecretBytes,
        /// TOP or TOPc.
        top: OperatorKey,
        /// Instance parameters.
        params: TuakParams,
    },
}

impl Algorithm3g {
    /// Milenage with checked lengths (K, OP/OPc: 16 bytes).
    pub fn milenage(k: SecretBytes, op: OperatorKey) -> Result<Algorithm3g, ModelError> {
        let k = k.require("K", "16 bytes", &[16])?;
        let op = match op {
            OperatorKey::Op(b) => OperatorKey::Op(b.require("OP", "16 bytes", &[16])?),
            OperatorKey::Opc(b) => OperatorKey::Opc(b.require("OPc", "16 bytes", &[16])?),
        };
        Ok(Algorithm3g::Milenage { k, op })
    }

    /// TUAK with checked lengths (K: 16 or 32 bytes; TOP/TOPc: 32 bytes)
    /// and parameters.
    pub fn tuak(
        k: SecretBytes,
        top: OperatorKey,
        params: TuakParams,
    ) -> Result<Algorithm3g, ModelError> {
        let k = k.require("K", "16 or 32 bytes", &[16, 32])?;
        let top = match top {
            OperatorKey::Op(b) => OperatorKey::Op(b.require("TOP", "32 bytes", &[32])?),
            OperatorKey::Opc(b) => OperatorKey::Opc(b.require("TOPc", "32 bytes", &[32])?),
        };
        params.validate()?;
        Ok(Algorithm3g::Tuak { k, top, params })
    }

    /// The name used in the store, the CLI and CSV files.
    pub fn name(&self) -> &'static str {
        match self {
            Algorithm3g::Milenage { .. } => "milenage",
            Algorithm3g::Tuak { .. } => "tuak",
        }
    }

    /// K.
    pub fn k(&self) -> &SecretBytes {
        match self {
            Algorithm3g::Milenage { k, .. } | Algorithm3g::Tuak { k, .. } => k,
        }
    }

    /// OP/OPc or TOP/TOPc.
    pub fn operator_key(&self) -> &OperatorKey {
        match self {
            Algorithm3g::Milenage { op, .. } => op,
            Algorithm3g::Tuak { top, .. } => top,
        }
    }
}

/// 3G authentication data: algorithm and keys, AMF and IND length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth3g {
    /// Algorithm and keys.
    pub algorithm: Algorithm3g,
    /// Authentication management field put into AUTN. Bit 0 (the MSB of
    /// the first byte) is the separation bit (TS 33.102 Annex H), which the
    /// AuC sets per request, as osmo-hlr does.
    pub amf: [u8; 2],
    /// Number of IND bits at the low end of SQN (TS 33.102 Annex C.3.2;
    /// 5 as osmo-hlr and the Annex's example).
    pub ind_bitlen: u8,
}

impl Auth3g {
    /// Default IND length.
    pub const DEFAULT_IND_BITLEN: u8 = 5;
    /// Longest IND accepted: the USIM keeps an array of 2^IND entries.
    pub const MAX_IND_BITLEN: u8 = 10;

    /// 3G data with AMF 0000 and the default IND length.
    pub fn new(algorithm: Algorithm3g) -> Auth3g {
        Auth3g {
            algorithm,
            amf: [0, 0],
            ind_bitlen: Self::DEFAULT_IND_BITLEN,
        }
    }

    /// Check the IND length.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.ind_bitlen > Self::MAX_IND_BITLEN {
            return Err(ModelError::IndBitlen(self.ind_bitlen));
        }
        Ok(())
    }
}

/// Largest 48-bit SQN.
pub const SQN_MAX: u64 = (1 << 48) - 1;

/// A new subscriber as the provisioning API takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscriber {
    /// The IMSI (unique).
    pub imsi: Imsi,
    /// The MSISDN (unique when set).
    pub msisdn: Option<Msisdn>,
    /// Free-text name.
    pub name: String,
    /// Free-text postal address.
    pub address: String,
    /// Administrative state: a disabled subscriber gets no vectors and no
    /// location update.
    pub enabled: bool,
    /// Network access mode, circuit-switched (TS 23.008 §2.1.1.2).
    pub nam_cs: bool,
    /// Network access mode, packet-switched.
    pub nam_ps: bool,
    /// 2G authentication data.
    pub auth_2g: Option<Auth2g>,
    /// 3G authentication data.
    pub auth_3g: Option<Auth3g>,
    /// The last SQN already used with this card (48 bits, SEQ || IND), when
    /// migrating a subscriber from another HLR; 0 for a fresh card.
    pub sqn: u64,
}

impl NewSubscriber {
    /// A subscriber with only an IMSI: enabled, CS and PS allowed, no
    /// authentication data.
    pub fn new(imsi: Imsi) -> NewSubscriber {
        NewSubscriber {
            imsi,
            msisdn: None,
            name: String::new(),
            address: String::new(),
            enabled: true,
            nam_cs: true,
            nam_ps: true,
            auth_2g: None,
            auth_3g: None,
            sqn: 0,
        }
    }
}

/// A change to an existing subscriber: `None` leaves a field as it is.
/// Fields that can be cleared are `Option<Option<_>>`: `Some(None)` clears.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriberUpdate {
    /// Set or clear the MSISDN.
    pub msisdn: Option<Option<Msisdn>>,
    /// Set the name.
    pub name: Option<String>,
    /// Set the postal address.
    pub address: Option<String>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// Set NAM CS.
    pub nam_cs: Option<bool>,
    /// Set NAM PS.
    pub nam_ps: Option<bool>,
    /// Replace or remove 2G authentication data.
    pub auth_2g: Option<Option<Auth2g>>,
    /// Replace or remove 3G authentication data (keys, AMF, IND length).
    /// Replacing keeps the SQN state unless `sqn` is given too.
    pub auth_3g: Option<Option<Auth3g>>,
    /// Change only the AMF of existing 3G data.
    pub amf: Option<[u8; 2]>,
    /// Set the last used SQN (48 bits). With new 3G data in the same update
    /// (a new card) it is set as given; otherwise SEQ only moves forward,
    /// since a lower one could issue an SQN a second time under the same K.
    pub sqn: Option<u64>,
}

/// Which 3G operator constant kind a subscriber has, for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    /// OP / TOP is stored.
    Op,
    /// OPc / TOPc is stored.
    Opc,
}

/// What `show` and `list` tell about 2G authentication: no secrets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Auth2gInfo {
    /// COMP128 version.
    #[serde(rename = "algorithm", serialize_with = "serialize_comp128")]
    pub version: Comp128Version,
}

/// What `show` and `list` tell about 3G authentication: no secrets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Auth3gInfo {
    /// `milenage` or `tuak`.
    pub algorithm: &'static str,
    /// Whether OP/TOP or OPc/TOPc is stored.
    pub op_kind: OpKind,
    /// K length in bytes.
    pub k_len: usize,
    /// TUAK parameters, for TUAK.
    pub tuak: Option<TuakParams>,
    /// AMF.
    #[serde(serialize_with = "serialize_hex")]
    pub amf: [u8; 2],
    /// IND length.
    pub ind_bitlen: u8,
    /// Highest SEQ reserved so far (the SQN lease high-water mark): every
    /// SEQ issued is at most this, and the next is above it.
    pub seq_reserved: u64,
}

/// A subscriber as `show` and `list` return it: everything but secrets.
/// Serializes (e.g. to JSON for `show --json`) without any key material.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Subscriber {
    /// Row id (never reused).
    pub id: i64,
    /// IMSI.
    pub imsi: Imsi,
    /// MSISDN.
    pub msisdn: Option<Msisdn>,
    /// Name.
    pub name: String,
    /// Postal address.
    pub address: String,
    /// Administrative state.
    pub enabled: bool,
    /// NAM CS.
    pub nam_cs: bool,
    /// NAM PS.
    pub nam_ps: bool,
    /// 2G authentication summary.
    pub auth_2g: Option<Auth2gInfo>,
    /// 3G authentication summary.
    pub auth_3g: Option<Auth3gInfo>,
    /// VLR (MSC) that last did a CS location update: its GSUP/IPA name.
    pub vlr_number: Option<String>,
    /// SGSN that last did a PS location update.
    pub sgsn_number: Option<String>,
    /// Unix time of the last CS location update.
    pub last_lu_cs: Option<i64>,
    /// Unix time of the last PS location update.
    pub last_lu_ps: Option<i64>,
    /// MS purged in the CS domain (TS 23.008 §2.7.5).
    pub purged_cs: bool,
    /// MS purged in the PS domain (TS 23.008 §2.7.6).
    pub purged_ps: bool,
    /// Last IMEI reported by Check IMEI.
    pub imei: Option<String>,
    /// Unix time of creation.
    pub created_at: i64,
    /// Unix time of the last provisioning change.
    pub updated_at: i64,
}

/// A subscriber's secrets, returned only on explicit request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberSecrets {
    /// 2G data.
    pub auth_2g: Option<Auth2g>,
    /// 3G data.
    pub auth_3g: Option<Auth3g>,
}

fn serialize_comp128<S: serde::Serializer>(v: &Comp128Version, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.name())
}

fn serialize_hex<S: serde::Serializer>(v: &[u8; 2], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(v))
}

/// Parse an AMF given as 4 hex digits.
pub fn parse_amf(text: &str) -> Result<[u8; 2], ModelError> {
    let mut amf = [0u8; 2];
    hex::decode_to_slice(text.trim(), &mut amf).map_err(|_| ModelError::Hex("AMF"))?;
    Ok(amf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_checked() {
        let k16 = SecretBytes::new(vec![1; 16]);
        let k32 = SecretBytes::new(vec![1; 32]);
        assert!(Algorithm3g::milenage(k16.clone(), OperatorKey::Opc(k16.clone())).is_ok());
        assert!(matches!(
            Algorithm3g::milenage(k32.clone(), OperatorKey::Opc(k16.clone())),
            Err(ModelError::KeyLength { what: "K", .. })
        ));
        assert!(
            Algorithm3g::tuak(
                k32.clone(),
                OperatorKey::Op(k32.clone()),
                TuakParams::default()
            )
            .is_ok()
        );
        assert!(matches!(
            Algorithm3g::tuak(
                k16.clone(),
                OperatorKey::Op(k16.clone()),
                TuakParams::default()
            ),
            Err(ModelError::KeyLength { what: "TOP", .. })
        ));
        let bad = TuakParams {
            res_bits: 48,
            ..TuakParams::default()
        };
        assert!(matches!(
            Algorithm3g::tuak(k16.clone(), OperatorKey::Op(k32.clone()), bad),
            Err(ModelError::TuakParam {
                what: "res_bits",
                ..
            })
        ));
        let long_mac = TuakParams {
            mac_bits: 128,
            ..TuakParams::default()
        };
        assert!(matches!(
            Algorithm3g::tuak(k16.clone(), OperatorKey::Op(k32), long_mac),
            Err(ModelError::TuakNotAka {
                what: "mac_bits",
                ..
            })
        ));
        assert!(Auth2g::new(Comp128Version::V1, SecretBytes::new(vec![0; 15])).is_err());
    }

    #[test]
    fn secrets_not_printed() {
        let s = SecretBytes::new(vec![0xab; 16]);
        let text = format!("{s:?}");
        assert!(!text.contains("ab"), "{text}");
    }

    #[test]
    fn names() {
        for v in [Comp128Version::V1, Comp128Version::V2, Comp128Version::V3] {
            assert_eq!(parse_comp128(v.name()), Ok(v));
        }
        assert!(parse_comp128("a5/1").is_err());
        assert_eq!(parse_amf("8000"), Ok([0x80, 0]));
        assert!(parse_amf("80").is_err());
    }
}
