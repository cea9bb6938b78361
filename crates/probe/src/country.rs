//! `country`: [`handoff_core::country::normalize_country`] and
//! [`handoff_core::country::normalize_region`].

use wasm_bindgen::prelude::*;

/// The ISO 3166-1 alpha-2 code, or `undefined` when the country is unknown.
#[wasm_bindgen(js_name = normalizeCountry)]
pub fn normalize_country(raw: &str) -> Option<String> {
    handoff_core::country::normalize_country(raw)
        .ok()
        .map(str::to_owned)
}

/// The region's code within `country`, or `undefined` when either is unknown.
#[wasm_bindgen(js_name = normalizeRegion)]
pub fn normalize_region(country: &str, raw: &str) -> Option<String> {
    handoff_core::country::normalize_region(country, raw)
        .ok()
        .map(str::to_owned)
}
