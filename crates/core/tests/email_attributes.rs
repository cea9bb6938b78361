//! The email address's attributes (`email_domain`, `free_email`, `disposable_email`,
//! `role_account`) read the same in every part of the configuration: scoring, disqualification and
//! routing conditions, with no hand-written domain list.

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
