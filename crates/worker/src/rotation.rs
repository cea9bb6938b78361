//! Rotation turns at the edge: handoff-core's `route` decides, `store::rotation` reads the state
//! and writes the decision's changes in the lead's own batch, and this module holds the
//! optimistic-concurrency policy around them. Of two submissions that read the same state only
//! one can commit its turn; the other's whole batch rolls back and it routes again with fresh
//! state, after a short random pause. Nobody is assigned twice, nobody is skipped, and no count
//! is ever reset.

use handoff_core::routing::{pool_status, CompiledRouting, Decision, PoolStatus, StateChange};

use crate::error::ApiError;
use crate::store::{rotation, Db};

/// How often a submission routes again after losing a rotation turn to a concurrent one: enough
/// for a burst of dozens of submissions to one pool within the same few milliseconds.
pub const ROUTING_ATTEMPTS: u32 = 64;

/// Whether committing `decision` can lose a race for a rotation turn (and is worth retrying).
pub fn contended(decision: &Decision) -> bool {
    decision
        .changes
        .iter()
        .any(|c| matches!(c, StateChange::Assigned { .. }))
}

/// Waits before routing again after lost attempt number `attempt`: a short random pause that
/// grows with the attempts, so that a burst spreads out.
pub async fn pause(attempt: u32) {
    let pause = js_sys::Math::random() * f64::from(attempt.min(10)) * 4.0;
    worker::Delay::from(std::time::Duration::from_millis(pause as u64)).await;
}

/// Every pool's rotation as it stands at `now_ms`: who is next, each member's weight, count, open
/// leads against capacity and availability (the admin API's `GET /v1/pools`).
pub async fn pools(
    db: &Db,
    routing: &CompiledRouting,
    now_ms: i64,
) -> Result<Vec<PoolStatus>, ApiError> {
    let loaded = rotation::load(db, routing, now_ms as f64).await?;
    Ok(routing
        .pools()
        .iter()
        .filter_map(|p| pool_status(routing, &p.id, &loaded.state, now_ms))
        .collect())
}
