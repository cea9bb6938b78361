//! Criterion benchmarks of handoff-core's hot paths: what the form runs per keystroke and what the
//! Worker runs per lead. Budgets and results live in docs/BENCHMARKS.md.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use handoff_core::condition::{Condition, FieldType, ValueType};
use handoff_core::submission::check_field;
use handoff_core::{check_submission, email, Bundle};

fn demo_bundle() -> Bundle {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/demo.toml");
    Bundle::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn benches(c: &mut Criterion) {
    let bundle = demo_bundle();
    let form = bundle.form("demo").unwrap();

    // Per keystroke: the form re-checks the field being typed.
    c.bench_function("keystroke/email_field", |b| {
        b.iter(|| {
            check_field(
                black_box(&form.fields[0]),
                black_box("maria.lopez@northwind-exam"),
            )
        })
    });
    c.bench_function("email/normalize", |b| {
        b.iter(|| email::normalize(black_box("  Maria.Lopez@Northwind-Example.COM ")))
    });

    // Per lead: the Worker checks and normalizes every answer.
    let answers: BTreeMap<String, String> = [
        ("email", " Maria.Lopez@Northwind-Example.COM "),
        ("company", "  Acme   Analytics GmbH "),
        ("unknown", "dropped"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    c.bench_function("lead/check_submission", |b| {
        b.iter(|| check_submission(black_box(form), black_box(&answers)))
    });

    // Per keystroke: re-evaluating every visibility condition of a typical form (compiled once).
    let countries: Vec<String> = ["US", "CA", "DE", "GB", "FR"].map(String::from).to_vec();
    let interests: Vec<String> = ["pricing", "demo", "security"].map(String::from).to_vec();
    let fields = |id: &str| match id {
        "country" => Some(FieldType {
            ty: ValueType::Text,
            options: Some(&countries[..]),
        }),
        "interests" => Some(FieldType {
            ty: ValueType::List,
            options: Some(&interests[..]),
        }),
        "company_size" => Some(FieldType {
            ty: ValueType::Number,
            options: None,
        }),
        "role" | "company" => Some(FieldType {
            ty: ValueType::Text,
            options: None,
        }),
        _ => None,
    };
    let conditions: Vec<Condition> = [
        r#"country in ["US", "CA"] and company_size >= 50"#,
        r#"exists(company) and not (role == "student")"#,
        r#"interests contains "pricing" or company_size > 1000"#,
        r#"country == "DE" or country == "FR""#,
    ]
    .iter()
    .map(|source| Condition::compile(source, &fields).unwrap())
    .collect();
    let typed: BTreeMap<String, String> = [
        ("country", "US"),
        ("company_size", "250"),
        ("company", "Acme"),
        ("role", "VP Sales"),
        ("interests", "pricing"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    c.bench_function("keystroke/visibility_4_conditions", |b| {
        b.iter(|| {
            conditions
                .iter()
                .filter(|c| c.eval(black_box(&typed)))
                .count()
        })
    });
    c.bench_function("condition/compile", |b| {
        b.iter(|| {
            Condition::compile(
                black_box(r#"country in ["US", "CA"] and company_size >= 50"#),
                &fields,
            )
        })
    });

    // Once per Worker request today: reading and verifying the bundle from KV.
    let json = bundle.to_json();
    c.bench_function("bundle/from_json_verified", |b| {
        b.iter(|| Bundle::from_json(black_box(&json)))
    });
}

criterion_group!(core, benches);
criterion_main!(core);
