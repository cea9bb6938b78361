//! What the CRM intake reads: the open lead of each person a rep contacted, found by the person's
//! key (`leads.person_key`, computed by handoff-core), all in one read; and, for a
//! preset's changes made in the CRM, the leads it names, by the records the push wrote
//! (`crm_records`, read only here) or by our id, in one batch too.

use std::collections::BTreeMap;

use handoff_core::crm::person_subject;
use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::status::{code_list, open_statuses};
use super::Db;
use crate::error::ApiError;

/// A person's open lead: its id and status.
#[derive(Debug, Clone, Deserialize)]
pub struct OpenLead {
    pub id: String,
    pub status: String,
}

/// The oldest open, unmerged lead of each of `emails` that has one, by email, in one read (the
/// people's keys bound as one JSON array).
pub async fn open_leads<'e>(
    db: &Db,
    emails: &[&'e str],
) -> Result<BTreeMap<&'e str, OpenLead>, ApiError> {
    #[derive(Deserialize)]
    struct Row {
        person_key: String,
        id: String,
        status: String,
    }
    let mut open = BTreeMap::new();
    if emails.is_empty() {
        return Ok(open);
    }
    let keys: BTreeMap<String, &'e str> = emails.iter().map(|e| (person_subject(e), *e)).collect();
    let read = db
        .prepare(
            "SELECT j.value AS person_key, l.id, l.status FROM json_each(?1) AS j \
             JOIN leads AS l ON l.id = (SELECT id FROM leads WHERE person_key = j.value \
             AND status IN (SELECT value FROM json_each(?2)) AND merged_into IS NULL \
             ORDER BY created_at, id LIMIT 1)",
        )
        .bind(&[code_list(keys.keys().map(String::as_str)), open_statuses()])
        .map_err(ApiError::storage)?;
    for row in db.rows::<Row>(read).await? {
        if let Some(email) = keys.get(&row.person_key) {
            let lead = OpenLead {
                id: row.id,
                status: row.status,
            };
            open.insert(*email, lead);
        }
    }
    Ok(open)
}

/// A lead a change made in the CRM is about, as it stands before the change.
#[derive(Debug, Clone, Deserialize)]
pub struct BackLead {
    /// The CRM record the push wrote for the lead (a HubSpot contact id), when read by record.
    pub record_id: Option<String>,
    pub id: String,
    pub status: String,
    pub owner_kind: Option<String>,
    pub owner_id: Option<String>,
    pub email: Option<String>,
    pub created_at: f64,
}

/// Every lead push `push_id` wrote one of `records` for (a returning person's leads share their
/// contact: all of them, through `crm_records_record`), and the leads whose ids are `ids`, in one
/// batch of at most two reads.
pub async fn back_leads(
    db: &Db,
    push_id: &str,
    records: &[&str],
    ids: &[&str],
) -> Result<(Vec<BackLead>, Vec<BackLead>), ApiError> {
    const BY_RECORD: &str = "SELECT r.record_id, l.id, l.status, l.owner_kind, l.owner_id, \
         l.email, l.created_at FROM crm_records r JOIN leads l ON l.id = r.lead_id \
         WHERE r.push_id = ?1 AND r.record_id IN (SELECT value FROM json_each(?2))";
    const BY_ID: &str = "SELECT NULL AS record_id, id, status, owner_kind, owner_id, email, \
         created_at FROM leads WHERE id IN (SELECT value FROM json_each(?1))";
    let mut reads = Vec::new();
    if !records.is_empty() {
        let params = [
            JsValue::from_str(push_id),
            code_list(records.iter().copied()),
        ];
        reads.push(
            db.prepare(BY_RECORD)
                .bind(&params)
                .map_err(ApiError::storage)?,
        );
    }
    if !ids.is_empty() {
        let params = [code_list(ids.iter().copied())];
        reads.push(db.prepare(BY_ID).bind(&params).map_err(ApiError::storage)?);
    }
    if reads.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    // The results come in the order of the reads, and only the reads made have one.
    let mut results = db.batch(reads).await?.into_iter();
    let mut next = || match results.next() {
        Some(result) => result.results::<BackLead>().map_err(ApiError::storage),
        None => Ok(Vec::new()),
    };
    let by_record = if records.is_empty() {
        Vec::new()
    } else {
        next()?
    };
    let by_id = if ids.is_empty() { Vec::new() } else { next()? };
    Ok((by_record, by_id))
}
