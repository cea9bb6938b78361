//! Reporting: `GET /v1/metrics` from the rollups (`rollups.rs`: handoff-core's partials per day,
//! hour and group, the leads changed since their last fold and the range's ragged ends read
//! directly), the numbers of `metrics::compute`, the function `handoff metrics` runs on an export. Also the exports: the records as JSON lines
//! (what the CLI reads) and a CSV of leads with their outcomes (acceptance, first contact, the
//! deal won or lost and its amount) for people.

use handoff_core::metrics::{summarize, GroupBy, LeadRecord, Query};
use worker::{Env, Request, Response};

use std::rc::Rc;

use crate::error::ApiError;
use crate::http::{bad_query, json, param, query as pairs};
use crate::paged::{self, Download};
use crate::rollups;
use crate::store::metrics::{record_page, After};
use crate::store::Db;

/// The latest instant a query may name: the end of the year 9999, the last one an RFC 3339 date
/// can write.
pub const MAX_TIME_MS: i64 = 253_402_300_799_999;
/// The default range: the last 30 days.
const DEFAULT_RANGE_MS: i64 = 30 * 86_400_000;

/// `from`, `to` (ms since the epoch up to [`MAX_TIME_MS`], `to` exclusive; default the last 30
/// days up to `now_ms`) and `group_by` from the query string; `400 bad_query` for anything else.
/// The range is `[from, to)`: empty when `from` is not before `to`. Its length is not capped: what
/// a report or an export costs grows with the leads in it, never with the span (rollups, pages).
/// The replayable export (`export.rs`) reads its range by the same rules.
pub fn query(req: &Request, now_ms: i64) -> Result<Query, ApiError> {
    let pairs = pairs(req)?;
    let param = |name: &str| param(&pairs, name);
    let time = |name: &str, default: i64| match param(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|t| (0..=MAX_TIME_MS).contains(t))
            .ok_or_else(|| {
                bad_query(format!(
                    "{name} is a time in ms since the epoch, from 0 to {MAX_TIME_MS}."
                ))
            }),
    };
    let to = time("to", now_ms.clamp(0, MAX_TIME_MS))?;
    let from = time("from", to.saturating_sub(DEFAULT_RANGE_MS).max(0))?;
    let group_by = match param("group_by") {
        None => GroupBy::All,
        Some(g) => GroupBy::parse(g)
            .ok_or_else(|| bad_query(format!("group_by is {}.", GroupBy::listed())))?,
    };
    Ok(Query {
        from_ms: from,
        to_ms: to,
        group_by,
    })
}

/// `GET /v1/metrics?from&to&group_by` (admin): handoff-core's report over the range, from the
/// rollups (`rollups::report`): `compute`'s numbers, medians and p90s within the sketch's bound.
pub async fn report(req: &Request, env: &Env, now_ms: i64) -> Result<Response, ApiError> {
    let query = query(req, now_ms)?;
    let db = Db::open(env)?;
    let report = rollups::report(&db, &query).await?;
    let response = json(200, &report)?;
    Ok(crate::http::with_d1_cost(response, &db, env))
}

/// Leads per page of the streamed exports (`paged.rs`): two D1 round trips each.
const PAGE: u32 = 500;

/// The counted leads of `query`'s range as records, streamed a page at a time (`paged::stream`),
/// each page encoded by `encode`.
async fn records_download(
    env: &Env,
    query: Query,
    download: Download,
    encode: fn(&[LeadRecord]) -> Vec<u8>,
) -> Result<Response, ApiError> {
    let db = Rc::new(Db::open(env)?);
    let (from, to) = (query.from_ms, query.to_ms);
    let page = move |after: Option<After>| {
        let db = db.clone();
        async move { record_page(&db, from, to, after.as_ref(), PAGE).await }
    };
    let key = |r: &LeadRecord| After {
        created_at: r.created_ms as f64,
        id: r.lead_id.clone(),
    };
    paged::stream(download, PAGE as usize, page, key, encode).await
}

/// `GET /v1/export/events.jsonl?from&to` (admin): one `LeadRecord` per line, what
/// `handoff metrics --events FILE` reads; streamed.
pub async fn export_jsonl(req: &Request, env: &Env, now_ms: i64) -> Result<Response, ApiError> {
    let download = Download {
        content_type: "application/x-ndjson",
        file_name: "handoff-leads.jsonl",
        prefix: Vec::new(),
    };
    records_download(env, query(req, now_ms)?, download, |records| {
        record_lines(records).into_bytes()
    })
    .await
}

/// Records as JSON lines, each ending in `\n`: the export's and the archive's `events/` files.
pub fn record_lines(records: &[LeadRecord]) -> String {
    let mut out = String::with_capacity(records.len() * 512);
    for record in records {
        // A record is plain data: encoding cannot fail; one that did would be left out rather
        // than cut the file.
        if let Ok(line) = serde_json::to_string(record) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// The CSV export's columns, one per [`csv_row`] cell.
const CSV_HEADER: &str =
    "lead_id,created_at,source,campaign,segment,owner,lifecycle,arm,notified_at,\
    first_touch_at,first_touch_seconds,within_sla,contacted,meeting,opportunity,rejected,\
    reject_reason,accepted_at,accept_seconds,accepted_in_time,won,lost,deal_amount,deal_currency";

/// `GET /v1/export/leads.csv?from&to` (admin): one row per lead with its outcome, for people and
/// spreadsheets, streamed. A cell a spreadsheet would read as a formula is prefixed with `'`.
pub async fn export_csv(req: &Request, env: &Env, now_ms: i64) -> Result<Response, ApiError> {
    let download = Download {
        content_type: "text/csv; charset=utf-8",
        file_name: "handoff-leads.csv",
        prefix: format!("{CSV_HEADER}\r\n").into_bytes(),
    };
    records_download(env, query(req, now_ms)?, download, |records| {
        let mut out = String::new();
        for record in records {
            let row: Vec<String> = csv_row(record).iter().map(|c| csv_cell(c)).collect();
            out.push_str(&row.join(","));
            out.push_str("\r\n");
        }
        out.into_bytes()
    })
    .await
}

/// One lead's cells, as [`CSV_HEADER`] names them: times in RFC 3339, durations in seconds from
/// creation, flags `1`/`0` (empty when they do not apply).
fn csv_row(record: &LeadRecord) -> Vec<String> {
    let s = summarize(record);
    let time = |ms: Option<i64>| ms.map(handoff_core::notify::rfc3339).unwrap_or_default();
    let seconds = |ms: Option<i64>| {
        ms.map(|t| ((t - record.created_ms) / 1000).to_string())
            .unwrap_or_default()
    };
    let flag = |b: bool| if b { "1" } else { "0" }.to_owned();
    vec![
        record.lead_id.clone(),
        handoff_core::notify::rfc3339(record.created_ms),
        record.source.clone().unwrap_or_default(),
        record.campaign.clone().unwrap_or_default(),
        record.segment.clone().unwrap_or_default(),
        record.owner.clone().unwrap_or_default(),
        record.lifecycle.clone(),
        record.arm.clone().unwrap_or_default(),
        time(s.notified_ms),
        time(s.first_touch_ms),
        seconds(s.first_touch_ms),
        s.within_sla.map(flag).unwrap_or_default(),
        flag(s.contacted),
        flag(s.meeting),
        flag(s.opportunity),
        flag(s.rejected.is_some()),
        s.rejected.clone().unwrap_or_default(),
        time(s.accepted_ms),
        seconds(s.accepted_ms),
        s.accepted_in_time.map(flag).unwrap_or_default(),
        flag(s.won),
        flag(s.lost),
        s.deal
            .as_ref()
            .map(|d| d.amount.to_string())
            .unwrap_or_default(),
        s.deal.map(|d| d.currency).unwrap_or_default(),
    ]
}

/// One CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break; text a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets a leading `'`.
fn csv_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::{csv_cell, csv_row, CSV_HEADER};
    use handoff_core::metrics::{EventRecord, LeadRecord};
    use serde_json::json;

    /// A won lead's row: accepted by the legacy link, contacted later, its deal's amount.
    #[test]
    fn a_row_has_a_cell_per_column() {
        let t0 = 1_795_000_000_000;
        let at = |min: i64, kind: &str, detail: serde_json::Value| EventRecord {
            at_ms: t0 + min * 60_000,
            kind: kind.into(),
            detail,
        };
        let record = LeadRecord {
            lead_id: "l-1".into(),
            created_ms: t0,
            owner: Some("maya".into()),
            lifecycle: "sql".into(),
            events: vec![
                at(2, "first_touch", json!({"via": "link"})),
                at(9, "touch", json!({"channel": "call"})),
                at(
                    99,
                    "outcome",
                    json!({"outcome": "won", "amount": 1200.5, "currency": "EUR"}),
                ),
            ],
            ..LeadRecord::default()
        };
        let row = csv_row(&record);
        let header: Vec<&str> = CSV_HEADER.split(',').collect();
        assert_eq!(row.len(), header.len());
        let cell = |name: &str| row[header.iter().position(|h| *h == name).unwrap()].as_str();
        assert_eq!(
            [
                cell("first_touch_seconds"),
                cell("accept_seconds"),
                cell("contacted"),
                cell("won"),
                cell("deal_amount"),
                cell("deal_currency"),
                cell("accepted_in_time"),
            ],
            ["540", "120", "1", "1", "1200.5", "EUR", ""]
        );
    }

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        for (input, expected) in [
            ("plain", "plain"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
            ("+1 555", "'+1 555"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("two\nlines", "\"two\nlines\""),
            ("", ""),
        ] {
            assert_eq!(csv_cell(input), expected, "{input}");
        }
    }
}
