//! The Salesforce preset: what a record-triggered Flow's HTTP callout (or Apex) posts when a Lead
//! pushed by Handoff changes, one object or an array of
//! `{"event": "owner_changed" | "status_changed" | "won" | "lost", "lead_id", "owner_id",
//! "status", "amount", "currency", "reason"}`, where `lead_id` is our lead id (the Lead's
//! `Handoff_Lead_Id__c`). Salesforce has no webhook signature of its own: the callout's Named
//! Credential sends the intake's bearer token. Pure: the Worker checks the token and writes.

use serde_json::Value;

use super::back::{our_owner, status_change, Change, Item, Subject};
use super::{deal_value, items, Intake, IntakeError, SkipCode, Skipped};
use crate::check::valid_id;
use crate::push::Push;

/// The event types a Flow sends.
pub const EVENTS: [&str; 4] = ["owner_changed", "status_changed", "won", "lost"];

/// Reads a Flow's body with `intake`'s statuses and `push`'s owners: `owner_changed` → a new
/// owner (`crm.unmapped_owner` when `push` maps nobody to `owner_id`), `status_changed` → a
/// status (`crm.unmapped_status` when `statuses` lists no such `status`), `won`/`lost` → the
/// lead closed with `amount` and `currency` when both are given (`crm.bad_amount` when they
/// cannot be read) and, when lost, `reason` if it is a code. Each item names its lead by
/// `lead_id` (`crm.missing_lead` without one).
pub fn read(
    intake: &Intake,
    push: &Push,
    body: &Value,
) -> Result<(Vec<Item>, Vec<Skipped>), IntakeError> {
    let mut read = Vec::new();
    let mut skipped = Vec::new();
    for (index, item) in items(body)?.iter().enumerate() {
        match one(intake, push, item) {
            Ok((subject, change)) => read.push(Item {
                index,
                occurred_at: 0,
                subject,
                change,
            }),
            Err(code) => skipped.push(Skipped {
                index,
                code: code.as_str(),
            }),
        }
    }
    Ok((read, skipped))
}

fn one(intake: &Intake, push: &Push, item: &Value) -> Result<(Subject, Change), SkipCode> {
    if !item.is_object() {
        return Err(SkipCode::NotAnObject);
    }
    let text = |key: &str| {
        item.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let event = text("event").ok_or(SkipCode::MissingEvent)?;
    if !EVENTS.contains(&event) {
        return Err(SkipCode::UnknownEvent);
    }
    let lead = text("lead_id")
        .filter(|id| id.len() <= 64)
        .ok_or(SkipCode::MissingLead)?;
    let change = match event {
        "owner_changed" => {
            let theirs = text("owner_id").ok_or(SkipCode::UnmappedOwner)?;
            let ours = our_owner(push, theirs).ok_or(SkipCode::UnmappedOwner)?;
            Change::Owner {
                ours: ours.to_owned(),
                theirs: theirs.to_owned(),
            }
        }
        "status_changed" => text("status")
            .and_then(|value| status_change(&intake.statuses, value))
            .ok_or(SkipCode::UnmappedStatus)?,
        _ => {
            let won = event == "won";
            let amount = match (
                item.get("amount").filter(|a| !a.is_null()),
                text("currency"),
            ) {
                (Some(amount), Some(currency)) => {
                    Some(deal_value(amount, currency).map_err(|_| SkipCode::BadAmount)?)
                }
                (Some(_), None) => return Err(SkipCode::BadAmount),
                (None, _) => None,
            };
            let reason = (!won)
                .then(|| text("reason"))
                .flatten()
                .filter(|r| valid_id(r))
                .map(str::to_owned);
            Change::Close {
                won,
                amount,
                reason,
            }
        }
    };
    Ok((Subject::Lead(lead.to_owned()), change))
}
