//! Experiments: arms by a stable hash of the lead id (fixed ids give fixed arms; 10,000 ids split
//! by weight), the arm applied to routing and to the SLA clock. The configuration's checks are
//! fixtures in `test_data/config_errors/experiments-*`.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use handoff_core::experiment::{assign, ExperimentKind};
use handoff_core::routing::{route_with, Assignee, RotationState, RouteInput, Target};
use handoff_core::sla::{Span, SuppressionFacts};
use handoff_core::{AnswerValue, Bundle};

fn config() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/experiments.toml"
    ))
    .unwrap()
}

fn lead(country: &str) -> RouteInput {
    let mut input = RouteInput::default();
    input
        .answers
        .insert("country".into(), AnswerValue::Text(country.into()));
    input
}

#[test]
fn arms_are_stable_and_split_by_weight() {
    let bundle = Bundle::from_toml(&config()).unwrap();
    let sla = &bundle.experiments()[0];
    assert_eq!(
        (sla.id.as_str(), sla.kind),
        ("first-touch", ExperimentKind::Sla)
    );
    // Fixed ids, fixed arms: the same in the Worker, the CLI and next year.
    let arms: Vec<&str> = ["lead-1", "lead-2", "lead-3", "lead-4", "lead-5", "lead-6"]
        .iter()
        .map(|id| sla.assign(id).id.as_str())
        .collect();
    assert_eq!(arms, ARMS_OF_FIXED_IDS);
    let count = |e: &handoff_core::experiment::Experiment, arm: &str| {
        (0..10_000)
            .filter(|i| e.assign(&format!("{i:08x}-lead")).id == arm)
            .count()
    };
    let fast = count(sla, "fast");
    assert!((4_800..=5_200).contains(&fast), "1:1 split {fast}");
    // 3:1 weights.
    let weighted = config().replace(
        "id = \"control\"\nweight = 1",
        "id = \"control\"\nweight = 3",
    );
    let bundle = Bundle::from_toml(&weighted).unwrap();
    let control = count(&bundle.experiments()[1], "control");
    assert!((7_300..=7_700).contains(&control), "3:1 split {control}");
}

/// Computed independently (Node: `sha256("first-touch:lead-N")`, first 8 bytes big-endian, mod 2:
/// 0 is the first arm).
const ARMS_OF_FIXED_IDS: [&str; 6] = ["relaxed", "relaxed", "fast", "fast", "fast", "relaxed"];

#[test]
fn the_arm_changes_the_target_or_the_deadline() {
    let bundle = Bundle::from_toml(&config()).unwrap();
    let routing = bundle.routing().unwrap();
    let state = RotationState::default();
    // The first experiment that selects the lead; none for a German lead.
    assert!(assign(bundle.experiments(), &lead("DE"), Some(routing), "x").is_none());
    let (e, arm) = assign(bundle.experiments(), &lead("FR"), Some(routing), "x").unwrap();
    assert_eq!(e.id, "second-pool");
    let to = Target::Pool("second".into());
    let decision = route_with(routing, &lead("FR"), &state, 0, Some(&to));
    assert_eq!(decision.assignee, Assignee::Owner("ben".into()));
    let plain = route_with(routing, &lead("FR"), &state, 0, None);
    assert_eq!(plain.assignee, Assignee::Owner("ana".into()));
    assert!(arm.to.is_some());
    // SLA: the policy says 1 h; the arm says 5 min.
    let clock = |first_touch| {
        bundle
            .sla()
            .start_with(
                Some(routing),
                &lead("US"),
                &Assignee::Owner("ana".into()),
                &SuppressionFacts::default(),
                false,
                0,
                first_touch,
            )
            .unwrap()
    };
    assert_eq!(clock(None).first_touch_due_ms, 3_600_000);
    assert_eq!(clock(Some(Span::Time(300_000))).first_touch_due_ms, 300_000);
    // An arm in business days: on this calendar (24/7) policy, a business day is 24 hours.
    assert_eq!(
        clock(Some(Span::BusinessDays(2))).first_touch_due_ms,
        2 * 86_400_000
    );
    let in_days = config().replacen(
        "first_touch = \"5m\"",
        "first_touch = \"1 business day\"",
        1,
    );
    let bundle = Bundle::from_toml(&in_days).unwrap();
    let fast = &bundle.experiments()[0].arms[0];
    assert_eq!(
        (fast.id.as_str(), fast.first_touch),
        ("fast", Some(Span::BusinessDays(1)))
    );
}
