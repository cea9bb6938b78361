//! Disqualification: configured rules, each with a reason code, that take a lead out of the sales
//! queue (students, job seekers, competitors, personal email, countries not served, bots).

use serde::{Deserialize, Serialize};

use crate::condition::{Answers, Condition};
use crate::disposable::EmailRules;
use crate::email;

/// Why a lead was disqualified: a stable code reports group by. The usual ones are
/// [`Reason::SHIPPED`]; a configuration may name its own (`already_customer`: lowercase letters,
/// digits and `_`). `bot` is special: such a submission was not a person's, so it is stored closed
/// and never routed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Reason(String);

impl Reason {
    /// The codes every configuration may use, as documented.
    pub const SHIPPED: [&'static str; 8] = [
        "student",
        "job_seeker",
        "competitor",
        "personal_email",
        "disposable_email",
        "country_not_served",
        "bot",
        "other",
    ];

    /// The reason with code `code` (checked when the configuration is: see [`Reason::is_valid`]).
    pub fn new(code: &str) -> Reason {
        Reason(code.to_owned())
    }

    /// The stable code, as serialized.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the submission was judged not a person's.
    pub fn is_bot(&self) -> bool {
        self.0 == "bot"
    }

    /// A code a report can group by: 1 to 64 of `a`-`z`, `0`-`9` and `_`, starting with a letter.
    pub fn is_valid(&self) -> bool {
        let b = self.0.as_bytes();
        (1..=64).contains(&b.len())
            && b[0].is_ascii_lowercase()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
    }
}

/// What a `min_fill_seconds` rule makes of a submission that says nothing about its fill time
/// (`missing`): too fast (the default: a bot posting straight to the API sends none), or fine (a
/// server-side integration that has no fill time to send).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Missing {
    #[default]
    Refuse,
    Allow,
}

impl Missing {
    pub fn is_refuse(&self) -> bool {
        *self == Missing::Refuse
    }
}

/// One rule under `[[disqualify]]`. Exactly one test is set: `when`, `email_domains`,
/// `free_email`, `disposable_email`, `honeypot` or `min_fill_seconds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisqualifyRule {
    pub id: String,
    pub reason: Reason,
    /// What a person reads: why this lead is not for sales.
    pub message: String,
    /// A condition on the answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// The email's domain (or a parent domain) is one of these, e.g. competitors' domains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_domains: Vec<String>,
    /// The email is at a free mailbox provider (gmail.com, yahoo.com, …).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub free_email: bool,
    /// The email is at a disposable (throwaway) mailbox domain: the shipped list with the
    /// configuration's `[email]` overrides.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disposable_email: bool,
    /// The hidden honeypot field was filled, which people never do.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub honeypot: bool,
    /// The form was submitted faster than a person can fill it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_fill_seconds: Option<u32>,
    /// Under `min_fill_seconds`: what a submission without a fill time is.
    #[serde(default, skip_serializing_if = "Missing::is_refuse")]
    pub missing: Missing,
}

impl DisqualifyRule {
    /// How many tests the rule sets; the configuration check requires exactly one.
    pub fn test_count(&self) -> usize {
        usize::from(self.when.is_some())
            + usize::from(!self.email_domains.is_empty())
            + usize::from(self.free_email)
            + usize::from(self.disposable_email)
            + usize::from(self.honeypot)
            + usize::from(self.min_fill_seconds.is_some())
    }
}

/// How the submission happened, as the form observed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SubmitContext {
    /// The honeypot field's content; people leave it empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub honeypot: String,
    /// Milliseconds from the form being shown to its submission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill_ms: Option<i64>,
}

/// The rule that disqualified a lead, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disqualification {
    pub rule: String,
    pub reason: Reason,
    pub message: String,
}

/// The rules with their `when` conditions compiled (`None` for rules with another test).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompiledRules {
    pub rules: Vec<DisqualifyRule>,
    pub conditions: Vec<Option<Condition>>,
    /// The overrides `disposable_email` tests read.
    pub email: EmailRules,
}

impl CompiledRules {
    /// The first rule, in configured order, that the lead meets.
    pub fn check(
        &self,
        answers: &dyn Answers,
        email: Option<&str>,
        context: &SubmitContext,
    ) -> Option<Disqualification> {
        let domain = email.and_then(|e| e.rsplit_once('@')).map(|(_, d)| d);
        self.rules
            .iter()
            .zip(&self.conditions)
            .find_map(|(rule, condition)| {
                let met = if let Some(condition) = condition {
                    condition.eval(answers)
                } else if !rule.email_domains.is_empty() {
                    domain.is_some_and(|d| rule.email_domains.iter().any(|x| is_within(d, x)))
                } else if rule.free_email {
                    domain.is_some_and(email::is_free_mail)
                } else if rule.disposable_email {
                    domain.is_some_and(|d| self.email.is_disposable(d))
                } else if rule.honeypot {
                    !context.honeypot.trim().is_empty()
                } else if let Some(min) = rule.min_fill_seconds {
                    match context.fill_ms {
                        Some(ms) => ms < i64::from(min) * 1000,
                        None => rule.missing == Missing::Refuse,
                    }
                } else {
                    false
                };
                met.then(|| Disqualification {
                    rule: rule.id.clone(),
                    reason: rule.reason.clone(),
                    message: rule.message.clone(),
                })
            })
    }
}

/// `domain` is `parent` or a subdomain of it (`eu.rival.com` is within `rival.com`).
fn is_within(domain: &str, parent: &str) -> bool {
    domain == parent
        || domain
            .strip_suffix(parent)
            .is_some_and(|prefix| prefix.ends_with('.'))
}
