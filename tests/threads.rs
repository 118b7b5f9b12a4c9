//! The thread pool: capped, and started only when a thread-safe
//! evaluation first needs it (its own process, so no other test's pool
//! is counted).

use zoo::model::{Activation, Model};
use zoo::trainer::Trainer;

/// Threads of this process named like zoo's pool threads.
fn zoo_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("zoo-"))
        .count()
}

/// The count once it settles: a dropped rayon pool lets its threads finish
/// asynchronously, and a new thread names itself after it starts.
fn settled_zoo_threads(expected: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let n = zoo_threads();
        if n == expected || std::time::Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn threads_start_on_first_use_and_are_capped() {
    let model = Model::mlp(&[1, 4, 1], Activation::Tanh, 1).unwrap();
    let loss = |c: &mut zoo::trainer::Candidate| {
        let mut y = [0.0];
        c.forward(&[0.5], &mut y).unwrap();
        Ok(y[0] * y[0])
    };
    let mut trainer = Trainer::new(model.clone(), "threads=6 estimator=rge-central q=4").unwrap();
    assert_eq!(trainer.num_threads(), 6);
    trainer.step(loss).unwrap();
    assert_eq!(
        zoo_threads(),
        0,
        "neither creation nor a sequential step starts threads"
    );
    trainer.step_parallel(loss).unwrap();
    assert_eq!(settled_zoo_threads(6), 6);
    trainer.set("threads", "3").unwrap();
    assert_eq!(
        settled_zoo_threads(0),
        0,
        "changing threads stops the old pool"
    );
    trainer.step_parallel(loss).unwrap();
    assert_eq!(settled_zoo_threads(3), 3);
    drop(trainer);

    for too_many in ["1025", "4000", "18446744073709551615"] {
        let e = Trainer::new(model.clone(), &format!("threads={too_many}"))
            .err()
            .expect("refused")
            .to_string();
        assert!(e.contains("threads") && e.contains("1024"), "{e}");
    }
    Trainer::new(model, "threads=1024").expect("the cap itself is accepted");
    assert_eq!(settled_zoo_threads(0), 0);
}
