//! The `Keccak-f[1600]` permutation (`Keccak-p[1600, 24]` of FIPS 202 §3.3), which
//! TUAK uses as its only primitive (TS 35.231 Annex C).
//!
//! The state is 25 lanes of 64 bits, lane `x + 5 y`. As bytes (200 of them),
//! byte `i` is byte `i mod 8` of lane `i / 8`, least significant first: the
//! standard SHA-3 layout.

/// Round constants RC[0..24] (FIPS 202 §3.2.5), derived from the LFSR
/// `x^8 + x^6 + x^5 + x^4 + 1` rather than typed in.
const ROUND_CONSTANTS: [u64; 24] = round_constants();

/// Rotation offsets of step ρ per lane `x + 5 y` (FIPS 202 §3.2.2).
const RHO: [u32; 25] = rho_offsets();

const fn round_constants() -> [u64; 24] {
    let mut rc = [0u64; 24];
    // rc(t) is the constant term of x^t mod the LFSR polynomial; `lfsr`
    // holds x^t for the current t.
    let mut lfsr: u8 = 1;
    let mut round = 0;
    while round < 24 {
        let mut j = 0;
        while j < 7 {
            if lfsr & 1 == 1 {
                rc[round] |= 1u64 << ((1u32 << j) - 1);
            }
            lfsr = if lfsr & 0x80 != 0 {
                (lfsr << 1) ^ 0x71
            } else {
                lfsr << 1
            };
            j += 1;
        }
        round += 1;
    }
    rc
}

const fn rho_offsets() -> [u32; 25] {
    let mut rho = [0u32; 25];
    let (mut x, mut y) = (1usize, 0usize);
    let mut t = 0u32;
    while t < 24 {
        rho[x + 5 * y] = ((t + 1) * (t + 2) / 2) % 64;
        let next_y = (2 * x + 3 * y) % 5;
        x = y;
        y = next_y;
        t += 1;
    }
    rho
}

/// Applies `Keccak-f[1600]` (24 rounds of θ, ρ, π, χ, ι) to the lanes.
pub fn f1600(a: &mut [u64; 25]) {
    for rc in ROUND_CONSTANTS {
        // θ: XOR each bit with the parities of two neighbouring columns.
        let mut c = [0u64; 5];
        for (x, col) in c.iter_mut().enumerate() {
            *col = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        }
        for x in 0..5 {
            let d = c[(x + 4) % 5] ^ c[(x + 1) % 5].rotate_left(1);
            for y in 0..5 {
                a[x + 5 * y] ^= d;
            }
        }
        // ρ and π: rotate each lane, then move lane (x, y) to (y, 2x + 3y).
        let mut b = [0u64; 25];
        for x in 0..5 {
            for y in 0..5 {
                b[y + 5 * ((2 * x + 3 * y) % 5)] = a[x + 5 * y].rotate_left(RHO[x + 5 * y]);
            }
        }
        // χ: the only non-linear step, along rows.
        for y in 0..5 {
            for x in 0..5 {
                a[x + 5 * y] = b[x + 5 * y] ^ (!b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
            }
        }
        // ι: break the symmetry between rounds.
        a[0] ^= rc;
    }
}

/// Loads 200 state bytes into lanes.
pub fn lanes_from_bytes(bytes: &[u8; 200]) -> [u64; 25] {
    let mut lanes = [0u64; 25];
    for (lane, chunk) in lanes.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        *lane = u64::from_le_bytes(word);
    }
    lanes
}

/// Stores lanes as 200 state bytes.
pub fn bytes_from_lanes(lanes: &[u64; 25]) -> [u8; 200] {
    let mut bytes = [0u8; 200];
    for (chunk, lane) in bytes.chunks_exact_mut(8).zip(lanes) {
        chunk.copy_from_slice(&lane.to_le_bytes());
    }
    bytes
}

/// Applies `Keccak-f[1600]` to a state given as 200 bytes.
pub fn f1600_bytes(state: &mut [u8; 200]) {
    let mut lanes = lanes_from_bytes(state);
    f1600(&mut lanes);
    *state = bytes_from_lanes(&lanes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_constants_match_fips202() {
        // Spot checks against the constants printed in the Keccak reference.
        assert_eq!(ROUND_CONSTANTS[0], 0x0000_0000_0000_0001);
        assert_eq!(ROUND_CONSTANTS[1], 0x0000_0000_0000_8082);
        assert_eq!(ROUND_CONSTANTS[2], 0x8000_0000_0000_808a);
        assert_eq!(ROUND_CONSTANTS[23], 0x8000_0000_8000_8008);
        assert_eq!(RHO[..5], [0, 1, 62, 28, 27]);
        assert_eq!(RHO[24], 14);
    }

    #[test]
    fn lanes_round_trip() {
        let mut bytes = [0u8; 200];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8;
        }
        assert_eq!(bytes_from_lanes(&lanes_from_bytes(&bytes)), bytes);
        assert_eq!(lanes_from_bytes(&bytes)[0], 0x0706_0504_0302_0100);
    }
}
