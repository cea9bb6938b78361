//! Wiring the rendered form to handoff-core: fields shown and hidden as their conditions change,
//! live checks as the visitor answers, every problem shown on submit with focus on the first, and
//! the submission posted to the Worker.

use std::cell::RefCell;
use std::rc::Rc;

use handoff_core::visibility::Known;
use handoff_core::{check_answer, AnswerMap, AnswerValue, CompiledForm, FieldKind, IssueCode};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Event, FocusEvent, Headers, Node, Request, RequestInit, Response};

use crate::view::FormView;

struct State {
    form: CompiledForm,
    view: FormView,
    endpoint: String,
    bundle_version: String,
    /// A field shows errors only once the visitor has left it or tried to submit, so that typing
    /// the first letters of an address is not met with a red message.
    touched: Vec<bool>,
    /// Which fields the form shows now (`CompiledForm::plan`); the others are `hidden`, skipped by
    /// validation and not sent.
    shown: Vec<bool>,
    sending: bool,
}

type Shared = Rc<RefCell<State>>;

pub fn attach(
    form: CompiledForm,
    view: FormView,
    endpoint: String,
    bundle_version: String,
) -> Result<(), JsValue> {
    let n = form.spec.fields.len();
    let state: Shared = Rc::new(RefCell::new(State {
        form,
        view,
        endpoint,
        bundle_version,
        touched: vec![false; n],
        shown: vec![true; n],
        sending: false,
    }));
    state.borrow_mut().refresh_visibility();
    let st = state.borrow();
    for (i, field) in st.view.fields.iter().enumerate() {
        // `input` and `change` bubble from every control of the field to its wrapper.
        for kind in ["input", "change"] {
            let s = Rc::clone(&state);
            listen(&field.row, kind, move |_| with(&s, |st| st.on_change(i)))?;
        }
        let row = field.row.clone();
        let s = Rc::clone(&state);
        listen(&field.row, "focusout", move |event: Event| {
            // Moving between the radios or boxes of one field is not leaving it.
            let to = event
                .dyn_ref::<FocusEvent>()
                .and_then(FocusEvent::related_target);
            if to.is_some_and(|to| row.contains(to.dyn_ref::<Node>())) {
                return;
            }
            with(&s, |st| st.on_leave(i));
        })?;
        if let Some(suggestion) = &field.suggestion {
            let s = Rc::clone(&state);
            listen(&suggestion.button, "click", move |_| {
                with(&s, |st| st.accept_suggestion(i))
            })?;
        }
    }
    let s = Rc::clone(&state);
    listen(&st.view.form, "submit", move |event: Event| {
        event.prevent_default();
        on_submit(&s);
    })?;
    Ok(())
}

/// Runs `f` on the state unless a handler already holds it: moving focus or disabling a control
/// dispatches `focusout` synchronously inside our own handlers, and that event needs no work.
fn with(state: &Shared, f: impl FnOnce(&mut State)) {
    if let Ok(mut st) = state.try_borrow_mut() {
        f(&mut st);
    }
}

/// Adds a listener that lives as long as the page: a mounted form is never unmounted.
fn listen(
    target: &web_sys::EventTarget,
    kind: &str,
    handler: impl FnMut(Event) + 'static,
) -> Result<(), JsValue> {
    let closure = Closure::<dyn FnMut(Event)>::new(handler);
    target.add_event_listener_with_callback(kind, closure.as_ref().unchecked_ref())?;
    closure.forget();
    Ok(())
}

/// Whether an answer says nothing yet, as far as showing errors goes: an unticked box counts.
fn blank(answer: Option<&AnswerValue>) -> bool {
    match answer {
        None => true,
        Some(AnswerValue::Flag(yes)) => !yes,
        Some(a) => a.is_empty(),
    }
}

impl State {
    /// Checks field `i` as the DOM holds it: `Ok(None)` for no answer, else the normalized answer.
    fn verdict(&self, i: usize) -> Result<Option<AnswerValue>, IssueCode> {
        let view = &self.view.fields[i];
        if view.bad_input() {
            return Err(IssueCode::NotANumber);
        }
        check_answer(&self.form.spec.fields[i], view.read().as_ref())
    }

    /// The answers conditions see: each normalized when it passes its check, so the form shows
    /// what the Worker will judge; as typed while it does not (the field's error blocks sending).
    fn answers(&self) -> AnswerMap {
        let mut answers = AnswerMap::new();
        for (i, field) in self.form.spec.fields.iter().enumerate() {
            let answer = match self.verdict(i) {
                Ok(normalized) => normalized,
                Err(_) => self.view.fields[i].read(),
            };
            if let Some(answer) = answer {
                answers.insert(field.id.clone(), answer);
            }
        }
        answers
    }

    /// Recomputes which fields show and hides the others.
    fn refresh_visibility(&mut self) {
        self.shown = self.plan();
        for (field, &shown) in self.view.fields.iter().zip(&self.shown) {
            field.set_shown(shown);
        }
    }

    fn plan(&self) -> Vec<bool> {
        // Nothing is known about the visitor yet: profiling asks its first questions.
        let now = js_sys::Date::now() as i64;
        self.form.plan(&self.answers(), &Known::new(), now)
    }

    fn on_change(&mut self, i: usize) {
        // The visitor is editing: a suggestion about the old text no longer applies.
        if let Some(suggestion) = &self.view.fields[i].suggestion {
            suggestion.offer(None);
        }
        self.refresh_visibility();
        if self.touched[i] {
            let _ = self.check(i);
        }
    }

    fn on_leave(&mut self, i: usize) {
        let field = &self.view.fields[i];
        if !self.touched[i] && blank(field.read().as_ref()) && !field.bad_input() {
            // Tabbing through an empty field is not a mistake yet.
            return;
        }
        self.touched[i] = true;
        if let Ok(Some(AnswerValue::Text(normalized))) = self.check(i) {
            // Show the visitor the value that will be stored, e.g. a lowercased email domain.
            if matches!(
                field.kind,
                FieldKind::Text
                    | FieldKind::Email
                    | FieldKind::Tel
                    | FieldKind::Number
                    | FieldKind::Textarea
            ) {
                field.write_text(&normalized);
            }
        }
        if let Some(suggestion) = &field.suggestion {
            let typed = field.read();
            let text = typed
                .as_ref()
                .and_then(AnswerValue::as_text)
                .unwrap_or_default();
            suggestion.offer(handoff_core::email::suggest(text).as_deref());
        }
    }

    /// "Did you mean …?" accepted: the corrected address replaces the typed one and is checked.
    fn accept_suggestion(&mut self, i: usize) {
        let field = &self.view.fields[i];
        let Some(suggestion) = &field.suggestion else {
            return;
        };
        let Some(address) = suggestion.offered() else {
            return;
        };
        field.write_text(&address);
        suggestion.offer(None);
        self.touched[i] = true;
        let _ = self.check(i);
        self.refresh_visibility();
        self.view.fields[i].focus();
    }

    /// Checks field `i`, shows or clears its error, and returns the verdict.
    fn check(&self, i: usize) -> Result<Option<AnswerValue>, IssueCode> {
        let verdict = self.verdict(i);
        self.view.fields[i].show_error(verdict.as_ref().err().map(|code| code.message()));
        verdict
    }

    fn set_status(&self, text: &str, kind: &str) {
        self.view.status.set_text_content(Some(text));
        let _ = self.view.status.set_attribute("data-kind", kind);
    }

    /// Checks every shown field; returns their normalized answers, or shows every error and moves
    /// focus to the first.
    fn check_all(&mut self) -> Option<AnswerMap> {
        self.refresh_visibility();
        let mut answers = AnswerMap::new();
        let mut first_bad = None;
        for i in 0..self.shown.len() {
            if !self.shown[i] {
                continue;
            }
            self.touched[i] = true;
            match self.check(i) {
                Ok(Some(value)) => {
                    answers.insert(self.form.spec.fields[i].id.clone(), value);
                }
                Ok(None) => {}
                Err(_) => {
                    first_bad.get_or_insert(i);
                }
            }
        }
        match first_bad {
            None => Some(answers),
            Some(i) => {
                self.view.fields[i].focus();
                self.set_status("Please fix the highlighted field before sending.", "error");
                None
            }
        }
    }
}

fn on_submit(state: &Shared) {
    let Ok(mut st) = state.try_borrow_mut() else {
        return;
    };
    if st.sending {
        return;
    }
    let Some(answers) = st.check_all() else {
        return;
    };
    let body = submission_body(&st.form.spec.id, &answers, &st.bundle_version);
    st.sending = true;
    st.view.submit.set_disabled(true);
    st.set_status("Sending…", "pending");
    let endpoint = st.endpoint.clone();
    drop(st);
    let state = Rc::clone(state);
    wasm_bindgen_futures::spawn_local(async move {
        let outcome = post_json(&endpoint, &body).await;
        let Ok(mut st) = state.try_borrow_mut() else {
            return;
        };
        st.sending = false;
        st.view.submit.set_disabled(false);
        match outcome {
            Ok((201, body)) => st.on_created(body),
            Ok((422, body)) => st.on_rejected(body),
            _ => st.set_status(
                "We could not send your request. Check your connection and try again.",
                "error",
            ),
        }
    });
}

/// The JSON body of `POST /v1/leads`: `{form, answers, bundle_version}`, each answer a string, an
/// array of strings or a boolean.
pub fn submission_body(form_id: &str, answers: &AnswerMap, bundle_version: &str) -> String {
    #[derive(Serialize)]
    struct Body<'a> {
        form: &'a str,
        answers: &'a AnswerMap,
        bundle_version: &'a str,
    }
    let body = Body {
        form: form_id,
        answers,
        bundle_version,
    };
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    body.serialize(&serializer)
        .ok()
        .and_then(|v| js_sys::JSON::stringify(&v).ok())
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

#[derive(Deserialize)]
struct Created {
    id: String,
    /// The Worker's lifecycle verdict (authoritative over anything computed in the browser).
    #[serde(default)]
    lifecycle: String,
}

#[derive(Deserialize)]
struct Rejected {
    error: RejectedDetail,
}

#[derive(Deserialize)]
struct RejectedDetail {
    #[serde(default)]
    issues: Vec<ServerIssue>,
}

#[derive(Deserialize)]
struct ServerIssue {
    field: String,
    code: String,
    message: String,
}

impl State {
    fn on_created(&mut self, body: JsValue) {
        let created = serde_wasm_bindgen::from_value::<Created>(body).ok();
        let (id, lifecycle) = created.map(|c| (c.id, c.lifecycle)).unwrap_or_default();
        let _ = self.view.form.set_attribute("data-lead-id", &id);
        if !lifecycle.is_empty() {
            let _ = self.view.form.set_attribute("data-lifecycle", &lifecycle);
        }
        for field in &self.view.fields {
            field.disable();
        }
        self.view.submit.set_hidden(true);
        let message = self.form.spec.success_message.clone();
        self.set_status(&message, "success");
    }

    /// The Worker is authoritative: show its verdict on each field it names.
    fn on_rejected(&mut self, body: JsValue) {
        let issues = serde_wasm_bindgen::from_value::<Rejected>(body)
            .map(|r| r.error.issues)
            .unwrap_or_default();
        let mut first = None;
        for issue in &issues {
            if let Some(i) = self
                .form
                .spec
                .fields
                .iter()
                .position(|f| f.id == issue.field)
            {
                let known = IssueCode::ALL.iter().find(|c| c.as_str() == issue.code);
                self.touched[i] = true;
                self.view.fields[i]
                    .show_error(Some(known.map_or(issue.message.as_str(), |c| c.message())));
                first.get_or_insert(i);
            }
        }
        if let Some(i) = first {
            self.view.fields[i].focus();
        }
        self.set_status("Please fix the highlighted field before sending.", "error");
    }
}

async fn post_json(endpoint: &str, body: &str) -> Result<(u16, JsValue), JsValue> {
    let headers = Headers::new()?;
    headers.set("content-type", "application/json")?;
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(body));
    let request = Request::new_with_str_and_init(endpoint, &init)?;
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await?
        .dyn_into()?;
    let status = response.status();
    let json = match response.json() {
        Ok(promise) => JsFuture::from(promise).await.unwrap_or(JsValue::NULL),
        Err(_) => JsValue::NULL,
    };
    Ok((status, json))
}
