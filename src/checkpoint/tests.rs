//! Checkpoints: round trips, bit-identical restarts, and every way a file
//! can be wrong.

use super::*;
use crate::prune::{Method, Scope};
use crate::trainer::Trainer;

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("zoo-ckpt-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn pruned_model() -> Model {
    let mut model = Model::mlp(&[3, 8, 2], Activation::Gelu, 4).unwrap();
    model
        .prune(Method::Magnitude(Scope::LayerWise), 0.5)
        .unwrap();
    model
}

fn loss(c: &mut crate::trainer::Candidate) -> crate::trainer::LossResult {
    let mut y = [0.0; 2];
    c.forward(&[0.3, -0.2, 0.9], &mut y).unwrap();
    Ok((y[0] - 0.5).powi(2) + (y[1] + 0.25).powi(2))
}

#[test]
fn models_round_trip_with_their_masks() {
    let dir = temp_dir("model");
    let path = dir.join("model.safetensors");
    let model = pruned_model();
    save_model(&model, &path).unwrap();
    let loaded = load_model(&path).unwrap();
    assert_eq!(loaded.params(), model.params());
    assert_eq!(loaded.mask(), model.mask());
    assert_eq!(loaded.network().layers(), model.network().layers());
    // Nothing but the checkpoint is left in the directory.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("model.safetensors")]);
}

#[test]
fn polynomial_models_round_trip_and_differ_from_plain_layers() {
    let dir = temp_dir("polynomial");
    let path = dir.join("sindy.safetensors");
    let mut model = Model::polynomial(3, 2, 3, 5).unwrap();
    model.threshold(0.3, true).unwrap();
    save_model(&model, &path).unwrap();
    let loaded = load_model(&path).unwrap();
    assert!(loaded.network().same_architecture(model.network()));
    assert_eq!(
        (loaded.params(), loaded.mask()),
        (model.params(), model.mask())
    );
    // A plain 9-3 linear layer has the same widths but no features.
    let plain = Model::mlp(&[9, 3], Activation::Identity, 5).unwrap();
    let mut trainer = Trainer::new(plain, "").unwrap();
    let mut saved = Trainer::new(model, "").unwrap();
    saved
        .step(|c| Ok(c.params().iter().map(|v| v * v).sum()))
        .unwrap();
    saved.save(&path).unwrap();
    let err = trainer.restore(&path).unwrap_err();
    assert!(err.to_string().contains("polynomial features"), "{err}");
    let bytes = std::fs::read(&path).unwrap();
    let odd = with_metadata(&bytes, |m| {
        m.insert("feature_degree".into(), "3".into());
    });
    assert!(reason(&odd).contains("do not fit polynomial features"));
    let unknown = with_metadata(&bytes, |m| {
        m.insert("features".into(), "fourier".into());
    });
    assert!(reason(&unknown).contains("fourier"));
}

#[test]
fn restarting_from_a_checkpoint_continues_bit_for_bit() {
    let dir = temp_dir("restart");
    for options in [
        "estimator=rge-central q=4 lr=0.05 seed=3",
        "estimator=cge-forward optimizer=momentum lr=0.02 schedule=cosine schedule_iterations=12",
        "estimator=rge-forward q=3 gradient_density=0.5 redraw_every=2 optimizer=adam lr=0.03 clip=1",
        "estimator=cge-central cge_coords=5 feature_reuse=on optimizer=nesterov lr=0.01 weight_decay=0.1",
        "estimator=rge-central q=4 lr=auto base_loss=on shaping=rank seed=5",
        "estimator=cge-forward optimizer=sgd lr=auto",
    ] {
        let (n, k) = (12, 5);
        let mut straight = Trainer::new(pruned_model(), options).unwrap();
        for _ in 0..n {
            straight.step(loss).unwrap();
        }
        let mut first = Trainer::new(pruned_model(), options).unwrap();
        for _ in 0..k {
            first.step(loss).unwrap();
        }
        let path = dir.join("trainer.safetensors");
        first.save(&path).unwrap();
        drop(first);
        let mut resumed = Trainer::load(&path).unwrap();
        assert_eq!(resumed.iteration(), k as u64);
        assert_eq!(resumed.config(), straight.config(), "{options}");
        for _ in k..n {
            resumed.step(loss).unwrap();
        }
        assert_eq!(resumed.params(), straight.params(), "{options}");
        assert_eq!(resumed.model().mask(), straight.model().mask());
    }
}

#[test]
fn restore_keeps_the_trainer_on_a_mismatch_and_replaces_it_otherwise() {
    let dir = temp_dir("restore");
    let path = dir.join("t.safetensors");
    let mut saved = Trainer::new(pruned_model(), "q=2 lr=0.1 seed=8").unwrap();
    saved.step(loss).unwrap();
    saved.save(&path).unwrap();

    let other = Model::mlp(&[3, 9, 2], Activation::Gelu, 4).unwrap();
    let mut trainer = Trainer::new(other.clone(), "q=5").unwrap();
    let err = trainer.restore(&path).unwrap_err();
    assert!(matches!(err, ZooError::BadCheckpoint { .. }));
    assert!(err.to_string().contains("does not match"), "{err}");
    assert_eq!((trainer.params(), trainer.iteration()), (other.params(), 0));
    assert_eq!(trainer.get("q").unwrap(), "5");

    let mut trainer = Trainer::new(pruned_model(), "q=5").unwrap();
    trainer.restore(&path).unwrap();
    assert_eq!((trainer.params(), trainer.iteration()), (saved.params(), 1));
    assert_eq!(
        trainer.get("q").unwrap(),
        "2",
        "options come from the checkpoint"
    );
}

#[test]
fn checkpoints_are_taken_between_iterations() {
    let mut trainer = Trainer::new(pruned_model(), "q=2").unwrap();
    let _id = trainer.ask().unwrap().unwrap();
    let err = trainer.checkpoint_bytes().unwrap_err();
    assert!(err.to_string().contains("save a checkpoint"), "{err}");
    trainer.abort_iteration().unwrap();
    assert!(trainer.checkpoint_bytes().is_ok());
}

#[test]
fn a_failed_save_leaves_the_old_file() {
    let dir = temp_dir("failed-save");
    let path = dir.join("t.safetensors");
    let trainer = Trainer::new(pruned_model(), "q=2").unwrap();
    trainer.save(&path).unwrap();
    let before = std::fs::read(&path).unwrap();
    // The target is a directory: the rename fails after the temporary
    // file was written.
    let blocked = dir.join("blocked");
    std::fs::create_dir_all(blocked.join("inner")).unwrap();
    let err = trainer.save(&blocked).unwrap_err();
    assert!(matches!(err, ZooError::Io { .. }), "{err}");
    assert!(err.to_string().contains("blocked"), "{err}");
    let err = trainer
        .save(Path::new("/nonexistent-zoo-dir/t.safetensors"))
        .unwrap_err();
    assert!(err.to_string().contains("nonexistent-zoo-dir"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let leftovers = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp-")
        })
        .count();
    assert_eq!(leftovers, 0, "temporary files are removed");
}

/// Re-encodes `bytes` with its metadata changed by `edit`, and a
/// checksum that matches the change (so that the checks behind the
/// checksum are reached).
fn with_metadata(bytes: &[u8], edit: impl FnOnce(&mut HashMap<String, String>)) -> Vec<u8> {
    edited(bytes, |m| {
        edit(m);
        let tensors = SafeTensors::deserialize(bytes).unwrap();
        let data = tensors.iter().map(|(name, view)| (name, view.data()));
        let sum = covering_checksum(data, m);
        m.insert("checksum".into(), format!("{sum:016x}"));
    })
}

/// Re-encodes `bytes` with its metadata changed by `edit` and nothing
/// else: the checksum is the old one.
fn edited(bytes: &[u8], edit: impl FnOnce(&mut HashMap<String, String>)) -> Vec<u8> {
    let tensors = SafeTensors::deserialize(bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(bytes).unwrap();
    let mut metadata = header.metadata().clone().unwrap();
    edit(&mut metadata);
    safetensors::serialize(tensors.tensors(), Some(metadata)).unwrap()
}

/// `trainer` as a zoo before format 3 wrote it: every option (the
/// environment ones included) and a checksum of the tensors only.
fn old_layout(trainer: &Trainer) -> Vec<u8> {
    let bytes = trainer.checkpoint_bytes().unwrap();
    let version = if trainer.model().network().features().is_some() {
        "2"
    } else {
        "1"
    };
    let tensors = SafeTensors::deserialize(&bytes).unwrap();
    let names = ["params", "mask", "optimizer.first", "optimizer.second"];
    let data: Vec<_> = names
        .iter()
        .map(|n| (*n, tensors.tensor(n).unwrap().data()))
        .collect();
    let sum = tensor_checksum(data.into_iter());
    edited(&bytes, |m| {
        m.insert("format_version".into(), version.into());
        m.insert("checksum".into(), format!("{sum:016x}"));
        for o in crate::config::OPTIONS {
            m.insert(format!("option.{}", o.key), trainer.get(o.key).unwrap());
        }
    })
}

fn reason(bytes: &[u8]) -> String {
    match Trainer::from_checkpoint_bytes(bytes, "test") {
        Err(e @ ZooError::BadCheckpoint { .. }) => e.to_string(),
        Err(other) => panic!("wrong error kind: {other}"),
        Ok(_) => panic!("a bad checkpoint was accepted"),
    }
}

#[test]
fn bad_files_are_refused_with_a_reason() {
    let mut trainer = Trainer::new(pruned_model(), "q=2").unwrap();
    trainer.step(loss).unwrap();
    let good = trainer.checkpoint_bytes().unwrap();
    assert!(Trainer::from_checkpoint_bytes(&good, "good").is_ok());

    assert!(reason(b"not a checkpoint at all").contains("not a readable safetensors"));
    // Every truncation is refused (and none panics).
    for cut in (0..good.len()).step_by(7) {
        let r = reason(&good[..cut]);
        assert!(
            r.contains("truncated") || r.contains("checksum") || r.contains("header"),
            "cut at {cut}: {r}"
        );
    }
    // One flipped bit in the data.
    let mut flipped = good.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x10;
    assert!(reason(&flipped).contains("checksum"));

    let newer = with_metadata(&good, |m| {
        m.insert("format_version".into(), "4".into());
    });
    assert!(reason(&newer).contains("newer zoo"));
    let foreign = with_metadata(&good, |m| {
        m.insert("format".into(), "pytorch".into());
    });
    assert!(reason(&foreign).contains("not a zoo checkpoint"));
    let no_metadata = {
        let tensors = SafeTensors::deserialize(&good).unwrap();
        safetensors::serialize(tensors.tensors(), None).unwrap()
    };
    assert!(reason(&no_metadata).contains("no metadata"));
    let wider = with_metadata(&good, |m| {
        m.insert("layers".into(), "3,9,2".into());
    });
    assert!(reason(&wider).contains("the architecture needs"));
    let unknown_option = with_metadata(&good, |m| {
        m.insert("option.warp_drive".into(), "on".into());
    });
    assert!(reason(&unknown_option).contains("warp_drive"));
    for (key, value) in [
        ("auto_lr", "inf"),
        ("auto_lr", "0"),
        ("auto_accepted_loss", "x"),
        ("auto_searching", "maybe"),
    ] {
        let bad_auto = with_metadata(&good, |m| {
            m.insert(key.into(), value.into());
        });
        assert!(reason(&bad_auto).contains(key), "{key}={value}");
    }
    // lr=auto is the default: the state is there, still in its search
    // after one update; a file written before the search resumes without.
    let searching = |bytes: &[u8]| {
        let state = decode(bytes, "t").unwrap().trainer.unwrap();
        state.auto.unwrap().searching
    };
    assert!(searching(&good));
    let older = with_metadata(&good, |m| {
        m.remove("auto_searching");
    });
    assert!(!searching(&older));
    let model_only = encode(trainer.model(), None).unwrap();
    assert!(reason(&model_only).contains("holds a model"));
    assert!(decode(&model_only, "m").is_ok());

    let Err(err) = Trainer::load(Path::new("/nonexistent-zoo-dir/t.safetensors")) else {
        panic!("loaded a missing file")
    };
    assert!(matches!(err, ZooError::Io { .. }), "{err}");
}

#[test]
fn the_checksum_covers_every_metadata_entry() {
    let mut trainer = Trainer::new(pruned_model(), "q=2 lr=0.1 seed=3").unwrap();
    trainer.step(loss).unwrap();
    let good = trainer.checkpoint_bytes().unwrap();
    let (_, header) = SafeTensors::read_metadata(&good).unwrap();
    let metadata = header.metadata().clone().unwrap();
    assert_eq!(metadata["format_version"], FORMAT_VERSION.to_string());
    assert_eq!(FORMAT_VERSION, 3);
    for key in metadata.keys().filter(|k| *k != "checksum") {
        if key == "format_version" || key == "format" {
            continue; // checked first, with their own messages
        }
        let changed = edited(&good, |m| {
            let value = m.get_mut(key).unwrap();
            *value = if value == "1" { "2".into() } else { "1".into() };
        });
        let r = reason(&changed);
        assert!(r.contains("checksum mismatch"), "{key}: {r}");
        let removed = edited(&good, |m| {
            m.remove(key);
        });
        assert!(reason(&removed).contains("checksum"), "{key}");
    }
    let added = edited(&good, |m| {
        m.insert("option.nonfinite".into(), "error".into());
    });
    assert!(reason(&added).contains("checksum mismatch"));
    // Re-signed, the same edit is accepted: the checksum was the reason.
    let lr = with_metadata(&good, |m| {
        m.insert("option.lr".into(), "0.5".into());
    });
    let loaded = Trainer::from_checkpoint_bytes(&lr, "re-signed").unwrap();
    assert_eq!(loaded.get("lr").unwrap(), "0.5");
}

#[test]
fn environment_options_are_neither_stored_nor_restored() {
    let dir = temp_dir("environment");
    let saved_metrics = dir.join("saved-metrics.jsonl");
    let options = format!(
        "q=2 lr=0.1 threads=2 progress_every=3 partition=replicated metrics_file={}",
        saved_metrics.display()
    );
    let mut trainer = Trainer::new(pruned_model(), &options).unwrap();
    trainer.step(loss).unwrap();
    let bytes = trainer.checkpoint_bytes().unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = header.metadata().clone().unwrap();
    for key in ENVIRONMENT_OPTIONS {
        assert!(
            crate::config::OPTIONS.iter().any(|o| o.key == *key),
            "{key} is an option"
        );
        assert!(!metadata.contains_key(&format!("option.{key}")), "{key}");
    }
    assert_eq!(metadata["option.q"], "2");
    std::fs::remove_file(&saved_metrics).unwrap();
    for bytes in [bytes, old_layout(&trainer)] {
        let state = decode(&bytes, "t").unwrap().trainer.unwrap();
        assert!(state.options.iter().all(|(k, _)| !is_environment_option(k)));
        let loaded = Trainer::from_checkpoint_bytes(&bytes, "t").unwrap();
        let defaults = crate::config::TrainerConfig::default();
        for key in ENVIRONMENT_OPTIONS {
            assert_eq!(
                loaded.get(key).unwrap(),
                defaults.get(key).unwrap(),
                "{key}"
            );
        }
        assert_eq!(loaded.num_threads(), 1);
        assert_eq!(loaded.get("lr").unwrap(), "0.1");
        assert!(
            !saved_metrics.exists(),
            "a loaded file opened no metrics file"
        );
    }
}

#[test]
fn files_in_the_old_layouts_still_load_and_continue_bit_for_bit() {
    let polynomial = || {
        let mut model = Model::polynomial(3, 2, 2, 5).unwrap();
        model.threshold(0.05, true).unwrap();
        model
    };
    for (model, options) in [
        (
            pruned_model(),
            "q=3 lr=0.05 seed=2 threads=2 metrics_file=/nonexistent-zoo-dir/m.jsonl",
        ),
        (
            polynomial(),
            "estimator=cge-central lr=0.02 progress_every=1",
        ),
    ] {
        let no_file = options.replace("metrics_file=/nonexistent-zoo-dir/m.jsonl", "");
        let mut straight = Trainer::new(model.clone(), &no_file).unwrap();
        for _ in 0..6 {
            straight.step(loss).unwrap();
        }
        let mut first = Trainer::new(model, &no_file).unwrap();
        for _ in 0..3 {
            first.step(loss).unwrap();
        }
        let mut old = old_layout(&first);
        if options.contains("metrics_file") {
            // As a host with metrics on wrote it (the old checksum covers
            // the tensors only, so it still holds).
            old = edited(&old, |m| {
                m.insert(
                    "option.metrics_file".into(),
                    "/nonexistent-zoo-dir/m.jsonl".into(),
                );
            });
        }
        let (_, header) = SafeTensors::read_metadata(&old).unwrap();
        let version = &header.metadata().as_ref().unwrap()["format_version"];
        assert!(version == "1" || version == "2", "{version}");
        // The stored metrics file (in a missing directory) is not opened.
        let mut resumed = Trainer::from_checkpoint_bytes(&old, "old").unwrap();
        assert_eq!(resumed.get("metrics_file").unwrap(), "");
        assert_eq!(resumed.get("threads").unwrap(), "1");
        assert_eq!(resumed.get("progress_every").unwrap(), "0");
        for _ in 3..6 {
            resumed.step(loss).unwrap();
        }
        assert_eq!(resumed.params(), straight.params(), "{options}");
        // Old files keep the old checksum: their tensors are still covered.
        let mut flipped = old.clone();
        let last = flipped.len() - 3;
        flipped[last] ^= 0x10;
        assert!(reason(&flipped).contains("checksum"));
    }
}

#[test]
fn feature_layers_are_checked_before_they_are_built() {
    assert_eq!(monomials_up_to(3, 2, 100), Some(9));
    assert_eq!(monomials_up_to(1, 5, 100), Some(5));
    assert_eq!(monomials_up_to(3, 2, 8), None);
    assert_eq!(monomials_up_to(usize::MAX, 900, usize::MAX), None);
    let model = Model::polynomial(3, 2, 2, 5).unwrap();
    let bytes = encode(&model, None).unwrap();
    assert!(decode(&bytes, "ok").is_ok());
    // One input to degree 99 999 is 99 999 monomials: a consistent file,
    // but building it would recurse 99 999 calls deep.
    let deep = Model::mlp(&[99_999, 1], Activation::Identity, 1).unwrap();
    let deep = with_metadata(&encode(&deep, None).unwrap(), |m| {
        m.insert("features".into(), "polynomial".into());
        m.insert("feature_inputs".into(), "1".into());
        m.insert("feature_degree".into(), "99999".into());
    });
    let Err(err) = decode(&deep, "deep") else {
        panic!("accepted")
    };
    assert!(
        err.to_string()
            .contains("feature_degree 99999 is over the limit of 1000"),
        "{err}"
    );
    // Inputs that would give more monomials than the layer has.
    let wide = with_metadata(&bytes, |m| {
        m.insert("feature_inputs".into(), "1000000000".into());
    });
    let Err(err) = decode(&wide, "wide") else {
        panic!("accepted")
    };
    assert!(
        err.to_string().contains("do not fit polynomial features"),
        "{err}"
    );
}
