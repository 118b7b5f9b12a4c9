//! How wide zoo's vector code may go: `ZOO_SIMD=portable` or `avx2` caps it
//! (for checks and benchmarks; results are the same bits at every width).
//! Read once, here, for the matrix kernels, the activations and the
//! direction generator alike.

use std::sync::OnceLock;

/// The widest instruction set allowed, ordered narrow to wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Ceiling {
    Portable,
    Avx2,
    Avx512,
}

/// The cap `ZOO_SIMD` sets; no cap (AVX-512) when it is unset or names
/// anything else.
pub(crate) fn ceiling() -> Ceiling {
    static CEILING: OnceLock<Ceiling> = OnceLock::new();
    *CEILING.get_or_init(|| match std::env::var("ZOO_SIMD").ok().as_deref() {
        Some("portable") => Ceiling::Portable,
        Some("avx2") => Ceiling::Avx2,
        _ => Ceiling::Avx512,
    })
}
