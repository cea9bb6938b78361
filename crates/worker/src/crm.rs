//! `POST /v1/crm/{intake}`: a CRM's webhooks, mapped by the intake's `[[crm.intakes]]` entry
//! (handoff-core's `crm::read`) into suppression facts about people and accounts (`crm_facts`),
//! and, for a contact, the person's open lead's first touch. Authenticated by the intake's own
//! bearer token (a wrangler secret the configuration names), not the admin token: a CRM gets
//! exactly this door. An intake with a preset reads a vendor's own calls instead ([`back`]).

mod back;
mod chunks;

use std::collections::{BTreeMap, BTreeSet};

use handoff_core::crm::{account_subject, person_subject, read, Fact, Intake, Meaning, Skipped};
use handoff_core::events::EventKind;
use handoff_core::status::{advance, LeadStatus, Move};
use serde::Serialize;
use worker::{Env, Request, Response};

use crate::error::ApiError;
use crate::http::{read_body, Cap};
use crate::store::crm::OpenLead;
use crate::store::crm_set::CrmSet;
use crate::store::sla::Via;
use crate::store::status::Change;
use crate::store::{self, BundleOnce, Db};
use chunks::{chunk_of, Chunked, Done, Ignored, Step};

pub(crate) const BODY: Cap = crate::http::caps::CRM;

#[derive(Serialize)]
struct Applied {
    applied: usize,
    ignored: Vec<Ignored>,
    /// Leads whose first touch this request recorded.
    first_touches: usize,
}

/// `POST /v1/crm/{id}`: checks the intake's token, reads the body into facts (handoff-core), and
/// writes them with the first touches and status moves of the people's open leads, in chunks
/// ([`chunks`]): each chunk one batch, a repeated request applying nothing twice.
pub async fn intake(
    req: &mut Request,
    env: &Env,
    id: &str,
    bundle: &BundleOnce,
    now_ms: f64,
) -> Result<Response, ApiError> {
    let bundle = bundle.get(env).await?;
    let intake = bundle.rules.crm.intake(id).ok_or_else(unauthorized)?;
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
    crate::auth::check_token(req, env, now_ms, &expected).await?;
    let body = read_body(req, BODY).await?;
    let value: serde_json::Value = serde_json::from_str(&body)
        .map_err(|e| ApiError::new(400, "bad_json", format!("The body is not JSON: {e}.")))?;
    let (facts, ignored) = read(intake, &value).map_err(refused)?;
    let db = Db::open(env)?;
    let mut run = Chunked::open(&db, env, &intake.id, &body, 0, now_ms).await?;
    let chunks = by_chunk(&facts, &ignored);
    let complete = apply(&mut run, &db, intake, &chunks).await? == Step::Applied;
    let total = run.total(&ignored_items(&ignored), complete);
    let answer = Applied {
        applied: total.applied,
        ignored: total.ignored,
        first_touches: total.first_touches,
    };
    run.respond(complete, &answer, chunks.len(), env)
}

/// An id no intake has answers exactly as a wrong token does (`http::bearer`'s `401
/// unauthorized`): a `404` would let anyone list the intakes, one guess at a time, and then aim at
/// their tokens.
fn unauthorized() -> ApiError {
    ApiError::new(401, "unauthorized", "A valid bearer token is required.")
}

/// A body handoff-core refuses whole: `413 too_many_items` or `400 bad_body`.
pub(crate) fn refused(e: handoff_core::crm::IntakeError) -> ApiError {
    match e.code {
        "crm.too_many" => ApiError::new(413, "too_many_items", e.message),
        _ => ApiError::new(400, "bad_body", e.message),
    }
}

/// The items handoff-core skipped, as an answer lists them.
pub(crate) fn ignored_items(skipped: &[Skipped]) -> Vec<Ignored> {
    let item = |s: &Skipped| Ignored {
        index: s.index,
        code: s.code.to_owned(),
    };
    skipped.iter().map(item).collect()
}

/// The facts by chunk: each fact's place in the body is the next index handoff-core did not skip.
fn by_chunk<'f>(facts: &'f [Fact], ignored: &[Skipped]) -> BTreeMap<u32, Vec<&'f Fact>> {
    let skipped: BTreeSet<usize> = ignored.iter().map(|s| s.index).collect();
    let indices = (0..).filter(|i| !skipped.contains(i));
    let mut chunks: BTreeMap<u32, Vec<&Fact>> = BTreeMap::new();
    for (index, fact) in indices.zip(facts) {
        chunks.entry(chunk_of(index)).or_default().push(fact);
    }
    chunks
}

/// Applies the chunks not done yet, in order: the open lead of each person they close or
/// contact is read once, then followed from item to item. `Later` when the invocation's limits
/// leave the rest to the CRM's retry.
async fn apply(
    run: &mut Chunked<'_>,
    db: &Db,
    intake: &Intake,
    chunks: &BTreeMap<u32, Vec<&Fact>>,
) -> Result<Step, ApiError> {
    let pending: Vec<_> = chunks.iter().filter(|(c, _)| !run.is_done(**c)).collect();
    if pending.is_empty() {
        return Ok(Step::Applied);
    }
    let mut emails: Vec<&str> = pending
        .iter()
        .flat_map(|(_, facts)| facts.iter())
        .filter(|f| f.meaning.is_contact() || f.meaning.closes())
        .map(|f| f.email.as_str())
        .collect();
    emails.sort_unstable();
    emails.dedup();
    let mut open = store::crm::open_leads(db, &emails).await?;
    for (chunk, facts) in pending {
        let set = chunk_set(intake, facts, &mut open)?;
        let done = Done {
            applied: facts.len(),
            ..Done::default()
        };
        if run.apply(*chunk, set, done).await? == Step::Later {
            return Ok(Step::Later);
        }
    }
    Ok(Step::Applied)
}

/// One chunk's records: each person's (and, for a deal, their account's) facts, and on the
/// person's open lead (as the items before left it) a contact's touch or a deal's close.
fn chunk_set(
    intake: &Intake,
    facts: &[&Fact],
    open: &mut BTreeMap<&str, OpenLead>,
) -> Result<CrmSet, ApiError> {
    let mut set = CrmSet::new(&intake.id, &intake.id);
    for fact in facts {
        let change = fact.meaning.change();
        let (deal, sequence) = (change.active_deal, change.in_sequence);
        set.fact(
            &person_subject(&fact.email),
            deal,
            sequence,
            change.contacted,
        );
        // A free mailbox provider's domain is no account (see `account_subject`).
        let account = fact.domain.as_deref().and_then(account_subject);
        if let (Some(account), Some(_)) = (account, deal) {
            set.fact(&account, deal, None, false);
        }
        let is_open =
            |l: &&mut OpenLead| LeadStatus::parse(&l.status).is_some_and(LeadStatus::is_open);
        let Some(lead) = open.get_mut(fact.email.as_str()).filter(is_open) else {
            continue;
        };
        if fact.meaning.closes() {
            // A won or lost deal closes the person's open lead, with its value.
            let outcome = Outcome {
                won: fact.meaning == Meaning::DealWon,
                reason: fact.reason.as_deref().unwrap_or("unspecified"),
                amount: fact.amount.as_ref().map(|(a, c)| (*a, c.as_str())),
            };
            close(&mut set, &intake.id, &intake.id, &outcome, lead)?;
        } else if change.contacted {
            // Only a contact touches the person's lead, wherever it stands in the request.
            touch(&mut set, intake, fact, lead)?;
        }
    }
    Ok(set)
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
/// `intake_id`) and the status move it makes, with the deal's value; `lead` then has its new
/// status.
pub(crate) fn close(
    set: &mut CrmSet,
    intake_id: &str,
    actor: &str,
    outcome: &Outcome<'_>,
    lead: &mut OpenLead,
) -> Result<(), ApiError> {
    let won = outcome.won;
    let reason = outcome.reason;
    let amount = outcome.amount;
    let detail = serde_json::json!({
        "type": "outcome", "outcome": if won { "won" } else { "lost" },
        "reason": (!won).then_some(reason), "amount": amount.map(|a| a.0),
        "currency": amount.map(|a| a.1), "actor": actor, "intake": intake_id,
        "via": Via::Crm.as_str(),
    });
    set.event(&lead.id, EventKind::Outcome, actor, &detail);
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
        set.moved(&change)?;
        lead.status = moved.to.as_str().to_owned();
    }
    Ok(())
}

/// A contact's `touch` event on `lead` and its first touch; a lead nobody worked yet moves to
/// `working`.
fn touch(
    set: &mut CrmSet,
    intake: &Intake,
    fact: &Fact,
    lead: &mut OpenLead,
) -> Result<(), ApiError> {
    let detail = serde_json::json!({ "intake": intake.id, "meaning": fact.meaning });
    set.event(&lead.id, EventKind::Touch, &intake.id, &detail);
    set.touch(&lead.id, &detail);
    let from = LeadStatus::parse(&lead.status);
    if let Some(moved) = from.and_then(|from| advance(from, &Move::Contact).ok()) {
        set.moved(&Change::new(&lead.id, &intake.id, moved, Via::Crm))?;
        lead.status = moved.to.as_str().to_owned();
    }
    Ok(())
}
