//! Where a returning person's repeat goes (`returning::place`), as one table: the earlier lead's
//! status, holder, age and lifecycle, the repeat's lifecycle, and the place.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use handoff_core::returning::{place, Earlier, Repeat, DEFAULT_MERGE_WINDOW_MS};
use handoff_core::routing::Assignee;
use handoff_core::scoring::Stage;
use handoff_core::status::LeadStatus;

const DAY: i64 = 24 * 3_600_000;

/// `(status, holder, age in days, earlier lifecycle, repeat lifecycle, expected)`; expected is
/// `merge`, `merge raised FROM→TO`, or `linked [owner]`.
const CASES: &[(&str, &str, i64, &str, &str, &str)] = &[
    // Still being worked, within the window: merged, nobody alerted.
    ("working", "owner:maya", 3, "sql", "sql", "merge"),
    ("new", "owner:maya", 0, "mql", "nurture", "merge"),
    ("opportunity", "owner:maya", 29, "sql", "mql", "merge"),
    ("accepted", "queue:triage", 30, "mql", "mql", "merge"),
    // Raised to MQL or SQL: merged, announced, a clock for the new stage.
    (
        "working",
        "owner:maya",
        5,
        "nurture",
        "sql",
        "merge raised nurture→sql",
    ),
    (
        "new",
        "queue:nurture",
        1,
        "nurture",
        "mql",
        "merge raised nurture→mql",
    ),
    (
        "accepted",
        "owner:maya",
        2,
        "mql",
        "sql",
        "merge raised mql→sql",
    ),
    // Raised, but not to a sales stage: not announced.
    (
        "new",
        "queue:nurture",
        1,
        "disqualified",
        "nurture",
        "merge",
    ),
    // Outside the window (eight months later): a new lead, for the earlier owner.
    (
        "working",
        "owner:maya",
        240,
        "nurture",
        "sql",
        "linked maya",
    ),
    ("new", "owner:maya", 31, "sql", "sql", "linked maya"),
    // Closed: a new lead, whenever it comes.
    ("won", "owner:maya", 2, "sql", "sql", "linked maya"),
    ("lost", "owner:maya", 2, "sql", "sql", "linked maya"),
    ("rejected", "owner:maya", 0, "mql", "sql", "linked maya"),
    ("recycled", "owner:maya", 1, "sql", "nurture", "linked maya"),
    // A queue held the earlier lead: the rules decide.
    ("won", "queue:triage", 2, "sql", "sql", "linked"),
];

fn assignee(text: &str) -> Assignee {
    match text.split_once(':').unwrap() {
        ("owner", id) => Assignee::Owner(id.to_owned()),
        (_, id) => Assignee::Queue(id.to_owned()),
    }
}

#[test]
fn returning_people_table() {
    let now = 1_800_000_000_000;
    let mut failures = Vec::new();
    for &(status, holder, age, before, after, expected) in CASES {
        let earlier = Earlier {
            id: "earlier",
            status: LeadStatus::parse(status).unwrap(),
            assignee: assignee(holder),
            created_ms: now - age * DAY,
            lifecycle: Stage::parse(before),
        };
        let got = match place(
            &earlier,
            Stage::parse(after).unwrap(),
            now,
            DEFAULT_MERGE_WINDOW_MS,
        ) {
            Repeat::Merge { into, raised: None } => {
                assert_eq!(into, "earlier");
                "merge".to_owned()
            }
            Repeat::Merge {
                raised: Some((from, to)),
                ..
            } => format!("merge raised {}→{}", from.as_str(), to.as_str()),
            Repeat::Linked {
                previous_lead,
                previous_owner,
            } => {
                assert_eq!(previous_lead, "earlier");
                format!("linked {}", previous_owner.unwrap_or_default())
                    .trim_end()
                    .to_owned()
            }
        };
        if got != expected {
            failures.push(format!(
                "{status} {holder} {age}d {before}→{after}: got {got}, want {expected}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
