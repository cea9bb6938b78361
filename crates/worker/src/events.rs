//! `POST /v1/leads/{id}/events` (admin): sales reports an acceptance, a touch, an outcome, or
//! what the CRM knows about the person. handoff-core reads and checks the event
//! (`handoff_core::events`) and says how it moves the lead's status (`handoff_core::status`);
//! this module writes what it means in one D1 batch: the event in the lead's log, the first touch
//! (which stops the SLA clock, `sla::touch_statements`), the status move (`store::status`: a
//! closed lead's clock stops), the deal's value, and the person's suppression facts.

use handoff_core::events::LeadEvent;
use serde::Serialize;
use worker::{Env, Request, Response};

use crate::error::ApiError;
use crate::http::{json, read_body, Cap};
use crate::moves::apply;
use crate::store::status::Via;
use crate::store::{BundleOnce, Db};

const BODY: Cap = crate::http::caps::EVENTS;

#[derive(Debug, Serialize)]
struct Recorded<'a> {
    /// The lead the event was recorded on: the open lead a merged repeat was folded into.
    lead_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    merged_from: Option<&'a str>,
    event: &'static str,
    /// Whether this event was the lead's first touch (and stopped its SLA clock).
    first_touch: bool,
    /// The lead's status after the event, and whether the event moved it.
    status: &'static str,
    status_changed: bool,
}

/// `POST /v1/leads/{id}/events`. The Worker timestamps the event with its own clock. An event
/// about a merged repeat is recorded on the lead it was merged into (that lead holds the clock
/// and the owner), and the answer says so. `201 {lead_id, merged_from?, event, first_touch,
/// status, status_changed}`; `400 bad_event` (with the core's code in the message),
/// `422 unknown_reason` (a reason code the configuration's `[feedback]` does not list),
/// `404 lead_not_found`, `409 status.*` (a move the status machine refuses: docs/STATUS.md),
/// `413`, `422 lead_without_email` (a fact about a person who left no address).
pub async fn record(
    req: &mut Request,
    env: &Env,
    id: &str,
    bundle: &BundleOnce,
    now_ms: f64,
) -> Result<Response, ApiError> {
    let body = read_body(req, BODY).await?;
    let bad = |e: handoff_core::events::EventError| {
        ApiError::new(400, "bad_event", format!("{}: {}.", e.code, e.message))
    };
    let event = LeadEvent::parse(&body).map_err(bad)?;
    let bundle = bundle.get(env).await?;
    event
        .check_reason(&bundle.rules.feedback)
        .map_err(|e| ApiError::new(422, "unknown_reason", format!("{}: {}.", e.code, e.message)))?;
    let db = Db::open(env)?;
    let applied = apply(&db, id, &event, Via::Events, now_ms).await?;
    json(
        201,
        &Recorded {
            lead_id: &applied.target.id,
            merged_from: (applied.target.id != id).then_some(id),
            event: event.kind(),
            first_touch: applied.first_touch,
            status: applied.status.as_str(),
            status_changed: applied.moved.is_some_and(|m| m.changed()),
        },
    )
}
