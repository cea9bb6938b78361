//! Speed to lead and what became of the leads, from their event logs: time to first touch, the
//! share touched within the SLA, system delay (submission → owner notified) and human delay
//! (notified → first touch), contact, meeting, opportunity and reject rates, speed-to-lead tiers
//! with conversion per tier, grouped by source, campaign, segment, owner, lifecycle, experiment
//! arm or day, and a significance test between arms. Pure: the Worker reads the records from D1,
//! the CLI from an export, and both get the same numbers. Definitions: docs/METRICS.md.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::EventKind;

/// One lead as the metrics read it: its attributes and its event log (oldest first).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LeadRecord {
    pub lead_id: String,
    pub created_ms: i64,
    pub source: Option<String>,
    pub campaign: Option<String>,
    /// The lead's grade, A–D.
    pub segment: Option<String>,
    pub owner: Option<String>,
    pub lifecycle: String,
    /// `experiment/arm`, when the lead took part in an experiment.
    pub arm: Option<String>,
    /// The scoring rules that gave the lead points (for rejects by rule).
    pub rules: Vec<String>,
    pub events: Vec<EventRecord>,
}

/// One event of a lead's log, as the Worker stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub at_ms: i64,
    pub kind: String,
    #[serde(default)]
    pub detail: Value,
}

/// What one lead's log says, the facts every metric is computed from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct LeadFacts {
    /// The first delivered notification.
    pub notified_ms: Option<i64>,
    /// The first contact (`first_touch`).
    pub first_touch_ms: Option<i64>,
    /// The SLA's first-touch deadline, when the lead had a clock.
    pub sla_due_ms: Option<i64>,
    /// Touched at or before the deadline; `None` without a clock.
    pub within_sla: Option<bool>,
    pub contacted: bool,
    pub meeting: bool,
    pub opportunity: bool,
    /// The reason of a rejection, if the lead was rejected.
    pub rejected: Option<String>,
}

fn text<'a>(detail: &'a Value, key: &str) -> Option<&'a str> {
    detail.get(key).and_then(Value::as_str)
}

/// Reads one lead's log (see docs/METRICS.md for each definition).
pub fn summarize(record: &LeadRecord) -> LeadFacts {
    let mut f = LeadFacts::default();
    for e in &record.events {
        let Some(kind) = EventKind::parse(&e.kind) else {
            continue;
        };
        match kind {
            EventKind::Notified => {
                f.notified_ms = Some(f.notified_ms.map_or(e.at_ms, |t| t.min(e.at_ms)));
            }
            EventKind::FirstTouch => {
                f.first_touch_ms = Some(f.first_touch_ms.map_or(e.at_ms, |t| t.min(e.at_ms)));
                f.contacted = true;
            }
            EventKind::Touch => {
                f.contacted = true;
                if text(&e.detail, "channel") == Some("meeting_booked") {
                    f.meeting = true;
                }
            }
            EventKind::Outcome => match text(&e.detail, "outcome") {
                Some("contacted") => f.contacted = true,
                Some("meeting_held") => {
                    f.contacted = true;
                    f.meeting = true;
                }
                Some("opportunity") => {
                    f.contacted = true;
                    f.opportunity = true;
                }
                Some("rejected") => {
                    f.rejected = Some(
                        text(&e.detail, "reason")
                            .unwrap_or("unspecified")
                            .to_owned(),
                    );
                }
                _ => {}
            },
            EventKind::SlaStarted => {
                if let Some(due) = e.detail.get("first_touch_due_ms").and_then(Value::as_i64) {
                    f.sla_due_ms = Some(due);
                }
            }
            _ => {}
        }
    }
    f.within_sla = f
        .sla_due_ms
        .map(|due| f.first_touch_ms.is_some_and(|t| t <= due));
    f
}

/// How the report groups leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    All,
    Source,
    Campaign,
    Segment,
    Owner,
    Lifecycle,
    Arm,
    /// The UTC date the lead was created, `2026-11-22`.
    Day,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<GroupBy> {
        Some(match s {
            "all" => GroupBy::All,
            "source" => GroupBy::Source,
            "campaign" => GroupBy::Campaign,
            "segment" => GroupBy::Segment,
            "owner" => GroupBy::Owner,
            "lifecycle" => GroupBy::Lifecycle,
            "arm" => GroupBy::Arm,
            "day" => GroupBy::Day,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::All => "all",
            GroupBy::Source => "source",
            GroupBy::Campaign => "campaign",
            GroupBy::Segment => "segment",
            GroupBy::Owner => "owner",
            GroupBy::Lifecycle => "lifecycle",
            GroupBy::Arm => "arm",
            GroupBy::Day => "day",
        }
    }

    /// The group a record falls in; `(none)` when the attribute is missing.
    fn key(self, r: &LeadRecord) -> String {
        let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| NONE.to_owned());
        match self {
            GroupBy::All => "all".to_owned(),
            GroupBy::Source => or_none(&r.source),
            GroupBy::Campaign => or_none(&r.campaign),
            GroupBy::Segment => or_none(&r.segment),
            GroupBy::Owner => or_none(&r.owner),
            GroupBy::Lifecycle if r.lifecycle.is_empty() => NONE.to_owned(),
            GroupBy::Lifecycle => r.lifecycle.clone(),
            GroupBy::Arm => or_none(&r.arm),
            GroupBy::Day => crate::encode::rfc3339(r.created_ms)[..10].to_owned(),
        }
    }
}

/// The group of leads without the attribute grouped by.
pub const NONE: &str = "(none)";

/// Which leads, grouped how: those created in `[from_ms, to_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    pub from_ms: i64,
    pub to_ms: i64,
    pub group_by: GroupBy,
}

/// Count, median and 90th percentile of durations in ms (nearest rank); `None` without data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Stats {
    pub n: u32,
    pub median: Option<i64>,
    pub p90: Option<i64>,
}

impl Stats {
    fn of(mut values: Vec<i64>) -> Stats {
        values.sort_unstable();
        let rank = |p: f64| {
            // Nearest rank: the smallest value with at least p of the data at or below it.
            let n = values.len();
            let k = ((p * n as f64).ceil() as usize).clamp(1, n);
            values[k - 1]
        };
        Stats {
            n: values.len() as u32,
            median: (!values.is_empty()).then(|| rank(0.5)),
            p90: (!values.is_empty()).then(|| rank(0.9)),
        }
    }
}

/// Leads that had an SLA clock, and how many of them were touched in time.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct SlaShare {
    pub with_sla: u32,
    pub within: u32,
    pub share: Option<f64>,
}

/// A key and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    pub key: String,
    pub n: u32,
}

/// One speed-to-lead tier and what its leads became.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tier {
    pub tier: &'static str,
    pub leads: u32,
    pub contacted: u32,
    pub meetings: u32,
    pub opportunities: u32,
    pub meeting_rate: Option<f64>,
    pub opportunity_rate: Option<f64>,
}

/// The tiers of time to first touch, lower bound inclusive, and the untouched.
pub const TIERS: [(&str, i64); 5] = [
    ("0-5m", 0),
    ("5-30m", 5 * 60_000),
    ("30-60m", 30 * 60_000),
    ("1-4h", 3_600_000),
    ("4h+", 4 * 3_600_000),
];
pub const UNTOUCHED: &str = "untouched";

/// The tier of a time to first touch (`None`: untouched). A touch recorded before the lead (a
/// clock skew) counts as the first tier.
pub fn tier(first_touch_after_ms: Option<i64>) -> &'static str {
    match first_touch_after_ms {
        None => UNTOUCHED,
        Some(d) => TIERS
            .iter()
            .rev()
            .find(|(_, from)| d >= *from)
            .map_or(TIERS[0].0, |(name, _)| name),
    }
}

/// Every metric of one group of leads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub key: String,
    pub leads: u32,
    pub touched: u32,
    pub untouched: u32,
    pub first_touch_ms: Stats,
    pub system_delay_ms: Stats,
    pub human_delay_ms: Stats,
    pub touched_before_notified: u32,
    pub sla: SlaShare,
    pub contacted: u32,
    pub meetings: u32,
    pub opportunities: u32,
    pub rejected: u32,
    pub contact_rate: Option<f64>,
    pub meeting_rate: Option<f64>,
    pub opportunity_rate: Option<f64>,
    pub reject_rate: Option<f64>,
    pub rejects_by_reason: Vec<Count>,
    pub tiers: Vec<Tier>,
}

fn rate(n: u32, of: u32) -> Option<f64> {
    (of > 0).then(|| f64::from(n) / f64::from(of))
}

/// Counts, most first, then by key.
fn counts(map: BTreeMap<String, u32>) -> Vec<Count> {
    let mut out: Vec<Count> = map.into_iter().map(|(key, n)| Count { key, n }).collect();
    out.sort_by(|a, b| b.n.cmp(&a.n).then_with(|| a.key.cmp(&b.key)));
    out
}

fn group(key: String, members: &[(&LeadRecord, LeadFacts)]) -> Group {
    let (mut first, mut system, mut human) = (Vec::new(), Vec::new(), Vec::new());
    let (mut before, mut with_sla, mut within) = (0, 0, 0);
    let (mut contacted, mut meetings, mut opportunities, mut rejected) = (0, 0, 0, 0);
    let mut reasons = BTreeMap::new();
    let mut tiers: Vec<Tier> = TIERS
        .iter()
        .map(|(t, _)| *t)
        .chain([UNTOUCHED])
        .map(|tier| Tier {
            tier,
            leads: 0,
            contacted: 0,
            meetings: 0,
            opportunities: 0,
            meeting_rate: None,
            opportunity_rate: None,
        })
        .collect();
    for (r, f) in members {
        let after = f.first_touch_ms.map(|t| t - r.created_ms);
        if let Some(d) = after {
            first.push(d);
        }
        if let Some(n) = f.notified_ms {
            system.push(n - r.created_ms);
            if let Some(t) = f.first_touch_ms {
                human.push(t - n);
                if t < n {
                    before += 1;
                }
            }
        }
        if let Some(ok) = f.within_sla {
            with_sla += 1;
            within += u32::from(ok);
        }
        contacted += u32::from(f.contacted);
        meetings += u32::from(f.meeting);
        opportunities += u32::from(f.opportunity);
        if let Some(reason) = &f.rejected {
            rejected += 1;
            *reasons.entry(reason.clone()).or_insert(0) += 1;
        }
        let name = tier(after);
        if let Some(t) = tiers.iter_mut().find(|t| t.tier == name) {
            t.leads += 1;
            t.contacted += u32::from(f.contacted);
            t.meetings += u32::from(f.meeting);
            t.opportunities += u32::from(f.opportunity);
        }
    }
    for t in &mut tiers {
        t.meeting_rate = rate(t.meetings, t.leads);
        t.opportunity_rate = rate(t.opportunities, t.leads);
    }
    let leads = members.len() as u32;
    let touched = first.len() as u32;
    Group {
        key,
        leads,
        touched,
        untouched: leads - touched,
        first_touch_ms: Stats::of(first),
        system_delay_ms: Stats::of(system),
        human_delay_ms: Stats::of(human),
        touched_before_notified: before,
        sla: SlaShare {
            with_sla,
            within,
            share: rate(within, with_sla),
        },
        contacted,
        meetings,
        opportunities,
        rejected,
        contact_rate: rate(contacted, leads),
        meeting_rate: rate(meetings, leads),
        opportunity_rate: rate(opportunities, leads),
        reject_rate: rate(rejected, leads),
        rejects_by_reason: counts(reasons),
        tiers,
    }
}

/// Arms compared with the first (by key) on contact and meeting rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Significance {
    pub baseline: String,
    pub comparisons: Vec<Comparison>,
}

/// One two-proportion z-test (pooled), two-sided; `significant` when p < 0.05.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub arm: String,
    pub metric: &'static str,
    pub baseline_n: u32,
    pub arm_n: u32,
    pub baseline_rate: Option<f64>,
    pub arm_rate: Option<f64>,
    pub z: Option<f64>,
    pub p_value: Option<f64>,
    pub significant: bool,
}

/// The pooled two-proportion z statistic of `x1/n1` against `x2/n2` and its two-sided p-value;
/// `None` when either sample is empty or nothing varies.
pub fn two_proportion_test(x1: u32, n1: u32, x2: u32, n2: u32) -> Option<(f64, f64)> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (x1, n1, x2, n2) = (f64::from(x1), f64::from(n1), f64::from(x2), f64::from(n2));
    let pooled = (x1 + x2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return None;
    }
    let z = (x2 / n2 - x1 / n1) / se;
    Some((z, 2.0 * (1.0 - normal_cdf(z.abs()))))
}

/// The standard normal CDF, through erf (Abramowitz & Stegun 7.1.26, error below 1.5e-7).
pub fn normal_cdf(x: f64) -> f64 {
    let t = x / std::f64::consts::SQRT_2;
    let sign = if t < 0.0 { -1.0 } else { 1.0 };
    let t = t.abs();
    let k = 1.0 / (1.0 + 0.327_591_1 * t);
    let poly = k
        * (0.254_829_592
            + k * (-0.284_496_736
                + k * (1.421_413_741 + k * (-1.453_152_027 + k * 1.061_405_429))));
    let erf = 1.0 - poly * (-t * t).exp();
    0.5 * (1.0 + sign * erf)
}

/// The report: every metric over the leads created in the range, in total and per group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub from_ms: i64,
    pub to_ms: i64,
    pub group_by: GroupBy,
    pub total: Group,
    /// Most leads first, then by key.
    pub groups: Vec<Group>,
    /// Rejected leads per scoring rule that gave them points: which rules let bad leads through.
    pub rejects_by_rule: Vec<Count>,
    /// Grouped by arm with two arms or more: each arm against the first.
    pub significance: Option<Significance>,
}

/// Measures the records created in `[query.from_ms, query.to_ms)`.
pub fn compute(records: &[LeadRecord], query: &Query) -> Report {
    let members: Vec<(&LeadRecord, LeadFacts)> = records
        .iter()
        .filter(|r| r.created_ms >= query.from_ms && r.created_ms < query.to_ms)
        .map(|r| (r, summarize(r)))
        .collect();
    let mut by_key: BTreeMap<String, Vec<(&LeadRecord, LeadFacts)>> = BTreeMap::new();
    let mut by_rule = BTreeMap::new();
    for (r, f) in &members {
        by_key
            .entry(query.group_by.key(r))
            .or_default()
            .push((*r, f.clone()));
        if f.rejected.is_some() {
            for rule in &r.rules {
                *by_rule.entry(rule.clone()).or_insert(0) += 1;
            }
        }
    }
    let mut groups: Vec<Group> = by_key.into_iter().map(|(key, m)| group(key, &m)).collect();
    groups.sort_by(|a, b| b.leads.cmp(&a.leads).then_with(|| a.key.cmp(&b.key)));
    let significance = (query.group_by == GroupBy::Arm)
        .then(|| significance(&groups))
        .flatten();
    Report {
        from_ms: query.from_ms,
        to_ms: query.to_ms,
        group_by: query.group_by,
        total: group("all".to_owned(), &members),
        groups,
        rejects_by_rule: counts(by_rule),
        significance,
    }
}

fn significance(groups: &[Group]) -> Option<Significance> {
    let mut arms: Vec<&Group> = groups.iter().filter(|g| g.key != NONE).collect();
    arms.sort_by(|a, b| a.key.cmp(&b.key));
    let (baseline, rest) = arms.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let mut comparisons = Vec::new();
    for arm in rest {
        for (metric, pick) in [
            (
                "contact_rate",
                (|g: &Group| g.contacted) as fn(&Group) -> u32,
            ),
            ("meeting_rate", |g: &Group| g.meetings),
        ] {
            let test = two_proportion_test(pick(baseline), baseline.leads, pick(arm), arm.leads);
            comparisons.push(Comparison {
                arm: arm.key.clone(),
                metric,
                baseline_n: baseline.leads,
                arm_n: arm.leads,
                baseline_rate: rate(pick(baseline), baseline.leads),
                arm_rate: rate(pick(arm), arm.leads),
                z: test.map(|(z, _)| z),
                p_value: test.map(|(_, p)| p),
                significant: test.is_some_and(|(_, p)| p < 0.05),
            });
        }
    }
    Some(Significance {
        baseline: baseline.key.clone(),
        comparisons,
    })
}

/// Reads an export: one [`LeadRecord`] per line (blank lines skipped). On error: the 1-based line
/// and why.
pub fn read_jsonl(text: &str) -> Result<Vec<LeadRecord>, (usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| (i + 1, e.to_string())))
        .collect()
}
