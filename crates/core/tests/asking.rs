//! When a field is asked (`ask`): `once` (the default: until known, required fields included),
//! `always`, or only of `returning` visitors; the email address and consent on every visit.
//! Tables of (what is known, what this visit typed) → the fields shown.

#![allow(clippy::unwrap_used, clippy::type_complexity)]

use handoff_core::visibility::Known;
use handoff_core::{AnswerValue, Bundle};

const FORM: &str = r#"
[[forms]]
id = "f"
title = "T"
submit_label = "Go"
success_message = "Thanks"

[forms.profiling]
max_new_questions = 5
max_age_days = 30
pool = []

[[forms.fields]]
id = "email"
label = "Email"
type = "email"
required = true

[[forms.fields]]
id = "company"
label = "Company"
type = "text"
required = true

[[forms.fields]]
id = "timeline"
label = "When do you buy?"
type = "text"
ask = "always"

[[forms.fields]]
id = "budget"
label = "Budget"
type = "text"
ask = "returning"

[[forms.fields]]
id = "consent"
label = "I agree"
type = "consent"
required = true
"#;

const NOW: i64 = 100 * 86_400_000;
const DAY: i64 = 86_400_000;

#[test]
fn which_fields_a_visit_asks() {
    let bundle = Bundle::from_toml(FORM).unwrap();
    let form = bundle.form("f").unwrap();
    let cases: &[(&str, &[(&str, i64)], &[(&str, &str)], &[&str])] = &[
        (
            "a first visit: everything but the returning visitor's question",
            &[],
            &[],
            &["email", "company", "timeline", "consent"],
        ),
        (
            "a first visit that typed the returning question anyway keeps it",
            &[],
            &[("budget", "10k")],
            &["email", "company", "timeline", "budget", "consent"],
        ),
        (
            "a returning visitor: the known required company is not asked; always is; returning is",
            &[("company", NOW - DAY)],
            &[],
            &["email", "timeline", "budget", "consent"],
        ),
        (
            "a known answer older than max_age_days is asked again",
            &[("company", NOW - 40 * DAY), ("budget", NOW - DAY)],
            &[],
            &["email", "company", "timeline", "consent"],
        ),
        (
            "known email, consent and always fields are asked anyway",
            &[
                ("email", NOW - DAY),
                ("consent", NOW - DAY),
                ("timeline", NOW - DAY),
            ],
            &[],
            &["email", "company", "timeline", "budget", "consent"],
        ),
    ];
    for (name, known, typed, want) in cases {
        let known: Known = known.iter().map(|(k, t)| ((*k).to_owned(), *t)).collect();
        let answers: handoff_core::answer::AnswerMap = typed
            .iter()
            .map(|(k, v)| ((*k).to_owned(), AnswerValue::Text((*v).to_owned())))
            .collect();
        let shown = form.plan(&answers, &known, NOW);
        let got: Vec<&str> = form
            .spec
            .fields
            .iter()
            .zip(shown)
            .filter(|(_, s)| *s)
            .map(|(f, _)| f.id.as_str())
            .collect();
        assert_eq!(&got, want, "{name}");
    }
}

#[test]
fn ask_is_left_out_of_a_bundle_when_it_is_the_default() {
    let bundle = Bundle::from_toml(FORM).unwrap();
    let json = bundle.to_json();
    assert_eq!(json.matches("\"ask\"").count(), 2, "{json}");
    let bad = FORM.replace("ask = \"always\"", "ask = \"sometimes\"");
    let errors = Bundle::from_toml(&bad).unwrap_err();
    assert_eq!(errors[0].code, "config.unknown_value");
}
