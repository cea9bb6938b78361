//! What a person does to a lead from a signed link, a Slack button or the admin API: accept it,
//! reject it as not a fit (with a configured reason), or take it from a queue they are a member
//! of. Every path checks, on every attempt of the batch, that the lead is still theirs (or still
//! waits in a queue of theirs): a link or a button sent before a reassignment does nothing.

use handoff_core::events::{LeadEvent, Outcome};
use handoff_core::routing::CompiledRouting;
use handoff_core::status::LeadStatus;
use handoff_core::Bundle;

use crate::error::ApiError;
use crate::moves::apply_with;
use crate::store::events::Target;
use crate::store::leads::take_statements;
use crate::store::status::Via;
use crate::store::Db;

/// One action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    Accept,
    /// Not a fit, with a configured reason's id.
    Reject(String),
    Take,
}

/// What an action did.
#[derive(Debug)]
pub struct Done {
    /// The lead acted on (a merged lead's survivor).
    pub lead_id: String,
    /// The queue a taken lead waited in.
    pub queue: Option<String>,
    pub status: LeadStatus,
    /// False when the lead was already where the action would put it (a second click).
    pub changed: bool,
}

/// `owner` does `act` to lead `id`. Refusals: `404 lead_not_found`; `409 lead_reassigned` (the
/// lead is not theirs, or no longer); `409 not_in_queue` and `403 not_a_member` (taking);
/// `400 unknown_reason`; `409 status.*` (a closed lead).
pub async fn act(
    db: &Db,
    bundle: &Bundle,
    id: &str,
    owner: &str,
    act: &Act,
    via: Via,
    now_ms: f64,
) -> Result<Done, ApiError> {
    let routing = bundle.routing();
    let event = match act {
        Act::Accept | Act::Take => LeadEvent::Accept {
            actor: owner.to_owned(),
            note: None,
        },
        Act::Reject(reason) => {
            let reasons = &bundle.rules.feedback.reject_reasons;
            if !reasons.iter().any(|r| &r.id == reason) {
                return Err(ApiError::new(
                    400,
                    "unknown_reason",
                    "That reason is not one of the configured ones.",
                ));
            }
            LeadEvent::Outcome {
                outcome: Outcome::Rejected,
                reason: Some(reason.clone()),
                amount: None,
                currency: None,
                actor: owner.to_owned(),
                note: None,
            }
        }
    };
    // Checked against the lead as each attempt reads it.
    let extra = |lead: &Target| match act {
        Act::Take => {
            let queue = queue_of(lead)?;
            if !routing.is_some_and(|r| r.is_queue_member(&queue, owner)) {
                return Err(ApiError::new(
                    403,
                    "not_a_member",
                    format!(
                        "{owner} is not a member of the queue {queue}, so cannot take its leads."
                    ),
                ));
            }
            take_statements(db, &lead.id, &queue, owner, now_ms).map(Vec::from)
        }
        Act::Accept | Act::Reject(_) => {
            let mine = lead.owner_kind.as_deref() == Some("owner")
                && lead.owner_id.as_deref() == Some(owner);
            if mine {
                Ok(Vec::new())
            } else {
                Err(ApiError::new(
                    409,
                    "lead_reassigned",
                    format!(
                        "This lead is not {owner}'s: {} has it.",
                        holder_name(routing, lead)
                    ),
                ))
            }
        }
    };
    let applied = apply_with(db, id, &event, via, now_ms, &extra).await?;
    Ok(Done {
        queue: matches!(act, Act::Take)
            .then(|| queue_of(&applied.target).ok())
            .flatten(),
        lead_id: applied.target.id,
        status: applied.status,
        changed: applied.moved.is_some_and(|m| m.changed()),
    })
}

/// The queue a lead waits in, or `409 not_in_queue` naming who has it.
fn queue_of(lead: &Target) -> Result<String, ApiError> {
    match (lead.owner_kind.as_deref(), lead.owner_id.as_deref()) {
        (Some("queue"), Some(queue)) => Ok(queue.to_owned()),
        (_, holder) => Err(ApiError::new(
            409,
            "not_in_queue",
            format!(
                "This lead is not waiting in a queue: {} has it.",
                holder.unwrap_or("nobody")
            ),
        )),
    }
}

/// Who holds a lead, by name where routing has one.
fn holder_name(routing: Option<&CompiledRouting>, lead: &Target) -> String {
    let id = lead.owner_id.as_deref().unwrap_or("nobody");
    let named = match lead.owner_kind.as_deref() {
        Some("owner") => routing
            .and_then(|r| r.owner_spec(id))
            .map(|o| o.name.clone()),
        Some("queue") => routing
            .and_then(|r| r.queue(id))
            .map(|q| format!("the {} queue", q.name)),
        _ => None,
    };
    named.unwrap_or_else(|| id.to_owned())
}
