//! TP-DCS, the data coding scheme (TS 23.038 §4).
//!
//! The octet is kept raw (every value is representable, so nothing is lost
//! on re-encode); accessors interpret its coding group.

/// The character set of the user data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alphabet {
    /// GSM 7-bit default alphabet; TP-UDL counts septets.
    Gsm7,
    /// 8-bit data; TP-UDL counts octets.
    Data8,
    /// UCS-2 (UTF-16BE); TP-UDL counts octets.
    Ucs2,
    /// A reserved coding; §4 says a receiver shall assume the GSM 7-bit
    /// default alphabet, so lengths count septets.
    Reserved,
}

impl Alphabet {
    /// Whether TP-UDL counts septets (TS 23.040 §9.2.3.16).
    pub fn counts_septets(self) -> bool {
        matches!(self, Alphabet::Gsm7 | Alphabet::Reserved)
    }
}

/// The message class (TS 23.038 §4, bits 1..0 when bit 4 is set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageClass {
    /// Class 0: immediate display ("flash").
    Class0,
    /// Class 1: ME specific.
    Class1,
    /// Class 2: (U)SIM specific.
    Class2,
    /// Class 3: TE specific.
    Class3,
}

impl MessageClass {
    fn from_bits(v: u8) -> Self {
        match v & 3 {
            0 => MessageClass::Class0,
            1 => MessageClass::Class1,
            2 => MessageClass::Class2,
            _ => MessageClass::Class3,
        }
    }

    fn bits(self) -> u8 {
        match self {
            MessageClass::Class0 => 0,
            MessageClass::Class1 => 1,
            MessageClass::Class2 => 2,
            MessageClass::Class3 => 3,
        }
    }
}

/// The TP-DCS octet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Dcs(pub u8);

impl Dcs {
    /// 0x00: GSM 7-bit, no class.
    pub const GSM7: Dcs = Dcs(0x00);
    /// 0x04: 8-bit data, no class.
    pub const DATA8: Dcs = Dcs(0x04);
    /// 0x08: UCS-2, no class.
    pub const UCS2: Dcs = Dcs(0x08);

    /// A general data coding group value (bits 7..6 = 00): uncompressed,
    /// with the given alphabet and optional class. `Reserved` encodes as
    /// alphabet bits 11.
    pub fn general(alphabet: Alphabet, class: Option<MessageClass>) -> Dcs {
        let a = match alphabet {
            Alphabet::Gsm7 => 0,
            Alphabet::Data8 => 1,
            Alphabet::Ucs2 => 2,
            Alphabet::Reserved => 3,
        };
        let c = class.map_or(0, |c| 0x10 | c.bits());
        Dcs((a << 2) | c)
    }

    /// Whether the octet is in the general data coding group (00xx) or the
    /// automatic deletion group (01xx), which share the lower six bits.
    fn is_general(self) -> bool {
        self.0 & 0x80 == 0
    }

    /// The alphabet, per coding group.
    pub fn alphabet(self) -> Alphabet {
        let v = self.0;
        match v >> 4 {
            0x0..=0x7 => match (v >> 2) & 3 {
                0 => Alphabet::Gsm7,
                1 => Alphabet::Data8,
                2 => Alphabet::Ucs2,
                _ => Alphabet::Reserved,
            },
            // Reserved coding groups 1000..1011.
            0x8..=0xB => Alphabet::Reserved,
            // Message waiting indication: discard / store (7-bit), store (UCS-2).
            0xC | 0xD => Alphabet::Gsm7,
            0xE => Alphabet::Ucs2,
            // Data coding / message class: bit 2 selects 8-bit data.
            _ => {
                if v & 0x04 != 0 {
                    Alphabet::Data8
                } else {
                    Alphabet::Gsm7
                }
            }
        }
    }

    /// The message class, if the octet carries one.
    pub fn class(self) -> Option<MessageClass> {
        if self.is_general() {
            (self.0 & 0x10 != 0).then(|| MessageClass::from_bits(self.0))
        } else if self.0 >> 4 == 0xF {
            Some(MessageClass::from_bits(self.0))
        } else {
            None
        }
    }

    /// Whether the text is compressed (TS 23.042); only the general groups
    /// can say so.
    pub fn compressed(self) -> bool {
        self.is_general() && self.0 & 0x20 != 0
    }

    /// Whether the message is marked for automatic deletion (group 01xx).
    pub fn auto_delete(self) -> bool {
        self.0 >> 6 == 1
    }
}

impl From<u8> for Dcs {
    fn from(v: u8) -> Self {
        Dcs(v)
    }
}

impl From<Dcs> for u8 {
    fn from(d: Dcs) -> u8 {
        d.0
    }
}

impl core::fmt::Display for Dcs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "0x{:02x} ({:?}", self.0, self.alphabet())?;
        if let Some(c) = self.class() {
            write!(f, ", {c:?}")?;
        }
        if self.compressed() {
            f.write_str(", compressed")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups() {
        assert_eq!(Dcs(0x00).alphabet(), Alphabet::Gsm7);
        assert_eq!(Dcs(0x00).class(), None);
        assert_eq!(Dcs(0x04).alphabet(), Alphabet::Data8);
        assert_eq!(Dcs(0x08).alphabet(), Alphabet::Ucs2);
        assert_eq!(Dcs(0x0C).alphabet(), Alphabet::Reserved);
        assert_eq!(Dcs(0x10).class(), Some(MessageClass::Class0));
        assert_eq!(Dcs(0x16).class(), Some(MessageClass::Class2));
        assert_eq!(Dcs(0x16).alphabet(), Alphabet::Data8);
        assert!(Dcs(0x20).compressed());
        assert!(Dcs(0x44).auto_delete());
        assert_eq!(Dcs(0x44).alphabet(), Alphabet::Data8);
        assert_eq!(Dcs(0xF6).alphabet(), Alphabet::Data8);
        assert_eq!(Dcs(0xF6).class(), Some(MessageClass::Class2));
        assert_eq!(Dcs(0xF0).alphabet(), Alphabet::Gsm7);
        assert_eq!(Dcs(0xE0).alphabet(), Alphabet::Ucs2);
        assert_eq!(Dcs(0xC8).alphabet(), Alphabet::Gsm7);
        assert_eq!(Dcs(0x90).alphabet(), Alphabet::Reserved);
        assert!(!Dcs(0xF4).compressed());
        assert_eq!(
            Dcs::general(Alphabet::Data8, Some(MessageClass::Class1)),
            Dcs(0x15)
        );
        assert_eq!(Dcs::general(Alphabet::Gsm7, None), Dcs::GSM7);
    }
}
