//! The attributes handoff-core derives from a lead (`email_domain`, `free_email`, `disposable_email`,
//! `role_account`, `country_code`, `region_code`) read the same in every part of the configuration:
//! scoring, disqualification and routing conditions, with no hand-written domain or spelling list.

#![allow(clippy::unwrap_used, clippy::type_complexity)]

use handoff_core::attribution::Utm;
use handoff_core::evaluate::{evaluate, LeadInput};
use handoff_core::routing::{route, Assignee, RotationState, RouteInput};
use handoff_core::{AnswerValue, Bundle};

const CONFIG: &str = r#"
[[forms]]
id = "f"
title = "T"
submit_label = "Go"
success_message = "Thanks"

[[forms.fields]]
id = "email"
label = "Email"
type = "email"
required = true

[scoring.max]
fit = 50
engagement = 20
intent = 30

[[scoring.fit]]
id = "business-address"
label = "A business address"
when = "not free_email and not role_account"
points = 20

[[scoring.fit]]
id = "target-domain"
label = "A domain we want"
when = 'email_domain in ["acme.com", "globex.com"]'
points = 10

[[disqualify]]
id = "throwaway"
reason = "disposable_email"
message = "A throwaway address"
when = "disposable_email"

[routing]
fallback = "queue:triage"

[[routing.owners]]
id = "ana"
name = "Ana"
timezone = "UTC"

[[routing.queues]]
id = "triage"
name = "Triage"

[[routing.queues]]
id = "shared"
name = "Shared inboxes"

[[routing.rules]]
id = "shared"
when = "role_account or free_email"
to = "queue:shared"

[[routing.rules]]
id = "everyone"
to = "owner:ana"
"#;

#[test]
fn email_attributes_score_disqualify_and_route() {
    let bundle = Bundle::from_toml(CONFIG).unwrap();
    let routing = bundle.routing().unwrap();
    // (address, fit, disqualified by, routed to)
    let cases: &[(&str, i32, Option<&str>, &str)] = &[
        ("maria@acme.com", 30, None, "owner:ana"),
        ("maria@eu.globex.com", 30, None, "owner:ana"),
        ("maria@initech.com", 20, None, "owner:ana"),
        ("maria@gmail.com", 0, None, "queue:shared"),
        ("sales@acme.com", 10, None, "queue:shared"),
        ("maria@mailinator.com", 20, Some("throwaway"), "owner:ana"),
    ];
    for (address, fit, disqualified, to) in cases {
        let lead = LeadInput {
            form: "f".into(),
            answers: [("email".to_owned(), AnswerValue::Text((*address).to_owned()))].into(),
            activity: vec![],
            known: Default::default(),
            context: Default::default(),
            earlier: vec![],
        };
        let e = evaluate(&bundle, &lead, 0).unwrap();
        assert_eq!(e.score.fit, *fit, "{address}");
        assert_eq!(
            e.disqualification.as_ref().map(|d| d.rule.as_str()),
            *disqualified,
            "{address}"
        );
        let input = RouteInput::from_evaluation(&bundle, &e, &Utm::default());
        let decision = route(routing, &input, &RotationState::default(), 0);
        let got = match decision.assignee {
            Assignee::Owner(id) => format!("owner:{id}"),
            Assignee::Queue(id) => format!("queue:{id}"),
        };
        assert_eq!(&got, to, "{address}");
    }
}

#[test]
fn an_attribute_of_the_wrong_type_is_a_located_error() {
    let bad = CONFIG.replace(
        "when = \"disposable_email\"",
        "when = 'disposable_email == \"yes\"'",
    );
    let errors = Bundle::from_toml(&bad).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].code.starts_with("condition."), "{errors:?}");
}

const PLACES: &str = r#"
[[forms]]
id = "f"
title = "T"
submit_label = "Go"
success_message = "Thanks"

[[forms.fields]]
id = "email"
label = "Email"
type = "email"
required = true

[[forms.fields]]
id = "country"
label = "Country"
type = "text"

[[forms.fields]]
id = "state"
label = "State or province"
type = "text"

[scoring.max]
fit = 50
engagement = 20
intent = 30

[[scoring.fit]]
id = "dach"
label = "In DACH"
when = 'country_code in ["DE", "AT", "CH"]'
points = 20

[routing]
fallback = "queue:triage"

[[routing.owners]]
id = "dieter"
name = "Dieter"
timezone = "Europe/Berlin"

[[routing.owners]]
id = "cali"
name = "Cali"
timezone = "America/Los_Angeles"

[[routing.queues]]
id = "triage"
name = "Triage"

[[routing.rules]]
id = "dach"
when = 'country_code in ["DE", "AT", "CH"]'
to = "owner:dieter"

[[routing.rules]]
id = "west"
when = 'region_code in ["CA", "OR", "WA", "BC"]'
to = "owner:cali"
"#;

#[test]
fn countries_and_regions_are_codes_whatever_the_visitor_typed() {
    let bundle = Bundle::from_toml(PLACES).unwrap();
    let routing = bundle.routing().unwrap();
    // (country typed, state typed, fit, routed to)
    let cases: &[(&str, &str, i32, &str)] = &[
        ("Germany", "", 20, "owner:dieter"),
        ("Deutschland", "", 20, "owner:dieter"),
        ("DE", "", 20, "owner:dieter"),
        ("  de ", "", 20, "owner:dieter"),
        ("Schweiz", "", 20, "owner:dieter"),
        ("United States", "California", 0, "owner:cali"),
        ("USA", "ca", 0, "owner:cali"),
        ("Canada", "Colombie-Britannique", 0, "owner:cali"),
        ("United States", "New York", 0, "queue:triage"),
        ("Atlantis", "", 0, "queue:triage"),
    ];
    for (country, state, fit, to) in cases {
        let mut answers = handoff_core::answer::AnswerMap::new();
        answers.insert("email".into(), AnswerValue::Text("maria@acme.com".into()));
        answers.insert("country".into(), AnswerValue::Text((*country).into()));
        if !state.is_empty() {
            answers.insert("state".into(), AnswerValue::Text((*state).into()));
        }
        let lead = LeadInput {
            form: "f".into(),
            answers,
            activity: vec![],
            known: Default::default(),
            context: Default::default(),
            earlier: vec![],
        };
        let e = evaluate(&bundle, &lead, 0).unwrap();
        assert_eq!(e.score.fit, *fit, "{country}");
        let input = RouteInput::from_evaluation(&bundle, &e, &Utm::default());
        let decision = route(routing, &input, &RotationState::default(), 0);
        let got = match decision.assignee {
            Assignee::Owner(id) => format!("owner:{id}"),
            Assignee::Queue(id) => format!("queue:{id}"),
        };
        assert_eq!(&got, to, "{country} / {state}");
    }
    // A country name or a typo where a code belongs is caught when the configuration is checked.
    for wrong in ["country_code in [\"Germany\"]", "country_code == \"DX\""] {
        let text = PLACES.replacen("country_code in [\"DE\", \"AT\", \"CH\"]", wrong, 1);
        let errors = Bundle::from_toml(&text).unwrap_err();
        assert_eq!(
            errors[0].code, "condition.unknown_option",
            "{wrong}: {errors:?}"
        );
    }
}

/// A form whose `hq` field is of type `country`, the DACH countries only, and scoring and routing
/// on the field's code.
const COUNTRY_FIELD: &str = r#"
[[forms]]
id = "f"
title = "T"
submit_label = "Go"
success_message = "Thanks"

[[forms.fields]]
id = "email"
label = "Email"
type = "email"
required = true

[[forms.fields]]
id = "hq"
label = "Headquarters"
type = "country"
options = ["de", "AT", "CH"]

[[forms.fields]]
id = "anywhere"
label = "Where else?"
type = "country"

[[scoring.fit]]
id = "germany"
label = "In Germany"
when = 'hq == "DE"'
points = 20

[routing]
fallback = "queue:triage"

[[routing.owners]]
id = "dieter"
name = "Dieter"
timezone = "Europe/Berlin"

[[routing.queues]]
id = "triage"
name = "Triage"

[[routing.rules]]
id = "dach"
when = 'country_code in ["DE", "AT", "CH"]'
to = "owner:dieter"
"#;

#[test]
fn a_country_field_offers_codes_and_answers_with_them() {
    let bundle = Bundle::from_toml(COUNTRY_FIELD).unwrap();
    let form = &bundle.form("f").unwrap().spec;
    // Listed codes in upper case, in the order given; none listed: the shipped list, by code.
    assert_eq!(form.fields[1].options, ["DE", "AT", "CH"]);
    let every: Vec<&str> = handoff_core::country::countries().map(|(c, _)| c).collect();
    assert_eq!(form.fields[2].options, every);
    assert!(every.len() > 240 && every.windows(2).all(|w| w[0] < w[1]));
    let routing = bundle.routing().unwrap();
    // (answer, stored, issue, fit, routed to)
    let cases: &[(&str, Option<&str>, Option<&str>, i32, &str)] = &[
        ("DE", Some("DE"), None, 20, "owner:dieter"),
        (" de ", Some("DE"), None, 20, "owner:dieter"),
        ("ch", Some("CH"), None, 0, "owner:dieter"),
        // A name, or a country the field does not offer, is not an answer.
        (
            "Germany",
            None,
            Some("hq:country.unknown"),
            0,
            "queue:triage",
        ),
        ("FR", None, Some("hq:country.unknown"), 0, "queue:triage"),
    ];
    for (typed, stored, issue, fit, to) in cases {
        let mut answers = handoff_core::answer::AnswerMap::new();
        answers.insert("email".into(), AnswerValue::Text("maria@acme.com".into()));
        answers.insert("hq".into(), AnswerValue::Text((*typed).into()));
        let lead = LeadInput {
            form: "f".into(),
            answers,
            activity: vec![],
            known: Default::default(),
            context: Default::default(),
            earlier: vec![],
        };
        let e = evaluate(&bundle, &lead, 0).unwrap();
        assert_eq!(
            e.answers.get("hq").and_then(AnswerValue::as_text),
            *stored,
            "{typed}"
        );
        let issues: Vec<String> = e
            .issues
            .iter()
            .map(|i| format!("{}:{}", i.field, i.code.as_str()))
            .collect();
        assert_eq!(issues.first().map(String::as_str), *issue, "{typed}");
        assert_eq!(e.score.fit, *fit, "{typed}");
        let input = RouteInput::from_evaluation(&bundle, &e, &Utm::default());
        let decision = route(routing, &input, &RotationState::default(), 0);
        let got = match &decision.assignee {
            Assignee::Owner(id) => format!("owner:{id}"),
            Assignee::Queue(id) => format!("queue:{id}"),
        };
        assert_eq!(&got, to, "{typed}");
        // The alert names the country; the lead keeps the code.
        let attribution = handoff_core::attribution::Attribution::default();
        let summary = handoff_core::notify::summarize(
            &bundle,
            &e,
            &decision,
            &attribution,
            "l",
            String::new(),
        );
        let shown = summary.asked.iter().find(|a| a.label == "Headquarters");
        let name = stored.and_then(handoff_core::country::country_name);
        assert_eq!(shown.map(|a| a.value.as_str()), name, "{typed}");
    }
    // The bundle carries the codes, so the stored bundle reads back to the same version.
    let again = Bundle::from_json(&bundle.to_json()).unwrap();
    assert_eq!(again.version, bundle.version);
}

#[test]
fn a_submission_without_a_fill_time_is_too_fast_unless_the_rule_allows_it() {
    let rule = |missing: &str| {
        format!(
            "{}\n[[disqualify]]\nid = \"too-fast\"\nreason = \"bot\"\nmessage = \"M\"\nmin_fill_seconds = 3\n{missing}\n",
            &PLACES[..PLACES.find("[scoring.max]").unwrap()]
        )
    };
    // (the rule's `missing`, the fill time, disqualified)
    let cases: &[(&str, Option<i64>, bool)] = &[
        ("", None, true),
        ("missing = \"refuse\"", None, true),
        ("missing = \"allow\"", None, false),
        ("missing = \"allow\"", Some(1_000), true),
        ("", Some(60_000), false),
    ];
    for (missing, fill_ms, disqualified) in cases {
        let bundle = Bundle::from_toml(&rule(missing)).unwrap();
        let lead = LeadInput {
            form: "f".into(),
            answers: [("email".to_owned(), AnswerValue::Text("a@acme.com".into()))].into(),
            activity: vec![],
            known: Default::default(),
            context: handoff_core::disqualify::SubmitContext {
                honeypot: String::new(),
                fill_ms: *fill_ms,
            },
            earlier: vec![],
        };
        let e = evaluate(&bundle, &lead, 0).unwrap();
        assert_eq!(e.is_bot(), *disqualified, "{missing} {fill_ms:?}");
    }
}

#[test]
fn the_company_and_the_job_title_are_read_as_codes() {
    let config = PLACES
        .replace(
            "[[forms.fields]]\nid = \"state\"",
            "[[forms.fields]]\nid = \"company\"\nlabel = \"Company\"\ntype = \"text\"\n\n[[forms.fields]]\nid = \"title\"\nlabel = \"Job title\"\ntype = \"text\"\n\n[[forms.fields]]\nid = \"state\"",
        )
        .replace(
            "when = 'country_code in [\"DE\", \"AT\", \"CH\"]'\npoints = 20",
            "when = 'function == \"data\" and seniority in [\"director\", \"vp\", \"c_level\"]'\npoints = 20",
        )
        .replace(
            "when = 'region_code in [\"CA\", \"OR\", \"WA\", \"BC\"]'",
            "when = 'company_key == \"acme\" or company_domain == \"initech.com\"'",
        );
    let bundle = Bundle::from_toml(&config).unwrap();
    let routing = bundle.routing().unwrap();
    // (email, company, title, fit, routed to)
    let cases: &[(&str, &str, &str, i32, &str)] = &[
        (
            "a@x.com",
            "ACME, Inc.",
            "Director of Data Science",
            20,
            "owner:cali",
        ),
        (
            "a@x.com",
            "The Acme GmbH",
            "Leiterin Data Analytics",
            20,
            "owner:cali",
        ),
        ("a@x.com", "Globex", "Data Engineer", 0, "queue:triage"),
        ("a@initech.com", "", "VP Sales", 0, "owner:cali"),
        ("a@gmail.com", "", "Chief Data Officer", 20, "queue:triage"),
    ];
    for (email, company, title, fit, to) in cases {
        let mut answers = handoff_core::answer::AnswerMap::new();
        answers.insert("email".into(), AnswerValue::Text((*email).into()));
        for (id, value) in [("company", company), ("title", title)] {
            if !value.is_empty() {
                answers.insert(id.into(), AnswerValue::Text((*value).into()));
            }
        }
        let lead = LeadInput {
            form: "f".into(),
            answers,
            activity: vec![],
            known: Default::default(),
            context: Default::default(),
            earlier: vec![],
        };
        let e = evaluate(&bundle, &lead, 0).unwrap();
        assert_eq!(e.score.fit, *fit, "{company} / {title}");
        let input = RouteInput::from_evaluation(&bundle, &e, &Utm::default());
        let decision = route(routing, &input, &RotationState::default(), 0);
        let got = match decision.assignee {
            Assignee::Owner(id) => format!("owner:{id}"),
            Assignee::Queue(id) => format!("queue:{id}"),
        };
        assert_eq!(&got, to, "{email} {company}");
    }
    let typo = config.replace("function == \\\"data\\\"", "function == \\\"datta\\\"");
    let typo = typo.replace("function == \"data\"", "function == \"datta\"");
    let errors = Bundle::from_toml(&typo).unwrap_err();
    assert_eq!(errors[0].code, "condition.unknown_option", "{errors:?}");
}

#[test]
fn routing_reads_every_derived_attribute_with_the_same_type() {
    for derived in handoff_core::enrich::DERIVED_ATTRIBUTES {
        assert!(
            handoff_core::routing::ATTRIBUTES.contains(&derived),
            "{derived:?}"
        );
    }
}
