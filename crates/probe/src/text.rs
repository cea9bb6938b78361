//! `text`: [`handoff_core::text::clean_line`] and [`handoff_core::text::clean_block`].

use wasm_bindgen::prelude::*;

/// The cleaned single-line answer, or `undefined` when it is refused (longer than
/// `max_chars` characters).
#[wasm_bindgen(js_name = cleanLine)]
pub fn clean_line(raw: &str, max_chars: usize) -> Option<String> {
    handoff_core::text::clean_line(raw, max_chars).ok()
}

/// The cleaned multi-line answer, or `undefined` when it is refused (longer than
/// `max_chars` characters).
#[wasm_bindgen(js_name = cleanBlock)]
pub fn clean_block(raw: &str, max_chars: usize) -> Option<String> {
    handoff_core::text::clean_block(raw, max_chars).ok()
}
