//! The checkpoint loader: any bytes either decode into a valid model or
//! trainer, or fail with an error; never a panic, never an invalid model.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zoo::checkpoint;
use zoo::trainer::Trainer;

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = checkpoint::decode(data, "fuzz") {
        let model = decoded.model;
        assert!(model.params().iter().all(|v| v.is_finite()));
        assert!(model
            .params()
            .iter()
            .zip(model.mask())
            .all(|(p, &m)| m || *p == 0.0));
        // A decoded checkpoint encodes and decodes to the same model.
        let again = checkpoint::decode(
            &checkpoint::encode(&model, decoded.trainer.as_ref()).unwrap(),
            "again",
        )
        .unwrap();
        assert_eq!(again.model.params(), model.params());
    }
    // The one option that writes files: fuzzing must not litter.
    let writes_files = checkpoint::decode(data, "fuzz").is_ok_and(|c| {
        c.trainer.is_some_and(|t| {
            t.options
                .iter()
                .any(|(k, v)| k == "metrics_file" && !v.is_empty())
        })
    });
    if writes_files {
        return;
    }
    if let Ok(mut trainer) = Trainer::from_checkpoint_bytes(data, "fuzz") {
        // A loaded trainer can train.
        let _ = trainer.step(|c| Ok(c.params().iter().map(|v| v * v).sum()));
    }
});
