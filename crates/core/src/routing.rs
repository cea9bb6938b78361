//! Lead routing: who owns a lead. Known accounts first (the account owner, by email domain), then
//! ordered rules whose conditions read the lead's answers and evaluation, each sending the lead to
//! a named owner, a team pool (weighted round robin that respects capacity, working hours and
//! absence) or a queue, with the rule's fallback and a global fallback queue behind it, so no lead
//! is ever unowned. Pure and deterministic: the rotation state and `now` are arguments, and every
//! decision says which rule matched, who was considered, why each was passed over, and which state
//! changes the caller must store (with the values they expect to replace, for optimistic
//! concurrency).

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize, Serializer};

use crate::answer::AnswerMap;
use crate::attribution::Utm;
use crate::company::registrable_domain;
use crate::condition::{Answers, Condition, Value, ValueType};
use crate::email;
use crate::hours::{Closed, Hours};
use crate::status::LeadStatus;

mod check;

pub(crate) use check::{check, check_target, AttributeEnv};

/// `[routing]`: owners, pools, queues, rules, accounts, as the configuration writes them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    /// The queue that takes every lead no rule places: required when anything is routed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<OwnerSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calendars: Vec<CalendarSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<PoolSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<QueueSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleSpec>,
    /// The lead statuses that count against an owner's `capacity`; omitted: `new` and
    /// `accepted` (taken or not, but not yet worked). Only open statuses may be listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_counts: Vec<String>,
    /// Whether a returning person's new lead goes to the owner of their earlier lead while that
    /// owner is not away (default true); otherwise the rules decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_affinity: Option<bool>,
    /// How long after a person's lead was created a repeat submission still merges into it
    /// (while the lead is open), such as `30d` (the default) or `72h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_window: Option<String>,
    /// Where the account step comes among the rules: after the rule with this id (so that rules
    /// before it, such as "students go to nurture", win over an account's owner); omitted: before
    /// every rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts_after: Option<String>,
}

impl RoutingConfig {
    /// Whether the configuration says nothing about routing (then the bundle carries no routing).
    pub fn is_empty(&self) -> bool {
        *self == RoutingConfig::default()
    }
}

/// The merge window when the configuration does not set one: 30 days.
pub const DEFAULT_MERGE_WINDOW_MS: i64 = 30 * 24 * 3_600_000;

/// A person who can own leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerSpec {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// IANA time zone name, such as `America/New_York`.
    pub timezone: String,
    /// Weekly working hours (`mon-fri 09:00-17:30`, see [`crate::hours::Week::parse`]); omitted:
    /// always working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
    /// The most leads this owner may hold in the capacity statuses (`capacity_counts`: by
    /// default new or accepted, not yet worked) before pools and rules pass them over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// The most leads this owner may be given per day (their local calendar day), however many
    /// they have worked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_cap: Option<u32>,
    /// A `[[routing.calendars]]` id whose holidays this owner keeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    /// Further days off, `YYYY-MM-DD` in the owner's time zone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub away: Vec<AwaySpec>,
    /// Their Slack user id (`U…`), when it is not to be looked up by `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<String>,
    /// Whom an SLA step to `team_lead` reaches for this owner's leads (an owner id), unless the
    /// pool that assigned the lead has a `lead`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_lead: Option<String>,
    /// How they hear of their leads personally: `slack` (a direct message), `email` or `none`;
    /// omitted: Slack when `[notify.slack]` is set up, else email when `[notify.email]` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Medium>,
}

/// How an owner hears of their leads personally (`[[routing.owners]] alerts`; see
/// [`crate::alerts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Medium {
    Slack,
    Email,
    /// Not personally: only through channels.
    #[serde(rename = "none")]
    Off,
}

/// An absence: `from` and `to` are local dates (both days included) or instants with an offset
/// (`to` excluded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwaySpec {
    pub from: String,
    pub to: String,
}

/// Named holidays shared by several owners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub holidays: Vec<String>,
}

/// A team sharing leads by weighted round robin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The team lead (an owner id), whom SLA escalation reaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead: Option<String>,
    pub members: Vec<MemberSpec>,
    /// What rotation does with a member outside their working hours (or on a holiday).
    #[serde(default, skip_serializing_if = "OutsideHours::is_skip")]
    pub outside_hours: OutsideHours,
}

/// A pool's `outside_hours`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutsideHours {
    /// Pass them over: the lead goes to someone working now (or the rule's fallback).
    #[default]
    Skip,
    /// Give them their turn anyway: the lead is theirs at once, and a `working_hours` SLA clock
    /// starts at their next working hour.
    Assign,
}

impl OutsideHours {
    pub fn is_skip(&self) -> bool {
        *self == OutsideHours::Skip
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberSpec {
    pub owner: String,
    /// Relative share of the pool's leads, 1 to 1000.
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

/// A shared inbox of unassigned leads that people work from: its members take leads from it
/// (the admin API's `take`), its SLA clocks count its hours, and its team lead is whom a
/// `team_lead` escalation step reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    pub id: String,
    pub name: String,
    /// Owner ids who may take its leads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// The team lead (an owner id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead: Option<String>,
    /// IANA time zone of its hours (default `UTC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Weekly hours when the queue is worked; omitted: around the clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
    /// A `[[routing.calendars]]` id whose holidays the queue keeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
}

/// A known account: leads from its domains (and their subdomains) go to its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    pub id: String,
    pub name: String,
    pub domains: Vec<String>,
    pub owner: String,
}

/// One routing rule, tried in order; the first whose `when` holds (or that has none) places the
/// lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// `owner:ID`, `pool:ID` or `queue:ID`.
    pub to: String,
    /// Where the lead goes when nobody at `to` can take it; omitted: the global fallback queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

/// Where a rule sends a lead.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Owner(String),
    Pool(String),
    Queue(String),
}

impl Target {
    /// Reads `owner:ID`, `pool:ID` or `queue:ID`.
    pub fn parse(text: &str) -> Option<Target> {
        let (kind, id) = text.split_once(':')?;
        let id = id.to_owned();
        match kind {
            "owner" => Some(Target::Owner(id)),
            "pool" => Some(Target::Pool(id)),
            "queue" => Some(Target::Queue(id)),
            _ => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Owner(id) => write!(f, "owner:{id}"),
            Target::Pool(id) => write!(f, "pool:{id}"),
            Target::Queue(id) => write!(f, "queue:{id}"),
        }
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The attributes routing conditions read besides the form's answers, with their types. Text
/// attributes with a fixed set of values list them, so a condition naming another is refused.
pub const ATTRIBUTES: [(&str, ValueType); 23] = [
    ("score", ValueType::Number),
    ("fit", ValueType::Number),
    ("engagement", ValueType::Number),
    ("intent", ValueType::Number),
    ("grade", ValueType::Text),
    ("lifecycle", ValueType::Text),
    ("email_domain", ValueType::Text),
    ("free_email", ValueType::Bool),
    ("disposable_email", ValueType::Bool),
    ("role_account", ValueType::Bool),
    ("country_code", ValueType::Text),
    ("region_code", ValueType::Text),
    ("company_key", ValueType::Text),
    ("company_domain", ValueType::Text),
    ("function", ValueType::Text),
    ("seniority", ValueType::Text),
    ("account", ValueType::Text),
    ("utm_source", ValueType::Text),
    ("utm_medium", ValueType::Text),
    ("utm_campaign", ValueType::Text),
    ("utm_term", ValueType::Text),
    ("utm_content", ValueType::Text),
    ("owner_hint", ValueType::Text),
];

/// The values of `grade` and `lifecycle`.
pub const GRADES: [&str; 4] = ["A", "B", "C", "D"];
pub const LIFECYCLES: [&str; 4] = ["disqualified", "nurture", "mql", "sql"];

/// One owner with working hours compiled.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompiledOwner {
    pub(crate) spec: OwnerSpec,
    pub(crate) hours: Hours,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompiledRule {
    pub(crate) id: String,
    pub(crate) when: Option<Condition>,
    pub(crate) to: Target,
    pub(crate) fallback: Option<Target>,
}

/// The routing configuration, checked, with conditions and working hours compiled: built once per
/// bundle (`Bundle::routing`), used per lead.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledRouting {
    pub(crate) owners: Vec<CompiledOwner>,
    pub(crate) pools: Vec<PoolSpec>,
    pub(crate) queues: Vec<QueueSpec>,
    pub(crate) accounts: Vec<AccountSpec>,
    /// Account domains, lowercase, each with its account's index.
    pub(crate) domains: BTreeMap<String, usize>,
    pub(crate) rules: Vec<CompiledRule>,
    pub(crate) fallback: String,
    /// The statuses counted against capacity (`capacity_counts`, checked).
    pub(crate) capacity_counts: Vec<LeadStatus>,
    pub(crate) owner_affinity: bool,
    pub(crate) merge_window_ms: i64,
    /// The hours of the queues that have them.
    pub(crate) queue_hours: BTreeMap<String, Hours>,
    /// The index of the rule after which the account step comes (`accounts_after`); `None`:
    /// before every rule.
    pub(crate) accounts_after: Option<usize>,
}

impl CompiledRouting {
    /// The lead statuses that count against an owner's capacity: what the caller counts into
    /// [`RotationState::open`].
    pub fn capacity_counts(&self) -> &[LeadStatus] {
        &self.capacity_counts
    }

    /// How long after a person's lead was created a repeat still merges into it.
    pub fn merge_window_ms(&self) -> i64 {
        self.merge_window_ms
    }

    /// The owners with a daily cap: whose recent assignments the caller reads into
    /// [`RotationState::given`].
    pub fn daily_capped(&self) -> Vec<&str> {
        self.owners
            .iter()
            .filter(|o| o.spec.daily_cap.is_some())
            .map(|o| o.spec.id.as_str())
            .collect()
    }

    /// The working hours of an owner (for SLA clocks: they count only the owner's working time).
    pub fn hours(&self, owner: &str) -> Option<&Hours> {
        self.owner(owner).map(|o| &o.hours)
    }

    /// The hours a queue is worked, if it sets any (else it counts around the clock).
    pub fn queue_hours(&self, queue: &str) -> Option<&Hours> {
        self.queue_hours.get(queue)
    }

    /// Whether `owner` may take leads from `queue`.
    pub fn is_queue_member(&self, queue: &str, owner: &str) -> bool {
        self.queue(queue)
            .is_some_and(|q| q.members.iter().any(|m| m == owner))
    }

    /// The owners as configured, in configuration order.
    pub fn owners(&self) -> impl Iterator<Item = &OwnerSpec> {
        self.owners.iter().map(|o| &o.spec)
    }

    /// An owner as configured.
    pub fn owner_spec(&self, owner: &str) -> Option<&OwnerSpec> {
        self.owner(owner).map(|o| &o.spec)
    }

    /// The pools, in configuration order.
    pub fn pools(&self) -> &[PoolSpec] {
        &self.pools
    }

    /// A pool as configured (its `lead` is whom escalation reaches).
    pub fn pool(&self, id: &str) -> Option<&PoolSpec> {
        self.pools.iter().find(|p| p.id == id)
    }

    pub fn queue(&self, id: &str) -> Option<&QueueSpec> {
        self.queues.iter().find(|q| q.id == id)
    }

    /// The global fallback queue.
    pub fn fallback(&self) -> &str {
        &self.fallback
    }

    /// The account a (normalized) email address belongs to: its host is an account domain or a
    /// subdomain of one, the most specific domain deciding.
    pub fn account_for_email(&self, address: &str) -> Option<&AccountSpec> {
        let host = address.rsplit_once('@')?.1.to_ascii_lowercase();
        let mut rest = host.as_str();
        loop {
            if let Some(&i) = self.domains.get(rest) {
                return self.accounts.get(i);
            }
            rest = rest.split_once('.')?.1;
        }
    }

    fn owner(&self, id: &str) -> Option<&CompiledOwner> {
        self.owners.iter().find(|o| o.spec.id == id)
    }
}

/// What routing knows about one lead: its answers (by field id) and what the evaluation derived.
/// Numbers and texts left `None` are unknown, and conditions on them are false.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouteInput {
    pub answers: AnswerMap,
    /// The lead's normalized email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fit: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engagement: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<f64>,
    /// `A` to `D`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    /// `disqualified`, `nurture`, `mql` or `sql`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
    pub utm: Utm,
    /// An owner id suggested by the caller (such as the CRM's owner of the lead's company), for
    /// rules to read as `owner_hint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_hint: Option<String>,
    /// A returning person: the owner of their earlier lead, who takes this one while not away
    /// (unless `owner_affinity = false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_owner: Option<String>,
    /// A throwaway mailbox (by the configuration's `[email]` lists), as the evaluation found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposable_email: Option<bool>,
    /// The country the answers say, ISO 3166-1 alpha-2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// The US state's or Canadian province's code the answers say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region_code: Option<String>,
    /// The company's match key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_key: Option<String>,
    /// The job title's function and seniority codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seniority: Option<String>,
    /// The address's registrable domain and whether it is a mailbox provider's, worked out once
    /// per lead: routing, SLA policies, experiments and channels each read them, and the public
    /// suffix search is most of a lead's routing time. Not part of what a lead says.
    #[serde(skip)]
    #[doc(hidden)]
    pub email_host: std::sync::OnceLock<(Option<String>, Option<bool>)>,
}

impl RouteInput {
    /// The registrable domain of the address and whether it is free mail, computed on first use.
    fn email_host(&self) -> &(Option<String>, Option<bool>) {
        self.email_host.get_or_init(|| {
            let host = self
                .email
                .as_deref()
                .and_then(|e| e.rsplit_once('@'))
                .map(|(_, h)| h.to_ascii_lowercase());
            let domain = host.as_deref().and_then(registrable_domain);
            let free = host.as_deref().map(|h| {
                email::is_free_mail(h) || domain.as_deref().is_some_and(email::is_free_mail)
            });
            (domain, free)
        })
    }
}

/// A lead as routing (and SLA) conditions read it: derived attributes first, then answers.
pub(crate) struct LeadView<'a> {
    lead: &'a RouteInput,
    email_domain: Option<&'a str>,
    free_email: Option<bool>,
    account: Option<&'a str>,
}

impl<'a> LeadView<'a> {
    /// The view of `lead`, whose address belongs to `account` (if a known one).
    pub(crate) fn new(lead: &'a RouteInput, account: Option<&'a AccountSpec>) -> LeadView<'a> {
        let (domain, free) = lead.email_host();
        LeadView {
            lead,
            email_domain: domain.as_deref(),
            free_email: *free,
            account: account.map(|a| a.id.as_str()),
        }
    }
}

impl Answers for LeadView<'_> {
    fn get(&self, field: &str) -> Option<Value<'_>> {
        let l = self.lead;
        let answer = |field: &str| l.answers.get(field).map(|a| a.as_value());
        match field {
            "score" => l.score.map(Value::Number),
            "fit" => l.fit.map(Value::Number),
            "engagement" => l.engagement.map(Value::Number),
            "intent" => l.intent.map(Value::Number),
            "grade" => text(&l.grade),
            "lifecycle" => text(&l.lifecycle),
            "email_domain" => self.email_domain.map(Value::Text),
            "free_email" => self.free_email.map(Value::Bool),
            "disposable_email" => l.disposable_email.map(Value::Bool),
            "country_code" => text(&l.country_code),
            "region_code" => text(&l.region_code),
            "company_key" => text(&l.company_key),
            "company_domain" => self
                .email_domain
                .filter(|_| self.free_email == Some(false))
                .map(Value::Text),
            "function" => text(&l.function),
            "seniority" => text(&l.seniority),
            "role_account" => l
                .email
                .as_deref()
                .map(|e| Value::Bool(email::is_role_account(e))),
            "account" => self.account.map(Value::Text),
            // A form may capture UTM values in hidden fields of the same names: the attribution
            // wins, the answer stands in.
            "utm_source" => text(&l.utm.source).or_else(|| answer(field)),
            "utm_medium" => text(&l.utm.medium).or_else(|| answer(field)),
            "utm_campaign" => text(&l.utm.campaign).or_else(|| answer(field)),
            "utm_term" => text(&l.utm.term).or_else(|| answer(field)),
            "utm_content" => text(&l.utm.content).or_else(|| answer(field)),
            "owner_hint" => text(&l.owner_hint),
            _ => answer(field),
        }
    }
}

fn text(t: &Option<String>) -> Option<Value<'_>> {
    t.as_deref().map(Value::Text)
}

/// Rotation counts and open-lead counts, as the caller stored them (the Worker keeps them in D1).
/// An owner or member with no entry has 0 open leads and no rotation row yet.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RotationState {
    /// Pool id → owner id → leads assigned to that member by the pool's rotation so far.
    pub assigned: BTreeMap<String, BTreeMap<String, u64>>,
    /// Owner id → leads in the capacity statuses ([`CompiledRouting::capacity_counts`]).
    pub open: BTreeMap<String, u32>,
    /// Owner id → when each lead of the last 24 hours was given to them, for owners with a
    /// daily cap ([`CompiledRouting::daily_capped`]); ms since the epoch.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub given: BTreeMap<String, Vec<i64>>,
}

/// A change another decision made first: the stored value is not the one expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub change: StateChange,
    pub found: Option<u64>,
}

impl RotationState {
    /// Applies a decision's changes all or nothing, as the Worker's transaction does: a `joined`
    /// row is inserted only if missing; `assigned` and `opened` succeed only if the stored value
    /// is the expected one.
    pub fn apply(&mut self, changes: &[StateChange]) -> Result<(), Conflict> {
        let mut next = self.clone();
        for change in changes {
            match change {
                StateChange::Joined {
                    pool,
                    owner,
                    assigned,
                } => {
                    next.assigned
                        .entry(pool.clone())
                        .or_default()
                        .entry(owner.clone())
                        .or_insert(*assigned);
                }
                StateChange::Assigned {
                    pool,
                    owner,
                    expected_previous,
                    new_assigned,
                } => {
                    let row = next.assigned.get_mut(pool).and_then(|p| p.get_mut(owner));
                    match row {
                        Some(v) if *v == *expected_previous => *v = *new_assigned,
                        other => {
                            return Err(Conflict {
                                change: change.clone(),
                                found: other.map(|v| *v),
                            })
                        }
                    }
                }
                StateChange::Opened {
                    owner,
                    expected_previous,
                    new_open,
                } => {
                    let v = next.open.entry(owner.clone()).or_insert(0);
                    if *v != *expected_previous {
                        return Err(Conflict {
                            change: change.clone(),
                            found: Some(u64::from(*v)),
                        });
                    }
                    *v = *new_open;
                }
            }
        }
        *self = next;
        Ok(())
    }
}

/// A state change a decision asks the caller to store, in order, in one transaction. Conditional
/// on the expected values, so that two concurrent submissions never both take the same turn: the
/// loser reloads the state and routes again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StateChange {
    /// A member without a rotation row joins the pool at its current level: insert the row with
    /// `assigned` unless one exists (`INSERT … ON CONFLICT DO NOTHING`).
    Joined {
        pool: String,
        owner: String,
        assigned: u64,
    },
    /// The member took a turn: `UPDATE … SET assigned = new_assigned WHERE assigned =
    /// expected_previous`.
    Assigned {
        pool: String,
        owner: String,
        expected_previous: u64,
        new_assigned: u64,
    },
    /// The owner has one more open lead: `UPDATE … SET open = new_open WHERE open =
    /// expected_previous` (a missing row counts as 0).
    Opened {
        owner: String,
        expected_previous: u32,
        new_open: u32,
    },
}

/// Why a candidate owner did not get the lead. The codes are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Absent (an `away` period).
    Away,
    /// A holiday in the owner's time zone.
    Holiday,
    /// Not within the owner's working hours, in their time zone.
    OutsideHours,
    /// Holding as many leads in the capacity statuses as their capacity allows.
    AtCapacity,
    /// Given as many leads today (their local day) as their daily cap allows.
    DailyCap,
    /// Eligible, but another member was due in the rotation.
    NotNext,
    /// Holds the lead now and let its SLA lapse: a reassignment ([`reassign`]) moves the lead
    /// to someone else.
    CurrentOwner,
}

impl SkipReason {
    pub const fn code(self) -> &'static str {
        match self {
            SkipReason::Away => "away",
            SkipReason::Holiday => "holiday",
            SkipReason::OutsideHours => "outside_hours",
            SkipReason::AtCapacity => "at_capacity",
            SkipReason::DailyCap => "daily_cap",
            SkipReason::NotNext => "not_next",
            SkipReason::CurrentOwner => "current_owner",
        }
    }
}

/// One owner considered for a target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub owner: String,
    pub chosen: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip: Option<SkipReason>,
    /// What happened to this candidate, in plain language.
    pub message: String,
    /// In a pool: the member's weight and rotation count (before this decision).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned: Option<u64>,
}

/// What placed the lead, or tried to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum By {
    /// The email domain belongs to a known account.
    Account { account: String },
    /// The rule matched.
    Rule { rule: String },
    /// The rule matched but nobody at its target could take the lead.
    RuleFallback { rule: String },
    /// No rule placed the lead.
    GlobalFallback,
    /// An SLA escalation step moved the lead away from owner `from` ([`reassign`]).
    Reassigned { from: String },
    /// A returning person: the owner of their earlier lead keeps them (owner affinity).
    Returning,
}

/// One target tried, with everyone considered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    pub by: By,
    pub target: Target,
    pub candidates: Vec<Candidate>,
}

/// Who has the lead now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    Owner(String),
    Queue(String),
}

impl Assignee {
    /// How a lead's holder is stored (`leads.owner_kind`): `owner` or `queue`.
    pub const fn kind(&self) -> &'static str {
        match self {
            Assignee::Owner(_) => "owner",
            Assignee::Queue(_) => "queue",
        }
    }

    /// The owner's or the queue's id.
    pub fn id(&self) -> &str {
        match self {
            Assignee::Owner(id) | Assignee::Queue(id) => id,
        }
    }
}

/// A routing decision: who has the lead, why, and what to store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub assignee: Assignee,
    /// The pool whose rotation chose the owner, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// What placed the lead: the account, the rule, the rule's fallback or the global fallback.
    pub by: By,
    /// The account the email domain belongs to, if any (even when its owner could not take it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Rules tried before the one that matched, whose conditions did not hold.
    pub unmatched_rules: Vec<String>,
    /// Every target tried, in order, the last one placing the lead.
    pub attempts: Vec<Attempt>,
    /// What the caller stores, in one transaction.
    pub changes: Vec<StateChange>,
    /// One sentence for people.
    pub summary: String,
}

impl Decision {
    /// The whole decision as lines of plain text, for the lead's timeline and the CLI.
    pub fn explain(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.summary);
        if !self.unmatched_rules.is_empty() {
            let _ = writeln!(
                out,
                "rules not matching: {}",
                self.unmatched_rules.join(", ")
            );
        }
        for attempt in &self.attempts {
            let by = match &attempt.by {
                By::Account { account } => format!("account {account}"),
                By::Rule { rule } => format!("rule {rule}"),
                By::RuleFallback { rule } => format!("fallback of rule {rule}"),
                By::GlobalFallback => "global fallback".to_owned(),
                By::Reassigned { from } => format!("reassigned from {from}"),
                By::Returning => "returning person".to_owned(),
            };
            let _ = writeln!(out, "{by} → {}", attempt.target);
            for c in &attempt.candidates {
                let status = match (c.chosen, c.skip) {
                    (true, _) => "chosen",
                    (false, Some(s)) => s.code(),
                    (false, None) => "",
                };
                let _ = writeln!(out, "  {} [{status}]: {}", c.owner, c.message);
            }
        }
        out
    }
}

/// Routes one lead. Deterministic: the same routing, lead, state and `now_ms` (ms since the epoch)
/// always give the same decision.
///
/// 1. If the email's domain belongs to a known account, its owner takes the lead, even outside
///    working hours or over capacity (the account relationship matters more than the balance);
///    only an absent owner passes it on, and the rules decide.
/// 2. The first rule whose condition holds sends the lead to its target: a named owner (unless
///    away or at capacity; working hours do not apply, the SLA clock waits for them), a pool
///    (the eligible member furthest behind its weighted share), or a queue (always).
/// 3. If nobody at the target can take it, the rule's fallback target is tried, then the global
///    fallback queue. A lead no rule matches goes to the global fallback queue.
pub fn route(
    routing: &CompiledRouting,
    lead: &RouteInput,
    state: &RotationState,
    now_ms: i64,
) -> Decision {
    route_with(routing, lead, state, now_ms, None)
}

/// [`route`], with the target of the rule that matches replaced by `target` (a routing
/// experiment's arm); its fallback and the global fallback stay as they are. An account's owner
/// still comes first.
pub fn route_with(
    routing: &CompiledRouting,
    lead: &RouteInput,
    state: &RotationState,
    now_ms: i64,
    target: Option<&Target>,
) -> Decision {
    let account = lead
        .email
        .as_deref()
        .and_then(|e| routing.account_for_email(e));
    let view = LeadView::new(lead, account);
    let mut router = Router::new(routing, state, now_ms);
    let placed = |router: Router<'_>, placed: Placed, by: By, unmatched: Vec<String>| {
        router.decide(placed, by, account, unmatched)
    };
    // The account's owner, unless away: first, or after the rule `accounts_after` names.
    let by_account = |router: &mut Router<'_>| {
        let account = account?;
        let by = By::Account {
            account: account.id.clone(),
        };
        let target = Target::Owner(account.owner.clone());
        let p = router.try_target(&target, by.clone(), Strictness::AwayOnly)?;
        Some((p, by))
    };

    if routing.accounts_after.is_none() {
        if let Some((p, by)) = by_account(&mut router) {
            return placed(router, p, by, Vec::new());
        }
    }
    let previous = lead
        .previous_owner
        .as_ref()
        .filter(|_| routing.owner_affinity);
    if let Some(owner) = previous.filter(|o| routing.owner(o).is_some()) {
        let target = Target::Owner(owner.clone());
        if let Some(p) = router.try_target(&target, By::Returning, Strictness::AwayOnly) {
            return placed(router, p, By::Returning, Vec::new());
        }
    }
    let mut unmatched = Vec::new();
    for (i, rule) in routing.rules.iter().enumerate() {
        if !rule.when.as_ref().is_none_or(|c| c.eval(&view)) {
            unmatched.push(rule.id.clone());
            if routing.accounts_after == Some(i) {
                if let Some((p, by)) = by_account(&mut router) {
                    return placed(router, p, by, unmatched);
                }
            }
            continue;
        }
        let by = By::Rule {
            rule: rule.id.clone(),
        };
        if let Some(p) = router.try_target(target.unwrap_or(&rule.to), by.clone(), Strictness::Full)
        {
            return placed(router, p, by, unmatched);
        }
        if let Some(fallback) = &rule.fallback {
            let by = By::RuleFallback {
                rule: rule.id.clone(),
            };
            if let Some(p) = router.try_target(fallback, by.clone(), Strictness::Full) {
                return placed(router, p, by, unmatched);
            }
        }
        break;
    }
    let target = Target::Queue(routing.fallback.clone());
    let p = router
        .try_target(&target, By::GlobalFallback, Strictness::Full)
        .unwrap_or(Placed::Queue(routing.fallback.clone()));
    placed(router, p, By::GlobalFallback, unmatched)
}

/// Moves a lead whose SLA lapsed to the next eligible member of pool `pool`, away from its
/// current owner `current`: the escalation step's reassignment (`Recipient::reassign_in` names
/// the pool). The member is chosen exactly as [`route`] chooses within a pool (the same
/// eligibility, the same weighted rotation, the same state changes: the new owner takes a turn
/// and gains an open lead), except that `current` is never chosen: they appear among the
/// candidates as [`SkipReason::CurrentOwner`]. A `current` who is not a member changes nothing.
///
/// `None` when the pool does not exist or nobody else in it can take the lead now: the lead
/// stays where it is, and the caller records that. Deterministic, like [`route`].
pub fn reassign(
    routing: &CompiledRouting,
    pool: &str,
    current: &str,
    state: &RotationState,
    now_ms: i64,
) -> Option<Decision> {
    let mut router = Router::new(routing, state, now_ms);
    router.current = Some(current);
    let by = By::Reassigned {
        from: current.to_owned(),
    };
    let placed = router.try_target(&Target::Pool(pool.to_owned()), by.clone(), Strictness::Full)?;
    Some(router.decide(placed, by, None, Vec::new()))
}

/// One member of a pool as the admin API shows it: weight, rotation count, open leads against
/// capacity, and whether they could take a lead right now (and if not, why).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberStatus {
    pub owner: String,
    pub name: String,
    pub weight: u32,
    /// Leads the rotation gave them so far (as stored; a member without a row shows the level
    /// they would join at).
    pub assigned: u64,
    pub open: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// Eligible right now: not away, within working hours, below capacity.
    pub available: bool,
    /// Gets the pool's next lead, if it came now.
    pub next: bool,
    /// Why not available (`away`, `holiday`, `outside_hours`, `at_capacity`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<SkipReason>,
    pub message: String,
}

/// A pool's rotation as it stands at `now_ms`: who is next and every member's standing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolStatus {
    pub pool: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The member the next lead would go to; `None` when nobody is available.
    pub next: Option<String>,
    pub members: Vec<MemberStatus>,
}

/// The standing of pool `id` at `now_ms` with `state`, exactly as [`route`] would see it; `None`
/// for an unknown pool.
pub fn pool_status(
    routing: &CompiledRouting,
    id: &str,
    state: &RotationState,
    now_ms: i64,
) -> Option<PoolStatus> {
    let pool = routing.pool(id)?;
    let mut router = Router::new(routing, state, now_ms);
    let mut candidates = Vec::new();
    router.try_pool(id, &mut candidates);
    let members = candidates
        .into_iter()
        .map(|c| {
            let owner = routing.owner(&c.owner);
            let unavailable = c.skip.filter(|s| *s != SkipReason::NotNext);
            MemberStatus {
                name: owner.map_or_else(|| c.owner.clone(), |o| o.spec.name.clone()),
                weight: c.weight.unwrap_or(1),
                assigned: c.assigned.unwrap_or(0),
                open: router.open(&c.owner),
                capacity: owner.and_then(|o| o.spec.capacity),
                available: unavailable.is_none(),
                next: c.chosen,
                unavailable,
                message: c.message,
                owner: c.owner,
            }
        })
        .collect::<Vec<_>>();
    Some(PoolStatus {
        pool: id.to_owned(),
        name: pool.name.clone(),
        next: members.iter().find(|m| m.next).map(|m| m.owner.clone()),
        members,
    })
}

/// Which eligibility tests apply to an owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strictness {
    /// Account owners: only absence passes a lead on.
    AwayOnly,
    /// Named owners: absence and capacity (hours do not apply); pool members: all three.
    Full,
}

enum Placed {
    Owner { owner: String, pool: Option<String> },
    Queue(String),
}

struct Router<'a> {
    routing: &'a CompiledRouting,
    state: &'a RotationState,
    now_ms: i64,
    /// The owner a reassignment moves the lead away from: pools pass them over.
    current: Option<&'a str>,
    attempts: Vec<Attempt>,
    changes: Vec<StateChange>,
}

impl<'a> Router<'a> {
    fn new(routing: &'a CompiledRouting, state: &'a RotationState, now_ms: i64) -> Router<'a> {
        Router {
            routing,
            state,
            now_ms,
            current: None,
            attempts: Vec::new(),
            changes: Vec::new(),
        }
    }

    fn open(&self, owner: &str) -> u32 {
        self.state.open.get(owner).copied().unwrap_or(0)
    }

    /// Why `owner` cannot take a lead now, if they cannot. `with_hours`: working hours apply.
    fn ineligible(
        &self,
        owner: &CompiledOwner,
        strictness: Strictness,
        with_hours: bool,
    ) -> Option<(SkipReason, String)> {
        let hours = &owner.hours;
        let closed = hours.closed(self.now_ms);
        if let Some(Closed::Away { until_ms }) = closed {
            return Some((
                SkipReason::Away,
                format!(
                    "{} is away until {} ({})",
                    owner.spec.name,
                    hours.local_time(until_ms),
                    hours.timezone()
                ),
            ));
        }
        if strictness == Strictness::AwayOnly {
            return None;
        }
        if with_hours {
            match closed {
                Some(Closed::Holiday) => {
                    return Some((
                        SkipReason::Holiday,
                        format!(
                            "{} is on a holiday ({} in {})",
                            owner.spec.name,
                            hours.local_time(self.now_ms),
                            hours.timezone()
                        ),
                    ))
                }
                Some(Closed::OutsideHours) => {
                    return Some((
                        SkipReason::OutsideHours,
                        format!(
                            "{} is outside working hours ({}; it is {} in {})",
                            owner.spec.name,
                            owner.spec.hours.as_deref().unwrap_or("always"),
                            hours.local_time(self.now_ms),
                            hours.timezone()
                        ),
                    ))
                }
                _ => {}
            }
        }
        let open = self.open(&owner.spec.id);
        if let Some(cap) = owner.spec.capacity.filter(|cap| open >= *cap) {
            let counted: Vec<&str> = self
                .routing
                .capacity_counts
                .iter()
                .map(|s| s.as_str())
                .collect();
            return Some((
                SkipReason::AtCapacity,
                format!(
                    "{} is at capacity ({open} leads {}, at most {cap})",
                    owner.spec.name,
                    counted.join(" or ")
                ),
            ));
        }
        let cap = owner.spec.daily_cap?;
        let today = hours.day_start(self.now_ms);
        let given = self
            .state
            .given
            .get(&owner.spec.id)
            .map_or(0, |times| times.iter().filter(|t| **t >= today).count());
        (given >= cap as usize).then(|| {
            (
                SkipReason::DailyCap,
                format!(
                    "{} reached the daily cap ({given} leads today, at most {cap})",
                    owner.spec.name
                ),
            )
        })
    }

    fn opened(&mut self, owner: &str) {
        let open = self.open(owner);
        self.changes.push(StateChange::Opened {
            owner: owner.to_owned(),
            expected_previous: open,
            new_open: open.saturating_add(1),
        });
    }

    fn try_target(&mut self, target: &Target, by: By, strictness: Strictness) -> Option<Placed> {
        let mut candidates = Vec::new();
        let placed = match target {
            Target::Queue(id) => Some(Placed::Queue(id.clone())),
            Target::Owner(id) => match self.routing.owner(id) {
                None => None,
                Some(owner) => match self.ineligible(owner, strictness, false) {
                    Some((skip, message)) => {
                        candidates.push(Candidate {
                            owner: id.clone(),
                            chosen: false,
                            skip: Some(skip),
                            message,
                            weight: None,
                            assigned: None,
                        });
                        None
                    }
                    None => {
                        let message = match by {
                            By::Account { .. } => {
                                format!("{} owns the account", owner.spec.name)
                            }
                            By::Returning => {
                                format!("{} had this person's earlier lead", owner.spec.name)
                            }
                            _ => format!("{} is available", owner.spec.name),
                        };
                        candidates.push(Candidate {
                            owner: id.clone(),
                            chosen: true,
                            skip: None,
                            message,
                            weight: None,
                            assigned: None,
                        });
                        self.opened(id);
                        Some(Placed::Owner {
                            owner: id.clone(),
                            pool: None,
                        })
                    }
                },
            },
            Target::Pool(id) => self.try_pool(id, &mut candidates),
        };
        self.attempts.push(Attempt {
            by,
            target: target.clone(),
            candidates,
        });
        placed
    }

    /// Weighted round robin: the eligible member with the smallest count per weight (the first
    /// in pool order on a tie). A member without a row joins at the pool's level (the smallest
    /// count per weight among the rows), and a member far behind (back from an absence, or
    /// re-added) counts as at most one round behind the furthest ahead, so nobody is flooded.
    fn try_pool(&mut self, id: &str, candidates: &mut Vec<Candidate>) -> Option<Placed> {
        let pool = self.routing.pool(id)?;
        let rows = self.state.assigned.get(id);
        let row = |owner: &str| rows.and_then(|r| r.get(owner)).copied();
        // The smallest and largest count per weight among members with rows, as fractions.
        let mut low: Option<(u64, u32)> = None;
        let mut high: Option<(u64, u32)> = None;
        for m in &pool.members {
            if let Some(a) = row(&m.owner) {
                let w = m.weight.max(1);
                if low.is_none_or(|(la, lw)| ratio_lt((a, w), (la, lw))) {
                    low = Some((a, w));
                }
                if high.is_none_or(|(ha, hw)| ratio_lt((ha, hw), (a, w))) {
                    high = Some((a, w));
                }
            }
        }
        let scaled = |(a, w): (u64, u32), weight: u32| -> u64 {
            let v = u128::from(a) * u128::from(weight) / u128::from(w.max(1));
            u64::try_from(v).unwrap_or(u64::MAX)
        };
        // (member index, stored count, effective count)
        let mut counts = Vec::with_capacity(pool.members.len());
        for m in &pool.members {
            let w = m.weight.max(1);
            let stored = match row(&m.owner) {
                Some(a) => a,
                None => {
                    let baseline = low.map_or(0, |l| scaled(l, w));
                    self.changes.push(StateChange::Joined {
                        pool: id.to_owned(),
                        owner: m.owner.clone(),
                        assigned: baseline,
                    });
                    baseline
                }
            };
            let floor = high.map_or(0, |h| scaled(h, w).saturating_sub(u64::from(w)));
            counts.push((stored, stored.max(floor)));
        }
        let mut best: Option<usize> = None;
        let mut skips: Vec<Option<(SkipReason, String)>> = Vec::with_capacity(counts.len());
        for (i, m) in pool.members.iter().enumerate() {
            let skip = match self.routing.owner(&m.owner) {
                // Named first, whatever else holds: it is why a reassignment passes them over.
                Some(owner) if self.current == Some(m.owner.as_str()) => Some((
                    SkipReason::CurrentOwner,
                    format!(
                        "{} has the lead and let its SLA lapse, so it goes to someone else",
                        owner.spec.name
                    ),
                )),
                Some(owner) => {
                    let with_hours = pool.outside_hours == OutsideHours::Skip;
                    self.ineligible(owner, Strictness::Full, with_hours)
                }
                None => Some((SkipReason::Away, format!("{} is not an owner", m.owner))),
            };
            if skip.is_none()
                && best.is_none_or(|b| {
                    ratio_lt(
                        (counts[i].1, m.weight.max(1)),
                        (counts[b].1, pool.members[b].weight.max(1)),
                    )
                })
            {
                best = Some(i);
            }
            skips.push(skip);
        }
        let name = |owner: &str| {
            self.routing
                .owner(owner)
                .map_or_else(|| owner.to_owned(), |o| o.spec.name.clone())
        };
        for (i, (m, skip)) in pool.members.iter().zip(skips).enumerate() {
            let chosen = best == Some(i);
            let (skip, message) = match skip {
                Some((s, msg)) => (Some(s), msg),
                None if chosen => (
                    None,
                    format!(
                        "{} is furthest behind in the rotation ({} assigned, weight {})",
                        name(&m.owner),
                        counts[i].0,
                        m.weight
                    ),
                ),
                None => (
                    Some(SkipReason::NotNext),
                    format!(
                        "{} is available, but {} is due first ({} assigned, weight {})",
                        name(&m.owner),
                        best.map_or_else(String::new, |b| name(&pool.members[b].owner)),
                        counts[i].0,
                        m.weight
                    ),
                ),
            };
            candidates.push(Candidate {
                owner: m.owner.clone(),
                chosen,
                skip,
                message,
                weight: Some(m.weight),
                assigned: Some(counts[i].0),
            });
        }
        let b = best?;
        let owner = pool.members[b].owner.clone();
        self.changes.push(StateChange::Assigned {
            pool: id.to_owned(),
            owner: owner.clone(),
            expected_previous: counts[b].0,
            new_assigned: counts[b].1.saturating_add(1),
        });
        self.opened(&owner);
        Some(Placed::Owner {
            owner,
            pool: Some(id.to_owned()),
        })
    }

    fn decide(
        self,
        placed: Placed,
        by: By,
        account: Option<&AccountSpec>,
        unmatched_rules: Vec<String>,
    ) -> Decision {
        let name = |owner: &str| {
            self.routing
                .owner(owner)
                .map_or_else(|| owner.to_owned(), |o| o.spec.name.clone())
        };
        let how = || {
            match &by {
            By::Account { account } => format!("the lead's company is the known account {account}"),
            By::Rule { rule } => format!("rule {rule} matched"),
            By::RuleFallback { rule } => {
                format!("rule {rule} matched but nobody at its target could take the lead, so its fallback applied")
            }
            By::GlobalFallback if unmatched_rules.len() == self.routing.rules.len() => {
                "no rule matched, so the global fallback queue has it".to_owned()
            }
            By::GlobalFallback => {
                "nobody the matching rule names could take the lead, so the global fallback queue has it".to_owned()
            }
            By::Reassigned { from } => format!("the SLA lapsed with {}", name(from)),
            By::Returning => "they had this person's earlier lead (owner affinity)".to_owned(),
        }
        };
        let (assignee, pool, summary) = match placed {
            Placed::Owner { owner, pool } => {
                let summary = match (&by, pool.as_deref()) {
                    (By::Reassigned { from }, Some(p)) => format!(
                        "Reassigned from {} to {} ({p} pool rotation) after the SLA lapsed.",
                        name(from),
                        name(&owner)
                    ),
                    (_, Some(p)) => format!(
                        "Assigned to {} by the {p} rotation: {}.",
                        name(&owner),
                        how()
                    ),
                    (_, None) => format!("Assigned to {}: {}.", name(&owner), how()),
                };
                (Assignee::Owner(owner), pool, summary)
            }
            Placed::Queue(queue) => {
                let name = self
                    .routing
                    .queue(&queue)
                    .map_or_else(|| queue.clone(), |q| q.name.clone());
                let summary = format!("Queued in {name}: {}.", how());
                (Assignee::Queue(queue), None, summary)
            }
        };
        // Rows of members who joined a pool that was tried are kept even when the lead went
        // elsewhere: their level was fixed when they were first seen.
        Decision {
            assignee,
            pool,
            by,
            account: account.map(|a| a.id.clone()),
            unmatched_rules,
            attempts: self.attempts,
            changes: self.changes,
            summary,
        }
    }
}

/// `a.0 / a.1 < b.0 / b.1`, exactly.
fn ratio_lt(a: (u64, u32), b: (u64, u32)) -> bool {
    u128::from(a.0) * u128::from(b.1) < u128::from(b.0) * u128::from(a.1)
}
