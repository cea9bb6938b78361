//! SLA clocks at the edge: started in a routed lead's batch (`start`) and listed for admins
//! (`GET /v1/sla/leads`, `list`). Deadlines, ladders, standing and suppression are handoff-core's
//! (`handoff_core::sla`); the statements are `store::sla`'s; the cron's walk up the ladder is
//! `escalation`'s.

use handoff_core::events::EventKind;
use handoff_core::routing::{CompiledRouting, Decision, RouteInput};
use handoff_core::sla::{
    self as core_sla, CompiledSla, EscalateTo, NoClock, Span, SuppressionFacts,
};
use serde::Serialize;
use worker::{D1Database, D1PreparedStatement, Env, Request, Response};

use crate::error::ApiError;
use crate::http::{bad_query, json, param, parse_number, query};
use crate::store::sla::{clock_statement, stored_clock, waiting, ListRow, Who};
use crate::store::{self, Db};

/// What the SLA clock of a routed lead starts from: the lead, how it was routed, what the CRM
/// says about the person, and who it is (for the escalations' messages).
pub struct Start<'a> {
    pub lead_id: &'a str,
    pub routing: &'a CompiledRouting,
    pub input: &'a RouteInput,
    pub decision: &'a Decision,
    pub facts: &'a SuppressionFacts,
    pub who: &'a Who,
    /// An SLA experiment's arm, replacing the policy's target.
    pub first_touch: Option<Span>,
    pub at_ms: f64,
}

/// The statements that start (or not) the SLA clock of a lead routed at `at_ms`, for the lead's
/// own batch, and whether its new-lead alert goes out: a suppressed lead (active deal, running
/// sequence, recent contact) starts no clock and alerts nobody, and the reason is its
/// `sla_suppressed` event; a lead no policy matches has no clock and is announced as usual.
pub fn start(
    db: &D1Database,
    sla: &CompiledSla,
    lead: &Start<'_>,
) -> Result<(Vec<D1PreparedStatement>, bool), ApiError> {
    if sla.policies().is_empty() {
        return Ok((Vec::new(), true));
    }
    let started = sla.start_with(
        Some(lead.routing),
        lead.input,
        &lead.decision.assignee,
        lead.facts,
        false,
        lead.at_ms as i64,
        lead.first_touch,
    );
    let clock = match started {
        Ok(clock) => clock,
        Err(NoClock::Suppressed(reason)) => {
            let detail = serde_json::json!({ "reason": reason.code(), "at": "intake" });
            let event = store::event_statement(
                db,
                lead.lead_id,
                lead.at_ms,
                EventKind::SlaSuppressed,
                "system",
                &detail,
            )?;
            return Ok((vec![event], false));
        }
        Err(NoClock::NoPolicy | NoClock::Merged) => return Ok((Vec::new(), true)),
    };
    let pool = lead.decision.pool.as_deref();
    let insert = clock_statement(db, lead.lead_id, &clock, pool, lead.who, lead.at_ms)?;
    let event = store::event_statement(
        db,
        lead.lead_id,
        lead.at_ms,
        EventKind::SlaStarted,
        "system",
        &clock,
    )?;
    Ok((vec![insert, event], true))
}

/// One lead on the at-risk / breached list.
#[derive(Debug, Serialize)]
struct Listed {
    lead_id: String,
    name: Option<String>,
    company: Option<String>,
    lifecycle: String,
    owner: Option<String>,
    owner_kind: Option<String>,
    policy: String,
    standing: &'static str,
    started_at: i64,
    first_touch_due: Option<i64>,
    /// Negative: time left; positive: how late.
    overdue_ms: Option<i64>,
    ladder: Ladder,
}

#[derive(Debug, Serialize)]
struct Ladder {
    /// Levels carried out so far.
    level: u32,
    levels: u32,
    /// The next step, if one is left.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<NextStep>,
}

#[derive(Debug, Serialize)]
struct NextStep {
    level: u32,
    due_at: i64,
    to: EscalateTo,
    reassign: bool,
}

/// The longest look-ahead and page the listing accepts.
const MAX_WITHIN_MINUTES: u32 = 7 * 24 * 60;
const MAX_LIST: u32 = 500;

/// What the listing asks for: the look-ahead, the page size and which standings.
struct ListQuery {
    within: u32,
    limit: u32,
    at_risk: bool,
    breached: bool,
}

/// `within_minutes`, `limit` and `standing` from the query string; `400 bad_query` otherwise.
fn list_query(req: &Request) -> Result<ListQuery, ApiError> {
    let pairs = query(req)?;
    let number = |name: &str, default: u32, max: u32| {
        parse_number(param(&pairs, name), default, max, || {
            format!("{name} must be a whole number from 1 to {max}.")
        })
    };
    let within = number("within_minutes", 30, MAX_WITHIN_MINUTES)?;
    let limit = number("limit", 100, MAX_LIST)?;
    let (mut at_risk, mut breached) = (false, false);
    for wanted in param(&pairs, "standing")
        .unwrap_or("at_risk,breached")
        .split(',')
    {
        match wanted {
            "at_risk" => at_risk = true,
            "breached" => breached = true,
            _ => {
                return Err(bad_query(
                    "standing is at_risk, breached or both, separated by a comma.",
                ))
            }
        }
    }
    Ok(ListQuery {
        within,
        limit,
        at_risk,
        breached,
    })
}

/// `GET /v1/sla/leads?standing=at_risk,breached&within_minutes=30&limit=100` (admin): the leads
/// still waiting for first touch whose deadline has passed (`breached`) or falls within the
/// look-ahead (`at_risk`), most urgent first, each with its position on the escalation ladder.
/// Read through the partial index of untouched clocks by deadline.
pub async fn list(req: &Request, env: &Env, now_ms: i64) -> Result<Response, ApiError> {
    let q = list_query(req)?;
    let within_ms = i64::from(q.within) * 60_000;
    let upto = if q.at_risk {
        now_ms + within_ms
    } else {
        now_ms
    };
    let from = if q.breached {
        f64::MIN
    } else {
        now_ms as f64 + 0.5
    };
    let db = Db::open(env)?;
    let rows = waiting(&db, upto as f64, from, q.limit).await?;
    let mut leads = Vec::with_capacity(rows.len());
    for row in rows {
        leads.push(listed(row, now_ms, within_ms)?);
    }
    json(
        200,
        &serde_json::json!({ "now": now_ms, "within_minutes": q.within, "leads": leads }),
    )
}

/// One waiting clock as the listing shows it: its standing now and its place on the ladder.
fn listed(row: ListRow, now_ms: i64, within_ms: i64) -> Result<Listed, ApiError> {
    let clock = stored_clock(&row.policy, row.started_at, row.first_touch_due, &row.steps)?;
    let level = row.level as u32;
    let who: Who = serde_json::from_str(&row.summary).unwrap_or_default();
    let next = clock
        .steps
        .iter()
        .find(|s| s.level > level)
        .map(|s| NextStep {
            level: s.level,
            due_at: s.due_ms,
            to: s.to.clone(),
            reassign: s.reassign,
        });
    let never = clock.first_touch_due_ms == i64::MAX;
    Ok(Listed {
        lead_id: row.lead_id,
        name: who.name,
        company: who.company,
        lifecycle: who.lifecycle,
        owner: row.owner_id,
        owner_kind: row.owner_kind,
        policy: row.policy,
        standing: core_sla::standing(&clock, false, now_ms, within_ms).code(),
        started_at: clock.started_ms,
        first_touch_due: (!never).then_some(clock.first_touch_due_ms),
        overdue_ms: (!never).then(|| now_ms - clock.first_touch_due_ms),
        ladder: Ladder {
            level,
            levels: clock.steps.len() as u32,
            next,
        },
    })
}
