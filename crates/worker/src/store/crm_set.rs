//! One chunk of a CRM intake's writes as set-based statements (issue 20): the facts about people
//! and accounts, the leads' events, reassignments, status moves, deal values, clock changes and
//! first touches of up to `crm::CHUNK_ITEMS` items, each kind one statement binding its records
//! as a JSON array (`json_each`, at most `plan::JSON_BYTES` each), with the chunk's own
//! `crm_chunks` row, in one batch (one transaction). Records are folded in the order the items
//! are applied (a subject's last flags, a lead's final status and owner, its first touch), so
//! the batch leaves D1 as applying the items one by one would; each status move is guarded by
//! the status the lead had when the chunk began, as the per-item statements guard theirs.

use std::collections::{BTreeMap, BTreeSet};

use handoff_core::events::EventKind;
use handoff_core::status::LeadStatus;
use serde::Deserialize;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use super::sla::{touches_statements, Via};
use super::status::Change;
use super::{encode, Db};
use crate::error::ApiError;
use crate::plan::Chunks;

/// What the set knows about one `crm_facts` subject: its last flags (`None`: unchanged), and
/// whether the person was reached.
#[derive(Default)]
struct FactRecord {
    deal: Option<bool>,
    sequence: Option<bool>,
    contacted: bool,
}

/// A lead's reassignments in the set: its holder before the chunk is read in the batch, then
/// each reassignment's `from` is the one before it.
struct Holder {
    kind: String,
    id: String,
}

/// The records of one chunk, by kind.
pub struct CrmSet {
    /// `crm_facts.source` of the facts written (the intake's id).
    source: String,
    /// Who touches the leads (the first touch's actor and `touched_by`).
    actor: String,
    facts: BTreeMap<String, FactRecord>,
    events: Chunks,
    reassigns: Chunks,
    holders: BTreeMap<String, Holder>,
    moves: Chunks,
    /// Each moved lead's status when the chunk began (the guard) and its last status.
    statuses: BTreeMap<String, (LeadStatus, LeadStatus)>,
    amounts: BTreeMap<String, (f64, String)>,
    accepted: BTreeSet<String>,
    closed: BTreeMap<String, LeadStatus>,
    touched: BTreeSet<String>,
    touches: Vec<Value>,
}

impl CrmSet {
    pub fn new(source: &str, actor: &str) -> CrmSet {
        CrmSet {
            source: source.to_owned(),
            actor: actor.to_owned(),
            facts: BTreeMap::new(),
            events: Chunks::default(),
            reassigns: Chunks::default(),
            holders: BTreeMap::new(),
            moves: Chunks::default(),
            statuses: BTreeMap::new(),
            amounts: BTreeMap::new(),
            accepted: BTreeSet::new(),
            closed: BTreeMap::new(),
            touched: BTreeSet::new(),
            touches: Vec::new(),
        }
    }

    /// Sets what is known about `subject`: an open deal, a running sequence (`None`: as it
    /// was), and whether the person was reached now.
    pub fn fact(
        &mut self,
        subject: &str,
        deal: Option<bool>,
        sequence: Option<bool>,
        contacted: bool,
    ) {
        let record = self.facts.entry(subject.to_owned()).or_default();
        record.deal = deal.or(record.deal);
        record.sequence = sequence.or(record.sequence);
        record.contacted |= contacted;
    }

    /// An event in `lead`'s log.
    pub fn event(&mut self, lead: &str, kind: EventKind, actor: &str, detail: &Value) {
        let record = json!({
            "lead": lead, "kind": kind.as_str(), "actor": actor, "detail": detail.to_string(),
        });
        self.events.push(&record);
    }

    /// `lead` given to `to` (`(kind, id)`) by `actor` for `reason`, `more` merged into its
    /// `reassigned` event's detail after `from`, `to` and `reason`.
    pub fn reassign(
        &mut self,
        lead: &str,
        to: (&str, &str),
        actor: &str,
        reason: &str,
        more: &Value,
    ) {
        let prior = self.holders.get(lead);
        let record = json!({
            "lead": lead, "first": prior.is_none(),
            "prior_kind": prior.map(|h| h.kind.as_str()), "prior_id": prior.map(|h| h.id.as_str()),
            "kind": to.0, "id": to.1, "actor": actor, "reason": reason, "more": more,
        });
        self.reassigns.push(&record);
        let holder = Holder {
            kind: to.0.to_owned(),
            id: to.1.to_owned(),
        };
        self.holders.insert(lead.to_owned(), holder);
    }

    /// A status move handoff-core allowed from the lead's status as the items so far left it:
    /// its `status_changed` event and new status (both guarded by the status the lead had when
    /// the chunk began), the deal's value, the accept clock met, the clock stopped on a close.
    pub fn moved(&mut self, change: &Change<'_>) -> Result<(), ApiError> {
        let lead = change.lead_id;
        if change.from != change.to {
            let guard = self
                .statuses
                .get(lead)
                .map_or(change.from, |(guard, _)| *guard);
            let record = json!({
                "lead": lead, "guard": guard.as_str(), "actor": change.actor,
                "detail": encode(change)?,
            });
            self.moves.push(&record);
            self.statuses.insert(lead.to_owned(), (guard, change.to));
        }
        if let (Some(amount), Some(currency)) = (change.amount, change.currency) {
            self.amounts
                .insert(lead.to_owned(), (amount, currency.to_owned()));
        }
        if change.from == LeadStatus::New && change.to != LeadStatus::New {
            self.accepted.insert(lead.to_owned());
        }
        if change.from.is_open() && !change.to.is_open() {
            self.closed.entry(lead.to_owned()).or_insert(change.to);
        }
        Ok(())
    }

    /// A touch of `lead` by the set's actor: its first touch (`detail` with `via`), unless it
    /// has one, which stops its clock and records the person's last contact.
    pub fn touch(&mut self, lead: &str, detail: &Value) {
        if self.touched.insert(lead.to_owned()) {
            let mut detail = detail.as_object().cloned().unwrap_or_default();
            detail.insert("via".into(), Via::Crm.as_str().into());
            let detail = Value::Object(detail).to_string();
            self.touches.push(json!({ "lead": lead, "detail": detail }));
        }
    }

    /// Whether the set writes nothing.
    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
            && self.events.statements() == 0
            && self.reassigns.statements() == 0
            && self.moves.statements() == 0
            && self.amounts.is_empty()
            && self.accepted.is_empty()
            && self.closed.is_empty()
            && self.touches.is_empty()
    }

    /// The batch: every kind's statements, then the chunk's row `row`, whose answer's
    /// `first_touches` is the count of first touches the batch inserted. Answers the batch and
    /// where the first-touch insert is in it (its `RETURNING` rows are the first touches).
    pub fn build(
        self,
        db: &D1Database,
        row: &ChunkRow<'_>,
        now_ms: f64,
    ) -> Result<(Vec<D1PreparedStatement>, Option<usize>), ApiError> {
        let now = JsValue::from_f64(now_ms);
        let mut out = Vec::new();
        let mut add = |sql: &str, arrays: Vec<String>, more: &[JsValue]| -> Result<(), ApiError> {
            for array in arrays {
                let mut values = vec![JsValue::from_str(&array), now.clone()];
                values.extend_from_slice(more);
                out.push(db.prepare(sql).bind(&values).map_err(ApiError::storage)?);
            }
            Ok(())
        };
        let source = JsValue::from_str(&self.source);
        let facts = arrays(self.facts.iter().map(|(subject, f)| {
            json!({ "subject": subject, "deal": f.deal, "sequence": f.sequence, "contacted": f.contacted })
        }));
        add(FACTS_UPDATE, facts.clone(), std::slice::from_ref(&source))?;
        add(FACTS_INSERT, facts, std::slice::from_ref(&source))?;
        add(EVENTS, self.events.into_arrays(), &[])?;
        add(REASSIGNED, self.reassigns.into_arrays(), &[])?;
        let holders = self.holders.iter();
        let holders = holders.map(|(lead, h)| json!({ "lead": lead, "kind": h.kind, "id": h.id }));
        add(HOLDERS, arrays(holders), &[])?;
        add(MOVES, self.moves.into_arrays(), &[])?;
        let statuses = self.statuses.iter().map(|(lead, (guard, to))| {
            json!({ "lead": lead, "guard": guard.as_str(), "to": to.as_str() })
        });
        add(STATUSES, arrays(statuses), &[])?;
        let amounts = self.amounts.iter().map(|(lead, (amount, currency))| {
            json!({ "lead": lead, "amount": amount, "currency": currency })
        });
        add(AMOUNTS, arrays(amounts), &[])?;
        add(
            ACCEPTED,
            arrays(self.accepted.iter().map(|l| json!(l))),
            &[],
        )?;
        let closed = self.closed.iter();
        let closed = closed.map(|(lead, to)| json!({ "lead": lead, "to": to.as_str() }));
        add(CLOSED, arrays(closed), &[])?;
        let mut first_touches = None;
        if !self.touches.is_empty() {
            let touches = Value::Array(self.touches).to_string();
            let leads = Value::from_iter(self.touched.iter().map(|l| json!(l))).to_string();
            let [first, stop, contacted] =
                touches_statements(db, &touches, &leads, &self.actor, Via::Crm, now_ms)?;
            first_touches = Some(out.len());
            out.push(first);
            // Right after the first touches: `changes()` counts those the insert made.
            out.push(row.statement(db, now_ms, true)?);
            out.extend([stop, contacted]);
        } else {
            out.push(row.statement(db, now_ms, false)?);
        }
        Ok((out, first_touches))
    }
}

/// JSON arrays of `records`, each within `plan::JSON_BYTES`.
fn arrays(records: impl Iterator<Item = Value>) -> Vec<String> {
    let mut chunks = Chunks::default();
    records.for_each(|r| chunks.push(&r));
    chunks.into_arrays()
}

/// The last flags of each subject; a new subject is inserted after (`DO NOTHING`: those the
/// update found are done), so the person's earlier facts stay where this chunk says nothing.
const FACTS_UPDATE: &str = "UPDATE crm_facts AS f SET \
     active_deal = COALESCE(json_extract(j.value, '$.deal'), f.active_deal), \
     in_sequence = COALESCE(json_extract(j.value, '$.sequence'), f.in_sequence), \
     last_contacted_at = CASE WHEN json_extract(j.value, '$.contacted') \
       THEN MAX(COALESCE(f.last_contacted_at, ?2), ?2) ELSE f.last_contacted_at END, \
     source = ?3, updated_at = ?2 \
     FROM json_each(?1) AS j WHERE f.subject = json_extract(j.value, '$.subject')";
const FACTS_INSERT: &str = "INSERT INTO crm_facts (subject, active_deal, in_sequence, \
     last_contacted_at, source, updated_at) \
     SELECT json_extract(value, '$.subject'), COALESCE(json_extract(value, '$.deal'), 0), \
     COALESCE(json_extract(value, '$.sequence'), 0), \
     CASE WHEN json_extract(value, '$.contacted') THEN ?2 END, ?3, ?2 \
     FROM json_each(?1) WHERE true ON CONFLICT (subject) DO NOTHING";
const EVENTS: &str = "INSERT INTO lead_events (lead_id, at, kind, actor, detail) \
     SELECT json_extract(value, '$.lead'), ?2, json_extract(value, '$.kind'), \
     json_extract(value, '$.actor'), json_extract(value, '$.detail') FROM json_each(?1)";
/// A reassignment's event, `from` as the lead stands before the batch for its first one.
const REASSIGNED: &str = "INSERT INTO lead_events (lead_id, at, kind, actor, detail) \
     SELECT l.id, ?2, 'reassigned', json_extract(j.value, '$.actor'), json_patch(json_object(\
       'from', json_object(\
         'kind', CASE WHEN json_extract(j.value, '$.first') THEN l.owner_kind \
           ELSE json_extract(j.value, '$.prior_kind') END, \
         'id', CASE WHEN json_extract(j.value, '$.first') THEN l.owner_id \
           ELSE json_extract(j.value, '$.prior_id') END), \
       'to', json_object('kind', json_extract(j.value, '$.kind'), \
         'id', json_extract(j.value, '$.id')), \
       'reason', json_extract(j.value, '$.reason')), json_extract(j.value, '$.more')) \
     FROM json_each(?1) AS j JOIN leads AS l ON l.id = json_extract(j.value, '$.lead')";
const HOLDERS: &str = "UPDATE leads SET owner_kind = json_extract(j.value, '$.kind'), \
     owner_id = json_extract(j.value, '$.id'), updated_at = ?2 \
     FROM json_each(?1) AS j WHERE leads.id = json_extract(j.value, '$.lead')";
/// Status events, each written only if the lead still has the status the chunk began from.
const MOVES: &str = "INSERT INTO lead_events (lead_id, at, kind, actor, detail) \
     SELECT json_extract(j.value, '$.lead'), ?2, 'status_changed', json_extract(j.value, '$.actor'), \
     json_extract(j.value, '$.detail') FROM json_each(?1) AS j WHERE EXISTS (SELECT 1 FROM leads \
     WHERE id = json_extract(j.value, '$.lead') AND status = json_extract(j.value, '$.guard'))";
const STATUSES: &str = "UPDATE leads SET status = json_extract(j.value, '$.to'), updated_at = ?2 \
     FROM json_each(?1) AS j WHERE leads.id = json_extract(j.value, '$.lead') \
     AND leads.status = json_extract(j.value, '$.guard')";
const AMOUNTS: &str = "UPDATE leads SET deal_amount = json_extract(j.value, '$.amount'), \
     deal_currency = json_extract(j.value, '$.currency'), updated_at = ?2 \
     FROM json_each(?1) AS j WHERE leads.id = json_extract(j.value, '$.lead')";
/// Taken (or worked, or closed) at last: the accept clock is met.
const ACCEPTED: &str = "UPDATE sla_clocks SET accepted_at = ?2, updated_at = ?2 \
     WHERE accepted_at IS NULL AND lead_id IN (SELECT value FROM json_each(?1))";
/// Closed: nothing falls due any more.
const CLOSED: &str = "UPDATE sla_clocks AS c SET next_at = NULL, \
     stopped = json_extract(j.value, '$.to'), updated_at = ?2 FROM json_each(?1) AS j \
     WHERE c.lead_id = json_extract(j.value, '$.lead') AND c.touched_at IS NULL \
     AND c.stopped IS NULL";

/// A chunk's row in `crm_chunks`: the request (SHA-256 of the intake's id and the body), the
/// chunk's number, and what it did (JSON).
pub struct ChunkRow<'a> {
    pub request: &'a str,
    pub chunk: u32,
    pub answer: &'a Value,
}

impl ChunkRow<'_> {
    /// Its insert. A concurrent request that recorded the same chunk first makes it fail, and
    /// with it the whole batch: a chunk is applied once. With `counted`, the answer's
    /// `first_touches` is the previous statement's changes (the first-touch insert).
    fn statement(
        &self,
        db: &D1Database,
        now_ms: f64,
        counted: bool,
    ) -> Result<D1PreparedStatement, ApiError> {
        let sql = if counted {
            "INSERT INTO crm_chunks (request, chunk, applied_at, answer) \
             VALUES (?1, ?2, ?3, json_set(?4, '$.first_touches', changes()))"
        } else {
            "INSERT INTO crm_chunks (request, chunk, applied_at, answer) VALUES (?1, ?2, ?3, ?4)"
        };
        db.prepare(sql)
            .bind(&[
                JsValue::from_str(self.request),
                JsValue::from_f64(f64::from(self.chunk)),
                JsValue::from_f64(now_ms),
                JsValue::from_str(&self.answer.to_string()),
            ])
            .map_err(ApiError::storage)
    }
}

/// A chunk of the request already applied: its number and answer (JSON).
#[derive(Debug, Deserialize)]
pub struct DoneChunk {
    pub chunk: f64,
    pub answer: String,
}

/// The chunks of `request` already applied, in one read.
pub async fn done_chunks(db: &Db, request: &str) -> Result<Vec<DoneChunk>, ApiError> {
    let read = db
        .prepare("SELECT chunk, answer FROM crm_chunks WHERE request = ?1")
        .bind(&[JsValue::from_str(request)])
        .map_err(ApiError::storage)?;
    db.rows(read).await
}
