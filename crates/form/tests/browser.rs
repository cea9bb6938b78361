//! handoff-form in a real headless Chromium: what a visitor sees, which questions show when, what
//! the form refuses to send and exactly what it sends.

#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};

use handoff_core::{AnswerValue, CompiledForm, FormSpec, IssueCode};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{
    Element, Event, EventInit, FocusEvent, FocusEventInit, HtmlButtonElement, HtmlInputElement,
    HtmlSelectElement, HtmlTextAreaElement,
};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// A form spec as the Worker serves it, with an optional twist on the company label.
fn spec(company_label: &str) -> String {
    format!(
        r#"{{"id":"demo","title":"Talk to us","intro":"","submit_label":"Send","success_message":"Thanks",
            "fields":[{{"id":"email","label":"Work email","type":"email","required":true,"help":"We reply here."}},
                      {{"id":"company","label":{company_label:?},"type":"text","max_length":5}}]}}"#
    )
}

/// One field of every kind.
const KINDS: &str = r#"{"id":"kinds","title":"Every kind","submit_label":"Send","success_message":"Thanks",
  "fields":[
    {"id":"name","label":"Name","type":"text","required":true,"autocomplete":"name"},
    {"id":"email","label":"Email","type":"email","placeholder":"name@company.com"},
    {"id":"phone","label":"Phone","type":"tel"},
    {"id":"seats","label":"Seats","type":"number"},
    {"id":"notes","label":"Notes","type":"textarea","max_length":500},
    {"id":"size","label":"Company size","type":"select","options":["1-10","11-50"]},
    {"id":"interest","label":"What would you like?","type":"radio","required":true,
     "options":["A demo","Pricing","Just exploring"]},
    {"id":"topics","label":"Topics","type":"multi-select","options":["pricing","security","integrations"],
     "help":"Pick any."},
    {"id":"newsletter","label":"Send me the newsletter","type":"checkbox"},
    {"id":"consent","label":"I agree to be contacted about this request.","type":"consent","required":true,
     "consent_version":"2026-11-01"},
    {"id":"source","label":"Source","type":"hidden"}]}"#;

/// Questions that depend on earlier answers: a radio, a select, a multi-select and a checkbox.
const CONDITIONAL: &str = r#"{"id":"cond","title":"Conditions","submit_label":"Send","success_message":"Thanks",
  "fields":[
    {"id":"interest","label":"Interest","type":"radio","required":true,
     "options":["A demo","Pricing","Just exploring"]},
    {"id":"team_size","label":"Team size","type":"number","required":true,
     "visible_if":"interest in [\"A demo\", \"Pricing\"]"},
    {"id":"big_team","label":"Anything we should know?","type":"text","visible_if":"team_size >= 10"},
    {"id":"country","label":"Country","type":"select","options":["US","CA","DE"]},
    {"id":"state","label":"State","type":"text","required":true,"visible_if":"country == \"US\""},
    {"id":"topics","label":"Topics","type":"multi-select","options":["pricing","security"]},
    {"id":"security_contact","label":"Security contact","type":"email",
     "visible_if":"topics contains \"security\""},
    {"id":"newsletter","label":"News","type":"checkbox"},
    {"id":"frequency","label":"How often","type":"select","options":["weekly","monthly"],
     "visible_if":"newsletter"}]}"#;

/// Where tests that send post; the fake `fetch` answers with the status in the query.
fn endpoint(status: u16, test: &str) -> String {
    format!("https://handoff.test/v1/leads?status={status}&test={test}")
}

/// What the Worker serves for `spec` (`GET /v1/forms/:id`): the spec with its conditions
/// compiled, as the Worker compiles and encodes them.
fn served(spec: &str) -> String {
    let spec: FormSpec = serde_json::from_str(spec).unwrap();
    let form = CompiledForm::compile(spec).unwrap();
    // No scoring rules: every lead is nurture, as the Worker would say of such a bundle.
    let scoring = handoff_core::scoring::CompiledScoring::default();
    let browser = form.for_browser("sha256:0000000000000000", &scoring, Default::default());
    serde_json::to_string(&browser).unwrap()
}

/// A new element on the page holding the form of `answer` (the Worker's), built from its
/// `markup` as the loader builds it (crates/form/js/embed.js): each id, and each id an attribute
/// refers to, prefixed with `handoff-<n>-`, n the form's number on the page.
fn built(answer: &JsValue) -> Element {
    static FORMS: AtomicU32 = AtomicU32::new(0);
    let target = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&target).unwrap();
    let markup = js_sys::Reflect::get(answer, &"markup".into()).unwrap();
    if !markup.is_undefined() {
        let ids = format!("handoff-{}-", FORMS.fetch_add(1, Ordering::Relaxed) + 1);
        target.append_child(&build(&markup, &ids)).unwrap();
    }
    target
}

fn build(node: &JsValue, ids: &str) -> web_sys::Node {
    if let Some(text) = node.as_string() {
        return document().create_text_node(&text).into();
    }
    let parts = js_sys::Array::from(node);
    let el = document()
        .create_element(&parts.get(0).as_string().unwrap())
        .unwrap();
    let attrs = parts.get(1);
    for name in js_sys::Object::keys(attrs.unchecked_ref::<js_sys::Object>()).iter() {
        let value = js_sys::Reflect::get(&attrs, &name)
            .unwrap()
            .as_string()
            .unwrap();
        let name = name.as_string().unwrap();
        let value = if handoff_core::markup::REFERENCES.contains(&name.as_str()) {
            let prefixed: Vec<String> = value.split(' ').map(|id| format!("{ids}{id}")).collect();
            prefixed.join(" ")
        } else {
            value
        };
        el.set_attribute(&name, &value).unwrap();
    }
    for n in 2..parts.length() {
        el.append_child(&build(&parts.get(n), ids)).unwrap();
    }
    el.into()
}

/// Mounts a form as the Worker serves it (`answer`) into a new element posting to `endpoint`.
fn try_mount_served(answer: &str, endpoint: &str) -> Result<Element, JsValue> {
    let answer = js_sys::JSON::parse(answer).unwrap();
    let target = built(&answer);
    let options = js_sys::JSON::parse(&format!(r#"{{"endpoint":{endpoint:?}}}"#)).unwrap();
    handoff_form::mount(&target, answer, options)?;
    Ok(target)
}

/// Mounts `spec`, served as the Worker serves it, into a new element posting to `endpoint`.
fn try_mount(spec: &str, endpoint: &str) -> Result<Element, JsValue> {
    try_mount_served(&served(spec), endpoint)
}

fn mount_spec(spec: &str, endpoint: &str) -> Element {
    try_mount(spec, endpoint).unwrap()
}

/// Mounts the two-field demo form; nothing is ever sent to its endpoint.
fn mount(company_label: &str) -> Element {
    mount_spec(&spec(company_label), "http://127.0.0.1:9/v1/leads")
}

fn query(root: &Element, selector: &str) -> Element {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("nothing matches {selector}"))
}

fn input(root: &Element, name: &str) -> HtmlInputElement {
    query(root, &format!("input[name={name}]"))
        .dyn_into()
        .unwrap()
}

fn option_input(root: &Element, name: &str, value: &str) -> HtmlInputElement {
    query(root, &format!("input[name={name}][value='{value}']"))
        .dyn_into()
        .unwrap()
}

fn select(root: &Element, name: &str) -> HtmlSelectElement {
    query(root, &format!("select[name={name}]"))
        .dyn_into()
        .unwrap()
}

/// The wrapper of a field.
fn row(root: &Element, field: &str) -> Element {
    query(root, &format!("div.handoff-field[data-field={field}]"))
}

fn shown(root: &Element, field: &str) -> bool {
    !row(root, field).has_attribute("hidden")
}

/// The error shown for a field, found through its wrapper (groups have no single input).
fn field_error(root: &Element, field: &str) -> String {
    query(&row(root, field), ".handoff-error")
        .text_content()
        .unwrap_or_default()
}

fn error_text(root: &Element, input: &HtmlInputElement) -> String {
    let id = format!("{}-error", input.id());
    query(root, &format!("#{id}"))
        .text_content()
        .unwrap_or_default()
}

fn status(root: &Element) -> Element {
    query(root, "[role=status]")
}

/// Dispatches an event that bubbles, as the browser's own `input`, `change` and `focusout` do.
fn fire(target: &web_sys::EventTarget, kind: &str) {
    let init = EventInit::new();
    init.set_bubbles(true);
    let event = Event::new_with_event_init_dict(kind, &init).unwrap();
    target.dispatch_event(&event).unwrap();
}

/// Focus leaves `from` for `to` (`None`: out of the form).
fn leave(from: &web_sys::EventTarget, to: Option<&web_sys::EventTarget>) {
    let init = FocusEventInit::new();
    init.set_bubbles(true);
    init.set_related_target(to);
    let event = FocusEvent::new_with_focus_event_init_dict("focusout", &init).unwrap();
    from.dispatch_event(&event).unwrap();
}

fn type_and_leave(input: &HtmlInputElement, value: &str) {
    input.set_value(value);
    fire(input, "input");
    leave(input, None);
}

fn type_in(input: &HtmlInputElement, value: &str) {
    input.set_value(value);
    fire(input, "input");
}

fn choose(input: &HtmlInputElement, checked: bool) {
    input.set_checked(checked);
    fire(input, "input");
    fire(input, "change");
}

fn pick(select: &HtmlSelectElement, value: &str) {
    select.set_value(value);
    fire(select, "change");
}

/// Does what `action` says, as a visitor would: `radio FIELD OPTION`, `select FIELD OPTION`,
/// `tick FIELD [OPTION]`, `untick FIELD [OPTION]`, `type FIELD TEXT`.
fn act(root: &Element, action: &str) {
    let mut words = action.splitn(3, ' ');
    let (verb, field, rest) = (
        words.next().unwrap(),
        words.next().unwrap(),
        words.next().unwrap_or(""),
    );
    let control = || {
        if rest.is_empty() {
            input(root, field)
        } else {
            option_input(root, field, rest)
        }
    };
    match verb {
        "radio" | "tick" => choose(&control(), true),
        "untick" => choose(&control(), false),
        "select" => pick(&select(root, field), rest),
        "type" => type_in(&input(root, field), rest),
        _ => panic!("unknown action {action}"),
    }
}

fn submit(root: &Element) {
    fire(&query(root, "form"), "submit");
}

/// Replaces `fetch` once per page: requests to https://handoff.test/ are recorded and answered
/// with the status their URL names (201 with a lead id, 422 with the Worker's issues); all others
/// go to the real `fetch`.
fn install_fake_fetch() {
    js_sys::Function::new_no_args(
        r#"
        if (window.__handoffSent) return;
        window.__handoffSent = {};
        const realFetch = window.fetch.bind(window);
        window.fetch = function (input, init) {
          const request = new Request(input, init);
          if (!request.url.startsWith("https://handoff.test/")) return realFetch(input, init);
          return request.text().then(function (body) {
            window.__handoffSent[request.url] = body;
            const status = Number(new URL(request.url).searchParams.get("status"));
            const reply = status === 201 ? { id: "lead-123" } : { error: {
              code: "invalid_submission",
              issues: [
                { field: "email", code: "email.domain", message: "The Worker's own words." },
                { field: "company", code: "company.blocked", message: "We cannot accept this company." },
              ] } };
            return new Response(JSON.stringify(reply),
              { status: status, headers: { "content-type": "application/json" } });
          });
        };
        "#,
    )
    .call0(&JsValue::NULL)
    .unwrap();
}

/// The body the form posted to `endpoint`, if it posted.
fn sent(endpoint: &str) -> Option<String> {
    let window = web_sys::window().unwrap();
    let all = js_sys::Reflect::get(&window, &"__handoffSent".into()).unwrap();
    js_sys::Reflect::get(&all, &endpoint.into())
        .unwrap()
        .as_string()
}

/// How many uncaught errors (a panic in an event handler among them) reached the page during `f`.
fn page_errors_during(f: impl FnOnce()) -> u32 {
    let window = web_sys::window().unwrap();
    let count = std::rc::Rc::new(std::cell::Cell::new(0));
    let seen = std::rc::Rc::clone(&count);
    let listener =
        wasm_bindgen::closure::Closure::<dyn FnMut(Event)>::new(move |_| seen.set(seen.get() + 1));
    let callback: &js_sys::Function = listener.as_ref().unchecked_ref();
    window
        .add_event_listener_with_callback("error", callback)
        .unwrap();
    f();
    window
        .remove_event_listener_with_callback("error", callback)
        .unwrap();
    count.get()
}

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

/// The body sent up to its `context`, closed: the form, answers and bundle version.
fn answers_part(body: &str) -> String {
    let at = body.find(r#","context":"#).unwrap();
    format!("{}}}", &body[..at])
}

/// Mounts `spec` with the loader's `options`, given as a JS expression.
fn mount_with(spec: &str, options: &str) -> Element {
    mount_served_with(&served(spec), options)
}

/// Mounts a form as the Worker serves it (`answer`) with the loader options `options`.
fn mount_served_with(answer: &str, options: &str) -> Element {
    let answer = js_sys::JSON::parse(answer).unwrap();
    let target = built(&answer);
    let options = js_sys::Function::new_no_args(&format!("return {options};"))
        .call0(&JsValue::NULL)
        .unwrap();
    handoff_form::mount(&target, answer, options).unwrap();
    target
}

/// A JS `deliver` that records each body in `window[log]` and answers `answer` (a JS expression).
fn deliver(log: &str, answer: &str) -> String {
    format!(
        "function (body) {{ (window.{log} ||= []).push(body); return Promise.resolve({answer}); }}"
    )
}

/// A JS `emit` that records each event as `[name, detail]` in `window[log]`.
fn emit(log: &str) -> String {
    format!("function (name, detail) {{ (window.{log} ||= []).push([name, detail]); }}")
}

/// What a recorder put in `window[log]`, as JSON.
fn recorded(log: &str) -> serde_json::Value {
    let window = web_sys::window().unwrap();
    let value = js_sys::Reflect::get(&window, &log.into()).unwrap();
    if value.is_undefined() {
        return serde_json::Value::Array(Vec::new());
    }
    serde_json::from_str(
        &js_sys::JSON::stringify(&value)
            .unwrap()
            .as_string()
            .unwrap(),
    )
    .unwrap()
}

/// Waits until the status region says how the submission ended.
async fn outcome(root: &Element) -> String {
    for _ in 0..500 {
        let kind = status(root).get_attribute("data-kind").unwrap_or_default();
        if !kind.is_empty() && kind != "pending" {
            return kind;
        }
        sleep(10).await;
    }
    panic!("the submission never finished");
}

#[wasm_bindgen_test]
fn renders_labelled_described_fields() {
    let root = mount("Company");
    let email = input(&root, "email");
    assert_eq!(email.type_(), "email");
    assert!(email.required());
    let label = query(&root, &format!("label[for='{}']", email.id()));
    assert!(label.text_content().unwrap().starts_with("Work email"));
    let described = email.get_attribute("aria-describedby").unwrap();
    assert_eq!(described, format!("{0}-help {0}-error", email.id()));
    assert_eq!(
        input(&root, "company")
            .get_attribute("maxlength")
            .as_deref(),
        Some("5")
    );
    assert_eq!(row(&root, "email").class_name(), "handoff-field");
    assert_eq!(
        status(&root).get_attribute("aria-live").as_deref(),
        Some("polite")
    );
}

/// The label that names `control`, through `for`.
fn label_of(root: &Element, control: &Element) -> String {
    query(root, &format!("label[for='{}']", control.id()))
        .text_content()
        .unwrap()
}

#[wasm_bindgen_test]
fn every_kind_renders_its_control_with_its_label() {
    let root = mount_spec(KINDS, "http://127.0.0.1:9/v1/leads");
    // Single inputs: (field, input type, label).
    let inputs = [
        ("name", "text", "Name *"),
        ("email", "email", "Email"),
        ("phone", "tel", "Phone"),
        ("seats", "number", "Seats"),
    ];
    for (field, ty, label) in inputs {
        let control = query(&row(&root, field), "input");
        assert_eq!(
            control.get_attribute("type").as_deref(),
            Some(ty),
            "{field}"
        );
        assert_eq!(label_of(&root, &control), label, "{field}");
    }
    let name = input(&root, "name");
    assert!(name.required());
    assert_eq!(name.get_attribute("autocomplete").as_deref(), Some("name"));
    assert_eq!(input(&root, "email").placeholder(), "name@company.com");

    let notes: HtmlTextAreaElement = query(&row(&root, "notes"), "textarea").dyn_into().unwrap();
    assert_eq!(label_of(&root, &notes), "Notes");
    assert_eq!(notes.get_attribute("maxlength").as_deref(), Some("500"));

    let size = select(&root, "size");
    assert_eq!(label_of(&root, &size), "Company size");
    let options: Vec<(String, String)> = (0..size.length())
        .map(|i| {
            let option = size.item(i).unwrap();
            let value = option.get_attribute("value").unwrap();
            (value, option.text_content().unwrap())
        })
        .collect();
    let expected = [("", "Choose…"), ("1-10", "1-10"), ("11-50", "11-50")];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(v, t)| (v.to_string(), t.to_string()))
        .collect();
    assert_eq!(options, expected);
    assert_eq!(size.value(), "", "nothing chosen for the visitor");

    // Groups: a fieldset named by its legend, one labelled input per option.
    let groups = [
        ("interest", "radio", "What would you like? *", 3),
        ("topics", "checkbox", "Topics", 3),
    ];
    for (field, ty, legend, count) in groups {
        let set = query(&row(&root, field), "fieldset");
        assert_eq!(
            query(&set, "legend").text_content().unwrap(),
            legend,
            "{field}"
        );
        let controls = set.query_selector_all("input").unwrap();
        assert_eq!(controls.length(), count, "{field}");
        for n in 0..count {
            let control: HtmlInputElement = controls.item(n).unwrap().dyn_into().unwrap();
            assert_eq!(control.type_(), ty, "{field}");
            assert_eq!(control.name(), field);
            assert_eq!(label_of(&root, &control), control.value(), "{field}");
        }
        let described = set.get_attribute("aria-describedby").unwrap();
        assert!(
            described.ends_with(&format!("{}-error", set.id())),
            "{field}"
        );
    }
    assert!(option_input(&root, "interest", "Pricing").required());
    assert_eq!(
        query(&row(&root, "topics"), ".handoff-help")
            .text_content()
            .unwrap(),
        "Pick any."
    );

    // A checkbox and a consent: the box, then its label.
    for (field, label) in [
        ("newsletter", "Send me the newsletter"),
        ("consent", "I agree to be contacted about this request. *"),
    ] {
        let control = input(&root, field);
        assert_eq!(control.type_(), "checkbox", "{field}");
        let next = control.next_element_sibling().unwrap();
        assert_eq!(next.tag_name(), "LABEL", "{field}");
        assert_eq!(next.get_attribute("for"), Some(control.id()), "{field}");
        assert_eq!(next.text_content().unwrap(), label);
    }
    assert!(input(&root, "consent").required());

    // A hidden field has its wrapper but nothing to read.
    let source = input(&root, "source");
    assert_eq!(source.type_(), "hidden");
    assert!(row(&root, "source")
        .query_selector("label")
        .unwrap()
        .is_none());

    // Every field has a wrapper with its id and an error element, all shown at first.
    let rows = root.query_selector_all("div.handoff-field").unwrap();
    assert_eq!(rows.length(), 11);
    for field in [
        "name",
        "email",
        "phone",
        "seats",
        "notes",
        "size",
        "interest",
        "topics",
        "newsletter",
        "consent",
        "source",
    ] {
        assert!(shown(&root, field), "{field}");
        assert_eq!(field_error(&root, field), "", "{field}");
    }
}

#[wasm_bindgen_test]
fn a_conditional_field_shows_only_while_its_condition_holds() {
    let root = mount_spec(CONDITIONAL, "http://127.0.0.1:9/v1/leads");
    let dependent = [
        "team_size",
        "big_team",
        "state",
        "security_contact",
        "frequency",
    ];
    for field in dependent {
        assert!(!shown(&root, field), "{field} waits for its answer");
    }
    for field in ["interest", "country", "topics", "newsletter"] {
        assert!(shown(&root, field), "{field}");
    }

    // (what the visitor does, the dependent field, whether it shows afterwards)
    let steps = [
        ("radio interest Pricing", "team_size", true),
        ("type team_size 12", "big_team", true),
        ("type team_size 3", "big_team", false),
        ("type team_size 50", "big_team", true),
        ("radio interest A demo", "team_size", true),
        // Hiding team_size hides what depends on it, whatever it holds.
        ("radio interest Just exploring", "team_size", false),
        ("radio interest Just exploring", "big_team", false),
        ("radio interest Pricing", "big_team", true),
        ("select country US", "state", true),
        ("select country CA", "state", false),
        ("select country US", "state", true),
        ("tick topics security", "security_contact", true),
        ("tick topics pricing", "security_contact", true),
        ("untick topics security", "security_contact", false),
        ("tick newsletter", "frequency", true),
        ("untick newsletter", "frequency", false),
    ];
    for (action, field, expected) in steps {
        act(&root, action);
        assert_eq!(shown(&root, field), expected, "after {action}: {field}");
    }
    // Text events count too: clearing the select by keyboard is an `input` away.
    let country = select(&root, "country");
    country.set_value("");
    fire(&country, "input");
    assert!(!shown(&root, "state"));
}

#[wasm_bindgen_test]
async fn a_required_field_hidden_by_its_condition_blocks_nothing_and_is_not_sent() {
    install_fake_fetch();
    let url = endpoint(201, "hidden-required");
    let root = mount_spec(CONDITIONAL, &url);
    // Answer a dependent question, then change the answer it depends on.
    choose(&option_input(&root, "interest", "Pricing"), true);
    type_in(&input(&root, "team_size"), "12");
    choose(&option_input(&root, "interest", "Just exploring"), true);
    assert!(!shown(&root, "team_size"));
    // `state` is required but hidden: no country was chosen.
    submit(&root);
    assert_eq!(outcome(&root).await, "success");
    assert_eq!(field_error(&root, "state"), "");
    assert_eq!(
        answers_part(&sent(&url).unwrap()),
        r#"{"form":"cond","answers":{"interest":"Just exploring","newsletter":false},"bundle_version":"sha256:0000000000000000"}"#
    );
}

#[wasm_bindgen_test]
fn a_shown_required_dependent_blocks_submit() {
    let root = mount_spec(CONDITIONAL, "http://127.0.0.1:9/v1/leads");
    choose(&option_input(&root, "interest", "A demo"), true);
    submit(&root);
    assert_eq!(
        field_error(&root, "team_size"),
        IssueCode::Required.message()
    );
    assert_eq!(
        document().active_element().unwrap().id(),
        input(&root, "team_size").id()
    );
    assert_eq!(
        status(&root).get_attribute("data-kind").as_deref(),
        Some("error")
    );
}

#[wasm_bindgen_test]
async fn answers_are_read_back_in_their_shape_and_sent_normalized() {
    install_fake_fetch();
    let url = endpoint(201, "shapes");
    let root = mount_spec(KINDS, &url);
    type_in(&input(&root, "name"), "  Ada   Lovelace ");
    type_in(&input(&root, "email"), "Ada@Example.COM");
    type_in(&input(&root, "phone"), "+1 415 555 0100");
    type_in(&input(&root, "seats"), "12");
    let notes: HtmlTextAreaElement = query(&root, "textarea[name=notes]").dyn_into().unwrap();
    notes.set_value("Hello");
    fire(&notes, "input");
    pick(&select(&root, "size"), "11-50");
    choose(&option_input(&root, "interest", "Pricing"), true);
    // Ticked out of order: sent in the options' order.
    choose(&option_input(&root, "topics", "integrations"), true);
    choose(&option_input(&root, "topics", "pricing"), true);
    choose(&input(&root, "consent"), true);
    input(&root, "source").set_value("utm-spring");
    submit(&root);
    assert_eq!(outcome(&root).await, "success");
    assert_eq!(
        answers_part(&sent(&url).unwrap()),
        concat!(
            r#"{"form":"kinds","answers":{"consent":true,"email":"Ada@example.com","#,
            r#""interest":"Pricing","name":"Ada Lovelace","newsletter":false,"notes":"Hello","#,
            r#""phone":"+1 415 555 0100","seats":"12","size":"11-50","source":"utm-spring","#,
            r#""topics":["pricing","integrations"]},"bundle_version":"sha256:0000000000000000"}"#
        )
    );
    // Created: the lead id on the form, nothing left to change, the success message read out.
    let form = query(&root, "form");
    assert_eq!(
        form.get_attribute("data-lead-id").as_deref(),
        Some("lead-123")
    );
    let controls = root
        .query_selector_all(".handoff-field input, select, textarea")
        .unwrap();
    for n in 0..controls.length() {
        let control: Element = controls.item(n).unwrap().dyn_into().unwrap();
        assert!(control.has_attribute("disabled"), "{}", control.id());
    }
    let button: HtmlButtonElement = query(&root, "button[type=submit]").dyn_into().unwrap();
    assert!(button.hidden());
    assert_eq!(status(&root).text_content().unwrap(), "Thanks");
}

#[wasm_bindgen_test]
fn choice_fields_are_checked_like_text() {
    let root = mount_spec(KINDS, "http://127.0.0.1:9/v1/leads");
    submit(&root);
    for field in ["name", "interest", "consent"] {
        assert_eq!(
            field_error(&root, field),
            IssueCode::Required.message(),
            "{field}"
        );
    }
    for field in ["email", "size", "topics", "newsletter", "source"] {
        assert_eq!(field_error(&root, field), "", "{field}");
    }
    // Focus goes to the first control of the first bad field.
    assert_eq!(
        document().active_element().unwrap().id(),
        input(&root, "name").id()
    );
    // Errors clear as soon as the answer is given.
    let pricing = option_input(&root, "interest", "Pricing");
    assert_eq!(
        pricing.get_attribute("aria-invalid").as_deref(),
        Some("true")
    );
    choose(&pricing, true);
    assert_eq!(field_error(&root, "interest"), "");
    assert_eq!(
        pricing.get_attribute("aria-invalid").as_deref(),
        Some("false")
    );
    choose(&input(&root, "consent"), true);
    assert_eq!(field_error(&root, "consent"), "");
}

#[wasm_bindgen_test]
fn moving_within_a_group_is_not_leaving_it() {
    let spec = r#"{"id":"group","title":"Group","submit_label":"Send","success_message":"Thanks",
      "fields":[{"id":"topics","label":"Topics","type":"multi-select","required":true,
                 "options":["pricing","security"]}]}"#;
    let root = mount_spec(spec, "http://127.0.0.1:9/v1/leads");
    let (pricing, security) = (
        option_input(&root, "topics", "pricing"),
        option_input(&root, "topics", "security"),
    );
    assert!(
        !pricing.required(),
        "`required` on a box would mean every box"
    );
    // So the legend tells screen readers instead: the visible mark is hidden from them, the
    // words are hidden from sight.
    let legend = query(&root, "legend");
    assert_eq!(legend.text_content().unwrap(), "Topics * (required)");
    let words = query(&root, "legend .handoff-sr");
    assert_eq!(words.text_content().unwrap(), " (required)");
    // Tick a box and move to the next one: still inside the field, so unticking is not yet
    // met with an error.
    choose(&pricing, true);
    leave(&pricing, Some(&security));
    choose(&pricing, false);
    assert_eq!(field_error(&root, "topics"), "");
    // Answer, leave the field for good, then take the answer back: now the error shows live.
    choose(&security, true);
    leave(&security, None);
    assert_eq!(field_error(&root, "topics"), "");
    choose(&security, false);
    assert_eq!(field_error(&root, "topics"), IssueCode::Required.message());
    choose(&security, true);
    assert_eq!(field_error(&root, "topics"), "");
}

#[wasm_bindgen_test]
fn a_number_the_browser_cannot_read_is_not_dropped() {
    let root = mount_spec(KINDS, "http://127.0.0.1:9/v1/leads");
    let seats = input(&root, "seats");
    seats.focus().unwrap();
    // What a visitor can type into a number input that is not a number: the value reads as "".
    let exec: js_sys::Function = js_sys::Reflect::get(&document(), &"execCommand".into())
        .unwrap()
        .dyn_into()
        .unwrap();
    exec.call3(
        &document(),
        &"insertText".into(),
        &false.into(),
        &"1e".into(),
    )
    .unwrap();
    assert_eq!(seats.value(), "");
    leave(&seats, None);
    assert_eq!(field_error(&root, "seats"), IssueCode::NotANumber.message());
}

#[wasm_bindgen_test]
fn two_forms_on_one_page_never_share_ids() {
    let (a, b) = (mount("Company"), mount("Company"));
    assert_ne!(input(&a, "email").id(), input(&b, "email").id());
    let (c, d) = (
        mount_spec(KINDS, "http://127.0.0.1:9/v1/leads"),
        mount_spec(KINDS, "http://127.0.0.1:9/v1/leads"),
    );
    assert_ne!(
        option_input(&c, "interest", "Pricing").id(),
        option_input(&d, "interest", "Pricing").id()
    );
    // No id is used twice on the page, and every reference stays inside its own form.
    let all = document().query_selector_all("[id]").unwrap();
    let mut seen = HashSet::new();
    for n in 0..all.length() {
        let el: Element = all.item(n).unwrap().dyn_into().unwrap();
        assert!(seen.insert(el.id()), "duplicate id {}", el.id());
    }
    for root in [&a, &b, &c, &d] {
        let refs = root
            .query_selector_all("[for], [aria-describedby]")
            .unwrap();
        for n in 0..refs.length() {
            let el: Element = refs.item(n).unwrap().dyn_into().unwrap();
            let ids = el
                .get_attribute("for")
                .or_else(|| el.get_attribute("aria-describedby"))
                .unwrap();
            for id in ids.split(' ') {
                assert!(
                    root.query_selector(&format!("[id='{id}']"))
                        .unwrap()
                        .is_some(),
                    "{id} is not in its form"
                );
            }
        }
    }
}

#[wasm_bindgen_test]
fn configured_text_is_never_parsed_as_markup() {
    let root = mount("<img src=x onerror=alert(1)>");
    assert!(root.query_selector("img").unwrap().is_none());
    let label = query(
        &root,
        &format!("label[for='{}']", input(&root, "company").id()),
    );
    assert_eq!(
        label.text_content().unwrap(),
        "<img src=x onerror=alert(1)>"
    );

    let evil = "<b>x</b><img src=x onerror=alert(1)>";
    let spec = format!(
        r#"{{"id":"evil","title":{evil:?},"intro":{evil:?},"submit_label":{evil:?},"success_message":{evil:?},
          "fields":[{{"id":"a","label":{evil:?},"type":"select","options":[{evil:?}],"help":{evil:?},"required":true}},
                    {{"id":"b","label":{evil:?},"type":"radio","options":[{evil:?}]}},
                    {{"id":"c","label":{evil:?},"type":"multi-select","options":[{evil:?}]}},
                    {{"id":"d","label":{evil:?},"type":"consent","consent_version":"1"}},
                    {{"id":"e","label":{evil:?},"type":"textarea","placeholder":{evil:?}}}]}}"#
    );
    let root = mount_spec(&spec, "http://127.0.0.1:9/v1/leads");
    assert!(root.query_selector("img, b").unwrap().is_none());
    assert_eq!(query(&root, "h2").text_content().unwrap(), evil);
    assert_eq!(query(&root, ".handoff-intro").text_content().unwrap(), evil);
    assert_eq!(
        query(&root, "button[type=submit]").text_content().unwrap(),
        evil
    );
    assert_eq!(
        query(&root, "option[value='']")
            .next_element_sibling()
            .unwrap()
            .text_content()
            .unwrap(),
        evil
    );
    assert_eq!(
        select(&root, "a")
            .item(1)
            .unwrap()
            .get_attribute("value")
            .unwrap(),
        evil
    );
    assert_eq!(
        query(&row(&root, "b"), "legend").text_content().unwrap(),
        evil
    );
    assert_eq!(
        query(&row(&root, "c"), "label").text_content().unwrap(),
        evil
    );
    assert_eq!(
        query(&row(&root, "d"), "label").text_content().unwrap(),
        evil
    );
    assert_eq!(
        query(&row(&root, "a"), ".handoff-help")
            .text_content()
            .unwrap(),
        evil
    );
    assert_eq!(
        query(&root, "textarea")
            .get_attribute("placeholder")
            .unwrap(),
        evil
    );
}

/// The message of the error `mount` refuses `answer` with.
fn refusal(answer: &str) -> String {
    let error = try_mount_served(answer, "http://127.0.0.1:9/v1/leads").unwrap_err();
    js_sys::Reflect::get(&error, &"message".into())
        .unwrap()
        .as_string()
        .unwrap()
}

#[wasm_bindgen_test]
fn a_form_whose_condition_reads_a_later_field_is_refused() {
    // The Worker never serves this (its bundle would not compile), so the compiled condition of
    // `a` (`b == "x"`) is written by hand.
    let answer = r#"{"bundle_version":"sha256:0000000000000000","form":{"id":"bad","title":"Bad",
      "submit_label":"Send","success_message":"Thanks",
      "fields":[{"id":"a","label":"A","type":"text","visible_if":"b == \"x\""},
                {"id":"b","label":"B","type":"text"}]},
      "conditions":{"a":"b;=f0\"x\""}}"#;
    let message = refusal(answer);
    assert!(message.starts_with("form.bad_spec: field `a`"), "{message}");
    assert!(message.contains("condition.forward_reference"), "{message}");
}

#[wasm_bindgen_test]
fn a_form_not_served_by_the_worker_is_refused() {
    let answer = |fields: &str, conditions: &str| {
        format!(
            r#"{{"bundle_version":"sha256:0000000000000000","form":{{"id":"f","title":"F",
              "submit_label":"Send","success_message":"Thanks","fields":[{fields}]}},
              "conditions":{conditions}}}"#
        )
    };
    let a = r#"{"id":"a","label":"A","type":"checkbox"}"#;
    let b = r#"{"id":"b","label":"B","type":"text","visible_if":"a"}"#;
    // (fields, compiled conditions, what the message says)
    let cases = [
        (format!("{a},{b}"), "{}", "condition.bad_compact"),
        (
            format!("{a},{b}"),
            r#"{"b":"a;f1"}"#,
            "condition.bad_compact",
        ),
        (
            format!("{a},{b}"),
            r#"{"b":"nope;f0"}"#,
            "condition.bad_compact",
        ),
        (
            format!("{a},{b}"),
            r#"{"b":7}"#,
            "`b` of `conditions` is not text",
        ),
        (a.to_owned(), r#"{"b":"a;f0"}"#, "condition.bad_compact"),
        (
            format!("{a},{b}"),
            r#"["a;f0"]"#,
            "`conditions` is not an object",
        ),
        (b.replace("text", "txt"), "{}", "unknown field type `txt`"),
        (
            b.replace("label", "lable"),
            "{}",
            "unknown member `lable` in a field",
        ),
        (
            a.replace(r#""A""#, "1"),
            "{}",
            "`label` of a field is not text",
        ),
        ("1".to_owned(), "{}", "a field is not an object"),
    ];
    for (fields, conditions, says) in cases {
        let message = refusal(&answer(&fields, conditions));
        assert!(message.starts_with("form.bad_spec: "), "{message}");
        assert!(message.contains(says), "{fields} {conditions}: {message}");
    }
    // The same answer with the markup the Worker renders for it mounts.
    let served = answer(&format!("{a},{b}"), r#"{"b":"a;f0"}"#);
    let mut json: serde_json::Value = serde_json::from_str(&served).unwrap();
    let spec: FormSpec = serde_json::from_value(json["form"].clone()).unwrap();
    json["markup"] = serde_json::to_value(handoff_core::markup::form(&spec, &[])).unwrap();
    let served = json.to_string();
    assert!(try_mount_served(&served, "http://127.0.0.1:9/v1/leads").is_ok());
    let options = js_sys::JSON::parse(r#"{"endpoint":"/v1/leads","bundleVersion":"x"}"#).unwrap();
    let target = document().create_element("div").unwrap();
    let error = handoff_form::mount(&target, js_sys::JSON::parse(&served).unwrap(), options);
    let error = JsValue::from(error.unwrap_err());
    let message = js_sys::Reflect::get(&error, &"message".into()).unwrap();
    assert_eq!(
        message.as_string().as_deref(),
        Some("form.bad_options: unknown member `bundleVersion` in the options")
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
fn tabbing_through_an_empty_field_is_not_a_mistake() {
    let root = mount("Company");
    let email = input(&root, "email");
    leave(&email, None);
    assert_eq!(error_text(&root, &email), "");
}

#[wasm_bindgen_test]
fn an_error_clears_as_soon_as_the_typing_fixes_it() {
    let root = mount("Company");
    let email = input(&root, "email");
    type_and_leave(&email, "maria@example");
    assert!(!error_text(&root, &email).is_empty());
    type_in(&email, "maria@example.com");
    assert_eq!(error_text(&root, &email), "");
}

#[wasm_bindgen_test]
fn submit_with_problems_shows_every_error_focuses_the_first_and_sends_nothing() {
    let root = mount("Company");
    let (email, company) = (input(&root, "email"), input(&root, "company"));
    company.set_value("Northwind");
    // Submitting with Enter from another field: focus moves inside the submit handler, and the
    // `focusout` that dispatches there must not reach a busy handler.
    company.focus().unwrap();
    let errors = page_errors_during(|| submit(&root));
    assert_eq!(errors, 0, "an error escaped an event handler");
    assert_eq!(error_text(&root, &email), IssueCode::Required.message());
    assert_eq!(error_text(&root, &company), IssueCode::TooLong.message());
    assert_eq!(document().active_element().unwrap().id(), email.id());
    assert_eq!(
        status(&root).get_attribute("data-kind").as_deref(),
        Some("error")
    );
    // The status line, which describes the button, says what is missing.
    assert_eq!(
        status(&root).text_content().unwrap(),
        "2 answers need attention: Work email, Company"
    );
    let button: HtmlButtonElement = query(&root, "button[type=submit]").dyn_into().unwrap();
    assert_eq!(
        button.get_attribute("aria-describedby").unwrap(),
        status(&root).id()
    );
    assert!(!button.disabled(), "nothing in flight");
    assert_eq!(email.get_attribute("aria-invalid").as_deref(), Some("true"));
    // The form still answers afterwards.
    type_in(&email, "maria@example.com");
    assert_eq!(error_text(&root, &email), "");
}

#[wasm_bindgen_test]
async fn the_workers_verdict_is_shown_on_each_field() {
    install_fake_fetch();
    let url = endpoint(422, "rejected");
    let root = mount_spec(&spec("Company"), &url);
    let email = input(&root, "email");
    type_in(&email, "maria@example.com");
    type_in(&input(&root, "company"), "Acme");
    submit(&root);
    assert_eq!(outcome(&root).await, "error");
    assert!(sent(&url).is_some());
    // A code the form knows is shown in its own words; a new one in the Worker's.
    assert_eq!(error_text(&root, &email), IssueCode::EmailDomain.message());
    assert_eq!(
        field_error(&root, "company"),
        "We cannot accept this company."
    );
    assert_eq!(document().active_element().unwrap().id(), email.id());
    let button: HtmlButtonElement = query(&root, "button[type=submit]").dyn_into().unwrap();
    assert!(
        !button.disabled() && !button.hidden(),
        "the visitor can try again"
    );
    assert!(query(&root, "form").get_attribute("data-lead-id").is_none());
}

#[wasm_bindgen_test]
async fn an_unreachable_worker_leaves_the_form_ready_to_retry() {
    let root = mount("Company");
    type_in(&input(&root, "email"), "maria@example.com");
    submit(&root);
    assert_eq!(outcome(&root).await, "error");
    let button: HtmlButtonElement = query(&root, "button[type=submit]").dyn_into().unwrap();
    assert!(!button.disabled());
    assert!(!input(&root, "email").disabled());
}

#[wasm_bindgen_test]
fn the_submission_body_is_the_normalized_answers() {
    let answers = BTreeMap::from([
        ("email".to_owned(), AnswerValue::from("a@b.co")),
        (
            "topics".to_owned(),
            AnswerValue::Choices(vec!["pricing".to_owned(), "security".to_owned()]),
        ),
        ("consent".to_owned(), AnswerValue::Flag(true)),
    ]);
    let body = handoff_form::submission_body("demo", &answers, "sha256:0000000000000000");
    assert_eq!(
        body,
        r#"{"form":"demo","answers":{"consent":true,"email":"a@b.co","topics":["pricing","security"]},"bundle_version":"sha256:0000000000000000"}"#
    );
}

#[wasm_bindgen_test]
fn check_email_agrees_with_the_core() {
    assert_eq!(handoff_form::check_email("a@b.co"), None);
    assert_eq!(
        handoff_form::check_email("a@b").as_deref(),
        Some("email.domain")
    );
    // A top-level domain that does not exist, caught as it is typed, with the correction offered.
    assert_eq!(
        handoff_form::check_email("maria@comcast.ten").as_deref(),
        Some("email.domain")
    );
    assert_eq!(
        handoff_form::suggest_email("maria@comcast.ten").as_deref(),
        Some("maria@comcast.net")
    );
    assert_eq!(handoff_form::check_email("maria@acme.berlin"), None);
}

/// The condition table that handoff-core's native tests check, checked again here in wasm32 with
/// the same checker: conditions give the same result in the browser as in the Worker and the CLI.
#[path = "../../core/tests/support/condition_table.rs"]
mod condition_table;

#[wasm_bindgen_test]
fn conditions_agree_with_native_on_the_shared_table() {
    let failures =
        condition_table::check_table(include_str!("../../core/test_data/conditions.tsv"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[wasm_bindgen_test]
fn a_mistyped_mailbox_domain_is_offered_a_correction_that_one_click_accepts() {
    let root = mount("Company");
    let email = input(&root, "email");
    let line = query(&row(&root, "email"), ".handoff-suggestion");
    // (typed, the correction offered, if any)
    let cases = [
        ("Maria@gmal.com", Some("Maria@gmail.com")),
        ("maria@aon.com", None),
        ("maria@hotmail.con", Some("maria@hotmail.com")),
        ("maria@northwind-example.com", None),
    ];
    for (typed, offered) in cases {
        type_and_leave(&email, typed);
        assert_eq!(!line.has_attribute("hidden"), offered.is_some(), "{typed}");
        if let Some(offered) = offered {
            assert_eq!(
                line.text_content().unwrap(),
                format!("Did you mean {offered}?")
            );
        }
    }
    // Typing again withdraws the offer; leaving with a typo brings it back; one click accepts it.
    type_in(&email, "maria@gmial.com");
    assert!(line.has_attribute("hidden"));
    leave(&email, None);
    let button: HtmlButtonElement = query(&line, "button").dyn_into().unwrap();
    button.click();
    assert_eq!(email.value(), "maria@gmail.com");
    assert!(line.has_attribute("hidden"));
    assert_eq!(error_text(&root, &email), "");
    assert_eq!(document().active_element().unwrap().id(), email.id());
}

/// A form with progressive profiling: one new question of the pool per visit.
const PROFILED: &str = r#"{"id":"prof","title":"Profiled","submit_label":"Send","success_message":"Thanks",
  "fields":[
    {"id":"email","label":"Email","type":"email","required":true},
    {"id":"company","label":"Company","type":"text","required":true},
    {"id":"role","label":"Role","type":"text"},
    {"id":"budget","label":"Budget","type":"text"},
    {"id":"timeline","label":"Timeline","type":"text","ask":"always"},
    {"id":"renewal","label":"Renewal date","type":"text","ask":"returning"}],
  "profiling":{"max_new_questions":1,"pool":["role","budget"]}}"#;

#[wasm_bindgen_test]
fn a_known_answer_gives_way_to_a_new_question() {
    let first = mount_with(PROFILED, r#"{endpoint: "http://127.0.0.1:9/v1/leads"}"#);
    assert!(shown(&first, "role"));
    assert!(!shown(&first, "budget"));
    assert!(
        !shown(&first, "renewal"),
        "asked only of returning visitors"
    );
    let returning = mount_with(
        PROFILED,
        r#"{endpoint: "http://127.0.0.1:9/v1/leads", known: {role: Date.now() - 1000, email: Date.now(), company: Date.now(), timeline: Date.now()}}"#,
    );
    assert!(!shown(&returning, "role"), "known: not asked again");
    assert!(shown(&returning, "budget"), "the next question of the pool");
    assert!(shown(&returning, "email"), "the address is always asked");
    assert!(
        !shown(&returning, "company"),
        "a known required field is not asked again"
    );
    assert!(shown(&returning, "timeline"), "ask = always");
    assert!(shown(&returning, "renewal"), "a returning visitor is asked");
    // Long ago is not known any more (365 days by default).
    let stale = mount_with(
        PROFILED,
        r#"{endpoint: "http://127.0.0.1:9/v1/leads", known: {role: Date.now() - 400 * 86400000}}"#,
    );
    assert!(shown(&stale, "role"));
}

#[wasm_bindgen_test]
fn options_of_the_wrong_shape_are_refused() {
    let target = document().create_element("div").unwrap();
    for options in [
        r#"{}"#,
        r#"{endpoint: "x", deliver: 3}"#,
        r#"{endpoint: "x", known: {role: "yesterday"}}"#,
        r#"{endpoint: "x", attribution: "utm"}"#,
        r#"{endpoint: "x", surprise: 1}"#,
    ] {
        let given = js_sys::Function::new_no_args(&format!("return {options};"))
            .call0(&JsValue::NULL)
            .unwrap();
        let answer = js_sys::JSON::parse(&served(&spec("Company"))).unwrap();
        let error = handoff_form::mount(&target, answer, given).unwrap_err();
        let message: js_sys::Error = JsValue::from(error).dyn_into().unwrap();
        assert!(
            String::from(message.message()).starts_with("form.bad_options: "),
            "{options}"
        );
    }
    // With `deliver`, no endpoint is needed.
    mount_with(
        &spec("Company"),
        &format!("{{deliver: {}}}", deliver("unused", "{queued: true}")),
    );
}

#[wasm_bindgen_test]
async fn a_queued_submission_is_reported_honestly_and_not_sent_twice() {
    let root = mount_with(
        &spec("Company"),
        &format!(
            "{{endpoint: '', formId: 'demo', deliver: {}, emit: {}}}",
            deliver("queuedBodies", "{queued: true}"),
            emit("queuedEvents")
        ),
    );
    type_in(&input(&root, "email"), "maria@example.com");
    submit(&root);
    assert_eq!(outcome(&root).await, "queued");
    assert_eq!(
        status(&root).text_content().unwrap(),
        "You appear to be offline. Your request is saved on this device and will be sent \
         automatically when you are back online."
    );
    let bodies = recorded("queuedBodies");
    assert_eq!(bodies.as_array().unwrap().len(), 1);
    let body: serde_json::Value = serde_json::from_str(bodies[0].as_str().unwrap()).unwrap();
    assert_eq!(body["answers"]["email"], "maria@example.com");
    let button: HtmlButtonElement = query(&root, "button[type=submit]").dyn_into().unwrap();
    assert!(button.hidden(), "no second lead from a second click");
    submit(&root);
    sleep(20).await;
    assert_eq!(recorded("queuedBodies").as_array().unwrap().len(), 1);
    assert_eq!(
        recorded("queuedEvents"),
        serde_json::json!([["submit", {"form": "demo", "lifecycle": "nurture"}]])
    );
}

#[wasm_bindgen_test]
async fn a_delivered_lead_shows_the_verdict_and_tells_the_host_page() {
    let root = mount_with(
        &spec("Company"),
        &format!(
            "{{deliver: {}, emit: {}, visitor: 'visitor-0123456789abcdef', attribution: null}}",
            deliver(
                "createdBodies",
                "{status: 201, body: {id: 'lead-9', lifecycle: 'sql', bundle_version: 'x'}}"
            ),
            emit("createdEvents")
        ),
    );
    let email = input(&root, "email");
    type_in(&email, "maria@example.com");
    fire(&email, "change");
    type_in(&input(&root, "company"), "Acme");
    submit(&root);
    assert_eq!(outcome(&root).await, "success");
    let form = query(&root, "form");
    assert_eq!(
        form.get_attribute("data-lead-id").as_deref(),
        Some("lead-9")
    );
    assert_eq!(form.get_attribute("data-lifecycle").as_deref(), Some("sql"));
    assert_eq!(status(&root).text_content().unwrap(), "Thanks");
    assert_eq!(
        recorded("createdEvents"),
        serde_json::json!([
            ["change", {"form": "demo", "field": "email", "lifecycle": "nurture"}],
            ["submit", {"form": "demo", "lifecycle": "nurture"}],
            ["qualified", {"form": "demo", "lifecycle": "sql", "lead_id": "lead-9"}],
        ])
    );
    let body: serde_json::Value =
        serde_json::from_str(recorded("createdBodies")[0].as_str().unwrap()).unwrap();
    assert_eq!(body["visitor"], "visitor-0123456789abcdef");
    assert!(
        body.get("attribution").is_none(),
        "no attribution, no consent field"
    );
}

#[wasm_bindgen_test]
async fn the_workers_outcome_is_the_next_step_and_its_link_is_text_not_markup() {
    // (outcome in the 201 answer, status text shown, link href and text if any)
    let cases = [
        (
            "{message: 'Pick a time.', link_url: 'https://cal.example/x', link_label: '<b>Book</b>'}",
            "Pick a time. <b>Book</b>",
            Some(("https://cal.example/x", "<b>Book</b>")),
        ),
        (
            "{message: 'Read on.', link_url: 'javascript:alert(1)', link_label: 'Go'}",
            "Read on.",
            None,
        ),
        ("{message: '<img src=x onerror=alert(1)>'}", "<img src=x onerror=alert(1)>", None),
        ("null", "Thanks", None),
    ];
    for (n, (outcome_js, text, link)) in cases.into_iter().enumerate() {
        let name = format!("outcomeBodies{n}");
        let reply = format!(
            "{{status: 201, body: {{id: 'lead-{n}', lifecycle: 'sql', outcome: {outcome_js}}}}}"
        );
        let root = mount_with(
            &spec("Company"),
            &format!("{{deliver: {}}}", deliver(&name, &reply)),
        );
        type_in(&input(&root, "email"), "maria@example.com");
        type_in(&input(&root, "company"), "Acme");
        submit(&root);
        assert_eq!(outcome(&root).await, "success", "{outcome_js}");
        let status = status(&root);
        assert_eq!(status.text_content().unwrap(), text, "{outcome_js}");
        assert!(
            status.query_selector("b, img").unwrap().is_none(),
            "{outcome_js}"
        );
        let anchor = status.query_selector("a").unwrap();
        let got = anchor
            .as_ref()
            .map(|a| (a.get_attribute("href").unwrap(), a.text_content().unwrap()));
        let want = link.map(|(h, t)| (h.to_owned(), t.to_owned()));
        assert_eq!(got, want, "{outcome_js}");
    }
}

#[wasm_bindgen_test]
async fn delivered_issues_are_shown_on_their_fields() {
    let reply = "{status: 422, body: JSON.stringify({error: {code: 'invalid_submission', issues: \
                 [{field: 'email', code: 'email.domain', message: 'No.'}]}})}";
    let root = mount_with(
        &spec("Company"),
        &format!("{{deliver: {}}}", deliver("rejectedBodies", reply)),
    );
    let email = input(&root, "email");
    type_in(&email, "maria@example.com");
    submit(&root);
    assert_eq!(outcome(&root).await, "error");
    assert_eq!(error_text(&root, &email), IssueCode::EmailDomain.message());
    assert_eq!(email.get_attribute("aria-invalid").as_deref(), Some("true"));
    assert_eq!(document().active_element().unwrap().id(), email.id());
    assert_eq!(
        status(&root).text_content().unwrap(),
        "1 answer needs attention: Work email"
    );
    let button: HtmlButtonElement = query(&root, "button[type=submit]").dyn_into().unwrap();
    assert!(!button.disabled() && !button.hidden());
}

#[wasm_bindgen_test]
async fn a_failed_delivery_leaves_the_form_ready_to_retry() {
    let root = mount_with(
        &spec("Company"),
        "{deliver: function () { return Promise.reject(new Error('offline')); }}",
    );
    type_in(&input(&root, "email"), "maria@example.com");
    submit(&root);
    assert_eq!(outcome(&root).await, "error");
    let button: HtmlButtonElement = query(&root, "button[type=submit]").dyn_into().unwrap();
    assert!(!button.disabled() && !button.hidden());
}

#[wasm_bindgen_test]
fn the_honeypot_is_out_of_sight_out_of_reach_and_unannounced() {
    let root = mount("Company");
    let trap = input(&root, "website_url");
    assert_eq!(trap.type_(), "text");
    assert_eq!(trap.tab_index(), -1);
    assert_eq!(trap.get_attribute("autocomplete").as_deref(), Some("off"));
    assert!(!trap.hidden(), "bots skip hidden inputs");
    let label = trap.parent_element().unwrap();
    assert_eq!(label.tag_name(), "LABEL");
    assert!(label.text_content().unwrap().contains("Website"));
    let wrapper = label.parent_element().unwrap();
    assert_eq!(
        wrapper.get_attribute("aria-hidden").as_deref(),
        Some("true")
    );
    assert!(wrapper
        .get_attribute("style")
        .unwrap_or_default()
        .contains("-10000px"));
    // Off-screen, so nobody sees it.
    let rect = trap.get_bounding_client_rect();
    assert!(rect.right() <= 0.0, "{}", rect.right());
    // Not a field: no row, no check, nothing in the answers.
    assert!(trap.closest(".handoff-field").unwrap().is_none());
}

#[wasm_bindgen_test]
async fn the_honeypot_and_fill_time_go_to_the_context() {
    let root = mount_with(
        &spec("Company"),
        &format!("{{deliver: {}}}", deliver("botBodies", "{queued: true}")),
    );
    sleep(30).await;
    type_in(&input(&root, "email"), "maria@example.com");
    input(&root, "website_url").set_value("https://spam.example");
    submit(&root);
    assert_eq!(outcome(&root).await, "queued");
    assert_eq!(
        status(&root).get_attribute("data-kind").as_deref(),
        Some("queued")
    );
    let body: serde_json::Value =
        serde_json::from_str(recorded("botBodies")[0].as_str().unwrap()).unwrap();
    assert_eq!(body["context"]["honeypot"], "https://spam.example");
    let fill_ms = body["context"]["fill_ms"].as_i64().unwrap();
    assert!((30..60_000).contains(&fill_ms), "{fill_ms}");
    assert!(body["answers"].get("website_url").is_none());
}

#[wasm_bindgen_test]
async fn the_consent_given_is_recorded_with_the_attribution() {
    let root = mount_with(
        KINDS,
        &format!(
            "{{deliver: {}, attribution: {{referrer: 'https://news.example/', utm: {{source: 'news'}}, consent: 'forged'}}}}",
            deliver("consentBodies", "{queued: true}")
        ),
    );
    type_in(&input(&root, "name"), "Ada");
    choose(&option_input(&root, "interest", "Pricing"), true);
    choose(&input(&root, "consent"), true);
    submit(&root);
    assert_eq!(outcome(&root).await, "queued");
    let body: serde_json::Value =
        serde_json::from_str(recorded("consentBodies")[0].as_str().unwrap()).unwrap();
    assert_eq!(
        body["attribution"],
        serde_json::json!({
            "referrer": "https://news.example/",
            "utm": {"source": "news"},
            "consent": {
                "field": "consent",
                "text": "I agree to be contacted about this request.",
                "version": "2026-11-01",
                "given": true,
            },
        })
    );
    assert_eq!(body["answers"]["consent"], true);
    assert!(body.get("visitor").is_none());
}

#[wasm_bindgen_test]
async fn the_consent_record_needs_no_attribution_from_the_loader() {
    let root = mount_with(
        KINDS,
        &format!(
            "{{deliver: {}}}",
            deliver("consentOnlyBodies", "{queued: true}")
        ),
    );
    type_in(&input(&root, "name"), "Ada");
    choose(&option_input(&root, "interest", "Pricing"), true);
    choose(&input(&root, "consent"), true);
    submit(&root);
    assert_eq!(outcome(&root).await, "queued");
    let body: serde_json::Value =
        serde_json::from_str(recorded("consentOnlyBodies")[0].as_str().unwrap()).unwrap();
    assert_eq!(body["attribution"]["consent"]["given"], true);
    assert_eq!(body["attribution"]["consent"]["version"], "2026-11-01");
}

#[wasm_bindgen_test]
fn a_phone_number_is_tidied_on_blur_and_never_called_valid() {
    let root = mount_spec(KINDS, "http://127.0.0.1:9/v1/leads");
    let phone = input(&root, "phone");
    for (typed, tidied) in [
        ("+1-415.555  0100", "+1 415 555 0100"),
        ("+ 44 20/7946-0000", "+44 20 7946 0000"),
        ("(415) 555-0100 ext. 12", "(415) 555 0100 ext 12"),
        ("0041 44 668 18 00", "0041 44 668 18 00"),
    ] {
        type_and_leave(&phone, typed);
        assert_eq!(phone.value(), tidied, "{typed}");
        assert_eq!(error_text(&root, &phone), "");
    }
    // Not a phone number's shape: left as typed, with the core's message.
    type_and_leave(&phone, "call me");
    assert_eq!(phone.value(), "call me");
    assert_eq!(error_text(&root, &phone), IssueCode::PhoneSyntax.message());
}

/// A bundle whose scoring can reach every stage from the `qualify` form's answers; one fit rule
/// reads a field of another form, which this form never answers.
const QUALIFYING: &str = r#"
[[forms]]
id = "qualify"
title = "Talk to us"
submit_label = "Send"
success_message = "Thanks"

[[forms.outcomes]]
stages = ["sql"]
message = "Pick a time."
link_url = "https://cal.example/meet"
link_label = "Book a meeting"

[[forms.outcomes]]
stages = ["mql"]
message = "Read on."

[[forms.fields]]
id = "email"
label = "Work email"
type = "email"
required = true

[[forms.fields]]
id = "size"
label = "Company size"
type = "select"
options = ["1-10", "1000+"]

[[forms.fields]]
id = "interest"
label = "What would you like?"
type = "radio"
options = ["A demo", "Just exploring"]

[[forms]]
id = "other"
title = "Other"
submit_label = "Send"
success_message = "Thanks"

[[forms.fields]]
id = "team_size"
label = "Team size"
type = "number"

[scoring.max]
fit = 50
engagement = 20
intent = 30

[[scoring.fit]]
id = "big"
label = "Big company"
when = 'size == "1000+"'
points = 40

[[scoring.fit]]
id = "team"
label = "Big team"
when = "not (team_size < 5)"
points = 10

[[scoring.intent]]
id = "demo"
label = "Asked for a demo"
when = 'interest == "A demo"'
points = 30

[lifecycle]
mql = 30
sql = 70
"#;

/// The `qualify` form of [`QUALIFYING`] as the Worker serves it.
fn served_qualifying() -> String {
    let bundle = handoff_core::Bundle::from_toml(QUALIFYING).unwrap();
    let form = bundle.form("qualify").unwrap();
    let browser = form.for_browser(&bundle.version, bundle.scoring(), bundle.rules.lifecycle);
    serde_json::to_string(&browser).unwrap()
}

#[wasm_bindgen_test]
async fn live_qualification_tells_the_host_page_and_picks_the_next_step_when_offline() {
    let root = mount_served_with(
        &served_qualifying(),
        &format!(
            "{{deliver: {}, emit: {}}}",
            deliver("liveBodies", "{queued: true}"),
            emit("liveEvents")
        ),
    );
    let email = input(&root, "email");
    type_in(&email, "maria@example.com");
    fire(&email, "change");
    let size = select(&root, "size");
    size.set_value("1000+");
    fire(&size, "change");
    choose(&option_input(&root, "interest", "A demo"), true);
    submit(&root);
    assert_eq!(outcome(&root).await, "queued");
    // The foreign field's `not (team_size < 5)` is true, as in the Worker: 10 fit from the start,
    // 40 more for the size, 30 intent for the demo.
    let stages: Vec<_> = recorded("liveEvents")
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e[0].as_str().unwrap().to_owned(), e[1]["lifecycle"].clone()))
        .collect();
    let want = [
        ("change", "nurture"),
        ("change", "mql"),
        ("change", "sql"),
        ("submit", "sql"),
    ];
    assert_eq!(
        stages,
        want.map(|(n, s)| (n.to_owned(), serde_json::json!(s)))
    );
    // The outcome the live score reaches, after the honest word on the queue.
    let status = status(&root);
    assert!(
        status
            .text_content()
            .unwrap()
            .ends_with("back online. Pick a time. Book a meeting"),
        "{}",
        status.text_content().unwrap()
    );
    let link = status.query_selector("a").unwrap().unwrap();
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("https://cal.example/meet")
    );
}

/// The loader builds the form from the Worker's markup before the module has loaded; the visitor
/// may answer meanwhile. Mounting keeps every answer and checks it: a field they left shows its
/// verdict, a choice shows the questions it opens, the field they are still in waits for them to
/// leave it, and the host page hears of each answer.
#[wasm_bindgen_test]
fn answers_typed_before_the_module_attaches_are_kept_and_checked() {
    let answer = js_sys::JSON::parse(&served(CONDITIONAL)).unwrap();
    let root = built(&answer);
    // Before mount: the markup alone, as a first-time visitor sees it.
    assert!(shown(&root, "interest"));
    assert!(!shown(&root, "team_size"), "hidden until a choice opens it");
    assert!(!shown(&root, "state"));
    let pricing = option_input(&root, "interest", "Pricing");
    pricing.set_checked(true);
    pick(&select(&root, "country"), "US");
    let options = js_sys::Function::new_no_args(&format!(
        "return {{endpoint: 'http://127.0.0.1:9/v1/leads', emit: {}}};",
        emit("earlyEvents")
    ))
    .call0(&JsValue::NULL)
    .unwrap();
    handoff_form::mount(&root, answer, options).unwrap();

    assert!(pricing.checked(), "the choice is kept");
    assert!(shown(&root, "team_size"), "the choice opens its question");
    assert!(
        shown(&root, "state"),
        "the country chosen opens its question"
    );
    assert_eq!(
        field_error(&root, "team_size"),
        "",
        "an empty field not yet visited is no mistake"
    );
    let heard: Vec<String> = recorded("earlyEvents")
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e[0] == "change")
        .map(|e| e[1]["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        heard,
        ["interest", "country"],
        "the host page hears of the early answers"
    );
}

#[wasm_bindgen_test]
fn an_answer_left_early_is_checked_at_mount_and_the_one_being_typed_when_left() {
    let answer = js_sys::JSON::parse(&served(&spec("Company"))).unwrap();
    let root = built(&answer);
    input(&root, "email").set_value("maria@gmal.com");
    // The visitor is still typing in `company` when the module attaches.
    let company = input(&root, "company");
    company.set_value("Far too long");
    company.focus().unwrap();
    let options = js_sys::JSON::parse(r#"{"endpoint":"http://127.0.0.1:9/v1/leads"}"#).unwrap();
    handoff_form::mount(&root, answer, options).unwrap();
    let suggestion = query(&root, ".handoff-suggestion");
    assert!(
        !suggestion.has_attribute("hidden"),
        "the mistyped domain is offered a correction"
    );
    assert_eq!(
        query(&suggestion, "button").text_content().unwrap(),
        "maria@gmail.com"
    );
    assert_eq!(company.value(), "Far too long", "nothing typed is lost");
    assert_eq!(field_error(&root, "company"), "", "not left yet");
    leave(&company, None);
    assert_eq!(field_error(&root, "company"), IssueCode::TooLong.message());
}

#[wasm_bindgen_test]
fn markup_of_another_form_is_refused() {
    // The loader built one form, and the module is handed another's answer.
    let other = js_sys::JSON::parse(&served(&spec("Company"))).unwrap();
    let target = built(&js_sys::JSON::parse(&served(CONDITIONAL)).unwrap());
    let options = js_sys::JSON::parse(r#"{"endpoint":"http://127.0.0.1:9/v1/leads"}"#).unwrap();
    let error = handoff_form::mount(&target, other, options).unwrap_err();
    let message = js_sys::Reflect::get(&JsValue::from(error), &"message".into()).unwrap();
    assert!(
        message
            .as_string()
            .unwrap()
            .starts_with("form.bad_markup: "),
        "{message:?}"
    );
    // And nothing built at all.
    let empty = document().create_element("div").unwrap();
    let answer = js_sys::JSON::parse(&served(&spec("Company"))).unwrap();
    let options = js_sys::JSON::parse(r#"{"endpoint":"http://127.0.0.1:9/v1/leads"}"#).unwrap();
    assert!(handoff_form::mount(&empty, answer, options).is_err());
}
