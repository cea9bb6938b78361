//! The notification outbox in D1 (`outbox`): rows inserted in the lead's batch (or an escalation
//! step's, guarded by its claim), due rows selected and leased, and each attempt's result recorded
//! with its lead event. Message ids are fresh UUIDs: the Standard Webhooks `webhook-id`.

use handoff_core::events::EventKind;
use handoff_core::notify::Retry;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use super::sla::Claim;
use super::Db;
use crate::error::ApiError;
use crate::plan::Chunks;
use crate::uuid::random_uuid;

/// While a message is being sent, other runs leave it alone this long.
const LEASE_MS: f64 = 120_000.0;

/// One outbox row for `lead_id` on `channel` (its id and kind), due at once; with `claim`,
/// inserted only if that claim is stored.
pub fn insert_statement(
    db: &D1Database,
    lead_id: &str,
    channel: (&str, &str),
    payload: &serde_json::Value,
    now_ms: f64,
    claim: Option<&Claim<'_>>,
) -> Result<D1PreparedStatement, ApiError> {
    let (channel_id, kind) = channel;
    let mut values = vec![
        JsValue::from_str(&random_uuid()),
        JsValue::from_str(lead_id),
        JsValue::from_str(channel_id),
        JsValue::from_str(kind),
        JsValue::from_str(&payload.to_string()),
        JsValue::from_f64(now_ms),
    ];
    let condition = match claim {
        Some(claim) => {
            values.extend(claim.values());
            Claim::condition(7)
        }
        None => "1".to_owned(),
    };
    db.prepare(format!(
        "INSERT INTO outbox (id, lead_id, channel, kind, payload, state, attempts, next_at, \
         created_at) SELECT ?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?6 WHERE {condition}"
    ))
    .bind(&values)
    .map_err(ApiError::storage)
}

/// The set-based INSERT of the outbox rows in `array` (records `{id, lead, level, channel, kind,
/// payload}`), each written only if `claimed` (an SQL condition on `j.value` and the run `?3`)
/// holds: an SLA tick's notifications, under its step claims.
pub fn claimed_messages_statement(
    db: &D1Database,
    array: &str,
    run: &JsValue,
    now_ms: f64,
    claimed: &str,
) -> Result<D1PreparedStatement, ApiError> {
    let sql = format!(
        "INSERT INTO outbox (id, lead_id, channel, kind, payload, state, attempts, next_at, \
         created_at) SELECT json_extract(j.value, '$.id'), json_extract(j.value, '$.lead'), \
         json_extract(j.value, '$.channel'), json_extract(j.value, '$.kind'), \
         json_extract(j.value, '$.payload'), 'pending', 0, ?2, ?2 FROM json_each(?1) AS j \
         WHERE {claimed}"
    );
    db.prepare(&sql)
        .bind(&[
            JsValue::from_str(array),
            JsValue::from_f64(now_ms),
            run.clone(),
        ])
        .map_err(ApiError::storage)
}

/// A message waiting to be sent.
#[derive(Debug, Deserialize)]
pub struct OutboxRow {
    pub id: String,
    pub lead_id: String,
    pub channel: String,
    /// `slack`, `webhook`, `slack_app`, `slack_dm` or `email`.
    pub kind: String,
    pub payload: String,
    pub attempts: f64,
    pub created_at: f64,
}

/// Not leased, or leased by a run whose lease ended by the wall clock `?2`.
const FREE: &str = "(leased_until IS NULL OR leased_until <= ?2)";

/// The messages a cron run sends, fairly: due at `?1` (the scheduled minute) and not leased at
/// `?2` (the wall clock), fresh messages before retries (each kind oldest first, at most `?4`
/// considered), and per channel at most `?5` messages, or one while the channel is in backoff (a
/// pending message of it failed before): a dead receiver's retries take one slot, never the
/// tick's. At most `?3`.
const FAIR_QUERY: &str = "WITH considered AS ( \
     SELECT id FROM (SELECT id FROM outbox WHERE state = 'pending' AND attempts = 0 \
       AND next_at <= ?1 AND (leased_until IS NULL OR leased_until <= ?2) ORDER BY next_at LIMIT ?4) \
     UNION ALL SELECT id FROM (SELECT id FROM outbox WHERE state = 'pending' AND attempts > 0 \
       AND next_at <= ?1 AND (leased_until IS NULL OR leased_until <= ?2) ORDER BY next_at LIMIT ?4)), \
   ranked AS (SELECT o.id, o.lead_id, o.channel, o.kind, o.payload, o.attempts, o.created_at, \
     o.next_at, ROW_NUMBER() OVER (PARTITION BY o.channel ORDER BY o.attempts > 0, o.next_at) AS turn, \
     EXISTS (SELECT 1 FROM outbox b WHERE b.channel = o.channel AND b.state = 'pending' \
       AND b.attempts > 0) AS backoff \
     FROM outbox o WHERE o.id IN (SELECT id FROM considered)) \
   SELECT id, lead_id, channel, kind, payload, attempts, created_at FROM ranked \
   WHERE turn <= CASE WHEN backoff THEN 1 ELSE ?5 END \
   ORDER BY attempts > 0, turn, next_at LIMIT ?3";

/// How many due messages of each kind (fresh, retries) the fair selection looks at.
const CONSIDERED: f64 = 500.0;

/// At most `limit` pending messages due at `now_ms` and free of any lease at `wall_ms`: one
/// lead's (`Some(lead_id)`, oldest first), or anyone's, by the fair selection ([`FAIR_QUERY`],
/// at most `per_channel` of one channel).
pub async fn due(
    db: &Db,
    lead_id: Option<&str>,
    limit: u32,
    per_channel: u32,
    at: (f64, f64),
) -> Result<Vec<OutboxRow>, ApiError> {
    let (now_ms, wall_ms) = at;
    let select = match lead_id {
        Some(lead_id) => db
            .prepare(format!(
                "SELECT id, lead_id, channel, kind, payload, attempts, created_at FROM outbox \
                 WHERE lead_id = ?3 AND state = 'pending' AND next_at <= ?1 AND {FREE} \
                 ORDER BY next_at LIMIT ?4"
            ))
            .bind(&[
                JsValue::from_f64(now_ms),
                JsValue::from_f64(wall_ms),
                JsValue::from_str(lead_id),
                JsValue::from_f64(f64::from(limit)),
            ]),
        None => db.prepare(FAIR_QUERY).bind(&[
            JsValue::from_f64(now_ms),
            JsValue::from_f64(wall_ms),
            JsValue::from_f64(f64::from(limit)),
            JsValue::from_f64(CONSIDERED),
            JsValue::from_f64(f64::from(per_channel)),
        ]),
    }
    .map_err(ApiError::storage)?;
    db.rows(select).await
}

/// Takes `ids` for this run, all in one statement: each is leased until `wall_ms` + the lease
/// (the wall clock, not the scheduled minute), so a concurrent run (the intake's `waitUntil` and
/// a cron tick) leaves it alone; a run that dies mid-send leaves it to whichever run comes after
/// the lease. Answers the ids this run took.
pub async fn lease(db: &Db, ids: &[&str], wall_ms: f64) -> Result<Vec<String>, ApiError> {
    #[derive(Deserialize)]
    struct Leased {
        id: String,
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned());
    let statement = db
        .prepare(format!(
            "UPDATE outbox SET leased_until = ?3 WHERE id IN (SELECT value FROM json_each(?1)) \
             AND state = 'pending' AND {FREE} RETURNING id"
        ))
        .bind(&[
            JsValue::from_str(&ids),
            JsValue::from_f64(wall_ms),
            JsValue::from_f64(wall_ms + LEASE_MS),
        ])
        .map_err(ApiError::storage)?;
    let leased: Vec<Leased> = db.rows(statement).await?;
    Ok(leased.into_iter().map(|l| l.id).collect())
}

/// What one attempt came to, for [`results_statements`].
pub struct Attempt<'a> {
    pub row: &'a OutboxRow,
    pub attempts: u32,
    /// Delivered (`None`), or the error (our code and the receiver's status) and the retry.
    pub failed: Option<(String, Retry)>,
    /// The lead event's kind and detail.
    pub event: (EventKind, serde_json::Value),
}

/// Every attempt of a run recorded at once, set-based: the rows delivered, retried or dead (each
/// lease released) and each attempt's lead event (`notified`, `notify_failed`, `dead_lettered`),
/// in the order of `attempts`. At most five statements per [`plan::JSON_BYTES`] of records.
pub fn results_statements(
    db: &D1Database,
    attempts: &[Attempt<'_>],
    now_ms: f64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let mut rows = Chunks::default();
    let mut events = Chunks::default();
    for a in attempts {
        let (state, error, next) = match &a.failed {
            None => ("delivered", None, None),
            Some((error, Retry::At(at))) => ("pending", Some(error.as_str()), Some(*at)),
            Some((error, Retry::Dead)) => ("dead", Some(error.as_str()), None),
        };
        rows.push(&serde_json::json!({
            "id": a.row.id, "state": state, "attempts": a.attempts, "error": error, "next": next,
        }));
        events.push(&serde_json::json!({
            "lead": a.row.lead_id, "kind": a.event.0.as_str(), "detail": a.event.1.to_string(),
        }));
    }
    let now = JsValue::from_f64(now_ms);
    let mut out = Vec::new();
    for array in rows.into_arrays() {
        out.push(
            db.prepare(
                "UPDATE outbox AS o SET state = json_extract(j.value, '$.state'), \
                 attempts = json_extract(j.value, '$.attempts'), \
                 last_error = json_extract(j.value, '$.error'), leased_until = NULL, \
                 next_at = COALESCE(json_extract(j.value, '$.next'), o.next_at), \
                 delivered_at = CASE WHEN json_extract(j.value, '$.state') = 'delivered' \
                   THEN ?2 ELSE o.delivered_at END \
                 FROM json_each(?1) AS j WHERE o.id = json_extract(j.value, '$.id')",
            )
            .bind(&[JsValue::from_str(&array), now.clone()])
            .map_err(ApiError::storage)?,
        );
    }
    for array in events.into_arrays() {
        out.push(
            db.prepare(
                "INSERT INTO lead_events (lead_id, at, kind, actor, detail) \
                 SELECT json_extract(value, '$.lead'), ?2, json_extract(value, '$.kind'), \
                 'system', json_extract(value, '$.detail') FROM json_each(?1)",
            )
            .bind(&[JsValue::from_str(&array), now.clone()])
            .map_err(ApiError::storage)?,
        );
    }
    Ok(out)
}

/// Records what the cron's outbox run did for the tick scheduled at `scheduled_ms`.
pub async fn report_tick(
    db: &Db,
    scheduled_ms: f64,
    report: &serde_json::Value,
) -> Result<(), ApiError> {
    let statement = db
        .prepare("UPDATE cron_ticks SET outbox = ?2 WHERE scheduled_at = ?1")
        .bind(&[
            JsValue::from_f64(scheduled_ms),
            JsValue::from_str(&report.to_string()),
        ])
        .map_err(ApiError::storage)?;
    db.batch(vec![statement]).await?;
    Ok(())
}
