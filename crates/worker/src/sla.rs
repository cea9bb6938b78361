//! SLA clocks at the edge: started in a routed lead's batch, stopped by first touch, and walked up
//! the escalation ladder by the cron. Deadlines, ladders and suppression are handoff-core's
//! (`handoff_core::sla`); this module stores and reads them.

use handoff_core::crm::lead_subjects;
use handoff_core::notify::{Escalation, Owner};
use handoff_core::routing::{self, Assignee, CompiledRouting, Decision, RouteInput};
use handoff_core::sla::{
    self as core_sla, Clock, ClockKind, CompiledSla, EscalateTo, NoClock, StepDue, SuppressionFacts,
};
use handoff_core::Bundle;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result, Env};

use crate::error::ApiError;
use crate::{route, store};

/// How a first touch was recorded (`detail.via` of the `first_touch` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The signed "I've got it" link.
    Link,
    /// `POST /v1/leads/{id}/events`.
    Events,
    /// A CRM intake.
    Crm,
}

impl Via {
    pub const fn as_str(self) -> &'static str {
        match self {
            Via::Link => "link",
            Via::Events => "events",
            Via::Crm => "crm",
        }
    }
}

/// The statements that record a first touch on `lead_id` by `actor` at `now_ms` (the Worker's
/// clock), to run in one batch: the `first_touch` event (only if the lead has none: a second touch
/// adds nothing here), the SLA clock stopped (nothing further falls due), and the person's last
/// contact (`crm_facts`, for suppression of their next lead). `detail` is merged into the event's
/// detail next to `via`. With `only_owner`, nothing is recorded unless `actor` owns the lead (or
/// nobody does): the link was sent to one owner. The first statement returns the event's `seq`
/// when it inserted it, so the caller can tell a first touch from a repeat.
pub fn touch_statements(
    db: &D1Database,
    lead_id: &str,
    actor: &str,
    via: Via,
    detail: &serde_json::Value,
    only_owner: bool,
    now_ms: f64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let mut detail = match detail {
        serde_json::Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    detail.insert("via".into(), via.as_str().into());
    let detail = serde_json::Value::Object(detail).to_string();
    let args = [
        JsValue::from_str(lead_id),
        JsValue::from_f64(now_ms),
        JsValue::from_str(actor),
    ];
    Ok(vec![
        db.prepare(
            "INSERT INTO lead_events (lead_id, at, kind, actor, detail) \
             SELECT ?1, ?2, 'first_touch', ?3, ?4 WHERE EXISTS (SELECT 1 FROM leads WHERE id = ?1 \
             AND (?5 = 0 OR owner_id IS NULL OR owner_id = ?3)) \
             AND NOT EXISTS (SELECT 1 FROM lead_events WHERE lead_id = ?1 AND kind = 'first_touch') \
             RETURNING seq",
        )
        .bind(&[
            args[0].clone(),
            args[1].clone(),
            args[2].clone(),
            JsValue::from_str(&detail),
            JsValue::from_f64(if only_owner { 1.0 } else { 0.0 }),
        ])
        .map_err(ApiError::storage)?,
        db.prepare(
            "UPDATE sla_clocks SET touched_at = ?2, touched_by = ?3, stopped = 'touched', \
             next_at = NULL, updated_at = ?2 WHERE lead_id = ?1 AND touched_at IS NULL \
             AND EXISTS (SELECT 1 FROM lead_events WHERE lead_id = ?1 AND kind = 'first_touch')",
        )
        .bind(&args)
        .map_err(ApiError::storage)?,
        contacted_statement(db, lead_id, via, now_ms)?,
    ])
}

/// Records that the person behind `lead_id` was contacted at `now_ms` (their `email:` facts), once
/// the lead has a first touch.
pub fn contacted_statement(
    db: &D1Database,
    lead_id: &str,
    via: Via,
    now_ms: f64,
) -> Result<D1PreparedStatement, ApiError> {
    db.prepare(
        "INSERT INTO crm_facts (subject, last_contacted_at, source, updated_at) \
         SELECT person_key, ?2, ?3, ?2 FROM leads WHERE id = ?1 AND person_key IS NOT NULL \
         AND EXISTS (SELECT 1 FROM lead_events WHERE lead_id = ?1 AND kind = 'first_touch') \
         ON CONFLICT (subject) DO UPDATE SET \
         last_contacted_at = MAX(COALESCE(last_contacted_at, 0), excluded.last_contacted_at), \
         updated_at = excluded.updated_at",
    )
    .bind(&[
        JsValue::from_str(lead_id),
        JsValue::from_f64(now_ms),
        JsValue::from_str(via.as_str()),
    ])
    .map_err(ApiError::storage)
}

/// Sets what is known about `subject` (`email:<address>` or `domain:<domain>`): an open deal, a
/// running sequence, a contact at `contacted_at`; `None` leaves that fact as it was. `source` is
/// `events` or the CRM intake's id.
pub fn facts_statement(
    db: &D1Database,
    subject: &str,
    deal: Option<bool>,
    sequence: Option<bool>,
    contacted_at: Option<f64>,
    source: &str,
    now_ms: f64,
) -> Result<D1PreparedStatement, ApiError> {
    let flag =
        |b: Option<bool>| b.map_or(JsValue::NULL, |b| JsValue::from_f64(f64::from(u8::from(b))));
    db.prepare(
        "INSERT INTO crm_facts (subject, active_deal, in_sequence, last_contacted_at, source, \
         updated_at) VALUES (?1, COALESCE(?2, 0), COALESCE(?3, 0), ?4, ?5, ?6) \
         ON CONFLICT (subject) DO UPDATE SET active_deal = COALESCE(?2, active_deal), \
         in_sequence = COALESCE(?3, in_sequence), \
         last_contacted_at = MAX(COALESCE(last_contacted_at, 0), COALESCE(?4, 0)), \
         source = ?5, updated_at = ?6",
    )
    .bind(&[
        JsValue::from_str(subject),
        flag(deal),
        flag(sequence),
        contacted_at.map_or(JsValue::NULL, JsValue::from_f64),
        JsValue::from_str(source),
        JsValue::from_f64(now_ms),
    ])
    .map_err(ApiError::storage)
}

/// What a clock needs to say who the lead is in an escalation, stored with the clock so that the
/// cron reads no answers and evaluates nothing.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Who {
    pub name: Option<String>,
    pub email: Option<String>,
    pub company: Option<String>,
    pub lifecycle: String,
    pub score: i64,
}

/// The read of a person's (and their account's) CRM facts, for a submission's read batch.
pub fn facts_query(db: &D1Database, email: &str) -> Result<D1PreparedStatement, ApiError> {
    let (person, account) = lead_subjects(email);
    db.prepare(
        "SELECT COALESCE(MAX(active_deal), 0) AS active_deal, \
         COALESCE(MAX(in_sequence), 0) AS in_sequence, MAX(last_contacted_at) AS last_contacted \
         FROM crm_facts WHERE subject IN (?1, ?2)",
    )
    .bind(&[JsValue::from_str(&person), JsValue::from_str(&account)])
    .map_err(ApiError::storage)
}

#[derive(Debug, Deserialize)]
struct Facts {
    active_deal: f64,
    in_sequence: f64,
    last_contacted: Option<f64>,
}

impl From<Facts> for SuppressionFacts {
    fn from(f: Facts) -> SuppressionFacts {
        SuppressionFacts {
            active_deal: f.active_deal > 0.0,
            in_sequence: f.in_sequence > 0.0,
            last_contacted_ms: f.last_contacted.map(|t| t as i64),
        }
    }
}

/// The facts from the result of [`facts_query`] (none known: no facts).
pub fn read_facts(result: &D1Result) -> Result<SuppressionFacts, ApiError> {
    Ok(result
        .results::<Facts>()
        .map_err(ApiError::storage)?
        .into_iter()
        .next()
        .map(SuppressionFacts::from)
        .unwrap_or_default())
}

/// A due time as stored: `None` for "never" (`i64::MAX`, an owner without working time left).
fn stored_time(ms: i64) -> JsValue {
    if ms == i64::MAX {
        JsValue::NULL
    } else {
        JsValue::from_f64(ms as f64)
    }
}

/// The statements that start (or not) the SLA clock of a lead routed at `at_ms`, for the lead's
/// own batch, and whether its new-lead alert goes out: a suppressed lead (active deal, running
/// sequence, recent contact) starts no clock and alerts nobody, and the reason is its
/// `sla_suppressed` event; a lead no policy matches has no clock and is announced as usual.
/// `first_touch_ms`: an SLA experiment's arm, replacing the policy's target.
#[allow(clippy::too_many_arguments)]
pub fn start(
    db: &D1Database,
    sla: &CompiledSla,
    routing: &CompiledRouting,
    input: &RouteInput,
    decision: &Decision,
    facts: &SuppressionFacts,
    who: &Who,
    lead_id: &str,
    first_touch_ms: Option<i64>,
    at_ms: f64,
) -> Result<(Vec<D1PreparedStatement>, bool), ApiError> {
    if sla.policies().is_empty() {
        return Ok((Vec::new(), true));
    }
    let started = sla.start_with(
        Some(routing),
        input,
        &decision.assignee,
        facts,
        false,
        at_ms as i64,
        first_touch_ms,
    );
    let clock = match started {
        Ok(clock) => clock,
        Err(NoClock::Suppressed(reason)) => {
            let detail = serde_json::json!({ "reason": reason.code(), "at": "intake" });
            let event =
                store::event_statement(db, lead_id, at_ms, "sla_suppressed", "system", &detail)?;
            return Ok((vec![event], false));
        }
        Err(NoClock::NoPolicy | NoClock::Merged) => return Ok((Vec::new(), true)),
    };
    let next = clock.steps.first().map_or(i64::MAX, |s| s.due_ms);
    let steps = encode(&clock.steps)?;
    let insert = db
        .prepare(
            "INSERT INTO sla_clocks (lead_id, policy, pool, started_at, first_touch_due, steps, \
             summary, level, next_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?4)",
        )
        .bind(&[
            JsValue::from_str(lead_id),
            JsValue::from_str(&clock.policy),
            decision
                .pool
                .as_deref()
                .map_or(JsValue::NULL, JsValue::from_str),
            JsValue::from_f64(at_ms),
            JsValue::from_f64(clock.first_touch_due_ms as f64),
            JsValue::from_str(&steps),
            JsValue::from_str(&encode(who)?),
            stored_time(next),
        ])
        .map_err(ApiError::storage)?;
    let event = store::event_statement(db, lead_id, at_ms, "sla_started", "system", &clock)?;
    Ok((vec![insert, event], true))
}

fn encode(value: &impl Serialize) -> Result<String, ApiError> {
    serde_json::to_string(value)
        .map_err(|_| ApiError::new(500, "internal", "The SLA clock could not be encoded."))
}

/// How many clocks one cron tick works on at most, unless the Worker var `SLA_TICK_LIMIT` says
/// otherwise (up to [`MAX_TICK_LIMIT`]); the rest, oldest due first, wait for the next tick (a
/// minute later). Each clock costs a handful of statements in the tick's one write batch.
pub const TICK_LIMIT: u32 = 50;
/// The most `SLA_TICK_LIMIT` may raise it to (a paid plan's larger D1 batches).
pub const MAX_TICK_LIMIT: u32 = 1000;

/// What one [`tick`] did.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Ticked {
    /// Clocks found due.
    pub due: u32,
    /// Ladder steps carried out by this tick (a step another tick carried out is not counted).
    pub escalated: u32,
    /// Clocks stopped because the person is being worked already (suppression).
    pub suppressed: u32,
    /// Clocks stopped because their lead is no longer open.
    pub closed: u32,
    /// Leads moved to another owner by a `reassign` step.
    pub reassigned: u32,
    /// Whether more clocks were due than this tick took on.
    pub more: bool,
}

#[derive(Debug, Deserialize)]
struct DueRow {
    lead_id: String,
    policy: String,
    pool: Option<String>,
    started_at: f64,
    first_touch_due: f64,
    steps: String,
    summary: String,
    level: f64,
    status: String,
    owner_kind: Option<String>,
    owner_id: Option<String>,
    active_deal: f64,
    in_sequence: f64,
    last_contacted: Option<f64>,
}

/// A clock as `sla_clocks` stores it: the deadlines computed at start, the ladder as JSON.
fn stored_clock(
    policy: &str,
    started_at: f64,
    first_touch_due: f64,
    steps: &str,
) -> Result<Clock, ApiError> {
    let steps: Vec<StepDue> = serde_json::from_str(steps).map_err(|_| {
        ApiError::new(
            500,
            "sla_clock_unreadable",
            "A stored SLA clock could not be read.",
        )
    })?;
    Ok(Clock {
        policy: policy.to_owned(),
        kind: ClockKind::default(),
        working_hours: false,
        started_ms: started_at as i64,
        first_touch_due_ms: first_touch_due as i64,
        steps,
    })
}

impl DueRow {
    fn clock(&self) -> Result<Clock, ApiError> {
        stored_clock(
            &self.policy,
            self.started_at,
            self.first_touch_due,
            &self.steps,
        )
    }

    fn assignee(&self, routing: Option<&CompiledRouting>) -> Assignee {
        match (self.owner_kind.as_deref(), &self.owner_id) {
            (Some("owner"), Some(id)) => Assignee::Owner(id.clone()),
            (_, Some(id)) => Assignee::Queue(id.clone()),
            (_, None) => Assignee::Queue(routing.map_or("unassigned", |r| r.fallback()).to_owned()),
        }
    }

    fn facts(&self) -> SuppressionFacts {
        Facts {
            active_deal: self.active_deal,
            in_sequence: self.in_sequence,
            last_contacted: self.last_contacted,
        }
        .into()
    }
}

/// One step carried out by one run: the `sla_steps` row that makes it happen once. Statements
/// guarded by it are written only if this run's claim is the one stored.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub lead_id: &'a str,
    pub level: u32,
    pub run: &'a str,
}

impl Claim<'_> {
    /// The claim itself. `strict`: fail (and roll the batch back) if the step was carried out
    /// already; otherwise leave the other run's claim in place and write nothing it guards.
    fn statement(
        &self,
        db: &D1Database,
        at_ms: f64,
        strict: bool,
    ) -> Result<D1PreparedStatement, ApiError> {
        let sql = if strict {
            "INSERT INTO sla_steps (lead_id, level, run, at) VALUES (?1, ?2, ?3, ?4)"
        } else {
            "INSERT INTO sla_steps (lead_id, level, run, at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (lead_id, level) DO NOTHING"
        };
        db.prepare(sql)
            .bind(&[
                JsValue::from_str(self.lead_id),
                JsValue::from_f64(f64::from(self.level)),
                JsValue::from_str(self.run),
                JsValue::from_f64(at_ms),
            ])
            .map_err(ApiError::storage)
    }

    /// The SQL condition that holds only when this run's claim is stored, with its three values
    /// bound as `?{first}`, `?{first+1}`, `?{first+2}`.
    pub fn condition(first: usize) -> String {
        format!(
            "EXISTS (SELECT 1 FROM sla_steps WHERE lead_id = ?{} AND level = ?{} AND run = ?{})",
            first,
            first + 1,
            first + 2
        )
    }

    pub fn values(&self) -> [JsValue; 3] {
        [
            JsValue::from_str(self.lead_id),
            JsValue::from_f64(f64::from(self.level)),
            JsValue::from_str(self.run),
        ]
    }
}

/// An event appended only if `claim` is this run's.
fn claimed_event(
    db: &D1Database,
    claim: &Claim<'_>,
    at_ms: f64,
    kind: &str,
    detail: &impl Serialize,
) -> Result<D1PreparedStatement, ApiError> {
    let sql = format!(
        "INSERT INTO lead_events (lead_id, at, kind, actor, detail) \
         SELECT ?1, ?2, ?3, 'system', ?4 WHERE {}",
        Claim::condition(5)
    );
    let [a, b, c] = claim.values();
    db.prepare(&sql)
        .bind(&[
            JsValue::from_str(claim.lead_id),
            JsValue::from_f64(at_ms),
            JsValue::from_str(kind),
            JsValue::from_str(&encode(detail)?),
            a,
            b,
            c,
        ])
        .map_err(ApiError::storage)
}

/// Stops a clock early (`stopped`: the suppression's code, or the lead's status), with an event,
/// unless another run changed it since it was read at `level`.
fn stop_statements(
    db: &D1Database,
    lead_id: &str,
    level: u32,
    kind: &str,
    stopped: &str,
    at_ms: f64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let detail = serde_json::json!({ "reason": stopped, "at": "escalation", "level": level + 1 });
    Ok(vec![
        db.prepare(
            "INSERT INTO lead_events (lead_id, at, kind, actor, detail) \
             SELECT ?1, ?2, ?3, 'system', ?4 WHERE EXISTS (SELECT 1 FROM sla_clocks \
             WHERE lead_id = ?1 AND next_at IS NOT NULL AND level = ?5)",
        )
        .bind(&[
            JsValue::from_str(lead_id),
            JsValue::from_f64(at_ms),
            JsValue::from_str(kind),
            JsValue::from_str(&encode(&detail)?),
            JsValue::from_f64(f64::from(level)),
        ])
        .map_err(ApiError::storage)?,
        db.prepare(
            "UPDATE sla_clocks SET next_at = NULL, stopped = ?2, updated_at = ?3 \
             WHERE lead_id = ?1 AND next_at IS NOT NULL AND level = ?4",
        )
        .bind(&[
            JsValue::from_str(lead_id),
            JsValue::from_str(stopped),
            JsValue::from_f64(at_ms),
            JsValue::from_f64(f64::from(level)),
        ])
        .map_err(ApiError::storage)?,
    ])
}

/// Moves the clock to `level` levels done, with its next look at `next` (never backwards: a run
/// that read an older level changes nothing).
fn advance_statement(
    db: &D1Database,
    lead_id: &str,
    level: u32,
    next: Option<i64>,
    at_ms: f64,
) -> Result<D1PreparedStatement, ApiError> {
    db.prepare(
        "UPDATE sla_clocks SET level = ?2, next_at = ?3, updated_at = ?4 \
         WHERE lead_id = ?1 AND level < ?2",
    )
    .bind(&[
        JsValue::from_str(lead_id),
        JsValue::from_f64(f64::from(level)),
        next.map_or(JsValue::NULL, stored_time),
        JsValue::from_f64(at_ms),
    ])
    .map_err(ApiError::storage)
}

/// The query that finds the clocks due at `?1`, at most `?2`, oldest first, through the partial
/// index on `next_at` (never a scan of leads), with each lead's owner and status and the
/// suppression facts about its person and account.
pub const DUE_QUERY: &str = "SELECT c.lead_id, c.policy, c.pool, c.started_at, \
     c.first_touch_due, c.steps, c.summary, c.level, l.status, l.owner_kind, l.owner_id, \
     COALESCE((SELECT MAX(active_deal) FROM crm_facts \
       WHERE subject IN (l.person_key, l.account_key)), 0) AS active_deal, \
     COALESCE((SELECT MAX(in_sequence) FROM crm_facts \
       WHERE subject IN (l.person_key, l.account_key)), 0) AS in_sequence, \
     (SELECT MAX(last_contacted_at) FROM crm_facts WHERE subject = l.person_key) \
       AS last_contacted \
     FROM sla_clocks c JOIN leads l ON l.id = c.lead_id \
     WHERE c.next_at <= ?1 ORDER BY c.next_at LIMIT ?2";

/// One cron tick at `now_ms` (the scheduled minute): every clock due, at most `limit`, walks up its
/// ladder. Each step due is carried out exactly once per lead and level, however many ticks run
/// for the same minute or overlap: its `sla_steps` claim is the key, and the step's event, its
/// notifications (outbox rows, sent by the same tick's delivery) and the clock's new level are
/// written only with this run's claim. A missed tick is caught up: every step whose time has
/// come is carried out. Before escalating, a lead no longer open, or whose person or account
/// has an active deal, a running sequence or a recent contact, has its clock stopped instead,
/// with the reason as an event. Steps with `reassign` move the lead to the next eligible member
/// of its pool in a batch of their own (they claim a rotation turn, which a concurrent intake
/// may take first: then they route again).
pub async fn tick(env: &Env, now_ms: f64, limit: u32) -> Result<Ticked, ApiError> {
    let db = store::Db::open(env)?;
    let rows: Vec<DueRow> = {
        let statement = db
            .prepare(DUE_QUERY)
            .bind(&[
                JsValue::from_f64(now_ms),
                JsValue::from_f64(f64::from(limit) + 1.0),
            ])
            .map_err(ApiError::storage)?;
        let results = db.batch(vec![statement]).await?;
        match results.first() {
            Some(r) => r.results().map_err(ApiError::storage)?,
            None => Vec::new(),
        }
    };
    let mut ticked = Ticked {
        more: rows.len() > limit as usize,
        ..Ticked::default()
    };
    if rows.is_empty() {
        return Ok(ticked);
    }
    let bundle = store::active_bundle(env).await?;
    let routing = bundle.routing();
    let sla = bundle.sla();
    let run = crate::notify::random_uuid();
    let now = now_ms as i64;
    let mut statements = Vec::new();
    // Where this run's claims are in the batch: a claim that changed nothing was another run's.
    let mut claims = Vec::new();
    let mut reassigning = Vec::new();
    for row in rows.iter().take(limit as usize) {
        ticked.due += 1;
        let level = row.level as u32;
        if row.status != "open" {
            ticked.closed += 1;
            statements.extend(stop_statements(
                &db,
                &row.lead_id,
                level,
                "sla_stopped",
                &row.status,
                now_ms,
            )?);
            continue;
        }
        if let Some(reason) = core_sla::suppress(&row.facts(), sla.recent_contact_window_ms(), now)
        {
            ticked.suppressed += 1;
            statements.extend(stop_statements(
                &db,
                &row.lead_id,
                level,
                "sla_suppressed",
                reason.code(),
                now_ms,
            )?);
            continue;
        }
        let clock = row.clock()?;
        let due = core_sla::due_steps(&clock, level, false, now);
        let assignee = row.assignee(routing);
        if due.iter().any(|s| {
            routing.is_some_and(|r| {
                CompiledSla::recipient(r, s, &assignee, row.pool.as_deref())
                    .reassign_in
                    .is_some()
            })
        }) {
            reassigning.push((row, clock, due));
            continue;
        }
        let Some(last) = due.last() else {
            // Another run carried the steps out after this one read `next_at`: look again then.
            let next = core_sla::next_due(&clock, level, false, now).map(|s| s.due_ms);
            statements.push(advance_statement(&db, &row.lead_id, level, next, now_ms)?);
            continue;
        };
        let next = core_sla::next_due(&clock, last.level, false, now).map(|s| s.due_ms);
        for step in &due {
            let claim = Claim {
                lead_id: &row.lead_id,
                level: step.level,
                run: &run,
            };
            claims.push(statements.len());
            statements.push(claim.statement(&db, now_ms, false)?);
            statements.extend(escalation_statements(
                env, &db, &bundle, row, step, &assignee, None, &claim, now_ms,
            )?);
        }
        statements.push(advance_statement(
            &db,
            &row.lead_id,
            last.level,
            next,
            now_ms,
        )?);
    }
    if !statements.is_empty() {
        let results = db.batch(statements).await?;
        ticked.escalated += claims.iter().filter(|&&i| changed(results.get(i))).count() as u32;
    }
    for (row, clock, due) in reassigning {
        let (escalated, moved) =
            reassign(env, &db, &bundle, row, &clock, &due, &run, now_ms).await?;
        ticked.escalated += escalated;
        ticked.reassigned += u32::from(moved);
    }
    Ok(ticked)
}

/// Whether a statement's result says it changed a row.
fn changed(result: Option<&D1Result>) -> bool {
    result
        .and_then(|r| r.meta().ok().flatten())
        .and_then(|m| m.changes)
        .is_some_and(|n| n > 0)
}

/// The `escalated` event of one step and its notifications on every configured channel, both
/// written only with this run's `claim`. `reassigned_to`: who the step gave the lead to.
#[allow(clippy::too_many_arguments)]
fn escalation_statements(
    env: &Env,
    db: &D1Database,
    bundle: &Bundle,
    row: &DueRow,
    step: &StepDue,
    assignee: &Assignee,
    reassigned_to: Option<&Assignee>,
    claim: &Claim<'_>,
    now_ms: f64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let routing = bundle.routing();
    let recipient = match routing {
        Some(r) => CompiledSla::recipient(r, step, assignee, row.pool.as_deref()).notify,
        None => match &step.to {
            EscalateTo::Owner(id) => Assignee::Owner(id.clone()),
            EscalateTo::Queue(id) => Assignee::Queue(id.clone()),
            EscalateTo::TeamLead => row.assignee(None),
        },
    };
    let holder = reassigned_to.unwrap_or(assignee);
    let claim_url = match holder {
        Assignee::Owner(owner) => crate::notify::claim_url(env, &row.lead_id, owner, now_ms),
        Assignee::Queue(_) => None,
    };
    let who: Who = serde_json::from_str(&row.summary).unwrap_or_default();
    let first_touch_due_ms = row.first_touch_due as i64;
    let escalation = Escalation {
        lead_id: row.lead_id.clone(),
        name: who.name,
        email: who.email,
        company: who.company,
        lifecycle: who.lifecycle,
        score: who.score,
        policy: row.policy.clone(),
        level: step.level,
        to: Owner::of(routing, &recipient),
        owner: Owner::of(routing, assignee),
        reassigned_to: reassigned_to.map(|a| Owner::of(routing, a)),
        first_touch_due_ms,
        overdue_ms: (now_ms as i64).saturating_sub(first_touch_due_ms).max(0),
        message: step.notify.clone(),
        claim_url: claim_url.unwrap_or_default(),
        lead_url: None,
    };
    let detail = serde_json::json!({
        "policy": row.policy, "level": step.level, "step": step.to, "to": escalation.to,
        "due_at": step.due_ms, "overdue_ms": escalation.overdue_ms,
        "reassigned_to": escalation.reassigned_to,
    });
    let mut statements = vec![claimed_event(db, claim, now_ms, "escalated", &detail)?];
    statements.extend(crate::notify::enqueue_escalation(
        db,
        &escalation,
        &bundle.rules.notify,
        now_ms,
        claim,
    )?);
    Ok(statements)
}

/// Carries out `due` for a lead whose steps include `reassign`: the lead moves to the next
/// eligible member of its pool other than its owner (handoff-core's `routing::reassign`), with a
/// rotation turn claimed like an intake's, in one batch with the steps' claims (strict: if
/// another run carried them out, the batch rolls back and nothing is done twice). A lost rotation
/// turn routes again with fresh state. Answers the steps carried out and whether the lead moved.
#[allow(clippy::too_many_arguments)]
async fn reassign(
    env: &Env,
    db: &store::Db,
    bundle: &Bundle,
    row: &DueRow,
    clock: &Clock,
    due: &[StepDue],
    run: &str,
    now_ms: f64,
) -> Result<(u32, bool), ApiError> {
    let (Some(routing), Some(last)) = (bundle.routing(), due.last()) else {
        return Ok((0, false));
    };
    let now = now_ms as i64;
    let assignee = row.assignee(Some(routing));
    let pool = due.iter().find_map(|s| {
        CompiledSla::recipient(routing, s, &assignee, row.pool.as_deref()).reassign_in
    });
    let next = core_sla::next_due(clock, last.level, false, now).map(|s| s.due_ms);
    const ATTEMPTS: u32 = 8;
    for attempt in 1..=ATTEMPTS {
        let loaded = route::load(db).await?;
        let decision = match (&pool, &assignee) {
            (Some(pool), Assignee::Owner(current)) => {
                routing::reassign(routing, pool, current, &loaded.state, now)
            }
            _ => None,
        };
        let moved_to = decision.as_ref().map(|d| d.assignee.clone());
        let mut statements = Vec::new();
        for step in due {
            let claim = Claim {
                lead_id: &row.lead_id,
                level: step.level,
                run,
            };
            statements.push(claim.statement(db, now_ms, true)?);
            let to = moved_to.as_ref().filter(|_| step.reassign);
            statements.extend(escalation_statements(
                env, db, bundle, row, step, &assignee, to, &claim, now_ms,
            )?);
        }
        match (&decision, &moved_to) {
            (Some(decision), Some(to)) => {
                let (kind, id) = match to {
                    Assignee::Owner(id) => ("owner", id.as_str()),
                    Assignee::Queue(id) => ("queue", id.as_str()),
                };
                statements.push(
                    db.prepare(
                        "UPDATE leads SET owner_kind = ?2, owner_id = ?3, updated_at = ?4                          WHERE id = ?1",
                    )
                    .bind(&[
                        JsValue::from_str(&row.lead_id),
                        JsValue::from_str(kind),
                        JsValue::from_str(id),
                        JsValue::from_f64(now_ms),
                    ])
                    .map_err(ApiError::storage)?,
                );
                statements.push(store::event_statement(
                    db,
                    &row.lead_id,
                    now_ms,
                    "reassigned",
                    "system",
                    &serde_json::json!({ "via": "sla", "level": last.level, "decision": decision }),
                )?);
                statements.extend(route::statements(
                    db,
                    decision,
                    &loaded,
                    &row.lead_id,
                    now_ms,
                )?);
            }
            _ => statements.push(store::event_statement(
                db,
                &row.lead_id,
                now_ms,
                "reassign_skipped",
                "system",
                &serde_json::json!({ "pool": pool, "reason": "no_other_eligible_member" }),
            )?),
        }
        statements.push(advance_statement(
            db,
            &row.lead_id,
            last.level,
            next,
            now_ms,
        )?);
        match db.batch(statements).await {
            Ok(_) => return Ok((due.len() as u32, moved_to.is_some())),
            Err(error) => {
                let done = db
                    .first::<serde_json::Value>(
                        db.prepare(
                            "SELECT 1 AS done FROM sla_steps WHERE lead_id = ?1 AND level = ?2",
                        )
                        .bind(&[
                            JsValue::from_str(&row.lead_id),
                            JsValue::from_f64(f64::from(last.level)),
                        ])
                        .map_err(ApiError::storage)?,
                    )
                    .await?;
                if done.is_some() {
                    // Another run carried these steps out.
                    return Ok((0, false));
                }
                if attempt == ATTEMPTS {
                    return Err(error);
                }
            }
        }
    }
    Ok((0, false))
}

/// One lead on the at-risk / breached list.
#[derive(Debug, Serialize)]
struct Listed {
    lead_id: String,
    name: Option<String>,
    company: Option<String>,
    lifecycle: String,
    owner: Option<String>,
    owner_kind: Option<String>,
    policy: String,
    standing: &'static str,
    started_at: i64,
    first_touch_due: Option<i64>,
    /// Negative: time left; positive: how late.
    overdue_ms: Option<i64>,
    ladder: Ladder,
}

#[derive(Debug, Serialize)]
struct Ladder {
    /// Levels carried out so far.
    level: u32,
    levels: u32,
    /// The next step, if one is left.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<NextStep>,
}

#[derive(Debug, Serialize)]
struct NextStep {
    level: u32,
    due_at: i64,
    to: EscalateTo,
    reassign: bool,
}

#[derive(Debug, Deserialize)]
struct ListRow {
    lead_id: String,
    policy: String,
    started_at: f64,
    first_touch_due: f64,
    steps: String,
    summary: String,
    level: f64,
    owner_kind: Option<String>,
    owner_id: Option<String>,
}

/// The longest look-ahead and page the listing accepts.
const MAX_WITHIN_MINUTES: u32 = 7 * 24 * 60;
const MAX_LIST: u32 = 500;

/// `GET /v1/sla/leads?standing=at_risk,breached&within_minutes=30&limit=100` (admin): the leads
/// still waiting for first touch whose deadline has passed (`breached`) or falls within the
/// look-ahead (`at_risk`), most urgent first, each with its position on the escalation ladder.
/// Read through the partial index of untouched clocks by deadline.
pub async fn list(
    req: &worker::Request,
    env: &Env,
    now_ms: i64,
) -> Result<worker::Response, ApiError> {
    let url = req
        .url()
        .map_err(|_| ApiError::new(400, "bad_request", "The URL could not be read."))?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let number = |name: &str, default: u32, max: u32| match param(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::new(
                    400,
                    "bad_query",
                    format!("{name} must be a whole number from 1 to {max}."),
                )
            }),
    };
    let within = number("within_minutes", 30, MAX_WITHIN_MINUTES)?;
    let limit = number("limit", 100, MAX_LIST)?;
    let (mut at_risk, mut breached) = (false, false);
    for wanted in param("standing")
        .as_deref()
        .unwrap_or("at_risk,breached")
        .split(',')
    {
        match wanted {
            "at_risk" => at_risk = true,
            "breached" => breached = true,
            _ => {
                return Err(ApiError::new(
                    400,
                    "bad_query",
                    "standing is at_risk, breached or both, separated by a comma.",
                ))
            }
        }
    }
    let within_ms = i64::from(within) * 60_000;
    let upto = if at_risk { now_ms + within_ms } else { now_ms };
    let from = if breached {
        f64::MIN
    } else {
        now_ms as f64 + 0.5
    };
    let db = store::Db::open(env)?;
    let rows: Vec<ListRow> = {
        let statement = db
            .prepare(
                "SELECT c.lead_id, c.policy, c.started_at, c.first_touch_due, c.steps, c.summary, \
                 c.level, l.owner_kind, l.owner_id FROM sla_clocks c JOIN leads l ON l.id = c.lead_id \
                 WHERE c.touched_at IS NULL AND c.stopped IS NULL AND c.first_touch_due <= ?1 \
                 AND c.first_touch_due >= ?2 ORDER BY c.first_touch_due LIMIT ?3",
            )
            .bind(&[
                JsValue::from_f64(upto as f64),
                JsValue::from_f64(from),
                JsValue::from_f64(f64::from(limit)),
            ])
            .map_err(ApiError::storage)?;
        let results = db.batch(vec![statement]).await?;
        match results.first() {
            Some(r) => r.results().map_err(ApiError::storage)?,
            None => Vec::new(),
        }
    };
    let mut leads = Vec::with_capacity(rows.len());
    for row in rows {
        let clock = stored_clock(&row.policy, row.started_at, row.first_touch_due, &row.steps)?;
        let level = row.level as u32;
        let who: Who = serde_json::from_str(&row.summary).unwrap_or_default();
        let next = clock
            .steps
            .iter()
            .find(|s| s.level > level)
            .map(|s| NextStep {
                level: s.level,
                due_at: s.due_ms,
                to: s.to.clone(),
                reassign: s.reassign,
            });
        let never = clock.first_touch_due_ms == i64::MAX;
        leads.push(Listed {
            lead_id: row.lead_id,
            name: who.name,
            company: who.company,
            lifecycle: who.lifecycle,
            owner: row.owner_id,
            owner_kind: row.owner_kind,
            policy: row.policy,
            standing: core_sla::standing(&clock, false, now_ms, within_ms).code(),
            started_at: clock.started_ms,
            first_touch_due: (!never).then_some(clock.first_touch_due_ms),
            overdue_ms: (!never).then(|| now_ms - clock.first_touch_due_ms),
            ladder: Ladder {
                level,
                levels: clock.steps.len() as u32,
                next,
            },
        });
    }
    crate::api::json(
        200,
        &serde_json::json!({ "now": now_ms, "within_minutes": within, "leads": leads }),
    )
}
