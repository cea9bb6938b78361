//! `crm_records` and `crm_companies` (migration 0012): a lead's record in each CRM it is pushed
//! to. Inserted in the routed lead's batch, made due by the triggers on `leads` and `sla_clocks`
//! whenever something the record shows changes, leased by a push run, and each run's result
//! written with its lead event.

use handoff_core::events::EventKind;
use handoff_core::push::{Ids, Push};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use super::{event_statement, opt, Db};
use crate::error::ApiError;

/// While a push run sends a record, other runs leave it alone this long.
const LEASE_MS: f64 = 120_000.0;

fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

fn n(v: f64) -> JsValue {
    JsValue::from_f64(v)
}

/// A routed lead's record for `push`, due at once, with what was fixed at routing.
pub fn insert_statement(
    db: &D1Database,
    lead_id: &str,
    push: &Push,
    snapshot: &str,
    now_ms: f64,
) -> Result<D1PreparedStatement, ApiError> {
    db.prepare(
        "INSERT INTO crm_records (lead_id, push_id, target, state, version, next_at, snapshot, \
         created_at) VALUES (?1, ?2, ?3, 'pending', 1, ?4, ?5, ?4) \
         ON CONFLICT (lead_id, push_id) DO NOTHING",
    )
    .bind(&[
        s(lead_id),
        s(&push.id),
        s(push.target.as_str()),
        n(now_ms),
        s(snapshot),
    ])
    .map_err(ApiError::storage)
}

/// A returning person's repeat refreshed the lead: what its record says from routing, anew.
pub fn snapshot_statement(
    db: &D1Database,
    lead_id: &str,
    push: &Push,
    snapshot: &str,
) -> Result<D1PreparedStatement, ApiError> {
    db.prepare("UPDATE crm_records SET snapshot = ?3 WHERE lead_id = ?1 AND push_id = ?2")
        .bind(&[s(lead_id), s(&push.id), s(snapshot)])
        .map_err(ApiError::storage)
}

/// A record due for a push, with the lead as it stands.
#[derive(Debug, Deserialize)]
pub struct Due {
    pub lead_id: String,
    pub version: f64,
    pub attempts: f64,
    pub failing_since: Option<f64>,
    pub snapshot: String,
    pub record_id: Option<String>,
    pub company_id: Option<String>,
    pub task_id: Option<String>,
    pub status: String,
    pub owner_id: Option<String>,
    pub deal_amount: Option<f64>,
    pub deal_currency: Option<String>,
    pub created_at: f64,
    pub first_touch_due: Option<f64>,
    pub touched_at: Option<f64>,
    /// The reason of the latest status change (a rejection's or a loss's code).
    pub reason: Option<String>,
}

/// At most `limit` records of `push` due at `now_ms`, oldest first (one lead's, or anyone's),
/// through the partial index on due records.
pub async fn due(
    db: &Db,
    push: &str,
    lead: Option<&str>,
    limit: usize,
    now_ms: f64,
) -> Result<Vec<Due>, ApiError> {
    let statement = db
        .prepare(
            "SELECT r.lead_id, r.version, r.attempts, r.failing_since, r.snapshot, r.record_id, \
             r.company_id, r.task_id, l.status, l.owner_id, l.deal_amount, l.deal_currency, \
             l.created_at, c.first_touch_due, c.touched_at, \
             (SELECT json_extract(e.detail, '$.reason') FROM lead_events e \
              WHERE e.lead_id = r.lead_id AND e.kind = 'status_changed' \
              ORDER BY e.seq DESC LIMIT 1) AS reason \
             FROM crm_records r JOIN leads l ON l.id = r.lead_id \
             LEFT JOIN sla_clocks c ON c.lead_id = r.lead_id \
             WHERE r.push_id = ?1 AND r.state = 'pending' AND r.next_at <= ?2 \
             AND (?3 IS NULL OR r.lead_id = ?3) ORDER BY r.next_at LIMIT ?4",
        )
        .bind(&[s(push), n(now_ms), opt(lead), n(limit as f64)])
        .map_err(ApiError::storage)?;
    db.rows(statement).await
}

/// Takes `leads`' records of `push` for this run (pushes their `next_at` past the run, so the
/// intake's `waitUntil` and a cron tick never send one twice at once): the leads it got.
pub async fn lease(
    db: &Db,
    push: &str,
    leads: &[&str],
    now_ms: f64,
) -> Result<Vec<String>, ApiError> {
    #[derive(Deserialize)]
    struct Leased {
        lead_id: String,
    }
    let ids = serde_json::to_string(leads).unwrap_or_else(|_| "[]".into());
    let statement = db
        .prepare(
            "UPDATE crm_records SET next_at = ?3 WHERE push_id = ?1 AND state = 'pending' \
             AND next_at <= ?4 AND lead_id IN (SELECT value FROM json_each(?2)) \
             RETURNING lead_id",
        )
        .bind(&[s(push), s(&ids), n(now_ms + LEASE_MS), n(now_ms)])
        .map_err(ApiError::storage)?;
    Ok(db
        .rows::<Leased>(statement)
        .await?
        .into_iter()
        .map(|l| l.lead_id)
        .collect())
}

/// The HubSpot companies already known for `domains`: (domain, company id).
pub async fn companies(
    db: &Db,
    push: &str,
    domains: &[&str],
) -> Result<Vec<(String, String)>, ApiError> {
    #[derive(Deserialize)]
    struct Company {
        domain: String,
        company_id: String,
    }
    let list = serde_json::to_string(domains).unwrap_or_else(|_| "[]".into());
    let statement = db
        .prepare(
            "SELECT domain, company_id FROM crm_companies WHERE push_id = ?1 \
             AND domain IN (SELECT value FROM json_each(?2))",
        )
        .bind(&[s(push), s(&list)])
        .map_err(ApiError::storage)?;
    Ok(db
        .rows::<Company>(statement)
        .await?
        .into_iter()
        .map(|c| (c.domain, c.company_id))
        .collect())
}

/// Claims `domains` for this push to create their companies: the domains it got (unclaimed, or
/// claimed by a push more than two minutes ago, which died). The others are being created.
pub async fn claim_companies(
    db: &Db,
    push: &str,
    domains: &[&str],
    now_ms: f64,
) -> Result<Vec<String>, ApiError> {
    #[derive(Deserialize)]
    struct Claimed {
        domain: String,
    }
    let statements = domains
        .iter()
        .map(|domain| {
            db.prepare(
                "INSERT INTO crm_company_claims (push_id, domain, claimed_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (push_id, domain) DO UPDATE SET claimed_at = excluded.claimed_at \
                 WHERE claimed_at < ?4 RETURNING domain",
            )
            .bind(&[s(push), s(domain), n(now_ms), n(now_ms - LEASE_MS)])
            .map_err(ApiError::storage)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut claimed = Vec::new();
    for result in db.batch(statements).await? {
        let rows: Vec<Claimed> = result.results().map_err(ApiError::storage)?;
        claimed.extend(rows.into_iter().map(|c| c.domain));
    }
    Ok(claimed)
}

/// Remembers companies found or created, at once (before anything else can fail), so that no
/// retry creates one twice.
pub async fn remember_companies(
    db: &Db,
    push: &str,
    found: &[(String, String)],
    now_ms: f64,
) -> Result<(), ApiError> {
    if found.is_empty() {
        return Ok(());
    }
    let statements = found
        .iter()
        .map(|(domain, id)| {
            db.prepare(
                "INSERT INTO crm_companies (push_id, domain, company_id, created_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (push_id, domain) DO NOTHING",
            )
            .bind(&[s(push), s(domain), s(id), n(now_ms)])
            .map_err(ApiError::storage)
        })
        .collect::<Result<Vec<_>, _>>()?;
    db.batch(statements).await.map(drop)
}

/// What one run did with one record.
pub enum Outcome<'a> {
    /// The CRM took the lead as it stood at `version`.
    Pushed {
        version: f64,
        ids: &'a Ids,
        url: Option<&'a str>,
        created: bool,
    },
    /// Not sent this time (another lead of the batch has the same address): due again at once.
    Deferred,
    /// Failed: retried at `next_at`, or dead (`None`), with the ids learned before the failure.
    Failed {
        ids: &'a Ids,
        error: &'a str,
        next_at: Option<f64>,
        detail: &'a serde_json::Value,
    },
}

/// The statements of `outcome` for `lead_id`'s record of `push`, and its lead event.
pub fn outcome_statements(
    db: &D1Database,
    push: &str,
    lead_id: &str,
    outcome: &Outcome<'_>,
    now_ms: f64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let ids_of = |ids: &Ids| {
        [
            opt(ids.record.as_deref()),
            opt(ids.company.as_deref()),
            opt(ids.task.as_deref()),
        ]
    };
    match outcome {
        Outcome::Pushed {
            version,
            ids,
            url,
            created,
        } => {
            let [record, company, task] = ids_of(ids);
            let update = db
                .prepare(
                    "UPDATE crm_records SET record_id = ?3, company_id = ?4, task_id = ?5, \
                     url = COALESCE(?6, url), synced_version = ?7, synced_at = ?8, attempts = 0, \
                     failing_since = NULL, last_error = NULL, \
                     state = CASE WHEN version = ?7 THEN 'synced' ELSE 'pending' END, \
                     next_at = ?8 WHERE lead_id = ?1 AND push_id = ?2",
                )
                .bind(&[
                    s(lead_id),
                    s(push),
                    record,
                    company,
                    task,
                    opt(*url),
                    n(*version),
                    n(now_ms),
                ])
                .map_err(ApiError::storage)?;
            let detail = serde_json::json!({
                "push": push, "record": ids.record, "created": created, "version": version,
            });
            Ok(vec![
                update,
                event_statement(db, lead_id, now_ms, EventKind::CrmPushed, "system", &detail)?,
            ])
        }
        Outcome::Deferred => Ok(vec![db
            .prepare("UPDATE crm_records SET next_at = ?3 WHERE lead_id = ?1 AND push_id = ?2")
            .bind(&[s(lead_id), s(push), n(now_ms)])
            .map_err(ApiError::storage)?]),
        Outcome::Failed {
            ids,
            error,
            next_at,
            detail,
        } => {
            let [record, company, task] = ids_of(ids);
            let (state, next, kind) = match next_at {
                Some(at) => ("pending", *at, EventKind::CrmPushFailed),
                None => ("dead", now_ms, EventKind::DeadLettered),
            };
            let update = db
                .prepare(
                    "UPDATE crm_records SET record_id = COALESCE(?3, record_id), \
                     company_id = COALESCE(?4, company_id), task_id = COALESCE(?5, task_id), \
                     attempts = attempts + 1, failing_since = COALESCE(failing_since, ?6), \
                     last_error = ?7, state = ?8, next_at = ?9 \
                     WHERE lead_id = ?1 AND push_id = ?2",
                )
                .bind(&[
                    s(lead_id),
                    s(push),
                    record,
                    company,
                    task,
                    n(now_ms),
                    s(error),
                    s(state),
                    n(next),
                ])
                .map_err(ApiError::storage)?;
            Ok(vec![
                update,
                event_statement(db, lead_id, now_ms, kind, "system", detail)?,
            ])
        }
    }
}

/// A lead's records, for the admin view and the export: push, target, state, ids, link.
#[derive(Debug, Deserialize, serde::Serialize)]
pub struct Record {
    pub push: String,
    pub target: String,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synced_at: Option<f64>,
}

/// The query of one lead's records, oldest push first.
pub fn records_query(db: &D1Database, lead_id: &str) -> Result<D1PreparedStatement, ApiError> {
    db.prepare(
        "SELECT push_id AS push, target, state, record_id, company_id, task_id, url, last_error, \
         synced_at FROM crm_records WHERE lead_id = ?1 ORDER BY created_at, push_id",
    )
    .bind(&[s(lead_id)])
    .map_err(ApiError::storage)
}

/// Where a person opens `lead_id`'s record of `push`, once the CRM has it.
pub async fn url(db: &Db, lead_id: &str, push: &str) -> Result<Option<String>, ApiError> {
    #[derive(Deserialize)]
    struct Url {
        url: Option<String>,
    }
    let statement = db
        .prepare("SELECT url FROM crm_records WHERE lead_id = ?1 AND push_id = ?2")
        .bind(&[s(lead_id), s(push)])
        .map_err(ApiError::storage)?;
    Ok(db.first::<Url>(statement).await?.and_then(|u| u.url))
}
