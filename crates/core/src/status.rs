//! A lead's status after routing, as a small state machine (issue 15): routed (`new`) →
//! `accepted` (the owner took it) → `working` (first real contact) → `meeting` → `opportunity` →
//! `won` / `lost`; `rejected` with a reason code, `recycled` back to nurture with a reason,
//! `merged` into an earlier lead. Each change is a `Move` that the adapters record as an event
//! with who, when and why; a move the machine refuses has a stable `status.*` code.
//!
//! Pure: the status and the move come in, the next status (or a code) goes out.

use serde::{Deserialize, Serialize};

use crate::check::code_enum;

/// Where a lead stands. The open statuses are ordered: a lead only moves forward through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    /// Routed to an owner or a queue; nobody has taken it yet.
    New,
    /// The owner took it ("I've got it"). Not a contact: it is measured apart.
    Accepted,
    /// First real contact: a call, an email, a meeting booked.
    Working,
    Meeting,
    Opportunity,
    Won,
    Lost,
    /// Sales turned it down, with a reason code.
    Rejected,
    /// Sent back to nurture, with a reason.
    Recycled,
    /// Folded into an earlier lead of the same person.
    Merged,
}

impl LeadStatus {
    /// Every status, in order.
    pub const ALL: [LeadStatus; 10] = [
        LeadStatus::New,
        LeadStatus::Accepted,
        LeadStatus::Working,
        LeadStatus::Meeting,
        LeadStatus::Opportunity,
        LeadStatus::Won,
        LeadStatus::Lost,
        LeadStatus::Rejected,
        LeadStatus::Recycled,
        LeadStatus::Merged,
    ];

    /// The stable code, as stored (`leads.status`) and served.
    pub const fn as_str(self) -> &'static str {
        match self {
            LeadStatus::New => "new",
            LeadStatus::Accepted => "accepted",
            LeadStatus::Working => "working",
            LeadStatus::Meeting => "meeting",
            LeadStatus::Opportunity => "opportunity",
            LeadStatus::Won => "won",
            LeadStatus::Lost => "lost",
            LeadStatus::Rejected => "rejected",
            LeadStatus::Recycled => "recycled",
            LeadStatus::Merged => "merged",
        }
    }

    /// The status whose code is `code`.
    pub fn parse(code: &str) -> Option<LeadStatus> {
        LeadStatus::ALL.into_iter().find(|s| s.as_str() == code)
    }

    /// Whether sales still works the lead: every status before `won`.
    pub const fn is_open(self) -> bool {
        matches!(
            self,
            LeadStatus::New
                | LeadStatus::Accepted
                | LeadStatus::Working
                | LeadStatus::Meeting
                | LeadStatus::Opportunity
        )
    }

    /// Whether a lead in this status counts against its owner's capacity, by default: taken or
    /// not, but not yet worked (`new`, `accepted`). Working a lead frees the slot.
    pub const fn holds_capacity_by_default(self) -> bool {
        matches!(self, LeadStatus::New | LeadStatus::Accepted)
    }
}

/// What happened to a lead, as the events API, the CRM intake, the admin API and the claim link
/// report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move<'a> {
    /// The owner took the lead.
    Accept,
    /// A real contact: a call, an email, a meeting booked.
    Contact,
    /// A meeting was held.
    Meeting,
    /// An opportunity was opened.
    Opportunity,
    /// The deal was won.
    Won,
    /// The deal was lost, with a reason code.
    Lost { reason: &'a str },
    /// Sales turned the lead down, with a reason code.
    Reject { reason: &'a str },
    /// Back to nurture, with a reason.
    Recycle { reason: &'a str },
    /// A repeat submission folded into an earlier lead, at once.
    Merge,
}

impl Move<'_> {
    /// The status the move leads to.
    pub const fn target(&self) -> LeadStatus {
        match self {
            Move::Accept => LeadStatus::Accepted,
            Move::Contact => LeadStatus::Working,
            Move::Meeting => LeadStatus::Meeting,
            Move::Opportunity => LeadStatus::Opportunity,
            Move::Won => LeadStatus::Won,
            Move::Lost { .. } => LeadStatus::Lost,
            Move::Reject { .. } => LeadStatus::Rejected,
            Move::Recycle { .. } => LeadStatus::Recycled,
            Move::Merge => LeadStatus::Merged,
        }
    }

    fn reason(&self) -> Option<&str> {
        match self {
            Move::Lost { reason } | Move::Reject { reason } | Move::Recycle { reason } => {
                Some(reason)
            }
            _ => None,
        }
    }
}

code_enum! {
    /// Why the state machine refused a move. Codes are a contract: never renamed.
    pub enum StatusCode {
        /// The lead is closed (won, lost, rejected, recycled or merged): nothing moves it.
        Closed => "status.closed",
        /// Lost, rejected and recycled leads need a reason code.
        ReasonRequired => "status.reason_required",
        /// Only a lead that nobody took yet can be merged into an earlier one.
        NotNew => "status.not_new",
    }
}

/// What a move did: the status before and after, and whether it changed (a second call on a
/// lead in a meeting is logged as a touch, but the lead stays where it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    pub from: LeadStatus,
    pub to: LeadStatus,
}

impl Moved {
    pub fn changed(&self) -> bool {
        self.from != self.to
    }
}

/// The next status of a lead in `from` after `step`, or why not. Open statuses only move
/// forward: a step to where the lead already is, or behind it, leaves it there (`changed()` is
/// false); a step may skip ahead (a CRM reports a meeting before anyone logged the call). A closed
/// lead does not move, except that a lost or rejected lead may be recycled to nurture.
pub fn advance(from: LeadStatus, step: &Move<'_>) -> Result<Moved, StatusCode> {
    if step.reason().is_some_and(|r| r.trim().is_empty()) {
        return Err(StatusCode::ReasonRequired);
    }
    let to = step.target();
    let stay = Moved { from, to: from };
    let recyclable = matches!(from, LeadStatus::Lost | LeadStatus::Rejected);
    match step {
        Move::Recycle { .. } if recyclable => Ok(Moved { from, to }),
        _ if !from.is_open() => Err(StatusCode::Closed),
        Move::Merge if from != LeadStatus::New => Err(StatusCode::NotNew),
        // Forward through the open statuses; never back.
        Move::Accept | Move::Contact | Move::Meeting | Move::Opportunity if to <= from => Ok(stay),
        _ => Ok(Moved { from, to }),
    }
}
