//! COMP128-2 and COMP128-3, as reverse-engineered by Tamas Jos (2013).
//!
//! Both versions run the same core; they differ only in how much of Kc they
//! release. The core works on byte-reversed Ki and RAND: a mixing key
//! `rev(Ki) xor rev(RAND)` is fixed, and eight passes of [`mix`] are applied to
//! the running 16-byte state (which starts as `rev(RAND)`). The result, read
//! back in reversed byte order, gives SRES in its bytes 0..4 and Kc in bytes
//! 8..16 (bytes 4..8 are discarded: a SIM returns only 12 bytes).

use zeroize::Zeroize;

/// Runs COMP128-3: returns `(SRES, Kc)` with all 64 bits of Kc.
pub fn comp128v3(ki: &[u8; 16], rand: &[u8; 16]) -> ([u8; 4], [u8; 8]) {
    let mut state = *rand;
    state.reverse();
    let mut key = *ki;
    key.reverse();
    for (k, s) in key.iter_mut().zip(state) {
        *k ^= s;
    }
    for _ in 0..8 {
        state = mix(&state, &key);
    }

    let mut sres = [0u8; 4];
    let mut kc = [0u8; 8];
    for (i, b) in sres.iter_mut().enumerate() {
        *b = state[15 - i];
    }
    for (i, b) in kc.iter_mut().enumerate() {
        *b = state[7 - i];
    }
    state.zeroize();
    key.zeroize();
    (sres, kc)
}

/// Runs COMP128-2: returns `(SRES, Kc)`. Same computation as COMP128-3, but
/// the last 10 bits of Kc are forced to zero (a 54-bit effective key).
pub fn comp128v2(ki: &[u8; 16], rand: &[u8; 16]) -> ([u8; 4], [u8; 8]) {
    let (sres, mut kc) = comp128v3(ki, rand);
    kc[6] &= 0xfc;
    kc[7] = 0;
    (sres, kc)
}

/// The substitution used throughout: `T0[T1[a] xor b]`.
#[inline]
fn sub(a: u8, b: u8) -> u8 {
    T0[usize::from(T1[usize::from(a)] ^ b)]
}

/// One pass: a 32-byte state `input || key` goes through five butterfly
/// levels, then 128 of its 256 bits are selected.
///
/// At level `l` (stride `s = 2^l`), with `t[p] = sub(w[16 + p], w[p])` for
/// `p` in 0..16 and `p = k s + j` (`j < s`), the next state has
/// `w'[2 k s + j] = t[p]` and `w'[(2 k + 1) s + j] = sub(t[p], w[16 + p])`.
///
/// Output bit `n` (bits numbered from the least significant bit of byte 0)
/// is state bit `19 (n + 1) mod 256`.
fn mix(input: &[u8; 16], key: &[u8; 16]) -> [u8; 16] {
    let mut w = [0u8; 32];
    w[..16].copy_from_slice(input);
    w[16..].copy_from_slice(key);
    for level in 0..5 {
        let stride = 1usize << level;
        let mut next = [0u8; 32];
        for p in 0..16 {
            let t = sub(w[16 + p], w[p]);
            let lo = p + (p & !(stride - 1));
            next[lo] = t;
            next[lo + stride] = sub(t, w[16 + p]);
        }
        w = next;
        next.zeroize();
    }

    let mut out = [0u8; 16];
    for n in 0..128 {
        let src = (19 * (n + 1)) % 256;
        let bit = (w[src >> 3] >> (src & 7)) & 1;
        out[n >> 3] |= bit << (n & 7);
    }
    w.zeroize();
    out
}

/// Outer substitution (a permutation of 0..=255).
#[rustfmt::skip]
const T0: [u8; 256] = [
    197, 235, 60, 151, 98, 96, 3, 100, 248, 118, 42, 117, 172, 211, 181, 203,
    61, 126, 156, 87, 149, 224, 55, 132, 186, 63, 238, 255, 85, 83, 152, 33,
    160, 184, 210, 219, 159, 11, 180, 194, 130, 212, 147, 5, 215, 92, 27, 46,
    113, 187, 52, 25, 185, 79, 221, 48, 70, 31, 101, 15, 195, 201, 50, 222,
    137, 233, 229, 106, 122, 183, 178, 177, 144, 207, 234, 182, 37, 254, 227, 231,
    54, 209, 133, 65, 202, 69, 237, 220, 189, 146, 120, 68, 21, 125, 38, 30,
    2, 155, 53, 196, 174, 176, 51, 246, 167, 76, 110, 20, 82, 121, 103, 112,
    56, 173, 49, 217, 252, 0, 114, 228, 123, 12, 93, 161, 253, 232, 240, 175,
    67, 128, 22, 158, 89, 18, 77, 109, 190, 17, 62, 4, 153, 163, 59, 145,
    138, 7, 74, 205, 10, 162, 80, 45, 104, 111, 150, 214, 154, 28, 191, 169,
    213, 88, 193, 198, 200, 245, 39, 164, 124, 84, 78, 1, 188, 170, 23, 86,
    226, 141, 32, 6, 131, 127, 199, 40, 135, 16, 57, 71, 91, 225, 168, 242,
    206, 97, 166, 44, 14, 90, 236, 239, 230, 244, 223, 108, 102, 119, 148, 251,
    29, 216, 8, 9, 249, 208, 24, 105, 94, 34, 64, 95, 115, 72, 134, 204,
    43, 247, 243, 218, 47, 58, 73, 107, 241, 179, 116, 66, 36, 143, 81, 250,
    139, 19, 13, 142, 140, 129, 192, 99, 171, 157, 136, 41, 75, 35, 165, 26,
];
/// Inner substitution (a permutation of 0..=255).
#[rustfmt::skip]
const T1: [u8; 256] = [
    170, 42, 95, 141, 109, 30, 71, 89, 26, 147, 231, 205, 239, 212, 124, 129,
    216, 79, 15, 185, 153, 14, 251, 162, 0, 241, 172, 197, 43, 10, 194, 235,
    6, 20, 72, 45, 143, 104, 161, 119, 41, 136, 38, 189, 135, 25, 93, 18,
    224, 171, 252, 195, 63, 19, 58, 165, 23, 55, 133, 254, 214, 144, 220, 178,
    156, 52, 110, 225, 97, 183, 140, 39, 53, 88, 219, 167, 16, 198, 62, 222,
    76, 139, 175, 94, 51, 134, 115, 22, 67, 1, 249, 217, 3, 5, 232, 138,
    31, 56, 116, 163, 70, 128, 234, 132, 229, 184, 244, 13, 34, 73, 233, 154,
    179, 131, 215, 236, 142, 223, 27, 57, 246, 108, 211, 8, 253, 85, 66, 245,
    193, 78, 190, 4, 17, 7, 150, 127, 152, 213, 37, 186, 2, 243, 46, 169,
    68, 101, 60, 174, 208, 158, 176, 69, 238, 191, 90, 83, 166, 125, 77, 59,
    21, 92, 49, 151, 168, 99, 9, 50, 146, 113, 117, 228, 65, 230, 40, 82,
    54, 237, 227, 102, 28, 36, 107, 24, 44, 126, 206, 201, 61, 114, 164, 207,
    181, 29, 91, 64, 221, 255, 48, 155, 192, 111, 180, 210, 182, 247, 203, 148,
    209, 98, 173, 11, 75, 123, 250, 118, 32, 47, 240, 202, 74, 177, 100, 80,
    196, 33, 248, 86, 157, 137, 120, 130, 84, 204, 122, 81, 242, 188, 200, 149,
    226, 218, 160, 187, 106, 35, 87, 105, 96, 145, 199, 159, 12, 121, 103, 112,
];
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_permutations() {
        for table in [&T0, &T1] {
            let mut seen = [false; 256];
            for &v in table.iter() {
                seen[usize::from(v)] = true;
            }
            assert!(seen.iter().all(|&s| s));
        }
    }

    #[test]
    fn v2_is_v3_with_short_kc() {
        for seed in 0u8..32 {
            let ki = [seed ^ 0xa5; 16];
            let rand = [seed.wrapping_mul(29); 16];
            let (sres2, kc2) = comp128v2(&ki, &rand);
            let (sres3, kc3) = comp128v3(&ki, &rand);
            assert_eq!(sres2, sres3);
            assert_eq!(kc2[..6], kc3[..6]);
            assert_eq!(kc2[6], kc3[6] & 0xfc);
            assert_eq!(kc2[7], 0);
        }
    }
}
