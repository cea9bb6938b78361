//! The `crm_facts` table: what is known about a person (`email:` subject) or an account
//! (`domain:` subject): an open deal, a running sequence, the last contact. Written by the CRM
//! intake, the events API and a first touch; read with a submission (suppression) and by the cron.

use handoff_core::crm::lead_subjects;
use handoff_core::sla::SuppressionFacts;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

use crate::error::ApiError;

/// Sets what is known about `subject` (`email:<address>` or `domain:<domain>`): an open deal, a
/// running sequence, a contact at `contacted_at`; `None` leaves that fact as it was. `source` is
/// `events` or the CRM intake's id.
pub fn facts_statement(
    db: &D1Database,
    subject: &str,
    deal: Option<bool>,
    sequence: Option<bool>,
    contacted_at: Option<f64>,
    source: &str,
    now_ms: f64,
) -> Result<D1PreparedStatement, ApiError> {
    let flag =
        |b: Option<bool>| b.map_or(JsValue::NULL, |b| JsValue::from_f64(f64::from(u8::from(b))));
    db.prepare(
        "INSERT INTO crm_facts (subject, active_deal, in_sequence, last_contacted_at, source, \
         updated_at) VALUES (?1, COALESCE(?2, 0), COALESCE(?3, 0), ?4, ?5, ?6) \
         ON CONFLICT (subject) DO UPDATE SET active_deal = COALESCE(?2, active_deal), \
         in_sequence = COALESCE(?3, in_sequence), \
         last_contacted_at = CASE WHEN ?4 IS NULL THEN last_contacted_at \
           ELSE MAX(COALESCE(last_contacted_at, ?4), ?4) END, \
         source = ?5, updated_at = ?6",
    )
    .bind(&[
        JsValue::from_str(subject),
        flag(deal),
        flag(sequence),
        contacted_at.map_or(JsValue::NULL, JsValue::from_f64),
        JsValue::from_str(source),
        JsValue::from_f64(now_ms),
    ])
    .map_err(ApiError::storage)
}

/// The read of a person's (and their account's) CRM facts, for a submission's read batch.
pub fn facts_query(db: &D1Database, email: &str) -> Result<D1PreparedStatement, ApiError> {
    let (person, account) = lead_subjects(email);
    db.prepare(
        "SELECT COALESCE(MAX(active_deal), 0) AS active_deal, \
         COALESCE(MAX(in_sequence), 0) AS in_sequence, MAX(last_contacted_at) AS last_contacted \
         FROM crm_facts WHERE subject IN (?1, ?2)",
    )
    // No account for a free mailbox provider's domain: `subject IN (?1, NULL)` is the person's.
    .bind(&[
        JsValue::from_str(&person),
        account.as_deref().map_or(JsValue::NULL, JsValue::from_str),
    ])
    .map_err(ApiError::storage)
}

/// The facts as D1 answers them (flags as numbers).
#[derive(Debug, Deserialize)]
pub(crate) struct Facts {
    pub active_deal: f64,
    pub in_sequence: f64,
    pub last_contacted: Option<f64>,
}

impl From<Facts> for SuppressionFacts {
    fn from(f: Facts) -> SuppressionFacts {
        SuppressionFacts {
            active_deal: f.active_deal > 0.0,
            in_sequence: f.in_sequence > 0.0,
            last_contacted_ms: f.last_contacted.map(|t| t as i64),
        }
    }
}

/// The facts from the result of [`facts_query`] (none known: no facts).
pub fn read_facts(result: &D1Result) -> Result<SuppressionFacts, ApiError> {
    Ok(result
        .results::<Facts>()
        .map_err(ApiError::storage)?
        .into_iter()
        .next()
        .map(SuppressionFacts::from)
        .unwrap_or_default())
}
