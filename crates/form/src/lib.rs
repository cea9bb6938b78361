//! handoff-form: the embeddable lead form, handoff-core compiled to WebAssembly.
//!
//! `www/embed.js` loads this module and calls [`mount`] with the form spec it fetched from the
//! Worker. The crate is a thin adapter: `view` builds the DOM, `controller` wires events to
//! handoff-core's checks and submits to the Worker. Nothing a visitor types is ever set as HTML;
//! every piece of text goes through `textContent` or an attribute.

mod controller;
mod view;

use handoff_core::{CompiledForm, FormSpec};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

pub use controller::submission_body;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// What the loader passes besides the spec.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MountOptions {
    /// Absolute URL of `POST /v1/leads`.
    endpoint: String,
    /// The bundle version the spec came from, sent back as advisory with the lead.
    bundle_version: String,
}

/// Renders `spec` into `target` and makes it live. `spec` is a `FormSpec` as JSON-like JS value;
/// `options` is `{ endpoint, bundleVersion }`. Errors are JS `Error`s with a stable code prefix:
/// `form.bad_spec` (not a form spec, or a `visible_if` that does not compile), `form.bad_options`,
/// `form.render_failed`, `form.attach_failed`.
#[wasm_bindgen]
pub fn mount(target: &web_sys::Element, spec: JsValue, options: JsValue) -> Result<(), JsError> {
    let spec: FormSpec = serde_wasm_bindgen::from_value(spec)
        .map_err(|e| JsError::new(&format!("form.bad_spec: {e}")))?;
    let options: MountOptions = serde_wasm_bindgen::from_value(options)
        .map_err(|e| JsError::new(&format!("form.bad_options: {e}")))?;
    let ids: Vec<String> = spec.fields.iter().map(|f| f.id.clone()).collect();
    let form = CompiledForm::compile(spec).map_err(|errors| {
        // The Worker compiles the same bundle, so this means the spec was not served by it.
        let problems: Vec<String> = errors
            .iter()
            .map(|e| {
                let id = ids.get(e.field).map_or("?", String::as_str);
                format!("field `{id}` visible_if {}", e.error)
            })
            .collect();
        JsError::new(&format!("form.bad_spec: {}", problems.join("; ")))
    })?;
    let view = view::FormView::render(target, &form.spec)
        .map_err(|_| JsError::new("form.render_failed: the page refused a DOM operation"))?;
    controller::attach(form, view, options.endpoint, options.bundle_version)
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
