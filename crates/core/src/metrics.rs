//! Speed to lead and what became of the leads, from their event logs: time to accept and the
//! acceptance rate, time to first touch (the first real contact: accepting is not one), the share
//! touched within the SLA, system delay (submission → owner notified) and human delay (notified →
//! first touch), contact, meeting, opportunity and reject rates, speed-to-lead tiers with
//! conversion per tier, won and lost deals with pipeline and won revenue per currency, the MQL →
//! SQL → opportunity → won funnel, grouped by source, campaign, segment, owner, lifecycle,
//! experiment arm, day, country, region, function or seniority, and a significance test between arms. Pure: the CLI reads the records
//! from an export and `compute`s; the Worker keeps the same tallies as rollups (`rollup`), so both
//! get the same numbers (percentiles within the sketch's bound). Definitions: docs/METRICS.md.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod rollup;
pub mod sketch;

use sketch::{bump, n32};
pub use sketch::{Durations, Sketch, Values};

use crate::events::EventKind;
use crate::scoring::Stage;
use crate::status::LeadStatus;

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
    /// Where the lead is and who they are, as handoff-core derived it at intake: the ISO country
    /// code, the US state's or Canadian province's code, the job function and seniority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seniority: Option<String>,
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

/// A deal's value: an amount in the main unit of an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deal {
    pub amount: f64,
    pub currency: String,
}

/// What one lead's log says, the facts every metric is computed from (docs/METRICS.md).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LeadFacts {
    /// The first delivered notification.
    pub notified_ms: Option<i64>,
    /// When the owner took the lead: the first `accepted`, status change to `accepted` or legacy
    /// "I've got it" `first_touch`, or the first contact if that came sooner (working a lead is
    /// taking it).
    pub accepted_ms: Option<i64>,
    /// The SLA's accept target, when the lead's clock had one.
    pub accept_due_ms: Option<i64>,
    /// Accepted at or before the accept target; `None` without one.
    pub accepted_in_time: Option<bool>,
    /// The first real contact (time to first touch): a `first_touch` other than a legacy link
    /// click, a touch, a contact outcome or a status change to working or beyond.
    pub first_touch_ms: Option<i64>,
    /// The SLA's first-touch deadline, when the lead had a clock.
    pub sla_due_ms: Option<i64>,
    /// Touched at or before the deadline; `None` without a clock.
    pub within_sla: Option<bool>,
    pub contacted: bool,
    pub meeting: bool,
    /// Reached opportunity (a won deal did).
    pub opportunity: bool,
    pub won: bool,
    /// Lost, and not won.
    pub lost: bool,
    /// Sent back to nurture.
    pub recycled: bool,
    /// The reason of a rejection, if the lead was rejected.
    pub rejected: Option<String>,
    /// The deal's latest amount (from an opportunity, won or lost outcome or status change).
    pub deal: Option<Deal>,
    /// Reached opportunity and was not lost, rejected or recycled: counts in the pipeline.
    pub pipeline: bool,
    /// The highest lifecycle stage the lead reached: its record's, or one a returning person's
    /// repeat raised it to (`lifecycle_raised`).
    pub stage: Option<Stage>,
}

fn text<'a>(detail: &'a Value, key: &str) -> Option<&'a str> {
    detail.get(key).and_then(Value::as_str)
}

/// A time in ms from a detail: an integer, or a float as D1's JSON functions may write one.
fn ms(detail: &Value, key: &str) -> Option<i64> {
    let v = detail.get(key)?;
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

/// Keeps the earliest of two times.
fn earliest(slot: &mut Option<i64>, at: i64) {
    *slot = Some(slot.map_or(at, |t| t.min(at)));
}

/// The rank of a lifecycle stage (disqualified lowest), for "the highest reached".
fn stage_rank(stage: Stage) -> usize {
    Stage::ALL.iter().position(|s| *s == stage).unwrap_or(0)
}

fn higher(a: Option<Stage>, b: Option<Stage>) -> Option<Stage> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if stage_rank(y) > stage_rank(x) { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

/// The status an outcome says the lead reached (`contacted` is `working`).
fn reached_by_outcome(outcome: &str) -> Option<LeadStatus> {
    Some(match outcome {
        "contacted" => LeadStatus::Working,
        "meeting_held" => LeadStatus::Meeting,
        "opportunity" => LeadStatus::Opportunity,
        "won" => LeadStatus::Won,
        "lost" => LeadStatus::Lost,
        "rejected" => LeadStatus::Rejected,
        "recycled" => LeadStatus::Recycled,
        _ => return None,
    })
}

/// Whether a lead cannot reach `status` without reaching the person (a won deal was worked).
fn reached_person(status: LeadStatus) -> bool {
    matches!(
        status,
        LeadStatus::Working | LeadStatus::Meeting | LeadStatus::Opportunity | LeadStatus::Won
    )
}

/// A lead's log read event by event; [`Reading::finish`] gives the facts.
#[derive(Default)]
struct Reading {
    facts: LeadFacts,
    /// The explicit acceptance (accepted, status accepted, a legacy link first touch).
    took_ms: Option<i64>,
    /// The time of the latest amount seen, so that a later one replaces it (ties: the later in
    /// the log).
    deal_at: Option<i64>,
}

impl Reading {
    fn reach(&mut self, at: i64, reached: LeadStatus, detail: &Value, from_outcome: bool) {
        let f = &mut self.facts;
        if reached_person(reached) {
            f.contacted = true;
            earliest(&mut f.first_touch_ms, at);
        }
        match reached {
            LeadStatus::Accepted => earliest(&mut self.took_ms, at),
            LeadStatus::Meeting => f.meeting = true,
            LeadStatus::Opportunity => f.opportunity = true,
            LeadStatus::Won => {
                f.opportunity = true;
                f.won = true;
            }
            LeadStatus::Lost => f.lost = true,
            LeadStatus::Recycled => f.recycled = true,
            // An outcome's reason wins over a status change's, which may say none.
            LeadStatus::Rejected => match text(detail, "reason") {
                Some(reason) if from_outcome || f.rejected.is_none() => {
                    f.rejected = Some(reason.to_owned());
                }
                _ if f.rejected.is_none() => f.rejected = Some("unspecified".to_owned()),
                _ => {}
            },
            LeadStatus::New | LeadStatus::Working | LeadStatus::Merged => {}
        }
        let amount = detail.get("amount").and_then(Value::as_f64);
        if let (Some(amount), Some(currency)) = (amount, text(detail, "currency")) {
            if self.deal_at.is_none_or(|t| at >= t) {
                self.deal_at = Some(at);
                f.deal = Some(Deal {
                    amount,
                    currency: currency.to_owned(),
                });
            }
        }
    }

    fn read(&mut self, e: &EventRecord) {
        let Some(kind) = EventKind::parse(&e.kind) else {
            return;
        };
        let f = &mut self.facts;
        match kind {
            EventKind::Notified => earliest(&mut f.notified_ms, e.at_ms),
            // Before issue 15 the "I've got it" link wrote a first touch: an acceptance.
            EventKind::FirstTouch if text(&e.detail, "via") == Some("link") => {
                earliest(&mut self.took_ms, e.at_ms);
            }
            EventKind::FirstTouch => self.reach(e.at_ms, LeadStatus::Working, &e.detail, false),
            EventKind::Accepted => earliest(&mut self.took_ms, e.at_ms),
            EventKind::Touch => {
                let reached = if text(&e.detail, "channel") == Some("meeting_booked") {
                    LeadStatus::Meeting
                } else {
                    LeadStatus::Working
                };
                self.reach(e.at_ms, reached, &e.detail, false);
            }
            EventKind::Outcome => {
                if let Some(reached) = text(&e.detail, "outcome").and_then(reached_by_outcome) {
                    self.reach(e.at_ms, reached, &e.detail, true);
                }
            }
            EventKind::StatusChanged => {
                let to = text(&e.detail, "to").and_then(LeadStatus::parse);
                if let Some(reached) =
                    to.filter(|s| !matches!(s, LeadStatus::New | LeadStatus::Merged))
                {
                    self.reach(e.at_ms, reached, &e.detail, false);
                }
            }
            EventKind::LifecycleRaised => {
                let to = text(&e.detail, "to").and_then(Stage::parse);
                f.stage = higher(f.stage, to);
            }
            EventKind::SlaStarted => {
                if let Some(due) = ms(&e.detail, "first_touch_due_ms") {
                    f.sla_due_ms = Some(due);
                }
                if let Some(due) = ms(&e.detail, "accept_due_ms") {
                    f.accept_due_ms = Some(due);
                }
            }
            _ => {}
        }
    }

    fn finish(self) -> LeadFacts {
        let mut f = self.facts;
        f.accepted_ms = match (self.took_ms, f.first_touch_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        f.within_sla = f
            .sla_due_ms
            .map(|due| f.first_touch_ms.is_some_and(|t| t <= due));
        f.accepted_in_time = f
            .accept_due_ms
            .map(|due| f.accepted_ms.is_some_and(|t| t <= due));
        // Won and lost exclude each other; a won deal is never lost.
        f.lost &= !f.won;
        f.pipeline = f.opportunity && (f.won || !(f.lost || f.rejected.is_some() || f.recycled));
        f
    }
}

/// The event kinds [`summarize`] reads: a reader of the logs (the Worker's SQL) needs only these.
pub const READS: [EventKind; 8] = [
    EventKind::Notified,
    EventKind::Accepted,
    EventKind::FirstTouch,
    EventKind::Touch,
    EventKind::Outcome,
    EventKind::StatusChanged,
    EventKind::LifecycleRaised,
    EventKind::SlaStarted,
];

/// Reads one lead's log (see docs/METRICS.md for each definition).
pub fn summarize(record: &LeadRecord) -> LeadFacts {
    let mut reading = Reading::default();
    reading.facts.stage = Stage::parse(&record.lifecycle);
    for e in &record.events {
        reading.read(e);
    }
    reading.finish()
}

/// How the report groups leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
    /// The derived attributes: `country_code`, `region_code`, `function`, `seniority`.
    Country,
    Region,
    Function,
    Seniority,
}

impl GroupBy {
    /// Every grouping, in the order the documentation and messages list them.
    pub const ALL: [GroupBy; 12] = [
        GroupBy::All,
        GroupBy::Source,
        GroupBy::Campaign,
        GroupBy::Segment,
        GroupBy::Owner,
        GroupBy::Lifecycle,
        GroupBy::Arm,
        GroupBy::Day,
        GroupBy::Country,
        GroupBy::Region,
        GroupBy::Function,
        GroupBy::Seniority,
    ];

    pub fn parse(s: &str) -> Option<GroupBy> {
        GroupBy::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// The names, as messages list them: `all, source, …, function or seniority`.
    pub fn listed() -> String {
        let names: Vec<&str> = GroupBy::ALL.iter().map(|g| g.as_str()).collect();
        match names.split_last() {
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
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
            GroupBy::Country => "country",
            GroupBy::Region => "region",
            GroupBy::Function => "function",
            GroupBy::Seniority => "seniority",
        }
    }

    /// The group a record falls in; `(none)` when the attribute is missing.
    pub fn key(self, r: &LeadRecord) -> String {
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
            GroupBy::Country => or_none(&r.country),
            GroupBy::Region => or_none(&r.region),
            GroupBy::Function => or_none(&r.function),
            GroupBy::Seniority => or_none(&r.seniority),
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
    TIERS
        .get(tier_index(first_touch_after_ms))
        .map_or(UNTOUCHED, |(name, _)| name)
}

/// The position of a time to first touch's tier in [`TIERS`] (`TIERS.len()`: untouched).
fn tier_index(first_touch_after_ms: Option<i64>) -> usize {
    match first_touch_after_ms {
        None => TIERS.len(),
        Some(d) => TIERS.iter().rposition(|(_, from)| d >= *from).unwrap_or(0),
    }
}

/// Amounts per currency (ISO 4217 code → amount in its main unit, to the hundredth), never
/// added across currencies.
pub type Money = BTreeMap<String, f64>;

/// Sums amounts per currency in hundredths, so that the total does not depend on floating-point
/// rounding of the parts (and the Worker and the CLI agree to the byte). Each currency also counts
/// its deals, so that a sum that comes back to zero when a lead is taken out (a rollup's
/// subtraction) is told apart from a currency without deals: a currency shows while it has deals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Purse(BTreeMap<String, (i64, i64)>);

impl Purse {
    fn add(&mut self, deal: &Deal, sign: i64) {
        let cents = (deal.amount * 100.0).round() as i64;
        self.bump(&deal.currency, sign, cents.wrapping_mul(sign));
    }

    fn bump(&mut self, currency: &str, deals: i64, cents: i64) {
        let slot = self.0.entry(currency.to_owned()).or_insert((0, 0));
        slot.0 += deals;
        slot.1 = slot.1.wrapping_add(cents);
        // A change of amount is a delta of no deals and some cents: kept until both are zero.
        if *slot == (0, 0) {
            self.0.remove(currency);
        }
    }

    fn merge(&mut self, other: &Purse, sign: i64) {
        for (currency, (deals, cents)) in &other.0 {
            self.bump(currency, sign * deals, cents.wrapping_mul(sign));
        }
    }

    fn money(&self) -> Money {
        self.0
            .iter()
            .filter(|(_, (deals, _))| *deals > 0)
            .map(|(currency, (_, cents))| (currency.clone(), *cents as f64 / 100.0))
            .collect()
    }
}

/// MQL → SQL → opportunity → won: how many leads reached each stage, and the rate from each stage
/// to the next. A lead that reached a later stage counts in every earlier one.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Funnel {
    pub mql: u32,
    pub sql: u32,
    pub opportunity: u32,
    pub won: u32,
    /// MQLs of all the group's leads.
    pub lead_to_mql: Option<f64>,
    pub mql_to_sql: Option<f64>,
    pub sql_to_opportunity: Option<f64>,
    pub opportunity_to_won: Option<f64>,
}

/// Every metric of one group of leads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub key: String,
    pub leads: u32,
    pub touched: u32,
    pub untouched: u32,
    /// Time to first touch: to the first real contact.
    pub first_touch_ms: Stats,
    pub system_delay_ms: Stats,
    pub human_delay_ms: Stats,
    pub touched_before_notified: u32,
    pub sla: SlaShare,
    /// Leads routed to an owner or a queue: those someone could accept.
    pub routed: u32,
    /// Routed leads that were accepted.
    pub accepted: u32,
    pub acceptance_rate: Option<f64>,
    /// Time to accept, over the accepted leads.
    pub accept_ms: Stats,
    /// Leads whose clock had an accept target, and how many were accepted in time.
    pub accept_sla: SlaShare,
    pub contacted: u32,
    pub meetings: u32,
    pub opportunities: u32,
    pub rejected: u32,
    pub contact_rate: Option<f64>,
    pub meeting_rate: Option<f64>,
    pub opportunity_rate: Option<f64>,
    pub reject_rate: Option<f64>,
    pub rejects_by_reason: Vec<Count>,
    pub won: u32,
    pub lost: u32,
    /// Won of the deals decided (won or lost).
    pub win_rate: Option<f64>,
    /// Opportunities not lost, rejected or recycled (won included), at their latest amount.
    pub pipeline: Money,
    /// Won deals at their latest amount.
    pub won_revenue: Money,
    pub funnel: Funnel,
    pub tiers: Vec<Tier>,
}

fn rate(n: u32, of: u32) -> Option<f64> {
    (of > 0).then(|| f64::from(n) / f64::from(of))
}

/// Counts, most first, then by key (none that came back to zero).
fn counts(map: &BTreeMap<String, i64>) -> Vec<Count> {
    let mut out: Vec<Count> = map
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(key, n)| Count {
            key: key.clone(),
            n: n32(*n),
        })
        .collect();
    out.sort_by(|a, b| b.n.cmp(&a.n).then_with(|| a.key.cmp(&b.key)));
    out
}

/// One group's numbers as its leads are added (and, for a rollup, taken out again); merged with
/// another group's, it is the group of both; [`Tally::finish`] makes the [`Group`]. Every count is
/// signed so that a rollup subtracts a lead it folded before; the durations are `D`: exact
/// ([`Values`], `compute`) or bounded ([`Sketch`], the rollups).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tally<D> {
    leads: i64,
    touched: i64,
    first: D,
    system: D,
    human: D,
    accept: D,
    before: i64,
    sla: (i64, i64),
    accept_sla: (i64, i64),
    routed: i64,
    accepted: i64,
    contacted: i64,
    meetings: i64,
    opportunities: i64,
    rejected: i64,
    reasons: BTreeMap<String, i64>,
    /// Rejected leads per scoring rule that gave them points.
    rules: BTreeMap<String, i64>,
    won: i64,
    lost: i64,
    pipeline: Purse,
    won_revenue: Purse,
    /// MQL, SQL, opportunity, won.
    funnel: [i64; 4],
    /// Per tier (`TIERS`, then untouched): leads, contacted, meetings, opportunities.
    tiers: [[i64; 4]; 6],
}

impl<D: Durations> Tally<D> {
    /// Adds a lead (`sign` 1) or takes it out (`sign` −1).
    pub fn add(&mut self, r: &LeadRecord, f: &LeadFacts, sign: i64) {
        let one = |b: bool| sign * i64::from(b);
        self.leads += sign;
        let after = f.first_touch_ms.map(|t| t - r.created_ms);
        if let Some(d) = after {
            self.touched += sign;
            self.first.add(d, sign);
        }
        if let Some(n) = f.notified_ms {
            self.system.add(n - r.created_ms, sign);
            if let Some(t) = f.first_touch_ms {
                self.human.add(t - n, sign);
                self.before += one(t < n);
            }
        }
        if let Some(ok) = f.within_sla {
            self.sla.0 += sign;
            self.sla.1 += one(ok);
        }
        if r.owner.is_some() {
            self.routed += sign;
            if let Some(t) = f.accepted_ms {
                self.accepted += sign;
                self.accept.add(t - r.created_ms, sign);
            }
            if let Some(ok) = f.accepted_in_time {
                self.accept_sla.0 += sign;
                self.accept_sla.1 += one(ok);
            }
        }
        self.contacted += one(f.contacted);
        self.meetings += one(f.meeting);
        self.opportunities += one(f.opportunity);
        if let Some(reason) = &f.rejected {
            self.rejected += sign;
            bump(&mut self.reasons, reason, sign);
            for rule in &r.rules {
                bump(&mut self.rules, rule, sign);
            }
        }
        self.add_deal(f, sign);
        let tier = &mut self.tiers[tier_index(after)];
        for (slot, yes) in tier
            .iter_mut()
            .zip([true, f.contacted, f.meeting, f.opportunity])
        {
            *slot += one(yes);
        }
    }

    /// Revenue and the funnel: won, lost, the deal's amount, the stages reached.
    fn add_deal(&mut self, f: &LeadFacts, sign: i64) {
        let one = |b: bool| sign * i64::from(b);
        self.won += one(f.won);
        self.lost += one(f.lost);
        if let Some(deal) = &f.deal {
            if f.pipeline {
                self.pipeline.add(deal, sign);
            }
            if f.won {
                self.won_revenue.add(deal, sign);
            }
        }
        let rank = f.stage.map_or(0, stage_rank);
        let sql = f.opportunity || rank >= stage_rank(Stage::Sql);
        let mql = sql || rank >= stage_rank(Stage::Mql);
        for (slot, yes) in self.funnel.iter_mut().zip([mql, sql, f.opportunity, f.won]) {
            *slot += one(yes);
        }
    }

    /// Adds another group's numbers (`sign` 1) or takes them out (`sign` −1).
    pub fn merge(&mut self, o: &Tally<D>, sign: i64) {
        let pairs = [
            (&mut self.leads, o.leads),
            (&mut self.touched, o.touched),
            (&mut self.before, o.before),
            (&mut self.sla.0, o.sla.0),
            (&mut self.sla.1, o.sla.1),
            (&mut self.accept_sla.0, o.accept_sla.0),
            (&mut self.accept_sla.1, o.accept_sla.1),
            (&mut self.routed, o.routed),
            (&mut self.accepted, o.accepted),
            (&mut self.contacted, o.contacted),
            (&mut self.meetings, o.meetings),
            (&mut self.opportunities, o.opportunities),
            (&mut self.rejected, o.rejected),
            (&mut self.won, o.won),
            (&mut self.lost, o.lost),
        ];
        for (mine, theirs) in pairs {
            *mine += sign * theirs;
        }
        for (mine, theirs) in [
            (&mut self.first, &o.first),
            (&mut self.system, &o.system),
            (&mut self.human, &o.human),
            (&mut self.accept, &o.accept),
        ] {
            mine.merge(theirs, sign);
        }
        for (mine, theirs) in [(&mut self.reasons, &o.reasons), (&mut self.rules, &o.rules)] {
            for (key, n) in theirs {
                bump(mine, key, sign * n);
            }
        }
        self.pipeline.merge(&o.pipeline, sign);
        self.won_revenue.merge(&o.won_revenue, sign);
        for (mine, theirs) in self.funnel.iter_mut().zip(o.funnel) {
            *mine += sign * theirs;
        }
        for (mine, theirs) in self.tiers.iter_mut().zip(o.tiers) {
            for (m, t) in mine.iter_mut().zip(theirs) {
                *m += sign * t;
            }
        }
    }

    /// How many leads the group holds (none: a rollup's group whose leads were all taken out).
    pub fn leads(&self) -> i64 {
        self.leads
    }

    pub fn finish(&self, key: String) -> Group {
        let names = TIERS.iter().map(|(t, _)| *t).chain([UNTOUCHED]);
        let tiers = names
            .zip(self.tiers)
            .map(|(tier, [leads, contacted, meetings, opportunities])| {
                let (leads, meetings, opportunities) =
                    (n32(leads), n32(meetings), n32(opportunities));
                Tier {
                    tier,
                    leads,
                    contacted: n32(contacted),
                    meetings,
                    opportunities,
                    meeting_rate: rate(meetings, leads),
                    opportunity_rate: rate(opportunities, leads),
                }
            })
            .collect();
        let leads = n32(self.leads);
        let touched = n32(self.touched);
        let share = |(with, within): (i64, i64)| SlaShare {
            with_sla: n32(with),
            within: n32(within),
            share: rate(n32(within), n32(with)),
        };
        let [mql, sql, opportunity, won] = self.funnel.map(n32);
        let (routed, accepted) = (n32(self.routed), n32(self.accepted));
        let (contacted, meetings, opportunities, rejected) = (
            n32(self.contacted),
            n32(self.meetings),
            n32(self.opportunities),
            n32(self.rejected),
        );
        Group {
            key,
            leads,
            touched,
            untouched: leads.saturating_sub(touched),
            first_touch_ms: self.first.stats(),
            system_delay_ms: self.system.stats(),
            human_delay_ms: self.human.stats(),
            touched_before_notified: n32(self.before),
            sla: share(self.sla),
            routed,
            accepted,
            acceptance_rate: rate(accepted, routed),
            accept_ms: self.accept.stats(),
            accept_sla: share(self.accept_sla),
            contacted,
            meetings,
            opportunities,
            rejected,
            contact_rate: rate(contacted, leads),
            meeting_rate: rate(meetings, leads),
            opportunity_rate: rate(opportunities, leads),
            reject_rate: rate(rejected, leads),
            rejects_by_reason: counts(&self.reasons),
            won: n32(self.won),
            lost: n32(self.lost),
            win_rate: rate(n32(self.won), n32(self.won) + n32(self.lost)),
            pipeline: self.pipeline.money(),
            won_revenue: self.won_revenue.money(),
            funnel: Funnel {
                mql,
                sql,
                opportunity,
                won,
                lead_to_mql: rate(mql, leads),
                mql_to_sql: rate(sql, mql),
                sql_to_opportunity: rate(opportunity, sql),
                opportunity_to_won: rate(won, opportunity),
            },
            tiers,
        }
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
    let mut groups: BTreeMap<String, Tally<Values>> = BTreeMap::new();
    for r in records
        .iter()
        .filter(|r| r.created_ms >= query.from_ms && r.created_ms < query.to_ms)
    {
        let facts = summarize(r);
        groups
            .entry(query.group_by.key(r))
            .or_default()
            .add(r, &facts, 1);
    }
    report(query, &groups)
}

/// The report from each group's tally, by the query's group key: the total is their sum, a group
/// without leads (a rollup's, all taken out) is left out.
pub fn report<D: Durations>(query: &Query, groups: &BTreeMap<String, Tally<D>>) -> Report {
    let mut total = Tally::<D>::default();
    for tally in groups.values() {
        total.merge(tally, 1);
    }
    let mut groups: Vec<Group> = groups
        .iter()
        .filter(|(_, t)| t.leads > 0)
        .map(|(key, t)| t.finish(key.clone()))
        .collect();
    groups.sort_by(|a, b| b.leads.cmp(&a.leads).then_with(|| a.key.cmp(&b.key)));
    let significance = (query.group_by == GroupBy::Arm)
        .then(|| significance(&groups))
        .flatten();
    Report {
        from_ms: query.from_ms,
        to_ms: query.to_ms,
        group_by: query.group_by,
        total: total.finish("all".to_owned()),
        groups,
        rejects_by_rule: counts(&total.rules),
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
