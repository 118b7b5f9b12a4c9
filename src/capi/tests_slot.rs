//! Network slots and concurrent forward calls on one candidate, through
//! the C functions.

use super::*;
use std::ffi::c_void;
use std::ptr::null_mut;

const ROWS: usize = 64;

/// zoo_slot_forward on every row of `x` (3 inputs each) into `y`.
unsafe fn forward_rows(slot: *const zoo_slot, x: &[f64], y: &mut [f64]) -> zoo_status {
    zoo_slot_forward(
        slot,
        x.as_ptr(),
        x.len(),
        x.len() / 3,
        y.as_mut_ptr(),
        y.len(),
    )
}

fn model() -> *mut zoo_model {
    let sizes = [3usize, 16, 16, 2];
    let mut m = null_mut();
    let status = unsafe { zoo_model_new_mlp(sizes.as_ptr(), 4, c"tanh".as_ptr(), 5, &mut m) };
    assert_eq!(status, ZOO_OK);
    m
}

fn trainer(options: &str) -> *mut zoo_trainer {
    let m = model();
    let options = std::ffi::CString::new(options).unwrap();
    let mut t = null_mut();
    unsafe {
        assert_eq!(zoo_trainer_new(m, options.as_ptr(), &mut t), ZOO_OK);
        zoo_model_free(m);
    }
    t
}

fn inputs() -> Vec<f64> {
    (0..ROWS * 3)
        .map(|i| ((i * 37 % 101) as f64 / 50.0) - 1.0)
        .collect()
}

fn loss_of(y: &[f64]) -> f64 {
    y.iter().map(|v| (v - 0.25).powi(2)).sum()
}

/// How a callback reaches the network.
struct Host {
    slot: *mut zoo_slot,
    x: Vec<f64>,
}

unsafe extern "C" fn through_candidate(
    ud: *mut c_void,
    c: *mut zoo_candidate,
    loss: *mut f64,
) -> i32 {
    let host = &*ud.cast::<Host>();
    let mut y = [0.0; ROWS * 2];
    let s =
        zoo_candidate_forward_batch(c, host.x.as_ptr(), ROWS * 3, ROWS, y.as_mut_ptr(), ROWS * 2);
    *loss = loss_of(&y);
    s as i32
}

unsafe extern "C" fn through_slot(ud: *mut c_void, _: *mut zoo_candidate, loss: *mut f64) -> i32 {
    let host = &*ud.cast::<Host>();
    let mut y = [0.0; ROWS * 2];
    let s = zoo_slot_forward(
        host.slot,
        host.x.as_ptr(),
        ROWS * 3,
        ROWS,
        y.as_mut_ptr(),
        ROWS * 2,
    );
    *loss = loss_of(&y);
    s as i32
}

/// The host splits the rows over `threads` threads of its own, each
/// calling the slot for its share (an OpenMP loop over cells).
unsafe extern "C" fn slot_on_host_threads(
    ud: *mut c_void,
    _: *mut zoo_candidate,
    loss: *mut f64,
) -> i32 {
    let host = &*ud.cast::<Host>();
    let mut y = vec![0.0; ROWS * 2];
    let slot = host.slot as usize;
    let statuses: Vec<zoo_status> = std::thread::scope(|scope| {
        let handles: Vec<_> = y
            .chunks_mut(ROWS / 4 * 2)
            .zip(host.x.chunks(ROWS / 4 * 3))
            .map(|(y, x)| {
                scope.spawn(move || unsafe {
                    zoo_slot_forward(
                        slot as *const zoo_slot,
                        x.as_ptr(),
                        x.len(),
                        x.len() / 3,
                        y.as_mut_ptr(),
                        y.len(),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    *loss = loss_of(&y);
    statuses
        .into_iter()
        .find(|s| *s != ZOO_OK)
        .map_or(0, |s| s as i32)
}

fn train(options: &str, callback: zoo_loss_fn, flags: u32, steps: usize) -> (Vec<f64>, Vec<f64>) {
    let t = trainer(options);
    let mut slot = null_mut();
    let mut losses = Vec::new();
    let mut params = vec![0.0; 3 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2];
    unsafe {
        assert_eq!(zoo_slot_new(t, &mut slot), ZOO_OK);
        let mut host = Host { slot, x: inputs() };
        for _ in 0..steps {
            let mut loss = 0.0;
            let ud = (&mut host as *mut Host).cast();
            let status = zoo_step(t, callback, ud, flags, &mut loss);
            assert_eq!(
                status,
                ZOO_OK,
                "{}",
                std::ffi::CStr::from_ptr(zoo_last_error()).to_string_lossy()
            );
            losses.push(loss);
        }
        assert_eq!(
            zoo_trainer_get_params(t, params.as_mut_ptr(), params.len()),
            ZOO_OK
        );
        zoo_slot_free(slot);
        zoo_trainer_free(t);
    }
    (params, losses)
}

#[test]
fn a_slot_runs_the_candidate_of_its_thread_bit_for_bit() {
    let reference = train(
        "estimator=rge-central q=4 lr=0.05 seed=9",
        Some(through_candidate),
        0,
        5,
    );
    for threads in [1, 2, 4] {
        let options = format!("estimator=rge-central q=4 lr=0.05 seed=9 threads={threads}");
        let slotted = train(&options, Some(through_slot), ZOO_THREADSAFE, 5);
        assert_eq!(slotted, reference, "threads={threads}");
    }
    let sequential = train(
        "estimator=rge-central q=4 lr=0.05 seed=9",
        Some(through_slot),
        0,
        5,
    );
    assert_eq!(sequential, reference);
    // The host's own threads inside a sequential callback see its candidate.
    let split = train(
        "estimator=rge-central q=4 lr=0.05 seed=9",
        Some(slot_on_host_threads),
        0,
        5,
    );
    assert_eq!(split, reference);
}

#[test]
fn host_threads_inside_a_threadsafe_callback_get_busy() {
    let t = trainer("estimator=rge-central q=2 threads=2");
    let mut slot = null_mut();
    unsafe {
        assert_eq!(zoo_slot_new(t, &mut slot), ZOO_OK);
        let mut host = Host { slot, x: inputs() };
        let ud = (&mut host as *mut Host).cast();
        let status = zoo_step(
            t,
            Some(slot_on_host_threads),
            ud,
            ZOO_THREADSAFE,
            null_mut(),
        );
        assert_eq!(status, ZOO_CALLBACK_FAILED);
        assert!(
            std::ffi::CStr::from_ptr(zoo_last_error())
                .to_string_lossy()
                .contains(&format!("returned {}", ZOO_BUSY as i32)),
            "the callback passed the slot's ZOO_BUSY on"
        );
        zoo_slot_free(slot);
        zoo_trainer_free(t);
    }
}

#[test]
fn outside_training_a_slot_runs_the_current_weights_and_outlives_its_trainer_safely() {
    let t = trainer("estimator=rge-central q=2 lr=0.1");
    let x = inputs();
    let (mut by_slot, mut by_model, mut by_frozen) = (
        vec![0.0; ROWS * 2],
        vec![0.0; ROWS * 2],
        vec![0.0; ROWS * 2],
    );
    unsafe {
        let mut host = Host {
            slot: null_mut(),
            x: x.clone(),
        };
        let ud = (&mut host as *mut Host).cast();
        assert_eq!(
            zoo_step(t, Some(through_candidate), ud, 0, null_mut()),
            ZOO_OK
        );
        let (mut slot, mut frozen, mut copy) = (null_mut(), null_mut(), null_mut());
        assert_eq!(zoo_slot_new(t, &mut slot), ZOO_OK);
        assert_eq!(zoo_trainer_copy_model(t, &mut copy), ZOO_OK);
        assert_eq!(zoo_slot_new_model(copy, &mut frozen), ZOO_OK);
        assert_eq!(forward_rows(slot, &x, &mut by_slot), ZOO_OK);
        assert_eq!(
            zoo_model_forward_batch(
                copy,
                x.as_ptr(),
                x.len(),
                ROWS,
                by_model.as_mut_ptr(),
                by_model.len()
            ),
            ZOO_OK
        );
        assert_eq!(forward_rows(frozen, &x, &mut by_frozen), ZOO_OK);
        assert_eq!(by_slot, by_model);
        assert_eq!(by_frozen, by_model);
        assert_eq!(
            zoo_slot_forward(
                slot,
                x.as_ptr(),
                x.len() - 1,
                ROWS,
                by_slot.as_mut_ptr(),
                by_slot.len()
            ),
            ZOO_BAD_SIZE
        );

        zoo_trainer_free(t);
        let before = by_slot.clone();
        assert_eq!(forward_rows(slot, &x, &mut by_slot), ZOO_BAD_STATE);
        assert!(std::ffi::CStr::from_ptr(zoo_last_error())
            .to_string_lossy()
            .contains("trainer was freed"));
        assert_eq!(by_slot, before, "outputs untouched");
        assert_eq!(
            forward_rows(frozen, &x, &mut by_frozen),
            ZOO_OK,
            "a frozen slot owns its model"
        );
        zoo_slot_free(slot);
        zoo_slot_free(frozen);
        zoo_slot_free(null_mut());
        zoo_model_free(copy);
        assert_eq!(zoo_slot_new(null_mut(), &mut slot), ZOO_NULL_POINTER);
    }
}

/// Every thread forwards every row, one row per call, on the same
/// candidate: each must get the serial result exactly.
unsafe extern "C" fn many_threads_one_candidate(
    ud: *mut c_void,
    c: *mut zoo_candidate,
    loss: *mut f64,
) -> i32 {
    let host = &*ud.cast::<Host>();
    let mut serial = vec![0.0; ROWS * 2];
    if zoo_candidate_forward_batch(
        c,
        host.x.as_ptr(),
        ROWS * 3,
        ROWS,
        serial.as_mut_ptr(),
        ROWS * 2,
    ) != ZOO_OK
    {
        return 1;
    }
    let candidate = c as usize;
    let serial_ref = &serial;
    let inputs = &host.x;
    let mismatches: usize = std::thread::scope(|scope| {
        (0..4)
            .map(|_| {
                scope.spawn(move || {
                    let mut wrong = 0;
                    for _ in 0..20 {
                        for r in 0..ROWS {
                            // Batches of different sizes grow the workspaces.
                            let rows = 1 + r % 3;
                            let start = r.min(ROWS - rows);
                            let x = &inputs[start * 3..(start + rows) * 3];
                            let mut y = vec![0.0; rows * 2];
                            let s = unsafe {
                                zoo_candidate_forward_batch(
                                    candidate as *mut zoo_candidate,
                                    x.as_ptr(),
                                    x.len(),
                                    rows,
                                    y.as_mut_ptr(),
                                    y.len(),
                                )
                            };
                            if s != ZOO_OK || y[..] != serial_ref[start * 2..(start + rows) * 2] {
                                wrong += 1;
                            }
                        }
                    }
                    wrong
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum()
    });
    *loss = loss_of(&serial);
    i32::from(mismatches > 0) * 7
}

#[test]
fn many_threads_on_one_candidate_get_the_serial_result() {
    for options in [
        "estimator=rge-central q=2",
        "estimator=cge-central feature_reuse=on",
    ] {
        let t = trainer(options);
        unsafe {
            let mut host = Host {
                slot: null_mut(),
                x: inputs(),
            };
            let ud = (&mut host as *mut Host).cast();
            let status = zoo_step(t, Some(many_threads_one_candidate), ud, 0, null_mut());
            assert_eq!(
                status,
                ZOO_OK,
                "{options}: {}",
                std::ffi::CStr::from_ptr(zoo_last_error()).to_string_lossy()
            );
            zoo_trainer_free(t);
        }
    }
}
