//! Lead routing, table-driven: `test_data/routing.jsonl` routes leads with `test_data/routing.toml`
//! (rule order, each target kind, the fallback chain, every skip reason, accounts);
//! `test_data/routing_rotation.tsv` runs pools over many leads (weights, members added and
//! removed, capacity, reassignments); `test_data/reassign.tsv` moves leads whose SLA lapsed to
//! the pool's next eligible member. The `[routing]` checks' codes and positions are fixtures in
//! `test_data/config_errors/routing-*`.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::collections::BTreeMap;

use handoff_core::routing::{
    pool_status, reassign, route, Assignee, By, Decision, RotationState, RouteInput, StateChange,
};
use handoff_core::Bundle;
use serde::Deserialize;

#[path = "support/table.rs"]
mod table;

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/test_data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn instant(text: &str) -> i64 {
    text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn assignee(d: &Decision) -> String {
    match &d.assignee {
        Assignee::Owner(id) => format!("owner:{id}"),
        Assignee::Queue(id) => format!("queue:{id}"),
    }
}

fn by(by: &By) -> (String, String) {
    match by {
        By::Account { account } => (format!("account:{account}"), format!("account {account}")),
        By::Rule { rule } => (format!("rule:{rule}"), format!("rule {rule}")),
        By::RuleFallback { rule } => (format!("rule_fallback:{rule}"), format!("fallback {rule}")),
        By::GlobalFallback => ("global_fallback".to_owned(), "global fallback".to_owned()),
        By::Reassigned { from } => (format!("reassigned:{from}"), format!("reassigned {from}")),
        By::Returning => ("returning".to_owned(), "returning person".to_owned()),
    }
}

/// Each attempt as `rule na → pool:na: ana=chosen ben=not_next`.
fn attempts(d: &Decision) -> Vec<String> {
    d.attempts
        .iter()
        .map(|a| {
            let mut line = format!("{} → {}:", by(&a.by).1, a.target);
            for c in &a.candidates {
                let status = match (c.chosen, c.skip) {
                    (true, None) => "chosen",
                    (false, Some(skip)) => skip.code(),
                    other => panic!("a candidate is chosen xor skipped: {other:?}"),
                };
                line.push_str(&format!(" {}={status}", c.owner));
            }
            line
        })
        .collect()
}

fn changes(d: &Decision) -> Vec<String> {
    d.changes
        .iter()
        .map(|c| match c {
            StateChange::Joined {
                pool,
                owner,
                assigned,
            } => format!("joined {pool} {owner} {assigned}"),
            StateChange::Assigned {
                pool,
                owner,
                expected_previous,
                new_assigned,
            } => format!("assigned {pool} {owner} {expected_previous}->{new_assigned}"),
            StateChange::Opened {
                owner,
                expected_previous,
                new_open,
            } => format!("opened {owner} {expected_previous}->{new_open}"),
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    now: String,
    lead: RouteInput,
    #[serde(default)]
    state: RotationState,
    want: Want,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Want {
    assignee: String,
    by: Option<String>,
    pool: Option<String>,
    account: Option<String>,
    unmatched: Option<Vec<String>>,
    attempts: Option<Vec<String>>,
    changes: Option<Vec<String>>,
}

#[test]
fn routing_table() {
    let bundle = Bundle::from_toml(&data("routing.toml")).unwrap();
    let routing = bundle.routing().unwrap();
    let mut failures = Vec::new();
    let text = data("routing.jsonl");
    let mut count = 0;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        count += 1;
        let case: Case =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("routing.jsonl:{}: {e}", i + 1));
        let now = instant(&case.now);
        let d = route(routing, &case.lead, &case.state, now);
        let w = &case.want;
        let mut check = |what: &str, got: String, want: String| {
            if got != want {
                failures.push(format!(
                    "routing.jsonl:{} ({}): {what}\n   got {got}\n  want {want}",
                    i + 1,
                    case.name
                ));
            }
        };
        check("assignee", assignee(&d), w.assignee.clone());
        if let Some(want) = &w.by {
            check("by", by(&d.by).0, want.clone());
        }
        check("pool", format!("{:?}", d.pool), format!("{:?}", w.pool));
        if w.account.is_some() || d.account.is_some() {
            check(
                "account",
                format!("{:?}", d.account),
                format!("{:?}", w.account),
            );
        }
        if let Some(want) = &w.unmatched {
            check(
                "unmatched",
                format!("{:?}", d.unmatched_rules),
                format!("{want:?}"),
            );
        }
        if let Some(want) = &w.attempts {
            check(
                "attempts",
                format!("{:?}", attempts(&d)),
                format!("{want:?}"),
            );
        }
        if let Some(want) = &w.changes {
            check("changes", format!("{:?}", changes(&d)), format!("{want:?}"));
        }
        // Deterministic, explained, and storable.
        assert_eq!(d, route(routing, &case.lead, &case.state, now));
        assert!(d.summary.ends_with('.') && d.explain().starts_with(&d.summary));
        let last = d.attempts.last().unwrap();
        assert_eq!(
            last.by,
            d.by,
            "routing.jsonl:{}: the last attempt placed it",
            i + 1
        );
        let mut state = case.state.clone();
        state.apply(&d.changes).unwrap();
    }
    assert!(count >= 20, "the table lost cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A pool `p` of `members` (`ana:3 ben:2`), each working around the clock with capacity 5, and
/// one rule sending every lead to it.
fn pool_config(members: &str) -> Bundle {
    let mut text = String::from(
        "[[forms]]\nid = \"f\"\ntitle = \"T\"\nsubmit_label = \"S\"\nsuccess_message = \"M\"\n\
         [[forms.fields]]\nid = \"email\"\nlabel = \"E\"\ntype = \"email\"\n\
         [routing]\nfallback = \"queue:q\"\n[[routing.queues]]\nid = \"q\"\nname = \"Q\"\n\
         [[routing.rules]]\nid = \"all\"\nto = \"pool:p\"\n",
    );
    let mut list = Vec::new();
    for member in members.split_whitespace() {
        let (owner, weight) = member.split_once(':').unwrap();
        text.push_str(&format!(
            "[[routing.owners]]\nid = \"{owner}\"\nname = \"{owner}\"\ntimezone = \"UTC\"\ncapacity = 5\n"
        ));
        list.push(format!("{{ owner = \"{owner}\", weight = {weight} }}"));
    }
    text.push_str(&format!(
        "[[routing.pools]]\nid = \"p\"\nmembers = [{}]\n",
        list.join(", ")
    ));
    Bundle::from_toml(&text).unwrap()
}

#[test]
fn rotation_table() {
    let now = instant("2026-11-23T16:00:00Z");
    let mut failures = Vec::new();
    for (line, cols) in table::rows("routing_rotation.tsv") {
        let mut members = cols[0].clone();
        let mut bundle = pool_config(&members);
        let mut state = RotationState::default();
        let mut open: BTreeMap<String, u32> = BTreeMap::new();
        for step in cols[1].split(" ; ") {
            let (verb, rest) = step.split_once(' ').unwrap();
            match verb {
                "members" => {
                    members = rest.to_owned();
                    bundle = pool_config(&members);
                }
                "full" => {
                    open.insert(rest.to_owned(), 5);
                }
                "free" => {
                    open.remove(rest);
                }
                "run" | "reassign" => {
                    // `run N`, or `reassign N from X`: N leads routed, or N of X's leads moved.
                    let (n, from) = match rest.split_once(" from ") {
                        Some((n, from)) if verb == "reassign" => (n, Some(from)),
                        _ => (rest, None),
                    };
                    let n: usize = n.parse().unwrap();
                    let routing = bundle.routing().unwrap();
                    let mut got: BTreeMap<String, usize> = BTreeMap::new();
                    for _ in 0..n {
                        state.open = open.clone();
                        let d = match from {
                            None => route(routing, &RouteInput::default(), &state, now),
                            Some(from) => {
                                reassign(routing, "p", from, &state, now).unwrap_or_else(|| {
                                    panic!("routing_rotation.tsv:{line}: {step}: nobody else")
                                })
                            }
                        };
                        let Assignee::Owner(owner) = &d.assignee else {
                            panic!("routing_rotation.tsv:{line}: queued: {}", d.summary);
                        };
                        *got.entry(owner.clone()).or_default() += 1;
                        state.apply(&d.changes).unwrap();
                    }
                    // Each run splits by weight among those who can take leads, within one.
                    let eligible: Vec<(&str, f64)> = members
                        .split_whitespace()
                        .map(|m| m.split_once(':').unwrap())
                        .filter(|(o, _)| !open.contains_key(*o) && Some(*o) != from)
                        .map(|(o, w)| (o, w.parse::<f64>().unwrap()))
                        .collect();
                    let total: f64 = eligible.iter().map(|(_, w)| w).sum();
                    for (owner, weight) in &eligible {
                        let share = n as f64 * weight / total;
                        let have = got.get(*owner).copied().unwrap_or(0) as f64;
                        if (have - share).abs() > 1.0 {
                            failures.push(format!(
                                "routing_rotation.tsv:{line}: {step}: {owner} got {have} leads, \
                                 its share is {share:.1}"
                            ));
                        }
                    }
                    if let Some(from) = from {
                        assert!(
                            !got.contains_key(from),
                            "routing_rotation.tsv:{line}: {step}"
                        );
                    }
                }
                other => panic!("routing_rotation.tsv:{line}: unknown step {other}"),
            }
        }
        let counts: Vec<String> = state
            .assigned
            .get("p")
            .unwrap()
            .iter()
            .map(|(o, n)| format!("{o}={n}"))
            .collect();
        if counts.join(" ") != cols[2] {
            failures.push(format!(
                "routing_rotation.tsv:{line}: counts {}, want {}",
                counts.join(" "),
                cols[2]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn concurrent_decisions_never_take_the_same_turn() {
    let bundle = pool_config("ana:1 ben:1");
    let routing = bundle.routing().unwrap();
    let now = instant("2026-11-23T16:00:00Z");
    let mut stored = RotationState::default();
    stored
        .apply(&route(routing, &RouteInput::default(), &stored, now).changes)
        .unwrap();
    // Two submissions read the same state and both pick ben; the second to commit loses.
    let first = route(routing, &RouteInput::default(), &stored, now);
    let second = route(routing, &RouteInput::default(), &stored, now);
    assert_eq!(first.assignee, Assignee::Owner("ben".to_owned()));
    assert_eq!(first, second);
    stored.apply(&first.changes).unwrap();
    let conflict = stored.clone().apply(&second.changes).unwrap_err();
    assert!(matches!(conflict.change, StateChange::Assigned { .. }));
    // Retrying against the stored state gives the next turn, not the same one.
    let retry = route(routing, &RouteInput::default(), &stored, now);
    assert_eq!(retry.assignee, Assignee::Owner("ana".to_owned()));
    stored.apply(&retry.changes).unwrap();
    assert_eq!(stored.assigned["p"]["ana"], 2);
    assert_eq!(stored.assigned["p"]["ben"], 1);
    assert_eq!(stored.open["ana"], 2);
}

#[test]
fn decisions_serialize_with_stable_codes() {
    let bundle = Bundle::from_toml(&data("routing.toml")).unwrap();
    let lead: RouteInput =
        serde_json::from_str(r#"{"answers": {"country": "Germany"}, "email": "m@acme.example"}"#)
            .unwrap();
    let state = RotationState::default();
    let d = route(
        bundle.routing().unwrap(),
        &lead,
        &state,
        instant("2026-11-23T16:00:00Z"),
    );
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["assignee"], serde_json::json!({"owner": "eli"}));
    assert_eq!(
        json["by"],
        serde_json::json!({"kind": "rule", "rule": "emea"})
    );
    assert_eq!(json["account"], "acme");
    assert_eq!(json["attempts"][0]["target"], "owner:dee");
    assert_eq!(json["attempts"][0]["candidates"][0]["skip"], "away");
    assert_eq!(
        json["attempts"][0]["candidates"][0]["message"],
        "Dee Brandt is away until Sat 2026-11-28 00:00 (Europe/Berlin)"
    );
    assert_eq!(json["attempts"][1]["candidates"][1]["chosen"], true);
    assert_eq!(
        json["changes"][0],
        serde_json::json!({"op": "joined", "pool": "emea", "owner": "dee", "assigned": 0})
    );
    assert_eq!(
        d.summary,
        "Assigned to Eli Shaw by the emea rotation: rule emea matched."
    );
    let night = route(
        bundle.routing().unwrap(),
        &lead,
        &state,
        instant("2026-11-24T04:00:00Z"),
    );
    assert_eq!(
        night.attempts[1].candidates[1].message,
        "Eli Shaw is outside working hours (mon-fri 09:00-17:00; it is Tue 2026-11-24 04:00 in Europe/London)"
    );
}

#[test]
fn configurations_without_routing_keep_their_bundle_version() {
    let plain =
        "[[forms]]\nid = \"f\"\ntitle = \"T\"\nsubmit_label = \"S\"\nsuccess_message = \"M\"\n\
                 [[forms.fields]]\nid = \"email\"\nlabel = \"E\"\ntype = \"email\"\n";
    let bundle = Bundle::from_toml(plain).unwrap();
    assert!(bundle.routing().is_none());
    assert!(!bundle.to_json().contains("routing"));
    // The routed bundle survives its JSON round trip, routing compiled again.
    let routed = Bundle::from_toml(&data("routing.toml")).unwrap();
    let again = Bundle::from_json(&routed.to_json()).unwrap();
    assert_eq!(again.version, routed.version);
    assert!(again.routing().is_some());
}

#[test]
fn demo_leads_route_from_their_evaluation() {
    use handoff_core::attribution::Utm;
    use handoff_core::{evaluate, LeadInput};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/demo.toml");
    let bundle = Bundle::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap();
    let routing = bundle.routing().unwrap();
    // Monday 10:00 in New York, 15:00 in London, 16:00 in Berlin.
    let now = instant("2026-11-23T15:00:00Z");
    let lead = |email: &str| -> RouteInput {
        let input: LeadInput = serde_json::from_value(serde_json::json!({
            "form": "demo",
            "answers": {"email": email, "company_size": "201-1000", "role": "Data",
                        "country": "Germany", "interest": "A demo", "consent": true}
        }))
        .unwrap();
        let evaluation = evaluate(&bundle, &input, now).unwrap();
        RouteInput::from_evaluation(&bundle, &evaluation, &Utm::default())
    };
    let state = RotationState::default();
    let known = route(routing, &lead("maria@eu.contoso-labs.example"), &state, now);
    assert_eq!(known.assignee, Assignee::Owner("sam".to_owned()));
    assert_eq!(known.account.as_deref(), Some("contoso"));
    let new = lead("maria@bigco.example");
    assert_eq!(new.lifecycle.as_deref(), Some("sql"));
    assert_eq!(new.email.as_deref(), Some("maria@bigco.example"));
    let d = route(routing, &new, &state, now);
    assert_eq!(d.assignee, Assignee::Owner("oliver".to_owned()));
    assert_eq!(d.pool.as_deref(), Some("emea_ae"));
    assert_eq!(d.unmatched_rules, ["disqualified", "enterprise", "nurture"]);
}

#[test]
fn a_pool_status_shows_who_is_next_and_why_the_others_are_not() {
    let bundle = Bundle::from_toml(&data("routing.toml")).unwrap();
    let routing = bundle.routing().unwrap();
    // Monday 10:00 in New York, 07:00 in Los Angeles.
    let now = instant("2026-11-23T15:00:00Z");
    let mut state = RotationState::default();
    let na = state.assigned.entry("na".to_owned()).or_default();
    na.insert("ana".to_owned(), 4);
    na.insert("cy".to_owned(), 1);
    state.open.insert("ana".to_owned(), 3);
    let status = pool_status(routing, "na", &state, now).unwrap();
    let got: Vec<_> = status
        .members
        .iter()
        .map(|m| {
            let why = m.unavailable.map_or("", |s| s.code());
            (
                m.owner.as_str(),
                m.weight,
                m.assigned,
                m.open,
                m.capacity,
                m.available,
                m.next,
                why,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("ana", 2, 4, 3, Some(3), false, false, "at_capacity"),
            // No row yet: shown at the level Ben would join at, one per weight like Cy.
            ("ben", 1, 1, 0, Some(3), false, false, "outside_hours"),
            ("cy", 1, 1, 0, None, true, true, ""),
        ]
    );
    assert_eq!(status.next.as_deref(), Some("cy"));
    assert_eq!(status.name.as_deref(), Some("North America"));
    assert!(pool_status(routing, "nope", &state, now).is_none());
}

/// A stored state as `reassign.tsv` writes it: `-`, or `POOL:OWNER=N` rotation counts and
/// `open:OWNER=N` open leads.
fn state(text: &str) -> RotationState {
    let mut state = RotationState::default();
    for item in text.split_whitespace().filter(|t| *t != "-") {
        let (scope, count) = item.split_once('=').unwrap();
        let (pool, owner) = scope.split_once(':').unwrap();
        if pool == "open" {
            state.open.insert(owner.to_owned(), count.parse().unwrap());
        } else {
            state
                .assigned
                .entry(pool.to_owned())
                .or_default()
                .insert(owner.to_owned(), count.parse().unwrap());
        }
    }
    state
}

#[test]
fn reassign_table() {
    let bundle = Bundle::from_toml(&data("routing.toml")).unwrap();
    let routing = bundle.routing().unwrap();
    let mut failures = Vec::new();
    let rows = table::rows("reassign.tsv");
    for (line, cols) in &rows {
        let [pool, current, now, stored, want_owner, want_candidates, want_changes] =
            cols.as_slice()
        else {
            panic!("reassign.tsv:{line}: 7 columns, got {cols:?}");
        };
        let (now, stored) = (instant(now), state(stored));
        let d = reassign(routing, pool, current, &stored, now);
        let (owner, candidates, changes) = match &d {
            None => ("none".to_owned(), "-".to_owned(), "-".to_owned()),
            Some(d) => {
                let Assignee::Owner(owner) = &d.assignee else {
                    panic!("reassign.tsv:{line}: queued: {}", d.summary);
                };
                let attempt = attempts(d).join(" | ");
                let candidates = attempt.split_once(": ").map_or("", |(_, c)| c).to_owned();
                (owner.clone(), candidates, changes(d).join(" ; "))
            }
        };
        for (what, got, want) in [
            ("owner", owner, want_owner),
            ("candidates", candidates, want_candidates),
            ("changes", changes, want_changes),
        ] {
            if got != *want {
                failures.push(format!(
                    "reassign.tsv:{line}: {what}\n   got {got}\n  want {want}"
                ));
            }
        }
        let Some(d) = d else { continue };
        // Never back to the current owner; one attempt, on the pool, by the reassignment;
        // deterministic, explained, and storable.
        let by = By::Reassigned {
            from: current.clone(),
        };
        assert_ne!(d.assignee, Assignee::Owner(current.clone()), "line {line}");
        assert_eq!((&d.by, d.pool.as_deref()), (&by, Some(pool.as_str())));
        assert_eq!(d.attempts.len(), 1, "reassign.tsv:{line}");
        assert_eq!(d.attempts[0].by, by);
        assert_eq!(d.attempts[0].target.to_string(), format!("pool:{pool}"));
        assert!(d.account.is_none() && d.unmatched_rules.is_empty());
        assert_eq!(
            Some(&d),
            reassign(routing, pool, current, &stored, now).as_ref()
        );
        assert!(d.summary.starts_with("Reassigned from ") && d.summary.ends_with('.'));
        assert!(d.explain().starts_with(&d.summary));
        stored.clone().apply(&d.changes).unwrap();
    }
    assert!(rows.len() >= 13, "the table lost cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_reassignment_reads_plainly() {
    let bundle = Bundle::from_toml(&data("routing.toml")).unwrap();
    let routing = bundle.routing().unwrap();
    let now = instant("2026-11-26T16:00:00Z");
    let d = reassign(routing, "na", "ana", &RotationState::default(), now).unwrap();
    assert_eq!(
        d.summary,
        "Reassigned from Ana Ruiz to Ben Ode (na pool rotation) after the SLA lapsed."
    );
    assert_eq!(
        d.explain(),
        "Reassigned from Ana Ruiz to Ben Ode (na pool rotation) after the SLA lapsed.\n\
         reassigned from ana → pool:na\n  \
         ana [current_owner]: Ana Ruiz has the lead and let its SLA lapse, so it goes to someone else\n  \
         ben [chosen]: Ben Ode is furthest behind in the rotation (0 assigned, weight 1)\n  \
         cy [holiday]: Cy Park is on a holiday (Thu 2026-11-26 11:00 in America/New_York)\n"
    );
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(
        json["by"],
        serde_json::json!({"kind": "reassigned", "from": "ana"})
    );
    assert_eq!(json["pool"], "na");
    assert_eq!(json["assignee"], serde_json::json!({"owner": "ben"}));
    assert_eq!(
        json["attempts"][0]["candidates"][0]["skip"],
        "current_owner"
    );
    assert!(json.get("account").is_none());
}

#[test]
fn a_reassignment_and_a_new_lead_never_take_the_same_turn() {
    let bundle = pool_config("ana:1 ben:1 cy:1");
    let routing = bundle.routing().unwrap();
    let now = instant("2026-11-23T16:00:00Z");
    let mut stored = RotationState::default();
    stored
        .apply(&route(routing, &RouteInput::default(), &stored, now).changes)
        .unwrap();
    // ana had the first lead; ben is due next for both a new lead and ana's reassignment.
    let moved = reassign(routing, "p", "ana", &stored, now).unwrap();
    let routed = route(routing, &RouteInput::default(), &stored, now);
    assert_eq!(moved.assignee, Assignee::Owner("ben".to_owned()));
    assert_eq!(routed.assignee, moved.assignee);
    stored.apply(&routed.changes).unwrap();
    assert!(stored.clone().apply(&moved.changes).is_err());
    // Against the stored state, the reassignment takes the next turn.
    let retry = reassign(routing, "p", "ana", &stored, now).unwrap();
    assert_eq!(retry.assignee, Assignee::Owner("cy".to_owned()));
    stored.apply(&retry.changes).unwrap();
    assert_eq!(
        (
            stored.open["ben"],
            stored.open["cy"],
            stored.assigned["p"]["cy"]
        ),
        (1, 1, 1)
    );
}

#[test]
fn the_account_step_can_come_after_a_rule() {
    let base = data("routing.toml");
    let after_partner = base.replacen(
        "[routing]\n",
        "[routing]\naccounts_after = \"partner\"\n",
        1,
    );
    assert_ne!(after_partner, base, "the fixture has a [routing] table");
    let first = Bundle::from_toml(&base).unwrap();
    let later = Bundle::from_toml(&after_partner).unwrap();
    let now = instant("2026-11-30T09:00:00Z");
    let lead = |utm: &str| -> RouteInput {
        serde_json::from_value(serde_json::json!({
            "answers": {"company_size": "1000+", "country": "United States"},
            "email": "maria@acme.example",
            "utm": {"source": utm},
        }))
        .unwrap()
    };
    // (bundle, utm source, assignee, by)
    let cases = [
        (&first, "partner_portal", "owner:dee", "account:acme"),
        (&later, "partner_portal", "queue:partners", "rule:partner"),
        (&later, "newsletter", "owner:dee", "account:acme"),
    ];
    for (bundle, utm, assignee, by) in cases {
        let d = route(
            bundle.routing().unwrap(),
            &lead(utm),
            &RotationState::default(),
            now,
        );
        let json = serde_json::to_value(&d).unwrap();
        let got_by = match json["by"]["kind"].as_str().unwrap() {
            "account" => format!("account:{}", json["by"]["account"].as_str().unwrap()),
            "rule" => format!("rule:{}", json["by"]["rule"].as_str().unwrap()),
            other => other.to_owned(),
        };
        let got = match &d.assignee {
            Assignee::Owner(id) => format!("owner:{id}"),
            Assignee::Queue(id) => format!("queue:{id}"),
        };
        assert_eq!((got.as_str(), got_by.as_str()), (assignee, by), "{utm}");
    }
    let wrong = base.replacen(
        "[routing]\n",
        "[routing]\naccounts_after = \"partners\"\n",
        1,
    );
    let errors = Bundle::from_toml(&wrong).unwrap_err();
    assert_eq!(errors[0].code, "config.invalid_target", "{errors:?}");
    assert!(
        errors[0].message.contains("did you mean \"partner\""),
        "{errors:?}"
    );
}

#[test]
fn a_pool_may_assign_outside_working_hours() {
    let base = data("routing.toml");
    let assign = base.replacen(
        "members = [{ owner = \"dee\" }, { owner = \"eli\" }]\n",
        "members = [{ owner = \"dee\" }, { owner = \"eli\" }]\noutside_hours = \"assign\"\n",
        1,
    );
    assert_ne!(assign, base, "the fixture has the emea pool");
    let lead: RouteInput = serde_json::from_str(r#"{"answers": {"country": "Germany"}}"#).unwrap();
    // Monday 2026-11-30, 19:00 in London: Eli has gone home; Dee is back from her absence but
    // gone home too.
    let evening = instant("2026-11-30T19:00:00Z");
    let morning = instant("2026-11-30T10:00:00Z");
    // (configuration, when, assignee)
    let cases = [
        (&base, morning, "owner:dee"),
        (&base, evening, "queue:emea_overflow"),
        (&assign, evening, "owner:dee"),
    ];
    for (text, at, want) in cases {
        let bundle = Bundle::from_toml(text).unwrap();
        let d = route(
            bundle.routing().unwrap(),
            &lead,
            &RotationState::default(),
            at,
        );
        let got = match &d.assignee {
            Assignee::Owner(id) => format!("owner:{id}"),
            Assignee::Queue(id) => format!("queue:{id}"),
        };
        assert_eq!(got, want, "{}", d.explain());
    }
}
