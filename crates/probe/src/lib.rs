//! handoff-probe: a measurement harness, never shipped. Each cargo feature exports one of
//! handoff-core's normalizers to JavaScript through wasm-bindgen, so that a build with one feature
//! shows what that normalizer adds to a browser module (`make size-normalizers`), and a build with
//! `phone` lets Node run handoff-core's phone parser side by side with libphonenumber-js
//! (`make bench-phone`). Every export takes and returns strings: an empty string (or `undefined`)
//! means refused, so the caller compares plain values and no serde or JS objects are involved.

use wasm_bindgen::prelude::*;

#[cfg(feature = "company")]
mod company;
#[cfg(feature = "country")]
mod country;
#[cfg(feature = "email")]
mod email;
#[cfg(feature = "phone")]
mod phone;
#[cfg(feature = "text")]
mod text;
#[cfg(feature = "title")]
mod title;

/// The baseline export: a string in, a string out, so wasm-bindgen's string passing and the
/// allocator are counted once, in the build without any normalizer.
#[wasm_bindgen]
pub fn echo(raw: &str) -> String {
    raw.to_owned()
}
