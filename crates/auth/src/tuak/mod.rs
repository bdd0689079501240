//! TUAK, the second example 3G/4G/5G authentication algorithm set, built on
//! the Keccak permutation (3GPP TS 35.231).
//!
//! Every function (TOPc derivation, f1, f1*, f2345, f5*) is one evaluation of
//! `Keccak-f[1600]` (applied `keccak_iterations` times) over a 1600-bit input
//! (TS 35.231 §6):
//!
//! | bits      | bytes    | content                                         |
//! |-----------|----------|-------------------------------------------------|
//! | 0..256    | 0..32    | TOPc (TOP when deriving TOPc)                   |
//! | 256..264  | 32       | INSTANCE: which function, and the output sizes  |
//! | 264..320  | 33..40   | ALGONAME, `TUAK1.0`                             |
//! | 320..448  | 40..56   | RAND (zero for TOPc)                            |
//! | 448..464  | 56..58   | AMF (zero except for f1, f1*)                   |
//! | 464..512  | 58..64   | SQN (zero except for f1, f1*)                   |
//! | 512..768  | 64..96   | KEY: K, zero-extended to 256 bits               |
//! | 768..1088 | 96..136  | padding: `1 1 1 1 1 0 … 0 1`                    |
//! | 1088..1600| 136..200 | zero (capacity)                                 |
//!
//! The specification numbers bits so that each field enters the Keccak state
//! with its byte order reversed (`IN[i] = TOP[255 - i]`, …); outputs are read
//! back the same way. Outputs: MAC/RES/TOPc from bytes 0.., CK from 32..,
//! IK from 64.., AK from 96..102.
//!
//! Cost: one permutation run for f2345 (RES, CK, IK, AK together), one each
//! for f1, f1*, f5*; a quintet with AUTN therefore costs two runs
//! ([`Tuak::f1`] + [`Tuak::f2345`]), and [`Tuak::generate`] four.

pub mod keccak;

use zeroize::Zeroize;

use crate::algorithm::{AkaAlgorithm, AkaKeys, Res};

/// Upper bound on `keccak_iterations`. TS 35.231 §5 leaves the count to the
/// operator (default 1); the bound keeps the work per call finite when the
/// count comes from configuration.
pub const MAX_KECCAK_ITERATIONS: u32 = 1024;

/// ALGONAME, TS 35.231 §5.3.
const ALGONAME: &[u8; 7] = b"TUAK1.0";

/// Byte offsets of the input fields in the 200-byte state (see module docs).
mod field {
    use core::ops::Range;
    pub const TOP: Range<usize> = 0..32;
    pub const INSTANCE: usize = 32;
    pub const ALGONAME: Range<usize> = 33..40;
    pub const RAND: Range<usize> = 40..56;
    pub const AMF: Range<usize> = 56..58;
    pub const SQN: Range<usize> = 58..64;
    pub const KEY: usize = 64;
    pub const PAD_FIRST: usize = 96;
    pub const PAD_LAST: usize = 135;
    // Output offsets.
    pub const CK: usize = 32;
    pub const IK: usize = 64;
    pub const AK: usize = 96;
}

/// INSTANCE bits (TS 35.231 §6): function selector in the top two bits …
mod instance {
    pub const F1: u8 = 0x00;
    pub const F1_STAR: u8 = 0x80;
    pub const F2345: u8 = 0x40;
    pub const F5_STAR: u8 = 0xc0;
    pub const TOPC: u8 = 0x00;
    /// … CK of 256 bits …
    pub const CK256: u8 = 0x04;
    /// … IK of 256 bits …
    pub const IK256: u8 = 0x02;
    /// … and K of 256 bits.
    pub const K256: u8 = 0x01;
}

/// Errors of this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TuakError {
    /// K must be 16 or 32 bytes (TS 35.231 §5.1).
    #[error("TUAK key must be 128 or 256 bits, got {0} bytes")]
    KeyLength(usize),
    /// A MAC, RES, CK or IK length that TS 35.231 §5.1 does not allow.
    #[error("TUAK {what} length {bits} bits is not allowed")]
    OutputLength {
        /// Which output: `MAC`, `RES`, `CK` or `IK`.
        what: &'static str,
        /// The rejected length in bits.
        bits: u16,
    },
    /// `keccak_iterations` is 0 or above [`MAX_KECCAK_ITERATIONS`].
    #[error("TUAK keccak_iterations must be 1..={max}, got {0}", max = MAX_KECCAK_ITERATIONS)]
    Iterations(u32),
    /// The parameters do not fit the 3G AKA interface (MAC 64 bits, CK and
    /// IK 128 bits, RES at most 128 bits).
    #[error("TUAK parameters do not fit 3G AKA (need MAC 64, CK/IK 128, RES <= 128 bits)")]
    NotAkaSizes,
}

/// Length of MAC-A and MAC-S (TS 35.231 §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MacLen {
    /// 64 bits, the size carried in AUTN/AUTS.
    Bits64,
    /// 128 bits.
    Bits128,
    /// 256 bits.
    Bits256,
}

/// Length of RES (TS 35.231 §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResLen {
    /// 32 bits.
    Bits32,
    /// 64 bits.
    Bits64,
    /// 128 bits.
    Bits128,
    /// 256 bits (no 3G/4G/5G protocol carries it).
    Bits256,
}

/// Length of CK or IK (TS 35.231 §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyLen {
    /// 128 bits, the 3G/4G/5G key size.
    Bits128,
    /// 256 bits.
    Bits256,
}

impl MacLen {
    /// From a length in bits: 64, 128 or 256.
    pub fn from_bits(bits: u16) -> Result<MacLen, TuakError> {
        match bits {
            64 => Ok(MacLen::Bits64),
            128 => Ok(MacLen::Bits128),
            256 => Ok(MacLen::Bits256),
            _ => Err(TuakError::OutputLength { what: "MAC", bits }),
        }
    }

    /// Length in bytes.
    pub fn bytes(self) -> usize {
        match self {
            MacLen::Bits64 => 8,
            MacLen::Bits128 => 16,
            MacLen::Bits256 => 32,
        }
    }

    /// Length in bits.
    pub fn bits(self) -> u16 {
        8 * self.bytes() as u16
    }

    fn instance(self) -> u8 {
        match self {
            MacLen::Bits64 => 0x08,
            MacLen::Bits128 => 0x10,
            MacLen::Bits256 => 0x20,
        }
    }
}

impl ResLen {
    /// From a length in bits: 32, 64, 128 or 256.
    pub fn from_bits(bits: u16) -> Result<ResLen, TuakError> {
        match bits {
            32 => Ok(ResLen::Bits32),
            64 => Ok(ResLen::Bits64),
            128 => Ok(ResLen::Bits128),
            256 => Ok(ResLen::Bits256),
            _ => Err(TuakError::OutputLength { what: "RES", bits }),
        }
    }

    /// Length in bytes.
    pub fn bytes(self) -> usize {
        match self {
            ResLen::Bits32 => 4,
            ResLen::Bits64 => 8,
            ResLen::Bits128 => 16,
            ResLen::Bits256 => 32,
        }
    }

    /// Length in bits.
    pub fn bits(self) -> u16 {
        8 * self.bytes() as u16
    }

    fn instance(self) -> u8 {
        match self {
            ResLen::Bits32 => 0x00,
            ResLen::Bits64 => 0x08,
            ResLen::Bits128 => 0x10,
            ResLen::Bits256 => 0x20,
        }
    }
}

impl KeyLen {
    /// From a length in bits: 128 or 256; `what` names the key in the error.
    fn from_bits_for(bits: u16, what: &'static str) -> Result<KeyLen, TuakError> {
        match bits {
            128 => Ok(KeyLen::Bits128),
            256 => Ok(KeyLen::Bits256),
            _ => Err(TuakError::OutputLength { what, bits }),
        }
    }

    /// From a length in bits: 128 or 256.
    pub fn from_bits(bits: u16) -> Result<KeyLen, TuakError> {
        KeyLen::from_bits_for(bits, "CK/IK")
    }

    /// Length in bytes.
    pub fn bytes(self) -> usize {
        match self {
            KeyLen::Bits128 => 16,
            KeyLen::Bits256 => 32,
        }
    }

    /// Length in bits.
    pub fn bits(self) -> u16 {
        8 * self.bytes() as u16
    }
}

/// The operator's TUAK configuration besides K and TOP (TS 35.231 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TuakParams {
    /// Length of MAC-A (f1) and MAC-S (f1*).
    pub mac: MacLen,
    /// Length of RES (f2).
    pub res: ResLen,
    /// Length of CK (f3).
    pub ck: KeyLen,
    /// Length of IK (f4).
    pub ik: KeyLen,
    /// How many times `Keccak-f[1600]` is applied per function (1 by default;
    /// 1..=[`MAX_KECCAK_ITERATIONS`]).
    pub keccak_iterations: u32,
}

impl TuakParams {
    /// The sizes of 3G AKA (MAC 64, RES 64, CK 128, IK 128 bits; RES chosen as
    /// MILENAGE's), one Keccak iteration.
    pub const AKA: TuakParams = TuakParams {
        mac: MacLen::Bits64,
        res: ResLen::Bits64,
        ck: KeyLen::Bits128,
        ik: KeyLen::Bits128,
        keccak_iterations: 1,
    };

    /// Parameters from lengths in bits, as found in configuration and on the
    /// command line; every value is checked.
    pub fn from_bits(
        mac_bits: u16,
        res_bits: u16,
        ck_bits: u16,
        ik_bits: u16,
        keccak_iterations: u32,
    ) -> Result<TuakParams, TuakError> {
        let params = TuakParams {
            mac: MacLen::from_bits(mac_bits)?,
            res: ResLen::from_bits(res_bits)?,
            ck: KeyLen::from_bits_for(ck_bits, "CK")?,
            ik: KeyLen::from_bits_for(ik_bits, "IK")?,
            keccak_iterations,
        };
        check_iterations(keccak_iterations)?;
        Ok(params)
    }

    /// True when these sizes fit the 3G AKA interface ([`TuakAka`]).
    pub fn fits_aka(&self) -> bool {
        self.mac == MacLen::Bits64
            && self.ck == KeyLen::Bits128
            && self.ik == KeyLen::Bits128
            && self.res != ResLen::Bits256
    }
}

impl Default for TuakParams {
    fn default() -> Self {
        TuakParams::AKA
    }
}

fn check_iterations(n: u32) -> Result<(), TuakError> {
    if (1..=MAX_KECCAK_ITERATIONS).contains(&n) {
        Ok(())
    } else {
        Err(TuakError::Iterations(n))
    }
}

/// A TUAK output of configurable length (up to 256 bits).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TuakValue {
    len: u8,
    bytes: [u8; 32],
}

impl TuakValue {
    /// The output bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Never true: TUAK outputs are at least 32 bits long.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first `N` bytes; the caller guarantees `N <= len` through the
    /// parameters it checked.
    fn prefix<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.bytes[..N]);
        out
    }
}

impl core::fmt::Debug for TuakValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl AsRef<[u8]> for TuakValue {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// The f2..f5 outputs of TUAK, at the configured lengths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TuakKeys {
    /// f2: RES/XRES.
    pub res: TuakValue,
    /// f3: CK.
    pub ck: TuakValue,
    /// f4: IK.
    pub ik: TuakValue,
    /// f5: AK.
    pub ak: [u8; 6],
}

/// Every TUAK output for one (RAND, SQN, AMF).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TuakOutput {
    /// f1: MAC-A.
    pub mac_a: TuakValue,
    /// f1*: MAC-S.
    pub mac_s: TuakValue,
    /// f2: RES/XRES.
    pub res: TuakValue,
    /// f3: CK.
    pub ck: TuakValue,
    /// f4: IK.
    pub ik: TuakValue,
    /// f5: AK.
    pub ak: [u8; 6],
    /// f5*: AK for resynchronisation.
    pub ak_star: [u8; 6],
}

/// TUAK keyed for one subscriber: K, TOPc and the parameters.
///
/// Holds a prepared Keccak input with TOPc, ALGONAME, K and the padding in
/// place; each call fills in INSTANCE, RAND, AMF and SQN. The prepared input
/// (which contains K) is wiped on drop.
#[derive(Clone)]
pub struct Tuak {
    template: [u8; 200],
    k256: bool,
    params: TuakParams,
}

impl core::fmt::Debug for Tuak {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tuak")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Drop for Tuak {
    fn drop(&mut self) {
        self.template.zeroize();
    }
}

/// Writes `src` into `dst` in reversed byte order (the specification's bit
/// numbering, see the module docs).
fn put_reversed(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src.iter().rev()) {
        *d = *s;
    }
}

/// Reads `len` bytes of state from `offset`, reversed.
fn take_reversed(state: &[u8; 200], offset: usize, len: usize) -> TuakValue {
    let mut bytes = [0u8; 32];
    put_reversed(&mut bytes[..len], &state[offset..offset + len]);
    TuakValue {
        len: len as u8,
        bytes,
    }
}

fn take_ak(state: &[u8; 200]) -> [u8; 6] {
    take_reversed(state, field::AK, 6).prefix()
}

impl Tuak {
    /// Keys TUAK with K (16 or 32 bytes) and the operator's TOP; TOPc is
    /// derived here (one permutation run).
    pub fn with_top(k: &[u8], top: &[u8; 32], params: TuakParams) -> Result<Tuak, TuakError> {
        let topc = compute_topc(k, top, params.keccak_iterations)?;
        Tuak::with_topc(k, &topc, params)
    }

    /// Keys TUAK with K (16 or 32 bytes) and a precomputed TOPc (as stored in
    /// the AuC and on the USIM, TS 35.231 §7.1).
    pub fn with_topc(k: &[u8], topc: &[u8; 32], params: TuakParams) -> Result<Tuak, TuakError> {
        check_iterations(params.keccak_iterations)?;
        let (template, k256) = template(k, topc)?;
        Ok(Tuak {
            template,
            k256,
            params,
        })
    }

    /// Same as the free function [`compute_topc`].
    pub fn compute_topc(
        k: &[u8],
        top: &[u8; 32],
        keccak_iterations: u32,
    ) -> Result<[u8; 32], TuakError> {
        compute_topc(k, top, keccak_iterations)
    }

    /// The parameters this instance was keyed with.
    pub fn params(&self) -> TuakParams {
        self.params
    }

    /// TOPc, the value to provision on a USIM.
    pub fn topc(&self) -> [u8; 32] {
        let mut topc = [0u8; 32];
        put_reversed(&mut topc, &self.template[field::TOP]);
        topc
    }

    /// One evaluation: the prepared input with INSTANCE, RAND, AMF and SQN
    /// filled in, permuted `keccak_iterations` times.
    fn run(&self, instance: u8, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 200] {
        let mut state = self.template;
        state[field::INSTANCE] = instance | self.k_bit();
        put_reversed(&mut state[field::RAND], rand);
        put_reversed(&mut state[field::AMF], amf);
        put_reversed(&mut state[field::SQN], sqn);
        let out = permute(&state, self.params.keccak_iterations);
        state.zeroize();
        out
    }

    fn k_bit(&self) -> u8 {
        if self.k256 { instance::K256 } else { 0 }
    }

    /// f1: MAC-A over RAND, SQN and AMF, `params.mac` long.
    pub fn f1(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> TuakValue {
        let mac = self.params.mac;
        let state = self.run(instance::F1 | mac.instance(), rand, sqn, amf);
        take_reversed(&state, 0, mac.bytes())
    }

    /// f1*: MAC-S over RAND, SQN and AMF, `params.mac` long.
    pub fn f1_star(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> TuakValue {
        let mac = self.params.mac;
        let state = self.run(instance::F1_STAR | mac.instance(), rand, sqn, amf);
        take_reversed(&state, 0, mac.bytes())
    }

    /// f2, f3, f4 and f5 from one permutation run.
    pub fn f2345(&self, rand: &[u8; 16]) -> TuakKeys {
        let p = self.params;
        let mut inst = instance::F2345 | p.res.instance();
        if p.ck == KeyLen::Bits256 {
            inst |= instance::CK256;
        }
        if p.ik == KeyLen::Bits256 {
            inst |= instance::IK256;
        }
        let state = self.run(inst, rand, &[0; 6], &[0; 2]);
        TuakKeys {
            res: take_reversed(&state, 0, p.res.bytes()),
            ck: take_reversed(&state, field::CK, p.ck.bytes()),
            ik: take_reversed(&state, field::IK, p.ik.bytes()),
            ak: take_ak(&state),
        }
    }

    /// f5*: AK for resynchronisation.
    pub fn f5_star(&self, rand: &[u8; 16]) -> [u8; 6] {
        take_ak(&self.run(instance::F5_STAR, rand, &[0; 6], &[0; 2]))
    }

    /// Every output, f1 to f5* (four permutation runs).
    pub fn generate(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> TuakOutput {
        let keys = self.f2345(rand);
        TuakOutput {
            mac_a: self.f1(rand, sqn, amf),
            mac_s: self.f1_star(rand, sqn, amf),
            res: keys.res,
            ck: keys.ck,
            ik: keys.ik,
            ak: keys.ak,
            ak_star: self.f5_star(rand),
        }
    }
}

/// The input template: TOP/TOPc, ALGONAME, KEY and padding in place.
fn template(k: &[u8], top: &[u8; 32]) -> Result<([u8; 200], bool), TuakError> {
    let k256 = match k.len() {
        16 => false,
        32 => true,
        n => return Err(TuakError::KeyLength(n)),
    };
    let mut state = [0u8; 200];
    put_reversed(&mut state[field::TOP], top);
    put_reversed(&mut state[field::ALGONAME], ALGONAME);
    put_reversed(&mut state[field::KEY..field::KEY + k.len()], k);
    state[field::PAD_FIRST] = 0x1f;
    state[field::PAD_LAST] = 0x80;
    Ok((state, k256))
}

fn permute(input: &[u8; 200], iterations: u32) -> [u8; 200] {
    let mut lanes = keccak::lanes_from_bytes(input);
    for _ in 0..iterations {
        keccak::f1600(&mut lanes);
    }
    let out = keccak::bytes_from_lanes(&lanes);
    lanes.zeroize();
    out
}

/// TOPc from K (16 or 32 bytes) and TOP (TS 35.231 §6.1): the same
/// construction with TOP in place of TOPc, INSTANCE 0 (plus the K-size bit)
/// and RAND, AMF, SQN zero.
pub fn compute_topc(
    k: &[u8],
    top: &[u8; 32],
    keccak_iterations: u32,
) -> Result<[u8; 32], TuakError> {
    check_iterations(keccak_iterations)?;
    let (mut state, k256) = template(k, top)?;
    state[field::INSTANCE] = instance::TOPC | if k256 { instance::K256 } else { 0 };
    let out = permute(&state, keccak_iterations);
    state.zeroize();
    Ok(take_reversed(&out, 0, 32).prefix())
}

/// TUAK restricted to the sizes of 3G AKA, so that it can stand behind
/// [`AkaAlgorithm`] next to MILENAGE: MAC 64 bits, CK and IK 128 bits, RES
/// 32, 64 or 128 bits. Only [`TuakAka::new`] builds one, and it checks.
#[derive(Clone, Debug)]
pub struct TuakAka {
    tuak: Tuak,
}

impl TuakAka {
    /// Wraps `tuak` if its parameters fit 3G AKA; otherwise
    /// [`TuakError::NotAkaSizes`].
    pub fn new(tuak: Tuak) -> Result<TuakAka, TuakError> {
        if tuak.params.fits_aka() {
            Ok(TuakAka { tuak })
        } else {
            Err(TuakError::NotAkaSizes)
        }
    }

    /// The wrapped TUAK instance.
    pub fn tuak(&self) -> &Tuak {
        &self.tuak
    }

    /// Unwraps the TUAK instance.
    pub fn into_inner(self) -> Tuak {
        self.tuak
    }
}

impl AkaAlgorithm for TuakAka {
    fn f1(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 8] {
        self.tuak.f1(rand, sqn, amf).prefix()
    }

    fn f1_star(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 8] {
        self.tuak.f1_star(rand, sqn, amf).prefix()
    }

    fn f2345(&self, rand: &[u8; 16]) -> AkaKeys {
        let keys = self.tuak.f2345(rand);
        let res = match Res::new(keys.res.as_bytes()) {
            Some(res) => res,
            // `new` admitted only RES of 4, 8 or 16 bytes.
            None => unreachable!("TuakAka holds a RES of at most 128 bits"),
        };
        AkaKeys {
            res,
            ck: keys.ck.prefix(),
            ik: keys.ik.prefix(),
            ak: keys.ak,
        }
    }

    fn f5_star(&self, rand: &[u8; 16]) -> [u8; 6] {
        self.tuak.f5_star(rand)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOP: [u8; 32] = [0x55; 32];

    #[test]
    fn key_length_checked() {
        for n in [0, 15, 17, 31, 33] {
            assert_eq!(
                Tuak::with_top(&vec![1; n], &TOP, TuakParams::AKA).err(),
                Some(TuakError::KeyLength(n))
            );
        }
        assert!(Tuak::with_top(&[1; 16], &TOP, TuakParams::AKA).is_ok());
        assert!(Tuak::with_top(&[1; 32], &TOP, TuakParams::AKA).is_ok());
    }

    #[test]
    fn params_checked() {
        assert!(TuakParams::from_bits(64, 32, 128, 128, 1).is_ok());
        assert!(TuakParams::from_bits(256, 256, 256, 256, 2).is_ok());
        assert_eq!(
            TuakParams::from_bits(32, 64, 128, 128, 1),
            Err(TuakError::OutputLength {
                what: "MAC",
                bits: 32
            })
        );
        assert_eq!(
            TuakParams::from_bits(64, 16, 128, 128, 1),
            Err(TuakError::OutputLength {
                what: "RES",
                bits: 16
            })
        );
        assert_eq!(
            TuakParams::from_bits(64, 64, 64, 128, 1),
            Err(TuakError::OutputLength {
                what: "CK",
                bits: 64
            })
        );
        assert_eq!(
            TuakParams::from_bits(64, 64, 128, 192, 1),
            Err(TuakError::OutputLength {
                what: "IK",
                bits: 192
            })
        );
        assert_eq!(
            TuakParams::from_bits(64, 64, 128, 128, 0),
            Err(TuakError::Iterations(0))
        );
        let mut p = TuakParams::AKA;
        p.keccak_iterations = MAX_KECCAK_ITERATIONS + 1;
        assert_eq!(
            Tuak::with_topc(&[0; 16], &TOP, p).err(),
            Some(TuakError::Iterations(MAX_KECCAK_ITERATIONS + 1))
        );
    }

    #[test]
    fn aka_wrapper_enforces_sizes() {
        let ok = |p: TuakParams| TuakAka::new(Tuak::with_topc(&[3; 16], &TOP, p).unwrap());
        for res in [ResLen::Bits32, ResLen::Bits64, ResLen::Bits128] {
            assert!(
                ok(TuakParams {
                    res,
                    ..TuakParams::AKA
                })
                .is_ok()
            );
        }
        for p in [
            TuakParams {
                res: ResLen::Bits256,
                ..TuakParams::AKA
            },
            TuakParams {
                mac: MacLen::Bits128,
                ..TuakParams::AKA
            },
            TuakParams {
                ck: KeyLen::Bits256,
                ..TuakParams::AKA
            },
            TuakParams {
                ik: KeyLen::Bits256,
                ..TuakParams::AKA
            },
        ] {
            assert_eq!(ok(p).err(), Some(TuakError::NotAkaSizes));
        }
    }

    #[test]
    fn aka_wrapper_agrees_with_tuak() {
        let p = TuakParams {
            res: ResLen::Bits128,
            ..TuakParams::AKA
        };
        let tuak = Tuak::with_top(&[9; 32], &TOP, p).unwrap();
        let (rand, sqn, amf) = ([1; 16], [2; 6], [3; 2]);
        let all = tuak.generate(&rand, &sqn, &amf);
        let aka = TuakAka::new(tuak).unwrap();
        assert_eq!(aka.f1(&rand, &sqn, &amf)[..], *all.mac_a.as_bytes());
        assert_eq!(aka.f1_star(&rand, &sqn, &amf)[..], *all.mac_s.as_bytes());
        let keys = aka.f2345(&rand);
        assert_eq!(keys.res.as_bytes(), all.res.as_bytes());
        assert_eq!(keys.ck[..], *all.ck.as_bytes());
        assert_eq!(keys.ik[..], *all.ik.as_bytes());
        assert_eq!(keys.ak, all.ak);
        assert_eq!(aka.f5_star(&rand), all.ak_star);
    }

    #[test]
    fn topc_round_trip_and_debug() {
        let tuak = Tuak::with_top(&[4; 16], &TOP, TuakParams::AKA).unwrap();
        let topc = compute_topc(&[4; 16], &TOP, 1).unwrap();
        assert_eq!(tuak.topc(), topc);
        assert_ne!(topc, TOP);
        let dbg = format!("{tuak:?}");
        assert!(dbg.starts_with("Tuak { params:"), "{dbg}");
        assert!(!dbg.contains("template"));
    }
}
