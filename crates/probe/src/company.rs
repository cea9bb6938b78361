//! `company`: [`handoff_core::company::normalize_company`] and
//! [`handoff_core::company::registrable_domain`].

use wasm_bindgen::prelude::*;

/// The display name and the match key, separated by a tab, or `undefined` when refused.
#[wasm_bindgen(js_name = normalizeCompany)]
pub fn normalize_company(raw: &str) -> Option<String> {
    handoff_core::company::normalize_company(raw)
        .ok()
        .map(|c| format!("{}\t{}", c.display, c.match_key))
}

/// The registrable domain (eTLD+1) of a website or email address, or `undefined`.
#[wasm_bindgen(js_name = registrableDomain)]
pub fn registrable_domain(input: &str) -> Option<String> {
    handoff_core::company::registrable_domain(input)
}
