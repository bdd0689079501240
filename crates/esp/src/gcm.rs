//! AES-GCM in ESP (RFC 4106) with a 16-byte ICV.
//!
//! ```text
//! key material = key || salt                  (RFC 4106 §8.1; salt 4 bytes)
//! nonce        = salt || IV                   (§4; IV 8 bytes, in the packet)
//! AAD          = SPI || seq                   (§5, 32-bit sequence numbers)
//!              = SPI || seq high || seq low   (§5, extended sequence numbers)
//! packet       = SPI || seq low || IV || ciphertext || ICV
//! plaintext    = payload || padding || pad length || next header
//! ```
//!
//! The IV must never repeat under one key (RFC 4106 §3.1); the SA layer uses
//! the 64-bit sequence number, which is unique per SA. This module takes the
//! IV as a parameter so that the published test vectors, whose IVs are
//! arbitrary, can be checked byte for byte.
//!
//! Sealing writes into a caller-provided buffer; opening decrypts in place
//! (or into a caller-provided buffer). No allocation happens per packet. The
//! AEAD is `ring`'s, which compares the tag in constant time.

use core::fmt;
use core::ops::Range;

use ring::aead::{self, LessSafeKey, Nonce, Tag, UnboundKey};
use zeroize::Zeroize;

use crate::error::Error;
use crate::trailer::{self, MAX_PAD, NextHeader, TRAILER_LEN, Trailer};
use crate::wire::HEADER_LEN;

/// Bytes of explicit IV carried in each packet (RFC 4106 §3.1).
pub const IV_LEN: usize = 8;
/// Bytes of ICV; only the 16-byte variant is offered (RFC 4106 §6 allows
/// 8 and 12, RFC 8221 §5 recommends 16).
pub const ICV_LEN: usize = 16;
/// Bytes of salt at the end of the key material (RFC 4106 §8.1).
pub const SALT_LEN: usize = 4;
/// Offset of the payload in a sealed packet: header and IV come first.
pub const PAYLOAD_OFFSET: usize = HEADER_LEN + IV_LEN;
/// The shortest well-formed packet: empty payload, no padding.
pub const MIN_PACKET_LEN: usize = PAYLOAD_OFFSET + TRAILER_LEN + ICV_LEN;
/// The most ESP adds to a payload: header, IV, padding, trailer, ICV.
pub const MAX_OVERHEAD: usize = PAYLOAD_OFFSET + MAX_PAD + TRAILER_LEN + ICV_LEN;

/// An AES-GCM transform with a 16-byte ICV (IKEv2 ENCR_AES_GCM_16, RFC 4106
/// §8.2, with a 128- or 256-bit key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// AES-GCM with a 128-bit key.
    AesGcm128,
    /// AES-GCM with a 256-bit key.
    AesGcm256,
}

impl Algorithm {
    /// Length of the AES key.
    pub const fn key_len(self) -> usize {
        match self {
            Algorithm::AesGcm128 => 16,
            Algorithm::AesGcm256 => 32,
        }
    }

    /// Length of the key material: key followed by the salt.
    pub const fn key_material_len(self) -> usize {
        self.key_len() + SALT_LEN
    }

    fn ring(self) -> &'static aead::Algorithm {
        match self {
            Algorithm::AesGcm128 => &aead::AES_128_GCM,
            Algorithm::AesGcm256 => &aead::AES_256_GCM,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::AesGcm128 => "AES-GCM-128/16",
            Algorithm::AesGcm256 => "AES-GCM-256/16",
        })
    }
}

/// A sequence number as the AAD sees it (RFC 4106 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqNum {
    /// A 32-bit sequence number: AAD is SPI || seq (8 bytes).
    Short(u32),
    /// A 64-bit extended sequence number: AAD is SPI || high || low
    /// (12 bytes); only the low half is in the packet.
    Extended(u64),
}

impl SeqNum {
    /// The 32 bits that travel in the header.
    pub const fn low(self) -> u32 {
        match self {
            SeqNum::Short(s) => s,
            SeqNum::Extended(s) => s as u32,
        }
    }

    /// The AAD for this sequence number under `spi` (RFC 4106 §5); the
    /// array's first `len` bytes are used.
    fn aad(self, spi: u32) -> ([u8; 12], usize) {
        let mut aad = [0u8; 12];
        aad[..4].copy_from_slice(&spi.to_be_bytes());
        match self {
            SeqNum::Short(s) => {
                aad[4..8].copy_from_slice(&s.to_be_bytes());
                (aad, 8)
            }
            SeqNum::Extended(s) => {
                aad[4..12].copy_from_slice(&s.to_be_bytes());
                (aad, 12)
            }
        }
    }
}

/// What opening a packet yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plain {
    /// Where the decrypted payload lies in the buffer it was opened into
    /// (padding and trailer excluded).
    pub payload: Range<usize>,
    /// The Next Header field.
    pub next_header: NextHeader,
}

/// An expanded AES-GCM key with its salt: one direction of one SA.
pub struct GcmKey {
    key: LessSafeKey,
    salt: [u8; SALT_LEN],
    algorithm: Algorithm,
}

impl fmt::Debug for GcmKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcmKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Drop for GcmKey {
    fn drop(&mut self) {
        // ring keeps the expanded key schedule private; the salt is ours.
        self.salt.zeroize();
    }
}

impl GcmKey {
    /// Builds the key from key material = key || 4-byte salt
    /// (RFC 4106 §8.1).
    pub fn new(algorithm: Algorithm, key_material: &[u8]) -> Result<Self, Error> {
        let expected = algorithm.key_material_len();
        if key_material.len() != expected {
            return Err(Error::InvalidKeyLength {
                expected,
                got: key_material.len(),
            });
        }
        let (key, salt) = key_material.split_at(algorithm.key_len());
        let unbound =
            UnboundKey::new(algorithm.ring(), key).map_err(|_| Error::InvalidKeyLength {
                expected,
                got: key_material.len(),
            })?;
        let mut s = [0u8; SALT_LEN];
        s.copy_from_slice(salt);
        Ok(GcmKey {
            key: LessSafeKey::new(unbound),
            salt: s,
            algorithm,
        })
    }

    /// The transform.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Length of the packet [`Self::seal`] writes for `payload_len` bytes.
    pub const fn sealed_len(payload_len: usize) -> usize {
        PAYLOAD_OFFSET + trailer::padded_len(payload_len) + ICV_LEN
    }

    /// Buffer length [`Self::open_into`] needs for a packet of
    /// `packet_len` bytes.
    pub const fn opened_buffer_len(packet_len: usize) -> usize {
        packet_len.saturating_sub(PAYLOAD_OFFSET + ICV_LEN)
    }

    fn nonce(&self, iv: &[u8]) -> Nonce {
        let mut n = [0u8; 12];
        n[..SALT_LEN].copy_from_slice(&self.salt);
        n[SALT_LEN..].copy_from_slice(iv);
        Nonce::assume_unique_for_key(n)
    }

    /// Seals `payload` into `out` as a complete ESP packet and returns its
    /// length ([`Self::sealed_len`]).
    ///
    /// `iv` must be unique for this key (the SA layer passes the sequence
    /// number); `next_header` names what the payload is.
    pub fn seal(
        &self,
        spi: u32,
        seq: SeqNum,
        iv: [u8; IV_LEN],
        next_header: NextHeader,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let needed = Self::sealed_len(payload.len());
        let got = out.len();
        let Some(region) = out.get_mut(..needed) else {
            return Err(Error::BufferTooSmall { needed, got });
        };
        region[PAYLOAD_OFFSET..PAYLOAD_OFFSET + payload.len()].copy_from_slice(payload);
        self.seal_in_place(spi, seq, iv, next_header, region, payload.len())
    }

    /// Seals a payload already placed at [`PAYLOAD_OFFSET`] in `buf`
    /// (`payload_len` bytes), writing header, IV, trailer and ICV around it:
    /// a driver that reads the inner packet into `buf[PAYLOAD_OFFSET..]`
    /// saves the copy. Returns the packet length.
    pub fn seal_in_place(
        &self,
        spi: u32,
        seq: SeqNum,
        iv: [u8; IV_LEN],
        next_header: NextHeader,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<usize, Error> {
        let needed = Self::sealed_len(payload_len);
        let got = buf.len();
        let Some(packet) = buf.get_mut(..needed) else {
            return Err(Error::BufferTooSmall { needed, got });
        };
        packet[0..4].copy_from_slice(&spi.to_be_bytes());
        packet[4..8].copy_from_slice(&seq.low().to_be_bytes());
        packet[HEADER_LEN..PAYLOAD_OFFSET].copy_from_slice(&iv);
        let (body, icv) = packet[PAYLOAD_OFFSET..].split_at_mut(needed - PAYLOAD_OFFSET - ICV_LEN);
        trailer::emit(&mut body[payload_len..], next_header);
        let (aad, aad_len) = seq.aad(spi);
        let tag = self
            .key
            .seal_in_place_separate_tag(self.nonce(&iv), aead::Aad::from(&aad[..aad_len]), body)
            // ring refuses only inputs beyond GCM's 2^36-byte limit.
            .map_err(|_| Error::TooLong(payload_len))?;
        icv.copy_from_slice(tag.as_ref());
        Ok(needed)
    }

    /// Splits a packet into (IV, ciphertext, tag), checking its length.
    fn split(packet: &[u8]) -> Result<(Range<usize>, Tag), Error> {
        let len = packet.len();
        if len < MIN_PACKET_LEN {
            return Err(Error::Truncated {
                needed: MIN_PACKET_LEN,
                got: len,
            });
        }
        let mut tag = [0u8; ICV_LEN];
        tag.copy_from_slice(&packet[len - ICV_LEN..]);
        Ok((PAYLOAD_OFFSET..len - ICV_LEN, Tag::from(tag)))
    }

    fn aad_of(packet: &[u8], esn_high: Option<u32>) -> ([u8; 12], usize) {
        let spi = u32::from_be_bytes([packet[0], packet[1], packet[2], packet[3]]);
        let low = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
        let seq = match esn_high {
            None => SeqNum::Short(low),
            Some(high) => SeqNum::Extended((u64::from(high) << 32) | u64::from(low)),
        };
        seq.aad(spi)
    }

    /// Verifies and decrypts a complete ESP packet in place; the payload is
    /// then at `Plain::payload` inside `packet`.
    ///
    /// `esn_high` is the inferred high half of an extended sequence number
    /// (RFC 4303 Appendix A2.2), `None` for 32-bit sequence numbers. On
    /// [`Error::IcvMismatch`] the ciphertext bytes are left unspecified
    /// (ring clears them); nothing else changes.
    pub fn open_in_place(&self, packet: &mut [u8], esn_high: Option<u32>) -> Result<Plain, Error> {
        let (ct, tag) = Self::split(packet)?;
        let (aad, aad_len) = Self::aad_of(packet, esn_high);
        let nonce = self.nonce(&packet[HEADER_LEN..PAYLOAD_OFFSET]);
        let plain = self
            .key
            .open_in_place_separate_tag(
                nonce,
                aead::Aad::from(&aad[..aad_len]),
                tag,
                &mut packet[ct.clone()],
                0..,
            )
            .map_err(|_| Error::IcvMismatch)?;
        let t = Trailer::parse(plain)?;
        Ok(Plain {
            payload: ct.start..ct.start + t.payload_len,
            next_header: t.next_header,
        })
    }

    /// Verifies and decrypts `packet` into `out` (at least
    /// [`Self::opened_buffer_len`] bytes), leaving the packet untouched.
    pub fn open_into(
        &self,
        packet: &[u8],
        esn_high: Option<u32>,
        out: &mut [u8],
    ) -> Result<Plain, Error> {
        let (ct, tag) = Self::split(packet)?;
        let needed = ct.len();
        let got = out.len();
        let Some(region) = out.get_mut(..needed) else {
            return Err(Error::BufferTooSmall { needed, got });
        };
        region.copy_from_slice(&packet[ct]);
        let (aad, aad_len) = Self::aad_of(packet, esn_high);
        let nonce = self.nonce(&packet[HEADER_LEN..PAYLOAD_OFFSET]);
        let plain = self
            .key
            .open_in_place_separate_tag(nonce, aead::Aad::from(&aad[..aad_len]), tag, region, 0..)
            .map_err(|_| Error::IcvMismatch)?;
        let t = Trailer::parse(plain)?;
        Ok(Plain {
            payload: 0..t.payload_len,
            next_header: t.next_header,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> GcmKey {
        GcmKey::new(Algorithm::AesGcm128, &[7u8; 20]).unwrap()
    }

    #[test]
    fn key_material_length_is_checked() {
        for alg in [Algorithm::AesGcm128, Algorithm::AesGcm256] {
            let n = alg.key_material_len();
            assert!(GcmKey::new(alg, &vec![1; n]).is_ok());
            for bad in [0, n - 4, n - 1, n + 1] {
                assert_eq!(
                    GcmKey::new(alg, &vec![1; bad]).unwrap_err(),
                    Error::InvalidKeyLength {
                        expected: n,
                        got: bad
                    }
                );
            }
        }
    }

    #[test]
    fn round_trip_both_open_paths() {
        let k = key();
        for len in [0usize, 1, 2, 3, 4, 5, 63, 1400] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            for seq in [SeqNum::Short(9), SeqNum::Extended(0x1_0000_0009)] {
                let mut out = vec![0u8; GcmKey::sealed_len(len)];
                let n = k
                    .seal(0x1234, seq, [1; 8], NextHeader::Ipv4, &payload, &mut out)
                    .unwrap();
                assert_eq!(n, out.len());
                assert_eq!(n % 4, 0);
                let high = match seq {
                    SeqNum::Short(_) => None,
                    SeqNum::Extended(s) => Some((s >> 32) as u32),
                };
                let mut into = vec![0u8; GcmKey::opened_buffer_len(n)];
                let p = k.open_into(&out, high, &mut into).unwrap();
                assert_eq!(&into[p.payload.clone()], &payload[..]);
                assert_eq!(p.next_header, NextHeader::Ipv4);
                let p = k.open_in_place(&mut out, high).unwrap();
                assert_eq!(&out[p.payload], &payload[..]);
            }
        }
    }

    #[test]
    fn wrong_esn_high_fails_icv() {
        let k = key();
        let mut out = vec![0u8; GcmKey::sealed_len(10)];
        k.seal(
            1,
            SeqNum::Extended(0x2_0000_0001),
            [0; 8],
            NextHeader::Ipv6,
            &[0; 10],
            &mut out,
        )
        .unwrap();
        let copy = out.clone();
        assert_eq!(k.open_in_place(&mut out, Some(1)), Err(Error::IcvMismatch));
        assert_eq!(
            k.open_in_place(&mut copy.clone(), None),
            Err(Error::IcvMismatch)
        );
        assert!(k.open_in_place(&mut copy.clone(), Some(2)).is_ok());
    }

    #[test]
    fn every_flipped_bit_fails_icv() {
        let k = key();
        let mut out = vec![0u8; GcmKey::sealed_len(5)];
        k.seal(
            1,
            SeqNum::Short(3),
            [2; 8],
            NextHeader::Ipv4,
            &[9; 5],
            &mut out,
        )
        .unwrap();
        for byte in 0..out.len() {
            let mut bad = out.clone();
            bad[byte] ^= 0x01;
            assert_eq!(
                k.open_in_place(&mut bad, None),
                Err(Error::IcvMismatch),
                "byte {byte}"
            );
        }
    }

    #[test]
    fn short_buffers() {
        let k = key();
        let mut small = [0u8; 10];
        assert_eq!(
            k.seal(
                1,
                SeqNum::Short(1),
                [0; 8],
                NextHeader::Ipv4,
                &[0; 4],
                &mut small
            ),
            Err(Error::BufferTooSmall {
                needed: 40,
                got: 10
            })
        );
        for len in 0..MIN_PACKET_LEN {
            let mut p = vec![0u8; len];
            assert!(matches!(
                k.open_in_place(&mut p, None),
                Err(Error::Truncated { .. })
            ));
        }
        let mut out = vec![0u8; GcmKey::sealed_len(4)];
        k.seal(
            1,
            SeqNum::Short(1),
            [0; 8],
            NextHeader::Ipv4,
            &[0; 4],
            &mut out,
        )
        .unwrap();
        let mut tiny = [0u8; 3];
        assert!(matches!(
            k.open_into(&out, None, &mut tiny),
            Err(Error::BufferTooSmall { .. })
        ));
    }
}
