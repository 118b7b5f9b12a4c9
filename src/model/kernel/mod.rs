//! Dense matrix products for the network's layers: `C = S + A·B`.
//!
//! Every entry of `C` is its start value `S` followed by one chain of fused
//! multiply-adds over `k` in ascending order. Vectors run across rows or
//! columns of `C`, never along `k`, so that order — and therefore every
//! bit of the result — is the same whatever the tile an entry falls in,
//! the batch size, the orientation chosen, or the instruction set:
//! AVX-512, AVX2 + FMA and the portable path (`f64::mul_add`, a correctly
//! rounded fused multiply-add everywhere) agree bit for bit, so results do
//! not depend on the CPU zoo runs on.
//!
//! Layout follows the classic register-blocked design: `B` is packed into
//! panels of `nr` columns (zero-padded) that stay in cache, and a
//! micro-kernel keeps an `mr × nr` tile of `C` in registers while it
//! streams `k`. Long `k` is cut into chunks of [`KC`]; a chunk's partial
//! sums are stored in `C` exactly and resumed, which keeps the chain.

#[cfg(target_arch = "x86_64")]
mod x86;

pub(crate) mod sparse;

use std::cell::RefCell;
use std::sync::OnceLock;

/// Chunk of `k` per packed panel: keeps a panel in L1.
const KC: usize = 256;
/// Values of `B` packed at once (512 KiB): sized for L2, bounded whatever
/// the host's batch size.
const PACK_LIMIT: usize = 1 << 16;
/// The largest tile of any instruction set (AVX-512: 8 × 16).
const TILE_MAX: usize = 8 * 16;

/// A read-only matrix view: entry `(i, j)` is `data[i·row + j·col]`.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub data: &'a [f64],
    pub row: usize,
    pub col: usize,
}

impl<'a> View<'a> {
    pub fn row_major(data: &'a [f64], cols: usize) -> Self {
        Self {
            data,
            row: cols,
            col: 1,
        }
    }

    pub fn col_major(data: &'a [f64], rows: usize) -> Self {
        Self {
            data,
            row: 1,
            col: rows,
        }
    }

    fn transposed(self) -> Self {
        Self {
            data: self.data,
            row: self.col,
            col: self.row,
        }
    }

    #[cfg(test)]
    fn at(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.row + j * self.col]
    }

    /// Whether every entry of an `m × n` view lies in `data`.
    fn covers(&self, m: usize, n: usize) -> bool {
        m == 0 || n == 0 || (m - 1) * self.row + (n - 1) * self.col < self.data.len()
    }
}

/// Where the chain of entry `(i, j)` starts.
#[derive(Clone, Copy)]
pub(crate) enum Start<'a> {
    Zero,
    /// `s[j]`, one value per column (a layer's bias with rows = samples).
    PerColumn(&'a [f64]),
    /// `s[i]`, one value per row.
    PerRow(&'a [f64]),
    /// The value `C` holds (accumulate).
    Current,
}

impl Start<'_> {
    fn transposed(self) -> Self {
        match self {
            Self::PerColumn(s) => Self::PerRow(s),
            Self::PerRow(s) => Self::PerColumn(s),
            other => other,
        }
    }
}

/// The output matrix, viewed like [`View`].
pub(crate) struct Output<'a> {
    pub data: &'a mut [f64],
    pub row: usize,
    pub col: usize,
}

impl<'a> Output<'a> {
    pub fn row_major(data: &'a mut [f64], cols: usize) -> Self {
        Self {
            data,
            row: cols,
            col: 1,
        }
    }
}

/// The instruction sets with a micro-kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Isa {
    /// The widest one this CPU runs under the `ZOO_SIMD` cap, detected
    /// once (the results are the same; only the speed changes).
    pub fn detected() -> Self {
        static DETECTED: OnceLock<Isa> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            let cap = crate::simd::ceiling();
            Self::available()
                .into_iter()
                .rfind(|isa| isa.width() <= cap)
                .expect("portable is always available")
        })
    }

    /// The cap level this instruction set needs.
    fn width(self) -> crate::simd::Ceiling {
        use crate::simd::Ceiling;
        match self {
            Isa::Portable => Ceiling::Portable,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => Ceiling::Avx2,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => Ceiling::Avx512,
        }
    }

    /// Every instruction set this CPU runs, slowest first.
    pub fn available() -> Vec<Self> {
        let mut all = vec![Isa::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                all.push(Isa::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                all.push(Isa::Avx512);
            }
        }
        all
    }

    /// Rows × columns of the register tile.
    fn tile(self) -> (usize, usize) {
        match self {
            Isa::Portable => (4, 4),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => (6, 8),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => (8, 16),
        }
    }

    /// Runs the micro-kernel on `rows` rows of one panel: accumulators
    /// start from `start`, take `kc` fused multiply-adds and are stored
    /// to `end` (`rows × nr` at the given row stride). A panel with only
    /// `cols` ≤ nr/2 real columns computes and stores only its first half.
    ///
    /// # Safety
    /// `a.ptr + r·a.row + p·a.col` is readable for r < rows ≤ mr, p < kc;
    /// `packed` holds kc × nr values; `start` and `end` are valid for the
    /// tile; the CPU runs `self`.
    unsafe fn run_tile(
        self,
        (rows, cols): (usize, usize),
        kc: usize,
        a: Strides,
        packed: *const f64,
        start: TileStart,
        end: (*mut f64, usize),
    ) {
        match self {
            Isa::Portable => portable_tile(rows, kc, a, packed, start, end),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => x86::avx2_tile(rows, cols <= 4, kc, a, packed, start, end),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x86::avx512_tile(rows, cols <= 8, kc, a, packed, start, end),
        }
    }
}

/// The `A` rows of one tile: entry `(r, p)` at `ptr + r·row + p·col`.
#[derive(Clone, Copy)]
struct Strides {
    ptr: *const f64,
    row: usize,
    col: usize,
}

/// Where a tile's accumulators start (pointers into packed or host data).
#[derive(Clone, Copy)]
enum TileStart {
    Zero,
    /// `nr` values, the same for every row.
    Columns(*const f64),
    /// One value per row, the same for every column.
    Rows(*const f64),
    /// A `rows × nr` block at the given row stride.
    Block(*const f64, usize),
}

/// `C = S + A·B` with `A` m × k, `B` k × n, on the best instruction set.
pub(crate) fn multiply(
    (m, n, k): (usize, usize, usize),
    a: View,
    b: View,
    start: Start,
    c: Output,
) {
    multiply_on(Isa::detected(), (m, n, k), a, b, start, c);
}

/// [`multiply`] on a given instruction set.
pub(crate) fn multiply_on(
    isa: Isa,
    (m, n, k): (usize, usize, usize),
    a: View,
    b: View,
    start: Start,
    c: Output,
) {
    assert!(a.covers(m, k) && b.covers(k, n), "operand views too short");
    assert!(
        m == 0 || n == 0 || (m - 1) * c.row + (n - 1) * c.col < c.data.len(),
        "output view too short"
    );
    if let Start::PerColumn(s) = start {
        assert!(s.len() >= n);
    }
    if let Start::PerRow(s) = start {
        assert!(s.len() >= m);
    }
    // Vectors run along n; Cᵀ = Bᵀ·Aᵀ gives the same chains, so take the
    // orientation with less work: two vector FMAs per row, panel and k,
    // plus packing B (about four FMAs' time per value: scalar and strided),
    // plus, where C's rows are not contiguous, scattering every tile of C
    // once per chunk of k (about sixteen per value: rows a multiple of
    // 4 KiB apart also collide in cache, 1024-wide layers ran at 0.7x).
    let (_, nr) = isa.tile();
    let chunks = k.div_ceil(KC).max(1);
    let work = |rows: usize, cols: usize, c_col: usize| {
        let scatter = if c_col == 1 {
            0
        } else {
            16 * rows * cols * chunks
        };
        rows * cols.div_ceil(nr) * 2 * k + 4 * k * cols + scatter
    };
    if work(n, m, c.row) < work(m, n, c.col) {
        let c = Output {
            data: c.data,
            row: c.col,
            col: c.row,
        };
        run(
            isa,
            (n, m, k),
            b.transposed(),
            a.transposed(),
            start.transposed(),
            c,
        );
    } else {
        run(isa, (m, n, k), a, b, start, c);
    }
}

struct Pack {
    /// Panels of B, kc × nr each.
    panels: Vec<f64>,
    /// `Start::PerColumn` values, nr per panel (zero-padded).
    starts: Vec<f64>,
}

thread_local! {
    static PACK: RefCell<Pack> = const {
        RefCell::new(Pack { panels: Vec::new(), starts: Vec::new() })
    };
}

/// Grows `buf` to `len` without clearing: stale values only reach padded
/// lanes, whose results are never stored.
fn at_least(buf: &mut Vec<f64>, len: usize) {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
}

fn run(isa: Isa, (m, n, k): (usize, usize, usize), a: View, b: View, start: Start, c: Output) {
    if m == 0 || n == 0 {
        return;
    }
    let (mr, nr) = isa.tile();
    let panels = n.div_ceil(nr);
    let panels_per_pack = (PACK_LIMIT / (KC.min(k).max(1) * nr)).clamp(1, panels);
    let Output {
        data: c_data,
        row: c_row,
        col: c_col,
    } = c;
    let c_ptr = c_data.as_mut_ptr();
    PACK.with(|pack| {
        let Pack {
            panels: pack,
            starts,
        } = &mut *pack.borrow_mut();
        let mut tile = [0.0; TILE_MAX];
        let mut k0 = 0;
        loop {
            let kc = KC.min(k - k0);
            for p0 in (0..panels).step_by(panels_per_pack) {
                let count = panels_per_pack.min(panels - p0);
                at_least(pack, count * kc * nr);
                at_least(starts, count * nr);
                for q in 0..count {
                    let j0 = (p0 + q) * nr;
                    let cols = nr.min(n - j0);
                    let panel = &mut pack[q * kc * nr..(q + 1) * kc * nr];
                    pack_panel(b, (k0, kc), (j0, cols), nr, panel);
                    if let Start::PerColumn(s) = start {
                        let dst = &mut starts[q * nr..(q + 1) * nr];
                        dst[..cols].copy_from_slice(&s[j0..j0 + cols]);
                        dst[cols..].fill(0.0);
                    }
                }
                for i0 in (0..m).step_by(mr) {
                    let rows = mr.min(m - i0);
                    for q in 0..count {
                        let j0 = (p0 + q) * nr;
                        let cols = nr.min(n - j0);
                        // Full-width tiles of a row-contiguous C are read and
                        // written in place; the others go through `tile`.
                        let direct = c_col == 1 && cols == nr;
                        let from_c = k0 > 0 || matches!(start, Start::Current);
                        if from_c && !direct {
                            for r in 0..rows {
                                for t in 0..cols {
                                    tile[r * nr + t] = c_data[(i0 + r) * c_row + (j0 + t) * c_col];
                                }
                            }
                        }
                        // SAFETY: `multiply_on` checked that A, B and C cover
                        // m × k, k × n and m × n; the panel holds kc × nr
                        // values; rows ≤ mr; `starts` holds nr values per
                        // panel; a per-row start holds m values; and `isa`
                        // runs on this CPU (detected or listed as available).
                        unsafe {
                            let c_tile = c_ptr.add(i0 * c_row + j0);
                            let tile_start = match (from_c, direct, start) {
                                (true, true, _) => TileStart::Block(c_tile, c_row),
                                (true, false, _) => TileStart::Block(tile.as_ptr(), nr),
                                (false, _, Start::PerColumn(_)) => {
                                    TileStart::Columns(starts.as_ptr().add(q * nr))
                                }
                                (false, _, Start::PerRow(s)) => TileStart::Rows(s.as_ptr().add(i0)),
                                (false, _, _) => TileStart::Zero,
                            };
                            let end = if direct {
                                (c_tile, c_row)
                            } else {
                                (tile.as_mut_ptr(), nr)
                            };
                            let a_tile = a.data.as_ptr().add(i0 * a.row + k0 * a.col);
                            let panel = pack.as_ptr().add(q * kc * nr);
                            let a_tile = Strides {
                                ptr: a_tile,
                                row: a.row,
                                col: a.col,
                            };
                            isa.run_tile((rows, cols), kc, a_tile, panel, tile_start, end);
                        }
                        if !direct {
                            for r in 0..rows {
                                for t in 0..cols {
                                    c_data[(i0 + r) * c_row + (j0 + t) * c_col] = tile[r * nr + t];
                                }
                            }
                        }
                    }
                }
            }
            k0 += kc;
            if k0 >= k {
                break;
            }
        }
    });
}

/// Copies rows `k0..k0 + kc`, columns `j0..j0 + cols` of `b` into `panel`
/// (kc × nr, row-major), walking `b` along its contiguous side.
fn pack_panel(
    b: View,
    (k0, kc): (usize, usize),
    (j0, cols): (usize, usize),
    nr: usize,
    panel: &mut [f64],
) {
    assert!(panel.len() >= kc * nr && cols <= nr);
    if kc == 0 || cols == 0 {
        return;
    }
    assert!((k0 + kc - 1) * b.row + (j0 + cols - 1) * b.col < b.data.len());
    let src = b.data.as_ptr();
    let dst = panel.as_mut_ptr();
    // SAFETY: the asserts bound every index read (row < k0 + kc, column
    // < j0 + cols) and written (p < kc, t < cols ≤ nr).
    unsafe {
        if b.row <= b.col {
            for t in 0..cols {
                let column = src.add(k0 * b.row + (j0 + t) * b.col);
                for p in 0..kc {
                    *dst.add(p * nr + t) = *column.add(p * b.row);
                }
            }
        } else {
            for p in 0..kc {
                let row = src.add((k0 + p) * b.row + j0 * b.col);
                for t in 0..cols {
                    *dst.add(p * nr + t) = *row.add(t * b.col);
                }
            }
        }
    }
}

/// The micro-kernel in plain Rust; `mul_add` is one correctly rounded
/// operation on every platform, so this agrees with the SIMD kernels.
///
/// # Safety
/// As [`Isa::run_tile`].
unsafe fn portable_tile(
    rows: usize,
    kc: usize,
    a: Strides,
    packed: *const f64,
    start: TileStart,
    (end, end_row): (*mut f64, usize),
) {
    const NR: usize = 4;
    for r in 0..rows {
        let mut acc = [0.0; NR];
        for (t, v) in acc.iter_mut().enumerate() {
            *v = match start {
                TileStart::Zero => 0.0,
                TileStart::Columns(s) => *s.add(t),
                TileStart::Rows(s) => *s.add(r),
                TileStart::Block(s, row) => *s.add(r * row + t),
            };
        }
        for p in 0..kc {
            let x = *a.ptr.add(r * a.row + p * a.col);
            for (t, v) in acc.iter_mut().enumerate() {
                *v = x.mul_add(*packed.add(p * NR + t), *v);
            }
        }
        for (t, v) in acc.iter().enumerate() {
            *end.add(r * end_row + t) = *v;
        }
    }
}

#[cfg(test)]
mod tests;
