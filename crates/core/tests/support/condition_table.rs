//! The condition table's checker, shared by the native test (`tests/conditions.rs`) and the wasm
//! test in headless Chromium (`crates/form/tests/browser.rs`), so that one table proves conditions
//! give the same results on both targets.

#![allow(dead_code, clippy::unwrap_used)]

pub use std::collections::{BTreeMap, HashSet};

#[path = "table.rs"]
mod table;

pub use table::unescape;

pub use handoff_core::condition::{
    Answers, Condition, ConditionError, FieldType, Value, ValueType, ERROR_CODES,
};

/// The fixed field environment the table is written against (see its header).
pub struct Env {
    country: Vec<String>,
    role: Vec<String>,
    interests: Vec<String>,
}

impl Env {
    pub fn new() -> Env {
        let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        Env {
            country: strings(&["US", "CA", "DE", "GB", "FR"]),
            role: strings(&["student", "job_seeker", "founder", "engineer", "marketer"]),
            interests: strings(&["pricing", "demo", "integrations", "security"]),
        }
    }

    pub fn field(&self, name: &str) -> Option<FieldType<'_>> {
        let (ty, options) = match name {
            "country" => (ValueType::Text, Some(&self.country[..])),
            "role" => (ValueType::Text, Some(&self.role[..])),
            "interests" => (ValueType::List, Some(&self.interests[..])),
            "company_size" | "lead-score" => (ValueType::Number, None),
            "consent" | "newsletter" => (ValueType::Bool, None),
            "company" | "phone" => (ValueType::Text, None),
            _ => return None,
        };
        Some(FieldType { ty, options })
    }

    pub fn compile(&self, source: &str) -> Result<Condition, ConditionError> {
        Condition::compile(source, &|name| self.field(name))
    }
}

/// Answers of every kind, as a form that knows its field types would hand them over.
#[derive(Debug)]
pub enum Typed {
    Text(String),
    Number(f64),
    Bool(bool),
    List(Vec<String>),
}

#[derive(Debug, Default)]
pub struct TypedAnswers(pub BTreeMap<String, Typed>);

impl Answers for TypedAnswers {
    fn get(&self, field: &str) -> Option<Value<'_>> {
        self.0.get(field).map(|v| match v {
            Typed::Text(s) => Value::Text(s),
            Typed::Number(n) => Value::Number(*n),
            Typed::Bool(b) => Value::Bool(*b),
            Typed::List(l) => Value::List(l),
        })
    }
}

/// Reads the compact answers form: `-`, or `field=value;field=value`, values typed by the field.
/// Returns the typed answers and, when no value holds a `|`, the same answers as raw texts.
pub fn answers(env: &Env, text: &str) -> (TypedAnswers, Option<BTreeMap<String, String>>) {
    let mut typed = TypedAnswers::default();
    let mut raw = BTreeMap::new();
    let mut has_list = false;
    if text == "-" {
        return (typed, Some(raw));
    }
    for pair in text.split(';') {
        let (field, value) = pair.split_once('=').unwrap();
        let value = unescape(value);
        has_list |= value.contains('|');
        let ty = env.field(field).map(|f| f.ty);
        let answer = match ty {
            Some(ValueType::List) if value.is_empty() => Typed::List(Vec::new()),
            Some(ValueType::List) => Typed::List(value.split('|').map(str::to_owned).collect()),
            Some(ValueType::Number) => value
                .parse()
                .map_or_else(|_| Typed::Text(value.clone()), Typed::Number),
            Some(ValueType::Bool) => value
                .parse()
                .map_or_else(|_| Typed::Text(value.clone()), Typed::Bool),
            _ => Typed::Text(value.clone()),
        };
        typed.0.insert(field.to_owned(), answer);
        raw.insert(field.to_owned(), value);
    }
    (typed, (!has_list).then_some(raw))
}

/// Expands `{{N:text}}` into `text` repeated `N` times.
pub fn expand(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let close = rest.find("}}").unwrap();
        let (count, text) = rest[open + 2..close].split_once(':').unwrap();
        out.push_str(&text.repeat(count.parse().unwrap()));
        rest = &rest[close + 2..];
    }
    out.push_str(rest);
    out
}

/// Checks the things every error must satisfy, whatever the input.
pub fn check_error(source: &str, e: &ConditionError) -> Result<(), String> {
    if !ERROR_CODES.contains(&e.code) {
        return Err(format!("unknown code {}", e.code));
    }
    if e.message.is_empty() {
        return Err("empty message".to_owned());
    }
    if e.start > e.end || source.get(e.start..e.end).is_none() {
        return Err(format!("bad span {}-{}", e.start, e.end));
    }
    Ok(())
}

pub fn render(result: &Result<Condition, ConditionError>) -> String {
    match result {
        Ok(_) => "compiled".to_owned(),
        Err(e) => format!("!{}@{}-{}", e.code, e.start, e.end),
    }
}

/// Checks every row of the table `text` (the contents of `test_data/conditions.tsv`) and returns a
/// line per failure; empty when every row holds.
pub fn check_table(text: &str) -> Vec<String> {
    let env = Env::new();
    let mut failures = Vec::new();
    let mut rows = 0;
    let mut codes_seen = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        rows += 1;
        let line_no = i + 1;
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "conditions.tsv:{line_no}: want 3 columns");
        let (source, want) = (expand(cols[0]), cols[2]);
        let compiled = env.compile(&source);
        let got = match &compiled {
            Err(e) => {
                codes_seen.insert(e.code);
                if let Err(problem) = check_error(&source, e) {
                    failures.push(format!("conditions.tsv:{line_no}: {problem}: {e}"));
                }
                render(&compiled)
            }
            Ok(condition) => {
                assert_eq!(condition.source(), source);
                let (typed, raw) = answers(&env, cols[1]);
                let result = condition.eval(&typed);
                if let Some(raw) = &raw {
                    if condition.eval(raw) != result {
                        failures.push(format!(
                            "conditions.tsv:{line_no}: the raw-text answers give {}",
                            !result
                        ));
                    }
                }
                // What the browser gets instead of the source: the compact form, read back.
                let compact = condition.to_compact();
                match Condition::from_compact(&compact, &source, &|name| env.field(name)) {
                    Ok(read) => {
                        let same = read.to_compact() == compact
                            && read.fields() == condition.fields()
                            && read.eval(&typed) == result
                            && raw.as_ref().is_none_or(|raw| read.eval(raw) == result);
                        if !same {
                            failures.push(format!(
                                "conditions.tsv:{line_no}: the compact form {compact:?} differs"
                            ));
                        }
                    }
                    Err(e) => failures.push(format!(
                        "conditions.tsv:{line_no}: the compact form {compact:?} is refused: {e}"
                    )),
                }
                result.to_string()
            }
        };
        if got != want {
            let detail = compiled.err().map(|e| e.message).unwrap_or_default();
            failures.push(format!(
                "conditions.tsv:{line_no}: {:?} -> {got}, want {want} {detail}",
                cols[0]
            ));
        }
    }
    if rows < 60 {
        failures.push(format!("only {rows} rows"));
    }
    for code in ERROR_CODES {
        if !codes_seen.contains(code) {
            failures.push(format!("no row shows {code}"));
        }
    }
    failures
}
