//! The notification outbox: rows written in the lead's D1 batch (`enqueue`, or an escalation
//! step's, `enqueue_escalation`), delivered right away and by the cron with backoff until
//! delivered or dead-lettered (`deliver`). Messages, signatures and the retry policy come from
//! `handoff_core::notify`; the statements from `store::outbox`.

use handoff_core::notify::{
    next_attempt, sign, slack_escalation, slack_message, webhook_escalation, webhook_payload,
    Channel, ChannelKind, Escalation, LeadSummary, NotifyError, NotifyRules, Retry,
};
use wasm_bindgen::JsValue;
use worker::{AbortSignal, D1PreparedStatement, Env, Fetch, Headers, Method, Request, RequestInit};

use crate::error::ApiError;
use crate::store::outbox::{self as rows, OutboxRow};
use crate::store::sla::Claim;
use crate::store::{self, D1_BINDING};

/// The event type of generic webhooks.
pub const LEAD_ROUTED: &str = "lead.routed";
/// How many due messages one cron tick sends at most. Each costs a fetch and three D1 statements
/// (lease, update, event); the free plan allows 50 of each per invocation, and the tick itself,
/// the select and the bundle read need a few more. A backlog drains over the following minutes.
pub const TICK_LIMIT: u32 = 10;
/// How long one receiver may take before the attempt counts as failed (`timeout`).
const SEND_TIMEOUT_MS: u32 = 10_000;

/// The INSERTs of one outbox row per configured channel for a routed lead, to be added to the
/// lead's D1 batch, so the lead and its notifications are committed together or not at all.
///
/// `lead` is the notification's content (its `claim_url` from `links::claim_url`); `notify` is the
/// active bundle's `rules.notify`; `now_ms` is the Worker's clock (`Date::now()`); `db` the `DB`
/// binding. Each payload is built now and stored, so every retry sends the same bytes under the
/// same id (a fresh `crypto.randomUUID()`, the Standard Webhooks `webhook-id`). The rows are due
/// at once: after the batch commits, the caller may send them without waiting for the cron with
/// `ctx.wait_until(deliver(env, Due::Lead(id), now))`.
pub fn enqueue(
    db: &worker::D1Database,
    lead: &LeadSummary,
    notify: &NotifyRules,
    now_ms: f64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let payload = |kind: &ChannelKind| match kind {
        ChannelKind::Slack => slack_message(lead),
        ChannelKind::Webhook => webhook_payload(lead, LEAD_ROUTED, now_ms as i64),
    };
    per_channel(db, &lead.lead_id, notify, now_ms, None, payload)
}

/// One outbox row per configured channel for `lead_id`, each with the payload `payload` builds
/// for the channel's kind (written only with `claim`, when one is given).
fn per_channel(
    db: &worker::D1Database,
    lead_id: &str,
    notify: &NotifyRules,
    now_ms: f64,
    claim: Option<&Claim<'_>>,
    payload: impl Fn(&ChannelKind) -> serde_json::Value,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    notify
        .channels
        .iter()
        .map(|channel| {
            let kind = (channel.id.as_str(), channel.kind.as_str());
            let body = payload(&channel.kind);
            rows::insert_statement(db, lead_id, kind, &body, now_ms, claim)
        })
        .collect()
}

/// Like [`enqueue`], for one step of an SLA escalation ladder: the `lead.sla_escalated` message
/// on every configured channel, each row written only if `claim` (the step, carried out by this
/// run) is the one stored, so that a repeated or overlapping cron tick sends nothing twice.
pub fn enqueue_escalation(
    db: &worker::D1Database,
    escalation: &Escalation,
    notify: &NotifyRules,
    now_ms: f64,
    claim: &Claim<'_>,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let payload = |kind: &ChannelKind| match kind {
        ChannelKind::Slack => slack_escalation(escalation),
        ChannelKind::Webhook => webhook_escalation(escalation, now_ms as i64),
    };
    per_channel(
        db,
        &escalation.lead_id,
        notify,
        now_ms,
        Some(claim),
        payload,
    )
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

/// Sends the due messages and records each result in one D1 batch: delivered (the row and a
/// `notified` event), failed (attempts, the next try from the core's policy, `last_error`, a
/// `notify_failed` event) or dead past the configured horizon (`dead_lettered`). `now_ms` decides
/// what is due and when to retry: the cron passes its scheduled minute.
pub async fn deliver(env: &Env, due: Due<'_>, now_ms: f64) -> Result<Delivered, ApiError> {
    let db = env.d1(D1_BINDING).map_err(ApiError::storage)?;
    let bundle = store::active_bundle(env).await?;
    let notify = &bundle.rules.notify;
    let rows = match due {
        Due::Lead(lead_id) => rows::due(&db, Some(lead_id), 0, now_ms).await?,
        Due::Limit(limit) => rows::due(&db, None, limit, now_ms).await?,
    };
    let mut report = Delivered::default();
    for row in rows {
        if !rows::lease(&db, &row.id, now_ms).await? {
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
                rows::delivered_statements(&db, &row, attempts, now_ms)?
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

/// A failed attempt's statements: its retry (or death) and the event that says why.
fn failed(
    db: &worker::D1Database,
    row: &OutboxRow,
    attempts: u32,
    failure: &Failure,
    retry: Retry,
    now_ms: f64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let mut detail = serde_json::json!({
        "channel": row.channel, "message": row.id, "attempts": attempts, "error": failure.code,
    });
    if let Some(status) = failure.status {
        detail["status"] = status.into();
    }
    if let Retry::At(at) = retry {
        detail["next_at"] = at.into();
    }
    rows::failed_statements(db, row, attempts, &failure.text(), retry, &detail, now_ms)
}
