//! Fuzzes phone parsing: never panics, and a parsed number parses again to itself, with or without
//! its country as the default.
#![no_main]

use handoff_core::phone::parse_phone;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, u8)| {
    let (raw, pick) = input;
    let country = ["US", "GB", "DE", "FR", "CA", "JP"][usize::from(pick) % 6];
    if let Ok(phone) = parse_phone(raw, Some(country)) {
        let again = parse_phone(&phone.to_rfc3966(), None).map(|p| p.to_rfc3966());
        assert_eq!(again, Ok(phone.to_rfc3966()));
        let again = parse_phone(&phone.e164, Some(phone.country)).map(|p| p.e164);
        assert_eq!(again, Ok(phone.e164.clone()));
    }
});
