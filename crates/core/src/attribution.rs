//! Where a lead came from, as the form observed it with the visitor's consent: campaign (UTM)
//! parameters, referrer, landing page, the pages viewed on the site, earlier visits, and the exact
//! consent text and version the person agreed to. The Worker stores it with the lead; sales and
//! reporting read it. Everything here was typed or chosen by a browser, so `clean` bounds every
//! string and list and drops control characters before anything is stored.

use serde::{Deserialize, Serialize};

use crate::answer::{AnswerMap, AnswerValue};
use crate::form::{FieldKind, FormSpec};
use crate::issue::{Issue, IssueCode};
use crate::scoring::Activity;
use crate::text::clean_line;

/// The longest URL kept; longer ones are cut (at a character boundary), never refused.
pub const MAX_URL_CHARS: usize = 2_000;
/// The longest UTM value kept.
pub const MAX_UTM_CHARS: usize = 200;
/// The most page views kept: the latest ones.
pub const MAX_PAGES: usize = 50;
/// The longest consent text kept.
pub const MAX_CONSENT_CHARS: usize = 2_000;

/// Campaign parameters of the landing page (`utm_source`, …).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Utm {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// One page the visitor viewed on the host site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageView {
    pub url: String,
    /// When, in ms since the epoch, by the browser's clock.
    pub at_ms: i64,
}

/// The consent the person gave: the exact text shown and its version, checked by the Worker
/// against the form that showed it ([`check_consent`]) and stamped with the Worker's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// The consent field's id.
    pub field: String,
    pub text: String,
    pub version: String,
    pub given: bool,
    /// When the Worker received the submission, in ms since the epoch, by the Worker's clock.
    /// A browser's value is never kept: [`Attribution::clean`] drops it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<i64>,
}

/// Why the Worker refuses a lead's consent record. Each is a `422` with a stable code, and an
/// issue on the consent field that the form shows there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentError {
    /// The form shows a consent field, and the lead carries no consent record
    /// (`consent_missing`, issue `consent.missing`).
    Missing { field: String },
    /// The record's field, text or version is not what the form showed (`consent_mismatch`,
    /// issue `consent.mismatch`): the consent text changed since the page was loaded, or the
    /// client made the record up.
    Mismatch { field: String },
}

impl ConsentError {
    /// The API error code.
    pub fn code(&self) -> &'static str {
        match self {
            ConsentError::Missing { .. } => "consent_missing",
            ConsentError::Mismatch { .. } => "consent_mismatch",
        }
    }

    /// What the API answer says: for the person or developer who sent the lead.
    pub fn message(&self) -> &'static str {
        match self {
            ConsentError::Missing { .. } => {
                "This form asks for consent: send the consent record of its consent field \
                 (attribution.consent: field, text, version, given)."
            }
            ConsentError::Mismatch { .. } => {
                "The consent text or version is not the one this form shows: it changed since the \
                 form was loaded. Reload the form and submit again."
            }
        }
    }

    /// The issue on the consent field, for the form to show.
    pub fn issue(&self) -> Issue {
        match self {
            ConsentError::Missing { field } => Issue::new(field, IssueCode::ConsentMissing),
            ConsentError::Mismatch { field } => Issue::new(field, IssueCode::ConsentMismatch),
        }
    }
}

/// Whether `record` is consent to exactly what `form` shows in its consent field `record.field`:
/// that field is a consent field of the form, the text is its label (cleaned as the record is)
/// and the version its `consent_version`.
pub fn consent_shown(form: &FormSpec, record: &Consent) -> bool {
    form.fields.iter().any(|f| {
        f.kind == FieldKind::Consent
            && f.id == record.field
            && bounded(&f.label, MAX_CONSENT_CHARS).as_deref() == Some(record.text.as_str())
            && f.consent_version == record.version
    })
}

/// The consent record to store with a lead of `form` whose shown fields are `visible` and whose
/// checked answers are `answers`, received at `now_ms` by the Worker's clock. `record` is the
/// cleaned one the client sent.
///
/// - The form shows no consent field: no record is kept (one for a text never shown proves
///   nothing).
/// - It shows one and the lead has no record: [`ConsentError::Missing`], whatever the client
///   left out (the whole `attribution` included).
/// - The record names a shown consent field with its exact text and version: kept, with `given`
///   from that field's checked answer (not the client's word) and `at_ms = now_ms`.
/// - Otherwise [`ConsentError::Mismatch`]. The Worker then tries the bundle the browser says it
///   was served ([`consent_shown`] on that form), so that a configuration change between
///   serving and submitting does not lose a lead that consented to the text it was shown.
pub fn check_consent(
    form: &FormSpec,
    visible: &[String],
    answers: &AnswerMap,
    record: Option<&Consent>,
    now_ms: i64,
) -> Result<Option<Consent>, ConsentError> {
    let shown: Vec<&str> = form
        .fields
        .iter()
        .filter(|f| f.kind == FieldKind::Consent && visible.contains(&f.id))
        .map(|f| f.id.as_str())
        .collect();
    let Some(first) = shown.first() else {
        return Ok(None);
    };
    let Some(record) = record else {
        return Err(ConsentError::Missing {
            field: (*first).to_owned(),
        });
    };
    if shown.contains(&record.field.as_str()) && consent_shown(form, record) {
        Ok(Some(stamp(record, answers, now_ms)))
    } else {
        Err(ConsentError::Mismatch {
            field: (*first).to_owned(),
        })
    }
}

/// `record` as stored: `given` from the checked answer to its field, when there is one, and the
/// Worker's time.
pub fn stamp(record: &Consent, answers: &AnswerMap, now_ms: i64) -> Consent {
    let given = match answers.get(&record.field) {
        Some(AnswerValue::Flag(given)) => *given,
        _ => record.given,
    };
    Consent {
        given,
        at_ms: Some(now_ms),
        ..record.clone()
    }
}

/// What the form observed about how the visitor got here.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Attribution {
    #[serde(skip_serializing_if = "is_default")]
    pub utm: Utm,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landing_page: Option<String>,
    /// Pages viewed in this session and earlier visits, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pages: Vec<PageView>,
    /// How many visits the browser remembers, this one included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visits: Option<u32>,
    /// When the browser first saw this visitor, in ms since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
}

fn is_default(utm: &Utm) -> bool {
    *utm == Utm::default()
}

/// A line cut to `max` characters with control characters removed; `None` when nothing is left.
fn bounded(value: &str, max: usize) -> Option<String> {
    // Only a bounded prefix is ever looked at, however long the input.
    let prefix: String = value.chars().take(max.saturating_mul(2)).collect();
    // No limit can be exceeded here, so the cleaning cannot fail.
    let mut line = clean_line(&prefix, usize::MAX).unwrap_or_default();
    if let Some((at, _)) = line.char_indices().nth(max) {
        line.truncate(at);
        line.truncate(line.trim_end().len());
    }
    (!line.is_empty()).then_some(line)
}

fn bounded_opt(value: Option<&String>, max: usize) -> Option<String> {
    value.and_then(|v| bounded(v, max))
}

impl Attribution {
    /// The pages viewed as `page_view` activities (detail: the page's path and query), so that
    /// engagement rules such as "viewed the pricing page" score what the form observed.
    pub fn page_views(&self) -> impl Iterator<Item = Activity> + '_ {
        self.pages.iter().map(|p| Activity {
            kind: "page_view".to_owned(),
            at_ms: p.at_ms,
            detail: p.url.clone(),
        })
    }

    /// The same attribution with every string bounded and cleaned, at most [`MAX_PAGES`] pages
    /// (the latest), and nothing empty kept. Idempotent: `a.clean().clean() == a.clean()`.
    pub fn clean(&self) -> Attribution {
        let utm = Utm {
            source: bounded_opt(self.utm.source.as_ref(), MAX_UTM_CHARS),
            medium: bounded_opt(self.utm.medium.as_ref(), MAX_UTM_CHARS),
            campaign: bounded_opt(self.utm.campaign.as_ref(), MAX_UTM_CHARS),
            term: bounded_opt(self.utm.term.as_ref(), MAX_UTM_CHARS),
            content: bounded_opt(self.utm.content.as_ref(), MAX_UTM_CHARS),
        };
        let skip = self.pages.len().saturating_sub(MAX_PAGES);
        let pages = self.pages[skip..]
            .iter()
            .filter_map(|p| {
                bounded(&p.url, MAX_URL_CHARS).map(|url| PageView {
                    url,
                    at_ms: p.at_ms,
                })
            })
            .collect();
        let consent = self.consent.as_ref().and_then(|c| {
            Some(Consent {
                field: bounded(&c.field, 64)?,
                text: bounded(&c.text, MAX_CONSENT_CHARS)?,
                version: bounded(&c.version, 64)?,
                given: c.given,
                // Only the Worker's clock says when (see `check_consent`).
                at_ms: None,
            })
        });
        Attribution {
            utm,
            referrer: bounded_opt(self.referrer.as_ref(), MAX_URL_CHARS),
            landing_page: bounded_opt(self.landing_page.as_ref(), MAX_URL_CHARS),
            pages,
            visits: self.visits,
            first_seen_ms: self.first_seen_ms,
            consent,
        }
    }
}
