//! What the events API, the "Not a fit" page and the claim link read first: the lead an event is
//! about, with its status and owner.

use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::Db;
use crate::error::ApiError;

/// The lead an event is about: its id, email, status, owner and the lead it was merged into.
#[derive(Debug, Deserialize)]
pub struct Target {
    pub id: String,
    pub email: Option<String>,
    pub status: String,
    pub owner_kind: Option<String>,
    pub owner_id: Option<String>,
    pub merged_into: Option<String>,
}

/// The lead with this id, if there is one.
pub async fn target(db: &Db, id: &str) -> Result<Option<Target>, ApiError> {
    let statement = db
        .prepare(
            "SELECT id, email, status, owner_kind, owner_id, merged_into FROM leads WHERE id = ?1",
        )
        .bind(&[JsValue::from_str(id)])
        .map_err(ApiError::storage)?;
    db.first(statement).await
}
