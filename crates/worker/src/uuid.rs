//! The runtime's CSPRNG-backed UUID v4 (`crypto.randomUUID()`): lead ids, outbox message ids and
//! the cron's run ids. A leaf: it imports nothing of the Worker's.

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// A fresh UUID v4 from the runtime's CSPRNG.
    #[wasm_bindgen(js_namespace = crypto, js_name = randomUUID)]
    pub fn random_uuid() -> String;
}
