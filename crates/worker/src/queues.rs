//! Queues that people work: `POST /v1/leads/{id}/take` (admin) gives a lead waiting in a queue to
//! one of the queue's members (`[[routing.queues]] members`), who accepts it at once. The move to
//! the member and the acceptance are one batch: of two members taking the same lead, one gets it
//! and the other is told who has it.

use handoff_core::events::LeadEvent;
use serde::{Deserialize, Serialize};
use worker::{Env, Request, Response};

use crate::error::ApiError;
use crate::http::{json, read_body};
use crate::moves::apply_with;
use crate::store::events::Target;
use crate::store::leads::take_statements;
use crate::store::status::Via;
use crate::store::{BundleOnce, Db};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Take {
    /// The member taking the lead (an owner id).
    owner: String,
}

#[derive(Serialize)]
struct Taken<'a> {
    lead_id: &'a str,
    queue: &'a str,
    owner: &'a str,
    status: &'static str,
}

/// `POST /v1/leads/{id}/take` `{"owner": ID}`: `201 {lead_id, queue, owner, status}`;
/// `400 bad_json`, `404 lead_not_found`, `409 not_in_queue` (the lead is held by a person, who
/// may have just taken it), `403 not_a_member` (the owner is not one of the queue's members),
/// `409 status.*` (a closed lead).
pub async fn take(
    req: &mut Request,
    env: &Env,
    id: &str,
    bundle: &BundleOnce,
    now_ms: f64,
) -> Result<Response, ApiError> {
    let body = read_body(req, None).await?;
    let input: Take = serde_json::from_str(&body)
        .map_err(|_| ApiError::new(400, "bad_json", "The body is {\"owner\": an owner id}."))?;
    let bundle = bundle.get(env).await?;
    let routing = bundle.routing();
    let db = Db::open(env)?;
    let owner = input.owner.as_str();
    // The queue the lead waits in, checked on every attempt: a member who lost the race is told.
    let queue_of = |lead: &Target| -> Result<String, ApiError> {
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
    };
    let extra = |lead: &Target| {
        let queue = queue_of(lead)?;
        if !routing.is_some_and(|r| r.is_queue_member(&queue, owner)) {
            return Err(ApiError::new(
                403,
                "not_a_member",
                format!("{owner} is not a member of the queue {queue}, so cannot take its leads."),
            ));
        }
        take_statements(&db, &lead.id, &queue, owner, now_ms).map(Vec::from)
    };
    let accept = LeadEvent::Accept {
        actor: owner.to_owned(),
        note: None,
    };
    let applied = apply_with(&db, id, &accept, Via::Admin, now_ms, &extra).await?;
    let queue = queue_of(&applied.target)?;
    json(
        201,
        &Taken {
            lead_id: &applied.target.id,
            queue: &queue,
            owner,
            status: applied.status.as_str(),
        },
    )
}
