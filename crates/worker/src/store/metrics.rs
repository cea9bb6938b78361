//! What the metrics and exports read: the leads created in a range (merged repeats and bots left
//! out) with their stored lifecycle, and the events that matter of those leads (acceptance,
//! contact, outcomes, status changes, lifecycle raises, clocks), two indexed queries in one batch
//! (`lead_reads`, which the rollups' reads share), and `records`, those rows as handoff-core's
//! `LeadRecord`s.

use std::collections::HashMap;

use handoff_core::metrics::{EventRecord, LeadRecord};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1PreparedStatement, D1Result, Url};

use super::Db;
use crate::error::ApiError;

/// The event kinds the metrics read (docs/METRICS.md); the rest of a lead's log is left in D1.
pub(super) const KINDS: &str = "'notified', 'accepted', 'first_touch', 'touch', 'outcome', \
                     'status_changed', 'lifecycle_raised', 'sla_started'";

/// A lead as the metrics read it.
#[derive(Debug, Deserialize)]
pub struct LeadRow {
    pub id: String,
    pub created_at: f64,
    pub utm_source: Option<String>,
    pub utm_campaign: Option<String>,
    pub referrer: Option<String>,
    pub grade: Option<String>,
    pub lifecycle: Option<String>,
    pub owner_id: Option<String>,
    pub experiment: Option<String>,
    pub arm: Option<String>,
    /// A JSON array of the scoring rules that gave the lead points.
    pub rules: Option<String>,
    /// The derived attributes stored in the lead's evaluation.
    pub country_code: Option<String>,
    pub region_code: Option<String>,
    pub function: Option<String>,
    pub seniority: Option<String>,
}

/// One event of a lead, unordered; `detail` is the stored JSON text.
#[derive(Debug, Deserialize)]
pub struct EventRow {
    pub lead_id: String,
    pub at: f64,
    pub kind: String,
    pub detail: String,
}

/// A lead as the metrics read it, from `leads l`: its attributes, the rules that gave it points,
/// the derived attributes of its evaluation.
const LEAD_SELECT: &str =
    "SELECT l.id, l.created_at, json_extract(l.attribution, '$.utm.source') AS utm_source, \
     json_extract(l.attribution, '$.utm.campaign') AS utm_campaign, \
     json_extract(l.attribution, '$.referrer') AS referrer, l.grade, l.lifecycle, \
     l.owner_id, l.experiment, l.arm, \
     json_extract(l.evaluation, '$.country_code') AS country_code, \
     json_extract(l.evaluation, '$.region_code') AS region_code, \
     json_extract(l.evaluation, '$.function') AS function, \
     json_extract(l.evaluation, '$.seniority') AS seniority, \
     (SELECT json_group_array(json_extract(b.value, '$.rule')) \
      FROM json_each(l.evaluation, '$.score.breakdown') b \
      WHERE json_extract(b.value, '$.points') > 0 \
      AND json_extract(b.value, '$.rule') NOT IN ('cap', 'floor')) AS rules \
     FROM leads l WHERE ";

/// The leads the metrics count: merged repeats and bots are not leads of their own.
const COUNTED: &str = " AND l.status != 'merged' AND COALESCE(l.disqualify_reason, '') != 'bot'";

/// The two statements that read the counted leads that `which` (a constant condition on `l`, with
/// `binds`) selects, by `created_at`, and their events (in no order: sorting a few hundred
/// thousand rows in SQL would need a temporary B-tree).
pub fn lead_reads(
    db: &Db,
    which: &str,
    binds: &[JsValue],
) -> Result<[D1PreparedStatement; 2], ApiError> {
    let leads = db
        .prepare(format!(
            "{LEAD_SELECT}({which}){COUNTED} ORDER BY l.created_at, l.id"
        ))
        .bind(binds)
        .map_err(ApiError::storage)?;
    let events = db
        .prepare(format!(
            "SELECT e.lead_id, e.at, e.kind, e.detail FROM leads l \
             JOIN lead_events e ON e.lead_id = l.id WHERE ({which}){COUNTED} \
             AND e.kind IN ({KINDS})"
        ))
        .bind(binds)
        .map_err(ApiError::storage)?;
    Ok([leads, events])
}

/// The rows of two statements of a batch's results, from `at`.
pub fn read_pair<A, B>(results: &[D1Result], at: usize) -> Result<(Vec<A>, Vec<B>), ApiError>
where
    A: for<'de> Deserialize<'de>,
    B: for<'de> Deserialize<'de>,
{
    let (Some(a), Some(b)) = (results.get(at), results.get(at + 1)) else {
        return Err(ApiError::storage(worker::Error::from("metrics reads")));
    };
    Ok((
        a.results().map_err(ApiError::storage)?,
        b.results().map_err(ApiError::storage)?,
    ))
}

/// Where a lead came from, as the reports group it: the UTM source, else the referring site's
/// host, else `direct`.
fn source(row: &LeadRow) -> String {
    if let Some(s) = row.utm_source.as_deref().filter(|s| !s.is_empty()) {
        return s.to_owned();
    }
    row.referrer
        .as_deref()
        .and_then(|r| Url::parse(r).ok())
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_start_matches("www.").to_owned())
        })
        .unwrap_or_else(|| "direct".to_owned())
}

/// The leads' rows and their events' rows as handoff-core's records, in the leads' order.
pub fn records(leads: Vec<LeadRow>, events: Vec<EventRow>) -> Vec<LeadRecord> {
    let mut by_lead: HashMap<String, Vec<EventRecord>> = HashMap::with_capacity(leads.len());
    for e in events {
        by_lead.entry(e.lead_id).or_default().push(EventRecord {
            at_ms: e.at as i64,
            kind: e.kind,
            detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
        });
    }
    // No ORDER BY in SQL (it would sort a few hundred thousand rows in a temporary B-tree): each
    // lead's events are put in order here, by time and then as stored.
    for events in by_lead.values_mut() {
        events.sort_by_key(|e| e.at_ms);
    }
    leads
        .into_iter()
        .map(|row| LeadRecord {
            source: Some(source(&row)),
            campaign: row.utm_campaign.clone().filter(|c| !c.is_empty()),
            segment: row.grade.clone(),
            owner: row.owner_id.clone(),
            lifecycle: row.lifecycle.clone().unwrap_or_default(),
            arm: match (&row.experiment, &row.arm) {
                (Some(e), Some(a)) => Some(format!("{e}/{a}")),
                _ => None,
            },
            country: row.country_code.clone(),
            region: row.region_code.clone(),
            function: row.function.clone(),
            seniority: row.seniority.clone(),
            rules: row
                .rules
                .as_deref()
                .and_then(|r| serde_json::from_str::<Vec<Option<String>>>(r).ok())
                .map(|r| r.into_iter().flatten().collect())
                .unwrap_or_default(),
            events: by_lead.remove(&row.id).unwrap_or_default(),
            created_ms: row.created_at as i64,
            lead_id: row.id,
        })
        .collect()
}

/// One page of the counted leads created in `[from, to)` after `after` (none: from the start),
/// oldest first, at most `limit`, as records: the page's ids by keyset through `leads_created_id`,
/// then their rows and events by id ([`lead_reads`]). Two round trips, whatever the range.
pub async fn record_page(
    db: &Db,
    from_ms: i64,
    to_ms: i64,
    after: Option<&After>,
    limit: u32,
) -> Result<Vec<LeadRecord>, ApiError> {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    let (after_at, after_id) = after.map_or((from_ms as f64, ""), |a| (a.created_at, &a.id));
    let ids: Vec<Id> = db
        .rows(
            db.prepare(format!(
                "SELECT l.id FROM leads l WHERE (l.created_at, l.id) > (?1, ?2) \
                 AND l.created_at < ?3{COUNTED} ORDER BY l.created_at, l.id LIMIT ?4"
            ))
            .bind(&[
                JsValue::from_f64(after_at),
                JsValue::from_str(after_id),
                JsValue::from_f64(to_ms as f64),
                JsValue::from_f64(f64::from(limit)),
            ])
            .map_err(ApiError::storage)?,
        )
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = ids.iter().map(|i| i.id.as_str()).collect();
    let ids = serde_json::to_string(&ids).map_err(|_| ApiError::new(500, "internal", "ids"))?;
    let which = "l.id IN (SELECT value FROM json_each(?1))";
    let results = db
        .batch(lead_reads(db, which, &[JsValue::from_str(&ids)])?.into())
        .await?;
    let (leads, events) = read_pair(&results, 0)?;
    Ok(records(leads, events))
}

/// A lead as the replayable export reads it, from `leads l` and its clock `c`: its inputs, its
/// outcome with its status changes (through `lead_events_lead`, a few rows per lead) and CRM
/// records, and its SLA clock.
pub(super) const EXPORT_SELECT: &str =
    "SELECT l.id, l.form_id, l.created_at, l.answers, l.visitor, l.attribution, l.inputs, \
     l.bundle_version, l.status, l.lifecycle, l.score, l.grade, l.disqualify_reason, \
     l.owner_kind, l.owner_id, l.merged_into, l.previous_lead, l.experiment, l.arm, \
     c.policy, c.first_touch_due, c.accept_due, c.steps, c.touched_at, \
     (SELECT json_group_array(json_object('at', e.at, 'to', json_extract(e.detail, '$.to'))) \
      FROM lead_events e WHERE e.lead_id = l.id AND e.kind = 'status_changed') AS statuses, \
     (SELECT json_group_array(json_object('push', r.push_id, 'record', r.record_id, \
      'url', r.url)) FROM crm_records r WHERE r.lead_id = l.id \
      AND r.record_id IS NOT NULL) AS crm \
     FROM leads l LEFT JOIN sla_clocks c ON c.lead_id = l.id WHERE ";

/// A lead as the replayable export writes it: its inputs, its outcome, and its SLA clock.
#[derive(Debug, Deserialize)]
pub struct ExportRow {
    pub id: String,
    pub form_id: String,
    pub created_at: f64,
    pub answers: String,
    pub visitor: Option<String>,
    pub attribution: Option<String>,
    /// JSON `{activity, context, facts}`; `None` for leads stored before it was kept.
    pub inputs: Option<String>,
    pub bundle_version: String,
    pub status: String,
    pub lifecycle: Option<String>,
    pub score: Option<f64>,
    pub grade: Option<String>,
    pub disqualify_reason: Option<String>,
    pub owner_kind: Option<String>,
    pub owner_id: Option<String>,
    pub merged_into: Option<String>,
    pub previous_lead: Option<String>,
    pub experiment: Option<String>,
    pub arm: Option<String>,
    pub policy: Option<String>,
    pub first_touch_due: Option<f64>,
    pub accept_due: Option<f64>,
    /// JSON: the ladder, handoff-core's `StepDue`s.
    pub steps: Option<String>,
    pub touched_at: Option<f64>,
    /// JSON `[{at, to}]`: the lead's status changes (`status_changed` events), in the order
    /// they were written.
    pub statuses: Option<String>,
    /// JSON `[{push, record, url}]`: the lead's records in the CRMs it was pushed to.
    pub crm: Option<String>,
}

/// Where a page of the replayable export starts: after this lead (`created_at`, `id`).
#[derive(Debug, Clone, PartialEq)]
pub struct After {
    pub created_at: f64,
    pub id: String,
}

/// One page of the leads created in `[from, to)` after `after` (`created_at`, `id`; none: from
/// the start), oldest first, at most `limit`: keyset paging that seeks into the
/// `leads_created_id` index (`created_at`, `id`) at the last page's end, so each page costs the
/// same however far into the range it is. Every lead, bots and merged repeats included, with its
/// status changes (read through `lead_events_lead`, a few rows per lead).
pub async fn export_page(
    db: &Db,
    from_ms: i64,
    to_ms: i64,
    after: Option<&After>,
    limit: u32,
) -> Result<Vec<ExportRow>, ApiError> {
    // Ids are never empty, so (from, '') is just before the range's first lead.
    let (after_at, after_id) = after.map_or((from_ms as f64, ""), |a| (a.created_at, &a.id));
    let statement = db
        .prepare(format!(
            "{EXPORT_SELECT}(l.created_at, l.id) > (?1, ?2) AND l.created_at < ?3 \
                 ORDER BY l.created_at, l.id LIMIT ?4"
        ))
        .bind(&[
            JsValue::from_f64(after_at),
            JsValue::from_str(after_id),
            JsValue::from_f64(to_ms as f64),
            JsValue::from_f64(f64::from(limit)),
        ])
        .map_err(ApiError::storage)?;
    db.rows(statement).await
}

#[cfg(test)]
mod tests {
    use handoff_core::metrics::READS;

    /// The kinds read in SQL are exactly those handoff-core's metrics read, in the same order.
    #[test]
    fn the_kinds_read_are_the_kinds_the_metrics_read() {
        let sql: Vec<&str> = super::KINDS
            .split(',')
            .map(|k| k.trim().trim_matches('\''))
            .collect();
        let core: Vec<&str> = READS.iter().map(|k| k.as_str()).collect();
        assert_eq!(sql, core);
    }
}
