//! HubSpot's CRM API v3/v4 as a push uses it, in batches of at most [`HUBSPOT_BATCH`] leads:
//! contacts upserted by email, companies found by domain (search) or created, each contact
//! associated with its company by the default association, and the owner's task created once
//! (then updated: owner, due time, done). Each request carries our ids as `objectWriteTraceId`,
//! which HubSpot echoes, so each result is matched to its lead whatever order it comes back in.
//! Bodies follow HubSpot's published OpenAPI descriptions (kept in `tests/fixtures/`).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{Task, HUBSPOT_BATCH};
use crate::encode::rfc3339_short as rfc3339;

/// The API's base when the Worker's `HUBSPOT_API_URL` variable does not say another.
pub const BASE: &str = "https://api.hubapi.com";

pub const CONTACTS_UPSERT: &str = "/crm/v3/objects/contacts/batch/upsert";
pub const COMPANIES_SEARCH: &str = "/crm/v3/objects/companies/search";
pub const COMPANIES_CREATE: &str = "/crm/v3/objects/companies/batch/create";
pub const ASSOCIATE: &str = "/crm/v4/associations/contact/company/batch/associate/default";
pub const TASKS_CREATE: &str = "/crm/v3/objects/tasks/batch/create";
pub const TASKS_UPDATE: &str = "/crm/v3/objects/tasks/batch/update";

/// HubSpot's association type of a task to a contact (HUBSPOT_DEFINED).
pub const TASK_TO_CONTACT: u32 = 204;

/// One contact to upsert: the lead (its id traces the write), its address and properties.
#[derive(Debug, Clone, Copy)]
pub struct Contact<'a> {
    pub lead_id: &'a str,
    pub email: &'a str,
    pub properties: &'a BTreeMap<String, String>,
    /// The CRM owner id.
    pub owner: Option<&'a str>,
}

/// `POST /crm/v3/objects/contacts/batch/upsert`: each contact by its email.
pub fn upsert_contacts(contacts: &[Contact<'_>]) -> Value {
    debug_assert!(contacts.len() <= HUBSPOT_BATCH);
    let inputs: Vec<Value> = contacts
        .iter()
        .map(|c| {
            let mut properties: serde_json::Map<String, Value> = c
                .properties
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            properties.insert("email".into(), c.email.into());
            if let Some(owner) = c.owner {
                properties.insert("hubspot_owner_id".into(), owner.into());
            }
            json!({
                "idProperty": "email",
                "id": c.email,
                "objectWriteTraceId": c.lead_id,
                "properties": properties,
            })
        })
        .collect();
    json!({ "inputs": inputs })
}

/// A batch answer's results as (trace id, object id); results without a trace id are matched by
/// `key_property` (a contact's `email`, a company's `domain`), compared lowercase.
pub fn read_results(answer: &Value, key_property: &str) -> Vec<(String, String)> {
    let Some(results) = answer["results"].as_array() else {
        return Vec::new();
    };
    results
        .iter()
        .filter_map(|r| {
            let id = r["id"].as_str()?;
            let key = r["objectWriteTraceId"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| {
                    r["properties"][key_property]
                        .as_str()
                        .map(str::to_lowercase)
                })?;
            Some((key, id.to_owned()))
        })
        .collect()
}

/// `POST /crm/v3/objects/companies/search`: the companies whose domain is one of `domains`.
pub fn search_companies(domains: &[&str]) -> Value {
    json!({
        "filterGroups": [{ "filters": [{
            "propertyName": "domain", "operator": "IN", "values": domains,
        }]}],
        "properties": ["domain", "name"],
        "limit": HUBSPOT_BATCH,
    })
}

/// A search answer as (domain, company id), the oldest company first when several share one.
pub fn read_companies(answer: &Value) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = answer["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let domain = r["properties"]["domain"].as_str()?.to_lowercase();
            Some((domain, r["id"].as_str()?.to_owned()))
        })
        .collect();
    // Numeric ids grow with creation: the smallest is the company people have been using.
    found.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.len().cmp(&b.1.len()))
            .then(a.1.cmp(&b.1))
    });
    found.dedup_by(|later, first| later.0 == first.0);
    found
}

/// `POST /crm/v3/objects/companies/batch/create`: one company per domain (traced by it).
pub fn create_companies(companies: &[(&str, Option<&str>)]) -> Value {
    let inputs: Vec<Value> = companies
        .iter()
        .map(|(domain, name)| {
            let mut properties = json!({ "domain": domain });
            if let Some(name) = name {
                properties["name"] = (*name).into();
            }
            json!({ "objectWriteTraceId": domain, "associations": [], "properties": properties })
        })
        .collect();
    json!({ "inputs": inputs })
}

/// `POST /crm/v4/associations/contact/company/batch/associate/default`.
pub fn associate(pairs: &[(&str, &str)]) -> Value {
    let inputs: Vec<Value> = pairs
        .iter()
        .map(|(contact, company)| json!({ "from": { "id": contact }, "to": { "id": company } }))
        .collect();
    json!({ "inputs": inputs })
}

fn task_properties(task: &Task<'_>) -> Value {
    json!({
        "hs_timestamp": rfc3339(task.due_ms),
        "hs_task_subject": task.subject,
        "hs_task_body": task.body,
        "hubspot_owner_id": task.owner,
        "hs_task_status": if task.done { "COMPLETED" } else { "NOT_STARTED" },
        "hs_task_priority": "HIGH",
        "hs_task_type": "CALL",
    })
}

/// `POST /crm/v3/objects/tasks/batch/create`: each (lead id, contact id, task), associated with
/// its contact and traced by the lead id.
pub fn create_tasks(tasks: &[(&str, &str, Task<'_>)]) -> Value {
    let inputs: Vec<Value> = tasks
        .iter()
        .map(|(lead_id, contact, task)| {
            json!({
                "objectWriteTraceId": lead_id,
                "properties": task_properties(task),
                "associations": [{
                    "to": { "id": contact },
                    "types": [{
                        "associationCategory": "HUBSPOT_DEFINED",
                        "associationTypeId": TASK_TO_CONTACT,
                    }],
                }],
            })
        })
        .collect();
    json!({ "inputs": inputs })
}

/// `POST /crm/v3/objects/tasks/batch/update`: each (task id, task) as it should stand now.
pub fn update_tasks(tasks: &[(&str, Task<'_>)]) -> Value {
    let inputs: Vec<Value> = tasks
        .iter()
        .map(|(id, task)| {
            let mut properties = task_properties(task);
            // The subject and body were written at creation; a rep may have edited them since.
            if let Some(p) = properties.as_object_mut() {
                p.remove("hs_task_subject");
                p.remove("hs_task_body");
                p.remove("hs_task_priority");
                p.remove("hs_task_type");
            }
            json!({ "id": id, "properties": properties })
        })
        .collect();
    json!({ "inputs": inputs })
}

/// HubSpot's error category or message from an error answer, for the dead letter (no secrets:
/// HubSpot's messages name properties and values, never the token).
pub fn error_name(answer: &Value) -> Option<String> {
    answer["category"]
        .as_str()
        .or_else(|| answer["errorType"].as_str())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_matched_by_trace_then_key() {
        let answer = json!({"results": [
            {"id": "7", "objectWriteTraceId": "lead-b", "properties": {"email": "b@x.io"}},
            {"id": "8", "properties": {"email": "A@X.io"}},
            {"properties": {"email": "c@x.io"}},
        ]});
        assert_eq!(
            read_results(&answer, "email"),
            vec![("lead-b".into(), "7".into()), ("a@x.io".into(), "8".into())]
        );
        assert!(read_results(&json!({"status": "error"}), "email").is_empty());
    }

    #[test]
    fn the_oldest_company_of_a_domain_wins() {
        let answer = json!({"results": [
            {"id": "120", "properties": {"domain": "acme.io"}},
            {"id": "99", "properties": {"domain": "ACME.io"}},
            {"id": "5", "properties": {"domain": "beta.io"}},
        ]});
        assert_eq!(
            read_companies(&answer),
            vec![
                ("acme.io".into(), "99".into()),
                ("beta.io".into(), "5".into())
            ]
        );
    }

    #[test]
    fn an_update_keeps_what_a_rep_may_have_edited() {
        let task = Task {
            subject: "s",
            body: "b",
            due_ms: 0,
            owner: "201",
            done: true,
        };
        let body = update_tasks(&[("9", task)]);
        assert_eq!(
            body,
            json!({"inputs": [{"id": "9", "properties": {
                "hs_timestamp": "1970-01-01T00:00:00Z", "hubspot_owner_id": "201",
                "hs_task_status": "COMPLETED"}}]})
        );
    }
}
