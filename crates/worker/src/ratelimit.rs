//! Per-client rate limiting of `POST /v1/leads`: a fixed window per client and form, counted in
//! D1 (KV is eventually consistent and allows one write per second per key: no place for counters).
//!
//! The client is the hex SHA-256 of `CF-Connecting-IP` (the address itself is never stored);
//! requests without that header share the client "unknown" (Miniflare sets it to 127.0.0.1, so
//! local runs and tests share that one unless they send their own). The limit is the
//! Worker var `RATE_LIMIT_PER_MINUTE` (default 20) per window of `RATE_LIMIT_WINDOW_SECONDS`
//! (default 60).

use serde::de::IgnoredAny;
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement, Env, Request, Response};

use crate::error::ApiError;
use crate::http::sha256_hex;
use crate::store;

pub const DEFAULT_LIMIT: u32 = 20;
pub const DEFAULT_WINDOW_SECONDS: u32 = 60;

/// A positive integer var, or `default` when it is unset or not one.
/// A positive whole-number Worker var, or `default` when unset or not one.
pub(crate) fn var(env: &Env, name: &str, default: u32) -> u32 {
    env.var(name)
        .ok()
        .and_then(|v| v.to_string().trim().parse::<u32>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// The form a body names, read without decoding the rest; `?` for a body that is not a lead, so
/// malformed floods are counted too.
fn form_of(body: &str) -> String {
    #[derive(Deserialize)]
    struct FormOnly {
        form: String,
        #[serde(flatten)]
        _rest: IgnoredAny,
    }
    serde_json::from_str::<FormOnly>(body)
        .ok()
        .map(|f| f.form)
        .filter(|f| handoff_core::check::valid_id(f))
        .unwrap_or_else(|| "?".to_owned())
}

/// The counter's key: the hex SHA-256 of the client's address ("unknown" without one) and the
/// form the body names.
fn client_key(ip: Option<&str>, body: &str) -> String {
    format!("{}:{}", sha256_hex(ip.unwrap_or("unknown")), form_of(body))
}

/// One submission counted against its client's window: the upsert that counts it (run in the
/// submission's batch of reads, see `store::prefetch`) and what to answer once the count is known.
pub struct Counter {
    pub statement: D1PreparedStatement,
    limit: u32,
    expires_at: f64,
    now: f64,
}

pub fn counter(
    req: &Request,
    env: &Env,
    body: &str,
    db: &D1Database,
    now: f64,
) -> Result<Counter, ApiError> {
    let limit = var(env, "RATE_LIMIT_PER_MINUTE", DEFAULT_LIMIT);
    let window_ms = f64::from(var(
        env,
        "RATE_LIMIT_WINDOW_SECONDS",
        DEFAULT_WINDOW_SECONDS,
    )) * 1000.0;
    let ip = req.headers().get("cf-connecting-ip").ok().flatten();
    let key = client_key(ip.as_deref(), body);
    let window_start = (now / window_ms).floor() * window_ms;
    let expires_at = window_start + window_ms;
    Ok(Counter {
        statement: store::limits::count_statement(db, &key, window_start, expires_at)?,
        limit,
        expires_at,
        now,
    })
}

impl Counter {
    /// `None` within the limit; else the 429 with `Retry-After`.
    pub fn answer(&self, count: u32) -> Result<Option<Response>, ApiError> {
        if count <= self.limit {
            return Ok(None);
        }
        let retry_after = ((self.expires_at - self.now) / 1000.0).ceil().max(1.0) as u32;
        let mut response = ApiError::new(
            429,
            "rate_limited",
            format!("Too many submissions from this client; retry in {retry_after} s."),
        )
        .into_response()
        .map_err(|_| ApiError::new(500, "internal", "The answer could not be encoded."))?;
        let _ = response
            .headers_mut()
            .set("retry-after", &retry_after.to_string());
        Ok(Some(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_keyed_by_a_hash_of_their_address_and_the_form() {
        // sha256("unknown") and sha256("203.0.113.7")
        let unknown = "b23a6a8439c0dde5515893e7c90c1e3233b8616e634470f20dc4928bcf3609bc";
        let ip = sha256_hex("203.0.113.7");
        let cases = [
            (
                None,
                r#"{"form":"demo","answers":{}}"#,
                format!("{unknown}:demo"),
            ),
            (
                Some("203.0.113.7"),
                r#"{"answers":{},"form":"demo"}"#,
                format!("{ip}:demo"),
            ),
            (
                Some("203.0.113.7"),
                r#"{"form":"Not An Id"}"#,
                format!("{ip}:?"),
            ),
            (Some("203.0.113.7"), "not json", format!("{ip}:?")),
            (Some("203.0.113.7"), r#"{"answers":{}}"#, format!("{ip}:?")),
        ];
        for (ip, body, expected) in cases {
            assert_eq!(client_key(ip, body), expected, "{ip:?} {body}");
        }
    }
}
