//! Salesforce's REST API as a push uses it: a token by the OAuth 2.0 client-credentials flow on
//! the org's My Domain, the Lead upserted by the external-id field that holds our lead id
//! (201 created, 200 updated, 300 several match), and the owner's Task created once on it, then
//! updated. One lead at a time: the sObject endpoints take one record.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::Task;
use crate::encode::rfc3339_short as rfc3339;

/// The REST API version the paths use.
pub const VERSION: &str = "v61.0";

pub const TOKEN_PATH: &str = "/services/oauth2/token";

/// The token request's form body.
pub fn token_form(client_id: &str, client_secret: &str) -> String {
    format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        form_encode(client_id),
        form_encode(client_secret)
    )
}

fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A token answer's access token and instance URL.
pub fn read_token(answer: &Value) -> Option<(String, String)> {
    let token = answer["access_token"].as_str()?;
    let instance = answer["instance_url"].as_str()?;
    Some((token.to_owned(), instance.trim_end_matches('/').to_owned()))
}

/// The Lead upsert's path: `/services/data/vNN/sobjects/Lead/<field>/<our lead id>`.
pub fn lead_path(external_id: &str, lead_id: &str) -> String {
    format!("/services/data/{VERSION}/sobjects/Lead/{external_id}/{lead_id}")
}

pub fn task_path(task_id: Option<&str>) -> String {
    match task_id {
        Some(id) => format!("/services/data/{VERSION}/sobjects/Task/{id}"),
        None => format!("/services/data/{VERSION}/sobjects/Task"),
    }
}

/// The Lead's fields: the mapped properties and its owner (the external id is in the path).
pub fn lead_body(properties: &BTreeMap<String, String>, owner: Option<&str>) -> Value {
    let mut fields: serde_json::Map<String, Value> = properties
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    if let Some(owner) = owner {
        fields.insert("OwnerId".into(), owner.into());
    }
    Value::Object(fields)
}

/// What an upsert's answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upserted {
    /// The Lead's id, and whether this call created it.
    Record { id: String, created: bool },
    /// 300: several Leads hold this lead id (someone copied the field); nothing was written.
    Ambiguous,
    /// Anything else: the error code Salesforce gave, if any.
    Failed(Option<String>),
}

pub fn read_upsert(status: u16, answer: &Value) -> Upserted {
    match status {
        200 | 201 => match answer["id"].as_str() {
            Some(id) => Upserted::Record {
                id: id.to_owned(),
                created: status == 201 || answer["created"] == Value::Bool(true),
            },
            None => Upserted::Failed(None),
        },
        300 => Upserted::Ambiguous,
        _ => Upserted::Failed(error_code(answer)),
    }
}

/// The first `errorCode` of an error answer (a list of `{message, errorCode, fields}`).
pub fn error_code(answer: &Value) -> Option<String> {
    answer[0]["errorCode"]
        .as_str()
        .or_else(|| answer["error"].as_str())
        .map(str::to_owned)
}

/// The Task as it should stand: on create, everything and the Lead it is about (`WhoId`);
/// on update, the owner, the due time and the status only (a rep may have edited the rest).
pub fn task_body(task: &Task<'_>, lead_record: Option<&str>) -> Value {
    let due = rfc3339(task.due_ms);
    let mut body = json!({
        "OwnerId": task.owner,
        "ActivityDate": &due[..10],
        "ReminderDateTime": due,
        "IsReminderSet": !task.done,
        "Status": if task.done { "Completed" } else { "Not Started" },
    });
    if let Some(lead) = lead_record {
        body["WhoId"] = lead.into();
        body["Subject"] = task.subject.into();
        body["Description"] = task.body.into();
        body["Priority"] = "High".into();
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsert_answers() {
        let rows: [(u16, Value, Upserted); 5] = [
            (
                201,
                json!({"id": "00Q1", "success": true, "errors": [], "created": true}),
                Upserted::Record {
                    id: "00Q1".into(),
                    created: true,
                },
            ),
            (
                200,
                json!({"id": "00Q1", "success": true, "errors": [], "created": false}),
                Upserted::Record {
                    id: "00Q1".into(),
                    created: false,
                },
            ),
            (
                300,
                json!(["/services/data/v61.0/sobjects/Lead/00Q1"]),
                Upserted::Ambiguous,
            ),
            (
                400,
                json!([{"message": "m", "errorCode": "REQUIRED_FIELD_MISSING"}]),
                Upserted::Failed(Some("REQUIRED_FIELD_MISSING".into())),
            ),
            (200, json!({}), Upserted::Failed(None)),
        ];
        for (status, answer, want) in rows {
            assert_eq!(read_upsert(status, &answer), want, "{status} {answer}");
        }
    }

    #[test]
    fn the_token_form_is_encoded() {
        assert_eq!(
            token_form("3MV&G9 x", "a+b/c"),
            "grant_type=client_credentials&client_id=3MV%26G9+x&client_secret=a%2Bb%2Fc"
        );
    }

    #[test]
    fn a_task_is_due_at_the_deadline() {
        let task = Task {
            subject: "s",
            body: "b",
            due_ms: 1_700_000_000_000,
            owner: "005x",
            done: false,
        };
        let created = task_body(&task, Some("00Q1"));
        assert_eq!(created["ActivityDate"], "2023-11-14");
        assert_eq!(created["ReminderDateTime"], "2023-11-14T22:13:20Z");
        assert_eq!(created["WhoId"], "00Q1");
        assert!(task_body(&task, None).get("Subject").is_none());
    }
}
