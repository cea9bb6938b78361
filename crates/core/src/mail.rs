//! Sending email: one email (a subject, a plain-text part and an HTML part), the transactional
//! email APIs it can be sent through, and the request that sends it through the configured
//! provider. One provider is one module (`mail::resend`); the Worker only sends the request this
//! module builds. What an alert's email says is `alert_mail`'s. Pure.

use serde::{Deserialize, Serialize};

mod resend;

/// One email: what every provider needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The transactional email APIs alerts can be sent through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Resend (`POST /emails`).
    Resend,
}

/// An HTTP request to send, built here and sent by the Worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Provider {
    /// The provider's API origin, unless the Worker's `EMAIL_API_URL` names another.
    pub fn default_base(self) -> &'static str {
        match self {
            Provider::Resend => resend::BASE,
        }
    }

    /// The request that sends `mail` from `from` to `to`. `key` is the API key; `idempotency`
    /// a key the provider uses to send a retried request once (the outbox row's id).
    pub fn request(
        self,
        base: &str,
        key: &str,
        from: &str,
        to: &str,
        mail: &Mail,
        idempotency: &str,
    ) -> HttpRequest {
        match self {
            Provider::Resend => resend::request(base, key, from, to, mail, idempotency),
        }
    }
}

/// The address in a sender, `Name <address>` or a bare address; `None` if it is neither.
pub fn sender_address(from: &str) -> Option<&str> {
    let address = match from.trim_end().strip_suffix('>') {
        Some(rest) => rest.rsplit_once('<')?.1,
        None => from,
    };
    let (local, domain) = address.split_once('@')?;
    let plain = |s: &str| !s.is_empty() && !s.contains(['<', '>', '@', ' ', '"', '\r', '\n']);
    (plain(local) && plain(domain) && domain.contains('.')).then_some(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders() {
        let cases = [
            ("alerts@example.com", Some("alerts@example.com")),
            ("Handoff <alerts@example.com>", Some("alerts@example.com")),
            ("Handoff <alerts@example>", None),
            ("Handoff", None),
            ("a b@example.com", None),
            ("", None),
        ];
        for (from, want) in cases {
            assert_eq!(sender_address(from), want, "{from}");
        }
    }
}
