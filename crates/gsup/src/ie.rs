//! GSUP information elements: identifiers, the TLV reader/writer, and the
//! typed IE values.
//!
//! Every GSUP IE after the message type is a TLV with a one-octet tag and a
//! one-octet length (osmo-gsm-manuals `gsup.adoc`, "Message Format"; the
//! identifiers are listed in "IE Identifier" and libosmocore `gsup.h`
//! `enum osmo_gsup_iei`). Auth Tuple (0x03) and PDP Info (0x05) nest further
//! TLVs of the same shape.
//!
//! Fixed-size values are checked on decode: a Cause that is not one octet or
//! a RAND that is not 16 octets is an error, so that every decoded value
//! re-encodes to the octets it came from. Tags this crate does not know are
//! kept as [`RawIe`] ("Unknown IE shall be ignored").

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use zeroize::Zeroize;

use crate::bcd::AddressString;
use crate::message::GsupError;
use telsec_wire::open_enum;

open_enum! {
    /// GSUP information element identifiers (libosmocore `enum osmo_gsup_iei`).
    pub enum Iei {
        Imsi = 0x01 => "IMSI",
        Cause = 0x02 => "Cause",
        AuthTuple = 0x03 => "Auth Tuple",
        PdpInfoComplete = 0x04 => "PDP Info Complete",
        PdpInfo = 0x05 => "PDP Info",
        CancelType = 0x06 => "Cancel Type",
        FreezePtmsi = 0x07 => "Freeze P-TMSI",
        Msisdn = 0x08 => "MSISDN",
        HlrNumber = 0x09 => "HLR Number",
        MessageClass = 0x0a => "Message Class",
        PdpContextId = 0x10 => "PDP Context ID",
        PdpAddress = 0x11 => "PDP Address",
        AccessPointName = 0x12 => "Access Point Name",
        Qos = 0x13 => "QoS",
        ChargingCharacteristics = 0x14 => "PDP-Charging Characteristics",
        Pco = 0x15 => "PCO",
        Rand = 0x20 => "RAND",
        Sres = 0x21 => "SRES",
        Kc = 0x22 => "Kc",
        Ik = 0x23 => "IK",
        Ck = 0x24 => "CK",
        Autn = 0x25 => "AUTN",
        Auts = 0x26 => "AUTS",
        Res = 0x27 => "RES",
        CnDomain = 0x28 => "CN Domain",
        SupportedRatTypes = 0x29 => "Supported RAT Types",
        CurrentRatType = 0x2a => "Current RAT Type",
        SessionId = 0x30 => "Session ID",
        SessionState = 0x31 => "Session State",
        SsInfo = 0x35 => "Supplementary Service Info",
        SmRpMr = 0x40 => "SM-RP-MR",
        SmRpDa = 0x41 => "SM-RP-DA",
        SmRpOa = 0x42 => "SM-RP-OA",
        SmRpUi = 0x43 => "SM-RP-UI",
        SmRpCause = 0x44 => "SM-RP-Cause",
        SmRpMms = 0x45 => "SM-RP-MMS",
        SmAlertReason = 0x46 => "SM Alert Reason",
        Imei = 0x50 => "IMEI",
        ImeiResult = 0x51 => "IMEI Check Result",
        NumVectorsRequested = 0x52 => "Number of Vectors Requested",
        SourceName = 0x60 => "Source Name",
        DestinationName = 0x61 => "Destination Name",
        AnApdu = 0x62 => "AN-APDU",
        CauseRr = 0x63 => "RR Cause",
        CauseBssap = 0x64 => "BSSAP Cause",
        CauseSm = 0x65 => "Session Management Cause",
    }
}

open_enum! {
    /// GMM cause values (3GPP TS 24.008 §10.5.5.14), carried in the GSUP
    /// Cause IE. osmo-hlr answers with ImsiUnknown, NetworkFailure,
    /// InvalidMandatoryInfo, ProtocolErrorUnspecified and a few others.
    pub enum Cause {
        ImsiUnknown = 0x02 => "IMSI unknown in HLR",
        IllegalMs = 0x03 => "Illegal MS",
        ImeiNotAccepted = 0x05 => "IMEI not accepted",
        IllegalMe = 0x06 => "Illegal ME",
        GprsNotAllowed = 0x07 => "GPRS services not allowed",
        GprsAndNonGprsNotAllowed = 0x08 => "GPRS services and non-GPRS services not allowed",
        MsIdentityNotDerived = 0x09 => "MS identity cannot be derived by the network",
        ImplicitlyDetached = 0x0a => "Implicitly detached",
        PlmnNotAllowed = 0x0b => "PLMN not allowed",
        LaNotAllowed = 0x0c => "Location Area not allowed",
        RoamingNotAllowed = 0x0d => "Roaming not allowed in this location area",
        GprsNotAllowedInPlmn = 0x0e => "GPRS services not allowed in this PLMN",
        NoSuitableCellInLa = 0x0f => "No Suitable Cells In Location Area",
        MscTemporarilyNotReachable = 0x10 => "MSC temporarily not reachable",
        NetworkFailure = 0x11 => "Network failure",
        MacFailure = 0x14 => "MAC failure",
        SynchFailure = 0x15 => "Synch failure",
        Congestion = 0x16 => "Congestion",
        GsmAuthUnacceptable = 0x17 => "GSM authentication unacceptable",
        NotAuthorizedForCsg = 0x19 => "Not authorized for this CSG",
        SmsViaGprsInRa = 0x1c => "SMS provided via GPRS in this routing area",
        NoPdpContextActivated = 0x28 => "No PDP context activated",
        SemanticallyIncorrectMessage = 0x5f => "Semantically incorrect message",
        InvalidMandatoryInfo = 0x60 => "Invalid mandatory information",
        MessageTypeNotImplemented = 0x61 => "Message type non-existent or not implemented",
        MessageTypeIncompatibleState = 0x62 => "Message type not compatible with the protocol state",
        IeNotImplemented = 0x63 => "Information element non-existent or not implemented",
        ConditionalIeError = 0x64 => "Conditional IE error",
        MessageIncompatibleState = 0x65 => "Message not compatible with the protocol state",
        ProtocolErrorUnspecified = 0x6f => "Protocol error, unspecified",
    }
}

open_enum! {
    /// Cancellation Type IE values as sent on the wire
    /// (`gsup.adoc` "Cancellation Type"; libosmocore stores them plus one).
    pub enum CancelType {
        UpdateProcedure = 0x00 => "Update Procedure",
        SubscriptionWithdrawn = 0x01 => "Subscription Withdrawn",
    }
}

open_enum! {
    /// CN Domain IE (`gsup.adoc` "CN Domain"). A request without it is for
    /// the PS domain, for backwards compatibility.
    pub enum CnDomain {
        Ps = 0x01 => "PS",
        Cs = 0x02 => "CS",
    }
}

open_enum! {
    /// Session State IE (`gsup.adoc` "Session State"), TCAP-like.
    pub enum SessionState {
        Undefined = 0x00 => "NONE",
        Begin = 0x01 => "BEGIN",
        Continue = 0x02 => "CONTINUE",
        End = 0x03 => "END",
    }
}

open_enum! {
    /// Message Class IE (`gsup.adoc` "Message Class"; libosmocore
    /// `enum osmo_gsup_message_class`).
    pub enum MessageClass {
        SubscriberManagement = 0x01 => "Subscriber-Management",
        Sms = 0x02 => "SMS",
        Ussd = 0x03 => "USSD",
        InterMsc = 0x04 => "Inter-MSC",
        IpsecEpdg = 0x05 => "IPsec-ePDG",
    }
}

open_enum! {
    /// IMEI Check Result IE as sent on the wire by libosmocore
    /// (`osmo_gsup_encode` writes the enum value minus one: ACK is 0). The
    /// manual's table lists 1/2, but the encoder is what peers interoperate
    /// with.
    pub enum ImeiResult {
        Ack = 0x00 => "ACK",
        Nack = 0x01 => "NACK",
    }
}

open_enum! {
    /// RAT types of the Supported/Current RAT Type IEs (libosmocore
    /// `enum osmo_rat_type`; `gsup.adoc` "Current RAT Type").
    pub enum RatType {
        Geran = 0x01 => "GERAN",
        Utran = 0x02 => "UTRAN",
        Eutran = 0x03 => "EUTRAN",
    }
}

open_enum! {
    /// Identity type of SM-RP-DA / SM-RP-OA (`gsup.adoc` "Coding of
    /// SM-RP-DA / SM-RP-OA IEs").
    pub enum SmRpIdType {
        Imsi = 0x01 => "IMSI",
        Msisdn = 0x02 => "MSISDN",
        SmscAddress = 0x03 => "SMSC address",
        Null = 0xff => "noSM-RP-DA/OA",
    }
}

open_enum! {
    /// SM Alert Reason (3GPP TS 29.002 §7.6.8.8).
    pub enum SmAlertReason {
        MsPresent = 0x01 => "MS present",
        MemoryAvailable = 0x02 => "Memory Available",
    }
}

open_enum! {
    /// AccessNetworkProtocolId of the AN-APDU IE (3GPP TS 29.002 §7.6.9.1).
    pub enum AccessNetworkProtocol {
        Bssap = 0x01 => "BSSAP (TS 48.006)",
        Ranap = 0x02 => "RANAP (TS 25.413)",
    }
}

open_enum! {
    /// PDP type organisation (3GPP TS 24.008 §10.5.6.4), low nibble.
    pub enum PdpTypeOrg {
        Etsi = 0x00 => "ETSI",
        Ietf = 0x01 => "IETF",
    }
}

open_enum! {
    /// PDP type number for IETF addresses (3GPP TS 24.008 §10.5.6.4).
    pub enum PdpTypeNumber {
        Ipv4 = 0x21 => "IPv4",
        Ipv6 = 0x57 => "IPv6",
        Ipv4v6 = 0x8d => "IPv4v6",
    }
}

/// The most Auth Tuple IEs one message may carry (libosmocore
/// `OSMO_GSUP_MAX_NUM_AUTH_INFO`; `gsup.adoc` "0-5").
pub const MAX_AUTH_TUPLES: usize = 5;
/// The most PDP Info / PDP Context ID IEs one message may carry
/// (libosmocore `OSMO_GSUP_MAX_NUM_PDP_INFO`).
pub const MAX_PDP_INFOS: usize = 10;
/// The most RAT types in a Supported RAT Types IE (libosmocore array size).
pub const MAX_RAT_TYPES: usize = 8;
/// The longest RES (3GPP TS 33.102 §6.3.7: 4 to 16 octets).
pub const MAX_RES_LEN: usize = 16;

/// Reads a sequence of `tag, length, value` items with 1-octet tag and length.
#[derive(Debug, Clone)]
pub struct TlvReader<'a> {
    data: &'a [u8],
}

impl<'a> TlvReader<'a> {
    /// Starts reading at the first tag of `data`.
    pub fn new(data: &'a [u8]) -> TlvReader<'a> {
        TlvReader { data }
    }

    /// The bytes not yet read.
    pub fn remaining(&self) -> &'a [u8] {
        self.data
    }
}

impl<'a> Iterator for TlvReader<'a> {
    type Item = Result<(u8, &'a [u8]), GsupError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&tag, rest) = self.data.split_first()?;
        let Some((&len, rest)) = rest.split_first() else {
            self.data = &[];
            return Some(Err(GsupError::Truncated { iei: tag }));
        };
        let len = usize::from(len);
        if rest.len() < len {
            self.data = &[];
            return Some(Err(GsupError::Truncated { iei: tag }));
        }
        let (value, rest) = rest.split_at(len);
        self.data = rest;
        Some(Ok((tag, value)))
    }
}

/// Appends one TLV, refusing values longer than 255 octets.
pub fn put_tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) -> Result<(), GsupError> {
    let len = u8::try_from(value.len()).map_err(|_| GsupError::IeTooLong {
        iei: tag,
        len: value.len(),
    })?;
    out.push(tag);
    out.push(len);
    out.extend_from_slice(value);
    Ok(())
}

/// Appends one TLV whose value `body` writes, then fills in the length.
fn put_nested(
    out: &mut Vec<u8>,
    tag: u8,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), GsupError>,
) -> Result<(), GsupError> {
    out.push(tag);
    let len_at = out.len();
    out.push(0);
    body(out)?;
    let len = out.len() - len_at - 1;
    out[len_at] = u8::try_from(len).map_err(|_| GsupError::IeTooLong { iei: tag, len })?;
    Ok(())
}

/// Checks that `value` has exactly `N` octets.
fn fixed<const N: usize>(iei: Iei, value: &[u8]) -> Result<[u8; N], GsupError> {
    value.try_into().map_err(|_| GsupError::BadIeLength {
        iei: iei.into(),
        len: value.len(),
    })
}

/// Checks that `value` is one octet.
fn one(iei: Iei, value: &[u8]) -> Result<u8, GsupError> {
    fixed::<1>(iei, value).map(|[b]| b)
}

/// Checks that `value` is empty (flag IEs, `gsup.adoc` "Empty field").
fn empty(iei: Iei, value: &[u8]) -> Result<(), GsupError> {
    if value.is_empty() {
        Ok(())
    } else {
        Err(GsupError::BadIeLength {
            iei: iei.into(),
            len: value.len(),
        })
    }
}

/// An IE kept as received: a tag this crate does not interpret here.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawIe {
    /// The tag octet.
    pub tag: u8,
    /// The value octets.
    pub value: Vec<u8>,
}

/// One authentication vector (`gsup.adoc` "Auth tuple"; nested IEs RAND,
/// SRES, Kc for GSM and IK, CK, AUTN, RES for UMTS AKA).
///
/// RAND is required: a tuple without a challenge is of no use to the VLR.
/// The key material (SRES, Kc, IK, CK, RES) is wiped when the tuple drops.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthTuple {
    /// RAND (16 octets).
    pub rand: [u8; 16],
    /// SRES (4 octets), GSM authentication result.
    pub sres: Option<[u8; 4]>,
    /// Kc (8 octets), GSM cipher key.
    pub kc: Option<[u8; 8]>,
    /// IK (16 octets), UMTS integrity key.
    pub ik: Option<[u8; 16]>,
    /// CK (16 octets), UMTS cipher key.
    pub ck: Option<[u8; 16]>,
    /// AUTN (16 octets), network authentication token.
    pub autn: Option<[u8; 16]>,
    /// RES / XRES (up to 16 octets).
    pub res: Option<Vec<u8>>,
    /// Nested IEs with other tags, kept in order and re-emitted last.
    pub extra: Vec<RawIe>,
}

impl Drop for AuthTuple {
    fn drop(&mut self) {
        self.sres.zeroize();
        self.kc.zeroize();
        self.ik.zeroize();
        self.ck.zeroize();
        self.res.zeroize();
    }
}

impl fmt::Debug for AuthTuple {
    /// Shows RAND and which parts are present, never the keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthTuple")
            .field("rand", &Hex(&self.rand))
            .field("gsm", &(self.sres.is_some() && self.kc.is_some()))
            .field("umts", &self.is_umts())
            .field("extra", &self.extra.len())
            .finish()
    }
}

impl AuthTuple {
    /// A GSM triplet.
    pub fn gsm(rand: [u8; 16], sres: [u8; 4], kc: [u8; 8]) -> AuthTuple {
        AuthTuple {
            rand,
            sres: Some(sres),
            kc: Some(kc),
            ik: None,
            ck: None,
            autn: None,
            res: None,
            extra: Vec::new(),
        }
    }

    /// A UMTS quintuplet; add the GSM part with [`AuthTuple::with_gsm`] for
    /// subscribers that may also attach over GERAN (osmo-hlr sends both).
    pub fn umts(
        rand: [u8; 16],
        autn: [u8; 16],
        ck: [u8; 16],
        ik: [u8; 16],
        res: &[u8],
    ) -> Result<AuthTuple, GsupError> {
        if res.len() > MAX_RES_LEN {
            return Err(GsupError::BadIeLength {
                iei: Iei::Res.into(),
                len: res.len(),
            });
        }
        Ok(AuthTuple {
            rand,
            sres: None,
            kc: None,
            ik: Some(ik),
            ck: Some(ck),
            autn: Some(autn),
            res: Some(res.to_vec()),
            extra: Vec::new(),
        })
    }

    /// Adds SRES and Kc.
    pub fn with_gsm(mut self, sres: [u8; 4], kc: [u8; 8]) -> AuthTuple {
        self.sres = Some(sres);
        self.kc = Some(kc);
        self
    }

    /// True when any UMTS part (IK, CK, AUTN, RES) is present, which is how
    /// libosmocore decides the vector supports UMTS AKA.
    pub fn is_umts(&self) -> bool {
        self.ik.is_some() || self.ck.is_some() || self.autn.is_some() || self.res.is_some()
    }

    /// Decodes the value of an Auth Tuple IE.
    pub fn decode(value: &[u8]) -> Result<AuthTuple, GsupError> {
        let mut rand = None;
        let mut t = AuthTuple {
            rand: [0; 16],
            sres: None,
            kc: None,
            ik: None,
            ck: None,
            autn: None,
            res: None,
            extra: Vec::new(),
        };
        for item in TlvReader::new(value) {
            let (tag, v) = item?;
            let iei = Iei::from(tag);
            let fresh = match iei {
                Iei::Rand => rand.replace(fixed(iei, v)?).is_none(),
                Iei::Sres => t.sres.replace(fixed(iei, v)?).is_none(),
                Iei::Kc => t.kc.replace(fixed(iei, v)?).is_none(),
                Iei::Ik => t.ik.replace(fixed(iei, v)?).is_none(),
                Iei::Ck => t.ck.replace(fixed(iei, v)?).is_none(),
                Iei::Autn => t.autn.replace(fixed(iei, v)?).is_none(),
                Iei::Res => {
                    if v.len() > MAX_RES_LEN {
                        return Err(GsupError::BadIeLength {
                            iei: tag,
                            len: v.len(),
                        });
                    }
                    t.res.replace(v.to_vec()).is_none()
                }
                _ => {
                    t.extra.push(RawIe {
                        tag,
                        value: v.to_vec(),
                    });
                    true
                }
            };
            if !fresh {
                return Err(GsupError::DuplicateIe { iei: tag });
            }
        }
        t.rand = rand.ok_or(GsupError::MissingMandatoryIe {
            iei: Iei::Rand.into(),
        })?;
        Ok(t)
    }

    /// Appends the value of an Auth Tuple IE in libosmocore's order
    /// (RAND, SRES, Kc, IK, CK, AUTN, RES), then any extra IEs.
    pub fn emit_value(&self, out: &mut Vec<u8>) -> Result<(), GsupError> {
        put_tlv(out, Iei::Rand.into(), &self.rand)?;
        if let Some(v) = &self.sres {
            put_tlv(out, Iei::Sres.into(), v)?;
        }
        if let Some(v) = &self.kc {
            put_tlv(out, Iei::Kc.into(), v)?;
        }
        if let Some(v) = &self.ik {
            put_tlv(out, Iei::Ik.into(), v)?;
        }
        if let Some(v) = &self.ck {
            put_tlv(out, Iei::Ck.into(), v)?;
        }
        if let Some(v) = &self.autn {
            put_tlv(out, Iei::Autn.into(), v)?;
        }
        if let Some(v) = &self.res {
            put_tlv(out, Iei::Res.into(), v)?;
        }
        for raw in &self.extra {
            put_tlv(out, raw.tag, &raw.value)?;
        }
        Ok(())
    }
}

/// An Access Point Name in its encoded form: length-prefixed labels
/// (3GPP TS 23.003 §9.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Apn(Vec<u8>);

/// The longest encoded APN (3GPP TS 23.003 §9.1: 100 octets).
pub const MAX_APN_LEN: usize = 100;

impl Apn {
    /// Wraps encoded APN octets as received.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Apn {
        Apn(bytes.into())
    }

    /// Encodes a dotted APN such as `internet.mnc001.mcc001.gprs`, or the
    /// wildcard `*` osmo-hlr sends when no PDP profile is configured.
    pub fn from_dotted(name: &str) -> Result<Apn, GsupError> {
        let mut out = Vec::with_capacity(name.len() + 1);
        for label in name.split('.') {
            let len = u8::try_from(label.len())
                .ok()
                .filter(|&l| (1..=63).contains(&l))
                .ok_or(GsupError::InvalidApn)?;
            out.push(len);
            out.extend_from_slice(label.as_bytes());
        }
        if out.len() > MAX_APN_LEN {
            return Err(GsupError::InvalidApn);
        }
        Ok(Apn(out))
    }

    /// The encoded octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The dotted form; `None` when the labels do not parse.
    pub fn to_dotted(&self) -> Option<String> {
        let mut out = String::new();
        let mut rest = self.0.as_slice();
        while let Some((&len, tail)) = rest.split_first() {
            let label = tail.get(..usize::from(len))?;
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(core::str::from_utf8(label).ok()?);
            rest = &tail[usize::from(len)..];
        }
        Some(out)
    }
}

/// The PDP Address IE (0x11): 3GPP TS 24.008 §10.5.6.4 octets 3 onwards.
///
/// osmo peers put `1111` in the spare nibble; others send `0000`, so the
/// nibble is kept as received (`gsup.adoc` "PDP Type": "the receiver shall
/// ignore these bits").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PdpAddress {
    /// High nibble of the first octet (0..=15).
    pub spare: u8,
    /// PDP type organisation (low nibble of the first octet).
    pub organization: PdpTypeOrg,
    /// PDP type number.
    pub type_number: PdpTypeNumber,
    /// Address octets: none for dynamic addressing, 4 (IPv4), 16 (IPv6) or
    /// 20 (IPv4v6).
    pub address: Vec<u8>,
}

impl PdpAddress {
    fn ietf(type_number: PdpTypeNumber, address: Vec<u8>) -> PdpAddress {
        PdpAddress {
            spare: 0x0f,
            organization: PdpTypeOrg::Ietf,
            type_number,
            address,
        }
    }

    /// IPv4 PDP type, with or without a static address.
    pub fn ipv4(addr: Option<Ipv4Addr>) -> PdpAddress {
        PdpAddress::ietf(
            PdpTypeNumber::Ipv4,
            addr.map(|a| a.octets().to_vec()).unwrap_or_default(),
        )
    }

    /// IPv6 PDP type, with or without a static address.
    pub fn ipv6(addr: Option<Ipv6Addr>) -> PdpAddress {
        PdpAddress::ietf(
            PdpTypeNumber::Ipv6,
            addr.map(|a| a.octets().to_vec()).unwrap_or_default(),
        )
    }

    /// IPv4v6 PDP type, with both static addresses or none (libosmocore
    /// accepts nothing in between).
    pub fn ipv4v6(addrs: Option<(Ipv4Addr, Ipv6Addr)>) -> PdpAddress {
        let mut address = Vec::new();
        if let Some((v4, v6)) = addrs {
            address.extend_from_slice(&v4.octets());
            address.extend_from_slice(&v6.octets());
        }
        PdpAddress::ietf(PdpTypeNumber::Ipv4v6, address)
    }

    /// The static IPv4 address, if any.
    pub fn ipv4_addr(&self) -> Option<Ipv4Addr> {
        if self.organization != PdpTypeOrg::Ietf {
            return None;
        }
        match self.type_number {
            PdpTypeNumber::Ipv4 | PdpTypeNumber::Ipv4v6 => {
                let v4: [u8; 4] = self.address.get(..4)?.try_into().ok()?;
                Some(Ipv4Addr::from(v4))
            }
            _ => None,
        }
    }

    /// The static IPv6 address, if any.
    pub fn ipv6_addr(&self) -> Option<Ipv6Addr> {
        if self.organization != PdpTypeOrg::Ietf {
            return None;
        }
        let v6: [u8; 16] = match self.type_number {
            PdpTypeNumber::Ipv6 => self.address.get(..16)?.try_into().ok()?,
            PdpTypeNumber::Ipv4v6 => self.address.get(4..20)?.try_into().ok()?,
            _ => return None,
        };
        Some(Ipv6Addr::from(v6))
    }

    /// Decodes the IE value, checking IETF address lengths the way
    /// libosmocore's `decode_pdp_address` does.
    pub fn decode(value: &[u8]) -> Result<PdpAddress, GsupError> {
        let bad = || GsupError::BadIeLength {
            iei: Iei::PdpAddress.into(),
            len: value.len(),
        };
        let [first, number, address @ ..] = value else {
            return Err(bad());
        };
        let pdp = PdpAddress {
            spare: first >> 4,
            organization: PdpTypeOrg::from(first & 0x0f),
            type_number: PdpTypeNumber::from(*number),
            address: address.to_vec(),
        };
        if pdp.organization == PdpTypeOrg::Ietf {
            let ok = match pdp.type_number {
                PdpTypeNumber::Ipv4 => matches!(address.len(), 0 | 4),
                PdpTypeNumber::Ipv6 => matches!(address.len(), 0 | 16),
                PdpTypeNumber::Ipv4v6 => matches!(address.len(), 0 | 20),
                PdpTypeNumber::Unknown(_) => true,
            };
            if !ok {
                return Err(bad());
            }
        }
        Ok(pdp)
    }

    /// Appends the IE value.
    pub fn emit_value(&self, out: &mut Vec<u8>) {
        out.push((self.spare << 4) | (u8::from(self.organization) & 0x0f));
        out.push(self.type_number.into());
        out.extend_from_slice(&self.address);
    }
}

/// A PDP context description (`gsup.adoc` "PDP Info"): nested PDP Context
/// ID, PDP Address, APN, QoS and Charging Characteristics IEs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PdpInfo {
    /// PDP Context ID (0x10), one octet.
    pub context_id: Option<u8>,
    /// PDP Address (0x11).
    pub address: Option<PdpAddress>,
    /// Access Point Name (0x12), encoded.
    pub apn: Option<Apn>,
    /// Subscribed QoS (0x13), encoded as in TS 24.008 §10.5.6.5.
    pub qos: Option<Vec<u8>>,
    /// PDP-Charging Characteristics (0x14), encoded (TS 32.215).
    pub charging: Option<Vec<u8>>,
    /// Nested IEs with other tags, kept in order and re-emitted last.
    pub extra: Vec<RawIe>,
}

impl PdpInfo {
    /// A PDP context with an ID, a PDP type/address and an APN: what
    /// osmo-hlr puts in Insert Subscriber Data for the PS domain.
    pub fn new(context_id: u8, address: PdpAddress, apn: Apn) -> PdpInfo {
        PdpInfo {
            context_id: Some(context_id),
            address: Some(address),
            apn: Some(apn),
            ..Default::default()
        }
    }

    /// Decodes the value of a PDP Info IE.
    pub fn decode(value: &[u8]) -> Result<PdpInfo, GsupError> {
        let mut p = PdpInfo::default();
        for item in TlvReader::new(value) {
            let (tag, v) = item?;
            let iei = Iei::from(tag);
            let fresh = match iei {
                Iei::PdpContextId => p.context_id.replace(one(iei, v)?).is_none(),
                Iei::PdpAddress => p.address.replace(PdpAddress::decode(v)?).is_none(),
                Iei::AccessPointName => p.apn.replace(Apn::from_bytes(v)).is_none(),
                Iei::Qos => p.qos.replace(v.to_vec()).is_none(),
                Iei::ChargingCharacteristics => p.charging.replace(v.to_vec()).is_none(),
                _ => {
                    p.extra.push(RawIe {
                        tag,
                        value: v.to_vec(),
                    });
                    true
                }
            };
            if !fresh {
                return Err(GsupError::DuplicateIe { iei: tag });
            }
        }
        Ok(p)
    }

    /// Appends the value of a PDP Info IE in libosmocore's order.
    pub fn emit_value(&self, out: &mut Vec<u8>) -> Result<(), GsupError> {
        if let Some(id) = self.context_id {
            put_tlv(out, Iei::PdpContextId.into(), &[id])?;
        }
        if let Some(addr) = &self.address {
            put_nested(out, Iei::PdpAddress.into(), |out| {
                addr.emit_value(out);
                Ok(())
            })?;
        }
        if let Some(apn) = &self.apn {
            put_tlv(out, Iei::AccessPointName.into(), apn.as_bytes())?;
        }
        if let Some(qos) = &self.qos {
            put_tlv(out, Iei::Qos.into(), qos)?;
        }
        if let Some(cc) = &self.charging {
            put_tlv(out, Iei::ChargingCharacteristics.into(), cc)?;
        }
        for raw in &self.extra {
            put_tlv(out, raw.tag, &raw.value)?;
        }
        Ok(())
    }
}

/// SM-RP-DA / SM-RP-OA value (`gsup.adoc` "Coding of SM-RP-DA / SM-RP-OA").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmRpAddress {
    /// Identity type.
    pub id_type: SmRpIdType,
    /// Encoded identity (TBCD IMSI, or TON/NPI + BCD); empty for `Null`.
    pub value: Vec<u8>,
}

impl SmRpAddress {
    fn decode(iei: Iei, value: &[u8]) -> Result<SmRpAddress, GsupError> {
        let invalid = |reason| GsupError::InvalidIe {
            iei: iei.into(),
            reason,
        };
        let (&id, rest) = value
            .split_first()
            .ok_or(invalid("missing identity type"))?;
        let id_type = SmRpIdType::from(id);
        match id_type {
            SmRpIdType::Imsi | SmRpIdType::Msisdn | SmRpIdType::SmscAddress if rest.is_empty() => {
                Err(invalid("missing encoded identity"))
            }
            SmRpIdType::Null if !rest.is_empty() => {
                Err(invalid("identity present with noSM-RP-DA/OA"))
            }
            SmRpIdType::Unknown(_) => Err(invalid("unknown identity type")),
            _ => Ok(SmRpAddress {
                id_type,
                value: rest.to_vec(),
            }),
        }
    }
}

/// AN-APDU value (3GPP TS 29.002 §7.6.9.1): protocol octet and payload.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AnApdu {
    /// Access network protocol of `data`.
    pub protocol: AccessNetworkProtocol,
    /// BSSAP or RANAP payload.
    pub data: Vec<u8>,
}

/// One top-level GSUP IE after the IMSI.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ie {
    /// Cause (0x02), a GMM cause.
    Cause(Cause),
    /// Auth Tuple (0x03).
    AuthTuple(AuthTuple),
    /// PDP Info Complete flag (0x04): clear the old PDP list first.
    PdpInfoComplete,
    /// PDP Info (0x05).
    PdpInfo(PdpInfo),
    /// Cancellation Type (0x06).
    CancelType(CancelType),
    /// Freeze P-TMSI flag (0x07).
    FreezePtmsi,
    /// MSISDN (0x08).
    Msisdn(AddressString),
    /// HLR Number (0x09).
    HlrNumber(AddressString),
    /// Message Class (0x0a).
    MessageClass(MessageClass),
    /// PDP Context ID (0x10) at top level: one context to delete in Delete
    /// Subscriber Data.
    PdpContextId(u8),
    /// PDP-Charging Characteristics (0x14) for the whole subscription.
    ChargingCharacteristics(Vec<u8>),
    /// Protocol Configuration Options (0x15).
    Pco(Vec<u8>),
    /// RAND (0x20) of an AUTS re-synchronisation request.
    Rand([u8; 16]),
    /// AUTS (0x26), 14 octets.
    Auts([u8; 14]),
    /// CN Domain (0x28).
    CnDomain(CnDomain),
    /// Supported RAT Types (0x29), one octet per RAT.
    SupportedRatTypes(Vec<RatType>),
    /// Current RAT Type (0x2a).
    CurrentRatType(RatType),
    /// Session ID (0x30), four octets big-endian.
    SessionId(u32),
    /// Session State (0x31).
    SessionState(SessionState),
    /// Supplementary Service Info (0x35): a GSM 04.80 payload.
    SsInfo(Vec<u8>),
    /// SM-RP-MR (0x40), message reference.
    SmRpMr(u8),
    /// SM-RP-DA (0x41).
    SmRpDa(SmRpAddress),
    /// SM-RP-OA (0x42).
    SmRpOa(SmRpAddress),
    /// SM-RP-UI (0x43), the TPDU.
    SmRpUi(Vec<u8>),
    /// SM-RP-Cause (0x44).
    SmRpCause(u8),
    /// SM-RP-MMS (0x45).
    SmRpMms(u8),
    /// SM Alert Reason (0x46).
    SmAlertReason(SmAlertReason),
    /// IMEI (0x50), length-prefixed BCD like the MSISDN.
    Imei(AddressString),
    /// IMEI Check Result (0x51).
    ImeiResult(ImeiResult),
    /// Number of vectors requested (0x52) in Send Auth Info Request.
    NumVectorsRequested(u8),
    /// Source Name (0x60): IPA name of the originating peer, NUL-terminated.
    SourceName(Vec<u8>),
    /// Destination Name (0x61): IPA name of the final recipient.
    DestinationName(Vec<u8>),
    /// AN-APDU (0x62).
    AnApdu(AnApdu),
    /// RR Cause (0x63), TS 44.018 §10.5.2.31.
    CauseRr(u8),
    /// BSSAP Cause (0x64), TS 48.008 §3.2.2.5.
    CauseBssap(u8),
    /// Session Management Cause (0x65), TS 24.008 §10.5.6.6.
    CauseSm(u8),
    /// Any other tag, including IEs that only have meaning nested (SRES,
    /// Kc, ...) or repeated IMSI IEs, which libosmocore also ignores.
    Raw(RawIe),
}

impl Ie {
    /// The tag this IE is sent with.
    pub fn iei(&self) -> u8 {
        let iei = match self {
            Ie::Cause(_) => Iei::Cause,
            Ie::AuthTuple(_) => Iei::AuthTuple,
            Ie::PdpInfoComplete => Iei::PdpInfoComplete,
            Ie::PdpInfo(_) => Iei::PdpInfo,
            Ie::CancelType(_) => Iei::CancelType,
            Ie::FreezePtmsi => Iei::FreezePtmsi,
            Ie::Msisdn(_) => Iei::Msisdn,
            Ie::HlrNumber(_) => Iei::HlrNumber,
            Ie::MessageClass(_) => Iei::MessageClass,
            Ie::PdpContextId(_) => Iei::PdpContextId,
            Ie::ChargingCharacteristics(_) => Iei::ChargingCharacteristics,
            Ie::Pco(_) => Iei::Pco,
            Ie::Rand(_) => Iei::Rand,
            Ie::Auts(_) => Iei::Auts,
            Ie::CnDomain(_) => Iei::CnDomain,
            Ie::SupportedRatTypes(_) => Iei::SupportedRatTypes,
            Ie::CurrentRatType(_) => Iei::CurrentRatType,
            Ie::SessionId(_) => Iei::SessionId,
            Ie::SessionState(_) => Iei::SessionState,
            Ie::SsInfo(_) => Iei::SsInfo,
            Ie::SmRpMr(_) => Iei::SmRpMr,
            Ie::SmRpDa(_) => Iei::SmRpDa,
            Ie::SmRpOa(_) => Iei::SmRpOa,
            Ie::SmRpUi(_) => Iei::SmRpUi,
            Ie::SmRpCause(_) => Iei::SmRpCause,
            Ie::SmRpMms(_) => Iei::SmRpMms,
            Ie::SmAlertReason(_) => Iei::SmAlertReason,
            Ie::Imei(_) => Iei::Imei,
            Ie::ImeiResult(_) => Iei::ImeiResult,
            Ie::NumVectorsRequested(_) => Iei::NumVectorsRequested,
            Ie::SourceName(_) => Iei::SourceName,
            Ie::DestinationName(_) => Iei::DestinationName,
            Ie::AnApdu(_) => Iei::AnApdu,
            Ie::CauseRr(_) => Iei::CauseRr,
            Ie::CauseBssap(_) => Iei::CauseBssap,
            Ie::CauseSm(_) => Iei::CauseSm,
            Ie::Raw(raw) => return raw.tag,
        };
        iei.into()
    }

    /// Position in the order `osmo_gsup_encode` writes IEs in; builders
    /// sort by it so that what we send matches what osmo peers send.
    pub fn canonical_rank(&self) -> u8 {
        match self {
            Ie::Msisdn(_) => 0,
            Ie::HlrNumber(_) => 1,
            Ie::Cause(_) => 2,
            Ie::CancelType(_) => 3,
            Ie::PdpInfoComplete => 4,
            Ie::FreezePtmsi => 5,
            Ie::PdpInfo(_) | Ie::PdpContextId(_) => 6,
            Ie::NumVectorsRequested(_) | Ie::AuthTuple(_) => 7,
            Ie::Auts(_) => 8,
            Ie::Rand(_) => 9,
            Ie::Pco(_) => 10,
            Ie::CnDomain(_) => 11,
            Ie::ChargingCharacteristics(_) => 12,
            Ie::SessionId(_) => 13,
            Ie::SessionState(_) => 14,
            Ie::SsInfo(_) => 15,
            Ie::SmRpMr(_) => 16,
            Ie::SmRpDa(_) => 17,
            Ie::SmRpOa(_) => 18,
            Ie::SmRpUi(_) => 19,
            Ie::SmRpMms(_) => 20,
            Ie::SmRpCause(_) => 21,
            Ie::SmAlertReason(_) => 22,
            Ie::Imei(_) => 23,
            Ie::ImeiResult(_) => 24,
            Ie::MessageClass(_) => 25,
            Ie::SourceName(_) => 26,
            Ie::DestinationName(_) => 27,
            Ie::AnApdu(_) => 28,
            Ie::CauseRr(_) => 29,
            Ie::CauseBssap(_) => 30,
            Ie::CauseSm(_) => 31,
            Ie::SupportedRatTypes(_) => 32,
            Ie::CurrentRatType(_) => 33,
            Ie::Raw(_) => 34,
        }
    }

    /// Decodes one top-level IE from its tag and value.
    pub fn decode(tag: u8, value: &[u8]) -> Result<Ie, GsupError> {
        let iei = Iei::from(tag);
        Ok(match iei {
            Iei::Cause => Ie::Cause(one(iei, value)?.into()),
            Iei::AuthTuple => Ie::AuthTuple(AuthTuple::decode(value)?),
            Iei::PdpInfoComplete => {
                empty(iei, value)?;
                Ie::PdpInfoComplete
            }
            Iei::PdpInfo => Ie::PdpInfo(PdpInfo::decode(value)?),
            Iei::CancelType => Ie::CancelType(one(iei, value)?.into()),
            Iei::FreezePtmsi => {
                empty(iei, value)?;
                Ie::FreezePtmsi
            }
            Iei::Msisdn => Ie::Msisdn(AddressString::from_bytes(value)),
            Iei::HlrNumber => Ie::HlrNumber(AddressString::from_bytes(value)),
            Iei::MessageClass => Ie::MessageClass(one(iei, value)?.into()),
            Iei::PdpContextId => Ie::PdpContextId(one(iei, value)?),
            Iei::ChargingCharacteristics => Ie::ChargingCharacteristics(value.to_vec()),
            Iei::Pco => Ie::Pco(value.to_vec()),
            Iei::Rand => Ie::Rand(fixed(iei, value)?),
            Iei::Auts => Ie::Auts(fixed(iei, value)?),
            Iei::CnDomain => Ie::CnDomain(one(iei, value)?.into()),
            Iei::SupportedRatTypes => {
                if value.len() > MAX_RAT_TYPES {
                    return Err(GsupError::BadIeLength {
                        iei: tag,
                        len: value.len(),
                    });
                }
                Ie::SupportedRatTypes(value.iter().map(|&b| RatType::from(b)).collect())
            }
            Iei::CurrentRatType => Ie::CurrentRatType(one(iei, value)?.into()),
            Iei::SessionId => Ie::SessionId(u32::from_be_bytes(fixed(iei, value)?)),
            Iei::SessionState => Ie::SessionState(one(iei, value)?.into()),
            Iei::SsInfo => Ie::SsInfo(value.to_vec()),
            Iei::SmRpMr => Ie::SmRpMr(one(iei, value)?),
            Iei::SmRpDa => Ie::SmRpDa(SmRpAddress::decode(iei, value)?),
            Iei::SmRpOa => Ie::SmRpOa(SmRpAddress::decode(iei, value)?),
            Iei::SmRpUi => Ie::SmRpUi(value.to_vec()),
            Iei::SmRpCause => Ie::SmRpCause(one(iei, value)?),
            Iei::SmRpMms => Ie::SmRpMms(one(iei, value)?),
            Iei::SmAlertReason => Ie::SmAlertReason(one(iei, value)?.into()),
            Iei::Imei => Ie::Imei(AddressString::from_bytes(value)),
            Iei::ImeiResult => Ie::ImeiResult(one(iei, value)?.into()),
            Iei::NumVectorsRequested => Ie::NumVectorsRequested(one(iei, value)?),
            Iei::SourceName => Ie::SourceName(value.to_vec()),
            Iei::DestinationName => Ie::DestinationName(value.to_vec()),
            Iei::AnApdu => {
                let (&proto, data) = value
                    .split_first()
                    .ok_or(GsupError::BadIeLength { iei: tag, len: 0 })?;
                Ie::AnApdu(AnApdu {
                    protocol: proto.into(),
                    data: data.to_vec(),
                })
            }
            Iei::CauseRr => Ie::CauseRr(one(iei, value)?),
            Iei::CauseBssap => Ie::CauseBssap(one(iei, value)?),
            Iei::CauseSm => Ie::CauseSm(one(iei, value)?),
            // IMSI again, and IEs that only mean something nested, are
            // ignored by libosmocore; keep them as raw octets.
            Iei::Imsi
            | Iei::PdpAddress
            | Iei::AccessPointName
            | Iei::Qos
            | Iei::Sres
            | Iei::Kc
            | Iei::Ik
            | Iei::Ck
            | Iei::Autn
            | Iei::Res
            | Iei::Unknown(_) => Ie::Raw(RawIe {
                tag,
                value: value.to_vec(),
            }),
        })
    }

    /// Appends the whole TLV.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), GsupError> {
        let tag = self.iei();
        match self {
            Ie::Cause(v) => put_tlv(out, tag, &[(*v).into()]),
            Ie::AuthTuple(t) => put_nested(out, tag, |out| t.emit_value(out)),
            Ie::PdpInfoComplete | Ie::FreezePtmsi => put_tlv(out, tag, &[]),
            Ie::PdpInfo(p) => put_nested(out, tag, |out| p.emit_value(out)),
            Ie::CancelType(v) => put_tlv(out, tag, &[(*v).into()]),
            Ie::Msisdn(a) | Ie::HlrNumber(a) | Ie::Imei(a) => put_tlv(out, tag, a.as_bytes()),
            Ie::MessageClass(v) => put_tlv(out, tag, &[(*v).into()]),
            Ie::PdpContextId(v) | Ie::SmRpMr(v) | Ie::SmRpCause(v) | Ie::SmRpMms(v) => {
                put_tlv(out, tag, &[*v])
            }
            Ie::NumVectorsRequested(v) | Ie::CauseRr(v) | Ie::CauseBssap(v) | Ie::CauseSm(v) => {
                put_tlv(out, tag, &[*v])
            }
            Ie::Pco(v)
            | Ie::ChargingCharacteristics(v)
            | Ie::SsInfo(v)
            | Ie::SmRpUi(v)
            | Ie::SourceName(v)
            | Ie::DestinationName(v) => put_tlv(out, tag, v),
            Ie::Rand(v) => put_tlv(out, tag, v),
            Ie::Auts(v) => put_tlv(out, tag, v),
            Ie::CnDomain(v) => put_tlv(out, tag, &[(*v).into()]),
            Ie::SupportedRatTypes(v) => {
                if v.len() > MAX_RAT_TYPES {
                    return Err(GsupError::IeTooLong {
                        iei: tag,
                        len: v.len(),
                    });
                }
                let octets: Vec<u8> = v.iter().map(|&r| r.into()).collect();
                put_tlv(out, tag, &octets)
            }
            Ie::CurrentRatType(v) => put_tlv(out, tag, &[(*v).into()]),
            Ie::SessionId(v) => put_tlv(out, tag, &v.to_be_bytes()),
            Ie::SessionState(v) => put_tlv(out, tag, &[(*v).into()]),
            Ie::SmRpDa(a) | Ie::SmRpOa(a) => put_nested(out, tag, |out| {
                out.push(a.id_type.into());
                out.extend_from_slice(&a.value);
                Ok(())
            }),
            Ie::SmAlertReason(v) => put_tlv(out, tag, &[(*v).into()]),
            Ie::ImeiResult(v) => put_tlv(out, tag, &[(*v).into()]),
            Ie::AnApdu(a) => put_nested(out, tag, |out| {
                out.push(a.protocol.into());
                out.extend_from_slice(&a.data);
                Ok(())
            }),
            Ie::Raw(raw) => put_tlv(out, raw.tag, &raw.value),
        }
    }
}

/// Lower-case hex for Debug output.
pub(crate) struct Hex<'a>(pub &'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(ie: &Ie) -> Vec<u8> {
        let mut out = Vec::new();
        ie.emit(&mut out).unwrap();
        let mut r = TlvReader::new(&out);
        let (tag, value) = r.next().unwrap().unwrap();
        assert!(r.next().is_none());
        assert_eq!(&Ie::decode(tag, value).unwrap(), ie);
        out
    }

    #[test]
    fn tlv_reader_truncation() {
        let items: Vec<_> = TlvReader::new(&[0x02, 0x01, 0x11, 0x03]).collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].as_ref().unwrap(), &(0x02, &[0x11][..]));
        assert_eq!(items[1], Err(GsupError::Truncated { iei: 0x03 }));
        let items: Vec<_> = TlvReader::new(&[0x20, 0x10, 0x00]).collect();
        assert_eq!(items, vec![Err(GsupError::Truncated { iei: 0x20 })]);
    }

    #[test]
    fn put_tlv_refuses_long_values() {
        let mut out = Vec::new();
        assert_eq!(
            put_tlv(&mut out, 0x35, &[0; 256]),
            Err(GsupError::IeTooLong {
                iei: 0x35,
                len: 256
            })
        );
        put_tlv(&mut out, 0x35, &[0; 255]).unwrap();
        assert_eq!(out.len(), 257);
    }

    #[test]
    fn scalar_ies_round_trip() {
        assert_eq!(
            round_trip(&Ie::Cause(Cause::ImsiUnknown)),
            [0x02, 0x01, 0x02]
        );
        assert_eq!(
            round_trip(&Ie::CancelType(CancelType::SubscriptionWithdrawn)),
            [0x06, 0x01, 0x01]
        );
        assert_eq!(round_trip(&Ie::CnDomain(CnDomain::Cs)), [0x28, 0x01, 0x02]);
        assert_eq!(
            round_trip(&Ie::SessionId(0x0102_0304)),
            [0x30, 0x04, 1, 2, 3, 4]
        );
        assert_eq!(
            round_trip(&Ie::ImeiResult(ImeiResult::Ack)),
            [0x51, 0x01, 0x00]
        );
        assert_eq!(round_trip(&Ie::PdpInfoComplete), [0x04, 0x00]);
        assert_eq!(round_trip(&Ie::NumVectorsRequested(3)), [0x52, 0x01, 0x03]);
        round_trip(&Ie::SupportedRatTypes(vec![RatType::Geran, RatType::Utran]));
        round_trip(&Ie::AnApdu(AnApdu {
            protocol: AccessNetworkProtocol::Bssap,
            data: vec![1, 2],
        }));
        round_trip(&Ie::SmRpDa(SmRpAddress {
            id_type: SmRpIdType::Null,
            value: vec![],
        }));
        round_trip(&Ie::Raw(RawIe {
            tag: 0x7f,
            value: vec![9],
        }));
    }

    #[test]
    fn wrong_lengths_are_errors() {
        assert_eq!(
            Ie::decode(0x02, &[]),
            Err(GsupError::BadIeLength { iei: 0x02, len: 0 })
        );
        assert_eq!(
            Ie::decode(0x02, &[1, 2]),
            Err(GsupError::BadIeLength { iei: 0x02, len: 2 })
        );
        assert_eq!(
            Ie::decode(0x26, &[0; 13]),
            Err(GsupError::BadIeLength { iei: 0x26, len: 13 })
        );
        assert_eq!(
            Ie::decode(0x20, &[0; 17]),
            Err(GsupError::BadIeLength { iei: 0x20, len: 17 })
        );
        assert_eq!(
            Ie::decode(0x30, &[0; 3]),
            Err(GsupError::BadIeLength { iei: 0x30, len: 3 })
        );
        assert_eq!(
            Ie::decode(0x07, &[0]),
            Err(GsupError::BadIeLength { iei: 0x07, len: 1 })
        );
        assert!(Ie::decode(0x41, &[]).is_err());
        assert!(Ie::decode(0x41, &[0x01]).is_err());
        assert!(Ie::decode(0x41, &[0xff, 0x00]).is_err());
        assert!(Ie::decode(0x41, &[0x07, 0x00]).is_err());
        assert!(Ie::decode(0x62, &[]).is_err());
        assert!(Ie::decode(0x29, &[1; 9]).is_err());
    }

    #[test]
    fn top_level_nested_only_tags_are_raw() {
        assert_eq!(
            Ie::decode(0x21, &[1, 2, 3, 4]).unwrap(),
            Ie::Raw(RawIe {
                tag: 0x21,
                value: vec![1, 2, 3, 4]
            })
        );
    }

    #[test]
    fn auth_tuple_rules() {
        let t = AuthTuple::umts([1; 16], [2; 16], [3; 16], [4; 16], &[5; 8])
            .unwrap()
            .with_gsm([6; 4], [7; 8]);
        let mut v = Vec::new();
        t.emit_value(&mut v).unwrap();
        assert_eq!(v.len(), 18 + 6 + 10 + 18 + 18 + 18 + 10);
        assert_eq!(AuthTuple::decode(&v).unwrap(), t);
        assert!(t.is_umts());
        // Missing RAND.
        assert_eq!(
            AuthTuple::decode(&[0x21, 4, 1, 2, 3, 4]),
            Err(GsupError::MissingMandatoryIe { iei: 0x20 })
        );
        // Duplicate RAND.
        let mut dup = vec![0x20, 16];
        dup.extend_from_slice(&[0; 16]);
        dup.extend_from_slice(&dup.clone());
        assert_eq!(
            AuthTuple::decode(&dup),
            Err(GsupError::DuplicateIe { iei: 0x20 })
        );
        // RES too long.
        assert!(AuthTuple::umts([0; 16], [0; 16], [0; 16], [0; 16], &[0; 17]).is_err());
        // Debug output never shows keys.
        let dbg = format!("{:?}", AuthTuple::gsm([0xaa; 16], [0xbb; 4], [0xcc; 8]));
        assert!(dbg.contains("aaaa") && !dbg.contains("bb") && !dbg.contains("cc"));
    }

    #[test]
    fn apn_coding() {
        let apn = Apn::from_dotted("test.apn").unwrap();
        assert_eq!(apn.as_bytes(), b"\x04test\x03apn");
        assert_eq!(apn.to_dotted().unwrap(), "test.apn");
        assert_eq!(Apn::from_dotted("*").unwrap().as_bytes(), b"\x01*");
        assert!(Apn::from_dotted("a..b").is_err());
        assert!(Apn::from_dotted(&"x".repeat(64)).is_err());
        assert_eq!(Apn::from_bytes(vec![5, b'a']).to_dotted(), None);
    }

    #[test]
    fn pdp_address_coding() {
        let a = PdpAddress::ipv4(Some(Ipv4Addr::new(10, 0, 0, 1)));
        let mut v = Vec::new();
        a.emit_value(&mut v);
        assert_eq!(v, [0xf1, 0x21, 10, 0, 0, 1]);
        assert_eq!(PdpAddress::decode(&v).unwrap(), a);
        assert_eq!(a.ipv4_addr(), Some(Ipv4Addr::new(10, 0, 0, 1)));
        let both = PdpAddress::ipv4v6(Some((Ipv4Addr::LOCALHOST, Ipv6Addr::LOCALHOST)));
        assert_eq!(both.ipv6_addr(), Some(Ipv6Addr::LOCALHOST));
        assert_eq!(both.ipv4_addr(), Some(Ipv4Addr::LOCALHOST));
        assert!(PdpAddress::decode(&[0xf1, 0x21, 1, 2]).is_err());
        assert!(PdpAddress::decode(&[0xf1]).is_err());
        // Spare bits 0000 are kept.
        assert_eq!(PdpAddress::decode(&[0x01, 0x57]).unwrap().spare, 0);
    }

    #[test]
    fn pdp_info_round_trip() {
        let p = PdpInfo {
            qos: Some(vec![1, 2, 3]),
            charging: Some(vec![0x01, 0x00]),
            ..PdpInfo::new(3, PdpAddress::ipv6(None), Apn::from_dotted("*").unwrap())
        };
        round_trip(&Ie::PdpInfo(p));
        assert_eq!(
            PdpInfo::decode(&[0x10, 1, 1, 0x10, 1, 2]),
            Err(GsupError::DuplicateIe { iei: 0x10 })
        );
    }
}
