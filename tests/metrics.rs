//! Metrics output: one JSON line per iteration with the values the trainer
//! reports, a clear error for a file that cannot be opened, and the
//! plotting script turning the lines into a PNG.

use std::path::PathBuf;
use std::process::Command;
use zoo::model::{Activation, Model};
use zoo::trainer::{Candidate, LossResult, Trainer};

fn loss(c: &mut Candidate) -> LossResult {
    let mut y = [0.0];
    c.forward(&[0.4, -0.3], &mut y).unwrap();
    Ok((y[0] - 0.7).powi(2))
}

fn temp(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("zoo-metrics-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// The value of `key` in a flat JSON object line, as written by zoo.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let start = line.find(&format!("\"{key}\":")).unwrap() + key.len() + 3;
    let rest = &line[start..];
    &rest[..rest.find([',', '}']).unwrap()]
}

#[test]
fn every_iteration_writes_one_json_line() {
    let path = temp("lines.jsonl");
    let model = Model::mlp(&[2, 4, 1], Activation::Tanh, 1).unwrap();
    let mut trainer = Trainer::new(model, "estimator=rge-forward q=3 lr=0.05").unwrap();
    trainer.set("metrics_file", path.to_str().unwrap()).unwrap();
    let mut reported = Vec::new();
    for _ in 0..25 {
        reported.push(*trainer.step(loss).unwrap());
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 25);
    for (line, m) in lines.iter().zip(&reported) {
        assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
        assert_eq!(
            field(line, "iteration").parse::<u64>().unwrap(),
            m.iteration
        );
        assert_eq!(
            field(line, "base_loss").parse::<f64>().unwrap(),
            m.base_loss.unwrap()
        );
        assert_eq!(
            field(line, "mean_loss").parse::<f64>().unwrap(),
            m.mean_loss
        );
        assert_eq!(
            field(line, "grad_norm").parse::<f64>().unwrap(),
            m.grad_norm
        );
        assert_eq!(field(line, "lr").parse::<f64>().unwrap(), m.lr);
        assert_eq!(field(line, "evaluations"), "4");
        assert_eq!(field(line, "dropped"), "0");
        assert_eq!(field(line, "data_loss"), "null");
    }

    // A file that cannot be opened is refused and the old one kept.
    let err = trainer
        .set("metrics_file", "/nonexistent-zoo-dir/m.jsonl")
        .unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent-zoo-dir/m.jsonl"),
        "{err}"
    );
    assert_eq!(trainer.get("metrics_file").unwrap(), path.to_str().unwrap());
    trainer.step(loss).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 26);

    // Central estimators evaluate no base point: null, not NaN.
    trainer.set("estimator", "rge-central").unwrap();
    trainer.step(loss).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(field(text.lines().last().unwrap(), "base_loss"), "null");
    assert_eq!(trainer.metrics_write_errors(), 0);

    // The plotting script turns the lines into a PNG.
    let png = temp("plot.png");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/plot_metrics.py");
    let status = Command::new("python3")
        .args([script, path.to_str().unwrap(), png.to_str().unwrap()])
        .status()
        .expect("python3 runs the plotting script");
    assert!(status.success());
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.len() > 1000 && bytes.starts_with(b"\x89PNG"),
        "not a PNG"
    );
    std::fs::remove_file(&path).unwrap();
    std::fs::remove_file(&png).unwrap();
}

/// The child of `progress_lines_go_to_stderr_every_n_iterations`.
#[test]
#[ignore = "run by progress_lines_go_to_stderr_every_n_iterations"]
fn progress_child() {
    let model = Model::mlp(&[2, 4, 1], Activation::Tanh, 1).unwrap();
    let mut trainer = Trainer::new(model, "q=2 progress_every=5").unwrap();
    for _ in 0..12 {
        trainer.step(loss).unwrap();
    }
}

#[test]
fn progress_lines_go_to_stderr_every_n_iterations() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "progress_child", "--nocapture"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("zoo:")).collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("zoo: iteration       5  loss "),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("zoo: iteration      10  loss "),
        "{}",
        lines[1]
    );
}
