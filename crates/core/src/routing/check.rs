//! `[routing]`'s checks: ids, references between owners, pools, queues, rules and accounts, time
//! zones, working hours, dates, weights, account domains and rule conditions, each section in a
//! function of its own; `check_target` (also used by the SLA and the experiments); and
//! `AttributeEnv`, what routing and SLA conditions are type-checked against.

use std::collections::BTreeMap;

use crate::check::{
    compile_condition, duplicate, field_path, invalid_id, problem, unknown_ref, valid_id,
    ConfigCode, FirstSeen, Found, Step, Types,
};
use crate::condition::{FieldType, ValueType};
use crate::disposable::override_problem;
use crate::form::FormSpec;
use crate::hours::{timezone_problem, Hours, Week};
use crate::status::LeadStatus;

use super::{
    AccountSpec, CompiledOwner, CompiledRouting, CompiledRule, OwnerSpec, PoolSpec, QueueSpec,
    RoutingConfig, Target, ATTRIBUTES, GRADES, LIFECYCLES,
};

/// Checks `[routing]` and compiles it: ids, references between owners, pools, queues, rules and
/// accounts, time zones, working hours, dates, weights, account domains and rule conditions (which
/// read the form fields and the routing attributes). `None` when there is no routing or it has a
/// problem.
pub(crate) fn check(
    r: &RoutingConfig,
    forms: &[FormSpec],
    attributes: &AttributeEnv<'_>,
    found: &mut Vec<Found>,
) -> Option<CompiledRouting> {
    if r.is_empty() {
        return None;
    }
    let before = found.len();
    check_ids(r, found);
    check_calendars(r, found);
    let owners = r
        .owners
        .iter()
        .enumerate()
        .filter_map(|(oi, owner)| check_owner(r, oi, owner, found))
        .collect();
    for (pi, pool) in r.pools.iter().enumerate() {
        check_pool(r, pi, pool, found);
    }
    let queue_hours = r
        .queues
        .iter()
        .enumerate()
        .filter_map(|(qi, q)| check_queue(r, qi, q, found).map(|h| (q.id.clone(), h)))
        .collect();
    let fallback = check_fallback(r, found);
    check_field_names(forms, found);
    let rules = check_rules(r, attributes, found);
    let domains = check_accounts(r, found);
    let capacity_counts = check_capacity_counts(r, found);
    let merge_window_ms = match &r.merge_window {
        None => super::DEFAULT_MERGE_WINDOW_MS,
        Some(text) => crate::duration::parse_duration(text).unwrap_or_else(|message| {
            found.push(problem(
                ConfigCode::InvalidDuration,
                format!("merge_window: {message}"),
                routing_at(&[Step::Key("merge_window")]),
            ));
            0
        }),
    };
    let accounts_after = r.accounts_after.as_deref().and_then(|id| {
        let at = r.rules.iter().position(|rule| rule.id == id);
        if at.is_none() {
            let ids = r.rules.iter().map(|rule| rule.id.as_str());
            let path = routing_at(&[Step::Key("accounts_after")]);
            found.push(unknown_ref(
                ConfigCode::InvalidTarget,
                "routing.rules",
                id,
                ids,
                path,
            ));
        }
        at
    });
    if found.len() > before {
        return None;
    }
    Some(CompiledRouting {
        owners,
        pools: r.pools.clone(),
        queues: r.queues.clone(),
        accounts: r.accounts.clone(),
        domains: domains
            .into_iter()
            .map(|(d, i)| (d.to_owned(), i))
            .collect(),
        rules,
        fallback: fallback?,
        capacity_counts,
        owner_affinity: r.owner_affinity.unwrap_or(true),
        merge_window_ms,
        queue_hours,
        accounts_after,
    })
}

/// Where a routing problem is: `routing.<rest>`.
fn routing_at(rest: &[Step<'static>]) -> Vec<Step<'static>> {
    let mut path = vec![Step::Key("routing")];
    path.extend_from_slice(rest);
    path
}

/// Where a problem of the `index`th entry of `routing.<table>` is: `routing.<table>[index].<rest>`.
fn entry_at(table: &'static str, index: usize, rest: &[Step<'static>]) -> Vec<Step<'static>> {
    let mut p = vec![Step::Key(table), Step::Index(index)];
    p.extend_from_slice(rest);
    routing_at(&p)
}

/// `config.unknown_owner` for a reference to `id`, with the closest owner id suggested.
fn unknown_owner(r: &RoutingConfig, id: &str, path: Vec<Step<'static>>) -> Found {
    let owners = r.owners.iter().map(|o| o.id.as_str());
    unknown_ref(ConfigCode::UnknownOwner, "routing.owners", id, owners, path)
}

fn is_owner(r: &RoutingConfig, id: &str) -> bool {
    r.owners.iter().any(|o| o.id == id)
}

/// The ids of every table: valid, and each once within its table.
fn check_ids(r: &RoutingConfig, found: &mut Vec<Found>) {
    let tables: [(&str, &'static str, Vec<&str>); 6] = [
        (
            "owner",
            "owners",
            r.owners.iter().map(|o| o.id.as_str()).collect(),
        ),
        (
            "calendar",
            "calendars",
            r.calendars.iter().map(|c| c.id.as_str()).collect(),
        ),
        (
            "pool",
            "pools",
            r.pools.iter().map(|p| p.id.as_str()).collect(),
        ),
        (
            "queue",
            "queues",
            r.queues.iter().map(|q| q.id.as_str()).collect(),
        ),
        (
            "account",
            "accounts",
            r.accounts.iter().map(|a| a.id.as_str()).collect(),
        ),
        (
            "routing rule",
            "rules",
            r.rules.iter().map(|x| x.id.as_str()).collect(),
        ),
    ];
    for (what, table, ids) in tables {
        let mut seen = FirstSeen::default();
        for (i, id) in ids.into_iter().enumerate() {
            let path = entry_at(table, i, &[Step::Key("id")]);
            if !valid_id(id) {
                found.push(invalid_id(what, id, path));
            } else if let Some(first) = seen.seen_before(id, &path) {
                let message = format!("{what} id \"{id}\" is used twice");
                found.push(duplicate(message, path, first));
            }
        }
    }
}

/// Calendars: shared holidays, each a date.
fn check_calendars(r: &RoutingConfig, found: &mut Vec<Found>) {
    for (ci, calendar) in r.calendars.iter().enumerate() {
        for (i, date) in calendar.holidays.iter().enumerate() {
            if let Err(message) = crate::hours::parse_date(date) {
                let path = entry_at("calendars", ci, &[Step::Key("holidays"), Step::Index(i)]);
                found.push(problem(ConfigCode::InvalidDate, message, path));
            }
        }
    }
}

/// One owner: email, time zone, hours, holidays (their own and their calendar's) and absences.
/// The owner compiled, unless their hours cannot be built.
fn check_owner(
    r: &RoutingConfig,
    oi: usize,
    owner: &OwnerSpec,
    found: &mut Vec<Found>,
) -> Option<CompiledOwner> {
    let at = |rest: &[Step<'static>]| entry_at("owners", oi, rest);
    if let Some(lead) = owner.team_lead.as_deref() {
        if lead == owner.id || !is_owner(r, lead) {
            found.push(problem(
                ConfigCode::UnknownOwner,
                format!(
                    "team_lead \"{lead}\" must be another [[routing.owners]] id than \"{}\"",
                    owner.id
                ),
                at(&[Step::Key("team_lead")]),
            ));
        }
    }
    if let Some(address) = &owner.email {
        if crate::email::normalize(address).as_deref() != Ok(address.as_str()) {
            found.push(problem(
                ConfigCode::InvalidEmail,
                format!("\"{address}\" is not a normalized email address"),
                at(&[Step::Key("email")]),
            ));
        }
    }
    let schedule = Schedule {
        timezone: &owner.timezone,
        hours: owner.hours.as_deref(),
        calendar: owner.calendar.as_deref(),
    };
    let mut hours = schedule.compile(r, &at, found)?;
    let holidays = owner
        .holidays
        .iter()
        .enumerate()
        .map(|(i, date)| (date, at(&[Step::Key("holidays"), Step::Index(i)])));
    for (date, path) in holidays {
        if let Err(message) = hours.add_holiday(date) {
            // A calendar's bad date is reported once, at the calendar.
            if !path.is_empty() {
                found.push(problem(ConfigCode::InvalidDate, message, path));
            }
        }
    }
    for (i, away) in owner.away.iter().enumerate() {
        if let Err(message) = hours.add_away(&away.from, &away.to) {
            let code = if message.contains("before it starts") {
                ConfigCode::InvalidPeriod
            } else {
                ConfigCode::InvalidDate
            };
            found.push(problem(
                code,
                message,
                at(&[Step::Key("away"), Step::Index(i)]),
            ));
        }
    }
    Some(CompiledOwner {
        spec: owner.clone(),
        hours,
    })
}

/// One pool: members (owners, each once, weights 1 to 1000) and its team lead (an owner).
/// Working hours as an owner or a queue writes them: a time zone, a week, a shared calendar.
struct Schedule<'a> {
    timezone: &'a str,
    hours: Option<&'a str>,
    calendar: Option<&'a str>,
}

impl Schedule<'_> {
    /// The hours, with the calendar's holidays (`config.invalid_hours`,
    /// `config.invalid_timezone`, `config.unknown_calendar`; a calendar's bad date is reported
    /// once, at the calendar).
    fn compile(
        &self,
        r: &RoutingConfig,
        at: &dyn Fn(&[Step<'static>]) -> Vec<Step<'static>>,
        found: &mut Vec<Found>,
    ) -> Option<Hours> {
        let week = match self.hours.map(Week::parse) {
            None => Some(Week::always()),
            Some(Ok(week)) => Some(week),
            Some(Err(message)) => {
                found.push(problem(
                    ConfigCode::InvalidHours,
                    message,
                    at(&[Step::Key("hours")]),
                ));
                None
            }
        };
        if let Some(message) = timezone_problem(self.timezone) {
            found.push(problem(
                ConfigCode::InvalidTimezone,
                message,
                at(&[Step::Key("timezone")]),
            ));
            return None;
        }
        let mut hours = Hours::new(self.timezone, week?).ok()?;
        if let Some(calendar) = self.calendar {
            match r.calendars.iter().find(|c| c.id == calendar) {
                Some(c) => {
                    for date in &c.holidays {
                        let _ = hours.add_holiday(date);
                    }
                }
                None => found.push(unknown_ref(
                    ConfigCode::UnknownCalendar,
                    "routing.calendars",
                    calendar,
                    r.calendars.iter().map(|c| c.id.as_str()),
                    at(&[Step::Key("calendar")]),
                )),
            }
        }
        Some(hours)
    }
}

/// A queue people work: its members and team lead are owners (`config.unknown_owner`), and its
/// hours (when it has any) compile like an owner's. Answers the queue's hours: `None` for a
/// queue open around the clock.
fn check_queue(
    r: &RoutingConfig,
    qi: usize,
    queue: &QueueSpec,
    found: &mut Vec<Found>,
) -> Option<Hours> {
    let at = |rest: &[Step<'static>]| entry_at("queues", qi, rest);
    for (i, member) in queue.members.iter().enumerate() {
        if !is_owner(r, member) {
            let path = at(&[Step::Key("members"), Step::Index(i)]);
            found.push(unknown_owner(r, member, path));
        }
    }
    if let Some(lead) = queue.lead.as_deref() {
        if !is_owner(r, lead) {
            found.push(unknown_owner(r, lead, at(&[Step::Key("lead")])));
        }
    }
    if queue.hours.is_none() && queue.timezone.is_none() && queue.calendar.is_none() {
        return None;
    }
    let schedule = Schedule {
        timezone: queue.timezone.as_deref().unwrap_or("UTC"),
        hours: queue.hours.as_deref(),
        calendar: queue.calendar.as_deref(),
    };
    schedule.compile(r, &at, found)
}

fn check_pool(r: &RoutingConfig, pi: usize, pool: &PoolSpec, found: &mut Vec<Found>) {
    let at = |rest: &[Step<'static>]| entry_at("pools", pi, rest);
    if pool.members.is_empty() {
        found.push(problem(
            ConfigCode::EmptyPool,
            format!("pool \"{}\" has no members", pool.id),
            at(&[Step::Key("members")]),
        ));
    }
    if let Some(lead) = &pool.lead {
        if !is_owner(r, lead) {
            found.push(unknown_owner(r, lead, at(&[Step::Key("lead")])));
        }
    }
    let mut seen = FirstSeen::default();
    for (mi, member) in pool.members.iter().enumerate() {
        let m_at = |key| at(&[Step::Key("members"), Step::Index(mi), Step::Key(key)]);
        if !is_owner(r, &member.owner) {
            found.push(unknown_owner(r, &member.owner, m_at("owner")));
        } else if let Some(first) = seen.seen_before(&member.owner, &m_at("owner")) {
            let message = format!(
                "\"{}\" is a member of pool \"{}\" twice",
                member.owner, pool.id
            );
            found.push(duplicate(message, m_at("owner"), first));
        }
        if !(1..=1000).contains(&member.weight) {
            found.push(problem(
                ConfigCode::InvalidWeight,
                format!("a weight must be 1 to 1000 (it is {})", member.weight),
                m_at("weight"),
            ));
        }
    }
}

/// The global fallback: present, and a queue (which always takes a lead). Its queue id.
fn check_fallback(r: &RoutingConfig, found: &mut Vec<Found>) -> Option<String> {
    let Some(text) = &r.fallback else {
        found.push(problem(
            ConfigCode::NoFallback,
            "routing needs a global fallback queue, such as fallback = \"queue:unassigned\", so \
             that no lead is ever unowned"
                .to_owned(),
            routing_at(&[]),
        ));
        return None;
    };
    match check_target(r, text, routing_at(&[Step::Key("fallback")]), found)? {
        Target::Queue(id) => Some(id),
        other => {
            found.push(problem(
                ConfigCode::FallbackNotQueue,
                format!(
                    "the global fallback must be a queue, which always takes a lead; {other} \
                     might not"
                ),
                routing_at(&[Step::Key("fallback")]),
            ));
            None
        }
    }
}

/// Form fields named like a routing attribute: routing conditions read the attributes first, so
/// such a field would be ambiguous.
fn check_field_names(forms: &[FormSpec], found: &mut Vec<Found>) {
    for (fi, form) in forms.iter().enumerate() {
        for (i, field) in form.fields.iter().enumerate() {
            // A text field may carry a UTM value (a hidden `utm_source` field): routing reads the
            // attribution first and the answer in its absence. Any other clash is ambiguous.
            let utm = field.id.starts_with("utm_") && field.kind.value_type() == ValueType::Text;
            if !utm && ATTRIBUTES.iter().any(|(name, _)| *name == field.id) {
                found.push(problem(
                    ConfigCode::FieldConflict,
                    format!(
                        "field \"{}\" has the name of a routing attribute of another kind; \
                         routing rules could not tell which is meant, so rename the field",
                        field.id
                    ),
                    field_path(fi, i, "id"),
                ));
            }
        }
    }
}

/// The ordered rules: conditions (on the routing attributes, then the form fields), targets and
/// fallbacks. The rules that compiled.
fn check_rules(
    r: &RoutingConfig,
    attributes: &AttributeEnv<'_>,
    found: &mut Vec<Found>,
) -> Vec<CompiledRule> {
    let env = |id: &str| attributes.get(id);
    let mut compiled = Vec::new();
    for (ri, rule) in r.rules.iter().enumerate() {
        let at = |key| entry_at("rules", ri, &[Step::Key(key)]);
        let names = || attributes.names();
        let when = (rule.when.as_deref())
            .and_then(|source| compile_condition(source, &env, &names, at("when"), found));
        let to = check_target(r, &rule.to, at("to"), found);
        let fallback = match rule.fallback.as_deref() {
            None => Ok(None),
            Some(f) => check_target(r, f, at("fallback"), found)
                .map(Some)
                .ok_or(()),
        };
        if let (Some(to), Ok(fallback)) = (to, fallback) {
            compiled.push(CompiledRule {
                id: rule.id.clone(),
                when,
                to,
                fallback,
            });
        }
    }
    compiled
}

/// Accounts: an owner, and domains (at least one, each claimed once, no mailbox providers).
/// Each domain → the index of its account.
fn check_accounts<'r>(r: &'r RoutingConfig, found: &mut Vec<Found>) -> BTreeMap<&'r str, usize> {
    let mut domains = BTreeMap::new();
    for (ai, account) in r.accounts.iter().enumerate() {
        let at = |rest: &[Step<'static>]| entry_at("accounts", ai, rest);
        if !is_owner(r, &account.owner) {
            found.push(unknown_owner(r, &account.owner, at(&[Step::Key("owner")])));
        }
        if account.domains.is_empty() {
            found.push(problem(
                ConfigCode::InvalidDomain,
                format!("account \"{}\" lists no domain", account.id),
                at(&[Step::Key("domains")]),
            ));
        }
        for (i, domain) in account.domains.iter().enumerate() {
            let path = at(&[Step::Key("domains"), Step::Index(i)]);
            if let Some(why) = override_problem(domain) {
                found.push(problem(
                    ConfigCode::InvalidDomain,
                    format!("\"{domain}\" {why}"),
                    path,
                ));
            } else if crate::email::is_free_mail(domain) {
                found.push(problem(
                    ConfigCode::InvalidDomain,
                    format!("\"{domain}\" is a mailbox provider, not a company's domain"),
                    path,
                ));
            } else if let Some(&other) = domains.get(domain.as_str()) {
                let other: &AccountSpec = &r.accounts[other];
                found.push(problem(
                    ConfigCode::DomainConflict,
                    format!(
                        "\"{domain}\" is already a domain of account \"{}\"",
                        other.id
                    ),
                    path,
                ));
            } else {
                domains.insert(domain.as_str(), ai);
            }
        }
    }
    domains
}

/// A routing target (`owner:ID`, `pool:ID`, `queue:ID`) that names a configured owner, pool or
/// queue; otherwise `config.invalid_target` or `config.unknown_owner` / `_pool` / `_queue`.
pub(crate) fn check_target(
    r: &RoutingConfig,
    text: &str,
    path: Vec<Step<'static>>,
    found: &mut Vec<Found>,
) -> Option<Target> {
    let Some(target) = Target::parse(text) else {
        found.push(problem(
            ConfigCode::InvalidTarget,
            format!("\"{text}\" is not a target; write owner:ID, pool:ID or queue:ID"),
            path,
        ));
        return None;
    };
    let (id, ids, code, table): (&str, Vec<&str>, _, _) = match &target {
        Target::Owner(id) => (
            id,
            r.owners.iter().map(|o| o.id.as_str()).collect(),
            ConfigCode::UnknownOwner,
            "routing.owners",
        ),
        Target::Pool(id) => (
            id,
            r.pools.iter().map(|p| p.id.as_str()).collect(),
            ConfigCode::UnknownPool,
            "routing.pools",
        ),
        Target::Queue(id) => (
            id,
            r.queues.iter().map(|q| q.id.as_str()).collect(),
            ConfigCode::UnknownQueue,
            "routing.queues",
        ),
    };
    if !ids.contains(&id) {
        found.push(unknown_ref(code, table, id, ids, path));
        return None;
    }
    Some(target)
}

/// What routing (and SLA) conditions read: the routing attributes, then the form fields.
pub(crate) struct AttributeEnv<'t> {
    types: &'t Types<'t>,
    grades: Vec<String>,
    stages: Vec<String>,
    countries: Vec<String>,
    functions: Vec<String>,
    seniorities: Vec<String>,
}

impl<'t> AttributeEnv<'t> {
    pub(crate) fn new(types: &'t Types<'t>) -> AttributeEnv<'t> {
        AttributeEnv {
            types,
            grades: GRADES.iter().map(|g| (*g).to_owned()).collect(),
            stages: LIFECYCLES.iter().map(|g| (*g).to_owned()).collect(),
            countries: crate::country::countries()
                .map(|(code, _)| code.to_owned())
                .collect(),
            functions: crate::title::Function::ALL
                .iter()
                .map(|f| f.as_str().to_owned())
                .collect(),
            seniorities: crate::title::Seniority::ALL
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
        }
    }

    /// Every name a condition may read: the attributes, then the fields.
    pub(crate) fn names(&self) -> Vec<&str> {
        let attributes = ATTRIBUTES.iter().map(|(name, _)| *name);
        attributes.chain(self.types.keys().copied()).collect()
    }

    /// What scoring and disqualification conditions may read: the attributes derived from the
    /// answers alone ([`crate::enrich::DERIVED_ATTRIBUTES`], with their options), then the fields.
    pub(crate) fn derived_or_field(&self, id: &str) -> Option<FieldType<'_>> {
        let derived = crate::enrich::DERIVED_ATTRIBUTES
            .iter()
            .any(|(name, _)| *name == id);
        if derived {
            return self.get(id);
        }
        self.types.get(id).map(|(ty, options)| FieldType {
            ty: *ty,
            options: options.map(|o| &o[..]),
        })
    }

    pub(crate) fn get(&self, id: &str) -> Option<FieldType<'_>> {
        if let Some(&(name, ty)) = ATTRIBUTES.iter().find(|(name, _)| *name == id) {
            let options = match name {
                "grade" => Some(&self.grades[..]),
                "lifecycle" => Some(&self.stages[..]),
                "country_code" => Some(&self.countries[..]),
                "function" => Some(&self.functions[..]),
                "seniority" => Some(&self.seniorities[..]),
                _ => None,
            };
            return Some(FieldType { ty, options });
        }
        self.types.get(id).map(|(ty, options)| FieldType {
            ty: *ty,
            options: options.map(|o| &o[..]),
        })
    }
}

/// `capacity_counts`: open statuses only (`config.invalid_status`), each once; omitted: `new` and
/// `accepted`.
fn check_capacity_counts(r: &RoutingConfig, found: &mut Vec<Found>) -> Vec<LeadStatus> {
    if r.capacity_counts.is_empty() {
        return LeadStatus::ALL
            .into_iter()
            .filter(|s| s.holds_capacity_by_default())
            .collect();
    }
    let mut out = Vec::new();
    for (i, code) in r.capacity_counts.iter().enumerate() {
        let at = |i| routing_at(&[Step::Key("capacity_counts"), Step::Index(i)]);
        match LeadStatus::parse(code).filter(|s| s.is_open()) {
            Some(status) if !out.contains(&status) => out.push(status),
            Some(_) => {
                let first = r.capacity_counts.iter().position(|c| c == code);
                let message = format!("capacity_counts lists \"{code}\" twice");
                found.push(duplicate(message, at(i), at(first.unwrap_or(i))));
            }
            None => found.push(problem(
                ConfigCode::InvalidStatus,
                format!(
                    "capacity_counts lists \"{code}\", which is not an open lead status: use new, \
                     accepted, working, meeting or opportunity"
                ),
                at(i),
            )),
        }
    }
    out
}
