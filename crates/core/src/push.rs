//! `[[crm.push]]`: a lead pushed into the CRM its owner works in (HubSpot or Salesforce), with
//! its fields mapped to the CRM's properties, its owner mapped to the CRM's user, and a task for
//! the owner due at the lead's first-touch deadline.
//!
//! Pure: the configuration and its checks, what a lead's record says ([`Snapshot`] at routing,
//! [`Current`] whenever it is pushed), and the vendors' request bodies and answers
//! ([`hubspot`], [`salesforce`]). The Worker reads the lead, sends what this module builds and
//! stores the record ids that come back.

pub mod hubspot;
pub mod salesforce;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::attribution::Attribution;
use crate::check::{duplicate, problem, unknown_ref, valid_id, ConfigCode, FirstSeen, Found, Step};
use crate::condition::{Answers, Value};
use crate::notify::{reserved_secret, valid_secret_name, Person, SecretUse};
use crate::routing::{AttributeEnv, LeadView, RouteInput, RoutingConfig};
use crate::suggest::did_you_mean;

/// The Salesforce Lead field that holds our lead id when the configuration names none: the
/// custom field the README's set-up creates (Text(36), External ID, Unique).
pub const DEFAULT_EXTERNAL_ID: &str = "Handoff_Lead_Id__c";

/// The most leads one HubSpot batch call carries (the API's documented limit).
pub const HUBSPOT_BATCH: usize = 100;

/// Where a lead is pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Hubspot,
    Salesforce,
}

impl Target {
    pub const fn as_str(self) -> &'static str {
        match self {
            Target::Hubspot => "hubspot",
            Target::Salesforce => "salesforce",
        }
    }

    /// The product's name, for people ("Open in HubSpot").
    pub const fn name(self) -> &'static str {
        match self {
            Target::Hubspot => "HubSpot",
            Target::Salesforce => "Salesforce",
        }
    }
}

/// The NAMES of the wrangler secrets that hold the CRM's credentials, never the values.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    /// HubSpot: a private app's access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Salesforce: the org's My Domain URL (`https://acme.my.salesforce.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_url: Option<String>,
    /// Salesforce: the connected app's consumer key and secret (client-credentials flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// One `[[crm.push]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Push {
    pub id: String,
    pub target: Target,
    pub secrets: Secrets,
    /// Our owner and queue ids → the CRM's owner ids (HubSpot) or user and queue ids
    /// (Salesforce). Every owner and queue routing can place a lead with must be here.
    pub owners: BTreeMap<String, String>,
    /// CRM property → what fills it: an attribute or form field as conditions read them
    /// (`country_code`, `company`), or one of [`EXTRA_SOURCES`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// CRM property → our value → theirs (`lifecyclestage = { mql = "marketingqualifiedlead" }`).
    /// A value the map does not list is not sent: the CRM would refuse an option it lacks.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// Whether to create a task for the owner, due at the first-touch deadline.
    #[serde(default = "yes")]
    pub task: bool,
    /// HubSpot: the account's hub id, for links to the contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal: Option<String>,
    /// Salesforce: the Lead's external-id field that holds our lead id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// HubSpot: what names the company created for a new domain (a field or attribute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
}

fn yes() -> bool {
    true
}

impl Push {
    /// The Salesforce external-id field.
    pub fn external_id(&self) -> &str {
        self.external_id.as_deref().unwrap_or(DEFAULT_EXTERNAL_ID)
    }

    /// The CRM's id for our owner or queue `id`.
    pub fn crm_owner(&self, id: &str) -> Option<&str> {
        self.owners.get(id).map(String::as_str)
    }

    /// Our owner or queue for the CRM's owner id (a change made in the CRM), if one maps to it.
    pub fn our_owner(&self, crm_id: &str) -> Option<&str> {
        self.owners
            .iter()
            .find(|(_, theirs)| theirs.as_str() == crm_id)
            .map(|(ours, _)| ours.as_str())
    }
}

/// What a field can be filled from besides the attributes and the form's fields. The first
/// group is known at routing; [`DYNAMIC_SOURCES`] change as the lead is worked.
pub const EXTRA_SOURCES: [&str; 13] = [
    "email",
    "lead_id",
    "form",
    "referrer",
    "landing_page",
    "consent_text",
    "consent_version",
    "consent_at",
    "status",
    "owner",
    "reason",
    "deal_amount",
    "deal_currency",
];

/// The sources read from the lead as it stands when it is pushed, not from its routing.
pub const DYNAMIC_SOURCES: [&str; 6] = [
    "status",
    "owner",
    "reason",
    "deal_amount",
    "deal_currency",
    "first_touch_due",
];

fn is_source(env: &AttributeEnv, name: &str) -> bool {
    EXTRA_SOURCES.contains(&name) || DYNAMIC_SOURCES.contains(&name) || env.get(name).is_some()
}

/// Checks `[[crm.push]]`: ids, secrets by target, every mapped source known, the value maps on
/// mapped properties, every owner and queue mapped (`config.unmapped_owner`: a lead must never
/// land unowned), and Salesforce's required Lead fields.
pub(crate) fn check(
    pushes: &[Push],
    routing: &RoutingConfig,
    env: &AttributeEnv,
    found: &mut Vec<Found>,
) {
    let mut ids = FirstSeen::default();
    for (i, push) in pushes.iter().enumerate() {
        let at = |rest: &[Step<'static>]| {
            let mut p = vec![Step::Key("crm"), Step::Key("push"), Step::Index(i)];
            p.extend_from_slice(rest);
            p
        };
        let id_at = at(&[Step::Key("id")]);
        if !valid_id(&push.id) {
            found.push(crate::check::invalid_id("push", &push.id, id_at.clone()));
        } else if let Some(first) = ids.seen_before(&push.id, &id_at) {
            found.push(duplicate(
                format!("push id \"{}\" is used twice", push.id),
                id_at,
                first,
            ));
        }
        check_secrets(push, &at, found);
        check_owners(push, routing, &at, found);
        check_fields(push, env, &at, found);
    }
}

fn check_secrets(
    push: &Push,
    at: &impl Fn(&[Step<'static>]) -> Vec<Step<'static>>,
    found: &mut Vec<Found>,
) {
    let s = &push.secrets;
    let needed: &[(&'static str, &Option<String>)] = match push.target {
        Target::Hubspot => &[("token", &s.token)],
        Target::Salesforce => &[
            ("instance_url", &s.instance_url),
            ("client_id", &s.client_id),
            ("client_secret", &s.client_secret),
        ],
    };
    for (key, value) in needed {
        let path = at(&[Step::Key("secrets"), Step::Key(key)]);
        match value {
            None => found.push(problem(
                ConfigCode::InvalidPush,
                format!(
                    "a {} push needs secrets.{key}: the name of the wrangler secret that holds it",
                    push.target.as_str()
                ),
                at(&[Step::Key("secrets")]),
            )),
            Some(name) if !valid_secret_name(name) => found.push(problem(
                ConfigCode::InvalidPush,
                format!(
                    "secrets.{key} \"{name}\" must name a wrangler secret (a letter, then letters, \
                     digits and _)"
                ),
                path,
            )),
            Some(name) => found.extend(reserved_secret(name, SecretUse::Crm, path)),
        }
    }
    let unused: Vec<&str> = [
        ("token", &s.token),
        ("instance_url", &s.instance_url),
        ("client_id", &s.client_id),
        ("client_secret", &s.client_secret),
    ]
    .iter()
    .filter(|(key, v)| v.is_some() && !needed.iter().any(|(k, _)| k == key))
    .map(|(key, _)| *key)
    .collect();
    for key in unused {
        found.push(problem(
            ConfigCode::InvalidPush,
            format!("a {} push takes no secrets.{key}", push.target.as_str()),
            at(&[Step::Key("secrets"), Step::Key(key)]),
        ));
    }
    let wrong_target = match push.target {
        Target::Hubspot => push.external_id.is_some().then_some("external_id"),
        Target::Salesforce => (push.portal.is_some().then_some("portal"))
            .or(push.company_name.is_some().then_some("company_name")),
    };
    if let Some(key) = wrong_target {
        found.push(problem(
            ConfigCode::InvalidPush,
            format!("a {} push takes no {key}", push.target.as_str()),
            at(&[Step::Key(key)]),
        ));
    }
    if let Some(portal) = &push.portal {
        if portal.is_empty() || portal.len() > 20 || !portal.bytes().all(|b| b.is_ascii_digit()) {
            found.push(problem(
                ConfigCode::InvalidPush,
                format!("portal \"{portal}\" must be the HubSpot account's hub id (digits)"),
                at(&[Step::Key("portal")]),
            ));
        }
    }
    if let Some(field) = &push.external_id {
        if !valid_api_name(field) || !field.ends_with("__c") {
            found.push(problem(
                ConfigCode::InvalidPush,
                format!(
                    "external_id \"{field}\" must be a custom field's API name, such as \
                     {DEFAULT_EXTERNAL_ID}"
                ),
                at(&[Step::Key("external_id")]),
            ));
        }
    }
}

fn check_owners(
    push: &Push,
    routing: &RoutingConfig,
    at: &impl Fn(&[Step<'static>]) -> Vec<Step<'static>>,
    found: &mut Vec<Found>,
) {
    let owners = routing.owners.iter().map(|o| o.id.as_str());
    let queues = routing.queues.iter().map(|q| q.id.as_str());
    let ours: Vec<&str> = owners.chain(queues).collect();
    for id in &ours {
        if !push.owners.contains_key(*id) {
            found.push(problem(
                ConfigCode::UnmappedOwner,
                format!(
                    "\"{id}\" has no {} owner: add it to owners, or its leads would arrive \
                     unowned",
                    push.target.name()
                ),
                at(&[Step::Key("owners")]),
            ));
        }
    }
    for (ours_id, theirs) in &push.owners {
        if !ours.contains(&ours_id.as_str()) {
            found.push(unknown_ref(
                ConfigCode::UnknownOwner,
                "routing.owners]] or [[routing.queues",
                ours_id,
                ours.iter().copied(),
                at(&[Step::Key("owners"), Step::Key(leak(ours_id))]),
            ));
        }
        let fits = match push.target {
            Target::Hubspot => !theirs.is_empty() && theirs.bytes().all(|b| b.is_ascii_digit()),
            Target::Salesforce => {
                matches!(theirs.len(), 15 | 18) && theirs.bytes().all(|b| b.is_ascii_alphanumeric())
            }
        };
        if !fits {
            let what = match push.target {
                Target::Hubspot => "a HubSpot owner id (digits, from the Owners API)",
                Target::Salesforce => "a Salesforce user or queue id (15 or 18 characters)",
            };
            found.push(problem(
                ConfigCode::InvalidPush,
                format!("owner \"{theirs}\" for \"{ours_id}\" must be {what}"),
                at(&[Step::Key("owners"), Step::Key(leak(ours_id))]),
            ));
        }
    }
}

fn check_fields(
    push: &Push,
    env: &AttributeEnv,
    at: &impl Fn(&[Step<'static>]) -> Vec<Step<'static>>,
    found: &mut Vec<Found>,
) {
    let names = || {
        let mut names = env.names();
        names.extend(EXTRA_SOURCES);
        names.extend(DYNAMIC_SOURCES);
        names
    };
    for (property, source) in &push.fields {
        // Made only for a problem: a valid configuration leaks nothing.
        let path = || at(&[Step::Key("fields"), Step::Key(leak(property))]);
        if !valid_api_name(property) {
            found.push(problem(
                ConfigCode::InvalidPush,
                format!("\"{property}\" is not a CRM property's internal name"),
                path(),
            ));
        }
        if !is_source(env, source) {
            let suggestion = did_you_mean(source, names(), '"');
            found.push(problem(
                ConfigCode::UnknownField,
                format!("\"{source}\" is not a field, an attribute or a lead value{suggestion}"),
                path(),
            ));
        }
    }
    if let Some(source) = &push.company_name {
        if !is_source(env, source) {
            let suggestion = did_you_mean(source, names(), '"');
            found.push(problem(
                ConfigCode::UnknownField,
                format!("\"{source}\" is not a field, an attribute or a lead value{suggestion}"),
                at(&[Step::Key("company_name")]),
            ));
        }
    }
    for property in push.values.keys() {
        if !push.fields.contains_key(property) {
            found.push(problem(
                ConfigCode::InvalidPush,
                format!("values.{property} maps the values of a property fields does not fill"),
                at(&[Step::Key("values"), Step::Key(leak(property))]),
            ));
        }
    }
    if push.target == Target::Salesforce {
        for required in ["LastName", "Company"] {
            if !push.fields.contains_key(required) {
                found.push(problem(
                    ConfigCode::InvalidPush,
                    format!("Salesforce needs every Lead's {required}: map it in fields"),
                    at(&[Step::Key("fields")]),
                ));
            }
        }
    }
    let reserved = match push.target {
        Target::Hubspot => &["email", "hubspot_owner_id"][..],
        Target::Salesforce => &["OwnerId"][..],
    };
    for key in reserved.iter().filter(|k| push.fields.contains_key(**k)) {
        found.push(problem(
            ConfigCode::InvalidPush,
            format!("{key} is set by the push itself (the lead's address or its owner)"),
            at(&[Step::Key("fields"), Step::Key(key)]),
        ));
    }
    if push.target == Target::Salesforce && push.fields.contains_key(push.external_id()) {
        found.push(problem(
            ConfigCode::InvalidPush,
            format!("{} holds the lead id: the push sets it", push.external_id()),
            at(&[Step::Key("fields")]),
        ));
    }
}

/// A CRM property or field API name: a letter, then letters, digits and `_`, at most 100.
fn valid_api_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name.as_bytes()[0].is_ascii_alphabetic()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A configuration key as a path step (paths are `'static`): called only for a key a problem
/// names, so a configuration that checks clean leaks nothing, and one that does not, a few bytes
/// per problem.
fn leak(key: &str) -> &'static str {
    Box::leak(key.to_owned().into_boxed_str())
}

// ---- a lead's record

/// What a lead's record says that is fixed when it is routed (its answers, attributes, source
/// and consent), by CRM property before value maps; built by the intake and stored with the
/// record (and built again when a returning person's repeat refreshes the lead).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The lead's normalized address (HubSpot's contact key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The registrable domain of a business address (HubSpot's company key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
    /// The task's subject and body ("why this owner").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskText>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskText {
    pub subject: String,
    pub body: String,
}

/// What the intake knows of a routed lead besides its routing input.
#[derive(Debug, Clone, Copy)]
pub struct Routed<'a> {
    pub lead_id: &'a str,
    pub form: &'a str,
    pub created_at_ms: i64,
    pub attribution: &'a Attribution,
    pub person: &'a Person,
    /// The routing decision's explanation (`Decision::explain`).
    pub why: &'a str,
}

impl Snapshot {
    /// The fixed part of `lead`'s record for `push`.
    pub fn of(push: &Push, input: &RouteInput, lead: Routed<'_>) -> Snapshot {
        let view = LeadView::new(input, None);
        let read = |source: &str| -> Option<String> {
            match source {
                "email" => input.email.clone(),
                "lead_id" => Some(lead.lead_id.to_owned()),
                "form" => Some(lead.form.to_owned()),
                "referrer" => lead.attribution.referrer.clone(),
                "landing_page" => lead.attribution.landing_page.clone(),
                "consent_text" => lead.attribution.consent.as_ref().map(|c| c.text.clone()),
                "consent_version" => lead.attribution.consent.as_ref().map(|c| c.version.clone()),
                "consent_at" => lead
                    .attribution
                    .consent
                    .as_ref()
                    .filter(|c| c.given)
                    // The Worker's time stamped on the record; a lead stored before it was
                    // stamped has its creation time, which is the same instant.
                    .map(|c| crate::encode::rfc3339_short(c.at_ms.unwrap_or(lead.created_at_ms))),
                other => view.get(other).and_then(text),
            }
        };
        let properties = push
            .fields
            .iter()
            .filter(|(_, source)| !DYNAMIC_SOURCES.contains(&source.as_str()))
            .filter_map(|(property, source)| Some((property.clone(), read(source)?)))
            .collect();
        let domain = view.get("company_domain").and_then(text);
        let company = push
            .company_name
            .as_deref()
            .and_then(read)
            .or_else(|| lead.person.company.clone());
        let name = lead.person.name.as_deref().or(input.email.as_deref());
        let subject = match (name, &lead.person.company) {
            (Some(n), Some(c)) => format!("Follow up: {n} ({c})"),
            (Some(n), None) => format!("Follow up: {n}"),
            (None, _) => "Follow up on a new lead".to_owned(),
        };
        Snapshot {
            email: input.email.clone(),
            domain,
            company,
            properties,
            task: push.task.then(|| TaskText {
                subject,
                body: format!(
                    "Why you: {}\nHandoff lead {}",
                    lead.why.trim_end(),
                    lead.lead_id
                ),
            }),
        }
    }
}

/// A value as a CRM property's text: numbers without a needless `.0`, yes/no as `true`/`false`,
/// several choices `;`-separated (HubSpot's multi-select format).
fn text(value: Value<'_>) -> Option<String> {
    match value {
        Value::Text(t) if !t.is_empty() => Some(t.to_owned()),
        Value::Text(_) => None,
        Value::Number(n) => Some(number(n)),
        Value::Bool(b) => Some(b.to_string()),
        Value::List(items) => (!items.is_empty()).then(|| items.join(";")),
    }
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// The lead as it stands when it is pushed.
#[derive(Debug, Clone, PartialEq)]
pub struct Current<'a> {
    pub lead_id: &'a str,
    pub status: &'a str,
    /// The owner or queue holding the lead.
    pub owner: Option<&'a str>,
    /// A rejected or lost lead's reason code.
    pub reason: Option<&'a str>,
    pub deal: Option<(f64, &'a str)>,
    /// The first-touch deadline, if an SLA clock runs.
    pub first_touch_due: Option<i64>,
    /// Whether the first touch happened (the task is done).
    pub touched: bool,
    /// When the lead was routed: the task's due time without an SLA clock.
    pub created_at_ms: i64,
}

/// The properties to write: the snapshot's and the dynamic sources', each through its value
/// map. A mapped property whose value the map does not list is left out.
pub fn properties(
    push: &Push,
    snapshot: &Snapshot,
    current: &Current<'_>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (property, source) in &push.fields {
        let value = match source.as_str() {
            "status" => Some(current.status.to_owned()),
            "owner" => current.owner.map(str::to_owned),
            "reason" => current.reason.map(str::to_owned),
            "deal_amount" => current.deal.map(|(a, _)| number(a)),
            "deal_currency" => current.deal.map(|(_, c)| c.to_owned()),
            "first_touch_due" => current.first_touch_due.map(crate::encode::rfc3339),
            _ => snapshot.properties.get(property).cloned(),
        };
        let Some(value) = value else { continue };
        match push.values.get(property) {
            Some(map) => {
                if let Some(theirs) = map.get(&value) {
                    out.insert(property.clone(), theirs.clone());
                }
            }
            None => {
                out.insert(property.clone(), value);
            }
        }
    }
    out
}

/// The owner's task as it should stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task<'a> {
    pub subject: &'a str,
    pub body: &'a str,
    /// The first-touch deadline (or the routing time without an SLA clock), ms since the epoch.
    pub due_ms: i64,
    /// The CRM owner it is assigned to.
    pub owner: &'a str,
    /// Done once the lead was first touched, or closed.
    pub done: bool,
}

/// The task `push` keeps for the lead, if it keeps one and the lead has a mapped owner.
pub fn task<'a>(push: &'a Push, snapshot: &'a Snapshot, current: &Current<'_>) -> Option<Task<'a>> {
    let text = snapshot.task.as_ref().filter(|_| push.task)?;
    let owner = push.crm_owner(current.owner?)?;
    // A Salesforce queue (`00G…`) may own a Lead but never a Task: while the lead waits in one,
    // its task stays with whoever had it (or waits to be created for whoever takes the lead).
    if push.target == Target::Salesforce && owner.starts_with("00G") {
        return None;
    }
    let closed = matches!(
        current.status,
        "won" | "lost" | "rejected" | "recycled" | "merged"
    );
    Some(Task {
        subject: &text.subject,
        body: &text.body,
        due_ms: current.first_touch_due.unwrap_or(current.created_at_ms),
        owner,
        done: current.touched || closed,
    })
}

/// The record ids a push keeps for a lead (stored on it; empty before its first push).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ids {
    /// HubSpot's contact or Salesforce's Lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
}

/// Where a person opens the record: HubSpot's contact page (with the hub id), or the Lead in
/// Salesforce's Lightning Experience.
pub fn record_url(push: &Push, instance_url: Option<&str>, record: &str) -> Option<String> {
    match push.target {
        Target::Hubspot => push
            .portal
            .as_deref()
            .map(|portal| format!("https://app.hubspot.com/contacts/{portal}/record/0-1/{record}")),
        Target::Salesforce => instance_url.map(|base| {
            format!(
                "{}/lightning/r/Lead/{record}/view",
                base.trim_end_matches('/')
            )
        }),
    }
}

/// How long a `Retry-After` header asks to wait, in ms: delay-seconds, or an HTTP date
/// (IMF-fixdate) against `now_ms`; at most a day, never negative.
pub fn retry_after_ms(header: &str, now_ms: i64) -> Option<i64> {
    let header = header.trim();
    let ms = if let Ok(seconds) = header.parse::<u32>() {
        i64::from(seconds) * 1000
    } else {
        let at = jiff::fmt::rfc2822::parse(header).ok()?.timestamp();
        (at.as_millisecond() - now_ms).max(0)
    };
    Some(ms.min(86_400_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = 1_700_000_000_000;
        for (header, want) in [
            ("10", Some(10_000)),
            (" 0 ", Some(0)),
            ("999999", Some(86_400_000)),
            ("Tue, 14 Nov 2023 22:13:30 GMT", Some(10_000)),
            ("Tue, 14 Nov 2023 22:13:00 GMT", Some(0)),
            ("soon", None),
            ("-5", None),
        ] {
            assert_eq!(retry_after_ms(header, now), want, "{header}");
        }
    }

    #[test]
    fn numbers_read_as_crm_text() {
        for (n, want) in [
            (12.0, "12"),
            (0.5, "0.5"),
            (-3.0, "-3"),
            (1e20, "100000000000000000000"),
        ] {
            assert_eq!(number(n), want);
        }
    }
}
