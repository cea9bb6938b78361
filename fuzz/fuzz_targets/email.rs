//! Fuzzes email normalization: never panics, and normalizing a normalized address changes nothing;
//! the Worker's full check refuses only what the browser's would take; a suggestion never panics
//! and is never corrected again.
#![no_main]

use handoff_core::email;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    if let Ok(once) = email::normalize(raw) {
        assert_eq!(email::normalize(&once), Ok(once.clone()));
        assert!(once.len() <= email::MAX_ADDRESS);
    }
    if let Ok(full) = email::normalize_full(raw) {
        assert_eq!(email::normalize(raw), Ok(full));
    }
    if let Some(fixed) = email::suggest(raw) {
        assert_eq!(email::suggest(&fixed), None);
    }
});
