//! The user data header (TS 23.040 §9.2.3.24).
//!
//! When TP-UDHI is set, TP-UD starts with UDHL (the header length in
//! octets, UDHL itself excluded) followed by information elements, each
//! `IEI, IEDL, IED`. Elements this crate has no type for are kept raw, so
//! a header re-encodes to the octets it came from.

use crate::error::SmsError;

/// IEI 0x00: concatenated short message, 8-bit reference (§9.2.3.24.1).
pub const IEI_CONCAT_8: u8 = 0x00;
/// IEI 0x04: application port addressing, 8-bit ports (§9.2.3.24.3).
pub const IEI_PORT_8: u8 = 0x04;
/// IEI 0x05: application port addressing, 16-bit ports (§9.2.3.24.4).
pub const IEI_PORT_16: u8 = 0x05;
/// IEI 0x08: concatenated short message, 16-bit reference (§9.2.3.24.8).
pub const IEI_CONCAT_16: u8 = 0x08;

/// One information element of a user data header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InformationElement {
    /// Concatenation with an 8-bit reference: part `seq` of `total` (1-based).
    Concat8 {
        /// Reference shared by all parts of one message.
        reference: u8,
        /// Number of parts.
        total: u8,
        /// This part's number, from 1.
        seq: u8,
    },
    /// Concatenation with a 16-bit reference.
    Concat16 {
        /// Reference shared by all parts of one message.
        reference: u16,
        /// Number of parts.
        total: u8,
        /// This part's number, from 1.
        seq: u8,
    },
    /// Application port addressing with 8-bit ports.
    Port8 {
        /// Destination port.
        dst: u8,
        /// Originator port.
        src: u8,
    },
    /// Application port addressing with 16-bit ports.
    Port16 {
        /// Destination port.
        dst: u16,
        /// Originator port.
        src: u16,
    },
    /// Any other element, or a known one with the wrong length, kept as sent.
    Unknown {
        /// The IEI.
        iei: u8,
        /// The IED octets.
        data: Vec<u8>,
    },
}

impl InformationElement {
    fn parse(iei: u8, d: &[u8]) -> Self {
        match (iei, d) {
            (IEI_CONCAT_8, &[reference, total, seq]) => InformationElement::Concat8 {
                reference,
                total,
                seq,
            },
            (IEI_CONCAT_16, &[r0, r1, total, seq]) => InformationElement::Concat16 {
                reference: u16::from_be_bytes([r0, r1]),
                total,
                seq,
            },
            (IEI_PORT_8, &[dst, src]) => InformationElement::Port8 { dst, src },
            (IEI_PORT_16, &[d0, d1, s0, s1]) => InformationElement::Port16 {
                dst: u16::from_be_bytes([d0, d1]),
                src: u16::from_be_bytes([s0, s1]),
            },
            _ => InformationElement::Unknown {
                iei,
                data: d.to_vec(),
            },
        }
    }

    /// Encoded length: IEI, IEDL and data.
    pub fn buffer_len(&self) -> usize {
        2 + match self {
            InformationElement::Concat8 { .. } => 3,
            InformationElement::Concat16 { .. } | InformationElement::Port16 { .. } => 4,
            InformationElement::Port8 { .. } => 2,
            InformationElement::Unknown { data, .. } => data.len(),
        }
    }

    fn emit(&self, out: &mut Vec<u8>) -> Result<(), SmsError> {
        match self {
            InformationElement::Concat8 {
                reference,
                total,
                seq,
            } => out.extend_from_slice(&[IEI_CONCAT_8, 3, *reference, *total, *seq]),
            InformationElement::Concat16 {
                reference,
                total,
                seq,
            } => {
                let r = reference.to_be_bytes();
                out.extend_from_slice(&[IEI_CONCAT_16, 4, r[0], r[1], *total, *seq])
            }
            InformationElement::Port8 { dst, src } => {
                out.extend_from_slice(&[IEI_PORT_8, 2, *dst, *src])
            }
            InformationElement::Port16 { dst, src } => {
                out.extend_from_slice(&[IEI_PORT_16, 4]);
                out.extend_from_slice(&dst.to_be_bytes());
                out.extend_from_slice(&src.to_be_bytes());
            }
            InformationElement::Unknown { iei, data } => {
                let len = u8::try_from(data.len()).map_err(|_| SmsError::TooLong {
                    field: "information element",
                    len: data.len(),
                    max: 255,
                })?;
                out.push(*iei);
                out.push(len);
                out.extend_from_slice(data);
            }
        }
        Ok(())
    }
}

/// Concatenation information, whichever reference width carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConcatInfo {
    /// The reference, widened to 16 bits.
    pub reference: u16,
    /// Whether the reference came in the 16-bit element.
    pub wide: bool,
    /// Number of parts.
    pub total: u8,
    /// This part's number, from 1.
    pub seq: u8,
}

/// A decoded user data header.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct UserDataHeader {
    /// The elements, in order.
    pub elements: Vec<InformationElement>,
}

impl UserDataHeader {
    /// Parses a header from the front of TP-UD; returns it and the octets
    /// used (UDHL included).
    pub fn parse(ud: &[u8]) -> Result<(Self, usize), SmsError> {
        let (&udhl, rest) = ud.split_first().ok_or(SmsError::Truncated("UDHL"))?;
        let mut body = rest
            .get(..usize::from(udhl))
            .ok_or(SmsError::Truncated("user data header"))?;
        let mut elements = Vec::new();
        while let [iei, len, tail @ ..] = body {
            let data = tail.get(..usize::from(*len)).ok_or(SmsError::BadUdh)?;
            elements.push(InformationElement::parse(*iei, data));
            body = &tail[data.len()..];
        }
        if !body.is_empty() {
            return Err(SmsError::BadUdh);
        }
        Ok((UserDataHeader { elements }, 1 + usize::from(udhl)))
    }

    /// Encoded length, UDHL included.
    pub fn buffer_len(&self) -> usize {
        1 + self
            .elements
            .iter()
            .map(InformationElement::buffer_len)
            .sum::<usize>()
    }

    /// Appends UDHL and the elements to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), SmsError> {
        let len = self.buffer_len() - 1;
        let udhl = u8::try_from(len).map_err(|_| SmsError::TooLong {
            field: "user data header",
            len,
            max: 255,
        })?;
        out.push(udhl);
        for e in &self.elements {
            e.emit(out)?;
        }
        Ok(())
    }

    /// The concatenation element, if any (the first one wins).
    pub fn concat(&self) -> Option<ConcatInfo> {
        self.elements.iter().find_map(|e| match *e {
            InformationElement::Concat8 {
                reference,
                total,
                seq,
            } => Some(ConcatInfo {
                reference: u16::from(reference),
                wide: false,
                total,
                seq,
            }),
            InformationElement::Concat16 {
                reference,
                total,
                seq,
            } => Some(ConcatInfo {
                reference,
                wide: true,
                total,
                seq,
            }),
            _ => None,
        })
    }

    /// The application ports `(destination, originator)`, either width.
    pub fn ports(&self) -> Option<(u16, u16)> {
        self.elements.iter().find_map(|e| match *e {
            InformationElement::Port8 { dst, src } => Some((u16::from(dst), u16::from(src))),
            InformationElement::Port16 { dst, src } => Some((dst, src)),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_known_and_unknown() {
        let bytes = hex::decode("0B0003A50201050423F40000FFFF").unwrap();
        let (udh, used) = UserDataHeader::parse(&bytes).unwrap();
        assert_eq!(used, 12);
        assert_eq!(
            udh.elements,
            vec![
                InformationElement::Concat8 {
                    reference: 0xA5,
                    total: 2,
                    seq: 1
                },
                InformationElement::Port16 {
                    dst: 0x23F4,
                    src: 0
                },
            ]
        );
        let raw = hex::decode("0C080412340302050400B10000").unwrap();
        let (udh, used) = UserDataHeader::parse(&raw).unwrap();
        assert_eq!(used, 13);
        assert_eq!(
            udh.concat(),
            Some(ConcatInfo {
                reference: 0x1234,
                wide: true,
                total: 3,
                seq: 2
            })
        );
        assert_eq!(udh.ports(), Some((0xB1, 0)));
        let mut out = Vec::new();
        udh.emit(&mut out).unwrap();
        assert_eq!(out, raw);
        let odd = hex::decode("0570030102037F").unwrap();
        let (udh, _) = UserDataHeader::parse(&odd).unwrap();
        assert_eq!(
            udh.elements,
            vec![InformationElement::Unknown {
                iei: 0x70,
                data: vec![1, 2, 3]
            }]
        );
    }

    #[test]
    fn rejects_overrun() {
        assert_eq!(UserDataHeader::parse(&[]), Err(SmsError::Truncated("UDHL")));
        assert_eq!(
            UserDataHeader::parse(&[5, 0, 3]),
            Err(SmsError::Truncated("user data header"))
        );
        assert_eq!(UserDataHeader::parse(&[3, 0, 3, 1]), Err(SmsError::BadUdh));
        assert_eq!(UserDataHeader::parse(&[1, 0]), Err(SmsError::BadUdh));
    }
}
