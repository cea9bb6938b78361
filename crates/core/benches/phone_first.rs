//! The first phone parse in a fresh process: the budget is 1 ms, and it is mostly indexing the
//! numbering plans and reading the patterns of the country first asked for, so criterion's
//! repeated samples cannot show it. Run with `cargo bench -p handoff-core --bench phone_first`;
//! each run is one fresh process.

// A benchmark reads the clock; the core it measures does not.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::disallowed_methods)]

use std::time::Instant;

use handoff_core::phone::parse_phone;

fn main() {
    // (input, default country): a first parse for each of a few countries, each in its own state
    // of the lazily compiled tables; the first line is the true cold start.
    let inputs = [
        ("(415) 555-0100", "US"),
        ("+44 20 7946 0958", "GB"),
        ("030 1234567", "DE"),
        ("06 12 34 56 78", "FR"),
    ];
    for (input, country) in inputs {
        let start = Instant::now();
        let parsed = parse_phone(std::hint::black_box(input), Some(country));
        let took = start.elapsed();
        assert!(parsed.is_ok(), "{input}");
        println!("first parse of a {country} number: {took:?}");
    }
}
