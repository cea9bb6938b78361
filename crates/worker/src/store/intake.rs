//! What a submission reads and writes besides its lead: the first answer to an `Idempotency-Key`
//! (stored in the lead's batch, replayed to a retry), and the one batch of reads before it is
//! stored (`prefetch`).

use handoff_core::routing::CompiledRouting;
use handoff_core::sla::SuppressionFacts;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use super::leads::{existing_query, Existing};
use super::{facts, leads, one, rotation, Db};
use crate::error::ApiError;

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

/// The first answer stored for an idempotency key.
pub async fn idempotent_answer(db: &Db, key: &str) -> Result<Option<IdempotentAnswer>, ApiError> {
    db.first(idempotency_query(db, key)?).await
}

fn idempotency_query(db: &D1Database, key: &str) -> Result<D1PreparedStatement, ApiError> {
    db.prepare("SELECT body_sha256, status, response FROM idempotency_keys WHERE key = ?1")
        .bind(&[JsValue::from_str(key)])
        .map_err(ApiError::storage)
}

/// The first answer stored for idempotency key `key`, if any.
pub async fn first_answer(db: &Db, key: &str) -> Result<Option<IdempotentAnswer>, ApiError> {
    db.first(idempotency_query(db, key)?).await
}

/// What a submission reads before it is stored, in one batch: the first answer to its
/// idempotency key, the open lead a returning person already has, and the routing state.
pub struct Prefetched {
    pub replay: Option<IdempotentAnswer>,
    pub existing: Option<Existing>,
    pub route: Option<rotation::Loaded>,
    /// What the CRM says about the person and their account (read only when SLAs are set up).
    pub facts: SuppressionFacts,
    /// The person's earlier leads, newest first (read only for a form that may leave known
    /// questions unasked).
    pub earlier: Vec<handoff_core::lead::EarlierLead>,
}

/// What a submission's read batch asks for.
pub struct Reads<'a> {
    /// The idempotency key, for its first answer.
    pub key: Option<&'a str>,
    /// The normalized email address, for the returning person's open lead.
    pub email: Option<&'a str>,
    /// Routing, for its rotation state at a time.
    pub routing: Option<(&'a CompiledRouting, f64)>,
    /// The address whose CRM facts to read.
    pub facts: Option<&'a str>,
    /// The address and the visitor token whose earlier leads to read.
    pub earlier: Option<(Option<&'a str>, Option<&'a str>)>,
}

/// Runs a submission's one batch of reads: when given, the key's first answer, the returning
/// person's lead by `email`, the rotation state (`routing`) and the CRM facts about the person `facts` names.
pub async fn prefetch(db: &Db, reads: &Reads<'_>) -> Result<Prefetched, ApiError> {
    let Reads {
        key,
        email,
        routing,
        facts,
        earlier,
    } = *reads;
    let mut statements = Vec::new();
    if let Some(key) = key {
        statements.push(idempotency_query(db, key)?);
    }
    if let Some(email) = email {
        statements.push(existing_query(db, email)?);
    }
    if let Some((routing, now_ms)) = routing {
        statements.extend(rotation::load_statements(db, routing, now_ms)?);
    }
    if let Some(email) = facts {
        statements.push(facts::facts_query(db, email)?);
    }
    if let Some((email, visitor)) = earlier {
        statements.push(leads::earlier_query(db, email, visitor)?);
    }
    // Nothing to read (no key, no routing, no profiling): no round trip.
    let results = if statements.is_empty() {
        Vec::new()
    } else {
        db.batch(statements).await?
    };
    let mut results = results.iter();
    let mut first = |what| {
        results
            .next()
            .ok_or_else(|| ApiError::storage(worker::Error::from(what)))
    };
    let replay = match key {
        Some(_) => one::<IdempotentAnswer>(first("idempotency")?)?,
        None => None,
    };
    let existing = match email {
        Some(_) => one::<Existing>(first("existing")?)?,
        None => None,
    };
    let route = match routing {
        Some(_) => Some(rotation::read([
            first("rotation")?,
            first("open")?,
            first("seqs")?,
            first("given")?,
        ])?),
        None => None,
    };
    let facts = match facts {
        Some(_) => facts::read_facts(first("facts")?)?,
        None => Default::default(),
    };
    let earlier = match earlier {
        Some(_) => leads::read_earlier(first("earlier")?)?,
        None => Vec::new(),
    };
    Ok(Prefetched {
        replay,
        existing,
        route,
        facts,
        earlier,
    })
}
