//! The card's file system and the contents of its elementary files.
//!
//! The tree is the part of TS 102 221 §8 / TS 31.102 §4 that network
//! authentication needs:
//!
//! ```text
//! MF 3F00
//! ├── EF_ICCID 2FE2            (SFI 02)
//! ├── DF_GSM 7F20
//! │   ├── EF_IMSI 6F07
//! │   └── EF_AD 6FAD
//! └── ADF_USIM (selected by AID, then also as 7FFF)   -- absent on a 2G-only card
//!     ├── EF_IMSI 6F07          (SFI 07)
//!     └── EF_AD 6FAD            (SFI 03)
//! ```
//!
//! All EFs are transparent. EF_IMSI needs PIN1 when PIN1 is enabled; the other
//! files are always readable.

use thiserror::Error;

/// Errors encoding or decoding the contents of an EF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EfError {
    /// An IMSI must be 6 to 15 decimal digits (TS 23.003 §2.2).
    #[error("IMSI must be 6 to 15 decimal digits")]
    ImsiDigits,
    /// EF_IMSI bytes are not a valid encoding (TS 31.102 §4.2.2).
    #[error("malformed EF_IMSI: {0}")]
    ImsiEncoding(&'static str),
    /// An ICCID must be 1 to 20 decimal digits (TS 102 221 §13.2).
    #[error("ICCID must be 1 to 20 decimal digits")]
    IccidDigits,
    /// EF_ICCID bytes are not BCD.
    #[error("malformed EF_ICCID")]
    IccidEncoding,
    /// The MNC length must be 2 or 3 (TS 31.102 §4.2.18).
    #[error("MNC length must be 2 or 3")]
    MncLength,
    /// EF_AD is shorter than 4 bytes or holds no valid MNC length.
    #[error("malformed EF_AD")]
    AdEncoding,
}

/// File identifier of the MF (TS 102 221 §8.3).
pub const FID_MF: u16 = 0x3F00;
/// EF_ICCID under the MF (TS 102 221 §13.2).
pub const FID_ICCID: u16 = 0x2FE2;
/// DF_GSM (TS 51.011 §10.7).
pub const FID_DF_GSM: u16 = 0x7F20;
/// The FID that stands for the current application's ADF (TS 102 221 §8.3).
pub const FID_CURRENT_ADF: u16 = 0x7FFF;
/// EF_IMSI (TS 31.102 §4.2.2).
pub const FID_IMSI: u16 = 0x6F07;
/// EF_AD, administrative data (TS 31.102 §4.2.18).
pub const FID_AD: u16 = 0x6FAD;
/// RID and application code of every 3GPP USIM AID (TS 101 220 Annex E,
/// TS 31.102 Annex A): A0 00 00 00 87 || 10 02.
pub const USIM_AID_PREFIX: [u8; 7] = [0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02];
/// The full AID of this card's USIM: the prefix, country code and provider
/// code left unassigned (FF), and a provider field of this implementation.
pub const USIM_AID: [u8; 16] = [
    0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x01, 0x00, 0x00, 0x01,
];

/// Size of EF_IMSI (TS 31.102 §4.2.2).
pub const IMSI_EF_LEN: usize = 9;

/// Encode EF_IMSI (TS 31.102 §4.2.2, digits as in TS 24.008 §10.5.1.4):
/// a length byte (bytes used that follow), then digit 1 in the high nibble of
/// the first byte over the low nibble `1001` (odd count) or `0001` (even count:
/// identity type IMSI with the parity bit), then two digits per byte, low
/// nibble first, the last high nibble `F` when the count is even; unused bytes
/// `FF`.
pub fn encode_imsi(imsi: &str) -> Result<[u8; IMSI_EF_LEN], EfError> {
    let digits = decimal_digits(imsi).ok_or(EfError::ImsiDigits)?;
    if !(6..=15).contains(&digits.len()) {
        return Err(EfError::ImsiDigits);
    }
    let odd = digits.len() % 2 == 1;
    // Nibble stream: the type/parity nibble, then the digits, then F padding.
    let mut nibbles = Vec::with_capacity(16);
    nibbles.push(if odd { 0x9 } else { 0x1 });
    nibbles.extend_from_slice(&digits);
    if nibbles.len() % 2 == 1 {
        nibbles.push(0xF);
    }
    let mut out = [0xFFu8; IMSI_EF_LEN];
    out[0] = (nibbles.len() / 2) as u8;
    for (o, pair) in out[1..].iter_mut().zip(nibbles.chunks_exact(2)) {
        *o = pair[0] | (pair[1] << 4);
    }
    Ok(out)
}

/// Decode EF_IMSI; the inverse of [`encode_imsi`].
pub fn decode_imsi(ef: &[u8]) -> Result<String, EfError> {
    let (&len, rest) = ef.split_first().ok_or(EfError::ImsiEncoding("empty"))?;
    let len = usize::from(len);
    if !(1..=8).contains(&len) {
        return Err(EfError::ImsiEncoding("length byte out of range"));
    }
    let body = rest.get(..len).ok_or(EfError::ImsiEncoding("truncated"))?;
    let first = body[0] & 0x0F;
    if first & 0x07 != 0x01 {
        return Err(EfError::ImsiEncoding("identity type is not IMSI"));
    }
    let odd = first & 0x08 != 0;
    let mut nibbles: Vec<u8> = body
        .iter()
        .flat_map(|b| [b & 0x0F, b >> 4])
        .skip(1)
        .collect();
    if !odd && nibbles.pop() != Some(0xF) {
        return Err(EfError::ImsiEncoding(
            "missing filler for an even digit count",
        ));
    }
    if nibbles.iter().any(|&d| d > 9) {
        return Err(EfError::ImsiEncoding("non-decimal digit"));
    }
    if !(6..=15).contains(&nibbles.len()) {
        return Err(EfError::ImsiEncoding("digit count out of range"));
    }
    Ok(nibbles.iter().map(|&d| char::from(b'0' + d)).collect())
}

/// Encode EF_ICCID (TS 102 221 §13.2): 10 bytes of BCD, two digits per byte
/// with the first in the low nibble, `F` padding.
pub fn encode_iccid(iccid: &str) -> Result<[u8; 10], EfError> {
    let digits = decimal_digits(iccid).ok_or(EfError::IccidDigits)?;
    if !(1..=20).contains(&digits.len()) {
        return Err(EfError::IccidDigits);
    }
    let mut out = [0xFFu8; 10];
    for (i, d) in digits.iter().enumerate() {
        let byte = &mut out[i / 2];
        *byte = if i % 2 == 0 {
            (*byte & 0xF0) | d
        } else {
            (*byte & 0x0F) | (d << 4)
        };
    }
    Ok(out)
}

/// Decode EF_ICCID, stopping at the first `F` nibble.
pub fn decode_iccid(ef: &[u8]) -> Result<String, EfError> {
    let mut out = String::new();
    for d in ef.iter().take(10).flat_map(|b| [b & 0x0F, b >> 4]) {
        match d {
            0..=9 => out.push(char::from(b'0' + d)),
            0xF => break,
            _ => return Err(EfError::IccidEncoding),
        }
    }
    if out.is_empty() {
        return Err(EfError::IccidEncoding);
    }
    Ok(out)
}

/// Encode EF_AD (TS 31.102 §4.2.18): UE operation mode 00 (normal), two bytes
/// of additional information (no ciphering indicator), and the MNC length.
pub fn encode_ad(mnc_len: u8) -> Result<[u8; 4], EfError> {
    if !(2..=3).contains(&mnc_len) {
        return Err(EfError::MncLength);
    }
    Ok([0x00, 0x00, 0x00, mnc_len])
}

/// The MNC length from EF_AD (low nibble of byte 4).
pub fn decode_ad(ef: &[u8]) -> Result<u8, EfError> {
    match ef.get(3).map(|b| b & 0x0F) {
        Some(n @ 2..=3) => Ok(n),
        _ => Err(EfError::AdEncoding),
    }
}

fn decimal_digits(s: &str) -> Option<Vec<u8>> {
    s.bytes()
        .map(|b| b.is_ascii_digit().then(|| b - b'0'))
        .collect()
}

/// What a node of the tree is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NodeKind {
    /// The MF or a DF; an ADF when it has an AID.
    Df { aid: Option<Vec<u8>> },
    /// A transparent EF.
    Ef { data: Vec<u8>, needs_pin: bool },
}

/// One file of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub fid: u16,
    pub parent: Option<usize>,
    pub sfi: Option<u8>,
    pub kind: NodeKind,
}

/// The card's files; node 0 is the MF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileSystem {
    nodes: Vec<Node>,
}

pub(crate) const MF: usize = 0;

impl FileSystem {
    /// Build the tree of the module documentation. `usim` adds ADF_USIM.
    pub fn build(imsi: [u8; IMSI_EF_LEN], iccid: [u8; 10], ad: [u8; 4], usim: bool) -> FileSystem {
        let mut fs = FileSystem { nodes: Vec::new() };
        let mf = fs.push(FID_MF, None, None, NodeKind::Df { aid: None });
        fs.push(FID_ICCID, Some(mf), Some(0x02), ef(&iccid, false));
        let gsm = fs.push(FID_DF_GSM, Some(mf), None, NodeKind::Df { aid: None });
        fs.push(FID_IMSI, Some(gsm), None, ef(&imsi, true));
        fs.push(FID_AD, Some(gsm), None, ef(&ad, false));
        if usim {
            let aid = Some(USIM_AID.to_vec());
            let adf = fs.push(FID_CURRENT_ADF, Some(mf), None, NodeKind::Df { aid });
            fs.push(FID_IMSI, Some(adf), Some(0x07), ef(&imsi, true));
            fs.push(FID_AD, Some(adf), Some(0x03), ef(&ad, false));
        }
        fs
    }

    fn push(&mut self, fid: u16, parent: Option<usize>, sfi: Option<u8>, kind: NodeKind) -> usize {
        self.nodes.push(Node {
            fid,
            parent,
            sfi,
            kind,
        });
        self.nodes.len() - 1
    }

    pub fn node(&self, index: usize) -> Option<&Node> {
        self.nodes.get(index)
    }

    pub fn is_df(&self, index: usize) -> bool {
        matches!(self.node(index).map(|n| &n.kind), Some(NodeKind::Df { .. }))
    }

    pub fn is_adf(&self, index: usize) -> bool {
        matches!(
            self.node(index).map(|n| &n.kind),
            Some(NodeKind::Df { aid: Some(_) })
        )
    }

    pub fn parent(&self, index: usize) -> Option<usize> {
        self.node(index).and_then(|n| n.parent)
    }

    /// A child of `df` by FID. ADFs are not reachable this way: they are
    /// selected by AID (then as 7FFF).
    pub fn child(&self, df: usize, fid: u16) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.parent == Some(df) && n.fid == fid && !is_adf_node(n))
    }

    /// A child EF of `df` by short file identifier.
    pub fn child_by_sfi(&self, df: usize, sfi: u8) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.parent == Some(df) && n.sfi == Some(sfi))
    }

    /// The ADF whose AID starts with `aid` (right-truncated DF name, ISO/IEC
    /// 7816-4 §7.1.1); at least the 5-byte RID must be given.
    pub fn adf_by_aid(&self, aid: &[u8]) -> Option<usize> {
        if aid.len() < 5 {
            return None;
        }
        self.nodes.iter().position(|n| match &n.kind {
            NodeKind::Df { aid: Some(full) } => full.starts_with(aid),
            _ => false,
        })
    }

    /// File control parameters (TS 102 221 §11.1.1.3): tag 62.
    pub fn fcp(&self, index: usize, pin_enabled: bool) -> Vec<u8> {
        let mut body = Vec::with_capacity(48);
        let Some(node) = self.node(index) else {
            return body;
        };
        // EF_ARR reference: 2F06 for files under the MF, 6F06 elsewhere.
        let arr: [u8; 2] = if node.parent.is_none() || node.parent == Some(MF) {
            [0x2F, 0x06]
        } else {
            [0x6F, 0x06]
        };
        let fid = node.fid.to_be_bytes();
        match &node.kind {
            NodeKind::Df { aid } => {
                // File descriptor: DF, shareable; data coding byte 21.
                tlv(&mut body, 0x82, &[0x78, 0x21]);
                tlv(&mut body, 0x83, &fid);
                if let Some(aid) = aid {
                    tlv(&mut body, 0x84, aid);
                }
                // Life cycle status: operational, activated.
                tlv(&mut body, 0x8A, &[0x05]);
                tlv(&mut body, 0x8B, &[arr[0], arr[1], 0x01]);
                // PIN status template: PS_DO (bit 8 = key reference 01 enabled)
                // and the key reference of PIN1.
                let ps_do = if pin_enabled { 0x80 } else { 0x00 };
                tlv(&mut body, 0xC6, &[0x90, 0x01, ps_do, 0x83, 0x01, 0x01]);
            }
            NodeKind::Ef { data, needs_pin } => {
                // File descriptor: working EF, transparent, shareable.
                tlv(&mut body, 0x82, &[0x41, 0x21]);
                tlv(&mut body, 0x83, &fid);
                tlv(&mut body, 0x8A, &[0x05]);
                let rule = if *needs_pin { 0x02 } else { 0x01 };
                tlv(&mut body, 0x8B, &[arr[0], arr[1], rule]);
                let size = u16::try_from(data.len()).unwrap_or(u16::MAX).to_be_bytes();
                tlv(&mut body, 0x80, &size);
                if let Some(sfi) = node.sfi {
                    tlv(&mut body, 0x88, &[sfi << 3]);
                }
            }
        }
        let mut out = Vec::with_capacity(body.len() + 2);
        out.push(0x62);
        out.push(body.len() as u8);
        out.extend_from_slice(&body);
        out
    }
}

fn is_adf_node(n: &Node) -> bool {
    matches!(n.kind, NodeKind::Df { aid: Some(_) })
}

fn ef(data: &[u8], needs_pin: bool) -> NodeKind {
    NodeKind::Ef {
        data: data.to_vec(),
        needs_pin,
    }
}

fn tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    out.push(value.len() as u8);
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imsi_encoding() {
        assert_eq!(
            encode_imsi("001010123456789"),
            Ok([0x08, 0x09, 0x10, 0x10, 0x10, 0x32, 0x54, 0x76, 0x98])
        );
        // Even digit count: parity nibble 1 and an F filler.
        assert_eq!(
            encode_imsi("26201123456789"),
            Ok([0x08, 0x21, 0x26, 0x10, 0x21, 0x43, 0x65, 0x87, 0xF9])
        );
        assert_eq!(
            encode_imsi("123456"),
            Ok([0x04, 0x11, 0x32, 0x54, 0xF6, 0xFF, 0xFF, 0xFF, 0xFF])
        );
        for imsi in ["001010123456789", "26201123456789", "123456", "9999999"] {
            let ef = encode_imsi(imsi).unwrap_or([0; 9]);
            assert_eq!(decode_imsi(&ef).as_deref(), Ok(imsi));
        }
        assert_eq!(encode_imsi("12345"), Err(EfError::ImsiDigits));
        assert_eq!(encode_imsi("1234567890123456"), Err(EfError::ImsiDigits));
        assert_eq!(encode_imsi("00101012345678a"), Err(EfError::ImsiDigits));
    }

    #[test]
    fn imsi_decoding_rejects_garbage() {
        assert!(decode_imsi(&[]).is_err());
        assert!(decode_imsi(&[0xFF; 9]).is_err());
        assert!(decode_imsi(&[0x08, 0x09, 0x10]).is_err());
        // Type bits not IMSI.
        assert!(decode_imsi(&[0x08, 0x0A, 0x10, 0x10, 0x10, 0x32, 0x54, 0x76, 0x98]).is_err());
        // Even count without the F filler.
        assert!(decode_imsi(&[0x08, 0x01, 0x10, 0x10, 0x10, 0x32, 0x54, 0x76, 0x98]).is_err());
        // Non-decimal digit.
        assert!(decode_imsi(&[0x08, 0x09, 0x1A, 0x10, 0x10, 0x32, 0x54, 0x76, 0x98]).is_err());
    }

    #[test]
    fn iccid_and_ad() {
        let ef = encode_iccid("89882110000000000017").unwrap_or([0; 10]);
        assert_eq!(
            ef,
            [0x98, 0x88, 0x12, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x71]
        );
        assert_eq!(decode_iccid(&ef).as_deref(), Ok("89882110000000000017"));
        let ef = encode_iccid("8949").unwrap_or([0; 10]);
        assert_eq!(&ef[..3], &[0x98, 0x94, 0xFF]);
        assert_eq!(decode_iccid(&ef).as_deref(), Ok("8949"));
        assert!(encode_iccid("").is_err());
        assert!(decode_iccid(&[0xAF]).is_err());
        assert_eq!(encode_ad(3), Ok([0, 0, 0, 3]));
        assert_eq!(decode_ad(&[0, 0, 0, 2]), Ok(2));
        assert!(encode_ad(4).is_err());
        assert!(decode_ad(&[0, 0, 0]).is_err());
    }

    #[test]
    fn tree_lookup() {
        let imsi = encode_imsi("001010123456789").unwrap_or([0; 9]);
        let fs = FileSystem::build(imsi, [0x98; 10], [0, 0, 0, 2], true);
        let gsm = fs.child(MF, FID_DF_GSM).unwrap_or(usize::MAX);
        assert!(fs.is_df(gsm));
        assert!(fs.child(gsm, FID_IMSI).is_some());
        assert_eq!(fs.child(MF, FID_CURRENT_ADF), None);
        let adf = fs.adf_by_aid(&USIM_AID_PREFIX).unwrap_or(usize::MAX);
        assert!(fs.is_adf(adf));
        assert_eq!(fs.adf_by_aid(&USIM_AID), Some(adf));
        assert_eq!(fs.adf_by_aid(&USIM_AID[..4]), None);
        assert_eq!(fs.adf_by_aid(&[0xA0, 0, 0, 0, 0x87, 0x10, 0x04]), None);
        assert!(fs.child_by_sfi(adf, 0x07).is_some());
        let fcp = fs.fcp(fs.child(adf, FID_IMSI).unwrap_or(0), false);
        assert_eq!(usize::from(fcp[1]) + 2, fcp.len());
        let two_g = FileSystem::build(imsi, [0x98; 10], [0, 0, 0, 2], false);
        assert_eq!(two_g.adf_by_aid(&USIM_AID_PREFIX), None);
    }
}
