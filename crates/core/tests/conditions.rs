//! Tests for conditions: `test_data/conditions.tsv` checked by one helper, plus generated
//! expressions that must never make compiling or evaluating panic.

// Tests read their table from a file and fail loudly on anything unexpected.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::collections::{BTreeMap, HashSet};

use handoff_core::condition::{
    Answers, Condition, ConditionError, FieldType, Value, ValueType, ERROR_CODES,
};

/// The fixed field environment the table is written against (see its header).
struct Env {
    country: Vec<String>,
    role: Vec<String>,
    interests: Vec<String>,
}

impl Env {
    fn new() -> Env {
        let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        Env {
            country: strings(&["US", "CA", "DE", "GB", "FR"]),
            role: strings(&["student", "job_seeker", "founder", "engineer", "marketer"]),
            interests: strings(&["pricing", "demo", "integrations", "security"]),
        }
    }

    fn field(&self, name: &str) -> Option<FieldType<'_>> {
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

    fn compile(&self, source: &str) -> Result<Condition, ConditionError> {
        Condition::compile(source, &|name| self.field(name))
    }
}

/// Answers of every kind, as a form that knows its field types would hand them over.
#[derive(Debug)]
enum Typed {
    Text(String),
    Number(f64),
    Bool(bool),
    List(Vec<String>),
}

#[derive(Debug, Default)]
struct TypedAnswers(BTreeMap<String, Typed>);

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
fn answers(env: &Env, text: &str) -> (TypedAnswers, Option<BTreeMap<String, String>>) {
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

/// Turns `\t`, `\n`, `\\` and `\u{HEX}` into the characters they name.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(pos) = rest.find('\\') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos + 1..];
        match rest.chars().next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some('u') => {
                let end = rest.find('}').unwrap();
                let code = u32::from_str_radix(&rest[2..end], 16).unwrap();
                out.push(char::from_u32(code).unwrap());
                rest = &rest[end..];
            }
            other => panic!("unknown escape \\{other:?}"),
        }
        rest = &rest[1..];
    }
    out.push_str(rest);
    out
}

/// Expands `{{N:text}}` into `text` repeated `N` times.
fn expand(s: &str) -> String {
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
fn check_error(source: &str, e: &ConditionError) -> Result<(), String> {
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

fn render(result: &Result<Condition, ConditionError>) -> String {
    match result {
        Ok(_) => "compiled".to_owned(),
        Err(e) => format!("!{}@{}-{}", e.code, e.start, e.end),
    }
}

#[test]
fn condition_table() {
    let env = Env::new();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/conditions.tsv");
    let text = std::fs::read_to_string(path).unwrap();
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
                if let Some(raw) = raw {
                    if condition.eval(&raw) != result {
                        failures.push(format!(
                            "conditions.tsv:{line_no}: the raw-text answers give {}",
                            !result
                        ));
                    }
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
    assert!(rows >= 60, "only {rows} rows");
    for code in ERROR_CODES {
        if !codes_seen.contains(code) {
            failures.push(format!("no row shows {code}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fields_in_first_appearance_order() {
    let env = Env::new();
    let cases: &[(&str, &[&str])] = &[
        (
            "country in [\"US\"] and company_size >= 50 or country == \"CA\"",
            &["country", "company_size"],
        ),
        ("not exists(phone) and consent", &["phone", "consent"]),
        (
            "(role == \"student\" or exists(role)) and interests contains role",
            &["role", "interests"],
        ),
        (
            "company == phone and phone == company",
            &["company", "phone"],
        ),
        ("true or 1 < 2", &[]),
    ];
    for (source, want) in cases {
        let condition = env.compile(source).unwrap();
        assert_eq!(condition.fields(), *want, "{source}");
    }
}

#[test]
fn errors_read_plainly() {
    let env = Env::new();
    let cases = [
        ("country ==", "expected a field, a value or `(`"),
        ("company_size < 5 < 6", "comparisons do not chain"),
        ("contry == \"US\"", "the form has no field `contry`"),
        (
            "country == \"USA\"",
            "\"USA\" is not an option of `country`",
        ),
        ("company_size", "a condition must be true or false"),
    ];
    for (source, want) in cases {
        let e = env.compile(source).unwrap_err();
        assert!(e.message.contains(want), "{source}: {e}");
        assert!(e.to_string().ends_with(&format!("[{}]", e.code)), "{e}");
    }
}

/// A tiny deterministic generator (xorshift64), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len())]
    }
}

const FIELDS: &[&str] = &[
    "country",
    "company_size",
    "role",
    "interests",
    "consent",
    "company",
    "phone",
    "lead-score",
    "newsletter",
];

/// Random answers of every kind, including ones that do not fit their field.
fn random_answers(rng: &mut Rng) -> TypedAnswers {
    let mut answers = TypedAnswers::default();
    for field in FIELDS {
        let value = match rng.below(9) {
            0 | 1 => continue,
            2 => Typed::Text(
                rng.pick(&["US", "CA", "pricing", "", " ", "50", "true"])
                    .into(),
            ),
            3 => Typed::Number([0.0, 50.0, -3.5, f64::NAN, f64::INFINITY, f64::MAX][rng.below(6)]),
            4 => Typed::Bool(rng.below(2) == 0),
            5 => Typed::List(Vec::new()),
            6 => Typed::List(vec!["pricing".into(), "demo".into()]),
            7 => Typed::Text(rng.pick(&["student", "founder", "Acme Inc", "ü"]).into()),
            _ => Typed::Text(rng.pick(&["12", "1e3", "NaN", "lots", "-0"]).into()),
        };
        answers.0.insert((*field).to_owned(), value);
    }
    answers
}

/// Token soup: mostly nonsense, sometimes valid, always within reach of every lexer branch.
fn random_source(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "country",
        "company_size",
        "role",
        "interests",
        "consent",
        "company",
        "phone",
        "lead-score",
        "newsletter",
        "nope",
        "and",
        "or",
        "not",
        "in",
        "contains",
        "exists",
        "true",
        "false",
        "(",
        ")",
        "[",
        "]",
        ",",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "=",
        "!",
        "\"US\"",
        "\"pricing\"",
        "\"student\"",
        "\"x\"",
        "\"",
        "\\",
        "\"a\\\"b\"",
        "\"\\q\"",
        "\"é",
        "é",
        "42",
        "-3.5",
        "-",
        "1.",
        "1e400",
        "99999999999999999999999999999",
        "Ü",
        "\u{0}",
        "&&",
        "'",
        "\t",
        "",
    ];
    let mut source = String::new();
    if rng.below(8) == 0 {
        let depth = rng.below(40);
        source.push_str(&rng.pick(&["(", "not ", "not ("]).repeat(depth));
    }
    for _ in 0..rng.below(24) {
        source.push_str(rng.pick(PIECES));
        if rng.below(3) != 0 {
            source.push(' ');
        }
    }
    if rng.below(4) == 0 {
        let tail = rng.below(40);
        source.push_str(&")".repeat(tail));
    }
    source
}

/// A random condition that must compile, at most `depth` groups deep.
fn random_condition(rng: &mut Rng, depth: usize) -> String {
    let choice = if depth == 0 {
        rng.below(8)
    } else {
        rng.below(12)
    };
    match choice {
        0 => format!(
            "company_size {} {}",
            rng.pick(&["==", "!=", "<", "<=", ">", ">="]),
            rng.pick(&["0", "50", "-3.5", "12"])
        ),
        1 => format!(
            "country {} {}",
            rng.pick(&["==", "!="]),
            rng.pick(&["\"US\"", "\"CA\""])
        ),
        2 => format!(
            "role in [{}]",
            rng.pick(&["", "\"student\"", "\"student\", \"founder\""])
        ),
        3 => format!(
            "interests contains {}",
            rng.pick(&["\"pricing\"", "\"demo\"", "role"])
        ),
        4 => format!("exists({})", rng.pick(FIELDS)),
        5 => rng.pick(&["consent", "newsletter", "true"]).to_owned(),
        6 => format!(
            "company contains {}",
            rng.pick(&["\"Acme\"", "\"\"", "phone"])
        ),
        7 => format!("lead-score in [{}]", rng.pick(&["1, 2", "12", ""])),
        8 => format!("not {}", random_condition(rng, depth - 1)),
        9 => format!(
            "({}) == {}",
            random_condition(rng, depth - 1),
            rng.pick(&["true", "false", "consent"])
        ),
        10 => format!(
            "({} and {})",
            random_condition(rng, depth - 1),
            random_condition(rng, depth - 1)
        ),
        _ => format!(
            "({} or {})",
            random_condition(rng, depth - 1),
            random_condition(rng, depth - 1)
        ),
    }
}

#[test]
fn random_input_never_panics() {
    let env = Env::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let answer_sets: Vec<TypedAnswers> = (0..8).map(|_| random_answers(&mut rng)).collect();
    let raw: BTreeMap<String, String> = [("company_size", "50"), ("interests", "demo")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut compiled = 0;
    for _ in 0..5000 {
        let source = random_source(&mut rng);
        match env.compile(&source) {
            Ok(condition) => {
                compiled += 1;
                for answers in &answer_sets {
                    condition.eval(answers);
                }
                condition.eval(&raw);
            }
            Err(e) => {
                if let Err(problem) = check_error(&source, &e) {
                    panic!("{source:?}: {problem}: {e}");
                }
            }
        }
    }
    assert!(
        compiled > 0,
        "the soup never compiled; it tests only the error paths"
    );

    for _ in 0..3000 {
        let source = random_condition(&mut rng, 4);
        let condition = env
            .compile(&source)
            .unwrap_or_else(|e| panic!("{source}: {e}"));
        let negated = env.compile(&format!("not ({source})")).unwrap();
        for answers in &answer_sets {
            assert_eq!(
                negated.eval(answers),
                !condition.eval(answers),
                "{source} with {answers:?}"
            );
        }
    }
}

#[test]
fn limits_are_exact() {
    let env = Env::new();
    let at_limit = format!("{}consent", "consent or ".repeat(181));
    assert!(at_limit.len() <= 2000);
    let padded = format!("{at_limit}{}", " ".repeat(2000 - at_limit.len()));
    assert!(env.compile(&padded).is_ok());
    let over = format!("{padded} ");
    assert_eq!(env.compile(&over).unwrap_err().code, "condition.too_long");
    let deep = |n: usize| format!("{}consent{}", "(".repeat(n), ")".repeat(n));
    assert!(env.compile(&deep(32)).is_ok());
    assert_eq!(
        env.compile(&deep(33)).unwrap_err().code,
        "condition.too_deep"
    );
    // A long flat chain is not deep: `and` and `or` hold all their operands in one node.
    let chain = format!("{}consent", "consent and ".repeat(150));
    assert!(env.compile(&chain).is_ok());
}
