//! Who hears of a lead, and what each is sent. A routed lead reaches its owner personally (a Slack
//! direct message from the app, or an email), or each member of the queue it waits in; the
//! configured channels whose `when` holds hear of it too. An SLA escalation step reaches the
//! person it names personally and the channels that heard of the lead. Every message is built
//! here, with the buttons or signed links its recipient may use: Accept and "Not a fit" for
//! whoever holds the lead, "Take it" for a queue's members. The Worker stores each message as an
//! outbox row and sends it. Pure.

use serde_json::{json, Value};

use crate::alert_mail::{escalation_mail, lead_mail};
use crate::check::{problem, ConfigCode, Found, Step};
use crate::condition::{Answers, Condition, Value as CondValue};
use crate::events::RejectReason;
use crate::notify::{
    action_link, slack_escalation_with, slack_message_with, valid_slack_id, webhook_escalation,
    webhook_payload, Actions, Buttons, Channel, ChannelKind, Escalation, LeadSummary, LinkPurpose,
    NotifyRules,
};
use crate::routing::{Assignee, By, CompiledRouting, Decision, LeadView, OwnerSpec, RouteInput};

/// The most members of a queue who are alerted personally of one of its leads.
pub const MAX_QUEUE_ALERTS: usize = 20;
/// The outbox kind of a Slack direct message sent by the app.
pub const SLACK_DM: &str = "slack_dm";
/// The outbox kind of an email alert.
pub const EMAIL: &str = "email";
/// The webhook event type of a routed lead.
pub const LEAD_ROUTED: &str = "lead.routed";
/// The names a channel's `when` reads besides the routing attributes and the form fields: the
/// owner's id, the team (the pool that chose the owner, or the queue), the routing rule that
/// placed the lead (a territory is a rule).
pub const CHANNEL_ATTRIBUTES: [&str; 3] = ["owner", "team", "rule"];

pub use crate::routing::Medium;

/// How `owner` hears of leads: what they chose, else Slack when the app is set up, else email
/// when email alerts are; `None` when neither reaches them.
pub fn medium(notify: &NotifyRules, owner: &OwnerSpec) -> Option<Medium> {
    let slack = notify.slack.is_some() && (owner.slack.is_some() || owner.email.is_some());
    let email = notify.email.is_some() && owner.email.is_some();
    match owner.alerts {
        Some(Medium::Slack) if slack => Some(Medium::Slack),
        Some(Medium::Email) if email => Some(Medium::Email),
        None if slack => Some(Medium::Slack),
        None if email => Some(Medium::Email),
        _ => None,
    }
}

/// Checks what alerts need of the owners: Slack user ids, and that an owner's chosen medium is
/// set up and can reach them (`config.invalid_owner`).
pub(crate) fn check(notify: &NotifyRules, owners: &[OwnerSpec], found: &mut Vec<Found>) {
    for (i, owner) in owners.iter().enumerate() {
        let at = |key| {
            vec![
                Step::Key("routing"),
                Step::Key("owners"),
                Step::Index(i),
                Step::Key(key),
            ]
        };
        let mut push = |message: String, key| {
            found.push(problem(ConfigCode::InvalidAlerts, message, at(key)));
        };
        if let Some(id) = &owner.slack {
            if !valid_slack_id(id, b"UW") {
                push(format!("slack \"{id}\" must be a Slack user id such as U0123ABCD (in Slack: the person's profile, \"Copy member ID\")"), "slack");
            }
        }
        match owner.alerts {
            Some(Medium::Slack) if notify.slack.is_none() => push(
                format!("owner \"{}\" wants Slack alerts, but [notify.slack] is not set up", owner.id),
                "alerts",
            ),
            Some(Medium::Slack) if owner.slack.is_none() && owner.email.is_none() => push(
                format!("owner \"{}\" wants Slack alerts: give their slack user id or their email to look it up by", owner.id),
                "alerts",
            ),
            Some(Medium::Email) if notify.email.is_none() => push(
                format!("owner \"{}\" wants email alerts, but [notify.email] is not set up", owner.id),
                "alerts",
            ),
            Some(Medium::Email) if owner.email.is_none() => push(
                format!("owner \"{}\" wants email alerts but has no email", owner.id),
                "alerts",
            ),
            _ => {}
        }
    }
}

/// A lead as a channel's `when` reads it.
struct ChannelView<'a> {
    lead: LeadView<'a>,
    owner: Option<&'a str>,
    team: Option<&'a str>,
    rule: Option<&'a str>,
}

impl Answers for ChannelView<'_> {
    fn get(&self, field: &str) -> Option<CondValue<'_>> {
        match field {
            "owner" => self.owner.map(CondValue::Text),
            "team" => self.team.map(CondValue::Text),
            "rule" => self.rule.map(CondValue::Text),
            _ => self.lead.get(field),
        }
    }
}

/// The channels that hear of `lead`, placed by `decision`: each whose compiled `when` (in
/// `conditions`, one per channel) holds, or that has none.
pub fn hearing<'c>(
    channels: &'c [Channel],
    conditions: &[Option<Condition>],
    routing: Option<&CompiledRouting>,
    lead: &RouteInput,
    decision: &Decision,
) -> Vec<&'c Channel> {
    let account = routing.and_then(|r| lead.email.as_deref().and_then(|e| r.account_for_email(e)));
    let view = ChannelView {
        lead: LeadView::new(lead, account),
        owner: match &decision.assignee {
            Assignee::Owner(id) => Some(id),
            Assignee::Queue(_) => None,
        },
        team: match &decision.assignee {
            Assignee::Queue(id) => Some(id),
            Assignee::Owner(_) => decision.pool.as_deref(),
        },
        rule: match &decision.by {
            By::Rule { rule } | By::RuleFallback { rule } => Some(rule),
            _ => None,
        },
    };
    channels
        .iter()
        .zip(conditions.iter().chain(std::iter::repeat(&None)))
        .filter(|(_, when)| when.as_ref().is_none_or(|c| c.eval(&view)))
        .map(|(channel, _)| channel)
        .collect()
}

/// Signs the one-click links of personal messages (the Worker's `LINK_SECRET` and `PUBLIC_URL`).
#[derive(Debug, Clone, Copy)]
pub struct Signer<'a> {
    pub base: &'a str,
    pub secret: &'a [u8],
    /// When the links expire (ms since the epoch).
    pub expires_ms: i64,
}

/// What the messages of one lead are built from.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub notify: &'a NotifyRules,
    pub routing: Option<&'a CompiledRouting>,
    /// The configured reasons to reject a lead with (`[feedback]`).
    pub reasons: &'a [RejectReason],
    pub signer: Option<Signer<'a>>,
}

/// One message to store in the outbox and send.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// The channel's id, or `owner:{id}` for a personal message.
    pub channel: String,
    /// `slack`, `webhook`, `slack_app`, `slack_dm` or `email`.
    pub kind: &'static str,
    pub payload: Value,
}

/// What `recipient` may do with a lead held by `holder`: accept and reject it if it is theirs,
/// take it if it waits in a queue they are a member of. `None` as the recipient: a channel, where
/// whoever holds the lead (or any member of its queue) clicks.
fn actions<'a>(cx: &Context<'a>, holder: &Assignee, recipient: Option<&str>) -> Actions<'a> {
    let (accept, take) = match (holder, recipient) {
        (Assignee::Owner(_), None) => (true, false),
        (Assignee::Queue(_), None) => (false, true),
        (Assignee::Owner(id), Some(r)) => (id == r, false),
        (Assignee::Queue(q), Some(r)) => {
            (false, cx.routing.is_some_and(|x| x.is_queue_member(q, r)))
        }
    };
    Actions {
        accept,
        take,
        reasons: cx.reasons,
    }
}

/// A message about a lead: a routed lead's summary or an escalation step, built for channels and
/// for each person with their own links.
trait Alert: Clone {
    fn lead_id(&self) -> &str;
    /// Sets the links a person's copy carries (empty: no button).
    fn set_links(&mut self, claim: String, reject: String, take: String);
    /// The Slack message.
    fn slack(&self, buttons: Buttons<'_>) -> Value;
    /// The generic webhook's body.
    fn webhook(&self, at_ms: i64) -> Value;
    /// The email.
    fn mail(&self) -> Value;
}

impl Alert for LeadSummary {
    fn lead_id(&self) -> &str {
        &self.lead_id
    }
    fn set_links(&mut self, claim: String, reject: String, take: String) {
        (self.claim_url, self.reject_url, self.take_url) = (claim, reject, take);
    }
    fn slack(&self, buttons: Buttons<'_>) -> Value {
        slack_message_with(self, buttons)
    }
    fn webhook(&self, at_ms: i64) -> Value {
        webhook_payload(self, LEAD_ROUTED, at_ms)
    }
    fn mail(&self) -> Value {
        json!(lead_mail(self))
    }
}

impl Alert for Escalation {
    fn lead_id(&self) -> &str {
        &self.lead_id
    }
    fn set_links(&mut self, claim: String, reject: String, take: String) {
        (self.claim_url, self.reject_url, self.take_url) = (claim, reject, take);
    }
    fn slack(&self, buttons: Buttons<'_>) -> Value {
        slack_escalation_with(self, buttons)
    }
    fn webhook(&self, at_ms: i64) -> Value {
        webhook_escalation(self, at_ms)
    }
    fn mail(&self) -> Value {
        json!(escalation_mail(self))
    }
}

/// The messages of `alert`: one per channel in `hearing` (an incoming webhook's or a generic
/// webhook's carries the alert's links as they are; the app's carries its buttons), and one per
/// person in `people`, with the buttons and signed links they may use on a lead held by `holder`.
fn messages<A: Alert>(
    cx: &Context<'_>,
    alert: &A,
    hearing: &[&Channel],
    holder: &Assignee,
    people: &[(&OwnerSpec, Medium)],
    at_ms: i64,
) -> Vec<Outgoing> {
    let mut out: Vec<Outgoing> = hearing
        .iter()
        .map(|channel| {
            let payload = match channel.kind {
                ChannelKind::Slack => alert.slack(Buttons::Links),
                ChannelKind::Webhook => alert.webhook(at_ms),
                ChannelKind::SlackApp => {
                    let buttons = Buttons::Interactive(actions(cx, holder, None));
                    json!({"channel": channel.channel, "message": alert.slack(buttons)})
                }
            };
            Outgoing {
                channel: channel.id.clone(),
                kind: channel.kind.as_str(),
                payload,
            }
        })
        .collect();
    for &(owner, medium) in people {
        let actions = actions(cx, holder, Some(&owner.id));
        let link = |purpose, on: bool| match (on, cx.signer.as_ref()) {
            (true, Some(s)) => action_link(
                purpose,
                s.base,
                s.secret,
                alert.lead_id(),
                &owner.id,
                s.expires_ms,
            ),
            _ => String::new(),
        };
        let mut mine = alert.clone();
        mine.set_links(
            link(LinkPurpose::Claim, actions.accept),
            link(
                LinkPurpose::Reject,
                actions.accept && !cx.reasons.is_empty(),
            ),
            link(LinkPurpose::Take, actions.take),
        );
        let (kind, payload) = match (medium, &owner.email) {
            (Medium::Slack, _) => (
                SLACK_DM,
                json!({"owner": owner.id, "user": owner.slack, "email": owner.email,
                       "message": mine.slack(Buttons::Interactive(actions))}),
            ),
            (Medium::Email, Some(to)) => (EMAIL, json!({"to": to, "mail": mine.mail()})),
            _ => continue,
        };
        out.push(Outgoing {
            channel: format!("owner:{}", owner.id),
            kind,
            payload,
        });
    }
    out
}

/// The people a lead held by `holder` reaches personally: the owner, or a queue's members (at
/// most [`MAX_QUEUE_ALERTS`]), each with how they hear of it.
fn holders<'a>(cx: &Context<'a>, holder: &Assignee) -> Vec<(&'a OwnerSpec, Medium)> {
    let Some(routing) = cx.routing else {
        return Vec::new();
    };
    let ids: Vec<&str> = match holder {
        Assignee::Owner(id) => vec![id.as_str()],
        Assignee::Queue(q) => routing
            .queue(q)
            .map(|q| {
                q.members
                    .iter()
                    .map(String::as_str)
                    .take(MAX_QUEUE_ALERTS)
                    .collect()
            })
            .unwrap_or_default(),
    };
    reached(cx, ids)
}

/// The owners among `ids` whom alerts reach, each with how.
fn reached<'a, 'i>(
    cx: &Context<'a>,
    ids: impl IntoIterator<Item = &'i str>,
) -> Vec<(&'a OwnerSpec, Medium)> {
    let Some(routing) = cx.routing else {
        return Vec::new();
    };
    ids.into_iter()
        .filter_map(|id| routing.owner_spec(id))
        .filter_map(|o| medium(cx.notify, o).map(|m| (o, m)))
        .collect()
}

/// Every message of a lead just routed to `holder`: one per channel in `hearing`, and one to its
/// owner (or to each member of its queue) personally.
pub fn lead_alerts(
    cx: &Context<'_>,
    lead: &LeadSummary,
    hearing: &[&Channel],
    holder: &Assignee,
    now_ms: i64,
) -> Vec<Outgoing> {
    messages(cx, lead, hearing, holder, &holders(cx, holder), now_ms)
}

/// Every message of one SLA escalation step: one per channel in `hearing`, and one to the person
/// the step names (`e.to`), with what they may do on a lead held by `holder`.
pub fn escalation_alerts(
    cx: &Context<'_>,
    e: &Escalation,
    hearing: &[&Channel],
    holder: &Assignee,
    at_ms: i64,
) -> Vec<Outgoing> {
    let person = (e.to.kind == crate::notify::OwnerKind::Person).then_some(e.to.id.as_str());
    messages(cx, e, hearing, holder, &reached(cx, person), at_ms)
}
