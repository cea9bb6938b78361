//! Fuzzes the browser's reader of compiled conditions: whatever text arrives, `from_compact`
//! returns a condition or a `condition.bad_compact` error, never panics or recurses without bound,
//! and what it reads evaluates and writes back out to the same text.
#![no_main]

use std::collections::BTreeMap;

use handoff_core::condition::{Condition, FieldType, ValueType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|compact: &str| {
    let options = vec!["US".to_owned(), "CA".to_owned()];
    let fields = |id: &str| match id {
        "country" => Some(FieldType { ty: ValueType::Text, options: Some(&options[..]) }),
        "size" => Some(FieldType { ty: ValueType::Number, options: None }),
        "consent" => Some(FieldType { ty: ValueType::Bool, options: None }),
        "topics" => Some(FieldType { ty: ValueType::List, options: Some(&options[..]) }),
        _ => None,
    };
    match Condition::from_compact(compact, "", &fields) {
        Ok(condition) => {
            let answers: BTreeMap<String, String> =
                [("country", "US"), ("size", "12"), ("consent", "true"), ("topics", "CA")]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
            let _ = condition.eval(&answers);
            let again = Condition::from_compact(&condition.to_compact(), "", &fields)
                .unwrap_or_else(|e| panic!("{compact:?} rewritten does not read: {}", e.message));
            assert_eq!(again.to_compact(), condition.to_compact());
        }
        Err(error) => assert_eq!(error.code, "condition.bad_compact"),
    }
});
