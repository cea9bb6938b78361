//! Evaluating one lead against a bundle: answers checked and normalized, the fields to show,
//! disqualification, score with breakdown, grade and lifecycle stage. The Worker and the CLI run
//! exactly this; the browser runs its parts as the visitor types.

use crate::answer::AnswerMap;
use crate::answer::AnswerValue;
use crate::attribution::Utm;
use crate::bundle::Bundle;
use crate::email;
use crate::enrich::email_flags;
use crate::form::{FieldKind, FormSpec};
use crate::issue::{Issue, IssueCode};
use crate::phone::parse_phone;
use crate::routing::RouteInput;
use crate::scoring::stage;
use crate::submission::check_answers;

/// The lead's email answer, at its old path (`handoff_core::evaluate::email_answer`).
pub use crate::form::email_answer;
/// A lead as received and as judged, at their old paths.
pub use crate::lead::{Evaluation, LeadInput, UnknownForm};

/// Evaluates `input` against `bundle` at `now_ms` (ms since the epoch).
pub fn evaluate(
    bundle: &Bundle,
    input: &LeadInput,
    now_ms: i64,
) -> Result<Evaluation, UnknownForm> {
    let form = bundle.form(&input.form).ok_or_else(|| UnknownForm {
        code: "unknown_form",
        message: format!("the bundle has no form \"{}\"", input.form),
    })?;
    let (mut answers, mut issues) = check_answers(form, &input.answers);
    let refused = check_email_domains(&form.spec, &mut answers, &mut issues);
    if check_phones(&form.spec, &mut answers, &mut issues) || refused {
        // Issues read in form order, wherever they were found.
        issues.sort_by_key(|i| form.spec.fields.iter().position(|f| f.id == i.field));
    }
    let shown = form.plan(&answers, &input.known, now_ms);
    let visible = form
        .spec
        .fields
        .iter()
        .zip(shown)
        .filter(|(_, s)| *s)
        .map(|(f, _)| f.id.clone())
        .collect();
    let email = email_answer(&form.spec, &answers);
    let disqualification = bundle.disqualify().check(&answers, email, &input.context);
    let scoring = bundle.scoring();
    let score = scoring.score(&answers, &input.activity, now_ms);
    let grade = scoring.grade(&score);
    let lifecycle = stage(&score, bundle.rules.lifecycle, disqualification.is_some());
    let email = email.map(|address| email_flags(address, &bundle.rules.email));
    Ok(Evaluation {
        bundle_version: bundle.version.clone(),
        form: form.spec.id.clone(),
        valid: issues.is_empty(),
        answers,
        issues,
        visible,
        score,
        grade,
        lifecycle,
        disqualification,
        email,
    })
}

/// Email answers' top-level domains are checked against every one that exists: the browser knows
/// only the short ones and the common typos of longer ones (`tld.rs`), so `maria@acme.xyzw`
/// passes there and comes back from the Worker as an `email.domain` issue on the field. Answers
/// whether it refused one.
fn check_email_domains(spec: &FormSpec, answers: &mut AnswerMap, issues: &mut Vec<Issue>) -> bool {
    let mut refused = false;
    for field in spec.fields.iter().filter(|f| f.kind == FieldKind::Email) {
        let known = answers
            .get(&field.id)
            .and_then(AnswerValue::as_text)
            .is_none_or(email::top_level_exists);
        if !known {
            answers.remove(&field.id);
            issues.push(Issue::new(&field.id, IssueCode::EmailDomain));
            refused = true;
        }
    }
    refused
}

/// Phone answers are checked against their country's numbering plan and stored in E.164 (with
/// `;ext=` when an extension was typed); national numbers are read in the country the lead chose
/// (the field `country`, or one whose autocomplete hint is `country…`). The browser checks only
/// the shape of a number as it is typed, which keeps the numbering plans out of the page; a number
/// the plan refuses comes back from the Worker as a `phone.syntax` issue on the field, so the
/// visitor is always told. Answers whether it refused one.
fn check_phones(spec: &FormSpec, answers: &mut AnswerMap, issues: &mut Vec<Issue>) -> bool {
    let country = spec
        .fields
        .iter()
        .find(|f| f.id == "country" || f.autocomplete.starts_with("country"))
        .and_then(|f| answers.get(&f.id))
        .and_then(AnswerValue::as_text)
        .map(str::to_owned);
    let mut refused = false;
    for field in spec.fields.iter().filter(|f| f.kind == FieldKind::Tel) {
        let Some(typed) = answers.get(&field.id).and_then(AnswerValue::as_text) else {
            continue;
        };
        match parse_phone(typed, country.as_deref()) {
            Ok(phone) => {
                answers.insert(field.id.clone(), AnswerValue::Text(phone.to_rfc3966()));
            }
            Err(code) => {
                answers.remove(&field.id);
                issues.push(Issue::new(&field.id, code));
                refused = true;
            }
        }
    }
    refused
}

// Routing's input is built here, where the bundle and the evaluation meet, so that routing knows
// neither.
impl RouteInput {
    /// The routing input of an evaluated lead.
    pub fn from_evaluation(bundle: &Bundle, evaluation: &Evaluation, utm: &Utm) -> RouteInput {
        let email = bundle
            .form(&evaluation.form)
            .and_then(|f| email_answer(&f.spec, &evaluation.answers))
            .map(str::to_owned);
        RouteInput {
            answers: evaluation.answers.clone(),
            email,
            score: Some(f64::from(evaluation.score.total)),
            fit: Some(f64::from(evaluation.score.fit)),
            engagement: Some(f64::from(evaluation.score.engagement)),
            intent: Some(f64::from(evaluation.score.intent)),
            grade: Some(evaluation.grade.as_str().to_owned()),
            lifecycle: Some(evaluation.lifecycle.as_str().to_owned()),
            utm: utm.clone(),
            owner_hint: None,
            previous_owner: None,
        }
    }
}
