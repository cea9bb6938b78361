//! One event applied to a lead, whoever reports it (the events API, the "I've got it" and "Not a
//! fit" links, the admin API): the entry in the lead's log, the first touch (which stops the SLA
//! clock, `store::sla::touch_statements`), the status move handoff-core allows
//! (`handoff_core::status::advance`, written by `store::status`: accepting stops the accept
//! clock, closing stops the whole clock), the deal's value, and the person's suppression facts,
//! in one D1 batch.

use handoff_core::events::LeadEvent;
use handoff_core::status::{advance, LeadStatus, Moved, StatusCode};
use worker::{D1Database, D1PreparedStatement};

use crate::error::ApiError;
use crate::store::events::{target as lookup, Target};
use crate::store::facts::facts_statement;
use crate::store::sla::touch_statements;
use crate::store::status::{self, Change, Via};
use crate::store::{self, Db};

/// How often an event is applied again after the lead's status moved under it.
const ATTEMPTS: u32 = 3;

/// What applying one event did.
pub struct Applied {
    pub target: Target,
    pub first_touch: bool,
    pub moved: Option<Moved>,
    pub status: LeadStatus,
}

/// The status `target` is stored with, as handoff-core reads it.
pub fn stored_status(target: &Target) -> Result<LeadStatus, ApiError> {
    LeadStatus::parse(&target.status).ok_or_else(|| {
        ApiError::new(
            500,
            "lead_status_unreadable",
            "The lead's stored status is not one Handoff knows.",
        )
    })
}

/// The answer to a move the status machine refuses: `409` with the `status.*` code.
pub fn refused(code: StatusCode, status: LeadStatus) -> ApiError {
    let why = match code {
        StatusCode::Closed => format!(
            "the lead is {}: nothing moves it (a lost or rejected lead may be recycled)",
            status.as_str()
        ),
        StatusCode::ReasonRequired => "this move needs a reason code".to_owned(),
        StatusCode::NotNew => format!(
            "only a new lead can be merged; this one is {}",
            status.as_str()
        ),
        _ => format!("the lead is {}", status.as_str()),
    };
    ApiError::new(409, code.as_str(), format!("{}: {why}.", code.as_str()))
}

/// Applies `event` by `via` to lead `id` (or the lead it was merged into) at `now_ms`: the log
/// entry, the first touch, the status move handoff-core allows, the deal's value and the person's
/// facts, in one batch. A lead whose status moved meanwhile is read and moved again.
pub async fn apply(
    db: &Db,
    id: &str,
    event: &LeadEvent,
    via: Via,
    now_ms: f64,
) -> Result<Applied, ApiError> {
    apply_with(db, id, event, via, now_ms, &|_| Ok(Vec::new())).await
}

/// What a caller adds to an event's batch, given the lead as read for this attempt (or its
/// refusal, such as a lead no longer in the queue it was taken from).
pub type Extra<'a> = &'a dyn Fn(&Target) -> Result<Vec<D1PreparedStatement>, ApiError>;

/// [`apply`], with `extra`'s statements first in the batch, prepared afresh on every attempt.
pub async fn apply_with(
    db: &Db,
    id: &str,
    event: &LeadEvent,
    via: Via,
    now_ms: f64,
    extra: Extra<'_>,
) -> Result<Applied, ApiError> {
    let not_found = || ApiError::new(404, "lead_not_found", "No lead has this id.");
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut target = lookup(db, id).await?.ok_or_else(not_found)?;
        if let Some(into) = target.merged_into.clone() {
            target = lookup(db, &into).await?.ok_or_else(not_found)?;
        }
        let from = stored_status(&target)?;
        let moved = match event.step() {
            Some(step) => Some(advance(from, &step).map_err(|code| refused(code, from))?),
            None => None,
        };
        let mut batch = extra(&target)?;
        let offset = batch.len();
        let (statements, touch_at) = statements(db, &target, event, moved, via, now_ms)?;
        batch.extend(statements);
        match db.batch(batch).await {
            Ok(results) => {
                let touched = touch_at.is_some_and(|i| store::returned(results.get(offset + i)));
                return Ok(Applied {
                    first_touch: touched,
                    status: moved.map_or(from, |m| m.to),
                    moved,
                    target,
                });
            }
            Err(_) if moved.is_some_and(|m| m.changed()) && attempt < ATTEMPTS => continue,
            Err(error) => return Err(error),
        }
    }
}

/// The statements of one event on `lead`, and where the first-touch insert is among them (its
/// `RETURNING` row says whether this event was the first touch).
fn statements(
    db: &D1Database,
    lead: &Target,
    event: &LeadEvent,
    moved: Option<Moved>,
    via: Via,
    now_ms: f64,
) -> Result<(Vec<D1PreparedStatement>, Option<usize>), ApiError> {
    let mut detail = serde_json::to_value(event)
        .map_err(|_| ApiError::new(500, "internal", "The event could not be encoded."))?;
    if let Some(map) = detail.as_object_mut() {
        map.insert("via".into(), via.as_str().into());
    }
    let mut out = vec![store::event_statement(
        db,
        &lead.id,
        now_ms,
        event.event_kind(),
        event.actor(),
        &detail,
    )?];
    let mut touch_at = None;
    if event.is_contact() {
        touch_at = Some(out.len());
        out.extend(touch_statements(
            db,
            &lead.id,
            event.actor(),
            via,
            &detail,
            now_ms,
        )?);
    }
    if let Some(moved) = moved {
        let mut change = Change::new(&lead.id, event.actor(), moved, via);
        if let LeadEvent::Outcome { reason, .. } = event {
            change.reason = reason.as_deref();
        }
        if let Some((amount, currency)) = event.amount() {
            change.amount = Some(amount);
            change.currency = Some(currency);
        }
        out.extend(status::statements(db, &change, true, now_ms)?);
    }
    let (deal, sequence) = event.facts();
    if deal.is_some() || sequence.is_some() {
        let email = lead.email.as_deref().ok_or_else(|| {
            ApiError::new(
                422,
                "lead_without_email",
                "This lead left no email address, so nothing can be recorded about the person.",
            )
        })?;
        out.push(facts_statement(
            db,
            &handoff_core::crm::person_subject(email),
            deal,
            sequence,
            None,
            "events",
            now_ms,
        )?);
    }
    Ok((out, touch_at))
}
