//! The words `handoff check` reports, as a table: each row is a configuration (a small form, then
//! the lines the row adds) and every problem it must report, in order, with its line, column,
//! code and exact message. `config_errors.rs` holds positions and codes for many more files; this
//! table holds the text a sales-ops person reads.

use handoff_core::Bundle;

/// Lines 1 to 16 of every row's configuration: a form with an email and a select field. A row's
/// own text starts on line 17.
const FORM: &str = r#"[[forms]]
id = "demo"
title = "Talk to us"
submit_label = "Send"
success_message = "Thanks"

[[forms.fields]]
id = "email"
label = "Email"
type = "email"

[[forms.fields]]
id = "country"
label = "Country"
type = "select"
options = ["Germany", "France"]
"#;

/// Routing with one queue and one owner, for rows about owners, pools and rules (lines 17 to 25).
const ROUTING: &str = r#"[routing]
fallback = "queue:triage"
[[routing.queues]]
id = "triage"
name = "Triage"
[[routing.owners]]
id = "maya"
name = "Maya Chen"
timezone = "Europe/Berlin"
"#;

/// (what the row shows, the configuration after `FORM`, every problem as
/// (line, column, code, message)).
type Row = (
    &'static str,
    String,
    Vec<(u32, u32, &'static str, &'static str)>,
);

fn rows() -> Vec<Row> {
    let routing = |rest: &str| format!("{ROUTING}{rest}");
    vec![
        (
            "a type error and a problem elsewhere in the file are both reported",
            routing(concat!(
                "[[routing.pools]]\n",
                "id = \"emea\"\n",
                "members = [{ owner = \"maya\", weight = \"2\" }]\n",
                "[[routing.owners]]\n",
                "id = \"diego\"\n",
                "name = \"Diego\"\n",
                "timezone = \"Europe/Berln\"\n",
            )),
            vec![
                (28, 39, "config.invalid_type", "`weight` must be a whole number, like 2"),
                (
                    32,
                    12,
                    "config.invalid_timezone",
                    "\"Europe/Berln\" is not an IANA time zone name; did you mean \"Europe/Berlin\"?",
                ),
            ],
        ),
        (
            "text where a whole number goes",
            routing("capacity = \"25\"\n"),
            vec![(26, 12, "config.invalid_type", "`capacity` must be a whole number, like 25")],
        ),
        (
            "a negative count",
            routing("daily_cap = -3\n"),
            vec![(26, 13, "config.invalid_number", "`daily_cap` must be a whole number, 0 or more")],
        ),
        (
            "a date without quotes",
            routing("away = [{ from = 2026-12-21, to = \"2026-12-31\" }]\n"),
            vec![(
                26,
                18,
                "config.invalid_type",
                "`from` must be text in quotes, like \"2026-12-21\"",
            )],
        ),
        (
            "a date without quotes in a list",
            routing("holidays = [\"2026-12-24\", 2026-12-25]\n"),
            vec![(
                26,
                27,
                "config.invalid_type",
                "each entry of `holidays` must be text in quotes, like \"2026-12-25\"",
            )],
        ),
        (
            "text where a list goes",
            routing("holidays = \"2026-12-24\"\n"),
            vec![(
                26,
                12,
                "config.invalid_type",
                "`holidays` must be a list in square brackets, like [\"2026-12-24\"]",
            )],
        ),
        (
            "a yes/no given as text",
            "[[forms.fields]]\nid = \"company\"\nlabel = \"Company\"\ntype = \"text\"\nrequired = \"yes\"\n".into(),
            vec![(21, 12, "config.invalid_type", "`required` must be true or false")],
        ),
        (
            "true in quotes",
            "[[forms.fields]]\nid = \"company\"\nlabel = \"Company\"\ntype = \"text\"\nrequired = \"true\"\n".into(),
            vec![(
                21,
                12,
                "config.invalid_type",
                "`required` must be true or false, without quotes",
            )],
        ),
        (
            "an unknown key with a suggestion",
            "[[forms.fields]]\nid = \"company\"\nlabel = \"Company\"\ntype = \"text\"\nplaceholdr = \"Acme\"\n".into(),
            vec![(
                21,
                1,
                "config.unknown_key",
                "`placeholdr` is not a key of [[forms.fields]]; did you mean `placeholder`?",
            )],
        ),
        (
            "an unknown key without one lists the keys the table takes",
            "[email]\nblocklist = [\"burner.example\"]\n".into(),
            vec![(
                18,
                1,
                "config.unknown_key",
                "`blocklist` is not a key of [email], which takes disposable_block, disposable_allow and check_mail_server",
            )],
        ),
        (
            "an unknown section",
            "[lifecylce]\nmql = 40\n".into(),
            vec![(
                17,
                2,
                "config.unknown_key",
                "`lifecylce` is not a section of the configuration; did you mean `lifecycle`?",
            )],
        ),
        (
            "a word a key does not allow, with a suggestion",
            "[[forms.fields]]\nid = \"size\"\nlabel = \"Size\"\ntype = \"nubmer\"\n".into(),
            vec![(
                20,
                8,
                "config.unknown_value",
                "`type` must be one of \"text\", \"email\", \"tel\", \"number\", \"textarea\", \
                 \"select\", \"radio\", \"multi-select\", \"checkbox\", \"consent\", \"hidden\" or \
                 \"country\", not \"nubmer\"; did you mean \"number\"?",
            )],
        ),
        (
            "a required key missing",
            "[[forms.fields]]\nid = \"company\"\nlabel = \"Company\"\n".into(),
            vec![(17, 1, "config.missing_key", "[[forms.fields]] needs `type`")],
        ),
        (
            "a misspelt field in a condition",
            "[[scoring.fit]]\nid = \"dach\"\nlabel = \"DACH\"\nwhen = 'contry == \"Germany\"'\npoints = 10\n".into(),
            vec![(
                20,
                9,
                "condition.unknown_field",
                "the form has no field `contry`; did you mean `country`?",
            )],
        ),
        (
            "a misspelt option in a condition",
            "[[scoring.fit]]\nid = \"dach\"\nlabel = \"DACH\"\nwhen = 'country == \"Germny\"'\npoints = 10\n".into(),
            vec![(
                20,
                20,
                "condition.unknown_option",
                "\"Germny\" is not an option of `country`; did you mean \"Germany\"?",
            )],
        ),
        (
            "an unknown owner in a rule's target",
            routing("[[routing.rules]]\nid = \"de\"\nto = \"owner:mya\"\n"),
            vec![(
                28,
                6,
                "config.unknown_owner",
                "\"mya\" is not a [[routing.owners]] id; did you mean \"maya\"?",
            )],
        ),
        (
            "an unknown queue with nothing close",
            routing("[[routing.rules]]\nid = \"de\"\nto = \"queue:sales\"\n"),
            vec![(28, 6, "config.unknown_queue", "\"sales\" is not a [[routing.queues]] id")],
        ),
        (
            "an unknown time zone",
            routing("[[routing.owners]]\nid = \"diego\"\nname = \"Diego\"\ntimezone = \"Europe/Berln\"\n"),
            vec![(
                29,
                12,
                "config.invalid_timezone",
                "\"Europe/Berln\" is not an IANA time zone name; did you mean \"Europe/Berlin\"?",
            )],
        ),
        (
            "a duplicate id says where the first one is",
            "[[forms.fields]]\nid = \"email\"\nlabel = \"Work email\"\ntype = \"email\"\n".into(),
            vec![(
                18,
                6,
                "config.duplicate_id",
                "field id \"email\" is used twice in form \"demo\": first at line 8",
            )],
        ),
        (
            "a duplicate rule id",
            "[[disqualify]]\nid = \"x\"\nreason = \"other\"\nmessage = \"M\"\nemail_domains = [\"a.example\"]\n\
             [[disqualify]]\nid = \"x\"\nreason = \"other\"\nmessage = \"M\"\nhoneypot = true\n"
                .into(),
            vec![(23, 6, "config.duplicate_id", "rule id \"x\" is used twice: first at line 18")],
        ),
        (
            "a country field lists codes: a name is answered with its code",
            "[[forms.fields]]\nid = \"hq\"\nlabel = \"HQ\"\ntype = \"country\"\noptions = [\"DE\", \"Austria\", \"XX\"]\n"
                .into(),
            vec![
                (21, 18, "config.unknown_country", "\"Austria\" is not a country code; did you mean \"AT\"?"),
                (
                    21,
                    29,
                    "config.unknown_country",
                    "\"XX\" is not a country code; a country field lists ISO 3166-1 alpha-2 codes, \
                     such as \"DE\" or \"US\"",
                ),
            ],
        ),
        (
            "a condition on a country field names a country: the code is suggested",
            concat!(
                "[[forms.fields]]\nid = \"hq\"\nlabel = \"HQ\"\ntype = \"country\"\n",
                "[[forms.fields]]\nid = \"vat\"\nlabel = \"VAT id\"\ntype = \"text\"\n",
                "visible_if = 'hq in [\"DE\", \"Österreich\"]'\n",
                "[[scoring.fit]]\nid = \"dach\"\nlabel = \"DACH\"\npoints = 10\nwhen = 'hq == \"Switzerland\"'\n",
            )
            .into(),
            vec![
                (
                    30,
                    15,
                    "condition.unknown_option",
                    "\"Switzerland\" is not an option of `hq`; countries are written as codes: did you \
                     mean \"CH\"?",
                ),
                (
                    25,
                    28,
                    "condition.unknown_option",
                    "\"Österreich\" is not an option of `hq`; countries are written as codes: did you \
                     mean \"AT\"?",
                ),
            ],
        ),
        (
            "a duplicate on the line of the first one gives its column",
            concat!(
                "[routing]\n",
                "fallback = \"queue:triage\"\n",
                "capacity_counts = [\"new\", \"new\"]\n",
                "[[routing.queues]]\n",
                "id = \"triage\"\n",
                "name = \"Triage\"\n",
            )
            .into(),
            vec![(
                19,
                27,
                "config.duplicate_id",
                "capacity_counts lists \"new\" twice: first at line 19, column 20",
            )],
        ),
    ]
}

#[test]
fn check_reports_each_problem_in_plain_words_where_it_is() {
    let mut failures = Vec::new();
    for (what, rest, want) in rows() {
        let text = format!("{FORM}{rest}");
        let got: Vec<(u32, u32, &str, String)> = match Bundle::from_toml(&text) {
            Ok(_) => vec![],
            Err(errors) => errors
                .into_iter()
                .map(|e| (e.line, e.column, e.code, e.message))
                .collect(),
        };
        let want: Vec<(u32, u32, &str, String)> = want
            .into_iter()
            .map(|(l, c, code, m)| (l, c, code, m.to_owned()))
            .collect();
        if got != want {
            failures.push(format!("{what}:\n  got  {got:#?}\n  want {want:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
