//! Cost of drawing the Gaussian coordinates of one direction of 100 000
//! weights, in blocks of 1024 as the estimators draw them, with the
//! generators zoo could use. Each turns 64-bit words into normals with the
//! same ziggurat ([`zoo::rng::normal`]) except the first:
//!
//! * `chacha8_rand_distr`: a ChaCha8 stream sought to each block, then
//!   `rand_distr::StandardNormal` value by value (zoo's generator before).
//! * `splitmix_ziggurat`: [`zoo::rng::Gaussian`], what zoo uses: the
//!   SplitMix64 output function of the counter.
//! * `philox4x32_ziggurat`, `philox4x64_ziggurat`: Philox4x32-10 and
//!   Philox4x64-10 (Random123) on the counter, two or four words a call.
//!   Without vector instructions beyond the x86-64 baseline they cost ten
//!   (or five) multiplications a word.
//! * `chacha8_bulk_ziggurat`: ChaCha8 words drawn a block at a time.
//! * `wyrand_ziggurat`: wyrand's output function of the counter (one
//!   64×64→128 multiplication; not a bijection).
//!
//! It first prints a table of ns per value (medians over interleaved
//! rounds, so drifts of a shared machine hit every generator alike).
//!
//! Run: `cargo bench --bench directions`.

#[path = "support/timing.rs"]
mod timing;

use criterion::{black_box, criterion_group, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use timing::{median, seconds_per_call};
use zoo::rng::normal::Ziggurat;
use zoo::rng::{block_stream, Gaussian, Purpose, BLOCK};

const DIM: usize = 100_000;
const SEED: u64 = 7;

fn chacha8_rand_distr(j: u64, out: &mut [f64]) {
    for (block, chunk) in out.chunks_mut(BLOCK).enumerate() {
        let mut rng = block_stream(SEED, Purpose::Direction, 3, j, block);
        for v in chunk {
            *v = StandardNormal.sample(&mut rng);
        }
    }
}

fn splitmix_ziggurat(j: u64, out: &mut [f64]) {
    let g = Gaussian::new(SEED, Purpose::Direction, 3, j);
    for (start, chunk) in (0..).step_by(BLOCK).zip(out.chunks_mut(BLOCK)) {
        g.fill(start, chunk);
    }
}

/// Normals from the words of one block, the way [`Gaussian::fill`] does
/// it: refused words are marked NaN and finished after (here from a
/// SplitMix64 sequence seeded by the word; they are rare).
fn ziggurat_block(words: &[u64], out: &mut [f64]) {
    let zig = Ziggurat::get();
    for (v, &w) in out.iter_mut().zip(words) {
        let (z, accepted) = zig.fast(w);
        *v = if accepted { z } else { f64::NAN };
    }
    for (group, words) in out.chunks_mut(16).zip(words.chunks(16)) {
        if group.iter().fold(false, |any, v| any | v.is_nan()) {
            for (v, &w) in group.iter_mut().zip(words) {
                if v.is_nan() {
                    let mut state = w;
                    *v = zig.slow(w, || splitmix(&mut state));
                }
            }
        }
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    const M: [u64; 2] = [0xD251_1F53, 0xCD9E_8D57];
    const W: [u32; 2] = [0x9E37_79B9, 0xBB67_AE85];
    let [mut c0, mut c1, mut c2, mut c3] = counter;
    let [mut k0, mut k1] = key;
    for _ in 0..10 {
        let (p0, p1) = (M[0] * u64::from(c0), M[1] * u64::from(c2));
        (c0, c1, c2, c3) = (
            (p1 >> 32) as u32 ^ c1 ^ k0,
            p1 as u32,
            (p0 >> 32) as u32 ^ c3 ^ k1,
            p0 as u32,
        );
        k0 = k0.wrapping_add(W[0]);
        k1 = k1.wrapping_add(W[1]);
    }
    [c0, c1, c2, c3]
}

fn philox4x64_10(counter: [u64; 4], key: [u64; 2]) -> [u64; 4] {
    const M: [u128; 2] = [0xD2E7_470E_E14C_6C93, 0xCA5A_8263_9512_1157];
    const W: [u64; 2] = [0x9E37_79B9_7F4A_7C15, 0xBB67_AE85_84CA_A73B];
    let [mut c0, mut c1, mut c2, mut c3] = counter;
    let [mut k0, mut k1] = key;
    for _ in 0..10 {
        let (p0, p1) = (M[0] * u128::from(c0), M[1] * u128::from(c2));
        (c0, c1, c2, c3) = (
            (p1 >> 64) as u64 ^ c1 ^ k0,
            p1 as u64,
            (p0 >> 64) as u64 ^ c3 ^ k1,
            p0 as u64,
        );
        k0 = k0.wrapping_add(W[0]);
        k1 = k1.wrapping_add(W[1]);
    }
    [c0, c1, c2, c3]
}

/// Each generator below fills a block's words in a loop of its own (the
/// shape that compiles best for it), then runs the same ziggurat.
fn philox4x32_ziggurat(j: u64, out: &mut [f64]) {
    let mut words = [0u64; BLOCK];
    for (start, chunk) in (0u64..).step_by(BLOCK).zip(out.chunks_mut(BLOCK)) {
        for (p, pair) in (start / 2..).zip(words.chunks_exact_mut(2)) {
            let [a, b, c, d] = philox4x32_10([p as u32, (p >> 32) as u32, j as u32, 0], [1, 2]);
            pair[0] = u64::from(a) | u64::from(b) << 32;
            pair[1] = u64::from(c) | u64::from(d) << 32;
        }
        ziggurat_block(&words, chunk);
    }
}

fn philox4x64_ziggurat(j: u64, out: &mut [f64]) {
    let mut words = [0u64; BLOCK];
    for (start, chunk) in (0u64..).step_by(BLOCK).zip(out.chunks_mut(BLOCK)) {
        for (p, quad) in (start / 4..).zip(words.chunks_exact_mut(4)) {
            quad.copy_from_slice(&philox4x64_10([p, 0, j, 0], [1, 2]));
        }
        ziggurat_block(&words, chunk);
    }
}

fn chacha8_bulk_ziggurat(j: u64, out: &mut [f64]) {
    let mut words = [0u64; BLOCK];
    for (block, chunk) in out.chunks_mut(BLOCK).enumerate() {
        let words = &mut words[..chunk.len()];
        block_stream(SEED, Purpose::Direction, 3, j, block).fill(words);
        ziggurat_block(words, chunk);
    }
}

fn wyrand_ziggurat(j: u64, out: &mut [f64]) {
    let key = rand_chacha::ChaCha8Rng::seed_from_u64(j).random::<u64>();
    let mut words = [0u64; BLOCK];
    for (start, chunk) in (0u64..).step_by(BLOCK).zip(out.chunks_mut(BLOCK)) {
        for (i, w) in (start..).zip(words.iter_mut()) {
            let s = key.wrapping_add(i.wrapping_mul(0xA076_1D64_78BD_642F));
            let m = u128::from(s) * u128::from(s ^ 0xE703_7ED1_A0B4_28DB);
            *w = (m >> 64) as u64 ^ m as u64;
        }
        ziggurat_block(&words, chunk);
    }
}

type Normals = fn(u64, &mut [f64]);

const GENERATORS: [(&str, Normals); 6] = [
    ("chacha8_rand_distr", chacha8_rand_distr),
    ("splitmix_ziggurat", splitmix_ziggurat),
    ("philox4x32_ziggurat", philox4x32_ziggurat),
    ("philox4x64_ziggurat", philox4x64_ziggurat),
    ("chacha8_bulk_ziggurat", chacha8_bulk_ziggurat),
    ("wyrand_ziggurat", wyrand_ziggurat),
];

/// The comparison is only meaningful if the Philox variants are Philox.
fn check_philox_reference_vectors() {
    assert_eq!(
        philox4x32_10([0; 4], [0; 2]),
        [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
    );
    assert_eq!(
        philox4x32_10(
            [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
            [0xa409_3822, 0x299f_31d0]
        ),
        [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
    );
    assert_eq!(
        philox4x64_10([0; 4], [0; 2]),
        [
            0x16554d9eca36314c,
            0xdb20fe9d672d0fdc,
            0xd7e772cee186176b,
            0x7e68b68aec7ba23b
        ]
    );
}

fn interleaved_table() {
    let mut z = vec![0.0; DIM];
    let rounds = 31;
    let mut times = vec![Vec::new(); GENERATORS.len()];
    for round in 0..rounds {
        for (t, (_, f)) in times.iter_mut().zip(GENERATORS) {
            t.push(seconds_per_call(5, || f(black_box(round), &mut z)));
        }
    }
    let base = median(times[0].clone());
    println!("{DIM} values, {rounds} interleaved rounds (medians):");
    println!("| generator | ns per value | speed-up over chacha8_rand_distr |");
    println!("| --- | --- | --- |");
    for ((name, _), t) in GENERATORS.iter().zip(times) {
        let m = median(t);
        println!("| {name} | {:.3} | {:.2} |", m / DIM as f64 * 1e9, base / m);
    }
}

fn generators(c: &mut Criterion) {
    let mut group = c.benchmark_group("gaussian_100k");
    group.throughput(Throughput::Elements(DIM as u64));
    let mut z = vec![0.0; DIM];
    for (name, f) in GENERATORS {
        group.bench_function(name, |b| b.iter(|| f(black_box(1), &mut z)));
    }
    group.finish();
}

criterion_group!(benches, generators);

fn main() {
    check_philox_reference_vectors();
    if !std::env::args().any(|a| a == "--test") {
        interleaved_table();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
