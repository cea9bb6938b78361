//! Resend: `POST {base}/emails` with a bearer API key, a JSON body
//! (`from`, `to`, `subject`, `html`, `text`) and an `Idempotency-Key` header, so a retried
//! request sends one email.

use serde_json::json;

use super::{HttpRequest, Mail};

/// Resend's API origin.
pub(super) const BASE: &str = "https://api.resend.com";

pub(super) fn request(
    base: &str,
    key: &str,
    from: &str,
    to: &str,
    mail: &Mail,
    idempotency: &str,
) -> HttpRequest {
    let body = json!({
        "from": from, "to": [to], "subject": mail.subject, "html": mail.html, "text": mail.text,
    });
    HttpRequest {
        url: format!("{}/emails", base.trim_end_matches('/')),
        headers: vec![
            ("authorization", format!("Bearer {key}")),
            ("content-type", "application/json".to_owned()),
            ("idempotency-key", idempotency.to_owned()),
        ],
        body: body.to_string(),
    }
}
