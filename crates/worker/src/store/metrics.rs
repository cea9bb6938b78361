//! What the metrics and exports read: the leads created in a range (merged repeats and bots left
//! out) with their stored lifecycle, and the events that matter of those leads (acceptance,
//! contact, outcomes, status changes, lifecycle raises, clocks), two indexed queries in one batch.

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::Env;

use super::Db;
use crate::error::ApiError;

/// The event kinds the metrics read (docs/METRICS.md); the rest of a lead's log is left in D1.
const KINDS: &str = "'notified', 'accepted', 'first_touch', 'touch', 'outcome', \
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

/// The leads created in `[from, to)`, by `created_at`, and their events (in no order: sorting a
/// few hundred thousand rows in SQL would need a temporary B-tree). One batch, two indexed
/// queries: leads by `created_at`, their events by `lead_id`.
pub async fn range(
    env: &Env,
    from_ms: i64,
    to_ms: i64,
) -> Result<(Vec<LeadRow>, Vec<EventRow>), ApiError> {
    let db = Db::open(env)?;
    let range = [
        JsValue::from_f64(from_ms as f64),
        JsValue::from_f64(to_ms as f64),
    ];
    let leads = db
        .prepare(
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
             FROM leads l WHERE l.created_at >= ?1 AND l.created_at < ?2 \
             AND l.status != 'merged' AND COALESCE(l.disqualify_reason, '') != 'bot' \
             ORDER BY l.created_at, l.id",
        )
        .bind(&range)
        .map_err(ApiError::storage)?;
    let events = db
        .prepare(format!(
            "SELECT e.lead_id, e.at, e.kind, e.detail FROM leads l \
             JOIN lead_events e ON e.lead_id = l.id \
             WHERE l.created_at >= ?1 AND l.created_at < ?2 AND l.status != 'merged' \
             AND COALESCE(l.disqualify_reason, '') != 'bot' AND e.kind IN ({KINDS})"
        ))
        .bind(&range)
        .map_err(ApiError::storage)?;
    let results = db.batch(vec![leads, events]).await?;
    let (Some(leads), Some(events)) = (results.first(), results.get(1)) else {
        return Err(ApiError::storage(worker::Error::from("metrics reads")));
    };
    let leads: Vec<LeadRow> = leads.results().map_err(ApiError::storage)?;
    let events: Vec<EventRow> = events.results().map_err(ApiError::storage)?;
    Ok((leads, events))
}

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
        .prepare(
            "SELECT l.id, l.form_id, l.created_at, l.answers, l.visitor, l.attribution, l.inputs, \
             l.bundle_version, l.status, l.lifecycle, l.score, l.grade, l.disqualify_reason, \
             l.owner_kind, l.owner_id, l.merged_into, l.previous_lead, l.experiment, l.arm, \
             c.policy, c.first_touch_due, c.accept_due, c.steps, c.touched_at, \
             (SELECT json_group_array(json_object('at', e.at, 'to', json_extract(e.detail, '$.to'))) \
              FROM lead_events e WHERE e.lead_id = l.id AND e.kind = 'status_changed') AS statuses, \
             (SELECT json_group_array(json_object('push', r.push_id, 'record', r.record_id, \
              'url', r.url)) FROM crm_records r WHERE r.lead_id = l.id \
              AND r.record_id IS NOT NULL) AS crm \
             FROM leads l LEFT JOIN sla_clocks c ON c.lead_id = l.id \
             WHERE (l.created_at, l.id) > (?1, ?2) AND l.created_at < ?3 \
             ORDER BY l.created_at, l.id LIMIT ?4",
        )
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
