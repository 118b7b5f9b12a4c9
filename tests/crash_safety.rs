//! Crash safety of checkpoints: a child process trains and saves a
//! checkpoint after every iteration; once it has saved once, the parent
//! kills it (SIGKILL) at a pseudo-random moment, 60 times. After every kill the checkpoint must
//! load, and its weights must be exactly those of an uninterrupted run at
//! the iteration it records: the old file or the new one, never a mix.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use zoo::model::{Activation, Model};
use zoo::trainer::{Candidate, LossResult, Trainer};

const OPTIONS: &str = "estimator=rge-central q=2 lr=0.01 seed=4";
const CHILD_ENV: &str = "ZOO_CRASH_CHILD_CHECKPOINT";

/// Large enough (about 0.8 MB on disk) that kills land inside writes.
fn model() -> Model {
    Model::mlp(&[32, 256, 256, 32], Activation::Tanh, 2).unwrap()
}

fn loss(c: &mut Candidate) -> LossResult {
    let x: Vec<f64> = (0..32).map(|i| (i as f64 * 0.1).sin()).collect();
    let mut y = vec![0.0; 32];
    c.forward(&x, &mut y).unwrap();
    Ok(y.iter().map(|v| (v - 0.5).powi(2)).sum())
}

/// The child: resume from the checkpoint, then train and save forever.
#[test]
#[ignore = "the child process of checkpoints_survive_being_killed_mid_write"]
fn crash_child() {
    let path = PathBuf::from(std::env::var(CHILD_ENV).expect("run by the parent test"));
    let mut trainer = Trainer::load(&path).unwrap();
    let mut stdout = std::io::stdout();
    loop {
        trainer.step(loss).unwrap();
        trainer.save(&path).unwrap();
        // Tells the parent a save completed.
        let _ = writeln!(stdout, "saved {}", trainer.iteration());
        let _ = stdout.flush();
    }
}

fn spawn_child(path: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "crash_child",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn checkpoints_survive_being_killed_mid_write() {
    let dir = std::env::temp_dir().join(format!("zoo-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.safetensors");
    let mut reference = Trainer::new(model(), OPTIONS).unwrap();
    reference.save(&path).unwrap();
    // Weights of an uninterrupted run, by iteration.
    let mut expected = vec![reference.params().to_vec()];

    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let (mut kills, mut last_iteration, mut advanced) = (0, 0, 0);
    while kills < 60 {
        let mut child = spawn_child(&path);
        // Once the child has saved once, kill it at a random moment of
        // the following iterations and saves.
        // The pipe stays open until the child is dead, so its later
        // writes never fail.
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let saved = lines.any(|line| line.is_ok_and(|l| l.starts_with("saved")));
        assert!(saved, "the child ended without saving");
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        std::thread::sleep(Duration::from_micros(state % 40_000));
        child.kill().unwrap();
        child.wait().unwrap();
        drop(lines);
        kills += 1;

        let loaded = Trainer::load(&path)
            .unwrap_or_else(|e| panic!("after kill {kills} the checkpoint does not load: {e}"));
        let k = loaded.iteration() as usize;
        assert!(k >= last_iteration, "the checkpoint went back in time");
        advanced += usize::from(k > last_iteration);
        last_iteration = k;
        while expected.len() <= k {
            reference.step(loss).unwrap();
            expected.push(reference.params().to_vec());
        }
        assert!(
            loaded.params() == expected[k].as_slice(),
            "after kill {kills} the checkpoint at iteration {k} holds other weights"
        );
    }
    assert_eq!(advanced, kills, "every child saved at least once");
    // Temporary files left by kills that landed inside a write.
    let torn = std::fs::read_dir(&dir).unwrap().count() - 1;
    println!("{kills} kills, {torn} inside a write, last checkpoint at iteration {last_iteration}");
    std::fs::remove_dir_all(&dir).unwrap();
}
