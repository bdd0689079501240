//! MILENAGE, the example 3G authentication algorithm set built on AES-128
//! (3GPP TS 35.206).
//!
//! Every function starts from `TEMP = E_K(RAND xor OPc)` (§4.1) and then
//! encrypts one more block per output group:
//!
//! | block | input                                   | gives                  |
//! |-------|-----------------------------------------|------------------------|
//! | OUT1  | `TEMP xor rot(IN1 xor OPc, r1) xor c1`  | f1 = MAC-A, f1* = MAC-S |
//! | OUT2  | `rot(TEMP xor OPc, r2) xor c2`          | f5 = AK, f2 = RES      |
//! | OUT3  | `rot(TEMP xor OPc, r3) xor c3`          | f3 = CK                |
//! | OUT4  | `rot(TEMP xor OPc, r4) xor c4`          | f4 = IK                |
//! | OUT5  | `rot(TEMP xor OPc, r5) xor c5`          | f5* = AK for resync    |
//!
//! each `OUTi = E_K(input) xor OPc`, with `IN1 = SQN || AMF || SQN || AMF`.
//!
//! Cost per call, in AES-128 block encryptions (the key schedule is expanded
//! once, in the constructor; OPc from OP costs one more block, once per
//! subscriber):
//! - [`Milenage::f1_f2345`], one authentication quintet with AUTN:
//!   TEMP + OUT1 + OUT2 + OUT3 + OUT4 = **5**;
//! - [`Milenage::generate`], every output including f5*: **6**;
//! - [`AkaAlgorithm::f2345`]: 4; `f1`, `f1_star`, `f5_star`: 2 each.
//!
//! The blocks after TEMP depend only on TEMP, so they are encrypted as one
//! batch, which lets a pipelined AES backend (AES-NI) overlap them.

use aes::Aes128Enc;
use aes::Block;
use cipher::{BlockCipherEncrypt, KeyInit};
use zeroize::Zeroize;

use crate::algorithm::{AkaAlgorithm, AkaKeys, Res};

/// The operator-selectable constants c1..c5 and rotations r1..r5 of
/// TS 35.206 §4.1. [`MilenageConstants::default`] gives the values of the
/// specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MilenageConstants {
    /// c1..c5, 128-bit constants XORed onto the OUT1..OUT5 inputs.
    pub c: [[u8; 16]; 5],
    /// r1..r5, cyclic left rotations in bits (0..=127; a larger value is
    /// taken modulo 128, which is the same rotation).
    pub r: [u8; 5],
}

impl MilenageConstants {
    /// The values of TS 35.206 §4.1: c1 = 0, c2 = 1, c3 = 2, c4 = 4, c5 = 8
    /// (as 128-bit integers), r1 = 64, r2 = 0, r3 = 32, r4 = 64, r5 = 96.
    pub const STANDARD: MilenageConstants = MilenageConstants {
        c: [c_const(0), c_const(1), c_const(2), c_const(4), c_const(8)],
        r: [64, 0, 32, 64, 96],
    };
}

/// A 128-bit constant whose value is `v` (big-endian).
const fn c_const(v: u8) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[15] = v;
    c
}

impl Default for MilenageConstants {
    fn default() -> Self {
        MilenageConstants::STANDARD
    }
}

/// All seven MILENAGE outputs for one (RAND, SQN, AMF), as the AuC needs them
/// for vectors and resynchronisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MilenageOutput {
    /// f1: network authentication code MAC-A.
    pub mac_a: [u8; 8],
    /// f1*: resynchronisation authentication code MAC-S.
    pub mac_s: [u8; 8],
    /// f2: response RES/XRES (64 bits).
    pub res: [u8; 8],
    /// f3: cipher key CK.
    pub ck: [u8; 16],
    /// f4: integrity key IK.
    pub ik: [u8; 16],
    /// f5: anonymity key AK.
    pub ak: [u8; 6],
    /// f5*: anonymity key for resynchronisation.
    pub ak_star: [u8; 6],
}

impl MilenageOutput {
    /// The f2..f5 part, in the form shared with TUAK.
    pub fn keys(&self) -> AkaKeys {
        AkaKeys {
            res: res64(&self.res),
            ck: self.ck,
            ik: self.ik,
            ak: self.ak,
        }
    }
}

/// MILENAGE keyed for one subscriber: the expanded AES key schedule of K,
/// OPc and the constants, with the per-subscriber parts of every block input
/// computed once.
///
/// K itself is not kept: only its key schedule, which the `aes` crate wipes on
/// drop; OPc and the values derived from it are wiped on drop too.
///
/// # Lane order
///
/// TS 35.206 writes every 128-bit quantity big-endian, but the AES input and
/// output are byte strings. Converting each block to a big-endian integer and
/// back costs byte swaps on every block of the hot path, so blocks are held
/// here as `u128::from_le_bytes(bytes)`, which on the usual little-endian
/// hosts is a plain load. XOR is the same in either order; the only
/// operation that cares is the rotation, see [`rot`].
#[derive(Clone)]
pub struct Milenage {
    cipher: Aes128Enc,
    /// OPc, in lane order.
    opc: u128,
    /// `rot(OPc, r_i) xor c_i` for i = 1..5, in lane order. Rotation is
    /// linear over XOR, so `rot(x xor OPc, r) xor c = rot(x, r) xor k`: the
    /// OPc and constant parts of each block input are folded in once here.
    k: [u128; 5],
    /// r1..r5, reduced modulo 128.
    r: [u32; 5],
}

impl core::fmt::Debug for Milenage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Milenage").finish_non_exhaustive()
    }
}

impl Drop for Milenage {
    fn drop(&mut self) {
        self.opc.zeroize();
        self.k.zeroize();
    }
}

/// OPc = OP xor E_K(OP) (TS 35.206 §4.1): the per-subscriber form of the
/// operator variant OP, so that OP need not be stored on the USIM.
pub fn compute_opc(k: &[u8; 16], op: &[u8; 16]) -> [u8; 16] {
    let cipher = Aes128Enc::new(&(*k).into());
    opc_with(&cipher, op).to_le_bytes()
}

/// OPc in lane order.
fn opc_with(cipher: &Aes128Enc, op: &[u8; 16]) -> u128 {
    let op = u128::from_le_bytes(*op);
    encrypt(cipher, op) ^ op
}

/// One AES block, input and output in lane order.
fn encrypt(cipher: &Aes128Enc, x: u128) -> u128 {
    let mut block = Block::from(x.to_le_bytes());
    cipher.encrypt_block(&mut block);
    block_lane(&block)
}

/// A block (or any 16 bytes) in lane order.
#[inline(always)]
fn lane(bytes: &[u8; 16]) -> u128 {
    u128::from_le_bytes(*bytes)
}

/// An AES block in lane order.
#[inline(always)]
fn block_lane(block: &Block) -> u128 {
    lane(&block.0)
}

/// The block holding `x` (lane order).
#[inline(always)]
fn block(x: u128) -> Block {
    Block::from(x.to_le_bytes())
}

/// `rot(x, r)` of TS 35.206 §4.1, the cyclic rotation of the big-endian
/// value towards its most significant bit, applied to `x` in lane order.
///
/// Rotating the big-endian value left by whole bytes moves byte j to byte
/// j - r/8, which in lane order (byte j at bits 8j..8j+7) is a right rotation
/// by the same number of bits: no byte swap needed. Every standard rotation
/// is a whole number of bytes. Any other r goes through the big-endian value.
/// When `r` is a constant (see [`STANDARD_ROTATIONS`]) this folds to a
/// constant rotation, which for 0 and 64 is free.
#[inline(always)]
fn rot(x: u128, r: u32) -> u128 {
    if r.is_multiple_of(8) {
        x.rotate_right(r)
    } else {
        x.swap_bytes().rotate_left(r).swap_bytes()
    }
}

/// RES from a 64-bit f2 output; always within the 4..=16 bytes of [`Res`].
#[inline(always)]
fn res64(bytes: &[u8; 8]) -> Res {
    match Res::new(bytes) {
        Some(res) => res,
        None => unreachable!("8 bytes is a valid RES length"),
    }
}

/// Vectors computed together by [`Milenage::f1_f2345_many`]: 8 TEMP blocks
/// match the 8 blocks the AES-NI backend of the `aes` crate keeps in flight,
/// and the 32 output blocks are 4 such groups.
pub const BATCH: usize = 8;

/// Index of an output block in `r` and `k` (OUT1 is index 0).
const OUT1: usize = 0;
const OUT2: usize = 1;
const OUT3: usize = 2;
const OUT4: usize = 3;
const OUT5: usize = 4;

/// r1..r5 of the specification ([`MilenageConstants::STANDARD`]).
const STANDARD_ROTATIONS: [u32; 5] = [64, 0, 32, 64, 96];

/// Where a hot path takes r1..r5 from. The hot paths are generic over it and
/// test once per call whether the instance uses the standard rotations: if
/// so they run the copy built for [`StandardRotations`], in which every
/// [`rot`] is a fixed rotation (free for 0 and 64), else the copy that reads
/// the operator's values (`[u32; 5]`) and rotates by a variable amount.
trait Rotations: Copy {
    fn get(self) -> [u32; 5];
}

/// [`STANDARD_ROTATIONS`], known at compile time.
#[derive(Clone, Copy)]
struct StandardRotations;

impl Rotations for StandardRotations {
    #[inline(always)]
    fn get(self) -> [u32; 5] {
        STANDARD_ROTATIONS
    }
}

impl Rotations for [u32; 5] {
    #[inline(always)]
    fn get(self) -> [u32; 5] {
        self
    }
}

/// IN1 = SQN || AMF || SQN || AMF in lane order: the same 64-bit half twice.
#[inline(always)]
fn in1(sqn: &[u8; 6], amf: &[u8; 2]) -> u128 {
    let [s0, s1, s2, s3, s4, s5] = *sqn;
    let [a0, a1] = *amf;
    let half = u64::from_le_bytes([s0, s1, s2, s3, s4, s5, a0, a1]);
    (u128::from(half) << 64) | u128::from(half)
}

/// Bytes 0..8 (`hi`) and 8..16 (`lo`) of a block in lane order: f1 and f1*
/// from OUT1, and RES from OUT2.
#[inline(always)]
fn halves(x: u128) -> ([u8; 8], [u8; 8]) {
    ((x as u64).to_le_bytes(), ((x >> 64) as u64).to_le_bytes())
}

/// The first 48 bits of a block in lane order (f5, f5*).
#[inline(always)]
fn ak48(x: u128) -> [u8; 6] {
    let mut ak = [0u8; 6];
    ak.copy_from_slice(&x.to_le_bytes()[..6]);
    ak
}

impl Milenage {
    /// Keys MILENAGE with K and the operator variant OP; OPc is derived here
    /// (one AES block). Standard constants.
    pub fn with_op(k: &[u8; 16], op: &[u8; 16]) -> Milenage {
        let cipher = Aes128Enc::new(&(*k).into());
        let opc = opc_with(&cipher, op);
        Milenage::build(cipher, opc, &MilenageConstants::STANDARD)
    }

    /// Keys MILENAGE with K and a precomputed OPc (as stored in the AuC and on
    /// the USIM, TS 35.206 §4.1 note). Standard constants.
    pub fn with_opc(k: &[u8; 16], opc: &[u8; 16]) -> Milenage {
        Milenage::with_constants(k, opc, MilenageConstants::STANDARD)
    }

    /// Keys MILENAGE with K, OPc and operator-chosen constants c1..c5,
    /// r1..r5 (TS 35.206 §4.1 allows operators to change them).
    pub fn with_constants(k: &[u8; 16], opc: &[u8; 16], constants: MilenageConstants) -> Milenage {
        let cipher = Aes128Enc::new(&(*k).into());
        Milenage::build(cipher, lane(opc), &constants)
    }

    fn build(cipher: Aes128Enc, opc: u128, constants: &MilenageConstants) -> Milenage {
        let r = constants.r.map(|r| u32::from(r) % 128);
        let mut k = [0u128; 5];
        for (i, k) in k.iter_mut().enumerate() {
            *k = rot(opc, r[i]) ^ lane(&constants.c[i]);
        }
        Milenage { cipher, opc, k, r }
    }

    /// Same as the free function [`compute_opc`].
    pub fn compute_opc(k: &[u8; 16], op: &[u8; 16]) -> [u8; 16] {
        compute_opc(k, op)
    }

    /// OPc, the value to provision on a USIM.
    pub fn opc(&self) -> [u8; 16] {
        self.opc.to_le_bytes()
    }

    /// TEMP = E_K(RAND xor OPc), lane order.
    fn temp(&self, rand: &[u8; 16]) -> u128 {
        encrypt(&self.cipher, lane(rand) ^ self.opc)
    }

    /// Input of OUT1, `TEMP xor rot(IN1 xor OPc, r1) xor c1`.
    #[inline(always)]
    fn in_out1(&self, r: &[u32; 5], temp: u128, in1: u128) -> u128 {
        temp ^ rot(in1, r[OUT1]) ^ self.k[OUT1]
    }

    /// Input of OUTi for i in 2..=5, `rot(TEMP xor OPc, ri) xor ci`.
    #[inline(always)]
    fn in_rand(&self, r: &[u32; 5], temp: u128, i: usize) -> u128 {
        rot(temp, r[i]) ^ self.k[i]
    }

    /// The OUT1..OUT4 input blocks of a quintet.
    #[inline(always)]
    fn quintet_inputs(&self, r: &[u32; 5], temp: u128, in1: u128) -> [Block; 4] {
        [
            block(self.in_out1(r, temp, in1)),
            block(self.in_rand(r, temp, OUT2)),
            block(self.in_rand(r, temp, OUT3)),
            block(self.in_rand(r, temp, OUT4)),
        ]
    }

    /// MAC-A and f2..f5 from the encrypted OUT1..OUT4 blocks (before the
    /// final `xor OPc`).
    #[inline(always)]
    fn quintet(&self, outs: &[Block; 4]) -> ([u8; 8], AkaKeys) {
        let [out1, out2, out3, out4] = outs.each_ref().map(|b| block_lane(b) ^ self.opc);
        let keys = AkaKeys {
            res: res64(&halves(out2).1),
            ck: out3.to_le_bytes(),
            ik: out4.to_le_bytes(),
            ak: ak48(out2),
        };
        (halves(out1).0, keys)
    }

    /// Encrypts the given inputs in one batch and returns `E_K(x) xor OPc`
    /// for each, lane order.
    fn out_blocks<const N: usize>(&self, inputs: [u128; N]) -> [u128; N] {
        let mut blocks = inputs.map(block);
        self.cipher.encrypt_blocks(&mut blocks);
        blocks.each_ref().map(|b| block_lane(b) ^ self.opc)
    }

    /// f1 and f1* together: both halves of OUT1 (2 AES blocks).
    pub fn f1_f1_star(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> ([u8; 8], [u8; 8]) {
        let temp = self.temp(rand);
        let [out1] = self.out_blocks([self.in_out1(&self.r, temp, in1(sqn, amf))]);
        halves(out1)
    }

    /// The AuC's hot path: MAC-A and f2..f5 for one quintet, TEMP computed
    /// once (5 AES blocks).
    pub fn f1_f2345(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> ([u8; 8], AkaKeys) {
        if self.r == STANDARD_ROTATIONS {
            self.f1_f2345_with(StandardRotations, rand, sqn, amf)
        } else {
            self.f1_f2345_with(self.r, rand, sqn, amf)
        }
    }

    /// [`Milenage::f1_f2345`] with the rotations taken from `rotations`.
    fn f1_f2345_with<R: Rotations>(
        &self,
        rotations: R,
        rand: &[u8; 16],
        sqn: &[u8; 6],
        amf: &[u8; 2],
    ) -> ([u8; 8], AkaKeys) {
        let r = &rotations.get();
        let temp = self.temp(rand);
        let mut blocks = self.quintet_inputs(r, temp, in1(sqn, amf));
        self.cipher.encrypt_blocks(&mut blocks);
        self.quintet(&blocks)
    }

    /// Quintets for many (RAND, SQN) pairs, appended to `out` in order.
    ///
    /// Same 5 AES blocks per vector as [`Milenage::f1_f2345`], but
    /// [`BATCH`] vectors at a time: their TEMP blocks are encrypted together,
    /// then all their output blocks together, so AES-NI works on independent
    /// blocks instead of waiting on each block's latency.
    pub fn f1_f2345_many(
        &self,
        inputs: &[([u8; 16], [u8; 6])],
        amf: &[u8; 2],
        out: &mut Vec<([u8; 8], AkaKeys)>,
    ) {
        out.reserve(inputs.len());
        if self.r == STANDARD_ROTATIONS {
            self.f1_f2345_many_with(StandardRotations, inputs, amf, out);
        } else {
            self.f1_f2345_many_with(self.r, inputs, amf, out);
        }
    }

    /// [`Milenage::f1_f2345_many`] with the rotations taken from `rotations`.
    fn f1_f2345_many_with<R: Rotations>(
        &self,
        rotations: R,
        inputs: &[([u8; 16], [u8; 6])],
        amf: &[u8; 2],
        out: &mut Vec<([u8; 8], AkaKeys)>,
    ) {
        let r = &rotations.get();
        let (full, rest) = inputs.as_chunks::<BATCH>();
        for chunk in full {
            self.quintet_batch(r, chunk, amf, out);
        }
        if !rest.is_empty() {
            self.quintet_batch(r, rest, amf, out);
        }
    }

    /// Up to [`BATCH`] quintets of [`Milenage::f1_f2345_many`]. Inlined twice:
    /// into the loop over full batches, where the chunk length is the
    /// constant [`BATCH`], so the loops unroll and the zero fill of the block
    /// arrays (every slot overwritten) is dropped by the compiler; and once
    /// for the shorter tail, whose unused slots are never encrypted.
    #[inline(always)]
    fn quintet_batch(
        &self,
        r: &[u32; 5],
        chunk: &[([u8; 16], [u8; 6])],
        amf: &[u8; 2],
        out: &mut Vec<([u8; 8], AkaKeys)>,
    ) {
        let n = chunk.len().min(BATCH);
        let mut temps = [Block::default(); BATCH];
        for (temp, (rand, _)) in temps.iter_mut().zip(chunk) {
            *temp = block(lane(rand) ^ self.opc);
        }
        self.cipher.encrypt_blocks(&mut temps[..n]);
        let mut outs = [[Block::default(); 4]; BATCH];
        for ((four, temp), (_, sqn)) in outs.iter_mut().zip(&temps).zip(chunk) {
            *four = self.quintet_inputs(r, block_lane(temp), in1(sqn, amf));
        }
        self.cipher
            .encrypt_blocks(&mut outs.as_flattened_mut()[..4 * n]);
        // `extend` from a slice iterator writes the `n` results with one
        // capacity check and one length update, unlike `n` pushes.
        out.extend(outs[..n].iter().map(|four| self.quintet(four)));
    }

    /// Every output, f1 to f5*, TEMP computed once (6 AES blocks).
    pub fn generate(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> MilenageOutput {
        if self.r == STANDARD_ROTATIONS {
            self.generate_with(StandardRotations, rand, sqn, amf)
        } else {
            self.generate_with(self.r, rand, sqn, amf)
        }
    }

    /// [`Milenage::generate`] with the rotations taken from `rotations`.
    fn generate_with<R: Rotations>(
        &self,
        rotations: R,
        rand: &[u8; 16],
        sqn: &[u8; 6],
        amf: &[u8; 2],
    ) -> MilenageOutput {
        let r = &rotations.get();
        let temp = self.temp(rand);
        let [out1, out2, out3, out4, out5] = self.out_blocks([
            self.in_out1(r, temp, in1(sqn, amf)),
            self.in_rand(r, temp, OUT2),
            self.in_rand(r, temp, OUT3),
            self.in_rand(r, temp, OUT4),
            self.in_rand(r, temp, OUT5),
        ]);
        let (mac_a, mac_s) = halves(out1);
        MilenageOutput {
            mac_a,
            mac_s,
            res: halves(out2).1,
            ck: out3.to_le_bytes(),
            ik: out4.to_le_bytes(),
            ak: ak48(out2),
            ak_star: ak48(out5),
        }
    }
}

impl AkaAlgorithm for Milenage {
    fn f1(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 8] {
        self.f1_f1_star(rand, sqn, amf).0
    }

    fn f1_star(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 8] {
        self.f1_f1_star(rand, sqn, amf).1
    }

    fn f2345(&self, rand: &[u8; 16]) -> AkaKeys {
        let temp = self.temp(rand);
        let r = &self.r;
        let [out2, out3, out4] = self.out_blocks([
            self.in_rand(r, temp, OUT2),
            self.in_rand(r, temp, OUT3),
            self.in_rand(r, temp, OUT4),
        ]);
        AkaKeys {
            res: res64(&halves(out2).1),
            ck: out3.to_le_bytes(),
            ik: out4.to_le_bytes(),
            ak: ak48(out2),
        }
    }

    fn f5_star(&self, rand: &[u8; 16]) -> [u8; 6] {
        let temp = self.temp(rand);
        let [out5] = self.out_blocks([self.in_rand(&self.r, temp, OUT5)]);
        ak48(out5)
    }

    fn f1_f2345(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> ([u8; 8], AkaKeys) {
        Milenage::f1_f2345(self, rand, sqn, amf)
    }

    fn f1_f2345_batch(
        &self,
        inputs: &[([u8; 16], [u8; 6])],
        amf: &[u8; 2],
        out: &mut Vec<([u8; 8], AkaKeys)>,
    ) {
        self.f1_f2345_many(inputs, amf, out)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn batch_equals_one_at_a_time_for_every_chunk_shape() {
        let m = Milenage::with_opc(&[0x46; 16], &[0xcd; 16]);
        let amf = [0x80, 0x00];
        for count in [0, 1, 5, BATCH, BATCH + 1, 3 * BATCH - 1] {
            let inputs: Vec<([u8; 16], [u8; 6])> = (0..count)
                .map(|i| {
                    let mut rand = [0u8; 16];
                    rand[0] = i as u8;
                    rand[15] = 0xa5 ^ i as u8;
                    (rand, [0, 0, 0, 0, i as u8, 0x20])
                })
                .collect();
            let mut batch = Vec::new();
            m.f1_f2345_many(&inputs, &amf, &mut batch);
            let single: Vec<_> = inputs.iter().map(|(r, s)| m.f1_f2345(r, s, &amf)).collect();
            assert_eq!(batch, single, "count {count}");
        }
    }

    use super::*;

    fn sample() -> (Milenage, [u8; 16], [u8; 6], [u8; 2]) {
        let k = *b"0123456789abcdef";
        let op = *b"operator variant";
        (
            Milenage::with_op(&k, &op),
            [0x5c; 16],
            [0, 0, 0, 0, 1, 0x20],
            [0x80, 0],
        )
    }

    #[test]
    fn batch_paths_agree_with_single_functions() {
        let (m, rand, sqn, amf) = sample();
        let all = m.generate(&rand, &sqn, &amf);
        assert_eq!(all.mac_a, m.f1(&rand, &sqn, &amf));
        assert_eq!(all.mac_s, m.f1_star(&rand, &sqn, &amf));
        assert_eq!(all.keys(), m.f2345(&rand));
        assert_eq!(all.ak_star, m.f5_star(&rand));
        assert_eq!(m.f1_f2345(&rand, &sqn, &amf), (all.mac_a, all.keys()));
    }

    #[test]
    fn with_op_matches_compute_opc() {
        let k = [7u8; 16];
        let op = [9u8; 16];
        let opc = compute_opc(&k, &op);
        assert_eq!(Milenage::with_op(&k, &op).opc(), opc);
        assert_eq!(Milenage::with_opc(&k, &opc).opc(), opc);
    }

    #[test]
    fn constants_change_outputs() {
        let (m, rand, sqn, amf) = sample();
        let mut constants = MilenageConstants::default();
        assert_eq!(constants, MilenageConstants::STANDARD);
        let k = *b"0123456789abcdef";
        let same = Milenage::with_constants(&k, &m.opc(), constants);
        assert_eq!(
            same.generate(&rand, &sqn, &amf),
            m.generate(&rand, &sqn, &amf)
        );
        constants.r[2] = 33;
        let other = Milenage::with_constants(&k, &m.opc(), constants);
        let (a, b) = (
            other.generate(&rand, &sqn, &amf),
            m.generate(&rand, &sqn, &amf),
        );
        assert_ne!(a.ck, b.ck);
        assert_eq!(a.ik, b.ik);
        // A rotation by 128 bits is no rotation.
        constants.r[2] = 32 + 128;
        let wrapped = Milenage::with_constants(&k, &m.opc(), constants);
        assert_eq!(wrapped.generate(&rand, &sqn, &amf).ck, b.ck);
    }

    #[test]
    fn debug_hides_secrets() {
        let (m, ..) = sample();
        assert_eq!(format!("{m:?}"), "Milenage { .. }");
    }

    #[test]
    fn rot_in_lane_order_is_the_big_endian_rotation() {
        let x: [u8; 16] = core::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5a);
        for r in 0..128 {
            let expected = u128::from_be_bytes(x).rotate_left(r).to_be_bytes();
            assert_eq!(rot(lane(&x), r).to_le_bytes(), expected, "r = {r}");
        }
    }

    /// TS 35.206 §4.1 written out on big-endian integers, independently of
    /// the lane-order form and the precomputed values of [`Milenage`]:
    /// (MAC-A, MAC-S, RES, CK, IK, AK, AK*).
    fn reference(
        k: &[u8; 16],
        opc: &[u8; 16],
        constants: &MilenageConstants,
        rand: &[u8; 16],
        sqn: &[u8; 6],
        amf: &[u8; 2],
    ) -> MilenageOutput {
        let cipher = Aes128Enc::new(&(*k).into());
        let e = |x: u128| {
            let mut b = Block::from(x.to_be_bytes());
            cipher.encrypt_block(&mut b);
            u128::from_be_bytes(b.into())
        };
        let opc = u128::from_be_bytes(*opc);
        let c = constants.c.map(u128::from_be_bytes);
        let r = constants.r.map(u32::from);
        let temp = e(u128::from_be_bytes(*rand) ^ opc);
        let mut in1 = [0u8; 16];
        in1[..6].copy_from_slice(sqn);
        in1[6..8].copy_from_slice(amf);
        in1[8..14].copy_from_slice(sqn);
        in1[14..].copy_from_slice(amf);
        let in1 = u128::from_be_bytes(in1);
        let out1 = e(temp ^ (in1 ^ opc).rotate_left(r[0]) ^ c[0]) ^ opc;
        let out = |i: usize| (e((temp ^ opc).rotate_left(r[i]) ^ c[i]) ^ opc).to_be_bytes();
        let [out1, out2, out3, out4, out5] = [out1.to_be_bytes(), out(1), out(2), out(3), out(4)];
        let take = |b: &[u8]| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            a
        };
        let ak = |b: &[u8; 16]| {
            let mut a = [0u8; 6];
            a.copy_from_slice(&b[..6]);
            a
        };
        MilenageOutput {
            mac_a: take(&out1[..8]),
            mac_s: take(&out1[8..]),
            res: take(&out2[8..]),
            ck: out3,
            ik: out4,
            ak: ak(&out2),
            ak_star: ak(&out5),
        }
    }

    /// The official vectors only use the standard constants. Operator
    /// constants take the other code paths (variable rotations, rotations
    /// that are not whole bytes), so check every function against the
    /// reference for several sets, through the single and the batch paths.
    #[test]
    fn every_path_matches_reference_for_operator_constants() {
        let k = *b"0123456789abcdef";
        let opc = *b"an operator OPc!";
        let c: [[u8; 16]; 5] =
            core::array::from_fn(|i| core::array::from_fn(|j| (i * 16 + j) as u8 ^ 0xc3));
        let sets = [
            MilenageConstants::STANDARD,
            MilenageConstants { c, r: [0; 5] },
            MilenageConstants {
                c,
                r: [1, 7, 8, 63, 127],
            },
            MilenageConstants {
                c,
                r: [72, 120, 33, 65, 200],
            },
            MilenageConstants {
                c: MilenageConstants::STANDARD.c,
                r: [64, 0, 32, 64, 97],
            },
        ];
        let amf = [0x91, 0x2e];
        let inputs: Vec<([u8; 16], [u8; 6])> = (0..2 * BATCH + 3)
            .map(|i| {
                let rand = core::array::from_fn(|j| (i * 31 + j * 7) as u8);
                (rand, [0x12, 0x34, 0x56, 0x78, i as u8, 0x9a])
            })
            .collect();
        for constants in sets {
            let m = Milenage::with_constants(&k, &opc, constants);
            let mut batch = Vec::new();
            m.f1_f2345_many(&inputs, &amf, &mut batch);
            assert_eq!(batch.len(), inputs.len());
            for ((rand, sqn), batched) in inputs.iter().zip(&batch) {
                let want = reference(&k, &opc, &constants, rand, sqn, &amf);
                let quintet = (want.mac_a, want.keys());
                assert_eq!(m.generate(rand, sqn, &amf), want, "{constants:?}");
                assert_eq!(m.f1_f2345(rand, sqn, &amf), quintet, "{constants:?}");
                assert_eq!(*batched, quintet, "{constants:?}");
                assert_eq!(m.f1_f1_star(rand, sqn, &amf), (want.mac_a, want.mac_s));
                assert_eq!(m.f2345(rand), want.keys());
                assert_eq!(m.f5_star(rand), want.ak_star);
            }
        }
    }
}
