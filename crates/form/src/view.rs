//! The form's DOM: found where the loader built it from the Worker's markup (the module renders
//! nothing itself, so the visitor can type before it has loaded), and answers read back out of it.
//! Text is only ever set with `textContent` or attributes.
//!
//! Properties that only reflect an attribute (`hidden`, `disabled`) are set as that attribute,
//! and the `value` of the three control types is read through one binding: each web-sys setter or
//! getter is an import of its own, a function in the glue and an entry in the module, about 40
//! bytes gzip apiece.

use handoff_core::{AnswerValue, FieldKind, FormSpec};
use js_sys::Reflect;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    Document, Element, HtmlButtonElement, HtmlElement, HtmlFormElement, HtmlInputElement,
    HtmlSelectElement, HtmlTextAreaElement,
};

#[wasm_bindgen]
extern "C" {
    /// An input, select or textarea, for its `value`: one binding for the three element types.
    type Valued;
    #[wasm_bindgen(method, getter)]
    fn value(this: &Valued) -> String;
    #[wasm_bindgen(method, setter)]
    fn set_value(this: &Valued, value: &str);
}

/// The `value` of an input, select or textarea.
pub fn value_of(control: &HtmlElement) -> String {
    control.unchecked_ref::<Valued>().value()
}

/// The element(s) a visitor answers a field with.
#[derive(Debug)]
pub enum Control {
    /// text, email, tel, number, hidden, checkbox and consent fields.
    Input(HtmlInputElement),
    Textarea(HtmlTextAreaElement),
    Select(HtmlSelectElement),
    /// radio and multi-select fields: one input per option, in option order.
    Group(Vec<HtmlInputElement>),
}

/// One rendered field: its wrapper, its control and the element that shows its error.
#[derive(Debug)]
pub struct FieldView {
    /// `div.handoff-field[data-field]`; `hidden` while the form does not show the field.
    pub row: HtmlElement,
    pub kind: FieldKind,
    pub control: Control,
    pub error: Element,
    /// For email fields: "Did you mean …?" with a button that accepts the correction.
    pub suggestion: Option<Suggestion>,
}

/// `p.handoff-suggestion`, hidden until an address looks mistyped.
#[derive(Debug)]
pub struct Suggestion {
    pub line: HtmlElement,
    pub button: HtmlButtonElement,
}

impl Suggestion {
    /// Shows `address` as the suggestion, or hides the line when there is none.
    pub fn offer(&self, address: Option<&str>) {
        self.button.set_text_content(address);
        show(&self.line, address.is_some());
    }

    pub fn offered(&self) -> Option<String> {
        if self.line.hidden() {
            None
        } else {
            self.button.text_content()
        }
    }
}

/// The rendered form.
#[derive(Debug)]
pub struct FormView {
    pub form: HtmlFormElement,
    pub fields: Vec<FieldView>,
    pub submit: HtmlButtonElement,
    /// A polite live region for progress and outcome messages.
    pub status: Element,
    /// A text input people never see or reach, whose content marks a bot (`context.honeypot`).
    pub honeypot: HtmlInputElement,
}

type Dom<T> = Result<T, JsValue>;

impl FormView {
    /// Finds the form in `target`, as the loader built it from the Worker's markup for `spec`
    /// (`handoff_core::markup`): one `.handoff-field` row per field, in order, each with its
    /// control, error line and (email) suggestion. What the visitor typed before this is kept.
    /// Fails on markup that is not this spec's.
    pub fn adopt(target: &Element, spec: &FormSpec) -> Dom<FormView> {
        let form: HtmlFormElement = find(target, "form.handoff-form")?;
        let rows = form.query_selector_all(".handoff-field")?;
        if rows.length() as usize != spec.fields.len() {
            return Err(JsValue::from_str("the markup has another number of fields"));
        }
        let mut fields = Vec::with_capacity(spec.fields.len());
        for (i, field) in spec.fields.iter().enumerate() {
            let row: HtmlElement = rows
                .get(i as u32)
                .ok_or_else(|| JsValue::from_str(".handoff-field"))?
                .unchecked_into();
            if row.get_attribute("data-field").as_deref() != Some(field.id.as_str()) {
                return Err(JsValue::from_str("the markup's fields are not the spec's"));
            }
            let control = match field.kind {
                FieldKind::Radio | FieldKind::MultiSelect => {
                    let boxes = row.query_selector_all("input")?;
                    let inputs: Vec<HtmlInputElement> = (0..boxes.length())
                        .filter_map(|n| boxes.get(n))
                        .map(JsCast::unchecked_into)
                        .collect();
                    if inputs.len() != field.options.len() {
                        return Err(JsValue::from_str("the markup's options are not the spec's"));
                    }
                    Control::Group(inputs)
                }
                FieldKind::Textarea => Control::Textarea(find(&row, "textarea")?),
                FieldKind::Select | FieldKind::Country => Control::Select(find(&row, "select")?),
                _ => Control::Input(find(&row, "input")?),
            };
            let suggestion = match field.kind {
                FieldKind::Email => {
                    let line: HtmlElement = find(&row, ".handoff-suggestion")?;
                    let button = find(&line, "button")?;
                    Some(Suggestion { line, button })
                }
                _ => None,
            };
            let error = find(&row, ".handoff-error")?;
            fields.push(FieldView {
                row,
                kind: field.kind,
                control,
                error,
                suggestion,
            });
        }
        // The honeypot is off-screen by the stylesheet's `.handoff-hp`, and also through the
        // CSSOM (which a host page's Content-Security-Policy allows, unlike a style attribute)
        // where no stylesheet could be applied.
        let trap: HtmlElement = find(&form, ".handoff-hp")?;
        if let Ok(style) = Reflect::get(&trap, &"style".into()) {
            let css = "position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden";
            let _ = Reflect::set(&style, &"cssText".into(), &css.into());
        }
        Ok(FormView {
            submit: find(&form, "button[type=submit]")?,
            status: find(&form, ".handoff-status")?,
            honeypot: find(&trap, "input")?,
            form,
            fields,
        })
    }
}

/// The first element under `root` that `selector` matches, as the element type it names.
fn find<T: JsCast>(root: &Element, selector: &str) -> Dom<T> {
    root.query_selector(selector)?
        .map(JsCast::unchecked_into)
        .ok_or_else(|| JsValue::from_str(selector))
}

/// Appends ` <a href=url>label</a>` to `parent`: the next step after a submission (a meeting
/// page, a guide), opened in a new tab. The texts go in as text, never as markup.
pub fn append_link(parent: &Element, url: &str, label: &str) -> Dom<()> {
    let Some(doc) = parent.owner_document() else {
        return Ok(());
    };
    let link: Element = create(&doc, "a")?;
    set(&link, "href", url);
    set(&link, "target", "_blank");
    set(&link, "rel", "noopener noreferrer");
    set(&link, "class", "handoff-next");
    link.set_text_content(Some(label));
    parent.append_with_str_1(" ")?;
    parent.append_child(&link)?;
    Ok(())
}

/// `n` in decimal digits: every number the form writes goes through this one `to_string`.
pub fn decimal(n: usize) -> String {
    n.to_string()
}

/// A new `<tag>` element, as the element type `T` that tag makes in an HTML document.
fn create<T: JsCast>(doc: &Document, tag: &str) -> Dom<T> {
    Ok(doc.create_element(tag)?.unchecked_into())
}

/// Sets an attribute of one of the form's own elements; a constant, valid name cannot fail.
fn set(element: &Element, name: &str, value: &str) {
    let _ = element.set_attribute(name, value);
}

/// Sets or removes the boolean attribute `name` (`hidden`, `disabled`), as its property would:
/// one binding for every such property.
pub fn flag(element: &Element, name: &str, on: bool) {
    let _ = element.toggle_attribute_with_force(name, on);
}

/// Shows or hides an element (its `hidden` attribute).
pub fn show(element: &Element, shown: bool) {
    flag(element, "hidden", !shown);
}

impl FieldView {
    /// The answer as the DOM holds it now: text as typed, the chosen option (absent if none), the
    /// checked options, or whether the box is ticked.
    pub fn read(&self) -> Option<AnswerValue> {
        match &self.control {
            Control::Input(input)
                if matches!(self.kind, FieldKind::Checkbox | FieldKind::Consent) =>
            {
                Some(AnswerValue::Flag(input.checked()))
            }
            Control::Input(input) => Some(AnswerValue::Text(value_of(input))),
            Control::Textarea(area) => Some(AnswerValue::Text(value_of(area))),
            Control::Select(select) => {
                let value = value_of(select);
                (!value.is_empty()).then_some(AnswerValue::Text(value))
            }
            Control::Group(inputs) if self.kind == FieldKind::Radio => inputs
                .iter()
                .find(|i| i.checked())
                .map(|i| AnswerValue::Text(value_of(i))),
            Control::Group(inputs) => Some(AnswerValue::Choices(
                inputs
                    .iter()
                    .filter(|i| i.checked())
                    .map(|i| value_of(i))
                    .collect(),
            )),
        }
    }

    /// Whether the browser holds text it could not read as the field's type (a number input
    /// reports such text as an empty value).
    pub fn bad_input(&self) -> bool {
        matches!(&self.control, Control::Input(input) if input.validity().bad_input())
    }

    /// Shows the value that will be stored, for the controls people type into.
    pub fn write_text(&self, value: &str) {
        match &self.control {
            Control::Input(input)
                if !matches!(self.kind, FieldKind::Checkbox | FieldKind::Consent)
                    && value_of(input) != value =>
            {
                input.unchecked_ref::<Valued>().set_value(value);
            }
            Control::Textarea(area) if value_of(area) != value => {
                area.unchecked_ref::<Valued>().set_value(value)
            }
            _ => {}
        }
    }

    /// Every control, for attributes that apply to each.
    fn each(&self, mut f: impl FnMut(&HtmlElement)) {
        match &self.control {
            Control::Input(input) => f(input),
            Control::Textarea(area) => f(area),
            Control::Select(select) => f(select),
            Control::Group(inputs) => inputs.iter().for_each(|i| f(i)),
        }
    }

    pub fn show_error(&self, message: Option<&str>) {
        self.error.set_text_content(message);
        let invalid = if message.is_some() { "true" } else { "false" };
        // Attribute writes on our own elements cannot fail.
        self.each(|control| {
            let _ = control.set_attribute("aria-invalid", invalid);
        });
    }

    /// Moves focus to the field's first control.
    pub fn focus(&self) {
        let mut first = true;
        self.each(|control| {
            if std::mem::take(&mut first) {
                let _ = control.focus();
            }
        });
    }

    pub fn disable(&self) {
        self.each(|control| {
            let _ = control.set_attribute("disabled", "");
        });
    }

    pub fn set_shown(&self, shown: bool) {
        if self.row.hidden() == shown {
            show(&self.row, shown);
        }
    }
}
