//! The signed one-click links a notification carries: made (`claim_url`, `link_url`, on the
//! Worker's `PUBLIC_URL` with the `LINK_SECRET` secret), checked (`signed_owner`), and answered
//! (`link`): a page with one button on `GET`, the action on `POST`. The signatures and their
//! expiry are handoff-core's (`handoff_core::notify`).

use handoff_core::alerts::{Context, Signer};
use handoff_core::events::RejectReason;
use handoff_core::notify::{
    action_link, escape_html, verify_link, LinkPurpose, NotifyError, CLAIM_LINK_TTL_MS,
};
use handoff_core::Bundle;
use worker::{Env, Method, Request, Response};

use crate::actions::{act, Act};
use crate::error::ApiError;
use crate::http::{form_pairs, page, param, query, read_body};
use crate::store::events::target;
use crate::store::status::Via;
use crate::store::{BundleOnce, Db};

/// The wrangler secret that keys the claim links.
pub const LINK_SECRET: &str = "LINK_SECRET";
/// The `[vars]` entry with the Worker's public origin, for links built where no request is at
/// hand (the cron).
pub const PUBLIC_URL: &str = "PUBLIC_URL";

/// The signed "I've got it" link for `owner_id` on `lead_id`, valid for 7 days from `now_ms`, on
/// the Worker's `PUBLIC_URL`; `None` when the `LINK_SECRET` secret is not set.
pub fn claim_url(env: &Env, lead_id: &str, owner_id: &str, now_ms: f64) -> Option<String> {
    link_url(env, LinkPurpose::Claim, lead_id, owner_id, now_ms)
}

/// The signed one-click link for `purpose` (see [`claim_url`]).
pub fn link_url(
    env: &Env,
    purpose: LinkPurpose,
    lead_id: &str,
    owner_id: &str,
    now_ms: f64,
) -> Option<String> {
    let keys = Keys::of(env)?;
    Some(action_link(
        purpose,
        &keys.base,
        keys.secret.as_bytes(),
        lead_id,
        owner_id,
        now_ms as i64 + CLAIM_LINK_TTL_MS,
    ))
}

/// What links are signed with: the Worker's `PUBLIC_URL` and its `LINK_SECRET`.
pub struct Keys {
    base: String,
    secret: String,
}

impl Keys {
    /// `None` when the `LINK_SECRET` secret is not set.
    pub fn of(env: &Env) -> Option<Keys> {
        let secret = env.secret(LINK_SECRET).ok()?.to_string();
        if secret.is_empty() {
            return None;
        }
        let base = env
            .var(PUBLIC_URL)
            .map(|v| v.to_string())
            .unwrap_or_else(|_| "http://localhost:8787".to_owned());
        Some(Keys { base, secret })
    }
}

/// What handoff-core's `alerts` build a lead's messages from: the bundle's notifications,
/// routing and reject reasons, and the link keys (links made now last 7 days).
pub fn alert_context<'a>(bundle: &'a Bundle, keys: Option<&'a Keys>, now_ms: f64) -> Context<'a> {
    Context {
        notify: &bundle.rules.notify,
        routing: bundle.routing(),
        reasons: &bundle.rules.feedback.reject_reasons,
        signer: keys.map(|k| Signer {
            base: &k.base,
            secret: k.secret.as_bytes(),
            expires_ms: now_ms as i64 + CLAIM_LINK_TTL_MS,
        }),
    }
}

/// The owner a one-click link for `purpose` on `lead_id` was made for, once its signature and
/// expiry check out; otherwise the page to answer (`403 link_invalid`, `503 link_not_configured`).
pub fn signed_owner(
    req: &Request,
    env: &Env,
    lead_id: &str,
    purpose: LinkPurpose,
    now_ms: i64,
) -> Result<Result<String, Response>, ApiError> {
    let pairs = query(req)?;
    let get = |name: &str| param(&pairs, name).unwrap_or_default().to_owned();
    let (owner, sig) = (get("owner"), get("sig"));
    let Some(secret) = env
        .secret(LINK_SECRET)
        .ok()
        .map(|s| s.to_string())
        .filter(|s| !s.is_empty())
    else {
        return page(
            503,
            "link_not_configured",
            "Links are not set up",
            "This Worker has no LINK_SECRET secret, so it cannot check links.",
        )
        .map(Err);
    };
    let checked = get("exp")
        .parse::<i64>()
        .map_err(|_| NotifyError::LinkInvalid)
        .and_then(|exp| {
            verify_link(
                purpose,
                secret.as_bytes(),
                lead_id,
                &owner,
                exp,
                &sig,
                now_ms,
            )
        });
    match checked {
        Ok(()) => Ok(Ok(owner)),
        Err(NotifyError::LinkExpired) => page(
            403,
            "link_invalid",
            "This link has expired",
            "Open the lead from the admin view instead.",
        )
        .map(Err),
        Err(_) => page(
            403,
            "link_invalid",
            "This link is not valid",
            "It may have been changed or cut short. Use the link exactly as it was sent.",
        )
        .map(Err),
    }
}

/// A signed one-click link: `GET /v1/leads/{id}/{claim|reject|take-link}?owner&exp&sig`.
///
/// Its `GET` records nothing (mail security scanners open links before people do): it checks
/// the signature and that the lead is still the owner's (or, for "Take it", still waits in a
/// queue of theirs), and shows one button ("Not a fit": one per configured reason) in a form that
/// posts back to the same signed URL. Only that `POST` acts, as [`crate::actions::act`] does for
/// the owner the link was made for. Accepting is not contact: the first-touch clock runs on until
/// a call or an email is logged. A second click changes nothing. Answers small text-only pages.
pub async fn link(
    req: &mut Request,
    env: &Env,
    lead_id: &str,
    purpose: LinkPurpose,
    bundle: &BundleOnce,
    now_ms: i64,
) -> Result<Response, ApiError> {
    let owner = match signed_owner(req, env, lead_id, purpose, now_ms)? {
        Ok(owner) => owner,
        Err(page) => return Ok(page),
    };
    let bundle = bundle.get(env).await?;
    let db = Db::open(env)?;
    if req.method() != Method::Post {
        // Tell at once if the link can no longer work; otherwise one button.
        let Some(lead) = target(&db, lead_id).await? else {
            return refused(&ApiError::new(404, "lead_not_found", ""));
        };
        let holder = (lead.owner_kind.as_deref(), lead.owner_id.as_deref());
        let refusal = match (purpose, holder) {
            (LinkPurpose::Take, (Some("queue"), Some(queue))) => {
                let member = bundle
                    .routing()
                    .is_some_and(|r| r.is_queue_member(queue, &owner));
                (!member).then_some((403, "not_a_member"))
            }
            (LinkPurpose::Take, _) => Some((409, "not_in_queue")),
            (_, (Some("owner"), Some(id))) if id == owner => None,
            _ => Some((409, "lead_reassigned")),
        };
        if let Some((status, code)) = refusal {
            return refused(&ApiError::new(status, code, ""));
        }
        return match purpose {
            LinkPurpose::Claim => confirm_page(lead_id, "Accept this lead?", "Accept it"),
            LinkPurpose::Take => confirm_page(lead_id, "Take this lead from the queue?", "Take it"),
            LinkPurpose::Reject => reasons_page(lead_id, &bundle.rules.feedback.reject_reasons),
        };
    }
    let what = match purpose {
        LinkPurpose::Claim => Act::Accept,
        LinkPurpose::Take => Act::Take,
        LinkPurpose::Reject => {
            let form = read_body(req, crate::http::caps::FORM).await?;
            let reason = form_pairs(&form)
                .into_iter()
                .find(|(k, _)| k == "reason")
                .map(|(_, v)| v)
                .unwrap_or_default();
            Act::Reject(reason)
        }
    };
    match act(
        &db,
        &bundle,
        lead_id,
        &owner,
        &what,
        Via::Link,
        now_ms as f64,
    )
    .await
    {
        Ok(done) if !done.changed => page(
            200,
            "already_recorded",
            "Already recorded",
            "This was done already; nothing changed.",
        ),
        Ok(done) => {
            let text = match &what {
                Act::Accept | Act::Take => format!(
                    "Lead {} is accepted for {owner}. Log your first call or email when you \
                     reach them: that is what the speed-to-lead clock measures.",
                    done.lead_id
                ),
                Act::Reject(reason) => format!(
                    "Lead {} is closed as \u{201c}{}\u{201d}. Thank you: marketing will see it.",
                    done.lead_id,
                    bundle
                        .rules
                        .feedback
                        .reject_reasons
                        .iter()
                        .find(|r| &r.id == reason)
                        .map_or(reason.as_str(), |r| r.label.as_str())
                ),
            };
            let title = match what {
                Act::Reject(_) => "Recorded: not a fit",
                _ => "Recorded: it's yours",
            };
            page(200, "recorded", title, &text)
        }
        Err(e) if e.status < 500 => refused(&e),
        Err(e) => Err(e),
    }
}

/// The page of an action refused ([`crate::actions::act`]'s codes).
pub fn refused(e: &ApiError) -> Result<Response, ApiError> {
    let (status, code, title, text) = match e.code {
        "lead_not_found" => (404, "lead_not_found", "No such lead", "This lead does not exist (any more)."),
        "lead_reassigned" => (
            409,
            "lead_reassigned",
            "This lead has a new owner",
            "It was reassigned after this was sent to you, so nothing was recorded for you.",
        ),
        "not_in_queue" => (
            409,
            "not_in_queue",
            "Someone has this lead",
            "It no longer waits in the queue: someone took it, or it was assigned.",
        ),
        "not_a_member" => (
            403,
            "not_a_member",
            "Not your queue",
            "Only the queue's members may take its leads.",
        ),
        "unknown_reason" => (
            400,
            "unknown_reason",
            "Pick one of the reasons",
            "That reason is not one of the configured ones. Go back and choose a button.",
        ),
        c if c.starts_with("status.") => (
            409,
            "lead_closed",
            "This lead is closed",
            "It was closed (won, lost, rejected or recycled) before this was used; nothing changed.",
        ),
        _ => (e.status, e.code, "Not recorded", e.message.as_str()),
    };
    page(status, code, title, text)
}

/// A page with one button that posts back to the same signed URL. It may run no script or style
/// and post nowhere else.
fn confirm_page(id: &str, title: &str, button: &str) -> Result<Response, ApiError> {
    let body = format!(
        "<p>Lead {}</p><form method=\"post\"><p><button>{}</button></p></form>",
        escape_html(id),
        escape_html(button)
    );
    form_page(title, &body, "confirm")
}

/// The "Not a fit?" page of lead `id`: one button per configured reason, in a form that posts
/// back to the same signed URL.
fn reasons_page(id: &str, reasons: &[RejectReason]) -> Result<Response, ApiError> {
    let mut body = format!(
        "<p>Why should lead {} not be worked? Marketing sees the reasons by source and by \
         scoring rule.</p><form method=\"post\">",
        escape_html(id)
    );
    for r in reasons {
        body.push_str(&format!(
            "<p><button name=\"reason\" value=\"{}\">{}</button></p>",
            escape_html(&r.id),
            escape_html(&r.label)
        ));
    }
    body.push_str("</form>");
    form_page("Not a fit?", &body, "choose_reason")
}

/// A page holding a form that posts to itself; `body` is HTML made of escaped text.
fn form_page(title: &str, body: &str, code: &str) -> Result<Response, ApiError> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title>\
         <h1>{title}</h1>{body}</html>",
        title = escape_html(title),
    );
    let mut response = Response::from_html(html)
        .map_err(|_| ApiError::new(500, "internal", "The page could not be made."))?;
    let headers = response.headers_mut();
    let _ = headers.set(
        "content-security-policy",
        "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    let _ = headers.set("x-handoff-code", code);
    // A page whose button acts must not be cached by a proxy for someone else.
    let _ = headers.set("cache-control", "no-store");
    Ok(response)
}
