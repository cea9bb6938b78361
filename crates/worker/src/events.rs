//! `POST /v1/leads/{id}/events` (admin): sales reports a touch, an outcome, or what the CRM knows
//! about the person. handoff-core reads and checks the event (`handoff_core::events`); this
//! module writes what it means in one D1 batch: the event in the lead's log, the first touch
//! (which stops the SLA clock, `sla::touch_statements`), a rejection (the lead closed, its clock
//! stopped), and the person's suppression facts (`crm_facts`).

use handoff_core::events::{LeadEvent, RejectReason};
use handoff_core::notify::{escape_html, LinkPurpose};
use serde::Serialize;
use worker::{D1Database, D1PreparedStatement, Env, Request, Response};

use crate::error::ApiError;
use crate::http::{json, page, read_body, Cap};
use crate::links::signed_owner;
use crate::store::events::{reject_statements, target as lookup, Target};
use crate::store::facts::facts_statement;
use crate::store::sla::{touch_statements, Via};
use crate::store::{self, BundleOnce, Db};

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
}

/// `POST /v1/leads/{id}/events`. The Worker timestamps the event with its own clock. An event
/// about a merged repeat is recorded on the lead it was merged into (that lead holds the clock
/// and the owner), and the answer says so. `201 {lead_id, merged_from?, event, first_touch}`;
/// `400 bad_event` (with the core's code in the message), `404 lead_not_found`, `413`,
/// `422 lead_without_email` (a fact about a person who left no address).
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
    let not_found = || ApiError::new(404, "lead_not_found", "No lead has this id.");
    let mut target = lookup(&db, id).await?.ok_or_else(not_found)?;
    let merged_from = match target.merged_into.clone() {
        Some(into) => {
            target = lookup(&db, &into).await?.ok_or_else(not_found)?;
            Some(id)
        }
        None => None,
    };
    let (statements, touch_at) = statements(&db, &target, &event, now_ms)?;
    let results = db.batch(statements).await?;
    let first_touch = touch_at.is_some_and(|i| store::returned(results.get(i)));
    json(
        201,
        &Recorded {
            lead_id: &target.id,
            merged_from,
            event: event.kind(),
            first_touch,
        },
    )
}

/// The statements of one event on `lead`, and where the first-touch insert is among them (its
/// `RETURNING` row says whether this event was the first touch).
fn statements(
    db: &D1Database,
    lead: &Target,
    event: &LeadEvent,
    now_ms: f64,
) -> Result<(Vec<D1PreparedStatement>, Option<usize>), ApiError> {
    let detail = serde_json::to_value(event)
        .map_err(|_| ApiError::new(500, "internal", "The event could not be encoded."))?;
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
            Via::Events,
            &detail,
            false,
            now_ms,
        )?);
    }
    if event.rejects() {
        out.extend(reject_statements(db, &lead.id, now_ms)?);
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
    let Some(target) = lookup(&db, id).await? else {
        return page(
            404,
            "lead_not_found",
            "No such lead",
            "This lead does not exist (any more).",
        );
    };
    let (statements, _) = statements(&db, &target, &event, now_ms as f64)?;
    db.batch(statements).await?;
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
