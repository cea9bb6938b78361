//! Answers as they travel: text, the choices of a multi-select, or yes/no. JSON carries them as a
//! string, an array of strings or a boolean.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::condition::{Answers, Value};

/// One answer to one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnswerValue {
    Text(String),
    Choices(Vec<String>),
    Flag(bool),
}

impl AnswerValue {
    /// Whether the answer says nothing: blank text, no choice. `false` is an answer.
    pub fn is_empty(&self) -> bool {
        match self {
            AnswerValue::Text(t) => t.trim().is_empty(),
            AnswerValue::Choices(c) => c.is_empty(),
            AnswerValue::Flag(_) => false,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            AnswerValue::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The answer as conditions read it.
    pub fn as_value(&self) -> Value<'_> {
        match self {
            AnswerValue::Text(t) => Value::Text(t),
            AnswerValue::Choices(c) => Value::List(c),
            AnswerValue::Flag(b) => Value::Bool(*b),
        }
    }
}

impl From<&str> for AnswerValue {
    fn from(text: &str) -> AnswerValue {
        AnswerValue::Text(text.to_owned())
    }
}

/// The answers of a lead, by field id.
pub type AnswerMap = BTreeMap<String, AnswerValue>;

impl Answers for AnswerMap {
    fn get(&self, field: &str) -> Option<Value<'_>> {
        BTreeMap::get(self, field).map(AnswerValue::as_value)
    }
}

/// Answers as a list of field ids and answers, the first for a field counting: what the browser
/// form reads from the page on each change, without a map's code in the module.
impl Answers for Vec<(String, AnswerValue)> {
    fn get(&self, field: &str) -> Option<Value<'_>> {
        self.iter()
            .find(|(id, _)| id == field)
            .map(|(_, answer)| answer.as_value())
    }
}
