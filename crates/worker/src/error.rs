//! API errors: an HTTP status, a stable machine-readable code and a plain message, always as
//! `{"error": {"code", "message", "issues"?}}`.

use handoff_core::Issue;
use serde::Serialize;
use worker::Response;

/// The error `pool_turns_next` raises, and the code of a turn lost too often.
pub const LOST_TURN: &str = "rotation_turn_lost";

#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub issues: Vec<Issue>,
    /// Headers the answer carries besides the body: a 429's `Retry-After`, a 405's `Allow`.
    pub headers: Vec<(&'static str, String)>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "<[Issue]>::is_empty")]
    issues: &'a [Issue],
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            issues: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn invalid(issues: Vec<Issue>) -> ApiError {
        ApiError {
            status: 422,
            code: "validation_failed",
            message: "Some answers are not valid; see issues.".to_owned(),
            issues,
            headers: Vec::new(),
        }
    }

    /// Storage failed: nothing was committed, so the client may safely retry.
    pub fn storage(_: worker::Error) -> ApiError {
        ApiError::new(
            503,
            "storage_unavailable",
            "The lead could not be stored; please retry.",
        )
    }

    /// A failed D1 call: a rotation turn a concurrent submission took first (the batch of migration
    /// 0014's `pool_turns_next`, rolled back whole), or any other storage failure.
    pub fn from_d1(error: worker::Error) -> ApiError {
        if error.to_string().contains(LOST_TURN) {
            ApiError::new(
                503,
                LOST_TURN,
                "Too many submissions reached this pool at once; please retry.",
            )
        } else {
            ApiError::storage(error)
        }
    }

    /// The same error, telling the client to retry after `seconds` (`Retry-After`).
    pub fn retry_after(self, seconds: u32) -> ApiError {
        self.with_header("retry-after", seconds.to_string())
    }

    /// The same error, answered with header `name`.
    pub fn with_header(mut self, name: &'static str, value: String) -> ApiError {
        self.headers.push((name, value));
        self
    }

    /// Whether this is a lost rotation turn, the one failure worth routing again for.
    pub fn lost_turn(&self) -> bool {
        self.code == LOST_TURN
    }

    pub fn into_response(self) -> worker::Result<Response> {
        let body = Body {
            error: Detail {
                code: self.code,
                message: &self.message,
                issues: &self.issues,
            },
        };
        let mut response = Response::from_json(&body)?.with_status(self.status);
        for (name, value) in &self.headers {
            response.headers_mut().set(name, value)?;
        }
        Ok(response)
    }
}
