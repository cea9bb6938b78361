//! The rule bundle: the marketer's TOML configuration, checked and compiled into the canonical JSON
//! that the browser and the Worker both evaluate. Its version is a hash of its content, so two
//! sides holding the same version hold the same rules.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::form::FormSpec;

/// The compiled configuration. `version` is `sha256:` and the first 16 hex digits of the SHA-256
/// of the canonical JSON of everything else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub version: String,
    pub forms: Vec<FormSpec>,
}

/// The human-edited configuration file, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    forms: Vec<FormSpec>,
}

/// The same file read a second time for the positions of ids, so that semantic problems can be
/// reported at a line and column. Every other key is ignored here; the typed pass checks them.
#[derive(Deserialize)]
struct IdPositions {
    #[serde(default)]
    forms: Vec<FormIds>,
}

#[derive(Deserialize)]
struct FormIds {
    id: Spanned<String>,
    #[serde(default)]
    fields: Vec<FieldIds>,
}

#[derive(Deserialize)]
struct FieldIds {
    id: Spanned<String>,
}

/// The part of a bundle its version is computed over.
#[derive(Serialize)]
struct Content<'a> {
    forms: &'a [FormSpec],
}

/// A problem in a configuration or a bundle, with where it is (1-based line and column; 0 when the
/// problem has no single place).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigError {
    pub code: &'static str,
    pub message: String,
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} [{}]",
            self.line, self.column, self.message, self.code
        )
    }
}

impl Bundle {
    /// Checks a TOML configuration and compiles it. Reports every problem found, not only the first.
    pub fn from_toml(text: &str) -> Result<Bundle, Vec<ConfigError>> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |s| line_column(text, s.start));
            vec![ConfigError {
                code: "config.syntax",
                message: e.message().trim().to_owned(),
                line,
                column,
            }]
        })?;
        // The typed pass succeeded, so every form and field has an id and this pass cannot fail.
        let positions: IdPositions =
            toml::from_str(text).unwrap_or(IdPositions { forms: Vec::new() });
        let errors = check(&config, &positions, text);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Bundle::new(config.forms))
    }

    /// Builds a bundle and stamps its content version.
    pub fn new(forms: Vec<FormSpec>) -> Bundle {
        let version = content_version(&forms);
        Bundle { version, forms }
    }

    /// Reads a compiled bundle and verifies that its version matches its content.
    pub fn from_json(text: &str) -> Result<Bundle, ConfigError> {
        let bundle: Bundle = serde_json::from_str(text).map_err(|e| ConfigError {
            code: "bundle.syntax",
            message: e.to_string(),
            line: u32::try_from(e.line()).unwrap_or(u32::MAX),
            column: u32::try_from(e.column()).unwrap_or(u32::MAX),
        })?;
        let expected = content_version(&bundle.forms);
        if bundle.version != expected {
            return Err(ConfigError {
                code: "bundle.version_mismatch",
                message: format!(
                    "the bundle says version {} but its content hashes to {expected}",
                    bundle.version
                ),
                line: 0,
                column: 0,
            });
        }
        Ok(bundle)
    }

    /// The canonical JSON form: what is stored at the edge and sent to the browser.
    pub fn to_json(&self) -> String {
        // Serializing plain strings, vectors and structs cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn form(&self, id: &str) -> Option<&FormSpec> {
        self.forms.iter().find(|f| f.id == id)
    }
}

fn content_version(forms: &[FormSpec]) -> String {
    let canonical = serde_json::to_vec(&Content { forms }).unwrap_or_default();
    let digest = Sha256::digest(&canonical);
    let mut version = String::from("sha256:");
    for byte in &digest[..8] {
        version.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        version.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
    }
    version
}

/// Ids appear in URLs, DOM ids, JSON keys and SQL values: keep them to a safe alphabet.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && id.as_bytes()[0].is_ascii_lowercase()
}

fn check(config: &Config, positions: &IdPositions, text: &str) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let at = |spanned: Option<&Spanned<String>>| {
        spanned.map_or((0, 0), |s| line_column(text, s.span().start))
    };
    let mut push = |code, message: String, (line, column): (u32, u32)| {
        errors.push(ConfigError {
            code,
            message,
            line,
            column,
        });
    };
    if config.forms.is_empty() {
        push(
            "config.no_forms",
            "the configuration defines no form".to_owned(),
            (1, 1),
        );
    }
    let mut form_ids = HashSet::new();
    for (fi, form) in config.forms.iter().enumerate() {
        let form_pos = positions.forms.get(fi);
        let pos = at(form_pos.map(|f| &f.id));
        if !valid_id(&form.id) {
            push(
                "config.invalid_id",
                invalid_id_message("form", &form.id),
                pos,
            );
        }
        if !form_ids.insert(form.id.as_str()) {
            push(
                "config.duplicate_id",
                format!("form id \"{}\" is used twice", form.id),
                pos,
            );
        }
        if form.fields.is_empty() {
            push(
                "config.empty_form",
                format!("form \"{}\" has no fields", form.id),
                pos,
            );
        }
        let mut field_ids = HashSet::new();
        for (i, field) in form.fields.iter().enumerate() {
            let pos = at(form_pos.and_then(|f| f.fields.get(i)).map(|f| &f.id));
            if !valid_id(&field.id) {
                push(
                    "config.invalid_id",
                    invalid_id_message("field", &field.id),
                    pos,
                );
            }
            if !field_ids.insert(field.id.as_str()) {
                push(
                    "config.duplicate_id",
                    format!(
                        "field id \"{}\" is used twice in form \"{}\"",
                        field.id, form.id
                    ),
                    pos,
                );
            }
        }
    }
    errors
}

fn invalid_id_message(what: &str, id: &str) -> String {
    format!(
        "{what} id \"{id}\" must start with a lowercase letter and use only a-z, 0-9, _ and - \
         (at most 64)"
    )
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}
