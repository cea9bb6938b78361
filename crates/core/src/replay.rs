//! Submissions placed as the Worker's intake places them, offline, one after another: each judged
//! at the time it arrived, folded into its person's open lead when it repeats within the merge
//! window, else placed by its experiment's arm, routed with the rotation state as the earlier
//! ones left it, and given its SLA clock. For `handoff route` (and the replays of issue 18).
//! Pure: time is each arrival's, and the state advances by the decisions' own changes, applied as
//! the Worker's batch applies them.
//!
//! What the run knows is what it was given and what it placed: the rotation state it started from
//! (counts and open leads), and the people whose leads it stored, by email address and visitor
//! token: a profiled form's lead is judged with what the person told us on their last five leads
//! of the run, as the Worker judges it with their stored leads.
//!
//! A replayed lead is worked on the schedule it really was: an arrival may carry the status
//! changes its lead went through (the export's `outcome.statuses`), and the lead holds its
//! replayed owner's capacity while its status is one the configuration counts
//! (`[routing] capacity_counts`), so an owner's slots free up when the recorded lead was taken or
//! closed. Without them (`handoff route`), nothing closes a lead.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::attribution::{Attribution, Utm};
use crate::evaluate::{email_answer, evaluate, UnknownForm};
use crate::evaluate::{read_lead_value, LineError};
use crate::experiment::Assignment;
use crate::lead::{EarlierLead, Evaluation, LeadInput};
use crate::returning::{self, Earlier, Repeat};
use crate::routing::{route_with, Assignee, Decision, RotationState, RouteInput};
use crate::scoring::Stage;
use crate::sla::{Clock, NoClock, Span, SuppressionFacts};
use crate::status::LeadStatus;
use serde_json::{Map, Value};

/// One submission as it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrival {
    /// The lead's id: an experiment's arm is a hash of it.
    pub id: String,
    pub at_ms: i64,
    pub lead: LeadInput,
    /// The campaign, which routing rules read.
    pub utm: Utm,
    /// What the CRM said about the person when the lead arrived.
    pub facts: SuppressionFacts,
    /// The first-party visitor token the form sent.
    pub visitor: Option<String>,
    /// The statuses the recorded lead moved to later, and when (ms), oldest first: when it held
    /// its owner's capacity. Empty: it stayed `new`.
    pub statuses: Vec<(i64, LeadStatus)>,
}

/// Where one submission went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Placed {
    pub evaluation: Evaluation,
    /// The routing decision, or a returning person's raised lead's; `None` for a lead the Worker
    /// does not route (invalid, a bot, no `[routing]`) and for a repeat folded into an open lead
    /// without a new stage.
    pub decision: Option<Decision>,
    /// Who holds the lead (for a merged repeat, who holds the lead it was folded into).
    pub assignee: Option<Assignee>,
    /// The open lead a repeat was folded into.
    pub merged_into: Option<String>,
    /// A returning person's earlier lead, linked to this new one.
    pub previous_lead: Option<String>,
    pub assignment: Option<Assignment>,
    /// The SLA clock started for the lead, or why none was: `None` when the configuration has
    /// no SLA policies or the lead was not placed.
    pub clock: Option<Result<Clock, NoClock>>,
}

/// A person's latest routed lead in the run.
#[derive(Debug, Clone)]
struct Latest {
    id: String,
    assignee: Assignee,
    created_ms: i64,
    lifecycle: Stage,
}

/// A lead as the run keeps it for the person's later leads: its answers in order, in one slice,
/// read back as an [`EarlierLead`]. A map per stored lead (a B-tree node has room for eleven
/// answers) took about twice the memory: most of a run's.
#[derive(Debug)]
struct Told {
    lead_id: String,
    at_ms: i64,
    answers: Box<[(String, crate::answer::AnswerValue)]>,
}

impl Told {
    fn earlier(&self) -> EarlierLead {
        EarlierLead {
            lead_id: self.lead_id.clone(),
            at_ms: self.at_ms,
            answers: self.answers.iter().cloned().collect(),
        }
    }
}

/// A run of arrivals: the rotation state and the people placed so far.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub state: RotationState,
    people: BTreeMap<String, Latest>,
    /// Each person's (email subject or `visitor:` token) stored leads, newest last, at most five.
    /// A lead is stored once, shared by the person's keys: the answers are most of a run's memory.
    told: BTreeMap<String, Vec<Rc<Told>>>,
    /// When a placed lead starts or stops holding its owner's capacity, earliest first: (at, order
    /// of scheduling, owner, +1 or -1).
    capacity: BinaryHeap<Reverse<(i64, u64, String, i8)>>,
    scheduled: u64,
}

impl Run {
    /// A run starting from `state`.
    pub fn new(state: RotationState) -> Run {
        Run {
            state,
            ..Run::default()
        }
    }

    /// The person's keys: their email's subject and their visitor token.
    fn keys(bundle: &crate::Bundle, arrival: &Arrival) -> Vec<String> {
        let email = bundle
            .form(&arrival.lead.form)
            .and_then(|f| email_answer(&f.spec, &arrival.lead.answers))
            .and_then(|typed| crate::email::normalize(typed).ok());
        let mut keys: Vec<String> = email
            .map(|e| crate::crm::person_subject(&e))
            .into_iter()
            .collect();
        keys.extend(arrival.visitor.iter().map(|v| format!("visitor:{v}")));
        keys
    }

    /// What the person told us on their last five stored leads, newest first.
    fn earlier(&self, keys: &[String]) -> Vec<EarlierLead> {
        let mut found: Vec<&Told> = keys
            .iter()
            .filter_map(|k| self.told.get(k))
            .flatten()
            .map(|lead| &**lead)
            .collect();
        found.sort_by(|a, b| (b.at_ms, &b.lead_id).cmp(&(a.at_ms, &a.lead_id)));
        found.dedup_by(|a, b| a.lead_id == b.lead_id);
        found.into_iter().take(5).map(Told::earlier).collect()
    }

    /// Applies every capacity change due by `at_ms`: the slots the recorded leads freed (or took
    /// again) by then.
    fn release(&mut self, at_ms: i64) {
        while let Some(Reverse((at, _, _, _))) = self.capacity.peek() {
            if *at > at_ms {
                break;
            }
            let Some(Reverse((_, _, owner, delta))) = self.capacity.pop() else {
                break;
            };
            let open = self.state.open.entry(owner).or_insert(0);
            *open = if delta < 0 {
                open.saturating_sub(1)
            } else {
                open.saturating_add(1)
            };
        }
    }

    /// Schedules the capacity changes of a lead just counted against `owner`'s capacity: each
    /// recorded status change into or out of the statuses the configuration counts.
    fn schedule(&mut self, counted: &[LeadStatus], owner: &str, statuses: &[(i64, LeadStatus)]) {
        let mut held = true;
        for (at, status) in statuses {
            let holds = counted.contains(status);
            if holds != held {
                self.scheduled += 1;
                let delta = if holds { 1 } else { -1 };
                self.capacity
                    .push(Reverse((*at, self.scheduled, owner.to_owned(), delta)));
                held = holds;
            }
        }
    }

    /// Places `arrival` as the Worker would at its time, and advances the run.
    pub fn place(
        &mut self,
        bundle: &crate::Bundle,
        arrival: &Arrival,
    ) -> Result<Placed, UnknownForm> {
        self.release(arrival.at_ms);
        let keys = Run::keys(bundle, arrival);
        let profiled = bundle.form(&arrival.lead.form).is_some_and(|f| {
            f.spec.profiling.is_some() || f.spec.fields.iter().any(|field| !field.ask.is_once())
        });
        let evaluation = if profiled && !keys.is_empty() {
            let mut lead = arrival.lead.clone();
            lead.earlier = self.earlier(&keys);
            evaluate(bundle, &lead, arrival.at_ms)?
        } else {
            evaluate(bundle, &arrival.lead, arrival.at_ms)?
        };
        // What the Worker stores of a valid lead that is not a bot's is what a later lead of the
        // same person reads (on a profiled form: no other form reads it).
        if profiled && evaluation.valid && !evaluation.is_bot() {
            let told = Rc::new(Told {
                lead_id: arrival.id.clone(),
                at_ms: arrival.at_ms,
                answers: evaluation
                    .answers
                    .iter()
                    .map(|(id, answer)| (id.clone(), answer.clone()))
                    .collect(),
            });
            for key in &keys {
                let leads = self.told.entry(key.clone()).or_default();
                leads.push(Rc::clone(&told));
                if leads.len() > 5 {
                    leads.remove(0);
                }
            }
        }
        let mut placed = Placed {
            evaluation,
            decision: None,
            assignee: None,
            merged_into: None,
            previous_lead: None,
            assignment: None,
            clock: None,
        };
        let Some(routing) = bundle.routing() else {
            return Ok(placed);
        };
        if !placed.evaluation.valid || placed.evaluation.is_bot() {
            return Ok(placed);
        }
        let at = arrival.at_ms;
        let ev = &placed.evaluation;
        let person = bundle
            .form(&ev.form)
            .and_then(|f| email_answer(&f.spec, &ev.answers))
            .map(crate::crm::person_subject);
        let mut input = RouteInput::from_evaluation(bundle, ev, &arrival.utm);
        let stage = ev.lifecycle;
        let repeat = person
            .as_ref()
            .and_then(|p| self.people.get(p))
            .map(|latest| {
                let earlier = Earlier {
                    id: &latest.id,
                    status: LeadStatus::New,
                    assignee: latest.assignee.clone(),
                    created_ms: latest.created_ms,
                    lifecycle: Some(latest.lifecycle),
                };
                returning::place(&earlier, stage, at, routing.merge_window_ms())
            });
        let sla = bundle.sla();
        let start = |input: &RouteInput, assignee: &Assignee, first_touch: Option<Span>| {
            (!sla.policies().is_empty()).then(|| {
                sla.start_with(
                    Some(routing),
                    input,
                    assignee,
                    &arrival.facts,
                    false,
                    at,
                    first_touch,
                )
            })
        };
        match repeat {
            Some(Repeat::Merge { into, raised }) => {
                let holder = person
                    .as_ref()
                    .and_then(|p| self.people.get_mut(p))
                    .map(|latest| {
                        if let Some((_, to)) = raised {
                            latest.lifecycle = to;
                        }
                        latest.assignee.clone()
                    });
                if let (Some((from, to)), Some(holder)) = (raised, &holder) {
                    let decision = returning::raised_decision(holder.clone(), &into, from, to);
                    placed.clock = start(&input, holder, None);
                    placed.decision = Some(decision);
                }
                placed.assignee = holder;
                placed.merged_into = Some(into);
            }
            linked => {
                if let Some(Repeat::Linked {
                    previous_lead,
                    previous_owner,
                }) = linked
                {
                    input.previous_owner = previous_owner;
                    placed.previous_lead = Some(previous_lead);
                }
                let arm = crate::experiment::assign(
                    bundle.experiments(),
                    &input,
                    Some(routing),
                    &arrival.id,
                );
                let target = arm.and_then(|(_, arm)| arm.to.as_ref());
                let decision = route_with(routing, &input, &self.state, at, target);
                // Offline, nothing else took a turn: the changes apply as the decision expects.
                if self.state.apply(&decision.changes).is_ok() {
                    for change in &decision.changes {
                        if let crate::routing::StateChange::Opened { owner, .. } = change {
                            self.schedule(routing.capacity_counts(), owner, &arrival.statuses);
                        }
                    }
                }
                placed.clock = start(
                    &input,
                    &decision.assignee,
                    arm.and_then(|(_, a)| a.first_touch),
                );
                placed.assignment = arm.map(|(e, a)| Assignment {
                    experiment: e.id.clone(),
                    arm: a.id.clone(),
                });
                if let Some(person) = person {
                    self.people.insert(
                        person,
                        Latest {
                            id: arrival.id.clone(),
                            assignee: decision.assignee.clone(),
                            created_ms: at,
                            lifecycle: stage,
                        },
                    );
                }
                placed.assignee = Some(decision.assignee.clone());
                placed.decision = Some(decision);
            }
        }
        Ok(placed)
    }
}

/// The keys a line may have besides the lead `handoff eval` reads: what the Worker's export of a
/// lead carries (`outcome` and `bundle_version` are read past).
const REPLAY_KEYS: [&str; 7] = [
    "id",
    "at",
    "attribution",
    "facts",
    "visitor",
    "bundle_version",
    "outcome",
];

/// An RFC 3339 time as ms since the epoch.
fn parse_rfc3339(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(jiff::Timestamp::as_millisecond)
}

/// A line read: the arrival, its answers' problems, the export's other keys.
pub type Line = (Arrival, Vec<crate::Issue>, Map<String, Value>);

/// One line of `handoff route` or of the leads export, read: the arrival, the problems of its answers that `read_lead` found (answers of
/// the wrong kind, which the Worker refuses), and the export's keys (`outcome`, …).
pub fn read_arrival(
    mut value: Value,
    n: usize,
    form: &str,
    now_ms: i64,
) -> Result<Line, LineError> {
    let bad = |message: String| LineError {
        code: "bad_json",
        message,
    };
    let object = value
        .as_object_mut()
        .ok_or_else(|| bad("a lead must be a JSON object".to_owned()))?;
    let mut extra = Map::new();
    for key in REPLAY_KEYS {
        if let Some(v) = object.remove(key) {
            extra.insert(key.to_owned(), v);
        }
    }
    let id = match extra.get("id") {
        None => format!("line-{n}"),
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(_) => return Err(bad("`id` must be text, like \"lead-1\"".to_owned())),
    };
    let at_ms = match extra.get("at") {
        None => now_ms,
        Some(at) => at.as_str().and_then(parse_rfc3339).ok_or_else(|| {
            bad("`at` must be an RFC 3339 time, like \"2026-12-07T09:30:00Z\"".to_owned())
        })?,
    };
    let attribution: Attribution = match extra.get("attribution") {
        None | Some(Value::Null) => Attribution::default(),
        Some(a) => Attribution::deserialize(a).map_err(|e| bad(format!("`attribution`: {e}")))?,
    };
    let facts: SuppressionFacts = match extra.get("facts") {
        None | Some(Value::Null) => SuppressionFacts::default(),
        Some(f) => SuppressionFacts::deserialize(f).map_err(|e| bad(format!("`facts`: {e}")))?,
    };
    let visitor = match extra.get("visitor") {
        None | Some(Value::Null) => None,
        Some(Value::String(v)) => Some(v.clone()),
        Some(_) => return Err(bad("`visitor` must be text".to_owned())),
    };
    let statuses = match extra.get("outcome").and_then(|o| o.get("statuses")) {
        None | Some(Value::Null) => Vec::new(),
        Some(list) => read_statuses(list).ok_or_else(|| {
            bad("`outcome.statuses` must be a list of {\"at\": an RFC 3339 time, \"to\": a lead status}".to_owned())
        })?,
    };
    let (mut lead, issues) = read_lead_value(value, form)?;
    // The pages the form saw count as activity, as the Worker's intake counts them.
    lead.activity.extend(attribution.page_views());
    let utm = attribution.utm;
    Ok((
        Arrival {
            id,
            at_ms,
            lead,
            utm,
            facts,
            visitor,
            statuses,
        },
        issues,
        extra,
    ))
}

/// The export's `outcome.statuses`, oldest first; `None` if an item is not `{at, to}` with an
/// RFC 3339 time and a status code.
fn read_statuses(list: &Value) -> Option<Vec<(i64, LeadStatus)>> {
    let mut out = list
        .as_array()?
        .iter()
        .map(|item| {
            let at = item.get("at")?.as_str().and_then(parse_rfc3339)?;
            let to = LeadStatus::parse(item.get("to")?.as_str()?)?;
            Some((at, to))
        })
        .collect::<Option<Vec<_>>>()?;
    out.sort_by_key(|(at, _)| *at);
    Some(out)
}

/// Judges `arrival` and places it in `run`, reported as `handoff route` prints it and `POST
/// /v1/config/route` answers it: everything `handoff eval` prints (the evaluation's report), its
/// `id` and `at`, then where it went: `assignee` (`{kind, id}`), `merged_into`, `previous_lead`,
/// `route` (the decision as the Worker stores it in the `routed` event, with the experiment),
/// `sla` (the clock: policy, working hours, deadlines and ladder, RFC 3339; a deadline that never
/// comes is null), `no_sla` (why a placed lead has none) and `arm`; `warnings` for answers to no
/// field. A lead whose answers have `issues` (an answer of the wrong kind, which the Worker
/// refuses) is judged, not placed.
pub fn report(
    bundle: &crate::Bundle,
    run: &mut Run,
    arrival: &Arrival,
    issues: Vec<crate::Issue>,
) -> Result<Value, UnknownForm> {
    if !issues.is_empty() {
        let evaluation =
            crate::evaluate::evaluate_lead(bundle, &arrival.lead, issues, arrival.at_ms)?;
        let mut record = serde_json::to_value(evaluation.report()).unwrap_or_default();
        unplaced(&mut record, arrival);
        return Ok(record);
    }
    let placed = run.place(bundle, arrival)?;
    Ok(placed_report(arrival, &placed))
}

/// A placed lead's report (see [`report`]).
fn placed_report(arrival: &Arrival, placed: &Placed) -> Value {
    use serde_json::json;
    let mut record = serde_json::to_value(placed.evaluation.report()).unwrap_or_default();
    unplaced(&mut record, arrival);
    let Some(map) = record.as_object_mut() else {
        return record;
    };
    let warnings: Vec<Value> = placed
        .evaluation
        .unknown
        .keys()
        .map(|field| json!({"field": field, "code": "answer.unknown_field"}))
        .collect();
    if !warnings.is_empty() {
        map.insert("warnings".into(), Value::Array(warnings));
    }
    let assignee = match &placed.assignee {
        Some(a) => json!({"kind": a.kind(), "id": a.id()}),
        None => Value::Null,
    };
    map.insert("assignee".into(), assignee);
    map.insert("merged_into".into(), json!(placed.merged_into));
    map.insert("previous_lead".into(), json!(placed.previous_lead));
    // The decision as the Worker stores it in the lead's `routed` event.
    let route = placed.decision.as_ref().map(|d| {
        let mut detail = serde_json::to_value(d).unwrap_or_default();
        if let (Some(a), Some(m)) = (&placed.assignment, detail.as_object_mut()) {
            m.insert("experiment".into(), json!(a));
        }
        detail
    });
    map.insert("route".into(), route.unwrap_or(Value::Null));
    let (sla, reason) = match &placed.clock {
        Some(Ok(clock)) => (clock_report(clock), Value::Null),
        Some(Err(none)) => (Value::Null, json!(none.code())),
        None => (Value::Null, Value::Null),
    };
    map.insert("sla".into(), sla);
    map.insert("no_sla".into(), reason);
    map.insert("arm".into(), json!(placed.assignment));
    record
}

/// The keys of a lead that was not placed, and its id and time.
fn unplaced(record: &mut Value, arrival: &Arrival) {
    if let Some(map) = record.as_object_mut() {
        map.insert("id".into(), Value::String(arrival.id.clone()));
        map.insert(
            "at".into(),
            Value::String(crate::encode::rfc3339(arrival.at_ms)),
        );
        for key in [
            "assignee",
            "merged_into",
            "previous_lead",
            "route",
            "sla",
            "no_sla",
            "arm",
        ] {
            map.insert(key.into(), Value::Null);
        }
    }
}

/// A clock as a report shows it: RFC 3339 times; a deadline that never comes (an owner with no
/// working time left) is null.
fn clock_report(clock: &Clock) -> Value {
    use serde_json::json;
    let time = |ms: i64| (ms != i64::MAX).then(|| crate::encode::rfc3339(ms));
    let ladder: Vec<Value> = clock
        .steps
        .iter()
        .map(|s| {
            json!({
                "level": s.level,
                "at": time(s.due_ms),
                "to": s.to,
                "deadline": s.deadline,
                "reassign": s.reassign,
            })
        })
        .collect();
    json!({
        "policy": clock.policy,
        "working_hours": clock.working_hours,
        "first_touch_due": time(clock.first_touch_due_ms),
        "accept_due": clock.accept_due_ms.and_then(time),
        "ladder": ladder,
    })
}
