//! Retention: how long D1 keeps what only matters for a while, one rule per table, each a Worker
//! var in days (`never` keeps everything). Each cron tick deletes at most [`PRUNE_BATCH`] rows per
//! rule through an index on the rule's time, so a backlog (a first run on a year of keys) drains
//! over a few ticks and never makes one slow. Leads and their events leave D1 only through the
//! archive; rate-limit windows, Slack request signatures and cron ticks (a day) are pruned where
//! they are written (`store/limits.rs`, `store/slack.rs`, `record_tick`).

use wasm_bindgen::JsValue;
use worker::Env;

use super::Db;
use crate::error::ApiError;

/// The most rows one rule deletes per tick.
pub const PRUNE_BATCH: u32 = 1000;

const DAY_MS: f64 = 86_400_000.0;

/// One table's retention: the var that sets it, its default in days, and the rows it selects
/// (`?1`: the cutoff in ms; `?2`: the batch), by an indexed time.
pub struct Rule {
    pub table: &'static str,
    pub var: &'static str,
    pub default_days: u32,
    select: &'static str,
}

/// Every rule, as README's deploy section lists them.
pub const RULES: [Rule; 4] = [
    // A client retries a submission for minutes (the form's outbox: until the page is open
    // again); a month covers every retry that can still come.
    Rule {
        table: "idempotency_keys",
        var: "RETAIN_IDEMPOTENCY_DAYS",
        default_days: 30,
        select: "SELECT rowid FROM idempotency_keys WHERE created_at < ?1 LIMIT ?2",
    },
    // Delivered notifications (pending and dead ones stay: they are work or dead letters).
    Rule {
        table: "outbox",
        var: "RETAIN_DELIVERED_DAYS",
        default_days: 30,
        select: "SELECT rowid FROM outbox WHERE state = 'delivered' AND delivered_at < ?1 LIMIT ?2",
    },
    // Each rotation turn's history; routing reads `pool_turns` and `rotation`, never this.
    Rule {
        table: "rotation_log",
        var: "RETAIN_ROTATION_LOG_DAYS",
        default_days: 90,
        select: "SELECT rowid FROM rotation_log WHERE at < ?1 LIMIT ?2",
    },
    // The chunks of CRM intake requests already applied (`crm::chunks`): a CRM retries a
    // request for hours at most (HubSpot: up to 10 times over 24 hours), so a week covers them.
    Rule {
        table: "crm_chunks",
        var: "RETAIN_CRM_CHUNKS_DAYS",
        default_days: 7,
        select: "SELECT rowid FROM crm_chunks WHERE applied_at < ?1 LIMIT ?2",
    },
];

/// A rule's retention in days from its var: a whole number of days, `never`, or the default
/// when unset or unreadable.
fn days(env: &Env, rule: &Rule) -> Option<u32> {
    let set = env.var(rule.var).ok().map(|v| v.to_string());
    match set.as_deref().map(str::trim) {
        Some("never") => None,
        Some(v) => Some(
            v.parse()
                .ok()
                .filter(|d| *d > 0)
                .unwrap_or(rule.default_days),
        ),
        None => Some(rule.default_days),
    }
}

/// Deletes what each rule says is past its retention at `now_ms`, up to [`PRUNE_BATCH`] rows per
/// rule, in one batch; answers the rows deleted per table (those with any).
pub async fn prune(env: &Env, now_ms: f64) -> Result<Vec<(&'static str, usize)>, ApiError> {
    let db = Db::open(env)?;
    let mut tables = Vec::new();
    let mut statements = Vec::new();
    for rule in &RULES {
        let Some(days) = days(env, rule) else {
            continue;
        };
        let cutoff = now_ms - f64::from(days) * DAY_MS;
        let sql = format!(
            "DELETE FROM {} WHERE rowid IN ({})",
            rule.table, rule.select
        );
        statements.push(
            db.prepare(sql)
                .bind(&[
                    JsValue::from_f64(cutoff),
                    JsValue::from_f64(f64::from(PRUNE_BATCH)),
                ])
                .map_err(ApiError::storage)?,
        );
        tables.push(rule.table);
    }
    if statements.is_empty() {
        return Ok(Vec::new());
    }
    let results = db.batch(statements).await?;
    Ok(tables
        .into_iter()
        .zip(results)
        .filter_map(|(table, r)| {
            let deleted = r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0);
            (deleted > 0).then_some((table, deleted))
        })
        .collect())
}
