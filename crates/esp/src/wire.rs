//! The ESP header as it appears on the wire (RFC 4303 §2).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |               Security Parameters Index (SPI)                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Sequence Number                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Payload Data (IV, ciphertext) ...          |
//! ~        ... Padding, Pad Length, Next Header (encrypted)       ~
//! |                    ICV (variable)                             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Two levels, as smoltcp builds its wire formats: [`EspPacket`] is a
//! zero-copy view over a buffer, and [`EspRepr`] the parsed header. The
//! contract: after [`EspPacket::new_checked`] succeeds no accessor panics,
//! and [`EspRepr::emit`] never panics on a buffer of
//! [`EspRepr::buffer_len`] bytes. Only the low 32 bits of an extended
//! sequence number travel (RFC 4303 §2.2.1); the payload's inner structure
//! belongs to the transform ([`crate::gcm`]).

use core::fmt;

use crate::error::Error;

mod field {
    use core::ops::{Range, RangeFrom};

    pub const SPI: Range<usize> = 0..4;
    pub const SEQUENCE: Range<usize> = 4..8;
    pub const PAYLOAD: RangeFrom<usize> = 8..;
}

/// Length of the SPI and Sequence Number fields.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// A read/write view of an ESP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EspPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EspPacket<T> {
    /// Wraps a buffer without checking its length; accessors may then panic
    /// on a short buffer. Use [`Self::new_checked`] for received data.
    pub const fn new_unchecked(buffer: T) -> Self {
        EspPacket { buffer }
    }

    /// Wraps a buffer after checking it holds the 8-byte header.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Fails with [`Error::Truncated`] if the header does not fit.
    pub fn check_len(&self) -> Result<(), Error> {
        let got = self.buffer.as_ref().len();
        if got < HEADER_LEN {
            return Err(Error::Truncated {
                needed: HEADER_LEN,
                got,
            });
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The Security Parameters Index (RFC 4303 §2.1).
    pub fn spi(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::SPI];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The low 32 bits of the sequence number (RFC 4303 §2.2).
    pub fn sequence_number(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::SEQUENCE];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Everything after the header: IV, ciphertext and ICV.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EspPacket<T> {
    /// Sets the SPI.
    pub fn set_spi(&mut self, spi: u32) {
        self.buffer.as_mut()[field::SPI].copy_from_slice(&spi.to_be_bytes());
    }

    /// Sets the (low 32 bits of the) sequence number.
    pub fn set_sequence_number(&mut self, seq: u32) {
        self.buffer.as_mut()[field::SEQUENCE].copy_from_slice(&seq.to_be_bytes());
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]>> fmt::Display for EspPacket<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ESP spi={:#010x} seq={} len={}",
            self.spi(),
            self.sequence_number(),
            self.payload().len()
        )
    }
}

/// The parsed ESP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EspRepr {
    /// Security Parameters Index.
    pub spi: u32,
    /// Low 32 bits of the sequence number.
    pub sequence_number: u32,
}

impl EspRepr {
    /// Reads the header of a checked packet.
    pub fn parse<T: AsRef<[u8]>>(packet: &EspPacket<T>) -> Result<Self, Error> {
        packet.check_len()?;
        Ok(EspRepr {
            spi: packet.spi(),
            sequence_number: packet.sequence_number(),
        })
    }

    /// Bytes [`Self::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header into the first [`HEADER_LEN`] bytes of `packet`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut EspPacket<T>) {
        packet.set_spi(self.spi);
        packet.set_sequence_number(self.sequence_number);
    }
}

impl fmt::Display for EspRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ESP spi={:#010x} seq={}", self.spi, self.sequence_number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4106 test packet header (draft-mcgrew-gcm-test-01 §4, page 8).
    const BYTES: [u8; 12] = [
        0x00, 0x00, 0xa5, 0xf8, 0x00, 0x00, 0x00, 0x0a, 0xfa, 0xce, 0xdb, 0xad,
    ];

    #[test]
    fn parse_fields() {
        let p = EspPacket::new_checked(&BYTES[..]).unwrap();
        assert_eq!(p.spi(), 0xa5f8);
        assert_eq!(p.sequence_number(), 10);
        assert_eq!(p.payload(), &[0xfa, 0xce, 0xdb, 0xad]);
        assert_eq!(p.to_string(), "ESP spi=0x0000a5f8 seq=10 len=4");
        let repr = EspRepr::parse(&p).unwrap();
        assert_eq!(
            repr,
            EspRepr {
                spi: 0xa5f8,
                sequence_number: 10
            }
        );
    }

    #[test]
    fn emit_round_trip() {
        let repr = EspRepr {
            spi: 0x1234_5678,
            sequence_number: 0xdead_beef,
        };
        let mut buf = [0u8; 8];
        let mut p = EspPacket::new_unchecked(&mut buf[..]);
        repr.emit(&mut p);
        assert_eq!(buf, [0x12, 0x34, 0x56, 0x78, 0xde, 0xad, 0xbe, 0xef]);
        let back = EspRepr::parse(&EspPacket::new_checked(&buf[..]).unwrap()).unwrap();
        assert_eq!(back, repr);
        assert_eq!(repr.buffer_len(), buf.len());
    }

    #[test]
    fn every_short_length_is_truncated() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                EspPacket::new_checked(&BYTES[..len]),
                Err(Error::Truncated {
                    needed: 8,
                    got: len
                })
            );
        }
        assert!(EspPacket::new_checked(&BYTES[..HEADER_LEN]).is_ok());
    }
}
