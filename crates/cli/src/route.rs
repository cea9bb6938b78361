//! `handoff route`: leads as JSON lines placed as the Worker's intake places them
//! (handoff-core's `replay::Run`), one after another, each printed with everything `handoff eval`
//! prints and where it went: the assignee, the routing decision as the Worker stores it, a merge
//! into a returning person's open lead, the SLA deadlines and ladder, the experiment arm.

use std::io::{BufRead, Write};

use handoff_core::encode::rfc3339;
use handoff_core::evaluate::evaluate_lead;
use handoff_core::replay::{Arrival, Placed, Run};
use handoff_core::routing::{Assignee, RotationState};
use handoff_core::sla::Clock;
use handoff_core::Bundle;
use serde_json::{json, Value};

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
pub type Line = handoff_core::replay::Line;

/// One line read (handoff-core's `replay::read_arrival`), or its error line.
pub fn arrival(line: &str, n: usize, form: &str, now_ms: i64) -> Result<Line, Value> {
    let value: Value =
        serde_json::from_str(line).map_err(|e| error_line(n, "bad_json", &e.to_string()))?;
    handoff_core::replay::read_arrival(value, n, form, now_ms)
        .map_err(|e| error_line(n, e.code, &e.message))
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
