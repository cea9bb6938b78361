//! `handoff simulate`: leads the Worker exported (`GET /v1/export/leads.jsonl`, or any lines
//! `handoff route` reads) replayed in order, each at the time it arrived, through a new
//! configuration and a baseline (another configuration, or what the export says happened), with
//! what changed per lead and a summary: leads per owner and queue, changes by kind, lifecycle
//! counts, and leads whose first touch would have come after their deadline.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use handoff_core::compare::{summarize, Outcome, Pair, Row, Summary};
use handoff_core::replay::Run;
use handoff_core::Bundle;
use serde::Serialize;
use serde_json::{json, Value};

use crate::route::arrival;
use crate::time::parse_rfc3339;

/// One lead's line, written as it is read: its keys in the order of their names, as a JSON object
/// (`serde_json::Value`) orders them, and the outcomes' too (see [`Outcome`]).
#[derive(Serialize)]
struct Record<'a> {
    after: &'a Outcome,
    at: String,
    before: &'a Outcome,
    changed: &'a [&'static str],
    id: &'a str,
}

/// The baseline: another configuration's run, or the export's recorded outcomes.
pub enum Baseline<'a> {
    Config(&'a Bundle, Run),
    Recorded,
}

/// Replays `input` through `new` and `baseline`, writes per-lead lines (JSON) or a table, then
/// the summary (lines that cannot be read first). Answers how many lines could not be read.
pub fn simulate(
    new: &Bundle,
    mut baseline: Baseline<'_>,
    form: &str,
    now_ms: i64,
    input: impl BufRead,
    mut out: impl Write,
    table: bool,
) -> Result<usize, String> {
    let mut after_run = Run::default();
    let mut rows: Vec<Row> = Vec::new();
    let recorded_baseline = matches!(baseline, Baseline::Recorded);
    let mut bad = 0usize;
    let write = |out: &mut dyn Write, line: String| {
        out.write_all(line.as_bytes())
            .map_err(|e| format!("stdout: {e}"))
    };
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("input: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let (arrival, recorded) = match arrival(&line, i + 1, form, now_ms) {
            Ok((arrival, _, extra)) => (arrival, Value::Object(extra)),
            Err(error) => {
                bad += 1;
                write(&mut out, format!("{error}\n"))?;
                continue;
            }
        };
        let place = |run: &mut Run, bundle: &Bundle| {
            run.place(bundle, &arrival)
                .map(|p| Outcome::of(&p))
                .map_err(|e| e.message)
        };
        let sides = place(&mut after_run, new).and_then(|after| {
            let before = match &mut baseline {
                Baseline::Config(bundle, run) => place(run, bundle)?,
                Baseline::Recorded => Outcome::recorded(&recorded["outcome"]),
            };
            Ok((before, after))
        });
        let (before, after) = match sides {
            Ok(sides) => sides,
            Err(message) => {
                bad += 1;
                let error = crate::route::error_line(i + 1, "unknown_form", &message);
                write(&mut out, format!("{error}\n"))?;
                continue;
            }
        };
        let touched = recorded["outcome"]["first_touch_at"]
            .as_str()
            .and_then(parse_rfc3339);
        rows.push(Row {
            id: arrival.id,
            at_ms: arrival.at_ms,
            before,
            after,
            touched,
        });
    }
    // A lead's outcome is what it became: a repeat folded into it raises its verdict and restarts
    // its clock, as the Worker updates the lead it merges into. The export records leads so.
    let (summary, changed) = summarize(&mut rows, recorded_baseline, now_ms);
    for (row, changes) in rows.iter().zip(changed) {
        let (before, after) = (&row.before, &row.after);
        if table {
            if !changes.is_empty() {
                let show = |o: &Outcome| {
                    let due = o.first_touch_due.map(handoff_core::encode::rfc3339);
                    format!(
                        "{} {} {}",
                        o.assignee.as_deref().unwrap_or("-"),
                        o.lifecycle.as_deref().unwrap_or("-"),
                        due.as_deref().unwrap_or("-")
                    )
                };
                let line = format!(
                    "{}  {}  {}  ->  {}\n",
                    row.id,
                    changes.join(","),
                    show(before),
                    show(after)
                );
                write(&mut out, line)?;
            }
        } else {
            let record = Record {
                after,
                at: handoff_core::encode::rfc3339(row.at_ms),
                before,
                changed: &changes,
                id: &row.id,
            };
            serde_json::to_writer(&mut out, &record).map_err(|e| format!("stdout: {e}"))?;
            out.write_all(b"\n").map_err(|e| format!("stdout: {e}"))?;
        }
    }
    if table {
        write(&mut out, summary_table(&summary))?;
    } else {
        write(&mut out, format!("{}\n", json!({ "summary": summary })))?;
    }
    out.flush().map_err(|e| format!("stdout: {e}"))?;
    // The command ends here: the runs' people and the rows are left to the process's exit rather
    // than freed one allocation at a time (a twentieth of the time over 100,000 leads).
    std::mem::forget((after_run, baseline, rows));
    Ok(bad)
}

fn summary_table(s: &Summary) -> String {
    let mut out = format!("\n{} leads, {} changed", s.leads, s.changed);
    for (kind, n) in &s.changes {
        out.push_str(&format!(", {kind} {n}"));
    }
    out.push_str(&format!(
        "\nbreached (first touch after the deadline): {} before, {} after\n",
        s.breached.before, s.breached.after
    ));
    let mut section = |title: &str, map: &BTreeMap<String, Pair>| {
        out.push_str(&format!(
            "\n{title:<24} {:>8} {:>8} {:>8}\n",
            "before", "after", "change"
        ));
        for (key, p) in map {
            let change = i128::from(p.after) - i128::from(p.before);
            out.push_str(&format!(
                "{key:<24} {:>8} {:>8} {change:>+8}\n",
                p.before, p.after
            ));
        }
    };
    section("assignee", &s.assignees);
    section("lifecycle", &s.lifecycles);
    out
}
