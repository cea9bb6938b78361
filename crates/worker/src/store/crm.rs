//! What the CRM intake reads: the open lead of each person a rep contacted, found by the person's
//! key (`leads.person_key`, computed by handoff-core), all in one batch of reads.

use std::collections::BTreeMap;

use handoff_core::crm::person_subject;
use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::status::open_statuses;
use super::Db;
use crate::error::ApiError;

/// A person's open lead: its id and status.
#[derive(Debug, Deserialize)]
pub struct OpenLead {
    pub id: String,
    pub status: String,
}

/// The oldest open, unmerged lead of each of `emails` that has one, by email, in one batch.
pub async fn open_leads<'e>(
    db: &Db,
    emails: &[&'e str],
) -> Result<BTreeMap<&'e str, OpenLead>, ApiError> {
    let mut open = BTreeMap::new();
    if emails.is_empty() {
        return Ok(open);
    }
    let mut reads = Vec::with_capacity(emails.len());
    for email in emails {
        reads.push(
            db.prepare(
                "SELECT id, status FROM leads WHERE person_key = ?1 \
                 AND status IN (SELECT value FROM json_each(?2)) \
                 AND merged_into IS NULL ORDER BY created_at, id LIMIT 1",
            )
            .bind(&[JsValue::from_str(&person_subject(email)), open_statuses()])
            .map_err(ApiError::storage)?,
        );
    }
    let results = db.batch(reads).await?;
    for (email, result) in emails.iter().zip(&results) {
        let lead = result
            .results::<OpenLead>()
            .map_err(ApiError::storage)?
            .into_iter()
            .next();
        if let Some(lead) = lead {
            open.insert(*email, lead);
        }
    }
    Ok(open)
}
