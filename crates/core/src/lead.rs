//! A lead as the CLI and the Worker receive it (`LeadInput`) and as the rules judge it
//! (`Evaluation`): plain data, below the pipeline that computes it (`evaluate`) and the
//! notifications and routing that read it.

use serde::{Deserialize, Serialize};

use crate::answer::AnswerMap;
use crate::disqualify::{Disqualification, SubmitContext};
use crate::enrich::EmailFlags;
use crate::form::FormSpec;
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
    /// The person's earlier leads (by visitor token or email address), newest first: what they
    /// told us before fills in what this submission does not say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier: Vec<EarlierLead>,
}

/// One earlier lead of the same person, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlierLead {
    pub lead_id: String,
    /// When it was submitted (ms since the epoch).
    pub at_ms: i64,
    pub answers: AnswerMap,
}

/// Where a known answer came from: an earlier lead, and when it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Learned {
    pub lead_id: String,
    pub at_ms: i64,
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
    /// The answers that came from the person's earlier leads rather than this submission: field
    /// id → which lead, and when. Every other answer is this submission's.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub learned: std::collections::BTreeMap<String, Learned>,
    /// The country and region the answers say, as codes.
    #[serde(flatten)]
    pub place: crate::enrich::Place,
    /// Answers to questions the form does not have (a typo in an API client's key, a field since
    /// removed from the form a visitor had open), as sent: kept with the lead so nothing is lost,
    /// but not checked, scored or routed on. The Worker answers each as an `answer.unknown_field`
    /// warning; `handoff eval` as an issue.
    #[serde(skip_serializing_if = "AnswerMap::is_empty")]
    pub unknown: AnswerMap,
}

/// An evaluation as `handoff eval` prints it: the [`Evaluation`]'s fields in its order, with
/// `score`, `grade`, `lifecycle` and `disqualification` null for a lead that is not valid, which
/// the Worker refuses (`422`) before any verdict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EvaluationReport<'a> {
    pub bundle_version: &'a str,
    pub form: &'a str,
    pub valid: bool,
    pub answers: &'a AnswerMap,
    pub issues: &'a [Issue],
    pub visible: &'a [String],
    pub score: Option<&'a Score>,
    pub grade: Option<Grade>,
    pub lifecycle: Option<Stage>,
    pub disqualification: Option<&'a Disqualification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<&'a EmailFlags>,
}

impl Evaluation {
    /// The evaluation as `handoff eval` reports it: a verdict only for a valid lead.
    pub fn report(&self) -> EvaluationReport<'_> {
        let valid = self.valid;
        EvaluationReport {
            bundle_version: &self.bundle_version,
            form: &self.form,
            valid,
            answers: &self.answers,
            issues: &self.issues,
            visible: &self.visible,
            score: valid.then_some(&self.score),
            grade: valid.then_some(self.grade),
            lifecycle: valid.then_some(self.lifecycle),
            disqualification: self.disqualification.as_ref().filter(|_| valid),
            email: self.email.as_ref(),
        }
    }

    /// Whether the rules judged the submission a bot (honeypot, fill time): it is stored closed
    /// and never routed.
    pub fn is_bot(&self) -> bool {
        self.disqualification
            .as_ref()
            .is_some_and(|d| d.reason.is_bot())
    }

    /// What the person who submitted `form` is told: the stage and the next step configured for
    /// it (`outcomes`), or the form's success message. A bot is answered like a person's ordinary
    /// request (nurture, the success message), so that it learns nothing about what gave it away.
    pub fn reply<'a>(&self, form: &'a FormSpec) -> Reply<'a> {
        let bot = self.is_bot();
        let stage = if bot { Stage::Nurture } else { self.lifecycle };
        match form.outcome(stage).filter(|_| !bot) {
            Some(o) => Reply {
                stage,
                message: &o.message,
                link_url: &o.link_url,
                link_label: &o.link_label,
            },
            None => Reply {
                stage,
                message: &form.success_message,
                link_url: "",
                link_label: "",
            },
        }
    }
}

/// The answer to a submission (see [`Evaluation::reply`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply<'a> {
    pub stage: Stage,
    pub message: &'a str,
    /// Empty without a link.
    pub link_url: &'a str,
    pub link_label: &'a str,
}

/// A visitor token, the first-party id the form keeps in the host site's storage: 16 to 64
/// letters, digits, `-` or `_` (the form makes a UUID).
pub fn valid_visitor(token: &str) -> bool {
    (16..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The lead names a form the bundle does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownForm {
    pub code: &'static str,
    pub message: String,
}
