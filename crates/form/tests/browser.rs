//! handoff-form in a real headless Chromium: what a visitor sees and what the form refuses to send.

#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use handoff_core::IssueCode;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{Element, Event, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// A form spec as the Worker serves it, with an optional twist on the company label.
fn spec(company_label: &str) -> JsValue {
    let json = format!(
        r#"{{"id":"demo","title":"Talk to us","intro":"","submit_label":"Send","success_message":"Thanks",
            "fields":[{{"id":"email","label":"Work email","type":"email","required":true,"help":"We reply here."}},
                      {{"id":"company","label":{company_label:?},"type":"text","max_length":5}}]}}"#
    );
    js_sys::JSON::parse(&json).unwrap()
}

/// Mounts a fresh form into a new element and returns that element.
fn mount(company_label: &str) -> Element {
    let target = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&target).unwrap();
    let options = js_sys::JSON::parse(
        r#"{"endpoint":"http://127.0.0.1:9/v1/leads","bundleVersion":"sha256:0000000000000000"}"#,
    )
    .unwrap();
    handoff_form::mount(&target, spec(company_label), options).unwrap();
    target
}

fn input(root: &Element, name: &str) -> HtmlInputElement {
    root.query_selector(&format!("input[name={name}]"))
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap()
}

fn error_text(root: &Element, input: &HtmlInputElement) -> String {
    let id = format!("{}-error", input.id());
    root.query_selector(&format!("#{id}"))
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap_or_default()
}

fn fire(target: &web_sys::EventTarget, kind: &str) {
    target.dispatch_event(&Event::new(kind).unwrap()).unwrap();
}

fn type_and_leave(input: &HtmlInputElement, value: &str) {
    input.set_value(value);
    fire(input, "input");
    fire(input, "blur");
}

#[wasm_bindgen_test]
fn renders_labelled_described_fields() {
    let root = mount("Company");
    let email = input(&root, "email");
    assert_eq!(email.type_(), "email");
    assert!(email.required());
    let label = root
        .query_selector(&format!("label[for='{}']", email.id()))
        .unwrap()
        .unwrap();
    assert!(label.text_content().unwrap().starts_with("Work email"));
    let described = email.get_attribute("aria-describedby").unwrap();
    assert_eq!(described, format!("{0}-help {0}-error", email.id()));
    assert_eq!(
        input(&root, "company")
            .get_attribute("maxlength")
            .as_deref(),
        Some("5")
    );
    let status = root.query_selector("[role=status]").unwrap().unwrap();
    assert_eq!(status.get_attribute("aria-live").as_deref(), Some("polite"));
}

#[wasm_bindgen_test]
fn two_forms_on_one_page_never_share_ids() {
    let (a, b) = (mount("Company"), mount("Company"));
    assert_ne!(input(&a, "email").id(), input(&b, "email").id());
}

#[wasm_bindgen_test]
fn configured_text_is_never_parsed_as_markup() {
    let root = mount("<img src=x onerror=alert(1)>");
    assert!(root.query_selector("img").unwrap().is_none());
    let label = root.query_selector(&format!("label[for='{}']", input(&root, "company").id()));
    assert_eq!(
        label.unwrap().unwrap().text_content().unwrap(),
        "<img src=x onerror=alert(1)>"
    );
}

#[wasm_bindgen_test]
fn email_is_checked_as_typed_and_normalized_on_blur() {
    let root = mount("Company");
    let email = input(&root, "email");
    // (typed value, error shown after leaving the field, value left in the field)
    let cases = [
        ("maria@", IssueCode::EmailSyntax.message(), "maria@"),
        (
            "maria@localhost",
            IssueCode::EmailDomain.message(),
            "maria@localhost",
        ),
        ("Maria@Example.COM", "", "Maria@example.com"),
    ];
    for (typed, error, left) in cases {
        type_and_leave(&email, typed);
        assert_eq!(error_text(&root, &email), error, "{typed}");
        let invalid = if error.is_empty() { "false" } else { "true" };
        assert_eq!(
            email.get_attribute("aria-invalid").as_deref(),
            Some(invalid),
            "{typed}"
        );
        assert_eq!(email.value(), left);
    }
}

#[wasm_bindgen_test]
fn an_error_clears_as_soon_as_the_typing_fixes_it() {
    let root = mount("Company");
    let email = input(&root, "email");
    type_and_leave(&email, "maria@example");
    assert!(!error_text(&root, &email).is_empty());
    email.set_value("maria@example.com");
    fire(&email, "input");
    assert_eq!(error_text(&root, &email), "");
}

#[wasm_bindgen_test]
fn submit_with_problems_shows_every_error_focuses_the_first_and_sends_nothing() {
    let root = mount("Company");
    let (email, company) = (input(&root, "email"), input(&root, "company"));
    company.set_value("Northwind");
    let form = root.query_selector("form").unwrap().unwrap();
    fire(&form, "submit");
    assert_eq!(error_text(&root, &email), IssueCode::Required.message());
    assert_eq!(error_text(&root, &company), IssueCode::TooLong.message());
    assert_eq!(document().active_element().unwrap().id(), email.id());
    let status = root.query_selector("[role=status]").unwrap().unwrap();
    assert_eq!(status.get_attribute("data-kind").as_deref(), Some("error"));
    let button = root.query_selector("button").unwrap().unwrap();
    assert!(
        !button
            .dyn_into::<web_sys::HtmlButtonElement>()
            .unwrap()
            .disabled(),
        "nothing in flight"
    );
}

#[wasm_bindgen_test]
fn the_submission_body_is_the_normalized_answers() {
    let answers = BTreeMap::from([("email".to_owned(), "a@b.co".to_owned())]);
    let body = handoff_form::submission_body("demo", &answers, "sha256:0000000000000000");
    assert_eq!(
        body,
        r#"{"form":"demo","answers":{"email":"a@b.co"},"bundle_version":"sha256:0000000000000000"}"#
    );
}

#[wasm_bindgen_test]
fn check_email_agrees_with_the_core() {
    assert_eq!(handoff_form::check_email("a@b.co"), None);
    assert_eq!(
        handoff_form::check_email("a@b").as_deref(),
        Some("email.domain")
    );
}
