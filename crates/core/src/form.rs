//! The form spec: which fields a form has, in order, how each is presented and checked, when it is
//! shown, and how the form profiles returning visitors.

use serde::{Deserialize, Serialize};

use crate::answer::AnswerMap;
use crate::condition::{FieldType, ValueType};
use crate::scoring::Stage;

/// One form as the marketer configured it. Shared verbatim by the browser and the Worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormSpec {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub intro: String,
    pub submit_label: String,
    pub success_message: String,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiling: Option<Profiling>,
    /// What the visitor sees after submitting, by the lifecycle stage of the verdict; the first
    /// that matches wins, and `success_message` stands when none does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<Outcome>,
    /// The web origins (`https://www.example.com`) whose pages may embed this form: the Worker's
    /// CORS allowlist, matched exactly. Pages the Worker serves itself need no entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_origins: Vec<String>,
}

/// Why `handoff check` refuses an `allowed_origins` entry, if it does: it must be exactly what a
/// browser sends as `Origin`, i.e. `https://host[:port]` (or `http://localhost[:port]` for
/// development), lowercase, with no path.
pub fn origin_problem(origin: &str) -> Option<&'static str> {
    let rest = origin.strip_prefix("https://").or_else(|| {
        origin.strip_prefix("http://").filter(|r| {
            let host = r.split(':').next().unwrap_or_default();
            host == "localhost" || host == "127.0.0.1"
        })
    });
    let Some(rest) = rest else {
        return Some("must start with https:// (http:// only for localhost)");
    };
    let (host, port) = rest.split_once(':').unwrap_or((rest, ""));
    let host_ok = !host.is_empty()
        && host.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    let port_ok = port.is_empty()
        || (port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) && !port.starts_with('0'));
    if !host_ok || !port_ok || rest.contains(':') && port.is_empty() {
        Some("must be an origin like https://www.example.com: lowercase host, optional port, no path")
    } else {
        None
    }
}

impl FormSpec {
    pub fn field(&self, id: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// What conditions know of field `id`: its value type and, for choice fields, its options.
    pub fn field_type(&self, id: &str) -> Option<FieldType<'_>> {
        self.field(id).map(|f| FieldType {
            ty: f.kind.value_type(),
            options: f.kind.has_options().then_some(&f.options[..]),
        })
    }

    /// The first outcome configured for `stage`.
    pub fn outcome(&self, stage: Stage) -> Option<&Outcome> {
        self.outcomes
            .iter()
            .find(|o| o.stages.is_empty() || o.stages.contains(&stage))
    }
}

/// One next step after a submission, e.g. "book a meeting" for sales-ready leads and reading for
/// the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// The lifecycle stages it is for (`sql`, `mql`, `nurture`, `disqualified`); empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<Stage>,
    pub message: String,
    /// A link the person can follow (a scheduling page, a guide), `https://` only.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub link_url: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub link_label: String,
}

impl Outcome {
    /// Why `handoff check` refuses it, if it does.
    pub fn problem(&self) -> Option<&'static str> {
        if self.message.trim().is_empty() {
            Some("an outcome needs a message")
        } else if self.link_url.is_empty() != self.link_label.is_empty() {
            Some("an outcome's link needs both link_url and link_label")
        } else if !self.link_url.is_empty()
            && (!self.link_url.starts_with("https://")
                || self.link_url.len() <= "https://".len()
                || self
                    .link_url
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control()))
        {
            Some("an outcome's link_url must be an https:// URL")
        } else {
            None
        }
    }
}

/// One question on a form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub id: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub placeholder: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help: String,
    /// The longest answer accepted, in characters, for text and textarea fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// The browser's autofill hint (`autocomplete` attribute), e.g. `organization`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub autocomplete: String,
    /// The choices of a select, radio or multi-select field, in display order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// A condition (see `condition`) on earlier fields; the field is shown only while it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_if: Option<String>,
    /// For consent fields: the exact version of the text the person agreed to, stored with the lead.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub consent_version: String,
    /// When the field is asked of a visitor the form knows (see `[forms.profiling]`).
    #[serde(default, skip_serializing_if = "Ask::is_once")]
    pub ask: Ask,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// When a field is asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ask {
    /// On every visit, known or not.
    Always,
    /// Until it is known (and again once the answer is older than the profiling's
    /// `max_age_days`): the default. A known answer, required or not, is not asked again.
    #[default]
    Once,
    /// Only of a returning visitor (one the form knows something about), until it is known.
    Returning,
}

impl Ask {
    pub fn is_once(&self) -> bool {
        *self == Ask::Once
    }

    /// The name the configuration uses.
    pub fn from_name(name: &str) -> Option<Ask> {
        match name {
            "always" => Some(Ask::Always),
            "once" => Some(Ask::Once),
            "returning" => Some(Ask::Returning),
            _ => None,
        }
    }
}

/// How a field is entered and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FieldKind {
    Text,
    Email,
    Tel,
    Number,
    Textarea,
    Select,
    Radio,
    MultiSelect,
    Checkbox,
    Consent,
    Hidden,
    /// A country, chosen from the shipped list: its answer is the ISO 3166-1 alpha-2 code, its
    /// options the codes (every country unless the configuration lists some), and the browser
    /// shows each by its name in the visitor's language.
    Country,
}

impl FieldKind {
    pub const ALL: [FieldKind; 12] = [
        FieldKind::Text,
        FieldKind::Email,
        FieldKind::Tel,
        FieldKind::Number,
        FieldKind::Textarea,
        FieldKind::Select,
        FieldKind::Radio,
        FieldKind::MultiSelect,
        FieldKind::Checkbox,
        FieldKind::Consent,
        FieldKind::Hidden,
        FieldKind::Country,
    ];

    /// The kind as the spec spells it (`type = "multi-select"`), as serde reads and writes it.
    pub const fn name(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Email => "email",
            FieldKind::Tel => "tel",
            FieldKind::Number => "number",
            FieldKind::Textarea => "textarea",
            FieldKind::Select => "select",
            FieldKind::Radio => "radio",
            FieldKind::MultiSelect => "multi-select",
            FieldKind::Checkbox => "checkbox",
            FieldKind::Consent => "consent",
            FieldKind::Hidden => "hidden",
            FieldKind::Country => "country",
        }
    }

    /// The kind a spec names, for decoders that do without serde (the browser form).
    pub fn from_name(name: &str) -> Option<FieldKind> {
        FieldKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The HTML `input` type that presents this field, for the kinds shown as one `<input>`.
    pub const fn input_type(self) -> &'static str {
        match self {
            FieldKind::Email => "email",
            FieldKind::Tel => "tel",
            FieldKind::Number => "number",
            FieldKind::Checkbox | FieldKind::Consent => "checkbox",
            FieldKind::Hidden => "hidden",
            FieldKind::Radio => "radio",
            FieldKind::MultiSelect => "checkbox",
            FieldKind::Text | FieldKind::Textarea | FieldKind::Select | FieldKind::Country => {
                "text"
            }
        }
    }

    /// Whether the field's answer must be one of its `options`.
    pub const fn has_options(self) -> bool {
        matches!(
            self,
            FieldKind::Select | FieldKind::Radio | FieldKind::MultiSelect | FieldKind::Country
        )
    }

    /// The type conditions see for this field's answer.
    pub const fn value_type(self) -> ValueType {
        match self {
            FieldKind::Number => ValueType::Number,
            FieldKind::Checkbox | FieldKind::Consent => ValueType::Bool,
            FieldKind::MultiSelect => ValueType::List,
            _ => ValueType::Text,
        }
    }
}

/// Progressive profiling: ask returning visitors new questions instead of known ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profiling {
    /// The most questions from `pool` asked in one visit.
    pub max_new_questions: u32,
    /// A known answer older than this is asked again. Days.
    #[serde(default = "default_max_age_days")]
    pub max_age_days: u32,
    /// Optional fields asked progressively, highest priority first. Fields not listed here are
    /// asked whenever they are not known.
    pub pool: Vec<String>,
}

fn default_max_age_days() -> u32 {
    365
}

/// The lead's email address: the answer to the form's first email field, as normalized.
pub fn email_answer<'a>(spec: &FormSpec, answers: &'a AnswerMap) -> Option<&'a str> {
    let field = spec.fields.iter().find(|f| f.kind == FieldKind::Email)?;
    answers.get(&field.id)?.as_text()
}

#[cfg(test)]
mod tests {
    use super::FieldKind;

    #[test]
    fn kind_names_are_the_serde_names() {
        for kind in FieldKind::ALL {
            let json = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.name()));
            assert_eq!(FieldKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(FieldKind::from_name("Text"), None);
    }
}
