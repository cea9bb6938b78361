//! A CRM request applied in chunks (issue 20, item 5): its items, by their place in the body, in
//! chunks of [`CHUNK_ITEMS`], each chunk one D1 batch of set-based statements
//! (`store::crm_set`, at most `plan::BATCH_STATEMENTS`) that records itself in `crm_chunks`
//! under the request's key (SHA-256 of the intake's id and the body). The same request sent
//! again skips the chunks recorded (and answers what they did); one that stopped half-way
//! continues with what is left. The whole invocation stays within the plan's D1 queries: what
//! does not fit is answered `429 crm_partially_applied` with `Retry-After`, and the CRM's retry
//! continues from the chunks recorded.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use worker::{Env, Response};

use crate::error::ApiError;
use crate::http::sha256_hex;
use crate::plan;
use crate::store::crm_set::{done_chunks, ChunkRow, CrmSet};
use crate::store::Db;

/// Items per chunk: a HubSpot webhook request (at most 100 events) is one chunk, applied whole
/// in the order its events happened; a chunk's set-based statements stay far under
/// `plan::BATCH_STATEMENTS` whatever its items are.
pub const CHUNK_ITEMS: usize = 100;

/// D1 queries of the plan kept for what else the invocation sends (the bundle's KV read).
const RESERVED: u32 = 2;

/// The seconds a CRM is asked to wait before sending the rest of a request again.
const RETRY_AFTER_S: u32 = 1;

/// The chunk of the item at `index` in the body.
pub fn chunk_of(index: usize) -> u32 {
    u32::try_from(index / CHUNK_ITEMS).unwrap_or(u32::MAX)
}

/// An item not applied: its index in the body and its stable code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ignored {
    pub index: usize,
    pub code: String,
}

/// What one chunk did, stored with its row and summed into the request's answer.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Done {
    pub applied: usize,
    pub first_touches: usize,
    pub reassigned: usize,
    pub moved: usize,
    pub ignored: Vec<Ignored>,
}

impl Done {
    fn add(&mut self, other: &Done) {
        self.applied += other.applied;
        self.first_touches += other.first_touches;
        self.reassigned += other.reassigned;
        self.moved += other.moved;
        self.ignored.extend(other.ignored.iter().cloned());
    }
}

/// One request's run through its chunks.
pub struct Chunked<'a> {
    db: &'a Db,
    request: String,
    /// The D1 statements the invocation may send in all.
    budget: u32,
    now_ms: f64,
    /// What each chunk did: those recorded before this request, and those it applied.
    done: BTreeMap<u32, Done>,
}

/// Whether a chunk was applied, or left for the CRM's retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Applied,
    Later,
}

impl<'a> Chunked<'a> {
    /// The run of `body` posted to intake `intake`, with the chunks already recorded for it;
    /// `fetches`: the invocation's own outgoing requests, which count against its limits too.
    pub async fn open(
        db: &'a Db,
        env: &Env,
        intake: &str,
        body: &str,
        fetches: u32,
        now_ms: f64,
    ) -> Result<Chunked<'a>, ApiError> {
        let request = sha256_hex(&format!("{intake}\n{body}"));
        let mut done = BTreeMap::new();
        for row in done_chunks(db, &request).await? {
            // A row this Worker wrote; one it cannot read counts as done with nothing to say.
            let answer = serde_json::from_str(&row.answer).unwrap_or_default();
            done.insert(row.chunk as u32, answer);
        }
        let limits = plan::of(env);
        Ok(Chunked {
            db,
            request,
            budget: limits.d1_queries.saturating_sub(RESERVED + fetches),
            now_ms,
            done,
        })
    }

    /// Whether chunk `chunk` was applied (by this request or an earlier one).
    pub fn is_done(&self, chunk: u32) -> bool {
        self.done.contains_key(&chunk)
    }

    /// Applies chunk `chunk`: `set`'s statements and the chunk's row in one batch, unless that
    /// would take the invocation past its budget (then `Later`, nothing sent). A chunk that
    /// writes nothing is not recorded: repeating it writes nothing either.
    pub async fn apply(
        &mut self,
        chunk: u32,
        set: CrmSet,
        mut done: Done,
    ) -> Result<Step, ApiError> {
        if set.is_empty() {
            self.done.insert(chunk, done);
            return Ok(Step::Applied);
        }
        let answer = serde_json::to_value(&done)
            .map_err(|_| ApiError::new(500, "internal", "The chunk could not be encoded."))?;
        let row = ChunkRow {
            request: &self.request,
            chunk,
            answer: &answer,
        };
        let (statements, first_touches) = set.build(self.db, &row, self.now_ms)?;
        if statements.len() > plan::BATCH_STATEMENTS {
            return Err(ApiError::new(
                500,
                "crm_chunk_too_large",
                "A chunk of this request needs more statements than one batch may have.",
            ));
        }
        if self.db.statements() as usize + statements.len() > self.budget as usize {
            return Ok(Step::Later);
        }
        let results = self.db.batch(statements).await?;
        done.first_touches = first_touches
            .and_then(|i| results.get(i))
            .and_then(|r| r.results::<serde_json::Value>().ok())
            .map_or(0, |rows| rows.len());
        self.done.insert(chunk, done);
        Ok(Step::Applied)
    }

    /// What the chunks done so far did, summed, with `read`: the items the body's reading
    /// ignored, in those chunks or, once the request is `complete`, all of them.
    pub fn total(&self, read: &[Ignored], complete: bool) -> Done {
        let mut total = Done::default();
        for done in self.done.values() {
            total.add(done);
        }
        let kept = read
            .iter()
            .filter(|i| complete || self.is_done(chunk_of(i.index)));
        total.ignored.extend(kept.cloned());
        total.ignored.sort();
        total
    }

    /// The request's answer: `200` with `answer` (the intake's answer) once `complete`, else
    /// [`Chunked::partial`]; in test mode, with what it cost (`http::with_d1_cost`).
    pub fn respond(
        &self,
        complete: bool,
        answer: &impl Serialize,
        chunks: usize,
        env: &Env,
    ) -> Result<Response, ApiError> {
        let response = if complete {
            crate::http::json(200, answer)?
        } else {
            self.partial(answer, chunks)?
        };
        Ok(crate::http::with_d1_cost(response, self.db, env))
    }

    /// The answer to a request that stopped at the invocation's limit: `429
    /// crm_partially_applied`, `Retry-After`, and what was applied (`answer`, the intake's
    /// answer's fields) with how many of the `chunks` are done.
    fn partial(&self, answer: &impl Serialize, chunks: usize) -> Result<Response, ApiError> {
        let mut body = serde_json::to_value(answer)
            .map_err(|_| ApiError::new(500, "internal", "The answer could not be encoded."))?;
        if let Some(map) = body.as_object_mut() {
            let error = serde_json::json!({
                "code": "crm_partially_applied",
                "message": "Part of this request was applied; send it again, unchanged, to apply the rest.",
            });
            map.insert("error".into(), error);
            let progress = serde_json::json!({ "done": self.done.len(), "total": chunks });
            map.insert("chunks".into(), progress);
        }
        let mut response = crate::http::json(429, &body)?;
        let _ = response
            .headers_mut()
            .set("retry-after", &RETRY_AFTER_S.to_string());
        Ok(response)
    }
}
