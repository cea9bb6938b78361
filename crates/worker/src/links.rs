//! The signed one-click links a notification carries: made (`claim_url`, `link_url`, on the
//! Worker's `PUBLIC_URL` with the `LINK_SECRET` secret), checked (`signed_owner`), and the
//! "I've got it" link's handler (`claim`), which records first touch once. The signatures and
//! their expiry are handoff-core's (`handoff_core::notify`).

use handoff_core::events::LeadEvent;
use handoff_core::notify::{action_link, verify_link, LinkPurpose, NotifyError, CLAIM_LINK_TTL_MS};
use worker::{Env, Request, Response};

use crate::error::ApiError;
use crate::http::{page, param, query};
use crate::moves::apply;
use crate::store::events::target;
use crate::store::status::Via;
use crate::store::Db;

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
    let secret = env.secret(LINK_SECRET).ok()?.to_string();
    if secret.is_empty() {
        return None;
    }
    let base = env
        .var(PUBLIC_URL)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| "http://localhost:8787".to_owned());
    Some(action_link(
        purpose,
        &base,
        secret.as_bytes(),
        lead_id,
        owner_id,
        now_ms as i64 + CLAIM_LINK_TTL_MS,
    ))
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

/// `GET /v1/leads/{id}/claim?owner=…&exp=…&sig=…`: the "I've got it" link. Verifies the
/// signature and expiry and accepts the lead for the owner it was sent to (`accepted`, status
/// `new` → `accepted`, the accept clock met). Accepting is not contact: the first-touch clock
/// runs on until a call or an email is logged. A second click, or a concurrent one, changes
/// nothing. Answers a small text-only page.
pub async fn claim(
    req: &Request,
    env: &Env,
    lead_id: &str,
    now_ms: i64,
) -> Result<Response, ApiError> {
    let owner = match signed_owner(req, env, lead_id, LinkPurpose::Claim, now_ms)? {
        Ok(owner) => owner,
        Err(page) => return Ok(page),
    };
    let db = Db::open(env)?;
    let Some(lead) = target(&db, lead_id).await? else {
        return page(
            404,
            "lead_not_found",
            "No such lead",
            "This lead does not exist (any more).",
        );
    };
    if lead.owner_kind.as_deref() == Some("owner") && lead.owner_id.as_deref() != Some(&owner) {
        return page(
            409,
            "lead_reassigned",
            "This lead has a new owner",
            "It was reassigned after this link was sent, so it was not accepted for you.",
        );
    }
    let accept = LeadEvent::Accept {
        actor: owner.clone(),
        note: None,
    };
    match apply(&db, lead_id, &accept, Via::Link, now_ms as f64).await {
        Ok(applied) if applied.moved.is_some_and(|m| m.changed()) => page(
            200,
            "recorded",
            "Recorded: it's yours",
            &format!(
                "Lead {lead_id} is accepted for {owner}. Log your first call or email when you \
                 reach them: that is what the speed-to-lead clock measures."
            ),
        ),
        Ok(_) => page(
            200,
            "already_recorded",
            "Already accepted",
            "This lead was already accepted; nothing changed.",
        ),
        Err(e) if e.code.starts_with("status.") => page(
            409,
            "lead_closed",
            "This lead is closed",
            "It was closed (won, lost, rejected or recycled) before this link was used; nothing \
             changed.",
        ),
        Err(e) => Err(e),
    }
}
