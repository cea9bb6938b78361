//! Tests for conditions: `test_data/conditions.tsv` checked by one helper, plus generated
//! expressions that must never make compiling or evaluating panic.

// Tests read their table from a file and fail loudly on anything unexpected.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

#[path = "support/condition_table.rs"]
mod condition_table;
#[path = "support/rng.rs"]
mod rng;

use condition_table::*;
use rng::XorShift;

#[test]
fn condition_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/conditions.tsv");
    let failures = check_table(&std::fs::read_to_string(path).unwrap());
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
fn random_answers(rng: &mut XorShift) -> TypedAnswers {
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
fn random_source(rng: &mut XorShift) -> String {
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
fn random_condition(rng: &mut XorShift, depth: usize) -> String {
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
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
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
