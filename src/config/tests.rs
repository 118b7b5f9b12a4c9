use super::*;

#[test]
fn readme_documents_every_option() {
    let readme = include_str!("../../README.md");
    let table = options_markdown_table();
    assert!(
        readme.contains(&table),
        "README's option table is stale; it should read:\n{table}"
    );
}

#[test]
fn parses_the_documented_example() {
    let c = TrainerConfig::parse(
        "estimator=rge-central q=16 mu=1e-3 optimizer=adam lr=1e-3 seed=7 threads=2",
    )
    .unwrap();
    assert_eq!(c.estimator.kind, EstimatorKind::RgeCentral);
    assert_eq!((c.estimator.q, c.estimator.mu), (16, 1e-3));
    assert_eq!((c.optim.kind, c.optim.lr), (OptimizerKind::Adam, 1e-3));
    assert_eq!((c.seed, c.threads), (7, 2));
}

#[test]
fn every_option_round_trips_through_get_and_set() {
    let mut c = TrainerConfig::default();
    for option in OPTIONS {
        let value = c.get(option.key).unwrap();
        let before = c.clone();
        c.set(option.key, &value).unwrap();
        assert_eq!(c, before, "{}", option.key);
        assert_eq!(
            TrainerConfig::parse(&format!("{}={}", option.key, option.default)).unwrap(),
            TrainerConfig::default()
        );
    }
}

#[test]
fn unknown_keys_name_the_key_and_the_known_ones() {
    let mut c = TrainerConfig::default();
    let err = c.set("learning_rate", "1").unwrap_err().to_string();
    assert!(
        err.contains("'learning_rate'") && err.contains("lr, momentum"),
        "{err}"
    );
    assert!(c.get("nope").is_err());
}

#[test]
fn bad_values_name_key_value_and_accepted_and_change_nothing() {
    let cases = [
        ("estimator", "sge", "rge-forward | rge-central"),
        ("q", "0", "integer in [1, 1000000]"),
        ("q", "1000001", "integer in [1, 1000000]"),
        ("q", "2.5", "integer in [1, 1000000]"),
        ("mu", "-1", "number > 0"),
        ("mu", "nan", "number > 0"),
        ("lr", "inf", "number ≥ 0"),
        ("beta2", "1", "[0, 1)"),
        ("gamma", "0", "(0, 1]"),
        ("threads", "-2", "integer in [0, 1024]"),
        ("threads", "1025", "integer in [0, 1024]"),
        ("seed", "-1", "[0, 2^64)"),
        ("nonfinite", "ignore", "skip | error"),
    ];
    for (key, value, accepted) in cases {
        let mut c = TrainerConfig::default();
        let err = c.set(key, value).unwrap_err().to_string();
        assert!(
            err.contains(&format!("'{key}'"))
                && err.contains(&format!("'{value}'"))
                && err.contains(accepted),
            "{err}"
        );
        assert_eq!(c, TrainerConfig::default());
    }
}

#[test]
fn apply_is_all_or_nothing() {
    let mut c = TrainerConfig::default();
    assert!(c.apply("lr=0.5 q=0").is_err());
    assert_eq!(c, TrainerConfig::default());
    let err = c.apply("lr=0.5 q").unwrap_err();
    assert_eq!(err, ZooError::MalformedOption { word: "q".into() });
    c.apply("lr=0.5\n  q=3").unwrap();
    assert_eq!((c.optim.lr, c.estimator.q), (0.5, 3));
    assert_eq!(c.get("seed").unwrap(), "0");
    c.set("seed", "18446744073709551615").unwrap();
    assert_eq!(c.seed, u64::MAX);
}

#[test]
fn quoted_values_hold_whitespace_and_duplicate_keys_are_refused() {
    let c = TrainerConfig::parse("metrics_file=\"/tmp/my run.jsonl\"  lr='1e-3' q=4").unwrap();
    assert_eq!(c.get("metrics_file").unwrap(), "/tmp/my run.jsonl");
    assert_eq!(c.get("lr").unwrap(), "0.001");
    assert_eq!(c.get("q").unwrap(), "4");
    assert_eq!(
        words("a=\"x'y\" b='p\"q'").unwrap(),
        [("a", "x'y"), ("b", "p\"q")]
    );
    assert_eq!(words("  ").unwrap(), []);

    let err = TrainerConfig::parse("lr=0.1 q=4 lr=0.2").unwrap_err();
    assert_eq!(err, ZooError::DuplicateOption { key: "lr".into() });
    assert!(err.to_string().contains("'lr' is given twice"), "{err}");

    for (options, needle) in [
        ("metrics_file=\"/tmp/open", "not closed"),
        ("metrics_file=\"/tmp/a\"b", "after the closing quote"),
        ("lr 0.1", "'lr'"),
        ("q=4 lr", "'lr'"),
    ] {
        let err = TrainerConfig::parse(options).unwrap_err();
        assert!(
            matches!(err, ZooError::MalformedOption { .. }) && err.to_string().contains(needle),
            "{options}: {err}"
        );
    }
    let mut c = TrainerConfig::parse("lr=0.5").unwrap();
    assert!(c.apply("lr=0.1 lr=0.2").is_err());
    assert_eq!(c.get("lr").unwrap(), "0.5", "all or nothing");
}
