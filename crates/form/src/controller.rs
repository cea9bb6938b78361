//! Wiring the rendered form to handoff-core: fields shown and hidden as their conditions change
//! (and as progressive profiling plans with what the loader knows about the visitor), live checks
//! as the visitor answers, every problem shown on submit with focus on the first and a status line
//! naming them, and the lead (answers, honeypot and fill time, visitor, attribution with consent)
//! handed to the loader's `deliver` or, without one, posted to the Worker. The loader's `emit`
//! hears of changes, submissions and the Worker's verdict.

use std::cell::RefCell;
use std::rc::Rc;

use handoff_core::scoring::{LiveScoring, Stage};
use handoff_core::{check_answer, AnswerValue, CompiledForm, FieldKind, IssueCode};
use wasm_bindgen::prelude::*;
use web_sys::{Event, FocusEvent, Node, Response};

use js_sys::{Function, Object, Promise, Reflect, JSON};

use crate::decode::{self, lead_body, Extras, Options};
use crate::view::{self, FormView};

struct State {
    form: CompiledForm,
    /// Live qualification: the fit and intent rules, if the Worker served them.
    live: Option<LiveScoring>,
    view: FormView,
    options: Options,
    bundle_version: String,
    /// When the visitor first saw the form (the loader's `shownMs`, else when it was mounted),
    /// for the lead's `fill_ms`.
    mounted_ms: f64,
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
    live: Option<LiveScoring>,
    view: FormView,
    options: Options,
    bundle_version: String,
) -> Result<(), JsValue> {
    let n = form.spec.fields.len();
    let now = js_sys::Date::now();
    // Never later than now: a clock that moved back must not make the fill time negative.
    let shown = options.shown_ms.map_or(now, |ms| ms.min(now));
    let state: Shared = Rc::new(RefCell::new(State {
        form,
        live,
        view,
        options,
        bundle_version,
        mounted_ms: shown,
        touched: vec![false; n],
        shown: vec![true; n],
        sending: false,
    }));
    state.borrow_mut().refresh_visibility();
    state.borrow_mut().take_early_answers();
    let st = state.borrow();
    for (i, field) in st.view.fields.iter().enumerate() {
        // `input` and `change` bubble from every control of the field to its wrapper.
        for kind in ["input", "change"] {
            let s = Rc::clone(&state);
            let committed = kind == "change";
            listen(&field.row, kind, move |_| {
                with(&s, |st| st.on_change(i, committed))
            })?;
        }
        let row = field.row.clone();
        let s = Rc::clone(&state);
        listen(&field.row, "focusout", move |event| {
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
    listen(&st.view.form, "submit", move |event| {
        event.unchecked_ref::<Event>().prevent_default();
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

/// Adds a listener that lives as long as the page: a mounted form is never unmounted. It takes
/// the event as a plain value, so that listeners and promise callbacks are one closure type.
fn listen(
    target: &web_sys::EventTarget,
    kind: &str,
    handler: impl FnMut(JsValue) + 'static,
) -> Result<(), JsValue> {
    let closure = Callback::new(handler);
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

    /// What the visitor answered before the module attached (the loader shows the form at once)
    /// is kept: a shown field they have left is checked as if they had just left it, and the
    /// host page hears of the change; the field they are still in is checked when they leave it.
    fn take_early_answers(&mut self) {
        // The focused element of the form's own tree (its shadow root, or the document).
        let root = self.view.form.get_root_node();
        let focused = Reflect::get(&root, &"activeElement".into())
            .ok()
            .and_then(|e| e.dyn_into::<Node>().ok());
        for i in 0..self.view.fields.len() {
            let field = &self.view.fields[i];
            let early = self.shown[i]
                && field.kind != FieldKind::Hidden
                && (field.bad_input() || !blank(field.read().as_ref()))
                && !field.row.contains(focused.as_ref());
            if early {
                self.on_leave(i);
                self.emit_change(i);
            }
        }
    }

    /// Recomputes which fields show and hides the others.
    fn refresh_visibility(&mut self) {
        self.shown = self.plan();
        for (field, &shown) in self.view.fields.iter().zip(&self.shown) {
            field.set_shown(shown);
        }
    }

    fn plan(&self) -> Vec<bool> {
        // What the loader knows about the visitor: profiling asks new questions instead.
        let now = js_sys::Date::now() as i64;
        let known = &self.options.known;
        let known = |id: &str| known.iter().find(|(k, _)| k == id).map(|&(_, at)| at);
        self.form.plan_knowing(&self.answers(), &known, now)
    }

    /// An answer changed: `committed` for the `change` event (a choice made, or text left),
    /// which the host page hears of; `input` events, one per keystroke, it does not.
    fn on_change(&mut self, i: usize, committed: bool) {
        // The visitor is editing: a suggestion about the old text no longer applies.
        if let Some(suggestion) = &self.view.fields[i].suggestion {
            suggestion.offer(None);
        }
        self.refresh_visibility();
        if committed {
            self.emit_change(i);
        }
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
            if field.kind == FieldKind::Tel {
                field.write_text(&tidy_phone(&normalized));
            } else if matches!(
                field.kind,
                FieldKind::Text | FieldKind::Email | FieldKind::Number | FieldKind::Textarea
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
        self.emit_change(i);
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
        let mut bad = Vec::new();
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
                Err(_) => bad.push(i),
            }
        }
        if bad.is_empty() {
            return Some(answers);
        }
        self.needs_attention(&bad);
        None
    }

    /// Moves focus to the first of the `bad` fields and says in the status line which answers
    /// need attention: "2 answers need attention: Work email, Consent".
    fn needs_attention(&self, bad: &[usize]) {
        let Some(&first) = bad.first() else {
            return;
        };
        self.view.fields[first].focus();
        let mut text = view::decimal(bad.len());
        text.push_str(if bad.len() == 1 {
            " answer needs attention: "
        } else {
            " answers need attention: "
        });
        for (n, &i) in bad.iter().enumerate() {
            if n > 0 {
                text.push_str(", ");
            }
            text.push_str(&self.form.spec.fields[i].label);
        }
        self.set_status(&text, "error");
    }

    /// The lifecycle stage the shown, valid answers reach by the served fit and intent rules: the
    /// form's live qualification. The Worker's verdict, which adds engagement and may disqualify,
    /// is the one that counts.
    fn live_stage(&self) -> Option<Stage> {
        let live = self.live.as_ref()?;
        let answers: Answers = (0..self.shown.len())
            .filter(|&i| self.shown[i])
            .filter_map(|i| Some((self.form.spec.fields[i].id.clone(), self.verdict(i).ok()??)))
            .collect();
        Some(live.assess(&answers).1)
    }

    /// `change` for the host page: the field and, with live qualification, the stage reached.
    fn emit_change(&self, i: usize) {
        let stage = self.live_stage().map_or("", Stage::as_str);
        self.emit(
            "change",
            &[
                ("field", &self.form.spec.fields[i].id),
                ("lifecycle", stage),
            ],
        );
    }

    /// Tells the loader's `emit`, if any, of `name` with `{form, ...detail}` (empty values left out).
    fn emit(&self, name: &str, detail: &[(&str, &str)]) {
        let Some(emit) = &self.options.emit else {
            return;
        };
        let object = Object::new();
        let _ = Reflect::set(&object, &"form".into(), &self.form.spec.id.as_str().into());
        for &(key, value) in detail.iter().filter(|(_, v)| !v.is_empty()) {
            let _ = Reflect::set(&object, &key.into(), &value.into());
        }
        // The host page's listener failing is no reason to stop the form.
        let _ = emit.call2(&JsValue::NULL, &name.into(), &object);
    }

    /// The lead's `attribution` as JSON: the loader's, with the consent record of the first
    /// shown consent field (its id, label as shown, version and whether it was given); `None`
    /// when there is neither.
    fn attribution(&self) -> Option<String> {
        let consent = (0..self.shown.len())
            .find(|&i| self.shown[i] && self.form.spec.fields[i].kind == FieldKind::Consent);
        let given = &self.options.attribution;
        if consent.is_none() && given.is_undefined() {
            return None;
        }
        let object = Object::new();
        if !given.is_undefined() {
            Object::assign(&object, given.unchecked_ref());
        }
        if let Some(i) = consent {
            let (spec, record) = (&self.form.spec.fields[i], Object::new());
            let given = matches!(self.view.fields[i].read(), Some(AnswerValue::Flag(true)));
            for (key, value) in [
                ("field", JsValue::from_str(&spec.id)),
                ("text", JsValue::from_str(&spec.label)),
                ("version", JsValue::from_str(&spec.consent_version)),
                ("given", JsValue::from_bool(given)),
            ] {
                let _ = Reflect::set(&record, &key.into(), &value);
            }
            let _ = Reflect::set(&object, &"consent".into(), &record);
        }
        JSON::stringify(&object)
            .ok()
            .and_then(|text| text.as_string())
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
    let attribution = st.attribution();
    let extras = Extras {
        honeypot: &view::value_of(&st.view.honeypot),
        fill_ms: (js_sys::Date::now() - st.mounted_ms) as u32,
        visitor: st.options.visitor.as_deref(),
        attribution: attribution.as_deref(),
    };
    let body = lead_body(&st.form.spec.id, pairs, &st.bundle_version, &extras);
    st.sending = true;
    view::flag(&st.view.submit, "disabled", true);
    st.set_status("Sending…", "pending");
    let stage = st.live_stage().map_or("", Stage::as_str);
    st.emit("submit", &[("lifecycle", stage)]);
    let (endpoint, deliver) = (st.options.endpoint.clone(), st.options.deliver.clone());
    drop(st);
    match deliver {
        Some(deliver) => hand_over(state, &deliver, &body),
        None => post_json(state, &endpoint, &body),
    }
}

/// Hands `body` to the loader's `deliver`, which answers `{status, body}` (the Worker's answer,
/// its body parsed or as text) or `{queued: true}` (saved on the device, sent when back online).
fn hand_over(state: &Shared, deliver: &Function, body: &str) {
    let Ok(delivered) = deliver.call1(&JsValue::NULL, &body.into()) else {
        return finish(state, None);
    };
    let (on_answer, on_failure) = (Rc::clone(state), Rc::clone(state));
    then(
        &Promise::resolve(&delivered),
        Closure::new(move |answer: JsValue| {
            let member = |key: &str| Reflect::get(&answer, &key.into()).unwrap_or_default();
            if member("queued").as_bool() == Some(true) {
                return finish(&on_answer, Some((QUEUED, JsValue::NULL)));
            }
            let Some(status) = member("status").as_f64() else {
                return finish(&on_answer, None);
            };
            let mut body = member("body");
            if let Some(text) = body.as_string() {
                body = JSON::parse(&text).unwrap_or(JsValue::NULL);
            }
            finish(&on_answer, Some((status as u16, body)));
        }),
        Closure::new(move |_| finish(&on_failure, None)),
    );
}

/// The outcome of a submission the loader queued: a status no HTTP answer has.
const QUEUED: u16 = 0;

/// Promise callbacks: each runs at most once, and a mounted form lives as long as the page.
fn then(promise: &Promise, ok: Callback, failed: Callback) {
    let _ = promise.then2(&ok, &failed);
    ok.forget();
    failed.forget();
}

#[wasm_bindgen]
extern "C" {
    /// The page's `fetch`, looked up when called, as `window.fetch` is.
    #[wasm_bindgen(catch, js_name = fetch)]
    fn fetch_with(url: &str, init: &Object) -> Result<Promise, JsValue>;
}

/// Posts `body` to `endpoint` as JSON and shows how it ended: the Worker's answer (status and JSON
/// body, `null` if the body is not JSON) or, if no answer came, that sending failed. The request
/// is described by a plain object (method, headers, body), as `fetch` reads one.
fn post_json(state: &Shared, endpoint: &str, body: &str) {
    let (init, headers) = (Object::new(), Object::new());
    let _ = Reflect::set(&headers, &"content-type".into(), &"application/json".into());
    for (key, value) in [
        ("method", JsValue::from_str("POST")),
        ("headers", headers.into()),
        ("body", JsValue::from_str(body)),
    ] {
        let _ = Reflect::set(&init, &key.into(), &value);
    }
    let Ok(fetched) = fetch_with(endpoint, &init) else {
        return finish(state, None);
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

/// Shows the outcome of sending: the lead created, queued on the device, the Worker's issues, or
/// a failure to send. `None`: no answer came.
fn finish(state: &Shared, outcome: Option<(u16, JsValue)>) {
    let Ok(mut st) = state.try_borrow_mut() else {
        return;
    };
    st.sending = false;
    view::flag(&st.view.submit, "disabled", false);
    let issues = match outcome {
        Some((QUEUED, _)) => return st.on_queued(),
        Some((200..=299, body)) => return st.on_created(body),
        Some((400..=499, body)) => decode::rejected(&body),
        _ => Vec::new(),
    };
    if !st.on_rejected(&issues) {
        st.set_status(
            "We could not send your request. Check your connection and try again.",
            "error",
        );
    }
}

impl State {
    fn on_created(&mut self, body: JsValue) {
        let (id, lifecycle) = decode::created(&body).unwrap_or_default();
        let _ = self.view.form.set_attribute("data-lead-id", &id);
        if !lifecycle.is_empty() {
            let _ = self.view.form.set_attribute("data-lifecycle", &lifecycle);
        }
        self.close();
        // The Worker's verdict decides what comes next: its outcome for this lead, if it chose one.
        let (message, link) = decode::next_step(&body)
            .unwrap_or_else(|| (self.form.spec.success_message.clone(), None));
        self.set_status(&message, "success");
        if let Some((url, label)) = link {
            let _ = view::append_link(&self.view.status, &url, &label);
        }
        self.emit("qualified", &[("lifecycle", &lifecycle), ("lead_id", &id)]);
    }

    /// The loader saved the submission on the device to send when back online: sending again
    /// would make a second lead, so the form closes as after success, and says what happened.
    /// With no verdict to wait for, the next step is the one the live score reaches.
    fn on_queued(&mut self) {
        let stage = self.live_stage();
        self.close();
        self.set_status(
            "You appear to be offline. Your request is saved on this device and will be sent \
             automatically when you are back online.",
            "queued",
        );
        if let Some(next) = stage.and_then(|s| self.form.spec.outcome(s)) {
            let status = &self.view.status;
            let mut text = status.text_content().unwrap_or_default();
            text.push(' ');
            text.push_str(&next.message);
            status.set_text_content(Some(&text));
            if !next.link_url.is_empty() {
                let _ = view::append_link(status, &next.link_url, &next.link_label);
            }
        }
    }

    /// Nothing more to answer: every control disabled, the submit button gone, and a submit
    /// (Enter in a field, a script) ignored, as if one were in flight for good.
    fn close(&mut self) {
        self.sending = true;
        for field in &self.view.fields {
            field.disable();
        }
        view::show(&self.view.submit, false);
    }

    /// The Worker is authoritative: show its verdict on each field it names. Returns whether it
    /// named any field of the form.
    fn on_rejected(&mut self, issues: &[decode::ServerIssue]) -> bool {
        let mut bad = Vec::new();
        for issue in issues {
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
                if !bad.contains(&i) {
                    bad.push(i);
                }
            }
        }
        self.needs_attention(&bad);
        !bad.is_empty()
    }
}

/// A phone number as typed, tidied for the eye: each run of separators (spaces, `-`, `.`, `/`)
/// becomes one space, none after a leading `+`; digits, `+`, parentheses and extension marks stay
/// as they are. The browser has no numbering plans, so this says nothing of validity: the Worker
/// parses the number and may still refuse it.
pub fn tidy_phone(typed: &str) -> String {
    let mut out = String::with_capacity(typed.len());
    let mut gap = false;
    for c in typed.chars() {
        if matches!(c, ' ' | '-' | '.' | '/') {
            gap = true;
            continue;
        }
        if gap && !out.is_empty() && !out.ends_with('+') {
            out.push(' ');
        }
        gap = false;
        out.push(c);
    }
    out
}
