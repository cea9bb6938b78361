//! The admin API over leads, pools and notifications (bearer token, checked by the route table
//! before any handler here runs): list and read leads, reassign one, each pool's rotation, list
//! and retry dead letters.

use handoff_core::check::valid_id;
use handoff_core::scoring::Stage;
use handoff_core::Bundle;
use serde::{Deserialize, Serialize};
use worker::{Env, Request, Response};

use crate::error::ApiError;
use crate::http::{bad_query, json, param, parse_limit, query, read_body};
use crate::store::admin::{LeadFilter, LeadSummary};
use crate::store::{self, BundleOnce, Db};

/// The longest reassignment reason kept, in characters.
const MAX_REASON: usize = 500;

/// Whether the bundle's routing configuration has an owner (`kind` "owner") or queue (`kind`
/// "queue") with this id. Without `[routing]` there is nobody to hand a lead to.
pub fn owner_exists(bundle: &Bundle, kind: &str, id: &str) -> bool {
    let Some(routing) = bundle.routing() else {
        return false;
    };
    valid_id(id)
        && match kind {
            "owner" => routing.owner_spec(id).is_some(),
            "queue" => routing.queue(id).is_some(),
            _ => false,
        }
}

/// A page cursor: the last listed lead's creation time and id, `<ms>_<id>`.
fn encode_cursor(lead: &LeadSummary) -> String {
    format!("{}_{}", lead.created_at as i64, lead.id)
}

/// A cursor as [`encode_cursor`] writes it: `<ms>_<id>`, 1 to 15 digits and 1 to 64 letters,
/// digits or `-` (the OpenAPI document's pattern); else `400 bad_query`.
fn decode_cursor(cursor: &str) -> Result<(f64, String), ApiError> {
    let bad = || bad_query("cursor is not one this API gave out.");
    let (at, id) = cursor.split_once('_').ok_or_else(bad)?;
    let digits = (1..=15).contains(&at.len()) && at.bytes().all(|b| b.is_ascii_digit());
    let id_ok =
        (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !digits || !id_ok {
        return Err(bad());
    }
    let at = at.parse::<i64>().map_err(|_| bad())?;
    Ok((at as f64, id.to_owned()))
}

#[derive(Serialize)]
struct LeadItem<'a> {
    id: &'a str,
    form: &'a str,
    email: Option<&'a str>,
    created_at_ms: i64,
    score: Option<i64>,
    grade: Option<&'a str>,
    lifecycle: Option<&'a str>,
    disqualify_reason: Option<&'a str>,
    owner_kind: Option<&'a str>,
    owner_id: Option<&'a str>,
    status: &'a str,
}

#[derive(Serialize)]
struct LeadPage<'a> {
    leads: Vec<LeadItem<'a>>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

/// `GET /v1/leads?limit=&cursor=&lifecycle=&owner=&since=`: newest first, keyset-paginated.
pub async fn list_leads(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let pairs = query(req)?;
    let limit = parse_limit(param(&pairs, "limit"))?;
    let lifecycle = match param(&pairs, "lifecycle") {
        None => None,
        Some(v) if Stage::parse(v).is_some() => Some(v.to_owned()),
        Some(_) => return Err(bad_query("lifecycle is disqualified, nurture, mql or sql.")),
    };
    let owner = match param(&pairs, "owner") {
        None => None,
        Some(v) if valid_id(v) => Some(v.to_owned()),
        Some(_) => return Err(bad_query("owner is an owner or queue id.")),
    };
    let since = match param(&pairs, "since") {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|t| (0..=crate::metrics::MAX_TIME_MS).contains(t))
                .ok_or_else(|| {
                    bad_query("since is a time in milliseconds since the epoch, 0 or later.")
                })? as f64,
        ),
    };
    let before = param(&pairs, "cursor").map(decode_cursor).transpose()?;
    let filter = LeadFilter {
        lifecycle,
        owner,
        since,
        before,
    };
    // One more than the page, to know whether another page follows.
    let mut rows = store::admin::list_leads(env, &filter, limit + 1).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = rows.last().filter(|_| more).map(encode_cursor);
    let leads = rows
        .iter()
        .map(|r| LeadItem {
            id: &r.id,
            form: &r.form_id,
            email: r.email.as_deref(),
            created_at_ms: r.created_at as i64,
            score: r.score.map(|s| s as i64),
            grade: r.grade.as_deref(),
            lifecycle: r.lifecycle.as_deref(),
            disqualify_reason: r.disqualify_reason.as_deref(),
            owner_kind: r.owner_kind.as_deref(),
            owner_id: r.owner_id.as_deref(),
            status: &r.status,
        })
        .collect();
    json(200, &LeadPage { leads, next_cursor })
}

#[derive(Serialize)]
struct EventView {
    seq: i64,
    at_ms: i64,
    kind: String,
    actor: String,
    detail: serde_json::Value,
}

#[derive(Serialize)]
struct LeadView {
    id: String,
    form: String,
    email: Option<String>,
    answers: serde_json::Value,
    bundle_version: String,
    client_bundle_version: Option<String>,
    created_at_ms: i64,
    score: Option<i64>,
    grade: Option<String>,
    lifecycle: Option<String>,
    disqualify_reason: Option<String>,
    /// Score breakdown, disqualification and the fields shown, as evaluated at intake.
    evaluation: serde_json::Value,
    visitor: Option<String>,
    /// UTM, referrer, landing page, pages viewed and consent, as the form observed them.
    attribution: serde_json::Value,
    owner_kind: Option<String>,
    owner_id: Option<String>,
    /// Where the lead stands (docs/STATUS.md).
    status: String,
    merged_into: Option<String>,
    /// A returning person's earlier lead.
    previous_lead: Option<String>,
    /// The deal's value, from the latest opportunity, won or lost outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    deal: Option<Deal>,
    updated_at_ms: Option<i64>,
    /// The experiment the lead took part in, and its arm.
    experiment: Option<String>,
    arm: Option<String>,
    /// The lead's event log, oldest first.
    events: Vec<EventView>,
    /// The lead's records in the CRMs it is pushed to (`[[crm.push]]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    crm: Vec<store::push::Record>,
}

#[derive(Debug, Serialize)]
struct Deal {
    amount: f64,
    currency: String,
}

/// `GET /v1/leads/:id`: the stored lead, who owns it, and everything that happened to it.
pub async fn get_lead(env: &Env, id: &str) -> Result<Response, ApiError> {
    let not_found = || ApiError::new(404, "lead_not_found", "No lead has this id.");
    let row = store::leads::lead(env, id).await?.ok_or_else(not_found)?;
    let (owner, events, crm) = store::admin::ownership_and_events(env, id)
        .await?
        .ok_or_else(not_found)?;
    let parse = |text: &str| serde_json::from_str(text).unwrap_or(serde_json::Value::Null);
    let optional = |text: Option<&str>| text.map_or(serde_json::Value::Null, parse);
    json(
        200,
        &LeadView {
            answers: parse(&row.answers),
            evaluation: optional(row.evaluation.as_deref()),
            attribution: optional(row.attribution.as_deref()),
            id: row.id,
            form: row.form_id,
            email: row.email,
            bundle_version: row.bundle_version,
            client_bundle_version: row.client_bundle_version,
            // Stored as REAL because D1 takes numbers as f64; whole milliseconds by construction.
            created_at_ms: row.created_at as i64,
            score: row.score.map(|s| s as i64),
            grade: row.grade,
            lifecycle: row.lifecycle,
            disqualify_reason: row.disqualify_reason,
            visitor: row.visitor,
            experiment: row.experiment,
            arm: row.arm,
            owner_kind: owner.owner_kind,
            owner_id: owner.owner_id,
            status: owner.status,
            merged_into: owner.merged_into,
            previous_lead: row.previous_lead,
            deal: row
                .deal_amount
                .zip(row.deal_currency)
                .map(|(amount, currency)| Deal { amount, currency }),
            updated_at_ms: owner.updated_at.map(|t| t as i64),
            events: events
                .into_iter()
                .map(|e| EventView {
                    seq: e.seq as i64,
                    at_ms: e.at as i64,
                    detail: parse(&e.detail),
                    kind: e.kind,
                    actor: e.actor,
                })
                .collect(),
            crm,
        },
    )
}

#[derive(Deserialize)]
struct Reassign {
    owner_kind: String,
    owner_id: String,
    #[serde(default)]
    reason: String,
}

#[derive(Serialize)]
struct Reassigned<'a> {
    id: &'a str,
    owner_kind: &'a str,
    owner_id: &'a str,
}

/// `POST /v1/leads/:id/reassign` `{owner_kind, owner_id, reason}`.
pub async fn reassign(
    req: &mut Request,
    env: &Env,
    id: &str,
    bundle: &BundleOnce,
    now: f64,
) -> Result<Response, ApiError> {
    let body = read_body(req, crate::http::caps::COMMAND).await?;
    let input: Reassign = serde_json::from_str(&body).map_err(|_| {
        ApiError::new(
            400,
            "bad_json",
            "The body is {\"owner_kind\": \"owner\" or \"queue\", \"owner_id\", \"reason\"}.",
        )
    })?;
    if !matches!(input.owner_kind.as_str(), "owner" | "queue") {
        return Err(ApiError::new(
            400,
            "bad_body",
            "owner_kind is \"owner\" or \"queue\".",
        ));
    }
    let reason = handoff_core::text::clean_line(&input.reason, MAX_REASON).map_err(|_| {
        ApiError::new(
            400,
            "bad_body",
            format!("reason is at most {MAX_REASON} characters of text."),
        )
    })?;
    let bundle = bundle.get(env).await?;
    if !owner_exists(&bundle, &input.owner_kind, &input.owner_id) {
        return Err(ApiError::new(
            422,
            "unknown_owner",
            "The configuration has no owner or queue with this id.",
        ));
    }
    if !store::admin::reassign(env, id, &input.owner_kind, &input.owner_id, &reason, now).await? {
        return Err(ApiError::new(404, "lead_not_found", "No lead has this id."));
    }
    json(
        200,
        &Reassigned {
            id,
            owner_kind: &input.owner_kind,
            owner_id: &input.owner_id,
        },
    )
}

/// `GET /v1/pools` (admin): each pool's rotation right now: who is next, each member's weight,
/// count, open leads against capacity, and whether they are available (and if not, why).
pub async fn get_pools(env: &Env, bundle: &BundleOnce, now_ms: i64) -> Result<Response, ApiError> {
    let bundle = bundle.get(env).await?;
    let pools = match bundle.routing() {
        Some(routing) => {
            let db = Db::open(env)?;
            crate::rotation::pools(&db, routing, now_ms).await?
        }
        None => Vec::new(),
    };
    json(200, &serde_json::json!({ "pools": pools }))
}

#[derive(Serialize)]
struct DeadLetters<'a> {
    dead_letters: Vec<DeadLetterView<'a>>,
}

#[derive(Serialize)]
struct DeadLetterView<'a> {
    id: &'a str,
    lead_id: &'a str,
    channel: &'a str,
    kind: &'a str,
    attempts: i64,
    /// ms since the epoch.
    created_at: i64,
    last_error: Option<&'a str>,
}

/// `GET /v1/dead-letters?limit=`: notifications given up on, newest first.
pub async fn list_dead_letters(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let pairs = query(req)?;
    let limit = parse_limit(param(&pairs, "limit"))?;
    let rows = store::admin::dead_letters(env, limit).await?;
    let dead_letters = rows
        .iter()
        .map(|d| DeadLetterView {
            id: &d.id,
            lead_id: &d.lead_id,
            channel: &d.channel,
            kind: &d.kind,
            attempts: d.attempts as i64,
            created_at: d.created_at as i64,
            last_error: d.last_error.as_deref(),
        })
        .collect();
    json(200, &DeadLetters { dead_letters })
}

#[derive(Serialize)]
struct Retried<'a> {
    id: &'a str,
    state: &'static str,
}

/// `POST /v1/dead-letters/:id/retry`: back in the queue, due now.
pub async fn retry_dead_letter(env: &Env, id: &str, now: f64) -> Result<Response, ApiError> {
    if !store::admin::retry_dead_letter(env, id, now).await? {
        return Err(ApiError::new(
            404,
            "dead_letter_not_found",
            "No dead letter has this id.",
        ));
    }
    json(
        200,
        &Retried {
            id,
            state: "pending",
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let lead = LeadSummary {
            id: "0b9a-uuid".into(),
            form_id: "demo".into(),
            email: None,
            created_at: 1_700_000_000_123.0,
            score: None,
            grade: None,
            lifecycle: None,
            disqualify_reason: None,
            owner_kind: None,
            owner_id: None,
            status: "new".into(),
        };
        let cursor = encode_cursor(&lead);
        assert_eq!(cursor, "1700000000123_0b9a-uuid");
        assert_eq!(
            decode_cursor(&cursor).unwrap(),
            (1_700_000_000_123.0, "0b9a-uuid".to_owned())
        );
        for junk in ["", "abc", "12_", "x_y", &format!("1_{}", "a".repeat(65))] {
            assert!(decode_cursor(junk).is_err(), "{junk:?}");
        }
    }
}
