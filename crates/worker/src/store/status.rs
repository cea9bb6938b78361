//! A lead's status in D1 (`leads.status`, docs/STATUS.md): a move handoff-core allowed
//! (`handoff_core::status::advance`) written as its `status_changed` event and the new status,
//! both guarded by the status the move was computed from, with what the move means for the SLA
//! clock (accepted: the accept clock stops; closed: the whole clock stops) and the deal's value.

use handoff_core::events::EventKind;
use handoff_core::status::{LeadStatus, Moved};
use serde::Serialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

pub use super::sla::Via;
use super::{encode, opt};
use crate::error::ApiError;

/// A list of codes (statuses, owner ids) as one bound JSON array, for `IN (SELECT value FROM
/// json_each(?))`: the list is data, never spliced into the SQL.
pub fn code_list<'a>(codes: impl IntoIterator<Item = &'a str>) -> JsValue {
    let codes: Vec<&str> = codes.into_iter().collect();
    JsValue::from_str(&serde_json::to_string(&codes).unwrap_or_else(|_| "[]".to_owned()))
}

/// The statuses of a lead sales still works (`LeadStatus::is_open`), as a [`code_list`].
pub fn open_statuses() -> JsValue {
    code_list(
        LeadStatus::ALL
            .into_iter()
            .filter(|s| s.is_open())
            .map(LeadStatus::as_str),
    )
}

/// One status move of one lead, as handoff-core allowed it.
#[derive(Debug, Clone, Serialize)]
pub struct Change<'a> {
    #[serde(skip)]
    pub lead_id: &'a str,
    #[serde(skip)]
    pub actor: &'a str,
    pub from: LeadStatus,
    pub to: LeadStatus,
    pub via: Via,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<&'a str>,
}

impl<'a> Change<'a> {
    pub fn new(lead_id: &'a str, actor: &'a str, moved: Moved, via: Via) -> Change<'a> {
        Change {
            lead_id,
            actor,
            from: moved.from,
            to: moved.to,
            via,
            reason: None,
            amount: None,
            currency: None,
        }
    }
}

/// The statements of `change` at `now_ms`. A move that changes the status writes its
/// `status_changed` event first, guarded by the status it was computed from: with `strict`, a
/// lead whose status moved meanwhile fails the event's insert (`kind` is NULL) and so the whole
/// batch, and the caller reads the lead again; without, the event and the update are skipped and
/// the rest of the batch stands. A deal amount is stored whether or not the status moves.
pub fn statements(
    db: &D1Database,
    change: &Change<'_>,
    strict: bool,
    now_ms: f64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let mut out = Vec::new();
    let id = JsValue::from_str(change.lead_id);
    let now = JsValue::from_f64(now_ms);
    if change.from != change.to {
        let sql = if strict {
            "INSERT INTO lead_events (lead_id, at, kind, actor, detail) VALUES (?1, ?2, \
             CASE WHEN (SELECT status FROM leads WHERE id = ?1) = ?5 THEN ?6 END, ?3, ?4)"
        } else {
            "INSERT INTO lead_events (lead_id, at, kind, actor, detail) SELECT ?1, ?2, ?6, ?3, ?4 \
             WHERE EXISTS (SELECT 1 FROM leads WHERE id = ?1 AND status = ?5)"
        };
        out.push(
            db.prepare(sql)
                .bind(&[
                    id.clone(),
                    now.clone(),
                    JsValue::from_str(change.actor),
                    JsValue::from_str(&encode(change)?),
                    JsValue::from_str(change.from.as_str()),
                    JsValue::from_str(EventKind::StatusChanged.as_str()),
                ])
                .map_err(ApiError::storage)?,
        );
        out.push(
            db.prepare(
                "UPDATE leads SET status = ?2, updated_at = ?3 WHERE id = ?1 AND status = ?4",
            )
            .bind(&[
                id.clone(),
                JsValue::from_str(change.to.as_str()),
                now.clone(),
                JsValue::from_str(change.from.as_str()),
            ])
            .map_err(ApiError::storage)?,
        );
    }
    if let (Some(amount), Some(currency)) = (change.amount, change.currency) {
        out.push(
            db.prepare(
                "UPDATE leads SET deal_amount = ?2, deal_currency = ?3, updated_at = ?4 \
                 WHERE id = ?1",
            )
            .bind(&[
                id.clone(),
                JsValue::from_f64(amount),
                opt(Some(currency)),
                now.clone(),
            ])
            .map_err(ApiError::storage)?,
        );
    }
    if change.from == LeadStatus::New && change.to != LeadStatus::New {
        // Taken (or worked, or closed) at last: the accept clock is met.
        out.push(
            db.prepare(
                "UPDATE sla_clocks SET accepted_at = ?2, updated_at = ?2 \
                 WHERE lead_id = ?1 AND accepted_at IS NULL",
            )
            .bind(&[id.clone(), now.clone()])
            .map_err(ApiError::storage)?,
        );
    }
    if change.from.is_open() && !change.to.is_open() {
        // Closed: nothing falls due any more.
        out.push(
            db.prepare(
                "UPDATE sla_clocks SET next_at = NULL, stopped = ?3, updated_at = ?2 \
                 WHERE lead_id = ?1 AND touched_at IS NULL AND stopped IS NULL",
            )
            .bind(&[id, now, JsValue::from_str(change.to.as_str())])
            .map_err(ApiError::storage)?,
        );
    }
    Ok(out)
}
