//! Queues that people work: `POST /v1/leads/{id}/take` (admin) gives a lead waiting in a queue to
//! one of the queue's members (`[[routing.queues]] members`), who accepts it at once. The move to
//! the member and the acceptance are one batch: of two members taking the same lead, one gets it
//! and the other is told who has it.

use serde::{Deserialize, Serialize};
use worker::{Env, Request, Response};

use crate::actions::{act, Act};
use crate::error::ApiError;
use crate::http::{json, read_body};
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
    let body = read_body(req, crate::http::caps::COMMAND).await?;
    let input: Take = serde_json::from_str(&body)
        .map_err(|_| ApiError::new(400, "bad_json", "The body is {\"owner\": an owner id}."))?;
    let bundle = bundle.get(env).await?;
    let db = Db::open(env)?;
    let owner = input.owner.as_str();
    let done = act(&db, &bundle, id, owner, &Act::Take, Via::Admin, now_ms).await?;
    json(
        201,
        &Taken {
            lead_id: &done.lead_id,
            queue: done.queue.as_deref().unwrap_or_default(),
            owner,
            status: done.status.as_str(),
        },
    )
}
