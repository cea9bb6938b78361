//! Rotation turns at the edge: handoff-core's `route` decides, `store::rotation` reads the state
//! and writes the decision's changes in the lead's own batch, and this module holds the
//! optimistic-concurrency policy around them. Of two submissions that read the same state only
//! one can commit its turn; the other's whole batch rolls back (`rotation_turn_lost`) and it
//! routes again with fresh state, after a random pause, at most [`ROUTING_ATTEMPTS`] times in all.
//! Any other failure is answered at once. Nobody is assigned twice, nobody is skipped, and no
//! count is ever reset.

use std::cell::Cell;

use handoff_core::routing::{pool_status, CompiledRouting, Decision, PoolStatus, StateChange};

use crate::error::ApiError;
use crate::store::{rotation, Db};

/// How often a submission routes at most: a lost rotation turn (and nothing else) is routed again
/// with fresh state, after a pause that doubles, so that a burst of dozens of submissions to one
/// pool within the same few milliseconds spreads out, while a failing database costs a
/// submission one batch, never a storm of retries.
pub const ROUTING_ATTEMPTS: u32 = 8;

thread_local! {
    /// Whether a submission of this isolate is routing and committing a lead now, and how many
    /// routed leads this isolate has committed.
    static BUSY: Cell<bool> = const { Cell::new(false) };
    static COMMITS: Cell<u64> = const { Cell::new(0) };
}

/// How long a submission waits for this isolate's turn before it routes anyway (the claim in its
/// batch keeps that correct), and how often it looks.
const TURN_WAIT_MS: f64 = 2_000.0;
const TURN_POLL_MS: f64 = 2.0;

/// How many routed leads this isolate has committed: read before a submission's read batch, so
/// that its routing state is known to be fresh while the count has not moved (a commit under way
/// then counts when it ends, and makes the state read stale to be safe).
pub fn commits() -> u64 {
    COMMITS.with(Cell::get)
}

/// A routed lead committed in this isolate (with a turn or without: an owner's count changed).
pub fn committed() {
    COMMITS.with(|c| c.set(c.get() + 1));
}

/// This isolate's turn to commit a lead that takes a rotation turn, held until dropped.
/// Concurrent submissions in one isolate take turns instead of racing each other for a rotation
/// turn, and each routes on state read after the one before it committed; those of other isolates still race, and the
/// claim in the batch decides. The wait polls on a timer, the submission's own I/O: a Worker may
/// not wait on a promise another request resolves.
pub async fn serialized() -> Turn {
    let mut waited = 0.0;
    while BUSY.with(Cell::get) && waited < TURN_WAIT_MS {
        let pause = TURN_POLL_MS * (0.5 + js_sys::Math::random());
        worker::Delay::from(std::time::Duration::from_millis(pause as u64)).await;
        waited += pause;
    }
    let held = !BUSY.with(|b| b.replace(true));
    Turn { held }
}

/// A submission's turn ([`serialized`]); `held` is false when it stopped waiting for it.
pub struct Turn {
    held: bool,
}

impl Turn {
    /// Whether a routed lead was committed in this isolate since `seen` ([`commits`]).
    pub fn moved_since(&self, seen: u64) -> bool {
        commits() != seen
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if self.held {
            BUSY.with(|b| b.set(false));
        }
    }
}

/// Whether committing `decision` can lose a race for a rotation turn (and is worth retrying).
pub fn contended(decision: &Decision) -> bool {
    decision
        .changes
        .iter()
        .any(|c| matches!(c, StateChange::Assigned { .. }))
}

/// Waits before routing again after lost attempt number `attempt`: a random pause whose bound
/// doubles with each attempt (10, 20, 40 … 640 ms), so that a burst spreads out.
pub async fn pause(attempt: u32) {
    let bound = 10.0 * f64::from(1u32 << attempt.clamp(1, 7).saturating_sub(1));
    let pause = js_sys::Math::random() * bound;
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
