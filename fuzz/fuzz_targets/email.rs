//! Fuzzes email normalization: never panics, and normalizing a normalized address changes nothing.
#![no_main]

use handoff_core::email;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    if let Ok(once) = email::normalize(raw) {
        assert_eq!(email::normalize(&once), Ok(once.clone()));
        assert!(once.len() <= email::MAX_ADDRESS);
    }
});
