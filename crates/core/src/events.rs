//! What sales reports about a lead after it is routed: touches (a call, an email, a meeting
//! booked), outcomes (contacted, meeting held, opportunity, rejected with a reason code), and what
//! the CRM knows about the person (an open deal, a running sequence). Read from the events API's
//! JSON and checked here, so the Worker and the CLI accept exactly the same events; what each one
//! does to the lead (first touch, the SLA clock, suppression facts) is said by its methods.

use serde::{Deserialize, Serialize};

use crate::check::{code_enum, duplicate, problem, valid_id, ConfigCode, FirstSeen, Found, Step};
use crate::status::Move;
use crate::text::clean_line;

/// The longest actor and note accepted, in characters.
pub const MAX_ACTOR: usize = 120;
pub const MAX_NOTE: usize = 1000;

code_enum! {
    /// The kind of an entry in a lead's event log (`lead_events.kind`), as the Worker writes it
    /// and the metrics read it. Kinds are a contract (docs/METRICS.md lists every one): never
    /// renamed, new ones are added.
    pub enum EventKind {
        /// The lead was stored (its evaluation, attribution and bundle version).
        Created => "created",
        /// Routing's decision: the owner or queue, the rule, every candidate considered.
        Routed => "routed",
        /// On the open lead: a returning person's repeat submission was folded into it.
        Merged => "merged",
        /// On the repeat: the open lead it was folded into.
        MergedInto => "merged_into",
        /// A notification was delivered to a channel.
        Notified => "notified",
        /// A delivery failed and will be retried.
        NotifyFailed => "notify_failed",
        /// A delivery failed past the configured horizon.
        DeadLettered => "dead_lettered",
        /// An admin sent a dead letter back to the outbox.
        RetryRequested => "retry_requested",
        /// The first contact: the "I've got it" link, the events API or the CRM intake.
        FirstTouch => "first_touch",
        /// The owner took the lead ("I've got it", the events API, a queue member taking it). Not
        /// a contact: it is measured apart, as time to accept.
        Accepted => "accepted",
        /// Someone reached out (events API or CRM intake).
        Touch => "touch",
        /// What came of the lead: contacted, meeting held, opportunity, won, lost, rejected,
        /// recycled (with an amount and currency for opportunity, won and lost).
        Outcome => "outcome",
        /// The lead's status changed (`handoff_core::status`): from, to, why and how.
        StatusChanged => "status_changed",
        /// On an earlier lead: its person came back as a new lead, linked to this one.
        Returned => "returned",
        /// A repeat submission raised the lead's lifecycle stage (nurture → MQL or SQL).
        LifecycleRaised => "lifecycle_raised",
        /// The CRM has an open deal with the person.
        DealOpened => "deal_opened",
        /// The person's deal was closed.
        DealClosed => "deal_closed",
        /// The person was put in an outreach sequence.
        SequenceStarted => "sequence_started",
        /// The person's outreach sequence ended.
        SequenceEnded => "sequence_ended",
        /// The SLA clock started, with its first-touch deadline.
        SlaStarted => "sla_started",
        /// No clock: the CRM's facts say the person is being worked.
        SlaSuppressed => "sla_suppressed",
        /// A running clock stopped early (suppression, or the lead closed).
        SlaStopped => "sla_stopped",
        /// The cron could not read the lead's SLA clock (its ladder, or a value of its row): the
        /// clock is flagged (`stopped = 'unreadable'`) and skipped, `detail.code` says what.
        SlaUnreadable => "sla_unreadable",
        /// An SLA escalation step was taken.
        Escalated => "escalated",
        /// The lead moved to another owner (an admin or an SLA step).
        Reassigned => "reassigned",
        /// An SLA step found no other eligible pool member.
        ReassignSkipped => "reassign_skipped",
        /// The lead's record in a CRM (`[[crm.push]]`) took the lead as it stands.
        CrmPushed => "crm_pushed",
        /// A push to a CRM failed; it is retried (`next_at`) until the dead-letter horizon.
        CrmPushFailed => "crm_push_failed",
        /// The person's data was erased from the lead (`DELETE /v1/people/{email}`):
        /// `detail.erasure` names the `erasures` row; nothing of the person is in it.
        Erased => "erased",
    }
}

impl EventKind {
    /// The kind a log entry names, if it is one of ours.
    pub fn parse(kind: &str) -> Option<EventKind> {
        EventKind::ALL.iter().copied().find(|k| k.as_str() == kind)
    }
}

/// One event, as `POST /v1/leads/{id}/events` takes it: `{"type": "touch", …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LeadEvent {
    /// The owner took the lead. Not a contact.
    Accept {
        actor: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Someone reached out.
    Touch {
        channel: TouchChannel,
        actor: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// What came of the lead so far.
    Outcome {
        outcome: Outcome,
        /// Required for `lost`, `rejected` and `recycled`: a reason code such as `not_a_fit`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// The deal's value, for `opportunity` (pipeline), `won` and `lost`, with `currency`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount: Option<f64>,
        /// ISO 4217 code of `amount`: three capital letters.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        currency: Option<String>,
        actor: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The person has (or no longer has) an open deal.
    Deal {
        active: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actor: Option<String>,
    },
    /// The person is (or is no longer) enrolled in an outreach sequence.
    Sequence {
        active: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actor: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TouchChannel {
    Call,
    Email,
    MeetingBooked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Contacted,
    MeetingHeld,
    Opportunity,
    Won,
    Lost,
    Rejected,
    /// Back to nurture.
    Recycled,
}

impl Outcome {
    /// Whether the outcome needs a reason code (and may have no other).
    pub const fn needs_reason(self) -> bool {
        matches!(self, Outcome::Lost | Outcome::Rejected | Outcome::Recycled)
    }

    /// Whether the outcome may carry a deal amount.
    pub const fn has_amount(self) -> bool {
        matches!(self, Outcome::Opportunity | Outcome::Won | Outcome::Lost)
    }
}

/// The largest deal amount accepted (in the currency's main unit).
pub const MAX_AMOUNT: f64 = 1e12;

/// Why an event is refused. The codes are stable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventError {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> EventError {
    EventError {
        code,
        message: message.into(),
    }
}

/// Checks an outcome's reason: present (and a code) exactly when the outcome needs one.
fn check_reason_code(outcome: Outcome, reason: Option<&str>) -> Result<(), EventError> {
    match (outcome.needs_reason(), reason) {
        (true, None) => Err(refuse(
            "event.reason_required",
            "lost, rejected and recycled need a reason code, such as not_a_fit or student",
        )),
        (true, Some(r)) if !valid_id(r) => Err(refuse(
            "event.bad_reason",
            format!(
                "reason \"{r}\" must be a code: a lowercase letter, then a-z, 0-9, _ and - \
                 (at most 64)"
            ),
        )),
        (false, Some(_)) => Err(refuse(
            "event.unexpected_reason",
            "only lost, rejected and recycled have a reason",
        )),
        _ => Ok(()),
    }
}

/// Checks an outcome's amount: only on opportunity, won and lost, finite, 0 to [`MAX_AMOUNT`],
/// and always with a currency (`event.unexpected_amount`, `event.bad_amount`,
/// `event.bad_currency`).
fn check_amount(
    outcome: Outcome,
    amount: Option<f64>,
    currency: Option<&str>,
) -> Result<(), EventError> {
    if amount.is_none() && currency.is_none() {
        return Ok(());
    }
    if !outcome.has_amount() {
        return Err(refuse(
            "event.unexpected_amount",
            "only opportunity, won and lost have an amount",
        ));
    }
    match amount {
        Some(a) if a.is_finite() && (0.0..=MAX_AMOUNT).contains(&a) => {}
        _ => {
            return Err(refuse(
                "event.bad_amount",
                format!("amount is a number from 0 to {MAX_AMOUNT:e}, given with its currency"),
            ))
        }
    }
    match currency {
        Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => Ok(()),
        _ => Err(refuse(
            "event.bad_currency",
            "currency is an ISO 4217 code of three capital letters, such as EUR or USD",
        )),
    }
}

impl LeadEvent {
    /// Reads and checks one event from JSON text: `event.bad_json` (not an event: the message
    /// says why), `event.bad_actor`, `event.bad_note`, `event.reason_required`,
    /// `event.bad_reason`, `event.unexpected_reason`, `event.unexpected_amount`,
    /// `event.bad_amount`, `event.bad_currency`. Actor and note come back cleaned (one line,
    /// collapsed spaces).
    pub fn parse(text: &str) -> Result<LeadEvent, EventError> {
        let event: LeadEvent = serde_json::from_str(text)
            .map_err(|e| refuse("event.bad_json", format!("not an event: {e}")))?;
        event.checked()
    }

    fn checked(self) -> Result<LeadEvent, EventError> {
        let actor = |raw: &str| {
            clean_line(raw, MAX_ACTOR)
                .ok()
                .filter(|a| !a.is_empty())
                .ok_or_else(|| {
                    refuse(
                        "event.bad_actor",
                        format!("actor is who did it: 1 to {MAX_ACTOR} characters of text"),
                    )
                })
        };
        let note = |raw: Option<String>| match raw {
            None => Ok(None),
            Some(n) => clean_line(&n, MAX_NOTE).map(Some).map_err(|_| {
                refuse(
                    "event.bad_note",
                    format!("note is at most {MAX_NOTE} characters of text"),
                )
            }),
        };
        Ok(match self {
            LeadEvent::Accept { actor: a, note: n } => LeadEvent::Accept {
                actor: actor(&a)?,
                note: note(n)?,
            },
            LeadEvent::Touch {
                channel,
                actor: a,
                note: n,
            } => LeadEvent::Touch {
                channel,
                actor: actor(&a)?,
                note: note(n)?,
            },
            LeadEvent::Outcome {
                outcome,
                reason,
                amount,
                currency,
                actor: a,
                note: n,
            } => {
                check_reason_code(outcome, reason.as_deref())?;
                check_amount(outcome, amount, currency.as_deref())?;
                LeadEvent::Outcome {
                    outcome,
                    reason,
                    amount,
                    currency,
                    actor: actor(&a)?,
                    note: note(n)?,
                }
            }
            LeadEvent::Deal { active, actor: a } => LeadEvent::Deal {
                active,
                actor: a.as_deref().map(actor).transpose()?,
            },
            LeadEvent::Sequence { active, actor: a } => LeadEvent::Sequence {
                active,
                actor: a.as_deref().map(actor).transpose()?,
            },
        })
    }

    /// The kind of the event appended to the lead's log: `accepted`, `touch`, `outcome`,
    /// `deal_opened`, `deal_closed`, `sequence_started`, `sequence_ended`.
    pub fn kind(&self) -> &'static str {
        self.event_kind().as_str()
    }

    /// [`LeadEvent::kind`] as an [`EventKind`].
    pub fn event_kind(&self) -> EventKind {
        match self {
            LeadEvent::Accept { .. } => EventKind::Accepted,
            LeadEvent::Touch { .. } => EventKind::Touch,
            LeadEvent::Outcome { .. } => EventKind::Outcome,
            LeadEvent::Deal { active: true, .. } => EventKind::DealOpened,
            LeadEvent::Deal { active: false, .. } => EventKind::DealClosed,
            LeadEvent::Sequence { active: true, .. } => EventKind::SequenceStarted,
            LeadEvent::Sequence { active: false, .. } => EventKind::SequenceEnded,
        }
    }

    /// Who did it (`system` when the event does not say).
    pub fn actor(&self) -> &str {
        match self {
            LeadEvent::Accept { actor, .. }
            | LeadEvent::Touch { actor, .. }
            | LeadEvent::Outcome { actor, .. } => actor,
            LeadEvent::Deal { actor, .. } | LeadEvent::Sequence { actor, .. } => {
                actor.as_deref().unwrap_or("system")
            }
        }
    }

    /// Whether the event means someone reached the person: every touch, and the outcomes that
    /// cannot happen without contact (contacted, meeting held, opportunity, won). Accepting,
    /// rejecting, losing and recycling are verdicts, not contacts. The first such event is the
    /// lead's first touch and stops its clock.
    pub fn is_contact(&self) -> bool {
        match self {
            LeadEvent::Touch { .. } => true,
            LeadEvent::Outcome { outcome, .. } => matches!(
                outcome,
                Outcome::Contacted | Outcome::MeetingHeld | Outcome::Opportunity | Outcome::Won
            ),
            LeadEvent::Accept { .. } | LeadEvent::Deal { .. } | LeadEvent::Sequence { .. } => false,
        }
    }

    /// Whether the event rejects the lead (`status = rejected`; its clock stops).
    pub fn rejects(&self) -> bool {
        matches!(
            self,
            LeadEvent::Outcome {
                outcome: Outcome::Rejected,
                ..
            }
        )
    }

    /// The status move the event makes (`handoff_core::status`), if any: accept → `accepted`;
    /// a touch or `contacted` → `working`; `meeting_held` → `meeting`; then `opportunity`,
    /// `won`, `lost`, `rejected`, `recycled`. Deal and sequence facts move no lead.
    pub fn step(&self) -> Option<Move<'_>> {
        Some(match self {
            LeadEvent::Accept { .. } => Move::Accept,
            LeadEvent::Touch { .. } => Move::Contact,
            LeadEvent::Outcome {
                outcome, reason, ..
            } => {
                let reason = reason.as_deref().unwrap_or("");
                match outcome {
                    Outcome::Contacted => Move::Contact,
                    Outcome::MeetingHeld => Move::Meeting,
                    Outcome::Opportunity => Move::Opportunity,
                    Outcome::Won => Move::Won,
                    Outcome::Lost => Move::Lost { reason },
                    Outcome::Rejected => Move::Reject { reason },
                    Outcome::Recycled => Move::Recycle { reason },
                }
            }
            LeadEvent::Deal { .. } | LeadEvent::Sequence { .. } => return None,
        })
    }

    /// The deal amount and its currency, when the event carries one.
    pub fn amount(&self) -> Option<(f64, &str)> {
        match self {
            LeadEvent::Outcome {
                amount: Some(a),
                currency: Some(c),
                ..
            } => Some((*a, c)),
            _ => None,
        }
    }

    /// The suppression facts it sets about the person: `(active_deal, in_sequence)`, each `None`
    /// when the event says nothing about it.
    pub fn facts(&self) -> (Option<bool>, Option<bool>) {
        match self {
            LeadEvent::Deal { active, .. } => (Some(*active), None),
            LeadEvent::Sequence { active, .. } => (None, Some(*active)),
            _ => (None, None),
        }
    }
}

/// `[feedback]`: the reasons sales may reject a lead with. Omitted: any reason code is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reject_reasons: Vec<RejectReason>,
}

/// One `[[feedback.reject_reasons]]`: a stable code and what people read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectReason {
    pub id: String,
    pub label: String,
}

/// The longest reason label, in characters.
pub const MAX_REASON_LABEL: usize = 80;

impl FeedbackConfig {
    /// True when the configuration lists no reasons (the bundle then carries no `feedback`).
    pub fn is_empty(&self) -> bool {
        self.reject_reasons.is_empty()
    }

    pub fn reason(&self, id: &str) -> Option<&RejectReason> {
        self.reject_reasons.iter().find(|r| r.id == id)
    }
}

impl LeadEvent {
    /// Refuses a rejection whose reason the configuration does not list (`event.unknown_reason`),
    /// when it lists any.
    pub fn check_reason(&self, feedback: &FeedbackConfig) -> Result<(), EventError> {
        match self {
            LeadEvent::Outcome {
                outcome: Outcome::Rejected,
                reason: Some(reason),
                ..
            } if !feedback.is_empty() && feedback.reason(reason).is_none() => Err(refuse(
                "event.unknown_reason",
                format!(
                    "reason \"{reason}\" is not one of the configured reasons: {}",
                    feedback
                        .reject_reasons
                        .iter()
                        .map(|r| r.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// Checks `[feedback]`: reason ids (`config.invalid_id`, `config.duplicate_id`) and labels
/// (`config.invalid_reason`: empty or longer than [`MAX_REASON_LABEL`]).
pub(crate) fn check(feedback: &FeedbackConfig, found: &mut Vec<Found>) {
    let mut ids = FirstSeen::default();
    for (i, reason) in feedback.reject_reasons.iter().enumerate() {
        let at = |key| {
            vec![
                Step::Key("feedback"),
                Step::Key("reject_reasons"),
                Step::Index(i),
                Step::Key(key),
            ]
        };
        if !valid_id(&reason.id) {
            found.push(problem(
                ConfigCode::InvalidId,
                format!(
                    "reason id \"{}\" must start with a lowercase letter and use only a-z, 0-9, _ \
                     and - (at most 64)",
                    reason.id
                ),
                at("id"),
            ));
        } else if let Some(first) = ids.seen_before(&reason.id, &at("id")) {
            let message = format!("reason id \"{}\" is used twice", reason.id);
            found.push(duplicate(message, at("id"), first));
        }
        let mut push = |code, message: String, key| found.push(problem(code, message, at(key)));
        let label = reason.label.trim();
        if label.is_empty() || label.chars().count() > MAX_REASON_LABEL {
            push(
                ConfigCode::InvalidReason,
                format!("a reason's label is 1 to {MAX_REASON_LABEL} characters"),
                "label",
            );
        }
    }
}
