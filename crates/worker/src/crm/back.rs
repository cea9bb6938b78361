//! `POST /v1/crm/{id}` for an intake with a preset: a change made in the CRM (an owner, a status,
//! a deal won or lost) applied to the lead it names. HubSpot's requests are verified by their v3
//! signature (handoff-core's `crm::hubspot::verify`, on the Worker's clock), Salesforce's by the
//! intake's bearer token; handoff-core reads the body into changes, closed HubSpot deals are read
//! back with the push's token (two batch reads), the leads are found in one read batch (by the
//! push's records, or by our id), and the changes are written in chunks (`chunks`), each one
//! batch of set-based statements: a reassignment as the admin API writes it, a status move as
//! handoff-core's state machine allows it, a close as a `deal_won` item.

use std::collections::BTreeMap;

use handoff_core::crm::back::{current, in_order, Change, Item, Subject};
use handoff_core::crm::hubspot::{self, DealEvent};
use handoff_core::crm::{person_subject, salesforce, Intake, Preset, SkipCode, Skipped};
use handoff_core::push::Push;
use handoff_core::status::{advance, LeadStatus, Move};
use handoff_core::Bundle;
use serde::Serialize;
use worker::{Env, Method, Request, Response};

use super::chunks::{chunk_of, Chunked, Done, Ignored, Step};
use super::{close, ignored_items, refused, Outcome, BODY};
use crate::error::ApiError;
use crate::fetch::{exchange, secret, Failure};
use crate::http::{header, read_body};
use crate::store::crm::{back_leads, BackLead, OpenLead};
use crate::store::crm_set::CrmSet;
use crate::store::sla::Via;
use crate::store::status::Change as StatusChange;
use crate::store::Db;

/// The `[vars]` entry naming another HubSpot API origin (a loopback server in tests).
pub const HUBSPOT_API_URL: &str = "HUBSPOT_API_URL";

/// What a preset's request did.
#[derive(Serialize)]
struct Answer {
    applied: usize,
    ignored: Vec<Ignored>,
    /// Leads whose first touch this request recorded.
    first_touches: usize,
    /// Leads given to another owner.
    reassigned: usize,
    /// Status moves made (a close included).
    moved: usize,
}

/// `POST /v1/crm/{id}` for `intake`, whose preset is `preset` and whose secret's value is
/// `secret`: authenticated, read, applied in chunks.
pub async fn intake(
    req: &mut Request,
    env: &Env,
    bundle: &Bundle,
    intake: &Intake,
    preset: Preset,
    secret: &str,
    now_ms: f64,
) -> Result<Response, ApiError> {
    let push = intake.push_in(&bundle.rules.crm).ok_or_else(|| {
        ApiError::new(
            503,
            "intake_not_configured",
            "The push this intake reads owners through is not configured.",
        )
    })?;
    if preset == Preset::Salesforce {
        crate::auth::check_token(req, env, now_ms, secret).await?;
    }
    let body = read_body(req, BODY).await?;
    if preset == Preset::Hubspot {
        // A refused signature counts against the client's failed attempts like a wrong token.
        crate::auth::throttled(req, env, now_ms, || signed(req, secret, &body, now_ms)).await?;
    }
    let value: serde_json::Value = serde_json::from_str(&body)
        .map_err(|e| ApiError::new(400, "bad_json", format!("The body is not JSON: {e}.")))?;
    let (mut items, ignored, fetches) = match preset {
        Preset::Salesforce => {
            let (items, ignored) = salesforce::read(intake, push, &value).map_err(refused)?;
            (items, ignored, 0)
        }
        Preset::Hubspot => {
            let read = hubspot::read(intake, push, &value).map_err(refused)?;
            let (mut items, mut ignored) = (read.items, read.skipped);
            let (closed, skipped) = closed_deals(env, push, &read.deals).await?;
            items.extend(closed);
            ignored.extend(skipped);
            let fetches = 2 * hubspot::deal_batches(&read.deals).len() as u32;
            (items, ignored, fetches)
        }
    };
    in_order(&mut items);
    let db = Db::open(env)?;
    let mut run = Chunked::open(&db, env, &intake.id, &body, fetches, now_ms).await?;
    let mut chunks: BTreeMap<u32, Vec<&Item>> = BTreeMap::new();
    for item in &items {
        chunks.entry(chunk_of(item.index)).or_default().push(item);
    }
    let actor = format!("crm:{}", intake.id);
    let one = One {
        bundle,
        intake,
        push,
        actor: &actor,
    };
    let complete = one.apply(&mut run, &db, &chunks).await? == Step::Applied;
    let total = run.total(&ignored_items(&ignored), complete);
    let answer = Answer {
        applied: total.applied,
        ignored: total.ignored,
        first_touches: total.first_touches,
        reassigned: total.reassigned,
        moved: total.moved,
    };
    run.respond(complete, &answer, chunks.len(), env)
}

/// HubSpot's v3 signature of this request, made with the app's client secret: `401` with
/// `hubspot.unsigned`, `hubspot.bad_signature` or `hubspot.stale` otherwise.
fn signed(req: &Request, secret: &str, body: &str, now_ms: f64) -> Result<(), ApiError> {
    // The full URL HubSpot called, as the runtime received it.
    let uri = req.url().map_err(|_| bad_url())?.to_string();
    hubspot::verify(
        secret.as_bytes(),
        req.method().as_ref(),
        &uri,
        body,
        header(req, "x-hubspot-request-timestamp").as_deref(),
        header(req, "x-hubspot-signature-v3").as_deref(),
        now_ms as i64,
    )
    .map_err(|e| ApiError::new(401, e.code(), e.message()))
}

fn bad_url() -> ApiError {
    ApiError::new(400, "bad_request", "The request's URL cannot be read.")
}

/// Each closed deal read back from HubSpot as a close of each associated contact's lead, or
/// skipped: the deals and their contacts in two batch reads per 100 deals (two calls for any
/// request HubSpot sends), the two at once. A deal HubSpot no longer has is `crm.unknown_deal`;
/// any other failure refuses the whole request (`503 crm_unavailable`, nothing written), which
/// HubSpot retries.
async fn closed_deals(
    env: &Env,
    push: &Push,
    deals: &[DealEvent],
) -> Result<(Vec<Item>, Vec<Skipped>), ApiError> {
    let (mut items, mut skipped) = (Vec::new(), Vec::new());
    if deals.is_empty() {
        return Ok((items, skipped));
    }
    let token = push
        .secrets
        .token
        .as_deref()
        .ok_or(Failure::code("secret_missing"))
        .and_then(|name| secret(env, name))
        .map_err(unavailable)?;
    let base = env
        .var(HUBSPOT_API_URL)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| "https://api.hubapi.com".to_owned());
    let auth = format!("Bearer {token}");
    let headers = [
        ("authorization", auth.as_str()),
        ("accept", "application/json"),
        ("content-type", "application/json"),
    ];
    let url = |path: &str| format!("{}{path}", base.trim_end_matches('/'));
    let (deals_url, contacts_url) = (url(hubspot::DEALS_READ), url(hubspot::DEAL_CONTACTS_READ));
    let mut read = hubspot::Deals::default();
    for batch in hubspot::deal_batches(deals) {
        let (deals_body, contacts_body) = (
            hubspot::deals_read_body(&batch).to_string(),
            hubspot::contacts_read_body(&batch).to_string(),
        );
        let (found, contacts) = futures_util::future::join(
            exchange(Method::Post, &deals_url, &headers, Some(&deals_body)),
            exchange(Method::Post, &contacts_url, &headers, Some(&contacts_body)),
        )
        .await;
        let found = found.map_err(unavailable)?;
        hubspot::read_deals(found.status, &found.body, &mut read).map_err(unread)?;
        let contacts = contacts.map_err(unavailable)?;
        hubspot::read_contacts(contacts.status, &contacts.body, &mut read).map_err(unread)?;
    }
    for deal in deals {
        match hubspot::closed_deal(deal, &read) {
            Ok((contacts, change)) => items.extend(contacts.into_iter().map(|id| Item {
                index: deal.index,
                occurred_at: deal.occurred_at,
                subject: Subject::Record(id),
                change: change.clone(),
            })),
            Err(code) => skipped.push(Skipped {
                index: deal.index,
                code: code.as_str(),
            }),
        }
    }
    Ok((items, skipped))
}

/// A batch answer handoff-core could not use, as a failure.
fn unread(unread: hubspot::Unread) -> ApiError {
    unavailable(match unread {
        hubspot::Unread::Status(status) => Failure {
            code: "http_status",
            status: Some(status),
            error: None,
        },
        hubspot::Unread::Error(category) => Failure {
            code: "batch_error",
            status: None,
            error: Some(category),
        },
        hubspot::Unread::Malformed => Failure::code("bad_answer"),
    })
}

fn unavailable(failure: Failure) -> ApiError {
    worker::console_error!("hubspot deals not read: {}", failure.text());
    ApiError::new(
        503,
        "crm_unavailable",
        "HubSpot could not be read; nothing was applied, please retry.",
    )
}

/// The leads `items` name, read in one batch: each record's current lead (handoff-core's
/// `current`), each of our ids' lead.
async fn leads(
    db: &Db,
    push: &Push,
    items: &[&Item],
) -> Result<BTreeMap<Subject, BackLead>, ApiError> {
    let mut records: Vec<&str> = Vec::new();
    let mut ids: Vec<&str> = Vec::new();
    for item in items {
        match &item.subject {
            Subject::Record(id) => records.push(id),
            Subject::Lead(id) => ids.push(id),
        }
    }
    for list in [&mut records, &mut ids] {
        list.sort_unstable();
        list.dedup();
    }
    let (by_record, by_id) = back_leads(db, &push.id, &records, &ids).await?;
    let mut found = BTreeMap::new();
    let mut per_record: BTreeMap<String, Vec<BackLead>> = BTreeMap::new();
    for lead in by_record {
        let record = lead.record_id.clone().unwrap_or_default();
        per_record.entry(record).or_default().push(lead);
    }
    for (record, leads) in per_record {
        let shape: Vec<_> = leads
            .iter()
            .map(|l| (LeadStatus::parse(&l.status), l.created_at))
            .collect();
        if let Some(lead) = current(&shape).and_then(|i| leads.into_iter().nth(i)) {
            found.insert(Subject::Record(record), lead);
        }
    }
    for lead in by_id {
        found.insert(Subject::Lead(lead.id.clone()), lead);
    }
    Ok(found)
}

/// What every item's writes share.
struct One<'a> {
    bundle: &'a Bundle,
    intake: &'a Intake,
    push: &'a Push,
    actor: &'a str,
}

impl One<'_> {
    /// Applies the chunks not done yet, in order: the leads they name are read once, then each
    /// lead's status and owner are followed from item to item, so that two changes of one lead
    /// build on each other. `Later` when the invocation's limits leave the rest to the CRM.
    async fn apply(
        &self,
        run: &mut Chunked<'_>,
        db: &Db,
        chunks: &BTreeMap<u32, Vec<&Item>>,
    ) -> Result<Step, ApiError> {
        let pending: Vec<_> = chunks.iter().filter(|(c, _)| !run.is_done(**c)).collect();
        if pending.is_empty() {
            return Ok(Step::Applied);
        }
        let items: Vec<&Item> = pending
            .iter()
            .flat_map(|(_, i)| i.iter().copied())
            .collect();
        let mut found = leads(db, self.push, &items).await?;
        for (chunk, items) in pending {
            let (set, done) = self.chunk(items, &mut found)?;
            if run.apply(*chunk, set, done).await? == Step::Later {
                return Ok(Step::Later);
            }
        }
        Ok(Step::Applied)
    }

    /// One chunk's records, in the order the items happened, and what they do.
    fn chunk(
        &self,
        items: &[&Item],
        found: &mut BTreeMap<Subject, BackLead>,
    ) -> Result<(CrmSet, Done), ApiError> {
        let mut set = CrmSet::new(&self.intake.id, self.actor);
        let mut done = Done::default();
        let mut applied = std::collections::BTreeSet::new();
        let mut ignored = Vec::new();
        for item in items {
            let Some(lead) = found.get_mut(&item.subject) else {
                let code = match item.subject {
                    Subject::Record(_) => SkipCode::UnknownRecord,
                    Subject::Lead(_) => SkipCode::UnknownLead,
                };
                ignored.push((item.index, code.as_str()));
                continue;
            };
            match self.write(item, lead, &mut set, &mut done)? {
                Ok(()) => {
                    applied.insert(item.index);
                }
                Err(code) => ignored.push((item.index, code)),
            }
        }
        // A closed deal's item is applied when one of its contacts' leads was closed.
        ignored.retain(|(index, _)| !applied.contains(index));
        ignored.sort_unstable();
        ignored.dedup_by_key(|(index, _)| *index);
        done.applied = applied.len();
        done.ignored = ignored
            .into_iter()
            .map(|(index, code)| Ignored {
                index,
                code: code.to_owned(),
            })
            .collect();
        Ok((set, done))
    }

    /// Adds `item`'s records on `lead` (whose status and owner it then updates) to `set`, or
    /// answers the code it is ignored with.
    fn write(
        &self,
        item: &Item,
        lead: &mut BackLead,
        set: &mut CrmSet,
        done: &mut Done,
    ) -> Result<Result<(), &'static str>, ApiError> {
        let from = LeadStatus::parse(&lead.status).ok_or_else(unreadable)?;
        match &item.change {
            Change::Owner { ours, theirs } => {
                self.reassign(lead, ours, theirs, set, done);
                Ok(Ok(()))
            }
            change => {
                let Some(step) = change.step() else {
                    return Ok(Ok(()));
                };
                match advance(from, &step) {
                    Err(code) => Ok(Err(code.as_str())),
                    Ok(moved) => {
                        self.moved(lead, change, &step, moved, set, done)?;
                        lead.status = moved.to.as_str().to_owned();
                        Ok(Ok(()))
                    }
                }
            }
        }
    }

    /// The reassignment to `ours` (the CRM's `theirs`), unless the lead already has that holder:
    /// the push's own write of the owner comes back from the CRM as a change.
    fn reassign(
        &self,
        lead: &mut BackLead,
        ours: &str,
        theirs: &str,
        set: &mut CrmSet,
        done: &mut Done,
    ) {
        let kind = match self.bundle.routing() {
            Some(routing) if routing.queue(ours).is_some() => "queue",
            _ => "owner",
        };
        if lead.owner_kind.as_deref() == Some(kind) && lead.owner_id.as_deref() == Some(ours) {
            return;
        }
        let vendor = self.push.target.name();
        let reason = format!("owner changed in {vendor} ({theirs})");
        let more = serde_json::json!({ "via": Via::Crm.as_str(), "intake": self.intake.id });
        set.reassign(&lead.id, (kind, ours), self.actor, &reason, &more);
        done.reassigned += 1;
        lead.owner_kind = Some(kind.to_owned());
        lead.owner_id = Some(ours.to_owned());
    }

    /// A status move handoff-core allowed: a close as a won or lost deal closes a lead (its
    /// `outcome` event, the move with the deal's value, the person's open deal ended); a status
    /// as its `status_changed`, with the first touch when the status says the person was reached.
    fn moved(
        &self,
        lead: &BackLead,
        change: &Change,
        step: &Move<'_>,
        moved: handoff_core::status::Moved,
        set: &mut CrmSet,
        done: &mut Done,
    ) -> Result<(), ApiError> {
        if let Change::Close { won, amount, .. } = change {
            let reason = match step {
                Move::Lost { reason } => reason,
                _ => "unspecified",
            };
            let amount = amount.as_ref().map(|(a, c)| (*a, c.as_str()));
            let outcome = Outcome {
                won: *won,
                reason,
                amount,
            };
            let mut open = OpenLead {
                id: lead.id.clone(),
                status: lead.status.clone(),
            };
            close(set, &self.intake.id, self.actor, &outcome, &mut open)?;
            if let Some(email) = &lead.email {
                set.fact(&person_subject(email), Some(false), None, false);
            }
        } else if moved.changed() {
            let mut status = StatusChange::new(&lead.id, self.actor, moved, Via::Crm);
            status.reason = match step {
                Move::Lost { reason } | Move::Reject { reason } | Move::Recycle { reason } => {
                    Some(reason)
                }
                _ => None,
            };
            set.moved(&status)?;
        }
        if moved.changed() {
            done.moved += 1;
        }
        if change.is_contact() {
            set.touch(&lead.id, &serde_json::json!({ "intake": self.intake.id }));
        }
        Ok(())
    }
}

fn unreadable() -> ApiError {
    ApiError::new(
        500,
        "lead_status_unreadable",
        "The lead's stored status is not one Handoff knows.",
    )
}
