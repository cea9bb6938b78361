//! The Slack app: its Web API calls (`chat.postMessage`, `chat.update`, `chat.postEphemeral`,
//! `users.lookupByEmail`, on `SLACK_API_URL` or Slack's own origin, with the bot token), the
//! owner ↔ Slack user mapping (the configuration's `slack` ids, else looked up by email and cached
//! in KV both ways), and `POST /v1/slack/interactions`: a click on Accept, "Not a fit" or
//! "Take it", verified by Slack's signature (handoff-core's `slack::verify`), refused when
//! replayed, carried out as the clicking owner (`actions::act`), and shown in place.

use handoff_core::notify::SlackApp;
use handoff_core::routing::CompiledRouting;
use handoff_core::slack::{acted, verify, Action, Interaction, SlackError};
use handoff_core::Bundle;
use serde_json::Value;
use worker::{Env, Method, Request, Response};

use crate::actions::{act, Act};
use crate::error::ApiError;
use crate::fetch::{call, secret, Failure};
use crate::http::{form_encode, form_pairs, header, json, read_body};
use crate::store::status::Via;
use crate::store::{slack as seen, BundleOnce, Db, KV_BINDING};

/// The `[vars]` entry naming another Web API origin (a loopback fake in tests).
pub const SLACK_API_URL: &str = "SLACK_API_URL";
/// How long a looked-up Slack user id is trusted: a week.
const USER_TTL_SECONDS: u64 = 7 * 24 * 3600;

fn api_base(env: &Env) -> String {
    env.var(SLACK_API_URL)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| "https://slack.com/api".to_owned())
}

/// Calls Web API `method` with the bot token: a form POST (`form`), or a GET with `query`.
/// Slack answers HTTP 200 with `"ok": false` for its errors: those fail with `slack_error` and
/// Slack's error name.
async fn web_api(
    env: &Env,
    app: &SlackApp,
    method: &str,
    form: Option<&[(&str, &str)]>,
    query: &[(&str, &str)],
) -> Result<Value, Failure> {
    let token = secret(env, &app.bot_token)?;
    let bearer = format!("Bearer {token}");
    let mut url = format!("{}/{method}", api_base(env));
    if !query.is_empty() {
        url.push('?');
        url.push_str(&form_encode(query));
    }
    let body = form.map(form_encode);
    let mut headers = vec![("authorization", bearer.as_str())];
    if body.is_some() {
        headers.push(("content-type", "application/x-www-form-urlencoded"));
    }
    let verb = if body.is_some() {
        Method::Post
    } else {
        Method::Get
    };
    let mut response = call(verb, &url, &headers, body.as_deref()).await?;
    let answer: Value = response
        .json()
        .await
        .map_err(|_| Failure::code("slack_answer_invalid"))?;
    if answer["ok"] == true {
        Ok(answer)
    } else {
        Err(Failure {
            code: "slack_error",
            status: None,
            error: Some(
                answer["error"]
                    .as_str()
                    .unwrap_or("unknown")
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .take(64)
                    .collect(),
            ),
        })
    }
}

/// Posts `message` (`{text, blocks}`) to `channel` (a channel id, or a user id for a direct
/// message): Slack's answer (`channel`, `ts`).
pub async fn post_message(
    env: &Env,
    app: &SlackApp,
    channel: &str,
    message: &Value,
) -> Result<Value, Failure> {
    let text = message["text"].as_str().unwrap_or_default();
    let blocks = message["blocks"].to_string();
    // No previews: a link in the message is never fetched or shown bigger than its text.
    let form = [
        ("channel", channel),
        ("text", text),
        ("blocks", blocks.as_str()),
        ("unfurl_links", "false"),
        ("unfurl_media", "false"),
    ];
    web_api(env, app, "chat.postMessage", Some(&form), &[]).await
}

/// The Slack user id a direct message of `payload` (an outbox row: `owner`, `user`, `email`)
/// goes to: the configured one, else the cached one, else looked up by email and cached both
/// ways (so a click maps back to the owner).
pub async fn user_of(env: &Env, app: &SlackApp, payload: &Value) -> Result<String, Failure> {
    if let Some(user) = payload["user"].as_str() {
        return Ok(user.to_owned());
    }
    let owner = payload["owner"].as_str().unwrap_or_default();
    let kv = env
        .kv(KV_BINDING)
        .map_err(|_| Failure::code("kv_unavailable"))?;
    let cached = kv
        .get(&owner_key(owner))
        .text()
        .await
        .map_err(|_| Failure::code("kv_unavailable"))?;
    if let Some(user) = cached {
        return Ok(user);
    }
    let email = payload["email"]
        .as_str()
        .ok_or(Failure::code("slack_user_unknown"))?;
    let found = web_api(env, app, "users.lookupByEmail", None, &[("email", email)]).await?;
    let user = found["user"]["id"]
        .as_str()
        .ok_or(Failure::code("slack_answer_invalid"))?
        .to_owned();
    for (key, value) in [(owner_key(owner), user.as_str()), (user_key(&user), owner)] {
        kv.put(&key, value)
            .map_err(|_| Failure::code("kv_unavailable"))?
            .expiration_ttl(USER_TTL_SECONDS)
            .execute()
            .await
            .map_err(|_| Failure::code("kv_unavailable"))?;
    }
    Ok(user)
}

fn owner_key(owner: &str) -> String {
    format!("slack/owner/{owner}")
}

fn user_key(user: &str) -> String {
    format!("slack/user/{user}")
}

/// The owner a Slack user is: the one whose configured `slack` id it is, else the one a lookup
/// by email found (still configured, and not configured with another id).
async fn owner_of(
    env: &Env,
    routing: Option<&CompiledRouting>,
    user: &str,
) -> Result<Option<String>, ApiError> {
    let Some(routing) = routing else {
        return Ok(None);
    };
    if let Some(o) = routing.owners().find(|o| o.slack.as_deref() == Some(user)) {
        return Ok(Some(o.id.clone()));
    }
    let kv = env.kv(KV_BINDING).map_err(ApiError::storage)?;
    let cached = kv.get(&user_key(user)).text().await.map_err(|_| {
        ApiError::new(
            503,
            "storage_unavailable",
            "KV did not answer; please retry.",
        )
    })?;
    Ok(cached.filter(|id| routing.owner_spec(id).is_some_and(|o| o.slack.is_none())))
}

/// `POST /v1/slack/interactions`: a click on one of the app's buttons.
///
/// `401 slack.unsigned | slack.bad_signature | slack.stale | slack.replayed` and nothing
/// recorded when the request is not Slack's, or was seen before; `404 slack_not_configured`
/// without `[notify.slack]`; `503` without its signing secret. A signed click is answered `200`
/// (Slack shows the clicker an error otherwise) with `{ok, code}`: done, the message is updated
/// in place (its buttons give way to who did what, and when); refused (`slack.unknown_user`,
/// `lead_reassigned`, `not_in_queue`, `not_a_member`, `unknown_reason`, `status.*`), nothing is
/// recorded and the clicker alone is told why.
pub async fn interactions(
    req: &mut Request,
    env: &Env,
    bundle: &BundleOnce,
    now_ms: i64,
) -> Result<Response, ApiError> {
    let timestamp = header(req, "x-slack-request-timestamp");
    let signature = header(req, "x-slack-signature");
    // An unsigned request is refused before anything else, whatever the configuration.
    if timestamp.as_deref().unwrap_or_default().is_empty()
        || signature.as_deref().unwrap_or_default().is_empty()
    {
        let unsigned = SlackError::Unsigned;
        return Err(ApiError::new(401, unsigned.code(), unsigned.message()));
    }
    let bundle = bundle.get(env).await?;
    let Some(app) = bundle.rules.notify.slack.clone() else {
        return Err(ApiError::new(
            404,
            "slack_not_configured",
            "This Worker has no [notify.slack] app.",
        ));
    };
    let signing = secret(env, &app.signing_secret).map_err(|_| {
        ApiError::new(
            503,
            "slack_not_configured",
            "The Slack app's signing secret is not set.",
        )
    })?;
    let body = read_body(req, crate::http::caps::FORM).await?;
    let refuse = |e: SlackError| ApiError::new(401, e.code(), e.message());
    verify(
        signing.as_bytes(),
        timestamp.as_deref(),
        signature.as_deref(),
        &body,
        now_ms,
    )
    .map_err(refuse)?;
    let db = Db::open(env)?;
    // Verified, so the signature is there; a request seen before is a replay.
    if !seen::first_use(&db, signature.as_deref().unwrap_or_default(), now_ms as f64).await? {
        return Err(ApiError::new(
            401,
            "slack.replayed",
            "This request was received before.",
        ));
    }
    let payload = form_pairs(&body)
        .into_iter()
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v)
        .unwrap_or_default();
    let click =
        Interaction::parse(&payload).map_err(|e| ApiError::new(400, e.code(), e.message()))?;
    let outcome = match owner_of(env, bundle.routing(), &click.user).await? {
        None => Err(ApiError::new(
            403,
            "slack.unknown_user",
            "Your Slack account is not linked to a Handoff owner: ask an admin to add your \
             Slack member ID (slack = \"U…\") to your owner entry.",
        )),
        Some(owner) => {
            let what = match &click.action {
                Action::Accept => Act::Accept,
                Action::Reject(reason) => Act::Reject(reason.clone()),
                Action::Take => Act::Take,
            };
            act(
                &db,
                &bundle,
                &click.lead_id,
                &owner,
                &what,
                Via::Slack,
                now_ms as f64,
            )
            .await
            .map(|done| (owner, done))
        }
    };
    match outcome {
        Ok((owner, done)) => {
            let line = done_line(&bundle, &owner, &click.action, done.changed);
            let blocks = acted(&click.blocks, &line, now_ms).to_string();
            let form = [
                ("channel", click.channel.as_str()),
                ("ts", click.ts.as_str()),
                ("text", line.as_str()),
                ("blocks", blocks.as_str()),
            ];
            // Recorded either way; a message that could not be updated is only logged.
            if let Err(f) = web_api(env, &app, "chat.update", Some(&form), &[]).await {
                worker::console_error!("slack: chat.update failed: {}", f.code);
            }
            json(
                200,
                &serde_json::json!({"ok": true, "code": "recorded", "lead_id": done.lead_id, "status": done.status.as_str(), "changed": done.changed}),
            )
        }
        Err(e) if e.status >= 500 => Err(e),
        Err(e) => {
            let text = format!("Not recorded: {}", e.message);
            let form = [
                ("channel", click.channel.as_str()),
                ("user", click.user.as_str()),
                ("text", text.as_str()),
            ];
            if let Err(f) = web_api(env, &app, "chat.postEphemeral", Some(&form), &[]).await {
                worker::console_error!("slack: chat.postEphemeral failed: {}", f.code);
            }
            json(
                200,
                &serde_json::json!({"ok": false, "code": e.code, "message": e.message}),
            )
        }
    }
}

/// What the updated message says was done: "Accepted by Dana Kim", "Not a fit (Student) — Dana
/// Kim", "Taken by Dana Kim".
fn done_line(bundle: &Bundle, owner: &str, action: &Action, changed: bool) -> String {
    let name = bundle
        .routing()
        .and_then(|r| r.owner_spec(owner))
        .map_or(owner, |o| o.name.as_str());
    let line = match action {
        Action::Accept => format!("Accepted by {name}"),
        Action::Take => format!("Taken by {name}"),
        Action::Reject(reason) => {
            let label = bundle
                .rules
                .feedback
                .reject_reasons
                .iter()
                .find(|r| &r.id == reason)
                .map_or(reason.as_str(), |r| r.label.as_str());
            format!("Not a fit ({label}): {name}")
        }
    };
    if changed {
        line
    } else {
        format!("{line} (already recorded)")
    }
}
