//! The replayable export, `GET /v1/export/leads.jsonl`: every lead of a range as a JSON line with
//! what it said (answers, activity, context, visitor, attribution, the CRM's facts as the intake
//! read them) and what became of it (`outcome`), what `handoff route` and `handoff simulate` read.
//! Streamed (`paged.rs`): a keyset page of leads is read, written as lines and handed to the body
//! before the next page is read, so memory holds one page whatever the range.

use handoff_core::encode::rfc3339_short;
use handoff_core::sla::{EscalateTo, StepDue};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use worker::{Env, Request, Response};

use std::rc::Rc;

use crate::error::ApiError;
use crate::metrics::query;
use crate::paged::{self, Download};
use crate::store::metrics::{export_page, After, ExportRow};
use crate::store::Db;

/// Leads per page: one D1 round trip and at most this many leads in memory at a time.
pub const EXPORT_PAGE: u32 = 500;

/// `GET /v1/export/leads.jsonl?from&to` (admin): every lead created in `[from, to)` (the metrics'
/// range rules: ms since the epoch, empty when `from` is not before `to`), bots and merged repeats included, oldest
/// first (`created_at`, then `id`), one JSON line each ([`ExportLine`]), streamed a page at a time.
pub async fn export_leads(req: &Request, env: &Env, now_ms: i64) -> Result<Response, ApiError> {
    let query = query(req, now_ms)?;
    let (from, to) = (query.from_ms, query.to_ms);
    let db = Rc::new(Db::open(env)?);
    let download = Download {
        content_type: "application/x-ndjson",
        file_name: "handoff-leads.jsonl",
        prefix: Vec::new(),
    };
    let page = move |after: Option<After>| {
        let db = db.clone();
        async move { export_page(&db, from, to, after.as_ref(), EXPORT_PAGE).await }
    };
    let key = |row: &ExportRow| After {
        created_at: row.created_at,
        id: row.id.clone(),
    };
    paged::stream(download, EXPORT_PAGE as usize, page, key, |rows| {
        page_lines(rows).into_bytes()
    })
    .await
}

/// A page of leads as JSON lines, each ending in `\n`.
pub fn page_lines(rows: &[ExportRow]) -> String {
    let mut out = String::with_capacity(rows.len() * 512);
    for row in rows {
        // Every part is either checked JSON or a plain value, so encoding cannot fail; a line
        // that did would be left out rather than cut the export.
        if let Ok(line) = serde_json::to_string(&ExportLine::from_row(row)) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// One lead of the export, its keys in this order (the README's admin API table).
#[derive(Debug, Serialize)]
pub struct ExportLine<'a> {
    pub id: &'a str,
    pub form: &'a str,
    /// RFC 3339, UTC, milliseconds only when they are not zero.
    pub at: String,
    pub answers: Stored<'a>,
    /// The activity items the request sent; `[]` for leads stored before inputs were kept.
    pub activity: Stored<'a>,
    /// The request's `SubmitContext`; `{}` for leads stored before inputs were kept.
    pub context: Stored<'a>,
    pub visitor: Option<&'a str>,
    pub attribution: Stored<'a>,
    /// The CRM's `SuppressionFacts` the intake read; `null` when it read none.
    pub facts: Option<Stored<'a>>,
    pub bundle_version: &'a str,
    pub outcome: Outcome<'a>,
}

/// What became of the lead.
#[derive(Debug, Serialize)]
pub struct Outcome<'a> {
    pub status: &'a str,
    pub lifecycle: Option<&'a str>,
    pub score: Option<i64>,
    pub grade: Option<&'a str>,
    pub disqualify_reason: Option<&'a str>,
    pub assignee: Option<Holder<'a>>,
    pub merged_into: Option<&'a str>,
    pub previous_lead: Option<&'a str>,
    pub arm: Option<Arm<'a>>,
    pub sla: Option<Clock<'a>>,
    /// When the lead was first touched, if it was: `handoff simulate` counts breaches by it.
    pub first_touch_at: Option<String>,
    /// Every status the lead moved to after `new`, oldest first: a replay frees an owner's
    /// capacity when the lead really left the statuses that hold it.
    pub statuses: Vec<StatusAt>,
    /// The lead's records in the CRMs it was pushed to (`[[crm.push]]`): `[{push, record, url}]`;
    /// left out when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crm: Option<Stored<'a>>,
}

/// A status the lead moved to, and when.
#[derive(Debug, Serialize)]
pub struct StatusAt {
    pub at: String,
    pub to: String,
}

/// A stored status change, as the export's query reads it.
#[derive(Deserialize)]
struct StoredStatus {
    at: f64,
    to: Option<String>,
}

/// Who holds the lead.
#[derive(Debug, Serialize)]
pub struct Holder<'a> {
    pub kind: &'a str,
    pub id: &'a str,
}

/// The experiment arm that placed the lead.
#[derive(Debug, Serialize)]
pub struct Arm<'a> {
    pub experiment: &'a str,
    pub arm: &'a str,
}

/// The lead's SLA clock as started.
#[derive(Debug, Serialize)]
pub struct Clock<'a> {
    pub policy: &'a str,
    /// `null` for a clock that never falls due.
    pub first_touch_due: Option<String>,
    pub accept_due: Option<String>,
    pub ladder: Vec<Step>,
}

/// A step of the escalation ladder.
#[derive(Debug, Serialize)]
pub struct Step {
    pub level: u32,
    pub at: String,
    pub to: EscalateTo,
}

/// A stored JSON value written as it is stored (re-encoded on one line if it spans several), or
/// an empty object or array where there is none.
#[derive(Debug)]
pub enum Stored<'a> {
    Raw(&'a RawValue),
    Value(serde_json::Value),
    EmptyObject,
    EmptyArray,
}

impl Serialize for Stored<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Stored::Raw(raw) => raw.serialize(serializer),
            Stored::Value(value) => value.serialize(serializer),
            Stored::EmptyObject => serializer.serialize_map(Some(0))?.end(),
            Stored::EmptyArray => serializer.serialize_seq(Some(0))?.end(),
        }
    }
}

/// The `inputs` column: `{activity, context, facts}` as the intake wrote them.
#[derive(Debug, Default, Deserialize)]
struct Inputs<'a> {
    #[serde(borrow, default)]
    activity: Option<&'a RawValue>,
    #[serde(borrow, default)]
    context: Option<&'a RawValue>,
    #[serde(borrow, default)]
    facts: Option<&'a RawValue>,
}

/// Stored JSON text to write as it is; `None` if there is none or it is not JSON.
fn raw(text: Option<&str>) -> Option<&RawValue> {
    text.and_then(|t| serde_json::from_str::<&RawValue>(t).ok())
}

/// A stored value for a line: as stored, or re-encoded if it has line breaks (between tokens:
/// JSON strings hold none), which would split the lead's line.
fn one_line(raw: &RawValue) -> Option<Stored<'_>> {
    if !raw.get().contains('\n') {
        return Some(Stored::Raw(raw));
    }
    serde_json::from_str(raw.get()).ok().map(Stored::Value)
}

/// The lead's status changes, oldest first (a change without a status, never written, is left
/// out).
fn statuses(json: Option<&str>) -> Vec<StatusAt> {
    let mut list: Vec<StoredStatus> = json
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    list.sort_by(|a, b| a.at.total_cmp(&b.at));
    list.into_iter()
        .filter_map(|s| {
            Some(StatusAt {
                at: rfc3339_short(s.at as i64),
                to: s.to?,
            })
        })
        .collect()
}

/// A stored time in ms as RFC 3339; `None` for none, and for the far-future "never" deadline.
fn time(ms: Option<f64>) -> Option<String> {
    ms.map(|m| m as i64)
        .filter(|m| *m < i64::MAX / 2)
        .map(rfc3339_short)
}

impl<'a> ExportLine<'a> {
    /// The line of one stored lead.
    pub fn from_row(row: &'a ExportRow) -> ExportLine<'a> {
        let inputs: Inputs<'a> = row
            .inputs
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default();
        let kept = |v: Option<&'a RawValue>| v.and_then(one_line);
        let or = |v: Option<Stored<'a>>, empty: Stored<'a>| v.unwrap_or(empty);
        ExportLine {
            id: &row.id,
            form: &row.form_id,
            at: rfc3339_short(row.created_at as i64),
            answers: or(kept(raw(Some(&row.answers))), Stored::EmptyObject),
            activity: or(kept(inputs.activity), Stored::EmptyArray),
            context: or(kept(inputs.context), Stored::EmptyObject),
            visitor: row.visitor.as_deref(),
            attribution: or(kept(raw(row.attribution.as_deref())), Stored::EmptyObject),
            facts: kept(inputs.facts),
            bundle_version: &row.bundle_version,
            outcome: Outcome::from_row(row),
        }
    }
}

impl<'a> Outcome<'a> {
    fn from_row(row: &'a ExportRow) -> Outcome<'a> {
        let assignee = match (row.owner_kind.as_deref(), row.owner_id.as_deref()) {
            (Some(kind), Some(id)) => Some(Holder { kind, id }),
            _ => None,
        };
        let arm = match (row.experiment.as_deref(), row.arm.as_deref()) {
            (Some(experiment), Some(arm)) => Some(Arm { experiment, arm }),
            _ => None,
        };
        let sla = row.policy.as_deref().map(|policy| {
            let steps: Vec<StepDue> = row
                .steps
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default();
            Clock {
                policy,
                first_touch_due: time(row.first_touch_due),
                accept_due: time(row.accept_due),
                ladder: steps
                    .into_iter()
                    .map(|s| Step {
                        level: s.level,
                        at: rfc3339_short(s.due_ms),
                        to: s.to,
                    })
                    .collect(),
            }
        });
        Outcome {
            status: &row.status,
            lifecycle: row.lifecycle.as_deref(),
            score: row.score.map(|s| s as i64),
            grade: row.grade.as_deref(),
            disqualify_reason: row.disqualify_reason.as_deref(),
            assignee,
            merged_into: row.merged_into.as_deref(),
            previous_lead: row.previous_lead.as_deref(),
            arm,
            sla,
            first_touch_at: time(row.touched_at),
            statuses: statuses(row.statuses.as_deref()),
            crm: row
                .crm
                .as_deref()
                .filter(|c| *c != "[]")
                .and_then(|c| raw(Some(c)))
                .and_then(one_line),
        }
    }
}

/// The most leads a preview replays: its memory and time stay bounded (at this many, 57 MiB of
/// wasm memory and under 3 s on local workerd: `make bench-preview`, docs/BENCHMARKS.md), and a
/// longer period is `truncated`.
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
    use handoff_core::notify::Person;
    use handoff_core::replay::{read_arrival, Run};
    let memory = wasm_memory_mib();
    let pairs = crate::http::query(req)?;
    let days = crate::http::parse_number(crate::http::param(&pairs, "days"), 30, 90, || {
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
    // Who each replayed lead is, for the changed leads' list.
    let mut people: Vec<Person> = Vec::new();
    let mut cursor: Option<After> = None;
    'pages: loop {
        let page = export_page(&db, from_ms, now_ms, cursor.as_ref(), EXPORT_PAGE).await?;
        let full = page.len() == EXPORT_PAGE as usize;
        cursor = page.last().map(|r| After {
            created_at: r.created_at,
            id: r.id.clone(),
        });
        for row in page {
            if rows.len() >= PREVIEW_LEADS {
                truncated = true;
                break 'pages;
            }
            let n = rows.len() + 1;
            // The lead read back as its export line: what `handoff simulate` replays.
            let line = page_lines(std::slice::from_ref(&row));
            let value = serde_json::from_str(&line).unwrap_or(serde_json::Value::Null);
            let placed = read_arrival(value, n, "", now_ms)
                .ok()
                .and_then(|(a, _, _)| {
                    let b = before.place(&active, &a).ok()?;
                    let c = after.place(&candidate, &a).ok()?;
                    let compared = Row {
                        id: a.id.clone(),
                        at_ms: a.at_ms,
                        before: Outcome::of(&b),
                        after: Outcome::of(&c),
                        // A breach is judged by the first touch the lead really had.
                        touched: row.touched_at.map(|t| t as i64),
                    };
                    Some((compared, Person::of(&active.rules.forms, &b.evaluation)))
                });
            match placed {
                Some((row, person)) => {
                    rows.push(row);
                    people.push(person);
                }
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
        .zip(&people)
        .filter(|((_, c), _)| !c.is_empty())
        .take(PREVIEW_LISTED)
        .map(|((r, c), person)| {
            let at = handoff_core::encode::rfc3339(r.at_ms);
            serde_json::json!({"id": r.id, "at": at, "lead": person, "before": r.before, "after": r.after, "changed": c})
        })
        .collect();
    // The preview is the Worker's largest request: its size and the memory it took, for the
    // operator's log (the wasm memory never shrinks: this is the most the isolate has needed).
    worker::console_log!(
        "config preview: {} leads ({days} days), {} changed, {skipped} skipped, wasm memory {memory:.1} → {:.1} MiB",
        summary.leads,
        summary.changed,
        wasm_memory_mib()
    );
    crate::http::json(
        200,
        &serde_json::json!({
            "version": candidate.version, "active": active.version, "days": days,
            "from_ms": from_ms, "to_ms": now_ms, "truncated": truncated, "skipped": skipped,
            "summary": summary, "changed": listed,
        }),
    )
}

/// The Worker's wasm linear memory in MiB (0 off wasm).
fn wasm_memory_mib() -> f64 {
    #[cfg(target_arch = "wasm32")]
    let pages = core::arch::wasm32::memory_size(0);
    #[cfg(not(target_arch = "wasm32"))]
    let pages = 0usize;
    // A wasm page is 64 KiB.
    pages as f64 / 16.0
}

#[cfg(test)]
mod tests {
    use super::page_lines;
    use crate::store::metrics::ExportRow;

    /// A stored lead with nothing but what every lead has.
    fn bare(id: &str, created_at: f64) -> ExportRow {
        ExportRow {
            id: id.to_owned(),
            form_id: "demo".to_owned(),
            created_at,
            answers: r#"{"email":"a@b.example","company":"B"}"#.to_owned(),
            visitor: None,
            attribution: None,
            inputs: None,
            bundle_version: "sha256:x".to_owned(),
            status: "new".to_owned(),
            lifecycle: None,
            score: None,
            grade: None,
            disqualify_reason: None,
            owner_kind: None,
            owner_id: None,
            merged_into: None,
            previous_lead: None,
            experiment: None,
            arm: None,
            policy: None,
            first_touch_due: None,
            accept_due: None,
            steps: None,
            touched_at: None,
            statuses: None,
            crm: None,
        }
    }

    #[test]
    fn a_lead_stored_before_inputs_were_kept_exports_empty_ones() {
        let line = page_lines(&[bare("l1", 1_795_341_600_000.0)]);
        assert_eq!(
            line,
            concat!(
                r#"{"id":"l1","form":"demo","at":"2026-11-22T10:00:00Z","#,
                r#""answers":{"email":"a@b.example","company":"B"},"activity":[],"context":{},"#,
                r#""visitor":null,"attribution":{},"facts":null,"bundle_version":"sha256:x","#,
                r#""outcome":{"status":"new","lifecycle":null,"score":null,"grade":null,"#,
                r#""disqualify_reason":null,"assignee":null,"merged_into":null,"#,
                r#""previous_lead":null,"arm":null,"sla":null,"first_touch_at":null,"statuses":[]}}"#,
                "\n"
            )
        );
    }

    #[test]
    fn a_routed_lead_exports_its_inputs_holder_arm_and_clock_in_order() {
        let mut row = bare("l2", 1_795_341_600_250.0);
        row.visitor = Some("v-1".to_owned());
        row.attribution = Some(r#"{"utm_source":"ads"}"#.to_owned());
        row.inputs = Some(
            r#"{"activity":[{"kind":"pricing_view","at_ms":1}],"context":{"honeypot":"x","fill_ms":900},"facts":{"active_deal":false,"in_sequence":true,"last_contacted_ms":null}}"#
                .to_owned(),
        );
        row.status = "assigned".to_owned();
        row.lifecycle = Some("sql".to_owned());
        row.score = Some(72.0);
        row.grade = Some("A".to_owned());
        row.owner_kind = Some("owner".to_owned());
        row.owner_id = Some("ana".to_owned());
        row.experiment = Some("sla-speed".to_owned());
        row.arm = Some("fast".to_owned());
        row.policy = Some("hot".to_owned());
        row.first_touch_due = Some(1_795_343_400_000.0);
        row.steps = Some(
            r#"[{"level":1,"due_ms":1795343400000,"to":"team_lead","reassign":false}]"#.to_owned(),
        );
        row.touched_at = Some(1_795_342_500_000.0);
        // As the query reads them: in the order written, which need not be the order of times.
        row.statuses = Some(
            r#"[{"at":1795342500000,"to":"working"},{"at":1795342000000,"to":"accepted"}]"#
                .to_owned(),
        );
        let line = page_lines(&[row]);
        assert_eq!(
            line,
            concat!(
                r#"{"id":"l2","form":"demo","at":"2026-11-22T10:00:00.250Z","#,
                r#""answers":{"email":"a@b.example","company":"B"},"#,
                r#""activity":[{"kind":"pricing_view","at_ms":1}],"#,
                r#""context":{"honeypot":"x","fill_ms":900},"visitor":"v-1","#,
                r#""attribution":{"utm_source":"ads"},"#,
                r#""facts":{"active_deal":false,"in_sequence":true,"last_contacted_ms":null},"#,
                r#""bundle_version":"sha256:x","outcome":{"status":"assigned","lifecycle":"sql","#,
                r#""score":72,"grade":"A","disqualify_reason":null,"#,
                r#""assignee":{"kind":"owner","id":"ana"},"merged_into":null,"previous_lead":null,"#,
                r#""arm":{"experiment":"sla-speed","arm":"fast"},"sla":{"policy":"hot","#,
                r#""first_touch_due":"2026-11-22T10:30:00Z","accept_due":null,"#,
                r#""ladder":[{"level":1,"at":"2026-11-22T10:30:00Z","to":"team_lead"}]},"#,
                r#""first_touch_at":"2026-11-22T10:15:00Z","statuses":["#,
                r#"{"at":"2026-11-22T10:06:40Z","to":"accepted"},"#,
                r#"{"at":"2026-11-22T10:15:00Z","to":"working"}]}}"#,
                "\n"
            )
        );
    }

    #[test]
    fn stored_json_on_several_lines_is_put_on_one_and_broken_json_left_out() {
        let mut row = bare("l3", 0.0);
        row.answers = "{\n\"a\": 1}".to_owned();
        row.attribution = Some("not json".to_owned());
        row.inputs = Some(r#"{"activity":null,"context":{"fill_ms":5},"facts":null}"#.to_owned());
        let line = page_lines(&[row]);
        assert!(
            line.contains(r#""answers":{"a":1},"activity":[],"context":{"fill_ms":5},"#),
            "{line}"
        );
        assert!(line.contains(r#""attribution":{},"facts":null,"#), "{line}");
        assert_eq!(line.matches('\n').count(), 1);
    }
}
