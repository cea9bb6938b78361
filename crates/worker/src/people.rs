//! A person's data (admin): `GET /v1/people/{email}`, everything Handoff holds about them in one
//! JSON document (right of access, portability), and `DELETE /v1/people/{email}`, every copy
//! erased or anonymized as handoff-core's `erase` says: the archive's files in R2 rewritten under
//! the same keys (found through `archive_people`, never by listing the bucket), the visitor
//! profiles deleted from KV, then D1 in one batch (all or nothing). Each step is safe to repeat,
//! so a failure half-way is answered `503` and the same request again finishes the work.
//! A person nothing names is `404 person_not_found`; so is a second erasure of the same person.

use std::collections::{BTreeMap, BTreeSet};

use handoff_core::crm::person_subject;
use handoff_core::email::normalize;
use handoff_core::erase;
use serde::Serialize;
use serde_json::{json, Value};
use worker::{Bucket, Env, HttpMetadata, Response};

use crate::archive::{index_key, FOLDERS};
use crate::error::ApiError;
use crate::http::json;
use crate::plan::Chunks;
use crate::store::people::{self, Erasure, Held, Indexed, Row};
use crate::store::{self, profile, Db};

/// Who the path names: the address as the intake normalizes it, its `crm_facts` subject (the
/// leads' `person_key`) and its name in the archive index.
struct Person {
    email: String,
    key: String,
    hash: String,
}

fn person(env: &Env, raw: &str) -> Result<Person, ApiError> {
    let bad = || {
        // Text that is not an address names no one Handoff holds: the same answer as an
        // address it holds nothing about, so the path's schema is any text.
        ApiError::new(
            404,
            "person_not_found",
            "No one has this address: it is not a valid email address.",
        )
    };
    let decoded: String = js_sys::decode_uri_component(raw).map_err(|_| bad())?.into();
    let email = normalize(&decoded).map_err(|_| bad())?;
    let key = person_subject(&email);
    let hash = erase::person_hash(&index_key(env), &key);
    Ok(Person { email, key, hash })
}

fn not_found() -> ApiError {
    ApiError::new(
        404,
        "person_not_found",
        "Handoff holds nothing about this email address.",
    )
}

/// The columns that hold JSON text, answered as the JSON they are.
const JSON_COLUMNS: [&str; 9] = [
    "answers",
    "attribution",
    "evaluation",
    "inputs",
    "detail",
    "payload",
    "snapshot",
    "steps",
    "summary",
];

fn parsed(mut rows: Vec<Row>) -> Vec<Row> {
    for row in &mut rows {
        for column in JSON_COLUMNS {
            let value = row.get(column).and_then(Value::as_str);
            if let Some(v) = value.and_then(|t| serde_json::from_str::<Value>(t).ok()) {
                row.insert(column.to_owned(), v);
            }
        }
    }
    rows
}

/// `GET /v1/people/{email}`: the person's leads (answers, attribution and consent, evaluation,
/// inputs), their events, outbox messages, SLA clocks, CRM records and the CRM's facts, their
/// visitor profiles, and their archived lines.
pub async fn export(env: &Env, raw: &str) -> Result<Response, ApiError> {
    let person = person(env, raw)?;
    let db = Db::open(env)?;
    let held = people::held(&db, &person.key, &person.hash).await?;
    if held.is_empty() {
        return Err(not_found());
    }
    let archived = match held.archived.is_empty() {
        true => Archived::default(),
        false => archived(&bucket(env)?, &held.archived).await?,
    };
    let mut profiles = Vec::new();
    for visitor in visitors(&held.leads, &archived.leads) {
        if let Some(text) = profile::profile_text(env, &visitor).await? {
            let fields: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            profiles.push(json!({ "visitor": visitor, "fields": fields }));
        }
    }
    json(
        200,
        &json!({
            "email": person.email,
            "leads": parsed(held.leads),
            "events": parsed(held.events),
            "outbox": parsed(held.outbox),
            "sla_clocks": parsed(held.sla_clocks),
            "crm_records": parsed(held.crm_records),
            "crm_facts": held.crm_facts,
            "profiles": profiles,
            "archived": archived,
        }),
    )
}

/// What one erasure removed or anonymized, per store: the answer's `erased`, and all the
/// `erasures` row keeps.
#[derive(Debug, Default, Serialize)]
struct Counts {
    leads: usize,
    events: usize,
    outbox: usize,
    sla_clocks: usize,
    crm_records: usize,
    crm_facts: usize,
    profiles: usize,
    archived: usize,
    archive_files: usize,
}

/// `DELETE /v1/people/{email}`: every copy erased (see the module's comment); `200 {erased:
/// counts, erasure: id}`.
pub async fn erase(env: &Env, raw: &str, now_ms: f64) -> Result<Response, ApiError> {
    let person = person(env, raw)?;
    let db = Db::open(env)?;
    let held = people::held(&db, &person.key, &person.hash).await?;
    if held.is_empty() {
        return Err(not_found());
    }
    let mut needles = erase::needles(Some(&person.email), &Value::Null);
    for lead in &held.leads {
        let answers = lead.get("answers").and_then(Value::as_str).unwrap_or("{}");
        let answers = serde_json::from_str(answers).unwrap_or(Value::Null);
        let email = lead.get("email").and_then(Value::as_str);
        merge(&mut needles, erase::needles(email, &answers));
    }
    let mut counts = Counts::default();
    let mut visitors = visitors(&held.leads, &[]);
    if !held.archived.is_empty() {
        let done = erase_archive(&bucket(env)?, &held.archived, &needles).await?;
        (counts.archived, counts.archive_files) = (done.leads, done.files);
        visitors.extend(done.visitors);
    }
    for visitor in visitors {
        if profile::profile_text(env, &visitor).await?.is_some() {
            profile::forget(env, &visitor).await?;
            counts.profiles += 1;
        }
    }
    let (leads, events, changed) = live(&held, &needles);
    counts.leads = held.leads.len();
    counts.events = changed;
    counts.outbox = held.outbox.len();
    counts.sla_clocks = held.sla_clocks.len();
    counts.crm_records = held.crm_records.len();
    counts.crm_facts = held.crm_facts.len();
    let ids: Vec<&str> = held.leads.iter().filter_map(|l| text(l, "id")).collect();
    let id = crate::uuid::random_uuid();
    let encoded = serde_json::to_string(&counts)
        .map_err(|_| ApiError::new(500, "internal", "The erasure could not be encoded."))?;
    let erasure = Erasure {
        id: &id,
        at_ms: now_ms,
        person_key: &person.key,
        person_hash: &person.hash,
        ids: &serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into()),
        leads,
        events,
        counts: &encoded,
    };
    store::commit(&db, people::erase_statements(&db, &erasure)?).await?;
    json(200, &json!({ "erased": counts, "erasure": id }))
}

fn text<'r>(row: &'r Row, column: &str) -> Option<&'r str> {
    row.get(column).and_then(Value::as_str)
}

fn merge(into: &mut Vec<String>, more: Vec<String>) {
    for needle in more {
        if !into.contains(&needle) {
            into.push(needle);
        }
    }
}

/// The visitor tokens of the person's live leads and archived lines, once each.
fn visitors(leads: &[Row], archived: &[Value]) -> BTreeSet<String> {
    let live = leads.iter().filter_map(|l| text(l, "visitor"));
    let old = archived.iter().filter_map(|l| l["visitor"].as_str());
    live.chain(old).map(str::to_owned).collect()
}

/// The live leads' anonymized attribution and evaluation, and the events whose detail changed
/// (with how many), as JSON arrays for the erasure's set-based statements.
fn live(held: &Held, needles: &[String]) -> (Chunks, Chunks, usize) {
    let mut leads = Chunks::default();
    for lead in &held.leads {
        let evaluation = text(lead, "evaluation")
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .map(|mut v| {
                erase::evaluation(&mut v);
                v.to_string()
            });
        leads.push(&json!({
            "id": lead.get("id"),
            "attribution": erase::attribution_text(text(lead, "attribution")),
            "evaluation": evaluation,
        }));
    }
    let mut events = Chunks::default();
    let mut changed = 0;
    for event in &held.events {
        let kind = text(event, "kind").unwrap_or_default();
        let detail = text(event, "detail").unwrap_or("{}");
        let Ok(mut detail) = serde_json::from_str::<Value>(detail) else {
            continue;
        };
        if erase::event_detail(kind, &mut detail, needles) {
            changed += 1;
            events.push(&json!({ "seq": event.get("seq"), "detail": detail.to_string() }));
        }
    }
    (leads, events, changed)
}

fn bucket(env: &Env) -> Result<Bucket, ApiError> {
    env.bucket("ARCHIVE").map_err(|_| {
        ApiError::new(
            503,
            "archive_unbound",
            "The index names archived leads but the Worker has no ARCHIVE bucket.",
        )
    })
}

fn unavailable() -> ApiError {
    ApiError::new(
        503,
        "archive_unavailable",
        "R2 did not answer; please retry.",
    )
}

/// The chunks that hold the person's archived leads, each with those leads' ids.
fn chunks(archived: &[Indexed]) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut out: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for row in archived {
        out.entry(&row.chunk).or_default().insert(&row.lead_id);
    }
    out
}

/// A file's lines (none when the object is missing).
async fn read_lines(bucket: &Bucket, key: &str) -> Result<Vec<String>, ApiError> {
    let object = bucket.get(key).execute().await.map_err(|_| unavailable())?;
    let Some(body) = object.as_ref().and_then(|o| o.body()) else {
        return Ok(Vec::new());
    };
    let text = body.text().await.map_err(|_| unavailable())?;
    Ok(text
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

async fn write_lines(bucket: &Bucket, key: &str, lines: &[String]) -> Result<(), ApiError> {
    let mut body = lines.join("\n");
    body.push('\n');
    bucket
        .put(key, body)
        .http_metadata(HttpMetadata {
            content_type: Some("application/x-ndjson".into()),
            ..HttpMetadata::default()
        })
        .execute()
        .await
        .map(|_| ())
        .map_err(|_| unavailable())
}

/// The lead a line of `folder` is about: `id` in `leads/`, `lead_id` in the others.
fn lead_of<'v>(folder: &str, line: &'v Value) -> Option<&'v str> {
    line[if folder == "leads" { "id" } else { "lead_id" }].as_str()
}

/// The person's lines of one file, parsed.
fn theirs(folder: &str, lines: &[String], ids: &BTreeSet<&str>) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| lead_of(folder, v).is_some_and(|id| ids.contains(id)))
        .collect()
}

/// The person's archived lines: their leads (`leads/`), metrics records (`events/`) and log.
#[derive(Debug, Default, Serialize)]
struct Archived {
    leads: Vec<Value>,
    records: Vec<Value>,
    log: Vec<Value>,
}

async fn archived(bucket: &Bucket, index: &[Indexed]) -> Result<Archived, ApiError> {
    let mut out = Archived::default();
    for (chunk, ids) in chunks(index) {
        for folder in FOLDERS {
            let lines = read_lines(bucket, &format!("{folder}/{chunk}.jsonl")).await?;
            let list = match folder {
                "leads" => &mut out.leads,
                "events" => &mut out.records,
                _ => &mut out.log,
            };
            list.extend(theirs(folder, &lines, &ids));
        }
    }
    Ok(out)
}

/// What the archive's rewrite did: archived leads anonymized, files written back, and the
/// visitor tokens those leads named (their KV profiles go too).
#[derive(Default)]
struct ArchiveErased {
    leads: usize,
    files: usize,
    visitors: Vec<String>,
}

/// Rewrites the lines of `ids` in `lines` with `change`; how many changed.
fn rewrite(
    folder: &str,
    lines: &mut [String],
    ids: &BTreeSet<&str>,
    mut change: impl FnMut(&mut Value) -> bool,
) -> usize {
    let mut changed = 0;
    for line in lines.iter_mut() {
        let Ok(mut v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if lead_of(folder, &v).is_some_and(|id| ids.contains(id)) && change(&mut v) {
            *line = v.to_string();
            changed += 1;
        }
    }
    changed
}

/// Each chunk holding the person: its `leads/` lines anonymized first (their answers added to
/// what free text is searched for), then its `events/` and `log/` lines; each changed file is
/// put back under its key (an R2 put replaces the object whole).
async fn erase_archive(
    bucket: &Bucket,
    index: &[Indexed],
    needles: &[String],
) -> Result<ArchiveErased, ApiError> {
    let mut done = ArchiveErased::default();
    for (chunk, ids) in chunks(index) {
        let mut needles = needles.to_vec();
        for folder in FOLDERS {
            let key = format!("{folder}/{chunk}.jsonl");
            let mut lines = read_lines(bucket, &key).await?;
            let changed = match folder {
                "leads" => rewrite(folder, &mut lines, &ids, |line| {
                    merge(&mut needles, erase::needles(None, &line["answers"]));
                    if let Some(v) = line["visitor"].as_str() {
                        done.visitors.push(v.to_owned());
                    }
                    erase::export_line(line)
                }),
                "events" => rewrite(folder, &mut lines, &ids, |l| {
                    erase::record_line(l, &needles)
                }),
                _ => rewrite(folder, &mut lines, &ids, |l| erase::log_line(l, &needles)),
            };
            if folder == "leads" {
                done.leads += changed;
            }
            if changed > 0 {
                write_lines(bucket, &key, &lines).await?;
                done.files += 1;
            }
        }
    }
    Ok(done)
}
