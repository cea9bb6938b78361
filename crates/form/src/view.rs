//! Building the form's DOM from a spec, and reading answers back out of it. Text is only ever set
//! with `textContent` or attributes.
//!
//! Properties that only reflect an attribute (`id`, `className`, `name`, `type`, `required`,
//! `noValidate`, `tabIndex`, `hidden`, `disabled`) are set as that attribute, and the `value` of
//! the three control types is read through one binding: each web-sys setter or getter is an import
//! of its own, a function in the glue and an entry in the module, about 40 bytes gzip apiece.

use std::sync::atomic::{AtomicU32, Ordering};

use handoff_core::{AnswerValue, FieldKind, FieldSpec, FormSpec};
use js_sys::Reflect;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    Document, Element, HtmlButtonElement, HtmlElement, HtmlFormElement, HtmlInputElement,
    HtmlSelectElement, HtmlTextAreaElement, Node,
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

/// Distinguishes several forms mounted on one page, so element ids never collide.
static MOUNTS: AtomicU32 = AtomicU32::new(0);

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
    fn render(doc: &Document, row: &Element) -> Dom<Suggestion> {
        let line: HtmlElement = create(doc, "p")?;
        set(&line, "class", "handoff-suggestion");
        set(&line, "aria-live", "polite");
        show(&line, false);
        let _ = line.append_with_str_1("Did you mean ");
        let button: HtmlButtonElement = create(doc, "button")?;
        set(&button, "type", "button");
        add(&line, &button);
        let _ = line.append_with_str_1("?");
        add(row, &line);
        Ok(Suggestion { line, button })
    }

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
    /// Builds the form into `target`. Only creating elements and the final insertion into the
    /// host page can fail (a page that broke the DOM); operations on the form's own new elements,
    /// with constant names, cannot, so their results are not inspected.
    pub fn render(target: &Element, spec: &FormSpec) -> Dom<FormView> {
        let doc = target
            .owner_document()
            .ok_or_else(|| JsValue::from_str("no document"))?;
        // The mount number comes first: it is unique and ends at the first `-`, so no id of one
        // mount can equal an id of another, whatever the form ids are.
        let mount = decimal(MOUNTS.fetch_add(1, Ordering::Relaxed) as usize);
        let prefix = cat(&["handoff-", &mount, "-", &spec.id]);

        let form: HtmlFormElement = create(&doc, "form")?;
        set(&form, "class", "handoff-form");
        set(&form, "novalidate", "");
        set(&form, "data-form", &spec.id);
        let title_id = cat(&[&prefix, "-title"]);
        set(&form, "aria-labelledby", &title_id);

        set(
            &append_text(&doc, &form, "h2", &spec.title)?,
            "id",
            &title_id,
        );
        if !spec.intro.is_empty() {
            set(
                &append_text(&doc, &form, "p", &spec.intro)?,
                "class",
                "handoff-intro",
            );
        }

        let mut fields = Vec::with_capacity(spec.fields.len());
        for (i, field) in spec.fields.iter().enumerate() {
            // The field's position keeps ids unique even if one field id extends another
            // (`email` and `email-error`): the index is digits, a field id starts with a letter.
            let id = cat(&[&prefix, "-", &decimal(i), "-", &field.id]);
            fields.push(render_field(&doc, &form, &id, field)?);
        }

        // The honeypot: off-screen (not `hidden`, which bots skip), out of the tab order and
        // hidden from assistive technology, with a name bots like to fill. Positioned through
        // the CSSOM, which a host page's Content-Security-Policy allows, unlike a style attribute.
        let trap: HtmlElement = create(&doc, "div")?;
        set(&trap, "class", "handoff-hp");
        set(&trap, "aria-hidden", "true");
        if let Ok(style) = Reflect::get(&trap, &"style".into()) {
            let css = "position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden";
            let _ = Reflect::set(&style, &"cssText".into(), &css.into());
        }
        // The label holds the input, so it needs no id.
        let label = append_text(&doc, &trap, "label", "Website ")?;
        let honeypot: HtmlInputElement = create(&doc, "input")?;
        set(&honeypot, "type", "text");
        set(&honeypot, "name", "website_url");
        set(&honeypot, "tabindex", "-1");
        set(&honeypot, "autocomplete", "off");
        add(&label, &honeypot);
        add(&form, &trap);

        let status_id = cat(&[&prefix, "-status"]);
        let submit: HtmlButtonElement = create(&doc, "button")?;
        set(&submit, "type", "submit");
        submit.set_text_content(Some(&spec.submit_label));
        // What the status line says about a failed submit describes the button.
        set(&submit, "aria-describedby", &status_id);
        add(&form, &submit);

        let status: Element = create(&doc, "p")?;
        set(&status, "id", &status_id);
        set(&status, "class", "handoff-status");
        set(&status, "role", "status");
        set(&status, "aria-live", "polite");
        add(&form, &status);

        target.append_child(&form)?;
        Ok(FormView {
            form,
            fields,
            submit,
            status,
            honeypot,
        })
    }
}

fn render_field(doc: &Document, form: &Element, id: &str, field: &FieldSpec) -> Dom<FieldView> {
    let row: HtmlElement = create(doc, "div")?;
    set(&row, "class", "handoff-field");
    set(&row, "data-field", &field.id);
    set(&row, "data-kind", field.kind.name());

    // The control, and the element its help and error describe (a group's fieldset).
    let (control, described): (Control, Element) = match field.kind {
        FieldKind::Textarea => {
            label(doc, &row, id, field)?;
            let area: HtmlTextAreaElement = create(doc, "textarea")?;
            set(&area, "id", id);
            set(&area, "name", &field.id);
            required(&area, field.required);
            text_attributes(&area, field);
            add(&row, &area);
            (Control::Textarea(area.clone()), area.into())
        }
        FieldKind::Select | FieldKind::Country => {
            label(doc, &row, id, field)?;
            let select: HtmlSelectElement = create(doc, "select")?;
            set(&select, "id", id);
            set(&select, "name", &field.id);
            required(&select, field.required);
            match (field.autocomplete.as_str(), field.kind) {
                ("", FieldKind::Country) => set(&select, "autocomplete", "country"),
                ("", _) => {}
                (hint, _) => set(&select, "autocomplete", hint),
            }
            set(
                &append_text(doc, &select, "option", "Choose…")?,
                "value",
                "",
            );
            // A country field's options are codes; the loader names them in the page's
            // language and orders them by name (embed.js, `nameCountries`).
            for option in &field.options {
                set(
                    &append_text(doc, &select, "option", option)?,
                    "value",
                    option,
                );
            }
            add(&row, &select);
            (Control::Select(select.clone()), select.into())
        }
        FieldKind::Radio | FieldKind::MultiSelect => {
            let group: Element = create(doc, "fieldset")?;
            set(&group, "id", id);
            let legend = append_text(doc, &group, "legend", &field.label)?;
            required_mark(doc, &legend, field)?;
            if field.required && field.kind == FieldKind::MultiSelect {
                // No checkbox is `required` here (see below), so the legend itself says so to
                // screen readers, in text the page does not show.
                set(
                    &append_text(doc, &legend, "span", " (required)")?,
                    "class",
                    "handoff-sr",
                );
            }
            let ty = if field.kind == FieldKind::Radio {
                "radio"
            } else {
                "checkbox"
            };
            let mut inputs = Vec::with_capacity(field.options.len());
            for (n, option) in field.options.iter().enumerate() {
                let item: Element = create(doc, "div")?;
                set(&item, "class", "handoff-option");
                let option_id = cat(&[id, "-", &decimal(n)]);
                let input = input(doc, &option_id, ty, field)?;
                // A radio's or checkbox's `value` property is its attribute.
                set(&input, "value", option);
                // A required radio group needs one choice: that is what `required` on radios means.
                // On checkboxes it would mean every box, so a multi-select has only the legend's mark.
                required(&input, field.required && field.kind == FieldKind::Radio);
                add(&item, &input);
                set(
                    &append_text(doc, &item, "label", option)?,
                    "for",
                    &option_id,
                );
                add(&group, &item);
                inputs.push(input);
            }
            add(&row, &group);
            (Control::Group(inputs), group)
        }
        FieldKind::Checkbox | FieldKind::Consent => {
            let input = input(doc, id, "checkbox", field)?;
            required(&input, field.required);
            add(&row, &input);
            // The label follows the box; for consent, the label is the text agreed to.
            label(doc, &row, id, field)?;
            (Control::Input(input.clone()), input.into())
        }
        FieldKind::Hidden => {
            // Set by the host page, never seen: no label, no help.
            let input = input(doc, id, "hidden", field)?;
            add(&row, &input);
            (Control::Input(input.clone()), input.into())
        }
        _ => {
            label(doc, &row, id, field)?;
            let input = input(doc, id, field.kind.input_type(), field)?;
            required(&input, field.required);
            text_attributes(&input, field);
            add(&row, &input);
            (Control::Input(input.clone()), input.into())
        }
    };
    let suggestion = match field.kind {
        FieldKind::Email => Some(Suggestion::render(doc, &row)?),
        _ => None,
    };

    // The error comes last: scripts and tests find it as the last id.
    let mut described_by = String::new();
    if !field.help.is_empty() && field.kind != FieldKind::Hidden {
        let help = append_text(doc, &row, "p", &field.help)?;
        let help_id = cat(&[id, "-help"]);
        set(&help, "id", &help_id);
        set(&help, "class", "handoff-help");
        described_by = help_id + " ";
    }
    let error: Element = create(doc, "p")?;
    let error_id = cat(&[id, "-error"]);
    set(&error, "id", &error_id);
    set(&error, "class", "handoff-error");
    add(&row, &error);
    set(&described, "aria-describedby", &(described_by + &error_id));

    add(form, &row);
    Ok(FieldView {
        row,
        kind: field.kind,
        control,
        error,
        suggestion,
    })
}

/// `<label for=id>` with the field's label and, if required, a mark that screen readers skip
/// (they announce `required` from the control).
fn label(doc: &Document, row: &Element, id: &str, field: &FieldSpec) -> Dom<()> {
    let label = append_text(doc, row, "label", &field.label)?;
    set(&label, "for", id);
    required_mark(doc, &label, field)
}

fn required_mark(doc: &Document, parent: &Element, field: &FieldSpec) -> Dom<()> {
    if field.required {
        set(
            &append_text(doc, parent, "span", " *")?,
            "aria-hidden",
            "true",
        );
    }
    Ok(())
}

fn input(doc: &Document, id: &str, ty: &str, field: &FieldSpec) -> Dom<HtmlInputElement> {
    let input: HtmlInputElement = create(doc, "input")?;
    set(&input, "type", ty);
    set(&input, "id", id);
    set(&input, "name", &field.id);
    Ok(input)
}

/// Placeholder, autofill hint and length limit, for the controls people type into.
fn text_attributes(control: &Element, field: &FieldSpec) {
    if !field.placeholder.is_empty() {
        set(control, "placeholder", &field.placeholder);
    }
    if !field.autocomplete.is_empty() {
        set(control, "autocomplete", &field.autocomplete);
    }
    if let Some(max) = field.max_length {
        set(control, "maxlength", &decimal(max as usize));
    }
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

/// The pieces one after the other, as `format!` would join them, without building its arguments.
pub fn cat(pieces: &[&str]) -> String {
    let mut out = String::new();
    for piece in pieces {
        out.push_str(piece);
    }
    out
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

/// Marks a new control `required` (the property's attribute); a control that is not stays without.
fn required(element: &Element, yes: bool) {
    if yes {
        set(element, "required", "");
    }
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

/// Appends one of the form's own new nodes to another; that cannot fail.
fn add(parent: &Node, child: &Node) {
    let _ = parent.append_child(child);
}

fn append_text(doc: &Document, parent: &Element, tag: &str, text: &str) -> Dom<Element> {
    let el: Element = create(doc, tag)?;
    el.set_text_content(Some(text));
    add(parent, &el);
    Ok(el)
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
