//! handoff-form: the embeddable lead form, handoff-core compiled to WebAssembly.
//!
//! `www/embed.js` builds the form from the markup the Worker rendered (`handoff_core::markup`),
//! loads this module and calls [`mount`] with the form's answer: the spec and its conditions,
//! already compiled, so the module carries no condition compiler. The crate is a thin adapter:
//! `decode` reads the JS values it is handed (without serde, whose code would outweigh the rest of
//! the form), `view` finds the controls in the DOM, `controller` wires events to
//! handoff-core's checks and submits to the Worker. Nothing a visitor types is ever set as HTML;
//! every piece of text goes through `textContent` or an attribute. It has no panic hook: nothing
//! here panics on any input (the decoders answer errors), and the hook's message formatting cost
//! a kilobyte of the download.

mod controller;
mod decode;
mod view;

use handoff_core::CompiledForm;
use wasm_bindgen::prelude::*;

pub use decode::submission_body;

/// Makes the form in `target` live: the form the loader built there from the answer's `markup`,
/// with whatever the visitor typed meanwhile (kept, and checked now). `form` is the answer of
/// `GET /v1/forms/:id` as a JSON-like JS value: `{ bundle_version, form, conditions, qualify,
/// markup }`, the spec with each condition already compiled (the module has no condition
/// compiler); `options` is `{ endpoint, formId,
/// visitor, known, attribution, deliver, emit }`: the absolute URL of `POST /v1/leads` (needed
/// only without `deliver`), the first-party visitor token, what is known about the visitor
/// (`{fieldId: ms}`, for progressive profiling), the attribution to send (the form adds the
/// consent record), the loader's transport (`deliver(bodyText)` → a promise of `{status, body}`
/// or `{queued: true}`; without it the form posts itself) and its events (`emit(name, detail)`:
/// `change`, `submit`, `qualified`). Errors are JS `Error`s with a stable code prefix:
/// `form.bad_spec` (not a form as the Worker serves it, or a compiled condition that cannot be
/// read or reads a later field), `form.bad_options`, `form.bad_markup` (`target` holds no form
/// built from this spec's markup), `form.attach_failed`.
#[wasm_bindgen]
pub fn mount(target: &web_sys::Element, form: JsValue, options: JsValue) -> Result<(), JsError> {
    let served =
        decode::browser_form(&form).map_err(|e| JsError::new(&format!("form.bad_spec: {e}")))?;
    let options =
        decode::options(&options).map_err(|e| JsError::new(&format!("form.bad_options: {e}")))?;
    let ids: Vec<String> = served.spec.fields.iter().map(|f| f.id.clone()).collect();
    let form = CompiledForm::from_compact(served.spec, &served.conditions).map_err(|errors| {
        // The Worker compiled the same bundle, so this means the form was not served by it.
        let mut message = String::from("form.bad_spec: ");
        for (n, e) in errors.iter().enumerate() {
            let id = ids.get(e.field).map_or("?", String::as_str);
            let separator = if n > 0 { "; " } else { "" };
            message.push_str(&format!("{separator}field `{id}` visible_if {}", e.error));
        }
        JsError::new(&message)
    })?;
    let view = view::FormView::adopt(target, &form.spec).map_err(|e| {
        let what = e.as_string().unwrap_or_default();
        JsError::new(&format!("form.bad_markup: not the form's markup ({what})"))
    })?;
    controller::attach(form, served.qualify, view, options, served.bundle_version)
        .map_err(|_| JsError::new("form.attach_failed: could not listen for events"))
}

/// The stable code and message for an email address, as the form would show it; `null` if valid.
/// Exposed for the host page and for tests that compare the browser's verdict with the Worker's.
#[wasm_bindgen(js_name = checkEmail)]
pub fn check_email(raw: &str) -> Option<String> {
    handoff_core::email::normalize(raw)
        .err()
        .map(|code| code.as_str().to_owned())
}

/// The corrected address when the domain looks like a typo of a popular mailbox provider
/// (`maria@gmal.com` → `maria@gmail.com`); `null` otherwise. The form offers it as "Did you mean…?".
#[wasm_bindgen(js_name = suggestEmail)]
pub fn suggest_email(raw: &str) -> Option<String> {
    handoff_core::email::suggest(raw)
}
