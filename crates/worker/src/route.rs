//! Routing at the edge: the pools' rotation counts and the owners' open leads read from D1 in one
//! consistent batch, handoff-core's `route` deciding, and the decision's state changes turned
//! into statements of the lead's own batch. Each rotation turn claims the pool's next number in
//! `rotation_log` (its primary key), so of two submissions that read the same state only one can
//! commit; the other's whole batch rolls back and it routes again with fresh state. Nobody is
//! assigned twice, nobody is skipped, and no count is ever reset.

use std::collections::BTreeMap;

use handoff_core::routing::{
    pool_status, CompiledRouting, Decision, PoolStatus, RotationState, StateChange,
};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

use crate::error::ApiError;
use crate::store::Db;

/// What routing reads, and each pool's last rotation number (0 before its first turn).
pub struct Loaded {
    pub state: RotationState,
    seqs: BTreeMap<String, f64>,
}

/// The three reads routing needs: the rotation counts, the open leads per owner and the pools'
/// last turn numbers. Run in one batch (one transaction), they agree with each other.
pub fn load_statements(db: &D1Database) -> [D1PreparedStatement; 3] {
    [
        db.prepare("SELECT pool, owner, assigned FROM rotation"),
        db.prepare(
            "SELECT owner_id, COUNT(*) AS n FROM leads WHERE owner_kind = 'owner' \
             AND status = 'open' GROUP BY owner_id",
        ),
        db.prepare("SELECT pool, MAX(seq) AS seq FROM rotation_log GROUP BY pool"),
    ]
}

/// Reads [`load_statements`] again, alone (after losing a turn to a concurrent submission).
pub async fn load(db: &Db) -> Result<Loaded, ApiError> {
    let results = db.batch(load_statements(db).into()).await?;
    match &results[..] {
        [a, b, c] => read([a, b, c]),
        _ => Err(ApiError::storage(worker::Error::from("routing state"))),
    }
}

/// The state from the results of [`load_statements`].
pub fn read([turns, open, seqs]: [&D1Result; 3]) -> Result<Loaded, ApiError> {
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
    let seqs = seqs
        .results::<Seq>()
        .map_err(ApiError::storage)?
        .into_iter()
        .map(|s| (s.pool, s.seq))
        .collect();
    Ok(Loaded { state, seqs })
}

/// The statements that store `decision`'s state changes for lead `lead_id`, to run in the lead's
/// batch. Open-lead counts need none: they are counted from the leads themselves.
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
                // The claim: fails on the key if a concurrent submission took this turn first.
                let seq = loaded.seqs.get(pool).copied().unwrap_or(0.0) + 1.0;
                out.push(
                    db.prepare(
                        "INSERT INTO rotation_log (pool, seq, owner, lead_id, at) \
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .bind(&[
                        pool.into(),
                        JsValue::from_f64(seq),
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

/// Whether committing `decision` can lose a race for a rotation turn (and is worth retrying).
pub fn contended(decision: &Decision) -> bool {
    decision
        .changes
        .iter()
        .any(|c| matches!(c, StateChange::Assigned { .. }))
}

/// Every pool's rotation as it stands at `now_ms`: who is next, each member's weight, count, open
/// leads against capacity and availability (the admin API's `GET /v1/pools`).
pub async fn pools(
    db: &Db,
    routing: &CompiledRouting,
    now_ms: i64,
) -> Result<Vec<PoolStatus>, ApiError> {
    let loaded = load(db).await?;
    Ok(routing
        .pools()
        .iter()
        .filter_map(|p| pool_status(routing, &p.id, &loaded.state, now_ms))
        .collect())
}
