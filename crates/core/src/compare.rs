//! Two outcomes of each lead compared: what a replay (`replay::Run`) or a recorded export says
//! became of it, side by side, with what changed, and the totals a change of configuration is
//! judged by (leads per owner and queue, lifecycle counts, changes by kind, breaches). Pure: the
//! CLI's `handoff simulate` and a preview in the Worker feed it rows and print or answer them.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::replay::Placed;

/// An RFC 3339 time as ms since the epoch.
fn parse_rfc3339(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(jiff::Timestamp::as_millisecond)
}

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
    pub fn of(placed: &Placed) -> Outcome {
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
                    Some(crate::encode::rfc3339(c.first_touch_due_ms))
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
    pub fn recorded(outcome: &Value) -> Outcome {
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
                .map(crate::encode::rfc3339),
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
    pub fn changes(&self, after: &Outcome) -> Vec<&'static str> {
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
pub struct Pair {
    pub before: u64,
    pub after: u64,
}

/// The simulation's totals.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub leads: u64,
    pub changed: u64,
    pub changes: BTreeMap<&'static str, u64>,
    pub assignees: BTreeMap<String, Pair>,
    pub lifecycles: BTreeMap<String, Pair>,
    /// Leads with a first touch recorded (`outcome.first_touch_at`) after the deadline, or none
    /// by `--now` with the deadline passed.
    pub breached: Pair,
}

/// Whether a lead first touched at `touched` (or never, by `now`) breached `due`.
pub fn breached(due: Option<&str>, touched: Option<i64>, now: i64) -> bool {
    let Some(due) = due.and_then(parse_rfc3339) else {
        return false;
    };
    touched.unwrap_or(now) > due
}

/// One lead's two outcomes.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub at_ms: i64,
    pub before: Outcome,
    pub after: Outcome,
    /// Its first touch, as the export recorded it.
    pub touched: Option<i64>,
}

/// Folds each merged repeat into the lead it joined, as the Worker's refresh does: a repeat that
/// scores higher (and is not disqualified) raises the lead's score and lifecycle, and a repeat that
/// started a clock (it raised the stage) restarts the lead's. The repeat itself keeps its own
/// verdict, and no clock.
pub fn fold(rows: &mut [Row], side: impl Fn(&mut Row) -> &mut Outcome) {
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

/// Folds merged repeats (on the baseline side too, unless it is `recorded`: an export records
/// leads as they became), then counts the rows: the totals, and each row's changes in
/// `changed[i]`.
pub fn summarize(
    rows: &mut [Row],
    recorded: bool,
    now_ms: i64,
) -> (Summary, Vec<Vec<&'static str>>) {
    if !recorded {
        fold(rows, |r| &mut r.before);
    }
    fold(rows, |r| &mut r.after);
    let mut summary = Summary::default();
    let mut changed = Vec::with_capacity(rows.len());
    for row in rows.iter() {
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
                pair.after += 1;
            } else {
                pair.before += 1;
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
        changed.push(changes);
    }
    (summary, changed)
}
