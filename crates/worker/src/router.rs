//! The one route table: every method and path the Worker answers, which handler answers it and
//! who may call it (browser pages of the forms' allowed origins, a role's token, or anyone with
//! the route's own credential). `dispatch` routes from it, CORS reads it (`browser_request`), and the
//! OpenAPI document served at `GET /v1/openapi.json` (`crates/worker/openapi.json`) must list
//! exactly these operations (the unit test below, and `tests/admin.test.mjs` against the running
//! Worker).

use handoff_core::notify::LinkPurpose;
use worker::{Context, Env, Request, Response};

use crate::auth::{authorize, Role};
use crate::error::ApiError;
use crate::links::link;
use crate::public::FormAs;
use crate::store::BundleOnce;
use crate::{
    admin, config, crm, events, export, intake, metrics, people, public, push, queues, sla, slack,
    whatif,
};

/// What answers a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    CreateLead,
    ListLeads,
    GetLead,
    ReassignLead,
    GetForm,
    GetFormLoader,
    GetProfile,
    Preflight,
    Health,
    OpenApi,
    GetConfig,
    PutConfig,
    RollbackConfig,
    ListDeadLetters,
    RetryDeadLetter,
    ClaimLead,
    Pools,
    SlaLeads,
    LeadEvents,
    TakeLead,
    CrmIntake,
    Metrics,
    ExportCsv,
    ExportJsonl,
    ExportLeads,
    PreviewConfig,
    RouteLead,
    RejectLink,
    TakeLink,
    SlackInteraction,
    OpenInCrm,
    GetPerson,
    ErasePerson,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// The pages of the forms' allowed origins (the embedded form): CORS answers those origins
    /// on this route's path.
    Browser,
    /// Needs the admin role's token (`auth.rs`), checked by `dispatch` before the handler runs:
    /// the configuration, reassignment, dead letters, sales activity.
    Admin,
    /// Needs the reports role's token or the admin's: the dashboard, metrics, exports and the
    /// read-only lead views.
    Reports,
    /// Anyone: the route is harmless, or checks its own credential (a signed link, a CRM intake's
    /// token). No CORS.
    Open,
}

/// One operation: an HTTP method on a path pattern whose `{name}` segments match any non-empty
/// segment.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub op: Op,
    pub access: Access,
}

const fn route(method: &'static str, path: &'static str, op: Op, access: Access) -> Route {
    Route {
        method,
        path,
        op,
        access,
    }
}

use Access::{Admin, Browser, Open, Reports};

pub const ROUTES: &[Route] = &[
    route("POST", "/v1/leads", Op::CreateLead, Browser),
    route("OPTIONS", "/v1/leads", Op::Preflight, Browser),
    route("GET", "/v1/leads", Op::ListLeads, Reports),
    route("GET", "/v1/leads/{id}", Op::GetLead, Reports),
    route("POST", "/v1/leads/{id}/reassign", Op::ReassignLead, Admin),
    route("POST", "/v1/leads/{id}/events", Op::LeadEvents, Admin),
    route("POST", "/v1/leads/{id}/take", Op::TakeLead, Admin),
    // The signed link itself is the credential (an owner clicks it in Slack).
    route("GET", "/v1/leads/{id}/claim", Op::ClaimLead, Open),
    route("POST", "/v1/leads/{id}/claim", Op::ClaimLead, Open),
    route("GET", "/v1/leads/{id}/reject", Op::RejectLink, Open),
    route("POST", "/v1/leads/{id}/reject", Op::RejectLink, Open),
    route("GET", "/v1/leads/{id}/take-link", Op::TakeLink, Open),
    route("POST", "/v1/leads/{id}/take-link", Op::TakeLink, Open),
    route("GET", "/v1/leads/{id}/crm", Op::OpenInCrm, Open),
    route("POST", "/v1/slack/interactions", Op::SlackInteraction, Open),
    route("GET", "/v1/pools", Op::Pools, Reports),
    route("GET", "/v1/sla/leads", Op::SlaLeads, Reports),
    route("GET", "/v1/metrics", Op::Metrics, Reports),
    route("GET", "/v1/export/leads.csv", Op::ExportCsv, Reports),
    route("GET", "/v1/export/events.jsonl", Op::ExportJsonl, Reports),
    route("GET", "/v1/export/leads.jsonl", Op::ExportLeads, Reports),
    // Each intake checks its own bearer token (a secret the configuration names).
    route("POST", "/v1/crm/{id}", Op::CrmIntake, Open),
    route("GET", "/v1/forms/{id}", Op::GetForm, Browser),
    route("OPTIONS", "/v1/forms/{id}", Op::Preflight, Browser),
    // A classic script, which a page loads without CORS.
    route("GET", "/v1/forms/{id}/embed.js", Op::GetFormLoader, Open),
    route("GET", "/v1/profile", Op::GetProfile, Browser),
    route("OPTIONS", "/v1/profile", Op::Preflight, Browser),
    route("GET", "/v1/health", Op::Health, Open),
    route("GET", "/v1/openapi.json", Op::OpenApi, Open),
    route("GET", "/v1/config", Op::GetConfig, Admin),
    route("PUT", "/v1/config", Op::PutConfig, Admin),
    route("POST", "/v1/config/preview", Op::PreviewConfig, Admin),
    route("POST", "/v1/config/route", Op::RouteLead, Admin),
    route("POST", "/v1/config/rollback", Op::RollbackConfig, Admin),
    route("GET", "/v1/people/{email}", Op::GetPerson, Admin),
    route("DELETE", "/v1/people/{email}", Op::ErasePerson, Admin),
    route("GET", "/v1/dead-letters", Op::ListDeadLetters, Admin),
    route(
        "POST",
        "/v1/dead-letters/{id}/retry",
        Op::RetryDeadLetter,
        Admin,
    ),
];

/// The OpenAPI 3.1 document, served as is.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// The path's segments without leading and trailing slashes (`/v1/leads/` is `/v1/leads`).
fn segments(path: &str) -> Vec<&str> {
    path.trim_matches('/').split('/').collect()
}

/// The values of the pattern's `{name}` segments if `path` matches it.
fn matches<'p>(pattern: &str, path: &[&'p str]) -> Option<Vec<&'p str>> {
    let pattern = segments(pattern);
    if pattern.len() != path.len() {
        return None;
    }
    let mut params = Vec::new();
    for (want, have) in pattern.iter().zip(path) {
        if want.starts_with('{') {
            if have.is_empty() {
                return None;
            }
            params.push(*have);
        } else if want != have {
            return None;
        }
    }
    Some(params)
}

/// Why no route answers a request: no route has its path (404), or some do but not with its
/// method (405, with the methods they have).
#[derive(Debug, PartialEq, Eq)]
pub enum Miss {
    NoPath,
    Methods(Vec<&'static str>),
}

/// The route for `method` on `path` with its parameters, or why there is none.
pub fn find(method: &str, path: &str) -> Result<(&'static Route, Vec<String>), Miss> {
    let path = segments(path);
    let mut methods = Vec::new();
    for route in ROUTES {
        if let Some(params) = matches(route.path, &path) {
            if route.method == method {
                return Ok((route, params.into_iter().map(str::to_owned).collect()));
            }
            if !methods.contains(&route.method) {
                methods.push(route.method);
            }
        }
    }
    if methods.is_empty() {
        Err(Miss::NoPath)
    } else {
        Err(Miss::Methods(methods))
    }
}

/// Whether a request is for a browser route, so that CORS may answer the request's origin: the
/// route its method and path name is a browser route, or, for a method no route of the path lists
/// (a `405`), the path has a browser route. An admin route on a browser route's path (`GET
/// /v1/leads`, the leads list) never answers another origin.
pub fn browser_request(method: &str, path: &str) -> bool {
    let path = segments(path);
    let mut on_path = ROUTES.iter().filter(|r| matches(r.path, &path).is_some());
    match on_path.clone().find(|r| r.method == method) {
        Some(route) => route.access == Browser,
        None => on_path.any(|r| r.access == Browser),
    }
}

/// Answers `req` with the handler its route names, after the role check of a route that needs one.
pub async fn dispatch(
    mut req: Request,
    env: &Env,
    ctx: &Context,
    bundle: &BundleOnce,
) -> Result<Response, ApiError> {
    // The method as sent: the runtime's own `Method` reads any method it does not know (QUERY,
    // PROPFIND, …) as GET, which would answer it.
    let method = req.inner().method();
    let (route, params) = find(&method, &req.path()).map_err(|miss| match miss {
        Miss::Methods(methods) => ApiError::new(
            405,
            "method_not_allowed",
            format!(
                "This method is not allowed here; {} are.",
                methods.join(", ")
            ),
        )
        .with_header("allow", methods.join(", ")),
        Miss::NoPath => ApiError::new(404, "not_found", "No such endpoint."),
    })?;
    let now = crate::clock::now(&req, env);
    match route.access {
        Admin => authorize(&req, env, Role::Admin, now as f64).await?,
        Reports => authorize(&req, env, Role::Reports, now as f64).await?,
        Browser | Open => {}
    }
    let id = params.first().map(String::as_str).unwrap_or_default();
    match route.op {
        Op::CreateLead => intake::create_lead(&mut req, env, ctx, bundle, now).await,
        Op::ClaimLead => link(&mut req, env, id, LinkPurpose::Claim, bundle, now as i64).await,
        Op::RejectLink => link(&mut req, env, id, LinkPurpose::Reject, bundle, now as i64).await,
        Op::TakeLink => link(&mut req, env, id, LinkPurpose::Take, bundle, now as i64).await,
        Op::SlackInteraction => slack::interactions(&mut req, env, bundle, now as i64).await,
        Op::OpenInCrm => push::open(&req, env, id).await,
        Op::Pools => admin::get_pools(env, bundle, now as i64).await,
        Op::Metrics => metrics::report(&req, env, now as i64).await,
        Op::ExportCsv => metrics::export_csv(&req, env, now as i64).await,
        Op::ExportJsonl => metrics::export_jsonl(&req, env, now as i64).await,
        Op::ExportLeads => export::export_leads(&req, env, now as i64).await,
        Op::CrmIntake => crm::intake(&mut req, env, id, bundle, now as f64).await,
        Op::LeadEvents => events::record(&mut req, env, id, bundle, now as f64).await,
        Op::TakeLead => queues::take(&mut req, env, id, bundle, now as f64).await,
        Op::SlaLeads => sla::list(&req, env, now as i64).await,
        Op::Preflight => public::preflight(&req, env, bundle, route.access == Browser).await,
        Op::GetForm => public::get_form(&req, env, id, bundle, FormAs::Json).await,
        Op::GetFormLoader => public::get_form(&req, env, id, bundle, FormAs::Loader).await,
        Op::GetProfile => public::get_profile(&req, env).await,
        Op::Health => public::health(env, bundle, now as f64).await,
        Op::OpenApi => openapi(),
        Op::ListLeads => admin::list_leads(&req, env).await,
        Op::GetLead => admin::get_lead(env, id).await,
        Op::ReassignLead => admin::reassign(&mut req, env, id, bundle, now as f64).await,
        Op::ListDeadLetters => admin::list_dead_letters(&req, env).await,
        Op::RetryDeadLetter => admin::retry_dead_letter(env, id, now as f64).await,
        Op::GetConfig => config::get(env).await,
        Op::PutConfig => config::put(&mut req, env, now as i64).await,
        Op::PreviewConfig => export::preview(&mut req, env, bundle, now as i64).await,
        Op::RouteLead => whatif::route_lead(&mut req, env, bundle, now as i64).await,
        Op::RollbackConfig => config::rollback(&mut req, env, now as i64).await,
        Op::GetPerson => people::export(env, id).await,
        Op::ErasePerson => people::erase(env, id, now as f64).await,
    }
}

fn openapi() -> Result<Response, ApiError> {
    let mut response = Response::ok(OPENAPI)
        .map_err(|_| ApiError::new(500, "internal", "The answer could not be made."))?;
    let headers = response.headers_mut();
    let _ = headers.set("content-type", "application/json");
    let _ = headers.set("cache-control", "public, max-age=300");
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The document's operations are exactly the table's, and each role's operations (and only
    /// they) require its scheme: `admin` alone, or `reports` or `admin`.
    #[test]
    fn openapi_document_lists_exactly_the_route_table() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        assert_eq!(doc["openapi"].as_str().map(|v| &v[..4]), Some("3.1."));
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                let schemes: Vec<String> = operation["security"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.as_object()?.keys().next().cloned())
                    .collect();
                let role = match schemes.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                    ["admin"] => Some(Admin),
                    ["reports", "admin"] => Some(Reports),
                    _ => None,
                };
                documented.insert((method.to_uppercase(), path.clone(), role));
            }
        }
        let role = |access| matches!(access, Admin | Reports).then_some(access);
        let table: BTreeSet<_> = ROUTES
            .iter()
            .map(|r| (r.method.to_owned(), r.path.to_owned(), role(r.access)))
            .collect();
        assert_eq!(documented, table);
    }

    /// CORS answers another origin for browser routes only, never for an admin route that shares
    /// a browser route's path (regression: `GET /v1/leads`, the admin list, answered it).
    #[test]
    fn cors_is_for_browser_routes_by_method_and_path() {
        let table = [
            ("POST", "/v1/leads", true),
            ("OPTIONS", "/v1/leads", true),
            ("GET", "/v1/leads", false),
            ("PUT", "/v1/leads", true),
            ("GET", "/v1/forms/demo", true),
            ("GET", "/v1/profile", true),
            ("GET", "/v1/leads/abc", false),
            ("GET", "/v1/metrics", false),
            ("PUT", "/v1/config", false),
            ("GET", "/v1/nothing", false),
        ];
        for (method, path, expected) in table {
            assert_eq!(browser_request(method, path), expected, "{method} {path}");
        }
    }

    #[test]
    fn paths_match_their_patterns_only() {
        // (method, path, expected: Ok(op, params) or Err(the path's methods; none: no such path))
        type Expected = Result<(Op, &'static [&'static str]), &'static [&'static str]>;
        let cases: &[(&str, &str, Expected)] = &[
            ("GET", "/v1/leads", Ok((Op::ListLeads, &[]))),
            ("GET", "/v1/leads/", Ok((Op::ListLeads, &[]))),
            ("POST", "/v1/leads", Ok((Op::CreateLead, &[]))),
            ("GET", "/v1/leads/abc", Ok((Op::GetLead, &["abc"]))),
            (
                "POST",
                "/v1/leads/abc/reassign",
                Ok((Op::ReassignLead, &["abc"])),
            ),
            ("GET", "/v1/leads/abc/reassign", Err(&["POST"])),
            ("GET", "/v1/leads//reassign", Err(&[])),
            ("DELETE", "/v1/config", Err(&["GET", "PUT"])),
            ("GET", "/v1/nothing", Err(&[])),
            ("PUT", "/v1/leads/abc/claim", Err(&["GET", "POST"])),
            (
                "DELETE",
                "/v1/people/ana%40example.com",
                Ok((Op::ErasePerson, &["ana%40example.com"])),
            ),
            (
                "GET",
                "/v1/people/a@b.example",
                Ok((Op::GetPerson, &["a@b.example"])),
            ),
            ("POST", "/v1/people/a@b.example", Err(&["GET", "DELETE"])),
            (
                "POST",
                "/v1/dead-letters/x/retry",
                Ok((Op::RetryDeadLetter, &["x"])),
            ),
        ];
        for (method, path, expected) in cases {
            let got = find(method, path).map(|(r, p)| (r.op, p));
            let expected = expected
                .map(|(op, p)| (op, p.iter().map(|s| s.to_string()).collect()))
                .map_err(|methods| match methods {
                    [] => Miss::NoPath,
                    m => Miss::Methods(m.to_vec()),
                });
            assert_eq!(got, expected, "{method} {path}");
        }
    }
}
