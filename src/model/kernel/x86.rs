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

/// Defines a tile function for one vector type: the two instruction sets
/// differ only in their register width and intrinsics.
macro_rules! tile_kernel {
    (
        $(#[$doc:meta])*
        $tile:ident, $rows_fn:ident, $features:literal, $max_rows:literal,
        $lanes:literal, $zero:ident, $load:ident, $set1:ident, $fmadd:ident, $store:ident
    ) => {
        $(#[$doc])*
        #[target_feature(enable = $features)]
        pub(super) unsafe fn $tile(
            rows: usize,
            narrow: bool,
            kc: usize,
            a: Strides,
            packed: *const f64,
            start: TileStart,
            end: (*mut f64, usize),
        ) {
            debug_assert!(rows <= $max_rows);
            by_rows!(rows, narrow, $rows_fn, kc, a, packed, start, end)
        }

        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn $rows_fn<const MR: usize, const V: usize>(
            kc: usize,
            a: Strides,
            packed: *const f64,
            start: TileStart,
            (end, end_row): (*mut f64, usize),
        ) {
            const NR: usize = 2 * $lanes;
            let mut acc = [[$zero(); V]; MR];
            for (r, acc) in acc.iter_mut().enumerate() {
                for (v, acc) in acc.iter_mut().enumerate() {
                    *acc = match start {
                        TileStart::Zero => $zero(),
                        TileStart::Columns(s) => $load(s.add(v * $lanes)),
                        TileStart::Rows(s) => $set1(*s.add(r)),
                        TileStart::Block(s, row) => $load(s.add(r * row + v * $lanes)),
                    };
                }
            }
            let (mut ap, mut bp) = (a.ptr, packed);
            for _ in 0..kc {
                let mut b = [$zero(); V];
                for (v, b) in b.iter_mut().enumerate() {
                    *b = $load(bp.add(v * $lanes));
                }
                for (r, acc) in acc.iter_mut().enumerate() {
                    let x = $set1(*ap.add(r * a.row));
                    for (acc, b) in acc.iter_mut().zip(b) {
                        *acc = $fmadd(x, b, *acc);
                    }
                }
                ap = ap.add(a.col);
                bp = bp.add(NR);
            }
            for (r, acc) in acc.iter().enumerate() {
                for (v, acc) in acc.iter().enumerate() {
                    $store(end.add(r * end_row + v * $lanes), *acc);
                }
            }
        }
    };
}

tile_kernel!(
    /// AVX2 + FMA: 6 × 8 tile (12 accumulators of 4 lanes).
    ///
    /// # Safety
    /// As `Isa::run_tile`, with rows ≤ 6 and a CPU with AVX2 and FMA.
    avx2_tile, avx2_rows, "avx2,fma", 6,
    4, _mm256_setzero_pd, _mm256_loadu_pd, _mm256_set1_pd, _mm256_fmadd_pd, _mm256_storeu_pd
);

tile_kernel!(
    /// AVX-512: 8 × 16 tile (16 accumulators of 8 lanes).
    ///
    /// # Safety
    /// As `Isa::run_tile`, with rows ≤ 8 and a CPU with AVX-512F.
    avx512_tile, avx512_rows, "avx512f", 8,
    8, _mm512_setzero_pd, _mm512_loadu_pd, _mm512_set1_pd, _mm512_fmadd_pd, _mm512_storeu_pd
);
