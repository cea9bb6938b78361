//! The Slack app's side of a click: the request signature Slack puts on every interaction
//! (`v0`, HMAC-SHA256 of `v0:{timestamp}:{body}` with the app's signing secret, refused when the
//! timestamp is more than five minutes from now), the interaction read from its JSON payload
//! (who clicked which button on which lead), and the message as it reads after the click. Pure:
//! the Worker reads the request, the clock and the secrets, and calls Slack's Web API.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::encode::rfc3339;
pub use crate::notify::{block_id, ACCEPT, REJECT, TAKE};
use crate::notify::{escape_mrkdwn, BLOCK_PREFIX};

/// How far a request's timestamp may be from now: five minutes, as Slack recommends.
pub const MAX_SKEW_MS: i64 = 5 * 60_000;

/// Why an interaction is refused. Each has a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlackError {
    /// No `X-Slack-Signature` or `X-Slack-Request-Timestamp` (`slack.unsigned`).
    Unsigned,
    /// The signature does not match the body (`slack.bad_signature`).
    BadSignature,
    /// The timestamp is more than five minutes from now (`slack.stale`).
    Stale,
    /// The body is not a block action on one of our buttons (`slack.bad_payload`).
    BadPayload,
}

impl SlackError {
    pub fn code(self) -> &'static str {
        match self {
            SlackError::Unsigned => "slack.unsigned",
            SlackError::BadSignature => "slack.bad_signature",
            SlackError::Stale => "slack.stale",
            SlackError::BadPayload => "slack.bad_payload",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            SlackError::Unsigned => "The request carries no Slack signature.",
            SlackError::BadSignature => "The Slack signature does not match the request.",
            SlackError::Stale => "The request's timestamp is more than five minutes old.",
            SlackError::BadPayload => "The request is not a click on one of Handoff's buttons.",
        }
    }
}

/// The signature of a request: `v0=` and the hex HMAC-SHA256 of `v0:{timestamp}:{body}`.
pub fn signature(secret: &[u8], timestamp: &str, body: &str) -> String {
    let mut out = String::from("v0=");
    out.push_str(&crate::encode::hex(
        &mac(secret, timestamp, body).finalize().into_bytes(),
    ));
    out
}

fn mac(secret: &[u8], timestamp: &str, body: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default()));
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body.as_bytes());
    mac
}

/// Checks a request's `X-Slack-Signature` against its raw body (in constant time), then its
/// `X-Slack-Request-Timestamp` (seconds) against `now_ms`. A missing header is `Unsigned`.
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &str,
    now_ms: i64,
) -> Result<(), SlackError> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(SlackError::Unsigned);
    };
    let given = signature
        .strip_prefix("v0=")
        .and_then(crate::encode::unhex)
        .ok_or(SlackError::BadSignature)?;
    mac(secret, timestamp, body)
        .verify_slice(&given)
        .map_err(|_| SlackError::BadSignature)?;
    let seconds: i64 = timestamp.parse().map_err(|_| SlackError::BadSignature)?;
    if (now_ms - seconds.saturating_mul(1000)).abs() > MAX_SKEW_MS {
        return Err(SlackError::Stale);
    }
    Ok(())
}

/// What a click asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Accept,
    /// "Not a fit", with the reason chosen.
    Reject(String),
    Take,
}

/// One click on one of our buttons, as Slack's `block_actions` payload says it.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    /// The Slack user who clicked.
    pub user: String,
    pub lead_id: String,
    pub action: Action,
    /// Where the message is (`container.channel_id`), to update it and to answer the user.
    pub channel: String,
    /// The message's `ts`.
    pub ts: String,
    /// The message's blocks as the user saw them.
    pub blocks: Vec<Value>,
}

impl Interaction {
    /// Reads the `payload` form field of an interaction request (JSON).
    pub fn parse(payload: &str) -> Result<Interaction, SlackError> {
        let v: Value = serde_json::from_str(payload).map_err(|_| SlackError::BadPayload)?;
        let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        if v["type"] != "block_actions" {
            return Err(SlackError::BadPayload);
        }
        let act = &v["actions"][0];
        let lead_id = act["block_id"]
            .as_str()
            .and_then(|b| b.strip_prefix(BLOCK_PREFIX))
            .filter(|id| !id.is_empty())
            .ok_or(SlackError::BadPayload)?
            .to_owned();
        let action = match act["action_id"].as_str() {
            Some(ACCEPT) => Action::Accept,
            Some(TAKE) => Action::Take,
            Some(REJECT) => Action::Reject(
                text(&act["selected_option"]["value"]).ok_or(SlackError::BadPayload)?,
            ),
            _ => return Err(SlackError::BadPayload),
        };
        let bad = || SlackError::BadPayload;
        Ok(Interaction {
            user: text(&v["user"]["id"]).ok_or_else(bad)?,
            lead_id,
            action,
            channel: text(&v["container"]["channel_id"])
                .or_else(|| text(&v["channel"]["id"]))
                .ok_or_else(bad)?,
            ts: text(&v["container"]["message_ts"])
                .or_else(|| text(&v["message"]["ts"]))
                .ok_or_else(bad)?,
            blocks: v["message"]["blocks"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        })
    }
}

/// The message after a click: as it was, without its buttons, with one line saying what
/// happened, by whom and when (Slack shows the time in each reader's time zone). `done` is
/// plain text (escaped here), such as "Accepted by Dana Kim".
pub fn acted(blocks: &[Value], done: &str, at_ms: i64) -> Value {
    let mut out: Vec<Value> = blocks
        .iter()
        .filter(|b| {
            !(b["type"] == "actions"
                && b["block_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with(BLOCK_PREFIX)))
        })
        .cloned()
        .collect();
    let when = format!(
        "<!date^{}^{{date_short_pretty}} {{time}}|{}>",
        at_ms.div_euclid(1000),
        rfc3339(at_ms)
    );
    let line = format!(":white_check_mark: {} · {when}", escape_mrkdwn(done));
    out.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": line}]}));
    Value::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const NOW: i64 = 1_531_420_618_000;

    #[test]
    fn slacks_documented_example_verifies() {
        // The example of Slack's "Verifying requests from Slack" guide.
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let sig = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert_eq!(signature(SECRET, "1531420618", body), sig);
        assert_eq!(
            verify(SECRET, Some("1531420618"), Some(sig), body, NOW),
            Ok(())
        );
    }

    #[test]
    fn refusals() {
        let body = "payload=%7B%7D";
        let good = signature(SECRET, "1531420618", body);
        // (name, timestamp, signature, body, now, refusal)
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            &'a str,
            i64,
            SlackError,
        );
        let cases: &[Case<'_>] = &[
            (
                "no signature",
                Some("1531420618"),
                None,
                body,
                NOW,
                SlackError::Unsigned,
            ),
            (
                "no timestamp",
                None,
                Some(&good),
                body,
                NOW,
                SlackError::Unsigned,
            ),
            (
                "body changed",
                Some("1531420618"),
                Some(&good),
                "payload=%7B%7D ",
                NOW,
                SlackError::BadSignature,
            ),
            (
                "timestamp changed",
                Some("1531420619"),
                Some(&good),
                body,
                NOW,
                SlackError::BadSignature,
            ),
            (
                "not hex",
                Some("1531420618"),
                Some("v0=zz"),
                body,
                NOW,
                SlackError::BadSignature,
            ),
            (
                "other version",
                Some("1531420618"),
                Some(&good.replace("v0=", "v1=")),
                body,
                NOW,
                SlackError::BadSignature,
            ),
            (
                "six minutes old",
                Some("1531420618"),
                Some(&good),
                body,
                NOW + 360_000,
                SlackError::Stale,
            ),
            (
                "six minutes ahead",
                Some("1531420618"),
                Some(&good),
                body,
                NOW - 360_000,
                SlackError::Stale,
            ),
        ];
        for (name, ts, sig, body, now, want) in cases {
            assert_eq!(verify(SECRET, *ts, *sig, body, *now), Err(*want), "{name}");
        }
        let other = signature(b"another secret", "1531420618", body);
        assert_eq!(
            verify(SECRET, Some("1531420618"), Some(&other), body, NOW),
            Err(SlackError::BadSignature)
        );
        // Four minutes either way is fine.
        assert_eq!(
            verify(SECRET, Some("1531420618"), Some(&good), body, NOW + 240_000),
            Ok(())
        );
    }

    fn payload(action: Value) -> String {
        json!({
            "type": "block_actions", "user": {"id": "U0DANA"},
            "container": {"type": "message", "channel_id": "D0DANA", "message_ts": "1700000000.000100"},
            "message": {"ts": "1700000000.000100", "blocks": [{"type": "header"}, {"type": "actions", "block_id": "handoff:L1"}]},
            "actions": [action],
        })
        .to_string()
    }

    #[test]
    fn interactions_read() {
        let cases = [
            (
                json!({"action_id": "accept", "block_id": "handoff:L1", "value": "L1"}),
                Ok(Action::Accept),
            ),
            (
                json!({"action_id": "take", "block_id": "handoff:L1", "value": "L1"}),
                Ok(Action::Take),
            ),
            (
                json!({"action_id": "reject", "block_id": "handoff:L1", "selected_option": {"value": "student"}}),
                Ok(Action::Reject("student".into())),
            ),
            (
                json!({"action_id": "reject", "block_id": "handoff:L1"}),
                Err(SlackError::BadPayload),
            ),
            (
                json!({"action_id": "open", "block_id": "handoff:L1"}),
                Err(SlackError::BadPayload),
            ),
            (
                json!({"action_id": "accept", "block_id": "other:L1"}),
                Err(SlackError::BadPayload),
            ),
            (
                json!({"action_id": "accept", "block_id": "handoff:"}),
                Err(SlackError::BadPayload),
            ),
        ];
        for (action, want) in cases {
            let got = Interaction::parse(&payload(action.clone())).map(|i| {
                assert_eq!(
                    (i.user.as_str(), i.lead_id.as_str(), i.channel.as_str()),
                    ("U0DANA", "L1", "D0DANA")
                );
                i.action
            });
            assert_eq!(got, want, "{action}");
        }
        assert_eq!(Interaction::parse("not json"), Err(SlackError::BadPayload));
        assert_eq!(
            Interaction::parse(&json!({"type": "view_submission"}).to_string()),
            Err(SlackError::BadPayload)
        );
    }

    #[test]
    fn acted_drops_our_buttons_and_says_who() {
        let blocks = vec![
            json!({"type": "header"}),
            json!({"type": "actions", "block_id": "handoff:L1"}),
            json!({"type": "actions", "block_id": "theirs"}),
        ];
        let out = acted(&blocks, "Accepted by <Dana>", 1_700_000_000_000);
        let out = out.as_array().unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out[1]["block_id"], "theirs");
        let line = out[2]["elements"][0]["text"].as_str().unwrap();
        assert!(line.contains("Accepted by &lt;Dana&gt;"), "{line}");
        assert!(line.contains("<!date^1700000000^"), "{line}");
    }
}
