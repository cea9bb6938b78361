//! Whether an email domain has a mail server, from the answers of DNS over HTTPS's JSON API
//! (`application/dns-json`, as public resolvers serve it: `{"Status": 0, "Answer": [{"name",
//! "type", "TTL", "data"}]}`), and how long to trust what was found. The Worker asks and caches
//! (`[email] check_mail_server`); this module only says what each answer means. Pure.
//!
//! A domain receives mail when DNS names a mail exchanger for it (an MX record), or, with no MX
//! record at all, when it has an address to deliver to (an A or AAAA record: RFC 5321's implicit
//! MX, section 5.1). It has none when the name does not exist (`NXDOMAIN`), when its only MX
//! record is a null MX (`0 .`, RFC 7505: "this domain takes no mail"), or when it has neither MX
//! nor address records. Anything else (a resolver's failure, an answer that is not the JSON API's)
//! is [`Verdict::Unknown`]: the Worker then takes the lead (the check fails open).

use serde::{Deserialize, Serialize};

/// The record types asked, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question {
    Mx,
    A,
    Aaaa,
}

impl Question {
    /// The first question about a domain.
    pub const FIRST: Question = Question::Mx;

    /// The `type` parameter of the query, as the JSON API takes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Question::Mx => "MX",
            Question::A => "A",
            Question::Aaaa => "AAAA",
        }
    }

    /// The record type's number, as answers carry it (RFC 1035, RFC 3596).
    const fn number(self) -> u16 {
        match self {
            Question::Mx => 15,
            Question::A => 1,
            Question::Aaaa => 28,
        }
    }
}

/// What is known about a domain after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It has a mail server (an MX record, or an address with no MX record).
    Receives,
    /// It has none: the lead is refused with `email.no_mail_server`.
    NoMailServer,
    /// The resolver did not say (our code for the log: `doh_status`, `doh_answer_invalid`): the
    /// lead goes through, and nothing is cached.
    Unknown(&'static str),
}

/// After an answer: the next question, or the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Ask(Question),
    Done(Verdict),
}

/// How long a domain found to have a mail server is trusted without asking again: a day (a
/// domain that receives mail rarely stops).
pub const RECEIVES_TTL_SECONDS: u64 = 24 * 3600;
/// How long a domain found to have none is: an hour (a new domain may get its MX record soon, and
/// a visitor who fixes their DNS should not wait long).
pub const NO_MAIL_SERVER_TTL_SECONDS: u64 = 3600;

/// DNS response codes (RFC 1035 section 4.1.1).
const NOERROR: u32 = 0;
const NXDOMAIN: u32 = 3;

#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "Status")]
    status: u32,
    #[serde(rename = "Answer", default)]
    records: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "type")]
    kind: u16,
    #[serde(default)]
    data: String,
}

/// What the resolver's answer `json` to `asked` means.
pub fn next(asked: Question, json: &str) -> Step {
    let Ok(answer) = serde_json::from_str::<Answer>(json) else {
        return Step::Done(Verdict::Unknown("doh_answer_invalid"));
    };
    match answer.status {
        NXDOMAIN => return Step::Done(Verdict::NoMailServer),
        NOERROR => {}
        _ => return Step::Done(Verdict::Unknown("doh_status")),
    }
    // Answers may carry other records too (the CNAMEs followed on the way).
    let mut records = answer
        .records
        .iter()
        .filter(|r| r.kind == asked.number())
        .peekable();
    match asked {
        Question::Mx if records.peek().is_none() => Step::Ask(Question::A),
        // A null MX is the domain saying it takes no mail; a real exchanger among MX records wins.
        Question::Mx if records.all(|r| is_null_mx(&r.data)) => Step::Done(Verdict::NoMailServer),
        Question::Mx => Step::Done(Verdict::Receives),
        _ if records.peek().is_some() => Step::Done(Verdict::Receives),
        Question::A => Step::Ask(Question::Aaaa),
        Question::Aaaa => Step::Done(Verdict::NoMailServer),
    }
}

/// An MX record's data is its preference and its exchange (`10 mx.example.com.`); a null MX's
/// exchange is the root, `.` (RFC 7505).
fn is_null_mx(data: &str) -> bool {
    let mut parts = data.split_whitespace();
    let _preference = parts.next();
    parts.next() == Some(".") && parts.next().is_none()
}

/// A verdict as the cache keeps it, with the instant (ms since the epoch) until which it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cached {
    pub receives: bool,
    pub until_ms: i64,
}

impl Cached {
    /// The cache entry for `receives`, found at `now_ms`, and its lifetime in seconds (what the
    /// cache's own expiry should be). `None` for [`Verdict::Unknown`], which is never cached.
    pub fn of(verdict: Verdict, now_ms: i64) -> Option<(Cached, u64)> {
        let (receives, ttl) = match verdict {
            Verdict::Receives => (true, RECEIVES_TTL_SECONDS),
            Verdict::NoMailServer => (false, NO_MAIL_SERVER_TTL_SECONDS),
            Verdict::Unknown(_) => return None,
        };
        let until_ms = now_ms.saturating_add(ttl as i64 * 1000);
        Some((Cached { receives, until_ms }, ttl))
    }

    /// The entry as stored.
    pub fn to_text(self) -> String {
        serde_json::to_string(&self).unwrap_or_default()
    }

    /// What a stored entry says at `now_ms`: `None` when it has expired (by the caller's clock,
    /// whatever the store's own expiry) or is not an entry.
    pub fn read(text: &str, now_ms: i64) -> Option<bool> {
        let cached: Cached = serde_json::from_str(text).ok()?;
        (now_ms < cached.until_ms).then_some(cached.receives)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u32, records: &[(u16, &str)]) -> String {
        let records: Vec<_> = records
            .iter()
            .map(|(kind, data)| serde_json::json!({"name": "acme.com.", "type": kind, "TTL": 300, "data": data}))
            .collect();
        serde_json::json!({"Status": status, "TC": false, "RD": true, "RA": true, "AD": false,
            "CD": false, "Question": [{"name": "acme.com.", "type": 15}], "Answer": records})
        .to_string()
    }

    #[test]
    fn what_each_answer_means() {
        use Question::*;
        use Step::*;
        use Verdict::*;
        let cases: &[(Question, String, Step)] = &[
            (Mx, answer(0, &[(15, "10 mx.acme.com.")]), Done(Receives)),
            (Mx, answer(0, &[(15, "0 .")]), Done(NoMailServer)),
            (
                Mx,
                answer(0, &[(15, "0 ."), (15, "10 mx.acme.com.")]),
                Done(Receives),
            ),
            // A CNAME on the way, then the MX.
            (
                Mx,
                answer(0, &[(5, "acme.net."), (15, "5 mx.acme.net.")]),
                Done(Receives),
            ),
            (Mx, answer(0, &[]), Ask(A)),
            (Mx, answer(0, &[(5, "acme.net.")]), Ask(A)),
            (Mx, r#"{"Status": 0}"#.to_owned(), Ask(A)),
            (Mx, answer(3, &[]), Done(NoMailServer)),
            (Mx, answer(2, &[]), Done(Unknown("doh_status"))),
            (Mx, answer(5, &[]), Done(Unknown("doh_status"))),
            (Mx, "<html>".to_owned(), Done(Unknown("doh_answer_invalid"))),
            (
                Mx,
                r#"{"status": 0}"#.to_owned(),
                Done(Unknown("doh_answer_invalid")),
            ),
            (A, answer(0, &[(1, "192.0.2.1")]), Done(Receives)),
            (
                A,
                answer(0, &[(5, "www.acme.com."), (1, "192.0.2.1")]),
                Done(Receives),
            ),
            (A, answer(0, &[]), Ask(Aaaa)),
            (A, answer(3, &[]), Done(NoMailServer)),
            (A, answer(2, &[]), Done(Unknown("doh_status"))),
            (Aaaa, answer(0, &[(28, "2001:db8::1")]), Done(Receives)),
            (Aaaa, answer(0, &[]), Done(NoMailServer)),
        ];
        for (asked, json, want) in cases {
            assert_eq!(next(*asked, json), *want, "{asked:?} {json}");
        }
    }

    #[test]
    fn the_cache_holds_until_its_instant() {
        let (hit, ttl) = Cached::of(Verdict::Receives, 1_000).unwrap_or((
            Cached {
                receives: false,
                until_ms: 0,
            },
            0,
        ));
        assert_eq!(ttl, RECEIVES_TTL_SECONDS);
        let text = hit.to_text();
        assert_eq!(Cached::read(&text, 1_000), Some(true));
        assert_eq!(Cached::read(&text, 1_000 + 86_400_000 - 1), Some(true));
        assert_eq!(Cached::read(&text, 1_000 + 86_400_000), None);
        let (miss, ttl) = Cached::of(Verdict::NoMailServer, 0).unwrap_or((hit, 0));
        assert_eq!((miss.receives, ttl), (false, NO_MAIL_SERVER_TTL_SECONDS));
        assert_eq!(Cached::of(Verdict::Unknown("doh_status"), 0), None);
        assert_eq!(Cached::read("not json", 0), None);
    }
}
