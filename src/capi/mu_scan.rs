//! `zoo_scan_mu`: the μ line scan (see `crate::mu_scan`) through the
//! host's loss callback.

use super::candidate_cells::Binding;
use super::step::{host_loss, zoo_loss_fn};
use super::{array_mut, guard, handle, ok, out_ptr, zoo_status, zoo_trainer};
use crate::error::ZooError;
use crate::mu_scan::RADII;
use std::ffi::c_void;

/// Radii of a μ scan (1e-9 to 1e-1, half a decade apart).
pub const ZOO_MU_SCAN_RADII: usize = 17;
/// Length of the report `zoo_scan_mu` writes: 8 + 3·ZOO_MU_SCAN_RADII.
pub const ZOO_MU_SCAN_REPORT: usize = 59;
const _: () = assert!(ZOO_MU_SCAN_RADII == RADII.len());
const _: () = assert!(ZOO_MU_SCAN_REPORT == 8 + 3 * ZOO_MU_SCAN_RADII);

/// Evaluates `loss_fn` at θ and at θ ± h·u along `directions` (1 to 64)
/// random unit directions for 17 radii h from 1e-9 to 1e-1, in order on
/// the calling thread (1 + 34·directions calls, candidate index 0), and
/// writes to `*mu` the smoothing radius to set as option `mu` for the
/// trainer's estimator and directions: the geometric middle of the radii
/// where central (or, for forward estimators, forward) differences agree
/// with the loss's stable slope within 10 %, divided by √m for Gaussian
/// RGE directions (their length is about √m). Changes nothing.
///
/// `report` (may be NULL with `report_len` 0) receives
/// ZOO_MU_SCAN_REPORT values: [0] L(θ), [1] the noise/jump size (|L₊ −
/// 2L + L₋| below the accurate radii), [2] the curvature along the
/// directions, [3] and [4] the smallest and largest accurate radius (NaN
/// when none is), [5] and [6] the recommended radius for central and for
/// forward differences along unit directions, [7] the evaluations made,
/// then the 17 radii, the 17 median relative errors of central slopes and
/// the 17 of forward slopes (infinite where no loss was finite).
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_BAD_SIZE (`report_len` neither
/// 0 nor ZOO_MU_SCAN_REPORT), ZOO_INVALID_ARGUMENT (`directions` 0 or over
/// 64; L(θ) not finite), ZOO_CALLBACK_FAILED.
#[no_mangle]
pub unsafe extern "C" fn zoo_scan_mu(
    trainer: *mut zoo_trainer,
    loss_fn: zoo_loss_fn,
    userdata: *mut c_void,
    directions: usize,
    mu: *mut f64,
    report: *mut f64,
    report_len: usize,
) -> zoo_status {
    guard(|| {
        let mu = out_ptr(mu, "mu")?;
        let report = match report_len {
            0 => None,
            ZOO_MU_SCAN_REPORT => Some(array_mut(report, report_len, "report")?),
            n => {
                return Err(ZooError::BadSize {
                    what: "report",
                    expected: ZOO_MU_SCAN_REPORT,
                    got: n,
                })
            }
        };
        let owner = handle(trainer, "trainer")?;
        let mut trainer = owner.exclusive(&"zoo_scan_mu")?;
        let host = host_loss(loss_fn, userdata, &owner.cells, Binding::Process)?;
        let scan = trainer.scan_mu(directions, |c| host.call(c))?;
        *mu = scan.mu;
        if let Some(out) = report {
            let head = [
                scan.loss,
                scan.noise,
                scan.curvature,
                scan.accurate_low,
                scan.accurate_high,
                scan.central_radius,
                scan.forward_radius,
                scan.evaluations as f64,
            ];
            let tables = RADII
                .iter()
                .chain(&scan.central_error)
                .chain(&scan.forward_error);
            for (o, v) in out.iter_mut().zip(head.iter().chain(tables)) {
                *o = *v;
            }
        }
        ok()
    })
}
