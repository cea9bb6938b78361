//! `POST /v1/config/route`: where one lead would go if it arrived now, and by when it must be
//! touched, without storing anything. The lead is placed by handoff-core's `replay::report`, as
//! `handoff route` places a line, on the rotation state D1 holds now (turns, capacity, daily caps)
//! and with the CRM's facts about the person, through the active configuration or a candidate
//! sent with it (checked as `PUT /v1/config` checks it).

use handoff_core::replay::{read_arrival, report, Run};
use handoff_core::Bundle;
use serde::Deserialize;
use worker::{Env, Request};

use crate::error::ApiError;
use crate::http::{self, read_body, Cap};
use crate::store::facts::{facts_query, read_facts};
use crate::store::rotation as rotation_rows;
use crate::store::{BundleOnce, Db};

/// A lead and a configuration of at most 256 KB, and some room for the lead.
const BODY: Cap = crate::http::caps::WHATIF;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    /// A line as `handoff route` reads it: `form`, `answers`, and optionally `attribution`,
    /// `activity`, `context`, `visitor`, `facts`, `id`, `at`.
    lead: serde_json::Value,
    /// A candidate configuration (TOML); the active one without it.
    #[serde(default)]
    config: Option<String>,
}

/// The answer: which configuration placed the lead, and the lead's report.
#[derive(serde::Serialize)]
struct Answer<'a> {
    version: &'a str,
    /// Whether `version` is a candidate sent with the request rather than the active one.
    candidate: bool,
    place: serde_json::Value,
}

pub async fn route_lead(
    req: &mut Request,
    env: &Env,
    bundle: &BundleOnce,
    now_ms: i64,
) -> Result<worker::Response, ApiError> {
    if !http::content_type(req).starts_with("application/json") {
        return Err(ApiError::new(
            415,
            "unsupported_media_type",
            "Send {\"lead\": {…}, \"config\": \"…\"} as JSON with Content-Type: application/json.",
        ));
    }
    let text = read_body(req, BODY).await?;
    let bad = |problem: String| ApiError::new(400, "bad_json", problem);
    let body: Body = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "The body is not {{\"lead\": {{…}}, \"config\": \"…\"}}: {e}."
        ))
    })?;
    let (bundle, candidate) = match body.config {
        Some(toml) => match Bundle::from_toml(&toml) {
            Ok(bundle) => (std::rc::Rc::new(bundle), true),
            Err(problems) => return crate::config::invalid(&problems),
        },
        None => (bundle.get(env).await?, false),
    };
    let (mut arrival, issues, extra) = read_arrival(body.lead, 1, "", now_ms)
        .map_err(|e| bad(format!("The lead cannot be read: {}.", e.message)))?;
    if bundle.form(&arrival.lead.form).is_none() {
        return Err(ApiError::new(404, "unknown_form", "No form has this id."));
    }
    let mut run = Run::default();
    if let Some(routing) = bundle.routing() {
        // One batch, as the intake reads them: routing's state, and the CRM's facts about the
        // person unless the lead brings its own.
        let db = Db::open(env)?;
        let email = bundle
            .form(&arrival.lead.form)
            .and_then(|f| handoff_core::form::email_answer(&f.spec, &arrival.lead.answers))
            .and_then(|typed| handoff_core::email::normalize(typed).ok())
            .filter(|_| !extra.contains_key("facts"));
        let mut statements: Vec<_> =
            rotation_rows::load_statements(&db, routing, now_ms as f64)?.into();
        if let Some(email) = &email {
            statements.push(facts_query(&db, email)?);
        }
        let results = db.batch(statements).await?;
        let (loaded, facts) = match &results[..] {
            [a, b, c, d, rest @ ..] => (rotation_rows::read([a, b, c, d])?, rest.first()),
            _ => return Err(ApiError::storage(worker::Error::from("routing state"))),
        };
        if let Some(facts) = facts {
            arrival.facts = read_facts(facts)?;
        }
        run = Run::new(loaded.state);
    }
    let place = report(&bundle, &mut run, &arrival, issues)
        .map_err(|e| ApiError::new(404, "unknown_form", e.message))?;
    http::json(
        200,
        &Answer {
            version: &bundle.version,
            candidate,
            place,
        },
    )
}
