//! The HubSpot preset: what HubSpot's Webhooks API posts (an array of events, each
//! `{eventId, subscriptionId, portalId, appId, occurredAt, subscriptionType, attemptNumber,
//! objectId, propertyName, propertyValue, changeSource}`), its v3 request signature, and the
//! batch reads of the closed deals and their contacts. Pure: the Worker reads the headers, the
//! clock and the secret, and sends the reads this module writes.
//!
//! The v3 signature, as HubSpot's "Validating requests" guide says: the base64 HMAC-SHA256, keyed
//! with the app's client secret, of `method + uri + body + timestamp`, where `uri` is the full
//! URL HubSpot called with a few percent-encoded characters decoded ([`decode_uri`]), and the
//! `X-HubSpot-Request-Timestamp` (ms) no older than five minutes.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::back::{our_owner, status_change, Change, Item, Subject};
use super::{deal_value, items, Intake, IntakeError, SkipCode, Skipped};
use crate::push::Push;

/// The contact property that carries the lead status when the intake names none.
pub const STATUS_PROPERTY: &str = "hs_lead_status";
/// The contact property that holds the contact's owner.
pub const OWNER_PROPERTY: &str = "hubspot_owner_id";
/// The contact's lifecycle stage, read through `statuses` as the status property is.
pub const LIFECYCLE_PROPERTY: &str = "lifecyclestage";
/// The deal property whose change to [`WON`] or [`LOST`] closes the deal's contacts' leads.
pub const DEAL_STAGE: &str = "dealstage";
/// The default pipeline's closed stages.
pub const WON: &str = "closedwon";
pub const LOST: &str = "closedlost";
/// How old a request's timestamp may be: five minutes, as HubSpot's guide says.
pub const MAX_AGE_MS: i64 = 5 * 60_000;
/// The deal properties read when a deal closes.
pub const DEAL_PROPERTIES: [&str; 3] = ["amount", "deal_currency_code", "dealstage"];
/// `POST` on `HUBSPOT_API_URL`: a batch of deals with [`DEAL_PROPERTIES`]. HubSpot's deals
/// description names the deal object by its type id, `0-3`.
pub const DEALS_READ: &str = "/crm/v3/objects/0-3/batch/read";
/// `POST` on `HUBSPOT_API_URL`: a batch of deals' associated contacts (v4 associations, deal
/// `0-3` to contact `0-1`).
pub const DEAL_CONTACTS_READ: &str = "/crm/v4/associations/0-3/0-1/batch/read";
/// The most inputs one HubSpot batch takes.
pub const BATCH_LIMIT: usize = 100;

/// A HubSpot property's internal name: a lowercase letter, then lowercase letters, digits, `_`.
pub fn valid_property(name: &str) -> bool {
    name.len() <= 100
        && name.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The characters HubSpot's guide says to decode in the request URI before signing, and only
/// these (a `%20` stays as it is).
const DECODED: [(&str, char); 12] = [
    ("%3A", ':'),
    ("%2F", '/'),
    ("%3F", '?'),
    ("%40", '@'),
    ("%21", '!'),
    ("%24", '$'),
    ("%27", '\''),
    ("%28", '('),
    ("%29", ')'),
    ("%2A", '*'),
    ("%2C", ','),
    ("%3B", ';'),
];

/// `uri` with the percent-encodings of [`DECODED`] decoded (either case of hex digit), in one
/// pass: a decoded `%` never starts another.
pub fn decode_uri(uri: &str) -> String {
    let mut out = String::with_capacity(uri.len());
    let mut rest = uri;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let code = rest.get(at..at + 3);
        let decoded = code.and_then(|code| {
            DECODED
                .iter()
                .find(|(e, _)| e.eq_ignore_ascii_case(code))
                .map(|(_, c)| *c)
        });
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[at + 3..];
            }
            None => {
                out.push('%');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn mac(secret: &[u8], method: &str, uri: &str, body: &str, timestamp: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default()));
    mac.update(method.as_bytes());
    mac.update(decode_uri(uri).as_bytes());
    mac.update(body.as_bytes());
    mac.update(timestamp.as_bytes());
    mac
}

/// The `X-HubSpot-Signature-v3` of a request: base64 of the HMAC-SHA256 of `method + uri +
/// body + timestamp` (the URI decoded as [`decode_uri`] says), keyed with the client secret.
pub fn signature(secret: &[u8], method: &str, uri: &str, body: &str, timestamp: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(
        mac(secret, method, uri, body, timestamp)
            .finalize()
            .into_bytes(),
    )
}

/// Why a request is refused as not HubSpot's. Each has a stable code (the API's error code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// No `X-HubSpot-Signature-v3` or `X-HubSpot-Request-Timestamp` (`hubspot.unsigned`).
    Unsigned,
    /// The signature does not match the request (`hubspot.bad_signature`).
    BadSignature,
    /// The timestamp is more than five minutes from now (`hubspot.stale`).
    Stale,
}

impl SignatureError {
    pub const ALL: [SignatureError; 3] = [
        SignatureError::Unsigned,
        SignatureError::BadSignature,
        SignatureError::Stale,
    ];

    pub fn code(self) -> &'static str {
        match self {
            SignatureError::Unsigned => "hubspot.unsigned",
            SignatureError::BadSignature => "hubspot.bad_signature",
            SignatureError::Stale => "hubspot.stale",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            SignatureError::Unsigned => "The request carries no HubSpot v3 signature.",
            SignatureError::BadSignature => "The HubSpot signature does not match the request.",
            SignatureError::Stale => "The request's timestamp is more than five minutes old.",
        }
    }
}

/// Checks a request's `X-HubSpot-Signature-v3` against its method, the full URL HubSpot called,
/// its raw body and its `X-HubSpot-Request-Timestamp` (compared in constant time), then the
/// timestamp (ms) against `now_ms`: more than five minutes either way is refused, so a captured
/// request cannot be replayed later. A missing header is `Unsigned`.
pub fn verify(
    secret: &[u8],
    method: &str,
    uri: &str,
    body: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    now_ms: i64,
) -> Result<(), SignatureError> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(SignatureError::Unsigned);
    };
    let given = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .map_err(|_| SignatureError::BadSignature)?;
    mac(secret, method, uri, body, timestamp)
        .verify_slice(&given)
        .map_err(|_| SignatureError::BadSignature)?;
    let at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadSignature)?;
    if (now_ms - at).abs() > MAX_AGE_MS {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// A deal that HubSpot says reached a closed stage: its contacts' leads close once the deal is
/// read ([`closed_deal`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealEvent {
    pub index: usize,
    pub occurred_at: i64,
    /// Digits only, as HubSpot's object ids are.
    pub deal_id: String,
    pub won: bool,
}

/// A HubSpot body, read: the changes to apply, the deals to read first, the items skipped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Read {
    pub items: Vec<Item>,
    pub deals: Vec<DealEvent>,
    pub skipped: Vec<Skipped>,
}

/// Reads HubSpot's webhook body with `intake`'s statuses and `push`'s owners: a contact's
/// `hubspot_owner_id` → a new owner (`crm.unmapped_owner` when `push` maps nobody to it), its
/// status property or `lifecyclestage` → a status (`crm.unmapped_status` when `statuses` lists
/// no such value), a deal's `dealstage` of `closedwon`/`closedlost` → a deal to read; anything
/// else `crm.unknown_event`, an event without its object's id `crm.missing_record`.
pub fn read(intake: &Intake, push: &Push, body: &Value) -> Result<Read, IntakeError> {
    let mut read = Read::default();
    let status_property = intake.status_property.as_deref().unwrap_or(STATUS_PROPERTY);
    for (index, event) in items(body)?.iter().enumerate() {
        match one(intake, push, status_property, index, event) {
            Ok(One::Item(item)) => read.items.push(item),
            Ok(One::Deal(deal)) => read.deals.push(deal),
            Err(code) => read.skipped.push(Skipped {
                index,
                code: code.as_str(),
            }),
        }
    }
    Ok(read)
}

enum One {
    Item(Item),
    Deal(DealEvent),
}

fn one(
    intake: &Intake,
    push: &Push,
    status_property: &str,
    index: usize,
    event: &Value,
) -> Result<One, SkipCode> {
    if !event.is_object() {
        return Err(SkipCode::NotAnObject);
    }
    let text = |key: &str| event.get(key).and_then(Value::as_str);
    let kind = text("subscriptionType").ok_or(SkipCode::MissingEvent)?;
    let property = text("propertyName").unwrap_or_default();
    let value = text("propertyValue").unwrap_or_default();
    let occurred_at = event.get("occurredAt").and_then(Value::as_i64).unwrap_or(0);
    let object = event.get("objectId").and_then(object_id);
    let item = |change| {
        let id = object.clone().ok_or(SkipCode::MissingRecord)?;
        Ok(One::Item(Item {
            index,
            occurred_at,
            subject: Subject::Record(id),
            change,
        }))
    };
    match (kind, property) {
        ("contact.propertyChange", OWNER_PROPERTY) => {
            let ours = our_owner(push, value).ok_or(SkipCode::UnmappedOwner)?;
            item(Change::Owner {
                ours: ours.to_owned(),
                theirs: value.to_owned(),
            })
        }
        ("contact.propertyChange", p) if p == status_property || p == LIFECYCLE_PROPERTY => {
            item(status_change(&intake.statuses, value).ok_or(SkipCode::UnmappedStatus)?)
        }
        ("deal.propertyChange", DEAL_STAGE) if value == WON || value == LOST => {
            Ok(One::Deal(DealEvent {
                index,
                occurred_at,
                deal_id: object.ok_or(SkipCode::MissingRecord)?,
                won: value == WON,
            }))
        }
        _ => Err(SkipCode::UnknownEvent),
    }
}

/// An object id as HubSpot sends it (a number; a string of digits is taken too), as digits.
fn object_id(value: &Value) -> Option<String> {
    let id = match value {
        Value::Number(n) => n.as_u64()?.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    (!id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

/// The distinct deal ids of `deals` (in the order first named), in batches of at most
/// [`BATCH_LIMIT`]: each batch is one [`DEALS_READ`] and one [`DEAL_CONTACTS_READ`].
pub fn deal_batches(deals: &[DealEvent]) -> Vec<Vec<&str>> {
    let mut seen = BTreeSet::new();
    let ids: Vec<&str> = deals
        .iter()
        .map(|d| d.deal_id.as_str())
        .filter(|id| seen.insert(*id))
        .collect();
    ids.chunks(BATCH_LIMIT).map(<[&str]>::to_vec).collect()
}

/// The body of [`DEALS_READ`] for `ids`: their [`DEAL_PROPERTIES`], no history (the
/// description lists `propertiesWithHistory` as required; empty asks for none).
pub fn deals_read_body(ids: &[&str]) -> Value {
    json!({
        "inputs": ids.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>(),
        "properties": DEAL_PROPERTIES,
        "propertiesWithHistory": [],
    })
}

/// The body of [`DEAL_CONTACTS_READ`] for `ids`.
pub fn contacts_read_body(ids: &[&str]) -> Value {
    json!({ "inputs": ids.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>() })
}

/// Why a batch answer cannot be used: the whole request is then refused, to be retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unread {
    /// An HTTP status other than 200 or 207 (a 404 saying `OBJECT_NOT_FOUND` aside).
    Status(u16),
    /// An error in a 207 other than `OBJECT_NOT_FOUND` (its category).
    Error(String),
    /// Not the shape the description gives.
    Malformed,
}

/// What the batch reads said of the deals: each deal HubSpot has (its properties), each deal's
/// contacts. Filled by [`read_deals`] and [`read_contacts`] over every batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deals {
    pub properties: BTreeMap<String, BTreeMap<String, String>>,
    pub contacts: BTreeMap<String, BTreeSet<String>>,
}

/// The results of a batch answer (`status`, `body`): `None` for a 404 saying
/// `OBJECT_NOT_FOUND` (nothing found), each result otherwise; a 207's errors must all be
/// `OBJECT_NOT_FOUND` (a deal HubSpot no longer has, a deal without contacts).
fn results(status: u16, body: &Value) -> Result<Option<&Vec<Value>>, Unread> {
    let category = |e: &Value| e.get("category").and_then(Value::as_str).map(str::to_owned);
    match status {
        404 if category(body).as_deref() == Some("OBJECT_NOT_FOUND") => return Ok(None),
        200 | 207 => {}
        other => return Err(Unread::Status(other)),
    }
    let errors = body.get("errors").and_then(Value::as_array);
    for error in errors.into_iter().flatten() {
        match category(error) {
            Some(c) if c == "OBJECT_NOT_FOUND" => {}
            Some(c) => return Err(Unread::Error(c)),
            None => return Err(Unread::Malformed),
        }
    }
    body.get("results")
        .and_then(Value::as_array)
        .map(Some)
        .ok_or(Unread::Malformed)
}

/// Adds [`DEALS_READ`]'s answer to `deals`: each deal found, with its properties (as strings;
/// a null property is absent). A deal not among the results is one HubSpot no longer has.
pub fn read_deals(status: u16, body: &Value, deals: &mut Deals) -> Result<(), Unread> {
    for deal in results(status, body)?.into_iter().flatten() {
        let id = deal
            .get("id")
            .and_then(object_id)
            .ok_or(Unread::Malformed)?;
        let properties = deal
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect();
        deals.properties.insert(id, properties);
    }
    Ok(())
}

/// Adds [`DEAL_CONTACTS_READ`]'s answer to `deals`: each deal's associated contacts (its first
/// page: a deal has a handful). A deal not among the results has none.
pub fn read_contacts(status: u16, body: &Value, deals: &mut Deals) -> Result<(), Unread> {
    for result in results(status, body)?.into_iter().flatten() {
        let id = result
            .pointer("/from/id")
            .and_then(object_id)
            .ok_or(Unread::Malformed)?;
        let to = result.get("to").and_then(Value::as_array);
        let contacts = to
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("toObjectId").and_then(object_id));
        deals.contacts.entry(id).or_default().extend(contacts);
    }
    Ok(())
}

/// What closing `deal` means, from what the batch reads said ([`Deals`]): the ids of its
/// associated contacts and the [`Change::Close`] for each one's lead, with the deal's `amount`
/// when it has a `deal_currency_code` (else none). Skipped: `crm.unknown_deal` for a deal HubSpot
/// no longer has, `crm.stale_event` when the deal's stage, read now, is not the one the event
/// announced (reopened since), `crm.bad_amount` for an amount that is not a number from 0 to
/// 10^12, `crm.unknown_record` for a deal without contacts.
pub fn closed_deal(deal: &DealEvent, read: &Deals) -> Result<(Vec<String>, Change), SkipCode> {
    let properties = read
        .properties
        .get(&deal.deal_id)
        .ok_or(SkipCode::UnknownDeal)?;
    let property = |key: &str| {
        properties
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    let stage = if deal.won { WON } else { LOST };
    if property(DEAL_STAGE).is_some_and(|now| now != stage) {
        return Err(SkipCode::StaleEvent);
    }
    let amount = match (property("amount"), property("deal_currency_code")) {
        (Some(amount), Some(currency)) => Some(
            deal_value(&Value::String(amount.to_owned()), currency)
                .map_err(|_| SkipCode::BadAmount)?,
        ),
        _ => None,
    };
    let contacts: Vec<String> = read
        .contacts
        .get(&deal.deal_id)
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    if contacts.is_empty() {
        return Err(SkipCode::UnknownRecord);
    }
    let change = Change::Close {
        won: deal.won,
        amount,
        reason: None,
    };
    Ok((contacts, change))
}
