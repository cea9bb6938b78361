//! The lead status machine as a table (`test_data/status.tsv`): every status and move, the next
//! status or the refusal's stable code; and that every status and code reads back from its text.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

#[path = "support/table.rs"]
mod table;

use handoff_core::status::{advance, LeadStatus, Move, StatusCode};
use table::rows;

fn step(text: &str) -> Move<'_> {
    let (name, reason) = text
        .split_once(':')
        .map_or((text, None), |(n, r)| (n, Some(r)));
    match (name, reason) {
        ("accept", None) => Move::Accept,
        ("contact", None) => Move::Contact,
        ("meeting", None) => Move::Meeting,
        ("opportunity", None) => Move::Opportunity,
        ("won", None) => Move::Won,
        ("merge", None) => Move::Merge,
        ("lost", Some(reason)) => Move::Lost { reason },
        ("reject", Some(reason)) => Move::Reject { reason },
        ("recycle", Some(reason)) => Move::Recycle { reason },
        _ => panic!("unknown move {text}"),
    }
}

#[test]
fn moves_from_every_status_as_the_table_says() {
    let mut failures = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (line, cells) in rows("status.tsv") {
        let [from, mv, expected] = &cells[..] else {
            panic!("line {line}: three columns")
        };
        let from = LeadStatus::parse(from).unwrap_or_else(|| panic!("line {line}: status {from}"));
        seen.insert(from);
        let got = match advance(from, &step(mv)) {
            Ok(m) if !m.changed() => "=".to_owned(),
            Ok(m) => m.to.as_str().to_owned(),
            Err(code) => code.as_str().to_owned(),
        };
        if &got != expected {
            failures.push(format!(
                "line {line}: {} {mv}: {got}, expected {expected}",
                from.as_str()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(seen.len(), LeadStatus::ALL.len(), "every status has a row");
}

#[test]
fn statuses_read_back_and_only_open_ones_move_forward() {
    for status in LeadStatus::ALL {
        assert_eq!(LeadStatus::parse(status.as_str()), Some(status));
        let open = matches!(
            status,
            LeadStatus::New
                | LeadStatus::Accepted
                | LeadStatus::Working
                | LeadStatus::Meeting
                | LeadStatus::Opportunity
        );
        assert_eq!(status.is_open(), open, "{}", status.as_str());
    }
    assert_eq!(LeadStatus::parse("open"), None);
    let holding: Vec<_> = LeadStatus::ALL
        .into_iter()
        .filter(|s| s.holds_capacity_by_default())
        .collect();
    assert_eq!(holding, [LeadStatus::New, LeadStatus::Accepted]);
    let codes: Vec<_> = StatusCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        codes,
        ["status.closed", "status.reason_required", "status.not_new"]
    );
}
