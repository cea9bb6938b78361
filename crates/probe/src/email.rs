//! `email`: [`handoff_core::email::normalize`] and [`handoff_core::email::suggest`].

use wasm_bindgen::prelude::*;

/// The normalized address, or `undefined` when it is refused.
#[wasm_bindgen(js_name = normalizeEmail)]
pub fn normalize_email(raw: &str) -> Option<String> {
    handoff_core::email::normalize(raw).ok()
}

/// The address with its provider's domain corrected, or `undefined` without a suggestion.
#[wasm_bindgen(js_name = suggestEmail)]
pub fn suggest_email(raw: &str) -> Option<String> {
    handoff_core::email::suggest(raw)
}
