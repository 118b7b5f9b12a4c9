//! Checkpoint files the host did not mean, or that lie: devices, FIFOs,
//! directories and symbolic links as load or save paths; headers and
//! tensors that declare more than the file holds; checkpoints written by
//! older versions of zoo; and what a restore keeps from the host.
#![cfg(unix)]

use std::os::unix::fs::{symlink, FileTypeExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;
use zoo::checkpoint::{self, ENVIRONMENT_OPTIONS};
use zoo::config::TrainerConfig;
use zoo::model::{Activation, Model};
use zoo::trainer::{Candidate, LossResult, Trainer};
use zoo::ZooError;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zoo-files-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn model() -> Model {
    Model::mlp(&[3, 4, 2], Activation::Tanh, 4).unwrap()
}

fn loss(c: &mut Candidate) -> LossResult {
    let mut y = [0.0; 2];
    c.forward(&[0.3, 0.3, 0.3], &mut y).unwrap();
    Ok((y[0] - 0.5).powi(2) + (y[1] - 0.5).powi(2))
}

fn trained(options: &str) -> Trainer {
    let mut trainer = Trainer::new(model(), options).unwrap();
    trainer.step(loss).unwrap();
    trainer
}

/// Runs `f` on another thread and fails the test if it has not returned
/// after 20 s (a FIFO opened for reading or writing blocks forever).
fn without_blocking<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || send.send(f()));
    receive
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what} blocked"))
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

/// The reason of a BadCheckpoint error (any other outcome fails).
fn bad_reason<T>(result: zoo::Result<T>) -> String {
    match result {
        Err(e @ ZooError::BadCheckpoint { .. }) => e.to_string(),
        Err(other) => panic!("wrong error kind: {other:?}"),
        Ok(_) => panic!("a bad checkpoint was accepted"),
    }
}

/// The message of an Io error (any other outcome fails).
fn io_message<T>(result: zoo::Result<T>) -> String {
    match result {
        Err(e @ ZooError::Io { .. }) => e.to_string(),
        Err(other) => panic!("wrong error kind: {other:?}"),
        Ok(_) => panic!("the save succeeded"),
    }
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

#[test]
fn devices_and_directories_are_refused_before_they_are_read() {
    // Reading /dev/zero whole grew without bound; it is refused by type.
    for device in ["/dev/zero", "/dev/null"] {
        let path = Path::new(device);
        let r = bad_reason(Trainer::load(path));
        assert!(
            r.contains("is a character device, not a regular file"),
            "{r}"
        );
        assert!(r.contains(device), "{r}");
        let r = bad_reason(checkpoint::load_model(path));
        assert!(r.contains("character device"), "{r}");
        let mut trainer = trained("q=2");
        let before = trainer.params().to_vec();
        let r = bad_reason(trainer.restore(path));
        assert!(r.contains("character device"), "{r}");
        assert_eq!(trainer.params(), before);
    }
    let dir = temp_dir("load-dir");
    let r = bad_reason(Trainer::load(&dir));
    assert!(r.contains("is a directory, not a regular file"), "{r}");
    // Through a symbolic link it is the target that counts.
    let link = dir.join("zero");
    symlink("/dev/zero", &link).unwrap();
    let r = bad_reason(checkpoint::load_model(&link));
    assert!(r.contains("character device"), "{r}");
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = temp_dir("load-fifo");
    let fifo = dir.join("pipe");
    mkfifo(&fifo);
    let path = fifo.clone();
    let r = bad_reason(without_blocking("loading a FIFO", move || {
        Trainer::load(&path)
    }));
    assert!(
        r.contains("is a FIFO (named pipe), not a regular file"),
        "{r}"
    );
    let path = fifo.clone();
    let r = bad_reason(without_blocking("loading a FIFO", move || {
        checkpoint::load_model(&path)
    }));
    assert!(r.contains("FIFO"), "{r}");
}

#[test]
fn header_lengths_beyond_the_limit_or_the_file_are_refused() {
    let dir = temp_dir("header");
    let path = dir.join("huge-header.safetensors");
    // A header length of 2^60 bytes, then a few bytes.
    let mut bytes = (1u64 << 60).to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{\"__metadata__\":{}}");
    std::fs::write(&path, &bytes).unwrap();
    let r = bad_reason(Trainer::load(&path));
    assert!(
        r.contains("header length 1152921504606846976 bytes is over the limit of 1048576 bytes"),
        "{r}"
    );
    // Within the limit, but longer than the file.
    let mut bytes = 5000u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(&[b' '; 40]);
    std::fs::write(&path, &bytes).unwrap();
    let r = bad_reason(checkpoint::load_model(&path));
    assert!(
        r.contains("header length 5000 bytes, but the file holds only 40 bytes after it"),
        "{r}"
    );
    // Shorter than the length field itself.
    std::fs::write(&path, [1, 2, 3]).unwrap();
    let r = bad_reason(checkpoint::load_model(&path));
    assert!(r.contains("holds 3 bytes"), "{r}");
}

/// A checkpoint's 8-byte length, header and data.
fn split(bytes: &[u8]) -> (usize, &[u8], &[u8]) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (n, &bytes[8..8 + n], &bytes[8 + n..])
}

#[test]
fn tensors_that_declare_more_than_the_file_holds_are_refused() {
    let dir = temp_dir("declared");
    let path = dir.join("t.safetensors");
    let trainer = trained("q=2");
    trainer.save(&path).unwrap();
    let good = std::fs::read(&path).unwrap();
    let (_, _, data) = split(&good);
    // The data cut short: the header still declares all of it.
    let cut = &good[..good.len() - 100];
    std::fs::write(&path, cut).unwrap();
    let r = bad_reason(Trainer::load(&path));
    let want = format!(
        "the tensors declare {} bytes of data, but the file holds {} bytes after the header (truncated?)",
        data.len(),
        data.len() - 100
    );
    assert!(r.contains(&want), "{r}");
    // Bytes after the declared data.
    let mut longer = good.clone();
    longer.extend_from_slice(&[0; 16]);
    std::fs::write(&path, &longer).unwrap();
    let r = bad_reason(Trainer::load(&path));
    assert!(r.contains("trailing bytes"), "{r}");
    // A header that declares 2^40 weights (8 TiB) in a file of a few
    // hundred bytes: refused before any of it is allocated.
    let header = format!(
        "{{\"__metadata__\":{{\"format\":\"zoo-checkpoint\"}},\"params\":{{\"dtype\":\"F64\",\"shape\":[{}],\"data_offsets\":[0,{}]}}}}",
        1u64 << 40,
        8u64 << 40
    );
    let mut forged = (header.len() as u64).to_le_bytes().to_vec();
    forged.extend_from_slice(header.as_bytes());
    forged.extend_from_slice(&[0; 64]);
    std::fs::write(&path, &forged).unwrap();
    let r = bad_reason(checkpoint::load_model(&path));
    assert!(
        r.contains("the tensors declare 8796093022208 bytes of data, but the file holds 64 bytes"),
        "{r}"
    );
    // The good file still loads.
    std::fs::write(&path, &good).unwrap();
    assert_eq!(Trainer::load(&path).unwrap().params(), trainer.params());
}

#[test]
fn saving_onto_a_fifo_or_a_device_is_refused_and_leaves_them_alone() {
    let dir = temp_dir("save-special");
    let fifo = dir.join("pipe");
    mkfifo(&fifo);
    let path = fifo.clone();
    let m = io_message(without_blocking("saving onto a FIFO", move || {
        trained("q=2").save(&path)
    }));
    assert!(
        m.contains("is a FIFO (named pipe), not a regular file"),
        "{m}"
    );
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    let m = io_message(checkpoint::save_model(&model(), Path::new("/dev/null")));
    assert!(m.contains("/dev/null: is a character device"), "{m}");
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    // Through a link: the link and the device both stay.
    let link = dir.join("null");
    symlink("/dev/null", &link).unwrap();
    let m = io_message(trained("q=2").save(&link));
    assert!(m.contains("(a link to /dev/null)"), "{m}");
    assert!(m.contains("character device"), "{m}");
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("/dev/null"));
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    // A directory is not replaced either.
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let m = io_message(checkpoint::save_model(&model(), &sub));
    assert!(m.contains("is a directory"), "{m}");
    assert!(sub.is_dir());
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
}

#[test]
fn saving_through_a_symbolic_link_replaces_its_target_and_keeps_the_link() {
    let dir = temp_dir("save-link");
    std::fs::create_dir(dir.join("runs")).unwrap();
    let target = dir.join("runs/run-1.safetensors");
    let first = trained("q=2 seed=1");
    first.save(&target).unwrap();
    // latest -> runs/run-1.safetensors (relative), newest -> latest.
    let latest = dir.join("latest.safetensors");
    symlink("runs/run-1.safetensors", &latest).unwrap();
    let newest = dir.join("newest.safetensors");
    symlink("latest.safetensors", &newest).unwrap();

    let mut second = trained("q=2 seed=2");
    second.step(loss).unwrap();
    second.save(&newest).unwrap();
    assert_eq!(
        std::fs::read_link(&latest).unwrap(),
        Path::new("runs/run-1.safetensors")
    );
    assert_eq!(
        std::fs::read_link(&newest).unwrap(),
        Path::new("latest.safetensors")
    );
    let loaded = Trainer::load(&target).unwrap();
    assert_eq!(loaded.params(), second.params());
    assert_eq!(loaded.iteration(), 2);
    assert_eq!(Trainer::load(&newest).unwrap().params(), second.params());
    assert!(leftovers(&dir).is_empty() && leftovers(&dir.join("runs")).is_empty());

    // A dangling link: its target is created.
    let dangling = dir.join("next.safetensors");
    symlink("runs/run-2.safetensors", &dangling).unwrap();
    checkpoint::save_model(second.model(), &dangling).unwrap();
    assert!(std::fs::symlink_metadata(&dangling)
        .unwrap()
        .file_type()
        .is_symlink());
    let created = checkpoint::load_model(&dir.join("runs/run-2.safetensors")).unwrap();
    assert_eq!(created.params(), second.params());

    // A link into a missing directory fails, naming both.
    let lost = dir.join("lost.safetensors");
    symlink("missing/run.safetensors", &lost).unwrap();
    let m = io_message(first.save(&lost));
    assert!(m.contains("lost.safetensors (a link to"), "{m}");
    assert!(m.contains("missing/run.safetensors"), "{m}");
    // A loop of links.
    let a = dir.join("a");
    let b = dir.join("b");
    symlink("b", &a).unwrap();
    symlink("a", &b).unwrap();
    let m = io_message(first.save(&a));
    assert!(m.contains("levels of symbolic links"), "{m}");
    // The earlier save is intact.
    assert_eq!(Trainer::load(&target).unwrap().params(), second.params());
}

#[test]
fn restore_keeps_the_hosts_environment_options() {
    let dir = temp_dir("environment");
    let path = dir.join("t.safetensors");
    let saved_metrics = dir.join("saved.jsonl");
    let saved = trained(&format!(
        "q=3 lr=0.05 seed=4 threads=1 progress_every=0 partition=candidates metrics_file={}",
        saved_metrics.display()
    ));
    saved.save(&path).unwrap();
    std::fs::remove_file(&saved_metrics).unwrap();

    let host_metrics = dir.join("host.jsonl");
    let mut host = Trainer::new(
        model(),
        &format!(
            "q=5 threads=2 progress_every=1000 partition=replicated metrics_file={}",
            host_metrics.display()
        ),
    )
    .unwrap();
    let environment: Vec<String> = ENVIRONMENT_OPTIONS
        .iter()
        .map(|k| host.get(k).unwrap())
        .collect();
    host.restore(&path).unwrap();
    for (key, value) in ENVIRONMENT_OPTIONS.iter().zip(&environment) {
        assert_eq!(&host.get(key).unwrap(), value, "{key} is the host's");
    }
    assert_eq!(host.num_threads(), 2);
    // Training options, weights and iteration come from the file.
    assert_eq!(host.get("q").unwrap(), "3");
    assert_eq!(host.get("lr").unwrap(), "0.05");
    assert_eq!((host.params(), host.iteration()), (saved.params(), 1));
    // Metrics keep going to the host's file, none to the saved one.
    host.step_parallel(loss).unwrap();
    let lines = std::fs::read_to_string(&host_metrics).unwrap();
    assert_eq!(lines.lines().count(), 1);
    assert!(lines.starts_with("{\"iteration\":"), "{lines}");
    assert!(
        !saved_metrics.exists(),
        "the saved metrics_file was not opened"
    );

    // A new trainer from the file: environment options take defaults.
    let loaded = Trainer::load(&path).unwrap();
    let defaults = TrainerConfig::default();
    for key in ENVIRONMENT_OPTIONS {
        assert_eq!(
            loaded.get(key).unwrap(),
            defaults.get(key).unwrap(),
            "{key}"
        );
    }
    assert!(!saved_metrics.exists());
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The f64 tensor `name` of a safetensors file, read without zoo.
fn raw_tensor(path: &Path, name: &str) -> Vec<f64> {
    let bytes = std::fs::read(path).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    tensors
        .tensor(name)
        .unwrap()
        .data()
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn checkpoints_written_by_format_versions_1_and_2_still_load() {
    // Written by zoo 0.1.0 before format 3: a 3-4-2 tanh trainer after 3
    // iterations (q=3 lr=0.05 seed=9, and threads=2 progress_every=7
    // partition=replicated metrics_file=/tmp/zoo-old-format-metrics.jsonl),
    // and a polynomial (2 inputs, degree 2, 1 output) CGE trainer after 2.
    let stored_metrics = Path::new("/tmp/zoo-old-format-metrics.jsonl");
    let _ = std::fs::remove_file(stored_metrics);
    let v1 = fixture("checkpoint-v1-trainer.safetensors");
    let mut trainer = Trainer::load(&v1).unwrap();
    assert_eq!(trainer.iteration(), 3);
    assert_eq!(trainer.params(), &raw_tensor(&v1, "params")[..]);
    for (key, value) in [("q", "3"), ("lr", "0.05"), ("seed", "9")] {
        assert_eq!(trainer.get(key).unwrap(), value, "{key}");
    }
    let defaults = TrainerConfig::default();
    for key in ENVIRONMENT_OPTIONS {
        assert_eq!(
            trainer.get(key).unwrap(),
            defaults.get(key).unwrap(),
            "{key}"
        );
    }
    trainer.step(loss).unwrap();
    assert!(
        !stored_metrics.exists(),
        "the stored metrics_file was not opened"
    );

    let mut host = Trainer::new(model(), "q=7 threads=2").unwrap();
    host.restore(&v1).unwrap();
    assert_eq!(
        (host.get("q").unwrap(), host.get("threads").unwrap()),
        ("3".into(), "2".into())
    );
    assert_eq!(host.get("partition").unwrap(), "candidates");
    assert!(!stored_metrics.exists());

    let v2 = fixture("checkpoint-v2-polynomial-trainer.safetensors");
    let trainer = Trainer::load(&v2).unwrap();
    assert_eq!(trainer.iteration(), 2);
    assert!(trainer.model().network().features().is_some());
    assert_eq!(trainer.get("estimator").unwrap(), "cge-central");
    assert_eq!(trainer.get("threads").unwrap(), "1");
    assert_eq!(trainer.params(), &raw_tensor(&v2, "params")[..]);

    // Saved again, they are format 3.
    let dir = temp_dir("resave");
    let path = dir.join("v3.safetensors");
    trainer.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(header.metadata().as_ref().unwrap()["format_version"], "3");
}
