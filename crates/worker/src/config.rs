//! The configuration admin API: upload a TOML configuration (`PUT /v1/config`), read the
//! history (`GET /v1/config`), roll back (`POST /v1/config/rollback`). Bundles are checked with
//! `Bundle::from_toml`, exactly as `handoff check` checks them, before anything is stored.
//!
//! Writes go version first, then `bundle/active`, then the history, so a failure midway never
//! activates a bundle that is not stored. One operator at a time: two concurrent uploads may both
//! succeed and the last write wins.

use handoff_core::bundle::ConfigError;
use handoff_core::Bundle;
use serde::{Deserialize, Serialize};
use worker::{Env, Request, Response};

use crate::error::ApiError;
use crate::http::{self, json, read_body, Cap};
use crate::store::config::{self as kv, Activation, HISTORY_CAP};

const BODY: Cap = crate::http::caps::CONFIG;

/// What is active and what was, as KV holds it now.
struct State {
    /// The active version and its text, if a bundle is active (usable or not).
    active: Option<(String, String)>,
    /// Newest first; `history[0]` is the active version.
    history: Vec<Activation>,
    /// The active bundle is not in the stored history (seeded or put by hand): record it, and
    /// keep its bundle under its version key, with the next activation.
    adopt_active: bool,
}

async fn load(env: &Env) -> Result<State, ApiError> {
    #[derive(Deserialize)]
    struct VersionOnly {
        version: String,
    }
    let active = kv::active_text(env).await?.and_then(|text| {
        serde_json::from_str::<VersionOnly>(&text)
            .ok()
            .map(|v| (v.version, text))
    });
    let mut history = kv::history(env).await?;
    let mut adopt_active = false;
    if let Some((version, _)) = &active {
        if history.first().map(|a| &a.version) != Some(version) {
            history.insert(
                0,
                Activation {
                    version: version.clone(),
                    activated_at: None,
                },
            );
            adopt_active = true;
        }
    }
    Ok(State {
        active,
        history,
        adopt_active,
    })
}

/// Makes `version` (whose canonical JSON is `text`) the active bundle and records it.
async fn activate(
    env: &Env,
    state: State,
    version: &str,
    text: &str,
    now: i64,
) -> Result<(), ApiError> {
    kv::put_version(env, version, text).await?;
    if state.adopt_active {
        if let Some((active, active_text)) = &state.active {
            kv::put_version(env, active, active_text).await?;
        }
    }
    let mut history = state.history;
    history.insert(
        0,
        Activation {
            version: version.to_owned(),
            activated_at: Some(now),
        },
    );
    let dropped = history.split_off(HISTORY_CAP.min(history.len()));
    kv::put_active(env, text).await?;
    kv::put_history(env, &history).await?;
    let mut gone: Vec<&str> = dropped
        .iter()
        .map(|a| a.version.as_str())
        .filter(|v| history.iter().all(|a| a.version != *v))
        .collect();
    gone.sort_unstable();
    gone.dedup();
    for version in gone {
        kv::delete_version(env, version).await?;
    }
    Ok(())
}

#[derive(Serialize)]
struct Activated<'a> {
    version: &'a str,
    /// The version active before this request (the same as `version` when nothing changed).
    previous: Option<&'a str>,
    changed: bool,
}

#[derive(Serialize)]
struct Invalid<'a> {
    error: InvalidDetail<'a>,
}

#[derive(Serialize)]
struct InvalidDetail<'a> {
    code: &'static str,
    message: &'a str,
    problems: &'a [ConfigError],
}

/// `422 config_invalid` with every problem `handoff check` would report, located.
pub fn invalid(problems: &[ConfigError]) -> Result<Response, ApiError> {
    json(
        422,
        &Invalid {
            error: InvalidDetail {
                code: "config_invalid",
                message: "The configuration has problems; nothing was changed. See problems.",
                problems,
            },
        },
    )
}

/// A TOML configuration from the request's body, checked as `PUT /v1/config` checks it: the
/// bundle, or the `422 config_invalid` answer with every problem.
pub async fn candidate(req: &mut Request) -> Result<Result<Bundle, Response>, ApiError> {
    let content_type = http::content_type(req);
    if !(content_type.starts_with("application/toml") || content_type.starts_with("text/plain")) {
        return Err(ApiError::new(
            415,
            "unsupported_media_type",
            "Send the configuration as TOML with Content-Type: application/toml.",
        ));
    }
    let text = read_body(req, BODY).await?;
    match Bundle::from_toml(&text) {
        Ok(bundle) => Ok(Ok(bundle)),
        Err(problems) => invalid(&problems).map(Err),
    }
}

/// `PUT /v1/config`: check a TOML configuration and make its bundle the active one.
pub async fn put(req: &mut Request, env: &Env, now: i64) -> Result<Response, ApiError> {
    let bundle = match candidate(req).await? {
        Ok(bundle) => bundle,
        Err(answer) => return Ok(answer),
    };
    let state = load(env).await?;
    let previous = state.active.as_ref().map(|(v, _)| v.clone());
    let changed = previous.as_deref() != Some(bundle.version.as_str());
    if changed {
        activate(env, state, &bundle.version, &bundle.to_json(), now).await?;
    }
    json(
        200,
        &Activated {
            version: &bundle.version,
            previous: previous.as_deref(),
            changed,
        },
    )
}

#[derive(Serialize)]
struct Overview<'a> {
    active: Option<&'a str>,
    history: &'a [Activation],
    /// The active configuration's forms and their fields: what a lead to try can answer.
    forms: Vec<FormOutline<'a>>,
}

#[derive(Serialize)]
struct FormOutline<'a> {
    id: &'a str,
    title: &'a str,
    fields: Vec<FieldOutline<'a>>,
}

#[derive(Serialize)]
struct FieldOutline<'a> {
    id: &'a str,
    label: &'a str,
    #[serde(rename = "type")]
    kind: handoff_core::form::FieldKind,
    required: bool,
    options: &'a [String],
}

/// `GET /v1/config`: the active version, the activations (newest first), and the active forms'
/// fields.
pub async fn get(env: &Env) -> Result<Response, ApiError> {
    let state = load(env).await?;
    let bundle = state
        .active
        .as_ref()
        .and_then(|(_, text)| Bundle::from_json(text).ok());
    let forms = bundle
        .as_ref()
        .map(|b| {
            b.rules
                .forms
                .iter()
                .map(|f| FormOutline {
                    id: &f.id,
                    title: &f.title,
                    fields: f
                        .fields
                        .iter()
                        .map(|field| FieldOutline {
                            id: &field.id,
                            label: &field.label,
                            kind: field.kind,
                            required: field.required,
                            options: &field.options,
                        })
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    json(
        200,
        &Overview {
            active: state.active.as_ref().map(|(v, _)| v.as_str()),
            history: &state.history,
            forms,
        },
    )
}

/// `POST /v1/config/rollback`, optionally `{"version": "sha256:…"}`: activate an earlier version
/// from history, by default the most recent one other than the active version.
pub async fn rollback(req: &mut Request, env: &Env, now: i64) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    struct Target {
        version: String,
    }
    let body = read_body(req, crate::http::caps::COMMAND).await?;
    let wanted = if body.trim().is_empty() {
        None
    } else {
        let target: Target = serde_json::from_str(&body).map_err(|_| {
            ApiError::new(
                400,
                "bad_json",
                "The body is empty or {\"version\": \"sha256:…\"}.",
            )
        })?;
        Some(target.version)
    };
    let state = load(env).await?;
    let active = state.active.as_ref().map(|(v, _)| v.clone());
    let target = match wanted {
        Some(version) => {
            if !state.history.iter().any(|a| a.version == version) {
                return Err(unknown_version());
            }
            version
        }
        None => state
            .history
            .iter()
            .map(|a| &a.version)
            .find(|v| Some(*v) != active.as_ref())
            .cloned()
            .ok_or_else(|| {
                ApiError::new(
                    409,
                    "no_previous",
                    "No earlier version is in history to roll back to.",
                )
            })?,
    };
    let changed = active.as_deref() != Some(target.as_str());
    if changed {
        let text = kv::version_text(env, &target)
            .await?
            .ok_or_else(unknown_version)?;
        // A stored bundle is checked again before it is activated, never half-trusted.
        let bundle = Bundle::from_json(&text).map_err(|_| {
            ApiError::new(
                409,
                "version_unusable",
                "The stored bundle of this version does not check; upload its configuration again.",
            )
        })?;
        activate(env, state, &bundle.version, &text, now).await?;
    }
    json(
        200,
        &Activated {
            version: &target,
            previous: active.as_deref(),
            changed,
        },
    )
}

fn unknown_version() -> ApiError {
    ApiError::new(
        404,
        "unknown_version",
        "No stored bundle in history has this version.",
    )
}
