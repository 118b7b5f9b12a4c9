//! The product of a pruned layer: `out[r][o] = b[o] + Σ W[o][i]·x[r][i]`
//! over the active columns `i` of output `o`, ascending — the chain of the
//! dense kernel minus its zero terms, so the same bits for finite inputs.
//!
//! Vectors run across [`LANES`] rows: a block of rows is transposed once
//! (column `i` of the block contiguous), then each active weight is one
//! broadcast and one fused multiply-add for all rows of the block.

use super::Isa;
use std::cell::RefCell;

/// Rows per block: one AVX-512 vector, two AVX2 vectors.
const LANES: usize = 8;

/// Active input columns of each output (CSR without values).
#[derive(Clone, Copy)]
pub(crate) struct Pattern<'a> {
    pub row_start: &'a [u32],
    pub columns: &'a [u32],
}

/// Row-major rows and their width.
type Rows<'a> = (&'a [f64], usize);

thread_local! {
    /// A transposed block of rows, `nin × LANES`.
    static BLOCK: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// `out` (rows × nout, row-major) from `x` (rows × nin, row-major).
pub(crate) fn multiply(
    pattern: Pattern,
    w: &[f64],
    b: &[f64],
    (x, nin): (&[f64], usize),
    out: &mut [f64],
) {
    let nout = b.len();
    assert!(pattern.row_start.len() == nout + 1 && w.len() == nin * nout);
    // Built from the layer's mask; indexing below is checked anyway, so
    // this scan over every active weight is for debug builds only.
    debug_assert!(pattern.columns.iter().all(|&i| (i as usize) < nin));
    // The buffer is taken here: a closure would not inherit the target
    // features of the functions below.
    BLOCK.with(|block| {
        let block = &mut *block.borrow_mut();
        // Bounded by the layer's width, not by the host's batch.
        if block.len() < nin * LANES {
            block.resize(nin * LANES, 0.0);
        }
        let x = (x, nin);
        match Isa::detected() {
            Isa::Portable => blocks(pattern, w, b, x, out, block),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the detected instruction set runs on this CPU; AVX-512F
            // and AVX2 + FMA both make `mul_add` one instruction.
            Isa::Avx512 => unsafe { blocks_avx512(pattern, w, b, x, out, block) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { blocks_avx2(pattern, w, b, x, out, block) },
        }
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn blocks_avx512(
    p: Pattern,
    w: &[f64],
    b: &[f64],
    x: Rows,
    out: &mut [f64],
    block: &mut [f64],
) {
    blocks(p, w, b, x, out, block)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn blocks_avx2(
    p: Pattern,
    w: &[f64],
    b: &[f64],
    x: Rows,
    out: &mut [f64],
    block: &mut [f64],
) {
    blocks(p, w, b, x, out, block)
}

#[inline(always)]
fn blocks(
    pattern: Pattern,
    w: &[f64],
    b: &[f64],
    (x, nin): Rows,
    out: &mut [f64],
    block: &mut [f64],
) {
    let nout = b.len();
    {
        for (rows_x, rows_out) in x.chunks(nin * LANES).zip(out.chunks_mut(nout * LANES)) {
            let rows = rows_x.len() / nin;
            for (r, row) in rows_x.chunks_exact(nin).enumerate() {
                for (i, v) in row.iter().enumerate() {
                    block[i * LANES + r] = *v;
                }
            }
            for o in 0..nout {
                let columns = &pattern.columns
                    [pattern.row_start[o] as usize..pattern.row_start[o + 1] as usize];
                let weights = &w[o * nin..(o + 1) * nin];
                let mut acc = [b[o]; LANES];
                for &i in columns {
                    let (weight, lanes) = (weights[i as usize], &block[i as usize * LANES..]);
                    for (a, v) in acc.iter_mut().zip(&lanes[..LANES]) {
                        *a = weight.mul_add(*v, *a);
                    }
                }
                for (r, a) in acc.iter().enumerate().take(rows) {
                    rows_out[r * nout + o] = *a;
                }
            }
        }
    }
}
