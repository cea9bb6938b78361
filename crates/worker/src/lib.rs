//! handoff-worker: Handoff at the edge. Decodes HTTP and cron events, calls handoff-core, and
//! stores what it decides in D1 (records) and KV (configuration).
//!
//! Architecture invariant: no business rule lives here. A rule that the browser also applies
//! belongs in handoff-core, so that both sides agree.

mod admin;
mod api;
mod config;
mod error;
mod ratelimit;
mod routes;
mod store;

use worker::{event, Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    // Whatever needs the active bundle (CORS, the handler) shares one KV read.
    let bundle = routes::BundleOnce::default();
    let cors = api::cors_origin(&req, &env, &bundle).await;
    let response = match routes::dispatch(req, &env, &bundle).await {
        Ok(response) => Ok(response),
        Err(error) => error.into_response(),
    };
    response.map(|r| api::with_api_headers(r, cors.as_deref()))
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let now = worker::Date::now().as_millis() as f64;
    if let Err(error) = store::record_tick(&env, event.schedule(), now).await {
        // D1's texts are unstable and may quote data; log our code only.
        worker::console_error!("cron tick not recorded: {}", error.code);
    }
    if let Err(error) = store::limits::prune(&env, now).await {
        worker::console_error!("rate-limit windows not pruned: {}", error.code);
    }
}
