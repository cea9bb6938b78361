//! Which fields a form shows right now: conditions on earlier answers, then progressive profiling
//! (required fields always, known fields not again until they are stale, at most N new questions
//! from a prioritized pool per visit). Pure and deterministic: the same inputs, the same fields.

use std::collections::BTreeMap;

use crate::condition::{Answers, Condition, ConditionError, FieldType, Value};
use crate::form::{FieldKind, FormSpec};

/// Milliseconds in a day, for profiling ages.
const DAY_MS: i64 = 86_400_000;

/// A form with its conditions compiled, as the bundle holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledForm {
    pub spec: FormSpec,
    /// One entry per field: its `visible_if`, compiled.
    conditions: Vec<Option<Condition>>,
}

/// What is already known about a visitor: field id → when it was learned (ms since the epoch).
pub type Known = BTreeMap<String, i64>;

/// A `visible_if` that could not be compiled: the field it belongs to and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibilityError {
    /// Index of the field in the form.
    pub field: usize,
    pub error: ConditionError,
}

/// `condition.forward_reference`: a `visible_if` that reads its own field or a later one. Fields
/// are answered in order, so such a condition would wait forever or form a cycle.
pub const FORWARD_REFERENCE: &str = "condition.forward_reference";

impl CompiledForm {
    /// Compiles every `visible_if` of `spec` against the form's own fields. Each condition may read
    /// only fields before its own. Reports every field whose condition fails.
    pub fn compile(spec: FormSpec) -> Result<CompiledForm, Vec<VisibilityError>> {
        let env = |id: &str| {
            spec.fields.iter().find(|f| f.id == id).map(|f| FieldType {
                ty: f.kind.value_type(),
                options: f.kind.has_options().then_some(&f.options[..]),
            })
        };
        let mut conditions = Vec::with_capacity(spec.fields.len());
        let mut errors = Vec::new();
        for (i, field) in spec.fields.iter().enumerate() {
            let Some(source) = &field.visible_if else {
                conditions.push(None);
                continue;
            };
            match Condition::compile(source, &env) {
                Ok(condition) => {
                    let later = condition.fields().iter().find(|id| {
                        spec.fields
                            .iter()
                            .position(|f| &f.id == *id)
                            .is_none_or(|j| j >= i)
                    });
                    if let Some(id) = later {
                        let start = source.find(id.as_str()).unwrap_or(0);
                        errors.push(VisibilityError {
                            field: i,
                            error: ConditionError {
                                code: FORWARD_REFERENCE,
                                message: format!(
                                    "`{id}` is not an earlier field: a field can only depend on \
                                     the fields above it"
                                ),
                                start,
                                end: start + id.len(),
                            },
                        });
                    }
                    conditions.push(Some(condition));
                }
                Err(error) => {
                    errors.push(VisibilityError { field: i, error });
                    conditions.push(None);
                }
            }
        }
        if errors.is_empty() {
            Ok(CompiledForm { spec, conditions })
        } else {
            Err(errors)
        }
    }

    /// Whether field `i`'s condition lets it show given `answers`: no condition, or every field the
    /// condition reads is answered and the condition holds. A question that depends on an
    /// unanswered one waits.
    pub fn condition_holds(&self, i: usize, answers: &dyn Answers) -> bool {
        match self.conditions.get(i) {
            Some(Some(condition)) => {
                condition.fields().iter().all(|f| answered(answers.get(f)))
                    && condition.eval(answers)
            }
            _ => true,
        }
    }

    /// Which fields conditions show, in form order. An answer to a field that is itself hidden
    /// counts as no answer for the fields after it.
    pub fn shown_by_conditions(&self, answers: &dyn Answers) -> Vec<bool> {
        let mut shown = vec![false; self.spec.fields.len()];
        for i in 0..shown.len() {
            let visible = Masked {
                answers,
                form: &self.spec,
                shown: &shown,
                before: i,
            };
            shown[i] = self.condition_holds(i, &visible);
        }
        shown
    }

    /// Which fields to show now: conditions first, then progressive profiling against what is
    /// `known` about the visitor at `now_ms`.
    pub fn plan(&self, answers: &dyn Answers, known: &Known, now_ms: i64) -> Vec<bool> {
        let mut shown = self.shown_by_conditions(answers);
        let Some(profiling) = &self.spec.profiling else {
            return shown;
        };
        let max_age = i64::from(profiling.max_age_days).saturating_mul(DAY_MS);
        let fresh = |id: &str| {
            known
                .get(id)
                .is_some_and(|&t| now_ms.saturating_sub(t) <= max_age)
        };
        let mut budget = profiling.max_new_questions as usize;
        // Pool fields in priority order: the first `max_new_questions` that are shown and not
        // freshly known are asked; the rest wait for a later visit.
        let mut pool_pick = vec![false; shown.len()];
        for id in &profiling.pool {
            if let Some(i) = self.spec.fields.iter().position(|f| &f.id == id) {
                if budget > 0 && shown[i] && !fresh(id) {
                    pool_pick[i] = true;
                    budget -= 1;
                }
            }
        }
        for (i, field) in self.spec.fields.iter().enumerate() {
            if !shown[i] || field.required || field.kind == FieldKind::Hidden {
                continue;
            }
            // Never hide what the visitor already typed in this visit.
            if answered(answers.get(&field.id)) {
                continue;
            }
            let in_pool = profiling.pool.iter().any(|p| p == &field.id);
            shown[i] = if in_pool {
                pool_pick[i]
            } else {
                !fresh(&field.id)
            };
        }
        shown
    }
}

/// An answer that says something: non-blank text, at least one choice, any yes/no, any number.
fn answered(value: Option<Value<'_>>) -> bool {
    match value {
        None => false,
        Some(Value::Text(t)) => !t.trim().is_empty(),
        Some(Value::List(l)) => !l.is_empty(),
        Some(Value::Number(_) | Value::Bool(_)) => true,
    }
}

/// The answers as the field at index `before` sees them: only earlier fields that are shown.
struct Masked<'a> {
    answers: &'a dyn Answers,
    form: &'a FormSpec,
    shown: &'a [bool],
    before: usize,
}

impl Answers for Masked<'_> {
    fn get(&self, field: &str) -> Option<Value<'_>> {
        let i = self.form.fields.iter().position(|f| f.id == field)?;
        if i < self.before && self.shown[i] {
            self.answers.get(field)
        } else {
            None
        }
    }
}
