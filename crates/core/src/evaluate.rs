//! Evaluating one lead against a bundle: answers checked and normalized, the fields to show,
//! disqualification, score with breakdown, grade and lifecycle stage. The Worker and the CLI run
//! exactly this; the browser runs its parts as the visitor types.

use serde::{Deserialize, Serialize};

use crate::answer::AnswerMap;
use crate::bundle::Bundle;
use crate::disqualify::{Disqualification, SubmitContext};
use crate::form::FieldKind;
use crate::issue::Issue;
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
    let (answers, issues) = check_answers(form, &input.answers);
    let shown = form.plan(&answers, &input.known, now_ms);
    let visible = form
        .spec
        .fields
        .iter()
        .zip(shown)
        .filter(|(_, s)| *s)
        .map(|(f, _)| f.id.clone())
        .collect();
    let email = form
        .spec
        .fields
        .iter()
        .find(|f| f.kind == FieldKind::Email)
        .and_then(|f| answers.get(&f.id))
        .and_then(|a| a.as_text());
    let disqualification = bundle.disqualify().check(&answers, email, &input.context);
    let scoring = bundle.scoring();
    let score = scoring.score(&answers, &input.activity, now_ms);
    let grade = scoring.grade(&score);
    let lifecycle = stage(&score, bundle.rules.lifecycle, disqualification.is_some());
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
    })
}
