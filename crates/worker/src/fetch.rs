//! Outgoing HTTP: one request to a receiver or a vendor's API, bounded in time, and why it failed
//! as our code (never a URL or a secret); the secrets that requests carry.

use wasm_bindgen::JsValue;
use worker::{AbortSignal, Env, Fetch, Headers, Method, Request, RequestInit};

/// How long one receiver may take before the attempt counts as failed (`timeout`).
const SEND_TIMEOUT_MS: u32 = 10_000;

/// Why an attempt failed: our code, the receiver's HTTP status if it answered, and the error a
/// vendor's API named (Slack's `channel_not_found`). Never a URL or a secret: this goes to D1 and
/// to the logs.
#[derive(Debug)]
pub struct Failure {
    pub code: &'static str,
    pub status: Option<u16>,
    pub error: Option<String>,
}

impl Failure {
    pub fn code(code: &'static str) -> Failure {
        Failure {
            code,
            status: None,
            error: None,
        }
    }

    /// As `outbox.last_error` stores it: the code, the HTTP status, the vendor's error.
    pub fn text(&self) -> String {
        let mut text = self.code.to_owned();
        if let Some(status) = self.status {
            text.push_str(&format!(" {status}"));
        }
        if let Some(error) = &self.error {
            text.push_str(&format!(" {error}"));
        }
        text
    }
}

/// The value of the wrangler secret `name`, or `secret_missing`.
pub fn secret(env: &Env, name: &str) -> Result<String, Failure> {
    env.secret(name)
        .map(|s| s.to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or(Failure::code("secret_missing"))
}

/// POSTs `body` with `headers`, within [`SEND_TIMEOUT_MS`]: the response if it is a 2xx.
pub async fn post(
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<worker::Response, Failure> {
    call(Method::Post, url, headers, Some(body)).await
}

/// One HTTP request with `headers` (and `body`), within [`SEND_TIMEOUT_MS`]: the response if it
/// is a 2xx.
pub async fn call(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<worker::Response, Failure> {
    call_within(SEND_TIMEOUT_MS, method, url, headers, body).await
}

/// [`call`] within `timeout_ms` instead: for a request a visitor waits on (a DNS lookup during a
/// submission), where ten seconds would be too long.
pub async fn call_within(
    timeout_ms: u32,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<worker::Response, Failure> {
    let response = send(timeout_ms, method, url, headers, body).await?;
    let status = response.status_code();
    if (200..300).contains(&status) {
        Ok(response)
    } else {
        Err(Failure {
            code: "http_status",
            status: Some(status),
            error: None,
        })
    }
}

/// One request's answer whatever its status: for an API whose error answers say what to do
/// (a 429's `Retry-After`, Salesforce's 300 and error codes).
pub struct Answer {
    pub status: u16,
    /// The `Retry-After` header, as sent.
    pub retry_after: Option<String>,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: serde_json::Value,
}

/// [`call`], answering every status: a failure only when no answer came (timeout, network).
pub async fn exchange(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Answer, Failure> {
    let mut response = send(SEND_TIMEOUT_MS, method, url, headers, body).await?;
    let retry_after = response.headers().get("retry-after").ok().flatten();
    let text = response.text().await.unwrap_or_default();
    Ok(Answer {
        status: response.status_code(),
        retry_after,
        body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    })
}

async fn send(
    timeout_ms: u32,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<worker::Response, Failure> {
    let h = Headers::new();
    for (name, value) in headers {
        h.set(name, value)
            .map_err(|_| Failure::code("header_invalid"))?;
    }
    let mut init = RequestInit::new();
    init.with_method(method)
        .with_headers(h)
        .with_body(body.map(JsValue::from_str));
    let request = Request::new_with_init(url, &init).map_err(|_| Failure::code("url_invalid"))?;
    let signal = AbortSignal::from(web_sys::AbortSignal::timeout_with_u32(timeout_ms));
    Fetch::Request(request)
        .send_with_signal(&signal)
        .await
        .map_err(|_| {
            Failure::code(if signal.aborted() {
                "timeout"
            } else {
                "network"
            })
        })
}
