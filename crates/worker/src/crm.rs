//! `POST /v1/crm/{intake}`: a CRM's webhooks, mapped by the intake's `[[crm.intakes]]` entry
//! (handoff-core's `crm::read`) into suppression facts about people and accounts (`crm_facts`),
//! and, for a contact, the person's open lead's first touch. Authenticated by the intake's own
//! bearer token (a wrangler secret the configuration names), not the admin token: a CRM gets
//! exactly this door.

use std::collections::BTreeMap;

use handoff_core::crm::{account_subject, person_subject, read};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use worker::{Env, Request, Response};

use crate::error::ApiError;
use crate::routes::BundleOnce;
use crate::sla::{self, Via};
use crate::store;

/// The largest body accepted, in bytes (a batch of a few hundred small events).
const MAX_BODY: usize = 256 * 1024;

#[derive(Serialize)]
struct Applied {
    applied: usize,
    ignored: Vec<handoff_core::crm::Skipped>,
    /// Leads whose first touch this request recorded.
    first_touches: usize,
}

#[derive(Deserialize)]
struct OpenLead {
    id: String,
}

pub async fn intake(
    req: &mut Request,
    env: &Env,
    id: &str,
    bundle: &BundleOnce,
    now_ms: f64,
) -> Result<Response, ApiError> {
    let bundle = bundle.get(env).await?;
    let intake = bundle
        .rules
        .crm
        .intake(id)
        .ok_or_else(|| ApiError::new(404, "unknown_intake", "No CRM intake has this id."))?;
    let expected = env
        .secret(&intake.secret)
        .map(|s| s.to_string())
        .unwrap_or_default();
    if expected.is_empty() {
        return Err(ApiError::new(
            503,
            "intake_not_configured",
            "The secret this intake names is not set on this Worker.",
        ));
    }
    crate::api::bearer(req, &expected)?;
    let too_large = || {
        ApiError::new(
            413,
            "body_too_large",
            format!("A CRM body may be at most {} KB.", MAX_BODY / 1024),
        )
    };
    let declared = req.headers().get("content-length").ok().flatten();
    if declared
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > MAX_BODY)
    {
        return Err(too_large());
    }
    let body = req
        .text()
        .await
        .map_err(|_| ApiError::new(400, "bad_body", "The request body could not be read."))?;
    if body.len() > MAX_BODY {
        return Err(too_large());
    }
    let value: serde_json::Value = serde_json::from_str(&body)
        .map_err(|e| ApiError::new(400, "bad_json", format!("The body is not JSON: {e}.")))?;
    let (facts, ignored) = read(intake, &value).map_err(|e| match e.code {
        "crm.too_many" => ApiError::new(413, "too_many_items", e.message),
        _ => ApiError::new(400, "bad_body", e.message),
    })?;
    let db = store::Db::open(env)?;
    // The open lead of each person a rep contacted, in one batch of reads.
    let contacted: Vec<&str> = {
        let mut emails: Vec<&str> = facts
            .iter()
            .filter(|f| f.meaning.is_contact())
            .map(|f| f.email.as_str())
            .collect();
        emails.sort_unstable();
        emails.dedup();
        emails
    };
    let mut open: BTreeMap<&str, String> = BTreeMap::new();
    if !contacted.is_empty() {
        let mut reads = Vec::with_capacity(contacted.len());
        for email in &contacted {
            reads.push(
                db.prepare(
                    "SELECT id FROM leads WHERE person_key = ?1 AND status = 'open' \
                     AND merged_into IS NULL ORDER BY created_at, id LIMIT 1",
                )
                .bind(&[JsValue::from_str(&person_subject(email))])
                .map_err(ApiError::storage)?,
            );
        }
        let results = db.batch(reads).await?;
        for (email, result) in contacted.iter().zip(&results) {
            let lead = result
                .results::<OpenLead>()
                .map_err(ApiError::storage)?
                .into_iter()
                .next();
            if let Some(lead) = lead {
                open.insert(email, lead.id);
            }
        }
    }
    let mut writes = Vec::new();
    let mut touches = Vec::new();
    for fact in &facts {
        let change = fact.meaning.change();
        let (deal, sequence) = (change.active_deal, change.in_sequence);
        let contacted_at = change.contacted.then_some(now_ms);
        writes.push(sla::facts_statement(
            &db,
            &person_subject(&fact.email),
            deal,
            sequence,
            contacted_at,
            &intake.id,
            now_ms,
        )?);
        if let (Some(domain), Some(_)) = (&fact.domain, deal) {
            writes.push(sla::facts_statement(
                &db,
                &account_subject(domain),
                deal,
                None,
                None,
                &intake.id,
                now_ms,
            )?);
        }
        // Only a contact touches the person's lead, wherever it stands in the batch.
        let touched = change
            .contacted
            .then(|| open.get(fact.email.as_str()))
            .flatten();
        if let Some(lead) = touched {
            let detail = serde_json::json!({ "intake": intake.id, "meaning": fact.meaning });
            writes.push(store::event_statement(
                &db, lead, now_ms, "touch", &intake.id, &detail,
            )?);
            touches.push(writes.len());
            writes.extend(sla::touch_statements(
                &db,
                lead,
                &intake.id,
                Via::Crm,
                &detail,
                false,
                now_ms,
            )?);
        }
    }
    let first_touches = if writes.is_empty() {
        0
    } else {
        let results = db.batch(writes).await?;
        touches
            .iter()
            .filter(|&&i| {
                results
                    .get(i)
                    .and_then(|r| r.results::<serde_json::Value>().ok())
                    .is_some_and(|rows| !rows.is_empty())
            })
            .count()
    };
    crate::api::json(
        200,
        &Applied {
            applied: facts.len(),
            ignored,
            first_touches,
        },
    )
}
