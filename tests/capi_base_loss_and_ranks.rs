//! Through the C functions: the loss zoo_step returns with option
//! base_loss, and ask/tell across ranks (simulated by threads, with an
//! allreduce callback built on a barrier), which must give the weights
//! zoo_step gives on the same ranks.

use std::ffi::{c_void, CString};
use std::ptr::null_mut;
use std::sync::{Arc, Barrier, Mutex};
use zoo::capi::*;

const SIZES: [usize; 3] = [2, 4, 1];
const NPARAMS: usize = 17;
const ROWS: [([f64; 2], f64); 4] = [
    ([0.3, -0.7], 0.5),
    ([-0.2, 0.4], -0.1),
    ([0.9, 0.1], 0.8),
    ([-0.6, -0.5], 0.2),
];

fn trainer(options: &str) -> *mut zoo_trainer {
    let (mut model, mut trainer) = (null_mut(), null_mut());
    let options = CString::new(options).unwrap();
    unsafe {
        assert_eq!(
            zoo_model_new_mlp(SIZES.as_ptr(), 3, c"tanh".as_ptr(), 7, &mut model),
            zoo_status::ZOO_OK
        );
        assert_eq!(
            zoo_trainer_new(model, options.as_ptr(), &mut trainer),
            zoo_status::ZOO_OK
        );
        zoo_model_free(model);
    }
    trainer
}

fn params(t: *const zoo_trainer) -> Vec<f64> {
    let mut p = vec![0.0; NPARAMS];
    assert_eq!(
        unsafe { zoo_trainer_get_params(t, p.as_mut_ptr(), NPARAMS) },
        zoo_status::ZOO_OK
    );
    p
}

fn metric(t: *const zoo_trainer, name: &str) -> f64 {
    let (name, mut value) = (CString::new(name).unwrap(), f64::NAN);
    assert_eq!(
        unsafe { zoo_trainer_metric(t, name.as_ptr(), &mut value) },
        zoo_status::ZOO_OK
    );
    value
}

/// The squared error over the rows, from outputs `y` of the rows.
fn error_of(y: &[f64]) -> f64 {
    ROWS.iter().zip(y).map(|((_, t), y)| (y - t).powi(2)).sum()
}

unsafe extern "C" fn loss_cb(_: *mut c_void, c: *mut zoo_candidate, loss: *mut f64) -> i32 {
    let x: Vec<f64> = ROWS.iter().flat_map(|(x, _)| *x).collect();
    let mut y = [0.0; 4];
    let status = zoo_candidate_forward_batch(c, x.as_ptr(), 8, 4, y.as_mut_ptr(), 4);
    *loss = error_of(&y);
    status as i32
}

#[test]
fn zoo_step_returns_the_base_loss_with_the_option_and_the_mean_without() {
    for (options, base) in [
        ("estimator=rge-central q=4 lr=0.05", false),
        ("estimator=rge-central q=4 lr=0.05 base_loss=on", true),
    ] {
        let t = trainer(options);
        let mut at_theta = f64::NAN;
        let mut loss = f64::NAN;
        unsafe {
            assert_eq!(
                zoo_evaluate(t, Some(loss_cb), null_mut(), &mut at_theta),
                zoo_status::ZOO_OK
            );
            assert_eq!(
                zoo_step(t, Some(loss_cb), null_mut(), 0, &mut loss),
                zoo_status::ZOO_OK
            );
        }
        let mut candidates = 0;
        unsafe { zoo_trainer_num_candidates(t, &mut candidates) };
        if base {
            assert_eq!(loss, at_theta, "the base loss, L(θ) before the update");
            assert_eq!(metric(t, "base_loss"), at_theta);
            assert_eq!((metric(t, "evaluations"), candidates), (9.0, 9));
        } else {
            assert_eq!(loss, metric(t, "mean_loss"));
            assert!(metric(t, "base_loss").is_nan());
            assert_ne!(loss, at_theta);
            assert_eq!(candidates, 8);
        }
        assert_eq!(loss, metric(t, "loss"));
        unsafe { zoo_trainer_free(t) };
    }
}

/// MPI_Allreduce(SUM) over threads.
struct Comm {
    sum: Mutex<Vec<f64>>,
    barrier: Barrier,
}

unsafe extern "C" fn allreduce(userdata: *mut c_void, values: *mut f64, n: usize) -> i32 {
    let comm = &*userdata.cast::<Comm>();
    let values = std::slice::from_raw_parts_mut(values, n);
    {
        let mut sum = comm.sum.lock().unwrap();
        sum.resize(n, 0.0);
        for (s, v) in sum.iter_mut().zip(values.iter()) {
            *s += v;
        }
    }
    comm.barrier.wait();
    values.copy_from_slice(&comm.sum.lock().unwrap());
    if comm.barrier.wait().is_leader() {
        comm.sum.lock().unwrap().clear();
    }
    comm.barrier.wait();
    0
}

/// One ask/tell iteration on one rank, two ids at a time; with `abort`
/// the rank aborts after its first ask. Returns the status of the call
/// that ended the iteration for this rank.
fn ask_tell_iteration(t: *mut zoo_trainer, abort: bool) -> zoo_status {
    let x: Vec<f64> = ROWS.iter().flat_map(|(x, _)| *x).collect();
    loop {
        let (mut ids, mut count) = ([0u64; 2], 0usize);
        let status = unsafe { zoo_ask_batch(t, ids.as_mut_ptr(), 2, &mut count) };
        if status != zoo_status::ZOO_OK {
            return status;
        }
        if abort {
            return unsafe { zoo_abort_iteration(t) };
        }
        for &id in ids[..count].iter().rev() {
            let mut y = [0.0; 4];
            let mut updated = 0;
            unsafe {
                assert_eq!(
                    zoo_forward_batch(t, id, x.as_ptr(), 8, 4, y.as_mut_ptr(), 4),
                    zoo_status::ZOO_OK
                );
                let status = zoo_tell(t, id, error_of(&y), &mut updated);
                if status != zoo_status::ZOO_OK || updated == 1 {
                    return status;
                }
            }
        }
    }
}

/// Every rank's weights after `iterations` iterations through zoo_step or
/// ask/tell, and the statuses that ended each rank's iterations. Rank
/// `abort_on.0` aborts iteration attempt `abort_on.1`.
fn on_ranks(
    size: usize,
    options: &str,
    iterations: usize,
    ask_tell: bool,
    abort_on: Option<(usize, usize)>,
) -> Vec<(Vec<f64>, Vec<zoo_status>)> {
    let comm = Arc::new(Comm {
        sum: Mutex::new(Vec::new()),
        barrier: Barrier::new(size),
    });
    let handles: Vec<_> = (0..size)
        .map(|rank| {
            let (comm, options) = (comm.clone(), options.to_string());
            std::thread::spawn(move || {
                let t = trainer(&options);
                let ud = Arc::as_ptr(&comm).cast_mut().cast::<c_void>();
                let status = unsafe {
                    zoo_trainer_set_communicator(t, Some(allreduce), ud, rank as u32, size as u32)
                };
                assert_eq!(status, zoo_status::ZOO_OK);
                let mut statuses = Vec::new();
                let mut attempt = 0;
                loop {
                    let mut done = 0u64;
                    unsafe { zoo_trainer_iteration(t, &mut done) };
                    if done == iterations as u64 {
                        break;
                    }
                    let status = if ask_tell {
                        ask_tell_iteration(t, abort_on == Some((rank, attempt)))
                    } else {
                        unsafe { zoo_step(t, Some(loss_cb), null_mut(), 0, null_mut()) }
                    };
                    statuses.push(status);
                    attempt += 1;
                }
                let weights = params(t);
                unsafe { zoo_trainer_free(t) };
                (weights, statuses)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn ask_tell_across_ranks_gives_the_weights_of_zoo_step() {
    for options in [
        "estimator=rge-central q=3 lr=0.05 seed=3",
        "estimator=cge-central lr=0.05 base_loss=on",
        "estimator=rge-forward q=2 lr=0.05 partition=replicated",
    ] {
        for size in [1, 2, 3] {
            let stepped = on_ranks(size, options, 3, false, None);
            let asked = on_ranks(size, options, 3, true, None);
            for rank in 0..size {
                assert_eq!(
                    asked[rank].0, stepped[rank].0,
                    "{options}: {size} ranks, rank {rank}"
                );
                assert!(asked[rank].1.iter().all(|s| *s == zoo_status::ZOO_OK));
            }
            assert!(
                stepped.iter().all(|(w, _)| w == &stepped[0].0),
                "ranks agree"
            );
        }
    }
}

#[test]
fn ranks_without_candidates_get_no_candidate_once_the_update_is_done() {
    // rge-forward with q=1 has 2 candidates; ranks 2 and 3 own none.
    let options = "estimator=rge-forward q=1 lr=0.05";
    let stepped = on_ranks(4, options, 3, false, None);
    for (rank, (weights, statuses)) in on_ranks(4, options, 3, true, None).into_iter().enumerate() {
        assert_eq!(weights, stepped[rank].0, "rank {rank}");
        let ended_by = if rank < 2 {
            zoo_status::ZOO_OK
        } else {
            zoo_status::ZOO_NO_CANDIDATE
        };
        assert_eq!(statuses, vec![ended_by; 3], "rank {rank}");
    }
}

#[test]
fn an_abort_on_one_rank_fails_the_iteration_on_the_others_and_it_is_retried() {
    let options = "estimator=rge-central q=3 lr=0.05";
    let clean = on_ranks(3, options, 3, true, None);
    let runs = on_ranks(3, options, 3, true, Some((1, 1)));
    for (rank, (weights, statuses)) in runs.into_iter().enumerate() {
        assert_eq!(weights, clean[rank].0, "rank {rank}");
        let failed = if rank == 1 {
            zoo_status::ZOO_OK
        } else {
            zoo_status::ZOO_RANK_FAILED
        };
        assert_eq!(
            statuses,
            [
                zoo_status::ZOO_OK,
                failed,
                zoo_status::ZOO_OK,
                zoo_status::ZOO_OK
            ],
            "rank {rank}"
        );
    }
}
