//! Applying and removing the packet's security (TS 102 225 §5.1.1):
//! cryptographic checksum first, ciphering second.
//!
//! Sender:
//! 1. PCNTR = the number of padding octets (zeros) that make
//!    `CNTR || PCNTR || CC || data || padding` whole AES blocks
//!    (TS 102 225 §5.1.1: padding for the ciphering algorithm, counted by
//!    PCNTR).
//! 2. `CC` = the first 8 octets of AES-CMAC (NIST SP 800-38B, RFC 4493)
//!    under KID over `CPL || CHL || SPI || KIc || KID || TAR || CNTR ||
//!    PCNTR || data || padding`: every header element from CPL up to the
//!    checksum, then the secured data with its padding, as TS 102 225
//!    §5.1.1 orders them (CPI and CHI do not exist in this dialect).
//! 3. `CNTR || PCNTR || CC || data || padding` is enciphered with AES-128 in
//!    CBC mode under KIc with an all-zero initial chaining value
//!    (TS 102 225 §5.1.2).
//!
//! A zero IV is safe here: KIc is fresh for every RAND, and the first
//! plaintext block starts with the counter, which the sender never repeats,
//! so no two packets under one key share a first block.
//!
//! RAND and AUTN stay outside the checksum: RAND is an input of KIc and
//! KID, and AUTN is authenticated by the USIM (MAC-A), so changing either
//! already yields other keys or a refused challenge.

use aes::Aes128;
use cipher::{Block, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use cmac::{Cmac, KeyInit, Mac};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::keys::TransportKeys;
use crate::packet::{
    BLOCK_LEN, CC_LEN, CNTR_LEN, HEADER_LEN, Header, MAX_COUNTER, MAX_PACKET_LEN, Packet,
    PacketError, Repr, SECURED_HEADER_LEN,
};

type Aes128CbcEnc = cbc::Encryptor<Aes128>;
type Aes128CbcDec = cbc::Decryptor<Aes128>;

/// Why security could not be applied or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecureError {
    /// The counter does not fit CNTR's five octets.
    #[error("counter {0} exceeds 2^40 - 1")]
    Counter(u64),
    /// The data makes the packet longer than [`MAX_PACKET_LEN`].
    #[error("secured data of {0} octets is too long")]
    TooLong(usize),
    /// The cryptographic checksum does not verify: wrong keys, or the packet
    /// was altered.
    #[error("cryptographic checksum does not verify")]
    BadChecksum,
    /// PCNTR, under a valid checksum, counts more padding than a block or
    /// than the data holds: the sender is broken.
    #[error("padding counter {0} is inconsistent")]
    Padding(u8),
    /// The packet framing is wrong.
    #[error(transparent)]
    Packet(#[from] PacketError),
}

/// The plaintext of a verified packet.
#[derive(Clone, PartialEq, Eq)]
pub struct Opened {
    /// CNTR.
    pub counter: u64,
    /// The secured data without padding; wiped on drop.
    pub data: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for Opened {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Opened")
            .field("counter", &self.counter)
            .field("data_len", &self.data.len())
            .finish()
    }
}

/// CMAC under KID over `mac_header || CNTR || PCNTR || data || padding`,
/// truncated to its first 8 octets.
fn checksum(kid: &[u8; 16], mac_header: &[u8], cntr_pcntr: &[u8], data_padded: &[u8]) -> [u8; 8] {
    let mut mac = <Cmac<Aes128> as KeyInit>::new(&(*kid).into());
    mac.update(mac_header);
    mac.update(cntr_pcntr);
    mac.update(data_padded);
    let full = mac.finalize().into_bytes();
    let mut cc = [0u8; CC_LEN];
    cc.copy_from_slice(&full[..CC_LEN]);
    cc
}

fn cbc_encrypt(kic: &[u8; 16], buf: &mut [u8]) {
    let mut enc = Aes128CbcEnc::new(&(*kic).into(), &[0u8; 16].into());
    for chunk in buf.chunks_exact_mut(BLOCK_LEN) {
        let mut block = Block::<Aes128>::default();
        block.copy_from_slice(chunk);
        enc.encrypt_block(&mut block);
        chunk.copy_from_slice(&block);
    }
}

fn cbc_decrypt(kic: &[u8; 16], buf: &mut [u8]) {
    let mut dec = Aes128CbcDec::new(&(*kic).into(), &[0u8; 16].into());
    for chunk in buf.chunks_exact_mut(BLOCK_LEN) {
        let mut block = Block::<Aes128>::default();
        block.copy_from_slice(chunk);
        dec.decrypt_block(&mut block);
        chunk.copy_from_slice(&block);
    }
}

/// Build the secured packet carrying `data` with counter `counter`.
pub fn seal(
    keys: &TransportKeys,
    header: &Header,
    counter: u64,
    data: &[u8],
) -> Result<Vec<u8>, SecureError> {
    if counter > MAX_COUNTER {
        return Err(SecureError::Counter(counter));
    }
    let unpadded = SECURED_HEADER_LEN + data.len();
    if HEADER_LEN + unpadded > MAX_PACKET_LEN {
        return Err(SecureError::TooLong(data.len()));
    }
    let pad = (BLOCK_LEN - unpadded % BLOCK_LEN) % BLOCK_LEN;
    let secured_len = unpadded + pad;
    let mac_header = header.mac_header(secured_len)?;

    let mut plain = Zeroizing::new(vec![0u8; secured_len]);
    plain[..CNTR_LEN].copy_from_slice(&counter.to_be_bytes()[3..]);
    // pad < 16, so the cast is exact.
    plain[CNTR_LEN] = pad as u8;
    plain[SECURED_HEADER_LEN..unpadded].copy_from_slice(data);
    let cc = checksum(
        keys.kid(),
        &mac_header,
        &plain[..CNTR_LEN + 1],
        &plain[SECURED_HEADER_LEN..],
    );
    plain[CNTR_LEN + 1..SECURED_HEADER_LEN].copy_from_slice(&cc);

    let mut secured = plain.to_vec();
    cbc_encrypt(keys.kic(), &mut secured);
    let repr = Repr {
        header: *header,
        secured,
    };
    Ok(repr.to_bytes()?)
}

/// Decipher and verify a packet; the checksum is compared in constant time.
///
/// Only the framing has to be right for this to run; the caller checks SPI,
/// KIc, KID and TAR against its policy first.
pub fn open<T: AsRef<[u8]>>(
    keys: &TransportKeys,
    packet: &Packet<T>,
) -> Result<Opened, SecureError> {
    packet.check_len()?;
    let mut plain = Zeroizing::new(packet.secured().to_vec());
    cbc_decrypt(keys.kic(), &mut plain);
    // check_len guarantees at least one block, i.e. more than 14 octets.
    let (head, data_padded) = plain.split_at(SECURED_HEADER_LEN);
    let (cntr_pcntr, cc) = head.split_at(CNTR_LEN + 1);
    let expected = checksum(keys.kid(), packet.mac_header(), cntr_pcntr, data_padded);
    if !bool::from(expected.ct_eq(cc)) {
        return Err(SecureError::BadChecksum);
    }
    let pcntr = cntr_pcntr[CNTR_LEN];
    let pad = usize::from(pcntr);
    if pad >= BLOCK_LEN || pad > data_padded.len() {
        return Err(SecureError::Padding(pcntr));
    }
    let mut cntr = [0u8; 8];
    cntr[3..].copy_from_slice(&cntr_pcntr[..CNTR_LEN]);
    Ok(Opened {
        counter: u64::from_be_bytes(cntr),
        data: Zeroizing::new(data_padded[..data_padded.len() - pad].to_vec()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TransportKeys {
        TransportKeys::from_raw([0x11; 16], [0x22; 16])
    }

    fn header() -> Header {
        Header::keydist([0x33; 16], [0x44; 16])
    }

    #[test]
    fn seal_open_round_trip_all_lengths() {
        for len in 0..80usize {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let bytes =
                seal(&keys(), &header(), 7 + len as u64, &data).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!((bytes.len() - HEADER_LEN) % BLOCK_LEN, 0);
            let p = Packet::new_checked(&bytes[..]).unwrap_or_else(|e| panic!("{e}"));
            let opened = open(&keys(), &p).unwrap_or_else(|e| panic!("{len}: {e}"));
            assert_eq!(opened.counter, 7 + len as u64);
            assert_eq!(opened.data.as_slice(), &data[..]);
        }
    }

    /// The plaintext layout and checksum input of TS 102 225 §5.1.1,
    /// recomputed independently with the block cipher alone.
    #[test]
    fn layout_of_the_plaintext() {
        use aes::Aes128Dec;
        use cipher::BlockCipherDecrypt;
        let data = [0xD0u8; 3];
        let bytes = seal(&keys(), &header(), 0x01_0203_0405, &data).unwrap_or_default();
        // 14 + 3 = 17 -> 32 octets, 15 of padding.
        assert_eq!(bytes.len(), HEADER_LEN + 32);
        let dec = Aes128Dec::new(&[0x11; 16].into());
        let mut prev = [0u8; 16];
        let mut plain = Vec::new();
        for chunk in bytes[HEADER_LEN..].chunks(16) {
            let mut block = Block::<Aes128Dec>::default();
            block.copy_from_slice(chunk);
            dec.decrypt_block(&mut block);
            plain.extend(block.iter().zip(prev).map(|(a, b)| a ^ b));
            prev.copy_from_slice(chunk);
        }
        assert_eq!(&plain[..5], &[1, 2, 3, 4, 5]);
        assert_eq!(plain[5], 15);
        assert_eq!(&plain[14..17], &data);
        assert_eq!(&plain[17..], &[0u8; 15]);
        let mut mac = <Cmac<Aes128> as KeyInit>::new(&[0x22; 16].into());
        mac.update(&bytes[32..42]);
        mac.update(&plain[..6]);
        mac.update(&plain[14..]);
        assert_eq!(&mac.finalize().into_bytes()[..8], &plain[6..14]);
    }

    #[test]
    fn every_flipped_bit_after_the_preamble_fails_the_checksum() {
        let bytes = seal(&keys(), &header(), 1, b"key record").unwrap_or_default();
        for i in 32..bytes.len() {
            for bit in 0..8 {
                let mut bad = bytes.clone();
                bad[i] ^= 1 << bit;
                let result = Packet::new_checked(&bad[..])
                    .map_err(SecureError::from)
                    .and_then(|p| open(&keys(), &p));
                match (i, result) {
                    // CPL and CHL are framing: refused before any crypto.
                    (32..=34, Err(SecureError::Packet(_))) => {}
                    (35.., Err(SecureError::BadChecksum)) => {}
                    (i, other) => panic!("octet {i} bit {bit}: {other:?}"),
                }
            }
        }
        // Wrong keys.
        let p = Packet::new_checked(&bytes[..]).unwrap_or_else(|e| panic!("{e}"));
        let wrong_kid = TransportKeys::from_raw([0x11; 16], [0x23; 16]);
        let wrong_kic = TransportKeys::from_raw([0x12; 16], [0x22; 16]);
        assert_eq!(open(&wrong_kid, &p), Err(SecureError::BadChecksum));
        assert_eq!(open(&wrong_kic, &p), Err(SecureError::BadChecksum));
    }

    /// RFC 4493 §4 examples 1 and 2 (AES-128 key 2b7e1516...), truncated
    /// to the 8 octets the checksum keeps.
    #[test]
    fn checksum_is_aes_cmac_truncated() {
        let key = [
            0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf,
            0x4f, 0x3c,
        ];
        assert_eq!(
            checksum(&key, &[], &[], &[]),
            [0xbb, 0x1d, 0x69, 0x29, 0xe9, 0x59, 0x37, 0x28]
        );
        let msg = [
            0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96, 0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93,
            0x17, 0x2a,
        ];
        // Split across the three inputs: the checksum is over their
        // concatenation.
        assert_eq!(
            checksum(&key, &msg[..10], &msg[10..12], &msg[12..]),
            [0x07, 0x0a, 0x16, 0xb4, 0x6b, 0x4d, 0x41, 0x44]
        );
    }

    #[test]
    fn limits() {
        assert_eq!(
            seal(&keys(), &header(), MAX_COUNTER + 1, b""),
            Err(SecureError::Counter(MAX_COUNTER + 1))
        );
        assert!(seal(&keys(), &header(), MAX_COUNTER, b"").is_ok());
        let big = vec![0u8; MAX_PACKET_LEN];
        assert_eq!(
            seal(&keys(), &header(), 1, &big),
            Err(SecureError::TooLong(MAX_PACKET_LEN))
        );
    }

    #[test]
    fn authentic_but_bad_padding_counter() {
        // Build a packet by hand whose PCNTR claims 16 octets of padding.
        let h = header();
        let mac_header = h.mac_header(16).unwrap_or([0; 10]);
        let mut plain = [0u8; 16];
        plain[4] = 1;
        plain[5] = 16;
        let cc = checksum(&[0x22; 16], &mac_header, &plain[..6], &plain[14..]);
        plain[6..14].copy_from_slice(&cc);
        cbc_encrypt(&[0x11; 16], &mut plain);
        let bytes = Repr {
            header: h,
            secured: plain.to_vec(),
        }
        .to_bytes()
        .unwrap_or_default();
        let p = Packet::new_checked(&bytes[..]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(open(&keys(), &p), Err(SecureError::Padding(16)));
    }
}
