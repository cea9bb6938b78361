//! What `GET /v1/health` warns an operator of: the state the Worker found, judged. Pure: the
//! Worker gathers the facts (its secrets, vars, last cron tick, dead letters) and passes the time.

use serde::Serialize;

/// The default `PUBLIC_URL` of `wrangler.toml`: every link built from it is dead once deployed.
pub const DEFAULT_PUBLIC_URL: &str = "http://localhost:8787";

/// How long the cron may be silent before health warns: it runs every minute.
pub const CRON_SILENT_MS: i64 = 5 * 60 * 1000;

/// What the Worker found.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    /// Secrets that are not set, each with what needs it.
    pub missing_secrets: Vec<(&'a str, &'a str)>,
    /// Secrets that are set but cannot be used: name and problem code
    /// (`token_too_short`, `token_digest_invalid`).
    pub unusable_secrets: Vec<(&'a str, &'static str)>,
    /// The `PUBLIC_URL` var, if set.
    pub public_url: Option<&'a str>,
    /// When the cron last ran (ms since the epoch), if ever.
    pub last_tick_ms: Option<i64>,
    pub now_ms: i64,
    /// Notifications and CRM records that gave up, waiting for someone to retry them.
    pub dead_letters: u32,
}

/// One warning: a stable code and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub code: &'static str,
    pub message: String,
}

fn warning(code: &'static str, message: String) -> Warning {
    Warning { code, message }
}

/// The warnings `facts` call for, in a fixed order.
pub fn warnings(facts: &Facts<'_>) -> Vec<Warning> {
    let mut out = Vec::new();
    for (name, needed_by) in &facts.missing_secrets {
        out.push(warning(
            "secret_missing",
            format!("The secret {name} is not set ({needed_by}): `wrangler secret put {name}`."),
        ));
    }
    for (name, code) in &facts.unusable_secrets {
        let why = match *code {
            "token_too_short" => format!(
                "is shorter than {} characters, so its role refuses every request",
                crate::client::MIN_TOKEN_LEN
            ),
            _ => "is not 64 hex digits, so its role refuses every request".to_owned(),
        };
        out.push(warning(code, format!("The secret {name} {why}.")));
    }
    match facts.public_url.map(str::trim) {
        None | Some("") => out.push(warning(
            "public_url_default",
            format!("PUBLIC_URL is not set: links in notifications point at {DEFAULT_PUBLIC_URL}."),
        )),
        Some(url) if url.trim_end_matches('/') == DEFAULT_PUBLIC_URL => out.push(warning(
            "public_url_default",
            format!("PUBLIC_URL is still {DEFAULT_PUBLIC_URL}: set it to the deployed origin, or every link in a notification is dead."),
        )),
        Some(_) => {}
    }
    match facts.last_tick_ms {
        None => out.push(warning(
            "cron_stalled",
            "The cron has never run: SLA escalation and notifications wait for it.".to_owned(),
        )),
        Some(at) if facts.now_ms - at > CRON_SILENT_MS => out.push(warning(
            "cron_stalled",
            format!(
                "The cron last ran {} minutes ago: SLA escalation and notifications wait for it.",
                (facts.now_ms - at) / 60_000
            ),
        )),
        Some(_) => {}
    }
    if facts.dead_letters > 0 {
        out.push(warning(
            "dead_letters_waiting",
            format!(
                "{} notification(s) or CRM record(s) gave up: see GET /v1/dead-letters.",
                facts.dead_letters
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fact_warns_with_its_code() {
        let now = 1_800_000_000_000;
        let fine = Facts {
            public_url: Some("https://handoff.example.com"),
            last_tick_ms: Some(now - 60_000),
            now_ms: now,
            ..Facts::default()
        };
        let codes = |f: &Facts<'_>| warnings(f).into_iter().map(|w| w.code).collect::<Vec<_>>();
        let cases: Vec<(Facts<'_>, Vec<&str>)> = vec![
            (fine.clone(), vec![]),
            (
                Facts {
                    missing_secrets: vec![("LINK_SECRET", "signed links")],
                    ..fine.clone()
                },
                vec!["secret_missing"],
            ),
            (
                Facts {
                    unusable_secrets: vec![("ADMIN_TOKEN", "token_too_short")],
                    ..fine.clone()
                },
                vec!["token_too_short"],
            ),
            (
                Facts {
                    public_url: None,
                    ..fine.clone()
                },
                vec!["public_url_default"],
            ),
            (
                Facts {
                    public_url: Some("http://localhost:8787/"),
                    ..fine.clone()
                },
                vec!["public_url_default"],
            ),
            (
                Facts {
                    last_tick_ms: None,
                    ..fine.clone()
                },
                vec!["cron_stalled"],
            ),
            (
                Facts {
                    last_tick_ms: Some(now - CRON_SILENT_MS),
                    ..fine.clone()
                },
                vec![],
            ),
            (
                Facts {
                    last_tick_ms: Some(now - CRON_SILENT_MS - 1),
                    ..fine.clone()
                },
                vec!["cron_stalled"],
            ),
            (
                Facts {
                    dead_letters: 2,
                    ..fine.clone()
                },
                vec!["dead_letters_waiting"],
            ),
        ];
        for (facts, expected) in cases {
            assert_eq!(codes(&facts), expected, "{facts:?}");
        }
        let missing = Facts {
            missing_secrets: vec![("LINK_SECRET", "signed links")],
            ..fine
        };
        assert_eq!(
            warnings(&missing)[0].message,
            "The secret LINK_SECRET is not set (signed links): `wrangler secret put LINK_SECRET`."
        );
    }
}
