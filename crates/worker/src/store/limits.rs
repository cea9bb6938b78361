//! Rate-limit counters in D1 (`ratelimit.rs`): one upsert per counted request, a read of a
//! window's count, and the bounded clean-up of expired windows that the scheduled handler runs.

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env};

use crate::error::ApiError;
use crate::store::{Db, D1_BINDING};

/// The most expired windows one cron tick deletes, so a backlog never makes a tick slow.
const PRUNE_BATCH: f64 = 1000.0;

#[derive(Deserialize)]
struct Count {
    count: f64,
}

/// The statement that counts one request of `key` in the window starting at `window_start`
/// and returns the window's count so far, this one included (`RETURNING count`).
pub fn count_statement(
    db: &D1Database,
    key: &str,
    window_start: f64,
    expires_at: f64,
) -> Result<D1PreparedStatement, ApiError> {
    db.prepare(
        "INSERT INTO rate_limits (key, window_start, count, expires_at) VALUES (?1, ?2, 1, ?3) \
         ON CONFLICT (key, window_start) DO UPDATE SET count = count + 1 RETURNING count",
    )
    .bind(&[
        JsValue::from_str(key),
        JsValue::from_f64(window_start),
        JsValue::from_f64(expires_at),
    ])
    .map_err(ApiError::storage)
}

/// Runs a [`count_statement`]: the window's count, this request included.
pub async fn count(db: &Db, statement: D1PreparedStatement) -> Result<u32, ApiError> {
    Ok(db
        .first::<Count>(statement)
        .await?
        .map_or(1, |c| c.count as u32))
}

/// The count of `key`'s window starting at `window_start` (0 when nothing was counted).
pub async fn read(db: &Db, key: &str, window_start: f64) -> Result<u32, ApiError> {
    let statement = db
        .prepare("SELECT count FROM rate_limits WHERE key = ?1 AND window_start = ?2")
        .bind(&[JsValue::from_str(key), JsValue::from_f64(window_start)])
        .map_err(ApiError::storage)?;
    Ok(db
        .first::<Count>(statement)
        .await?
        .map_or(0, |c| c.count as u32))
}

/// Deletes up to [`PRUNE_BATCH`] windows that ended before `now_ms`.
pub async fn prune(env: &Env, now_ms: f64) -> Result<(), ApiError> {
    let db = env.d1(D1_BINDING).map_err(ApiError::storage)?;
    db.prepare(
        "DELETE FROM rate_limits WHERE rowid IN \
         (SELECT rowid FROM rate_limits WHERE expires_at < ?1 LIMIT ?2)",
    )
    .bind(&[JsValue::from_f64(now_ms), JsValue::from_f64(PRUNE_BATCH)])
    .map_err(ApiError::storage)?
    .run()
    .await
    .map_err(ApiError::storage)?;
    Ok(())
}
