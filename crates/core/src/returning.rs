//! A returning person: a submission from someone who already has a lead. It merges into that
//! lead only while the lead is still open and within the merge window (`[routing] merge_window`,
//! default 30 days); otherwise it is a new lead linked to the earlier one (`previous_lead`), given
//! to the earlier owner while they are active (owner affinity, in `routing::route`). A merge
//! that raises the lead's lifecycle (nurture → MQL or SQL) is announced, with its own SLA clock.
//!
//! Pure: the earlier lead, the new verdict and the time come in; where the repeat goes comes out.

use serde::Serialize;

use crate::routing::{Assignee, By, Decision};
use crate::scoring::Stage;
use crate::status::LeadStatus;

pub use crate::routing::DEFAULT_MERGE_WINDOW_MS;

/// The person's latest earlier lead, as the caller stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct Earlier<'a> {
    pub id: &'a str,
    pub status: LeadStatus,
    /// Who holds it: a person or a queue.
    pub assignee: Assignee,
    pub created_ms: i64,
    pub lifecycle: Option<Stage>,
}

/// Where a repeat submission goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "place", rename_all = "snake_case")]
pub enum Repeat {
    /// Folded into the earlier lead (same owner, no new routing). `raised`: the repeat raised the
    /// lead's lifecycle to MQL or SQL, so its owner hears of it and a clock starts for the new
    /// stage.
    Merge {
        into: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        raised: Option<(Stage, Stage)>,
    },
    /// A new lead, linked to the earlier one, and routed (the earlier owner first, if a person).
    Linked {
        previous_lead: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        previous_owner: Option<String>,
    },
}

/// Where the repeat of a person whose latest lead is `earlier` goes, at `now_ms`, given the
/// repeat's lifecycle stage and the merge window.
pub fn place(earlier: &Earlier<'_>, lifecycle: Stage, now_ms: i64, window_ms: i64) -> Repeat {
    let within = now_ms.saturating_sub(earlier.created_ms) <= window_ms;
    if earlier.status.is_open() && within {
        let raised = earlier
            .lifecycle
            .filter(|from| rank(lifecycle) > rank(*from) && rank(lifecycle) >= rank(Stage::Mql))
            .map(|from| (from, lifecycle));
        return Repeat::Merge {
            into: earlier.id.to_owned(),
            raised,
        };
    }
    Repeat::Linked {
        previous_lead: earlier.id.to_owned(),
        previous_owner: match &earlier.assignee {
            Assignee::Owner(id) => Some(id.clone()),
            Assignee::Queue(_) => None,
        },
    }
}

/// Stages in order of readiness: disqualified, nurture, MQL, SQL.
const fn rank(stage: Stage) -> u8 {
    match stage {
        Stage::Disqualified => 0,
        Stage::Nurture => 1,
        Stage::Mql => 2,
        Stage::Sql => 3,
    }
}

/// The decision that announces a merge that raised a lead's lifecycle: the lead stays with
/// `holder`, and the summary says why the owner hears of it again.
pub fn raised_decision(holder: Assignee, into: &str, from: Stage, to: Stage) -> Decision {
    Decision {
        summary: format!(
            "Returning person: their open lead {into} rose from {} to {}, and stays with its owner.",
            from.as_str(),
            to.as_str()
        ),
        assignee: holder,
        pool: None,
        by: By::Returning,
        account: None,
        unmatched_rules: Vec::new(),
        attempts: Vec::new(),
        changes: Vec::new(),
    }
}
