//! `POST /v1/leads`, the intake: a submission decoded (type, size, `Idempotency-Key`), checked
//! again by handoff-core (`evaluate`), answered as the visitor should see it, counted against its
//! client's rate limit, placed (a bot, unrouted, merged into a returning person's open lead, or
//! routed with an SLA clock and its notifications) and stored in one D1 batch, then announced
//! and remembered in the visitor's profile. One batch of reads, one batch of writes.

use handoff_core::alerts::lead_alerts;
use handoff_core::attribution::{self, Attribution, Consent, ConsentError};
use handoff_core::disqualify::SubmitContext;
use handoff_core::evaluate::email_answer;
use handoff_core::events::EventKind;
use handoff_core::experiment::{self, Assignment};
use handoff_core::lead::EarlierLead;
use handoff_core::notify::{LeadSummary, LinkPurpose, Person};
use handoff_core::push;
use handoff_core::returning::{self, Repeat};
use handoff_core::routing::{Assignee, CompiledRouting, Decision, RouteInput};
use handoff_core::scoring::{Activity, Stage};
use handoff_core::sla::{Span, SuppressionFacts};
use handoff_core::{
    evaluate, AnswerMap, Bundle, Evaluation, FieldKind, Issue, IssueCode, LeadInput,
};
use serde::{Deserialize, Serialize};
use worker::{Context, D1PreparedStatement, Env, Request, Response};

use crate::error::ApiError;
use crate::http::{
    self, check_origin, check_visitor, json_text, read_body, sha256_hex, with_d1_cost, Cap,
};
use crate::links::{alert_context, claim_url, link_url, Keys};
use crate::mail_server;
use crate::outbox::{self, Due};
use crate::ratelimit::Window;
use crate::rotation::{self, ROUTING_ATTEMPTS};
use crate::sla::{self, Start};
use crate::store::intake::{
    idempotency_statement, idempotent_answer, prefetch, Idempotency, IdempotentAnswer, Prefetched,
    Reads,
};
use crate::store::leads::{
    lead_statement, refresh_statement, Existing, LeadInputs, Link, NewLead, Ownership,
};
use crate::store::rotation::{self as rotation_rows, Loaded};
use crate::store::sla::{clear_statements, Who};
use crate::store::{self, profile, BundleOnce, Db};
use crate::uuid::random_uuid;

const BODY: Cap = crate::http::caps::LEAD;

/// `POST /v1/leads` body. Unknown top-level keys are ignored; answers to fields the form does not
/// show are dropped by handoff-core, and answers to fields it does not have are kept with the lead
/// (`Evaluation::unknown`) and answered as warnings.
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

/// An `Idempotency-Key`: 1 to 255 visible ASCII characters (the form sends a UUID).
fn valid_idempotency_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
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
    /// Answers to questions the form does not have, each an `answer.unknown_field`: stored with
    /// the lead as sent, but not judged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<Issue>,
}

#[derive(Serialize)]
struct OutcomeView<'a> {
    message: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    link_url: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    link_label: &'a str,
}

/// An `Idempotency-Key` and the hex SHA-256 of the body it came with.
type Key = Option<(String, String)>;

/// The body, within its cap, of a JSON request, and its idempotency key if it has a valid one.
async fn read(req: &mut Request) -> Result<(String, Key), ApiError> {
    if !http::content_type(req).starts_with("application/json") {
        return Err(ApiError::new(
            415,
            "unsupported_media_type",
            "Send the lead as JSON with Content-Type: application/json.",
        ));
    }
    let body = read_body(req, BODY).await?;
    let idempotency = match http::header(req, "idempotency-key") {
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
    Ok((body, idempotency))
}

/// The lead the body describes, with a well-formed visitor token if it has one.
fn decode(body: &str) -> Result<LeadRequest, ApiError> {
    let bad = |problem: String| {
        ApiError::new(
            400,
            "bad_json",
            format!("The body is not a valid lead: {problem}."),
        )
    };
    let mut value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| bad(e.to_string()))?;
    // The answers are read one by one, so that an answer of the wrong kind is a problem on its
    // field (and a number is read as its text).
    let raw = match value.as_object_mut().map(|o| o.remove("answers")) {
        None => return Err(bad("a lead must be a JSON object".to_owned())),
        Some(None) => return Err(bad("missing field `answers`".to_owned())),
        Some(Some(serde_json::Value::Object(raw))) => raw,
        Some(Some(_)) => return Err(bad("`answers` must be an object".to_owned())),
    };
    let (answers, wrong) = handoff_core::evaluate::read_answers(raw);
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "answers".to_owned(),
            serde_json::Value::Object(Default::default()),
        );
    }
    whole_numbers(&mut value);
    let mut lead: LeadRequest = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    if !wrong.is_empty() {
        return Err(ApiError::invalid(wrong));
    }
    lead.answers = answers;
    if let Some(visitor) = lead.visitor.as_deref() {
        check_visitor(visitor)?;
    }
    Ok(lead)
}

/// Writes every number with no fraction as an integer (`14307.0` as `14307`), as JSON Schema's
/// `integer` (and the OpenAPI document) counts it, so that a time or a count sent as a float
/// reads like the integer it is.
fn whole_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let in_range =
                |f: &f64| (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(f);
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && in_range(f)) {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// A lead as handoff-core judged it, with what the Worker stores beside the verdict.
struct Checked {
    evaluation: Evaluation,
    attribution: Attribution,
    client_bundle_version: Option<String>,
    visitor: Option<String>,
}

/// handoff-core's verdict on the lead at `now_ms`, from its answers, its activity (the pages the
/// form saw the visitor view count as engagement, like any reported activity) and its context;
/// `404` for a form the bundle does not have.
fn check(
    bundle: &Bundle,
    lead: LeadRequest,
    earlier: Vec<EarlierLead>,
    now_ms: u64,
) -> Result<Checked, ApiError> {
    let attribution = lead.attribution.clean();
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
        earlier,
    };
    let evaluation = evaluate(bundle, &input, i64::try_from(now_ms).unwrap_or(i64::MAX))
        .map_err(|e| ApiError::new(404, e.code, "No form has this id."))?;
    Ok(Checked {
        evaluation,
        attribution,
        client_bundle_version: lead.bundle_version,
        visitor: lead.visitor,
    })
}

/// The consent record stored with the lead (see `handoff_core::attribution::check_consent`),
/// stamped with the Worker's time `now`. A record that is not what the active bundle's form shows
/// is still consent to what the browser was shown if it matches the form of the bundle the
/// browser says it was served, and that bundle is still kept for rollback (KV history): so a
/// configuration change between serving and submitting refuses no honest lead. Otherwise `422
/// consent_missing` or `consent_mismatch`, with an issue on the consent field.
async fn consented(
    env: &Env,
    bundle: &Bundle,
    form: &handoff_core::FormSpec,
    checked: &Checked,
    now: u64,
) -> Result<Option<Consent>, ApiError> {
    let (ev, now_ms) = (&checked.evaluation, i64::try_from(now).unwrap_or(i64::MAX));
    let record = checked.attribution.consent.as_ref();
    let refused = match attribution::check_consent(form, &ev.visible, &ev.answers, record, now_ms) {
        Ok(kept) => return Ok(kept),
        Err(e) => e,
    };
    if let (ConsentError::Mismatch { .. }, Some(record)) = (&refused, record) {
        if let Some(served) = served_bundle(env, bundle, checked).await {
            let form = served.form(&ev.form).map(|f| &f.spec);
            if form.is_some_and(|f| attribution::consent_shown(f, record)) {
                return Ok(Some(attribution::stamp(record, &ev.answers, now_ms)));
            }
        }
    }
    Err(ApiError {
        status: 422,
        code: refused.code(),
        message: refused.message().to_owned(),
        issues: vec![refused.issue()],
        headers: Vec::new(),
    })
}

/// The bundle the browser says it was served, if it is not the active one and KV still keeps it
/// (the configuration history keeps the last activations' bundles for rollback).
async fn served_bundle(env: &Env, active: &Bundle, checked: &Checked) -> Option<Bundle> {
    let version = checked.client_bundle_version.as_deref()?;
    let plausible = version.starts_with("sha256:") && version.len() <= 80;
    if !plausible || version == active.version {
        return None;
    }
    let text = crate::store::config::version_text(env, version)
        .await
        .ok()??;
    Bundle::from_json(&text).ok()
}

/// The `201` answer's JSON for lead `id`. A bot's submission is stored as such, but answered like
/// a person's ordinary request (nurture, the success message), so that the bot learns nothing
/// about what gave it away.
fn created(
    id: &str,
    form: &handoff_core::visibility::CompiledForm,
    evaluation: &Evaluation,
) -> Result<String, ApiError> {
    let reply = evaluation.reply(&form.spec);
    let created = LeadCreated {
        id,
        bundle_version: &evaluation.bundle_version,
        lifecycle: reply.stage.as_str(),
        outcome: OutcomeView {
            message: reply.message,
            link_url: reply.link_url,
            link_label: reply.link_label,
        },
        warnings: evaluation
            .unknown
            .keys()
            .map(|id| Issue::new(id, IssueCode::UnknownField))
            .collect(),
    };
    serde_json::to_string(&created)
        .map_err(|_| ApiError::new(500, "internal", "The answer could not be encoded."))
}

/// `POST /v1/leads`: decode, check, answer, store, announce. `201` only once D1 has committed the
/// lead; a retry with the same `Idempotency-Key` and body gets the first answer again.
pub async fn create_lead(
    req: &mut Request,
    env: &Env,
    ctx: &Context,
    bundle: &BundleOnce,
    now: u64,
) -> Result<Response, ApiError> {
    let db = Db::open(env)?;
    // The client is counted before its body is read (while it is read): malformed, invalid and
    // oversized submissions count like any other, and an over-limit body is never parsed.
    let window = Window::leads(req, env, now as f64);
    let (count, read) = futures_util::future::join(window.count(&db), read(req)).await;
    if let Err(limited) = window.over_submissions(count?) {
        // A retry of a stored submission still gets its first answer, however busy its client.
        if let Ok((_, Some((key, body_sha256)))) = &read {
            if let Some(first) = crate::store::intake::first_answer(&db, key).await? {
                return replay(first, body_sha256, &db, env);
            }
        }
        return Err(limited);
    }
    let (body, idempotency) = read?;
    let lead = decode(&body)?;
    let bundle = bundle.get(env).await?;
    if bundle.form(&lead.form).is_some() {
        check_origin(req, &bundle, &lead.form)?;
    }
    let form = bundle
        .form(&lead.form)
        .ok_or_else(|| ApiError::new(404, "unknown_form", "No form has this id."))?;
    // One batch of reads before the lead is judged: a retry's first answer, the returning
    // person's lead and earlier answers, routing's state, the CRM's facts. A retry of a stored
    // submission always gets its first answer, even if the rules have changed since; a refused one
    // never stored its key.
    let email = email_answer(&form.spec, &lead.answers)
        .and_then(|typed| handoff_core::email::normalize(typed).ok());
    let routing = bundle.routing();
    let profiled =
        form.spec.profiling.is_some() || form.spec.fields.iter().any(|f| !f.ask.is_once());
    let reads = Reads {
        key: idempotency.as_ref().map(|(key, _)| key.as_str()),
        email: email.as_deref().filter(|_| routing.is_some()),
        routing: routing.map(|r| (r, now as f64)),
        facts: email
            .as_deref()
            .filter(|_| routing.is_some() && !bundle.sla().policies().is_empty()),
        earlier: (profiled && (email.is_some() || lead.visitor.is_some()))
            .then_some((email.as_deref(), lead.visitor.as_deref())),
    };
    let commits_seen = rotation::commits();
    let mut prefetched = prefetch(&db, &reads).await?;
    if let (Some(first), Some((_, body_sha256))) = (prefetched.replay.take(), &idempotency) {
        return replay(first, body_sha256, &db, env);
    }
    let earlier = std::mem::take(&mut prefetched.earlier);
    // Kept with the lead for replays: what the request sent besides answers, and the CRM's facts
    // if they were read.
    let inputs = LeadInputs {
        activity: &lead.activity,
        context: &lead.context,
        facts: reads.facts.map(|_| &prefetched.facts),
    }
    .to_json()?;
    let mut checked = check(&bundle, lead, earlier, now)?;
    let refused = if checked.evaluation.valid {
        no_mail_server(env, &bundle, &checked.evaluation, now).await
    } else {
        Some(checked.evaluation.issues.clone())
    };
    if let Some(issues) = refused {
        return Err(ApiError::invalid(issues));
    }
    checked.attribution.consent = consented(env, &bundle, &form.spec, &checked, now).await?;
    let evaluation = &checked.evaluation;
    let bot = evaluation.is_bot();
    let id = random_uuid();
    let response = created(&id, form, evaluation)?;
    let new_lead = NewLead {
        id: &id,
        evaluation,
        email: email_answer(&form.spec, &evaluation.answers),
        client_bundle_version: checked.client_bundle_version.as_deref(),
        visitor: checked.visitor.as_deref(),
        attribution: &checked.attribution,
        now_ms: now as f64,
        inputs: &inputs,
    };
    let submission = Submission {
        env,
        db: &db,
        bundle: &bundle,
        lead: &new_lead,
        idempotency: &idempotency,
        response: &response,
        bot,
        commits_seen,
    };
    let stored = match submission.store(prefetched).await {
        Ok(stored) => stored,
        // Nothing was stored: the error, with what it cost in test mode (how often it routed).
        Err(error) => {
            let response = error.into_response().map_err(ApiError::storage)?;
            return Ok(with_d1_cost(response, &db, env));
        }
    };
    match stored {
        Stored::Early(answer) => return Ok(answer),
        // A lead with notifications or CRM records is announced after the answer.
        Stored::Lead { notified } if notified || !bundle.rules.crm.push.is_empty() => {
            announce(ctx, env, &id, now as f64)
        }
        Stored::Lead { .. } => {}
    }
    remember(env, checked.visitor.as_deref(), evaluation, now).await;
    Ok(with_d1_cost(json_text(201, response)?, &db, env))
}

/// With `[email] check_mail_server`, the issue of a valid lead whose email domain has no mail
/// server (`email.no_mail_server`), found before anything is stored. A bot's submission is not
/// looked up: it is stored closed anyway, and its answer must not tell it anything.
async fn no_mail_server(
    env: &Env,
    bundle: &Bundle,
    evaluation: &Evaluation,
    now: u64,
) -> Option<Vec<Issue>> {
    if !bundle.rules.email.check_mail_server || evaluation.is_bot() {
        return None;
    }
    let form = bundle.form(&evaluation.form)?;
    let field = form
        .spec
        .fields
        .iter()
        .find(|f| f.kind == FieldKind::Email)?;
    let address = evaluation.answers.get(&field.id)?.as_text()?;
    if mail_server::receives_mail(env, address, now).await {
        return None;
    }
    Some(vec![Issue::new(&field.id, IssueCode::EmailNoMailServer)])
}

/// The first answer to the request's idempotency key, replayed (or a `409` for another body), if
/// one is stored.
async fn first_answer(
    db: &Db,
    env: &Env,
    idempotency: &Key,
) -> Result<Option<Result<Response, ApiError>>, ApiError> {
    let Some((key, body_sha256)) = idempotency else {
        return Ok(None);
    };
    Ok(idempotent_answer(db, key)
        .await?
        .map(|first| replay(first, body_sha256, db, env)))
}

/// The first answer to an idempotency key, if this is the same body; a 409 if it is not.
fn replay(
    first: IdempotentAnswer,
    body_sha256: &str,
    db: &Db,
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
    Ok(with_d1_cost(json_text(status, first.response)?, db, env))
}

/// The lead and its outbox rows and CRM records are committed: deliver and push them now, after
/// the answer; the cron retries whatever this does not do.
fn announce(ctx: &Context, env: &Env, id: &str, now_ms: f64) {
    let (env, id) = (env.clone(), id.to_owned());
    ctx.wait_until(async move {
        if let Err(error) = outbox::deliver(&env, Due::Lead(&id), now_ms).await {
            worker::console_error!("notifications left for the cron: {}", error.code);
        }
        if let Err(error) = crate::push::run(&env, Some(&id), now_ms).await {
            worker::console_error!("CRM push left for the cron: {}", error.code);
        }
    });
}

/// Adds the answered fields to the visitor's profile. The lead is committed; the profile only
/// decides what to ask next time, so a failed update is logged, not answered as a failure.
async fn remember(env: &Env, visitor: Option<&str>, evaluation: &Evaluation, now_ms: u64) {
    let Some(visitor) = visitor else {
        return;
    };
    // What this visit typed: an answer from an earlier lead keeps the time it was given.
    let answered = evaluation
        .answers
        .keys()
        .filter(|id| !evaluation.learned.contains_key(*id))
        .map(String::as_str);
    if let Err(error) = profile::remember_fields(env, visitor, answered, now_ms as i64).await {
        worker::console_error!("visitor profile not updated: {}", error.code);
    }
}

/// Where a checked lead goes.
enum Place<'a> {
    /// A bot: stored closed, never routed.
    Bot,
    /// A configuration without `[routing]`: stored unowned, as before routing existed.
    Unrouted,
    /// A returning person whose lead is still open and within the merge window: merged into it
    /// (same owner, a `merged` event on it, no new routing and no new turn). `raised`: the repeat
    /// raised the lead's lifecycle, so its owner hears of it and its clock starts again.
    Merge {
        existing: Existing,
        raised: Option<(Stage, Stage)>,
        facts: SuppressionFacts,
    },
    /// Anyone else: routed by handoff-core with the state read with the submission, and put on
    /// an SLA clock unless the CRM's facts about the person suppress it. A returning person's
    /// new lead is linked to their earlier one, whose owner comes first.
    Route {
        routing: &'a CompiledRouting,
        loaded: Loaded,
        facts: SuppressionFacts,
        previous: Option<Existing>,
    },
}

/// How a submission's storing ended.
enum Stored {
    /// Answered before storing anything: a retry's first answer, a `409`, or a `429`.
    Early(Response),
    /// Committed; `notified`: notifications wait in the outbox.
    Lead { notified: bool },
}

/// A checked, valid lead on its way into D1, with everything its batch needs.
struct Submission<'a> {
    env: &'a Env,
    db: &'a Db,
    bundle: &'a Bundle,
    lead: &'a NewLead<'a>,
    idempotency: &'a Key,
    /// The `201` answer's JSON, stored with the idempotency key.
    response: &'a str,
    bot: bool,
    /// This isolate's routed commits when the read batch was sent (`rotation::commits`).
    commits_seen: u64,
}

/// A routing decision about to be stored, and what shaped it.
struct Routed<'a> {
    input: &'a RouteInput,
    decision: &'a Decision,
    facts: &'a SuppressionFacts,
    assignment: Option<&'a Assignment>,
    /// An SLA experiment's arm, replacing the policy's target.
    first_touch: Option<Span>,
    /// A returning person's earlier lead.
    previous: Option<&'a str>,
}

impl Submission<'_> {
    /// The lead stored where it belongs, from what the submission's read batch found.
    async fn store(&self, prefetched: Prefetched) -> Result<Stored, ApiError> {
        let routing = self.bundle.routing().filter(|_| !self.bot);
        let facts = prefetched.facts;
        let (routing, loaded) = match (routing, prefetched.route) {
            (Some(routing), Some(loaded)) => (routing, loaded),
            _ if self.bot => return self.stored(Place::Bot).await,
            _ => return self.stored(Place::Unrouted).await,
        };
        let (at, stage) = (self.lead.now_ms as i64, self.lead.evaluation.lifecycle);
        let window = routing.merge_window_ms();
        let repeat = prefetched
            .existing
            .as_ref()
            .and_then(|e| e.earlier())
            .map(|earlier| returning::place(&earlier, stage, at, window));
        let place = match (repeat, prefetched.existing) {
            (Some(Repeat::Merge { raised, .. }), Some(existing)) => Place::Merge {
                existing,
                raised,
                facts,
            },
            (_, previous) => Place::Route {
                routing,
                loaded,
                facts,
                previous,
            },
        };
        self.stored(place).await
    }

    /// Stores the lead where `place` says; a concurrent delivery of the same submission that
    /// stored it first is answered with its answer.
    async fn stored(&self, place: Place<'_>) -> Result<Stored, ApiError> {
        match self.store_lead(place).await {
            Ok(notified) => Ok(Stored::Lead { notified }),
            // Two deliveries of one submission may race: the loser's batch fails on the key, and
            // it answers what the winner stored.
            Err(error) => match first_answer(self.db, self.env, self.idempotency).await? {
                Some(answer) => answer.map(Stored::Early),
                None => Err(error),
            },
        }
    }

    /// Stores the lead with its events (and its idempotency key) in one batch, owned the moment
    /// it lands. A routed lead's decision and explanation are its `routed` event, its
    /// notifications are outbox rows, and its rotation turn is claimed in the same batch: if a
    /// concurrent submission took that turn first, the batch leaves nothing behind and the lead
    /// routes again with fresh state. Answers whether notifications wait in the outbox.
    async fn store_lead(&self, place: Place<'_>) -> Result<bool, ApiError> {
        match place {
            Place::Bot => self.store_unrouted("rejected").await,
            Place::Unrouted => self.store_unrouted("new").await,
            Place::Merge {
                existing,
                raised,
                facts,
            } => self.store_merged(&existing, raised, &facts).await,
            Place::Route {
                routing,
                loaded,
                facts,
                previous,
            } => {
                self.store_routed(routing, loaded, &facts, previous.as_ref())
                    .await
            }
        }
    }

    /// `statements` with the idempotency key's first answer added, if the request has a key.
    fn with_key(
        &self,
        mut statements: Vec<D1PreparedStatement>,
    ) -> Result<Vec<D1PreparedStatement>, ApiError> {
        if let Some((key, body_sha256)) = self.idempotency {
            let key = Idempotency {
                key,
                body_sha256,
                status: 201,
                response: self.response,
            };
            statements.push(idempotency_statement(
                self.db,
                &key,
                self.lead.id,
                self.lead.now_ms,
            )?);
        }
        Ok(statements)
    }

    /// The lead's `created` event: its verdict and the bundle that judged it.
    fn created_event(&self) -> Result<D1PreparedStatement, ApiError> {
        let ev = self.lead.evaluation;
        let created = serde_json::json!({
            "form": ev.form, "lifecycle": ev.lifecycle, "score": ev.score.total, "grade": ev.grade,
            "bundle_version": ev.bundle_version,
            "disqualification": ev.disqualification.as_ref().map(|d| d.reason.as_str()),
        });
        let (id, at) = (self.lead.id, self.lead.now_ms);
        store::event_statement(self.db, id, at, EventKind::Created, "system", &created)
    }

    /// A lead nobody is routed to: a bot's (`rejected`: its disqualification says `bot`), or any
    /// lead without `[routing]` (`new`).
    async fn store_unrouted(&self, status: &str) -> Result<bool, ApiError> {
        let statements = vec![
            lead_statement(self.db, self.lead, None, status, Link::None, None)?,
            self.created_event()?,
        ];
        store::commit(self.db, self.with_key(statements)?)
            .await
            .map(|()| false)
    }

    /// A returning person's repeat, merged into their open lead. A repeat that raised the lead's
    /// lifecycle is announced to its holder, and the lead's clock starts again for its new stage.
    async fn store_merged(
        &self,
        existing: &Existing,
        raised: Option<(Stage, Stage)>,
        facts: &SuppressionFacts,
    ) -> Result<bool, ApiError> {
        let (db, lead, at) = (self.db, self.lead, self.lead.now_ms);
        let ev = lead.evaluation;
        let owner = Ownership {
            kind: &existing.owner_kind,
            id: &existing.owner_id,
        };
        let merged = serde_json::json!({
            "lead": lead.id, "form": ev.form, "answers": ev.answers, "score": ev.score.total,
            "lifecycle": ev.lifecycle, "pages": lead.attribution.pages.len(),
        });
        let into = serde_json::json!({ "into": existing.id });
        let mut statements = vec![
            lead_statement(
                db,
                lead,
                Some(&owner),
                "merged",
                Link::MergedInto(&existing.id),
                None,
            )?,
            self.created_event()?,
            store::event_statement(db, lead.id, at, EventKind::MergedInto, "system", &into)?,
            store::event_statement(db, &existing.id, at, EventKind::Merged, "system", &merged)?,
            refresh_statement(db, &existing.id, ev, at)?,
        ];
        statements.extend(self.crm_refresh(existing)?);
        let Some((from, to)) = raised else {
            // The owner already has this person: no second alert (the merged event records it).
            return store::commit(db, self.with_key(statements)?)
                .await
                .map(|()| false);
        };
        let detail = serde_json::json!({ "from": from, "to": to, "lead": lead.id });
        statements.push(store::event_statement(
            db,
            &existing.id,
            at,
            EventKind::LifecycleRaised,
            "system",
            &detail,
        )?);
        let decision = returning::raised_decision(existing.assignee(), &existing.id, from, to);
        let input = RouteInput::from_evaluation(self.bundle, ev, &lead.attribution.utm);
        let (announce, notified) =
            self.announced(&decision, &existing.id, &input, facts, None, true)?;
        statements.extend(announce);
        store::commit(db, self.with_key(statements)?)
            .await
            .map(|()| notified)
    }

    /// A repeat refreshed the open lead's answers: its CRM records say so, and the refresh's
    /// change of lifecycle or score makes them due (the triggers of migration 0012).
    fn crm_refresh(&self, existing: &Existing) -> Result<Vec<D1PreparedStatement>, ApiError> {
        let pushes = &self.bundle.rules.crm.push;
        if pushes.is_empty() {
            return Ok(Vec::new());
        }
        let lead = self.lead;
        let input =
            RouteInput::from_evaluation(self.bundle, lead.evaluation, &lead.attribution.utm);
        let person = Person::of(&self.bundle.rules.forms, lead.evaluation);
        let why = format!(
            "{} came back: merged into this lead.",
            person.name.as_deref().unwrap_or("The person")
        );
        let routed = push::Routed {
            lead_id: &existing.id,
            form: &lead.evaluation.form,
            created_at_ms: lead.now_ms as i64,
            attribution: lead.attribution,
            person: &person,
            why: &why,
        };
        pushes
            .iter()
            .map(|p| {
                let snapshot = serde_json::to_string(&push::Snapshot::of(p, &input, routed))
                    .unwrap_or_else(|_| "{}".into());
                crate::store::push::snapshot_statement(self.db, &existing.id, p, &snapshot)
            })
            .collect()
    }

    /// A lead routed by handoff-core (under an experiment's arm, if one selects it), stored with
    /// its rotation turn, SLA clock and notifications; routed again with fresh state when a
    /// concurrent submission took its turn.
    async fn store_routed(
        &self,
        routing: &CompiledRouting,
        mut loaded: Loaded,
        facts: &SuppressionFacts,
        previous: Option<&Existing>,
    ) -> Result<bool, ApiError> {
        let (bundle, lead) = (self.bundle, self.lead);
        let mut input = RouteInput::from_evaluation(bundle, lead.evaluation, &lead.attribution.utm);
        input.previous_owner = previous.and_then(|p| match p.assignee() {
            Assignee::Owner(id) => Some(id),
            Assignee::Queue(_) => None,
        });
        // An experiment's arm, by a stable hash of the lead's id: where the matching rule sends
        // the lead (routing) or how soon it must be touched (sla).
        let arm = experiment::assign(bundle.experiments(), &input, Some(routing), lead.id);
        let assignment = arm.map(|(e, arm)| Assignment {
            experiment: e.id.clone(),
            arm: arm.id.clone(),
        });
        let route_target = arm.and_then(|(_, arm)| arm.to.as_ref());
        // A decision that takes a rotation turn waits for this isolate's turn, and is made again
        // on fresh state if another lead was routed here since this submission read it.
        let mut turn: Option<rotation::Turn> = None;
        let mut attempt = 0;
        loop {
            let at = lead.now_ms as i64;
            let decision =
                handoff_core::routing::route_with(routing, &input, &loaded.state, at, route_target);
            if rotation::contended(&decision) && turn.is_none() {
                let held = rotation::serialized().await;
                let moved = held.moved_since(self.commits_seen);
                turn = Some(held);
                if moved {
                    loaded = rotation_rows::load(self.db, routing, lead.now_ms).await?;
                    continue;
                }
            }
            attempt += 1;
            let routed = Routed {
                input: &input,
                decision: &decision,
                facts,
                assignment: assignment.as_ref(),
                first_touch: arm.and_then(|(_, arm)| arm.first_touch),
                previous: previous.map(|p| p.id.as_str()),
            };
            let (statements, notified) = self.routed_statements(&routed, &loaded)?;
            match store::commit(self.db, self.with_key(statements)?).await {
                Ok(()) => {
                    rotation::committed();
                    return Ok(notified);
                }
                Err(e) if e.lost_turn() && rotation::contended(&decision) => {
                    if attempt >= ROUTING_ATTEMPTS {
                        return Err(ApiError::new(
                            503,
                            "routing_busy",
                            "Too many submissions reached this pool at once; please retry.",
                        ));
                    }
                    // Another submission took this turn: the batch left nothing behind, so
                    // route again with fresh state. Any other failure (D1 down, this
                    // submission's key stored by a concurrent delivery) is answered at once.
                    rotation::pause(attempt).await;
                    loaded = rotation_rows::load(self.db, routing, lead.now_ms).await?;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// A routed lead's batch (without the key): the lead, its `created` and `routed` events (and
    /// a returning person's `returned` on their earlier lead), the rotation turn, the SLA clock
    /// (or its suppression) and, unless suppressed, the outbox rows. Answers whether it notifies
    /// anyone.
    fn routed_statements(
        &self,
        r: &Routed<'_>,
        loaded: &Loaded,
    ) -> Result<(Vec<D1PreparedStatement>, bool), ApiError> {
        let (db, lead, at) = (self.db, self.lead, self.lead.now_ms);
        let assignee = &r.decision.assignee;
        let owner = Ownership {
            kind: assignee.kind(),
            id: assignee.id(),
        };
        let detail = routed(r.decision, r.assignment);
        let link = r.previous.map_or(Link::None, Link::Previous);
        let mut statements = vec![
            lead_statement(db, lead, Some(&owner), "new", link, r.assignment)?,
            self.created_event()?,
            store::event_statement(db, lead.id, at, EventKind::Routed, "system", &detail)?,
        ];
        if let Some(previous) = r.previous {
            let returned = serde_json::json!({ "lead": lead.id });
            let kind = EventKind::Returned;
            statements.push(store::event_statement(
                db, previous, at, kind, "system", &returned,
            )?);
        }
        statements.extend(rotation_rows::statements(
            db, r.decision, loaded, lead.id, at,
        )?);
        let (announce, notified) =
            self.announced(r.decision, lead.id, r.input, r.facts, r.first_touch, false)?;
        statements.extend(announce);
        statements.extend(self.crm_records(lead.id, r.input, r.decision)?);
        Ok((statements, notified))
    }

    /// The lead's record in each CRM it is pushed to (`[[crm.push]]`), in its own batch.
    fn crm_records(
        &self,
        lead_id: &str,
        input: &RouteInput,
        decision: &Decision,
    ) -> Result<Vec<D1PreparedStatement>, ApiError> {
        let pushes = &self.bundle.rules.crm.push;
        if pushes.is_empty() {
            return Ok(Vec::new());
        }
        let lead = self.lead;
        let person = Person::of(&self.bundle.rules.forms, lead.evaluation);
        let why = decision.explain();
        let routed = push::Routed {
            lead_id,
            form: &lead.evaluation.form,
            created_at_ms: lead.now_ms as i64,
            attribution: lead.attribution,
            person: &person,
            why: &why,
        };
        crate::push::records(
            self.db,
            pushes,
            lead_id,
            |p| push::Snapshot::of(p, input, routed),
            lead.now_ms,
        )
    }

    /// The SLA clock of lead `lead_id` as `decision` placed it (or its suppression) and, unless
    /// suppressed, its notifications. `restart`: the lead had a clock already, which starts
    /// again (a returning person raised its lifecycle). Answers whether it notifies anyone.
    fn announced(
        &self,
        decision: &Decision,
        lead_id: &str,
        input: &RouteInput,
        facts: &SuppressionFacts,
        first_touch: Option<Span>,
        restart: bool,
    ) -> Result<(Vec<D1PreparedStatement>, bool), ApiError> {
        let (db, bundle, at) = (self.db, self.bundle, self.lead.now_ms);
        let Some(routing) = bundle.routing() else {
            return Ok((Vec::new(), false));
        };
        let summary = self.summary(decision, lead_id);
        let hearing = bundle.hearing(input, decision);
        let who = Who {
            name: summary.name.clone(),
            email: summary.email.clone(),
            company: summary.company.clone(),
            lifecycle: summary.lifecycle.clone(),
            score: summary.score,
            channels: Some(hearing.iter().map(|c| c.id.clone()).collect()),
        };
        let start = Start {
            lead_id,
            routing,
            input,
            decision,
            facts,
            who: &who,
            first_touch,
            at_ms: at,
        };
        let mut statements = Vec::new();
        let (clock, alert) = sla::start(db, bundle.sla(), &start)?;
        if restart && !clock.is_empty() {
            statements.extend(clear_statements(db, lead_id)?);
        }
        statements.extend(clock);
        // A suppressed lead (the person is being worked already) alerts nobody.
        let outbox = if alert {
            let keys = Keys::of(self.env);
            let cx = alert_context(bundle, keys.as_ref(), at);
            let messages = lead_alerts(&cx, &summary, &hearing, &decision.assignee, at as i64);
            outbox::enqueue(db, lead_id, &messages, at, None)?
        } else {
            Vec::new()
        };
        let notified = !outbox.is_empty();
        statements.extend(outbox);
        Ok((statements, notified))
    }

    /// What the new-lead notification says, with the owner's signed links: "I've got it", and
    /// "Not a fit" when the configuration has reasons to choose from.
    fn summary(&self, decision: &Decision, lead_id: &str) -> LeadSummary {
        let (env, lead, at) = (self.env, self.lead, self.lead.now_ms);
        let claim = match &decision.assignee {
            Assignee::Owner(owner) => claim_url(env, lead_id, owner, at),
            Assignee::Queue(_) => None,
        };
        let mut summary = handoff_core::notify::summarize(
            self.bundle,
            lead.evaluation,
            decision,
            lead.attribution,
            lead_id,
            claim.unwrap_or_default(),
        );
        // "Open in HubSpot": the record does not exist yet, so the link finds it when clicked.
        if let Ok(base) = env.var(crate::links::PUBLIC_URL) {
            let base = base.to_string();
            summary.crm = (self.bundle.rules.crm.push.iter())
                .map(|p| handoff_core::notify::CrmLink {
                    name: p.target.name().to_owned(),
                    url: format!(
                        "{}/v1/leads/{lead_id}/crm?push={}",
                        base.trim_end_matches('/'),
                        p.id
                    ),
                })
                .collect();
        }
        // "Not a fit" needs reasons to choose from: a link only when the configuration has some.
        if let (Assignee::Owner(owner), false) =
            (&decision.assignee, self.bundle.rules.feedback.is_empty())
        {
            summary.reject_url =
                link_url(env, LinkPurpose::Reject, lead_id, owner, at).unwrap_or_default();
        }
        summary
    }
}

/// The `routed` event's detail: the decision, and the experiment arm that shaped it, if one did.
fn routed(decision: &Decision, assignment: Option<&Assignment>) -> serde_json::Value {
    let mut detail = serde_json::to_value(decision).unwrap_or(serde_json::Value::Null);
    if let (Some(a), Some(map)) = (assignment, detail.as_object_mut()) {
        map.insert("experiment".into(), serde_json::json!(a));
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_floats_read_as_integers_and_others_stay() {
        let cases = [
            (r#"{"at_ms": 14307.0}"#, r#"{"at_ms":14307}"#),
            (r#"[1.5, -2.0, 3, 1e3]"#, r#"[1.5,-2,3,1000]"#),
            (r#"{"a": {"b": [4.0]}}"#, r#"{"a":{"b":[4]}}"#),
            (r#"{"huge": 1e300}"#, r#"{"huge":1e+300}"#),
        ];
        for (input, expected) in cases {
            let mut value: serde_json::Value = serde_json::from_str(input).expect("JSON");
            whole_numbers(&mut value);
            assert_eq!(value.to_string(), expected, "{input}");
        }
    }
}
