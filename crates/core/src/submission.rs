//! Checking a submission against its form: every field validated and normalized, unknown answers
//! dropped, every problem reported at once.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::email;
use crate::form::{FieldKind, FieldSpec, FormSpec};
use crate::issue::{Issue, IssueCode};
use crate::text;

/// A submission that passed every check: answers normalized, keyed by field id, empty optional
/// answers left out, answers to fields the form does not have dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Submission {
    pub form_id: String,
    pub answers: BTreeMap<String, String>,
}

impl Submission {
    pub fn answer(&self, field: &str) -> Option<&str> {
        self.answers.get(field).map(String::as_str)
    }
}

/// Checks one answer: `Ok(None)` for an empty optional answer, `Ok(Some(normalized))` for a good
/// one. The form calls this on every keystroke, the Worker once per field.
pub fn check_field(field: &FieldSpec, raw: &str) -> Result<Option<String>, IssueCode> {
    if raw.trim().is_empty() {
        return if field.required {
            Err(IssueCode::Required)
        } else {
            Ok(None)
        };
    }
    match field.kind {
        FieldKind::Email => email::normalize(raw).map(Some),
        FieldKind::Text => {
            let max = field
                .max_length
                .map_or(text::DEFAULT_MAX_CHARS, |m| m as usize);
            let cleaned = text::clean_line(raw, max)?;
            if cleaned.is_empty() && field.required {
                return Err(IssueCode::Required);
            }
            Ok((!cleaned.is_empty()).then_some(cleaned))
        }
    }
}

/// Checks every field of `form` against `answers`. Fails with every issue found, in form order.
pub fn check_submission(
    form: &FormSpec,
    answers: &BTreeMap<String, String>,
) -> Result<Submission, Vec<Issue>> {
    let mut normalized = BTreeMap::new();
    let mut issues = Vec::new();
    for field in &form.fields {
        let raw = answers.get(&field.id).map_or("", String::as_str);
        match check_field(field, raw) {
            Ok(Some(value)) => {
                normalized.insert(field.id.clone(), value);
            }
            Ok(None) => {}
            Err(code) => issues.push(Issue::new(&field.id, code)),
        }
    }
    if issues.is_empty() {
        Ok(Submission {
            form_id: form.id.clone(),
            answers: normalized,
        })
    } else {
        Err(issues)
    }
}
