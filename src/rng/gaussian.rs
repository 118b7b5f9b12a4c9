//! Gaussian coordinates of random directions.
//!
//! Coordinate i of direction j of iteration k is `z_i ~ N(0, 1)`, a pure
//! function of `(seed, purpose, k, j, i)`. Its word is position i of a
//! SplitMix64 sequence (Steele, Lea and Flood, 2014: passes BigCrush),
//! `mix(key + i·γ)`, whose seed `key` is derived from `(seed, purpose, k,
//! j)`; the ziggurat turns the word into a value. A word the ziggurat's
//! fast path refuses (0.43 %) continues with the words at positions
//! `2⁶³ + i·2²⁰ + n`, n = 0, 1, …, so every coordinate can be computed
//! alone, in any order, on any thread. A block of coordinates costs one
//! loop of integer and IEEE-exact operations (two multiplications and a
//! few shifts for the word, one table load for the value) plus a rare
//! fix-up; `benches/directions.rs` compares it with Philox and ChaCha8.
//! The words have no state carried from one coordinate to the next, so
//! blocks need no seeking and `fill` may be cut anywhere.

use super::normal::Ziggurat;
use super::{key64, splitmix64, Purpose};

/// SplitMix64's increment (the golden ratio, odd).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
/// Positions at and above this one belong to refused coordinates.
const REFUSED: u64 = 1 << 63;
/// Position bits for the words one refused coordinate draws.
const DRAW_BITS: u32 = 20;
/// Coordinates stay below 2⁴³ so that refused ones' positions stay apart.
const MAX_COORDINATES: u64 = 1 << (63 - DRAW_BITS);

/// SplitMix64's output function: a bijection with full avalanche.
#[inline(always)]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The coordinates of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gaussian {
    key: u64,
}

impl Gaussian {
    /// Direction `j` of iteration `k` on the stream of `purpose`.
    pub fn new(seed: u64, purpose: Purpose, k: u64, j: u64) -> Self {
        // Distinct j give distinct keys: xor, then a bijection.
        let mut state = key64(seed, purpose, k) ^ j;
        Self {
            key: splitmix64(&mut state),
        }
    }

    /// The word at `position` of this direction's sequence.
    #[inline(always)]
    pub(super) fn word(&self, position: u64) -> u64 {
        mix(self.key.wrapping_add(position.wrapping_mul(GAMMA)))
    }

    /// Writes `z_start, z_start+1, …` into `out`.
    pub fn fill(&self, start: u64, out: &mut [f64]) {
        assert!(start.saturating_add(out.len() as u64) <= MAX_COORDINATES);
        // Refused coordinates are marked NaN (the fast path never gives
        // NaN) and finished after: without a branch on the data, this loop
        // vectorizes where the CPU has 64-bit multiplications and gathers
        // (AVX-512F + DQ, chosen at run time), and stays a tight scalar loop
        // elsewhere; integer and exact operations only, so the same bits.
        #[cfg(target_arch = "x86_64")]
        if wide_vectors() {
            // SAFETY: the CPU has AVX-512F and AVX-512DQ (checked above).
            unsafe { self.fast_fill_avx512(start, out) };
        } else {
            self.fast_fill(start, out);
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.fast_fill(start, out);
        // A branch-free test per group of 16 keeps this scan cheap.
        for (first, group) in (start..).step_by(16).zip(out.chunks_mut(16)) {
            if group.iter().fold(false, |any, v| any | v.is_nan()) {
                for (i, v) in (first..).zip(group.iter_mut()) {
                    if v.is_nan() {
                        *v = self.value(i);
                    }
                }
            }
        }
    }

    #[inline(always)]
    fn fast_fill(&self, start: u64, out: &mut [f64]) {
        let zig = Ziggurat::get();
        for (i, v) in (start..).zip(out.iter_mut()) {
            let (z, accepted) = zig.fast(self.word(i));
            *v = if accepted { z } else { f64::NAN };
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq")]
    unsafe fn fast_fill_avx512(&self, start: u64, out: &mut [f64]) {
        self.fast_fill(start, out)
    }

    /// `z_i` alone.
    pub fn value(&self, i: u64) -> f64 {
        assert!(i < MAX_COORDINATES);
        let zig = Ziggurat::get();
        let word = self.word(i);
        match zig.fast(word) {
            (z, true) => z,
            _ => {
                let first = REFUSED | (i << DRAW_BITS);
                let mut drawn = 0u64;
                zig.slow(word, || {
                    drawn += 1;
                    self.word(first | ((drawn - 1) & ((1 << DRAW_BITS) - 1)))
                })
            }
        }
    }
}

/// Whether the CPU has AVX-512F and AVX-512DQ and `ZOO_SIMD` allows them,
/// detected once.
#[cfg(target_arch = "x86_64")]
fn wide_vectors() -> bool {
    static WIDE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *WIDE.get_or_init(|| {
        crate::simd::ceiling() >= crate::simd::Ceiling::Avx512
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
    })
}
