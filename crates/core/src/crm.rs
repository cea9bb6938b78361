//! The CRM intake: `[[crm.intakes]]` says where, in whatever JSON a CRM posts, to find the
//! person's email, their account's domain and the event's type, and what each type means for
//! suppression (an open or closed deal, a sequence started or ended, a contact). Pure: the Worker
//! authenticates the request, hands the body here, and stores the facts that come back.
//!
//! An intake with a `preset` reads a vendor's own outbound calls instead of pointers ([`back`]:
//! what a change made in the CRM does to our lead; [`hubspot`]: HubSpot's webhooks, their v3
//! signature and a closed deal's answer; [`salesforce`]: the body a Flow sends), so that a rep
//! who works only in the CRM still moves the lead: its owner, its status, a deal won or lost.

pub mod back;
pub mod hubspot;
pub mod salesforce;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::check::{
    code_enum, duplicate, problem, unknown_ref, valid_id, ConfigCode, FirstSeen, Found, Step,
};
use crate::notify::{reserved_secret, valid_secret_name, SecretUse};
use crate::push::{Push, Target};
use crate::status::LeadStatus;

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
    pub push: Vec<Push>,
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

/// One `[[crm.intakes]]`: `POST /v1/crm/{id}` with `Authorization: Bearer <secret's value>`
/// (or, with the HubSpot preset, HubSpot's v3 request signature made with that secret).
///
/// The keys after `secret` that a preset adds are skipped when absent, so that a configuration
/// written before presets keeps its bundle, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intake {
    pub id: String,
    /// The NAME of the wrangler secret holding the bearer token the CRM sends (HubSpot preset:
    /// the app's client secret, which signs each request).
    pub secret: String,
    /// Whose outbound calls the intake reads as they are, without pointers or an event map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    /// With a preset: the `[[crm.push]]` whose `owners` map, read backwards, names our owner for
    /// the CRM's (and whose token reads a HubSpot deal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<String>,
    /// With a preset: the CRM's status values → our statuses (`IN_PROGRESS = "working"`). A value
    /// not listed is ignored and reported (`crm.unmapped_status`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub statuses: BTreeMap<String, LeadStatus>,
    /// HubSpot preset: the contact property that carries the status (default
    /// [`hubspot::STATUS_PROPERTY`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_property: Option<String>,
    /// JSON pointer (RFC 6901) to the person's email address in each posted item. Required
    /// without a preset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// JSON pointer to the account's domain, if the CRM sends one: deals then hold for everyone
    /// at the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// JSON pointer to the item's event type. Required without a preset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// JSON pointer to a won or lost deal's value (a number), with `currency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// JSON pointer to the value's ISO 4217 currency code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// JSON pointer to a lost deal's reason code (else `unspecified`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Posted event type → what it means. Types not listed are ignored (and counted). Required
    /// (not empty) without a preset.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub events: BTreeMap<String, Meaning>,
}

/// A vendor whose outbound calls an intake reads as the vendor sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// HubSpot's Webhooks API: an array of `contact.propertyChange` and `deal.propertyChange`
    /// events, signed with the app's client secret ([`hubspot`]).
    Hubspot,
    /// A Salesforce Flow's HTTP callout (or Apex) with a bearer token ([`salesforce`]).
    Salesforce,
}

impl Preset {
    pub const fn as_str(self) -> &'static str {
        match self {
            Preset::Hubspot => "hubspot",
            Preset::Salesforce => "salesforce",
        }
    }

    /// The push target a preset's `push` must have: its owner ids are the same vendor's.
    pub const fn target(self) -> Target {
        match self {
            Preset::Hubspot => Target::Hubspot,
            Preset::Salesforce => Target::Salesforce,
        }
    }
}

impl Intake {
    /// The `[[crm.push]]` a preset reads owners through, in `crm` (checked to exist).
    pub fn push_in<'c>(&self, crm: &'c CrmConfig) -> Option<&'c Push> {
        let id = self.push.as_deref()?;
        crm.push.iter().find(|p| p.id == id)
    }
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

/// The subjects of a lead's normalized email: its person and the account of its domain (none
/// for a free mailbox provider's, see [`account_subject`]), as stored with the lead
/// (`leads.person_key`, `leads.account_key`).
pub fn lead_subjects(email: &str) -> (String, Option<String>) {
    let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
    (person_subject(email), account_subject(domain))
}

/// The `crm_facts` subject of an account: its domain, lowercased. `None` for no domain and for a
/// free mailbox provider's ([`crate::email::is_free_mail`]): `gmail.com` is not an account, and a
/// deal won with one Gmail user must not mark every later Gmail lead as a customer's.
pub fn account_subject(domain: &str) -> Option<String> {
    let domain = domain.to_lowercase();
    let domain = domain.strip_prefix("www.").unwrap_or(&domain);
    (!domain.is_empty() && !crate::email::is_free_mail(domain)).then(|| format!("domain:{domain}"))
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

code_enum! {
    /// Why one posted item was not applied. Codes are a contract (docs/CONFIG.md's CRM section
    /// lists every one): never renamed. An item whose status move the state machine refuses is
    /// skipped with that move's `status.*` code instead.
    pub enum SkipCode {
        /// The item is not a JSON object.
        NotAnObject => "crm.not_an_object",
        /// The item has no event type where the intake looks for one.
        MissingEvent => "crm.missing_event",
        /// An event type, or a HubSpot property or deal stage, the intake does not act on.
        UnknownEvent => "crm.unknown_event",
        /// No email address where the intake's `email` points.
        MissingEmail => "crm.missing_email",
        /// An email address that is not one.
        BadEmail => "crm.bad_email",
        /// A won or lost deal's value that is not a number from 0 to 10^12 with an ISO 4217
        /// currency.
        BadAmount => "crm.bad_amount",
        /// A CRM owner the push's `owners` map does not list (or none): nobody of ours to give
        /// the lead to.
        UnmappedOwner => "crm.unmapped_owner",
        /// A CRM status value the intake's `statuses` map does not list (or none).
        UnmappedStatus => "crm.unmapped_status",
        /// A HubSpot event without the contact's or deal's id (`objectId`).
        MissingRecord => "crm.missing_record",
        /// A HubSpot contact (or a closed deal's contacts) that no pushed lead of ours is.
        UnknownRecord => "crm.unknown_record",
        /// A Salesforce item without `lead_id`.
        MissingLead => "crm.missing_lead",
        /// A Salesforce `lead_id` that is no lead of ours.
        UnknownLead => "crm.unknown_lead",
        /// A HubSpot deal that HubSpot no longer has (404 when it was read).
        UnknownDeal => "crm.unknown_deal",
        /// A HubSpot deal whose stage, read back, is no longer the one the event announced.
        StaleEvent => "crm.stale_event",
    }
}

/// Why one posted item was not applied: a [`SkipCode`], or a `status.*` code. The codes are
/// stable.
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
    let items = items(body)?;
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

/// A posted body's items: one object, or an array of at most [`MAX_ITEMS`] (`crm.bad_body`,
/// `crm.too_many`). Every intake, preset or not, reads its body through here.
pub(crate) fn items(body: &Value) -> Result<&[Value], IntakeError> {
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
    Ok(items)
}

fn fact(intake: &Intake, item: &Value) -> Result<Fact, &'static str> {
    if !item.is_object() {
        return Err("crm.not_an_object");
    }
    let text = |pointer: &str| item.pointer(pointer).and_then(Value::as_str);
    let kind = intake
        .event
        .as_deref()
        .and_then(text)
        .ok_or("crm.missing_event")?;
    let meaning = *intake.events.get(kind).ok_or("crm.unknown_event")?;
    let raw = intake
        .email
        .as_deref()
        .and_then(text)
        .ok_or("crm.missing_email")?;
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
pub(crate) fn deal_value(value: &Value, currency: &str) -> Result<(f64, String), &'static str> {
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
/// `config.invalid_intake`; without a preset `config.missing_key` for `email` and `event`; with
/// one `config.unknown_push` and `config.invalid_status`).
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
        if !valid_secret_name(&intake.secret) {
            found.push(problem(
                ConfigCode::InvalidIntake,
                format!(
                    "secret \"{}\" must name a wrangler secret (a letter, then letters, digits and _)",
                    intake.secret
                ),
                at("secret"),
            ));
        }
        found.extend(reserved_secret(
            &intake.secret,
            SecretUse::Crm,
            at("secret"),
        ));
        for (key, pointer) in pointers(intake) {
            if let Some(p) = pointer.filter(|p| !valid_pointer(p)) {
                found.push(problem(
                    ConfigCode::InvalidIntake,
                    format!("{key} \"{p}\" must be a JSON pointer such as /contact/email"),
                    at(key),
                ));
            }
        }
        match intake.preset {
            None => check_mapping(intake, &at, found),
            Some(preset) => check_preset(crm, intake, preset, &at, found),
        }
    }
}

/// The intake's JSON pointers by key, as configured.
fn pointers(intake: &Intake) -> [(&'static str, Option<&String>); 6] {
    [
        ("email", intake.email.as_ref()),
        ("event", intake.event.as_ref()),
        ("domain", intake.domain.as_ref()),
        ("amount", intake.amount.as_ref()),
        ("currency", intake.currency.as_ref()),
        ("reason", intake.reason.as_ref()),
    ]
}

/// Without a preset the intake is its pointers and its event map: `email`, `event` and a
/// non-empty `events` are needed, and what only a preset reads is refused rather than ignored.
fn check_mapping(
    intake: &Intake,
    at: &impl Fn(&'static str) -> Vec<Step<'static>>,
    found: &mut Vec<Found>,
) {
    for (key, value, what) in [
        ("email", &intake.email, "the person's email"),
        ("event", &intake.event, "the event's type"),
    ] {
        if value.is_none() {
            // At the table, as a missing key is: a preset that could not be read leaves the
            // intake without one, and this problem then waits until the preset is fixed.
            let mut table = at(key);
            table.pop();
            found.push(problem(
                ConfigCode::MissingKey,
                format!(
                    "an intake without a preset needs {key}: a JSON pointer to {what} in each \
                     posted item"
                ),
                table,
            ));
        }
    }
    if intake.events.is_empty() {
        found.push(problem(
            ConfigCode::InvalidIntake,
            "events must map at least one posted event type to its meaning".into(),
            at("events"),
        ));
    }
    let preset_only = [
        ("push", intake.push.is_some()),
        ("statuses", !intake.statuses.is_empty()),
        ("status_property", intake.status_property.is_some()),
    ];
    for (key, _) in preset_only.iter().filter(|(_, set)| *set) {
        found.push(problem(
            ConfigCode::InvalidIntake,
            format!("{key} is read only with a preset (preset = \"hubspot\" or \"salesforce\")"),
            at(key),
        ));
    }
}

/// With a preset the vendor's body says everything: pointers and an event map would be ignored,
/// so they are refused; the push named must exist and write to the same vendor (its owner ids are
/// the ones the vendor sends back); a status maps to one a move can reach.
fn check_preset(
    crm: &CrmConfig,
    intake: &Intake,
    preset: Preset,
    at: &impl Fn(&'static str) -> Vec<Step<'static>>,
    found: &mut Vec<Found>,
) {
    let vendor = preset.target().name();
    match &intake.push {
        None => found.push(problem(
            ConfigCode::InvalidIntake,
            format!(
                "a {} preset needs push: the [[crm.push]] whose owners map names our owner for a \
                 {vendor} owner",
                preset.as_str()
            ),
            at("preset"),
        )),
        Some(id) => match intake.push_in(crm) {
            None => found.push(unknown_ref(
                ConfigCode::UnknownPush,
                "crm.push",
                id,
                crm.push.iter().map(|p| p.id.as_str()),
                at("push"),
            )),
            Some(push) if push.target != preset.target() => found.push(problem(
                ConfigCode::InvalidIntake,
                format!(
                    "push \"{id}\" writes to {}, but a {} preset reads {vendor}'s owners",
                    push.target.name(),
                    preset.as_str()
                ),
                at("push"),
            )),
            Some(_) => {}
        },
    }
    let mapping = pointers(intake).map(|(key, value)| (key, value.is_some()));
    let events = [("events", !intake.events.is_empty())];
    for (key, _) in mapping.iter().chain(&events).filter(|(_, set)| *set) {
        found.push(problem(
            ConfigCode::InvalidIntake,
            format!(
                "a {} preset reads {vendor}'s own body: {key} is not used, remove it",
                preset.as_str()
            ),
            at(key),
        ));
    }
    if let Some(property) = &intake.status_property {
        if preset != Preset::Hubspot {
            found.push(problem(
                ConfigCode::InvalidIntake,
                format!(
                    "status_property is HubSpot's; a {} preset takes none",
                    preset.as_str()
                ),
                at("status_property"),
            ));
        } else if !hubspot::valid_property(property) {
            found.push(problem(
                ConfigCode::InvalidIntake,
                format!(
                    "status_property \"{property}\" must be a HubSpot property's internal name \
                     (a lowercase letter, then lowercase letters, digits and _)"
                ),
                at("status_property"),
            ));
        }
    }
    for (value, status) in &intake.statuses {
        if back::move_to(*status, value).is_none() {
            found.push(problem(
                ConfigCode::InvalidStatus,
                format!(
                    "statuses maps \"{value}\" to {}, which no move reaches: use accepted, \
                     working, meeting, opportunity, won, lost, rejected or recycled",
                    status.as_str()
                ),
                at("statuses"),
            ));
        } else if value.is_empty() || value.len() > back::MAX_VALUE {
            found.push(problem(
                ConfigCode::InvalidIntake,
                format!(
                    "statuses keys are the CRM's values, 1 to {} characters",
                    back::MAX_VALUE
                ),
                at("statuses"),
            ));
        }
    }
}
