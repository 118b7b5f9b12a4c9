//! Ranks simulated by threads, with an allreduce built on a barrier:
//! `step` and ask/tell across ranks.

use super::*;
use crate::model::Activation;
use std::sync::{Arc, Barrier, Mutex};

/// An in-process stand-in for MPI_Allreduce(SUM) over `size` threads. The
/// order in which ranks add their values varies from run to run, as it may
/// in MPI.
struct SimulatedComm {
    sum: Mutex<Vec<f64>>,
    barrier: Barrier,
}

fn allreduce_for(comm: Arc<SimulatedComm>) -> Allreduce {
    Box::new(move |values: &mut [f64]| {
        {
            let mut sum = comm.sum.lock().unwrap();
            if sum.len() != values.len() {
                sum.clear();
                sum.resize(values.len(), 0.0);
            }
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
        Ok(())
    })
}

fn data() -> (Vec<f64>, Vec<f64>) {
    let x: Vec<f64> = (0..40)
        .map(|i| ((i * 31 % 17) as f64 / 8.0) - 1.0)
        .collect();
    let y = x.chunks(2).map(|r| (r[0] * 2.0).cos() * r[1]).collect();
    (x, y)
}

/// Mean squared error over the rows `rank` owns (every `size`-th row),
/// scaled so that the sum over ranks is the full mean.
fn partial_loss(c: &mut Candidate, x: &[f64], y: &[f64], rank: usize, size: usize) -> LossResult {
    let n = y.len();
    let mut out = vec![0.0; n];
    c.forward_batch(x, n, &mut out).unwrap();
    Ok((rank..n)
        .step_by(size)
        .map(|r| (out[r] - y[r]).powi(2))
        .sum::<f64>()
        / n as f64)
}

/// Trains on `size` simulated ranks; returns every rank's final weights.
fn train_on_ranks(
    size: usize,
    options: &str,
    iterations: usize,
    fail_on: Option<usize>,
) -> Vec<Result<Vec<f64>>> {
    let (x, y) = data();
    let comm = Arc::new(SimulatedComm {
        sum: Mutex::new(Vec::new()),
        barrier: Barrier::new(size),
    });
    let replicated = options.contains("partition=replicated");
    let handles: Vec<_> = (0..size)
        .map(|rank| {
            let (comm, x, y, options) = (comm.clone(), x.clone(), y.clone(), options.to_string());
            std::thread::spawn(move || -> Result<Vec<f64>> {
                let model = Model::mlp(&[2, 5, 1], Activation::Tanh, 3).unwrap();
                let mut t = Trainer::new(model, &options)?;
                t.set_communicator(rank, size, allreduce_for(comm))?;
                for k in 0..iterations {
                    t.step_parallel(|c| {
                        if fail_on == Some(rank) && k == 1 {
                            return Err(LossError::new(9, "solver crashed on this rank"));
                        }
                        if replicated {
                            partial_loss(c, &x, &y, rank, size)
                        } else {
                            partial_loss(c, &x, &y, 0, 1)
                        }
                    })?;
                }
                assert!(t.check_consistency()?, "rank {rank} disagrees");
                Ok(t.params().to_vec())
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// The weights one process reaches in `iterations` steps.
fn single_process(options: &str, iterations: usize) -> Vec<f64> {
    let (x, y) = data();
    let model = Model::mlp(&[2, 5, 1], Activation::Tanh, 3).unwrap();
    let mut single = Trainer::new(model, options).unwrap();
    for _ in 0..iterations {
        single.step(|c| partial_loss(c, &x, &y, 0, 1)).unwrap();
    }
    single.params().to_vec()
}

#[test]
fn candidates_partition_is_bit_identical_for_any_rank_and_thread_count() {
    let options = "estimator=rge-central q=6 lr=0.05 seed=4";
    let single = single_process(options, 6);
    for size in 1..=4 {
        for threads in [1, 2] {
            let results = train_on_ranks(size, &format!("{options} threads={threads}"), 6, None);
            for (rank, weights) in results.into_iter().enumerate() {
                assert_eq!(
                    weights.unwrap(),
                    single,
                    "{size} ranks, {threads} threads, rank {rank}"
                );
            }
        }
    }
}

#[test]
fn auto_lr_is_bit_identical_for_any_rank_count() {
    let options = "estimator=rge-central q=3 lr=auto seed=4";
    let single = single_process(options, 6);
    for size in [2, 3, 5] {
        for weights in train_on_ranks(size, &format!("{options} threads=2"), 6, None) {
            assert_eq!(weights.unwrap(), single, "{size} ranks");
        }
    }
}

#[test]
fn the_reported_only_base_point_changes_no_weights_across_ranks() {
    let options = "estimator=cge-central lr=0.05 seed=2";
    let single = single_process(options, 4);
    for size in [2, 3] {
        for weights in train_on_ranks(size, &format!("{options} base_loss=on threads=2"), 4, None) {
            assert_eq!(weights.unwrap(), single, "{size} ranks");
        }
    }
}

#[test]
fn replicated_partition_sums_partial_losses_identically_on_every_rank() {
    let options = "estimator=cge-central lr=0.05 partition=replicated";
    let single = single_process(options, 6);
    for size in [2, 3] {
        let results: Vec<Vec<f64>> = train_on_ranks(size, options, 6, None)
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert!(
            results.iter().all(|w| w == &results[0]),
            "ranks agree bit for bit"
        );
        let worst = results[0]
            .iter()
            .zip(&single)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            worst < 1e-9,
            "{size} ranks differ from one process by {worst} (summation order only)"
        );
        assert_eq!(
            train_on_ranks(size, options, 6, None)
                .into_iter()
                .next()
                .unwrap()
                .unwrap(),
            results[0],
            "reproducible"
        );
    }
}

#[test]
fn a_failure_on_one_rank_aborts_the_iteration_on_every_rank() {
    let results = train_on_ranks(3, "estimator=rge-central q=4", 3, Some(1));
    for (rank, result) in results.into_iter().enumerate() {
        let err = result.unwrap_err();
        if rank == 1 {
            assert!(
                matches!(err, ZooError::CallbackFailed { code: 9, .. }),
                "{err}"
            );
        } else {
            assert_eq!(err, ZooError::RankFailed { ranks: 1 });
        }
    }
}

#[test]
fn consistency_check_reports_diverged_weights_and_bad_ranks_are_rejected() {
    let comm = Arc::new(SimulatedComm {
        sum: Mutex::new(Vec::new()),
        barrier: Barrier::new(2),
    });
    let handles: Vec<_> = (0..2)
        .map(|rank| {
            let comm = comm.clone();
            std::thread::spawn(move || {
                let mut model = Model::mlp(&[2, 3, 1], Activation::Tanh, 1).unwrap();
                if rank == 1 {
                    let mut p = model.params().to_vec();
                    p[0] += 1e-12;
                    model.set_params(&p).unwrap();
                }
                let mut t = Trainer::new(model, "").unwrap();
                t.set_communicator(rank, 2, allreduce_for(comm)).unwrap();
                t.check_consistency().unwrap()
            })
        })
        .collect();
    let verdicts: Vec<bool> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(verdicts, vec![false, false]);
    let mut t = Trainer::new(Model::mlp(&[1, 1], Activation::Identity, 1).unwrap(), "").unwrap();
    let err = t
        .set_communicator(2, 2, Box::new(|_: &mut [f64]| Ok(())))
        .unwrap_err();
    assert!(err.to_string().contains("rank 2 of size 2"), "{err}");
    assert!(
        t.check_consistency().unwrap(),
        "a lone process agrees with itself"
    );
}

#[test]
fn only_rank_zero_writes_metrics() {
    let path = std::env::temp_dir().join(format!("zoo-ranks-metrics-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let options = format!("q=3 lr=0.05 metrics_file={}", path.display());
    for weights in train_on_ranks(3, &options, 4, None) {
        weights.unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let iterations: Vec<&str> = text.lines().map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(
        iterations,
        [
            "{\"iteration\":1",
            "{\"iteration\":2",
            "{\"iteration\":3",
            "{\"iteration\":4"
        ],
        "one line per iteration, from one rank"
    );
    std::fs::remove_file(&path).unwrap();
}

/// What a simulated rank does at ask/tell iteration `k`, before telling.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    None,
    /// Tells NaN for one candidate (under `nonfinite=error`).
    NanTell,
    /// Aborts the iteration after asking.
    Abort,
}

/// The mean squared error of `out` over the rows `rank` owns, as
/// [`partial_loss`] computes it.
fn partial_of_outputs(out: &[f64], y: &[f64], rank: usize, size: usize) -> f64 {
    let n = y.len();
    (rank..n)
        .step_by(size)
        .map(|r| (out[r] - y[r]).powi(2))
        .sum::<f64>()
        / n as f64
}

/// One ask/tell iteration on one rank: asks `batch` ids at a time (every
/// other one read through `candidate_params`), tells each batch in reverse
/// order. Returns the update's metrics.
fn ask_tell_iteration(
    t: &mut Trainer,
    batch: usize,
    fault: Fault,
    loss: &dyn Fn(&[f64]) -> f64,
) -> Result<IterationMetrics> {
    let (x, y) = data();
    let mut params = vec![0.0; t.model().num_params()];
    let network = t.model().network().clone();
    let before = t.iteration();
    loop {
        let ids = t.ask_batch(batch)?;
        if ids.is_empty() {
            // A rank without candidates completes the iteration in ask.
            assert_eq!(
                t.iteration(),
                before + 1,
                "empty asks only on a rank owning nothing"
            );
            return Ok(*t.last_metrics().unwrap());
        }
        if fault == Fault::Abort {
            t.abort_iteration()?;
            return Err(ZooError::BadState("aborted".into()));
        }
        let mut told = Vec::new();
        for &id in &ids {
            let mut out = vec![0.0; y.len()];
            if id.index() % 2 == 0 {
                t.forward_batch(id, &x, y.len(), &mut out)?;
            } else {
                t.candidate_params(id, &mut params)?;
                network.forward_batch(
                    &params,
                    &x,
                    y.len(),
                    &mut out,
                    &mut crate::model::Workspace::new(),
                )?;
            }
            told.push((id, loss(&out)));
        }
        if fault == Fault::NanTell {
            // Told first, while the rank's other losses are outstanding.
            let last = told.len() - 1;
            told[last].1 = f64::NAN;
        }
        for (id, l) in told.into_iter().rev() {
            if let Some(m) = t.tell(id, l)? {
                return Ok(m);
            }
        }
    }
}

/// Each rank's weights and metrics after `iterations` ask/tell iterations;
/// `fault(rank, k)` injects a failure into attempt `k` (counting failed
/// attempts, which are retried). Every rank also returns the errors it saw.
#[allow(clippy::type_complexity)]
fn ask_tell_on_ranks(
    size: usize,
    options: &str,
    iterations: usize,
    batch: usize,
    fault: fn(usize, usize) -> Fault,
) -> Vec<(Vec<f64>, Vec<IterationMetrics>, Vec<ZooError>)> {
    let comm = Arc::new(SimulatedComm {
        sum: Mutex::new(Vec::new()),
        barrier: Barrier::new(size),
    });
    let replicated = options.contains("partition=replicated");
    let handles: Vec<_> = (0..size)
        .map(|rank| {
            let (comm, options) = (comm.clone(), options.to_string());
            std::thread::spawn(move || {
                let (_, y) = data();
                let model = Model::mlp(&[2, 5, 1], Activation::Tanh, 3).unwrap();
                let mut t = Trainer::new(model, &options).unwrap();
                t.set_communicator(rank, size, allreduce_for(comm)).unwrap();
                let loss = |out: &[f64]| {
                    if replicated {
                        partial_of_outputs(out, &y, rank, size)
                    } else {
                        partial_of_outputs(out, &y, 0, 1)
                    }
                };
                let (mut metrics, mut errors) = (Vec::new(), Vec::new());
                let mut attempt = 0;
                while metrics.len() < iterations {
                    match ask_tell_iteration(&mut t, batch, fault(rank, attempt), &loss) {
                        Ok(m) => metrics.push(m),
                        Err(e) => errors.push(e),
                    }
                    attempt += 1;
                }
                assert!(t.check_consistency().unwrap(), "rank {rank} disagrees");
                (t.params().to_vec(), metrics, errors)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn no_fault(_: usize, _: usize) -> Fault {
    Fault::None
}

/// Metrics without the wall time, which differs from run to run.
fn timeless(m: &IterationMetrics) -> IterationMetrics {
    IterationMetrics {
        wall_time: 0.0,
        ..*m
    }
}

#[test]
fn ask_tell_across_ranks_gives_the_weights_of_step_on_the_same_ranks() {
    for options in [
        "estimator=rge-central q=6 lr=0.05 seed=4",
        "estimator=cge-central lr=0.05 base_loss=on",
        "estimator=rge-forward q=5 lr=0.05 partition=replicated",
        "estimator=cge-central lr=0.05 partition=replicated base_loss=on",
    ] {
        for size in 1..=3 {
            let stepped: Vec<Vec<f64>> = train_on_ranks(size, options, 4, None)
                .into_iter()
                .map(|r| r.unwrap())
                .collect();
            for batch in [1, 4, 1000] {
                let asked = ask_tell_on_ranks(size, options, 4, batch, no_fault);
                for (rank, (weights, metrics, errors)) in asked.iter().enumerate() {
                    let case = format!("{options}: {size} ranks, batch {batch}, rank {rank}");
                    assert_eq!(weights, &stepped[rank], "{case}");
                    assert!(errors.is_empty(), "{case}: {errors:?}");
                    assert_eq!(
                        metrics.iter().map(timeless).collect::<Vec<_>>(),
                        asked[0].1.iter().map(timeless).collect::<Vec<_>>(),
                        "{case}: every rank reports the same iteration"
                    );
                }
            }
        }
    }
    // One process: the communicator changes nothing.
    let options = "estimator=rge-central q=6 lr=0.05 seed=4";
    assert_eq!(
        ask_tell_on_ranks(1, options, 4, 3, no_fault)[0].0,
        single_process(options, 4)
    );
}

#[test]
fn ranks_without_candidates_take_part_in_the_ask_that_opens_the_iteration() {
    // rge-forward with q=1 has 2 candidates: ranks 2 and 3 own none.
    let options = "estimator=rge-forward q=1 lr=0.05";
    let single = single_process(options, 3);
    for batch in [1, 5] {
        for (rank, (weights, metrics, errors)) in ask_tell_on_ranks(4, options, 3, batch, no_fault)
            .into_iter()
            .enumerate()
        {
            assert_eq!(weights, single, "rank {rank}");
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(metrics.last().unwrap().evaluations, 2);
        }
    }
}

#[test]
fn a_failed_tell_or_an_abort_on_one_rank_aborts_the_iteration_on_every_rank() {
    let options = "estimator=rge-central q=4 lr=0.05 nonfinite=error";
    let clean = ask_tell_on_ranks(3, options, 3, 2, no_fault);
    let nan_on_rank_1: fn(usize, usize) -> Fault = |rank, attempt| {
        if rank == 1 && attempt == 1 {
            Fault::NanTell
        } else {
            Fault::None
        }
    };
    let abort_on_rank_2: fn(usize, usize) -> Fault = |rank, attempt| {
        if rank == 2 && attempt == 1 {
            Fault::Abort
        } else {
            Fault::None
        }
    };
    for (fault, failing) in [(nan_on_rank_1, 1), (abort_on_rank_2, 2)] {
        for batch in [1, 2, 100] {
            let runs = ask_tell_on_ranks(3, options, 3, batch, fault);
            for (rank, (weights, _, errors)) in runs.into_iter().enumerate() {
                assert_eq!(weights, clean[rank].0, "the retried iteration is the same");
                assert_eq!(errors.len(), 1, "rank {rank}: {errors:?}");
                match (rank == failing, &errors[0]) {
                    (true, ZooError::NonFiniteLoss { .. } | ZooError::BadState(_)) => {}
                    (false, ZooError::RankFailed { ranks: 1 }) => {}
                    (_, e) => panic!("rank {rank}: {e}"),
                }
            }
        }
    }
}

#[test]
fn ask_tell_across_ranks_rejects_other_ranks_ids_and_output_space() {
    let comm = Arc::new(SimulatedComm {
        sum: Mutex::new(Vec::new()),
        barrier: Barrier::new(1),
    });
    let model = Model::mlp(&[2, 5, 1], Activation::Tanh, 3).unwrap();
    let mut t = Trainer::new(model, "estimator=rge-central q=3 lr=0.01").unwrap();
    // One process posing as rank 1 of 2 (its allreduce is its own).
    t.set_communicator(1, 2, allreduce_for(comm)).unwrap();
    let ids = t.ask_batch(10).unwrap();
    assert_eq!(
        ids.iter().map(|id| id.index()).collect::<Vec<_>>(),
        [1, 3, 5],
        "rank 1 of 2 owns the odd candidates"
    );
    assert_eq!(t.candidates_per_iteration(), 6, "the whole iteration");
    let other = CandidateId::new(ids[0].serial(), 2);
    let err = t.tell(other, 1.0).unwrap_err().to_string();
    assert!(err.contains("another rank"), "{err}");
    let busy = t.set("lr", "0.5").unwrap_err().to_string();
    assert!(busy.contains("3 of 3 losses outstanding"), "{busy}");
    t.abort_iteration().unwrap();
    let (x, _) = data();
    t.set_batch(&x, 20, false).unwrap();
    let err = t.ask().unwrap_err();
    assert!(
        matches!(&err, ZooError::BadState(m) if m.contains("not shared among ranks")),
        "{err}"
    );
    t.set("space", "weights").unwrap();
    assert_eq!(
        t.ask().unwrap().unwrap().index(),
        1,
        "space=weights is shared"
    );
}
