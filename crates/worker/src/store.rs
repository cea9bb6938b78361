//! Storage at the edge: the active rule bundle in KV, leads and cron ticks in D1. Every SQL
//! statement is a constant with bound parameters; no value is ever spliced into SQL text.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use handoff_core::attribution::Attribution;
use handoff_core::visibility::Known;
use handoff_core::{Bundle, Evaluation};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result, Env};

use crate::error::ApiError;

pub mod admin;
pub mod config;
pub mod limits;

pub const KV_BINDING: &str = "CONFIG";
pub const D1_BINDING: &str = "DB";
/// The KV key of the active bundle's canonical JSON.
pub const ACTIVE_BUNDLE_KEY: &str = "bundle/active";

thread_local! {
    /// The last bundle compiled in this isolate, with the exact KV text it came from. Compiling
    /// (hash check plus every condition) costs tens of microseconds; a KV read is needed anyway to
    /// see a new version, so the text itself is the cache key.
    static COMPILED: RefCell<Option<(String, Rc<Bundle>)>> = const { RefCell::new(None) };
}

/// Loads and verifies the active rule bundle, compiling it only when its text changed.
pub async fn active_bundle(env: &Env) -> Result<Rc<Bundle>, ApiError> {
    let unavailable = |detail: &str| {
        ApiError::new(
            503,
            "bundle_unavailable",
            format!("No usable rule bundle: {detail}."),
        )
    };
    let kv = env
        .kv(KV_BINDING)
        .map_err(|_| unavailable("the CONFIG binding is missing"))?;
    let text = kv
        .get(ACTIVE_BUNDLE_KEY)
        .text()
        .await
        .map_err(|_| unavailable("KV did not answer"))?
        .ok_or_else(|| unavailable("none has been loaded"))?;
    let cached = COMPILED.with_borrow(|c| {
        c.as_ref()
            .filter(|(raw, _)| *raw == text)
            .map(|(_, bundle)| Rc::clone(bundle))
    });
    if let Some(bundle) = cached {
        return Ok(bundle);
    }
    let bundle = Rc::new(Bundle::from_json(&text).map_err(|e| unavailable(&e.message))?);
    COMPILED.with_borrow_mut(|c| *c = Some((text, Rc::clone(&bundle))));
    Ok(bundle)
}

/// What a stored lead looks like to the admin API.
#[derive(Debug, Deserialize)]
pub struct LeadRow {
    pub id: String,
    pub form_id: String,
    pub email: Option<String>,
    pub answers: String,
    pub bundle_version: String,
    pub client_bundle_version: Option<String>,
    pub created_at: f64,
    pub score: Option<f64>,
    pub grade: Option<String>,
    pub lifecycle: Option<String>,
    pub disqualify_reason: Option<String>,
    pub evaluation: Option<String>,
    pub visitor: Option<String>,
    pub attribution: Option<String>,
    pub experiment: Option<String>,
    pub arm: Option<String>,
}

pub struct NewLead<'a> {
    pub id: &'a str,
    pub evaluation: &'a Evaluation,
    pub email: Option<&'a str>,
    pub client_bundle_version: Option<&'a str>,
    pub visitor: Option<&'a str>,
    /// Already cleaned (`Attribution::clean`).
    pub attribution: &'a Attribution,
    pub now_ms: f64,
}

/// The answer to store with an idempotency key, written in the lead's batch.
pub struct Idempotency<'a> {
    pub key: &'a str,
    pub body_sha256: &'a str,
    pub status: u16,
    pub response: &'a str,
}

/// The first answer given to an idempotency key.
#[derive(Debug, Deserialize)]
pub struct IdempotentAnswer {
    pub body_sha256: String,
    pub status: f64,
    pub response: String,
}

/// How long a visitor profile lives in KV without a new submission: about 13 months.
const PROFILE_TTL_SECONDS: u64 = 400 * 24 * 3600;

fn profile_key(visitor: &str) -> String {
    format!("profile/{visitor}")
}

/// Who has a lead, as stored: a person or a queue (`owner_kind` `owner` | `queue`, `owner_id`).
pub struct Ownership<'a> {
    pub kind: &'a str,
    pub id: &'a str,
}

/// The statement that inserts a lead: its verdict, who owns it (none for a bot, which is never
/// routed), its `status` (`open`, `closed` for a bot, `merged` for a returning person's repeat)
/// and, when merged, the lead it was merged into.
pub fn lead_statement(
    db: &D1Database,
    lead: &NewLead<'_>,
    owner: Option<&Ownership<'_>>,
    status: &str,
    merged_into: Option<&str>,
    assignment: Option<&handoff_core::experiment::Assignment>,
) -> Result<D1PreparedStatement, ApiError> {
    let ev = lead.evaluation;
    let details = serde_json::json!({
        "score": ev.score,
        "disqualification": ev.disqualification,
        "visible": ev.visible,
        "email": ev.email,
    });
    let answers = encode(&ev.answers)?;
    let details = encode(&details)?;
    // The crm_facts subjects of the person and their email's domain, computed by handoff-core.
    let (person_key, account_key) = lead.email.map(handoff_core::crm::lead_subjects).unzip();
    let attribution = encode(lead.attribution)?;
    db.prepare(
        "INSERT INTO leads (id, form_id, email, answers, bundle_version, client_bundle_version, \
         created_at, score, grade, lifecycle, disqualify_reason, evaluation, visitor, attribution, \
         owner_kind, owner_id, status, merged_into, updated_at, experiment, arm, person_key, \
         account_key) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?7, \
         ?19, ?20, ?21, ?22)",
    )
    .bind(&[
        JsValue::from_str(lead.id),
        JsValue::from_str(&ev.form),
        opt(lead.email),
        JsValue::from_str(&answers),
        JsValue::from_str(&ev.bundle_version),
        opt(lead.client_bundle_version),
        // Integers cross into D1 as f64: a BigInt is refused with D1_TYPE_ERROR.
        JsValue::from_f64(lead.now_ms),
        JsValue::from_f64(f64::from(ev.score.total)),
        JsValue::from_str(ev.grade.as_str()),
        JsValue::from_str(ev.lifecycle.as_str()),
        opt(ev.disqualification.as_ref().map(|d| d.reason.as_str())),
        JsValue::from_str(&details),
        opt(lead.visitor),
        JsValue::from_str(&attribution),
        opt(owner.map(|o| o.kind)),
        opt(owner.map(|o| o.id)),
        JsValue::from_str(status),
        opt(merged_into),
        opt(assignment.map(|a| a.experiment.as_str())),
        opt(assignment.map(|a| a.arm.as_str())),
        opt(person_key.as_deref()),
        opt(account_key.as_deref()),
    ])
    .map_err(ApiError::storage)
}

/// The statement that appends an event to a lead's log (`detail`: any JSON value).
pub fn event_statement(
    db: &D1Database,
    lead_id: &str,
    at_ms: f64,
    kind: &str,
    actor: &str,
    detail: &impl serde::Serialize,
) -> Result<D1PreparedStatement, ApiError> {
    db.prepare(
        "INSERT INTO lead_events (lead_id, at, kind, actor, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .bind(&[
        JsValue::from_str(lead_id),
        JsValue::from_f64(at_ms),
        JsValue::from_str(kind),
        JsValue::from_str(actor),
        JsValue::from_str(&encode(detail)?),
    ])
    .map_err(ApiError::storage)
}

/// The statement that stores the first answer to an idempotency key for `lead_id`.
pub fn idempotency_statement(
    db: &D1Database,
    key: &Idempotency<'_>,
    lead_id: &str,
    now_ms: f64,
) -> Result<D1PreparedStatement, ApiError> {
    db.prepare(
        "INSERT INTO idempotency_keys (key, body_sha256, lead_id, status, response, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(&[
        JsValue::from_str(key.key),
        JsValue::from_str(key.body_sha256),
        JsValue::from_str(lead_id),
        JsValue::from_f64(f64::from(key.status)),
        JsValue::from_str(key.response),
        JsValue::from_f64(now_ms),
    ])
    .map_err(ApiError::storage)
}

/// One request's D1 database, counting the round trips the request makes (a submission's budget
/// is one batch of reads and one batch of writes; tests and `make bench-edge` read the count).
pub struct Db {
    d1: D1Database,
    trips: Cell<u32>,
}

impl std::ops::Deref for Db {
    type Target = D1Database;
    fn deref(&self) -> &D1Database {
        &self.d1
    }
}

impl Db {
    pub fn open(env: &Env) -> Result<Db, ApiError> {
        Ok(Db {
            d1: env.d1(D1_BINDING).map_err(ApiError::storage)?,
            trips: Cell::new(0),
        })
    }

    /// Runs `statements` as one batch: one round trip, one transaction (all or nothing).
    pub async fn batch(
        &self,
        statements: Vec<D1PreparedStatement>,
    ) -> Result<Vec<D1Result>, ApiError> {
        self.trips.set(self.trips.get() + 1);
        self.d1.batch(statements).await.map_err(ApiError::storage)
    }

    /// The first row of one statement: one round trip.
    pub async fn first<T: for<'de> Deserialize<'de>>(
        &self,
        statement: D1PreparedStatement,
    ) -> Result<Option<T>, ApiError> {
        self.trips.set(self.trips.get() + 1);
        statement.first::<T>(None).await.map_err(ApiError::storage)
    }

    pub fn trips(&self) -> u32 {
        self.trips.get()
    }
}

/// Runs `statements` as one D1 batch, i.e. one transaction: all committed, or none.
pub async fn commit(db: &Db, statements: Vec<D1PreparedStatement>) -> Result<(), ApiError> {
    db.batch(statements).await?;
    Ok(())
}

/// What a submission reads before it is stored, in one batch: the first answer to its
/// idempotency key, the open lead a returning person already has, and the routing state.
pub struct Prefetched {
    /// The client's submissions in the current rate-limit window, this one included.
    pub count: u32,
    pub replay: Option<IdempotentAnswer>,
    pub existing: Option<Existing>,
    pub route: Option<crate::route::Loaded>,
    /// What the CRM says about the person and their account (read only when SLAs are set up).
    pub facts: handoff_core::sla::SuppressionFacts,
}

pub async fn prefetch(
    db: &Db,
    counter: D1PreparedStatement,
    key: Option<&str>,
    email: Option<&str>,
    routing: bool,
    facts: Option<&str>,
) -> Result<Prefetched, ApiError> {
    let mut statements = vec![counter];
    if let Some(key) = key {
        statements.push(idempotency_query(db, key)?);
    }
    if let Some(email) = email {
        statements.push(existing_query(db, email)?);
    }
    if routing {
        statements.extend(crate::route::load_statements(db));
    }
    if let Some(email) = facts {
        statements.push(crate::sla::facts_query(db, email)?);
    }
    let results = db.batch(statements).await?;
    let mut results = results.iter();
    let mut first = |what| {
        results
            .next()
            .ok_or_else(|| ApiError::storage(worker::Error::from(what)))
    };
    #[derive(Deserialize)]
    struct Count {
        count: f64,
    }
    let count = one::<Count>(first("rate limit")?)?.map_or(1, |c| c.count as u32);
    let replay = match key {
        Some(_) => one::<IdempotentAnswer>(first("idempotency")?)?,
        None => None,
    };
    let existing = match email {
        Some(_) => one::<Existing>(first("existing")?)?,
        None => None,
    };
    let route = match routing {
        true => Some(crate::route::read([
            first("rotation")?,
            first("open")?,
            first("seqs")?,
        ])?),
        false => None,
    };
    let facts = match facts {
        Some(_) => crate::sla::read_facts(first("facts")?)?,
        None => Default::default(),
    };
    Ok(Prefetched {
        count,
        replay,
        existing,
        route,
        facts,
    })
}

fn one<T: for<'de> Deserialize<'de>>(result: &D1Result) -> Result<Option<T>, ApiError> {
    Ok(result
        .results::<T>()
        .map_err(ApiError::storage)?
        .into_iter()
        .next())
}

fn encode(value: &impl serde::Serialize) -> Result<String, ApiError> {
    serde_json::to_string(value)
        .map_err(|_| ApiError::new(500, "internal", "the lead could not be encoded"))
}

fn opt(v: Option<&str>) -> JsValue {
    v.map_or(JsValue::NULL, JsValue::from_str)
}

/// The lead a returning person already has: the oldest open, routed lead with this normalized
/// email address that was not itself merged.
#[derive(Debug, Deserialize)]
pub struct Existing {
    pub id: String,
    pub owner_kind: String,
    pub owner_id: String,
}

fn existing_query(db: &D1Database, email: &str) -> Result<D1PreparedStatement, ApiError> {
    db.prepare(
        "SELECT id, owner_kind, owner_id FROM leads WHERE email = ?1 AND status = 'open' \
         AND owner_id IS NOT NULL AND merged_into IS NULL ORDER BY created_at, id LIMIT 1",
    )
    .bind(&[JsValue::from_str(email)])
    .map_err(ApiError::storage)
}

/// The statement that brings a returning person's lead up to date with a new submission: the
/// later verdict where it is higher (a nurture lead that now asks for a demo becomes an SQL for
/// the same owner), and the time of the latest activity. A disqualified repeat changes no verdict.
pub fn refresh_statement(
    db: &D1Database,
    existing: &str,
    evaluation: &Evaluation,
    now_ms: f64,
) -> Result<D1PreparedStatement, ApiError> {
    if evaluation.disqualification.is_some() {
        return db
            .prepare("UPDATE leads SET updated_at = ?2 WHERE id = ?1")
            .bind(&[JsValue::from_str(existing), JsValue::from_f64(now_ms)])
            .map_err(ApiError::storage);
    }
    db.prepare(
        "UPDATE leads SET updated_at = ?2, \
         grade = CASE WHEN ?3 > COALESCE(score, -1) THEN ?4 ELSE grade END, \
         lifecycle = CASE WHEN ?3 > COALESCE(score, -1) THEN ?5 ELSE lifecycle END, \
         score = MAX(COALESCE(score, -1), ?3) WHERE id = ?1",
    )
    .bind(&[
        JsValue::from_str(existing),
        JsValue::from_f64(now_ms),
        JsValue::from_f64(f64::from(evaluation.score.total)),
        JsValue::from_str(evaluation.grade.as_str()),
        JsValue::from_str(evaluation.lifecycle.as_str()),
    ])
    .map_err(ApiError::storage)
}

/// The first answer stored for an idempotency key.
pub async fn idempotent_answer(db: &Db, key: &str) -> Result<Option<IdempotentAnswer>, ApiError> {
    db.first(idempotency_query(db, key)?).await
}

fn idempotency_query(db: &D1Database, key: &str) -> Result<D1PreparedStatement, ApiError> {
    db.prepare("SELECT body_sha256, status, response FROM idempotency_keys WHERE key = ?1")
        .bind(&[JsValue::from_str(key)])
        .map_err(ApiError::storage)
}

/// The fields known about a visitor (ids and when learned), from their KV profile.
pub async fn known_fields(env: &Env, visitor: &str) -> Result<Known, ApiError> {
    let kv = env.kv(KV_BINDING).map_err(ApiError::storage)?;
    let text = kv.get(&profile_key(visitor)).text().await.map_err(|_| {
        ApiError::new(
            503,
            "storage_unavailable",
            "KV did not answer; please retry.",
        )
    })?;
    // A profile this Worker did not write is treated as empty: it only decides what to ask.
    Ok(text
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default())
}

/// Adds `fields` (answered at `now_ms`) to the visitor's profile.
pub async fn remember_fields<'a>(
    env: &Env,
    visitor: &str,
    fields: impl Iterator<Item = &'a str>,
    now_ms: i64,
) -> Result<(), ApiError> {
    let mut known = known_fields(env, visitor).await?;
    for field in fields {
        known.insert(field.to_owned(), now_ms);
    }
    let kv = env.kv(KV_BINDING).map_err(ApiError::storage)?;
    let text = serde_json::to_string(&known)
        .map_err(|_| ApiError::new(500, "internal", "the profile could not be encoded"))?;
    kv.put(&profile_key(visitor), text)
        .map_err(|_| ApiError::new(503, "storage_unavailable", "KV refused the profile."))?
        .expiration_ttl(PROFILE_TTL_SECONDS)
        .execute()
        .await
        .map_err(|_| ApiError::new(503, "storage_unavailable", "KV refused the profile."))
}

pub async fn lead(env: &Env, id: &str) -> Result<Option<LeadRow>, ApiError> {
    let db = env.d1(D1_BINDING).map_err(ApiError::storage)?;
    db.prepare(
        "SELECT id, form_id, email, answers, bundle_version, client_bundle_version, created_at, \
         score, grade, lifecycle, disqualify_reason, evaluation, visitor, attribution, experiment, \
         arm FROM leads WHERE id = ?1",
    )
    .bind(&[JsValue::from_str(id)])
    .map_err(ApiError::storage)?
    .first::<LeadRow>(None)
    .await
    .map_err(ApiError::storage)
}

/// Records that the cron ran for `scheduled_ms`. A repeated delivery of the same tick is a no-op.
pub async fn record_tick(env: &Env, scheduled_ms: f64, now_ms: f64) -> Result<(), ApiError> {
    let db = env.d1(D1_BINDING).map_err(ApiError::storage)?;
    let insert = db
        .prepare(
            "INSERT INTO cron_ticks (scheduled_at, ran_at) VALUES (?1, ?2) \
             ON CONFLICT (scheduled_at) DO NOTHING",
        )
        .bind(&[JsValue::from_f64(scheduled_ms), JsValue::from_f64(now_ms)])
        .map_err(ApiError::storage)?;
    // Keep a day of ticks: enough to see gaps, never a growing table.
    let prune = db
        .prepare("DELETE FROM cron_ticks WHERE scheduled_at < ?1")
        .bind(&[JsValue::from_f64(scheduled_ms - 86_400_000.0)])
        .map_err(ApiError::storage)?;
    db.batch(vec![insert, prune])
        .await
        .map_err(ApiError::storage)?;
    Ok(())
}

pub async fn last_tick(env: &Env) -> Result<Option<f64>, ApiError> {
    #[derive(Deserialize)]
    struct Row {
        scheduled_at: f64,
    }
    let db = env.d1(D1_BINDING).map_err(ApiError::storage)?;
    let row = db
        .prepare("SELECT scheduled_at FROM cron_ticks ORDER BY scheduled_at DESC LIMIT 1")
        .first::<Row>(None)
        .await
        .map_err(ApiError::storage)?;
    Ok(row.map(|r| r.scheduled_at))
}
