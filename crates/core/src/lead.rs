//! A lead as the CLI and the Worker receive it (`LeadInput`) and as the rules judge it
//! (`Evaluation`): plain data, below the pipeline that computes it (`evaluate`) and the
//! notifications and routing that read it.

use serde::{Deserialize, Serialize};

use crate::answer::AnswerMap;
use crate::disqualify::{Disqualification, SubmitContext};
use crate::enrich::EmailFlags;
use crate::issue::Issue;
use crate::scoring::{Activity, Grade, Score, Stage};
use crate::visibility::Known;

/// One lead as the CLI and the Worker receive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadInput {
    pub form: String,
    #[serde(default)]
    pub answers: AnswerMap,
    #[serde(default)]
    pub activity: Vec<Activity>,
    /// Fields already known about this visitor: id → when learned (ms since the epoch).
    #[serde(default)]
    pub known: Known,
    #[serde(default)]
    pub context: SubmitContext,
}

/// Everything the rules say about one lead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub bundle_version: String,
    pub form: String,
    /// True when no answer has an issue.
    pub valid: bool,
    /// The answers that passed their checks, normalized.
    pub answers: AnswerMap,
    pub issues: Vec<Issue>,
    /// The fields the form shows for these answers and this visitor, in form order.
    pub visible: Vec<String>,
    pub score: Score,
    pub grade: Grade,
    pub lifecycle: Stage,
    pub disqualification: Option<Disqualification>,
    /// What the lead's email address says: free mail, disposable, role account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailFlags>,
}

/// The lead names a form the bundle does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownForm {
    pub code: &'static str,
    pub message: String,
}
