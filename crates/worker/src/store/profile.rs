//! Visitor profiles in KV (`profile/<token>`): the ids of the fields a visitor answered and when,
//! never the values, so that progressive profiling can skip known questions.

use handoff_core::visibility::Known;
use worker::Env;

use super::KV_BINDING;
use crate::error::ApiError;

/// How long a visitor profile lives in KV without a new submission: about 13 months.
const PROFILE_TTL_SECONDS: u64 = 400 * 24 * 3600;

fn profile_key(visitor: &str) -> String {
    format!("profile/{visitor}")
}

/// The fields known about a visitor (ids and when learned), from their KV profile.
pub async fn known_fields(env: &Env, visitor: &str) -> Result<Known, ApiError> {
    let kv = env.kv(KV_BINDING).map_err(ApiError::storage)?;
    let text = kv.get(&profile_key(visitor)).text().await.map_err(|_| {
        ApiError::new(
            503,
            "storage_unavailable",
            "KV did not answer; please retry.",
        )
    })?;
    // A profile this Worker did not write is treated as empty: it only decides what to ask.
    Ok(text
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default())
}

/// Adds `fields` (answered at `now_ms`) to the visitor's profile.
pub async fn remember_fields<'a>(
    env: &Env,
    visitor: &str,
    fields: impl Iterator<Item = &'a str>,
    now_ms: i64,
) -> Result<(), ApiError> {
    let mut known = known_fields(env, visitor).await?;
    for field in fields {
        known.insert(field.to_owned(), now_ms);
    }
    let kv = env.kv(KV_BINDING).map_err(ApiError::storage)?;
    let text = serde_json::to_string(&known)
        .map_err(|_| ApiError::new(500, "internal", "the profile could not be encoded"))?;
    kv.put(&profile_key(visitor), text)
        .map_err(|_| ApiError::new(503, "storage_unavailable", "KV refused the profile."))?
        .expiration_ttl(PROFILE_TTL_SECONDS)
        .execute()
        .await
        .map_err(|_| ApiError::new(503, "storage_unavailable", "KV refused the profile."))
}

/// A visitor's profile as stored (JSON text), or `None` when KV has none: what a person's export
/// shows and whether an erasure has one to delete.
pub async fn profile_text(env: &Env, visitor: &str) -> Result<Option<String>, ApiError> {
    let kv = env.kv(KV_BINDING).map_err(ApiError::storage)?;
    kv.get(&profile_key(visitor)).text().await.map_err(|_| {
        ApiError::new(
            503,
            "storage_unavailable",
            "KV did not answer; please retry.",
        )
    })
}

/// Deletes a visitor's profile (an erasure): what progressive profiling knew of them.
pub async fn forget(env: &Env, visitor: &str) -> Result<(), ApiError> {
    let kv = env.kv(KV_BINDING).map_err(ApiError::storage)?;
    kv.delete(&profile_key(visitor))
        .await
        .map_err(|_| ApiError::new(503, "storage_unavailable", "KV refused the deletion."))
}
