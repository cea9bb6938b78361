//! Fuzzes the condition compiler and evaluator: any text compiles or yields a coded error whose
//! span lies inside the source, a compiled condition evaluates without panicking, and its compact
//! form (what the browser receives) reads back into a condition that evaluates the same.
#![no_main]

use std::collections::BTreeMap;

use handoff_core::condition::{Condition, FieldType, ValueType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|source: &str| {
    let options = vec!["US".to_owned(), "CA".to_owned(), "DE".to_owned()];
    let fields = |id: &str| match id {
        "country" => Some(FieldType { ty: ValueType::Text, options: Some(&options[..]) }),
        "company_size" => Some(FieldType { ty: ValueType::Number, options: None }),
        "consent" => Some(FieldType { ty: ValueType::Bool, options: None }),
        "interests" => Some(FieldType { ty: ValueType::List, options: Some(&options[..]) }),
        "company" => Some(FieldType { ty: ValueType::Text, options: None }),
        _ => None,
    };
    match Condition::compile(source, &fields) {
        Ok(condition) => {
            let answers: BTreeMap<String, String> = [
                ("country", "US"),
                ("company_size", "NaN"),
                ("consent", "true"),
                ("interests", "CA"),
                ("company", source),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
            let empty = BTreeMap::<String, String>::new();
            let compact = condition.to_compact();
            let read = Condition::from_compact(&compact, source, &fields)
                .unwrap_or_else(|e| panic!("{compact:?} does not read back: {}", e.message));
            assert_eq!(read.eval(&answers), condition.eval(&answers), "{compact:?}");
            assert_eq!(read.eval(&empty), condition.eval(&empty), "{compact:?}");
        }
        Err(error) => {
            assert!(error.start <= error.end && error.end <= source.len());
            assert!(error.code.starts_with("condition."));
        }
    }
});
