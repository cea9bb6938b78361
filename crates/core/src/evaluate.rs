//! Evaluating one lead against a bundle: answers checked and normalized, the fields to show,
//! disqualification, score with breakdown, grade and lifecycle stage. The Worker and the CLI run
//! exactly this; the browser runs its parts as the visitor types.

use serde::{Deserialize, Serialize};

use crate::answer::AnswerMap;
use crate::answer::AnswerValue;
use crate::bundle::Bundle;
use crate::disqualify::{Disqualification, SubmitContext};
use crate::enrich::{email_flags, EmailFlags};
use crate::form::{FieldKind, FormSpec};
use crate::issue::Issue;
use crate::phone::parse_phone;
use crate::scoring::{stage, Activity, Grade, Score, Stage};
use crate::submission::check_answers;
use crate::visibility::Known;

/// One lead as the CLI and the Worker receive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadInput {
    pub form: String,
    #[serde(default)]
    pub answers: AnswerMap,
    #[serde(default)]
    pub activity: Vec<Activity>,
    /// Fields already known about this visitor: id → when learned (ms since the epoch).
    #[serde(default)]
    pub known: Known,
    #[serde(default)]
    pub context: SubmitContext,
}

/// Everything the rules say about one lead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub bundle_version: String,
    pub form: String,
    /// True when no answer has an issue.
    pub valid: bool,
    /// The answers that passed their checks, normalized.
    pub answers: AnswerMap,
    pub issues: Vec<Issue>,
    /// The fields the form shows for these answers and this visitor, in form order.
    pub visible: Vec<String>,
    pub score: Score,
    pub grade: Grade,
    pub lifecycle: Stage,
    pub disqualification: Option<Disqualification>,
    /// What the lead's email address says: free mail, disposable, role account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailFlags>,
}

/// The lead names a form the bundle does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownForm {
    pub code: &'static str,
    pub message: String,
}

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
    check_phones(&form.spec, &mut answers, &mut issues);
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

/// The lead's email address: the answer to the form's first email field, as normalized.
pub fn email_answer<'a>(spec: &FormSpec, answers: &'a AnswerMap) -> Option<&'a str> {
    let field = spec.fields.iter().find(|f| f.kind == FieldKind::Email)?;
    answers.get(&field.id)?.as_text()
}

/// Phone answers are checked against their country's numbering plan and stored in E.164 (with
/// `;ext=` when an extension was typed); national numbers are read in the country the lead chose
/// (the field `country`, or one whose autocomplete hint is `country…`). The browser checks only
/// the shape of a number as it is typed, which keeps the numbering plans out of the page; a number
/// the plan refuses comes back from the Worker as a `phone.syntax` issue on the field, so the
/// visitor is always told.
fn check_phones(spec: &FormSpec, answers: &mut AnswerMap, issues: &mut Vec<Issue>) {
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
    if refused {
        // Issues read in form order, wherever they were found.
        issues.sort_by_key(|i| spec.fields.iter().position(|f| f.id == i.field));
    }
}
