//! Fault injection: loss functions that return NaN, ±inf or errors, or
//! panic, in 1% to 30% of evaluations, through `step`, `step_parallel`,
//! ask/tell and dataset mode, under both non-finite policies. Whatever
//! happens, a failed iteration changes nothing (weights, iteration, the
//! next candidates), the weights stay finite, and with `nonfinite=skip`
//! training still makes progress. Prints the matrix it ran
//! (`cargo test --test faults -- --nocapture`).

use std::sync::atomic::{AtomicU64, Ordering};
use zoo::model::{Activation, Model};
use zoo::trainer::{Candidate, LossError, LossResult, Trainer};
use zoo::ZooError;

#[derive(Clone, Copy, Debug)]
enum Fault {
    Nan,
    PlusInf,
    MinusInf,
    Error,
    Panic,
}

/// Whether evaluation number `call` of a run is faulty (a fixed hash, so
/// every run of the test injects the same faults).
fn faulty(call: u64, rate: f64) -> bool {
    let mut z = call.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64 <= rate
}

fn inject(fault: Fault, clean: f64) -> LossResult {
    match fault {
        Fault::Nan => Ok(f64::NAN),
        Fault::PlusInf => Ok(f64::INFINITY),
        Fault::MinusInf => Ok(f64::NEG_INFINITY),
        Fault::Error => Err(LossError::new(3, "the solver diverged")),
        Fault::Panic => {
            let _ = clean;
            panic!("index out of bounds in the host's solver")
        }
    }
}

const X: [f64; 8] = [0.1, -0.4, 0.7, 0.2, -0.9, 0.5, 0.3, 0.8];
const T: [f64; 4] = [0.3, -0.2, 0.6, 0.1];

fn clean_loss(y: &[f64]) -> f64 {
    y.iter().zip(T).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / 4.0
}

fn candidate_loss(c: &mut Candidate) -> f64 {
    let mut y = [0.0; 4];
    c.forward_batch(&X, 4, &mut y).unwrap();
    clean_loss(&y)
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Step,
    Parallel,
    AskTell,
    Outputs,
}

struct Outcome {
    completed: usize,
    failed: usize,
    first_loss: f64,
    last_loss: f64,
}

fn snapshot(t: &Trainer) -> (Vec<f64>, u64) {
    (t.params().to_vec(), t.iteration())
}

fn run(mode: Mode, fault: Fault, rate: f64, policy: &str) -> Outcome {
    let model = Model::mlp(&[2, 8, 1], Activation::Tanh, 3).unwrap();
    let estimator = match mode {
        Mode::Outputs => "estimator=rge-central q=4",
        _ => "estimator=rge-central q=8",
    };
    let threads = if matches!(mode, Mode::Parallel) { 2 } else { 1 };
    let options = format!("{estimator} lr=0.03 seed=5 threads={threads} nonfinite={policy}");
    let mut trainer = Trainer::new(model, &options).unwrap();
    let calls = AtomicU64::new(0);
    let evaluate = |clean: f64| {
        let call = calls.fetch_add(1, Ordering::Relaxed);
        if faulty(call, rate) {
            inject(fault, clean)
        } else {
            Ok(clean)
        }
    };
    let measure = |t: &mut Trainer| t.evaluate(|c| Ok(candidate_loss(c))).unwrap();
    let first_loss = measure(&mut trainer);
    let (mut completed, mut failed) = (0, 0);
    for _ in 0..80 {
        let before = snapshot(&trainer);
        let outcome: Result<(), ZooError> = match mode {
            Mode::Step => trainer.step(|c| evaluate(candidate_loss(c))).map(|_| ()),
            Mode::Parallel => trainer
                .step_parallel(|c| evaluate(candidate_loss(c)))
                .map(|_| ()),
            Mode::Outputs => trainer
                .step_dataset(&X, 4, |y| evaluate(clean_loss(y)))
                .map(|_| ()),
            Mode::AskTell => ask_tell_iteration(&mut trainer, &evaluate),
        };
        match outcome {
            Ok(()) => completed += 1,
            Err(e) => {
                failed += 1;
                assert!(
                    matches!(
                        e,
                        ZooError::CallbackFailed { .. }
                            | ZooError::LossPanicked { .. }
                            | ZooError::NonFiniteLoss { .. }
                            | ZooError::IterationFailed { .. }
                    ),
                    "{mode:?} {fault:?}: unexpected error {e}"
                );
                assert_eq!(
                    snapshot(&trainer),
                    before,
                    "{mode:?} {fault:?}: a failed iteration changed the trainer"
                );
            }
        }
        assert!(trainer.params().iter().all(|v| v.is_finite()));
    }
    Outcome {
        completed,
        failed,
        first_loss,
        last_loss: measure(&mut trainer),
    }
}

/// One ask/tell iteration; a failing evaluation aborts it, as a host would.
fn ask_tell_iteration(
    trainer: &mut Trainer,
    evaluate: &dyn Fn(f64) -> LossResult,
) -> Result<(), ZooError> {
    let ids = trainer.ask_batch(usize::MAX).unwrap();
    for id in ids {
        let mut y = [0.0; 4];
        trainer.forward_batch(id, &X, 4, &mut y).unwrap();
        let loss = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            evaluate(clean_loss(&y))
        })) {
            Ok(Ok(loss)) => loss,
            Ok(Err(e)) => {
                trainer.abort_iteration().unwrap();
                return Err(ZooError::CallbackFailed {
                    candidate: id.index(),
                    code: e.code,
                    message: e.message,
                });
            }
            Err(_) => {
                trainer.abort_iteration().unwrap();
                return Err(ZooError::LossPanicked {
                    candidate: id.index(),
                    message: "host panic".into(),
                });
            }
        };
        trainer.tell(id, loss)?;
    }
    Ok(())
}

#[test]
fn faults_never_corrupt_training() {
    // Panics are expected here; keep the output readable.
    std::panic::set_hook(Box::new(|_| {}));
    println!(
        "{:<8} {:<9} {:>5} {:<6} {:>9} {:>7} {:>11}",
        "mode", "fault", "rate", "policy", "completed", "failed", "final/first"
    );
    for mode in [Mode::Step, Mode::Parallel, Mode::AskTell, Mode::Outputs] {
        for fault in [
            Fault::Nan,
            Fault::PlusInf,
            Fault::MinusInf,
            Fault::Error,
            Fault::Panic,
        ] {
            for rate in [0.01, 0.1, 0.3] {
                for policy in ["skip", "error"] {
                    let o = run(mode, fault, rate, policy);
                    let ratio = o.last_loss / o.first_loss;
                    println!(
                        "{:<8} {:<9} {:>5} {:<6} {:>9} {:>7} {:>11.3}",
                        format!("{mode:?}"),
                        format!("{fault:?}"),
                        rate,
                        policy,
                        o.completed,
                        o.failed,
                        ratio
                    );
                    assert_eq!(o.completed + o.failed, 80);
                    let skipped = policy == "skip"
                        && matches!(fault, Fault::Nan | Fault::PlusInf | Fault::MinusInf);
                    if skipped && rate <= 0.1 {
                        // Dropped pairs cost directions, not iterations.
                        assert!(
                            o.completed >= 70,
                            "{mode:?} {fault:?} {rate}: {} completed",
                            o.completed
                        );
                    }
                    if o.completed >= 40 {
                        assert!(
                            ratio < 0.9,
                            "{mode:?} {fault:?} {rate} {policy}: no progress ({ratio})"
                        );
                    }
                }
            }
        }
    }
}
