//! `handoff route`: leads as JSON lines placed as the Worker's intake places them
//! (handoff-core's `replay::Run`), one after another, each printed with everything `handoff eval`
//! prints and where it went: the assignee, the routing decision as the Worker stores it, a merge
//! into a returning person's open lead, the SLA deadlines and ladder, the experiment arm.

use std::io::{BufRead, Write};

use handoff_core::attribution::Attribution;
use handoff_core::encode::rfc3339;
use handoff_core::evaluate::{evaluate_lead, read_lead_value};
use handoff_core::replay::{Arrival, Placed, Run};
use handoff_core::routing::{Assignee, RotationState};
use handoff_core::sla::{Clock, SuppressionFacts};
use handoff_core::Bundle;
use serde_json::{json, Map, Value};

use crate::time::parse_rfc3339;

/// The keys a line may have besides the lead `handoff eval` reads: what the Worker's export of a
/// lead carries (`outcome` and `bundle_version` are read past).
const REPLAY_KEYS: [&str; 7] = [
    "id",
    "at",
    "attribution",
    "facts",
    "visitor",
    "bundle_version",
    "outcome",
];

/// Reads the rotation state to start from: the shape `GET /v1/pools` answers (`{"pools": [{pool,
/// members: [{owner, assigned, open}]}]}`), or a `RotationState` as handoff-core writes it
/// (`{"assigned", "open", "given"}`).
pub fn read_state(text: &str) -> Result<RotationState, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Some(pools) = value.get("pools") else {
        return serde_json::from_value(value).map_err(|e| e.to_string());
    };
    let pools = pools.as_array().ok_or("`pools` must be a list")?;
    let mut state = RotationState::default();
    for pool in pools {
        let id = pool
            .get("pool")
            .and_then(Value::as_str)
            .ok_or("each pool needs its `pool` id")?;
        let members = pool
            .get("members")
            .and_then(Value::as_array)
            .ok_or("each pool needs `members`")?;
        for member in members {
            let owner = member
                .get("owner")
                .and_then(Value::as_str)
                .ok_or("each member needs its `owner`")?;
            let count = |key: &str| member.get(key).and_then(Value::as_u64).unwrap_or(0);
            let open = state.open.entry(owner.to_owned()).or_insert(0);
            *open = (*open).max(u32::try_from(count("open")).unwrap_or(u32::MAX));
            state
                .assigned
                .entry(id.to_owned())
                .or_default()
                .insert(owner.to_owned(), count("assigned"));
        }
    }
    Ok(state)
}

/// A line read: the arrival, its answers' problems, the export's other keys.
pub type Line = (Arrival, Vec<handoff_core::Issue>, Map<String, Value>);

/// One line read: the arrival, the problems of its answers that `read_lead` found (answers of
/// the wrong kind, which the Worker refuses), and the export's keys (`outcome`, …).
pub fn arrival(line: &str, n: usize, form: &str, now_ms: i64) -> Result<Line, Value> {
    let bad = |message: String| error_line(n, "bad_json", &message);
    let mut value: Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
    let object = value
        .as_object_mut()
        .ok_or_else(|| bad("a lead must be a JSON object".to_owned()))?;
    let mut extra = Map::new();
    for key in REPLAY_KEYS {
        if let Some(v) = object.remove(key) {
            extra.insert(key.to_owned(), v);
        }
    }
    let id = match extra.get("id") {
        None => format!("line-{n}"),
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(_) => return Err(bad("`id` must be text, like \"lead-1\"".to_owned())),
    };
    let at_ms = match extra.get("at") {
        None => now_ms,
        Some(at) => at.as_str().and_then(parse_rfc3339).ok_or_else(|| {
            bad("`at` must be an RFC 3339 time, like \"2026-12-07T09:30:00Z\"".to_owned())
        })?,
    };
    let attribution: Attribution = match extra.get("attribution") {
        None | Some(Value::Null) => Attribution::default(),
        Some(a) => {
            serde_json::from_value(a.clone()).map_err(|e| bad(format!("`attribution`: {e}")))?
        }
    };
    let facts: SuppressionFacts = match extra.get("facts") {
        None | Some(Value::Null) => SuppressionFacts::default(),
        Some(f) => serde_json::from_value(f.clone()).map_err(|e| bad(format!("`facts`: {e}")))?,
    };
    let visitor = match extra.get("visitor") {
        None | Some(Value::Null) => None,
        Some(Value::String(v)) => Some(v.clone()),
        Some(_) => return Err(bad("`visitor` must be text".to_owned())),
    };
    let (mut lead, issues) =
        read_lead_value(value, form).map_err(|e| error_line(n, e.code, &e.message))?;
    // The pages the form saw count as activity, as the Worker's intake counts them.
    lead.activity.extend(attribution.page_views());
    let utm = attribution.utm;
    Ok((
        Arrival {
            id,
            at_ms,
            lead,
            utm,
            facts,
            visitor,
        },
        issues,
        extra,
    ))
}

/// Reads leads from `input`, places each in `run`, writes one JSON line each to `out`. Answers
/// how many lines could not be read.
pub fn route(
    bundle: &Bundle,
    form: &str,
    now_ms: i64,
    run: &mut Run,
    input: impl BufRead,
    mut out: impl Write,
) -> Result<usize, String> {
    let mut bad = 0usize;
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let record = match arrival(&line, i + 1, form, now_ms) {
            Err(error) => error,
            Ok((arrival, issues, _)) if !issues.is_empty() => {
                // An answer of the wrong kind: the Worker refuses the lead, so nothing routes.
                match evaluate_lead(bundle, &arrival.lead, issues, arrival.at_ms) {
                    Ok(evaluation) => {
                        let mut record =
                            serde_json::to_value(evaluation.report()).unwrap_or_default();
                        unplaced(&mut record, &arrival);
                        record
                    }
                    Err(e) => error_line(i + 1, e.code, &e.message),
                }
            }
            Ok((arrival, _, _)) => match run.place(bundle, &arrival) {
                Ok(placed) => record(&arrival, &placed),
                Err(e) => error_line(i + 1, e.code, &e.message),
            },
        };
        bad += usize::from(record.get("error").is_some());
        writeln!(out, "{record}").map_err(|e| format!("stdout: {e}"))?;
    }
    out.flush().map_err(|e| format!("stdout: {e}"))?;
    Ok(bad)
}

/// A lead's line: the evaluation as `handoff eval` prints it, then where the lead went.
fn record(arrival: &Arrival, placed: &Placed) -> Value {
    let mut record = serde_json::to_value(placed.evaluation.report()).unwrap_or_default();
    unplaced(&mut record, arrival);
    let Some(map) = record.as_object_mut() else {
        return record;
    };
    let warnings: Vec<Value> = placed
        .evaluation
        .unknown
        .keys()
        .map(|field| json!({"field": field, "code": "answer.unknown_field"}))
        .collect();
    if !warnings.is_empty() {
        map.insert("warnings".into(), Value::Array(warnings));
    }
    map.insert("assignee".into(), assignee(placed.assignee.as_ref()));
    map.insert("merged_into".into(), json!(placed.merged_into));
    map.insert("previous_lead".into(), json!(placed.previous_lead));
    // The decision as the Worker stores it in the lead's `routed` event.
    let route = placed.decision.as_ref().map(|d| {
        let mut detail = serde_json::to_value(d).unwrap_or_default();
        if let (Some(a), Some(m)) = (&placed.assignment, detail.as_object_mut()) {
            m.insert("experiment".into(), json!(a));
        }
        detail
    });
    map.insert("route".into(), route.unwrap_or(Value::Null));
    let (sla, reason) = match &placed.clock {
        Some(Ok(clock)) => (sla(clock), Value::Null),
        Some(Err(none)) => (Value::Null, json!(none.code())),
        None => (Value::Null, Value::Null),
    };
    map.insert("sla".into(), sla);
    map.insert("no_sla".into(), reason);
    map.insert("arm".into(), json!(placed.assignment));
    record
}

/// The keys of a lead that was not placed, and its id and time.
fn unplaced(record: &mut Value, arrival: &Arrival) {
    if let Some(map) = record.as_object_mut() {
        map.insert("id".into(), json!(arrival.id));
        map.insert("at".into(), json!(rfc3339(arrival.at_ms)));
        for key in [
            "assignee",
            "merged_into",
            "previous_lead",
            "route",
            "sla",
            "no_sla",
            "arm",
        ] {
            map.insert(key.into(), Value::Null);
        }
    }
}

pub fn assignee(assignee: Option<&Assignee>) -> Value {
    match assignee {
        Some(a) => json!({"kind": a.kind(), "id": a.id()}),
        None => Value::Null,
    }
}

/// A clock as `handoff route` prints it: RFC 3339 times; a deadline that never comes (an owner
/// with no working time left) is null.
fn sla(clock: &Clock) -> Value {
    let time = |ms: i64| (ms != i64::MAX).then(|| rfc3339(ms));
    let ladder: Vec<Value> = clock
        .steps
        .iter()
        .map(|s| {
            json!({
                "level": s.level,
                "at": time(s.due_ms),
                "to": s.to,
                "deadline": s.deadline,
                "reassign": s.reassign,
            })
        })
        .collect();
    json!({
        "policy": clock.policy,
        "working_hours": clock.working_hours,
        "first_touch_due": time(clock.first_touch_due_ms),
        "accept_due": clock.accept_due_ms.and_then(time),
        "ladder": ladder,
    })
}

pub fn error_line(line: usize, code: &str, message: &str) -> Value {
    json!({ "line": line, "error": { "code": code, "message": message } })
}
