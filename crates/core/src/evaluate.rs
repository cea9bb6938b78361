//! Evaluating one lead against a bundle: answers checked and normalized, the fields to show,
//! disqualification, score with breakdown, grade and lifecycle stage. The Worker and the CLI run
//! exactly this; the browser runs its parts as the visitor types.

use crate::answer::AnswerMap;
use crate::answer::AnswerValue;
use crate::attribution::Utm;
use crate::bundle::Bundle;
use crate::email;
use crate::enrich::{email_domain, email_flags, Derived, Place};
use crate::form::{FieldKind, FormSpec};
use crate::issue::{Issue, IssueCode};
use crate::phone::parse_phone;
use crate::routing::RouteInput;
use crate::scoring::stage;
use crate::submission::check_answers;
use serde::Serialize;

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
    // What the person told us before fills in what this submission does not say.
    let earlier = learned(&form.spec, &input.earlier);
    let mut merged = input.answers.clone();
    let mut filled = std::collections::BTreeSet::new();
    for (id, (value, _)) in &earlier {
        if merged.get(id).is_none_or(AnswerValue::is_empty) {
            merged.insert(id.clone(), value.clone());
            filled.insert(id.clone());
        }
    }
    let from_earlier = |id: &str| filled.contains(id);
    let (mut answers, mut issues) = check_answers(form, &merged);
    let refused = check_email_domains(&form.spec, &mut answers, &mut issues);
    if check_phones(&form.spec, &mut answers, &mut issues) || refused {
        // Issues read in form order, wherever they were found.
        issues.sort_by_key(|i| form.spec.fields.iter().position(|f| f.id == i.field));
    }
    // An earlier answer the form no longer takes (an option since renamed) is left out, never
    // held against this submission.
    issues.retain(|i| !from_earlier(&i.field));
    let mut known = input.known.clone();
    for (id, (_, source)) in &earlier {
        let at = known.entry(id.clone()).or_insert(source.at_ms);
        *at = (*at).max(source.at_ms);
    }
    // The fields shown are those the browser showed: it reads only what this submission says.
    let typed: AnswerMap = answers
        .iter()
        .filter(|(id, _)| !from_earlier(id))
        .map(|(id, v)| (id.clone(), v.clone()))
        .collect();
    let shown = form.plan(&typed, &known, now_ms);
    // A field the form did not ask because it is known, but whose answer cannot be found, is
    // missing rather than wrong: the visitor could not have typed it.
    issues.retain(|i| {
        let hidden = form
            .spec
            .fields
            .iter()
            .zip(&shown)
            .any(|(f, s)| f.id == i.field && !s);
        !(hidden && i.code == crate::issue::IssueCode::Required)
    });
    let learned = earlier
        .into_iter()
        .filter(|(id, _)| from_earlier(id) && answers.contains_key(id))
        .map(|(id, (_, source))| (id, source))
        .collect();
    let visible = form
        .spec
        .fields
        .iter()
        .zip(shown)
        .filter(|(_, s)| *s)
        .map(|(f, _)| f.id.clone())
        .collect();
    let address = email_answer(&form.spec, &answers);
    let email = address.map(|address| email_flags(address, &bundle.rules.email));
    let domain = address.and_then(email_domain);
    // Conditions read what the answers and the address say, as well as the answers.
    let place = Place::of(&form.spec, &answers);
    let view = Derived {
        answers: &answers,
        domain: domain.as_deref(),
        flags: email.as_ref(),
        place: &place,
    };
    let disqualification = bundle.disqualify().check(&view, address, &input.context);
    let scoring = bundle.scoring();
    let score = scoring.score(&view, &input.activity, now_ms);
    let grade = scoring.grade(&score);
    let lifecycle = stage(&score, bundle.rules.lifecycle, disqualification.is_some());
    let unknown = input
        .answers
        .iter()
        .filter(|(id, _)| form.spec.field(id).is_none())
        .map(|(id, v)| (id.clone(), v.clone()))
        .collect();
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
        learned,
        place,
        unknown,
    })
}

/// The newest earlier answer to each of `form`'s fields, with where it came from. Consent is
/// given anew on each submission, and hidden fields (campaign values) belong to their visit, so
/// neither is carried over.
fn learned(
    form: &FormSpec,
    earlier: &[crate::lead::EarlierLead],
) -> std::collections::BTreeMap<String, (AnswerValue, crate::lead::Learned)> {
    let mut out = std::collections::BTreeMap::new();
    let mut newest_first: Vec<&crate::lead::EarlierLead> = earlier.iter().collect();
    newest_first.sort_by_key(|lead| std::cmp::Reverse(lead.at_ms));
    for field in &form.fields {
        if matches!(field.kind, FieldKind::Consent | FieldKind::Hidden) {
            continue;
        }
        let found = newest_first.iter().find_map(|lead| {
            let value = lead.answers.get(&field.id).filter(|v| !v.is_empty())?;
            Some((
                value.clone(),
                crate::lead::Learned {
                    lead_id: lead.lead_id.clone(),
                    at_ms: lead.at_ms,
                },
            ))
        });
        if let Some(found) = found {
            out.insert(field.id.clone(), found);
        }
    }
    out
}

/// A lead line `handoff eval` cannot read (`bad_json`), with every problem it has, each naming
/// its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    pub code: &'static str,
    pub message: String,
}

/// Reads one lead as `handoff eval` takes it: a JSON object, whose `form` may be left out for
/// `default_form`. An answer that is neither text, a list of texts nor true/false is not a reason
/// to refuse the line: it is an issue on its field (`answer.wrong_type`), beside the lead read
/// without it. Anything else wrong refuses the line with every problem, each naming its key
/// (`` `activity[0].at_ms` must be a whole number, like 1795300000000 ``).
pub fn read_lead(line: &str, default_form: &str) -> Result<(LeadInput, Vec<Issue>), LineError> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| LineError {
        code: "bad_json",
        message: e.to_string(),
    })?;
    read_lead_value(value, default_form)
}

/// [`read_lead`] of a line already parsed.
pub fn read_lead_value(
    mut value: serde_json::Value,
    default_form: &str,
) -> Result<(LeadInput, Vec<Issue>), LineError> {
    let bad = |message: String| LineError {
        code: "bad_json",
        message,
    };
    let object = value
        .as_object_mut()
        .ok_or_else(|| bad("a lead must be a JSON object".to_owned()))?;
    object.entry("form").or_insert_with(|| default_form.into());
    // Answers as an object are read here and set on the lead read without them (read, they could
    // not fail to read again); any other value is read as null.
    let answers = match object.remove("answers") {
        Some(serde_json::Value::Object(raw)) => Some(read_answers(raw)),
        Some(_) => {
            object.insert("answers".to_owned(), serde_json::Value::Null);
            None
        }
        None => None,
    };
    let mut input: LeadInput =
        crate::shape::read_json(&value, "the lead").map_err(|problems| bad(problems.join("; ")))?;
    let issues = match answers {
        Some((read, wrong)) => {
            input.answers = read;
            wrong
        }
        None => Vec::new(),
    };
    Ok((input, issues))
}

/// Answers as a JSON object holds them, read as handoff-core takes them: text, a list of texts,
/// true or false; a number as its decimal text (`12` is `"12"`, for a number field); `null` as no
/// answer. Any other value (an object, a list holding anything but text) is left out and is an
/// `answer.wrong_type` issue on its field, so that the problem names its field. The Worker and
/// `handoff eval` read answers this way.
pub fn read_answers(raw: serde_json::Map<String, serde_json::Value>) -> (AnswerMap, Vec<Issue>) {
    use serde_json::Value as J;
    let mut answers = AnswerMap::new();
    let mut issues = Vec::new();
    for (field, value) in raw {
        let answer = match value {
            J::Null => continue,
            J::Number(n) => Some(AnswerValue::Text(n.to_string())),
            other => serde_json::from_value::<AnswerValue>(other).ok(),
        };
        match answer {
            Some(answer) => {
                answers.insert(field, answer);
            }
            None => issues.push(Issue::new(&field, IssueCode::WrongType)),
        }
    }
    (answers, issues)
}

/// Evaluates a lead that [`read_lead`] read, with the `issues` it found, as `handoff eval` does:
/// like [`evaluate`], and what the Worker would drop unread is an issue too: an answer to a field
/// the form does not have (`answer.unknown_field`) and one of the wrong kind (`issues`, which
/// stand in for the `required` such an answer would otherwise also be). Issues read in form
/// order, answers to unknown fields last.
pub fn evaluate_lead(
    bundle: &Bundle,
    input: &LeadInput,
    issues: Vec<Issue>,
    now_ms: i64,
) -> Result<Evaluation, UnknownForm> {
    let mut evaluation = evaluate(bundle, input, now_ms)?;
    let Some(form) = bundle.form(&input.form) else {
        return Ok(evaluation);
    };
    let has = |id: &str| form.spec.field(id).is_some();
    evaluation
        .issues
        .retain(|i| !issues.iter().any(|w| w.field == i.field));
    let unknown: Vec<String> = evaluation.unknown.keys().cloned().collect();
    let wrong = issues.into_iter().map(|i| {
        if has(&i.field) {
            i
        } else {
            Issue::new(&i.field, IssueCode::UnknownField)
        }
    });
    evaluation.issues.extend(wrong);
    evaluation.issues.extend(
        unknown
            .iter()
            .map(|id| Issue::new(id, IssueCode::UnknownField)),
    );
    let order = |i: &Issue| {
        let at = form.spec.fields.iter().position(|f| f.id == i.field);
        (at.unwrap_or(usize::MAX), i.field.clone())
    };
    evaluation.issues.sort_by_key(order);
    evaluation.valid = evaluation.issues.is_empty();
    Ok(evaluation)
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
            disposable_email: evaluation.email.as_ref().map(|f| f.disposable),
            country_code: evaluation.place.country_code.map(str::to_owned),
            region_code: evaluation.place.region_code.map(str::to_owned),
            company_key: evaluation.place.company_key.clone(),
            function: evaluation.place.function.map(str::to_owned),
            seniority: evaluation.place.seniority.map(str::to_owned),
            email_host: Default::default(),
        }
    }
}
