//! Which fields a form shows right now: conditions on earlier answers, then what is known about
//! the visitor (a field asked only of `returning` visitors waits for their second visit; with
//! progressive profiling, known fields, required ones included, are not asked again until they are
//! stale, `always` fields are, and at most N new questions from a prioritized pool per visit).
//! Pure and deterministic: the same inputs, the same fields.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::answer::AnswerValue;
use crate::condition::{Answers, Condition, ConditionError, FieldType, Value, BAD_COMPACT};
use crate::form::{Ask, FieldKind, FormSpec};
use crate::markup::{self, Node};
use crate::scoring::{BrowserScoring, CompiledScoring, Thresholds};
use crate::text;

/// A form before its first answer.
const NO_ANSWERS: Vec<(String, AnswerValue)> = Vec::new();

/// Milliseconds in a day, for profiling ages.
const DAY_MS: i64 = 86_400_000;

/// A form with its conditions compiled, as the bundle holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledForm {
    pub spec: FormSpec,
    /// One entry per field: its `visible_if`, compiled.
    conditions: Vec<Option<Condition>>,
}

/// The field types conditions are compiled against: a field id's type and options, if the form
/// has such a field.
type FieldTypes<'a> = dyn Fn(&str) -> Option<FieldType<'a>> + 'a;

/// A form as the browser receives it (`GET /v1/forms/:id`): the spec, each `visible_if` compiled
/// in compact form (by field id; [`CompiledForm::from_compact`] reads it), and the version of the
/// bundle it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrowserForm<'a> {
    pub bundle_version: &'a str,
    /// The spec without what only the Worker uses (`allowed_origins`).
    pub form: FormSpec,
    pub conditions: BTreeMap<String, String>,
    /// What the form scores live with ([`CompiledScoring::for_browser`]).
    pub qualify: BrowserScoring,
    /// The form's markup as a first-time visitor sees it before answering ([`crate::markup`]):
    /// what the loader shows before the form module has loaded.
    pub markup: Node,
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
        CompiledForm::build(spec, |source, _, env| Condition::compile(source, env))
    }

    /// Each field's compiled `visible_if` in compact form ([`Condition::to_compact`]), by field
    /// id: what the Worker serves the browser with the spec.
    pub fn compact_conditions(&self) -> BTreeMap<String, String> {
        self.spec
            .fields
            .iter()
            .zip(&self.conditions)
            .filter_map(|(field, condition)| {
                Some((field.id.clone(), condition.as_ref()?.to_compact()))
            })
            .collect()
    }

    /// This form as the browser receives it, from the bundle of version `bundle_version` whose
    /// scoring is `scoring` and lifecycle thresholds `thresholds`.
    pub fn for_browser<'a>(
        &'a self,
        bundle_version: &'a str,
        scoring: &CompiledScoring,
        thresholds: Thresholds,
    ) -> BrowserForm<'a> {
        BrowserForm {
            bundle_version,
            form: FormSpec {
                allowed_origins: Vec::new(),
                ..self.spec.clone()
            },
            conditions: self.compact_conditions(),
            qualify: scoring.for_browser(thresholds),
            // Nothing answered and nothing known: the plan reads no clock.
            markup: markup::form(&self.spec, &self.plan(&NO_ANSWERS, &Known::new(), 0)),
        }
    }

    /// The form as the browser builds it: `spec` with its conditions already compiled, as
    /// [`CompiledForm::compact_conditions`] wrote them (field id, compact form), so the browser
    /// needs no compiler. Refuses a field with a `visible_if` and no compiled condition (or the
    /// other way round), a compact form that cannot be read, and a condition that reads its own
    /// field or a later one.
    pub fn from_compact(
        spec: FormSpec,
        compact: &[(String, String)],
    ) -> Result<CompiledForm, Vec<VisibilityError>> {
        let conditions = spec
            .fields
            .iter()
            .filter(|f| f.visible_if.is_some())
            .count();
        if conditions != compact.len() {
            // Reported on the first field with a condition, or the first field.
            let field = spec.fields.iter().position(|f| f.visible_if.is_some());
            return Err(vec![VisibilityError {
                field: field.unwrap_or(0),
                error: ConditionError {
                    code: BAD_COMPACT,
                    message: format!(
                        "the form has {conditions} conditions and {} compiled ones",
                        compact.len()
                    ),
                    start: 0,
                    end: 0,
                },
            }]);
        }
        let find = |id: &str| compact.iter().find(|(field, _)| field == id);
        CompiledForm::build(spec, |source, id, env| match find(id) {
            Some((_, compact)) => Condition::from_compact(compact, source, env),
            None => Err(ConditionError {
                code: BAD_COMPACT,
                message: "the condition has no compiled form".to_owned(),
                start: 0,
                end: source.len(),
            }),
        })
    }

    /// Makes each field's condition with `make(source, field id, field types)` and checks that it
    /// reads only earlier fields.
    fn build(
        spec: FormSpec,
        make: impl Fn(&str, &str, &FieldTypes<'_>) -> Result<Condition, ConditionError>,
    ) -> Result<CompiledForm, Vec<VisibilityError>> {
        let env = |id: &str| spec.field_type(id);
        let mut conditions = Vec::with_capacity(spec.fields.len());
        let mut errors = Vec::new();
        for (i, field) in spec.fields.iter().enumerate() {
            let Some(source) = &field.visible_if else {
                conditions.push(None);
                continue;
            };
            match make(source, &field.id, &env) {
                Ok(condition) => {
                    let later = condition.fields().iter().find(|id| {
                        spec.fields
                            .iter()
                            .position(|f| &f.id == *id)
                            .is_none_or(|j| j >= i)
                    });
                    if let Some(id) = later {
                        let start = text::find(source, id).unwrap_or(0);
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
        self.plan_knowing(answers, &|id| known.get(id).copied(), now_ms)
    }

    /// [`CompiledForm::plan`], with what is known about the visitor read through `known` (field id
    /// → when it was learned): the browser form asks it of no map.
    pub fn plan_knowing(
        &self,
        answers: &dyn Answers,
        known: &dyn Fn(&str) -> Option<i64>,
        now_ms: i64,
    ) -> Vec<bool> {
        let mut shown = self.shown_by_conditions(answers);
        // A first-time visitor is never asked a field meant for returning ones.
        let returning = self.spec.fields.iter().any(|f| known(&f.id).is_some());
        for (i, field) in self.spec.fields.iter().enumerate() {
            if field.ask == Ask::Returning && !returning && !answered(answers.get(&field.id)) {
                shown[i] = false;
            }
        }
        let Some(profiling) = &self.spec.profiling else {
            return shown;
        };
        let max_age = i64::from(profiling.max_age_days).saturating_mul(DAY_MS);
        let fresh = |id: &str| known(id).is_some_and(|t| now_ms.saturating_sub(t) <= max_age);
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
            // A known answer is not asked again, required or not (the Worker fills it in from the
            // person's earlier leads); the email address says who is submitting (a shared
            // computer has more than one person), and consent is given anew each time.
            let never_hidden = matches!(
                field.kind,
                FieldKind::Hidden | FieldKind::Consent | FieldKind::Email
            );
            if !shown[i] || never_hidden || field.ask == Ask::Always {
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

#[cfg(test)]
mod tests {
    use super::{CompiledForm, FORWARD_REFERENCE};
    use crate::answer::AnswerValue;
    use crate::condition::BAD_COMPACT;
    use crate::form::FormSpec;

    const SPEC: &str = r#"{"id":"f","title":"F","submit_label":"Send","success_message":"Thanks",
      "fields":[{"id":"interest","label":"I","type":"radio","options":["A demo","Pricing"]},
                {"id":"size","label":"S","type":"number","visible_if":"interest == \"A demo\""},
                {"id":"big","label":"B","type":"text","visible_if":"size >= 10 or not exists(interest)"}]}"#;

    fn spec() -> FormSpec {
        serde_json::from_str(SPEC).unwrap_or_else(|e| panic!("{e}"))
    }

    fn codes(
        result: Result<CompiledForm, Vec<super::VisibilityError>>,
    ) -> Vec<(usize, &'static str)> {
        result
            .err()
            .unwrap_or_default()
            .iter()
            .map(|e| (e.field, e.error.code))
            .collect()
    }

    #[test]
    fn the_browser_form_shows_what_the_compiled_form_shows() {
        let compiled = CompiledForm::compile(spec()).unwrap_or_else(|e| panic!("{e:?}"));
        let compact: Vec<(String, String)> = compiled.compact_conditions().into_iter().collect();
        let read = CompiledForm::from_compact(spec(), &compact).unwrap_or_else(|e| panic!("{e:?}"));
        let answers = |interest: &str, size: &str| {
            vec![
                ("interest".to_owned(), AnswerValue::from(interest)),
                ("size".to_owned(), AnswerValue::from(size)),
            ]
        };
        for (interest, size) in [
            ("A demo", "12"),
            ("A demo", "3"),
            ("Pricing", "12"),
            ("", ""),
        ] {
            let answers = answers(interest, size);
            assert_eq!(
                read.plan_knowing(&answers, &|_| None, 0),
                compiled.plan_knowing(&answers, &|_| None, 0),
                "{interest} {size}"
            );
        }
        let scoring = crate::scoring::CompiledScoring::default();
        let browser = compiled.for_browser("sha256:0", &scoring, Default::default());
        assert_eq!(browser.conditions.len(), 2);
        assert_eq!(browser.form, compiled.spec);
    }

    #[test]
    fn a_browser_form_that_was_not_compiled_from_its_spec_is_refused() {
        let pair = |id: &str, compact: &str| (id.to_owned(), compact.to_owned());
        let size = pair("size", r#"interest;=f0"A demo""#);
        let big = pair("big", "size,interest;|2gf0#4024000000000000!e1");
        let cases = [
            (vec![size.clone()], vec![(1, BAD_COMPACT)]),
            (
                vec![size.clone(), big.clone(), pair("interest", "size;T")],
                vec![(1, BAD_COMPACT)],
            ),
            (
                vec![size.clone(), pair("interest", "size;T")],
                vec![(2, BAD_COMPACT)],
            ),
            (
                vec![size.clone(), pair("big", "big;ef0")],
                vec![(2, BAD_COMPACT)],
            ),
            (
                vec![pair("size", "big;e0"), big.clone()],
                vec![(1, FORWARD_REFERENCE)],
            ),
            (vec![size, big], vec![]),
        ];
        for (compact, want) in cases {
            assert_eq!(
                codes(CompiledForm::from_compact(spec(), &compact)),
                want,
                "{compact:?}"
            );
        }
    }
}
