//! `POST /v1/leads/{id}/events` (admin): sales reports an acceptance, a touch, an outcome, or
//! what the CRM knows about the person. handoff-core reads and checks the event
//! (`handoff_core::events`) and says how it moves the lead's status (`handoff_core::status`);
//! this module writes what it means in one D1 batch: the event in the lead's log, the first touch
//! (which stops the SLA clock, `sla::touch_statements`), the status move (`store::status`: a
//! closed lead's clock stops), the deal's value, and the person's suppression facts.

use handoff_core::events::{LeadEvent, RejectReason};
use handoff_core::notify::{escape_html, LinkPurpose};
use serde::Serialize;
use worker::{Env, Request, Response};

use crate::error::ApiError;
use crate::http::{json, page, read_body, Cap};
use crate::links::signed_owner;
use crate::moves::apply;
use crate::store::status::Via;
use crate::store::{BundleOnce, Db};

/// The largest event body accepted, in bytes.
const MAX_BODY: usize = 16 * 1024;
const BODY: Cap = Cap {
    bytes: MAX_BODY,
    what: "An event body",
    in_kb: false,
};

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
/// `404 lead_not_found`, `409 status.*` (a move the status machine refuses: docs/STATUS.md),
/// `413`, `422 lead_without_email` (a fact about a person who left no address).
pub async fn record(
    req: &mut Request,
    env: &Env,
    id: &str,
    bundle: &BundleOnce,
    now_ms: f64,
) -> Result<Response, ApiError> {
    let body = read_body(req, Some(BODY)).await?;
    let bad = |e: handoff_core::events::EventError| {
        ApiError::new(400, "bad_event", format!("{}: {}.", e.code, e.message))
    };
    let event = LeadEvent::parse(&body).map_err(bad)?;
    let bundle = bundle.get(env).await?;
    event.check_reason(&bundle.rules.feedback).map_err(bad)?;
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

/// `GET /v1/leads/{id}/reject?owner&exp&sig`: the "Not a fit" link from a notification. Shows the
/// configured reasons as buttons of a form that posts back to the same signed URL.
/// `POST` (form field `reason`): records the rejection for the owner the link was made for,
/// exactly as the events API would (`outcome` rejected, the lead closed, its clock stopped).
pub async fn reject_link(
    req: &mut Request,
    env: &Env,
    id: &str,
    bundle: &BundleOnce,
    now_ms: i64,
) -> Result<Response, ApiError> {
    let owner = match signed_owner(req, env, id, LinkPurpose::Reject, now_ms)? {
        Ok(owner) => owner,
        Err(page) => return Ok(page),
    };
    let bundle = bundle.get(env).await?;
    let reasons = &bundle.rules.feedback.reject_reasons;
    if req.method() != worker::Method::Post {
        return reasons_page(id, reasons);
    }
    let form = req
        .text()
        .await
        .map_err(|_| ApiError::new(400, "bad_body", "The form could not be read."))?;
    let reason = worker::Url::parse(&format!("http://form/?{form}"))
        .ok()
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "reason")
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default();
    let Some(chosen) = reasons.iter().find(|r| r.id == reason) else {
        return page(
            400,
            "unknown_reason",
            "Pick one of the reasons",
            "That reason is not one of the configured ones. Go back and choose a button.",
        );
    };
    let event = LeadEvent::Outcome {
        outcome: handoff_core::events::Outcome::Rejected,
        reason: Some(chosen.id.clone()),
        amount: None,
        currency: None,
        actor: owner.clone(),
        note: None,
    };
    let db = Db::open(env)?;
    match apply(&db, id, &event, Via::Link, now_ms as f64).await {
        Ok(_) => {}
        Err(e) if e.code == "lead_not_found" => {
            return page(
                404,
                "lead_not_found",
                "No such lead",
                "This lead does not exist (any more).",
            )
        }
        Err(e) if e.code.starts_with("status.") => {
            return page(
                409,
                "lead_closed",
                "This lead is closed already",
                "It was closed (won, lost, rejected or recycled) before this link was used; \
                 nothing changed.",
            )
        }
        Err(e) => return Err(e),
    }
    page(
        200,
        "recorded",
        "Recorded: not a fit",
        &format!(
            "Lead {id} is closed as \u{201c}{}\u{201d}. Thank you: marketing will see it.",
            chosen.label
        ),
    )
}

/// The "Not a fit?" page of lead `id`: one button per configured reason, in a form that posts
/// back to the same signed URL. Everything in it is escaped; it may run no script or style and
/// post nowhere else.
fn reasons_page(id: &str, reasons: &[RejectReason]) -> Result<Response, ApiError> {
    let mut buttons = String::new();
    for r in reasons {
        buttons.push_str(&format!(
            "<p><button name=\"reason\" value=\"{}\">{}</button></p>",
            escape_html(&r.id),
            escape_html(&r.label)
        ));
    }
    let html = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>Not a fit?</title>\
         <h1>Not a fit?</h1><p>Why should lead {lead} not be worked? Marketing sees the \
         reasons by source and by scoring rule.</p><form method=\"post\">{buttons}</form></html>",
        lead = escape_html(id),
    );
    let mut response = Response::from_html(html)
        .map_err(|_| ApiError::new(500, "internal", "The page could not be made."))?;
    let headers = response.headers_mut();
    let _ = headers.set(
        "content-security-policy",
        "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    let _ = headers.set("x-handoff-code", "choose_reason");
    Ok(response)
}
