//! SLA clocks in D1 (`sla_clocks`, `sla_steps`): a clock inserted with the deadlines handoff-core
//! computed, stopped by a first touch, found due by the cron through the partial index on
//! `next_at`, each ladder step claimed once per lead and level, and the clocks listed by deadline.

use handoff_core::events::EventKind;
use handoff_core::sla::{Clock, ClockKind, StepDue, SuppressionFacts};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use super::facts::Facts;
use super::Db;
use crate::error::ApiError;

/// How a first touch, an acceptance or a status move was recorded (`detail.via` of the
/// `first_touch`, `accepted` and `status_changed` events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The signed "I've got it" link.
    Link,
    /// `POST /v1/leads/{id}/events`.
    Events,
    /// A CRM intake.
    Crm,
    /// The admin API (a queue member taking a lead).
    Admin,
    /// A button in a Slack message.
    Slack,
}

impl Via {
    pub const fn as_str(self) -> &'static str {
        match self {
            Via::Link => "link",
            Via::Events => "events",
            Via::Crm => "crm",
            Via::Admin => "admin",
            Via::Slack => "slack",
        }
    }
}

/// The statements that record a first touch on `lead_id` by `actor` at `now_ms` (the Worker's
/// clock), to run in one batch: the `first_touch` event (only if the lead has none: a second touch
/// adds nothing here), the SLA clock stopped (nothing further falls due), and the person's last
/// contact (`crm_facts`, for suppression of their next lead). `detail` is merged into the event's
/// detail next to `via`. The first statement returns the event's `seq` when it inserted it, so
/// the caller can tell a first touch from a repeat.
pub fn touch_statements(
    db: &D1Database,
    lead_id: &str,
    actor: &str,
    via: Via,
    detail: &serde_json::Value,
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
             SELECT ?1, ?2, 'first_touch', ?3, ?4 WHERE EXISTS (SELECT 1 FROM leads WHERE id = ?1) \
             AND NOT EXISTS (SELECT 1 FROM lead_events WHERE lead_id = ?1 AND kind = 'first_touch') \
             RETURNING seq",
        )
        .bind(&[
            args[0].clone(),
            args[1].clone(),
            args[2].clone(),
            JsValue::from_str(&detail),
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

/// [`touch_statements`] for many leads at once (a CRM intake's chunk): `touches` is a JSON array
/// of `{lead, detail}` (each lead once, `detail` a JSON text with `via`), `leads` a JSON array of
/// the same leads. The first statement returns a row per first touch it inserted.
pub fn touches_statements(
    db: &D1Database,
    touches: &str,
    leads: &str,
    actor: &str,
    via: Via,
    now_ms: f64,
) -> Result<[D1PreparedStatement; 3], ApiError> {
    let (now, actor) = (JsValue::from_f64(now_ms), JsValue::from_str(actor));
    let first = db
        .prepare(
            "INSERT INTO lead_events (lead_id, at, kind, actor, detail) \
             SELECT json_extract(j.value, '$.lead'), ?2, 'first_touch', ?3, \
             json_extract(j.value, '$.detail') FROM json_each(?1) AS j \
             WHERE EXISTS (SELECT 1 FROM leads WHERE id = json_extract(j.value, '$.lead')) \
             AND NOT EXISTS (SELECT 1 FROM lead_events WHERE lead_id = json_extract(j.value, '$.lead') \
             AND kind = 'first_touch') RETURNING seq",
        )
        .bind(&[JsValue::from_str(touches), now.clone(), actor.clone()])
        .map_err(ApiError::storage)?;
    let leads = JsValue::from_str(leads);
    let stop = db
        .prepare(
            "UPDATE sla_clocks SET touched_at = ?2, touched_by = ?3, stopped = 'touched', \
             next_at = NULL, updated_at = ?2 WHERE touched_at IS NULL \
             AND lead_id IN (SELECT value FROM json_each(?1)) AND EXISTS (SELECT 1 FROM \
             lead_events e WHERE e.lead_id = sla_clocks.lead_id AND e.kind = 'first_touch')",
        )
        .bind(&[leads.clone(), now.clone(), actor])
        .map_err(ApiError::storage)?;
    let contacted = db
        .prepare(
            "INSERT INTO crm_facts (subject, last_contacted_at, source, updated_at) \
             SELECT l.person_key, ?2, ?3, ?2 FROM leads AS l \
             WHERE l.id IN (SELECT value FROM json_each(?1)) AND l.person_key IS NOT NULL \
             AND EXISTS (SELECT 1 FROM lead_events e WHERE e.lead_id = l.id \
             AND e.kind = 'first_touch') ON CONFLICT (subject) DO UPDATE SET \
             last_contacted_at = MAX(COALESCE(last_contacted_at, 0), excluded.last_contacted_at), \
             updated_at = excluded.updated_at",
        )
        .bind(&[leads, now, JsValue::from_str(via.as_str())])
        .map_err(ApiError::storage)?;
    Ok([first, stop, contacted])
}

/// Records that the person behind `lead_id` was contacted at `now_ms` (their `email:` facts), once
/// the lead has a first touch.
fn contacted_statement(
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
    /// The ids of the channels that heard of the lead when it was routed, whom its escalations
    /// reach too; `None` (a clock stored before channels had conditions): every channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
}

/// A due time as stored: `None` for "never" (`i64::MAX`, an owner without working time left).
fn stored_time(ms: i64) -> JsValue {
    if ms == i64::MAX {
        JsValue::NULL
    } else {
        JsValue::from_f64(ms as f64)
    }
}

fn encode(value: &impl Serialize) -> Result<String, ApiError> {
    serde_json::to_string(value)
        .map_err(|_| ApiError::new(500, "internal", "The SLA clock could not be encoded."))
}

/// The statement that starts `clock` for `lead_id` at `at_ms` (routed in `pool`), with `who` for
/// its escalations and its first look at the first step's due time.
pub fn clock_statement(
    db: &D1Database,
    lead_id: &str,
    clock: &Clock,
    pool: Option<&str>,
    who: &Who,
    at_ms: f64,
) -> Result<D1PreparedStatement, ApiError> {
    let next = clock.steps.first().map_or(i64::MAX, |s| s.due_ms);
    let steps = encode(&clock.steps)?;
    db.prepare(
        "INSERT INTO sla_clocks (lead_id, policy, pool, started_at, first_touch_due, steps, \
         summary, level, next_at, updated_at, accept_due) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?4, ?9)",
    )
    .bind(&[
        JsValue::from_str(lead_id),
        JsValue::from_str(&clock.policy),
        pool.map_or(JsValue::NULL, JsValue::from_str),
        JsValue::from_f64(at_ms),
        JsValue::from_f64(clock.first_touch_due_ms as f64),
        JsValue::from_str(&steps),
        JsValue::from_str(&encode(who)?),
        stored_time(next),
        clock.accept_due_ms.map_or(JsValue::NULL, stored_time),
    ])
    .map_err(ApiError::storage)
}

/// The statements that remove lead `lead_id`'s clock and the steps it carried out, so that a
/// new clock can start (a returning person raised the lead's lifecycle).
pub fn clear_statements(
    db: &D1Database,
    lead_id: &str,
) -> Result<[D1PreparedStatement; 2], ApiError> {
    let id = [JsValue::from_str(lead_id)];
    Ok([
        db.prepare("DELETE FROM sla_steps WHERE lead_id = ?1")
            .bind(&id)
            .map_err(ApiError::storage)?,
        db.prepare("DELETE FROM sla_clocks WHERE lead_id = ?1")
            .bind(&id)
            .map_err(ApiError::storage)?,
    ])
}

/// A clock as `sla_clocks` stores it: the deadlines computed at start, the ladder as JSON.
pub fn stored_clock(
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
        accept_due_ms: None,
        steps,
    })
}

/// A clock found due by [`due_clocks`], with its lead's status and owner and the CRM facts about
/// the lead's person and account.
#[derive(Debug, Deserialize)]
pub struct DueRow {
    pub lead_id: String,
    pub policy: String,
    pub pool: Option<String>,
    pub started_at: f64,
    pub first_touch_due: f64,
    pub steps: String,
    pub summary: String,
    pub level: f64,
    pub status: String,
    pub owner_kind: Option<String>,
    pub owner_id: Option<String>,
    /// When the owner took the lead: the accept ladder's steps are skipped from then on.
    pub accepted_at: Option<f64>,
    /// The accept deadline, when the policy has one.
    pub accept_due: Option<f64>,
    active_deal: f64,
    in_sequence: f64,
    last_contacted: Option<f64>,
}

impl DueRow {
    /// The stored clock.
    pub fn clock(&self) -> Result<Clock, ApiError> {
        stored_clock(
            &self.policy,
            self.started_at,
            self.first_touch_due,
            &self.steps,
        )
    }

    /// The suppression facts read with the clock.
    pub fn facts(&self) -> SuppressionFacts {
        Facts {
            active_deal: self.active_deal,
            in_sequence: self.in_sequence,
            last_contacted: self.last_contacted,
        }
        .into()
    }
}

/// The query that finds the clocks due at `?1`, at most `?2`, oldest first, through the partial
/// index on `next_at` (never a scan of leads), with each lead's owner and status and the
/// suppression facts about its person and account.
pub const DUE_QUERY: &str = "SELECT c.lead_id, c.policy, c.pool, c.started_at, \
     c.first_touch_due, c.steps, c.summary, c.level, l.status, l.owner_kind, l.owner_id, \
     c.accepted_at, c.accept_due, \
     COALESCE((SELECT MAX(active_deal) FROM crm_facts \
       WHERE subject IN (l.person_key, l.account_key)), 0) AS active_deal, \
     COALESCE((SELECT MAX(in_sequence) FROM crm_facts \
       WHERE subject IN (l.person_key, l.account_key)), 0) AS in_sequence, \
     (SELECT MAX(last_contacted_at) FROM crm_facts WHERE subject = l.person_key) \
       AS last_contacted \
     FROM sla_clocks c JOIN leads l ON l.id = c.lead_id \
     WHERE c.next_at <= ?1 ORDER BY c.next_at LIMIT ?2";

/// A clock found due by [`due_clocks`]: read with its ladder, or unreadable (the lead, and the
/// code of what could not be read), which the tick flags instead of leaving it first in line.
pub enum Due {
    Read(Box<DueRow>, Clock),
    Unreadable { lead_id: String, code: &'static str },
}

/// The clocks due at `now_ms`, at most `limit` of them ([`DUE_QUERY`]), each read on its own: a
/// row that does not deserialize, or whose ladder is not JSON handoff-core can read, is
/// [`Due::Unreadable`], never an error for the whole tick.
pub async fn due_clocks(db: &Db, now_ms: f64, limit: f64) -> Result<Vec<Due>, ApiError> {
    let statement = db
        .prepare(DUE_QUERY)
        .bind(&[JsValue::from_f64(now_ms), JsValue::from_f64(limit)])
        .map_err(ApiError::storage)?;
    let rows: Vec<serde_json::Value> = db.rows(statement).await?;
    Ok(rows.into_iter().map(read_due).collect())
}

fn read_due(value: serde_json::Value) -> Due {
    let lead_id = value["lead_id"].as_str().unwrap_or_default().to_owned();
    match serde_json::from_value::<DueRow>(value) {
        Err(_) => Due::Unreadable {
            lead_id,
            code: "sla.row_unreadable",
        },
        Ok(row) => match row.clock() {
            Ok(clock) => Due::Read(Box::new(row), clock),
            Err(_) => Due::Unreadable {
                lead_id,
                code: "sla.steps_unreadable",
            },
        },
    }
}

/// How many clocks are flagged unreadable (through the partial index of migration 0016).
pub async fn unreadable_count(db: &Db) -> Result<u32, ApiError> {
    #[derive(Deserialize)]
    struct Row {
        n: f64,
    }
    let statement = db.prepare("SELECT COUNT(*) AS n FROM sla_clocks WHERE stopped = 'unreadable'");
    let row: Option<Row> = db.first(statement).await?;
    Ok(row.map_or(0, |r| r.n as u32))
}

/// Records what the cron's SLA run did for the tick scheduled at `scheduled_ms` (its report as
/// JSON) in `cron_ticks`.
pub async fn report_tick(
    db: &Db,
    scheduled_ms: f64,
    report: &impl Serialize,
) -> Result<(), ApiError> {
    let statement = db
        .prepare("UPDATE cron_ticks SET sla = ?2 WHERE scheduled_at = ?1")
        .bind(&[
            JsValue::from_f64(scheduled_ms),
            JsValue::from_str(&encode(report)?),
        ])
        .map_err(ApiError::storage)?;
    db.batch(vec![statement]).await?;
    Ok(())
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
    pub fn statement(
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

/// Whether step `level` of lead `lead_id` has been carried out (by any run).
pub async fn step_done(db: &Db, lead_id: &str, level: u32) -> Result<bool, ApiError> {
    let done = db
        .first::<serde_json::Value>(
            db.prepare("SELECT 1 AS done FROM sla_steps WHERE lead_id = ?1 AND level = ?2")
                .bind(&[
                    JsValue::from_str(lead_id),
                    JsValue::from_f64(f64::from(level)),
                ])
                .map_err(ApiError::storage)?,
        )
        .await?;
    Ok(done.is_some())
}

/// An event appended only if `claim` is this run's.
pub fn claimed_event(
    db: &D1Database,
    claim: &Claim<'_>,
    at_ms: f64,
    kind: EventKind,
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
            JsValue::from_str(kind.as_str()),
            JsValue::from_str(&encode(detail)?),
            a,
            b,
            c,
        ])
        .map_err(ApiError::storage)
}

/// Moves the clock to `level` levels done, with its next look at `next` (never backwards: a run
/// that read an older level changes nothing).
pub fn advance_statement(
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

/// A clock waiting for first touch, as the at-risk / breached list reads it.
#[derive(Debug, Deserialize)]
pub struct ListRow {
    pub lead_id: String,
    pub policy: String,
    pub started_at: f64,
    pub first_touch_due: f64,
    pub steps: String,
    pub summary: String,
    pub level: f64,
    pub owner_kind: Option<String>,
    pub owner_id: Option<String>,
}

/// Up to `limit` clocks still waiting for first touch whose deadline lies in `[from, upto]`, most
/// urgent first, through the partial index of untouched clocks by deadline.
pub async fn waiting(db: &Db, upto: f64, from: f64, limit: u32) -> Result<Vec<ListRow>, ApiError> {
    let statement = db
        .prepare(
            "SELECT c.lead_id, c.policy, c.started_at, c.first_touch_due, c.steps, c.summary, \
             c.level, l.owner_kind, l.owner_id FROM sla_clocks c JOIN leads l ON l.id = c.lead_id \
             WHERE c.touched_at IS NULL AND c.stopped IS NULL AND c.first_touch_due <= ?1 \
             AND c.first_touch_due >= ?2 ORDER BY c.first_touch_due LIMIT ?3",
        )
        .bind(&[
            JsValue::from_f64(upto),
            JsValue::from_f64(from),
            JsValue::from_f64(f64::from(limit)),
        ])
        .map_err(ApiError::storage)?;
    db.rows(statement).await
}
