//! Reporting: the leads of a date range and their event logs read from D1 (two indexed queries in
//! one batch), turned into handoff-core's `LeadRecord`s, and measured by `metrics::compute`, the
//! same function `handoff metrics` runs on an export. Also the exports: the records as JSON lines
//! (what the CLI reads) and a CSV of leads with their outcomes (acceptance, first contact, the
//! deal won or lost and its amount) for people.

use handoff_core::metrics::{compute, summarize, EventRecord, GroupBy, LeadRecord, Query};
use worker::{Env, Request, Response, Url};

use crate::error::ApiError;
use crate::http::{bad_query, json, param, query as pairs};
use crate::store::metrics::{export_page, range, ExportRow, LeadRow};

/// The longest range one request may cover: a little over a year.
const MAX_RANGE_MS: i64 = 400 * 86_400_000;
/// The default range: the last 30 days.
const DEFAULT_RANGE_MS: i64 = 30 * 86_400_000;

/// `from`, `to` (ms since the epoch, `to` exclusive; default the last 30 days up to `now_ms`) and
/// `group_by` from the query string; `400 bad_query` for anything else.
fn query(req: &Request, now_ms: i64) -> Result<Query, ApiError> {
    let pairs = pairs(req)?;
    let param = |name: &str| param(&pairs, name);
    let time = |name: &str, default: i64| match param(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|t| *t >= 0)
            .ok_or_else(|| bad_query(format!("{name} is a time in ms since the epoch."))),
    };
    let to = time("to", now_ms)?;
    let from = time("from", to.saturating_sub(DEFAULT_RANGE_MS))?;
    if from >= to || to - from > MAX_RANGE_MS {
        return Err(bad_query(format!(
            "from must come before to, at most {} days apart.",
            MAX_RANGE_MS / 86_400_000
        )));
    }
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

/// The records of every lead created in `[from, to)`: merged repeats (folded into the open lead)
/// and bots are not leads of their own here. One batch, two indexed queries: leads by
/// `created_at`, their events by `lead_id`.
pub async fn records(env: &Env, from_ms: i64, to_ms: i64) -> Result<Vec<LeadRecord>, ApiError> {
    let (leads, events) = range(env, from_ms, to_ms).await?;
    let mut by_lead: std::collections::HashMap<String, Vec<EventRecord>> =
        std::collections::HashMap::with_capacity(leads.len());
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
    Ok(leads
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
        .collect())
}

/// `GET /v1/metrics?from&to&group_by` (admin): handoff-core's report over the range.
pub async fn report(req: &Request, env: &Env, now_ms: i64) -> Result<Response, ApiError> {
    let query = query(req, now_ms)?;
    let records = records(env, query.from_ms, query.to_ms).await?;
    json(200, &compute(&records, &query))
}

/// `GET /v1/export/events.jsonl?from&to` (admin): one `LeadRecord` per line, what
/// `handoff metrics --events FILE` reads.
pub async fn export_jsonl(req: &Request, env: &Env, now_ms: i64) -> Result<Response, ApiError> {
    let query = query(req, now_ms)?;
    let records = records(env, query.from_ms, query.to_ms).await?;
    let mut body = String::new();
    for record in &records {
        body.push_str(
            &serde_json::to_string(record)
                .map_err(|_| ApiError::new(500, "internal", "The export could not be encoded."))?,
        );
        body.push('\n');
    }
    download(body, "application/x-ndjson", "handoff-leads.jsonl")
}

/// Leads per page of the replayable export: one D1 round trip and at most this many rows in
/// memory at a time, however long the range.
const EXPORT_PAGE: u32 = 500;

/// `GET /v1/export/leads.jsonl?from&to` (admin): every lead created in the range, oldest first,
/// as a line `handoff route` and `handoff simulate` read: what it said (answers, activity,
/// context, visitor, attribution, the CRM's facts) and what became of it (`outcome`: status,
/// verdict, holder, merge, arm, SLA clock and first touch). Streamed a page at a time (keyset
/// paging), so memory stays bounded whatever the range.
pub async fn export_leads(req: &Request, env: &Env, now_ms: i64) -> Result<Response, ApiError> {
    let query = query(req, now_ms)?;
    let db = crate::store::Db::open(env)?;
    // The first page is read before answering, so a storage failure is an error, not a cut body.
    let first = export_page(&db, query.from_ms, query.to_ms, None, EXPORT_PAGE).await?;
    let state = (db, query, Some(Ok(first)));
    let pages = futures_util::stream::unfold(state, |(db, query, page)| async move {
        let rows = match page? {
            Ok(rows) if rows.is_empty() => return None,
            Ok(rows) => rows,
            // A page that cannot be read fails the body, so the download is visibly cut short
            // rather than quietly incomplete.
            Err(message) => {
                let error = worker::Error::from(message);
                return Some((Err(error), (db, query, None)));
            }
        };
        let last = rows.last().map(|r| (r.created_at, r.id.clone()));
        let full = rows.len() == EXPORT_PAGE as usize;
        let mut chunk = String::new();
        for row in rows {
            chunk.push_str(&export_line(row));
            chunk.push('\n');
        }
        let next = match (full, last) {
            (true, Some((at, id))) => {
                let after = Some((at, id.as_str()));
                export_page(&db, query.from_ms, query.to_ms, after, EXPORT_PAGE)
                    .await
                    .map_err(|e| format!("the export stopped: {}", e.message))
            }
            _ => Ok(Vec::new()),
        };
        Some((Ok(chunk.into_bytes()), (db, query, Some(next))))
    });
    let mut response = Response::from_stream(pages)
        .map_err(|_| ApiError::new(500, "internal", "The export could not be made."))?;
    let headers = response.headers_mut();
    let _ = headers.set("content-type", "application/x-ndjson");
    let _ = headers.set(
        "content-disposition",
        "attachment; filename=\"handoff-leads.jsonl\"",
    );
    Ok(response)
}

/// One lead of the replayable export as its JSON line.
fn export_line(row: ExportRow) -> String {
    export_value(row).to_string()
}

/// One lead of the replayable export.
fn export_value(row: ExportRow) -> serde_json::Value {
    use handoff_core::encode::rfc3339;
    use serde_json::{json, Value};
    let parse = |text: Option<&str>| text.and_then(|t| serde_json::from_str::<Value>(t).ok());
    let time = |ms: Option<f64>| {
        ms.map(|m| m as i64)
            .filter(|m| *m < i64::MAX / 2)
            .map(rfc3339)
    };
    let inputs = parse(row.inputs.as_deref()).unwrap_or(Value::Null);
    let steps: Vec<handoff_core::sla::StepDue> = row
        .steps
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let sla = row.policy.as_ref().map(|policy| {
        let ladder: Vec<Value> = steps
            .iter()
            .map(|s| json!({"level": s.level, "at": time(Some(s.due_ms as f64)), "to": s.to}))
            .collect();
        json!({
            "policy": policy, "first_touch_due": time(row.first_touch_due),
            "accept_due": time(row.accept_due), "ladder": ladder,
        })
    });
    let assignee = match (&row.owner_kind, &row.owner_id) {
        (Some(kind), Some(id)) => json!({"kind": kind, "id": id}),
        _ => Value::Null,
    };
    let arm = match (&row.experiment, &row.arm) {
        (Some(e), Some(a)) => json!({"experiment": e, "arm": a}),
        _ => Value::Null,
    };
    json!({
        "id": row.id, "form": row.form_id, "at": rfc3339(row.created_at as i64),
        "answers": parse(Some(&row.answers)).unwrap_or_else(|| json!({})),
        "activity": inputs.get("activity").cloned().unwrap_or_else(|| json!([])),
        "context": inputs.get("context").cloned().unwrap_or_else(|| json!({})),
        "visitor": row.visitor,
        "attribution": parse(row.attribution.as_deref()).unwrap_or_else(|| json!({})),
        "facts": inputs.get("facts").cloned().unwrap_or(Value::Null),
        "bundle_version": row.bundle_version,
        "outcome": {
            "status": row.status, "lifecycle": row.lifecycle, "score": row.score.map(|s| s as i64),
            "grade": row.grade, "disqualify_reason": row.disqualify_reason, "assignee": assignee,
            "merged_into": row.merged_into, "previous_lead": row.previous_lead, "arm": arm,
            "sla": sla, "first_touch_at": time(row.touched_at),
        },
    })
}

/// The most leads a preview replays: its memory and time stay bounded (about 20 MB and a few
/// seconds), and a longer period is `truncated`.
const PREVIEW_LEADS: usize = 20_000;
/// The changed leads a preview lists.
const PREVIEW_LISTED: usize = 200;

/// `POST /v1/config/preview?days=N` (admin, a TOML body): the configuration checked as `PUT
/// /v1/config` checks it, then the leads of the last `days` (default 30, at most 90) replayed in
/// order through it and through the active configuration, as `handoff simulate --baseline`
/// does: the summary and the first changed leads. Nothing is activated.
pub async fn preview(
    req: &mut Request,
    env: &Env,
    bundle: &crate::store::BundleOnce,
    now_ms: i64,
) -> Result<Response, ApiError> {
    use handoff_core::compare::{summarize, Outcome, Row};
    use handoff_core::replay::{read_arrival, Run};
    let pairs = pairs(req)?;
    let days = crate::http::parse_number(param(&pairs, "days"), 30, 90, || {
        "days is a whole number from 1 to 90.".to_owned()
    })?;
    let candidate = match crate::config::candidate(req).await? {
        Ok(candidate) => candidate,
        Err(answer) => return Ok(answer),
    };
    let active = bundle.get(env).await?;
    let from_ms = now_ms.saturating_sub(i64::from(days) * 86_400_000);
    let db = crate::store::Db::open(env)?;
    let (mut before, mut after) = (Run::default(), Run::default());
    let (mut rows, mut skipped, mut truncated) = (Vec::new(), 0u64, false);
    let mut cursor: Option<(f64, String)> = None;
    'pages: loop {
        let after_key = cursor.as_ref().map(|(at, id)| (*at, id.as_str()));
        let page = export_page(&db, from_ms, now_ms, after_key, EXPORT_PAGE).await?;
        let full = page.len() == EXPORT_PAGE as usize;
        cursor = page.last().map(|r| (r.created_at, r.id.clone()));
        for row in page {
            if rows.len() >= PREVIEW_LEADS {
                truncated = true;
                break 'pages;
            }
            let n = rows.len() + 1;
            let placed = read_arrival(export_value(row), n, "", now_ms)
                .ok()
                .and_then(|(a, _, _)| {
                    let b = before.place(&active, &a).ok()?;
                    let c = after.place(&candidate, &a).ok()?;
                    Some(Row {
                        id: a.id.clone(),
                        at_ms: a.at_ms,
                        before: Outcome::of(&b),
                        after: Outcome::of(&c),
                        touched: None,
                    })
                });
            match placed {
                Some(row) => rows.push(row),
                // A form one side does not have.
                None => skipped += 1,
            }
        }
        if !full {
            break;
        }
    }
    let (summary, changed) = summarize(&mut rows, false, now_ms);
    let listed: Vec<serde_json::Value> = rows
        .iter()
        .zip(&changed)
        .filter(|(_, c)| !c.is_empty())
        .take(PREVIEW_LISTED)
        .map(|(r, c)| {
            let at = handoff_core::encode::rfc3339(r.at_ms);
            serde_json::json!({"id": r.id, "at": at, "before": r.before, "after": r.after, "changed": c})
        })
        .collect();
    json(
        200,
        &serde_json::json!({
            "version": candidate.version, "active": active.version, "days": days,
            "from_ms": from_ms, "to_ms": now_ms, "truncated": truncated, "skipped": skipped,
            "summary": summary, "changed": listed,
        }),
    )
}

/// The CSV export's columns, one per [`csv_row`] cell.
const CSV_HEADER: &str =
    "lead_id,created_at,source,campaign,segment,owner,lifecycle,arm,notified_at,\
    first_touch_at,first_touch_seconds,within_sla,contacted,meeting,opportunity,rejected,\
    reject_reason,accepted_at,accept_seconds,accepted_in_time,won,lost,deal_amount,deal_currency";

/// `GET /v1/export/leads.csv?from&to` (admin): one row per lead with its outcome, for people and
/// spreadsheets. A cell a spreadsheet would read as a formula is prefixed with `'`.
pub async fn export_csv(req: &Request, env: &Env, now_ms: i64) -> Result<Response, ApiError> {
    let query = query(req, now_ms)?;
    let records = records(env, query.from_ms, query.to_ms).await?;
    let mut body = format!("{CSV_HEADER}\r\n");
    for record in &records {
        let row: Vec<String> = csv_row(record).iter().map(|c| csv_cell(c)).collect();
        body.push_str(&row.join(","));
        body.push_str("\r\n");
    }
    download(body, "text/csv; charset=utf-8", "handoff-leads.csv")
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

fn download(body: String, content_type: &str, name: &str) -> Result<Response, ApiError> {
    let mut response = Response::ok(body)
        .map_err(|_| ApiError::new(500, "internal", "The export could not be made."))?;
    let headers = response.headers_mut();
    let _ = headers.set("content-type", content_type);
    let _ = headers.set(
        "content-disposition",
        &format!("attachment; filename=\"{name}\""),
    );
    Ok(response)
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
