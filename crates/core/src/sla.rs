//! SLA policies: how soon a new lead must be touched (first touch), on whose clock (the owner's
//! working hours or the calendar), and who hears about it, step by step, when nobody does (the
//! escalation ladder); and suppression, which keeps leads that are already being worked (an open
//! deal, a running sequence, a recent contact) off the clock altogether. Pure: the caller passes
//! `now` and what it knows about the lead, and gets deadlines and the steps due back.
//!
//! Semantics, in one place (docs/CONFIG.md says the same for the marketer):
//! - The first policy whose `when` holds (or that has none) applies; none: the lead has no SLA.
//! - The clock starts when the lead is assigned. A `working_hours` clock counts only the owner's
//!   weekly hours outside their holidays (their calendar's and their own), in their time zone;
//!   absences do *not* stop it, so that a lead held by an absent owner escalates. A lead held by a
//!   queue, or by an owner without `hours`, runs on a 24/7 clock (holidays still count for the
//!   owner). A `calendar` clock always counts every millisecond.
//! - Ladder step `after` durations are measured from the first-touch deadline, on the policy's
//!   clock: `after = "2h"` on a working-hours clock is two working hours after the deadline.
//! - A touch stops the clock: nothing further is due, whatever was done before.
//! - A merged submission (folded into a lead already open) never starts a clock; the open lead's
//!   clock runs on. A suppressed lead starts none either.

use std::fmt;

pub use crate::duration::{parse_duration, parse_span, Span};
use serde::{Deserialize, Serialize, Serializer};

use crate::check::{
    compile_condition, duplicate, invalid_id, problem, unknown_ref, valid_id, ConfigCode,
    FirstSeen, Found, Step,
};
use crate::condition::Condition;
use crate::hours::Hours;
use crate::routing::{
    Assignee, AttributeEnv, CompiledRouting, LeadView, RouteInput, RoutingConfig,
};

/// `[sla]` as the configuration writes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaConfig {
    /// A lead contacted within this duration (calendar time) before it arrives starts no clock.
    /// Omitted: recent contact suppresses nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent_contact_window: Option<String>,
    /// Tried in order; the first whose `when` holds applies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicySpec>,
}

impl SlaConfig {
    /// Whether the configuration says nothing about SLAs (then the bundle carries no `sla`).
    pub fn is_empty(&self) -> bool {
        *self == SlaConfig::default()
    }
}

/// One `[[sla.policies]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    pub id: String,
    /// A condition on the attributes routing rules read; omitted: every lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// The first-touch target, a duration such as `5m` or `1h`.
    pub first_touch: String,
    #[serde(default)]
    pub clock: ClockKind,
    /// The escalation ladder, in order of `after`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalate: Vec<StepSpec>,
    /// The accept target (the owner takes the lead), such as `5m`: a clock of its own, met by
    /// accepting (or by any later move), with its own ladder. Omitted: acceptance is measured but
    /// not enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept: Option<String>,
    /// The accept clock's ladder, each `after` measured from the accept deadline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accept_escalate: Vec<StepSpec>,
}

/// One `[[sla.policies.escalate]]` step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// How long after the first-touch deadline, on the policy's clock.
    pub after: String,
    /// `team_lead`, `owner:ID` or `queue:ID`: who is notified.
    pub to: String,
    /// Also give the lead to the next eligible member of the pool that assigned it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reassign: bool,
    /// The notification's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Which time an SLA clock counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    /// The owner's working hours and holidays, in their time zone (a queue: 24/7).
    #[default]
    WorkingHours,
    /// Every millisecond, 24/7.
    Calendar,
}

/// Whom an escalation step notifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscalateTo {
    /// The `lead` of the pool that assigned the lead (see [`CompiledSla::recipient`]).
    TeamLead,
    Owner(String),
    Queue(String),
}

impl EscalateTo {
    /// Reads `team_lead`, `owner:ID` or `queue:ID`.
    pub fn parse(text: &str) -> Option<EscalateTo> {
        match text.split_once(':') {
            None if text == "team_lead" => Some(EscalateTo::TeamLead),
            Some(("owner", id)) => Some(EscalateTo::Owner(id.to_owned())),
            Some(("queue", id)) => Some(EscalateTo::Queue(id.to_owned())),
            _ => None,
        }
    }
}

impl fmt::Display for EscalateTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EscalateTo::TeamLead => f.write_str("team_lead"),
            EscalateTo::Owner(id) => write!(f, "owner:{id}"),
            EscalateTo::Queue(id) => write!(f, "queue:{id}"),
        }
    }
}

impl Serialize for EscalateTo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EscalateTo {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        EscalateTo::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("\"{text}\" is not team_lead, owner:ID or queue:ID"))
        })
    }
}

/// One compiled ladder step. Levels count from 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LadderStep {
    pub level: u32,
    pub after: Span,
    pub to: EscalateTo,
    pub reassign: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
}

/// One compiled policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub id: String,
    when: Option<Condition>,
    pub first_touch: Span,
    pub clock: ClockKind,
    pub ladder: Vec<LadderStep>,
    /// The accept target and its ladder.
    pub accept: Option<Span>,
    pub accept_ladder: Vec<LadderStep>,
}

/// `[sla]` checked and compiled: built once per bundle (`Bundle::sla`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompiledSla {
    policies: Vec<Policy>,
    recent_contact_window_ms: i64,
}

/// When a clock's first touch and each ladder step fall due, in ms since the epoch. `i64::MAX`:
/// never (an owner whose schedule has no working time left).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clock {
    pub policy: String,
    pub kind: ClockKind,
    /// Whether the owner's working hours were counted (false for a queue, a `calendar` policy).
    pub working_hours: bool,
    pub started_ms: i64,
    pub first_touch_due_ms: i64,
    /// The accept deadline, when the policy sets one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_due_ms: Option<i64>,
    /// Both ladders in one, by due time, levels counted from 1 across them.
    pub steps: Vec<StepDue>,
}

/// A ladder step with its due time. The Worker stores a clock's steps as JSON and reads them back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepDue {
    pub level: u32,
    pub due_ms: i64,
    pub to: EscalateTo,
    pub reassign: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
    /// Which deadline the step enforces: a step of the accept ladder is skipped once the lead is
    /// accepted.
    #[serde(default, skip_serializing_if = "Deadline::is_first_touch")]
    pub deadline: Deadline,
}

/// The deadline a ladder step enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deadline {
    /// First contact (`first_touch`).
    #[default]
    FirstTouch,
    /// The owner takes the lead (`accept`).
    Accept,
}

impl Deadline {
    fn is_first_touch(&self) -> bool {
        *self == Deadline::FirstTouch
    }
}

/// Where a lead stands against its first-touch deadline. The codes are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Touched: the clock has stopped.
    Touched,
    /// Due later than the look-ahead.
    OnTrack,
    /// Due within the look-ahead, untouched.
    AtRisk,
    /// Past the first-touch deadline, untouched.
    Breached,
}

impl Standing {
    pub const fn code(self) -> &'static str {
        match self {
            Standing::Touched => "touched",
            Standing::OnTrack => "on_track",
            Standing::AtRisk => "at_risk",
            Standing::Breached => "breached",
        }
    }
}

/// What the caller knows about a lead's existing relationship (from the CRM or its own store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SuppressionFacts {
    /// An open deal (opportunity) with this person or their account.
    pub active_deal: bool,
    /// Enrolled in a running outreach sequence.
    pub in_sequence: bool,
    /// When a rep last contacted them, if ever.
    pub last_contacted_ms: Option<i64>,
}

/// Why a lead starts no SLA clock although a policy matches. The codes are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressReason {
    ActiveDeal,
    InSequence,
    RecentlyContacted,
}

impl SuppressReason {
    pub const fn code(self) -> &'static str {
        match self {
            SuppressReason::ActiveDeal => "active_deal",
            SuppressReason::InSequence => "in_sequence",
            SuppressReason::RecentlyContacted => "recently_contacted",
        }
    }
}

/// Why a lead has no SLA clock. Serialized as its code: `merged`, `no_policy`, or the
/// suppression's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoClock {
    /// Folded into a lead already open, whose clock runs on.
    Merged,
    /// No policy matches.
    NoPolicy,
    Suppressed(SuppressReason),
}

impl NoClock {
    pub const fn code(self) -> &'static str {
        match self {
            NoClock::Merged => "merged",
            NoClock::NoPolicy => "no_policy",
            NoClock::Suppressed(reason) => reason.code(),
        }
    }
}

impl Serialize for NoClock {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// Whom one escalation step reaches for one lead, and whether the lead moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    pub notify: Assignee,
    /// The pool to reassign the lead within: set when the step says `reassign` and a pool's
    /// rotation assigned the lead. [`crate::routing::reassign`] picks that pool's next eligible
    /// member other than the current owner; when there is none, the lead stays.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reassign_in: Option<String>,
}

impl CompiledSla {
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// `recent_contact_window` in ms; 0 when not configured.
    pub fn recent_contact_window_ms(&self) -> i64 {
        self.recent_contact_window_ms
    }

    /// The first policy whose `when` holds for `lead`, read as routing reads it (the account,
    /// for the `account` attribute, comes from `routing`).
    pub fn policy_for(
        &self,
        lead: &RouteInput,
        routing: Option<&CompiledRouting>,
    ) -> Option<&Policy> {
        let account =
            routing.and_then(|r| lead.email.as_deref().and_then(|e| r.account_for_email(e)));
        let view = LeadView::new(lead, account);
        self.policies
            .iter()
            .find(|p| p.when.as_ref().is_none_or(|c| c.eval(&view)))
    }

    /// The clock of a lead just assigned to `assignee` at `assigned_at_ms`, or why it has none:
    /// a merged submission first, then suppression, then the policies.
    pub fn start(
        &self,
        routing: Option<&CompiledRouting>,
        lead: &RouteInput,
        assignee: &Assignee,
        facts: &SuppressionFacts,
        merged: bool,
        assigned_at_ms: i64,
    ) -> Result<Clock, NoClock> {
        self.start_with(routing, lead, assignee, facts, merged, assigned_at_ms, None)
    }

    /// [`CompiledSla::start`], with the policy's first-touch target replaced by `first_touch`
    /// (an SLA experiment's arm); the ladder's steps stay measured from the (new) deadline.
    #[allow(clippy::too_many_arguments)]
    pub fn start_with(
        &self,
        routing: Option<&CompiledRouting>,
        lead: &RouteInput,
        assignee: &Assignee,
        facts: &SuppressionFacts,
        merged: bool,
        assigned_at_ms: i64,
        first_touch: Option<Span>,
    ) -> Result<Clock, NoClock> {
        if merged {
            return Err(NoClock::Merged);
        }
        if let Some(reason) = suppress(facts, self.recent_contact_window_ms, assigned_at_ms) {
            return Err(NoClock::Suppressed(reason));
        }
        let policy = self.policy_for(lead, routing).ok_or(NoClock::NoPolicy)?;
        let hours = routing.and_then(|r| clock_hours(r, assignee));
        match first_touch {
            None => Ok(clock(policy, hours.as_ref(), assigned_at_ms)),
            Some(first_touch) => {
                let arm = Policy {
                    first_touch,
                    ..policy.clone()
                };
                Ok(clock(&arm, hours.as_ref(), assigned_at_ms))
            }
        }
    }

    /// Whom a step reaches for a lead held by `assignee`, assigned by `pool`'s rotation (if one).
    ///
    /// `team_lead` is the `lead` of that pool; for a lead no rotation assigned, the owner's own
    /// `team_lead`, else the lead of the first pool (in configuration order) that has the owner as
    /// a member and a `lead`; for a lead in a queue, the queue's `lead`; failing all of these, the
    /// routing's global fallback queue, so that the step still reaches someone. `reassign` applies only to a lead a pool's rotation assigned.
    pub fn recipient(
        routing: &CompiledRouting,
        step: &StepDue,
        assignee: &Assignee,
        pool: Option<&str>,
    ) -> Recipient {
        let notify = match &step.to {
            EscalateTo::Owner(id) => Assignee::Owner(id.clone()),
            EscalateTo::Queue(id) => Assignee::Queue(id.clone()),
            EscalateTo::TeamLead => {
                let by_pool = pool
                    .and_then(|p| routing.pool(p))
                    .and_then(|p| p.lead.clone());
                let by_membership = || match assignee {
                    // The owner's own team lead, else the lead of a pool they are a member of.
                    Assignee::Owner(owner) => routing
                        .owner_spec(owner)
                        .and_then(|o| o.team_lead.clone())
                        .or_else(|| {
                            routing
                                .pools()
                                .iter()
                                .filter(|p| p.members.iter().any(|m| &m.owner == owner))
                                .find_map(|p| p.lead.clone())
                        }),
                    // A queue's own team lead, a person.
                    Assignee::Queue(queue) => routing.queue(queue).and_then(|q| q.lead.clone()),
                };
                by_pool.or_else(by_membership).map_or_else(
                    || Assignee::Queue(routing.fallback().to_owned()),
                    Assignee::Owner,
                )
            }
        };
        let reassign_in = match (step.reassign, assignee) {
            (true, Assignee::Owner(_)) => pool.map(str::to_owned),
            _ => None,
        };
        Recipient {
            notify,
            reassign_in,
        }
    }
}

/// The hours an SLA clock counts for `assignee`: an owner's schedule and holidays without their
/// absences; `None` for a queue (24/7).
pub fn clock_hours(routing: &CompiledRouting, assignee: &Assignee) -> Option<Hours> {
    match assignee {
        Assignee::Owner(id) => routing.hours(id).map(Hours::without_absences),
        Assignee::Queue(id) => routing.queue_hours(id).cloned(),
    }
}

/// The deadlines of `policy` for a lead assigned at `assigned_at_ms`. A `working_hours` policy
/// counts `hours` (business-time addition, across time zones, holidays and DST changes; business
/// days on their working days); without hours, or for a `calendar` policy, every millisecond
/// counts and a business day is 24 hours. Ladder steps are measured from their deadline on the
/// same clock; both ladders are ordered by due time and their levels counted across them.
pub fn clock(policy: &Policy, hours: Option<&Hours>, assigned_at_ms: i64) -> Clock {
    let hours = hours.filter(|_| policy.clock == ClockKind::WorkingHours);
    let first_touch_due_ms = advance(hours, assigned_at_ms, policy.first_touch);
    let accept_due_ms = policy.accept.map(|a| advance(hours, assigned_at_ms, a));
    let steps = |ladder: &[LadderStep], from_ms: i64, deadline: Deadline| {
        ladder
            .iter()
            .map(|s| StepDue {
                level: s.level,
                due_ms: advance(hours, from_ms, s.after),
                to: s.to.clone(),
                reassign: s.reassign,
                notify: s.notify.clone(),
                deadline,
            })
            .collect::<Vec<_>>()
    };
    let mut all = steps(&policy.ladder, first_touch_due_ms, Deadline::FirstTouch);
    if let Some(accept_due_ms) = accept_due_ms {
        all.extend(steps(
            &policy.accept_ladder,
            accept_due_ms,
            Deadline::Accept,
        ));
    }
    // One ladder by due time (accept steps first on a tie), levels counted across both: steps in
    // business days and in hours interleave by the owner's schedule.
    all.sort_by_key(|s| (s.due_ms, s.deadline == Deadline::FirstTouch));
    for (i, step) in all.iter_mut().enumerate() {
        step.level = u32::try_from(i + 1).unwrap_or(u32::MAX);
    }
    Clock {
        policy: policy.id.clone(),
        kind: policy.clock,
        working_hours: hours.is_some(),
        started_ms: assigned_at_ms,
        first_touch_due_ms,
        accept_due_ms,
        steps: all,
    }
}

/// The instant `span` after `from_ms` on `hours` (working time, or business days), or on a 24/7
/// clock without hours (a business day is then 24 hours).
pub fn advance(hours: Option<&Hours>, from_ms: i64, span: Span) -> i64 {
    match (span, hours) {
        (Span::Time(ms), Some(h)) => h.add_working(from_ms, ms),
        (Span::Time(ms), None) => from_ms.saturating_add(ms),
        (Span::BusinessDays(days), Some(h)) => h.add_business_days(from_ms, days),
        (Span::BusinessDays(days), None) => {
            from_ms.saturating_add(i64::from(days).saturating_mul(86_400_000))
        }
    }
}

/// Every step whose time has come at `now_ms` and that is not done yet (`levels_done`: how many
/// levels the caller has carried out), in order: a missed tick catches up with all of them at
/// once. Nothing once the lead is touched.
pub fn due_steps(clock: &Clock, levels_done: u32, touched: bool, now_ms: i64) -> Vec<StepDue> {
    if touched {
        return Vec::new();
    }
    clock
        .steps
        .iter()
        .filter(|s| s.level > levels_done && s.due_ms <= now_ms)
        .cloned()
        .collect()
}

/// The next step still to come after `now_ms` (not done, not yet due): when to look again.
/// `None` once the lead is touched or the ladder has no step left to come.
pub fn next_due(clock: &Clock, levels_done: u32, touched: bool, now_ms: i64) -> Option<StepDue> {
    if touched {
        return None;
    }
    clock
        .steps
        .iter()
        .find(|s| s.level > levels_done && s.due_ms > now_ms)
        .cloned()
}

/// Where the lead stands at `now_ms`: breached once the first-touch deadline has passed
/// untouched, at risk when it falls within `within_ms` (wall-clock time), else on track.
pub fn standing(clock: &Clock, touched: bool, now_ms: i64, within_ms: i64) -> Standing {
    if touched {
        Standing::Touched
    } else if now_ms >= clock.first_touch_due_ms {
        Standing::Breached
    } else if clock.first_touch_due_ms - now_ms <= within_ms {
        Standing::AtRisk
    } else {
        Standing::OnTrack
    }
}

/// Due within `within_ms` and not yet breached nor touched.
pub fn at_risk(clock: &Clock, touched: bool, now_ms: i64, within_ms: i64) -> bool {
    standing(clock, touched, now_ms, within_ms) == Standing::AtRisk
}

/// Why the lead should start no SLA clock, if it should not: an active deal, then a running
/// sequence, then a contact less than `window_ms` before `now_ms` (a window of 0 or less never
/// suppresses; a contact recorded in the future counts as recent).
pub fn suppress(facts: &SuppressionFacts, window_ms: i64, now_ms: i64) -> Option<SuppressReason> {
    if facts.active_deal {
        Some(SuppressReason::ActiveDeal)
    } else if facts.in_sequence {
        Some(SuppressReason::InSequence)
    } else if window_ms > 0
        && facts
            .last_contacted_ms
            .is_some_and(|at| at > now_ms.saturating_sub(window_ms))
    {
        Some(SuppressReason::RecentlyContacted)
    } else {
        None
    }
}

/// Checks `[sla]` and compiles it: policy ids, conditions (on the routing attributes and the
/// form fields), durations, ladder order and escalation targets (which must name routing's
/// owners and queues, and need a pool with a `lead` for `team_lead`).
pub(crate) fn check(
    sla: &SlaConfig,
    routing: &RoutingConfig,
    env: &AttributeEnv<'_>,
    found: &mut Vec<Found>,
) -> CompiledSla {
    let at = |rest: &[Step<'static>]| {
        let mut p = vec![Step::Key("sla")];
        p.extend_from_slice(rest);
        p
    };
    let recent_contact_window_ms = sla
        .recent_contact_window
        .as_deref()
        .and_then(|w| duration(w, at(&[Step::Key("recent_contact_window")]), found))
        .unwrap_or(0);
    let has_team_lead = routing.pools.iter().any(|p| p.lead.is_some())
        || routing.queues.iter().any(|q| q.lead.is_some())
        || routing.owners.iter().any(|o| o.team_lead.is_some());
    let mut seen = FirstSeen::default();
    let mut policies = Vec::new();
    for (pi, spec) in sla.policies.iter().enumerate() {
        let p_at = |rest: &[Step<'static>]| {
            let mut p = vec![Step::Key("policies"), Step::Index(pi)];
            p.extend_from_slice(rest);
            at(&p)
        };
        let id_at = p_at(&[Step::Key("id")]);
        if !valid_id(&spec.id) {
            found.push(invalid_id("SLA policy", &spec.id, id_at));
        } else if let Some(first) = seen.seen_before(&spec.id, &id_at) {
            let message = format!("SLA policy id \"{}\" is used twice", spec.id);
            found.push(duplicate(message, id_at, first));
        }
        let when = spec.when.as_deref().and_then(|source| {
            let (names, path) = (|| env.names(), p_at(&[Step::Key("when")]));
            compile_condition(source, &|id| env.get(id), &names, path, found)
        });
        let clock = spec.clock;
        let first_touch = span(
            &spec.first_touch,
            clock,
            p_at(&[Step::Key("first_touch")]),
            found,
        );
        if first_touch == Some(Span::Time(0)) {
            found.push(problem(
                ConfigCode::InvalidDuration,
                "the first-touch target must be longer than zero".to_owned(),
                p_at(&[Step::Key("first_touch")]),
            ));
        }
        let ladder = check_ladder(
            &spec.escalate,
            "escalate",
            &p_at,
            clock,
            routing,
            has_team_lead,
            found,
        );
        let accept = spec
            .accept
            .as_deref()
            .and_then(|a| span(a, clock, p_at(&[Step::Key("accept")]), found));
        if accept == Some(Span::Time(0)) {
            found.push(problem(
                ConfigCode::InvalidDuration,
                "the accept target must be longer than zero".to_owned(),
                p_at(&[Step::Key("accept")]),
            ));
        }
        if spec.accept.is_none() && !spec.accept_escalate.is_empty() {
            found.push(problem(
                ConfigCode::InvalidDuration,
                "accept_escalate needs an accept target to count from".to_owned(),
                p_at(&[Step::Key("accept")]),
            ));
        }
        let accept_ladder = check_ladder(
            &spec.accept_escalate,
            "accept_escalate",
            &p_at,
            clock,
            routing,
            has_team_lead,
            found,
        );
        if let Some(first_touch) = first_touch {
            policies.push(Policy {
                id: spec.id.clone(),
                when,
                first_touch,
                clock,
                ladder,
                accept,
                accept_ladder,
            });
        }
    }
    CompiledSla {
        policies,
        recent_contact_window_ms,
    }
}

/// A duration, or `config.invalid_duration` at `path`.
fn duration(text: &str, path: Vec<Step<'static>>, found: &mut Vec<Found>) -> Option<i64> {
    parse_duration(text)
        .map_err(|message| found.push(problem(ConfigCode::InvalidDuration, message, path)))
        .ok()
}

/// An SLA duration (time, or business days on a `working_hours` clock), or
/// `config.invalid_duration` at `path`.
fn span(
    text: &str,
    clock: ClockKind,
    path: Vec<Step<'static>>,
    found: &mut Vec<Found>,
) -> Option<Span> {
    match parse_span(text) {
        Ok(Span::BusinessDays(_)) if clock == ClockKind::Calendar => {
            let message = format!(
                "\"{text}\" counts business days, the assignee's working days, but this policy's \
                 clock is \"calendar\" (24/7); write hours such as \"24h\", or use clock = \
                 \"working_hours\""
            );
            found.push(problem(ConfigCode::InvalidDuration, message, path));
            None
        }
        Ok(span) => Some(span),
        Err(message) => {
            found.push(problem(ConfigCode::InvalidDuration, message, path));
            None
        }
    }
}

/// One policy's escalation ladder: each step's `after` (a duration, later than the step before
/// it in the same unit: business days and hours interleave by the owner's schedule, and the clock
/// orders them by due time) and `to`. The steps that compiled. `p_at` makes a path inside the
/// policy.
fn check_ladder(
    steps: &[StepSpec],
    key: &'static str,
    p_at: &dyn Fn(&[Step<'static>]) -> Vec<Step<'static>>,
    clock: ClockKind,
    routing: &RoutingConfig,
    has_team_lead: bool,
    found: &mut Vec<Found>,
) -> Vec<LadderStep> {
    let mut ladder = Vec::new();
    // The last step in each unit (time, business days): its length and how it was written.
    let mut previous_time: Option<(i64, &str)> = None;
    let mut previous_days: Option<(i64, &str)> = None;
    for (si, step) in steps.iter().enumerate() {
        let s_at = |field| p_at(&[Step::Key(key), Step::Index(si), Step::Key(field)]);
        let after = span(&step.after, clock, s_at("after"), found);
        let (length, previous) = match after {
            Some(Span::Time(ms)) => (ms, &mut previous_time),
            Some(Span::BusinessDays(d)) => (i64::from(d), &mut previous_days),
            None => (0, &mut None),
        };
        if let Some((_, before)) = previous.filter(|(l, _)| after.is_some() && length <= *l) {
            found.push(problem(
                ConfigCode::LadderOrder,
                format!(
                    "escalation steps must come later and later: \"{}\" is not after \"{before}\", \
                     a step before it",
                    step.after
                ),
                s_at("after"),
            ));
        }
        if after.is_some() {
            *previous = Some((length, step.after.as_str()));
        }
        let to = check_escalate_to(&step.to, routing, has_team_lead, s_at("to"), found);
        if let (Some(after), Some(to)) = (after, to) {
            ladder.push(LadderStep {
                level: u32::try_from(si + 1).unwrap_or(u32::MAX),
                after,
                to,
                reassign: step.reassign,
                notify: step.notify.clone(),
            });
        }
    }
    ladder
}

/// An escalation target: `team_lead` (when a pool has a lead), or a configured `owner:ID` or
/// `queue:ID`.
fn check_escalate_to(
    text: &str,
    routing: &RoutingConfig,
    has_team_lead: bool,
    path: Vec<Step<'static>>,
    found: &mut Vec<Found>,
) -> Option<EscalateTo> {
    let (code, message) = match EscalateTo::parse(text) {
        None => (
            ConfigCode::InvalidTarget,
            format!(
                "\"{text}\" is not an escalation target; write team_lead, owner:ID or queue:ID"
            ),
        ),
        Some(EscalateTo::TeamLead) if !has_team_lead => (
            ConfigCode::NoTeamLead,
            "no pool or queue has a lead and no owner a team_lead, so team_lead would reach \
             nobody; give an owner a team_lead, a pool or queue a lead, or escalate to owner:ID"
                .to_owned(),
        ),
        Some(EscalateTo::Owner(id)) if !routing.owners.iter().any(|o| o.id == id) => {
            let owners = routing.owners.iter().map(|o| o.id.as_str());
            let code = ConfigCode::UnknownOwner;
            found.push(unknown_ref(code, "routing.owners", &id, owners, path));
            return None;
        }
        Some(EscalateTo::Queue(id)) if !routing.queues.iter().any(|q| q.id == id) => {
            let queues = routing.queues.iter().map(|q| q.id.as_str());
            let code = ConfigCode::UnknownQueue;
            found.push(unknown_ref(code, "routing.queues", &id, queues, path));
            return None;
        }
        Some(to) => return Some(to),
    };
    found.push(problem(code, message, path));
    None
}
