//! Reading a configuration's TOML into its types so that every value of the wrong kind, unknown
//! key, missing key and word a key does not allow is a located problem in plain words
//! (`config.invalid_type`, `config.unknown_key`, `config.missing_key`, `config.unknown_value`,
//! `config.invalid_number`), all of them at once, rather than the first error serde meets.
//!
//! The parsed document becomes a tree of spanned nodes, and serde reads the types from it through
//! `Reader`, whose errors keep what was expected, the path and the span. After each error the tree
//! is repaired and read again until it reads: an unknown key is dropped; a bad value is dropped so
//! that its default applies, or, where the key is required, replaced by a placeholder of the kind
//! expected (an empty text, zero, an empty list…). Nothing needs a schema beside the types: serde
//! says what each place expects. `read` returns the places it repaired, so that the checks that
//! then run on the values do not report again what a placeholder or a default caused.

use std::fmt;
use std::ops::Range;

use serde::de::value::StrDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Expected, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, Visitor,
};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::check::{line_column, ConfigCode, ConfigError};
use crate::suggest::{closest, did_you_mean};

/// At most this many repairs: past them, the problems found so far are reported and the values
/// are not checked further (a file that wrong is rewritten, not fixed one key at a time).
const MAX_REPAIRS: usize = 200;

/// One step of a path into the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// What [`read`] made of a document.
#[derive(Debug)]
pub(crate) struct Read<T> {
    /// The values, once every problem was repaired; `None` when there were too many.
    pub(crate) value: Option<T>,
    /// The problems, in the order they appear in the text.
    pub(crate) problems: Vec<ConfigError>,
    /// The paths of the values dropped or replaced: what the checks find at or under one of them,
    /// at the table that holds it or at that table's other keys (where a table's own checks put
    /// their problems, such as "lists no options") may come from the repair, not from what was
    /// written.
    pub(crate) repaired: Vec<Vec<Seg>>,
}

/// Reads `tree`, parsed from `text`, into a `T`, reporting every problem of shape.
pub(crate) fn read<T: DeserializeOwned>(text: &str, tree: &Spanned<DeTable<'_>>) -> Read<T> {
    let doc = Node {
        value: Value::Table(entries(tree.get_ref())),
        span: tree.span(),
    };
    let (value, mismatches, repaired) = repair_until_read(doc);
    let mut problems: Vec<ConfigError> = mismatches
        .iter()
        .map(|m| {
            let (line, column) = line_column(text, m.span.as_ref().map_or(0, |s| s.start));
            let (code, message) = describe(&Dialect::Toml, text, m);
            ConfigError {
                code: code.as_str(),
                message,
                line,
                column,
            }
        })
        .collect();
    problems.sort_by_key(|p| (p.line, p.column));
    Read {
        value,
        problems,
        repaired,
    }
}

/// Reads a JSON value into a `T`, or says every problem of shape, each naming its place by its
/// path from the top (`activity[1].at_ms`); `what` names the whole (`the lead`).
pub(crate) fn read_json<T: DeserializeOwned>(
    json: &serde_json::Value,
    what: &'static str,
) -> Result<T, Vec<String>> {
    let (value, mismatches, _) = repair_until_read(json_node(json));
    let dialect = Dialect::Json { what };
    match value {
        Some(value) if mismatches.is_empty() => Ok(value),
        _ => Err(mismatches
            .iter()
            .map(|m| describe(&dialect, "", m).1)
            .collect()),
    }
}

/// Reads `doc` into a `T`, repairing it after each problem until it reads: the value (`None`
/// past [`MAX_REPAIRS`]), the problems in the order met, and the paths repaired.
fn repair_until_read<T: DeserializeOwned>(
    mut doc: Node,
) -> (Option<T>, Vec<Mismatch>, Vec<Vec<Seg>>) {
    let mut repair = Repair::default();
    let mut problems = Vec::new();
    for _ in 0..MAX_REPAIRS {
        let mismatch = match T::deserialize(Reader { node: &doc }) {
            Ok(value) => return (Some(value), problems, repair.repaired),
            Err(e) => e.finished(),
        };
        let report = !repair.caused(&mismatch);
        let repaired = repair.apply(&mut doc, &mismatch);
        if report {
            problems.push(mismatch);
        }
        if !repaired {
            break;
        }
    }
    if problems.is_empty() {
        // Unreadable only through a repair that did not take: still a problem to report.
        let kind = Kind::Other("cannot be read into what it describes".to_owned());
        problems.push(Mismatch::new(kind));
    }
    (None, problems, repair.repaired)
}

fn json_node(json: &serde_json::Value) -> Node {
    use serde_json::Value as Json;
    let value = match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i.into()),
            None => match n.as_u64() {
                Some(u) => Value::Integer(u.into()),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
        },
        Json::String(t) => Value::Text(t.clone()),
        Json::Array(items) => Value::Array(items.iter().map(json_node).collect()),
        Json::Object(map) => Value::Table(
            map.iter()
                .map(|(key, v)| Entry {
                    key: key.clone(),
                    key_span: 0..0,
                    node: json_node(v),
                })
                .collect(),
        ),
    };
    Node { value, span: 0..0 }
}

/// A value of the document, with the byte range it was written at.
#[derive(Debug, Clone)]
struct Node {
    value: Value,
    span: Range<usize>,
}

#[derive(Debug, Clone)]
enum Value {
    Text(String),
    Integer(i128),
    Float(f64),
    Bool(bool),
    /// A date or time written without quotes; no configuration value is one.
    Date,
    /// JSON's `null`: an optional value left out.
    Null,
    Array(Vec<Node>),
    /// In the order the keys are written.
    Table(Vec<Entry>),
}

#[derive(Debug, Clone)]
struct Entry {
    key: String,
    key_span: Range<usize>,
    node: Node,
}

fn node(value: &Spanned<DeValue<'_>>) -> Node {
    let value_of = match value.get_ref() {
        DeValue::String(s) => Value::Text(s.to_string()),
        DeValue::Integer(i) => match i128::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Value::Integer(n),
            Err(_) => Value::Float(f64::INFINITY),
        },
        DeValue::Float(f) => Value::Float(f.as_str().parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(_) => Value::Date,
        DeValue::Array(items) => Value::Array(items.iter().map(node).collect()),
        DeValue::Table(table) => Value::Table(entries(table)),
    };
    Node {
        value: value_of,
        span: value.span(),
    }
}

fn entries(table: &DeTable<'_>) -> Vec<Entry> {
    let mut out: Vec<Entry> = table
        .iter()
        .map(|(k, v)| Entry {
            key: k.get_ref().to_string(),
            key_span: k.span(),
            node: node(v),
        })
        .collect();
    out.sort_by_key(|e| e.key_span.start);
    out
}

/// What a place expects, from serde's description of it.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    Text,
    Whole {
        min: i128,
        max: i128,
    },
    Number,
    Bool,
    List,
    Table,
    OneOf(&'static [&'static str]),
    /// That word (of several allowed): what stands in for a misspelt one.
    Word(&'static str),
    Other(String),
}

impl Expect {
    fn from_serde(expected: &dyn Expected) -> Expect {
        let text = expected.to_string();
        let whole = |min: i128, max: i128| Expect::Whole { min, max };
        match text.as_str() {
            "a string" | "a borrowed string" => Expect::Text,
            "u8" => whole(0, u8::MAX.into()),
            "u16" => whole(0, u16::MAX.into()),
            "u32" => whole(0, u32::MAX.into()),
            "u64" | "usize" => whole(0, u64::MAX.into()),
            "i8" => whole(i8::MIN.into(), i8::MAX.into()),
            "i16" => whole(i16::MIN.into(), i16::MAX.into()),
            "i32" => whole(i32::MIN.into(), i32::MAX.into()),
            "i64" | "isize" => whole(i64::MIN.into(), i64::MAX.into()),
            "f32" | "f64" => Expect::Number,
            "a boolean" => Expect::Bool,
            "a sequence" => Expect::List,
            "a map" => Expect::Table,
            t if t.starts_with("struct ") => Expect::Table,
            _ => Expect::Other(text),
        }
    }

    /// A value of the kind expected, to stand in for a required one that was wrong or missing.
    fn placeholder(&self, span: Range<usize>) -> Option<Node> {
        let value = match self {
            Expect::Text => Value::Text(String::new()),
            Expect::Whole { min, .. } => Value::Integer((*min).max(0)),
            Expect::Number => Value::Float(0.0),
            Expect::Bool => Value::Bool(false),
            Expect::List => Value::Array(Vec::new()),
            Expect::Table => Value::Table(Vec::new()),
            Expect::OneOf(words) => Value::Text((*words.first()?).to_owned()),
            Expect::Word(word) => Value::Text((*word).to_owned()),
            Expect::Other(_) => return None,
        };
        Some(Node { value, span })
    }
}

/// What went wrong where: the error type serde reports through.
#[derive(Debug)]
struct Mismatch {
    kind: Kind,
    /// From the problem up while it travels up; from the top once [`Mismatch::finished`].
    path: Vec<Seg>,
    span: Option<Range<usize>>,
    /// What was written there.
    found: Option<Found>,
}

#[derive(Debug, Clone)]
enum Kind {
    /// A value of another kind than expected.
    Type(Expect),
    /// A number of the right kind but out of range (a negative count).
    Range(Expect),
    UnknownKey(&'static [&'static str]),
    UnknownValue(String, &'static [&'static str]),
    MissingKey(&'static str),
    Other(String),
}

/// The kind of value written where a problem is (enough to phrase the message).
#[derive(Debug, Clone)]
enum Found {
    Text(String),
    Integer(i128),
    Float(f64),
    Bool(bool),
    Date,
    Null,
    Array,
    Table,
    Key,
}

impl Mismatch {
    fn new(kind: Kind) -> Mismatch {
        Mismatch {
            kind,
            path: Vec::new(),
            span: None,
            found: None,
        }
    }

    /// Places a problem that the reader of `node` met, unless a reader below it already did.
    fn found_at(mut self, node: &Node) -> Mismatch {
        if self.span.is_none() {
            self.span = Some(node.span.clone());
            self.found = Some(match &node.value {
                Value::Text(s) => Found::Text(s.clone()),
                Value::Integer(i) => Found::Integer(*i),
                Value::Float(f) => Found::Float(*f),
                Value::Bool(b) => Found::Bool(*b),
                Value::Date => Found::Date,
                Value::Null => Found::Null,
                Value::Array(_) => Found::Array,
                Value::Table(_) => Found::Table,
            });
        }
        self
    }

    /// The step `seg` above where the problem is.
    fn within(mut self, seg: Seg) -> Mismatch {
        self.path.push(seg);
        self
    }

    fn finished(mut self) -> Mismatch {
        self.path.reverse();
        self
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} at {:?}", self.kind, self.path)
    }
}

impl std::error::Error for Mismatch {}

impl de::Error for Mismatch {
    fn custom<T: fmt::Display>(message: T) -> Mismatch {
        Mismatch::new(Kind::Other(message.to_string()))
    }

    fn invalid_type(_: Unexpected<'_>, expected: &dyn Expected) -> Mismatch {
        Mismatch::new(Kind::Type(Expect::from_serde(expected)))
    }

    fn invalid_value(_: Unexpected<'_>, expected: &dyn Expected) -> Mismatch {
        Mismatch::new(Kind::Range(Expect::from_serde(expected)))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Mismatch {
        Mismatch::new(Kind::UnknownValue(variant.to_owned(), expected))
    }

    fn unknown_field(_: &str, expected: &'static [&'static str]) -> Mismatch {
        Mismatch::new(Kind::UnknownKey(expected))
    }

    fn missing_field(field: &'static str) -> Mismatch {
        Mismatch::new(Kind::MissingKey(field))
    }
}

/// Deserializes one node of the tree.
struct Reader<'n> {
    node: &'n Node,
}

impl<'de> de::Deserializer<'de> for Reader<'_> {
    type Error = Mismatch;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        let node = self.node;
        let result = match &node.value {
            Value::Text(s) => visitor.visit_str(s),
            Value::Integer(i) => match (i64::try_from(*i), u64::try_from(*i)) {
                (Ok(n), _) => visitor.visit_i64(n),
                (_, Ok(n)) => visitor.visit_u64(n),
                _ => visitor.visit_i128(*i),
            },
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Date => Err(de::Error::invalid_type(
                Unexpected::Other("a date"),
                &visitor,
            )),
            Value::Null => visitor.visit_unit(),
            Value::Array(items) => visitor.visit_seq(Items {
                items: items.iter().enumerate(),
            }),
            Value::Table(entries) => visitor.visit_map(Entries {
                entries: entries.iter(),
                pending: None,
            }),
        };
        result.map_err(|e| e.found_at(node))
    }

    // A value that is written is `Some`; an absent key (or JSON's `null`) is `None`.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        let node = self.node;
        match node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
        .map_err(|e| e.found_at(node))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        let node = self.node;
        let result = match &node.value {
            Value::Text(s) => {
                let word: StrDeserializer<'_, Mismatch> = s.as_str().into_deserializer();
                visitor.visit_enum(word)
            }
            _ => Err(Mismatch::new(Kind::Type(Expect::OneOf(variants)))),
        };
        result.map_err(|e| e.found_at(node))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        let node = self.node;
        visitor
            .visit_newtype_struct(self)
            .map_err(|e| e.found_at(node))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct identifier
    }
}

struct Items<'n> {
    items: std::iter::Enumerate<std::slice::Iter<'n, Node>>,
}

impl<'de> SeqAccess<'de> for Items<'_> {
    type Error = Mismatch;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Mismatch> {
        let Some((i, node)) = self.items.next() else {
            return Ok(None);
        };
        seed.deserialize(Reader { node })
            .map(Some)
            .map_err(|e| e.within(Seg::Index(i)))
    }
}

struct Entries<'n> {
    entries: std::slice::Iter<'n, Entry>,
    pending: Option<&'n Entry>,
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = Mismatch;

    fn next_key_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Mismatch> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.pending = Some(entry);
        let key: StrDeserializer<'_, Mismatch> = entry.key.as_str().into_deserializer();
        seed.deserialize(key).map(Some).map_err(|mut e| {
            if e.span.is_none() {
                e.span = Some(entry.key_span.clone());
                e.found = Some(Found::Key);
            }
            e.within(Seg::Key(entry.key.clone()))
        })
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Mismatch> {
        let Some(entry) = self.pending.take() else {
            return Err(de::Error::custom("a value without a key"));
        };
        seed.deserialize(Reader { node: &entry.node })
            .map_err(|e| e.within(Seg::Key(entry.key.clone())))
    }
}

/// The repairs made so far.
#[derive(Debug, Default)]
struct Repair {
    /// Every path dropped or replaced.
    repaired: Vec<Vec<Seg>>,
    /// The placeholders put in, each with how often it was changed (a guess at a missing key's
    /// kind is corrected by the error it causes).
    placeholders: Vec<(Vec<Seg>, u8)>,
    /// What the values dropped from tables expected, for a placeholder if the key is required.
    dropped: Vec<(Vec<Seg>, Expect, Range<usize>)>,
    /// The keys that unknown keys were reported as misspellings of.
    misspelt: Vec<Vec<Seg>>,
}

impl Repair {
    /// Whether `mismatch` was caused by a repair or is already reported: it is at or under a
    /// placeholder, or it is a required key that was dropped for being wrong or written misspelt.
    fn caused(&self, mismatch: &Mismatch) -> bool {
        let path = &mismatch.path;
        let reported = |key: &str| {
            let at = |p: &[Seg]| p.split_last() == Some((&Seg::Key(key.to_owned()), &path[..]));
            self.dropped.iter().any(|(p, _, _)| at(p)) || self.misspelt.iter().any(|p| at(p))
        };
        self.placeholders.iter().any(|(p, _)| path.starts_with(p))
            || matches!(mismatch.kind, Kind::MissingKey(key) if reported(key))
    }

    /// Repairs `doc` so that `mismatch` does not happen again. `false` when it cannot.
    fn apply(&mut self, doc: &mut Node, mismatch: &Mismatch) -> bool {
        let path = &mismatch.path;
        let span = mismatch.span.clone().unwrap_or(0..0);
        let expected = match mismatch.kind.clone() {
            Kind::UnknownKey(keys) => {
                // A misspelt key: the key it stands for is not reported missing as well.
                if let Some((Seg::Key(key), table)) = path.split_last() {
                    if let Some(meant) = closest(key, keys.iter().copied()) {
                        let mut at = table.to_vec();
                        at.push(Seg::Key(meant.to_owned()));
                        self.misspelt.push(at);
                    }
                }
                return remove(doc, path).is_some();
            }
            Kind::MissingKey(key) => {
                let mut at = path.clone();
                at.push(Seg::Key(key.to_owned()));
                return self.fill(doc, at, span);
            }
            Kind::Type(expected) | Kind::Range(expected) => expected,
            // The closest allowed word stands in for a misspelt one (a field's `type`).
            Kind::UnknownValue(word, words) => match closest(&word, words.iter().copied()) {
                Some(like) => Expect::Word(like),
                None => Expect::OneOf(words),
            },
            Kind::Other(_) => Expect::Other(String::new()),
        };
        if let Some(i) = self.placeholders.iter().position(|(p, _)| p == path) {
            // A placeholder of the wrong kind: the error says which kind is expected.
            let tries = &mut self.placeholders[i].1;
            *tries += 1;
            return match expected.placeholder(span) {
                Some(node) if *tries < 3 => replace(doc, path, node),
                _ => false,
            };
        }
        self.repaired.push(path.clone());
        match path.last() {
            Some(Seg::Key(_)) => match remove(doc, path) {
                Some(node) => {
                    self.dropped.push((path.clone(), expected, node.span));
                    true
                }
                None => false,
            },
            // An entry of a list is replaced, not removed, so that the entries after it keep
            // their places (the checks that follow locate problems by index).
            Some(Seg::Index(_)) => match expected.placeholder(span) {
                Some(node) => {
                    self.placeholders.push((path.clone(), 0));
                    replace(doc, path, node)
                }
                None => remove(doc, path).is_some(),
            },
            None => false,
        }
    }

    /// Puts a placeholder at `at`, a required key that is missing: of the kind the value dropped
    /// from there expected, or text until an error says otherwise.
    fn fill(&mut self, doc: &mut Node, at: Vec<Seg>, table_span: Range<usize>) -> bool {
        if self.placeholders.iter().any(|(p, _)| *p == at) {
            return false;
        }
        let (expected, span) = match self.dropped.iter().find(|(p, _, _)| *p == at) {
            Some((_, expected, span)) => (expected.clone(), span.clone()),
            None => (Expect::Text, table_span),
        };
        let node = expected.placeholder(span.clone()).unwrap_or(Node {
            value: Value::Text(String::new()),
            span: span.clone(),
        });
        let Some((Seg::Key(key), parent)) = at.split_last() else {
            return false;
        };
        let Some(Value::Table(entries)) = get_mut(doc, parent).map(|n| &mut n.value) else {
            return false;
        };
        entries.push(Entry {
            key: key.clone(),
            key_span: span,
            node,
        });
        self.repaired.push(at.clone());
        self.placeholders.push((at, 0));
        true
    }
}

fn get_mut<'d>(doc: &'d mut Node, path: &[Seg]) -> Option<&'d mut Node> {
    let mut node = doc;
    for seg in path {
        node = match (seg, &mut node.value) {
            (Seg::Key(k), Value::Table(entries)) => {
                &mut entries.iter_mut().find(|e| e.key == *k)?.node
            }
            (Seg::Index(i), Value::Array(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Removes the value at `path` (a table's key or a list's entry).
fn remove(doc: &mut Node, path: &[Seg]) -> Option<Node> {
    let (last, parent) = path.split_last()?;
    match (last, &mut get_mut(doc, parent)?.value) {
        (Seg::Key(k), Value::Table(entries)) => {
            let i = entries.iter().position(|e| e.key == *k)?;
            Some(entries.remove(i).node)
        }
        (Seg::Index(i), Value::Array(items)) if *i < items.len() => Some(items.remove(*i)),
        _ => None,
    }
}

fn replace(doc: &mut Node, path: &[Seg], with: Node) -> bool {
    match get_mut(doc, path) {
        Some(node) => {
            *node = with;
            true
        }
        None => false,
    }
}

/// How messages name places and kinds: a configuration's TOML by its keys and tables, whose
/// line and column the problem carries; a JSON value by paths from the top, and its objects.
enum Dialect {
    Toml,
    /// `what` names the whole (`the lead`).
    Json {
        what: &'static str,
    },
}

/// The problem as its writer reads it: its code and message. `text` is the TOML the spans point
/// into (none for JSON).
fn describe(dialect: &Dialect, text: &str, mismatch: &Mismatch) -> (ConfigCode, String) {
    let path = &mismatch.path;
    let found = mismatch.found.clone().unwrap_or(Found::Key);
    let written = match dialect {
        Dialect::Toml => {
            let span = mismatch.span.clone().unwrap_or(0..0);
            text.get(span).unwrap_or("").trim().to_owned()
        }
        Dialect::Json { .. } => found.as_json(),
    };
    let what = dialect.subject(path);
    match &mismatch.kind {
        Kind::Type(expected) => (
            ConfigCode::InvalidType,
            format!(
                "{what} must be {}",
                dialect.wanted(expected, &found, &written)
            ),
        ),
        Kind::Range(Expect::Whole { min, max }) => {
            let bound = match found {
                Found::Integer(n) if n < *min => format!("{min} or more"),
                _ => format!("at most {max}"),
            };
            (
                ConfigCode::InvalidNumber,
                format!("{what} must be a whole number, {bound}"),
            )
        }
        Kind::Range(expected) => (
            ConfigCode::InvalidType,
            format!(
                "{what} must be {}",
                dialect.wanted(expected, &found, &written)
            ),
        ),
        Kind::UnknownKey(keys) => {
            let key = match path.last() {
                Some(Seg::Key(k)) => k.as_str(),
                _ => "",
            };
            let hint = match did_you_mean(key, keys.iter().copied(), '`') {
                none if none.is_empty() => format!(", which takes {}", list(keys, "and")),
                some => some,
            };
            let table = &path[..path.len().saturating_sub(1)];
            let place = match dialect {
                Dialect::Toml if table.is_empty() => "a section of the configuration".to_owned(),
                _ => format!("a key of {}", dialect.table(table)),
            };
            (
                ConfigCode::UnknownKey,
                format!("`{key}` is not {place}{hint}"),
            )
        }
        Kind::UnknownValue(word, words) => (
            ConfigCode::UnknownValue,
            format!(
                "{what} must be {}, not \"{word}\"{}",
                one_of(words),
                did_you_mean(word, words.iter().copied(), '"')
            ),
        ),
        Kind::MissingKey(key) => (
            ConfigCode::MissingKey,
            format!("{} needs `{key}`", dialect.table(path)),
        ),
        Kind::Other(message) => (ConfigCode::InvalidType, format!("{what}: {message}")),
    }
}

impl Found {
    /// The value as JSON writes it, for examples.
    fn as_json(&self) -> String {
        match self {
            Found::Text(t) => serde_json::Value::from(t.as_str()).to_string(),
            Found::Integer(n) => n.to_string(),
            Found::Float(f) => f.to_string(),
            Found::Bool(b) => b.to_string(),
            Found::Null => "null".to_owned(),
            Found::Date | Found::Array | Found::Table | Found::Key => String::new(),
        }
    }
}

impl Dialect {
    /// How a message names the value at `path`: TOML's "`weight`" or "each entry of
    /// `holidays`" (the line and column say which); JSON's "`activity[1].at_ms`".
    fn subject(&self, path: &[Seg]) -> String {
        if let Dialect::Json { what } = self {
            return match path {
                [] => (*what).to_owned(),
                _ => format!("`{}`", dotted(path)),
            };
        }
        let key = path.iter().rev().find_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Index(_) => None,
        });
        match (path.last(), key) {
            (Some(Seg::Key(k)), _) => format!("`{k}`"),
            (Some(Seg::Index(_)), Some(k)) => format!("each entry of `{k}`"),
            _ => "the configuration".to_owned(),
        }
    }

    /// How a message names the table at `path`: as its TOML header is written
    /// (`[[routing.owners]]` for an entry of a list of tables, `[scoring.max]`), or by its JSON
    /// path.
    fn table(&self, path: &[Seg]) -> String {
        if let Dialect::Json { what } = self {
            return match path {
                [] => (*what).to_owned(),
                _ => format!("`{}`", dotted(path)),
            };
        }
        let keys: Vec<&str> = path
            .iter()
            .filter_map(|s| match s {
                Seg::Key(k) => Some(k.as_str()),
                Seg::Index(_) => None,
            })
            .collect();
        match (keys.is_empty(), path.last()) {
            (true, _) => "the configuration".to_owned(),
            (false, Some(Seg::Index(_))) => format!("[[{}]]", keys.join(".")),
            (false, _) => format!("[{}]", keys.join(".")),
        }
    }

    /// What a value must be, with an example made of what was written where that helps.
    fn wanted(&self, expected: &Expect, found: &Found, written: &str) -> String {
        let scalar = !matches!(found, Found::Array | Found::Table);
        match expected {
            Expect::Text => match found {
                Found::Null => "text in quotes".to_owned(),
                Found::Array => "text in quotes, not a list".to_owned(),
                Found::Table => "text in quotes, not a table".to_owned(),
                _ => format!("text in quotes, like \"{written}\""),
            },
            Expect::Whole { .. } => {
                let like = match found {
                    Found::Text(t) if t.trim().parse::<i128>().is_ok() => t.trim().to_owned(),
                    Found::Float(f) if f.is_finite() => format!("{}", f.trunc()),
                    _ => "2".to_owned(),
                };
                format!("a whole number, like {like}")
            }
            Expect::Number => {
                let like = match found {
                    Found::Text(t) if t.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
                        t.trim().to_owned()
                    }
                    _ => "2.5".to_owned(),
                };
                format!("a number, like {like}")
            }
            Expect::Bool => match found {
                Found::Text(t) if ["true", "false"].contains(&t.trim().to_lowercase().as_str()) => {
                    "true or false, without quotes".to_owned()
                }
                _ => "true or false".to_owned(),
            },
            Expect::List if scalar => format!("a list in square brackets, like [{written}]"),
            Expect::List => "a list in square brackets".to_owned(),
            Expect::Table => match self {
                Dialect::Toml => "a table: keys under a [header], or in { } braces".to_owned(),
                Dialect::Json { .. } => "an object in { } braces".to_owned(),
            },
            Expect::OneOf(words) => one_of(words),
            Expect::Word(word) => format!("\"{word}\""),
            Expect::Other(text) => text.clone(),
        }
    }
}

/// A path as JSON tools write it: `activity[1].at_ms`.
fn dotted(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// `"a"`, `"a" or "b"`, `one of "a", "b" or "c"`: the words a key allows, quoted as written.
fn one_of(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
    let quoted: Vec<&str> = quoted.iter().map(String::as_str).collect();
    match quoted.len() {
        0..=2 => list(&quoted, "or"),
        _ => format!("one of {}", list(&quoted, "or")),
    }
}

/// "a, b and c" with `and` (or `or`) before the last.
fn list(words: &[&str], and: &str) -> String {
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} {and} {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use toml::de::DeTable;

    use crate::bundle::Rules;

    /// Whatever toml's own deserializer reads, `read` reads the same, without a problem: the
    /// shipped configurations and every fixture toml accepts.
    #[test]
    #[allow(clippy::disallowed_methods)]
    fn reads_what_toml_reads() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/config_errors");
        let mut texts: Vec<(String, String)> = [
            ("demo.toml", include_str!("../../../config/demo.toml")),
            (
                "ledgerly.toml",
                include_str!("../../../config/examples/ledgerly.toml"),
            ),
            ("routing.toml", include_str!("../test_data/routing.toml")),
            ("sla.toml", include_str!("../test_data/sla.toml")),
            (
                "fixtures/routing.toml",
                include_str!("../../../tests/fixtures/routing.toml"),
            ),
        ]
        .into_iter()
        .map(|(name, text)| (name.to_owned(), text.to_owned()))
        .collect();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                texts.push((path.display().to_string(), text));
            }
        }
        let mut compared = 0;
        for (name, text) in &texts {
            let Ok(want) = toml::from_str::<Rules>(text) else {
                continue;
            };
            let tree = DeTable::parse(text).unwrap();
            let read = super::read::<Rules>(text, &tree);
            assert_eq!(read.problems, vec![], "{name}");
            assert_eq!(read.value, Some(want), "{name}");
            compared += 1;
        }
        assert!(compared >= 90, "only {compared} configurations compared");
    }
}
