//! Cloudflare's documented limits on one Worker invocation, by plan (var `WORKER_PLAN`), and the
//! caps Handoff's own batches keep within them: what the cron's jobs and a CRM intake size their
//! D1 batches and statements by.
//!
//! The limits, as documented (read for issue 20):
//! - D1, "Limits" (developers.cloudflare.com/d1/platform/limits/): queries per Worker invocation
//!   1,000 (Workers Paid) / 50 (Free); maximum bound parameters per query 100; maximum SQL
//!   statement length 100,000 bytes; maximum string, BLOB or row size 2,000,000 bytes; maximum
//!   SQL query duration 30 s, which also applies to a whole `batch()` call; "limits for individual
//!   queries apply to each individual statement contained within a batch"; at most six
//!   simultaneous connections to D1 per invocation.
//! - Workers, "Limits" (developers.cloudflare.com/workers/platform/limits/): subrequests 50 per
//!   request (Free) / 10,000 (Paid; 1,000 in earlier versions of the page, the figure used here);
//!   six simultaneous outgoing connections per request.
//!
//! D1 documents no limit on statements per batch beyond these; Handoff counts every statement of
//! a batch against the invocation's queries (`store::Db::statements`), the conservative reading.

use worker::Env;

/// The limits one invocation works within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// D1 queries (statements) per invocation.
    pub d1_queries: u32,
    /// Outgoing requests per invocation (fetches; D1 queries count too).
    pub subrequests: u32,
}

/// Workers Free: 50 D1 queries, 50 subrequests.
pub const FREE: Limits = Limits {
    d1_queries: 50,
    subrequests: 50,
};

/// Workers Paid: 1,000 D1 queries, 1,000 subrequests (the lower of the documented figures).
pub const PAID: Limits = Limits {
    d1_queries: 1000,
    subrequests: 1000,
};

/// Bound parameters one statement may carry (D1: 100).
pub const MAX_BOUND_PARAMETERS: usize = 100;

/// Bytes of SQL one statement may have (D1: 100,000).
pub const MAX_STATEMENT_BYTES: usize = 100_000;

/// Simultaneous outgoing connections per invocation (Workers: 6): the outbox's concurrency.
pub const SIMULTANEOUS_CONNECTIONS: usize = 6;

/// The most statements Handoff puts in one D1 batch (one transaction): far under either plan's
/// queries per invocation, and short enough that a batch holds D1's single writer briefly.
pub const BATCH_STATEMENTS: usize = 40;

/// The most bytes of one JSON array bound to a set-based statement (`json_each(?)`): under the
/// statement length limit even if a bound value counted toward it, far under the 2 MB value limit.
pub const JSON_BYTES: usize = MAX_STATEMENT_BYTES - 10_000;

/// The most bound parameters a statement of Handoff's has (the outbox's fair selection): every
/// set-based statement binds its records as one JSON array instead of a parameter per value.
pub const MOST_BOUND_PARAMETERS: usize = 9;
const _: () = assert!(MOST_BOUND_PARAMETERS <= MAX_BOUND_PARAMETERS);

/// The plan the Worker runs on: the var `WORKER_PLAN` (`paid`; anything else, or none, is the
/// free plan's limits, the safe default).
pub fn of(env: &Env) -> Limits {
    match env.var("WORKER_PLAN").map(|v| v.to_string()) {
        Ok(plan) if plan.eq_ignore_ascii_case("paid") => PAID,
        _ => FREE,
    }
}

impl Limits {
    /// The D1 statements the cron's SLA escalation may use in one invocation: two fifths, the
    /// rest left to the tick's record, the outbox, the CRM push and the clean-ups.
    pub fn sla_statements(self) -> u32 {
        self.d1_queries * 2 / 5
    }

    /// How many messages the cron's outbox run sends at most in one invocation: each is a fetch
    /// (two for a Slack direct message: a user look-up first), so a fifth of the subrequests.
    pub fn outbox_messages(self) -> u32 {
        self.subrequests / 5
    }
}

/// JSON arrays of records, each at most [`JSON_BYTES`] long: one set-based statement per array.
#[derive(Debug, Default, Clone)]
pub struct Chunks {
    done: Vec<String>,
    open: String,
}

impl Chunks {
    /// Adds one record (a JSON value).
    pub fn push(&mut self, record: &serde_json::Value) {
        self.push_text(record.to_string());
    }

    /// Adds one record, already serialized as JSON.
    pub fn push_text(&mut self, text: String) {
        if !self.open.is_empty() && self.open.len() + text.len() + 2 > JSON_BYTES {
            self.open.push(']');
            self.done.push(std::mem::take(&mut self.open));
        }
        self.open.push(if self.open.is_empty() { '[' } else { ',' });
        self.open.push_str(&text);
    }

    /// How many statements the records need: one per array.
    pub fn statements(&self) -> usize {
        self.done.len() + usize::from(!self.open.is_empty())
    }

    /// How many more statements records of these lengths would need.
    pub fn extra(&self, lens: &[usize]) -> usize {
        let mut open = self.open.len();
        let mut extra = 0;
        for len in lens {
            if open == 0 || open + len + 2 > JSON_BYTES {
                extra += 1;
                open = 1;
            }
            open += len + 1;
        }
        extra
    }

    /// The arrays, closed.
    pub fn into_arrays(mut self) -> Vec<String> {
        if !self.open.is_empty() {
            self.open.push(']');
            self.done.push(self.open);
        }
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_stay_under_the_byte_cap_and_hold_every_record() {
        let mut chunks = Chunks::default();
        let record = serde_json::json!({ "lead": "x".repeat(1000), "level": 1 });
        for _ in 0..500 {
            chunks.push(&record);
        }
        let n = chunks.statements();
        assert_eq!(Chunks::default().extra(&vec![1008; 500]), n);
        let arrays = chunks.into_arrays();
        assert_eq!(arrays.len(), n);
        assert!(arrays.len() > 1);
        let mut total = 0;
        for array in &arrays {
            assert!(array.len() <= JSON_BYTES);
            let parsed: Vec<serde_json::Value> = serde_json::from_str(array).unwrap();
            total += parsed.len();
        }
        assert_eq!(total, 500);
    }

    #[test]
    fn shares_fit_the_plans() {
        for limits in [FREE, PAID] {
            assert!(limits.sla_statements() + limits.outbox_messages() < limits.d1_queries);
            assert!(BATCH_STATEMENTS as u32 <= limits.d1_queries);
        }
    }
}
