//! Reports from rollups at the edge (migration 0015, handoff-core's `metrics::rollup`).
//!
//! `report`: `GET /v1/metrics` reads, in one batch, the rollup rows of its range's whole days and
//! hours, takes out the folded entries of the leads changed since their fold and puts in their
//! live records, and reads the range's ragged ends (under an hour each) directly: exact as of now,
//! at a few rows per day and group whatever the history.
//!
//! `fold`: each cron tick folds up to `ROLLUP_FOLD_LIMIT` dirty leads (the triggers mark a lead
//! in the same statement that writes anything the metrics read), a chunk at a time: read the
//! chunk's leads and logs, compute each lead's entry, read the rollup rows the old and new entries
//! touch, and write the rows, the entries and the versions folded in one batch, guarded by the
//! versions and revisions read, so that a fold racing another (or a write) changes nothing and is
//! retried by the next tick. A mark written after the read stays: its version is newer.

use std::collections::{BTreeMap, HashMap};

use handoff_core::metrics::rollup::{deltas, plan, rows_for, Entry, Gather, Partial, RowKey};
use handoff_core::metrics::{GroupBy, Query, Report};
use serde_json::{json, Value};
use worker::Env;

use crate::error::ApiError;
use crate::store::metrics::records;
use crate::store::rollups::{fold_reads, report_reads, stored_rows, write_fold, FoldWrite};
use crate::store::Db;

/// Leads folded per tick unless `ROLLUP_FOLD_LIMIT` says otherwise: one chunk, about ten D1
/// statements, within the free plan's 50 queries per invocation beside the tick's other work.
pub const FOLD_LIMIT: u32 = 200;
/// Leads per chunk (one read batch, one row read, one write batch).
const CHUNK: u32 = 200;
/// The largest JSON list of rows one statement writes (D1 caps a value at 2 MB).
const WRITE_BYTES: usize = 512 * 1024;

/// The report over `query`'s range (see the module's documentation).
pub async fn report(db: &Db, query: &Query) -> Result<Report, ApiError> {
    let plan = plan(query.from_ms, query.to_ms);
    let reads = report_reads(db, rows_for(query.group_by).as_str(), &plan).await?;
    let mut gather = Gather::new(query.group_by);
    for row in &reads.rows {
        match serde_json::from_str::<Partial>(&row.partial) {
            Ok(partial) => gather.row(row.start as i64, &row.key, &partial),
            Err(_) => worker::console_error!("rollup row unreadable: {}", row.key),
        }
    }
    for row in &reads.entries {
        match serde_json::from_str::<Entry>(&row.entry) {
            Ok(entry) => gather.entry(&entry, -1),
            Err(_) => worker::console_error!("folded entry unreadable"),
        }
    }
    for record in records(reads.leads, reads.events) {
        gather.entry(&Entry::of(record), 1);
    }
    Ok(gather.report(query))
}

/// What one tick's fold did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Folded {
    pub leads: u32,
    pub rows: u32,
    /// Dirty leads were left for the next tick.
    pub more: bool,
}

/// Folds up to `limit` dirty leads, a chunk at a time (see the module's documentation).
pub async fn fold(env: &Env, limit: u32) -> Result<Folded, ApiError> {
    let db = Db::open(env)?;
    let mut done = Folded::default();
    while done.leads < limit {
        let chunk = CHUNK.min(limit - done.leads);
        let (leads, rows) = fold_chunk(&db, chunk).await?;
        done.leads += leads;
        done.rows += rows;
        done.more = leads == chunk;
        if !done.more {
            break;
        }
    }
    Ok(done)
}

fn row_key(key: &RowKey) -> Value {
    json!([key.group_by.as_str(), key.width, key.start, key.key])
}

fn encode(value: &impl serde::Serialize) -> Result<String, ApiError> {
    serde_json::to_string(value)
        .map_err(|_| ApiError::new(500, "internal", "A rollup could not be encoded."))
}

/// One chunk: the leads folded and the rows written.
async fn fold_chunk(db: &Db, limit: u32) -> Result<(u32, u32), ApiError> {
    let reads = fold_reads(db, limit).await?;
    if reads.dirty.is_empty() {
        return Ok((0, 0));
    }
    let mut live: HashMap<String, Entry> = records(reads.leads, reads.events)
        .into_iter()
        .map(|r| (r.lead_id.clone(), Entry::of(r)))
        .collect();
    let mut changes = Vec::with_capacity(reads.dirty.len());
    let mut write = FoldWrite::default();
    let (mut checks, mut leads, mut gone) = (Vec::new(), Vec::new(), Vec::new());
    for d in &reads.dirty {
        // An entry that cannot be read cannot be taken out; the lead is folded anew rather than
        // blocking the queue.
        let old = d.entry.as_deref().and_then(|e| {
            let parsed = serde_json::from_str::<Entry>(e).ok();
            if parsed.is_none() {
                worker::console_error!("folded entry unreadable: {}", d.lead_id);
            }
            parsed
        });
        let new = live.remove(&d.lead_id);
        checks.push(json!([d.lead_id, d.folded as i64]));
        if d.present > 0.0 {
            let entry = new.as_ref().map(encode).transpose()?;
            leads.push(json!([d.lead_id, d.version as i64, entry]));
        } else {
            gone.push(json!(d.lead_id));
        }
        changes.push((old, new));
    }
    let deltas = deltas(changes.iter().map(|(o, n)| (o.as_ref(), n.as_ref())));
    let keys: Vec<Value> = deltas.keys().map(row_key).collect();
    let stored: BTreeMap<RowKey, (Partial, i64)> = stored_rows(db, &encode(&keys)?)
        .await?
        .into_iter()
        .filter_map(|r| {
            let key = RowKey {
                group_by: GroupBy::parse(&r.group_by)?,
                width: r.width as i64,
                start: r.start as i64,
                key: r.key,
            };
            // An unreadable row starts again from this fold's change (and is logged).
            let partial = serde_json::from_str(&r.partial).unwrap_or_else(|_| {
                worker::console_error!("rollup row unreadable: {}", key.key);
                Partial::default()
            });
            Some((key, (partial, r.rev as i64)))
        })
        .collect();
    let (mut row_checks, mut rows, mut emptied) = (Vec::new(), Vec::new(), Vec::new());
    for (key, delta) in &deltas {
        let (mut partial, rev) = stored.get(key).cloned().unwrap_or_default();
        partial.merge(delta, 1);
        let mut check = row_key(key);
        if let Some(list) = check.as_array_mut() {
            list.push(json!(rev));
        }
        row_checks.push(check);
        if partial.leads() == 0 {
            emptied.push(row_key(key));
        } else {
            let mut row = row_key(key);
            if let Some(list) = row.as_array_mut() {
                list.push(json!(encode(&partial)?));
            }
            rows.push(row);
        }
    }
    write.lead_checks = encode(&checks)?;
    write.row_checks = encode(&row_checks)?;
    write.rows = chunks(&rows)?;
    write.emptied = encode(&emptied)?;
    write.leads = encode(&leads)?;
    write.gone = encode(&gone)?;
    write_fold(db, &write).await?;
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok((count(reads.dirty.len()), count(deltas.len())))
}

/// The rows as JSON lists of at most `WRITE_BYTES` each (a row larger than that alone).
fn chunks(rows: &[Value]) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut size = 0;
    for row in rows {
        let text = encode(row)?;
        if size + text.len() > WRITE_BYTES && !current.is_empty() {
            out.push(format!("[{}]", current.join(",")));
            current.clear();
            size = 0;
        }
        size += text.len() + 1;
        current.push(text);
    }
    if !current.is_empty() {
        out.push(format!("[{}]", current.join(",")));
    }
    Ok(out)
}
