//! Rotation state in D1: the pools' rotation counts, the owners' leads per status and each pool's
//! last turn number, read in one consistent batch from small rows (migration 0014) whose size does
//! not grow with the leads stored, and a routing decision's state changes as statements of the
//! lead's own batch. Each rotation turn claims the pool's next number in `pool_turns` (a trigger
//! refuses any other with `rotation_turn_lost`), so of two submissions that read the same state
//! only one can commit; `rotation_log` keeps each turn as history.

use std::collections::BTreeMap;

use handoff_core::routing::{CompiledRouting, Decision, RotationState, StateChange};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

use super::status::code_list;
use super::Db;
use crate::error::ApiError;

/// What routing reads, and each pool's last rotation number (0 before its first turn).
pub struct Loaded {
    pub state: RotationState,
    seqs: BTreeMap<String, f64>,
}

/// How far back the leads given to owners with a daily cap are read: a day, and the longest gap
/// between time zones, so that every owner's local day is covered.
const GIVEN_WINDOW_MS: f64 = 50.0 * 3_600_000.0;

/// The four reads routing needs at `now_ms`: the rotation counts, each owner's leads in the
/// statuses that count against capacity (`routing.capacity_counts`, summed from
/// `owner_status_counts`), the pools' last turn numbers, and when the owners with a daily cap were
/// last given leads (the window's leads only). Run in one batch (one transaction), they agree with
/// each other; none reads more rows as the history grows.
pub fn load_statements(
    db: &D1Database,
    routing: &CompiledRouting,
    now_ms: f64,
) -> Result<[D1PreparedStatement; 4], ApiError> {
    let counted = code_list(routing.capacity_counts().iter().map(|s| s.as_str()));
    let capped = code_list(routing.daily_capped());
    Ok([
        db.prepare("SELECT pool, owner, assigned FROM rotation"),
        db.prepare(
            "SELECT owner_id, SUM(n) AS n FROM owner_status_counts \
             WHERE status IN (SELECT value FROM json_each(?1)) GROUP BY owner_id",
        )
        .bind(&[counted])
        .map_err(ApiError::storage)?,
        db.prepare("SELECT pool, seq FROM pool_turns"),
        // Through leads_owner_created: per capped owner, their leads since the window began.
        db.prepare(
            "SELECT owner_id, created_at FROM leads WHERE owner_id IN \
             (SELECT value FROM json_each(?2)) AND created_at >= ?1 AND owner_kind = 'owner'",
        )
        .bind(&[JsValue::from_f64(now_ms - GIVEN_WINDOW_MS), capped])
        .map_err(ApiError::storage)?,
    ])
}

/// Reads [`load_statements`] again, alone (after losing a turn to a concurrent submission).
pub async fn load(db: &Db, routing: &CompiledRouting, now_ms: f64) -> Result<Loaded, ApiError> {
    let results = db
        .batch(load_statements(db, routing, now_ms)?.into())
        .await?;
    match &results[..] {
        [a, b, c, d] => read([a, b, c, d]),
        _ => Err(ApiError::storage(worker::Error::from("routing state"))),
    }
}

/// The state from the results of [`load_statements`].
pub fn read([turns, open, seqs, given]: [&D1Result; 4]) -> Result<Loaded, ApiError> {
    #[derive(Deserialize)]
    struct Turns {
        pool: String,
        owner: String,
        assigned: f64,
    }
    #[derive(Deserialize)]
    struct Open {
        owner_id: String,
        n: f64,
    }
    #[derive(Deserialize)]
    struct Seq {
        pool: String,
        seq: f64,
    }
    let mut state = RotationState::default();
    for t in turns.results::<Turns>().map_err(ApiError::storage)? {
        state
            .assigned
            .entry(t.pool)
            .or_default()
            .insert(t.owner, t.assigned as u64);
    }
    for o in open.results::<Open>().map_err(ApiError::storage)? {
        state.open.insert(o.owner_id, o.n as u32);
    }
    #[derive(Deserialize)]
    struct Given {
        owner_id: String,
        created_at: f64,
    }
    for g in given.results::<Given>().map_err(ApiError::storage)? {
        state
            .given
            .entry(g.owner_id)
            .or_default()
            .push(g.created_at as i64);
    }
    let seqs = seqs
        .results::<Seq>()
        .map_err(ApiError::storage)?
        .into_iter()
        .map(|s| (s.pool, s.seq))
        .collect();
    Ok(Loaded { state, seqs })
}

/// The statements that store `decision`'s state changes for lead `lead_id`, to run in the lead's
/// batch. Owners' counts per status need none: the triggers of migration 0014 keep them.
pub fn statements(
    db: &D1Database,
    decision: &Decision,
    loaded: &Loaded,
    lead_id: &str,
    now_ms: f64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let mut out = Vec::new();
    for change in &decision.changes {
        match change {
            StateChange::Joined {
                pool,
                owner,
                assigned,
            } => out.push(
                db.prepare(
                    "INSERT INTO rotation (pool, owner, assigned) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (pool, owner) DO NOTHING",
                )
                .bind(&[
                    pool.into(),
                    owner.into(),
                    JsValue::from_f64(*assigned as f64),
                ])
                .map_err(ApiError::storage)?,
            ),
            StateChange::Assigned {
                pool,
                owner,
                new_assigned,
                ..
            } => {
                // The claim: the pool's next turn number, refused by `pool_turns_next` (the
                // whole batch with it) if a concurrent submission took this turn first.
                let seq = JsValue::from_f64(loaded.seqs.get(pool).copied().unwrap_or(0.0) + 1.0);
                out.push(
                    db.prepare(
                        "INSERT INTO pool_turns (pool, seq) VALUES (?1, 0) \
                         ON CONFLICT (pool) DO NOTHING",
                    )
                    .bind(&[pool.into()])
                    .map_err(ApiError::storage)?,
                );
                out.push(
                    db.prepare("UPDATE pool_turns SET seq = ?2 WHERE pool = ?1")
                        .bind(&[pool.into(), seq.clone()])
                        .map_err(ApiError::storage)?,
                );
                out.push(
                    db.prepare(
                        "INSERT INTO rotation_log (pool, seq, owner, lead_id, at) \
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .bind(&[
                        pool.into(),
                        seq,
                        owner.into(),
                        lead_id.into(),
                        JsValue::from_f64(now_ms),
                    ])
                    .map_err(ApiError::storage)?,
                );
                out.push(
                    db.prepare(
                        "INSERT INTO rotation (pool, owner, assigned) VALUES (?1, ?2, ?3) \
                         ON CONFLICT (pool, owner) DO UPDATE SET assigned = excluded.assigned",
                    )
                    .bind(&[
                        pool.into(),
                        owner.into(),
                        JsValue::from_f64(*new_assigned as f64),
                    ])
                    .map_err(ApiError::storage)?,
                );
            }
            StateChange::Opened { .. } => {}
        }
    }
    Ok(out)
}
