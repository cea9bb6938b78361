//! Per-client limits, counted in D1 (KV is eventually consistent and allows one write per second
//! per key: no place for counters), in fixed windows:
//! - `POST /v1/leads`: `RATE_LIMIT_PER_MINUTE` submissions (default 20) per window of
//!   `RATE_LIMIT_WINDOW_SECONDS` (default 60), counted before the body is read, so that malformed,
//!   invalid and oversized submissions count like any other;
//! - failed sign-ins (a wrong admin, reports or CRM intake token): `AUTH_FAILURES_PER_WINDOW`
//!   (default 10) per window of `AUTH_WINDOW_SECONDS` (default 900), after which every attempt,
//!   the right token's too, answers `429 too_many_attempts` until the window ends.
//!
//! The client is a keyed hash of its network (`handoff_core::client`: the address, or an IPv6
//! address's /64) under the secret `RATE_LIMIT_KEY` and the UTC day; the address itself is never
//! stored, nor anything a table of addresses could reverse. Without the secret, each isolate
//! keys with a random key of its own (limits then count per isolate: `/v1/health` warns).

use std::cell::RefCell;

use worker::{D1PreparedStatement, Env, Request};

use crate::error::ApiError;
use crate::store::{self, Db};

pub const DEFAULT_LIMIT: u32 = 20;
pub const DEFAULT_WINDOW_SECONDS: u32 = 60;
pub const DEFAULT_AUTH_FAILURES: u32 = 10;
pub const DEFAULT_AUTH_WINDOW_SECONDS: u32 = 900;

/// The secret the client keys are derived from.
pub const KEY_SECRET: &str = "RATE_LIMIT_KEY";

/// A positive whole-number Worker var, or `default` when unset or not one.
pub(crate) fn var(env: &Env, name: &str, default: u32) -> u32 {
    env.var(name)
        .ok()
        .and_then(|v| v.to_string().trim().parse::<u32>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

thread_local! {
    /// This isolate's own random key, used only when `RATE_LIMIT_KEY` is not set.
    static ISOLATE_KEY: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

fn secret(env: &Env) -> Vec<u8> {
    if let Ok(key) = crate::fetch::secret(env, KEY_SECRET) {
        return key.into_bytes();
    }
    ISOLATE_KEY.with(|cell| {
        cell.borrow_mut()
            .get_or_insert_with(|| {
                let uuid = crate::uuid::random_uuid;
                format!("{}{}", uuid(), uuid()).into_bytes()
            })
            .clone()
    })
}

/// The request's client: the keyed hash of `CF-Connecting-IP`'s network on the day of `now_ms`
/// (requests without that header share the client "unknown"; Miniflare sets it to 127.0.0.1).
pub fn client(req: &Request, env: &Env, now_ms: f64) -> String {
    let address = req.headers().get("cf-connecting-ip").ok().flatten();
    handoff_core::client::client_key(
        &secret(env),
        handoff_core::client::day_of(now_ms as i64),
        address.as_deref(),
    )
}

/// One client's current window of one limit.
pub struct Window {
    key: String,
    limit: u32,
    start: f64,
    expires_at: f64,
    now: f64,
}

impl Window {
    fn new(scope: &str, client: &str, limit: u32, seconds: u32, now: f64) -> Window {
        let length = f64::from(seconds) * 1000.0;
        let start = (now / length).floor() * length;
        Window {
            key: format!("{scope}:{client}"),
            limit,
            start,
            expires_at: start + length,
            now,
        }
    }

    /// The submissions window of the request's client.
    pub fn leads(req: &Request, env: &Env, now: f64) -> Window {
        let limit = var(env, "RATE_LIMIT_PER_MINUTE", DEFAULT_LIMIT);
        let seconds = var(env, "RATE_LIMIT_WINDOW_SECONDS", DEFAULT_WINDOW_SECONDS);
        Window::new("lead", &client(req, env, now), limit, seconds, now)
    }

    /// The failed sign-ins window of the request's client.
    pub fn sign_ins(req: &Request, env: &Env, now: f64) -> Window {
        let limit = var(env, "AUTH_FAILURES_PER_WINDOW", DEFAULT_AUTH_FAILURES);
        let seconds = var(env, "AUTH_WINDOW_SECONDS", DEFAULT_AUTH_WINDOW_SECONDS);
        Window::new("auth", &client(req, env, now), limit, seconds, now)
    }

    /// The statement that counts one more request in the window, answering the count so far.
    pub fn count_statement(&self, db: &Db) -> Result<D1PreparedStatement, ApiError> {
        store::limits::count_statement(db, &self.key, self.start, self.expires_at)
    }

    /// Counts one more request; the count so far, this one included.
    pub async fn count(&self, db: &Db) -> Result<u32, ApiError> {
        store::limits::count(db, self.count_statement(db)?).await
    }

    /// The window's count so far, counting nothing.
    pub async fn read(&self, db: &Db) -> Result<u32, ApiError> {
        store::limits::read(db, &self.key, self.start).await
    }

    /// Whole seconds until the window ends (at least 1).
    fn retry_after(&self) -> u32 {
        ((self.expires_at - self.now) / 1000.0).ceil().max(1.0) as u32
    }

    /// `429 rate_limited` with `Retry-After` once `count` submissions pass the limit.
    pub fn over_submissions(&self, count: u32) -> Result<(), ApiError> {
        self.refuse_if(count > self.limit, "rate_limited", "Too many submissions")
    }

    /// `429 too_many_attempts` with `Retry-After` once `failures` reach the limit.
    pub fn over_sign_ins(&self, failures: u32) -> Result<(), ApiError> {
        self.refuse_if(
            failures >= self.limit,
            "too_many_attempts",
            "Too many failed sign-ins",
        )
    }

    fn refuse_if(&self, over: bool, code: &'static str, what: &str) -> Result<(), ApiError> {
        if !over {
            return Ok(());
        }
        let seconds = self.retry_after();
        let message = format!("{what} from this client; retry in {seconds} s.");
        Err(ApiError::new(429, code, message).retry_after(seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_fixed_and_keyed_by_scope_and_client() {
        // (scope, limit, seconds, now) → (key, start, expires, retry after)
        let cases = [
            (
                "lead", 20, 60, 125_500.0, "lead:c", 120_000.0, 180_000.0, 55,
            ),
            ("auth", 10, 900, 899_999.0, "auth:c", 0.0, 900_000.0, 1),
            (
                "auth",
                10,
                900,
                900_000.0,
                "auth:c",
                900_000.0,
                1_800_000.0,
                900,
            ),
        ];
        for (scope, limit, seconds, now, key, start, expires, retry) in cases {
            let w = Window::new(scope, "c", limit, seconds, now);
            assert_eq!(
                (w.key.as_str(), w.start, w.expires_at),
                (key, start, expires)
            );
            assert_eq!(w.retry_after(), retry, "{scope} at {now}");
        }
    }

    #[test]
    fn submissions_pass_the_limit_after_it_sign_ins_at_it() {
        let w = Window::new("lead", "c", 3, 60, 0.0);
        assert!(w.over_submissions(3).is_ok());
        let retry = vec![("retry-after", "60".to_owned())];
        let refused = w
            .over_submissions(4)
            .err()
            .map(|e| (e.status, e.code, e.headers));
        assert_eq!(refused, Some((429, "rate_limited", retry.clone())));
        assert!(w.over_sign_ins(2).is_ok());
        let refused = w.over_sign_ins(3).err().map(|e| (e.code, e.headers));
        assert_eq!(refused, Some(("too_many_attempts", retry)));
    }
}
