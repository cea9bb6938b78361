//! What the events API and the "Not a fit" page read and write besides the log entry and the
//! first touch: the lead an event is about, and a rejection (the lead closed, its clock stopped).

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use super::Db;
use crate::error::ApiError;

/// The lead an event is about: its id, email and the lead it was merged into, if any.
#[derive(Debug, Deserialize)]
pub struct Target {
    pub id: String,
    pub email: Option<String>,
    pub merged_into: Option<String>,
}

/// The lead with this id, if there is one.
pub async fn target(db: &Db, id: &str) -> Result<Option<Target>, ApiError> {
    let statement = db
        .prepare("SELECT id, email, merged_into FROM leads WHERE id = ?1")
        .bind(&[JsValue::from_str(id)])
        .map_err(ApiError::storage)?;
    db.first(statement).await
}

/// The statements of a rejection of lead `lead_id` at `now_ms`: an open lead becomes `rejected`,
/// and its SLA clock, if still waiting, stops.
pub fn reject_statements(
    db: &D1Database,
    lead_id: &str,
    now_ms: f64,
) -> Result<[D1PreparedStatement; 2], ApiError> {
    let args = [JsValue::from_str(lead_id), JsValue::from_f64(now_ms)];
    Ok([
        db.prepare(
            "UPDATE leads SET status = 'rejected', updated_at = ?2 \
             WHERE id = ?1 AND status = 'open'",
        )
        .bind(&args)
        .map_err(ApiError::storage)?,
        db.prepare(
            "UPDATE sla_clocks SET next_at = NULL, stopped = 'rejected', updated_at = ?2 \
             WHERE lead_id = ?1 AND touched_at IS NULL AND stopped IS NULL",
        )
        .bind(&args)
        .map_err(ApiError::storage)?,
    ])
}
