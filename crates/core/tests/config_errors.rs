//! Configuration errors as data: every `test_data/config_errors/NAME.toml` is checked by
//! `Bundle::from_toml` and its problems, as `LINE:COLUMN code`, must be exactly the lines of
//! `NAME.expected` beside it (empty for a configuration that is accepted). Names start with the
//! section they exercise (`forms`, `routing`, `sla`, `notify`, `crm`, `feedback`, `experiments`).

#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

use std::path::Path;

use handoff_core::Bundle;

/// The problems `text` has, one `LINE:COLUMN code` each, in the order they are reported.
fn problems(text: &str) -> Vec<String> {
    match Bundle::from_toml(text) {
        Ok(_) => vec![],
        Err(errors) => errors
            .iter()
            .map(|e| format!("{}:{} {}", e.line, e.column, e.code))
            .collect(),
    }
}

#[test]
fn config_errors_have_codes_and_positions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/config_errors");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    names.sort();
    let mut failures = Vec::new();
    for path in &names {
        let text = std::fs::read_to_string(path).unwrap();
        let expected = std::fs::read_to_string(path.with_extension("expected"))
            .unwrap_or_else(|e| panic!("{}: {e}", path.with_extension("expected").display()));
        let want: Vec<&str> = expected.lines().filter(|l| !l.is_empty()).collect();
        let got = problems(&text);
        if got != want {
            failures.push(format!(
                "{}\n  got  {got:?}\n  want {want:?}",
                path.display()
            ));
        }
    }
    // Every case the section tests had: a lost file would pass silently otherwise.
    assert!(names.len() >= 95, "only {} fixtures", names.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
