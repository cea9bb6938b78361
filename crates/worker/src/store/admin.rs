//! The admin API's SQL: leads listed by keyset pagination, a lead's ownership and event log,
//! reassignment, and the notification outbox's dead letters. Every statement is a constant with
//! bound parameters; a change and its event are one D1 batch (one transaction).

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result, Env};

use crate::error::ApiError;
use crate::store::D1_BINDING;

/// A lead as `GET /v1/leads` lists it.
#[derive(Debug, Deserialize)]
pub struct LeadSummary {
    pub id: String,
    pub form_id: String,
    pub email: Option<String>,
    pub created_at: f64,
    pub score: Option<f64>,
    pub grade: Option<String>,
    pub lifecycle: Option<String>,
    pub disqualify_reason: Option<String>,
    pub owner_kind: Option<String>,
    pub owner_id: Option<String>,
    pub status: String,
}

/// What `GET /v1/leads` filters by; `None` is "any".
#[derive(Debug, Default)]
pub struct LeadFilter {
    pub lifecycle: Option<String>,
    pub owner: Option<String>,
    /// Only leads created at or after this time (ms since the epoch).
    pub since: Option<f64>,
    /// Only leads strictly after this (created_at, id) in newest-first order.
    pub before: Option<(f64, String)>,
}

fn opt_str(v: Option<&str>) -> JsValue {
    v.map_or(JsValue::NULL, JsValue::from_str)
}

fn opt_f64(v: Option<f64>) -> JsValue {
    v.map_or(JsValue::NULL, JsValue::from_f64)
}

/// Up to `limit` leads, newest first by (created_at, id).
pub async fn list_leads(
    env: &Env,
    filter: &LeadFilter,
    limit: u32,
) -> Result<Vec<LeadSummary>, ApiError> {
    // Two constant statements, so that a later page starts with an index search at its cursor
    // (`(created_at, id) < (?4, ?5)` on `leads_created_id`) instead of scanning from the newest.
    const FIRST_PAGE: &str = "SELECT id, form_id, email, created_at, score, grade, lifecycle, \
         disqualify_reason, owner_kind, owner_id, status FROM leads \
         WHERE (?1 IS NULL OR lifecycle = ?1) AND (?2 IS NULL OR owner_id = ?2) \
         AND (?3 IS NULL OR created_at >= ?3) \
         ORDER BY created_at DESC, id DESC LIMIT ?4";
    const LATER_PAGE: &str = "SELECT id, form_id, email, created_at, score, grade, lifecycle, \
         disqualify_reason, owner_kind, owner_id, status FROM leads \
         WHERE (?1 IS NULL OR lifecycle = ?1) AND (?2 IS NULL OR owner_id = ?2) \
         AND (?3 IS NULL OR created_at >= ?3) AND (created_at, id) < (?5, ?6) \
         ORDER BY created_at DESC, id DESC LIMIT ?4";
    let db = env.d1(D1_BINDING).map_err(ApiError::storage)?;
    let mut params = vec![
        opt_str(filter.lifecycle.as_deref()),
        opt_str(filter.owner.as_deref()),
        opt_f64(filter.since),
        JsValue::from_f64(f64::from(limit)),
    ];
    let sql = match &filter.before {
        Some((at, id)) => {
            params.push(JsValue::from_f64(*at));
            params.push(JsValue::from_str(id));
            LATER_PAGE
        }
        None => FIRST_PAGE,
    };
    db.prepare(sql)
        .bind(&params)
        .map_err(ApiError::storage)?
        .all()
        .await
        .map_err(ApiError::storage)?
        .results()
        .map_err(ApiError::storage)
}

/// Who owns a lead now, and whether it was merged.
#[derive(Debug, Deserialize)]
pub struct Ownership {
    pub owner_kind: Option<String>,
    pub owner_id: Option<String>,
    pub status: String,
    pub merged_into: Option<String>,
    pub updated_at: Option<f64>,
}

/// One entry of a lead's event log; `detail` is the stored JSON text.
#[derive(Debug, Deserialize)]
pub struct EventRow {
    pub seq: f64,
    pub at: f64,
    pub kind: String,
    pub actor: String,
    pub detail: String,
}

/// A lead's ownership and its events in order, read in one batch; `None` for an unknown lead.
pub async fn ownership_and_events(
    env: &Env,
    id: &str,
) -> Result<Option<(Ownership, Vec<EventRow>, Vec<super::push::Record>)>, ApiError> {
    let db = env.d1(D1_BINDING).map_err(ApiError::storage)?;
    let id = JsValue::from_str(id);
    let owner = db
        .prepare(
            "SELECT owner_kind, owner_id, status, merged_into, updated_at FROM leads WHERE id = ?1",
        )
        .bind(std::slice::from_ref(&id))
        .map_err(ApiError::storage)?;
    let events = db
        .prepare(
            "SELECT seq, at, kind, actor, detail FROM lead_events WHERE lead_id = ?1 ORDER BY seq",
        )
        .bind(std::slice::from_ref(&id))
        .map_err(ApiError::storage)?;
    let crm = super::push::records_query(&db, &id.as_string().unwrap_or_default())?;
    let results = db
        .batch(vec![owner, events, crm])
        .await
        .map_err(ApiError::storage)?;
    let [owner, events, crm] = results.as_slice() else {
        return Err(ApiError::new(
            503,
            "storage_unavailable",
            "D1 answered oddly; please retry.",
        ));
    };
    let owner = owner.results::<Ownership>().map_err(ApiError::storage)?;
    let events = events.results::<EventRow>().map_err(ApiError::storage)?;
    let crm = crm.results().map_err(ApiError::storage)?;
    Ok(owner.into_iter().next().map(|o| (o, events, crm)))
}

/// Rows a statement of a batch changed.
fn changes(result: Option<&D1Result>) -> usize {
    result
        .and_then(|r| r.meta().ok().flatten())
        .and_then(|m| m.changes)
        .unwrap_or(0)
}

/// Gives lead `id` to `owner_kind`/`owner_id` and appends its `reassigned` event (from, to,
/// reason) in one transaction; `false` for an unknown lead.
pub async fn reassign(
    env: &Env,
    id: &str,
    owner_kind: &str,
    owner_id: &str,
    reason: &str,
    now_ms: f64,
) -> Result<bool, ApiError> {
    let db = env.d1(D1_BINDING).map_err(ApiError::storage)?;
    let to = Reassign {
        lead_id: id,
        owner_kind,
        owner_id,
        actor: "admin",
        reason,
        more: None,
    };
    let results = db
        .batch(reassign_statements(&db, &to, now_ms)?.into())
        .await
        .map_err(ApiError::storage)?;
    Ok(changes(results.get(1)) > 0)
}

/// A reassignment: lead, new holder, who did it and why, and what else its event's detail says
/// (a CRM intake's `via` and `intake`).
pub struct Reassign<'a> {
    pub lead_id: &'a str,
    pub owner_kind: &'a str,
    pub owner_id: &'a str,
    pub actor: &'a str,
    pub reason: &'a str,
    /// Keys added to the event's detail, after `from`, `to` and `reason`.
    pub more: Option<&'a serde_json::Value>,
}

/// The statements of a reassignment, to run in one batch (the admin API's alone, a CRM intake's
/// with its other changes): the `reassigned` event (`from`, read inside the transaction before the
/// update changes it; `to`; `reason`; and `more`) and the new holder.
pub fn reassign_statements(
    db: &D1Database,
    to: &Reassign<'_>,
    now_ms: f64,
) -> Result<[D1PreparedStatement; 2], ApiError> {
    let more = to.more.map_or_else(|| "{}".to_owned(), ToString::to_string);
    let event = db
        .prepare(
            "INSERT INTO lead_events (lead_id, at, kind, actor, detail) \
             SELECT id, ?2, 'reassigned', ?6, json_patch(json_object(\
               'from', json_object('kind', owner_kind, 'id', owner_id), \
               'to', json_object('kind', ?3, 'id', ?4), 'reason', ?5), ?7) \
             FROM leads WHERE id = ?1",
        )
        .bind(&[
            JsValue::from_str(to.lead_id),
            JsValue::from_f64(now_ms),
            JsValue::from_str(to.owner_kind),
            JsValue::from_str(to.owner_id),
            JsValue::from_str(to.reason),
            JsValue::from_str(to.actor),
            JsValue::from_str(&more),
        ])
        .map_err(ApiError::storage)?;
    let update = db
        .prepare("UPDATE leads SET owner_kind = ?2, owner_id = ?3, updated_at = ?4 WHERE id = ?1")
        .bind(&[
            JsValue::from_str(to.lead_id),
            JsValue::from_str(to.owner_kind),
            JsValue::from_str(to.owner_id),
            JsValue::from_f64(now_ms),
        ])
        .map_err(ApiError::storage)?;
    Ok([event, update])
}

/// A notification that will not be retried by itself any more.
#[derive(Debug, Deserialize)]
pub struct DeadLetter {
    pub id: String,
    pub lead_id: String,
    pub channel: String,
    pub kind: String,
    pub attempts: f64,
    pub created_at: f64,
    pub last_error: Option<String>,
}

/// Dead letters waiting (notifications and CRM records), counted up to 1,000 of each.
pub async fn dead_letter_count(db: &crate::store::Db) -> Result<u32, ApiError> {
    #[derive(Deserialize)]
    struct Row {
        n: f64,
    }
    let statement = db.prepare(
        "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE state = 'dead' LIMIT 1000)) + \
         (SELECT COUNT(*) FROM (SELECT 1 FROM crm_records WHERE state = 'dead' LIMIT 1000)) AS n",
    );
    let row: Option<Row> = db.first(statement).await?;
    Ok(row.map_or(0, |r| r.n as u32))
}

/// Up to `limit` dead letters, newest first.
pub async fn dead_letters(env: &Env, limit: u32) -> Result<Vec<DeadLetter>, ApiError> {
    let db = env.d1(D1_BINDING).map_err(ApiError::storage)?;
    db.prepare(
        "SELECT id, lead_id, channel, kind, attempts, created_at, last_error FROM ( \
         SELECT id, lead_id, channel, kind, attempts, created_at, last_error FROM outbox \
         WHERE state = 'dead' UNION ALL \
         SELECT 'crm:' || push_id || ':' || lead_id, lead_id, 'crm:' || push_id, target, \
         attempts, COALESCE(failing_since, created_at), last_error FROM crm_records \
         WHERE state = 'dead') ORDER BY created_at DESC, id DESC LIMIT ?1",
    )
    .bind(&[JsValue::from_f64(f64::from(limit))])
    .map_err(ApiError::storage)?
    .all()
    .await
    .map_err(ApiError::storage)?
    .results()
    .map_err(ApiError::storage)
}

/// Puts dead letter `id` back in the queue, due now, attempts kept, with a `retry_requested`
/// event on its lead, in one transaction; `false` if no dead letter has this id.
pub async fn retry_dead_letter(env: &Env, id: &str, now_ms: f64) -> Result<bool, ApiError> {
    let db = env.d1(D1_BINDING).map_err(ApiError::storage)?;
    // A CRM record's dead letter (`crm:<push>:<lead>`): due now, its backoff started afresh.
    if let Some((push, lead)) = id
        .strip_prefix("crm:")
        .and_then(|rest| rest.split_once(':'))
    {
        let params = [
            JsValue::from_str(push),
            JsValue::from_str(lead),
            JsValue::from_f64(now_ms),
        ];
        let event = db
            .prepare(
                "INSERT INTO lead_events (lead_id, at, kind, actor, detail) \
                 SELECT lead_id, ?3, 'retry_requested', 'admin', \
                   json_object('channel', 'crm:' || push_id, 'attempts', attempts) \
                 FROM crm_records WHERE push_id = ?1 AND lead_id = ?2 AND state = 'dead'",
            )
            .bind(&params)
            .map_err(ApiError::storage)?;
        let update = db
            .prepare(
                "UPDATE crm_records SET state = 'pending', next_at = ?3, attempts = 0, \
                 failing_since = NULL WHERE push_id = ?1 AND lead_id = ?2 AND state = 'dead'",
            )
            .bind(&params)
            .map_err(ApiError::storage)?;
        let results = db
            .batch(vec![event, update])
            .await
            .map_err(ApiError::storage)?;
        return Ok(changes(results.get(1)) > 0);
    }
    let params = [JsValue::from_str(id), JsValue::from_f64(now_ms)];
    let event = db
        .prepare(
            "INSERT INTO lead_events (lead_id, at, kind, actor, detail) \
             SELECT lead_id, ?2, 'retry_requested', 'admin', \
               json_object('outbox_id', id, 'channel', channel, 'attempts', attempts) \
             FROM outbox WHERE id = ?1 AND state = 'dead'",
        )
        .bind(&params)
        .map_err(ApiError::storage)?;
    let update = db
        .prepare(
            "UPDATE outbox SET state = 'pending', next_at = ?2 WHERE id = ?1 AND state = 'dead'",
        )
        .bind(&params)
        .map_err(ApiError::storage)?;
    let results = db
        .batch(vec![event, update])
        .await
        .map_err(ApiError::storage)?;
    Ok(changes(results.get(1)) > 0)
}
