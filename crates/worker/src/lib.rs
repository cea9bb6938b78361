//! handoff-worker: Handoff at the edge. Decodes HTTP and cron events, calls handoff-core, and
//! stores what it decides in D1 (records) and KV (configuration).
//!
//! Architecture invariant: no business rule lives here. A rule that the browser also applies
//! belongs in handoff-core, so that both sides agree.

mod actions;
mod admin;
mod archive;
mod auth;
mod clock;
mod config;
mod crm;
mod error;
mod escalation;
mod events;
mod export;
mod fetch;
mod http;
mod intake;
mod links;
mod mail_server;
mod metrics;
mod moves;
mod outbox;
mod paged;
mod people;
mod plan;
mod public;
mod push;
mod queues;
mod ratelimit;
mod rollups;
mod rotation;
mod router;
mod sla;
mod slack;
mod store;
mod uuid;
mod whatif;

use worker::{event, Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    // Whatever needs the active bundle (CORS, the handler) shares one KV read.
    let bundle = store::BundleOnce::default();
    let public = router::browser_request(&req.inner().method(), &req.path());
    let cors = http::cors_origin(&req, &env, &bundle, public).await;
    let response = match router::dispatch(req, &env, &ctx, &bundle).await {
        Ok(response) => Ok(response),
        Err(error) => error.into_response(),
    };
    response.map(|r| http::with_api_headers(r, cors.as_deref()))
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let (minute, now) = clock::tick(&event, &env);
    if let Err(error) = store::record_tick(&env, minute, now).await {
        // D1's texts are unstable and may quote data; log our code only.
        worker::console_error!("cron tick not recorded: {}", error.code);
    }
    // What this tick did, as one line (nothing for an idle tick).
    let mut did: Vec<String> = Vec::new();
    // SLA escalation first, so that this tick's delivery sends the steps' notifications. Like the
    // outbox, it works on the scheduled minute.
    // Each job works within its share of the plan's per-invocation limits (`plan.rs`).
    let limits = plan::of(&env);
    let limit = ratelimit::var(&env, "SLA_TICK_LIMIT", escalation::TICK_LIMIT)
        .min(escalation::MAX_TICK_LIMIT);
    match escalation::tick(&env, minute, limit, limits.sla_statements()).await {
        Ok(t) if t.due > 0 => did.push(format!(
            "sla: {} due, {} steps, {} suppressed, {} closed, {} reassigned, {} unreadable, \
             {} statements in {} batches{}",
            t.due,
            t.escalated,
            t.suppressed,
            t.closed,
            t.reassigned,
            t.unreadable,
            t.statements,
            t.batches,
            if t.more {
                ", more left for the next tick"
            } else {
                ""
            }
        )),
        Ok(_) => {}
        Err(error) => worker::console_error!("sla tick failed: {}", error.code),
    }
    // The outbox works on the scheduled minute: what is due is what was due at that minute, so a
    // late or repeated tick does the same work (and tests drive time through `scheduledTime`).
    let due = outbox::Due::Tick {
        limit: limits.outbox_messages(),
        wall_ms: now,
    };
    match outbox::deliver(&env, due, minute).await {
        Ok(d) if d.delivered + d.failed + d.dead > 0 => did.push(format!(
            "outbox: {} delivered, {} failed, {} dead-lettered",
            d.delivered, d.failed, d.dead
        )),
        Ok(_) => {}
        Err(error) => worker::console_error!("outbox not delivered: {}", error.code),
    }
    // CRM records as their leads stand at the scheduled minute (the same rule as the outbox).
    match push::run(&env, None, minute).await {
        Ok(p) if p.pushed + p.failed + p.dead > 0 => did.push(format!(
            "crm: {} pushed, {} failed, {} dead-lettered, {} calls",
            p.pushed, p.failed, p.dead, p.calls
        )),
        Ok(_) => {}
        Err(error) => worker::console_error!("crm push failed: {}", error.code),
    }
    // The reports' rollups: leads changed since their last fold, folded in (rollups.rs).
    let fold_limit = ratelimit::var(&env, "ROLLUP_FOLD_LIMIT", rollups::FOLD_LIMIT);
    match rollups::fold(&env, fold_limit).await {
        Ok(f) if f.leads > 0 => did.push(format!(
            "rollups: {} leads folded into {} rows{}",
            f.leads,
            f.rows,
            if f.more { ", more left" } else { "" }
        )),
        Ok(_) => {}
        Err(error) => worker::console_error!("rollups not folded: {}", error.code),
    }
    match store::retention::prune(&env, now).await {
        Ok(pruned) if !pruned.is_empty() => did.push(format!(
            "retention: {}",
            pruned
                .iter()
                .map(|(table, n)| format!("{n} {table}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Ok(_) => {}
        Err(error) => worker::console_error!("retention not applied: {}", error.code),
    }
    match archive::run(&env, now).await {
        Ok(a) if a.leads > 0 => did.push(format!(
            "archive: {} leads to {}",
            a.leads,
            a.key.unwrap_or_default()
        )),
        Ok(a) => {
            if let Some((key, n)) = a.indexed {
                did.push(format!("archive: {n} leads of {key} indexed"));
            }
        }
        Err(error) => worker::console_error!("archive not written: {}", error.code),
    }
    if let Err(error) = store::limits::prune(&env, now).await {
        worker::console_error!("rate-limit windows not pruned: {}", error.code);
    }
    let forgotten = match store::Db::open(&env) {
        Ok(db) => store::slack::forget(&db, now).await,
        Err(error) => Err(error),
    };
    if let Err(error) = forgotten {
        worker::console_error!("slack requests not pruned: {}", error.code);
    }
    if !did.is_empty() {
        let at: String = js_sys::Date::new(&minute.into()).to_iso_string().into();
        worker::console_log!("cron tick {at}: {}", did.join("; "));
    }
}
