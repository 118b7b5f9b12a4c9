//! x86-64 micro-kernels: an `MR × NR` tile of `C` in vector registers, one
//! fused multiply-add per entry and per `k`, `k` ascending.

use super::{Strides, TileStart};
use std::arch::x86_64::*;

/// Expands to a `match` over the tile's row count, so every row count gets
/// a kernel whose accumulators live in registers.
macro_rules! by_rows {
    ($rows:expr, $kernel:ident, $($arg:expr),*) => {
        match $rows {
            1 => $kernel::<1>($($arg),*),
            2 => $kernel::<2>($($arg),*),
            3 => $kernel::<3>($($arg),*),
            4 => $kernel::<4>($($arg),*),
            5 => $kernel::<5>($($arg),*),
            6 => $kernel::<6>($($arg),*),
            7 => $kernel::<7>($($arg),*),
            8 => $kernel::<8>($($arg),*),
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
    kc: usize,
    a: Strides,
    packed: *const f64,
    start: TileStart,
    end: (*mut f64, usize),
) {
    debug_assert!(rows <= 6);
    by_rows!(rows, avx2_rows, kc, a, packed, start, end)
}

#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn avx2_rows<const MR: usize>(
    kc: usize,
    a: Strides,
    packed: *const f64,
    start: TileStart,
    (end, end_row): (*mut f64, usize),
) {
    const NR: usize = 8;
    let mut acc = [[_mm256_setzero_pd(); 2]; MR];
    for (r, acc) in acc.iter_mut().enumerate() {
        *acc = match start {
            TileStart::Zero => [_mm256_setzero_pd(); 2],
            TileStart::Columns(s) => [_mm256_loadu_pd(s), _mm256_loadu_pd(s.add(4))],
            TileStart::Rows(s) => [_mm256_set1_pd(*s.add(r)); 2],
            TileStart::Block(s, row) => {
                let s = s.add(r * row);
                [_mm256_loadu_pd(s), _mm256_loadu_pd(s.add(4))]
            }
        };
    }
    let (mut ap, mut bp) = (a.ptr, packed);
    for _ in 0..kc {
        let b0 = _mm256_loadu_pd(bp);
        let b1 = _mm256_loadu_pd(bp.add(4));
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = _mm256_broadcast_sd(&*ap.add(r * a.row));
            acc[0] = _mm256_fmadd_pd(x, b0, acc[0]);
            acc[1] = _mm256_fmadd_pd(x, b1, acc[1]);
        }
        ap = ap.add(a.col);
        bp = bp.add(NR);
    }
    for (r, acc) in acc.iter().enumerate() {
        _mm256_storeu_pd(end.add(r * end_row), acc[0]);
        _mm256_storeu_pd(end.add(r * end_row + 4), acc[1]);
    }
}

/// AVX-512: 8 × 16 tile (16 accumulators of 8 lanes).
///
/// # Safety
/// As `Isa::run_tile`, with rows ≤ 8 and a CPU with AVX-512F.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn avx512_tile(
    rows: usize,
    kc: usize,
    a: Strides,
    packed: *const f64,
    start: TileStart,
    end: (*mut f64, usize),
) {
    debug_assert!(rows <= 8);
    by_rows!(rows, avx512_rows, kc, a, packed, start, end)
}

#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn avx512_rows<const MR: usize>(
    kc: usize,
    a: Strides,
    packed: *const f64,
    start: TileStart,
    (end, end_row): (*mut f64, usize),
) {
    const NR: usize = 16;
    let mut acc = [[_mm512_setzero_pd(); 2]; MR];
    for (r, acc) in acc.iter_mut().enumerate() {
        *acc = match start {
            TileStart::Zero => [_mm512_setzero_pd(); 2],
            TileStart::Columns(s) => [_mm512_loadu_pd(s), _mm512_loadu_pd(s.add(8))],
            TileStart::Rows(s) => [_mm512_set1_pd(*s.add(r)); 2],
            TileStart::Block(s, row) => {
                let s = s.add(r * row);
                [_mm512_loadu_pd(s), _mm512_loadu_pd(s.add(8))]
            }
        };
    }
    let (mut ap, mut bp) = (a.ptr, packed);
    for _ in 0..kc {
        let b0 = _mm512_loadu_pd(bp);
        let b1 = _mm512_loadu_pd(bp.add(8));
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = _mm512_set1_pd(*ap.add(r * a.row));
            acc[0] = _mm512_fmadd_pd(x, b0, acc[0]);
            acc[1] = _mm512_fmadd_pd(x, b1, acc[1]);
        }
        ap = ap.add(a.col);
        bp = bp.add(NR);
    }
    for (r, acc) in acc.iter().enumerate() {
        _mm512_storeu_pd(end.add(r * end_row), acc[0]);
        _mm512_storeu_pd(end.add(r * end_row + 8), acc[1]);
    }
}
