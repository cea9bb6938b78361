//! The `handoff` binary as an operator runs it: exit codes, messages with positions, JSON lines.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `handoff args…` with `stdin`, returning (exit code, stdout, stderr).
fn handoff(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().unwrap(),
        text(out.stdout),
        text(out.stderr),
    )
}

#[test]
fn check_passes_the_demo_configuration() {
    let (code, out, _) = handoff(&["check"], "");
    assert_eq!(code, 0);
    assert!(
        out.starts_with("config/demo.toml: ok, 1 form(s), 2 field(s), bundle sha256:"),
        "{out}"
    );
}

#[test]
fn check_reports_every_problem_with_its_place_and_fails() {
    let dir = std::env::temp_dir().join(format!("handoff-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    let form =
        "[[forms]]\nid = \"demo\"\ntitle = \"T\"\nsubmit_label = \"S\"\nsuccess_message = \"M\"\n";
    let field = "[[forms.fields]]\nid = \"Email\"\nlabel = \"E\"\ntype = \"email\"\n";
    std::fs::write(&path, format!("{form}{field}{field}")).unwrap();
    let (code, _, err) = handoff(&["check", path.to_str().unwrap()], "");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, 1);
    let shown = path.display();
    assert!(
        err.contains(&format!("{shown}:7:6: field id \"Email\" must start")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{shown}:11:6: field id \"Email\" is used twice")),
        "{err}"
    );
    assert!(err.contains("3 problem(s)"), "{err}");
}

#[test]
fn bundle_prints_the_canonical_json() {
    let (code, out, _) = handoff(&["bundle"], "");
    assert_eq!(code, 0);
    let bundle = handoff_core::Bundle::from_json(out.trim()).unwrap();
    assert_eq!(bundle.forms[0].id, "demo");
}

#[test]
fn normalize_email_prints_one_json_object_per_line() {
    let (code, out, _) = handoff(&["normalize", "email"], "Maria@Example.COM\nmaria@\n\n");
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let want = [
        r#"{"input":"Maria@Example.COM","valid":true,"value":"Maria@example.com","code":null}"#,
        r#"{"input":"maria@","valid":false,"value":null,"code":"email.syntax"}"#,
        r#"{"input":"","valid":false,"value":null,"code":"email.syntax"}"#,
    ];
    let want: Vec<serde_json::Value> = want
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, want);
}

#[test]
fn unknown_commands_are_usage_errors() {
    let (code, _, err) = handoff(&["frobnicate"], "");
    assert_eq!(code, 2);
    assert!(err.contains("usage:"), "{err}");
}
