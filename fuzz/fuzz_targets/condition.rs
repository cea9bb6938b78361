//! Fuzzes the condition compiler and evaluator: any text compiles or yields a coded error whose
//! span lies inside the source, and a compiled condition evaluates without panicking.
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
            let _ = condition.eval(&answers);
            let _ = condition.eval(&BTreeMap::<String, String>::new());
        }
        Err(error) => {
            assert!(error.start <= error.end && error.end <= source.len());
            assert!(error.code.starts_with("condition."));
        }
    }
});
