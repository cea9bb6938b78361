//! The CRM intake: `[[crm.intakes]]` says where, in whatever JSON a CRM posts, to find the
//! person's email, their account's domain and the event's type, and what each type means for
//! suppression (an open or closed deal, a sequence started or ended, a contact). Pure: the Worker
//! authenticates the request, hands the body here, and stores the facts that come back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::check::{duplicate, problem, valid_id, ConfigCode, FirstSeen, Found, Step};
use crate::notify::valid_secret_name;

/// The most items one request may carry.
pub const MAX_ITEMS: usize = 500;

/// `[crm]` as the configuration writes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrmConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intakes: Vec<Intake>,
    /// `[[crm.push]]`: where routed leads are written (HubSpot, Salesforce).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub push: Vec<crate::push::Push>,
}

impl CrmConfig {
    /// True when the configuration says nothing about a CRM (the bundle then carries no `crm`).
    pub fn is_empty(&self) -> bool {
        self.intakes.is_empty() && self.push.is_empty()
    }

    pub fn intake(&self, id: &str) -> Option<&Intake> {
        self.intakes.iter().find(|i| i.id == id)
    }
}

/// One `[[crm.intakes]]`: `POST /v1/crm/{id}` with `Authorization: Bearer <secret's value>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intake {
    pub id: String,
    /// The NAME of the wrangler secret holding the bearer token the CRM sends.
    pub secret: String,
    /// JSON pointer (RFC 6901) to the person's email address in each posted item.
    pub email: String,
    /// JSON pointer to the account's domain, if the CRM sends one: deals then hold for everyone
    /// at the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// JSON pointer to the item's event type.
    pub event: String,
    /// JSON pointer to a won or lost deal's value (a number), with `currency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// JSON pointer to the value's ISO 4217 currency code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// JSON pointer to a lost deal's reason code (else `unspecified`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Posted event type → what it means. Types not listed are ignored (and counted).
    pub events: BTreeMap<String, Meaning>,
}

/// What a posted event means for suppression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Meaning {
    DealOpened,
    DealClosed,
    SequenceStarted,
    SequenceEnded,
    /// A rep reached the person: their open lead's first touch, and their last contact.
    Contacted,
    /// The person's deal was won: their open lead is `won` (with the deal's value).
    DealWon,
    /// The person's deal was lost: their open lead is `lost` (with a reason and the value).
    DealLost,
}

impl Meaning {
    pub const fn as_str(self) -> &'static str {
        match self {
            Meaning::DealOpened => "deal_opened",
            Meaning::DealClosed => "deal_closed",
            Meaning::SequenceStarted => "sequence_started",
            Meaning::SequenceEnded => "sequence_ended",
            Meaning::Contacted => "contacted",
            Meaning::DealWon => "deal_won",
            Meaning::DealLost => "deal_lost",
        }
    }
}

impl Meaning {
    /// Whether the item says a rep reached the person. Only such an item may be their open
    /// lead's first touch, wherever it stands in a batch: a deal or a sequence is not a touch.
    pub const fn is_contact(self) -> bool {
        matches!(self, Meaning::Contacted)
    }

    /// Whether the item closes the person's open lead (won or lost).
    pub const fn closes(self) -> bool {
        matches!(self, Meaning::DealWon | Meaning::DealLost)
    }

    /// What the item changes in the facts about its person (and, for a deal, its account).
    pub const fn change(self) -> FactChange {
        let (active_deal, in_sequence) = match self {
            Meaning::DealOpened => (Some(true), None),
            Meaning::DealClosed => (Some(false), None),
            Meaning::SequenceStarted => (None, Some(true)),
            Meaning::SequenceEnded => (None, Some(false)),
            Meaning::Contacted => (None, None),
            Meaning::DealWon | Meaning::DealLost => (Some(false), None),
        };
        FactChange {
            active_deal,
            in_sequence,
            contacted: self.is_contact(),
        }
    }
}

/// A change to the `crm_facts` of a subject: `None` leaves a flag as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactChange {
    pub active_deal: Option<bool>,
    pub in_sequence: Option<bool>,
    /// The person was reached now (their last contact).
    pub contacted: bool,
}

/// The `crm_facts` subject of a person: their email, normalized and lowercased (mailbox names
/// are case-insensitive in practice, and CRMs and forms spell them differently). This is the one
/// place the key is computed: the Worker stores it with each lead (`leads.person_key`) rather than
/// lowercasing in SQL, whose `lower()` folds ASCII letters only (`Åsa@…` would never match).
pub fn person_subject(email: &str) -> String {
    format!("email:{}", email.to_lowercase())
}

/// The subjects of a lead's normalized email: its person and the account of its domain, as
/// stored with the lead (`leads.person_key`, `leads.account_key`).
pub fn lead_subjects(email: &str) -> (String, String) {
    let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
    (person_subject(email), account_subject(domain))
}

/// The `crm_facts` subject of an account: its domain, lowercased.
pub fn account_subject(domain: &str) -> String {
    format!("domain:{}", domain.to_lowercase())
}

/// One posted item, read: whom it is about and what it means.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fact {
    /// Normalized and lowercased (see [`person_subject`]).
    pub email: String,
    /// Lowercase, without a leading `www.`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    pub meaning: Meaning,
    /// A won or lost deal's value and its currency (uppercased), when the item gives both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<(f64, String)>,
    /// A lost deal's reason code, when the item gives a valid one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Why one posted item was not applied. The codes are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub index: usize,
    pub code: &'static str,
}

/// Why a whole request is refused. The codes are stable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeError {
    pub code: &'static str,
    pub message: String,
}

/// Reads a posted body (one object, or an array of at most [`MAX_ITEMS`]) with `intake`'s mapping:
/// the facts to apply, and each item not applied with its index and code: `crm.not_an_object`,
/// `crm.missing_event`, `crm.unknown_event` (a type the mapping does not list), `crm.missing_email`,
/// `crm.bad_email`, `crm.bad_amount` (a won or lost deal's value that is not a number from 0 to
/// 10^12 with an ISO 4217 currency). A body that is neither is `crm.bad_body`; too many items `crm.too_many`.
pub fn read(intake: &Intake, body: &Value) -> Result<(Vec<Fact>, Vec<Skipped>), IntakeError> {
    let items: &[Value] = match body {
        Value::Array(items) => items,
        Value::Object(_) => std::slice::from_ref(body),
        _ => {
            return Err(IntakeError {
                code: "crm.bad_body",
                message: "post one JSON object, or an array of them".into(),
            })
        }
    };
    if items.len() > MAX_ITEMS {
        return Err(IntakeError {
            code: "crm.too_many",
            message: format!("at most {MAX_ITEMS} items per request"),
        });
    }
    let mut facts = Vec::new();
    let mut skipped = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match fact(intake, item) {
            Ok(f) => facts.push(f),
            Err(code) => skipped.push(Skipped { index, code }),
        }
    }
    Ok((facts, skipped))
}

fn fact(intake: &Intake, item: &Value) -> Result<Fact, &'static str> {
    if !item.is_object() {
        return Err("crm.not_an_object");
    }
    let text = |pointer: &str| item.pointer(pointer).and_then(Value::as_str);
    let kind = text(&intake.event).ok_or("crm.missing_event")?;
    let meaning = *intake.events.get(kind).ok_or("crm.unknown_event")?;
    let raw = text(&intake.email).ok_or("crm.missing_email")?;
    let email = crate::email::normalize(raw)
        .map_err(|_| "crm.bad_email")?
        .to_lowercase();
    let domain = intake
        .domain
        .as_deref()
        .and_then(text)
        .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
        .map(|d| d.strip_prefix("www.").map(str::to_owned).unwrap_or(d))
        .filter(|d| valid_domain(d));
    let amount = match (meaning.closes(), &intake.amount, &intake.currency) {
        (true, Some(a), Some(c)) => match (item.pointer(a), text(c)) {
            (None | Some(Value::Null), None) => None,
            (Some(value), Some(currency)) => Some(deal_value(value, currency)?),
            _ => return Err("crm.bad_amount"),
        },
        _ => None,
    };
    let reason = (meaning == Meaning::DealLost)
        .then(|| intake.reason.as_deref().and_then(text))
        .flatten()
        .filter(|r| valid_id(r))
        .map(str::to_owned);
    Ok(Fact {
        email,
        domain,
        meaning,
        amount,
        reason,
    })
}

/// A deal's value: a number (or a numeric string, as some CRMs send it) from 0 to 10^12, and an
/// ISO 4217 code (any case).
fn deal_value(value: &Value, currency: &str) -> Result<(f64, String), &'static str> {
    let amount = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|a| a.is_finite() && (0.0..=crate::events::MAX_AMOUNT).contains(a))
    .ok_or("crm.bad_amount")?;
    let currency = currency.trim().to_ascii_uppercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err("crm.bad_amount");
    }
    Ok((amount, currency))
}

/// A plausible domain: dot-separated labels of letters, digits and hyphens.
fn valid_domain(d: &str) -> bool {
    d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A JSON pointer as RFC 6901 writes it: empty (the whole item) or `/`-separated.
fn valid_pointer(p: &str) -> bool {
    p.is_empty() || (p.starts_with('/') && p.len() <= 256)
}

/// Checks `[crm]`, pushing located problems (`config.invalid_id`, `config.duplicate_id`,
/// `config.invalid_intake`).
pub(crate) fn check(crm: &CrmConfig, found: &mut Vec<Found>) {
    let mut ids = FirstSeen::default();
    for (i, intake) in crm.intakes.iter().enumerate() {
        let at = |key| {
            vec![
                Step::Key("crm"),
                Step::Key("intakes"),
                Step::Index(i),
                Step::Key(key),
            ]
        };
        if !valid_id(&intake.id) {
            found.push(problem(
                ConfigCode::InvalidId,
                format!(
                    "intake id \"{}\" must start with a lowercase letter and use only a-z, 0-9, _ \
                     and - (at most 64)",
                    intake.id
                ),
                at("id"),
            ));
        } else if let Some(first) = ids.seen_before(&intake.id, &at("id")) {
            let message = format!("intake id \"{}\" is used twice", intake.id);
            found.push(duplicate(message, at("id"), first));
        }
        let mut push = |code, message: String, key| found.push(problem(code, message, at(key)));
        if !valid_secret_name(&intake.secret) {
            push(
                ConfigCode::InvalidIntake,
                format!(
                    "secret \"{}\" must name a wrangler secret (a letter, then letters, digits and _)",
                    intake.secret
                ),
                "secret",
            );
        }
        for (key, pointer) in [
            ("email", Some(&intake.email)),
            ("event", Some(&intake.event)),
            ("domain", intake.domain.as_ref()),
            ("amount", intake.amount.as_ref()),
            ("currency", intake.currency.as_ref()),
            ("reason", intake.reason.as_ref()),
        ] {
            if let Some(p) = pointer.filter(|p| !valid_pointer(p)) {
                push(
                    ConfigCode::InvalidIntake,
                    format!("{key} \"{p}\" must be a JSON pointer such as /contact/email"),
                    key,
                );
            }
        }
        if intake.events.is_empty() {
            push(
                ConfigCode::InvalidIntake,
                "events must map at least one posted event type to its meaning".into(),
                "events",
            );
        }
    }
}
