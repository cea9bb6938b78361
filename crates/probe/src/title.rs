//! `title`: [`handoff_core::title::classify`].

use wasm_bindgen::prelude::*;

/// The job function and seniority, separated by a tab (`"engineering\tmanager"`).
#[wasm_bindgen(js_name = classifyTitle)]
pub fn classify_title(raw: &str) -> String {
    let title = handoff_core::title::classify(raw);
    format!("{}\t{}", title.function.as_str(), title.seniority.as_str())
}
