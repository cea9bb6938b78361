//! The form spec: which fields a form has, in order, and how each is presented and checked.

use serde::{Deserialize, Serialize};

/// One form as the marketer configured it. Shared verbatim by the browser and the Worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormSpec {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub intro: String,
    pub submit_label: String,
    pub success_message: String,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
}

impl FormSpec {
    pub fn field(&self, id: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.id == id)
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
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub placeholder: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help: String,
    /// The longest answer accepted, in characters, for text fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// The browser's autofill hint (`autocomplete` attribute), e.g. `organization`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub autocomplete: String,
}

/// How a field is entered and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FieldKind {
    Email,
    Text,
}

impl FieldKind {
    /// The HTML `input` type that presents this field.
    pub const fn input_type(self) -> &'static str {
        match self {
            FieldKind::Email => "email",
            FieldKind::Text => "text",
        }
    }
}
