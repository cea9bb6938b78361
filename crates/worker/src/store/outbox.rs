//! The notification outbox in D1 (`outbox`): rows inserted in the lead's batch (or an escalation
//! step's, guarded by its claim), due rows selected and leased, and each attempt's result recorded
//! with its lead event. Message ids are fresh UUIDs: the Standard Webhooks `webhook-id`.

use handoff_core::events::EventKind;
use handoff_core::notify::Retry;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use super::event_statement;
use super::sla::Claim;
use crate::error::ApiError;
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

/// At most `limit` pending messages due at `now_ms`, oldest first: one lead's (`Some(lead_id)`),
/// or anyone's.
pub async fn due(
    db: &D1Database,
    lead_id: Option<&str>,
    limit: u32,
    now_ms: f64,
) -> Result<Vec<OutboxRow>, ApiError> {
    let select = match lead_id {
        Some(lead_id) => db
            .prepare(
                "SELECT id, lead_id, channel, kind, payload, attempts, created_at FROM outbox \
                 WHERE lead_id = ?1 AND state = 'pending' AND next_at <= ?2 ORDER BY next_at \
                 LIMIT ?3",
            )
            .bind(&[
                JsValue::from_str(lead_id),
                JsValue::from_f64(now_ms),
                JsValue::from_f64(f64::from(limit)),
            ]),
        None => db
            .prepare(
                "SELECT id, lead_id, channel, kind, payload, attempts, created_at FROM outbox \
                 WHERE state = 'pending' AND next_at <= ?1 ORDER BY next_at LIMIT ?2",
            )
            .bind(&[
                JsValue::from_f64(now_ms),
                JsValue::from_f64(f64::from(limit)),
            ]),
    }
    .map_err(ApiError::storage)?;
    select
        .all()
        .await
        .and_then(|r| r.results())
        .map_err(ApiError::storage)
}

/// Takes a message for this run: pushes its `next_at` past the send, so a concurrent run (the
/// intake's `waitUntil` and a cron tick) does not send it too. A run that dies mid-send leaves
/// it to be retried when the lease ends.
pub async fn lease(db: &D1Database, id: &str, now_ms: f64) -> Result<bool, ApiError> {
    let leased = db
        .prepare(
            "UPDATE outbox SET next_at = ?2 WHERE id = ?1 AND state = 'pending' AND next_at <= ?3 \
             RETURNING id",
        )
        .bind(&[
            JsValue::from_str(id),
            JsValue::from_f64(now_ms + LEASE_MS),
            JsValue::from_f64(now_ms),
        ])
        .map_err(ApiError::storage)?
        .first::<serde_json::Value>(None)
        .await
        .map_err(ApiError::storage)?;
    Ok(leased.is_some())
}

/// A message delivered on its `attempts`-th attempt, and its `notified` event.
pub fn delivered_statements(
    db: &D1Database,
    row: &OutboxRow,
    attempts: u32,
    now_ms: f64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let update = db
        .prepare(
            "UPDATE outbox SET state = 'delivered', attempts = ?2, delivered_at = ?3, \
             last_error = NULL WHERE id = ?1",
        )
        .bind(&[
            JsValue::from_str(&row.id),
            JsValue::from_f64(f64::from(attempts)),
            JsValue::from_f64(now_ms),
        ])
        .map_err(ApiError::storage)?;
    let detail =
        serde_json::json!({"channel": row.channel, "message": row.id, "attempts": attempts});
    Ok(vec![
        update,
        event_statement(
            db,
            &row.lead_id,
            now_ms,
            EventKind::Notified,
            "system",
            &detail,
        )?,
    ])
}

/// A failed attempt (`error`: our code and the receiver's status, never a URL), and its event
/// (`notify_failed` or `dead_lettered`, with `detail`).
pub fn failed_statements(
    db: &D1Database,
    row: &OutboxRow,
    attempts: u32,
    error: &str,
    retry: Retry,
    detail: &serde_json::Value,
    now_ms: f64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let (update, kind) = match retry {
        Retry::At(at) => {
            let update = db
                .prepare(
                    "UPDATE outbox SET attempts = ?2, next_at = ?3, last_error = ?4 WHERE id = ?1",
                )
                .bind(&[
                    JsValue::from_str(&row.id),
                    JsValue::from_f64(f64::from(attempts)),
                    JsValue::from_f64(at as f64),
                    JsValue::from_str(error),
                ]);
            (update, EventKind::NotifyFailed)
        }
        Retry::Dead => {
            let update = db
                .prepare(
                    "UPDATE outbox SET state = 'dead', attempts = ?2, last_error = ?3 WHERE id = ?1",
                )
                .bind(&[
                    JsValue::from_str(&row.id),
                    JsValue::from_f64(f64::from(attempts)),
                    JsValue::from_str(error),
                ]);
            (update, EventKind::DeadLettered)
        }
    };
    Ok(vec![
        update.map_err(ApiError::storage)?,
        event_statement(db, &row.lead_id, now_ms, kind, "system", detail)?,
    ])
}
