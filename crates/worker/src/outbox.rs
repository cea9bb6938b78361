//! The notification outbox: rows written in the lead's D1 batch (`enqueue`, or an escalation
//! step's, `enqueue_escalation`), delivered right away and by the cron with backoff until
//! delivered or dead-lettered (`deliver`). Messages, signatures and the retry policy come from
//! `handoff_core::notify`; the statements from `store::outbox`.

use futures_util::stream::{self, StreamExt};
use handoff_core::alerts::{Outgoing, EMAIL, SLACK_DM};
use handoff_core::events::EventKind;
use handoff_core::notify::{
    next_attempt, sign, Channel, ChannelKind, NotifyError, NotifyRules, Retry,
};
use worker::{D1PreparedStatement, Env};

use crate::error::ApiError;
use crate::fetch::{post, secret, Failure};
use crate::plan;
use crate::slack;
use crate::store::outbox::{self as rows, Attempt, OutboxRow};
use crate::store::sla::Claim;
use crate::store::{self, Db};

/// How many messages one lead's immediate delivery (`Due::Lead`) sends at most; the cron's run
/// sends up to its plan's share (`plan::Limits::outbox_messages`).
pub const TICK_LIMIT: u32 = 10;

/// The INSERTs of one outbox row per message (handoff-core's `alerts::lead_alerts` or
/// `escalation_alerts`), to be added to the lead's D1 batch, so the lead and its notifications are
/// committed together or not at all; with `claim` (an escalation step carried out by this run),
/// each row is written only if that claim is the one stored, so that a repeated or overlapping
/// cron tick sends nothing twice.
///
/// Each payload is built now and stored, so every retry sends the same bytes under the same id (a
/// fresh `crypto.randomUUID()`, the Standard Webhooks `webhook-id` and the email's idempotency
/// key). The rows are due at once: after the batch commits, the caller may send them without
/// waiting for the cron with `ctx.wait_until(deliver(env, Due::Lead(id), now))`.
pub fn enqueue(
    db: &worker::D1Database,
    lead_id: &str,
    messages: &[Outgoing],
    now_ms: f64,
    claim: Option<&Claim<'_>>,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    messages
        .iter()
        .map(|m| {
            let kind = (m.channel.as_str(), m.kind);
            rows::insert_statement(db, lead_id, kind, &m.payload, now_ms, claim)
        })
        .collect()
}

/// Which messages [`deliver`] sends.
#[derive(Debug, Clone, Copy)]
pub enum Due<'a> {
    /// The pending messages of one lead, right after its batch committed (`waitUntil`): at most
    /// [`TICK_LIMIT`], so that a queue's lead with many members stays within an invocation's
    /// subrequests (a Slack lookup and a message each); the rest go with the next cron tick.
    Lead(&'a str),
    /// The cron's run: at most `limit` messages whose time has come, chosen fairly (fresh before
    /// retries, channels taking turns, one message for a channel in backoff), leased on the wall
    /// clock `wall_ms`, and reported in the tick's `cron_ticks` row.
    Tick { limit: u32, wall_ms: f64 },
}

/// What one [`deliver`] run did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Delivered {
    pub delivered: u32,
    pub failed: u32,
    pub dead: u32,
    /// D1 statements the run sent.
    pub statements: u32,
}

/// Sends the due messages, up to [`plan::SIMULTANEOUS_CONNECTIONS`] at once, and records every
/// result at once (set-based): delivered (the row and a `notified` event), failed (attempts, the
/// next try from the core's policy, `last_error`, a `notify_failed` event) or dead past the
/// configured horizon (`dead_lettered`). `now_ms` decides what is due and when to retry: the cron
/// passes its scheduled minute. A run that dies before recording leaves its messages leased; the
/// next run after the lease sends them again under the same `webhook-id`, which receivers
/// deduplicate on.
pub async fn deliver(env: &Env, due: Due<'_>, now_ms: f64) -> Result<Delivered, ApiError> {
    let db = Db::open(env)?;
    let bundle = store::active_bundle(env).await?;
    let notify = &bundle.rules.notify;
    let (rows, wall_ms) = match due {
        Due::Lead(lead_id) => {
            let at = (now_ms, now_ms);
            let rows = rows::due(&db, Some(lead_id), TICK_LIMIT, TICK_LIMIT, at).await?;
            (rows, now_ms)
        }
        Due::Tick { limit, wall_ms } => {
            let at = (now_ms, wall_ms);
            (rows::due(&db, None, limit, limit, at).await?, wall_ms)
        }
    };
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let leased = rows::lease(&db, &ids, wall_ms).await?;
    let rows: Vec<&OutboxRow> = rows.iter().filter(|r| leased.contains(&r.id)).collect();
    // Up to the runtime's simultaneous connections at once, each result kept in its row's place.
    let mut results: Vec<(usize, Result<(), Failure>)> = stream::iter(rows.iter().enumerate())
        .map(|(i, row)| async move { (i, send(env, notify, row).await) })
        .buffer_unordered(plan::SIMULTANEOUS_CONNECTIONS)
        .collect()
        .await;
    results.sort_by_key(|(i, _)| *i);
    let mut report = Delivered::default();
    let mut attempts = Vec::with_capacity(results.len());
    for ((_, result), row) in results.into_iter().zip(&rows) {
        attempts.push(attempt(notify, row, result, now_ms, &mut report));
    }
    if !attempts.is_empty() {
        db.batch(rows::results_statements(&db, &attempts, now_ms)?)
            .await?;
    }
    report.statements = db.statements();
    if let Due::Tick { .. } = due {
        if report.delivered + report.failed + report.dead > 0 {
            report.statements += 1;
            let json = serde_json::json!({
                "delivered": report.delivered, "failed": report.failed, "dead": report.dead,
                "statements": report.statements, "sent": attempts.len(),
            });
            rows::report_tick(&db, now_ms, &json).await?;
        }
    }
    Ok(report)
}

/// One attempt's outcome as the core's retry policy has it, counted in `report`.
fn attempt<'r>(
    notify: &NotifyRules,
    row: &'r OutboxRow,
    result: Result<(), Failure>,
    now_ms: f64,
    report: &mut Delivered,
) -> Attempt<'r> {
    let attempts = row.attempts as u32 + 1;
    let failure = match result {
        Ok(()) => {
            report.delivered += 1;
            let detail = serde_json::json!({"channel": row.channel, "message": row.id, "attempts": attempts});
            return Attempt {
                row,
                attempts,
                failed: None,
                event: (EventKind::Notified, detail),
            };
        }
        Err(failure) => failure,
    };
    let retry = next_attempt(
        attempts,
        row.created_at as i64,
        now_ms as i64,
        notify.dead_after_ms(),
    );
    let kind = if retry == Retry::Dead {
        report.dead += 1;
        EventKind::DeadLettered
    } else {
        report.failed += 1;
        EventKind::NotifyFailed
    };
    let mut detail = serde_json::json!({
        "channel": row.channel, "message": row.id, "attempts": attempts, "error": failure.code,
    });
    if let Some(status) = failure.status {
        detail["status"] = status.into();
    }
    if let Some(error) = &failure.error {
        detail["vendor_error"] = error.as_str().into();
    }
    if let Retry::At(at) = retry {
        detail["next_at"] = at.into();
    }
    Attempt {
        row,
        attempts,
        failed: Some((failure.text(), retry)),
        event: (kind, detail),
    }
}

/// One attempt of `row`, by its kind: a 2xx (and for Slack's Web API, `"ok": true`) is
/// delivered; anything else (a 4xx included, so a misconfigured receiver ends up visible in the
/// dead letters) is a failure to retry.
async fn send(env: &Env, notify: &NotifyRules, row: &OutboxRow) -> Result<(), Failure> {
    let payload: serde_json::Value =
        serde_json::from_str(&row.payload).map_err(|_| Failure::code("payload_invalid"))?;
    let app = || {
        notify
            .slack
            .as_ref()
            .ok_or(Failure::code("slack_not_configured"))
    };
    match row.kind.as_str() {
        "slack" | "webhook" => match notify.channels.iter().find(|c| c.id == row.channel) {
            Some(channel) => send_channel(env, channel, row).await,
            None => Err(Failure::code("channel_missing")),
        },
        "slack_app" => {
            let channel = payload["channel"].as_str().unwrap_or_default();
            slack::post_message(env, app()?, channel, &payload["message"])
                .await
                .map(drop)
        }
        SLACK_DM => {
            let app = app()?;
            let user = slack::user_of(env, app, &payload).await?;
            slack::post_message(env, app, &user, &payload["message"])
                .await
                .map(drop)
        }
        EMAIL => {
            let email = notify
                .email
                .as_ref()
                .ok_or(Failure::code("email_not_configured"))?;
            let mail = serde_json::from_value(payload["mail"].clone())
                .map_err(|_| Failure::code("payload_invalid"))?;
            let key = secret(env, &email.api_key)?;
            let base = env
                .var("EMAIL_API_URL")
                .map(|v| v.to_string())
                .unwrap_or_else(|_| email.provider.default_base().to_owned());
            let to = payload["to"].as_str().unwrap_or_default();
            let request = email
                .provider
                .request(&base, &key, &email.from, to, &mail, &row.id);
            let headers: Vec<(&str, &str)> = request
                .headers
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect();
            post(&request.url, &headers, &request.body).await.map(drop)
        }
        _ => Err(Failure::code("kind_unknown")),
    }
}

/// One attempt on a configured channel: a Slack incoming webhook (its URL in a secret) or a
/// signed generic webhook.
async fn send_channel(env: &Env, channel: &Channel, row: &OutboxRow) -> Result<(), Failure> {
    let mut headers = vec![("content-type", "application/json".to_owned())];
    let url = match channel.kind {
        ChannelKind::Slack => secret(env, &channel.url_secret)?,
        ChannelKind::Webhook => {
            let key = secret(env, &channel.secret)?;
            // The receiver compares the timestamp with its own clock: the real one, not the
            // scheduled minute.
            let timestamp = (worker::Date::now().as_millis() / 1000) as i64;
            let signature = sign(&key, &row.id, timestamp, &row.payload)
                .map_err(|e: NotifyError| Failure::code(e.code()))?;
            headers.push(("webhook-id", row.id.clone()));
            headers.push(("webhook-timestamp", timestamp.to_string()));
            headers.push(("webhook-signature", signature));
            channel.url.clone()
        }
        ChannelKind::SlackApp => return Err(Failure::code("kind_unknown")),
    };
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post(&url, &headers, &row.payload).await.map(drop)
}
