//! The `leads` table: a checked lead inserted with its verdict and owner, a returning person's
//! lead found and brought up to date, and a stored lead read back for the admin API.

use handoff_core::attribution::Attribution;
use handoff_core::disqualify::SubmitContext;
use handoff_core::experiment::Assignment;
use handoff_core::returning::Earlier;
use handoff_core::routing::Assignee;
use handoff_core::scoring::{Activity, Stage};
use handoff_core::sla::SuppressionFacts;
use handoff_core::status::LeadStatus;
use handoff_core::Evaluation;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env};

use super::{encode, opt, D1_BINDING};
use crate::error::ApiError;

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
    pub previous_lead: Option<String>,
    pub deal_amount: Option<f64>,
    pub deal_currency: Option<String>,
}

/// A checked lead about to be stored.
pub struct NewLead<'a> {
    pub id: &'a str,
    pub evaluation: &'a Evaluation,
    pub email: Option<&'a str>,
    pub client_bundle_version: Option<&'a str>,
    pub visitor: Option<&'a str>,
    /// Already cleaned (`Attribution::clean`).
    pub attribution: &'a Attribution,
    pub now_ms: f64,
    /// [`LeadInputs`] as JSON: kept so the lead can be replayed (`GET /v1/export/leads.jsonl`).
    pub inputs: &'a str,
}

/// The `inputs` column: what the intake judged besides the answers, kept for replays, keys in
/// this order.
#[derive(Debug, Serialize)]
pub struct LeadInputs<'a> {
    /// The activity items the request sent (not the page views the attribution adds).
    pub activity: &'a [Activity],
    /// The request's context (honeypot, fill time) as sent.
    pub context: &'a SubmitContext,
    /// The CRM's facts the intake read for the person; `None` when it read none.
    pub facts: Option<&'a SuppressionFacts>,
}

impl LeadInputs<'_> {
    /// The column's JSON text.
    pub fn to_json(&self) -> Result<String, ApiError> {
        serde_json::to_string(self)
            .map_err(|_| ApiError::new(500, "internal", "The lead could not be encoded."))
    }
}

/// Who has a lead, as stored: a person or a queue (`owner_kind` `owner` | `queue`, `owner_id`).
pub struct Ownership<'a> {
    pub kind: &'a str,
    pub id: &'a str,
}

/// How a lead relates to the person's earlier lead.
#[derive(Clone, Copy)]
pub enum Link<'a> {
    /// The person's first lead (or no routing).
    None,
    /// A repeat folded into this earlier lead (status `merged`).
    MergedInto(&'a str),
    /// A new lead of a returning person, linked to their earlier lead.
    Previous(&'a str),
}

/// The statement that inserts a lead: its verdict, who owns it (none for a bot, which is never
/// routed), its `status` (`new`, `rejected` for a bot, `merged` for a returning person's repeat)
/// and how it relates to the person's earlier lead.
pub fn lead_statement(
    db: &D1Database,
    lead: &NewLead<'_>,
    owner: Option<&Ownership<'_>>,
    status: &str,
    link: Link<'_>,
    assignment: Option<&Assignment>,
) -> Result<D1PreparedStatement, ApiError> {
    let (merged_into, previous_lead) = match link {
        Link::None => (None, None),
        Link::MergedInto(id) => (Some(id), None),
        Link::Previous(id) => (None, Some(id)),
    };
    let ev = lead.evaluation;
    let mut details = serde_json::json!({
        "score": ev.score,
        "disqualification": ev.disqualification,
        "visible": ev.visible,
        "email": ev.email,
        "learned": ev.learned,
        "country_code": ev.place.country_code,
        "region_code": ev.place.region_code,
        "company_key": ev.place.company_key,
        "function": ev.place.function,
        "seniority": ev.place.seniority,
    });
    // Answers to questions the form does not have, kept as sent.
    if let (false, Some(object)) = (ev.unknown.is_empty(), details.as_object_mut()) {
        object.insert("unknown".to_owned(), serde_json::json!(ev.unknown));
    }
    let answers = encode(&ev.answers)?;
    let details = encode(&details)?;
    // The crm_facts subjects of the person and their email's domain, computed by handoff-core.
    let (person_key, account_key) = lead.email.map(handoff_core::crm::lead_subjects).unzip();
    let account_key = account_key.flatten();
    let attribution = encode(lead.attribution)?;
    db.prepare(
        "INSERT INTO leads (id, form_id, email, answers, bundle_version, client_bundle_version, \
         created_at, score, grade, lifecycle, disqualify_reason, evaluation, visitor, attribution, \
         owner_kind, owner_id, status, merged_into, updated_at, experiment, arm, person_key, \
         account_key, previous_lead, inputs) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?7, \
         ?19, ?20, ?21, ?22, ?23, ?24)",
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
        opt(previous_lead),
        JsValue::from_str(lead.inputs),
    ])
    .map_err(ApiError::storage)
}

/// The lead a returning person already has: their latest routed lead that was not itself
/// merged, whatever its status (handoff-core's `returning::place` decides what a repeat does).
#[derive(Debug, Deserialize)]
pub struct Existing {
    pub id: String,
    pub owner_kind: String,
    pub owner_id: String,
    pub status: String,
    pub created_at: f64,
    pub lifecycle: Option<String>,
}

impl Existing {
    /// The lead as handoff-core reads it; `None` if its status is not one Handoff knows.
    pub fn earlier(&self) -> Option<Earlier<'_>> {
        Some(Earlier {
            id: &self.id,
            status: LeadStatus::parse(&self.status)?,
            assignee: self.assignee(),
            created_ms: self.created_at as i64,
            lifecycle: self.lifecycle.as_deref().and_then(Stage::parse),
        })
    }

    /// Who holds it.
    pub fn assignee(&self) -> Assignee {
        match self.owner_kind.as_str() {
            "owner" => Assignee::Owner(self.owner_id.clone()),
            _ => Assignee::Queue(self.owner_id.clone()),
        }
    }
}

/// The read of a returning person's lead ([`Existing`]) by the person's key (handoff-core's
/// `crm::person_subject` of the email), for a submission's read batch.
pub fn existing_query(db: &D1Database, email: &str) -> Result<D1PreparedStatement, ApiError> {
    db.prepare(
        "SELECT id, owner_kind, owner_id, status, created_at, lifecycle FROM leads \
         WHERE person_key = ?1 AND owner_id IS NOT NULL AND merged_into IS NULL \
         ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(&[JsValue::from_str(&handoff_core::crm::person_subject(email))])
    .map_err(ApiError::storage)
}

/// What a person told us on their earlier leads (by normalized email address or visitor token),
/// newest first, at most five: read in the submission's read batch, before it is judged, so that
/// the answers the form no longer asks still score and route. Bots' submissions are not the
/// person's.
pub fn earlier_query(
    db: &D1Database,
    email: Option<&str>,
    visitor: Option<&str>,
) -> Result<D1PreparedStatement, ApiError> {
    let person = email.map(handoff_core::crm::person_subject);
    db.prepare(
        "SELECT id, created_at, answers FROM leads \
         WHERE (person_key = ?1 OR visitor = ?2) AND COALESCE(disqualify_reason, '') <> 'bot' \
         ORDER BY created_at DESC, id DESC LIMIT 5",
    )
    .bind(&[opt(person.as_deref()), opt(visitor)])
    .map_err(ApiError::storage)
}

/// The earlier leads [`earlier_query`] found.
pub fn read_earlier(
    result: &worker::D1Result,
) -> Result<Vec<handoff_core::lead::EarlierLead>, ApiError> {
    #[derive(serde::Deserialize)]
    struct Row {
        id: String,
        created_at: f64,
        answers: String,
    }
    let rows: Vec<Row> = result.results().map_err(ApiError::storage)?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(handoff_core::lead::EarlierLead {
                lead_id: row.id,
                at_ms: row.created_at as i64,
                answers: serde_json::from_str(&row.answers).ok()?,
            })
        })
        .collect())
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

/// A stored lead, as the admin API shows it.
pub async fn lead(env: &Env, id: &str) -> Result<Option<LeadRow>, ApiError> {
    let db = env.d1(D1_BINDING).map_err(ApiError::storage)?;
    db.prepare(
        "SELECT id, form_id, email, answers, bundle_version, client_bundle_version, created_at, \
         score, grade, lifecycle, disqualify_reason, evaluation, visitor, attribution, experiment, \
         arm, previous_lead, deal_amount, deal_currency FROM leads WHERE id = ?1",
    )
    .bind(&[JsValue::from_str(id)])
    .map_err(ApiError::storage)?
    .first::<LeadRow>(None)
    .await
    .map_err(ApiError::storage)
}

/// The statement that gives lead `lead_id` to `kind`/`id` (an SLA step's reassignment; the admin
/// API's has its own batch, `store::admin::reassign`).
pub fn owner_statement(
    db: &D1Database,
    lead_id: &str,
    kind: &str,
    id: &str,
    now_ms: f64,
) -> Result<D1PreparedStatement, ApiError> {
    db.prepare(
        "UPDATE leads SET owner_kind = ?2, owner_id = ?3, updated_at = ?4                          WHERE id = ?1",
    )
    .bind(&[
        JsValue::from_str(lead_id),
        JsValue::from_str(kind),
        JsValue::from_str(id),
        JsValue::from_f64(now_ms),
    ])
    .map_err(ApiError::storage)
}

/// The statements that give lead `lead_id`, waiting in `queue`, to the member `owner`: the
/// `reassigned` event (`via: take`) and the new holder, both only while the lead is still in
/// that queue, and the first failing the whole batch otherwise (its `kind` is NULL), so that a
/// member who lost the race to another changes nothing.
pub fn take_statements(
    db: &D1Database,
    lead_id: &str,
    queue: &str,
    owner: &str,
    now_ms: f64,
) -> Result<[D1PreparedStatement; 2], ApiError> {
    let detail = serde_json::json!({
        "from": { "kind": "queue", "id": queue },
        "to": { "kind": "owner", "id": owner },
        "via": "take",
    });
    Ok([
        db.prepare(
            "INSERT INTO lead_events (lead_id, at, kind, actor, detail) VALUES (?1, ?2, \
             CASE WHEN EXISTS (SELECT 1 FROM leads WHERE id = ?1 AND owner_kind = 'queue' \
             AND owner_id = ?3) THEN 'reassigned' END, ?4, ?5)",
        )
        .bind(&[
            JsValue::from_str(lead_id),
            JsValue::from_f64(now_ms),
            JsValue::from_str(queue),
            JsValue::from_str(owner),
            JsValue::from_str(&encode(&detail)?),
        ])
        .map_err(ApiError::storage)?,
        db.prepare(
            "UPDATE leads SET owner_kind = 'owner', owner_id = ?2, updated_at = ?3 \
             WHERE id = ?1 AND owner_kind = 'queue' AND owner_id = ?4",
        )
        .bind(&[
            JsValue::from_str(lead_id),
            JsValue::from_str(owner),
            JsValue::from_f64(now_ms),
            JsValue::from_str(queue),
        ])
        .map_err(ApiError::storage)?,
    ])
}
