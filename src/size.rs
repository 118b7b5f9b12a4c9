//! Sizes that come from the host or from a file: their products are
//! checked and their allocations fallible, so a request too large is an
//! error (`ZOO_OUT_OF_MEMORY`), never a wrapped size or an abort of the
//! host process.

use crate::error::{Result, ZooError};

/// `rows × width`, or an error naming `what` when it overflows.
pub(crate) fn rows_times(what: &str, rows: usize, width: usize) -> Result<usize> {
    rows.checked_mul(width)
        .ok_or_else(|| ZooError::OutOfMemory {
            what: format!("{what}: {rows} rows × {width} overflows the address space"),
        })
}

/// Grows `buf` to at least `len` values (new ones `fill`), or fails
/// without changing it.
pub(crate) fn try_grow<T: Clone>(buf: &mut Vec<T>, len: usize, fill: T, what: &str) -> Result<()> {
    if buf.len() < len {
        buf.try_reserve_exact(len - buf.len())
            .map_err(|_| refused(what, len, std::mem::size_of::<T>()))?;
        buf.resize(len, fill);
    }
    Ok(())
}

/// `len` copies of `value`, allocated fallibly.
pub(crate) fn try_vec<T: Clone>(len: usize, value: T, what: &str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    try_grow(&mut v, len, value, what)?;
    Ok(v)
}

/// A copy of `values`, allocated fallibly.
pub(crate) fn try_copy<T: Clone>(values: &[T], what: &str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(values.len())
        .map_err(|_| refused(what, values.len(), std::mem::size_of::<T>()))?;
    v.extend_from_slice(values);
    Ok(v)
}

fn refused(what: &str, len: usize, item: usize) -> ZooError {
    let bytes = (len as u128) * (item as u128);
    ZooError::OutOfMemory {
        what: format!("{what}: {len} values ({bytes} bytes) could not be allocated"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflowing_products_and_impossible_allocations_are_errors() {
        assert_eq!(rows_times("x", 3, 4).unwrap(), 12);
        let e = rows_times("batch inputs", (1 << 63) + 1, 2).unwrap_err();
        assert!(e.to_string().contains("batch inputs"), "{e}");
        let mut buf = vec![1.0f64; 3];
        let e = try_grow(&mut buf, usize::MAX / 16, 0.0, "workspace").unwrap_err();
        assert!(matches!(e, ZooError::OutOfMemory { .. }), "{e}");
        assert_eq!(
            buf, [1.0; 3],
            "a refused growth leaves the buffer as it was"
        );
        try_grow(&mut buf, 5, 0.0, "workspace").unwrap();
        assert_eq!(buf, [1.0, 1.0, 1.0, 0.0, 0.0]);
        assert!(try_vec(1usize << 60, 0.0f64, "y").is_err());
        assert_eq!(try_copy(&[1, 2], "x").unwrap(), [1, 2]);
    }
}
