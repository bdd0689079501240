//! The ESP trailer: Padding, Pad Length, Next Header (RFC 4303 §2.4–§2.6).
//!
//! The trailer is encrypted together with the payload. Padding makes the
//! ciphertext end on a 4-byte boundary (RFC 4303 §2.4; AES-GCM itself needs
//! no block alignment, RFC 4106 §3), and its bytes follow the default
//! scheme 1, 2, 3, … which a receiver checks after decryption (§2.4).

use crate::error::Error;

telsec_wire::open_enum! {
    /// The Next Header field (RFC 4303 §2.6): an IP protocol number.
    ///
    /// In tunnel mode it is IPv4 (4) or IPv6 (41); 59 marks a dummy packet
    /// for traffic-flow confidentiality. Other values appear in the
    /// transport-mode test vectors of draft-mcgrew-gcm-test-01.
    pub enum NextHeader {
        /// ICMP.
        Icmp = 1 => "ICMP",
        /// IPv4 in tunnel mode.
        Ipv4 = 4 => "IPv4",
        /// TCP.
        Tcp = 6 => "TCP",
        /// UDP.
        Udp = 17 => "UDP",
        /// IPv6 in tunnel mode.
        Ipv6 = 41 => "IPv6",
        /// No next header: a TFC dummy packet (RFC 4303 §2.6).
        NoNextHeader = 59 => "No Next Header",
    }
}

/// Pad Length and Next Header.
pub const TRAILER_LEN: usize = 2;

/// The largest padding [`pad_len`] produces.
pub const MAX_PAD: usize = 3;

/// Padding bytes needed after `payload_len` bytes so that payload, padding
/// and the 2-byte trailer end on a 4-byte boundary (RFC 4303 §2.4).
pub const fn pad_len(payload_len: usize) -> usize {
    (4 - (payload_len + TRAILER_LEN) % 4) % 4
}

/// Plaintext length of payload + padding + trailer.
pub const fn padded_len(payload_len: usize) -> usize {
    payload_len + pad_len(payload_len) + TRAILER_LEN
}

/// Writes padding 1, 2, … and the trailer for `payload_len` bytes of payload
/// into `tail`, which must be exactly `padded_len(payload_len) - payload_len`
/// bytes long.
pub(crate) fn emit(tail: &mut [u8], next_header: NextHeader) {
    let pad = tail.len().saturating_sub(TRAILER_LEN);
    for (i, b) in tail.iter_mut().take(pad).enumerate() {
        // pad <= MAX_PAD, so i + 1 fits in a byte.
        *b = (i + 1) as u8;
    }
    if let [.., pad_len, nh] = tail {
        *pad_len = pad as u8;
        *nh = u8::from(next_header);
    }
}

/// The decoded trailer of a decrypted plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    /// Length of the payload before the padding.
    pub payload_len: usize,
    /// The Pad Length field.
    pub pad_len: u8,
    /// The Next Header field.
    pub next_header: NextHeader,
}

impl Trailer {
    /// Reads and checks the trailer at the end of `plaintext` (payload,
    /// padding, Pad Length, Next Header): the pad length must fit and the
    /// padding bytes must be 1, 2, 3, … (RFC 4303 §2.4, §2.5).
    pub fn parse(plaintext: &[u8]) -> Result<Self, Error> {
        let [rest @ .., pad_len, next_header] = plaintext else {
            return Err(Error::Truncated {
                needed: TRAILER_LEN,
                got: plaintext.len(),
            });
        };
        let pad = usize::from(*pad_len);
        let Some(payload_len) = rest.len().checked_sub(pad) else {
            return Err(Error::PadLengthTooLong {
                pad_len: *pad_len,
                available: rest.len(),
            });
        };
        let padding = &rest[payload_len..];
        // Padding is checked after the ICV verified, so timing reveals
        // nothing a forger could use.
        if padding.iter().zip(1u8..).any(|(&b, want)| b != want) {
            return Err(Error::BadPadding);
        }
        Ok(Trailer {
            payload_len,
            pad_len: *pad_len,
            next_header: NextHeader::from(*next_header),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment() {
        for len in 0..64 {
            let total = padded_len(len);
            assert_eq!(total % 4, 0, "len {len}");
            assert!(pad_len(len) <= MAX_PAD);
            assert_eq!(total, len + pad_len(len) + 2);
        }
        assert_eq!(pad_len(0), 2);
        assert_eq!(pad_len(2), 0);
        assert_eq!(pad_len(73), 1);
    }

    #[test]
    fn emit_then_parse() {
        for len in 0..20usize {
            let mut buf = vec![0xaa; padded_len(len)];
            emit(&mut buf[len..], NextHeader::Ipv6);
            let t = Trailer::parse(&buf).unwrap();
            assert_eq!(t.payload_len, len);
            assert_eq!(usize::from(t.pad_len), pad_len(len));
            assert_eq!(t.next_header, NextHeader::Ipv6);
            assert!(
                buf[len..len + pad_len(len)]
                    .iter()
                    .zip(1u8..)
                    .all(|(a, b)| *a == b)
            );
        }
    }

    #[test]
    fn bad_padding_rejected() {
        // payload 0xaa, padding 1 2 3, pad length 3, next header 4
        let good = [0xaa, 1, 2, 3, 3, 4];
        assert!(Trailer::parse(&good).is_ok());
        for i in 1..4 {
            let mut bad = good;
            bad[i] ^= 0x10;
            assert_eq!(Trailer::parse(&bad), Err(Error::BadPadding), "byte {i}");
        }
        // Zero padding (another scheme) is rejected too.
        assert_eq!(Trailer::parse(&[0xaa, 0, 0, 2, 4]), Err(Error::BadPadding));
    }

    #[test]
    fn long_pad_length_and_truncation() {
        assert_eq!(
            Trailer::parse(&[1, 2, 3, 4]),
            Err(Error::PadLengthTooLong {
                pad_len: 3,
                available: 2
            })
        );
        assert!(matches!(Trailer::parse(&[4]), Err(Error::Truncated { .. })));
        assert!(matches!(Trailer::parse(&[]), Err(Error::Truncated { .. })));
        // Pad length 255 with only a few bytes before it.
        assert!(matches!(
            Trailer::parse(&[0; 10].iter().copied().chain([255, 4]).collect::<Vec<_>>()),
            Err(Error::PadLengthTooLong { pad_len: 255, .. })
        ));
        // Empty payload, no padding.
        let t = Trailer::parse(&[0, 59]).unwrap();
        assert_eq!(t.payload_len, 0);
        assert_eq!(t.next_header, NextHeader::NoNextHeader);
    }
}
