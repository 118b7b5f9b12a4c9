//! The option parser: any string either parses or fails with an error;
//! a configuration that parses reads back to itself through `get`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zoo::config::{TrainerConfig, OPTIONS};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = TrainerConfig::parse(text) {
        let mut again = TrainerConfig::default();
        for option in OPTIONS {
            let value = config.get(option.key).unwrap();
            again.set(option.key, &value).unwrap();
        }
        assert_eq!(again, config);
    }
    // One key and value split at the first '=', as zoo_trainer_set takes them.
    if let Some((key, value)) = text.split_once('=') {
        let mut config = TrainerConfig::default();
        let before = config.clone();
        if config.set(key, value).is_err() {
            assert_eq!(config, before, "a failed set changed the configuration");
        }
    }
});
