//! Wiring the rendered form to handoff-core: live checks as the visitor types, every problem shown
//! on submit with focus on the first, and the submission posted to the Worker.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use handoff_core::submission::check_field;
use handoff_core::{FormSpec, IssueCode};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Event, Headers, Request, RequestInit, Response};

use crate::view::FormView;

struct State {
    spec: FormSpec,
    view: FormView,
    endpoint: String,
    bundle_version: String,
    /// A field shows errors only once the visitor has left it or tried to submit, so that typing
    /// the first letters of an address is not met with a red message.
    touched: Vec<bool>,
    sending: bool,
}

type Shared = Rc<RefCell<State>>;

pub fn attach(
    spec: FormSpec,
    view: FormView,
    endpoint: String,
    bundle_version: String,
) -> Result<(), JsValue> {
    let touched = vec![false; spec.fields.len()];
    let state: Shared = Rc::new(RefCell::new(State {
        spec,
        view,
        endpoint,
        bundle_version,
        touched,
        sending: false,
    }));
    let st = state.borrow();
    for (i, field) in st.view.fields.iter().enumerate() {
        let s = Rc::clone(&state);
        listen(&field.input, "input", move |_| s.borrow_mut().on_input(i))?;
        let s = Rc::clone(&state);
        listen(&field.input, "blur", move |_| s.borrow_mut().on_blur(i))?;
    }
    let s = Rc::clone(&state);
    listen(&st.view.form, "submit", move |event: Event| {
        event.prevent_default();
        on_submit(&s);
    })?;
    Ok(())
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

impl State {
    fn on_input(&mut self, i: usize) {
        if self.touched[i] {
            self.check(i);
        }
    }

    fn on_blur(&mut self, i: usize) {
        let field = &self.view.fields[i];
        if field.input.value().is_empty() && !self.touched[i] {
            // Tabbing through an empty field is not a mistake yet.
            return;
        }
        self.touched[i] = true;
        if let Some(normalized) = self.check(i) {
            // Show the visitor the value that will be stored, e.g. a lowercased email domain.
            if normalized != field.input.value() {
                field.input.set_value(&normalized);
            }
        }
    }

    /// Checks field `i`, shows or clears its error, and returns its normalized value if valid.
    fn check(&self, i: usize) -> Option<String> {
        let field = &self.view.fields[i];
        match check_field(&self.spec.fields[i], &field.input.value()) {
            Ok(value) => {
                self.show_error(i, None);
                Some(value.unwrap_or_default())
            }
            Err(code) => {
                self.show_error(i, Some(code.message()));
                None
            }
        }
    }

    fn show_error(&self, i: usize, message: Option<&str>) {
        let field = &self.view.fields[i];
        field.error.set_text_content(message);
        // Attribute writes on our own elements cannot fail.
        let _ = field.input.set_attribute(
            "aria-invalid",
            if message.is_some() { "true" } else { "false" },
        );
    }

    fn set_status(&self, text: &str, kind: &str) {
        self.view.status.set_text_content(Some(text));
        let _ = self.view.status.set_attribute("data-kind", kind);
    }

    /// Checks every field; returns the normalized answers, or shows every error and moves focus to
    /// the first.
    fn check_all(&mut self) -> Option<BTreeMap<String, String>> {
        let mut answers = BTreeMap::new();
        let mut first_bad = None;
        for i in 0..self.spec.fields.len() {
            self.touched[i] = true;
            match self.check(i) {
                Some(value) if !value.is_empty() => {
                    answers.insert(self.spec.fields[i].id.clone(), value);
                }
                Some(_) => {}
                None => {
                    first_bad.get_or_insert(i);
                }
            }
        }
        match first_bad {
            None => Some(answers),
            Some(i) => {
                let _ = self.view.fields[i].input.focus();
                self.set_status("Please fix the highlighted field before sending.", "error");
                None
            }
        }
    }
}

fn on_submit(state: &Shared) {
    let (endpoint, body) = {
        let mut st = state.borrow_mut();
        if st.sending {
            return;
        }
        let Some(answers) = st.check_all() else {
            return;
        };
        let body = submission_body(&st.spec.id, &answers, &st.bundle_version);
        st.sending = true;
        st.view.submit.set_disabled(true);
        st.set_status("Sending…", "pending");
        (st.endpoint.clone(), body)
    };
    let state = Rc::clone(state);
    wasm_bindgen_futures::spawn_local(async move {
        let outcome = post_json(&endpoint, &body).await;
        let mut st = state.borrow_mut();
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

/// The JSON body of `POST /v1/leads`.
pub fn submission_body(
    form_id: &str,
    answers: &BTreeMap<String, String>,
    bundle_version: &str,
) -> String {
    #[derive(Serialize)]
    struct Body<'a> {
        form: &'a str,
        answers: &'a BTreeMap<String, String>,
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
        let id = serde_wasm_bindgen::from_value::<Created>(body)
            .map(|c| c.id)
            .unwrap_or_default();
        let _ = self.view.form.set_attribute("data-lead-id", &id);
        for field in &self.view.fields {
            field.input.set_disabled(true);
        }
        self.view.submit.set_hidden(true);
        let message = self.spec.success_message.clone();
        self.set_status(&message, "success");
    }

    /// The Worker is authoritative: show its verdict on each field it names.
    fn on_rejected(&mut self, body: JsValue) {
        let issues = serde_wasm_bindgen::from_value::<Rejected>(body)
            .map(|r| r.error.issues)
            .unwrap_or_default();
        let mut first = None;
        for issue in &issues {
            if let Some(i) = self.spec.fields.iter().position(|f| f.id == issue.field) {
                let known = IssueCode::ALL.iter().find(|c| c.as_str() == issue.code);
                self.show_error(
                    i,
                    Some(known.map_or(issue.message.as_str(), |c| c.message())),
                );
                first.get_or_insert(i);
            }
        }
        if let Some(i) = first {
            let _ = self.view.fields[i].input.focus();
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
