//! What a change made in the CRM does to one of our leads, whichever vendor reports it: the lead
//! it is about ([`Subject`]), the change ([`Change`]: a new owner, a status, a deal closed), the
//! status move handoff-core's state machine is asked for, and which of a contact's leads a change
//! means. Pure: the vendors' modules read their bodies into [`Item`]s; the Worker finds the lead,
//! asks [`crate::status::advance`] and writes.

use crate::check::valid_id;
use crate::push::{Push, Target};
use crate::status::{LeadStatus, Move};

/// The longest CRM status value `statuses` maps, in bytes.
pub const MAX_VALUE: usize = 100;

/// The reason of a loss, rejection or recycling the CRM gave none for.
pub const UNSPECIFIED: &str = "unspecified";

/// Which of our leads an item is about, as the vendor names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    /// A record the push wrote (a HubSpot contact id): the lead `crm_records` holds it for.
    Record(String),
    /// Our lead id itself (Salesforce's `Handoff_Lead_Id__c`).
    Lead(String),
}

/// What the CRM changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The lead goes to our owner or queue `ours`, the CRM's owner `theirs` mapped back.
    Owner { ours: String, theirs: String },
    /// The lead moves to `to`, the CRM's status `value` mapped; `reason` is the code a loss,
    /// rejection or recycling records (the value as a code, see [`reason_code`]).
    Status {
        to: LeadStatus,
        value: String,
        reason: String,
    },
    /// The deal was won or lost, with its value and currency when the CRM gave both.
    Close {
        won: bool,
        amount: Option<(f64, String)>,
        reason: Option<String>,
    },
}

impl Change {
    /// The status move the change asks for; none for a new owner.
    pub fn step(&self) -> Option<Move<'_>> {
        match self {
            Change::Owner { .. } => None,
            Change::Status { to, reason, .. } => move_to(*to, reason),
            Change::Close { won: true, .. } => Some(Move::Won),
            Change::Close {
                won: false, reason, ..
            } => Some(Move::Lost {
                reason: reason.as_deref().unwrap_or(UNSPECIFIED),
            }),
        }
    }

    /// Whether the change says a rep reached the person, as the events API's outcomes do
    /// (`LeadEvent::is_contact`): a status of working, meeting, opportunity or won set in the
    /// CRM. It is then the lead's first touch, which stops its clock: a lead the CRM shows as
    /// worked must not escalate as untouched.
    pub fn is_contact(&self) -> bool {
        matches!(
            self,
            Change::Status {
                to: LeadStatus::Working
                    | LeadStatus::Meeting
                    | LeadStatus::Opportunity
                    | LeadStatus::Won,
                ..
            }
        )
    }
}

/// One item of a CRM's body, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Its index in the posted body (what `ignored` names).
    pub index: usize,
    /// When the CRM says it happened (HubSpot's `occurredAt`, ms), or 0: items are applied in
    /// this order, since a batch need not list them in it.
    pub occurred_at: i64,
    pub subject: Subject,
    pub change: Change,
}

/// Sorts `items` in the order they happened (then as posted), the order they are applied in.
pub fn in_order(items: &mut [Item]) {
    items.sort_by_key(|i| (i.occurred_at, i.index));
}

/// The move to status `to`, with `reason` for a loss, rejection or recycling; none for `new` and
/// `merged`, which no move reaches.
pub fn move_to(to: LeadStatus, reason: &str) -> Option<Move<'_>> {
    Some(match to {
        LeadStatus::New | LeadStatus::Merged => return None,
        LeadStatus::Accepted => Move::Accept,
        LeadStatus::Working => Move::Contact,
        LeadStatus::Meeting => Move::Meeting,
        LeadStatus::Opportunity => Move::Opportunity,
        LeadStatus::Won => Move::Won,
        LeadStatus::Lost => Move::Lost { reason },
        LeadStatus::Rejected => Move::Reject { reason },
        LeadStatus::Recycled => Move::Recycle { reason },
    })
}

/// A CRM status value as a reason code, the way reports group reasons: lowercase, each run of
/// other characters one `_` (`Closed - Not Converted` → `closed_not_converted`, `UNQUALIFIED`
/// → `unqualified`); [`UNSPECIFIED`] when nothing of it is a valid id.
pub fn reason_code(value: &str) -> String {
    let mut code = String::new();
    for c in value.chars() {
        if c.is_ascii_alphanumeric() {
            code.push(c.to_ascii_lowercase());
        } else if !code.is_empty() && !code.ends_with('_') {
            code.push('_');
        }
    }
    let code = code.trim_end_matches('_');
    let code = code.get(..64).unwrap_or(code).trim_end_matches('_');
    if valid_id(code) {
        code.to_owned()
    } else {
        UNSPECIFIED.to_owned()
    }
}

/// Our status for the CRM's `value`, by the intake's `statuses`, as a [`Change::Status`].
pub fn status_change(
    statuses: &std::collections::BTreeMap<String, LeadStatus>,
    value: &str,
) -> Option<Change> {
    let to = *statuses.get(value)?;
    Some(Change::Status {
        to,
        value: value.to_owned(),
        reason: reason_code(value),
    })
}

/// Our owner or queue for the CRM's owner `theirs`, through `push`'s `owners` read backwards.
/// Salesforce writes an id in 15 characters (case-sensitive) or 18 (the same 15 and a checksum
/// of their case): a Flow sends 18, a configuration may hold either, so they match on the 15.
pub fn our_owner<'p>(push: &'p Push, theirs: &str) -> Option<&'p str> {
    match push.target {
        Target::Hubspot => push.our_owner(theirs),
        Target::Salesforce => {
            let key = |id: &str| id.get(..15).map(str::to_owned);
            let wanted = key(theirs).filter(|_| matches!(theirs.len(), 15 | 18))?;
            push.owners
                .iter()
                .find(|(_, id)| key(id).as_deref() == Some(wanted.as_str()))
                .map(|(ours, _)| ours.as_str())
        }
    }
}

/// Of the leads the push wrote one CRM record for (a returning person's leads share their
/// contact), the one a change in the CRM is about: the newest still open, else the newest. Each
/// lead is `(status, created_at)`; the answer is its index.
pub fn current(leads: &[(Option<LeadStatus>, f64)]) -> Option<usize> {
    let open = |s: &Option<LeadStatus>| s.is_some_and(LeadStatus::is_open);
    (0..leads.len()).max_by(|&a, &b| {
        let (sa, ca) = &leads[a];
        let (sb, cb) = &leads[b];
        open(sa)
            .cmp(&open(sb))
            .then(ca.total_cmp(cb))
            .then(b.cmp(&a))
    })
}
