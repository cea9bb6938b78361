//! The signed one-click links a notification carries: made (`claim_url`, `link_url`, on the
//! Worker's `PUBLIC_URL` with the `LINK_SECRET` secret), checked (`signed_owner`), and the
//! "I've got it" link's handler (`claim`), which records first touch once. The signatures and
//! their expiry are handoff-core's (`handoff_core::notify`).

use handoff_core::notify::{action_link, verify_link, LinkPurpose, NotifyError, CLAIM_LINK_TTL_MS};
use worker::{Env, Request, Response};

use crate::error::ApiError;
use crate::http::{page, param, query};
use crate::store::sla::{first_touched, touch_statements, Via};
use crate::store::{self, Db};

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
/// signature and expiry, records `first_touch` once (a conditional insert: a second click, or a
/// concurrent one, adds nothing), and answers a small text-only page.
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
    let statements = touch_statements(
        &db,
        lead_id,
        &owner,
        Via::Link,
        &serde_json::Value::Null,
        true,
        now_ms as f64,
    )?;
    let results = db.batch(statements).await?;
    if store::returned(results.first()) {
        return page(
            200,
            "recorded",
            "Recorded: it's yours",
            &format!("First touch on lead {lead_id} is recorded for {owner}."),
        );
    }
    match first_touched(&db, lead_id).await? {
        None => page(
            404,
            "lead_not_found",
            "No such lead",
            "This lead does not exist (any more).",
        ),
        Some(true) => page(
            200,
            "already_recorded",
            "Already recorded",
            "First touch on this lead was already recorded; nothing changed.",
        ),
        Some(false) => page(
            409,
            "lead_reassigned",
            "This lead has a new owner",
            "It was reassigned after this link was sent, so first touch was not recorded for you.",
        ),
    }
}
