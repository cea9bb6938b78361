//! A person's rows (`GET` and `DELETE /v1/people/{email}`, migration 0018): everything D1 holds
//! about them, read in one batch through `leads_person_key` (their leads, and each lead's events,
//! outbox messages, SLA clock and CRM records), the CRM's facts about them, and the archived
//! leads `archive_people` names; the erasure as one batch (one transaction, all or nothing); and
//! the archive index's rows, written in the batch that removes an archived chunk from D1.

use serde::Deserialize;
use serde_json::{Map, Value};
use wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

use super::Db;
use crate::error::ApiError;
use crate::plan::Chunks;

/// One row as D1 answers it: column → value.
pub type Row = Map<String, Value>;

/// An archived lead of the person, as the index names it.
#[derive(Debug, Deserialize)]
pub struct Indexed {
    pub lead_id: String,
    pub chunk: String,
}

/// What D1 holds about a person.
#[derive(Debug, Default)]
pub struct Held {
    pub leads: Vec<Row>,
    pub events: Vec<Row>,
    pub outbox: Vec<Row>,
    pub sla_clocks: Vec<Row>,
    pub crm_records: Vec<Row>,
    pub crm_facts: Vec<Row>,
    pub archived: Vec<Indexed>,
}

impl Held {
    /// Whether D1 names the person nowhere.
    pub fn is_empty(&self) -> bool {
        self.leads.is_empty() && self.crm_facts.is_empty() && self.archived.is_empty()
    }
}

/// The person's leads as `l`: every statement below reads through them.
const THEIRS: &str = "JOIN leads l ON l.id = x.lead_id WHERE l.person_key = ?1";

/// Everything D1 holds about the person whose `person_key` (`crm::person_subject`) and index
/// name (`erase::person_hash`) are given, in one read batch.
pub async fn held(db: &Db, person_key: &str, person_hash: &str) -> Result<Held, ApiError> {
    let reads = [
        "SELECT * FROM leads WHERE person_key = ?1 ORDER BY created_at, id".to_owned(),
        format!("SELECT x.* FROM lead_events x {THEIRS} ORDER BY x.seq"),
        format!(
            "SELECT x.id, x.lead_id, x.channel, x.kind, x.state, x.attempts, x.payload, \
             x.created_at, x.delivered_at FROM outbox x {THEIRS} ORDER BY x.created_at, x.id"
        ),
        format!("SELECT x.* FROM sla_clocks x {THEIRS} ORDER BY x.started_at"),
        format!("SELECT x.* FROM crm_records x {THEIRS} ORDER BY x.created_at, x.push_id"),
        "SELECT * FROM crm_facts WHERE subject = ?1".to_owned(),
        "SELECT lead_id, chunk FROM archive_people WHERE person = ?1 ORDER BY chunk, lead_id"
            .to_owned(),
    ];
    // Each statement binds exactly what it names (D1 refuses a value too many): the last one
    // the index's name, the others the person's key.
    let statements = reads
        .iter()
        .enumerate()
        .map(|(i, sql)| {
            let value = if i == reads.len() - 1 {
                person_hash
            } else {
                person_key
            };
            bind(db, sql, &[JsValue::from_str(value)])
        })
        .collect::<Result<Vec<_>, _>>()?;
    let results = db.batch(statements).await?;
    let rows = |i: usize| -> Result<Vec<Row>, ApiError> {
        results
            .get(i)
            .ok_or_else(|| ApiError::storage(worker::Error::from("people reads")))?
            .results()
            .map_err(ApiError::storage)
    };
    let archived = results
        .get(6)
        .ok_or_else(|| ApiError::storage(worker::Error::from("people reads")))?
        .results()
        .map_err(ApiError::storage)?;
    Ok(Held {
        leads: rows(0)?,
        events: rows(1)?,
        outbox: rows(2)?,
        sla_clocks: rows(3)?,
        crm_records: rows(4)?,
        crm_facts: rows(5)?,
        archived,
    })
}

fn bind(db: &Db, sql: &str, binds: &[JsValue]) -> Result<D1PreparedStatement, ApiError> {
    db.prepare(sql).bind(binds).map_err(ApiError::storage)
}

/// One erasure's writes, as the adapter computed them with handoff-core's `erase`.
pub struct Erasure<'a> {
    pub id: &'a str,
    pub at_ms: f64,
    pub person_key: &'a str,
    pub person_hash: &'a str,
    /// JSON array of the person's live leads' ids.
    pub ids: &'a str,
    /// `{id, attribution, evaluation}` per lead, the two as anonymized JSON text (or null).
    pub leads: Chunks,
    /// `{seq, detail}` per event whose detail changed, the detail as JSON text.
    pub events: Chunks,
    /// The answer's counts, JSON: what the `erasures` row keeps.
    pub counts: &'a str,
}

/// The erasure's one batch: the leads anonymized (their non-personal facts kept), the events'
/// details rewritten, an `erased` event on each lead, their outbox messages (pending ones would
/// send the person's data later) and idempotency answers deleted, their SLA clocks' summaries
/// cleared, their CRM records (the snapshot) and the CRM's facts about the person deleted, the
/// archive index's rows about them deleted, and the `erasures` row.
pub fn erase_statements(db: &Db, e: &Erasure<'_>) -> Result<Vec<D1PreparedStatement>, ApiError> {
    const OF: &str = "lead_id IN (SELECT value FROM json_each(?1))";
    let ids = [JsValue::from_str(e.ids)];
    let mut out = Vec::new();
    for leads in e.leads.clone().into_arrays() {
        out.push(bind(
            db,
            "UPDATE leads SET email = NULL, answers = '{}', visitor = NULL, person_key = NULL, \
             account_key = NULL, inputs = NULL, \
             attribution = (SELECT json_extract(r.value, '$.attribution') FROM json_each(?1) r \
               WHERE json_extract(r.value, '$.id') = leads.id), \
             evaluation = (SELECT json_extract(r.value, '$.evaluation') FROM json_each(?1) r \
               WHERE json_extract(r.value, '$.id') = leads.id) \
             WHERE id IN (SELECT json_extract(value, '$.id') FROM json_each(?1))",
            &[JsValue::from_str(&leads)],
        )?);
    }
    // A lead of the person's stored since the read (a submission meanwhile) still names them:
    // the whole batch fails on the guard's CHECK and nothing is erased, so the request is sent
    // again (503) instead of leaving that lead behind.
    out.push(bind(
        db,
        "INSERT INTO erasure_guard (ok) SELECT 0 WHERE EXISTS \
         (SELECT 1 FROM leads WHERE person_key = ?1)",
        &[e.person_key.into()],
    )?);
    for events in e.events.clone().into_arrays() {
        out.push(bind(
            db,
            "UPDATE lead_events SET detail = (SELECT json_extract(r.value, '$.detail') \
               FROM json_each(?1) r WHERE json_extract(r.value, '$.seq') = lead_events.seq) \
             WHERE seq IN (SELECT json_extract(value, '$.seq') FROM json_each(?1))",
            &[JsValue::from_str(&events)],
        )?);
    }
    out.push(bind(
        db,
        "INSERT INTO lead_events (lead_id, at, kind, actor, detail) \
         SELECT value, ?2, 'erased', 'admin', json_object('erasure', ?3) FROM json_each(?1)",
        &[ids[0].clone(), JsValue::from_f64(e.at_ms), e.id.into()],
    )?);
    for sql in [
        format!("DELETE FROM outbox WHERE {OF}"),
        format!("DELETE FROM idempotency_keys WHERE {OF}"),
        format!("UPDATE sla_clocks SET summary = '{{}}' WHERE {OF}"),
        format!("DELETE FROM crm_records WHERE {OF}"),
    ] {
        out.push(bind(db, &sql, &ids)?);
    }
    out.push(bind(
        db,
        "DELETE FROM crm_facts WHERE subject = ?1",
        &[e.person_key.into()],
    )?);
    out.push(bind(
        db,
        "DELETE FROM archive_people WHERE person = ?1",
        &[e.person_hash.into()],
    )?);
    out.push(bind(
        db,
        "INSERT INTO erasures (id, at, actor, counts) VALUES (?1, ?2, 'admin', ?3)",
        &[e.id.into(), JsValue::from_f64(e.at_ms), e.counts.into()],
    )?);
    Ok(out)
}

/// The person keys of a chunk's leads (`ids`: a JSON array), for the archive index.
#[derive(Debug, Deserialize)]
pub struct ChunkPerson {
    pub id: String,
    pub person_key: String,
}

/// The chunk's leads that name a person, with their keys.
pub async fn chunk_people(db: &Db, ids: &str) -> Result<Vec<ChunkPerson>, ApiError> {
    db.rows(bind(
        db,
        "SELECT id, person_key FROM leads WHERE id IN (SELECT value FROM json_each(?1)) \
         AND person_key IS NOT NULL",
        &[ids.into()],
    )?)
    .await
}

/// The oldest archived chunk not indexed yet (archived before migration 0018), if any.
pub async fn unindexed(db: &Db) -> Result<Option<String>, ApiError> {
    #[derive(Deserialize)]
    struct Key {
        key: String,
    }
    let row: Option<Key> = db
        .first(db.prepare(
            "SELECT key FROM archive_chunks INDEXED BY archive_chunks_unindexed \
             WHERE done_at IS NOT NULL AND indexed IS NULL ORDER BY created_at LIMIT 1",
        ))
        .await?;
    Ok(row.map(|r| r.key))
}

/// The statement that marks a chunk's people indexed.
pub fn indexed_statement(db: &Db, chunk: &str) -> Result<D1PreparedStatement, ApiError> {
    bind(
        db,
        "UPDATE archive_chunks SET indexed = 1 WHERE key = ?1",
        &[chunk.into()],
    )
}

/// The statement that indexes a chunk's leads (`rows`: a JSON array of `{p: person hash, l: lead
/// id}`) under its key; a repeated chunk changes nothing.
pub fn index_statement(db: &Db, chunk: &str, rows: &str) -> Result<D1PreparedStatement, ApiError> {
    bind(
        db,
        "INSERT INTO archive_people (person, lead_id, chunk) \
         SELECT json_extract(value, '$.p'), json_extract(value, '$.l'), ?2 FROM json_each(?1) \
         WHERE true ON CONFLICT (person, lead_id) DO NOTHING",
        &[rows.into(), chunk.into()],
    )
}
