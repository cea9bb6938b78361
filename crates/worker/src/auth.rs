//! Who may call what: the two roles and their tokens, and the throttle on failed attempts.
//!
//! - `admin` (`ADMIN_TOKEN`): the configuration, reassignment, dead letters, sales activity, and
//!   everything `reports` may do;
//! - `reports` (`REPORTS_TOKEN`): the dashboard, metrics, exports and the read-only lead views.
//!
//! Each token is a wrangler secret, either as itself (at least
//! [`handoff_core::client::MIN_TOKEN_LEN`] characters, or the role refuses every request) or as its
//! SHA-256 in hex under `ADMIN_TOKEN_SHA256` / `REPORTS_TOKEN_SHA256` (which then wins), so that
//! the Worker's settings need not hold the token at all. A presented token is compared as its
//! digest, in constant time. Every failed attempt, here and at a CRM intake, counts against the
//! client's sign-in window (`ratelimit.rs`), which is read before any token is compared: once it is
//! full, even the right token waits until the window ends.

use handoff_core::client::{expected_digest, token_matches, Stored, TokenProblem};
use worker::{Env, Request};

use crate::error::ApiError;
use crate::fetch::secret;
use crate::http::header;
use crate::ratelimit::Window;
use crate::store::Db;

/// A role a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Reports,
    Admin,
}

impl Role {
    /// The secret that holds the role's token.
    pub const fn secret(self) -> &'static str {
        match self {
            Role::Reports => "REPORTS_TOKEN",
            Role::Admin => "ADMIN_TOKEN",
        }
    }

    /// The roles whose token opens a route of this role: the admin's opens every route.
    const fn accepted(self) -> &'static [Role] {
        match self {
            Role::Reports => &[Role::Reports, Role::Admin],
            Role::Admin => &[Role::Admin],
        }
    }

    pub const ALL: [Role; 2] = [Role::Admin, Role::Reports];

    /// What the role opens, as health names it when its secret is missing.
    pub const fn purpose(self) -> &'static str {
        match self {
            Role::Reports => {
                "the reports role: dashboard, metrics, exports; until it is set, only the admin token opens them"
            }
            Role::Admin => "the admin role: configuration, reassignment, dead letters",
        }
    }
}

/// A role's token as the Worker's secrets hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Configured {
    Missing,
    Unusable(TokenProblem),
    Digest([u8; 32]),
}

/// The role's token as configured: its `…_SHA256` secret if set, else its plain secret.
pub fn configured(env: &Env, role: Role) -> Configured {
    let hashed = secret(env, &format!("{}_SHA256", role.secret())).ok();
    let plain = secret(env, role.secret()).ok();
    let stored = match (&hashed, &plain) {
        (Some(hex), _) => Stored::Sha256Hex(hex),
        (None, Some(token)) => Stored::Plain(token),
        (None, None) => return Configured::Missing,
    };
    match expected_digest(stored) {
        Ok(digest) => Configured::Digest(digest),
        Err(problem) => Configured::Unusable(problem),
    }
}

/// The token of `Authorization: Bearer <token>` (empty without one).
fn presented(req: &Request) -> String {
    header(req, "authorization")
        .and_then(|h| h.strip_prefix("Bearer ").map(str::to_owned))
        .unwrap_or_default()
}

fn unauthorized() -> ApiError {
    ApiError::new(401, "unauthorized", "A valid bearer token is required.")
}

/// Requires a token of a role that opens `role`'s routes: `503` when no such role has a usable
/// token (`admin_not_configured`, or the problem's code), `429 too_many_attempts` while the
/// client's failed attempts fill its window, `401 unauthorized` for anything else.
pub async fn authorize(req: &Request, env: &Env, role: Role, now: f64) -> Result<(), ApiError> {
    let mut digests = Vec::new();
    let mut problem = None;
    for accepted in role.accepted() {
        match configured(env, *accepted) {
            Configured::Digest(digest) => digests.push(digest),
            Configured::Unusable(p) => problem = problem.or(Some((*accepted, p))),
            Configured::Missing => {}
        }
    }
    if digests.is_empty() {
        return Err(match problem {
            Some((role, TokenProblem::TooShort)) => ApiError::new(
                503,
                "token_too_short",
                format!(
                    "The {} secret is shorter than {} characters; set a longer one.",
                    role.secret(),
                    handoff_core::client::MIN_TOKEN_LEN
                ),
            ),
            Some((role, TokenProblem::NotADigest)) => ApiError::new(
                503,
                "token_digest_invalid",
                format!("The {}_SHA256 secret is not 64 hex digits.", role.secret()),
            ),
            None => ApiError::new(
                503,
                "admin_not_configured",
                format!("The {} secret is not set on this Worker.", role.secret()),
            ),
        });
    }
    presents_one_of(req, env, now, &digests).await
}

/// Requires the bearer token to be one whose SHA-256 is among `digests`, throttled (`throttled`).
async fn presents_one_of(
    req: &Request,
    env: &Env,
    now: f64,
    digests: &[[u8; 32]],
) -> Result<(), ApiError> {
    let token = presented(req);
    let matches = digests.iter().any(|digest| token_matches(&token, digest));
    throttled(req, env, now, || {
        matches.then_some(()).ok_or_else(unauthorized)
    })
    .await
}

/// Requires `Authorization: Bearer <expected>` (a CRM intake's secret), throttled like the roles'
/// tokens: `429 too_many_attempts`, else `401 unauthorized`.
pub async fn check_token(
    req: &Request,
    env: &Env,
    now: f64,
    expected: &str,
) -> Result<(), ApiError> {
    use sha2::{Digest, Sha256};
    // A CRM vendor's token may be shorter than ours; it is compared as a digest all the same. An
    // empty secret matches nothing.
    let digests: Vec<[u8; 32]> = (!expected.is_empty())
        .then(|| Sha256::digest(expected.as_bytes()).into())
        .into_iter()
        .collect();
    presents_one_of(req, env, now, &digests).await
}

/// Answers `429 too_many_attempts` while the client's window of failed attempts is full, else
/// what `check` answers, counting a refusal against the window.
pub async fn throttled(
    req: &Request,
    env: &Env,
    now: f64,
    check: impl FnOnce() -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    let db = Db::open(env)?;
    let window = Window::sign_ins(req, env, now);
    window.over_sign_ins(window.read(&db).await?)?;
    let refused = match check() {
        Ok(()) => return Ok(()),
        Err(refused) => refused,
    };
    window.count(&db).await?;
    Err(refused)
}
