//! SLA clocks at the edge: started in a routed lead's batch, stopped by first touch, and walked up
//! the escalation ladder by the cron. Deadlines, ladders and suppression are handoff-core's
//! (`handoff_core::sla`); this module stores and reads them.

use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use crate::error::ApiError;

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
         SELECT 'email:' || email, ?2, ?3, ?2 FROM leads WHERE id = ?1 AND email IS NOT NULL \
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
