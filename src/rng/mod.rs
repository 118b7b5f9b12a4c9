//! Counter-based random streams.
//!
//! Every random number zoo draws is a function of `(seed, purpose, k, …)`,
//! so any thread can regenerate it in any order and nothing of size q×d is
//! ever stored:
//! * the coordinates of random directions ([`Gaussian`]): coordinate i of
//!   direction j of iteration k is computed on its own from a counter hash
//!   and a ziggurat ([`normal`]), the hot path of estimates over many
//!   weights;
//! * everything else (initial weights, samples, minibatches, pruning)
//!   from `stream(seed, purpose, k, c)`: a ChaCha8 generator whose key is
//!   derived from `(seed, purpose, k)` and whose 64-bit stream id is `c`.
//!
//! Long vectors are cut into blocks of [`BLOCK`] coordinates that are
//! drawn and summed in block order, so that every thread count gives the
//! same bits.

mod exact;
mod gaussian;
pub mod normal;

pub use gaussian::Gaussian;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// What a stream is used for; part of the key so that streams never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// Initial weights of a model.
    Init = 1,
    /// Perturbation directions of RGE candidates.
    Direction = 2,
    /// The coordinates sampled by sampled CGE.
    CoordinateSample = 3,
    /// The row order of supervised minibatches.
    Minibatch = 4,
    /// Scores of random pruning and redrawn gradient masks.
    Prune = 5,
    /// Perturbation directions of output-space estimates.
    OutputDirection = 6,
    /// Directions of the μ line scan.
    MuScan = 7,
}

/// Number of coordinates per independently seekable block.
pub const BLOCK: usize = 1024;

/// Words reserved per block: far more than Ziggurat sampling of [`BLOCK`]
/// normals can consume, so blocks never overlap.
const WORDS_PER_BLOCK_LOG2: u32 = 20;

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `(seed, purpose, k)` mixed into one word; distinct `k` give distinct
/// words, and every step after it is a bijection.
fn mixed(seed: u64, purpose: Purpose, k: u64) -> u64 {
    let mut state = seed;
    let mut mixed = splitmix64(&mut state) ^ (purpose as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    splitmix64(&mut mixed) ^ k
}

fn key(seed: u64, purpose: Purpose, k: u64) -> [u8; 32] {
    let mut mixed = mixed(seed, purpose, k);
    let mut out = [0u8; 32];
    for chunk in out.chunks_exact_mut(8) {
        chunk.copy_from_slice(&splitmix64(&mut mixed).to_le_bytes());
    }
    out
}

/// A 64-bit key for `(seed, purpose, k)`; distinct `k` give distinct keys.
fn key64(seed: u64, purpose: Purpose, k: u64) -> u64 {
    splitmix64(&mut mixed(seed, purpose, k))
}

/// The stream for `(seed, purpose, k, c)`, positioned at its start.
pub fn stream(seed: u64, purpose: Purpose, k: u64, c: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::from_seed(key(seed, purpose, k));
    rng.set_stream(c);
    rng
}

/// The stream for `(seed, purpose, k, c)`, positioned at block `block`
/// (how directions were drawn before [`Gaussian`]; the benchmarks compare).
pub fn block_stream(seed: u64, purpose: Purpose, k: u64, c: u64, block: usize) -> ChaCha8Rng {
    let mut rng = stream(seed, purpose, k, c);
    rng.set_word_pos((block as u128) << WORDS_PER_BLOCK_LOG2);
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: u64 = stream(7, Purpose::Direction, 3, 5).random();
        let b: u64 = stream(7, Purpose::Direction, 3, 5).random();
        assert_eq!(a, b);
        let others = [
            stream(8, Purpose::Direction, 3, 5).random::<u64>(),
            stream(7, Purpose::Init, 3, 5).random::<u64>(),
            stream(7, Purpose::Direction, 4, 5).random::<u64>(),
            stream(7, Purpose::Direction, 3, 6).random::<u64>(),
            block_stream(7, Purpose::Direction, 3, 5, 1).random::<u64>(),
        ];
        for o in others {
            assert_ne!(a, o);
        }
    }

    #[test]
    fn block_zero_is_the_stream_start() {
        let a: u64 = block_stream(1, Purpose::Direction, 2, 3, 0).random();
        let b: u64 = stream(1, Purpose::Direction, 2, 3).random();
        assert_eq!(a, b);
    }
}

#[cfg(test)]
mod tests_gaussian;
