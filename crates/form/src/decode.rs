//! Reading the plain JS objects the form is handed (the spec, the loader's options, the Worker's
//! answers) into handoff-core's types, and writing the submission as JSON, without serde.
//!
//! serde and serde-wasm-bindgen cost the module tens of kilobytes, most of it error paths that
//! format floats; these readers are a few field look-ups each. They are as strict as the serde
//! derives the Worker uses for the same shapes: required members present, every member of the
//! type it should be, unknown members refused.

use handoff_core::form::{Ask, Outcome, Profiling};
use handoff_core::scoring::{LiveScoring, Stage, Thresholds};
use handoff_core::{AnswerValue, FieldKind, FieldSpec, FormSpec};
use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// What is wrong with a decoded value, in words for a developer's console.
pub type Decoded<T> = Result<T, String>;

/// A JS object whose members are being read; `what` names it in messages.
struct Members<'a> {
    object: &'a JsValue,
    what: &'static str,
}

impl<'a> Members<'a> {
    /// `value` as an object with only the `allowed` members.
    fn new(value: &'a JsValue, what: &'static str, allowed: &[&str]) -> Decoded<Members<'a>> {
        let members = Members::any(value, what)?;
        for key in members.keys() {
            if !allowed.contains(&key.as_str()) {
                return Err(format!("unknown member `{key}` in {what}"));
            }
        }
        Ok(members)
    }

    /// `value` as an object with any members.
    fn any(value: &'a JsValue, what: &'static str) -> Decoded<Members<'a>> {
        if !value.is_object() || Array::is_array(value) {
            return Err(format!("{what} is not an object"));
        }
        Ok(Members {
            object: value,
            what,
        })
    }

    /// The names of the object's own members.
    fn keys(&self) -> Vec<String> {
        Object::keys(self.object.unchecked_ref::<Object>())
            .iter()
            .map(|key| key.as_string().unwrap_or_default())
            .collect()
    }

    /// The member `key`; `undefined` when absent.
    fn get(&self, key: &str) -> JsValue {
        Reflect::get(self.object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }

    fn wrong(&self, key: &str, expected: &str) -> String {
        format!("`{key}` of {} is not {expected}", self.what)
    }

    /// A text member; `None` when absent (or `null`).
    fn optional_text(&self, key: &str) -> Decoded<Option<String>> {
        let value = self.get(key);
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        value
            .as_string()
            .map(Some)
            .ok_or_else(|| self.wrong(key, "text"))
    }

    fn text(&self, key: &str) -> Decoded<String> {
        self.optional_text(key)?
            .ok_or_else(|| format!("{} has no `{key}`", self.what))
    }

    /// A text member that may be absent, then empty.
    fn text_or_empty(&self, key: &str) -> Decoded<String> {
        Ok(self.optional_text(key)?.unwrap_or_default())
    }

    fn flag(&self, key: &str) -> Decoded<bool> {
        let value = self.get(key);
        if value.is_undefined() {
            return Ok(false);
        }
        value
            .as_bool()
            .ok_or_else(|| self.wrong(key, "true or false"))
    }

    /// A whole number from 0 to `u32::MAX`; `None` when absent (or `null`).
    fn count(&self, key: &str) -> Decoded<Option<u32>> {
        let value = self.get(key);
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        match value.as_f64() {
            Some(n) if n >= 0.0 && n <= f64::from(u32::MAX) && n == (n as u32) as f64 => {
                Ok(Some(n as u32))
            }
            _ => Err(self.wrong(key, "a whole number")),
        }
    }

    /// A whole number within `i32`, such as a rule's points (negative ones included).
    fn int(&self, key: &str) -> Decoded<i32> {
        match self.get(key).as_f64() {
            Some(n) if n.abs() <= f64::from(i32::MAX) && n == (n as i32) as f64 => Ok(n as i32),
            _ => Err(self.wrong(key, "a whole number")),
        }
    }

    /// An array member, each item as it is; empty when absent.
    fn items(&self, key: &str) -> Decoded<Vec<JsValue>> {
        let value = self.get(key);
        if value.is_undefined() {
            return Ok(Vec::new());
        }
        if !Array::is_array(&value) {
            return Err(self.wrong(key, "a list"));
        }
        Ok(Array::from(&value).iter().collect())
    }

    /// A function member; `None` when absent (or `null`).
    fn function(&self, key: &str) -> Decoded<Option<Function>> {
        let value = self.get(key);
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        value
            .dyn_into()
            .map(Some)
            .map_err(|_| self.wrong(key, "a function"))
    }

    fn texts(&self, key: &str) -> Decoded<Vec<String>> {
        let mut texts = Vec::new();
        for item in self.items(key)? {
            texts.push(
                item.as_string()
                    .ok_or_else(|| self.wrong(key, "a list of text"))?,
            );
        }
        Ok(texts)
    }
}

/// The form spec as `GET /v1/forms/:id` serves it (`FormSpec` in JSON).
pub fn form_spec(value: &JsValue) -> Decoded<FormSpec> {
    let form = Members::new(
        value,
        "the form",
        &[
            "id",
            "title",
            "intro",
            "submit_label",
            "success_message",
            "fields",
            "profiling",
            "outcomes",
            "allowed_origins",
        ],
    )?;
    let mut fields = Vec::new();
    for value in form.items("fields")? {
        fields.push(field_spec(&value)?);
    }
    let profiling = form.get("profiling");
    let profiling = if profiling.is_undefined() || profiling.is_null() {
        None
    } else {
        let p = Members::new(
            &profiling,
            "`profiling`",
            &["max_new_questions", "max_age_days", "pool"],
        )?;
        if p.get("pool").is_undefined() {
            return Err("`profiling` has no `pool`".to_owned());
        }
        Some(Profiling {
            max_new_questions: p
                .count("max_new_questions")?
                .ok_or("`profiling` has no `max_new_questions`")?,
            max_age_days: p.count("max_age_days")?.unwrap_or(365),
            pool: p.texts("pool")?,
        })
    };
    let outcomes = outcomes(&form)?;
    Ok(FormSpec {
        id: form.text("id")?,
        title: form.text("title")?,
        intro: form.text_or_empty("intro")?,
        submit_label: form.text("submit_label")?,
        success_message: form.text("success_message")?,
        fields,
        profiling,
        // The Worker's verdict names the outcome to show; the form's own copy is for a lead
        // queued offline, which shows the outcome its live score reaches.
        outcomes,
        allowed_origins: Vec::new(),
    })
}

/// The form's `outcomes`, kept out of line like [`qualify`].
#[inline(never)]
fn outcomes(form: &Members) -> Decoded<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    for value in form.items("outcomes")? {
        outcomes.push(outcome(&value)?);
    }
    Ok(outcomes)
}

fn outcome(value: &JsValue) -> Decoded<Outcome> {
    let o = Members::new(
        value,
        "an outcome",
        &["stages", "message", "link_url", "link_label"],
    )?;
    let mut stages = Vec::new();
    for name in o.texts("stages")? {
        let stage = [Stage::Disqualified, Stage::Nurture, Stage::Mql, Stage::Sql]
            .into_iter()
            .find(|s| s.as_str() == name);
        stages.push(stage.ok_or_else(|| o.wrong("stages", "a list of stages"))?);
    }
    Ok(Outcome {
        stages,
        message: o.text("message")?,
        link_url: o.text_or_empty("link_url")?,
        link_label: o.text_or_empty("link_label")?,
    })
}

fn field_spec(value: &JsValue) -> Decoded<FieldSpec> {
    let field = Members::new(
        value,
        "a field",
        &[
            "id",
            "label",
            "type",
            "required",
            "placeholder",
            "help",
            "max_length",
            "autocomplete",
            "options",
            "visible_if",
            "consent_version",
            "ask",
        ],
    )?;
    let kind = field.text("type")?;
    Ok(FieldSpec {
        id: field.text("id")?,
        label: field.text("label")?,
        kind: FieldKind::from_name(&kind).ok_or_else(|| format!("unknown field type `{kind}`"))?,
        required: field.flag("required")?,
        placeholder: field.text_or_empty("placeholder")?,
        help: field.text_or_empty("help")?,
        max_length: field.count("max_length")?,
        autocomplete: field.text_or_empty("autocomplete")?,
        options: field.texts("options")?,
        visible_if: field.optional_text("visible_if")?,
        consent_version: field.text_or_empty("consent_version")?,
        ask: match field.optional_text("ask")? {
            None => Ask::Once,
            Some(name) => Ask::from_name(&name).ok_or_else(|| format!("unknown ask `{name}`"))?,
        },
    })
}

/// A form as the Worker serves it.
pub struct Served {
    pub spec: FormSpec,
    /// Each `visible_if`, compiled (`Condition::to_compact`), by field id.
    pub conditions: Vec<(String, String)>,
    /// The version of the bundle the form came from, sent back with the lead as advisory.
    pub bundle_version: String,
    /// Live qualification (`qualify`); `None` when not served.
    pub qualify: Option<LiveScoring>,
}

/// The answer of `GET /v1/forms/:id` (`BrowserForm` in JSON): the spec, each condition compiled
/// in compact form by field id, and the bundle version the form came from.
pub fn browser_form(value: &JsValue) -> Decoded<Served> {
    let answer = Members::new(
        value,
        "the form's answer",
        // `markup` is the loader's: it built the DOM the module adopts.
        &["bundle_version", "form", "conditions", "qualify", "markup"],
    )?;
    let spec = form_spec(&answer.get("form"))?;
    let qualify = qualify(&answer.get("qualify"), &spec)?;
    let conditions = answer.get("conditions");
    let mut compact = Vec::new();
    if !conditions.is_undefined() {
        let conditions = Members::any(&conditions, "`conditions`")?;
        for key in conditions.keys() {
            let condition = conditions.text(&key)?;
            compact.push((key, condition));
        }
    }
    Ok(Served {
        spec,
        conditions: compact,
        bundle_version: answer.text("bundle_version")?,
        qualify,
    })
}

/// `qualify` of the form's answer (`BrowserScoring` in JSON): the maxima, the thresholds and each
/// fit or intent rule's points and compiled condition, read with the types of `spec`'s fields.
/// Kept out of line: its error paths would otherwise be copied into every caller's.
#[inline(never)]
fn qualify(value: &JsValue, spec: &FormSpec) -> Decoded<Option<LiveScoring>> {
    if value.is_undefined() {
        return Ok(None);
    }
    let q = Members::new(
        value,
        "`qualify`",
        &["fit_max", "intent_max", "mql", "sql", "rules"],
    )?;
    let number = |key| q.count(key)?.ok_or_else(|| q.wrong(key, "a whole number"));
    let mut live = LiveScoring {
        fit_max: number("fit_max")?,
        intent_max: number("intent_max")?,
        thresholds: Thresholds {
            mql: number("mql")?,
            sql: number("sql")?,
        },
        rules: Vec::new(),
    };
    for rule in q.items("rules")? {
        let r = Members::new(&rule, "a `qualify` rule", &["fit", "points", "when"])?;
        let when = LiveScoring::read_rule(&r.text("when")?, &|id| spec.field_type(id))
            .map_err(|e| format!("a scoring rule {e}"))?;
        live.rules.push((r.flag("fit")?, r.int("points")?, when));
    }
    Ok(Some(live))
}

/// The loader's options (see [`options`]).
pub struct Options {
    /// The absolute URL of `POST /v1/leads`; may be empty when `deliver` sends instead.
    pub endpoint: String,
    /// The first-party visitor token, sent as the lead's `visitor`.
    pub visitor: Option<String>,
    /// What is known about the visitor: field id and when it was learned (ms since the epoch).
    pub known: Vec<(String, i64)>,
    /// The loader's attribution object (`undefined` when none), sent with the consent added.
    pub attribution: JsValue,
    /// `deliver(bodyText) → Promise<{status, body} | {queued: true}>`: the loader's transport.
    pub deliver: Option<Function>,
    /// `emit(name, detail)`: the loader's events for the host page.
    pub emit: Option<Function>,
    /// When the visitor first saw the fields (ms since the epoch), which the loader may show
    /// before the module attaches: the fill time counts from then.
    pub shown_ms: Option<f64>,
}

/// The loader's options: `{ endpoint, formId, visitor, known, attribution, deliver, emit,
/// shownMs }`;
/// only `endpoint` is required, and only when there is no `deliver`.
pub fn options(value: &JsValue) -> Decoded<Options> {
    let options = Members::new(
        value,
        "the options",
        &[
            "endpoint",
            "formId",
            "visitor",
            "known",
            "attribution",
            "deliver",
            "emit",
            "shownMs",
        ],
    )?;
    let shown = options.get("shownMs");
    let shown_ms = if shown.is_undefined() {
        None
    } else {
        Some(
            shown
                .as_f64()
                .filter(|ms| ms.is_finite())
                .ok_or_else(|| options.wrong("shownMs", "a time"))?,
        )
    };
    let mut known = Vec::new();
    let value = options.get("known");
    if !(value.is_undefined() || value.is_null()) {
        let members = Members::any(&value, "`known`")?;
        for key in members.keys() {
            let at = members
                .get(&key)
                .as_f64()
                .ok_or_else(|| members.wrong(&key, "a time"))?;
            known.push((key, at as i64));
        }
    }
    let mut attribution = options.get("attribution");
    if attribution.is_null() {
        attribution = JsValue::UNDEFINED;
    } else if !attribution.is_undefined() {
        Members::any(&attribution, "`attribution`")?;
    }
    let deliver = options.function("deliver")?;
    Ok(Options {
        endpoint: if deliver.is_some() {
            options.text_or_empty("endpoint")?
        } else {
            options.text("endpoint")?
        },
        visitor: options.optional_text("visitor")?,
        known,
        attribution,
        deliver,
        emit: options.function("emit")?,
        shown_ms,
    })
}

/// The member `key` of `value` if it is text; `None` for anything else.
fn text_member(value: &JsValue, key: &str) -> Option<String> {
    Reflect::get(value, &JsValue::from_str(key))
        .ok()?
        .as_string()
}

/// A `201` answer of `POST /v1/leads`: the lead's id and the Worker's lifecycle verdict (empty
/// when absent); `None` if it has no id.
pub fn created(body: &JsValue) -> Option<(String, String)> {
    let id = text_member(body, "id")?;
    let lifecycle = text_member(body, "lifecycle").unwrap_or_default();
    Some((id, lifecycle))
}

/// The next step the Worker chose for its verdict (`outcome` of a `201` answer): the message and,
/// when there is one, an `https://` link as (url, label).
pub fn next_step(body: &JsValue) -> Option<(String, Option<(String, String)>)> {
    let outcome = Reflect::get(body, &JsValue::from_str("outcome")).ok()?;
    let message = text_member(&outcome, "message")?;
    let url = text_member(&outcome, "link_url").filter(|u| u.starts_with("https://"));
    let link = url.zip(text_member(&outcome, "link_label"));
    Some((message, link))
}

/// One issue of a `422` answer: the field, the stable code and the Worker's message.
pub struct ServerIssue {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// The issues of a `422` answer (`{error: {issues: [{field, code, message}]}}`); none if the
/// answer has another shape.
pub fn rejected(body: &JsValue) -> Vec<ServerIssue> {
    let issues = Reflect::get(body, &JsValue::from_str("error"))
        .and_then(|error| Reflect::get(&error, &JsValue::from_str("issues")))
        .unwrap_or(JsValue::UNDEFINED);
    if !Array::is_array(&issues) {
        return Vec::new();
    }
    Array::from(&issues)
        .iter()
        .map(|issue| {
            Some(ServerIssue {
                field: text_member(&issue, "field")?,
                code: text_member(&issue, "code")?,
                message: text_member(&issue, "message")?,
            })
        })
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default()
}

/// The JSON body of `POST /v1/leads`: `{form, answers, bundle_version}`, each answer a string, an
/// array of strings or a boolean, in the order `answers` gives them (an `AnswerMap`: by field
/// id). Strings are escaped as `JSON.stringify` escapes them.
pub fn submission_body<'a>(
    form_id: &str,
    answers: impl IntoIterator<Item = (&'a String, &'a AnswerValue)>,
    bundle_version: &str,
) -> String {
    let mut out = String::from("{\"form\":");
    string(&mut out, form_id);
    out.push_str(",\"answers\":{");
    for (n, (id, answer)) in answers.into_iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        string(&mut out, id);
        out.push(':');
        match answer {
            AnswerValue::Text(text) => string(&mut out, text),
            AnswerValue::Flag(yes) => out.push_str(if *yes { "true" } else { "false" }),
            AnswerValue::Choices(choices) => {
                out.push('[');
                for (n, choice) in choices.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    string(&mut out, choice);
                }
                out.push(']');
            }
        }
    }
    out.push_str("},\"bundle_version\":");
    string(&mut out, bundle_version);
    out.push('}');
    out
}

/// What a lead carries besides its answers.
pub struct Extras<'a> {
    /// The honeypot field's content; people leave it empty.
    pub honeypot: &'a str,
    /// Milliseconds from mounting the form to sending it.
    pub fill_ms: u32,
    pub visitor: Option<&'a str>,
    /// The attribution as JSON text, consent included; `None` for none.
    pub attribution: Option<&'a str>,
}

/// The whole body of `POST /v1/leads`: [`submission_body`] followed by `context` (`honeypot`,
/// `fill_ms`), `visitor` and `attribution` (the latter two only when there are any).
pub fn lead_body<'a>(
    form_id: &str,
    answers: impl IntoIterator<Item = (&'a String, &'a AnswerValue)>,
    bundle_version: &str,
    extras: &Extras,
) -> String {
    let mut out = submission_body(form_id, answers, bundle_version);
    out.pop();
    out.push_str(",\"context\":{\"honeypot\":");
    string(&mut out, extras.honeypot);
    out.push_str(",\"fill_ms\":");
    out.push_str(&crate::view::decimal(extras.fill_ms as usize));
    out.push('}');
    if let Some(visitor) = extras.visitor {
        out.push_str(",\"visitor\":");
        string(&mut out, visitor);
    }
    if let Some(attribution) = extras.attribution {
        out.push_str(",\"attribution\":");
        out.push_str(attribution);
    }
    out.push('}');
    out
}

/// `text` as a JSON string.
fn string(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => {
                out.push_str("\\u00");
                out.push(char::from(HEX[c as usize >> 4]));
                out.push(char::from(HEX[c as usize & 15]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
