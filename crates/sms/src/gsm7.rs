//! The GSM 7-bit default alphabet and septet packing.
//!
//! TS 23.038 §6.2.1 maps 128 septet values to characters; the value 0x1B
//! escapes to the extension table (§6.2.1.1), so `€`, `[`, `{` and friends
//! take two septets. §6.1.2.1.1 packs septets into octets LSB first: septet
//! `n` occupies bits `7n .. 7n+7` of the octet string. When a user data
//! header precedes 7-bit text, the text starts at the first septet boundary
//! after the header (TS 23.040 §9.2.3.24: "fill bits").

use crate::error::SmsError;

/// The escape to the extension table.
pub const ESCAPE: u8 = 0x1B;

/// TS 23.038 §6.2.1 default alphabet, indexed by septet value. The escape
/// (0x1B) is shown as a non-breaking space, as the spec recommends for a
/// receiver that finds it unescaped.
const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{a0}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// TS 23.038 §6.2.1.1 extension table: (septet after the escape, character).
const EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0c}'), // form feed (page break)
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// The septet(s) for `c`: one for the default table, two (escape first)
/// for the extension table.
pub fn char_to_septets(c: char) -> Option<(u8, Option<u8>)> {
    if let Some(i) = BASIC.iter().position(|&b| b == c)
        && i != usize::from(ESCAPE)
    {
        return Some((i as u8, None));
    }
    EXTENSION
        .iter()
        .find(|(_, ch)| *ch == c)
        .map(|(s, _)| (ESCAPE, Some(*s)))
}

/// Whether every character of `text` has a GSM 7-bit encoding.
pub fn is_encodable(text: &str) -> bool {
    text.chars().all(|c| char_to_septets(c).is_some())
}

/// Encodes text as unpacked septets (values 0..=127).
pub fn encode(text: &str) -> Result<Vec<u8>, SmsError> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        let (a, b) = char_to_septets(c).ok_or(SmsError::NotGsm7(c))?;
        out.push(a);
        out.extend(b);
    }
    Ok(out)
}

/// Decodes unpacked septets. An escape followed by a value that the
/// extension table lacks shows the default-table character (§6.2.1.1); a
/// trailing lone escape shows as a space.
pub fn decode(septets: &[u8]) -> String {
    let mut s = String::with_capacity(septets.len());
    let mut iter = septets.iter().map(|v| v & 0x7F);
    while let Some(v) = iter.next() {
        if v == ESCAPE {
            match iter.next() {
                Some(x) => {
                    let c = EXTENSION
                        .iter()
                        .find(|(code, _)| *code == x)
                        .map_or(BASIC[usize::from(x)], |(_, c)| *c);
                    s.push(c);
                }
                None => s.push(' '),
            }
        } else {
            s.push(BASIC[usize::from(v)]);
        }
    }
    s
}

/// Packs septets starting at septet position `start` (the septets of a UDH
/// and its fill bits come before it); the first `ceil(7*start/8)` octets
/// are left zero for the caller to overwrite with the header.
pub fn pack(septets: &[u8], start: usize) -> Vec<u8> {
    let total_bits = (start + septets.len()) * 7;
    let mut out = vec![0u8; total_bits.div_ceil(8)];
    for (i, &s) in septets.iter().enumerate() {
        let bit = (start + i) * 7;
        let (byte, shift) = (bit / 8, bit % 8);
        let v = u16::from(s & 0x7F) << shift;
        out[byte] |= v as u8;
        if shift > 1 {
            out[byte + 1] |= (v >> 8) as u8;
        }
    }
    out
}

/// Unpacks up to `count` septets starting at septet position `start`;
/// stops early (never panics) when `octets` runs out.
pub fn unpack(octets: &[u8], start: usize, count: usize) -> Vec<u8> {
    let available = (octets.len() * 8 / 7).saturating_sub(start);
    let n = count.min(available);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let bit = (start + i) * 7;
        let (byte, shift) = (bit / 8, bit % 8);
        let lo = u16::from(octets.get(byte).copied().unwrap_or(0));
        let hi = u16::from(octets.get(byte + 1).copied().unwrap_or(0));
        out.push(((((hi << 8) | lo) >> shift) & 0x7F) as u8);
    }
    out
}

/// The septet position where text starts after a UDH of `udh_octets`
/// octets (UDHL octet included): the header plus its fill bits.
pub fn septets_for_octets(udh_octets: usize) -> usize {
    (udh_octets * 8).div_ceil(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hellohello() {
        let s = encode("hellohello").unwrap();
        assert_eq!(pack(&s, 0), hex::decode("E8329BFD4697D9EC37").unwrap());
        let back = unpack(&hex::decode("E8329BFD4697D9EC37").unwrap(), 0, 10);
        assert_eq!(decode(&back), "hellohello");
    }

    #[test]
    fn lengths_7_8_160() {
        for (n, octets) in [(7usize, 7usize), (8, 7), (9, 8), (160, 140)] {
            let text: String = "abcdefghij".chars().cycle().take(n).collect();
            let packed = pack(&encode(&text).unwrap(), 0);
            assert_eq!(packed.len(), octets, "{n} chars");
            assert_eq!(decode(&unpack(&packed, 0, n)), text);
        }
        // 7 septets leave 7 zero bits in the last octet; 8 fill it exactly.
        assert_eq!(
            pack(&encode("1234567").unwrap(), 0),
            hex::decode("31D98C56B3DD00").unwrap()
        );
        assert_eq!(
            pack(&encode("12345678").unwrap(), 0),
            hex::decode("31D98C56B3DD70").unwrap()
        );
    }

    #[test]
    fn escapes() {
        let s = encode("€[x]").unwrap();
        assert_eq!(s, [0x1B, 0x65, 0x1B, 0x3C, 0x78, 0x1B, 0x3E]);
        assert_eq!(decode(&s), "€[x]");
        // Unknown extension falls back to the default table.
        assert_eq!(decode(&[0x1B, 0x41]), "A");
        assert_eq!(decode(&[0x41, 0x1B]), "A ");
        assert_eq!(encode("ä@£"), Ok(vec![0x7B, 0x00, 0x01]));
        assert_eq!(encode("日"), Err(SmsError::NotGsm7('日')));
        // Every default-table character but the escape round-trips.
        for v in 0..128u8 {
            if v != ESCAPE {
                assert_eq!(encode(&decode(&[v])).unwrap(), [v]);
            }
        }
    }

    #[test]
    fn fill_bits_after_udh() {
        // A 6-octet UDH (UDHL 5, concat 8-bit) is 48 bits: text starts at
        // septet 7, after one fill bit.
        assert_eq!(septets_for_octets(6), 7);
        assert_eq!(septets_for_octets(7), 8);
        assert_eq!(septets_for_octets(0), 0);
        let text = encode("Hi").unwrap();
        let packed = pack(&text, 7);
        assert_eq!(packed.len(), 8); // 9 septets = 63 bits
        assert_eq!(&packed[..6], &[0; 6]);
        // 'H' = 0x48 shifted left by the one fill bit.
        assert_eq!(packed[6], 0x90);
        assert_eq!(unpack(&packed, 7, 2), text);
    }

    #[test]
    fn unpack_short_input() {
        assert!(unpack(&[], 0, 10).is_empty());
        assert_eq!(unpack(&[0xFF], 0, 10).len(), 1);
        assert!(unpack(&[0xFF], 5, 10).is_empty());
    }
}
