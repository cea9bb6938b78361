//! The archive's side in D1: which closed leads are due (through `leads_closed_created`, a
//! partial index that holds only closed leads), the chunk under way (`archive_chunks`, written
//! before the upload so that a tick failing after it finishes the same chunk under the same key),
//! what a chunk's files say (the replayable export's rows, the metrics' records, every event), and
//! the one batch that removes the chunk's leads with everything that refers to them. The leads'
//! contributions stay in the reports' rollups: their `metric_leads` entries go with them, so the
//! fold never takes them out.

use handoff_core::metrics::LeadRecord;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

use super::metrics::{lead_reads, read_pair, records, ExportRow, EXPORT_SELECT};
use super::Db;
use crate::error::ApiError;

/// The closed statuses, as `leads_closed_created` (migration 0014) lists them: a query must name
/// them literally for SQLite to use the partial index. A test holds them to handoff-core's.
pub const CLOSED: &str = "'won', 'lost', 'rejected', 'recycled', 'merged'";

/// A lead due for the archive.
#[derive(Debug, Deserialize)]
pub struct Due {
    pub id: String,
    pub created_at: f64,
}

/// The chunk under way: its key and its leads' ids (JSON).
#[derive(Debug, Deserialize)]
pub struct Pending {
    pub key: String,
    pub ids: String,
}

/// The chunk a failed tick left, if any.
pub async fn pending(db: &Db) -> Result<Option<Pending>, ApiError> {
    db.first(db.prepare(
        "SELECT key, ids FROM archive_chunks WHERE done_at IS NULL ORDER BY created_at LIMIT 1",
    ))
    .await
}

/// Up to `limit` closed leads, oldest first, created and last changed before `cutoff_ms`, with
/// nothing left to send (no pending notification or CRM push) and their last change folded into
/// the reports.
pub async fn due(db: &Db, cutoff_ms: f64, limit: u32) -> Result<Vec<Due>, ApiError> {
    let statement = db
        .prepare(format!(
            "SELECT l.id, l.created_at FROM leads l INDEXED BY leads_closed_created \
             WHERE l.status IN ({CLOSED}) AND l.created_at < ?1 \
             AND COALESCE(l.updated_at, l.created_at) < ?1 \
             AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.lead_id = l.id AND o.state = 'pending') \
             AND NOT EXISTS (SELECT 1 FROM crm_records r WHERE r.lead_id = l.id \
               AND r.state = 'pending') \
             AND NOT EXISTS (SELECT 1 FROM metric_leads m WHERE m.lead_id = l.id \
               AND m.version > m.folded) \
             ORDER BY l.created_at, l.id LIMIT ?2"
        ))
        .bind(&[JsValue::from_f64(cutoff_ms), JsValue::from_f64(f64::from(limit))])
        .map_err(ApiError::storage)?;
    db.rows(statement).await
}

/// The chunk's row, written before its upload.
pub fn begin_statement(
    db: &Db,
    key: &str,
    ids: &str,
    now_ms: f64,
) -> Result<D1PreparedStatement, ApiError> {
    db.prepare("INSERT INTO archive_chunks (key, ids, created_at) VALUES (?1, ?2, ?3)")
        .bind(&[key.into(), ids.into(), JsValue::from_f64(now_ms)])
        .map_err(ApiError::storage)
}

/// One event of a lead's log, as the archive keeps it.
#[derive(Debug, Deserialize)]
pub struct LogRow {
    pub lead_id: String,
    pub seq: f64,
    pub at: f64,
    pub kind: String,
    pub actor: String,
    pub detail: String,
}

/// What a chunk's files say: its leads as the replayable export writes them, as the metrics read
/// them (merged repeats and bots are not leads of their own there), and every event, in order.
pub struct Contents {
    pub leads: Vec<ExportRow>,
    pub records: Vec<LeadRecord>,
    pub log: Vec<LogRow>,
}

/// The chunk's contents, in one batch (`ids`: a JSON array).
pub async fn contents(db: &Db, ids: &str) -> Result<Contents, ApiError> {
    const WHICH: &str = "l.id IN (SELECT value FROM json_each(?1))";
    let bind = [JsValue::from_str(ids)];
    let leads = db
        .prepare(format!(
            "{EXPORT_SELECT}{WHICH} ORDER BY l.created_at, l.id"
        ))
        .bind(&bind)
        .map_err(ApiError::storage)?;
    let log = db
        .prepare(
            "SELECT lead_id, seq, at, kind, actor, detail FROM lead_events \
             WHERE lead_id IN (SELECT value FROM json_each(?1)) ORDER BY lead_id, seq",
        )
        .bind(&bind)
        .map_err(ApiError::storage)?;
    let [record_leads, record_events] = lead_reads(db, WHICH, &bind)?;
    let results = db
        .batch(vec![leads, log, record_leads, record_events])
        .await?;
    let (leads, log) = read_pair(&results, 0)?;
    let (rows, events) = read_pair(&results, 2)?;
    Ok(Contents {
        leads,
        records: records(rows, events),
        log,
    })
}

/// The tables whose rows belong to a lead, children first: each row of the chunk's leads goes,
/// then the leads, then their entries in the rollups' ledger (which the deletes just marked).
const OWNED: [&str; 8] = [
    "lead_events",
    "outbox",
    "rotation_log",
    "idempotency_keys",
    "sla_steps",
    "sla_clocks",
    "crm_records",
    "leads",
];

/// The batch that removes the chunk's leads (`ids`: a JSON array) and marks the chunk done: one
/// statement per table, all or nothing.
pub fn remove_statements(
    db: &Db,
    key: &str,
    ids: &str,
    now_ms: f64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let mut out = Vec::with_capacity(OWNED.len() + 2);
    for table in OWNED {
        let column = if table == "leads" { "id" } else { "lead_id" };
        out.push(
            db.prepare(format!(
                "DELETE FROM {table} WHERE {column} IN (SELECT value FROM json_each(?1))"
            ))
            .bind(&[ids.into()])
            .map_err(ApiError::storage)?,
        );
    }
    out.push(
        db.prepare("DELETE FROM metric_leads WHERE lead_id IN (SELECT value FROM json_each(?1))")
            .bind(&[ids.into()])
            .map_err(ApiError::storage)?,
    );
    out.push(
        db.prepare("UPDATE archive_chunks SET done_at = ?2 WHERE key = ?1")
            .bind(&[key.into(), JsValue::from_f64(now_ms)])
            .map_err(ApiError::storage)?,
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use handoff_core::status::LeadStatus;

    /// The statuses the partial index and the query name are exactly handoff-core's closed ones.
    #[test]
    fn closed_is_every_status_that_is_not_open() {
        let listed: Vec<&str> = super::CLOSED
            .split(',')
            .map(|s| s.trim().trim_matches('\''))
            .collect();
        let closed: Vec<&str> = LeadStatus::ALL
            .iter()
            .filter(|s| !s.is_open())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(listed, closed);
    }
}
