//! The C-level argument checks: C functions called with fuzzed sizes,
//! NULL pointers, ids, strings and flags, each buffer exactly as long as
//! its size argument claims (so a read past it is a bug the sanitizer
//! reports). Every call must return a known status and never crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ffi::CString;
use std::ptr;
use zoo::capi::*;

/// Reads fuzz input as a stream of small numbers.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }
    fn size(&mut self, max: usize) -> usize {
        (self.byte() as usize) % (max + 1)
    }
    fn string(&mut self) -> CString {
        let len = self.size(24);
        let bytes: Vec<u8> = (0..len).map(|_| self.byte().max(1)).collect();
        CString::new(bytes).unwrap()
    }
    fn values(&mut self, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| (self.byte() as f64 - 128.0) / 32.0)
            .collect()
    }
}

fn check(status: zoo_status) {
    assert!((status as u32) <= zoo_status::ZOO_BUSY as u32);
}

/// Row counts: small ones, and ones whose product with a width wraps.
fn rows(input: &mut Input) -> usize {
    match input.byte() % 8 {
        0 => (1 << 63) + 1,
        1 => (1 << 59) + 1,
        2 => usize::MAX,
        _ => input.size(5),
    }
}

/// What a loss callback tries on its own trainer: every such call must be
/// refused as busy, and the candidate is kept to be used after the step.
struct Nested {
    trainer: *mut zoo_trainer,
    call: u8,
    kept: std::sync::atomic::AtomicPtr<zoo_candidate>,
}

unsafe extern "C" fn nesting_loss(
    userdata: *mut std::ffi::c_void,
    candidate: *mut zoo_candidate,
    out: *mut f64,
) -> i32 {
    let n = &*userdata.cast::<Nested>();
    let t = n.trainer;
    let mut p = [0.0; 4];
    let (mut id, mut count) = (0u64, 0usize);
    let status = match n.call % 6 {
        0 => zoo_step(t, Some(nesting_loss), userdata, 0, ptr::null_mut()),
        1 => zoo_ask(t, &mut id),
        2 => zoo_trainer_set(t, c"lr".as_ptr(), c"0.5".as_ptr()),
        3 => zoo_trainer_get_params(t, p.as_mut_ptr(), 4),
        4 => zoo_ask_batch(t, &mut id, 1, &mut count),
        _ => {
            zoo_trainer_free(t);
            zoo_status::ZOO_BUSY
        }
    };
    assert_eq!(status, zoo_status::ZOO_BUSY);
    n.kept.store(candidate, std::sync::atomic::Ordering::SeqCst);
    let mut index = 0;
    check(zoo_candidate_index(candidate, &mut index));
    *out = index as f64;
    0
}

unsafe extern "C" fn loss(
    _: *mut std::ffi::c_void,
    y: *const f64,
    ny: usize,
    out: *mut f64,
) -> i32 {
    *out = std::slice::from_raw_parts(y, ny)
        .iter()
        .map(|v| v * v)
        .sum();
    0
}

fuzz_target!(|data: &[u8]| {
    // The one option that writes files; fuzzing must not litter.
    if data.windows(7).any(|w| w == b"metrics") {
        return;
    }
    let mut input = Input(data);
    unsafe {
        let sizes: Vec<usize> = (0..input.size(4)).map(|_| input.size(6)).collect();
        let activation = match input.byte() % 5 {
            0 => CString::new("tanh").unwrap(),
            1 => CString::new("relu").unwrap(),
            2 => CString::new("identity").unwrap(),
            3 => CString::new("gelu").unwrap(),
            _ => input.string(),
        };
        let mut model = ptr::null_mut();
        let sizes_ptr = if input.byte() % 8 == 0 {
            ptr::null()
        } else {
            sizes.as_ptr()
        };
        if input.byte() % 4 == 0 {
            let (inputs, degree, outputs) = (input.size(6), input.size(4), input.size(4));
            check(zoo_model_new_polynomial(
                inputs, degree, outputs, 1, &mut model,
            ));
        } else {
            check(zoo_model_new_mlp(
                sizes_ptr,
                sizes.len(),
                activation.as_ptr(),
                1,
                &mut model,
            ));
        }
        if model.is_null() {
            return;
        }
        let options = input.string();
        let mut trainer = ptr::null_mut();
        check(zoo_trainer_new(model, options.as_ptr(), &mut trainer));
        if trainer.is_null() {
            check(zoo_trainer_new(model, ptr::null(), &mut trainer));
        }
        for _ in 0..input.size(12) {
            let (nx, ny, nrows) = (input.size(20), input.size(20), rows(&mut input));
            let x = input.values(nx);
            let mut y = vec![0.0; ny];
            match input.byte() % 9 {
                0 => check(zoo_model_forward(model, x.as_ptr(), nx, y.as_mut_ptr(), ny)),
                1 => check(zoo_model_forward_batch(
                    model,
                    x.as_ptr(),
                    nx,
                    nrows,
                    y.as_mut_ptr(),
                    ny,
                )),
                2 => check(zoo_trainer_set_params(trainer, x.as_ptr(), nx)),
                3 => check(zoo_trainer_get_params(trainer, y.as_mut_ptr(), ny)),
                4 => {
                    let (key, value) = (input.string(), input.string());
                    check(zoo_trainer_set(trainer, key.as_ptr(), value.as_ptr()));
                }
                5 => check(zoo_step_outputs(
                    trainer,
                    x.as_ptr(),
                    nx,
                    nrows,
                    Some(loss),
                    ptr::null_mut(),
                    ptr::null_mut(),
                )),
                6 => check(zoo_trainer_set_batch(
                    trainer,
                    x.as_ptr(),
                    nx,
                    nrows,
                    input.byte() as i32 % 3,
                )),
                7 => {
                    let mut id = 0u64;
                    if zoo_ask(trainer, &mut id) == zoo_status::ZOO_OK {
                        let id = if input.byte() % 4 == 0 {
                            id ^ input.byte() as u64
                        } else {
                            id
                        };
                        check(zoo_candidate_outputs(trainer, id, y.as_mut_ptr(), ny));
                        check(zoo_forward_batch(
                            trainer,
                            id,
                            x.as_ptr(),
                            nx,
                            nrows,
                            y.as_mut_ptr(),
                            ny,
                        ));
                        check(zoo_tell(
                            trainer,
                            id,
                            x.first().copied().unwrap_or(f64::NAN),
                            ptr::null_mut(),
                        ));
                    }
                }
                8 if input.byte() % 3 == 0 => {
                    let mut nested = Nested {
                        trainer,
                        call: input.byte(),
                        kept: Default::default(),
                    };
                    let flags = u32::from(input.byte() % 2);
                    let ud = (&mut nested as *mut Nested).cast();
                    check(zoo_step(trainer, Some(nesting_loss), ud, flags, ptr::null_mut()));
                    let kept = nested.kept.into_inner();
                    if !kept.is_null() {
                        let mut index = 0;
                        let status = zoo_candidate_index(kept, &mut index);
                        assert_eq!(status, zoo_status::ZOO_BAD_CANDIDATE);
                    }
                }
                8 if input.byte() % 2 == 0 => {
                    let threshold = (input.byte() as f64 - 100.0) / 50.0;
                    let mut pruned = 0usize;
                    check(zoo_trainer_threshold(
                        trainer,
                        threshold,
                        input.byte() as i32 % 3,
                        &mut pruned,
                    ));
                }
                _ => {
                    let mask: Vec<u8> = (0..nx).map(|_| input.byte() % 3).collect();
                    check(zoo_model_set_mask(model, mask.as_ptr(), nx));
                }
            }
        }
        zoo_trainer_free(trainer);
        zoo_model_free(model);
    }
});
