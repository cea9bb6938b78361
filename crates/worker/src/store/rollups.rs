//! The rollups' statements (migration 0015, handoff-core's `metrics::rollup`): a report's one
//! batch of reads (the rows of its whole days and hours, the folded entries of the leads changed
//! since, and the leads read directly: those and the range's ragged ends), and the fold's reads
//! and its one write batch, guarded so that a fold whose reads went stale writes nothing. Lists of
//! keys and rows travel as one JSON parameter each (`json_each`), so a statement's size and its
//! count of bound parameters do not grow with the chunk.

use handoff_core::metrics::rollup::{Plan, DAY_MS, HOUR_MS};
use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::metrics::{lead_reads, read_pair, EventRow, LeadRow};
use super::Db;
use crate::error::ApiError;

/// A rollup row as a report reads it.
#[derive(Debug, Deserialize)]
pub struct RollupRow {
    pub start: f64,
    pub key: String,
    pub partial: String,
}

/// A changed lead's folded entry (JSON `metrics::rollup::Entry`).
#[derive(Debug, Deserialize)]
pub struct EntryRow {
    pub entry: String,
}

/// What a report reads: rows, the changed leads' entries, and the leads read directly.
#[derive(Debug)]
pub struct ReportReads {
    pub rows: Vec<RollupRow>,
    pub entries: Vec<EntryRow>,
    pub leads: Vec<LeadRow>,
    pub events: Vec<EventRow>,
}

fn span(spans: &[(i64, i64)], i: usize) -> [JsValue; 2] {
    let (a, b) = spans.get(i).copied().unwrap_or((0, 0));
    [JsValue::from_f64(a as f64), JsValue::from_f64(b as f64)]
}

fn rows_of<T: for<'de> Deserialize<'de>>(
    results: &[worker::D1Result],
    at: usize,
) -> Result<Vec<T>, ApiError> {
    results
        .get(at)
        .ok_or_else(|| ApiError::storage(worker::Error::from("rollup reads")))?
        .results()
        .map_err(ApiError::storage)
}

/// One batch: the rows of `group_by` in the plan's days and hours, the entries of the leads
/// changed since their fold in the rolled span, and the leads to read directly (those, and the
/// ones created in the plan's rest) with their events.
pub async fn report_reads(db: &Db, group_by: &str, plan: &Plan) -> Result<ReportReads, ApiError> {
    let days: Vec<(i64, i64)> = plan.days.into_iter().collect();
    let rolled: Vec<(i64, i64)> = plan.rolled.into_iter().collect();
    let mut binds = vec![
        JsValue::from_str(group_by),
        JsValue::from_f64(DAY_MS as f64),
        JsValue::from_f64(HOUR_MS as f64),
    ];
    binds.extend(span(&days, 0));
    binds.extend(span(&plan.hours, 0));
    binds.extend(span(&plan.hours, 1));
    let rows = db
        .prepare(
            "SELECT start, key, partial FROM metric_rollups \
             WHERE group_by = ?1 AND width = ?2 AND start >= ?4 AND start < ?5 \
             UNION ALL SELECT start, key, partial FROM metric_rollups \
             WHERE group_by = ?1 AND width = ?3 AND start >= ?6 AND start < ?7 \
             UNION ALL SELECT start, key, partial FROM metric_rollups \
             WHERE group_by = ?1 AND width = ?3 AND start >= ?8 AND start < ?9",
        )
        .bind(&binds)
        .map_err(ApiError::storage)?;
    let entries = db
        .prepare(
            "SELECT entry FROM metric_leads WHERE version > folded \
             AND created_at >= ?1 AND created_at < ?2 AND entry IS NOT NULL",
        )
        .bind(&span(&rolled, 0))
        .map_err(ApiError::storage)?;
    let mut live = Vec::with_capacity(6);
    live.extend(span(&plan.rest, 0));
    live.extend(span(&plan.rest, 1));
    live.extend(span(&rolled, 0));
    let [leads, events] = lead_reads(
        db,
        "(l.created_at >= ?1 AND l.created_at < ?2) OR (l.created_at >= ?3 AND l.created_at < ?4) \
         OR l.id IN (SELECT m.lead_id FROM metric_leads m WHERE m.version > m.folded \
         AND m.created_at >= ?5 AND m.created_at < ?6)",
        &live,
    )?;
    let results = db.batch(vec![rows, entries, leads, events]).await?;
    let (leads, events) = read_pair(&results, 2)?;
    Ok(ReportReads {
        rows: rows_of(&results, 0)?,
        entries: rows_of(&results, 1)?,
        leads,
        events,
    })
}

/// A lead waiting to be folded: the version read, what it last folded, and whether it still
/// exists.
#[derive(Debug, Deserialize)]
pub struct DirtyRow {
    pub lead_id: String,
    pub version: f64,
    pub folded: f64,
    pub entry: Option<String>,
    pub present: f64,
}

/// What a fold reads of its chunk.
#[derive(Debug)]
pub struct FoldReads {
    pub dirty: Vec<DirtyRow>,
    pub leads: Vec<LeadRow>,
    pub events: Vec<EventRow>,
}

/// The chunk's leads: the dirty ones, oldest first (`metric_leads_dirty`).
const CHUNK: &str = "SELECT lead_id FROM metric_leads WHERE version > folded \
                     ORDER BY created_at LIMIT ?1";

/// One batch, one snapshot: up to `limit` dirty leads with their versions and folded entries,
/// and the counted ones among them with their events.
pub async fn fold_reads(db: &Db, limit: u32) -> Result<FoldReads, ApiError> {
    let limit = [JsValue::from_f64(f64::from(limit))];
    let dirty = db
        .prepare(format!(
            "SELECT m.lead_id, m.version, m.folded, m.entry, \
             EXISTS (SELECT 1 FROM leads WHERE id = m.lead_id) AS present \
             FROM metric_leads m WHERE m.lead_id IN ({CHUNK})"
        ))
        .bind(&limit)
        .map_err(ApiError::storage)?;
    let [leads, events] = lead_reads(db, &format!("l.id IN ({CHUNK})"), &limit)?;
    let results = db.batch(vec![dirty, leads, events]).await?;
    let (leads, events) = read_pair(&results, 1)?;
    Ok(FoldReads {
        dirty: rows_of(&results, 0)?,
        leads,
        events,
    })
}

/// A rollup row as a fold reads it, with its revision.
#[derive(Debug, Deserialize)]
pub struct StoredRow {
    pub group_by: String,
    pub width: f64,
    pub start: f64,
    pub key: String,
    pub partial: String,
    pub rev: f64,
}

/// The stored rows among `keys` (JSON `[[group_by, width, start, key], …]`).
pub async fn stored_rows(db: &Db, keys: &str) -> Result<Vec<StoredRow>, ApiError> {
    let statement = db
        .prepare(
            "SELECT r.group_by, r.width, r.start, r.key, r.partial, r.rev FROM json_each(?1) j \
             JOIN metric_rollups r ON r.group_by = json_extract(j.value, '$[0]') \
             AND r.width = json_extract(j.value, '$[1]') AND r.start = json_extract(j.value, '$[2]') \
             AND r.key = json_extract(j.value, '$[3]')",
        )
        .bind(&[JsValue::from_str(keys)])
        .map_err(ApiError::storage)?;
    db.rows(statement).await
}

/// What a fold writes, each a JSON list.
#[derive(Debug, Default)]
pub struct FoldWrite {
    /// `[[lead_id, folded], …]`: each lead's `folded` as read; the batch fails if one moved.
    pub lead_checks: String,
    /// `[[group_by, width, start, key, rev], …]`: each row's revision as read (0: no row); the
    /// batch fails if one moved.
    pub row_checks: String,
    /// Chunks of `[[group_by, width, start, key, partial], …]`: rows to write.
    pub rows: Vec<String>,
    /// `[[group_by, width, start, key], …]`: rows left without leads, removed.
    pub emptied: String,
    /// `[[lead_id, version, entry or null], …]`: what each lead now adds, as of its version read.
    pub leads: String,
    /// `[lead_id, …]`: leads that no longer exist, whose rows go.
    pub gone: String,
}

/// The fold's one batch (one transaction): the guard first, then every write.
pub async fn write_fold(db: &Db, w: &FoldWrite) -> Result<(), ApiError> {
    let text = |s: &str| JsValue::from_str(s);
    let mut statements = vec![
        db.prepare(
            "INSERT INTO metric_fold_guard (ok) SELECT \
             (SELECT COUNT(*) FROM json_each(?1) j JOIN metric_leads m \
              ON m.lead_id = json_extract(j.value, '$[0]') \
              AND m.folded = json_extract(j.value, '$[1]')) = json_array_length(?1) \
             AND (SELECT COUNT(*) FROM json_each(?2) j LEFT JOIN metric_rollups r \
              ON r.group_by = json_extract(j.value, '$[0]') AND r.width = json_extract(j.value, '$[1]') \
              AND r.start = json_extract(j.value, '$[2]') AND r.key = json_extract(j.value, '$[3]') \
              WHERE COALESCE(r.rev, 0) = json_extract(j.value, '$[4]')) = json_array_length(?2)",
        )
        .bind(&[text(&w.lead_checks), text(&w.row_checks)])
        .map_err(ApiError::storage)?,
        db.prepare("DELETE FROM metric_fold_guard")
            .bind(&[])
            .map_err(ApiError::storage)?,
    ];
    for rows in &w.rows {
        statements.push(
            db.prepare(
                "INSERT INTO metric_rollups (group_by, width, start, key, partial, rev) \
                 SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), \
                 json_extract(value, '$[2]'), json_extract(value, '$[3]'), \
                 json_extract(value, '$[4]'), 1 FROM json_each(?1) WHERE true \
                 ON CONFLICT (group_by, width, start, key) \
                 DO UPDATE SET partial = excluded.partial, rev = metric_rollups.rev + 1",
            )
            .bind(&[text(rows)])
            .map_err(ApiError::storage)?,
        );
    }
    statements.push(
        db.prepare(
            "DELETE FROM metric_rollups WHERE (group_by, width, start, key) IN \
             (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), \
             json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each(?1))",
        )
        .bind(&[text(&w.emptied)])
        .map_err(ApiError::storage)?,
    );
    statements.push(
        db.prepare(
            "UPDATE metric_leads SET folded = json_extract(j.value, '$[1]'), \
             entry = json_extract(j.value, '$[2]') FROM json_each(?1) AS j \
             WHERE metric_leads.lead_id = json_extract(j.value, '$[0]')",
        )
        .bind(&[text(&w.leads)])
        .map_err(ApiError::storage)?,
    );
    statements.push(
        db.prepare("DELETE FROM metric_leads WHERE lead_id IN (SELECT value FROM json_each(?1))")
            .bind(&[text(&w.gone)])
            .map_err(ApiError::storage)?,
    );
    db.batch(statements).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use handoff_core::metrics::READS;

    /// The kinds whose events mark a lead for the fold (migration 0015's `metric_event_kinds`) are
    /// exactly those handoff-core's metrics read, in the same order.
    #[test]
    fn the_kinds_that_mark_a_lead_are_the_kinds_the_metrics_read() {
        let migration = include_str!("../../../../migrations/0015_rollups.sql");
        let start = migration
            .find("INSERT INTO metric_event_kinds (kind) VALUES")
            .unwrap_or(0);
        let values = &migration[start..];
        let values = &values[..values.find(';').unwrap_or(values.len())];
        let kinds: Vec<&str> = values.split('\'').skip(1).step_by(2).collect();
        let core: Vec<&str> = READS.iter().map(|k| k.as_str()).collect();
        assert_eq!(kinds, core);
    }
}
