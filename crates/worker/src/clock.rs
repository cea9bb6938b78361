//! The Worker's one clock. Every instant a handler or the cron uses comes from here, so that tests
//! can run the Worker at any date (their base date a year back or ahead) without a real clock
//! showing through anywhere.
//!
//! Test mode exists only in a build made for tests (the cargo feature `test-hooks`, which the
//! release build `wrangler deploy` uploads never enables): there, the variable
//! `TEST_CLOCK = "enabled"` lets a request name its time. In the release build `test_mode` is
//! `false` whatever the variables say, and nothing a client sends can move the clock.

use worker::{Env, Request, ScheduledEvent};

/// Whether this is a test build run with `TEST_CLOCK = "enabled"`.
#[cfg(feature = "test-hooks")]
pub fn test_mode(env: &Env) -> bool {
    env.var("TEST_CLOCK")
        .is_ok_and(|v| v.to_string() == "enabled")
}

/// The release build has no test mode.
#[cfg(not(feature = "test-hooks"))]
pub fn test_mode(_env: &Env) -> bool {
    false
}

/// The request's "now", in ms since the epoch: the Worker's clock, or, in test mode only, the
/// request's `X-Test-Now-Ms`, so that tests can act at a chosen hour of a chosen day.
pub fn now(req: &Request, env: &Env) -> u64 {
    let real = worker::Date::now().as_millis();
    if !test_mode(env) {
        return real;
    }
    req.headers()
        .get("x-test-now-ms")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(real)
}

/// A cron tick's instants: `minute`, the scheduled time, which escalation and the outbox work on
/// (a late or repeated tick does the same work); `now`, when it runs. In test mode the trigger may
/// name its time as the cron expression `now=<ms since the epoch>` (`wrangler dev`'s
/// `/__scheduled?cron=…` passes the expression through but not a time), and `now` is then the
/// scheduled time too, so that nothing in a test tick reads the machine's clock.
pub fn tick(event: &ScheduledEvent, env: &Env) -> (f64, f64) {
    if !test_mode(env) {
        return (event.schedule(), worker::Date::now().as_millis() as f64);
    }
    let minute = match event.cron().strip_prefix("now=").map(str::parse::<u64>) {
        Some(Ok(ms)) => ms as f64,
        _ => event.schedule(),
    };
    (minute, minute)
}
