//! Storage at the edge: the active rule bundle in KV, one request's D1 handle, the lead event log
//! and cron ticks; `store/*` holds the statements of each domain. Every SQL statement of the
//! Worker lives under `store` and is a constant with bound parameters (a few are assembled from
//! constant pieces, never from values): no value is ever spliced into SQL text. `store` imports
//! no handler: the types a handler and a statement share live here.

use handoff_core::events::EventKind;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use handoff_core::Bundle;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result, Env};

use crate::error::ApiError;

pub mod admin;
pub mod archive;
pub mod config;
pub mod crm;
pub mod crm_set;
pub mod events;
pub mod facts;
pub mod intake;
pub mod leads;
pub mod limits;
pub mod metrics;
pub mod outbox;
pub mod people;
pub mod profile;
pub mod push;
pub mod retention;
pub mod rollups;
pub mod rotation;
pub mod sla;
pub mod slack;
pub mod status;
pub mod steps;

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

/// The active bundle, read from KV at most once per request and only if a handler needs it.
#[derive(Debug, Default)]
pub struct BundleOnce(RefCell<Option<Loaded>>);

/// The outcome of the one read: the bundle, or the error's status, code and message.
type Loaded = Result<Rc<Bundle>, (u16, &'static str, String)>;

impl BundleOnce {
    pub async fn get(&self, env: &Env) -> Result<Rc<Bundle>, ApiError> {
        let known = self.0.borrow().clone();
        let result = match known {
            Some(result) => result,
            None => {
                let result = active_bundle(env)
                    .await
                    .map_err(|e| (e.status, e.code, e.message));
                *self.0.borrow_mut() = Some(result.clone());
                result
            }
        };
        result.map_err(|(status, code, message)| ApiError::new(status, code, message))
    }
}

/// One request's D1 database, counting the round trips the request makes (a submission's budget
/// is one batch of reads and one batch of writes; tests and `make bench-edge` read the count).
pub struct Db {
    d1: D1Database,
    /// What this handle cost so far: batches sent, statements in them and in the largest batch,
    /// and, in test mode only (`metered`), the rows D1 says they read and wrote (its result
    /// metadata, which is what D1 bills and throttles by; read from every result, so not in
    /// production, where nothing reads it).
    trips: Cell<u32>,
    statements: Cell<u32>,
    largest: Cell<u32>,
    metered: bool,
    rows_read: Cell<u64>,
    rows_written: Cell<u64>,
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
            statements: Cell::new(0),
            largest: Cell::new(0),
            metered: crate::clock::test_mode(env),
            rows_read: Cell::new(0),
            rows_written: Cell::new(0),
        })
    }

    /// Runs `statements` as one batch: one round trip, one transaction (all or nothing).
    pub async fn batch(
        &self,
        statements: Vec<D1PreparedStatement>,
    ) -> Result<Vec<D1Result>, ApiError> {
        self.trips.set(self.trips.get() + 1);
        let count = u32::try_from(statements.len()).unwrap_or(u32::MAX);
        self.statements
            .set(self.statements.get().saturating_add(count));
        self.largest.set(self.largest.get().max(count));
        let results = self.d1.batch(statements).await.map_err(ApiError::from_d1)?;
        if !self.metered {
            return Ok(results);
        }
        for meta in results.iter().filter_map(|r| r.meta().ok().flatten()) {
            let (read, written) = (meta.rows_read.unwrap_or(0), meta.rows_written.unwrap_or(0));
            self.rows_read.set(self.rows_read.get() + read as u64);
            self.rows_written
                .set(self.rows_written.get() + written as u64);
        }
        Ok(results)
    }

    /// The first row of one statement, run as a batch of one: one round trip.
    pub async fn first<T: for<'de> Deserialize<'de>>(
        &self,
        statement: D1PreparedStatement,
    ) -> Result<Option<T>, ApiError> {
        Ok(self.rows(statement).await?.into_iter().next())
    }

    /// The rows of one statement, run as a batch of one: one round trip.
    pub async fn rows<T: for<'de> Deserialize<'de>>(
        &self,
        statement: D1PreparedStatement,
    ) -> Result<Vec<T>, ApiError> {
        let results = self.batch(vec![statement]).await?;
        match results.first() {
            Some(r) => r.results().map_err(ApiError::storage),
            None => Ok(Vec::new()),
        }
    }

    #[cfg(feature = "test-hooks")]
    pub fn trips(&self) -> u32 {
        self.trips.get()
    }

    /// Statements sent so far (D1 counts each statement of a batch against an invocation's limit).
    pub fn statements(&self) -> u32 {
        self.statements.get()
    }

    /// Statements of the largest batch sent so far.
    #[cfg(feature = "test-hooks")]
    pub fn largest_batch(&self) -> u32 {
        self.largest.get()
    }

    /// Rows read and written so far, by D1's own count (test mode only; zero otherwise).
    #[cfg(feature = "test-hooks")]
    pub fn rows_cost(&self) -> (u64, u64) {
        (self.rows_read.get(), self.rows_written.get())
    }
}

/// Runs `statements` as one D1 batch, i.e. one transaction: all committed, or none.
pub async fn commit(db: &Db, statements: Vec<D1PreparedStatement>) -> Result<(), ApiError> {
    db.batch(statements).await?;
    Ok(())
}

/// The first row of a batch's result, if it has one.
fn one<T: for<'de> Deserialize<'de>>(result: &D1Result) -> Result<Option<T>, ApiError> {
    Ok(result
        .results::<T>()
        .map_err(ApiError::storage)?
        .into_iter()
        .next())
}

/// Whether a statement's `RETURNING` gave a row (an insert that took place).
pub fn returned(result: Option<&D1Result>) -> bool {
    result
        .and_then(|r| r.results::<serde_json::Value>().ok())
        .is_some_and(|rows| !rows.is_empty())
}

/// How many rows a statement's result says it changed.
pub fn changes(result: Option<&D1Result>) -> usize {
    result
        .and_then(|r| r.meta().ok().flatten())
        .and_then(|m| m.changes)
        .unwrap_or(0)
}

fn encode(value: &impl serde::Serialize) -> Result<String, ApiError> {
    serde_json::to_string(value)
        .map_err(|_| ApiError::new(500, "internal", "the lead could not be encoded"))
}

/// An optional text as a bound value (NULL for none).
pub(crate) fn opt(v: Option<&str>) -> JsValue {
    v.map_or(JsValue::NULL, JsValue::from_str)
}

/// The statement that appends an event to a lead's log (`detail`: any JSON value).
pub fn event_statement(
    db: &D1Database,
    lead_id: &str,
    at_ms: f64,
    kind: EventKind,
    actor: &str,
    detail: &impl serde::Serialize,
) -> Result<D1PreparedStatement, ApiError> {
    db.prepare(
        "INSERT INTO lead_events (lead_id, at, kind, actor, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .bind(&[
        JsValue::from_str(lead_id),
        JsValue::from_f64(at_ms),
        JsValue::from_str(kind.as_str()),
        JsValue::from_str(actor),
        JsValue::from_str(&encode(detail)?),
    ])
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
