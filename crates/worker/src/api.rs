//! The HTTP API: routing, decoding and encoding. Each handler decodes, calls handoff-core or the
//! store, and encodes; nothing else.

use handoff_core::attribution::Attribution;
use handoff_core::disqualify::{Reason, SubmitContext};
use handoff_core::evaluate::email_answer;
use handoff_core::scoring::Activity;
use handoff_core::scoring::Stage;
use handoff_core::{evaluate, AnswerMap, LeadInput};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::wasm_bindgen;
use worker::{Context, Env, Request, Response};

use crate::error::ApiError;
use crate::notify;
use crate::route;
use crate::routes::BundleOnce;
use crate::store::{self, Idempotency, NewLead};
use handoff_core::routing::{Assignee, RouteInput};

/// The largest submission body accepted, in bytes. A lead is a few hundred bytes; anything near
/// this is not a person filling a form.
pub const MAX_BODY: usize = 16 * 1024;

#[wasm_bindgen]
extern "C" {
    /// The runtime's CSPRNG-backed UUID v4 (`crypto.randomUUID()`).
    #[wasm_bindgen(js_namespace = crypto, js_name = randomUUID)]
    fn random_uuid() -> String;
}

/// Headers every API answer carries; `cors` is the origin to allow, when the request came from
/// an allowed page of another origin (see [`cors_origin`]).
pub fn with_api_headers(mut response: Response, cors: Option<&str>) -> Response {
    let headers = response.headers_mut();
    // Header names and these values are valid, so setting them cannot fail. An answer that may be
    // cached says so itself (the form's spec); every other one is never stored.
    if !headers.has("cache-control").unwrap_or(false) {
        let _ = headers.set("cache-control", "no-store");
    }
    let _ = headers.set("x-content-type-options", "nosniff");
    // The answer depends on Origin whether or not it is allowed: caches must keep them apart.
    let _ = headers.set("vary", "Origin");
    if let Some(origin) = cors {
        let _ = headers.set("access-control-allow-origin", origin);
        let _ = headers.set("access-control-allow-methods", "GET, POST");
        let _ = headers.set(
            "access-control-allow-headers",
            "content-type, idempotency-key",
        );
        let _ = headers.set("access-control-max-age", "86400");
    }
    response
}

/// The `Origin` of a request from a page of another origin than the Worker's own; `None` for a
/// same-origin request or one without `Origin` (not from a browser page).
pub fn cross_origin(req: &Request) -> Option<String> {
    let origin = req.headers().get("origin").ok().flatten()?;
    let own = req.url().ok().map(|u| u.origin().ascii_serialization());
    (own.as_deref() != Some(origin.as_str())).then_some(origin)
}

/// The origin to allow in the answer's CORS headers: a cross-origin request to a public endpoint
/// (forms, leads, profile) from an origin some form of the active bundle allows. The admin API
/// never answers other origins.
pub async fn cors_origin(req: &Request, env: &Env, bundle: &BundleOnce) -> Option<String> {
    let origin = cross_origin(req)?;
    let path = req.path();
    let public = path == "/v1/leads" || path == "/v1/profile" || path.starts_with("/v1/forms/");
    if !public {
        return None;
    }
    let bundle = bundle.get(env).await.ok()?;
    bundle.allows_origin(None, &origin).then_some(origin)
}

/// Refuses a page of another origin that `form` does not list in `allowed_origins`.
fn check_origin(req: &Request, bundle: &handoff_core::Bundle, form: &str) -> Result<(), ApiError> {
    match cross_origin(req) {
        Some(origin) if !bundle.allows_origin(Some(form), &origin) => Err(ApiError::new(
            403,
            "origin_not_allowed",
            "This form may not be used from this website; add its origin to the form's allowed_origins.",
        )),
        _ => Ok(()),
    }
}

pub(crate) fn json<T: Serialize>(status: u16, value: &T) -> Result<Response, ApiError> {
    Response::from_json(value)
        .map(|r| r.with_status(status))
        .map_err(|_| ApiError::new(500, "internal", "The answer could not be encoded."))
}

/// `POST /v1/leads` body. Unknown top-level keys are ignored; answers to fields the form does not
/// have, or does not show, are dropped by handoff-core.
#[derive(Deserialize)]
struct LeadRequest {
    form: String,
    answers: AnswerMap,
    #[serde(default)]
    activity: Vec<Activity>,
    #[serde(default)]
    context: SubmitContext,
    /// The version the browser evaluated: recorded as advisory, never trusted.
    #[serde(default)]
    bundle_version: Option<String>,
    /// The first-party visitor token the form keeps in the host site's localStorage.
    #[serde(default)]
    visitor: Option<String>,
    /// Campaign, referrer, pages viewed and consent, as far as the visitor's consent allowed.
    #[serde(default)]
    attribution: Attribution,
}

/// A visitor token: 16 to 64 letters, digits, `-` or `_` (the form sends a UUID).
fn valid_visitor(token: &str) -> bool {
    (16..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An `Idempotency-Key`: 1 to 255 visible ASCII characters (the form sends a UUID).
fn valid_idempotency_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

pub(crate) fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The Worker's verdict, which the form shows after submit.
#[derive(Serialize)]
struct LeadCreated<'a> {
    id: &'a str,
    bundle_version: &'a str,
    lifecycle: &'a str,
    /// What to show next, chosen by the verdict: the form's first outcome for this stage, or its
    /// success message.
    outcome: OutcomeView<'a>,
}

#[derive(Serialize)]
struct OutcomeView<'a> {
    message: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    link_url: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    link_label: &'a str,
}

pub(crate) async fn create_lead(
    req: &mut Request,
    env: &Env,
    ctx: &Context,
    bundle: &BundleOnce,
    now: u64,
) -> Result<Response, ApiError> {
    let content_type = req
        .headers()
        .get("content-type")
        .ok()
        .flatten()
        .unwrap_or_default();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        return Err(ApiError::new(
            415,
            "unsupported_media_type",
            "Send the lead as JSON with Content-Type: application/json.",
        ));
    }
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
    let idempotency = match req.headers().get("idempotency-key").ok().flatten() {
        Some(key) if valid_idempotency_key(&key) => Some((key, sha256_hex(&body))),
        Some(_) => {
            return Err(ApiError::new(
                400,
                "bad_idempotency_key",
                "An Idempotency-Key is 1 to 255 visible ASCII characters.",
            ))
        }
        None => None,
    };
    let db = store::Db::open(env)?;
    let lead: LeadRequest = serde_json::from_str(&body).map_err(|e| {
        ApiError::new(
            400,
            "bad_json",
            format!("The body is not a valid lead: {e}."),
        )
    })?;

    if lead.visitor.as_deref().is_some_and(|v| !valid_visitor(v)) {
        return Err(ApiError::new(
            400,
            "bad_visitor",
            "A visitor token is 16 to 64 letters, digits, - or _.",
        ));
    }

    let bundle = bundle.get(env).await?;
    if bundle.form(&lead.form).is_some() {
        check_origin(req, &bundle, &lead.form)?;
    }
    let now_ms = now;
    let attribution = lead.attribution.clean();
    // The pages the form saw the visitor view count as engagement, like any reported activity.
    let mut activity = lead.activity;
    activity.extend(attribution.page_views());
    let input = LeadInput {
        form: lead.form,
        answers: lead.answers,
        activity,
        // The Worker does not take the client's word for what is known: profiling only decides
        // what to ask, and every field that conditions show is validated here.
        known: Default::default(),
        context: lead.context,
    };
    let evaluation = evaluate(&bundle, &input, i64::try_from(now_ms).unwrap_or(i64::MAX))
        .map_err(|e| ApiError::new(404, e.code, "No form has this id."))?;
    if !evaluation.valid {
        // A retry of a stored submission is answered as the first time, even if the rules have
        // changed since; a refused one never stored its key.
        if let Some((key, body_sha256)) = &idempotency {
            if let Some(first) = store::idempotent_answer(&db, key).await? {
                return replay(first, body_sha256, &db, env);
            }
        }
        return Err(ApiError::invalid(evaluation.issues));
    }
    let form = bundle
        .form(&evaluation.form)
        .ok_or_else(|| ApiError::new(404, "unknown_form", "No form has this id."))?;
    let email = email_answer(&form.spec, &evaluation.answers);
    // A submission marked as a bot (honeypot, fill time) is stored as such, but answered like a
    // person's ordinary request, so that the bot learns nothing about what gave it away.
    let bot = evaluation
        .disqualification
        .as_ref()
        .is_some_and(|d| d.reason == Reason::Bot);
    let answered_stage = if bot {
        Stage::Nurture
    } else {
        evaluation.lifecycle
    };
    let outcome = match form.spec.outcome(answered_stage).filter(|_| !bot) {
        Some(o) => OutcomeView {
            message: &o.message,
            link_url: &o.link_url,
            link_label: &o.link_label,
        },
        None => OutcomeView {
            message: &form.spec.success_message,
            link_url: "",
            link_label: "",
        },
    };

    let id = random_uuid();
    let created = LeadCreated {
        id: &id,
        bundle_version: &evaluation.bundle_version,
        lifecycle: answered_stage.as_str(),
        outcome,
    };
    let response = serde_json::to_string(&created)
        .map_err(|_| ApiError::new(500, "internal", "The answer could not be encoded."))?;
    let new_lead = NewLead {
        id: &id,
        evaluation: &evaluation,
        email,
        client_bundle_version: lead.bundle_version.as_deref(),
        visitor: lead.visitor.as_deref(),
        attribution: &attribution,
        now_ms: now_ms as f64,
    };
    let key = idempotency.as_ref().map(|(key, body_sha256)| Idempotency {
        key,
        body_sha256,
        status: 201,
        response: &response,
    });
    // One batch of reads: a retry's first answer, the returning person's lead, routing's state.
    let routing = bundle.routing().filter(|_| !bot);
    let counter = crate::ratelimit::counter(req, env, &body, &db, now as f64)?;
    let prefetched = store::prefetch(
        &db,
        counter.statement.clone(),
        idempotency.as_ref().map(|(key, _)| key.as_str()),
        email.filter(|_| routing.is_some()),
        routing.is_some(),
        email.filter(|_| routing.is_some() && !bundle.sla().policies().is_empty()),
    )
    .await?;
    // A retry of a stored submission always gets its first answer, however busy its client.
    if let (Some(first), Some((_, body_sha256))) = (prefetched.replay, &idempotency) {
        return replay(first, body_sha256, &db, env);
    }
    if let Some(limited) = counter.answer(prefetched.count)? {
        return Ok(with_trips(limited, &db, env));
    }
    let place = match (routing, prefetched.existing, prefetched.route) {
        (None, _, _) if bot => Place::Bot,
        (None, _, _) => Place::Unrouted,
        (Some(_), Some(existing), _) => Place::Merge(existing),
        (Some(routing), None, Some(loaded)) => Place::Route(routing, loaded, prefetched.facts),
        (Some(_), None, None) => Place::Unrouted,
    };
    let stored = store_lead(
        env,
        &db,
        &bundle,
        &new_lead,
        key.as_ref(),
        place,
        &attribution,
    )
    .await;
    match stored {
        Ok(true) => {
            // The lead and its outbox rows are committed: announce it now, after the answer; the
            // cron retries whatever this does not deliver.
            let (env, id, now) = (env.clone(), id.clone(), now_ms as f64);
            ctx.wait_until(async move {
                if let Err(error) = notify::deliver(&env, notify::Due::Lead(&id), now).await {
                    worker::console_error!("notifications left for the cron: {}", error.code);
                }
            });
        }
        Ok(false) => {}
        Err(error) => {
            // Two deliveries of one submission may race: the loser's batch fails on the key,
            // and it answers what the winner stored.
            if let Some((key, body_sha256)) = &idempotency {
                if let Some(first) = store::idempotent_answer(&db, key).await? {
                    return replay(first, body_sha256, &db, env);
                }
            }
            return Err(error);
        }
    }
    if let Some(visitor) = lead.visitor.as_deref() {
        // The lead is committed; the profile only decides what to ask next time, so a failed
        // update is logged, not answered as a failure.
        let answered = evaluation.answers.keys().map(String::as_str);
        if let Err(error) = store::remember_fields(env, visitor, answered, now_ms as i64).await {
            worker::console_error!("visitor profile not updated: {}", error.code);
        }
    }
    Ok(with_trips(json_text(201, response)?, &db, env))
}

/// In test mode only (`TEST_CLOCK`), the answer says how many D1 round trips it cost.
fn with_trips(mut response: Response, db: &store::Db, env: &Env) -> Response {
    if crate::clock::test_mode(env) {
        let _ = response
            .headers_mut()
            .set("x-handoff-d1-round-trips", &db.trips().to_string());
    }
    response
}

/// How often a submission routes again after losing a rotation turn to a concurrent one: enough
/// for a burst of dozens of submissions to one pool within the same few milliseconds.
const ROUTING_ATTEMPTS: u32 = 64;

/// Where a checked lead goes.
enum Place<'a> {
    /// A bot: stored closed, never routed.
    Bot,
    /// A configuration without `[routing]`: stored unowned, as before routing existed.
    Unrouted,
    /// A returning person: merged into the open lead they already have (same owner, a `merged`
    /// event on it, no new routing and no new turn).
    Merge(store::Existing),
    /// Anyone else: routed by handoff-core with the state read with the submission, and put on
    /// an SLA clock unless the CRM's facts about the person suppress it.
    Route(
        &'a handoff_core::routing::CompiledRouting,
        route::Loaded,
        handoff_core::sla::SuppressionFacts,
    ),
}

/// The `routed` event's detail: the decision, and the experiment arm that shaped it, if one did.
fn routed(
    decision: &handoff_core::routing::Decision,
    assignment: Option<&handoff_core::experiment::Assignment>,
) -> serde_json::Value {
    let mut detail = serde_json::to_value(decision).unwrap_or(serde_json::Value::Null);
    if let (Some(a), Some(map)) = (assignment, detail.as_object_mut()) {
        map.insert("experiment".into(), serde_json::json!(a));
    }
    detail
}

/// Stores a checked lead with its events (and its idempotency key) in one batch, owned the moment
/// it lands. A routed lead's decision and explanation are its `routed` event, its notifications
/// are outbox rows, and its rotation turn is claimed in the same batch: if a concurrent submission
/// took that turn first, the batch leaves nothing behind and the lead routes again with fresh
/// state. Answers whether notifications wait in the outbox.
async fn store_lead(
    env: &Env,
    db: &store::Db,
    bundle: &handoff_core::Bundle,
    lead: &NewLead<'_>,
    key: Option<&Idempotency<'_>>,
    place: Place<'_>,
    attribution: &handoff_core::attribution::Attribution,
) -> Result<bool, ApiError> {
    let ev = lead.evaluation;
    let created = serde_json::json!({
        "form": ev.form, "lifecycle": ev.lifecycle, "score": ev.score.total, "grade": ev.grade,
        "bundle_version": ev.bundle_version,
        "disqualification": ev.disqualification.as_ref().map(|d| d.reason.as_str()),
    });
    let at = lead.now_ms;
    let with_key = |mut statements: Vec<worker::D1PreparedStatement>| {
        if let Some(key) = key {
            statements.push(store::idempotency_statement(db, key, lead.id, at)?);
        }
        Ok::<_, ApiError>(statements)
    };
    let (routing, mut loaded, facts) = match place {
        Place::Bot | Place::Unrouted => {
            let status = if matches!(place, Place::Bot) {
                "closed"
            } else {
                "open"
            };
            let statements = vec![
                store::lead_statement(db, lead, None, status, None, None)?,
                store::event_statement(db, lead.id, at, "created", "system", &created)?,
            ];
            return store::commit(db, with_key(statements)?)
                .await
                .map(|()| false);
        }
        Place::Merge(existing) => {
            let owner = store::Ownership {
                kind: &existing.owner_kind,
                id: &existing.owner_id,
            };
            let merged = serde_json::json!({
                "lead": lead.id, "form": ev.form, "answers": ev.answers, "score": ev.score.total,
                "lifecycle": ev.lifecycle, "pages": attribution.pages.len(),
            });
            let into = serde_json::json!({ "into": existing.id });
            let statements = vec![
                store::lead_statement(db, lead, Some(&owner), "merged", Some(&existing.id), None)?,
                store::event_statement(db, lead.id, at, "created", "system", &created)?,
                store::event_statement(db, lead.id, at, "merged_into", "system", &into)?,
                store::event_statement(db, &existing.id, at, "merged", "system", &merged)?,
                store::refresh_statement(db, &existing.id, ev, at)?,
            ];
            // The owner already has this person: no second alert (the merged event records it).
            return store::commit(db, with_key(statements)?)
                .await
                .map(|()| false);
        }
        Place::Route(routing, loaded, facts) => (routing, loaded, facts),
    };
    let input = RouteInput::from_evaluation(bundle, ev, &attribution.utm);
    // An experiment's arm, by a stable hash of the lead's id: where the matching rule sends the
    // lead (routing) or how soon it must be touched (sla).
    let experiment =
        handoff_core::experiment::assign(bundle.experiments(), &input, Some(routing), lead.id);
    let assignment = experiment.map(|(e, arm)| handoff_core::experiment::Assignment {
        experiment: e.id.clone(),
        arm: arm.id.clone(),
    });
    let route_target = experiment.and_then(|(_, arm)| arm.to.as_ref());
    let first_touch_ms = experiment.and_then(|(_, arm)| arm.first_touch_ms);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let decision = handoff_core::routing::route_with(
            routing,
            &input,
            &loaded.state,
            at as i64,
            route_target,
        );
        let (kind, id) = match &decision.assignee {
            Assignee::Owner(id) => ("owner", id.as_str()),
            Assignee::Queue(id) => ("queue", id.as_str()),
        };
        let owner = store::Ownership { kind, id };
        let mut statements = vec![
            store::lead_statement(db, lead, Some(&owner), "open", None, assignment.as_ref())?,
            store::event_statement(db, lead.id, at, "created", "system", &created)?,
            store::event_statement(
                db,
                lead.id,
                at,
                "routed",
                "system",
                &routed(&decision, assignment.as_ref()),
            )?,
        ];
        statements.extend(route::statements(db, &decision, &loaded, lead.id, at)?);
        let claim = match &decision.assignee {
            Assignee::Owner(owner) => notify::claim_url(env, lead.id, owner, at),
            Assignee::Queue(_) => None,
        };
        let mut summary = handoff_core::notify::summarize(
            bundle,
            ev,
            &decision,
            attribution,
            lead.id,
            claim.unwrap_or_default(),
        );
        // "Not a fit" needs reasons to choose from: a link only when the configuration has some.
        if let (Assignee::Owner(owner), false) =
            (&decision.assignee, bundle.rules.feedback.is_empty())
        {
            summary.reject_url = notify::link_url(
                env,
                handoff_core::notify::LinkPurpose::Reject,
                lead.id,
                owner,
                at,
            )
            .unwrap_or_default();
        }
        let who = crate::sla::Who {
            name: summary.name.clone(),
            email: summary.email.clone(),
            company: summary.company.clone(),
            lifecycle: summary.lifecycle.clone(),
            score: summary.score,
        };
        let (clock, alert) = crate::sla::start(
            db,
            bundle.sla(),
            routing,
            &input,
            &decision,
            &facts,
            &who,
            lead.id,
            first_touch_ms,
            at,
        )?;
        statements.extend(clock);
        // A suppressed lead (the person is being worked already) alerts nobody.
        let outbox = match alert {
            true => notify::enqueue(db, &summary, &bundle.rules.notify, at)?,
            false => Vec::new(),
        };
        let notified = !outbox.is_empty();
        statements.extend(outbox);
        match store::commit(db, with_key(statements)?).await {
            Ok(()) => return Ok(notified),
            Err(_) if route::contended(&decision) && attempt < ROUTING_ATTEMPTS => {
                // Another submission took this turn (or D1 failed): the batch left nothing
                // behind, so route again with fresh state, after a short random pause that
                // grows with the attempts so that a burst spreads out.
                let pause = js_sys::Math::random() * f64::from(attempt.min(10)) * 4.0;
                worker::Delay::from(std::time::Duration::from_millis(pause as u64)).await;
                loaded = route::load(db).await?;
            }
            Err(error) => return Err(error),
        }
    }
}

/// The first answer to an idempotency key, if this is the same body; a 409 if it is not.
fn replay(
    first: store::IdempotentAnswer,
    body_sha256: &str,
    db: &store::Db,
    env: &Env,
) -> Result<Response, ApiError> {
    if first.body_sha256 != body_sha256 {
        return Err(ApiError::new(
            409,
            "idempotency_conflict",
            "This Idempotency-Key was already used with a different body.",
        ));
    }
    let status = u16::try_from(first.status as i64).unwrap_or(201);
    Ok(with_trips(json_text(status, first.response)?, db, env))
}

/// A JSON answer whose text is already encoded (a stored first answer, replayed byte for byte).
fn json_text(status: u16, body: String) -> Result<Response, ApiError> {
    let mut response = Response::ok(body)
        .map(|r| r.with_status(status))
        .map_err(|_| ApiError::new(500, "internal", "The answer could not be encoded."))?;
    // A constant header, so setting it cannot fail.
    let _ = response
        .headers_mut()
        .set("content-type", "application/json");
    Ok(response)
}

fn too_large() -> ApiError {
    ApiError::new(
        413,
        "body_too_large",
        format!("A lead body may be at most {MAX_BODY} bytes."),
    )
}

/// `GET /v1/pools` (admin): each pool's rotation right now: who is next, each member's weight,
/// count, open leads against capacity, and whether they are available (and if not, why).
pub(crate) async fn get_pools(
    req: &Request,
    env: &Env,
    bundle: &BundleOnce,
) -> Result<Response, ApiError> {
    let bundle = bundle.get(env).await?;
    let pools = match bundle.routing() {
        Some(routing) => {
            let db = store::Db::open(env)?;
            route::pools(&db, routing, crate::clock::now(req, env) as i64).await?
        }
        None => Vec::new(),
    };
    json(200, &serde_json::json!({ "pools": pools }))
}

/// `GET /v1/forms/:id`: the form as the browser needs it, its conditions compiled (so the form
/// module carries no compiler), with the version of the bundle it came from.
/// A CORS preflight: 204 for an allowed origin (the headers are added with every answer), 403
/// for any other.
pub(crate) async fn preflight(
    req: &Request,
    env: &Env,
    bundle: &BundleOnce,
) -> Result<Response, ApiError> {
    if cors_origin(req, env, bundle).await.is_none() {
        return Err(ApiError::new(
            403,
            "origin_not_allowed",
            "No form may be used from this website.",
        ));
    }
    Response::empty()
        .map(|r| r.with_status(204))
        .map_err(|_| ApiError::new(500, "internal", "The answer could not be encoded."))
}

pub(crate) async fn get_form(
    req: &Request,
    env: &Env,
    id: &str,
    bundle: &BundleOnce,
) -> Result<Response, ApiError> {
    let bundle = bundle.get(env).await?;
    if bundle.form(id).is_some() {
        check_origin(req, &bundle, id)?;
    }
    let form = bundle
        .form(id)
        .ok_or_else(|| ApiError::new(404, "unknown_form", "No form has this id."))?;
    // The spec changes only with the bundle, whose version names its content: browsers keep it a
    // minute and then revalidate, so a page view on a warm cache waits for no request, a new
    // bundle reaches every page within a minute or so, and the Worker re-checks every lead anyway.
    let etag = format!("\"{}\"", bundle.version);
    let cached = req.headers().get("if-none-match").ok().flatten();
    let mut response = if cached.is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag)) {
        Response::empty()
            .map(|r| r.with_status(304))
            .map_err(|_| ApiError::new(500, "internal", "The answer could not be made."))?
    } else {
        let browser = form.for_browser(&bundle.version, bundle.scoring(), bundle.rules.lifecycle);
        json(200, &browser)?
    };
    let headers = response.headers_mut();
    let _ = headers.set("etag", &etag);
    let _ = headers.set(
        "cache-control",
        "public, max-age=60, stale-while-revalidate=600",
    );
    Ok(response)
}

#[derive(Serialize)]
struct ProfileAnswer {
    /// Field ids known about this visitor, with when each was learned (ms since the epoch);
    /// never the values.
    known: handoff_core::visibility::Known,
}

/// `GET /v1/profile?visitor=TOKEN`: what progressive profiling needs to skip known questions.
pub(crate) async fn get_profile(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let url = req
        .url()
        .map_err(|_| ApiError::new(400, "bad_request", "The URL could not be read."))?;
    let visitor = url
        .query_pairs()
        .find(|(k, _)| k == "visitor")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if !valid_visitor(&visitor) {
        return Err(ApiError::new(
            400,
            "bad_visitor",
            "A visitor token is 16 to 64 letters, digits, - or _.",
        ));
    }
    let known = store::known_fields(env, &visitor).await?;
    json(200, &ProfileAnswer { known })
}

#[derive(Serialize)]
struct Health<'a> {
    ok: bool,
    bundle_version: Option<&'a str>,
    last_cron_tick_ms: Option<i64>,
}

pub(crate) async fn health(env: &Env, bundle: &BundleOnce) -> Result<Response, ApiError> {
    let bundle = bundle.get(env).await.ok();
    let last_tick = store::last_tick(env).await?;
    json(
        200,
        &Health {
            ok: bundle.is_some(),
            bundle_version: bundle.as_ref().map(|b| b.version.as_str()),
            last_cron_tick_ms: last_tick.map(|t| t as i64),
        },
    )
}

/// Admin endpoints need `Authorization: Bearer <ADMIN_TOKEN>`, the token being a wrangler secret.
pub(crate) fn authorize(req: &Request, env: &Env) -> Result<(), ApiError> {
    let expected = env
        .secret("ADMIN_TOKEN")
        .map(|s| s.to_string())
        .unwrap_or_default();
    if expected.is_empty() {
        return Err(ApiError::new(
            503,
            "admin_not_configured",
            "The ADMIN_TOKEN secret is not set on this Worker.",
        ));
    }
    bearer(req, &expected)
}

/// Requires `Authorization: Bearer <expected>` (compared in constant time): `401 unauthorized`.
pub(crate) fn bearer(req: &Request, expected: &str) -> Result<(), ApiError> {
    let header = req
        .headers()
        .get("authorization")
        .ok()
        .flatten()
        .unwrap_or_default();
    let given = header.strip_prefix("Bearer ").unwrap_or_default();
    if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::new(
            401,
            "unauthorized",
            "A valid bearer token is required.",
        ))
    }
}

/// Compares without an early exit, so response time does not reveal how much of a guess matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
