//! Checking answers against their form: every shown field validated and normalized, answers to
//! hidden or unknown fields dropped, every problem reported at once.

use serde::Serialize;

use crate::answer::{AnswerMap, AnswerValue};
use crate::email;
use crate::form::{FieldKind, FieldSpec};
use crate::issue::{Issue, IssueCode};
use crate::number;
use crate::text;
use crate::visibility::CompiledForm;

/// A submission that passed every check: answers normalized, keyed by field id, empty optional
/// answers left out, answers to hidden fields and to fields the form does not have dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Submission {
    pub form_id: String,
    pub answers: AnswerMap,
}

/// Checks one answer: `Ok(None)` for an empty optional answer, `Ok(Some(normalized))` for a good
/// one. The form calls this as the visitor types, the Worker once per shown field.
pub fn check_answer(
    field: &FieldSpec,
    answer: Option<&AnswerValue>,
) -> Result<Option<AnswerValue>, IssueCode> {
    let answer = match answer {
        Some(a) if !a.is_empty() => a,
        _ => {
            return if field.required {
                Err(IssueCode::Required)
            } else {
                Ok(None)
            }
        }
    };
    let normalized = match (field.kind, answer) {
        (FieldKind::Checkbox | FieldKind::Consent, a) => {
            let yes = flag(a).ok_or(IssueCode::WrongType)?;
            if !yes && field.required {
                return Err(IssueCode::Required);
            }
            AnswerValue::Flag(yes)
        }
        (FieldKind::MultiSelect, AnswerValue::Choices(chosen)) => choices(field, chosen)?,
        (FieldKind::MultiSelect, AnswerValue::Text(one)) => {
            choices(field, std::slice::from_ref(one))?
        }
        (_, AnswerValue::Text(raw)) => AnswerValue::Text(check_text(field, raw)?),
        _ => return Err(IssueCode::WrongType),
    };
    Ok((!normalized.is_empty()).then_some(normalized))
}

fn flag(answer: &AnswerValue) -> Option<bool> {
    match answer {
        AnswerValue::Flag(b) => Some(*b),
        AnswerValue::Text(t) => match t.trim() {
            "true" | "on" | "yes" => Some(true),
            "false" | "off" | "no" => Some(false),
            _ => None,
        },
        AnswerValue::Choices(_) => None,
    }
}

/// Every choice must be an option; duplicates are dropped and the options' order kept, so the
/// same choices always normalize to the same list.
fn choices(field: &FieldSpec, chosen: &[String]) -> Result<AnswerValue, IssueCode> {
    if chosen
        .iter()
        .any(|c| !field.options.iter().any(|o| o == c.trim()))
    {
        return Err(IssueCode::UnknownChoice);
    }
    let kept = field
        .options
        .iter()
        .filter(|o| chosen.iter().any(|c| c.trim() == *o))
        .cloned();
    Ok(AnswerValue::Choices(kept.collect()))
}

fn check_text(field: &FieldSpec, raw: &str) -> Result<String, IssueCode> {
    let max = |default: usize| field.max_length.map_or(default, |m| m as usize);
    match field.kind {
        FieldKind::Email => email::normalize(raw),
        FieldKind::Textarea => text::clean_block(raw, max(text::DEFAULT_MAX_BLOCK_CHARS)),
        FieldKind::Select | FieldKind::Radio => {
            let value = raw.trim();
            match field.options.iter().find(|o| *o == value) {
                Some(option) => Ok(option.clone()),
                None => Err(IssueCode::UnknownChoice),
            }
        }
        // A code in any case; the shipped list's names are the browser's to show.
        FieldKind::Country => {
            let value = raw.trim();
            match field.options.iter().find(|o| o.eq_ignore_ascii_case(value)) {
                Some(code) => Ok(code.clone()),
                None => Err(IssueCode::CountryUnknown),
            }
        }
        FieldKind::Number => {
            let value = raw.trim();
            match number::parse_finite(value) {
                Some(_) if value.len() <= 32 => Ok(value.to_owned()),
                _ => Err(IssueCode::NotANumber),
            }
        }
        FieldKind::Tel => check_phone(raw),
        _ => text::clean_line(raw, max(text::DEFAULT_MAX_CHARS)),
    }
}

/// A plausibility check until full numbering-plan validation lands: the characters people type in
/// phone numbers, and 7 to 15 digits (E.164's maximum).
fn check_phone(raw: &str) -> Result<String, IssueCode> {
    let value = text::clean_line(raw, 40)?;
    // As bytes, for the browser module's size (see `email::is_local_part`).
    let allowed =
        |c: char| c.is_ascii_digit() || (c.is_ascii() && b" +-().#/xet".contains(&(c as u8)));
    let digits = value.chars().filter(char::is_ascii_digit).count();
    if value.chars().all(allowed) && (7..=15).contains(&digits) {
        Ok(value)
    } else {
        Err(IssueCode::PhoneSyntax)
    }
}

/// Checks every field `form` shows for `answers`, in form order: each field's condition sees the
/// normalized answers of the earlier fields that are shown (profiling never hides a required
/// field, so it plays no part here). Returns the good answers, normalized, and every issue.
pub fn check_answers(form: &CompiledForm, answers: &AnswerMap) -> (AnswerMap, Vec<Issue>) {
    let mut normalized = AnswerMap::new();
    let mut issues = Vec::new();
    for (i, field) in form.spec.fields.iter().enumerate() {
        if !form.condition_holds(i, &normalized) {
            continue;
        }
        match check_answer(field, answers.get(&field.id)) {
            Ok(Some(value)) => {
                normalized.insert(field.id.clone(), value);
            }
            Ok(None) => {}
            Err(code) => issues.push(Issue::new(&field.id, code)),
        }
    }
    (normalized, issues)
}

/// Like [`check_answers`], but a submission either passes whole or fails with every issue.
pub fn check_submission(
    form: &CompiledForm,
    answers: &AnswerMap,
) -> Result<Submission, Vec<Issue>> {
    let (normalized, issues) = check_answers(form, answers);
    if issues.is_empty() {
        Ok(Submission {
            form_id: form.spec.id.clone(),
            answers: normalized,
        })
    } else {
        Err(issues)
    }
}
