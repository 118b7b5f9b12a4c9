//! The busy rule and the candidate lifetime rule, through the C functions.

use super::checkpoint::{zoo_trainer_restore, zoo_trainer_save};
use super::*;
use std::ffi::{c_void, CStr};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::sync::mpsc;

fn last_error() -> String {
    unsafe { CStr::from_ptr(zoo_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn trainer(options: &str) -> *mut zoo_trainer {
    let sizes = [2usize, 4, 1];
    let mut model = null_mut();
    let mut trainer = null_mut();
    let options = std::ffi::CString::new(options).unwrap();
    unsafe {
        assert_eq!(
            zoo_model_new_mlp(sizes.as_ptr(), 3, c"tanh".as_ptr(), 1, &mut model),
            ZOO_OK
        );
        assert_eq!(
            zoo_trainer_new(model, options.as_ptr(), &mut trainer),
            ZOO_OK
        );
        zoo_model_free(model);
    }
    trainer
}

fn params(t: *const zoo_trainer) -> Vec<f64> {
    let mut p = vec![0.0; 17];
    assert_eq!(
        unsafe { zoo_trainer_get_params(t, p.as_mut_ptr(), 17) },
        ZOO_OK
    );
    p
}

unsafe fn forward_loss(candidate: *mut zoo_candidate, loss: *mut f64) -> i32 {
    let (x, mut y) = ([0.3, -0.7], [0.0]);
    let status = zoo_candidate_forward(candidate, x.as_ptr(), 2, y.as_mut_ptr(), 1);
    *loss = (y[0] - 0.5).powi(2);
    status as i32
}

/// What a callback tries on its own trainer, and what came back.
struct Nested {
    trainer: *mut zoo_trainer,
    attempt: fn(*mut zoo_trainer) -> zoo_status,
    statuses: Vec<(zoo_status, String)>,
}

unsafe extern "C" fn nesting_loss(ud: *mut c_void, c: *mut zoo_candidate, loss: *mut f64) -> i32 {
    let nested = &mut *ud.cast::<Nested>();
    let status = (nested.attempt)(nested.trainer);
    nested.statuses.push((status, last_error()));
    forward_loss(c, loss)
}

unsafe extern "C" fn plain_loss(_: *mut c_void, c: *mut zoo_candidate, loss: *mut f64) -> i32 {
    forward_loss(c, loss)
}

/// Runs one `zoo_step` whose callback makes `attempt` on its own trainer;
/// returns the attempts' statuses after checking that the step succeeded
/// and gave the same weights as a step without them.
fn nested(attempt: fn(*mut zoo_trainer) -> zoo_status) -> Vec<(zoo_status, String)> {
    let options = "estimator=rge-central q=2 lr=0.1 seed=3";
    let (t, reference) = (trainer(options), trainer(options));
    let mut n = Nested {
        trainer: t,
        attempt,
        statuses: Vec::new(),
    };
    unsafe {
        let ud = (&mut n as *mut Nested).cast();
        assert_eq!(zoo_step(t, Some(nesting_loss), ud, 0, null_mut()), ZOO_OK);
        assert_eq!(
            zoo_step(reference, Some(plain_loss), null_mut(), 0, null_mut()),
            ZOO_OK
        );
        assert_eq!(
            params(t),
            params(reference),
            "a refused call changed nothing"
        );
        // The trainer is usable afterwards.
        assert_eq!(
            zoo_step(t, Some(plain_loss), null_mut(), 0, null_mut()),
            ZOO_OK
        );
        zoo_trainer_free(t);
        zoo_trainer_free(reference);
    }
    assert_eq!(n.statuses.len(), 4, "every candidate was evaluated");
    n.statuses
}

fn assert_all_busy(statuses: &[(zoo_status, String)], call: &str) {
    for (status, message) in statuses {
        assert_eq!(*status, ZOO_BUSY, "{message}");
        assert!(
            message.contains(&format!("{call} refused")) && message.contains("busy in zoo_step"),
            "{message}"
        );
    }
}

#[test]
fn calls_from_inside_a_callback_are_refused_and_change_nothing() {
    assert_all_busy(
        &nested(|t| unsafe { zoo_step(t, Some(plain_loss), null_mut(), 0, null_mut()) }),
        "zoo_step",
    );
    assert_all_busy(
        &nested(|t| unsafe {
            let mut id = 0;
            zoo_ask(t, &mut id)
        }),
        "zoo_ask",
    );
    assert_all_busy(
        &nested(|t| unsafe { zoo_trainer_set(t, c"lr".as_ptr(), c"5".as_ptr()) }),
        "zoo_trainer_set",
    );
    assert_all_busy(
        &nested(|t| unsafe { zoo_trainer_set_params(t, [9.0; 17].as_ptr(), 17) }),
        "zoo_trainer_set_params",
    );
    assert_all_busy(
        &nested(|t| unsafe { zoo_trainer_set_mask(t, [0u8; 17].as_ptr(), 17) }),
        "zoo_trainer_set_mask",
    );
    assert_all_busy(
        &nested(|t| unsafe { zoo_trainer_save(t, c"/tmp/zoo-never-written.safetensors".as_ptr()) }),
        "zoo_trainer_save",
    );
    assert_all_busy(
        &nested(|t| unsafe { zoo_trainer_restore(t, c"/nonexistent".as_ptr()) }),
        "zoo_trainer_restore",
    );
    assert!(!std::path::Path::new("/tmp/zoo-never-written.safetensors").exists());
}

#[test]
fn freeing_a_busy_trainer_frees_nothing() {
    // nested() steps and frees the trainer afterwards: a use-after-free
    // would show under the sanitizers and valgrind runs of the C suite.
    for (status, message) in nested(|t| {
        unsafe { zoo_trainer_free(t) };
        ZOO_BUSY
    }) {
        assert_eq!(status, ZOO_BUSY);
        assert!(message.contains("zoo_trainer_free refused"), "{message}");
    }
}

#[test]
fn reads_inside_a_callback_see_the_last_completed_iteration() {
    let t = trainer("estimator=rge-central q=2 lr=0.1 seed=3");
    unsafe {
        assert_eq!(
            zoo_step(t, Some(plain_loss), null_mut(), 0, null_mut()),
            ZOO_OK
        );
        let statuses = {
            let mut n = Nested {
                trainer: t,
                attempt: |t| {
                    let (mut it, mut metric, mut np) = (0u64, 0.0, 0usize);
                    assert_eq!(zoo_trainer_iteration(t, &mut it), ZOO_OK);
                    assert_eq!(
                        zoo_trainer_metric(t, c"iteration".as_ptr(), &mut metric),
                        ZOO_OK
                    );
                    assert_eq!(zoo_trainer_num_params(t, &mut np), ZOO_OK);
                    assert_eq!((it, metric, np), (1, 1.0, 17), "metric and counter agree");
                    let mut buf = [0 as c_char; 32];
                    zoo_trainer_get(t, c"lr".as_ptr(), buf.as_mut_ptr(), 32)
                },
                statuses: Vec::new(),
            };
            let ud = (&mut n as *mut Nested).cast();
            assert_eq!(zoo_step(t, Some(nesting_loss), ud, 0, null_mut()), ZOO_OK);
            n.statuses
        };
        assert_all_busy(&statuses, "zoo_trainer_get");
        zoo_trainer_free(t);
    }
}

/// Signals that a callback runs, then waits until told to return.
struct Rendezvous {
    entered: mpsc::SyncSender<()>,
    release: std::sync::Mutex<mpsc::Receiver<()>>,
}

unsafe extern "C" fn waiting_loss(ud: *mut c_void, c: *mut zoo_candidate, loss: *mut f64) -> i32 {
    let r = &*ud.cast::<Rendezvous>();
    r.entered.send(()).unwrap();
    r.release.lock().unwrap().recv().unwrap();
    forward_loss(c, loss)
}

struct SendPtr(*mut zoo_trainer);
unsafe impl Send for SendPtr {}

#[test]
fn a_second_thread_gets_busy_while_a_step_runs() {
    let t = trainer("estimator=rge-central q=1 lr=0.1 seed=3");
    let (entered_tx, entered) = mpsc::sync_channel(0);
    let (release, release_rx) = mpsc::channel();
    let r = Rendezvous {
        entered: entered_tx,
        release: std::sync::Mutex::new(release_rx),
    };
    let ptr = SendPtr(t);
    let rp = &r as *const Rendezvous as usize;
    let stepper = std::thread::spawn(move || {
        let ptr = ptr;
        unsafe { zoo_step(ptr.0, Some(waiting_loss), rp as *mut c_void, 0, null_mut()) }
    });
    entered.recv().unwrap();
    unsafe {
        assert_eq!(
            zoo_step(t, Some(plain_loss), null_mut(), 0, null_mut()),
            ZOO_BUSY
        );
        assert!(
            last_error().contains("busy in zoo_step"),
            "{}",
            last_error()
        );
        let mut p = [0.0; 17];
        assert_eq!(zoo_trainer_get_params(t, p.as_mut_ptr(), 17), ZOO_BUSY);
        zoo_trainer_free(t);
        assert!(last_error().contains("zoo_trainer_free refused"));
    }
    // rge-central q=1: two candidates, each waits once.
    release.send(()).unwrap();
    release.send(()).unwrap();
    entered.recv().unwrap();
    assert_eq!(stepper.join().unwrap(), ZOO_OK);
    unsafe { zoo_trainer_free(t) };
}

static KEPT: AtomicPtr<zoo_candidate> = AtomicPtr::new(null_mut());
static STALE_STATUS: AtomicU32 = AtomicU32::new(u32::MAX);

unsafe extern "C" fn keeping_loss(_: *mut c_void, c: *mut zoo_candidate, loss: *mut f64) -> i32 {
    let kept = KEPT.load(Ordering::SeqCst);
    if !kept.is_null() && kept != c {
        let mut index = 0;
        STALE_STATUS.store(
            zoo_candidate_index(kept, &mut index) as u32,
            Ordering::SeqCst,
        );
    }
    KEPT.store(c, Ordering::SeqCst);
    forward_loss(c, loss)
}

#[test]
fn a_candidate_kept_beyond_its_callback_is_refused() {
    let t = trainer("estimator=rge-central q=2 lr=0.1 seed=3");
    unsafe {
        assert_eq!(
            zoo_step(t, Some(keeping_loss), null_mut(), 0, null_mut()),
            ZOO_OK
        );
        // A pointer from an earlier callback, used inside a later one.
        assert_eq!(
            STALE_STATUS.load(Ordering::SeqCst),
            ZOO_BAD_CANDIDATE as u32
        );
        // And after the step returned.
        let kept = KEPT.load(Ordering::SeqCst);
        let (x, mut y) = ([0.3, -0.7], [0.0]);
        assert_eq!(
            zoo_candidate_forward(kept, x.as_ptr(), 2, y.as_mut_ptr(), 1),
            ZOO_BAD_CANDIDATE
        );
        assert!(
            last_error().contains("callback has returned"),
            "{}",
            last_error()
        );
        let mut index = 7;
        assert_eq!(zoo_candidate_index(kept, &mut index), ZOO_BAD_CANDIDATE);
        assert_eq!(index, 7, "out-pointers untouched");
        let mut p = [0.0; 17];
        assert_eq!(
            zoo_candidate_get_params(kept, p.as_mut_ptr(), 17),
            ZOO_BAD_CANDIDATE
        );
        assert_eq!(zoo_candidate_index(null(), &mut index), ZOO_NULL_POINTER);
        zoo_trainer_free(t);
    }
}
