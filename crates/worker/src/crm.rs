//! `POST /v1/crm/{intake}`: a CRM's webhooks, mapped by the intake's `[[crm.intakes]]` entry
//! (handoff-core's `crm::read`) into suppression facts about people and accounts (`crm_facts`),
//! and, for a contact, the person's open lead's first touch. Authenticated by the intake's own
//! bearer token (a wrangler secret the configuration names), not the admin token: a CRM gets
//! exactly this door. An intake with a preset reads a vendor's own calls instead ([`back`]).

mod back;

use handoff_core::crm::{account_subject, person_subject, read, Fact, Intake, Meaning};
use handoff_core::events::EventKind;
use handoff_core::status::{advance, LeadStatus, Move};
use serde::Serialize;
use worker::{D1PreparedStatement, Env, Request, Response};

use crate::error::ApiError;
use crate::http::{bearer, json, read_body, Cap};
use crate::store::crm::OpenLead;
use crate::store::facts::facts_statement;
use crate::store::sla::{touch_statements, Via};
use crate::store::status::{self, Change};
use crate::store::{self, BundleOnce, Db};

/// The largest body accepted, in bytes (a batch of a few hundred small events).
const MAX_BODY: usize = 256 * 1024;
pub(crate) const BODY: Cap = Cap {
    bytes: MAX_BODY,
    what: "A CRM body",
    in_kb: true,
};

#[derive(Serialize)]
struct Applied {
    applied: usize,
    ignored: Vec<handoff_core::crm::Skipped>,
    /// Leads whose first touch this request recorded.
    first_touches: usize,
}

/// `POST /v1/crm/{id}`: checks the intake's token, reads the body into facts (handoff-core), and
/// writes them with the first touches of the contacted people's open leads in one batch.
pub async fn intake(
    req: &mut Request,
    env: &Env,
    id: &str,
    bundle: &BundleOnce,
    now_ms: f64,
) -> Result<Response, ApiError> {
    let bundle = bundle.get(env).await?;
    let intake = bundle
        .rules
        .crm
        .intake(id)
        .ok_or_else(|| ApiError::new(404, "unknown_intake", "No CRM intake has this id."))?;
    let expected = env
        .secret(&intake.secret)
        .map(|s| s.to_string())
        .unwrap_or_default();
    if expected.is_empty() {
        return Err(ApiError::new(
            503,
            "intake_not_configured",
            "The secret this intake names is not set on this Worker.",
        ));
    }
    if let Some(preset) = intake.preset {
        return back::intake(req, env, &bundle, intake, preset, &expected, now_ms).await;
    }
    bearer(req, &expected)?;
    let body = read_body(req, Some(BODY)).await?;
    let value: serde_json::Value = serde_json::from_str(&body)
        .map_err(|e| ApiError::new(400, "bad_json", format!("The body is not JSON: {e}.")))?;
    let (facts, ignored) = read(intake, &value).map_err(|e| match e.code {
        "crm.too_many" => ApiError::new(413, "too_many_items", e.message),
        _ => ApiError::new(400, "bad_body", e.message),
    })?;
    let db = Db::open(env)?;
    let first_touches = apply(&db, intake, &facts, now_ms).await?;
    json(
        200,
        &Applied {
            applied: facts.len(),
            ignored,
            first_touches,
        },
    )
}

/// Writes `facts` in one batch: each person's (and, for a deal, their account's) facts, and for
/// each contact a `touch` on the person's open lead with its first touch. Answers how many first
/// touches it recorded.
async fn apply(db: &Db, intake: &Intake, facts: &[Fact], now_ms: f64) -> Result<usize, ApiError> {
    // The open lead of each person a rep contacted, in one batch of reads.
    let contacted: Vec<&str> = {
        let mut emails: Vec<&str> = facts
            .iter()
            .filter(|f| f.meaning.is_contact() || f.meaning.closes())
            .map(|f| f.email.as_str())
            .collect();
        emails.sort_unstable();
        emails.dedup();
        emails
    };
    let open = store::crm::open_leads(db, &contacted).await?;
    let mut writes = Vec::new();
    let mut touches = Vec::new();
    for fact in facts {
        let change = fact.meaning.change();
        let (deal, sequence) = (change.active_deal, change.in_sequence);
        let contacted_at = change.contacted.then_some(now_ms);
        let person = person_subject(&fact.email);
        let source = intake.id.as_str();
        writes.push(facts_statement(
            db,
            &person,
            deal,
            sequence,
            contacted_at,
            source,
            now_ms,
        )?);
        if let (Some(domain), Some(_)) = (&fact.domain, deal) {
            let account = account_subject(domain);
            writes.push(facts_statement(
                db, &account, deal, None, None, source, now_ms,
            )?);
        }
        // Only a contact touches the person's lead, wherever it stands in the batch.
        let touched = change
            .contacted
            .then(|| open.get(fact.email.as_str()))
            .flatten();
        // A won or lost deal closes the person's open lead, with its value.
        if let Some(lead) = fact
            .meaning
            .closes()
            .then(|| open.get(fact.email.as_str()))
            .flatten()
        {
            let won = fact.meaning == Meaning::DealWon;
            let outcome = Outcome {
                won,
                reason: fact.reason.as_deref().unwrap_or("unspecified"),
                amount: fact.amount.as_ref().map(|(a, c)| (*a, c.as_str())),
            };
            writes.extend(close(db, &intake.id, &intake.id, &outcome, lead, now_ms)?);
        }
        if let Some(lead) = touched {
            writes.extend(touch(
                db,
                intake,
                fact,
                lead,
                now_ms,
                &mut touches,
                writes.len(),
            )?);
        }
    }
    if writes.is_empty() {
        return Ok(0);
    }
    let results = db.batch(writes).await?;
    Ok(touches
        .iter()
        .filter(|&&i| store::returned(results.get(i)))
        .count())
}

/// A deal won or lost, as an intake reports it.
pub(crate) struct Outcome<'a> {
    pub won: bool,
    /// A loss's reason code (`unspecified` when the CRM gave none).
    pub reason: &'a str,
    /// The deal's value and its currency, when the CRM gave both.
    pub amount: Option<(f64, &'a str)>,
}

/// A won or lost deal's `outcome` event on the person's open `lead` (by `actor`, through intake
/// `intake_id`) and the status move it makes (unless another item of the batch moved the lead
/// first), with the deal's value.
pub(crate) fn close(
    db: &Db,
    intake_id: &str,
    actor: &str,
    outcome: &Outcome<'_>,
    lead: &OpenLead,
    now_ms: f64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let won = outcome.won;
    let reason = outcome.reason;
    let amount = outcome.amount;
    let detail = serde_json::json!({
        "type": "outcome", "outcome": if won { "won" } else { "lost" },
        "reason": (!won).then_some(reason), "amount": amount.map(|a| a.0),
        "currency": amount.map(|a| a.1), "actor": actor, "intake": intake_id,
        "via": Via::Crm.as_str(),
    });
    let kind = EventKind::Outcome;
    let mut out = vec![store::event_statement(
        db, &lead.id, now_ms, kind, actor, &detail,
    )?];
    let step = if won {
        Move::Won
    } else {
        Move::Lost { reason }
    };
    let from = LeadStatus::parse(&lead.status);
    if let Some(moved) = from.and_then(|from| advance(from, &step).ok()) {
        let mut change = Change::new(&lead.id, actor, moved, Via::Crm);
        change.reason = (!won).then_some(reason);
        change.amount = amount.map(|a| a.0);
        change.currency = amount.map(|a| a.1);
        out.extend(status::statements(db, &change, false, now_ms)?);
    }
    Ok(out)
}

/// A contact's `touch` event on `lead` and its first-touch statements, to go at `at` in the
/// batch; the first-touch insert's index is pushed onto `touches`. A lead nobody worked yet moves
/// to `working` (unless another item of the batch moved it first).
fn touch(
    db: &Db,
    intake: &Intake,
    fact: &Fact,
    lead: &OpenLead,
    now_ms: f64,
    touches: &mut Vec<usize>,
    at: usize,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let detail = serde_json::json!({ "intake": intake.id, "meaning": fact.meaning });
    let mut out = vec![store::event_statement(
        db,
        &lead.id,
        now_ms,
        EventKind::Touch,
        &intake.id,
        &detail,
    )?];
    touches.push(at + out.len());
    out.extend(touch_statements(
        db,
        &lead.id,
        &intake.id,
        Via::Crm,
        &detail,
        now_ms,
    )?);
    let from = LeadStatus::parse(&lead.status);
    if let Some(moved) = from.and_then(|from| advance(from, &Move::Contact).ok()) {
        let change = Change::new(&lead.id, &intake.id, moved, Via::Crm);
        out.extend(status::statements(db, &change, false, now_ms)?);
    }
    Ok(out)
}
