//! Storage at the edge: the active rule bundle in KV, leads and cron ticks in D1. Every SQL
//! statement is a constant with bound parameters; no value is ever spliced into SQL text.

use std::cell::RefCell;
use std::rc::Rc;

use handoff_core::{Bundle, Evaluation};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::Env;

use crate::error::ApiError;

pub const KV_BINDING: &str = "CONFIG";
pub const D1_BINDING: &str = "DB";
/// The KV key of the active bundle's canonical JSON.
pub const ACTIVE_BUNDLE_KEY: &str = "bundle/active";

thread_local! {
    /// The last bundle compiled in this isolate, with the exact KV text it came from. Compiling
    /// (hash check plus every condition) costs tens of microseconds; a KV read is needed anyway to
    /// see a new version, so the text itself is the cache key.
    static COMPILED: RefCell<Option<(String, Rc<Bundle>)>> = const { RefCell::new(None) };
}

/// Loads and verifies the active rule bundle, compiling it only when its text changed.
pub async fn active_bundle(env: &Env) -> Result<Rc<Bundle>, ApiError> {
    let unavailable = |detail: &str| {
        ApiError::new(
            503,
            "bundle_unavailable",
            format!("No usable rule bundle: {detail}."),
        )
    };
    let kv = env
        .kv(KV_BINDING)
        .map_err(|_| unavailable("the CONFIG binding is missing"))?;
    let text = kv
        .get(ACTIVE_BUNDLE_KEY)
        .text()
        .await
        .map_err(|_| unavailable("KV did not answer"))?
        .ok_or_else(|| unavailable("none has been loaded"))?;
    let cached = COMPILED.with_borrow(|c| {
        c.as_ref()
            .filter(|(raw, _)| *raw == text)
            .map(|(_, bundle)| Rc::clone(bundle))
    });
    if let Some(bundle) = cached {
        return Ok(bundle);
    }
    let bundle = Rc::new(Bundle::from_json(&text).map_err(|e| unavailable(&e.message))?);
    COMPILED.with_borrow_mut(|c| *c = Some((text, Rc::clone(&bundle))));
    Ok(bundle)
}

/// What a stored lead looks like to the admin API.
#[derive(Debug, Deserialize)]
pub struct LeadRow {
    pub id: String,
    pub form_id: String,
    pub email: Option<String>,
    pub answers: String,
    pub bundle_version: String,
    pub client_bundle_version: Option<String>,
    pub created_at: f64,
    pub score: Option<f64>,
    pub grade: Option<String>,
    pub lifecycle: Option<String>,
    pub disqualify_reason: Option<String>,
    pub evaluation: Option<String>,
}

pub struct NewLead<'a> {
    pub id: &'a str,
    pub evaluation: &'a Evaluation,
    pub email: Option<&'a str>,
    pub client_bundle_version: Option<&'a str>,
    pub now_ms: f64,
}

/// Inserts a lead and returns only once D1 has committed it.
pub async fn insert_lead(env: &Env, lead: &NewLead<'_>) -> Result<(), ApiError> {
    let db = env.d1(D1_BINDING).map_err(ApiError::storage)?;
    let ev = lead.evaluation;
    let details = serde_json::json!({
        "score": ev.score,
        "disqualification": ev.disqualification,
        "visible": ev.visible,
        "email": ev.email,
    });
    let (answers, details) = serde_json::to_string(&ev.answers)
        .and_then(|a| Ok((a, serde_json::to_string(&details)?)))
        .map_err(|_| ApiError::new(500, "internal", "the lead could not be encoded"))?;
    let opt = |v: Option<&str>| v.map_or(JsValue::NULL, JsValue::from_str);
    db.prepare(
        "INSERT INTO leads (id, form_id, email, answers, bundle_version, client_bundle_version, \
         created_at, score, grade, lifecycle, disqualify_reason, evaluation) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .bind(&[
        JsValue::from_str(lead.id),
        JsValue::from_str(&ev.form),
        opt(lead.email),
        JsValue::from_str(&answers),
        JsValue::from_str(&ev.bundle_version),
        opt(lead.client_bundle_version),
        // Integers cross into D1 as f64: a BigInt is refused with D1_TYPE_ERROR.
        JsValue::from_f64(lead.now_ms),
        JsValue::from_f64(f64::from(ev.score.total)),
        JsValue::from_str(ev.grade.as_str()),
        JsValue::from_str(ev.lifecycle.as_str()),
        opt(ev.disqualification.as_ref().map(|d| d.reason.as_str())),
        JsValue::from_str(&details),
    ])
    .map_err(ApiError::storage)?
    .run()
    .await
    .map_err(ApiError::storage)?;
    Ok(())
}

pub async fn lead(env: &Env, id: &str) -> Result<Option<LeadRow>, ApiError> {
    let db = env.d1(D1_BINDING).map_err(ApiError::storage)?;
    db.prepare(
        "SELECT id, form_id, email, answers, bundle_version, client_bundle_version, created_at, \
         score, grade, lifecycle, disqualify_reason, evaluation FROM leads WHERE id = ?1",
    )
    .bind(&[JsValue::from_str(id)])
    .map_err(ApiError::storage)?
    .first::<LeadRow>(None)
    .await
    .map_err(ApiError::storage)
}

/// Records that the cron ran for `scheduled_ms`. A repeated delivery of the same tick is a no-op.
pub async fn record_tick(env: &Env, scheduled_ms: f64, now_ms: f64) -> Result<(), ApiError> {
    let db = env.d1(D1_BINDING).map_err(ApiError::storage)?;
    let insert = db
        .prepare(
            "INSERT INTO cron_ticks (scheduled_at, ran_at) VALUES (?1, ?2) \
             ON CONFLICT (scheduled_at) DO NOTHING",
        )
        .bind(&[JsValue::from_f64(scheduled_ms), JsValue::from_f64(now_ms)])
        .map_err(ApiError::storage)?;
    // Keep a day of ticks: enough to see gaps, never a growing table.
    let prune = db
        .prepare("DELETE FROM cron_ticks WHERE scheduled_at < ?1")
        .bind(&[JsValue::from_f64(scheduled_ms - 86_400_000.0)])
        .map_err(ApiError::storage)?;
    db.batch(vec![insert, prune])
        .await
        .map_err(ApiError::storage)?;
    Ok(())
}

pub async fn last_tick(env: &Env) -> Result<Option<f64>, ApiError> {
    #[derive(Deserialize)]
    struct Row {
        scheduled_at: f64,
    }
    let db = env.d1(D1_BINDING).map_err(ApiError::storage)?;
    let row = db
        .prepare("SELECT scheduled_at FROM cron_ticks ORDER BY scheduled_at DESC LIMIT 1")
        .first::<Row>(None)
        .await
        .map_err(ApiError::storage)?;
    Ok(row.map(|r| r.scheduled_at))
}
