//! The form's markup, as a tree of elements and text that the loader builds with `createElement`,
//! `setAttribute` and text nodes (never as HTML): the Worker serves it with the spec, so the
//! visitor can type before the form module has loaded, and the module then adopts the elements it
//! finds ([`BrowserForm`](crate::visibility::BrowserForm)`.markup`).
//!
//! One renderer for every place the form is shown. Ids are relative: `<form>-title`,
//! `<form>-<index>-<field>` (the index keeps `email` and `email-error` apart: an index is digits,
//! a field id starts with a letter) and their `-help`, `-error`, `-<option index>`, and
//! `<form>-status`. The builder prefixes each id, and each id an attribute refers to
//! ([`REFERENCES`]), with `handoff-<n>-`, n the form's number on the page, so that several forms
//! on one page never share an id. Text goes in as text and attribute values as values, so nothing
//! in a spec is ever read as markup.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::form::{FieldKind, FieldSpec, FormSpec};

/// The attributes whose values are ids (space-separated), which the builder prefixes.
pub const REFERENCES: [&str; 4] = ["id", "for", "aria-labelledby", "aria-describedby"];

/// An element or a piece of text. In JSON an element is `[tag, {name: value, …}, child, …]` and
/// text is a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element {
        tag: &'static str,
        attrs: Vec<(&'static str, String)>,
        children: Vec<Node>,
    },
    Text(String),
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Text(text) => s.serialize_str(text),
            Node::Element {
                tag,
                attrs,
                children,
            } => {
                let mut seq = s.serialize_seq(Some(2 + children.len()))?;
                seq.serialize_element(tag)?;
                seq.serialize_element(&Attrs(attrs))?;
                for child in children {
                    seq.serialize_element(child)?;
                }
                seq.end()
            }
        }
    }
}

struct Attrs<'a>(&'a [(&'static str, String)]);

impl Serialize for Attrs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl Node {
    fn el(tag: &'static str) -> Node {
        Node::Element {
            tag,
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// `<tag>text</tag>`.
    fn text(tag: &'static str, text: &str) -> Node {
        Node::el(tag).child(Node::Text(text.to_owned()))
    }

    fn attr(mut self, name: &'static str, value: &str) -> Node {
        if let Node::Element { attrs, .. } = &mut self {
            attrs.push((name, value.to_owned()));
        }
        self
    }

    /// A boolean attribute (`required`, `hidden`, `novalidate`) when `on`.
    fn flag(self, name: &'static str, on: bool) -> Node {
        if on {
            self.attr(name, "")
        } else {
            self
        }
    }

    fn child(mut self, node: Node) -> Node {
        if let Node::Element { children, .. } = &mut self {
            children.push(node);
        }
        self
    }
}

/// The form `spec` with the fields `shown[i]` says are shown (the others `hidden`): what the
/// browser shows before any answer. `shown` has one entry per field; a missing one counts as shown.
pub fn form(spec: &FormSpec, shown: &[bool]) -> Node {
    let prefix = &spec.id;
    let title_id = format!("{prefix}-title");
    let status_id = format!("{prefix}-status");
    let mut form = Node::el("form")
        .attr("class", "handoff-form")
        .flag("novalidate", true)
        .attr("data-form", &spec.id)
        .attr("aria-labelledby", &title_id)
        .child(Node::text("h2", &spec.title).attr("id", &title_id));
    if !spec.intro.is_empty() {
        form = form.child(Node::text("p", &spec.intro).attr("class", "handoff-intro"));
    }
    for (i, field) in spec.fields.iter().enumerate() {
        let id = format!("{prefix}-{i}-{}", field.id);
        let shown = shown.get(i).copied().unwrap_or(true);
        form = form.child(row(&id, field).flag("hidden", !shown));
    }
    // The honeypot: off-screen (not `hidden`, which bots skip), out of the tab order and hidden
    // from assistive technology, with a name bots like to fill; the label holds the input. The
    // stylesheet's `.handoff-hp` places it, and the form module again through the CSSOM.
    let trap = Node::el("label")
        .child(Node::Text("Website ".to_owned()))
        .child(
            Node::el("input")
                .attr("type", "text")
                .attr("name", "website_url")
                .attr("tabindex", "-1")
                .attr("autocomplete", "off"),
        );
    form.child(
        Node::el("div")
            .attr("class", "handoff-hp")
            .attr("aria-hidden", "true")
            .child(trap),
    )
    // What the status line says about a failed submit describes the button.
    .child(
        Node::text("button", &spec.submit_label)
            .attr("type", "submit")
            .attr("aria-describedby", &status_id),
    )
    .child(
        Node::el("p")
            .attr("id", &status_id)
            .attr("class", "handoff-status")
            .attr("role", "status")
            .attr("aria-live", "polite"),
    )
}

/// `div.handoff-field`: the field's label, control, help and error line.
fn row(id: &str, field: &FieldSpec) -> Node {
    let mut row = Node::el("div")
        .attr("class", "handoff-field")
        .attr("data-field", &field.id)
        .attr("data-kind", field.kind.name());
    let error_id = format!("{id}-error");
    // A hidden field is never seen: no help.
    let help_id =
        (!field.help.is_empty() && field.kind != FieldKind::Hidden).then(|| format!("{id}-help"));
    let described = match &help_id {
        Some(help_id) => format!("{help_id} {error_id}"),
        None => error_id.clone(),
    };
    let control = |node: Node| node.attr("aria-describedby", &described);
    row = match field.kind {
        FieldKind::Textarea => row.child(label(id, field)).child(control(text_attributes(
            Node::el("textarea")
                .attr("id", id)
                .attr("name", &field.id)
                .flag("required", field.required),
            field,
        ))),
        FieldKind::Select | FieldKind::Country => {
            let mut select = Node::el("select")
                .attr("id", id)
                .attr("name", &field.id)
                .flag("required", field.required);
            match (field.autocomplete.as_str(), field.kind) {
                ("", FieldKind::Country) => select = select.attr("autocomplete", "country"),
                ("", _) => {}
                (hint, _) => select = select.attr("autocomplete", hint),
            }
            // A country field's options are codes; the loader names them in the page's language
            // and orders them by name.
            select = select.child(Node::text("option", "Choose…").attr("value", ""));
            for option in &field.options {
                select = select.child(Node::text("option", option).attr("value", option));
            }
            row.child(label(id, field)).child(control(select))
        }
        FieldKind::Radio | FieldKind::MultiSelect => row.child(control(group(id, field))),
        FieldKind::Checkbox | FieldKind::Consent => row
            // The label follows the box; for consent, the label is the text agreed to.
            .child(control(
                input(id, "checkbox", field).flag("required", field.required),
            ))
            .child(label(id, field)),
        // Set by the host page, never seen: no label, no help.
        FieldKind::Hidden => row.child(control(input(id, "hidden", field))),
        _ => row.child(label(id, field)).child(control(text_attributes(
            input(id, field.kind.input_type(), field).flag("required", field.required),
            field,
        ))),
    };
    if field.kind == FieldKind::Email {
        // "Did you mean …?", hidden until an address looks mistyped; the button accepts it.
        row = row.child(
            Node::el("p")
                .attr("class", "handoff-suggestion")
                .attr("aria-live", "polite")
                .flag("hidden", true)
                .child(Node::Text("Did you mean ".to_owned()))
                .child(Node::el("button").attr("type", "button"))
                .child(Node::Text("?".to_owned())),
        );
    }
    if let Some(help_id) = &help_id {
        row = row.child(
            Node::text("p", &field.help)
                .attr("id", help_id)
                .attr("class", "handoff-help"),
        );
    }
    // The error comes last: scripts and tests find it as the last id.
    row.child(
        Node::el("p")
            .attr("id", &error_id)
            .attr("class", "handoff-error"),
    )
}

/// A radio or multi-select field: a fieldset of boxes, the legend its label.
fn group(id: &str, field: &FieldSpec) -> Node {
    let mut legend = Node::text("legend", &field.label);
    legend = required_mark(legend, field);
    if field.required && field.kind == FieldKind::MultiSelect {
        // No checkbox is `required` (see below), so the legend says so to screen readers, in
        // text the page does not show.
        legend = legend.child(Node::text("span", " (required)").attr("class", "handoff-sr"));
    }
    let mut group = Node::el("fieldset").attr("id", id).child(legend);
    let (ty, radio) = match field.kind {
        FieldKind::Radio => ("radio", true),
        _ => ("checkbox", false),
    };
    for (n, option) in field.options.iter().enumerate() {
        let option_id = format!("{id}-{n}");
        // A required radio group needs one choice: that is what `required` on radios means. On
        // checkboxes it would mean every box, so a multi-select has only the legend's mark.
        let input = input(&option_id, ty, field)
            .attr("value", option)
            .flag("required", field.required && radio);
        group = group.child(
            Node::el("div")
                .attr("class", "handoff-option")
                .child(input)
                .child(Node::text("label", option).attr("for", &option_id)),
        );
    }
    group
}

/// `<label for=id>` with the field's label and, if required, a mark that screen readers skip
/// (they announce `required` from the control).
fn label(id: &str, field: &FieldSpec) -> Node {
    required_mark(Node::text("label", &field.label).attr("for", id), field)
}

fn required_mark(node: Node, field: &FieldSpec) -> Node {
    if field.required {
        node.child(Node::text("span", " *").attr("aria-hidden", "true"))
    } else {
        node
    }
}

fn input(id: &str, ty: &str, field: &FieldSpec) -> Node {
    Node::el("input")
        .attr("type", ty)
        .attr("id", id)
        .attr("name", &field.id)
}

/// Placeholder, autofill hint and length limit, for the controls people type into.
fn text_attributes(mut control: Node, field: &FieldSpec) -> Node {
    if !field.placeholder.is_empty() {
        control = control.attr("placeholder", &field.placeholder);
    }
    if !field.autocomplete.is_empty() {
        control = control.attr("autocomplete", &field.autocomplete);
    }
    if let Some(max) = field.max_length {
        control = control.attr("maxlength", &max.to_string());
    }
    control
}

/// Reading a tree back, for the tests.
#[cfg(test)]
impl Node {
    /// The value of attribute `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        match self {
            Node::Element { attrs, .. } => attrs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str()),
            Node::Text(_) => None,
        }
    }

    /// Every element of the tree in document order, this one first.
    pub fn elements(&self) -> Vec<&Node> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            if let Node::Element { children, .. } = node {
                out.push(node);
                stack.extend(children.iter().rev());
            }
        }
        out
    }

    /// The element's tag; `None` for text.
    pub fn tag(&self) -> Option<&'static str> {
        match self {
            Node::Element { tag, .. } => Some(tag),
            Node::Text(_) => None,
        }
    }

    /// The text of the node and its descendants, as `textContent` reads it.
    pub fn text_content(&self) -> String {
        match self {
            Node::Text(text) => text.clone(),
            Node::Element { children, .. } => children.iter().map(Node::text_content).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::visibility::CompiledForm;

    /// A field of every kind, one required, help on some.
    const KINDS: &str = r#"{"id":"kinds","title":"Every kind","intro":"Tell us.","submit_label":"Send",
      "success_message":"Thanks","fields":[
        {"id":"name","label":"Name","type":"text","required":true,"autocomplete":"name","max_length":80},
        {"id":"email","label":"Email","type":"email","placeholder":"name@company.com","help":"We reply here."},
        {"id":"phone","label":"Phone","type":"tel"},
        {"id":"seats","label":"Seats","type":"number"},
        {"id":"notes","label":"Notes","type":"textarea"},
        {"id":"size","label":"Size","type":"select","options":["1-10","11-50"]},
        {"id":"country","label":"Country","type":"country","options":["DE","US"]},
        {"id":"interest","label":"Interest","type":"radio","required":true,"options":["A demo","Pricing"]},
        {"id":"topics","label":"Topics","type":"multi-select","required":true,"options":["a","b"],"help":"Any."},
        {"id":"news","label":"News","type":"checkbox"},
        {"id":"consent","label":"I agree.","type":"consent","required":true,"consent_version":"1"},
        {"id":"source","label":"Source","type":"hidden","help":"never shown"}]}"#;

    fn spec(json: &str) -> FormSpec {
        serde_json::from_str(json).unwrap()
    }

    fn row<'a>(form: &'a Node, field: &str) -> &'a Node {
        form.elements()
            .into_iter()
            .find(|n| n.get("data-field") == Some(field))
            .unwrap()
    }

    /// The elements under `node` with tag `tag`, in document order.
    fn tagged<'a>(node: &'a Node, tag: &str) -> Vec<&'a Node> {
        node.elements()
            .into_iter()
            .filter(|n| n.tag() == Some(tag))
            .collect()
    }

    #[test]
    fn each_kind_has_its_control_label_and_lines() {
        let spec = spec(KINDS);
        let form = form(&spec, &[]);
        // field, the control's tag and type, whether a label names it by `for`, whether it has a
        // suggestion line, a help line.
        type Row = (
            &'static str,
            &'static str,
            Option<&'static str>,
            bool,
            bool,
            bool,
        );
        let table: &[Row] = &[
            ("name", "input", Some("text"), true, false, false),
            ("email", "input", Some("email"), true, true, true),
            ("phone", "input", Some("tel"), true, false, false),
            ("seats", "input", Some("number"), true, false, false),
            ("notes", "textarea", None, true, false, false),
            ("size", "select", None, true, false, false),
            ("country", "select", None, true, false, false),
            ("interest", "fieldset", None, false, false, false),
            ("topics", "fieldset", None, false, false, true),
            ("news", "input", Some("checkbox"), true, false, false),
            ("consent", "input", Some("checkbox"), true, false, false),
            ("source", "input", Some("hidden"), false, false, false),
        ];
        for &(field, tag, ty, labelled, suggestion, help) in table {
            let row = row(&form, field);
            assert_eq!(
                row.get("data-kind"),
                Some(spec.field(field).unwrap().kind.name())
            );
            let control = row
                .elements()
                .into_iter()
                .find(|n| {
                    n.get("id")
                        .is_some_and(|id| id.ends_with(&format!("-{field}")))
                })
                .unwrap();
            assert_eq!(control.tag(), Some(tag), "{field}");
            assert_eq!(control.get("type"), ty, "{field}");
            let label = tagged(row, "label")
                .into_iter()
                .find(|l| l.get("for") == control.get("id"));
            assert_eq!(label.is_some(), labelled, "{field}");
            let lines = |class: &str| {
                row.elements()
                    .into_iter()
                    .filter(|n| n.get("class") == Some(class))
                    .count()
            };
            assert_eq!(
                lines("handoff-suggestion"),
                usize::from(suggestion),
                "{field}"
            );
            assert_eq!(lines("handoff-help"), usize::from(help), "{field}");
            assert_eq!(lines("handoff-error"), 1, "{field}");
            // Help and error describe the control (a group's fieldset).
            let described = control.get("aria-describedby").unwrap();
            let error = format!("{}-error", control.get("id").unwrap());
            assert!(described.ends_with(&error), "{field}: {described}");
            assert_eq!(described.contains("-help"), help, "{field}");
        }
        // Options: a choice per option, after a blank one for selects.
        let size = tagged(row(&form, "size"), "option");
        let values: Vec<_> = size.iter().map(|o| o.get("value").unwrap()).collect();
        assert_eq!(values, ["", "1-10", "11-50"]);
        assert_eq!(tagged(row(&form, "interest"), "input").len(), 2);
        let required: Vec<_> = tagged(row(&form, "interest"), "input")
            .iter()
            .map(|i| i.get("required").is_some())
            .collect();
        assert_eq!(
            required,
            [true, true],
            "a required radio group needs one choice"
        );
        assert!(tagged(row(&form, "topics"), "input")
            .iter()
            .all(|i| i.get("required").is_none()));
        assert!(row(&form, "topics").text_content().contains("(required)"));
        let country = tagged(row(&form, "country"), "select")[0];
        assert_eq!(country.get("autocomplete"), Some("country"));
        let name = tagged(row(&form, "name"), "input")[0];
        assert_eq!(name.get("maxlength"), Some("80"));
        assert_eq!(name.get("autocomplete"), Some("name"));
    }

    #[test]
    fn every_id_is_unique_and_every_reference_is_in_the_form() {
        let form = form(&spec(KINDS), &[]);
        let mut ids = std::collections::BTreeSet::new();
        for el in form.elements() {
            if let Some(id) = el.get("id") {
                assert!(ids.insert(id.to_owned()), "{id} twice");
            }
        }
        let mut references = 0;
        for el in form.elements() {
            for name in REFERENCES.iter().filter(|name| **name != "id") {
                for id in el.get(name).unwrap_or_default().split_whitespace() {
                    assert!(ids.contains(id), "{name}={id} names nothing");
                    references += 1;
                }
            }
        }
        assert!(references > 20, "{references}");
        assert_eq!(form.get("aria-labelledby"), Some("kinds-title"));
    }

    #[test]
    fn configured_text_stays_text() {
        let evil = r#"<img src=x onerror=alert(1)>"#;
        let json = KINDS.replace(r#""label":"Name""#, &format!(r#""label":{evil:?}"#));
        let form = form(&spec(&json), &[]);
        let label = tagged(row(&form, "name"), "label")[0];
        assert_eq!(label.text_content(), format!("{evil} *"));
        assert!(form.elements().iter().all(|n| n.tag() != Some("img")));
        // In JSON, a string: the loader makes it a text node.
        let encoded = serde_json::to_string(label).unwrap();
        assert!(
            encoded.contains(r#""<img src=x onerror=alert(1)>""#),
            "{encoded}"
        );
    }

    #[test]
    fn rows_the_plan_does_not_show_are_hidden() {
        let form = form(&spec(KINDS), &[true, false, true]);
        let hidden: Vec<_> = ["name", "email", "phone", "seats"]
            .iter()
            .map(|f| row(&form, f).get("hidden").is_some())
            .collect();
        assert_eq!(hidden, [false, true, false, false]);
    }

    #[test]
    fn json_is_tag_attributes_then_children() {
        let spec = spec(
            r#"{"id":"mini","title":"Hi","submit_label":"Go","success_message":"ok",
                "fields":[{"id":"q","label":"Q","type":"text"}]}"#,
        );
        let json = serde_json::to_value(form(&spec, &[])).unwrap();
        assert_eq!(json[0], "form");
        assert_eq!(
            json[1],
            serde_json::json!({"class":"handoff-form","novalidate":"","data-form":"mini",
                "aria-labelledby":"mini-title"})
        );
        assert_eq!(
            json[2],
            serde_json::json!(["h2", {"id": "mini-title"}, "Hi"])
        );
        assert_eq!(
            json[3],
            serde_json::json!(["div", {"class":"handoff-field","data-field":"q","data-kind":"text"},
                ["label", {"for": "mini-0-q"}, "Q"],
                ["input", {"type":"text","id":"mini-0-q","name":"q","aria-describedby":"mini-0-q-error"}],
                ["p", {"id":"mini-0-q-error","class":"handoff-error"}]])
        );
        let last = json.as_array().unwrap().len() - 1;
        assert_eq!(
            json[last - 1],
            serde_json::json!(["button", {"type":"submit","aria-describedby":"mini-status"}, "Go"])
        );
        assert_eq!(json[last][1]["role"], "status");
    }

    #[test]
    fn the_browser_form_shows_what_a_first_time_visitor_sees_before_answering() {
        let spec = spec(
            r#"{"id":"p","title":"T","submit_label":"Go","success_message":"ok","fields":[
                {"id":"interest","label":"I","type":"radio","options":["A","B"]},
                {"id":"team","label":"Team","type":"number","visible_if":"interest == \"A\""},
                {"id":"role","label":"Role","type":"text","ask":"returning"},
                {"id":"email","label":"Email","type":"email"}]}"#,
        );
        let compiled = CompiledForm::compile(spec).unwrap();
        let browser = compiled.for_browser("v1", &Default::default(), Default::default());
        let hidden: Vec<_> = ["interest", "team", "role", "email"]
            .iter()
            .map(|f| row(&browser.markup, f).get("hidden").is_some())
            .collect();
        assert_eq!(hidden, [false, true, true, false]);
    }
}
