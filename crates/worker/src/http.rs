//! The wire: request bodies read with a byte cap, JSON and page answers, query strings, and the
//! headers (CORS among them) every API answer carries. Handlers use these and
//! never read a header or build an answer by hand; nothing here knows a route or a rule.

use handoff_core::notify::escape_html;
use handoff_core::Bundle;
use serde::Serialize;
use worker::{Env, Request, Response};

use crate::error::ApiError;
use crate::store::{BundleOnce, Db};

/// A request body's size limit and how its `413 body_too_large` names the body.
#[derive(Debug, Clone, Copy)]
pub struct Cap {
    /// The most bytes accepted.
    pub bytes: usize,
    /// The body as the message names it: "A lead body", "A configuration", …
    pub what: &'static str,
    /// Whether the message states the limit in KB (else in bytes).
    pub in_kb: bool,
}

impl Cap {
    const fn kb(kb: usize, what: &'static str) -> Cap {
        Cap {
            bytes: kb * 1024,
            what,
            in_kb: true,
        }
    }

    const fn bytes(bytes: usize, what: &'static str) -> Cap {
        Cap {
            bytes,
            what,
            in_kb: false,
        }
    }

    fn too_large(&self) -> ApiError {
        let message = if self.in_kb {
            format!("{} may be at most {} KB.", self.what, self.bytes / 1024)
        } else {
            format!("{} may be at most {} bytes.", self.what, self.bytes)
        };
        ApiError::new(413, "body_too_large", message)
    }
}

/// Every body the Worker reads, with its limit: the one table of request sizes (README, "Limits").
/// A body is read through its cap as it streams in, so a larger one, declared or not (chunked), is
/// refused once the cap is passed, never held whole.
pub mod caps {
    use super::Cap;

    /// `POST /v1/leads`: a lead's answers and attribution.
    pub const LEAD: Cap = Cap::bytes(16 * 1024, "A lead body");
    /// A small form posted by a page (a signed link's confirmation, a rejection's reason) or by
    /// Slack (an interaction).
    pub const FORM: Cap = Cap::kb(64, "A form");
    /// `POST /v1/crm/{id}`: a CRM's webhook or a Flow's callout, up to the presets' batch sizes.
    pub const CRM: Cap = Cap::kb(256, "A CRM body");
    /// `POST /v1/leads/{id}/events`: sales activity on one lead.
    pub const EVENTS: Cap = Cap::bytes(16 * 1024, "An event body");
    /// `PUT /v1/config`: a configuration (TOML or JSON).
    pub const CONFIG: Cap = Cap::bytes(256 * 1024, "A configuration");
    /// `POST /v1/config/preview` and `/v1/config/route`: a configuration and a lead.
    pub const WHATIF: Cap = Cap::kb(256 + 64, "A lead with a configuration");
    /// A small JSON command: a reassignment, a take, a rollback's version.
    pub const COMMAND: Cap = Cap::kb(4, "A request body");
}

/// The request's body as text, read through `cap`: `413 body_too_large` as soon as its declared
/// or streamed length passes the cap (the rest is never read), `400 bad_body` when it cannot be
/// read or is not UTF-8. A request without a body is the empty text.
pub async fn read_body(req: &mut Request, cap: Cap) -> Result<String, ApiError> {
    use futures_util::StreamExt;
    let declared = req.headers().get("content-length").ok().flatten();
    if declared
        .and_then(|v| v.trim().parse::<usize>().ok())
        .is_some_and(|n| n > cap.bytes)
    {
        return Err(cap.too_large());
    }
    let unreadable = || ApiError::new(400, "bad_body", "The request body could not be read.");
    if req.inner().body().is_none() {
        return Ok(String::new());
    }
    let mut stream = req.stream().map_err(|_| unreadable())?;
    let mut bytes: Vec<u8> = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| unreadable())?;
        if bytes.len() + chunk.len() > cap.bytes {
            return Err(cap.too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| ApiError::new(400, "bad_body", "The request body is not UTF-8 text."))
}

/// The request's `Content-Type`, lowercased (empty without one).
pub fn content_type(req: &Request) -> String {
    req.headers()
        .get("content-type")
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// A header's value, if the request has it.
pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// A JSON answer with `status`.
pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Response, ApiError> {
    Response::from_json(value)
        .map(|r| r.with_status(status))
        .map_err(|_| ApiError::new(500, "internal", "The answer could not be encoded."))
}

/// A JSON answer whose text is already encoded (a stored first answer, replayed byte for byte).
pub fn json_text(status: u16, body: String) -> Result<Response, ApiError> {
    let mut response = Response::ok(body)
        .map(|r| r.with_status(status))
        .map_err(|_| ApiError::new(500, "internal", "The answer could not be encoded."))?;
    // A constant header, so setting it cannot fail.
    let _ = response
        .headers_mut()
        .set("content-type", "application/json");
    Ok(response)
}

/// An empty answer with `status` (204, 304); `message` says what failed if it cannot be made.
pub fn empty(status: u16, message: &str) -> Result<Response, ApiError> {
    Response::empty()
        .map(|r| r.with_status(status))
        .map_err(|_| ApiError::new(500, "internal", message.to_owned()))
}

/// A small text-only page; everything in it is escaped, and it may run no script or style.
pub fn page(status: u16, code: &str, title: &str, text: &str) -> Result<Response, ApiError> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title>\
         <h1>{title}</h1><p>{text}</p><p><small>Code: {code}</small></p></html>",
        title = escape_html(title),
        text = escape_html(text),
        code = escape_html(code),
    );
    let mut response = Response::from_html(html)
        .map_err(|_| ApiError::new(500, "internal", "The answer could not be encoded."))?
        .with_status(status);
    let headers = response.headers_mut();
    let _ = headers.set("content-security-policy", "default-src 'none'");
    let _ = headers.set("x-handoff-code", code);
    Ok(response)
}

/// The query string's pairs, decoded, in order.
pub fn query(req: &Request) -> Result<Vec<(String, String)>, ApiError> {
    let url = req
        .url()
        .map_err(|_| ApiError::new(400, "bad_request", "The URL could not be read."))?;
    Ok(url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}

/// The pairs of an `application/x-www-form-urlencoded` body, decoded, in order.
pub fn form_pairs(body: &str) -> Vec<(String, String)> {
    worker::Url::parse(&format!("http://form/?{body}"))
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// `pairs` as an `application/x-www-form-urlencoded` body.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    worker::Url::parse("http://form/")
        .map(|mut url| {
            url.query_pairs_mut().extend_pairs(pairs);
            url.query().unwrap_or_default().to_owned()
        })
        .unwrap_or_default()
}

/// The first value of `name` among the query's pairs.
pub fn param<'q>(pairs: &'q [(String, String)], name: &str) -> Option<&'q str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `400 bad_query` with `message`.
pub fn bad_query(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "bad_query", message)
}

/// A whole number from 1 to `max`, `default` when absent; else `400 bad_query` with `message`.
pub fn parse_number(
    value: Option<&str>,
    default: u32,
    max: u32,
    message: impl FnOnce() -> String,
) -> Result<u32, ApiError> {
    match value {
        None => Ok(default),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| bad_query(message())),
    }
}

/// The most items one admin page holds, and the default page size.
pub const MAX_LIMIT: u32 = 100;
pub const DEFAULT_LIMIT: u32 = 50;

/// An admin list's `limit`: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
pub fn parse_limit(value: Option<&str>) -> Result<u32, ApiError> {
    parse_number(value, DEFAULT_LIMIT, MAX_LIMIT, || {
        "limit is a whole number from 1 to 100.".to_owned()
    })
}

/// The lowercase hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    handoff_core::encode::hex(&Sha256::digest(text.as_bytes()))
}

/// Headers every API answer carries; `cors` is the origin to allow, when the request came from
/// an allowed page of another origin (see [`cors_origin`]).
pub fn with_api_headers(mut response: Response, cors: Option<&str>) -> Response {
    let headers = response.headers_mut();
    // Header names and these values are valid, so setting them cannot fail. An answer that may be
    // cached says so itself (the form's spec); every other one is never stored.
    if !headers.has("cache-control").unwrap_or(false) {
        let _ = headers.set("cache-control", "no-store");
    }
    let _ = headers.set("x-content-type-options", "nosniff");
    // The answer depends on Origin whether or not it is allowed: caches must keep them apart.
    let _ = headers.set("vary", "Origin");
    if let Some(origin) = cors {
        let _ = headers.set("access-control-allow-origin", origin);
        let _ = headers.set("access-control-allow-methods", "GET, POST");
        let _ = headers.set(
            "access-control-allow-headers",
            "content-type, idempotency-key",
        );
        let _ = headers.set("access-control-max-age", "86400");
    }
    response
}

/// In test mode only (a test build run with `TEST_CLOCK`), the answer says what it cost in D1: round trips, statements
/// (in all and in the largest batch), and rows read and written (D1's result metadata), for tests
/// and benchmarks to read.
#[cfg(feature = "test-hooks")]
pub fn with_d1_cost(mut response: Response, db: &Db, env: &Env) -> Response {
    if crate::clock::test_mode(env) {
        let (read, written) = db.rows_cost();
        let headers = response.headers_mut();
        let _ = headers.set("x-handoff-d1-round-trips", &db.trips().to_string());
        let _ = headers.set("x-handoff-d1-statements", &db.statements().to_string());
        let _ = headers.set(
            "x-handoff-d1-largest-batch",
            &db.largest_batch().to_string(),
        );
        let _ = headers.set("x-handoff-d1-rows-read", &read.to_string());
        let _ = headers.set("x-handoff-d1-rows-written", &written.to_string());
    }
    response
}

/// The release build says nothing about its cost.
#[cfg(not(feature = "test-hooks"))]
pub fn with_d1_cost(response: Response, _db: &Db, _env: &Env) -> Response {
    response
}

/// The `Origin` of a request from a page of another origin than the Worker's own; `None` for a
/// same-origin request or one without `Origin` (not from a browser page).
pub fn cross_origin(req: &Request) -> Option<String> {
    let origin = header(req, "origin")?;
    let own = req.url().ok().map(|u| u.origin().ascii_serialization());
    (own.as_deref() != Some(origin.as_str())).then_some(origin)
}

/// The origin to allow in the answer's CORS headers: a cross-origin request to a browser endpoint
/// (`public`: the route table says so, `router::browser_request`) from an origin some form of the
/// active bundle allows. The admin API never answers other origins.
pub async fn cors_origin(
    req: &Request,
    env: &Env,
    bundle: &BundleOnce,
    public: bool,
) -> Option<String> {
    let origin = cross_origin(req)?;
    if !public {
        return None;
    }
    let bundle = bundle.get(env).await.ok()?;
    bundle.allows_origin(None, &origin).then_some(origin)
}

/// Refuses a page of another origin that `form` does not list in `allowed_origins`.
pub fn check_origin(req: &Request, bundle: &Bundle, form: &str) -> Result<(), ApiError> {
    match cross_origin(req) {
        Some(origin) if !bundle.allows_origin(Some(form), &origin) => Err(ApiError::new(
            403,
            "origin_not_allowed",
            "This form may not be used from this website; add its origin to the form's allowed_origins.",
        )),
        _ => Ok(()),
    }
}

/// A visitor token: 16 to 64 letters, digits, `-` or `_` (the form sends a UUID); else
/// `400 bad_visitor`.
pub fn check_visitor(token: &str) -> Result<(), ApiError> {
    if handoff_core::lead::valid_visitor(token) {
        Ok(())
    } else {
        Err(ApiError::new(
            400,
            "bad_visitor",
            "A visitor token is 16 to 64 letters, digits, - or _.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_name_their_limit() {
        let cases = [
            (caps::LEAD, "A lead body may be at most 16384 bytes."),
            (caps::CRM, "A CRM body may be at most 256 KB."),
            (
                caps::WHATIF,
                "A lead with a configuration may be at most 320 KB.",
            ),
            (caps::COMMAND, "A request body may be at most 4 KB."),
        ];
        for (cap, message) in cases {
            assert_eq!(cap.too_large().message, message);
            assert_eq!(cap.too_large().status, 413);
        }
    }

    #[test]
    fn hex_digests() {
        assert_eq!(
            sha256_hex("unknown"),
            "b23a6a8439c0dde5515893e7c90c1e3233b8616e634470f20dc4928bcf3609bc"
        );
    }
}
