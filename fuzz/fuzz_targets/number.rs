//! Fuzzes the exact decimal reader the browser and the Worker share: on any text it agrees with
//! the standard library's `f64` parser, bit for bit, wherever that gives a finite number.
#![no_main]

use handoff_core::number::parse_finite;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let ours = parse_finite(text);
    let std = text.parse::<f64>().ok().filter(|v| v.is_finite());
    assert_eq!(ours.map(f64::to_bits), std.map(f64::to_bits), "{text:?}");
});
