//! Wiring the rendered form to handoff-core: fields shown and hidden as their conditions change,
//! live checks as the visitor answers, every problem shown on submit with focus on the first, and
//! the submission posted to the Worker.

use std::cell::RefCell;
use std::rc::Rc;

use handoff_core::{check_answer, AnswerValue, CompiledForm, FieldKind, IssueCode};
use wasm_bindgen::prelude::*;
use web_sys::{Event, FocusEvent, Headers, Node, Request, RequestInit, Response};

use crate::decode::{self, submission_body};
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

/// Answers by field id, in form order: a list, so that no map's code is in the module.
type Answers = Vec<(String, AnswerValue)>;

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
    fn answers(&self) -> Answers {
        let mut answers = Vec::new();
        for (i, field) in self.form.spec.fields.iter().enumerate() {
            let answer = match self.verdict(i) {
                Ok(normalized) => normalized,
                Err(_) => self.view.fields[i].read(),
            };
            if let Some(answer) = answer {
                answers.push((field.id.clone(), answer));
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
        self.form.plan_knowing(&self.answers(), &|_| None, now)
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
    fn check_all(&mut self) -> Option<Answers> {
        self.refresh_visibility();
        let mut answers = Vec::new();
        let mut first_bad = None;
        for i in 0..self.shown.len() {
            if !self.shown[i] {
                continue;
            }
            self.touched[i] = true;
            match self.check(i) {
                Ok(Some(value)) => {
                    answers.push((self.form.spec.fields[i].id.clone(), value));
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
    let Some(mut answers) = st.check_all() else {
        return;
    };
    // Sent in field-id order, as the Worker's own maps keep answers. A form has a few answers, and
    // an insertion sort is a few bytes where the standard library's sorts are kilobytes.
    for i in 1..answers.len() {
        let mut j = i;
        while j > 0 && answers[j - 1].0 > answers[j].0 {
            answers.swap(j - 1, j);
            j -= 1;
        }
    }
    let pairs = answers.iter().map(|(id, answer)| (id, answer));
    let body = submission_body(&st.form.spec.id, pairs, &st.bundle_version);
    st.sending = true;
    st.view.submit.set_disabled(true);
    st.set_status("Sending…", "pending");
    let endpoint = st.endpoint.clone();
    drop(st);
    post_json(state, &endpoint, &body);
}

/// Posts `body` to `endpoint` and shows how it ended: the Worker's answer (status and JSON body,
/// `null` if the body is not JSON) or, if no answer came, that sending failed.
fn post_json(state: &Shared, endpoint: &str, body: &str) {
    let request = || {
        let headers = Headers::new()?;
        headers.set("content-type", "application/json")?;
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(body));
        Request::new_with_str_and_init(endpoint, &init)
    };
    let fetched = request()
        .ok()
        .zip(web_sys::window())
        .map(|(request, window)| window.fetch_with_request(&request));
    let Some(fetched) = fetched else {
        return finish(state, None);
    };
    // Promise callbacks: each runs at most once, and a mounted form lives as long as the page.
    let then = |promise: &js_sys::Promise, ok: Callback, failed: Callback| {
        let _ = promise.then2(&ok, &failed);
        ok.forget();
        failed.forget();
    };
    let (on_answer, on_failure) = (Rc::clone(state), Rc::clone(state));
    then(
        &fetched,
        Closure::new(move |response: JsValue| {
            let response: Response = response.unchecked_into();
            let status = response.status();
            let Ok(json) = response.json() else {
                return finish(&on_answer, Some((status, JsValue::NULL)));
            };
            let (on_json, on_other) = (Rc::clone(&on_answer), Rc::clone(&on_answer));
            then(
                &json,
                Closure::new(move |json| finish(&on_json, Some((status, json)))),
                Closure::new(move |_| finish(&on_other, Some((status, JsValue::NULL)))),
            );
        }),
        Closure::new(move |_| finish(&on_failure, None)),
    );
}

type Callback = Closure<dyn FnMut(JsValue)>;

/// Shows the outcome of sending: the lead created, the Worker's issues, or a failure to send.
fn finish(state: &Shared, outcome: Option<(u16, JsValue)>) {
    let Ok(mut st) = state.try_borrow_mut() else {
        return;
    };
    st.sending = false;
    st.view.submit.set_disabled(false);
    match outcome {
        Some((201, body)) => st.on_created(body),
        Some((422, body)) => st.on_rejected(body),
        _ => st.set_status(
            "We could not send your request. Check your connection and try again.",
            "error",
        ),
    }
}

impl State {
    fn on_created(&mut self, body: JsValue) {
        let (id, lifecycle) = decode::created(&body).unwrap_or_default();
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
        let issues = decode::rejected(&body);
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
