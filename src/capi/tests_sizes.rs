//! Sizes from the host whose products overflow or cannot be allocated:
//! a status, never a wrapped size, a panic or an abort.

use super::*;
use std::ptr::null_mut;

const HUGE: usize = (1 << 63) + 1;

fn model(sizes: &[usize]) -> *mut zoo_model {
    let mut model = null_mut();
    let status =
        unsafe { zoo_model_new_mlp(sizes.as_ptr(), sizes.len(), c"tanh".as_ptr(), 1, &mut model) };
    assert_eq!(status, ZOO_OK);
    model
}

unsafe extern "C" fn sum_of_outputs(
    _: *mut std::ffi::c_void,
    y: *const f64,
    ny: usize,
    loss: *mut f64,
) -> i32 {
    *loss = std::slice::from_raw_parts(y, ny).iter().sum();
    0
}

#[test]
fn wrapping_row_counts_are_refused() {
    let m = model(&[2, 3, 2]);
    let x = [0.5, -0.5];
    let mut y = [7.0, 7.0];
    unsafe {
        // (2^63 + 1) × 2 wraps to 2: the lengths would seem to match.
        let status = zoo_model_forward_batch(m, x.as_ptr(), 2, HUGE, y.as_mut_ptr(), 2);
        assert_eq!(status, ZOO_OUT_OF_MEMORY);
        assert_eq!(y, [7.0, 7.0], "outputs untouched");

        let mut t = null_mut();
        assert_eq!(
            zoo_trainer_new(m, c"estimator=rge-central q=2".as_ptr(), &mut t),
            ZOO_OK
        );
        let status = zoo_step_outputs(
            t,
            x.as_ptr(),
            2,
            HUGE,
            Some(sum_of_outputs),
            null_mut(),
            null_mut(),
        );
        assert_eq!(status, ZOO_OUT_OF_MEMORY);
        let mut iteration = 9;
        assert_eq!(zoo_trainer_iteration(t, &mut iteration), ZOO_OK);
        assert_eq!(iteration, 0, "the trainer did not update");

        let fit = zoo_model_fit(
            m,
            x.as_ptr(),
            2,
            y.as_ptr(),
            2,
            HUGE,
            std::ptr::null(),
            null_mut(),
        );
        assert_eq!(fit, ZOO_OUT_OF_MEMORY);
        zoo_trainer_free(t);
        zoo_model_free(m);
    }
}

#[test]
fn a_batch_whose_size_wraps_is_refused_and_ask_still_works() {
    let m = model(&[32, 4, 32]);
    let x = [0.1; 32];
    unsafe {
        let mut t = null_mut();
        assert_eq!(
            zoo_trainer_new(m, c"estimator=cge-central".as_ptr(), &mut t),
            ZOO_OK
        );
        // (2^59 + 1) × 32 wraps to 32.
        let status = zoo_trainer_set_batch(t, x.as_ptr(), 32, (1 << 59) + 1, 1);
        assert_eq!(status, ZOO_OUT_OF_MEMORY);
        let mut id = 0;
        assert_eq!(
            zoo_ask(t, &mut id),
            ZOO_OK,
            "no batch was set: weight space"
        );
        zoo_trainer_free(t);
        zoo_model_free(m);
    }
}

#[test]
fn a_polynomial_degree_too_deep_for_the_stack_is_refused() {
    let mut m = null_mut();
    let status = unsafe { zoo_model_new_polynomial(1, 99_999, 1, 1, &mut m) };
    assert_eq!(status, ZOO_INVALID_ARGUMENT);
    assert!(last_error_text().contains("[1, 1000]"));
    let status = unsafe { zoo_model_new_polynomial(1, 1000, 1, 1, &mut m) };
    assert_eq!(status, ZOO_OK, "the limit itself is accepted");
    unsafe { zoo_model_free(m) };
}

fn last_error_text() -> String {
    unsafe { std::ffi::CStr::from_ptr(zoo_last_error()) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_model_too_large_to_allocate_is_out_of_memory() {
    let sizes = [1usize, 1 << 40, 1];
    let mut m = null_mut();
    let status = unsafe { zoo_model_new_mlp(sizes.as_ptr(), 3, c"tanh".as_ptr(), 1, &mut m) };
    assert_eq!(status, ZOO_OUT_OF_MEMORY);
    assert!(m.is_null());
    let sizes = [1usize, usize::MAX / 2, 1];
    let status = unsafe { zoo_model_new_mlp(sizes.as_ptr(), 3, c"tanh".as_ptr(), 1, &mut m) };
    assert_eq!(
        status, ZOO_INVALID_ARGUMENT,
        "the parameter count overflows"
    );
}
