//! Standard normal values from 64-bit words: the ziggurat method of
//! Marsaglia and Tsang (2000) with 1024 layers.
//!
//! One word gives a value on the fast path (99.57 % of words): its low
//! ten bits pick a layer and its top 52 bits a uniform u ∈ [−1, 1)
//! (sign included), and z = u·x[layer] is accepted when it lies in the
//! layer's rectangle. That is a table load, a subtraction, a
//! multiplication and a comparison, with no branch on the data. The
//! remaining words go through [`Ziggurat::slow`], which draws further
//! words for the wedge and tail tests. The wedge test compares a uniform
//! height with the density, first against the chord of the layer's arc
//! shifted by bounds on its distance to the arc (McFarland's squeeze), so
//! that `exp` is needed only for heights within that narrow band.
//!
//! Every operation is integer arithmetic or IEEE-754 +, −, ×, ÷ and √,
//! which are exactly rounded on every CPU, and `exp` and `ln` are built
//! from those (`exact`) rather than taken from the platform's libm. The
//! same word therefore gives the same value everywhere, and so do the
//! tables.

use super::exact::{exp, ln};
use std::sync::LazyLock;

/// More layers refuse fewer words (1.5 % with 256, 0.43 % with 1024) for
/// a table of 8 KiB on the fast path, still well inside L1.
const LAYERS: usize = 1024;
/// Where the tail starts (the base layer's rectangle ends), and the area
/// of every layer, the base one's tail included: V = R·f(R) + ∫_R^∞ f,
/// with R solved (by bisection, offline) so that the recursion for the
/// layer edges closes at the top.
pub(super) const R: f64 = 4.038_849_846_109_504;
const V: f64 = 0.001_226_324_646_353_089_3;

/// The layer tables: layer `l` spans `|x| < x[l]` between heights `f[l]`
/// and `f[l + 1]`, with `f = exp(−x²/2)`; its rectangle `|x| < x[l + 1]`
/// lies under the curve. `x[0] = V/f(R)` (the base, tail included),
/// `x[1] = R`, `x[1024] = 0`.
pub struct Ziggurat {
    x: [f64; LAYERS + 1],
    f: [f64; LAYERS + 1],
    wedges: [Wedge; LAYERS],
}

/// The arc of layer `l` over `x[l+1] ≤ |z| < x[l]` against its chord c:
/// `c(|z|) + low ≤ f(|z|) ≤ c(|z|) + high`.
#[derive(Clone, Copy, Default)]
struct Wedge {
    inverse_width: f64,
    low: f64,
    high: f64,
}

/// Widens every squeeze bound by far more than the rounding of the chord,
/// the bounds and the height (a few ulps of values ≤ 1).
const SQUEEZE_MARGIN: f64 = 1e-13;

static TABLES: LazyLock<Ziggurat> = LazyLock::new(Ziggurat::build);

impl Ziggurat {
    /// The tables, built on first use.
    pub fn get() -> &'static Ziggurat {
        &TABLES
    }

    fn build() -> Self {
        let mut x = [0.0; LAYERS + 1];
        x[0] = V / pdf(R);
        x[1] = R;
        for l in 1..LAYERS - 1 {
            x[l + 1] = (-2.0 * ln(V / x[l] + pdf(x[l]))).sqrt();
        }
        let f = x.map(pdf);
        let mut wedges = [Wedge::default(); LAYERS];
        for (l, wedge) in wedges.iter_mut().enumerate().skip(1) {
            *wedge = Wedge::new(x[l + 1], x[l], f[l + 1], f[l]);
        }
        Self { x, f, wedges }
    }

    /// The layer of a word and `z = u·x[layer]`, u ∈ [−1, 1) from the top
    /// 52 bits (the [2, 4) float with those bits, minus 3: exact).
    #[inline(always)]
    fn split(&self, word: u64) -> (usize, f64) {
        let layer = (word as usize) & (LAYERS - 1);
        let u = f64::from_bits(0x4000_0000_0000_0000 | (word >> 12)) - 3.0;
        (layer, u * self.x[layer])
    }

    /// The fast path: `(z, true)` when the word lands in its layer's
    /// rectangle, else `(_, false)` and the value comes from
    /// [`Ziggurat::slow`] with the same word.
    #[inline(always)]
    pub fn fast(&self, word: u64) -> (f64, bool) {
        let (layer, z) = self.split(word);
        (z, z.abs() < self.x[layer + 1])
    }

    /// The value of `word` whatever path it takes; `more` supplies the
    /// further words the wedge and tail tests and retries need.
    pub fn slow(&self, mut word: u64, mut more: impl FnMut() -> u64) -> f64 {
        loop {
            let (layer, z) = self.split(word);
            if z.abs() < self.x[layer + 1] {
                return z;
            }
            if layer == 0 {
                let t = tail(&mut more);
                return if z < 0.0 { -t } else { t };
            }
            // A uniform height in the layer, under the curve or not.
            let (low, high) = (self.f[layer], self.f[layer + 1]);
            let y = low + (high - low) * unit(more());
            let wedge = &self.wedges[layer];
            let chord = low + (high - low) * ((self.x[layer] - z.abs()) * wedge.inverse_width);
            let under = if y < chord + wedge.low {
                true
            } else if y >= chord + wedge.high {
                false
            } else {
                y < pdf(z)
            };
            if under {
                return z;
            }
            word = more();
        }
    }
}

impl Wedge {
    /// Bounds for the arc from `(a, fa)` to `(b, fb)`, a < b. Where the
    /// density is concave (|z| ≤ 1) the arc lies above its chord, where it
    /// is convex (|z| ≥ 1) below; the largest gap is where the slope of f
    /// equals the chord's, a root of `z·f(z) = s`, found by bisection. The
    /// one layer that straddles 1 gets no squeeze.
    fn new(a: f64, b: f64, fa: f64, fb: f64) -> Self {
        let inverse_width = 1.0 / (b - a);
        let s = (fa - fb) * inverse_width;
        let gap = |z: f64| pdf(z) - (fb + (fa - fb) * ((b - z) * inverse_width));
        let root = |increasing: bool| {
            let (mut lo, mut hi) = (a, b);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if (mid * pdf(mid) < s) == increasing {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            0.5 * (lo + hi)
        };
        let (low, high) = if b <= 1.0 {
            (0.0, gap(root(true)).max(0.0))
        } else if a >= 1.0 {
            (gap(root(false)).min(0.0), 0.0)
        } else {
            (f64::NEG_INFINITY, f64::INFINITY)
        };
        Self {
            inverse_width,
            low: low - SQUEEZE_MARGIN,
            high: high + SQUEEZE_MARGIN,
        }
    }
}

/// A value beyond R from the normal's tail (Marsaglia's method).
fn tail(more: &mut impl FnMut() -> u64) -> f64 {
    loop {
        let a = -ln(open_unit(more())) / R;
        let b = -ln(open_unit(more()));
        if 2.0 * b > a * a {
            return R + a;
        }
    }
}

/// A uniform in [0, 1) from the top 53 bits.
fn unit(word: u64) -> f64 {
    (word >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform in (0, 1) from the top 52 bits (never 0, so `ln` is finite).
fn open_unit(word: u64) -> f64 {
    ((word >> 12) as f64 + 0.5) * (1.0 / (1u64 << 52) as f64)
}

fn pdf(x: f64) -> f64 {
    exp(-0.5 * x * x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeeze_bounds_hold_on_every_arc() {
        let t = Ziggurat::get();
        let mut squeezed = 0;
        for l in 1..LAYERS {
            let (a, b, w) = (t.x[l + 1], t.x[l], t.wedges[l]);
            for i in 0..=2000 {
                let z = a + (b - a) * i as f64 / 2000.0;
                let chord = t.f[l] + (t.f[l + 1] - t.f[l]) * ((b - z) * w.inverse_width);
                let f = pdf(z);
                assert!(
                    chord + w.low <= f && f <= chord + w.high,
                    "layer {l}, z = {z}"
                );
            }
            // The band that still needs exp is a sliver of the layer.
            if w.high - w.low < 0.05 * (t.f[l + 1] - t.f[l]) {
                squeezed += 1;
            }
        }
        // All but the top arc, the one next to the tail and the one that
        // straddles the inflection point.
        assert!(squeezed >= LAYERS - 4, "{squeezed} layers squeezed");
    }

    #[test]
    fn tables_close_at_the_top_and_decrease() {
        let t = Ziggurat::get();
        assert!(t.x.windows(2).all(|w| w[0] > w[1]));
        assert_eq!(t.x[LAYERS], 0.0);
        assert_eq!(t.f[LAYERS], 1.0);
        // The top layer's area is V too: the recursion closes at x = 0.
        let top = t.x[LAYERS - 1] * (1.0 - t.f[LAYERS - 1]);
        assert!((top / V - 1.0).abs() < 1e-9, "top layer area {top} vs {V}");
        // Every layer has area V.
        for l in 1..LAYERS - 1 {
            let area = t.x[l] * (t.f[l + 1] - t.f[l]);
            assert!((area / V - 1.0).abs() < 1e-9, "layer {l}: {area}");
        }
    }
}
