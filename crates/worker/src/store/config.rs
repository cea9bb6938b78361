//! Configuration history in KV: `bundle/active` (the active bundle's canonical JSON, what
//! `active_bundle` reads), `bundle/<version>` (every bundle still in history) and
//! `bundle/history` (a JSON array of activations, newest first, at most [`HISTORY_CAP`]).

use serde::{Deserialize, Serialize};
use worker::Env;

use crate::error::ApiError;
use crate::store::{ACTIVE_BUNDLE_KEY, KV_BINDING};

pub const HISTORY_KEY: &str = "bundle/history";
/// Activations kept; the bundles only older activations named are deleted from KV.
pub const HISTORY_CAP: usize = 50;

/// One activation of a bundle version; `activated_at` (ms since the epoch) is unknown for a
/// bundle put into `bundle/active` by hand or by `scripts/seed-local.sh`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Activation {
    pub version: String,
    pub activated_at: Option<i64>,
}

pub fn version_key(version: &str) -> String {
    format!("bundle/{version}")
}

fn kv_error() -> ApiError {
    ApiError::new(
        503,
        "storage_unavailable",
        "KV did not answer; nothing was changed, please retry.",
    )
}

async fn get(env: &Env, key: &str) -> Result<Option<String>, ApiError> {
    let kv = env.kv(KV_BINDING).map_err(|_| kv_error())?;
    kv.get(key).text().await.map_err(|_| kv_error())
}

async fn put(env: &Env, key: &str, text: String) -> Result<(), ApiError> {
    let kv = env.kv(KV_BINDING).map_err(|_| kv_error())?;
    kv.put(key, text)
        .map_err(|_| kv_error())?
        .execute()
        .await
        .map_err(|_| kv_error())
}

/// The active bundle's text as stored, whether or not it is usable.
pub async fn active_text(env: &Env) -> Result<Option<String>, ApiError> {
    get(env, ACTIVE_BUNDLE_KEY).await
}

/// A stored bundle's text by version.
pub async fn version_text(env: &Env, version: &str) -> Result<Option<String>, ApiError> {
    get(env, &version_key(version)).await
}

/// The stored activations, newest first; a missing or unreadable list is empty.
pub async fn history(env: &Env) -> Result<Vec<Activation>, ApiError> {
    Ok(get(env, HISTORY_KEY)
        .await?
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default())
}

pub async fn put_version(env: &Env, version: &str, text: &str) -> Result<(), ApiError> {
    put(env, &version_key(version), text.to_owned()).await
}

pub async fn put_active(env: &Env, text: &str) -> Result<(), ApiError> {
    put(env, ACTIVE_BUNDLE_KEY, text.to_owned()).await
}

pub async fn put_history(env: &Env, history: &[Activation]) -> Result<(), ApiError> {
    let text = serde_json::to_string(history)
        .map_err(|_| ApiError::new(500, "internal", "the history could not be encoded"))?;
    put(env, HISTORY_KEY, text).await
}

/// Deletes a bundle that no activation in history names any more.
pub async fn delete_version(env: &Env, version: &str) -> Result<(), ApiError> {
    let kv = env.kv(KV_BINDING).map_err(|_| kv_error())?;
    kv.delete(&version_key(version))
        .await
        .map_err(|_| kv_error())
}
