//! `[[crm.push]]`: routed leads written into HubSpot or Salesforce and kept in step as they are
//! worked. The intake inserts each lead's record in the lead's batch (`records`); triggers make
//! it due whenever something it shows changes; `run` (after the lead's answer, and every cron
//! tick) sends the due records as their leads stand then, and stores the CRM's ids with each
//! result. Bodies and answers come from handoff-core's `push`; retries follow the outbox's policy
//! (`notify::next_attempt`, at least as long as a `Retry-After` asks), dead-lettered past the
//! same horizon.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use handoff_core::notify::{next_attempt, Retry};
use handoff_core::push::{
    hubspot, properties, record_url, retry_after_ms, salesforce, task, Current, Ids, Push,
    Snapshot, Target, HUBSPOT_BATCH,
};
use serde_json::Value;
use worker::{D1PreparedStatement, Env, Method};

use crate::error::ApiError;
use crate::fetch::{exchange, secret, Failure};
use crate::store::push::{self as rows, Outcome};
use crate::store::{self, Db};

/// The HTTP calls one run may make to the CRMs unless the var `CRM_SUBREQUESTS` says otherwise,
/// shared equally by the pushes: alone, a HubSpot push takes 4 or 5 batches of 100 (at most 6 calls
/// each), a Salesforce push 13 leads (a token and two calls each); both, 2 batches and 6 leads.
/// With the outbox's 10 messages (a Slack lookup and a post each) a tick stays within the free
/// plan's 50 subrequests per invocation.
pub const SUBREQUESTS: u32 = 27;

/// The most Salesforce leads one batch takes (each its own calls; the token is shared).
const SALESFORCE_BATCH: usize = 200;

/// What one [`run`] did, over every push.
#[derive(Debug, Default, Clone, Copy)]
pub struct Pushed {
    pub pushed: u32,
    pub failed: u32,
    pub dead: u32,
    /// HTTP calls made to the CRMs.
    pub calls: u32,
}

/// Why a record was not pushed this time: our code, the CRM's status and error name, and how
/// long it asked us to wait.
#[derive(Debug, Clone)]
struct Miss {
    code: &'static str,
    status: Option<u16>,
    error: Option<String>,
    retry_after_ms: Option<i64>,
}

impl Miss {
    fn code(code: &'static str) -> Miss {
        Miss {
            code,
            status: None,
            error: None,
            retry_after_ms: None,
        }
    }

    fn text(&self) -> String {
        Failure {
            code: self.code,
            status: self.status,
            error: self.error.clone(),
        }
        .text()
    }
}

impl From<Failure> for Miss {
    fn from(f: Failure) -> Miss {
        Miss {
            code: f.code,
            status: f.status,
            error: f.error,
            retry_after_ms: None,
        }
    }
}

/// One due record in a run.
struct Item {
    due: rows::Due,
    snapshot: Snapshot,
    /// The ids stored before this run, and as learned during it.
    before: Ids,
    ids: Ids,
    properties: BTreeMap<String, String>,
    created: bool,
    deferred: bool,
    url: Option<String>,
    miss: Option<Miss>,
}

impl Item {
    fn new(push: &Push, due: rows::Due) -> Item {
        // A record whose snapshot cannot be read fails visibly (and ends as a dead letter) rather
        // than writing an empty record over the CRM's.
        let read: Option<Snapshot> = serde_json::from_str(&due.snapshot).ok();
        let miss = read.is_none().then(|| Miss::code("snapshot_invalid"));
        let snapshot = read.unwrap_or_default();
        let ids = Ids {
            record: due.record_id.clone(),
            company: due.company_id.clone(),
            task: due.task_id.clone(),
        };
        let mut item = Item {
            due,
            snapshot,
            before: ids.clone(),
            ids,
            properties: BTreeMap::new(),
            created: false,
            deferred: false,
            url: None,
            miss,
        };
        item.properties = properties(push, &item.snapshot, &item.current());
        item
    }

    fn current(&self) -> Current<'_> {
        let d = &self.due;
        Current {
            lead_id: &d.lead_id,
            status: &d.status,
            owner: d.owner_id.as_deref(),
            reason: d.reason.as_deref(),
            deal: d.deal_amount.zip(d.deal_currency.as_deref()),
            // A clock without a deadline stores a huge number: no task date from it.
            first_touch_due: d
                .first_touch_due
                .filter(|due| *due < 1e15)
                .map(|due| due as i64),
            touched: d.touched_at.is_some(),
            created_at_ms: d.created_at as i64,
        }
    }

    /// Still to be sent in this run.
    fn live(&self) -> bool {
        self.miss.is_none() && !self.deferred
    }

    fn fail(&mut self, miss: &Miss) {
        if self.live() {
            self.miss = Some(miss.clone());
        }
    }
}

/// The INSERTs of a routed lead's records, one per push, for the lead's own batch: a lead is
/// never committed without them.
pub fn records(
    db: &worker::D1Database,
    pushes: &[Push],
    lead_id: &str,
    snapshot: impl Fn(&Push) -> Snapshot,
    now_ms: f64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    pushes
        .iter()
        .map(|push| {
            let text = serde_json::to_string(&snapshot(push)).unwrap_or_else(|_| "{}".into());
            rows::insert_statement(db, lead_id, push, &text, now_ms)
        })
        .collect()
}

/// Pushes the due records of every push (of one lead, right after its batch committed; or
/// anyone's, from the cron) and records each result. A run spends at most the Worker var
/// `CRM_SUBREQUESTS` (default [`SUBREQUESTS`]) HTTP calls on the CRMs: on the free plan that
/// leaves the rest of an invocation's 50 to the outbox; a paid plan (10,000) may raise it, and
/// then one tick takes as many batches as it allows.
pub async fn run(env: &Env, lead: Option<&str>, now_ms: f64) -> Result<Pushed, ApiError> {
    let bundle = store::active_bundle(env).await?;
    let mut report = Pushed::default();
    if bundle.rules.crm.push.is_empty() {
        return Ok(report);
    }
    let db = Db::open(env)?;
    let dead_after = bundle.rules.notify.dead_after_ms();
    let total = env
        .var("CRM_SUBREQUESTS")
        .ok()
        .and_then(|v| v.to_string().parse::<u32>().ok())
        .unwrap_or(SUBREQUESTS);
    // Each push its share, so that a HubSpot backlog never starves Salesforce's.
    let share = total / bundle.rules.crm.push.len() as u32;
    for push in &bundle.rules.crm.push {
        let mut budget = share;
        loop {
            // HubSpot: a batch of up to 100 takes at most 6 calls; Salesforce: a token, then 2
            // calls a lead.
            let limit = match push.target {
                Target::Hubspot if budget >= 6 => HUBSPOT_BATCH,
                Target::Salesforce if budget >= 3 => {
                    ((budget - 1) / 2).min(SALESFORCE_BATCH as u32) as usize
                }
                _ => break,
            };
            let failed = report.failed + report.dead;
            let (taken, calls) =
                batch(&db, env, push, lead, limit, dead_after, now_ms, &mut report).await?;
            budget = budget.saturating_sub(calls);
            // A CRM that refused anything gets no second batch in this run: its backoff decides.
            if taken < limit || lead.is_some() || report.failed + report.dead > failed {
                break;
            }
        }
    }
    Ok(report)
}

/// One batch of `push`'s due records (at most `limit`): leased, sent, each result written. Answers
/// how many records were due and how many calls it made.
#[allow(clippy::too_many_arguments)]
async fn batch(
    db: &Db,
    env: &Env,
    push: &Push,
    lead: Option<&str>,
    limit: usize,
    dead_after: i64,
    now_ms: f64,
    report: &mut Pushed,
) -> Result<(usize, u32), ApiError> {
    let due = rows::due(db, &push.id, lead, limit, now_ms).await?;
    let taken = due.len();
    if due.is_empty() {
        return Ok((0, 0));
    }
    let ids: Vec<&str> = due.iter().map(|d| d.lead_id.as_str()).collect();
    let leased: HashSet<String> = rows::lease(db, &push.id, &ids, now_ms)
        .await?
        .into_iter()
        .collect();
    let mut items: Vec<Item> = due
        .into_iter()
        .filter(|d| leased.contains(&d.lead_id))
        .map(|d| Item::new(push, d))
        .collect();
    let mut calls = 0;
    match push.target {
        Target::Hubspot => hubspot_run(env, db, push, &mut items, now_ms, &mut calls).await?,
        Target::Salesforce => salesforce_run(env, push, &mut items, now_ms, &mut calls).await,
    }
    report.calls += calls;
    let mut statements = Vec::new();
    for item in &items {
        statements.extend(outcome(db, push, item, dead_after, now_ms, report)?);
    }
    db.batch(statements).await?;
    Ok((taken, calls))
}

/// The statements of one item's result.
fn outcome(
    db: &Db,
    push: &Push,
    item: &Item,
    dead_after: i64,
    now_ms: f64,
    report: &mut Pushed,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let lead = item.due.lead_id.as_str();
    if item.deferred {
        return rows::outcome_statements(db, &push.id, lead, &Outcome::Deferred, now_ms);
    }
    let Some(miss) = &item.miss else {
        report.pushed += 1;
        let pushed = Outcome::Pushed {
            version: item.due.version,
            ids: &item.ids,
            url: item.url.as_deref(),
            created: item.created,
        };
        return rows::outcome_statements(db, &push.id, lead, &pushed, now_ms);
    };
    let attempts = item.due.attempts as u32 + 1;
    let since = item.due.failing_since.unwrap_or(now_ms) as i64;
    let now = now_ms as i64;
    // A record that can never be pushed as it is (no address for HubSpot, a snapshot that cannot
    // be read) is dead at once.
    let retry = if matches!(miss.code, "no_email" | "snapshot_invalid") {
        Retry::Dead
    } else {
        next_attempt(attempts, since, now, dead_after)
    };
    let next_at = match retry {
        Retry::At(at) => Some(at.max(now + miss.retry_after_ms.unwrap_or(0)) as f64),
        Retry::Dead => None,
    };
    if next_at.is_some() {
        report.failed += 1;
    } else {
        report.dead += 1;
    }
    let mut detail = serde_json::json!({
        "channel": format!("crm:{}", push.id), "push": push.id, "attempts": attempts,
        "error": miss.code,
    });
    if let Some(status) = miss.status {
        detail["status"] = status.into();
    }
    if let Some(error) = &miss.error {
        detail["vendor_error"] = error.as_str().into();
    }
    if let Some(at) = next_at {
        detail["next_at"] = at.into();
    }
    let failed = Outcome::Failed {
        ids: &item.ids,
        error: &miss.text(),
        next_at,
        detail: &detail,
    };
    rows::outcome_statements(db, &push.id, lead, &failed, now_ms)
}

/// One call to a CRM's JSON API: the answer's body if it is a 2xx, else why not.
async fn api(
    method: Method,
    url: &str,
    token: &str,
    body: Option<&Value>,
    now_ms: f64,
    calls: &mut u32,
) -> Result<(u16, Value), Miss> {
    *calls += 1;
    let auth = format!("Bearer {token}");
    let text = body.map(Value::to_string);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("accept", "application/json"),
    ];
    let answer = exchange(method, url, &headers, text.as_deref()).await?;
    if (200..300).contains(&answer.status) || answer.status == 300 {
        return Ok((answer.status, answer.body));
    }
    Err(Miss {
        code: "http_status",
        status: Some(answer.status),
        error: hubspot::error_name(&answer.body).or_else(|| salesforce::error_code(&answer.body)),
        retry_after_ms: answer
            .retry_after
            .as_deref()
            .and_then(|h| retry_after_ms(h, now_ms as i64)),
    })
}

fn fail_where(items: &mut [Item], miss: &Miss, which: impl Fn(&Item) -> bool) {
    for item in items.iter_mut().filter(|i| which(i)) {
        item.fail(miss);
    }
}

/// HubSpot: contacts upserted by email in one call, companies found (our map, then HubSpot's
/// search) or created, contacts associated with them, tasks created or updated: at most six
/// calls for up to a hundred leads.
async fn hubspot_run(
    env: &Env,
    db: &Db,
    push: &Push,
    items: &mut [Item],
    now_ms: f64,
    calls: &mut u32,
) -> Result<(), ApiError> {
    let token = match push.secrets.token.as_deref().map(|name| secret(env, name)) {
        Some(Ok(token)) => token,
        Some(Err(f)) => {
            fail_where(items, &f.into(), |_| true);
            return Ok(());
        }
        None => {
            fail_where(items, &Miss::code("secret_missing"), |_| true);
            return Ok(());
        }
    };
    let base = env
        .var("HUBSPOT_API_URL")
        .map(|v| v.to_string())
        .unwrap_or_else(|_| hubspot::BASE.to_owned());
    let base = base.trim_end_matches('/');
    // One contact per address in a batch: a second lead of the same person waits for the next.
    let mut seen = HashSet::new();
    for item in items.iter_mut() {
        match item.snapshot.email.clone() {
            None => item.fail(&Miss::code("no_email")),
            Some(email) if !seen.insert(email.to_lowercase()) => item.deferred = true,
            Some(_) => {}
        }
    }
    contacts(push, base, &token, items, now_ms, calls).await;
    let companies = match companies(db, push, base, &token, items, now_ms, calls).await? {
        Ok(found) => found,
        Err(miss) => {
            fail_where(items, &miss, |i| i.snapshot.domain.is_some());
            BTreeMap::new()
        }
    };
    // A domain another push is creating the company of right now: this lead waits for it (the
    // retry, 30 s on, finds it in our map) rather than arriving without its company.
    let pending = Miss::code("company_pending");
    fail_where(items, &pending, |i| {
        i.snapshot
            .domain
            .as_ref()
            .is_some_and(|d| !companies.contains_key(d))
    });
    let mut pairs = Vec::new();
    for item in items.iter_mut().filter(|i| i.live()) {
        let company = item.snapshot.domain.as_ref().and_then(|d| companies.get(d));
        item.ids.company = company.cloned().or(item.ids.company.take());
        if let (Some(contact), Some(company)) = (&item.ids.record, company) {
            if item.before.record.as_ref() != Some(contact)
                || item.before.company.as_ref() != Some(company)
            {
                pairs.push((item.due.lead_id.clone(), contact.clone(), company.clone()));
            }
        }
    }
    if !pairs.is_empty() {
        let body = hubspot::associate(
            &pairs
                .iter()
                .map(|(_, c, k)| (c.as_str(), k.as_str()))
                .collect::<Vec<_>>(),
        );
        let url = format!("{base}{}", hubspot::ASSOCIATE);
        // HubSpot answers 200 with the pairs it could not associate in `errors`.
        let miss = match api(Method::Post, &url, &token, Some(&body), now_ms, calls).await {
            Ok((_, answer)) if answer["numErrors"].as_u64().unwrap_or(0) > 0 => Some(Miss {
                error: answer["errors"][0]["category"].as_str().map(str::to_owned),
                ..Miss::code("association_failed")
            }),
            Ok(_) => None,
            Err(miss) => Some(miss),
        };
        if let Some(miss) = miss {
            let leads: HashSet<&str> = pairs.iter().map(|(l, _, _)| l.as_str()).collect();
            fail_where(items, &miss, |i| leads.contains(i.due.lead_id.as_str()));
        }
    }
    tasks(push, base, &token, items, now_ms, calls).await;
    for item in items.iter_mut().filter(|i| i.live()) {
        item.url = item
            .ids
            .record
            .as_deref()
            .and_then(|r| record_url(push, None, r));
    }
    Ok(())
}

async fn contacts(
    push: &Push,
    base: &str,
    token: &str,
    items: &mut [Item],
    now_ms: f64,
    calls: &mut u32,
) {
    let body = {
        let contacts: Vec<hubspot::Contact<'_>> = items
            .iter()
            .filter(|i| i.live())
            .filter_map(|i| {
                Some(hubspot::Contact {
                    lead_id: &i.due.lead_id,
                    email: i.snapshot.email.as_deref()?,
                    properties: &i.properties,
                    owner: i.due.owner_id.as_deref().and_then(|o| push.crm_owner(o)),
                })
            })
            .collect();
        if contacts.is_empty() {
            return;
        }
        hubspot::upsert_contacts(&contacts)
    };
    let url = format!("{base}{}", hubspot::CONTACTS_UPSERT);
    match api(Method::Post, &url, token, Some(&body), now_ms, calls).await {
        Ok((_, answer)) => {
            let found: BTreeMap<String, String> = hubspot::read_results(&answer, "email")
                .into_iter()
                .collect();
            let created: HashSet<&str> = answer["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["new"] == Value::Bool(true))
                .filter_map(|r| r["id"].as_str())
                .collect();
            for item in items.iter_mut().filter(|i| i.live()) {
                let email = item
                    .snapshot
                    .email
                    .as_deref()
                    .unwrap_or_default()
                    .to_lowercase();
                match found.get(&item.due.lead_id).or_else(|| found.get(&email)) {
                    Some(id) => {
                        item.created = created.contains(id.as_str());
                        item.ids.record = Some(id.clone());
                    }
                    None => item.fail(&Miss::code("no_result")),
                }
            }
        }
        Err(miss) => fail_where(items, &miss, |_| true),
    }
}

/// The company of each domain the live items need: from our map, else HubSpot's search, else
/// created; every company found or created is remembered at once.
async fn companies(
    db: &Db,
    push: &Push,
    base: &str,
    token: &str,
    items: &[Item],
    now_ms: f64,
    calls: &mut u32,
) -> Result<Result<BTreeMap<String, String>, Miss>, ApiError> {
    let wanted: BTreeSet<&str> = items
        .iter()
        .filter(|i| i.live())
        .filter_map(|i| i.snapshot.domain.as_deref())
        .collect();
    if wanted.is_empty() {
        return Ok(Ok(BTreeMap::new()));
    }
    let wanted: Vec<&str> = wanted.into_iter().collect();
    let mut known: BTreeMap<String, String> = rows::companies(db, &push.id, &wanted)
        .await?
        .into_iter()
        .collect();
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|d| !known.contains_key(*d))
        .collect();
    if missing.is_empty() {
        return Ok(Ok(known));
    }
    let url = format!("{base}{}", hubspot::COMPANIES_SEARCH);
    let body = hubspot::search_companies(&missing);
    let found = match api(Method::Post, &url, token, Some(&body), now_ms, calls).await {
        Ok((_, answer)) => hubspot::read_companies(&answer),
        Err(miss) => return Ok(Err(miss)),
    };
    rows::remember_companies(db, &push.id, &found, now_ms).await?;
    known.extend(found);
    // Only the push that claims a domain creates its company: another one creating it right now
    // (a second lead of the same new company, pushed by its own request) would make two.
    let unknown: Vec<&str> = missing
        .iter()
        .copied()
        .filter(|d| !known.contains_key(*d))
        .collect();
    let claimed = if unknown.is_empty() {
        Vec::new()
    } else {
        rows::claim_companies(db, &push.id, &unknown, now_ms).await?
    };
    let create: Vec<(&str, Option<&str>)> = unknown
        .iter()
        .filter(|d| claimed.iter().any(|c| c == *d))
        .map(|d| {
            let name = items
                .iter()
                .find(|i| i.snapshot.domain.as_deref() == Some(*d))
                .and_then(|i| i.snapshot.company.as_deref());
            (*d, name)
        })
        .collect();
    if create.is_empty() {
        return Ok(Ok(known));
    }
    let url = format!("{base}{}", hubspot::COMPANIES_CREATE);
    let body = hubspot::create_companies(&create);
    let created = match api(Method::Post, &url, token, Some(&body), now_ms, calls).await {
        Ok((_, answer)) => hubspot::read_results(&answer, "domain"),
        Err(miss) => return Ok(Err(miss)),
    };
    rows::remember_companies(db, &push.id, &created, now_ms).await?;
    known.extend(created);
    Ok(Ok(known))
}

/// Creates the tasks not created yet (traced by lead id) and updates the others.
async fn tasks(
    push: &Push,
    base: &str,
    token: &str,
    items: &mut [Item],
    now_ms: f64,
    calls: &mut u32,
) {
    // The bodies borrow the items, which the answers then change: build them first.
    let mut creating = HashSet::new();
    let mut updating = HashSet::new();
    let (create_body, update_body) = {
        let mut create = Vec::new();
        let mut update = Vec::new();
        for item in items.iter().filter(|i| i.live()) {
            let (Some(task), Some(contact)) = (
                task(push, &item.snapshot, &item.current()),
                item.ids.record.as_deref(),
            ) else {
                continue;
            };
            let lead = item.due.lead_id.as_str();
            match item.ids.task.as_deref() {
                Some(id) => {
                    updating.insert(lead.to_owned());
                    update.push((id, task));
                }
                None => {
                    creating.insert(lead.to_owned());
                    create.push((lead, contact, task));
                }
            }
        }
        let create_body = (!create.is_empty()).then(|| hubspot::create_tasks(&create));
        let update_body = (!update.is_empty()).then(|| hubspot::update_tasks(&update));
        (create_body, update_body)
    };
    if let Some(body) = create_body {
        let url = format!("{base}{}", hubspot::TASKS_CREATE);
        match api(Method::Post, &url, token, Some(&body), now_ms, calls).await {
            Ok((_, answer)) => {
                let found: BTreeMap<String, String> =
                    hubspot::read_results(&answer, "").into_iter().collect();
                for item in items
                    .iter_mut()
                    .filter(|i| creating.contains(&i.due.lead_id))
                {
                    match found.get(&item.due.lead_id) {
                        Some(id) => item.ids.task = Some(id.clone()),
                        None => item.fail(&Miss::code("no_result")),
                    }
                }
            }
            Err(miss) => fail_where(items, &miss, |i| creating.contains(&i.due.lead_id)),
        }
    }
    if let Some(body) = update_body {
        let url = format!("{base}{}", hubspot::TASKS_UPDATE);
        if let Err(miss) = api(Method::Post, &url, token, Some(&body), now_ms, calls).await {
            fail_where(items, &miss, |i| updating.contains(&i.due.lead_id));
        }
    }
}

/// Salesforce: a token, then per lead the Lead upserted by our id and its Task created or
/// updated. A token refused mid-run (expired) is fetched again once.
async fn salesforce_run(env: &Env, push: &Push, items: &mut [Item], now_ms: f64, calls: &mut u32) {
    if !items.iter().any(Item::live) {
        return;
    }
    let s = &push.secrets;
    let names = [&s.instance_url, &s.client_id, &s.client_secret];
    let values: Result<Vec<String>, Miss> = names
        .iter()
        .map(|n| match n.as_deref() {
            Some(name) => secret(env, name).map_err(Miss::from),
            None => Err(Miss::code("secret_missing")),
        })
        .collect();
    let [login, id, key] = match values.as_deref() {
        Ok([a, b, c]) => [a.clone(), b.clone(), c.clone()],
        Ok(_) => return,
        Err(miss) => return fail_where(items, miss, |_| true),
    };
    let mut session = match token(&login, &id, &key, calls).await {
        Ok(session) => session,
        Err(miss) => return fail_where(items, &miss, |_| true),
    };
    for item in items.iter_mut().filter(|i| i.live()) {
        let mut refreshed = false;
        loop {
            match salesforce_one(push, &session, item, now_ms, calls).await {
                Err(miss) if miss.status == Some(401) && !refreshed => {
                    refreshed = true;
                    match token(&login, &id, &key, calls).await {
                        Ok(fresh) => session = fresh,
                        Err(miss) => {
                            item.fail(&miss);
                            break;
                        }
                    }
                }
                Err(miss) => {
                    item.fail(&miss);
                    break;
                }
                Ok(()) => break,
            }
        }
    }
}

/// An access token and the instance URL, by the client-credentials flow.
async fn token(
    login: &str,
    id: &str,
    key: &str,
    calls: &mut u32,
) -> Result<(String, String), Miss> {
    *calls += 1;
    let url = format!("{}{}", login.trim_end_matches('/'), salesforce::TOKEN_PATH);
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("accept", "application/json"),
    ];
    let body = salesforce::token_form(id, key);
    let answer = exchange(Method::Post, &url, &headers, Some(&body)).await?;
    if answer.status != 200 {
        return Err(Miss {
            code: "token_refused",
            status: Some(answer.status),
            error: salesforce::error_code(&answer.body),
            retry_after_ms: None,
        });
    }
    salesforce::read_token(&answer.body).ok_or(Miss::code("token_invalid"))
}

async fn salesforce_one(
    push: &Push,
    (token, instance): &(String, String),
    item: &mut Item,
    now_ms: f64,
    calls: &mut u32,
) -> Result<(), Miss> {
    let owner = item.due.owner_id.as_deref().and_then(|o| push.crm_owner(o));
    let body = salesforce::lead_body(&item.properties, owner);
    let url = format!(
        "{instance}{}",
        salesforce::lead_path(push.external_id(), &item.due.lead_id)
    );
    let (status, answer) = api(Method::Patch, &url, token, Some(&body), now_ms, calls).await?;
    let record = match salesforce::read_upsert(status, &answer) {
        salesforce::Upserted::Record { id, created } => {
            item.created = created;
            id
        }
        salesforce::Upserted::Ambiguous => {
            return Err(Miss {
                status: Some(300),
                ..Miss::code("ambiguous_record")
            })
        }
        salesforce::Upserted::Failed(error) => {
            return Err(Miss {
                status: Some(status),
                error,
                ..Miss::code("http_status")
            })
        }
    };
    item.ids.record = Some(record.clone());
    item.url = record_url(push, Some(instance), &record);
    if let Some(task) = task(push, &item.snapshot, &item.current()) {
        match item.ids.task.clone() {
            None => {
                let url = format!("{instance}{}", salesforce::task_path(None));
                let body = salesforce::task_body(&task, Some(&record));
                let (_, answer) =
                    api(Method::Post, &url, token, Some(&body), now_ms, calls).await?;
                let id = answer["id"].as_str().ok_or(Miss::code("no_result"))?;
                item.ids.task = Some(id.to_owned());
            }
            Some(id) => {
                let url = format!("{instance}{}", salesforce::task_path(Some(&id)));
                let body = salesforce::task_body(&task, None);
                api(Method::Patch, &url, token, Some(&body), now_ms, calls).await?;
            }
        }
    }
    Ok(())
}

/// `GET /v1/leads/{id}/crm?push=ID`: "Open in HubSpot" from an alert that was sent before the
/// record existed: to the record once the CRM has it, else a page that says it is on its way.
pub async fn open(
    req: &worker::Request,
    env: &Env,
    lead_id: &str,
) -> Result<worker::Response, ApiError> {
    let pairs = crate::http::query(req)?;
    let Some(push) =
        crate::http::param(&pairs, "push").filter(|p| handoff_core::check::valid_id(p))
    else {
        return Err(ApiError::new(
            400,
            "bad_request",
            "Name the CRM push: ?push=ID.",
        ));
    };
    let db = Db::open(env)?;
    match rows::url(&db, lead_id, push).await? {
        Some(url) => worker::Response::redirect(worker::Url::parse(&url).map_err(|_| {
            ApiError::new(
                503,
                "storage_unavailable",
                "The stored link could not be read.",
            )
        })?)
        .map_err(ApiError::storage),
        None => crate::http::page(
            404,
            "not_in_crm",
            "Not in the CRM yet",
            "This lead has not reached the CRM yet. It is pushed within a minute of arriving; \
             if it stays missing, an admin finds why under the dead letters.",
        ),
    }
}
