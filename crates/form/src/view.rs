//! Building the form's DOM from a spec. Text is only ever set with `textContent` or attributes.

use std::sync::atomic::{AtomicU32, Ordering};

use handoff_core::{FieldSpec, FormSpec};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, HtmlButtonElement, HtmlFormElement, HtmlInputElement};

/// Distinguishes several forms mounted on one page, so element ids never collide.
static MOUNTS: AtomicU32 = AtomicU32::new(0);

/// One rendered field: its input and the element that shows its error.
#[derive(Debug)]
pub struct FieldView {
    pub input: HtmlInputElement,
    pub error: Element,
}

/// The rendered form.
#[derive(Debug)]
pub struct FormView {
    pub form: HtmlFormElement,
    pub fields: Vec<FieldView>,
    pub submit: HtmlButtonElement,
    /// A polite live region for progress and outcome messages.
    pub status: Element,
}

type Dom<T> = Result<T, JsValue>;

impl FormView {
    pub fn render(target: &Element, spec: &FormSpec) -> Dom<FormView> {
        let doc = target
            .owner_document()
            .ok_or_else(|| JsValue::from_str("no document"))?;
        let prefix = format!(
            "handoff-{}-{}",
            spec.id,
            MOUNTS.fetch_add(1, Ordering::Relaxed)
        );

        let form: HtmlFormElement = create(&doc, "form")?.dyn_into()?;
        form.set_class_name("handoff-form");
        form.set_no_validate(true);
        form.set_attribute("data-form", &spec.id)?;
        form.set_attribute("aria-labelledby", &format!("{prefix}-title"))?;

        let title = append_text(&doc, &form, "h2", &spec.title)?;
        title.set_id(&format!("{prefix}-title"));
        if !spec.intro.is_empty() {
            append_text(&doc, &form, "p", &spec.intro)?.set_class_name("handoff-intro");
        }

        let mut fields = Vec::with_capacity(spec.fields.len());
        for field in &spec.fields {
            fields.push(render_field(&doc, &form, &prefix, field)?);
        }

        let submit: HtmlButtonElement = create(&doc, "button")?.dyn_into()?;
        submit.set_type("submit");
        submit.set_text_content(Some(&spec.submit_label));
        form.append_child(&submit)?;

        let status = create(&doc, "p")?;
        status.set_class_name("handoff-status");
        status.set_attribute("role", "status")?;
        status.set_attribute("aria-live", "polite")?;
        form.append_child(&status)?;

        target.append_child(&form)?;
        Ok(FormView {
            form,
            fields,
            submit,
            status,
        })
    }
}

fn render_field(doc: &Document, form: &Element, prefix: &str, field: &FieldSpec) -> Dom<FieldView> {
    let id = format!("{prefix}-{}", field.id);
    let row = create(doc, "div")?;
    row.set_class_name("handoff-field");

    let label = append_text(doc, &row, "label", &field.label)?;
    label.set_attribute("for", &id)?;
    if field.required {
        let mark = append_text(doc, &label, "span", " *")?;
        mark.set_attribute("aria-hidden", "true")?;
    }

    let input: HtmlInputElement = create(doc, "input")?.dyn_into()?;
    input.set_id(&id);
    input.set_name(&field.id);
    input.set_type(field.kind.input_type());
    input.set_required(field.required);
    if !field.placeholder.is_empty() {
        input.set_placeholder(&field.placeholder);
    }
    if !field.autocomplete.is_empty() {
        input.set_attribute("autocomplete", &field.autocomplete)?;
    }
    if let Some(max) = field.max_length {
        input.set_attribute("maxlength", &max.to_string())?;
    }
    row.append_child(&input)?;

    let mut described_by = Vec::new();
    if !field.help.is_empty() {
        let help = append_text(doc, &row, "p", &field.help)?;
        help.set_id(&format!("{id}-help"));
        help.set_class_name("handoff-help");
        described_by.push(format!("{id}-help"));
    }
    let error = create(doc, "p")?;
    error.set_id(&format!("{id}-error"));
    error.set_class_name("handoff-error");
    row.append_child(&error)?;
    described_by.push(format!("{id}-error"));
    input.set_attribute("aria-describedby", &described_by.join(" "))?;

    form.append_child(&row)?;
    Ok(FieldView { input, error })
}

fn create(doc: &Document, tag: &str) -> Dom<Element> {
    doc.create_element(tag)
}

fn append_text(doc: &Document, parent: &Element, tag: &str, text: &str) -> Dom<Element> {
    let el = create(doc, tag)?;
    el.set_text_content(Some(text));
    parent.append_child(&el)?;
    Ok(el)
}
