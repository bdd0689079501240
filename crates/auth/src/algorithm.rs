//! The 3G authentication functions f1..f5* as one interface, so that AKA, the
//! AuC and the soft USIM work the same over Milenage and TUAK.

/// A response RES/XRES: 4 to 16 bytes in a 3G/EPS/5G context (TS 33.102 §6.3.7
/// allows 32 to 128 bits).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Res {
    len: u8,
    bytes: [u8; 16],
}

impl Res {
    /// Build a RES from its bytes; `None` when not 4..=16 bytes long.
    pub fn new(value: &[u8]) -> Option<Res> {
        if !(4..=16).contains(&value.len()) {
            return None;
        }
        let mut bytes = [0u8; 16];
        bytes[..value.len()].copy_from_slice(value);
        Some(Res {
            len: value.len() as u8,
            bytes,
        })
    }

    /// The response bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl core::fmt::Debug for Res {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Res(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// The outputs of f2..f5 for one RAND: what a USIM returns after a successful
/// AUTHENTICATE and what the AuC puts in a vector.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AkaKeys {
    /// f2: the response RES (USIM) or expected response XRES (AuC).
    pub res: Res,
    /// f3: cipher key.
    pub ck: [u8; 16],
    /// f4: integrity key.
    pub ik: [u8; 16],
    /// f5: anonymity key, XORed onto SQN in AUTN.
    pub ak: [u8; 6],
}

/// The 3G authentication functions of TS 33.102 §6.3, keyed by one subscriber's
/// secrets. Implemented by Milenage and TUAK.
pub trait AkaAlgorithm {
    /// f1: network authentication code MAC-A.
    fn f1(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 8];
    /// f1*: resynchronisation authentication code MAC-S.
    fn f1_star(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 8];
    /// f2, f3, f4, f5 for one RAND.
    fn f2345(&self, rand: &[u8; 16]) -> AkaKeys;
    /// f5*: anonymity key for resynchronisation (AUTS).
    fn f5_star(&self, rand: &[u8; 16]) -> [u8; 6];

    /// f1 and f2..f5 for one quintet. An implementation overrides this when
    /// it can share work between the two (Milenage computes TEMP once).
    fn f1_f2345(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> ([u8; 8], AkaKeys) {
        (self.f1(rand, sqn, amf), self.f2345(rand))
    }

    /// [`AkaAlgorithm::f1_f2345`] for many (RAND, SQN) pairs, appended to
    /// `out` in order. The AuC asks for all vectors of a request at once so
    /// that an implementation can keep its cipher's pipeline full.
    fn f1_f2345_batch(
        &self,
        inputs: &[([u8; 16], [u8; 6])],
        amf: &[u8; 2],
        out: &mut Vec<([u8; 8], AkaKeys)>,
    ) {
        out.extend(
            inputs
                .iter()
                .map(|(rand, sqn)| self.f1_f2345(rand, sqn, amf)),
        );
    }
}
