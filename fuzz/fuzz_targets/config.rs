//! Fuzzes the configuration checker: any text either compiles to a bundle whose JSON reads back
//! identically, or yields errors with codes; it never panics.
#![no_main]

use handoff_core::Bundle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match Bundle::from_toml(text) {
        Ok(bundle) => {
            let again = Bundle::from_json(&bundle.to_json());
            assert_eq!(again.as_ref().ok(), Some(&bundle));
        }
        Err(errors) => assert!(!errors.is_empty() && errors.iter().all(|e| !e.code.is_empty())),
    }
    // Compiled bundles are read back by the Worker: that parser must hold up too.
    let _ = Bundle::from_json(text);
});
