//! The `handoff` binary as an operator runs it: exit codes, messages with positions, JSON lines.

#![allow(clippy::unwrap_used)]

#[path = "support/run.rs"]
mod run;
use run::handoff;

#[test]
fn check_passes_the_demo_configuration() {
    let (code, out, _) = handoff(&["check"], "");
    assert_eq!(code, 0);
    assert!(out.starts_with("config/demo.toml: ok, 1 form(s), 9 field(s), 10 scoring rule(s), 6 disqualification rule(s), bundle sha256:"), "{out}");
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
    assert_eq!(bundle.rules.forms[0].id, "demo");
}

/// Runs `handoff normalize KIND` on `input` and compares each output line, as JSON, with `want`.
fn check_normalize(kind: &str, input: &str, want: &[&str]) {
    let (code, out, err) = handoff(&["normalize", kind], input);
    assert_eq!(code, 0, "{err}");
    let parse = |l: &str| serde_json::from_str::<serde_json::Value>(l).unwrap();
    let lines: Vec<serde_json::Value> = out.lines().map(parse).collect();
    let want: Vec<serde_json::Value> = want.iter().map(|l| parse(l)).collect();
    assert_eq!(lines, want, "normalize {kind}");
}

#[test]
fn normalize_prints_one_json_object_per_input_line() {
    check_normalize(
        "email",
        "Maria@Example.COM\nmaria@\n\nmaria@GMIAL.com\ninfo@eu.Acme.co.uk\nkim@hotmail.co.uk\n",
        &[
            r#"{"input":"Maria@Example.COM","valid":true,"value":"Maria@example.com","suggestion":null,"issue":null,"company_domain":"example.com","free_mail":false,"disposable":false,"role_account":false}"#,
            r#"{"input":"maria@","valid":false,"value":null,"suggestion":null,"issue":"email.syntax","company_domain":null,"free_mail":false,"disposable":false,"role_account":false}"#,
            r#"{"input":"","valid":false,"value":null,"suggestion":null,"issue":"email.syntax","company_domain":null,"free_mail":false,"disposable":false,"role_account":false}"#,
            r#"{"input":"maria@GMIAL.com","valid":true,"value":"maria@gmial.com","suggestion":"gmail.com","issue":null,"company_domain":"gmial.com","free_mail":false,"disposable":true,"role_account":false}"#,
            r#"{"input":"info@eu.Acme.co.uk","valid":true,"value":"info@eu.acme.co.uk","suggestion":null,"issue":null,"company_domain":"acme.co.uk","free_mail":false,"disposable":false,"role_account":true}"#,
            r#"{"input":"kim@hotmail.co.uk","valid":true,"value":"kim@hotmail.co.uk","suggestion":null,"issue":null,"company_domain":null,"free_mail":true,"disposable":false,"role_account":false}"#,
        ],
    );
    check_normalize(
        "email",
        "kim@Mailinator.com\n",
        &[
            r#"{"input":"kim@Mailinator.com","valid":true,"value":"kim@mailinator.com","suggestion":null,"issue":null,"company_domain":"mailinator.com","free_mail":false,"disposable":true,"role_account":false}"#,
        ],
    );
    // Top-level domains that do not exist: the CLI checks the whole list, as the Worker does.
    check_normalize(
        "email",
        "maria@Comcast.TEN\nmaria@printer.local\n",
        &[
            r#"{"input":"maria@Comcast.TEN","valid":false,"value":null,"suggestion":"comcast.net","issue":"email.domain","company_domain":null,"free_mail":false,"disposable":false,"role_account":false}"#,
            r#"{"input":"maria@printer.local","valid":false,"value":null,"suggestion":null,"issue":"email.domain","company_domain":null,"free_mail":false,"disposable":false,"role_account":false}"#,
        ],
    );
    check_normalize(
        "country",
        "Deutschland\n  usa \nCongo\n\n",
        &[
            r#"{"input":"Deutschland","valid":true,"code":"DE","name":"Germany","issue":null}"#,
            r#"{"input":"  usa ","valid":true,"code":"US","name":"United States of America","issue":null}"#,
            r#"{"input":"Congo","valid":false,"code":null,"name":null,"issue":"country.unknown"}"#,
            r#"{"input":"","valid":false,"code":null,"name":null,"issue":"country.unknown"}"#,
        ],
    );
    check_normalize(
        "title",
        "VP of Engineering\n  head of SALES \nVertriebsleiter\nMarketing Intern\n\n",
        &[
            r#"{"input":"VP of Engineering","function":"engineering","seniority":"vp"}"#,
            r#"{"input":"  head of SALES ","function":"sales","seniority":"director"}"#,
            r#"{"input":"Vertriebsleiter","function":"sales","seniority":"director"}"#,
            r#"{"input":"Marketing Intern","function":"marketing","seniority":"student"}"#,
            r#"{"input":"","function":"other","seniority":"unknown"}"#,
        ],
    );
}

#[test]
fn normalize_email_reads_the_disposable_overrides_of_a_configuration() {
    let input = "kim@trial.mailinator.com\nkim@burner.example\n";
    let disposable = |args: &[&str]| -> Vec<bool> {
        let (code, out, err) = handoff(args, input);
        assert_eq!(code, 0, "{err}");
        out.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["disposable"] == true)
            .collect()
    };
    assert_eq!(disposable(&["normalize", "email"]), [true, false]);
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/demo.toml");
    assert_eq!(
        disposable(&["normalize", "email", "--config", demo]),
        [false, true]
    );
}

#[test]
fn unknown_commands_are_usage_errors() {
    let (code, _, err) = handoff(&["frobnicate"], "");
    assert_eq!(code, 2);
    assert!(err.contains("usage:"), "{err}");
}

#[test]
fn check_passes_the_second_example() {
    let (code, out, _) = handoff(&["check", "config/examples/ledgerly.toml"], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 form(s)"), "{out}");
}

#[test]
fn eval_prints_one_evaluation_per_lead_and_an_error_line_per_bad_line() {
    let leads = concat!(
        r#"{"answers": {"email": "maria@customer.example", "company_size": "1000+", "interest": "A demo", "consent": true}}"#,
        "\n",
        "not json\n",
        "\n",
        r#"{"form": "elsewhere", "answers": {}}"#,
        "\n",
        r#"{"answers": {"email": "kid@uni.example", "role": "Student", "interest": "Pricing", "consent": true}, "activity": [{"kind": "page_view", "at_ms": 1795341600000, "detail": "/pricing"}]}"#,
        "\n",
    );
    let (code, out, _) = handoff(
        &["eval", "--form", "demo", "--now", "2026-11-22T10:00:00Z"],
        leads,
    );
    assert_eq!(code, 1, "a bad line makes the exit status 1");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[0]["lifecycle"], "mql");
    assert_eq!(lines[0]["score"]["total"], 55);
    assert_eq!(lines[0]["bundle_version"].as_str().unwrap().len(), 23);
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["error"]["code"], "bad_json");
    assert_eq!(lines[2]["line"], 4);
    assert_eq!(lines[2]["error"]["code"], "unknown_form");
    assert_eq!(lines[3]["disqualification"]["reason"], "student");
    assert_eq!(lines[3]["score"]["engagement"], 6);
}

/// What `handoff eval` must print for one lead line.
enum Eval {
    /// An evaluation: its issues as `field:code`, in order, and whether it has a verdict (score,
    /// grade and lifecycle), which only a valid lead has.
    Lead(&'static [&'static str], bool),
    /// An error line: its code and message.
    Error(&'static str, &'static str),
}

#[test]
fn eval_names_the_field_of_every_problem_and_gives_an_invalid_lead_no_verdict() {
    // (what the row shows, the lead line, what eval prints for it)
    let rows: &[(&str, &str, Eval)] = &[
        (
            "a valid lead has a verdict",
            r#"{"answers": {"email": "maria@customer.example", "company_size": "1000+", "interest": "A demo", "consent": true}}"#,
            Eval::Lead(&[], true),
        ),
        (
            "an answer to a field the form does not have is reported, not dropped",
            r#"{"answers": {"email": "maria@customer.example", "compnay_size": "1000+", "interest": "A demo", "consent": true}}"#,
            Eval::Lead(&["compnay_size:answer.unknown_field"], false),
        ),
        (
            "a number is read as its text: not one of a choice's options",
            r#"{"answers": {"email": "maria@customer.example", "company_size": 250, "interest": "A demo", "consent": true}}"#,
            Eval::Lead(&["company_size:choice.unknown"], false),
        ),
        (
            "a number for a number field is its text; null is no answer",
            r#"{"answers": {"email": "maria@customer.example", "interest": "A demo", "team_size": 12, "phone": null, "consent": true}}"#,
            Eval::Lead(&[], true),
        ),
        (
            "an object for an answer names its field",
            r#"{"answers": {"email": "maria@customer.example", "company_size": {"min": 250}, "interest": "A demo", "consent": true}}"#,
            Eval::Lead(&["company_size:answer.wrong_type"], false),
        ),
        (
            "text for a consent names its field",
            r#"{"answers": {"email": "maria@customer.example", "interest": "A demo", "consent": "maybe"}}"#,
            Eval::Lead(&["consent:answer.wrong_type"], false),
        ),
        (
            "issues in form order, unknown fields last; a disqualified student is still no verdict",
            r#"{"answers": {"role": "Student", "interest": "A demo", "consent": true, "budget": "none"}}"#,
            Eval::Lead(&["email:required", "budget:answer.unknown_field"], false),
        ),
        (
            "a value of the wrong kind elsewhere names its place",
            r#"{"answers": {}, "activity": [{"kind": "page_view", "at_ms": "yesterday"}]}"#,
            Eval::Error(
                "bad_json",
                "`activity[0].at_ms` must be a whole number, like 2",
            ),
        ),
        (
            "every problem of a line, an unknown key with a suggestion",
            r#"{"answer": {}, "known": {"phone": true}}"#,
            Eval::Error(
                "bad_json",
                "`answer` is not a key of the lead; did you mean `answers`?; `known.phone` must \
                 be a whole number, like 2",
            ),
        ),
    ];
    let input: String = rows
        .iter()
        .map(|(_, line, _)| format!("{line}\n"))
        .collect();
    let (code, out, err) = handoff(
        &["eval", "--form", "demo", "--now", "2026-11-22T10:00:00Z"],
        &input,
    );
    assert_eq!(code, 1, "error lines make the exit status 1: {err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), rows.len(), "{out}");
    for ((what, _, want), got) in rows.iter().zip(&lines) {
        match want {
            Eval::Lead(issues, verdict) => {
                let listed: Vec<String> = got["issues"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| {
                        format!(
                            "{}:{}",
                            i["field"].as_str().unwrap(),
                            i["code"].as_str().unwrap()
                        )
                    })
                    .collect();
                assert_eq!(listed, *issues, "{what}: {got}");
                assert_eq!(got["valid"], issues.is_empty(), "{what}: {got}");
                for key in ["score", "grade", "lifecycle"] {
                    assert_eq!(!got[key].is_null(), *verdict, "{what}: {key} in {got}");
                }
                if !verdict {
                    assert!(got["disqualification"].is_null(), "{what}: {got}");
                }
            }
            Eval::Error(code, message) => {
                assert_eq!(got["error"]["code"], *code, "{what}: {got}");
                assert_eq!(got["error"]["message"], *message, "{what}: {got}");
            }
        }
    }
}

#[test]
fn eval_needs_a_known_form_and_a_valid_time() {
    // (arguments, expected exit code, expected text in stderr)
    let cases: &[(&[&str], i32, &str)] = &[
        (&["eval"], 2, "eval needs --form ID"),
        (&["eval", "--form", "nope"], 2, "has no form \"nope\""),
        (
            &["eval", "--form", "demo", "--now", "yesterday"],
            2,
            "not an RFC 3339 time",
        ),
        (
            &["eval", "--form", "demo", "--config", "missing.toml"],
            2,
            "missing.toml",
        ),
    ];
    for (args, code, text) in cases {
        let (got, _, err) = handoff(args, "");
        assert_eq!(got, *code, "{args:?}: {err}");
        assert!(err.contains(text), "{args:?}: {err}");
    }
}

#[test]
fn normalize_phone_prints_e164_extension_and_country() {
    let (code, out, _) = handoff(
        &["normalize", "phone", "--country", "GB"],
        "020 7946 0958 ext. 12\n+1 (613) 555-0123\nnot a number\n",
    );
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["e164"], "+442079460958");
    assert_eq!(lines[0]["extension"], "12");
    assert_eq!(lines[0]["country"], "GB");
    assert_eq!(lines[1]["e164"], "+16135550123");
    assert_eq!(lines[1]["country"], "CA");
    assert_eq!(lines[2]["valid"], false);
    assert_eq!(lines[2]["issue"], "phone.syntax");
}

#[test]
fn notify_preview_prints_escalations() {
    let escalation = r#"{"lead_id": "l-1", "name": "Ada <!channel>", "company": "Acme", "score": 85, "lifecycle": "sql", "policy": "sql", "level": 2, "to": {"id": "kim", "name": "Kim", "kind": "person"}, "owner": {"id": "ana", "name": "Ana", "kind": "person"}, "reassigned_to": {"id": "ben", "name": "Ben", "kind": "person"}, "overdue_ms": 7500000, "claim_url": ""}"#;
    let (code, out, _) = handoff(
        &[
            "notify",
            "preview",
            "--escalation",
            "--now",
            "2026-11-22T10:00:00Z",
        ],
        &format!("{escalation}\n{{\"level\": \"two\"}}\n"),
    );
    assert_eq!(code, 1);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let slack = &lines[0]["slack"];
    assert_eq!(
        slack["text"],
        "SLA missed: Ada &lt;!channel&gt; (Acme) — level 2"
    );
    assert_eq!(slack["blocks"][1]["fields"][4]["text"], "*Late by*\n2h 05m");
    // No claim link, no button.
    assert!(!slack.to_string().contains("I've got it"));
    let webhook = &lines[0]["webhook"];
    assert_eq!(webhook["type"], "lead.sla_escalated");
    assert_eq!(webhook["timestamp"], "2026-11-22T10:00:00.000Z");
    assert_eq!(webhook["data"]["reassigned_to"]["id"], "ben");
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["error"]["code"], "bad_json");
}

#[test]
fn notify_preview_prints_the_slack_and_webhook_messages() {
    let lead = r#"{"lead_id": "l-1", "name": "Maria <@U1>", "company": "Acme & Sons", "score": 80, "lifecycle": "sql", "owner": {"id": "ana", "name": "Ana", "kind": "person"}, "claim_url": "https://h.example/c"}"#;
    let (code, out, _) = handoff(
        &["notify", "preview", "--now", "2026-11-22T10:00:00Z"],
        &format!("{lead}\nnot json\n"),
    );
    assert_eq!(code, 1);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let slack = &lines[0]["slack"];
    assert_eq!(
        slack["text"],
        "New lead: Maria &lt;@U1&gt; (Acme &amp; Sons)"
    );
    assert_eq!(
        slack["blocks"].as_array().unwrap().last().unwrap()["elements"][0]["url"],
        "https://h.example/c"
    );
    let webhook = &lines[0]["webhook"];
    assert_eq!(webhook["type"], "lead.routed");
    assert_eq!(webhook["timestamp"], "2026-11-22T10:00:00.000Z");
    assert_eq!(webhook["data"]["company"], "Acme & Sons");
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["error"]["code"], "bad_json");
}

#[test]
fn metrics_reads_an_export_and_reports_like_the_worker() {
    let dir = std::env::temp_dir().join(format!("handoff-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("events.jsonl");
    let t0 = 1_795_000_000_000_i64;
    let lines = [
        serde_json::json!({"lead_id": "a", "created_ms": t0, "source": "google", "lifecycle": "sql", "owner": "maya",
            "events": [{"at_ms": t0 + 60_000, "kind": "notified"}, {"at_ms": t0 + 120_000, "kind": "accepted"},
                       {"at_ms": t0 + 180_000, "kind": "first_touch"},
                       {"at_ms": t0 + 900_000, "kind": "outcome", "detail": {"outcome": "won", "amount": 1500, "currency": "EUR"}}]}),
        serde_json::json!({"lead_id": "b", "created_ms": t0 + 1, "source": "linkedin", "lifecycle": "mql", "owner": "maya", "events": []}),
        serde_json::json!({"lead_id": "c", "created_ms": t0 + 86_400_000, "source": "google", "lifecycle": "sql", "events": []}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, text).unwrap();
    let path = file.to_str().unwrap();
    let to = (t0 + 86_400_000).to_string();
    let (code, out, err) = handoff(
        &[
            "metrics",
            "--events",
            path,
            "--to",
            &to,
            "--group-by",
            "source",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["total"]["leads"], 2, "c is outside the range");
    assert_eq!(report["total"]["first_touch_ms"]["median"], 180_000);
    assert_eq!(report["groups"][0]["key"], "google");
    assert_eq!(report["groups"][1]["key"], "linkedin");
    assert_eq!(report["groups"][1]["untouched"], 1);
    assert_eq!(report["total"]["accept_ms"]["median"], 120_000);
    assert_eq!(report["total"]["acceptance_rate"], 0.5);
    assert_eq!(report["total"]["won_revenue"]["EUR"], 1500.0);
    assert_eq!(report["total"]["funnel"]["sql"], 1);
    let (code, out, _) = handoff(
        &[
            "metrics",
            "--events",
            path,
            "--format",
            "table",
            "--from",
            "2026-11-18T00:00:00Z",
        ],
        "",
    );
    assert_eq!(code, 0);
    let rows: Vec<&str> = out.lines().collect();
    assert!(
        rows[0].starts_with("all ") && rows[0].contains("median m"),
        "{out}"
    );
    assert!(
        rows[1].starts_with("all ") && rows[1].contains(" 3 ") && rows[1].contains("3.0"),
        "{out}"
    );
    assert!(
        rows[0].contains("accept m") && rows[0].contains("won revenue"),
        "{out}"
    );
    assert!(
        rows[1].contains("2.0") && rows[1].contains("EUR 1500.00"),
        "{out}"
    );
    std::fs::write(&file, "{\"lead_id\": \"a\"}\nnot json\n").unwrap();
    let (code, _, err) = handoff(&["metrics", "--events", path], "");
    assert_eq!(code, 1);
    assert!(
        err.contains(":2: not a lead record") && err.contains("[metrics.bad_record]"),
        "{err}"
    );
    let (code, _, err) = handoff(&["metrics", "--events", path, "--group-by", "weekday"], "");
    assert_eq!(code, 2);
    assert!(err.contains("--group-by"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn flags_are_read_in_any_order() {
    let escalation = r#"{"lead_id": "l-1", "name": "Ada", "score": 85, "lifecycle": "sql", "policy": "sql", "level": 1, "to": {"id": "kim", "name": "Kim", "kind": "person"}, "owner": {"id": "ana", "name": "Ana", "kind": "person"}, "overdue_ms": 60000, "claim_url": ""}"#;
    let now = "2026-11-22T10:00:00Z";
    let before = handoff(
        &["notify", "preview", "--escalation", "--now", now],
        escalation,
    );
    let after = handoff(
        &["notify", "preview", "--now", now, "--escalation"],
        escalation,
    );
    assert_eq!(before.0, 0, "{}", before.2);
    assert_eq!(before, after);
    assert!(before.1.contains("lead.sla_escalated"), "{}", before.1);
    let lead = r#"{"answers": {"email": "maria@customer.example", "company_size": "1000+", "interest": "A demo", "consent": true}}"#;
    let one = handoff(
        &[
            "eval",
            "--now",
            now,
            "--config",
            "config/demo.toml",
            "--form",
            "demo",
        ],
        lead,
    );
    let other = handoff(
        &[
            "eval",
            "--form",
            "demo",
            "--now",
            now,
            "--config",
            "config/demo.toml",
        ],
        lead,
    );
    assert_eq!(one.0, 0, "{}", one.2);
    assert_eq!(one, other);
}

#[test]
fn every_command_has_help() {
    let commands: &[&[&str]] = &[
        &[],
        &["check"],
        &["bundle"],
        &["eval"],
        &["normalize"],
        &["normalize", "email"],
        &["normalize", "country"],
        &["normalize", "phone"],
        &["normalize", "title"],
        &["notify"],
        &["notify", "preview"],
        &["metrics"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let (code, out, err) = handoff(&args, "");
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(out.contains("usage: handoff"), "{args:?}: {out}");
    }
    let (code, out, _) = handoff(&["help", "eval"], "");
    assert_eq!(code, 0);
    assert!(out.contains("--form <ID>"), "{out}");
}

#[test]
fn no_arguments_print_the_help_and_fail() {
    let (code, out, err) = handoff(&[], "");
    assert_eq!(code, 2);
    assert!(out.is_empty(), "{out}");
    for command in ["check", "bundle", "eval", "normalize", "notify", "metrics"] {
        assert!(err.contains(command), "{err}");
    }
    assert!(err.contains("usage: handoff"), "{err}");
    let (code, _, err) = handoff(&["notify"], "");
    assert_eq!(code, 2);
    assert!(err.contains("preview"), "{err}");
}

#[test]
fn token_makes_a_new_long_token_and_the_digest_to_store() {
    let mut tokens = Vec::new();
    for role in ["admin", "reports"] {
        let (code, out, _) = handoff(&["token", role], "");
        assert_eq!(code, 0, "{out}");
        let line = |prefix: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(prefix))
                .unwrap()
                .to_owned()
        };
        let (token, digest) = (line("token:  "), line("sha256: "));
        assert!(
            token.len() >= handoff_core::client::MIN_TOKEN_LEN,
            "{token}"
        );
        let stored = handoff_core::client::Stored::Sha256Hex(&digest);
        let expected = handoff_core::client::expected_digest(stored).unwrap();
        assert!(handoff_core::client::token_matches(&token, &expected));
        let secret = format!("wrangler secret put {}_TOKEN_SHA256", role.to_uppercase());
        assert!(out.contains(&secret), "{out}");
        tokens.push(token);
    }
    assert_ne!(tokens[0], tokens[1]);
    let (code, _, err) = handoff(&["token", "root"], "");
    assert_eq!(
        (code, err.contains("invalid value 'root'")),
        (2, true),
        "{err}"
    );
}
