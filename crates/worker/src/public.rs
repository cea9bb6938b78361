//! The public endpoints beside the intake, which browser pages and monitors call without a token:
//! a form as the browser needs it (`GET /v1/forms/{id}`), a visitor's known fields
//! (`GET /v1/profile`), CORS preflights, and `GET /v1/health`.

use serde::Serialize;
use worker::{Env, Request, Response};

use handoff_core::health::{warnings, Facts, Warning};

use crate::auth::{configured, Configured, Role};
use crate::error::ApiError;
use crate::http::{check_origin, check_visitor, cors_origin, empty, header, json, param, query};
use crate::store::{self, profile, BundleOnce, Db};

/// A CORS preflight: 204 for an allowed origin (the headers are added with every answer), 403
/// for any other. `public`: whether the route table opens the path to browser pages.
pub async fn preflight(
    req: &Request,
    env: &Env,
    bundle: &BundleOnce,
    public: bool,
) -> Result<Response, ApiError> {
    if cors_origin(req, env, bundle, public).await.is_none() {
        return Err(ApiError::new(
            403,
            "origin_not_allowed",
            "No form may be used from this website.",
        ));
    }
    empty(204, "The answer could not be encoded.")
}

/// The loader (`www/embed.js`, built before the Worker), which the per-form loader serves.
const LOADER: &str = include_str!("../../../www/embed.js");

/// The loader's build, named in the per-form loader's `ETag` with the bundle's version: a deploy
/// that changes the loader (or the module, whose hash it carries) is never answered `304` for a
/// browser's older copy.
const LOADER_VERSION: u64 = fnv1a(LOADER.as_bytes());

/// FNV-1a, 64 bits: a name for a build's text, computed when the Worker is compiled.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut i = 0;
    while i < bytes.len() {
        hash = (hash ^ bytes[i] as u64).wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

/// What `GET /v1/forms/{id}` answers: the form's answer as JSON (`Json`), or the loader with
/// the answer in it (`Loader`, `GET /v1/forms/{id}/embed.js`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormAs {
    Json,
    Loader,
}

/// `GET /v1/forms/:id`: the form as the browser needs it, its conditions compiled (so the form
/// module carries no compiler), its markup rendered, with the version of the bundle it came
/// from. `GET /v1/forms/:id/embed.js`: the same answer inside the loader, so that the page that
/// embeds the form has its markup after one request.
pub async fn get_form(
    req: &Request,
    env: &Env,
    id: &str,
    bundle: &BundleOnce,
    form_as: FormAs,
) -> Result<Response, ApiError> {
    let bundle = bundle.get(env).await?;
    if bundle.form(id).is_some() {
        check_origin(req, &bundle, id)?;
    }
    let form = bundle
        .form(id)
        .ok_or_else(|| ApiError::new(404, "unknown_form", "No form has this id."))?;
    // The spec changes only with the bundle, whose version names its content: browsers keep it a
    // minute and then revalidate, so a page view on a warm cache waits for no request, a new
    // bundle reaches every page within a minute or so, and the Worker re-checks every lead anyway.
    let etag = match form_as {
        FormAs::Json => format!("\"{}\"", bundle.version),
        FormAs::Loader => format!("\"{}-{LOADER_VERSION:016x}\"", bundle.version),
    };
    let cached = header(req, "if-none-match");
    let mut response = if cached.is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag)) {
        empty(304, "The answer could not be made.")?
    } else {
        let browser = form.for_browser(&bundle.version, bundle.scoring(), bundle.rules.lifecycle);
        match form_as {
            FormAs::Json => json(200, &browser)?,
            FormAs::Loader => loader(&browser)?,
        }
    };
    let headers = response.headers_mut();
    let _ = headers.set("etag", &etag);
    let _ = headers.set(
        "cache-control",
        "public, max-age=60, stale-while-revalidate=600",
    );
    Ok(response)
}

/// The loader after one statement that leaves a function returning the form's answer where the
/// loader takes it first (`__handoff.next`): the answer is built when the loader asks for it, after
/// its "script starts" mark. JSON is JavaScript (U+2028 and U+2029 included, since ES2019), and the
/// answer is data in a script file, never markup in a page.
fn loader(answer: &handoff_core::visibility::BrowserForm) -> Result<Response, ApiError> {
    let failed = || ApiError::new(500, "internal", "The answer could not be encoded.");
    let answer = serde_json::to_string(answer).map_err(|_| failed())?;
    let body = format!("(self.__handoff||(self.__handoff={{}})).next=()=>({answer});\n{LOADER}");
    let mut response = Response::ok(body).map_err(|_| failed())?;
    let _ = response
        .headers_mut()
        .set("content-type", "text/javascript; charset=utf-8");
    Ok(response)
}

#[derive(Serialize)]
struct ProfileAnswer {
    /// Field ids known about this visitor, with when each was learned (ms since the epoch);
    /// never the values.
    known: handoff_core::visibility::Known,
}

/// `GET /v1/profile?visitor=TOKEN`: what progressive profiling needs to skip known questions.
pub async fn get_profile(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let pairs = query(req)?;
    let visitor = param(&pairs, "visitor").unwrap_or_default();
    check_visitor(visitor)?;
    let known = profile::known_fields(env, visitor).await?;
    json(200, &ProfileAnswer { known })
}

#[derive(Serialize)]
struct Health<'a> {
    ok: bool,
    bundle_version: Option<&'a str>,
    last_cron_tick_ms: Option<i64>,
    /// SLA clocks the cron could not read, flagged and skipped (`sla_unreadable` events).
    sla_unreadable_clocks: u32,
    /// Notifications and CRM records that gave up (`GET /v1/dead-letters`).
    dead_letters: u32,
    /// What an operator should fix (`handoff_core::health`): codes and what to do, never a value.
    warnings: Vec<Warning>,
}

/// The Worker's own secrets, with what needs each.
const OWN_SECRETS: [(&str, &str); 3] = [
    (crate::links::LINK_SECRET, "signed links in notifications"),
    (
        crate::ratelimit::KEY_SECRET,
        "rate limits keyed alike in every isolate",
    ),
    (
        "PEOPLE_INDEX_KEY",
        "the archive's index of people, keyed; set it once and keep it",
    ),
];

/// `GET /v1/health`: whether a usable bundle is active, its version, the last cron tick, the SLA
/// clocks flagged unreadable, the dead letters, and what an operator should fix: missing or
/// unusable secrets, a default `PUBLIC_URL`, a silent cron, dead letters waiting.
pub async fn health(env: &Env, bundle: &BundleOnce, now: f64) -> Result<Response, ApiError> {
    let bundle = bundle.get(env).await.ok();
    let db = Db::open(env)?;
    let last_tick = store::last_tick(env).await?;
    let unreadable = store::sla::unreadable_count(&db).await?;
    let dead_letters = store::admin::dead_letter_count(&db).await?;
    let named = bundle
        .as_ref()
        .map(|b| handoff_core::secrets::named(&b.rules))
        .unwrap_or_default();
    let mut facts = Facts {
        public_url: None,
        last_tick_ms: last_tick.map(|t| t as i64),
        now_ms: now as i64,
        dead_letters,
        ..Facts::default()
    };
    for role in Role::ALL {
        match configured(env, role) {
            Configured::Missing => facts.missing_secrets.push((role.secret(), role.purpose())),
            Configured::Unusable(problem) => {
                facts.unusable_secrets.push((role.secret(), problem.code()))
            }
            Configured::Digest(_) => {}
        }
    }
    let own = OWN_SECRETS.iter().map(|(name, why)| (*name, *why));
    let configured_by = named.iter().map(|n| (n.name.as_str(), n.named_by.as_str()));
    facts.missing_secrets.extend(
        own.chain(configured_by)
            .filter(|(name, _)| crate::fetch::secret(env, name).is_err()),
    );
    let public_url = env.var("PUBLIC_URL").ok().map(|v| v.to_string());
    facts.public_url = public_url.as_deref();
    let response = json(
        200,
        &Health {
            ok: bundle.is_some(),
            bundle_version: bundle.as_ref().map(|b| b.version.as_str()),
            last_cron_tick_ms: last_tick.map(|t| t as i64),
            sla_unreadable_clocks: unreadable,
            dead_letters,
            warnings: warnings(&facts),
        },
    )?;
    Ok(with_wasm_memory(response, env))
}

/// In test mode only: the isolate's WebAssembly memory, which only grows, so that a benchmark
/// reads the most a request before it needed (bench/scale.mjs, beside the JS heap).
#[cfg(feature = "test-hooks")]
fn with_wasm_memory(mut response: Response, env: &Env) -> Response {
    if crate::clock::test_mode(env) {
        let buffer = js_sys::Reflect::get(&wasm_bindgen::memory(), &"buffer".into())
            .and_then(|b| js_sys::Reflect::get(&b, &"byteLength".into()));
        if let Some(bytes) = buffer.ok().and_then(|b| b.as_f64()) {
            let _ = response
                .headers_mut()
                .set("x-handoff-wasm-memory-bytes", &bytes.to_string());
        }
    }
    response
}

#[cfg(not(feature = "test-hooks"))]
fn with_wasm_memory(response: Response, _env: &Env) -> Response {
    response
}
