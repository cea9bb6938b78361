//! Notifications at the edge: outbox rows written in the lead's D1 batch (`enqueue`), delivered
//! right away and by the cron with backoff until delivered or dead-lettered (`deliver`), and the
//! one-click "I've got it" link that records first touch (`claim`). Messages, signatures, the
//! retry policy and the links themselves come from `handoff_core::notify`.

use handoff_core::notify::{
    action_link, escape_html, next_attempt, sign, slack_escalation, slack_message, verify_link,
    webhook_escalation, webhook_payload, Channel, ChannelKind, Escalation, LeadSummary,
    LinkPurpose, NotifyError, NotifyRules, Retry, CLAIM_LINK_TTL_MS,
};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{
    AbortSignal, D1Database, D1PreparedStatement, Env, Fetch, Headers, Method, Request,
    RequestInit, Response,
};

use crate::error::ApiError;
use crate::sla::Claim;
use crate::store::{self, D1_BINDING};

/// The wrangler secret that keys the claim links.
pub const LINK_SECRET: &str = "LINK_SECRET";
/// The `[vars]` entry with the Worker's public origin, for links built where no request is at
/// hand (the cron).
pub const PUBLIC_URL: &str = "PUBLIC_URL";
/// The event type of generic webhooks.
pub const LEAD_ROUTED: &str = "lead.routed";
/// How many due messages one cron tick sends at most. Each costs a fetch and three D1 statements
/// (lease, update, event); the free plan allows 50 of each per invocation, and the tick itself,
/// the select and the bundle read need a few more. A backlog drains over the following minutes.
pub const TICK_LIMIT: u32 = 10;
/// How long one receiver may take before the attempt counts as failed (`timeout`).
const SEND_TIMEOUT_MS: u32 = 10_000;
/// While a message is being sent, other runs leave it alone this long.
const LEASE_MS: f64 = 120_000.0;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The runtime's CSPRNG-backed UUID v4: outbox ids, the cron's run ids.
    #[wasm_bindgen(js_namespace = crypto, js_name = randomUUID)]
    pub(crate) fn random_uuid() -> String;
}

/// The INSERTs of one outbox row per configured channel for a routed lead, to be added to the
/// lead's D1 batch, so the lead and its notifications are committed together or not at all.
///
/// `lead` is the notification's content (its `claim_url` from [`claim_url`]); `notify` is the
/// active bundle's `rules.notify`; `now_ms` is the Worker's clock (`Date::now()`); `db` the `DB`
/// binding. Each payload is built now and stored, so every retry sends the same bytes under the
/// same id (a fresh `crypto.randomUUID()`, the Standard Webhooks `webhook-id`). The rows are due
/// at once: after the batch commits, the caller may send them without waiting for the cron with
/// `ctx.wait_until(deliver(env, Due::Lead(id), now))`.
pub fn enqueue(
    db: &D1Database,
    lead: &LeadSummary,
    notify: &NotifyRules,
    now_ms: f64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    notify
        .channels
        .iter()
        .map(|channel| {
            let payload = match channel.kind {
                ChannelKind::Slack => slack_message(lead),
                ChannelKind::Webhook => webhook_payload(lead, LEAD_ROUTED, now_ms as i64),
            };
            outbox_statement(db, &lead.lead_id, channel, &payload, now_ms, None)
        })
        .collect()
}

/// Like [`enqueue`], for one step of an SLA escalation ladder: the `lead.sla_escalated` message
/// on every configured channel, each row written only if `claim` (the step, carried out by this
/// run) is the one stored, so that a repeated or overlapping cron tick sends nothing twice.
pub fn enqueue_escalation(
    db: &D1Database,
    escalation: &Escalation,
    notify: &NotifyRules,
    now_ms: f64,
    claim: &Claim<'_>,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    notify
        .channels
        .iter()
        .map(|channel| {
            let payload = match channel.kind {
                ChannelKind::Slack => slack_escalation(escalation),
                ChannelKind::Webhook => webhook_escalation(escalation, now_ms as i64),
            };
            outbox_statement(
                db,
                &escalation.lead_id,
                channel,
                &payload,
                now_ms,
                Some(claim),
            )
        })
        .collect()
}

/// One outbox row, due at once; with `claim`, inserted only if that claim is stored.
fn outbox_statement(
    db: &D1Database,
    lead_id: &str,
    channel: &Channel,
    payload: &serde_json::Value,
    now_ms: f64,
    claim: Option<&Claim<'_>>,
) -> Result<D1PreparedStatement, ApiError> {
    let mut values = vec![
        JsValue::from_str(&random_uuid()),
        JsValue::from_str(lead_id),
        JsValue::from_str(&channel.id),
        JsValue::from_str(channel.kind.as_str()),
        JsValue::from_str(&payload.to_string()),
        JsValue::from_f64(now_ms),
    ];
    let condition = match claim {
        Some(claim) => {
            values.extend(claim.values());
            Claim::condition(7)
        }
        None => "1".to_owned(),
    };
    db.prepare(format!(
        "INSERT INTO outbox (id, lead_id, channel, kind, payload, state, attempts, next_at, \
         created_at) SELECT ?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?6 WHERE {condition}"
    ))
    .bind(&values)
    .map_err(ApiError::storage)
}

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

/// Which messages [`deliver`] sends.
#[derive(Debug, Clone, Copy)]
pub enum Due<'a> {
    /// The pending messages of one lead, right after its batch committed (`waitUntil`).
    Lead(&'a str),
    /// At most this many messages whose time has come, oldest first (the cron).
    Limit(u32),
}

/// What one [`deliver`] run did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Delivered {
    pub delivered: u32,
    pub failed: u32,
    pub dead: u32,
}

#[derive(Debug, Deserialize)]
struct OutboxRow {
    id: String,
    lead_id: String,
    channel: String,
    payload: String,
    attempts: f64,
    created_at: f64,
}

/// Sends the due messages and records each result in one D1 batch: delivered (the row and a
/// `notified` event), failed (attempts, the next try from the core's policy, `last_error`, a
/// `notify_failed` event) or dead past the configured horizon (`dead_lettered`). `now_ms` decides
/// what is due and when to retry: the cron passes its scheduled minute.
pub async fn deliver(env: &Env, due: Due<'_>, now_ms: f64) -> Result<Delivered, ApiError> {
    let db = env.d1(D1_BINDING).map_err(ApiError::storage)?;
    let bundle = store::active_bundle(env).await?;
    let notify = &bundle.rules.notify;
    let select = match due {
        Due::Lead(lead_id) => db
            .prepare(
                "SELECT id, lead_id, channel, payload, attempts, created_at FROM outbox \
                 WHERE lead_id = ?1 AND state = 'pending' AND next_at <= ?2",
            )
            .bind(&[JsValue::from_str(lead_id), JsValue::from_f64(now_ms)]),
        Due::Limit(limit) => db
            .prepare(
                "SELECT id, lead_id, channel, payload, attempts, created_at FROM outbox \
                 WHERE state = 'pending' AND next_at <= ?1 ORDER BY next_at LIMIT ?2",
            )
            .bind(&[
                JsValue::from_f64(now_ms),
                JsValue::from_f64(f64::from(limit)),
            ]),
    }
    .map_err(ApiError::storage)?;
    let rows: Vec<OutboxRow> = select
        .all()
        .await
        .and_then(|r| r.results())
        .map_err(ApiError::storage)?;
    let mut report = Delivered::default();
    for row in rows {
        if !lease(&db, &row.id, now_ms).await? {
            continue; // another run has it
        }
        let channel = notify.channels.iter().find(|c| c.id == row.channel);
        let result = match channel {
            Some(channel) => send(env, channel, &row).await,
            None => Err(Failure::code("channel_missing")),
        };
        let attempts = row.attempts as u32 + 1;
        let statements = match result {
            Ok(()) => {
                report.delivered += 1;
                delivered(&db, &row, attempts, now_ms)?
            }
            Err(failure) => {
                let retry = next_attempt(
                    attempts,
                    row.created_at as i64,
                    now_ms as i64,
                    notify.dead_after_ms(),
                );
                if retry == Retry::Dead {
                    report.dead += 1;
                } else {
                    report.failed += 1;
                }
                failed(&db, &row, attempts, &failure, retry, now_ms)?
            }
        };
        db.batch(statements).await.map_err(ApiError::storage)?;
    }
    Ok(report)
}

/// Takes a message for this run: pushes its `next_at` past the send, so a concurrent run (the
/// intake's `waitUntil` and a cron tick) does not send it too. A run that dies mid-send leaves
/// it to be retried when the lease ends.
async fn lease(db: &D1Database, id: &str, now_ms: f64) -> Result<bool, ApiError> {
    let leased = db
        .prepare(
            "UPDATE outbox SET next_at = ?2 WHERE id = ?1 AND state = 'pending' AND next_at <= ?3 \
             RETURNING id",
        )
        .bind(&[
            JsValue::from_str(id),
            JsValue::from_f64(now_ms + LEASE_MS),
            JsValue::from_f64(now_ms),
        ])
        .map_err(ApiError::storage)?
        .first::<serde_json::Value>(None)
        .await
        .map_err(ApiError::storage)?;
    Ok(leased.is_some())
}

/// Why an attempt failed: our code, and the receiver's HTTP status if it answered. Never the
/// URL or a secret: this goes to D1 and to the logs.
struct Failure {
    code: &'static str,
    status: Option<u16>,
}

impl Failure {
    fn code(code: &'static str) -> Failure {
        Failure { code, status: None }
    }

    fn text(&self) -> String {
        match self.status {
            Some(status) => format!("{} {status}", self.code),
            None => self.code.to_owned(),
        }
    }
}

fn secret(env: &Env, name: &str) -> Result<String, Failure> {
    env.secret(name)
        .map(|s| s.to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or(Failure::code("secret_missing"))
}

/// One attempt: POST the stored payload, a 2xx is delivered, anything else (a 4xx included, so a
/// misconfigured receiver ends up visible in the dead letters) is a failure to retry.
async fn send(env: &Env, channel: &Channel, row: &OutboxRow) -> Result<(), Failure> {
    let headers = Headers::new();
    let set = |name: &str, value: &str| {
        headers
            .set(name, value)
            .map_err(|_| Failure::code("header_invalid"))
    };
    set("content-type", "application/json")?;
    let url = match channel.kind {
        ChannelKind::Slack => secret(env, &channel.url_secret)?,
        ChannelKind::Webhook => {
            let key = secret(env, &channel.secret)?;
            // The receiver compares the timestamp with its own clock: the real one, not the
            // scheduled minute.
            let timestamp = (worker::Date::now().as_millis() / 1000) as i64;
            let signature = sign(&key, &row.id, timestamp, &row.payload)
                .map_err(|e: NotifyError| Failure::code(e.code()))?;
            set("webhook-id", &row.id)?;
            set("webhook-timestamp", &timestamp.to_string())?;
            set("webhook-signature", &signature)?;
            channel.url.clone()
        }
    };
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers.clone())
        .with_body(Some(JsValue::from_str(&row.payload)));
    let request = Request::new_with_init(&url, &init).map_err(|_| Failure::code("url_invalid"))?;
    let signal = AbortSignal::from(web_sys::AbortSignal::timeout_with_u32(SEND_TIMEOUT_MS));
    let response = Fetch::Request(request)
        .send_with_signal(&signal)
        .await
        .map_err(|_| {
            Failure::code(if signal.aborted() {
                "timeout"
            } else {
                "network"
            })
        })?;
    let status = response.status_code();
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(Failure {
            code: "http_status",
            status: Some(status),
        })
    }
}

fn event(
    db: &D1Database,
    lead_id: &str,
    at: f64,
    kind: &str,
    actor: &str,
    detail: &serde_json::Value,
) -> Result<D1PreparedStatement, ApiError> {
    db.prepare(
        "INSERT INTO lead_events (lead_id, at, kind, actor, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .bind(&[
        JsValue::from_str(lead_id),
        JsValue::from_f64(at),
        JsValue::from_str(kind),
        JsValue::from_str(actor),
        JsValue::from_str(&detail.to_string()),
    ])
    .map_err(ApiError::storage)
}

fn delivered(
    db: &D1Database,
    row: &OutboxRow,
    attempts: u32,
    now_ms: f64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let update = db
        .prepare(
            "UPDATE outbox SET state = 'delivered', attempts = ?2, delivered_at = ?3, \
             last_error = NULL WHERE id = ?1",
        )
        .bind(&[
            JsValue::from_str(&row.id),
            JsValue::from_f64(f64::from(attempts)),
            JsValue::from_f64(now_ms),
        ])
        .map_err(ApiError::storage)?;
    let detail =
        serde_json::json!({"channel": row.channel, "message": row.id, "attempts": attempts});
    Ok(vec![
        update,
        event(db, &row.lead_id, now_ms, "notified", "system", &detail)?,
    ])
}

fn failed(
    db: &D1Database,
    row: &OutboxRow,
    attempts: u32,
    failure: &Failure,
    retry: Retry,
    now_ms: f64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let error = failure.text();
    let mut detail = serde_json::json!({
        "channel": row.channel, "message": row.id, "attempts": attempts, "error": failure.code,
    });
    if let Some(status) = failure.status {
        detail["status"] = status.into();
    }
    let (update, kind) = match retry {
        Retry::At(at) => {
            detail["next_at"] = at.into();
            let update = db
                .prepare(
                    "UPDATE outbox SET attempts = ?2, next_at = ?3, last_error = ?4 WHERE id = ?1",
                )
                .bind(&[
                    JsValue::from_str(&row.id),
                    JsValue::from_f64(f64::from(attempts)),
                    JsValue::from_f64(at as f64),
                    JsValue::from_str(&error),
                ]);
            (update, "notify_failed")
        }
        Retry::Dead => {
            let update = db
                .prepare(
                    "UPDATE outbox SET state = 'dead', attempts = ?2, last_error = ?3 WHERE id = ?1",
                )
                .bind(&[
                    JsValue::from_str(&row.id),
                    JsValue::from_f64(f64::from(attempts)),
                    JsValue::from_str(&error),
                ]);
            (update, "dead_lettered")
        }
    };
    Ok(vec![
        update.map_err(ApiError::storage)?,
        event(db, &row.lead_id, now_ms, kind, "system", &detail)?,
    ])
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
    let url = req
        .url()
        .map_err(|_| ApiError::new(400, "bad_request", "The URL could not be read."))?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (owner, sig) = (param("owner"), param("sig"));
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
    let checked = param("exp")
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
    let db = store::Db::open(env)?;
    let statements = crate::sla::touch_statements(
        &db,
        lead_id,
        &owner,
        crate::sla::Via::Link,
        &serde_json::Value::Null,
        true,
        now_ms as f64,
    )?;
    let results = db.batch(statements).await?;
    let inserted = results
        .first()
        .and_then(|r| r.results::<serde_json::Value>().ok())
        .and_then(|rows| rows.into_iter().next());
    if inserted.is_some() {
        return page(
            200,
            "recorded",
            "Recorded: it's yours",
            &format!("First touch on lead {lead_id} is recorded for {owner}."),
        );
    }
    #[derive(Deserialize)]
    struct State {
        touched: f64,
    }
    let state = db
        .prepare(
            "SELECT (SELECT COUNT(*) FROM lead_events WHERE lead_id = ?1 AND \
             kind = 'first_touch') AS touched FROM leads WHERE id = ?1",
        )
        .bind(&[JsValue::from_str(lead_id)])
        .map_err(ApiError::storage)?
        .first::<State>(None)
        .await
        .map_err(ApiError::storage)?;
    match state {
        None => page(
            404,
            "lead_not_found",
            "No such lead",
            "This lead does not exist (any more).",
        ),
        Some(s) if s.touched > 0.0 => page(
            200,
            "already_recorded",
            "Already recorded",
            "First touch on this lead was already recorded; nothing changed.",
        ),
        Some(_) => page(
            409,
            "lead_reassigned",
            "This lead has a new owner",
            "It was reassigned after this link was sent, so first touch was not recorded for you.",
        ),
    }
}

/// A small text-only page; everything in it is escaped, and it may run no script or style.
pub(crate) fn page(status: u16, code: &str, title: &str, text: &str) -> Result<Response, ApiError> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title>\
         <h1>{title}</h1><p>{text}</p><p><small>Code: {code}</small></p></html>",
        title = escape_html(title),
        text = escape_html(text),
        code = escape_html(code),
    );
    let mut response = Response::from_html(html)
        .map_err(|_| ApiError::new(500, "internal", "The answer could not be encoded."))?
        .with_status(status);
    let headers = response.headers_mut();
    let _ = headers.set("content-security-policy", "default-src 'none'");
    let _ = headers.set("x-handoff-code", code);
    Ok(response)
}
