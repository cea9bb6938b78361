//! Slack interactions seen (`slack_requests`): a verified request's signature is stored once, so a
//! replay of it within the five minutes its timestamp is accepted is refused. The cron deletes
//! what is older than that.

use wasm_bindgen::JsValue;

use super::Db;
use crate::error::ApiError;

/// How long a seen signature is kept: past the five minutes a timestamp is accepted, with room.
pub const KEEP_MS: f64 = 15.0 * 60_000.0;

/// Records `signature` as seen at `now_ms`: false when it was seen before (a replay).
pub async fn first_use(db: &Db, signature: &str, now_ms: f64) -> Result<bool, ApiError> {
    let inserted = db
        .prepare(
            "INSERT INTO slack_requests (signature, seen_at) VALUES (?1, ?2) \
             ON CONFLICT (signature) DO NOTHING RETURNING signature",
        )
        .bind(&[JsValue::from_str(signature), JsValue::from_f64(now_ms)])
        .map_err(ApiError::storage)?
        .first::<serde_json::Value>(None)
        .await
        .map_err(ApiError::storage)?;
    Ok(inserted.is_some())
}

/// Deletes the signatures seen before `now_ms - KEEP_MS`.
pub async fn forget(db: &Db, now_ms: f64) -> Result<(), ApiError> {
    db.prepare("DELETE FROM slack_requests WHERE seen_at < ?1")
        .bind(&[JsValue::from_f64(now_ms - KEEP_MS)])
        .map_err(ApiError::storage)?
        .run()
        .await
        .map_err(ApiError::storage)?;
    Ok(())
}
