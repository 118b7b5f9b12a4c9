//! x86-64 micro-kernels: an `MR × NR` tile of `C` in vector registers, one
//! fused multiply-add per entry and per `k`, `k` ascending.

use super::{Strides, TileStart};
use std::arch::x86_64::*;

/// Expands to a `match` over the tile's row count, so every row count gets
/// a kernel whose accumulators live in registers.
macro_rules! by_rows {
    ($rows:expr, $narrow:expr, $kernel:ident, $($arg:expr),*) => {
        match ($rows, $narrow) {
            (1, false) => $kernel::<1, 2>($($arg),*),
            (2, false) => $kernel::<2, 2>($($arg),*),
            (3, false) => $kernel::<3, 2>($($arg),*),
            (4, false) => $kernel::<4, 2>($($arg),*),
            (5, false) => $kernel::<5, 2>($($arg),*),
            (6, false) => $kernel::<6, 2>($($arg),*),
            (7, false) => $kernel::<7, 2>($($arg),*),
            (8, false) => $kernel::<8, 2>($($arg),*),
            (1, true) => $kernel::<1, 1>($($arg),*),
            (2, true) => $kernel::<2, 1>($($arg),*),
            (3, true) => $kernel::<3, 1>($($arg),*),
            (4, true) => $kernel::<4, 1>($($arg),*),
            (5, true) => $kernel::<5, 1>($($arg),*),
            (6, true) => $kernel::<6, 1>($($arg),*),
            (7, true) => $kernel::<7, 1>($($arg),*),
            (8, true) => $kernel::<8, 1>($($arg),*),
            _ => unreachable!("tile rows"),
        }
    };
}

/// AVX2 + FMA: 6 × 8 tile (12 accumulators of 4 lanes).
///
/// # Safety
/// As `Isa::run_tile`, with rows ≤ 6 and a CPU with AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn avx2_tile(
    rows: usize,
    narrow: bool,
    kc: usize,
    a: Strides,
    packed: *const f64,
    start: TileStart,
    end: (*mut f64, usize),
) {
    debug_assert!(rows <= 6);
    by_rows!(rows, narrow, avx2_rows, kc, a, packed, start, end)
}

#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn avx2_rows<const MR: usize, const V: usize>(
    kc: usize,
    a: Strides,
    packed: *const f64,
    start: TileStart,
    (end, end_row): (*mut f64, usize),
) {
    const NR: usize = 8;
    let mut acc = [[_mm256_setzero_pd(); V]; MR];
    for (r, acc) in acc.iter_mut().enumerate() {
        for (v, acc) in acc.iter_mut().enumerate() {
            *acc = match start {
                TileStart::Zero => _mm256_setzero_pd(),
                TileStart::Columns(s) => _mm256_loadu_pd(s.add(v * 4)),
                TileStart::Rows(s) => _mm256_set1_pd(*s.add(r)),
                TileStart::Block(s, row) => _mm256_loadu_pd(s.add(r * row + v * 4)),
            };
        }
    }
    let (mut ap, mut bp) = (a.ptr, packed);
    for _ in 0..kc {
        let mut b = [_mm256_setzero_pd(); V];
        for (v, b) in b.iter_mut().enumerate() {
            *b = _mm256_loadu_pd(bp.add(v * 4));
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = _mm256_broadcast_sd(&*ap.add(r * a.row));
            for (acc, b) in acc.iter_mut().zip(b) {
                *acc = _mm256_fmadd_pd(x, b, *acc);
            }
        }
        ap = ap.add(a.col);
        bp = bp.add(NR);
    }
    for (r, acc) in acc.iter().enumerate() {
        for (v, acc) in acc.iter().enumerate() {
            _mm256_storeu_pd(end.add(r * end_row + v * 4), *acc);
        }
    }
}

/// AVX-512: 8 × 16 tile (16 accumulators of 8 lanes).
///
/// # Safety
/// As `Isa::run_tile`, with rows ≤ 8 and a CPU with AVX-512F.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn avx512_tile(
    rows: usize,
    narrow: bool,
    kc: usize,
    a: Strides,
    packed: *const f64,
    start: TileStart,
    end: (*mut f64, usize),
) {
    debug_assert!(rows <= 8);
    by_rows!(rows, narrow, avx512_rows, kc, a, packed, start, end)
}

#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn avx512_rows<const MR: usize, const V: usize>(
    kc: usize,
    a: Strides,
    packed: *const f64,
    start: TileStart,
    (end, end_row): (*mut f64, usize),
) {
    const NR: usize = 16;
    let mut acc = [[_mm512_setzero_pd(); V]; MR];
    for (r, acc) in acc.iter_mut().enumerate() {
        for (v, acc) in acc.iter_mut().enumerate() {
            *acc = match start {
                TileStart::Zero => _mm512_setzero_pd(),
                TileStart::Columns(s) => _mm512_loadu_pd(s.add(v * 8)),
                TileStart::Rows(s) => _mm512_set1_pd(*s.add(r)),
                TileStart::Block(s, row) => _mm512_loadu_pd(s.add(r * row + v * 8)),
            };
        }
    }
    let (mut ap, mut bp) = (a.ptr, packed);
    for _ in 0..kc {
        let mut b = [_mm512_setzero_pd(); V];
        for (v, b) in b.iter_mut().enumerate() {
            *b = _mm512_loadu_pd(bp.add(v * 8));
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = _mm512_set1_pd(*ap.add(r * a.row));
            for (acc, b) in acc.iter_mut().zip(b) {
                *acc = _mm512_fmadd_pd(x, b, *acc);
            }
        }
        ap = ap.add(a.col);
        bp = bp.add(NR);
    }
    for (r, acc) in acc.iter().enumerate() {
        for (v, acc) in acc.iter().enumerate() {
            _mm512_storeu_pd(end.add(r * end_row + v * 8), *acc);
        }
    }
}
