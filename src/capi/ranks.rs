//! C functions for training across MPI ranks without zoo linking MPI.

use super::{exclusive, guard, ok, out_ptr, zoo_status, zoo_trainer};
use crate::error::ZooError;
use std::ffi::c_void;

/// The host's allreduce: replace `values[0..n]` by their sum over all
/// ranks of its communicator (e.g. `MPI_Allreduce(MPI_IN_PLACE, values, n,
/// MPI_DOUBLE, MPI_SUM, comm)`). Return 0 on success.
pub type zoo_allreduce_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, values: *mut f64, n: usize) -> i32>;

struct HostAllreduce {
    callback: unsafe extern "C" fn(*mut c_void, *mut f64, usize) -> i32,
    userdata: *mut c_void,
}

// SAFETY: the trainer calls it only from the thread that drives it.
unsafe impl Send for HostAllreduce {}

/// Makes the trainer one of `size` ranks (this one `rank`) that train the
/// same model together: each `zoo_step`, or each rank's last `zoo_tell` of
/// an ask/tell iteration, ends with one call of `allreduce` on every rank.
/// With option partition=candidates (default) the ranks share the
/// candidates (zoo_ask hands out each rank its own); with
/// partition=replicated each rank evaluates every candidate on its own
/// subdomain and the partial losses are summed. Weights stay bit-identical
/// on all ranks without a broadcast, and ask/tell gives the weights
/// zoo_step gives. Every rank must create the trainer with the same model,
/// options and seed, and call the same functions in the same order; an
/// evaluation failure on one rank (a failing callback, an aborting tell,
/// zoo_abort_iteration) aborts the iteration on all (ZOO_RANK_FAILED on the
/// others). The allreduce is called from the thread making that call.
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_INVALID_ARGUMENT (rank ≥ size or size 0),
/// ZOO_BAD_STATE.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_set_communicator(
    trainer: *mut zoo_trainer,
    allreduce: zoo_allreduce_fn,
    userdata: *mut c_void,
    rank: u32,
    size: u32,
) -> zoo_status {
    guard(|| {
        let mut trainer = exclusive(trainer, &"zoo_trainer_set_communicator")?;
        let callback = allreduce.ok_or(ZooError::NullPointer("allreduce"))?;
        let mut host = HostAllreduce { callback, userdata };
        trainer.set_communicator(
            rank as usize,
            size as usize,
            Box::new(move |values: &mut [f64]| {
                let host = &mut host;
                // SAFETY: values is a live buffer of the length passed.
                match unsafe { (host.callback)(host.userdata, values.as_mut_ptr(), values.len()) } {
                    0 => Ok(()),
                    code => Err(code),
                }
            }),
        )?;
        ok()
    })
}

/// Collective: checks that every rank holds the same weights (one
/// allreduce of a hash of θ). Writes 1 to `*consistent` when they agree,
/// 0 when some rank diverged (1 without a communicator).
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_ALLREDUCE_FAILED.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_check_consistency(
    trainer: *mut zoo_trainer,
    consistent: *mut i32,
) -> zoo_status {
    guard(|| {
        let consistent = out_ptr(consistent, "consistent")?;
        let agree = exclusive(trainer, &"zoo_trainer_check_consistency")?.check_consistency()?;
        *consistent = i32::from(agree);
        ok()
    })
}
