//! `handoff route`: leads as JSON lines placed as the Worker's intake places them
//! (handoff-core's `replay::Run`), one after another, each printed with everything `handoff eval`
//! prints and where it went: the assignee, the routing decision as the Worker stores it, a merge
//! into a returning person's open lead, the SLA deadlines and ladder, the experiment arm.

use std::io::{BufRead, Write};

use handoff_core::replay::Run;
use handoff_core::routing::RotationState;
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
            Ok((arrival, issues, _)) => handoff_core::replay::report(bundle, run, &arrival, issues)
                .unwrap_or_else(|e| error_line(i + 1, e.code, &e.message)),
        };
        bad += usize::from(record.get("error").is_some());
        writeln!(out, "{record}").map_err(|e| format!("stdout: {e}"))?;
    }
    out.flush().map_err(|e| format!("stdout: {e}"))?;
    Ok(bad)
}

pub fn error_line(line: usize, code: &str, message: &str) -> Value {
    json!({ "line": line, "error": { "code": code, "message": message } })
}
