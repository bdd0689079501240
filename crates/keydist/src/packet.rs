//! The secured packet on the wire: an AKA preamble followed by a command
//! packet in the form of TS 102 225 §5.1.1, as TS 31.115 §4 carries it in
//! one SMS (CPI in the user data header, hence absent here; no CHI).
//!
//! ```text
//! offset  len  field
//!      0   16  RAND   the AKA challenge                       (TS 33.102 §6.3.2)
//!     16   16  AUTN   SQN ⊕ AK || AMF || MAC-A
//!     32    2  CPL    octets after CPL to the end of the packet (TS 31.115 §4.1)
//!     34    1  CHL    octets from SPI to the end of the CC: 21 (TS 102 225 §5.1.1)
//!     35    2  SPI    security parameter indicator             (TS 102 225 §5.1.1)
//!     37    1  KIc    ciphering algorithm and key version      (TS 102 225 §5.1.2)
//!     38    1  KID    checksum algorithm and key version       (TS 102 225 §5.1.3.1)
//!     39    3  TAR    toolkit application reference            (TS 101 220 §6)
//!     42    n  ciphertext of CNTR(5) || PCNTR(1) || CC(8) || data || padding
//! ```
//!
//! This module only frames octets; [`crate::secure`] computes and checks
//! the checksum and the ciphering. Contract, as in smoltcp: after
//! [`Packet::new_checked`] no accessor panics; [`Repr::emit`] never panics on
//! a buffer of [`Repr::buffer_len`] octets; nothing here allocates more than
//! [`MAX_PACKET_LEN`] octets.

use core::fmt;

/// Octets of the AKA preamble (RAND || AUTN).
pub const PREAMBLE_LEN: usize = 32;
/// Octets from the start of the packet to the first ciphered octet.
pub const HEADER_LEN: usize = 42;
/// The CHL of every packet here: SPI(2) + KIc + KID + TAR(3) + CNTR(5) +
/// PCNTR + CC(8) = 21 (TS 102 225 §5.1.1).
pub const CHL: u8 = 21;
/// Octets of the cryptographic checksum (AES-CMAC truncated to 64 bits).
pub const CC_LEN: usize = 8;
/// Octets of the counter CNTR (TS 102 225 §5.1.1).
pub const CNTR_LEN: usize = 5;
/// Octets at the start of the plaintext before the secured data:
/// CNTR || PCNTR || CC.
pub const SECURED_HEADER_LEN: usize = CNTR_LEN + 1 + CC_LEN;
/// The AES block size: the ciphertext is a whole number of blocks.
pub const BLOCK_LEN: usize = 16;
/// The shortest packet: the header and one ciphered block.
pub const MIN_PACKET_LEN: usize = HEADER_LEN + BLOCK_LEN;
/// The longest packet accepted or built (eight concatenated SMS worth; a key
/// record needs one). Bounds every allocation of the decoder.
pub const MAX_PACKET_LEN: usize = 1024;
/// The largest counter CNTR can carry (five octets).
pub const MAX_COUNTER: u64 = (1 << 40) - 1;

/// The destination and source application port of every key delivery SMS
/// and every request to the home agent: in the 16000..=16999 range TS
/// 23.040 §9.2.3.24.4 leaves to applications.
pub const PORT: u16 = 16434;

mod field {
    use core::ops::Range;

    pub const RAND: Range<usize> = 0..16;
    pub const AUTN: Range<usize> = 16..32;
    pub const CPL: Range<usize> = 32..34;
    pub const CHL: usize = 34;
    pub const SPI: Range<usize> = 35..37;
    pub const KIC: usize = 37;
    pub const KID: usize = 38;
    pub const TAR: Range<usize> = 39..42;
    pub const MAC_HEADER: Range<usize> = 32..42;
    pub const SECURED: usize = 42;
}

/// Why octets are not a well-formed secured packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// Shorter than [`MIN_PACKET_LEN`].
    #[error("packet of {0} octets is too short")]
    Truncated(usize),
    /// Longer than [`MAX_PACKET_LEN`].
    #[error("packet of {0} octets is too long")]
    TooLong(usize),
    /// CPL does not equal the number of octets that follow it.
    #[error("CPL {cpl} does not match the {actual} octets after it")]
    Length {
        /// The CPL field.
        cpl: u16,
        /// Octets actually present after CPL.
        actual: usize,
    },
    /// CHL is not [`CHL`]: a header layout (checksum length) this profile
    /// does not use.
    #[error("command header length {0} (21 expected)")]
    HeaderLength(u8),
    /// The ciphertext is not a whole number of AES blocks.
    #[error("ciphertext of {0} octets is not whole AES blocks")]
    NotBlockAligned(usize),
    /// The output buffer is shorter than [`Repr::buffer_len`], or the secured
    /// part to emit is not whole blocks or too long.
    #[error("buffer or secured part has the wrong size")]
    BufferSize,
}

/// The security parameter indicator (TS 102 225 §5.1.1), two octets.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Spi(pub [u8; 2]);

impl Spi {
    /// This service's SPI: first octet `0x16` = cryptographic checksum
    /// (b2b1 = 10), ciphering (b3 = 1), counter "process if and only if
    /// higher than the value in the RE" (b5b4 = 10); second octet `0x00` =
    /// no proof of receipt.
    pub const KEYDIST: Spi = Spi([0x16, 0x00]);

    /// b2b1 of the first octet: 0 none, 1 RC, 2 CC, 3 DS.
    pub fn integrity(self) -> u8 {
        self.0[0] & 0x03
    }

    /// b3 of the first octet: ciphering.
    pub fn ciphering(self) -> bool {
        self.0[0] & 0x04 != 0
    }

    /// b5b4 of the first octet: 0 no counter, 1 counter without check,
    /// 2 must be higher, 3 must be one higher.
    pub fn counter_mode(self) -> u8 {
        (self.0[0] >> 3) & 0x03
    }

    /// b2b1 of the second octet: 0 no PoR, 1 PoR, 2 PoR on error.
    pub fn por(self) -> u8 {
        self.0[1] & 0x03
    }
}

/// KIc (TS 102 225 §5.1.2) and KID (§5.1.3.1): algorithm in the low nibble,
/// key version number in the high nibble.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct KeyIndicator(pub u8);

impl KeyIndicator {
    /// The key version this service uses (keys are derived per packet, so the
    /// number only distinguishes this profile's derivation from later ones).
    pub const VERSION: u8 = 1;
    /// KIc: AES (b2b1 = 10) in CBC mode (b4b3 = 00), key version 1.
    pub const KIC_AES_CBC: KeyIndicator = KeyIndicator((Self::VERSION << 4) | 0x02);
    /// KID: AES (b2b1 = 10) in CMAC mode (b4b3 = 00), key version 1.
    pub const KID_AES_CMAC: KeyIndicator = KeyIndicator((Self::VERSION << 4) | 0x02);

    /// The algorithm nibble.
    pub fn algorithm(self) -> u8 {
        self.0 & 0x0F
    }

    /// The key version number.
    pub fn key_version(self) -> u8 {
        self.0 >> 4
    }
}

/// The TAR of this service: `54 4B 44` ("TKD"), a private value. TS 101 220
/// Annex D allocates TARs to card applications; these packets never reach a
/// card's remote management (they go to an SMS application port, TS 23.040
/// §9.2.3.24.4, not to the SIM data download path with IEI `70`), so the
/// TAR only tags the counter space, as TS 102 225 keys counters per TAR.
pub const TAR: [u8; 3] = [0x54, 0x4B, 0x44];

/// A zero-copy view of a secured packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

fn arr<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&s[..N]);
    out
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap without checks; accessors may panic until [`Packet::check_len`]
    /// succeeds.
    pub fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap and check the framing ([`Packet::check_len`]).
    pub fn new_checked(buffer: T) -> Result<Packet<T>, PacketError> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Check length bounds, CPL, CHL and block alignment, so that every
    /// accessor is in bounds.
    pub fn check_len(&self) -> Result<(), PacketError> {
        let b = self.buffer.as_ref();
        if b.len() < MIN_PACKET_LEN {
            return Err(PacketError::Truncated(b.len()));
        }
        if b.len() > MAX_PACKET_LEN {
            return Err(PacketError::TooLong(b.len()));
        }
        let cpl = u16::from_be_bytes(arr(&b[field::CPL]));
        let actual = b.len() - field::CPL.end;
        if usize::from(cpl) != actual {
            return Err(PacketError::Length { cpl, actual });
        }
        if b[field::CHL] != CHL {
            return Err(PacketError::HeaderLength(b[field::CHL]));
        }
        let secured = b.len() - field::SECURED;
        if !secured.is_multiple_of(BLOCK_LEN) {
            return Err(PacketError::NotBlockAligned(secured));
        }
        Ok(())
    }

    /// Give the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// RAND of the preamble.
    pub fn rand(&self) -> [u8; 16] {
        arr(&self.buffer.as_ref()[field::RAND])
    }

    /// AUTN of the preamble.
    pub fn autn(&self) -> [u8; 16] {
        arr(&self.buffer.as_ref()[field::AUTN])
    }

    /// The command packet length CPL.
    pub fn cpl(&self) -> u16 {
        u16::from_be_bytes(arr(&self.buffer.as_ref()[field::CPL]))
    }

    /// The command header length CHL.
    pub fn chl(&self) -> u8 {
        self.buffer.as_ref()[field::CHL]
    }

    /// The SPI.
    pub fn spi(&self) -> Spi {
        Spi(arr(&self.buffer.as_ref()[field::SPI]))
    }

    /// KIc.
    pub fn kic(&self) -> KeyIndicator {
        KeyIndicator(self.buffer.as_ref()[field::KIC])
    }

    /// KID.
    pub fn kid(&self) -> KeyIndicator {
        KeyIndicator(self.buffer.as_ref()[field::KID])
    }

    /// TAR.
    pub fn tar(&self) -> [u8; 3] {
        arr(&self.buffer.as_ref()[field::TAR])
    }

    /// The clear header fields the checksum covers, CPL through TAR
    /// (TS 102 225 §5.1.1; CPI and CHI are absent in this dialect).
    pub fn mac_header(&self) -> &[u8] {
        &self.buffer.as_ref()[field::MAC_HEADER]
    }

    /// The ciphertext: CNTR, PCNTR, CC, secured data and padding, ciphered.
    pub fn secured(&self) -> &[u8] {
        &self.buffer.as_ref()[field::SECURED..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Set RAND.
    pub fn set_rand(&mut self, rand: &[u8; 16]) {
        self.buffer.as_mut()[field::RAND].copy_from_slice(rand);
    }

    /// Set AUTN.
    pub fn set_autn(&mut self, autn: &[u8; 16]) {
        self.buffer.as_mut()[field::AUTN].copy_from_slice(autn);
    }

    /// Set CPL.
    pub fn set_cpl(&mut self, cpl: u16) {
        self.buffer.as_mut()[field::CPL].copy_from_slice(&cpl.to_be_bytes());
    }

    /// Set CHL.
    pub fn set_chl(&mut self, chl: u8) {
        self.buffer.as_mut()[field::CHL] = chl;
    }

    /// Set the SPI.
    pub fn set_spi(&mut self, spi: Spi) {
        self.buffer.as_mut()[field::SPI].copy_from_slice(&spi.0);
    }

    /// Set KIc.
    pub fn set_kic(&mut self, kic: KeyIndicator) {
        self.buffer.as_mut()[field::KIC] = kic.0;
    }

    /// Set KID.
    pub fn set_kid(&mut self, kid: KeyIndicator) {
        self.buffer.as_mut()[field::KID] = kid.0;
    }

    /// Set TAR.
    pub fn set_tar(&mut self, tar: &[u8; 3]) {
        self.buffer.as_mut()[field::TAR].copy_from_slice(tar);
    }

    /// The ciphertext, writable.
    pub fn secured_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::SECURED..]
    }
}

impl<T: AsRef<[u8]>> fmt::Display for Packet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tar = self.tar();
        write!(
            f,
            "secured packet CPL={} SPI={:02x}{:02x} KIc={:02x} KID={:02x} TAR={:02x}{:02x}{:02x} secured={}",
            self.cpl(),
            self.spi().0[0],
            self.spi().0[1],
            self.kic().0,
            self.kid().0,
            tar[0],
            tar[1],
            tar[2],
            self.secured().len()
        )
    }
}

/// The clear fields of a packet: what the sender chooses and the receiver
/// checks before any cryptography.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The AKA challenge.
    pub rand: [u8; 16],
    /// The AKA authentication token.
    pub autn: [u8; 16],
    /// Security parameter indicator.
    pub spi: Spi,
    /// Ciphering key indicator.
    pub kic: KeyIndicator,
    /// Checksum key indicator.
    pub kid: KeyIndicator,
    /// Toolkit application reference.
    pub tar: [u8; 3],
}

impl Header {
    /// A header with this service's SPI, KIc, KID and TAR.
    pub fn keydist(rand: [u8; 16], autn: [u8; 16]) -> Header {
        Header {
            rand,
            autn,
            spi: Spi::KEYDIST,
            kic: KeyIndicator::KIC_AES_CBC,
            kid: KeyIndicator::KID_AES_CMAC,
            tar: TAR,
        }
    }

    /// The checksummed clear fields CPL..TAR for a ciphertext of
    /// `secured_len` octets, exactly as [`Packet::mac_header`] returns them.
    pub fn mac_header(&self, secured_len: usize) -> Result<[u8; 10], PacketError> {
        let cpl = cpl_for(secured_len)?;
        let mut out = [0u8; 10];
        out[..2].copy_from_slice(&cpl.to_be_bytes());
        out[2] = CHL;
        out[3..5].copy_from_slice(&self.spi.0);
        out[5] = self.kic.0;
        out[6] = self.kid.0;
        out[7..].copy_from_slice(&self.tar);
        Ok(out)
    }
}

/// CPL for a ciphertext of `secured_len` octets, checked against the bounds
/// and block alignment.
fn cpl_for(secured_len: usize) -> Result<u16, PacketError> {
    let total = HEADER_LEN + secured_len;
    if secured_len == 0 || !secured_len.is_multiple_of(BLOCK_LEN) || total > MAX_PACKET_LEN {
        return Err(PacketError::BufferSize);
    }
    u16::try_from(total - field::CPL.end).map_err(|_| PacketError::BufferSize)
}

/// An owned, checked secured packet (clear header and ciphertext).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repr {
    /// The clear fields.
    pub header: Header,
    /// The ciphertext (whole AES blocks).
    pub secured: Vec<u8>,
}

impl Repr {
    /// Read a checked packet.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, PacketError> {
        packet.check_len()?;
        Ok(Repr {
            header: Header {
                rand: packet.rand(),
                autn: packet.autn(),
                spi: packet.spi(),
                kic: packet.kic(),
                kid: packet.kid(),
                tar: packet.tar(),
            },
            secured: packet.secured().to_vec(),
        })
    }

    /// Octets [`Repr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.secured.len()
    }

    /// Write into a buffer of at least [`Repr::buffer_len`] octets; fails if
    /// the buffer is short or the ciphertext not whole blocks or too long.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
    ) -> Result<(), PacketError> {
        let cpl = cpl_for(self.secured.len())?;
        if packet.buffer.as_ref().len() < self.buffer_len() {
            return Err(PacketError::BufferSize);
        }
        packet.set_rand(&self.header.rand);
        packet.set_autn(&self.header.autn);
        packet.set_cpl(cpl);
        packet.set_chl(CHL);
        packet.set_spi(self.header.spi);
        packet.set_kic(self.header.kic);
        packet.set_kid(self.header.kid);
        packet.set_tar(&self.header.tar);
        packet.secured_mut()[..self.secured.len()].copy_from_slice(&self.secured);
        Ok(())
    }

    /// The packet as a new vector.
    pub fn to_bytes(&self) -> Result<Vec<u8>, PacketError> {
        let mut out = vec![0u8; self.buffer_len()];
        self.emit(&mut Packet::new_unchecked(&mut out[..]))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Repr {
        Repr {
            header: Header::keydist([0xAA; 16], [0xBB; 16]),
            secured: (0u8..32).collect(),
        }
    }

    #[test]
    fn layout_matches_the_table() {
        let bytes = sample().to_bytes().unwrap_or_default();
        assert_eq!(bytes.len(), 74);
        assert_eq!(&bytes[..16], &[0xAA; 16]);
        assert_eq!(&bytes[16..32], &[0xBB; 16]);
        // CPL = 74 - 34 = 40, CHL 21, SPI 16 00, KIc 12, KID 12, TAR "TKD".
        assert_eq!(
            &bytes[32..42],
            &[0x00, 0x28, 0x15, 0x16, 0x00, 0x12, 0x12, 0x54, 0x4B, 0x44]
        );
        assert_eq!(bytes[42], 0);
        let p = Packet::new_checked(&bytes[..]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.mac_header(), &bytes[32..42]);
        assert_eq!(
            sample().header.mac_header(32).ok().as_ref().map(|h| &h[..]),
            Some(&bytes[32..42])
        );
        assert_eq!(p.spi().integrity(), 2);
        assert!(p.spi().ciphering());
        assert_eq!(p.spi().counter_mode(), 2);
        assert_eq!(p.spi().por(), 0);
        assert_eq!((p.kic().algorithm(), p.kic().key_version()), (2, 1));
        assert!(p.to_string().contains("TAR=544b44"));
    }

    #[test]
    fn round_trip() {
        let repr = sample();
        let bytes = repr.to_bytes().unwrap_or_default();
        let p = Packet::new_checked(&bytes[..]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Repr::parse(&p), Ok(repr));
    }

    #[test]
    fn framing_errors() {
        let bytes = sample().to_bytes().unwrap_or_default();
        for cut in 0..bytes.len() {
            assert!(Packet::new_checked(&bytes[..cut]).is_err(), "cut {cut}");
        }
        let mut bad = bytes.clone();
        bad[33] ^= 1;
        assert!(matches!(
            Packet::new_checked(&bad[..]),
            Err(PacketError::Length { .. })
        ));
        let mut bad = bytes.clone();
        bad[34] = 17;
        assert_eq!(
            Packet::new_checked(&bad[..]),
            Err(PacketError::HeaderLength(17))
        );
        let mut odd = bytes.clone();
        odd.push(0);
        odd[33] += 1;
        assert_eq!(
            Packet::new_checked(&odd[..]),
            Err(PacketError::NotBlockAligned(33))
        );
        let long = vec![0u8; MAX_PACKET_LEN + 1];
        assert_eq!(
            Packet::new_checked(&long[..]),
            Err(PacketError::TooLong(MAX_PACKET_LEN + 1))
        );
    }

    #[test]
    fn emit_checks_sizes() {
        let mut repr = sample();
        let mut small = [0u8; 73];
        assert_eq!(
            repr.emit(&mut Packet::new_unchecked(&mut small[..])),
            Err(PacketError::BufferSize)
        );
        repr.secured.push(0);
        assert_eq!(repr.to_bytes(), Err(PacketError::BufferSize));
        repr.secured = vec![0; MAX_PACKET_LEN];
        assert_eq!(repr.to_bytes(), Err(PacketError::BufferSize));
        repr.secured.clear();
        assert_eq!(repr.to_bytes(), Err(PacketError::BufferSize));
    }
}
