//! Two outcomes of each lead compared: what a replay (`replay::Run`) or a recorded export says
//! became of it, side by side, with what changed, and the totals a change of configuration is
//! judged by (leads per owner and queue, lifecycle counts, changes by kind, breaches). Pure: the
//! CLI's `handoff simulate` and a preview in the Worker feed it rows and print or answer them.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

use crate::replay::Placed;

/// An RFC 3339 time as ms since the epoch.
fn parse_rfc3339(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(jiff::Timestamp::as_millisecond)
}

/// One side's outcome for one lead, in the terms the comparison uses. The fields are in the order
/// of their names, as a JSON object (`serde_json::Value`) orders its keys: serialized directly, an
/// outcome reads as it does through a `Value`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Outcome {
    pub arm: Option<String>,
    /// `owner:ID` or `queue:ID`; `None`: not routed.
    pub assignee: Option<String>,
    pub disqualification: Option<String>,
    /// The first-touch deadline (ms since the epoch), written in RFC 3339.
    #[serde(serialize_with = "rfc3339_or_null")]
    pub first_touch_due: Option<i64>,
    pub lifecycle: Option<String>,
    pub merged_into: Option<String>,
    pub score: Option<i64>,
}

/// A time as [`crate::encode::rfc3339`] writes it, or null.
fn rfc3339_or_null<S: serde::Serializer>(ms: &Option<i64>, to: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => to.serialize_str(&crate::encode::rfc3339(*ms)),
        None => to.serialize_none(),
    }
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
                Some(Ok(c)) if c.first_touch_due_ms != i64::MAX => Some(c.first_touch_due_ms),
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
            first_touch_due: outcome["sla"]["first_touch_due"]
                .as_str()
                .and_then(parse_rfc3339),
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
pub fn breached(due: Option<i64>, touched: Option<i64>, now: i64) -> bool {
    due.is_some_and(|due| touched.unwrap_or(now) > due)
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
/// verdict, and no clock. `side` gives a row's id and the outcome to fold.
pub fn fold(rows: &mut [Row], side: impl Fn(&mut Row) -> (&str, &mut Outcome)) {
    // The leads a repeat may join, by id, borrowed from the rows: what folding changes is never an
    // id nor `merged_into`, so nothing is copied but what a repeat raises.
    let mut at: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
    let mut outcomes: Vec<&mut Outcome> = Vec::with_capacity(rows.len());
    for row in rows.iter_mut() {
        let (id, repeat) = side(row);
        match repeat
            .merged_into
            .as_deref()
            .and_then(|h| at.get(h))
            .copied()
        {
            Some(h) => {
                let holder = &mut *outcomes[h];
                if repeat.disqualification.is_none() && repeat.score > holder.score {
                    holder.score = repeat.score;
                    holder.lifecycle.clone_from(&repeat.lifecycle);
                }
                if let Some(due) = repeat.first_touch_due.take() {
                    holder.first_touch_due = Some(due);
                }
            }
            None => {
                at.insert(id, outcomes.len());
            }
        }
        outcomes.push(repeat);
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
        fold(rows, |r| (&r.id, &mut r.before));
    }
    fold(rows, |r| (&r.id, &mut r.after));
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
        summary.breached.before += u64::from(breached(before.first_touch_due, row.touched, now_ms));
        summary.breached.after += u64::from(breached(after.first_touch_due, row.touched, now_ms));
        changed.push(changes);
    }
    (summary, changed)
}

#[cfg(test)]
mod tests {
    use super::{summarize, Outcome, Row};

    fn routed(score: i64, due: Option<i64>) -> Outcome {
        Outcome {
            arm: Some("sla-speed/fast".into()),
            assignee: Some("owner:ana".into()),
            disqualification: None,
            first_touch_due: due,
            lifecycle: Some("mql".into()),
            merged_into: None,
            score: Some(score),
        }
    }

    #[test]
    fn an_outcome_written_directly_reads_as_it_does_through_a_value() {
        let every = Outcome {
            disqualification: Some("student".into()),
            merged_into: Some("l-1".into()),
            ..routed(72, Some(1_795_341_600_500))
        };
        for outcome in [every, Outcome::default()] {
            let direct = serde_json::to_string(&outcome).unwrap();
            assert_eq!(direct, serde_json::to_value(&outcome).unwrap().to_string());
        }
        let due = serde_json::to_value(routed(72, Some(1_795_341_600_000))).unwrap();
        assert_eq!(due["first_touch_due"], "2026-11-22T10:00:00.000Z");
    }

    #[test]
    fn a_merged_repeat_raises_the_lead_it_joined_and_restarts_its_clock() {
        let row = |id: &str, outcome: Outcome| Row {
            id: id.into(),
            at_ms: 0,
            before: outcome.clone(),
            after: outcome,
            touched: None,
        };
        let repeat = |into: &str, score, due| Outcome {
            merged_into: Some(into.into()),
            lifecycle: Some("sql".into()),
            ..routed(score, due)
        };
        let mut rows = vec![
            row("a", routed(40, Some(1_000))),
            row("b", routed(50, Some(2_000))),
            // Scores higher and raised the stage: a's verdict and clock.
            row("a2", repeat("a", 80, Some(3_000))),
            // Scores lower and started no clock: b keeps its own.
            row("b2", repeat("b", 10, None)),
            // Joins a lead that is not in the rows: nothing to fold into.
            row("c2", repeat("c", 90, Some(4_000))),
        ];
        let (summary, changed) = summarize(&mut rows, false, 10_000);
        let brief = |o: &Outcome| (o.score, o.lifecycle.clone(), o.first_touch_due);
        let after: Vec<_> = rows.iter().map(|r| brief(&r.after)).collect();
        assert_eq!(
            after,
            [
                (Some(80), Some("sql".into()), Some(3_000)),
                (Some(50), Some("mql".into()), Some(2_000)),
                (Some(80), Some("sql".into()), None),
                (Some(10), Some("sql".into()), None),
                (Some(90), Some("sql".into()), Some(4_000)),
            ]
        );
        assert!(rows.iter().all(|r| r.before == r.after));
        assert!(changed.iter().all(Vec::is_empty));
        // Never touched, all three deadlines passed by now; merged repeats add no lead.
        assert_eq!((summary.breached.before, summary.breached.after), (3, 3));
        assert_eq!(summary.assignees["owner:ana"].after, 2);
    }
}
