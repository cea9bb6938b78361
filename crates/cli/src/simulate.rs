//! `handoff simulate`: leads the Worker exported (`GET /v1/export/leads.jsonl`, or any lines
//! `handoff route` reads) replayed in order, each at the time it arrived, through a new
//! configuration and a baseline (another configuration, or what the export says happened), with
//! what changed per lead and a summary: leads per owner and queue, changes by kind, lifecycle
//! counts, and leads whose first touch would have come after their deadline.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use handoff_core::replay::{Placed, Run};
use handoff_core::Bundle;
use serde::Serialize;
use serde_json::{json, Value};

use crate::route::arrival;
use crate::time::parse_rfc3339;

/// One side's outcome for one lead, in the terms the comparison uses.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Outcome {
    /// `owner:ID` or `queue:ID`; `None`: not routed.
    pub assignee: Option<String>,
    pub lifecycle: Option<String>,
    pub score: Option<i64>,
    pub disqualification: Option<String>,
    pub merged_into: Option<String>,
    /// The first-touch deadline, RFC 3339.
    pub first_touch_due: Option<String>,
    pub arm: Option<String>,
}

impl Outcome {
    fn of(placed: &Placed) -> Outcome {
        let ev = &placed.evaluation;
        let valid = ev.valid;
        Outcome {
            assignee: placed
                .assignee
                .as_ref()
                .map(|a| format!("{}:{}", a.kind(), a.id())),
            lifecycle: valid.then(|| ev.lifecycle.as_str().to_owned()),
            score: valid.then(|| i64::from(ev.score.total)),
            disqualification: ev
                .disqualification
                .as_ref()
                .filter(|_| valid)
                .map(|d| d.reason.as_str().to_owned()),
            merged_into: placed.merged_into.clone(),
            first_touch_due: match &placed.clock {
                Some(Ok(c)) if c.first_touch_due_ms != i64::MAX => {
                    Some(handoff_core::encode::rfc3339(c.first_touch_due_ms))
                }
                _ => None,
            },
            arm: placed
                .assignment
                .as_ref()
                .map(|a| format!("{}/{}", a.experiment, a.arm)),
        }
    }

    /// What the export's `outcome` says happened.
    fn recorded(outcome: &Value) -> Outcome {
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let kind_id = |v: &Value| match (
            v.get("kind").and_then(Value::as_str),
            v.get("id").and_then(Value::as_str),
        ) {
            (Some(k), Some(i)) => Some(format!("{k}:{i}")),
            _ => None,
        };
        Outcome {
            assignee: kind_id(&outcome["assignee"]),
            lifecycle: text(&outcome["lifecycle"]),
            score: outcome["score"].as_i64(),
            disqualification: text(&outcome["disqualify_reason"]),
            merged_into: text(&outcome["merged_into"]),
            first_touch_due: text(&outcome["sla"]["first_touch_due"])
                .and_then(|t| parse_rfc3339(&t))
                .map(handoff_core::encode::rfc3339),
            arm: match (
                text(&outcome["arm"]["experiment"]),
                text(&outcome["arm"]["arm"]),
            ) {
                (Some(e), Some(a)) => Some(format!("{e}/{a}")),
                _ => None,
            },
        }
    }

    /// The kinds of change from `self` to `after`, in a fixed order.
    fn changes(&self, after: &Outcome) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.assignee != after.assignee {
            out.push("assignee");
        }
        if self.lifecycle != after.lifecycle {
            out.push("lifecycle");
        }
        if self.score != after.score {
            out.push("score");
        }
        if self.disqualification != after.disqualification {
            out.push("disqualification");
        }
        if self.merged_into != after.merged_into {
            out.push("merged");
        }
        if self.first_touch_due != after.first_touch_due {
            out.push("sla");
        }
        if self.arm != after.arm {
            out.push("arm");
        }
        out
    }
}

/// Counts before and after.
#[derive(Debug, Clone, Copy, Default, Serialize)]
struct Pair {
    before: u64,
    after: u64,
}

/// The simulation's totals.
#[derive(Debug, Default, Serialize)]
struct Summary {
    leads: u64,
    changed: u64,
    changes: BTreeMap<&'static str, u64>,
    assignees: BTreeMap<String, Pair>,
    lifecycles: BTreeMap<String, Pair>,
    /// Leads with a first touch recorded (`outcome.first_touch_at`) after the deadline, or none
    /// by `--now` with the deadline passed.
    breached: Pair,
}

/// Whether a lead first touched at `touched` (or never, by `now`) breached `due`.
fn breached(due: Option<&str>, touched: Option<i64>, now: i64) -> bool {
    let Some(due) = due.and_then(parse_rfc3339) else {
        return false;
    };
    touched.unwrap_or(now) > due
}

/// One lead's two outcomes.
struct Row {
    id: String,
    at_ms: i64,
    before: Outcome,
    after: Outcome,
    /// Its first touch, as the export recorded it.
    touched: Option<i64>,
}

/// Folds each merged repeat into the lead it joined, as the Worker's refresh does: a repeat that
/// scores higher (and is not disqualified) raises the lead's score and lifecycle, and a repeat that
/// started a clock (it raised the stage) restarts the lead's. The repeat itself keeps its own
/// verdict, and no clock.
fn fold(rows: &mut [Row], side: impl Fn(&mut Row) -> &mut Outcome) {
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for i in 0..rows.len() {
        let repeat = side(&mut rows[i]).clone();
        match repeat.merged_into.as_ref().and_then(|h| at.get(h)).copied() {
            Some(h) => {
                let holder = side(&mut rows[h]);
                if repeat.disqualification.is_none() && repeat.score > holder.score {
                    holder.score = repeat.score;
                    holder.lifecycle = repeat.lifecycle.clone();
                }
                if repeat.first_touch_due.is_some() {
                    holder.first_touch_due = repeat.first_touch_due.clone();
                }
                side(&mut rows[i]).first_touch_due = None;
            }
            None => {
                let id = rows[i].id.clone();
                at.insert(id, i);
            }
        }
    }
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
    let mut summary = Summary::default();
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
    if !recorded_baseline {
        fold(&mut rows, |r| &mut r.before);
    }
    fold(&mut rows, |r| &mut r.after);
    for row in &rows {
        let (before, after) = (&row.before, &row.after);
        let changes = before.changes(after);
        summary.leads += 1;
        summary.changed += u64::from(!changes.is_empty());
        for kind in &changes {
            *summary.changes.entry(kind).or_default() += 1;
        }
        let count = |map: &mut BTreeMap<String, Pair>, key: &Option<String>, after: bool| {
            let pair = map
                .entry(key.clone().unwrap_or_else(|| "(none)".to_owned()))
                .or_default();
            if after {
                pair.after += 1
            } else {
                pair.before += 1
            }
        };
        // A merged repeat adds no lead to its holder.
        if before.merged_into.is_none() {
            count(&mut summary.assignees, &before.assignee, false);
        }
        if after.merged_into.is_none() {
            count(&mut summary.assignees, &after.assignee, true);
        }
        count(&mut summary.lifecycles, &before.lifecycle, false);
        count(&mut summary.lifecycles, &after.lifecycle, true);
        summary.breached.before += u64::from(breached(
            before.first_touch_due.as_deref(),
            row.touched,
            now_ms,
        ));
        summary.breached.after += u64::from(breached(
            after.first_touch_due.as_deref(),
            row.touched,
            now_ms,
        ));
        if table {
            if !changes.is_empty() {
                let show = |o: &Outcome| {
                    format!(
                        "{} {} {}",
                        o.assignee.as_deref().unwrap_or("-"),
                        o.lifecycle.as_deref().unwrap_or("-"),
                        o.first_touch_due.as_deref().unwrap_or("-")
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
            let at = handoff_core::encode::rfc3339(row.at_ms);
            let record = json!({"id": row.id, "at": at, "before": before, "after": after, "changed": changes});
            write(&mut out, format!("{record}\n"))?;
        }
    }
    if table {
        write(&mut out, summary_table(&summary))?;
    } else {
        write(&mut out, format!("{}\n", json!({ "summary": summary })))?;
    }
    out.flush().map_err(|e| format!("stdout: {e}"))?;
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
