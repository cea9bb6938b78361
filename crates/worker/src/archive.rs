//! The archive: with the var `ARCHIVE_AFTER_DAYS`, each cron tick moves one chunk of closed leads
//! created and last changed before that many days ago from D1 to the R2 bucket `ARCHIVE`, as
//! three JSON-lines files under the month the leads were created in:
//! - `leads/<month>/<first>.jsonl`: the replayable export's lines (`handoff simulate --leads`);
//! - `events/<month>/<first>.jsonl`: the metrics' records (`handoff metrics --events`);
//! - `log/<month>/<first>.jsonl`: every event of every lead, as stored.
//!
//! `<first>` is the chunk's first lead (`<created ms>-<id>`), so files sort by time. The chunk is
//! recorded in D1 before the upload and removed from D1 after it, in one batch; a tick failing in
//! between uploads the same chunk again under the same key (an R2 put replaces), so nothing is
//! lost or archived twice. The reports keep the archived leads (their rollups stay). The same
//! batch indexes the chunk's people (`archive_people`), which an erasure reads.

use handoff_core::answer::AnswerMap;
use handoff_core::crm::person_subject;
use handoff_core::encode::rfc3339;
use handoff_core::erase::person_hash;
use handoff_core::form::email_answer;
use serde::Deserialize;
use worker::{Bucket, Env, HttpMetadata};

use crate::error::ApiError;
use crate::export::page_lines;
use crate::metrics::record_lines;
use crate::store::archive::{self, Contents};
use crate::store::people;
use crate::store::{self, Db};

/// Leads per chunk: one upload of three files and one removal batch per tick.
pub const CHUNK: u32 = 200;

const DAY_MS: f64 = 86_400_000.0;

/// What one [`run`] did.
#[derive(Debug, Default)]
pub struct Archived {
    pub leads: usize,
    pub key: Option<String>,
    /// A chunk archived before migration 0018, indexed: its key and how many leads.
    pub indexed: Option<(String, usize)>,
}

/// How many days a closed lead stays in D1: `ARCHIVE_AFTER_DAYS`, or never when unset.
pub fn after_days(env: &Env) -> Option<u32> {
    let days = env.var("ARCHIVE_AFTER_DAYS").ok()?.to_string();
    days.trim().parse().ok().filter(|d| *d > 0)
}

/// Archives one chunk: the one a failed tick left, else the oldest due leads of one month.
pub async fn run(env: &Env, now_ms: f64) -> Result<Archived, ApiError> {
    let Some(days) = after_days(env) else {
        return Ok(Archived::default());
    };
    let bucket = env.bucket("ARCHIVE").map_err(|_| {
        ApiError::new(
            503,
            "archive_unbound",
            "ARCHIVE_AFTER_DAYS is set but the Worker has no ARCHIVE bucket.",
        )
    })?;
    let db = Db::open(env)?;
    let (key, ids) = match archive::pending(&db).await? {
        Some(pending) => (pending.key, pending.ids),
        None => {
            let due = archive::due(&db, now_ms - f64::from(days) * DAY_MS, CHUNK).await?;
            let Some((key, ids)) = chunk(&due) else {
                // Nothing to archive: a chunk archived before the index existed is indexed.
                let indexed = backfill(env, &db, &bucket).await?;
                return Ok(Archived {
                    indexed,
                    ..Archived::default()
                });
            };
            store::commit(
                &db,
                vec![archive::begin_statement(&db, &key, &ids, now_ms)?],
            )
            .await?;
            (key, ids)
        }
    };
    let contents = archive::contents(&db, &ids).await?;
    let leads = contents.leads.len();
    for (folder, body) in files(&contents) {
        bucket
            .put(format!("{folder}/{key}.jsonl"), body)
            .http_metadata(HttpMetadata {
                content_type: Some("application/x-ndjson".into()),
                ..HttpMetadata::default()
            })
            .execute()
            .await
            .map_err(|_| ApiError::new(503, "archive_unavailable", "R2 refused the archive."))?;
    }
    let mut remove = archive::remove_statements(&db, &key, &ids, now_ms)?;
    remove.push(index_statement(env, &db, &key, &ids).await?);
    remove.push(people::indexed_statement(&db, &key)?);
    store::commit(&db, remove).await?;
    Ok(Archived {
        leads,
        key: Some(key),
        indexed: None,
    })
}

/// The key of the archive index's hashes: the `PEOPLE_INDEX_KEY` secret (empty when unset, a
/// plain hash). It must not change once leads are archived: the index would no longer find them.
pub fn index_key(env: &Env) -> Vec<u8> {
    env.secret("PEOPLE_INDEX_KEY")
        .map(|s| s.to_string().into_bytes())
        .unwrap_or_default()
}

/// The archive's folders, one file per chunk in each: `<folder>/<chunk key>.jsonl`.
pub const FOLDERS: [&str; 3] = ["leads", "events", "log"];

/// The archive index's rows for the chunk (`archive_people`, migration 0018): each lead that names
/// a person, under the person's keyed hash, so that an erasure finds the chunks that hold them
/// without listing the bucket. Written in the batch that removes the leads from D1.
async fn index_statement(
    env: &Env,
    db: &Db,
    key: &str,
    ids: &str,
) -> Result<worker::D1PreparedStatement, ApiError> {
    let index_key = index_key(env);
    let rows: Vec<serde_json::Value> = people::chunk_people(db, ids)
        .await?
        .iter()
        .map(|p| serde_json::json!({"p": person_hash(&index_key, &p.person_key), "l": p.id}))
        .collect();
    people::index_statement(db, key, &serde_json::Value::from(rows).to_string())
}

/// Indexes one chunk archived before migration 0018 (`archive_chunks.indexed` NULL): its
/// `leads/` file read back, each line's person named by the answer to its form's email field (as
/// the intake names it, through the active bundle), the rows and the chunk's mark written in one
/// batch. A line whose form the bundle no longer has names nobody (README, "Privacy").
async fn backfill(
    env: &Env,
    db: &Db,
    bucket: &Bucket,
) -> Result<Option<(String, usize)>, ApiError> {
    #[derive(Deserialize)]
    struct Line {
        id: String,
        form: String,
        answers: AnswerMap,
    }
    let Some(key) = people::unindexed(db).await? else {
        return Ok(None);
    };
    let unavailable = || ApiError::new(503, "archive_unavailable", "R2 did not answer.");
    let object = bucket
        .get(format!("leads/{key}.jsonl"))
        .execute()
        .await
        .map_err(|_| unavailable())?;
    let text = match object.as_ref().and_then(|o| o.body()) {
        Some(body) => body.text().await.map_err(|_| unavailable())?,
        None => String::new(),
    };
    let bundle = store::active_bundle(env).await?;
    let index_key = index_key(env);
    let rows: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Line>(l).ok())
        .filter_map(|l| {
            let email = email_answer(&bundle.form(&l.form)?.spec, &l.answers)?;
            let person = person_hash(&index_key, &person_subject(email));
            Some(serde_json::json!({"p": person, "l": l.id}))
        })
        .collect();
    let indexed = rows.len();
    let rows = serde_json::Value::from(rows).to_string();
    store::commit(
        db,
        vec![
            people::index_statement(db, &key, &rows)?,
            people::indexed_statement(db, &key)?,
        ],
    )
    .await?;
    Ok(Some((key, indexed)))
}

/// The chunk's key and ids (JSON) from the due leads: those of the first one's month (UTC).
fn chunk(due: &[archive::Due]) -> Option<(String, String)> {
    let first = due.first()?;
    let month = |at: f64| rfc3339(at as i64)[..7].to_owned();
    let first_month = month(first.created_at);
    let ids: Vec<&str> = due
        .iter()
        .take_while(|d| month(d.created_at) == first_month)
        .map(|d| d.id.as_str())
        .collect();
    let key = format!("{first_month}/{:013}-{}", first.created_at as i64, first.id);
    Some((key, serde_json::to_string(&ids).ok()?))
}

/// The chunk's three files: the folder and the JSON lines.
fn files(c: &Contents) -> [(&'static str, String); 3] {
    let mut log = String::new();
    for row in &c.log {
        // The detail as the JSON it is, not as a string of it.
        let detail: serde_json::Value =
            serde_json::from_str(&row.detail).unwrap_or_else(|_| row.detail.clone().into());
        let line = serde_json::json!({
            "lead_id": row.lead_id, "seq": row.seq as i64, "at": row.at as i64,
            "kind": row.kind, "actor": row.actor, "detail": detail,
        });
        log.push_str(&line.to_string());
        log.push('\n');
    }
    [
        ("leads", page_lines(&c.leads)),
        ("events", record_lines(&c.records)),
        ("log", log),
    ]
}
