//! `phone`: [`handoff_core::phone::parse_phone`].

use wasm_bindgen::prelude::*;

/// The number as E.164, followed by `;ext=` and the extension when there is one
/// (`"+14155550100;ext=12"`); the empty string when the number is refused. `country` is the default
/// country (an ISO code or any name the country normalizer reads); empty for none.
#[wasm_bindgen(js_name = parsePhone)]
pub fn parse_phone(raw: &str, country: &str) -> String {
    let default_country = Some(country).filter(|c| !c.is_empty());
    handoff_core::phone::parse_phone(raw, default_country)
        .map(|phone| phone.to_rfc3966())
        .unwrap_or_default()
}
