//! Ranks simulated by threads, with an allreduce built on a barrier.

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
                assert_eq!(t.ask(), None, "ask/tell is not used across ranks");
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
