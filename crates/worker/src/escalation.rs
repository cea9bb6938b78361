//! The cron's SLA escalation: every clock due walks up its ladder. Which steps are due, who they
//! notify, suppression and reassignment are handoff-core's (`handoff_core::sla`,
//! `routing::reassign`); each step is claimed once per lead and level (`store::sla::Claim`), and
//! its event and notifications are written only with this run's claim.

use handoff_core::alerts::escalation_alerts;
use handoff_core::events::EventKind;
use handoff_core::notify::{Channel, Escalation, Owner};
use handoff_core::routing::{self, Assignee, CompiledRouting, Decision};
use handoff_core::sla::{self as core_sla, Clock, CompiledSla, Deadline, EscalateTo, StepDue};
use handoff_core::status::LeadStatus;
use handoff_core::Bundle;
use serde::Serialize;
use worker::{D1Database, D1PreparedStatement, Env};

use crate::error::ApiError;
use crate::links::{alert_context, claim_url, Keys};
use crate::outbox::enqueue;
use crate::store::rotation::{self, Loaded};
use crate::store::sla::{
    advance_statement, claimed_event, due_clocks, step_done, stop_statements, Claim, DueRow, Who,
};
use crate::store::{self, leads, Db};
use crate::uuid::random_uuid;

/// How many clocks one cron tick works on at most, unless the Worker var `SLA_TICK_LIMIT` says
/// otherwise (up to [`MAX_TICK_LIMIT`]); the rest, oldest due first, wait for the next tick (a
/// minute later). Each clock costs a handful of statements in the tick's one write batch.
pub const TICK_LIMIT: u32 = 50;
/// The most `SLA_TICK_LIMIT` may raise it to (a paid plan's larger D1 batches).
pub const MAX_TICK_LIMIT: u32 = 1000;

/// What one [`tick`] did.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Ticked {
    /// Clocks found due.
    pub due: u32,
    /// Ladder steps carried out by this tick (a step another tick carried out is not counted).
    pub escalated: u32,
    /// Clocks stopped because the person is being worked already (suppression).
    pub suppressed: u32,
    /// Clocks stopped because their lead is no longer open.
    pub closed: u32,
    /// Leads moved to another owner by a `reassign` step.
    pub reassigned: u32,
    /// Whether more clocks were due than this tick took on.
    pub more: bool,
}

/// Who holds the lead of a due clock: its stored owner or queue, else the configuration's
/// fallback queue (`unassigned` without routing).
fn current_assignee(row: &DueRow, routing: Option<&CompiledRouting>) -> Assignee {
    match (row.owner_kind.as_deref(), &row.owner_id) {
        (Some("owner"), Some(id)) => Assignee::Owner(id.clone()),
        (_, Some(id)) => Assignee::Queue(id.clone()),
        (_, None) => Assignee::Queue(routing.map_or("unassigned", |r| r.fallback()).to_owned()),
    }
}

/// One tick's run: its id (every claim it makes carries it), the bundle, the statements of its
/// one write batch and where its claims are among them (a claim that changed nothing was another
/// run's), and the clocks whose steps reassign, carried out after the batch.
struct Run<'a> {
    env: &'a Env,
    db: &'a Db,
    bundle: &'a Bundle,
    id: String,
    now_ms: f64,
    statements: Vec<D1PreparedStatement>,
    claims: Vec<usize>,
    /// What links are signed with (`None`: no `LINK_SECRET`, no links).
    keys: Option<Keys>,
}

/// One cron tick at `now_ms` (the scheduled minute): every clock due, at most `limit`, walks up its
/// ladder. Each step due is carried out exactly once per lead and level, however many ticks run
/// for the same minute or overlap: its `sla_steps` claim is the key, and the step's event, its
/// notifications (outbox rows, sent by the same tick's delivery) and the clock's new level are
/// written only with this run's claim. A missed tick is caught up: every step whose time has
/// come is carried out. Before escalating, a lead no longer open, or whose person or account
/// has an active deal, a running sequence or a recent contact, has its clock stopped instead,
/// with the reason as an event. Steps with `reassign` move the lead to the next eligible member
/// of its pool in a batch of their own (they claim a rotation turn, which a concurrent intake
/// may take first: then they route again).
pub async fn tick(env: &Env, now_ms: f64, limit: u32) -> Result<Ticked, ApiError> {
    let db = Db::open(env)?;
    let rows = due_clocks(&db, now_ms, f64::from(limit) + 1.0).await?;
    let mut ticked = Ticked {
        more: rows.len() > limit as usize,
        ..Ticked::default()
    };
    if rows.is_empty() {
        return Ok(ticked);
    }
    let bundle = store::active_bundle(env).await?;
    let mut run = Run {
        env,
        db: &db,
        bundle: &bundle,
        id: random_uuid(),
        now_ms,
        statements: Vec::new(),
        claims: Vec::new(),
        keys: Keys::of(env),
    };
    let mut reassigning = Vec::new();
    for row in rows.iter().take(limit as usize) {
        ticked.due += 1;
        if let Some(later) = run.walk(row, &mut ticked)? {
            reassigning.push(later);
        }
    }
    if !run.statements.is_empty() {
        let claims = std::mem::take(&mut run.claims);
        let results = db.batch(std::mem::take(&mut run.statements)).await?;
        ticked.escalated += claims
            .iter()
            .filter(|&&i| store::changed(results.get(i)))
            .count() as u32;
    }
    for (row, clock, due) in reassigning {
        let (escalated, moved) = run.reassign(row, &clock, &due).await?;
        ticked.escalated += escalated;
        ticked.reassigned += u32::from(moved);
    }
    Ok(ticked)
}

/// A due clock whose steps reassign its lead, with its clock and those steps: carried out after
/// the tick's batch, in a batch of its own.
type Reassigning<'r> = (&'r DueRow, Clock, Vec<StepDue>);

impl<'a> Run<'a> {
    /// Adds one due clock's statements to the run's batch: stopped (closed lead, suppression), or
    /// its due steps claimed and carried out. A clock whose due steps reassign is answered back,
    /// for a batch of its own.
    fn walk<'r>(
        &mut self,
        row: &'r DueRow,
        ticked: &mut Ticked,
    ) -> Result<Option<Reassigning<'r>>, ApiError> {
        let (db, now_ms) = (self.db, self.now_ms);
        let now = now_ms as i64;
        let level = row.level as u32;
        let routing = self.bundle.routing();
        // A closed lead's clock stops; so does one whose person is being worked (suppression).
        let window = self.bundle.sla().recent_contact_window_ms();
        let open = LeadStatus::parse(&row.status).is_some_and(LeadStatus::is_open);
        let stop = if !open {
            ticked.closed += 1;
            Some((EventKind::SlaStopped, row.status.as_str()))
        } else {
            core_sla::suppress(&row.facts(), window, now).map(|reason| {
                ticked.suppressed += 1;
                (EventKind::SlaSuppressed, reason.code())
            })
        };
        if let Some((kind, why)) = stop {
            let stop = stop_statements(db, &row.lead_id, level, kind, why, now_ms)?;
            self.statements.extend(stop);
            return Ok(None);
        }
        let clock = row.clock()?;
        let all_due = core_sla::due_steps(&clock, level, false, now);
        // Once the lead is accepted, the accept ladder's steps have nothing left to enforce.
        let accepted = row.accepted_at.is_some();
        let due: Vec<StepDue> = all_due
            .iter()
            .filter(|s| !(accepted && s.deadline == Deadline::Accept))
            .cloned()
            .collect();
        let assignee = current_assignee(row, routing);
        let reassigns = |s: &StepDue| {
            routing.is_some_and(|r| {
                CompiledSla::recipient(r, s, &assignee, row.pool.as_deref())
                    .reassign_in
                    .is_some()
            })
        };
        if due.iter().any(reassigns) {
            return Ok(Some((row, clock, due)));
        }
        let Some(last) = all_due.last() else {
            // Another run carried the steps out after this one read `next_at`: look again then.
            let next = core_sla::next_due(&clock, level, false, now).map(|s| s.due_ms);
            let advance = advance_statement(db, &row.lead_id, level, next, now_ms)?;
            self.statements.push(advance);
            return Ok(None);
        };
        let next = core_sla::next_due(&clock, last.level, false, now).map(|s| s.due_ms);
        for step in &due {
            let claim = Claim {
                lead_id: &row.lead_id,
                level: step.level,
                run: &self.id,
            };
            self.claims.push(self.statements.len());
            self.statements.push(claim.statement(db, now_ms, false)?);
            let step = self.escalation_statements(row, step, &assignee, None, &claim)?;
            self.statements.extend(step);
        }
        let advance = advance_statement(db, &row.lead_id, last.level, next, now_ms)?;
        self.statements.push(advance);
        Ok(None)
    }

    /// The `escalated` event of one step and its notifications on every configured channel, both
    /// written only with this run's `claim`. `reassigned_to`: who the step gave the lead to.
    fn escalation_statements(
        &self,
        row: &DueRow,
        step: &StepDue,
        assignee: &Assignee,
        reassigned_to: Option<&Assignee>,
        claim: &Claim<'_>,
    ) -> Result<Vec<D1PreparedStatement>, ApiError> {
        let (db, now_ms) = (self.db, self.now_ms);
        // Who the lead is, as its clock stored it, and the channels that heard of it: they hear
        // of its escalations; a clock stored before channels had conditions names none: every
        // channel.
        let who: Who = serde_json::from_str(&row.summary).unwrap_or_default();
        let hearing: Vec<&Channel> = self
            .bundle
            .rules
            .notify
            .channels
            .iter()
            .filter(|c| who.channels.as_ref().is_none_or(|ids| ids.contains(&c.id)))
            .collect();
        let escalation = escalation(
            self.env,
            self.bundle,
            row,
            who,
            step,
            assignee,
            reassigned_to,
            now_ms,
        );
        let detail = serde_json::json!({
            "policy": row.policy, "level": step.level, "step": step.to, "to": escalation.to,
            "due_at": step.due_ms, "overdue_ms": escalation.overdue_ms,
            "reassigned_to": escalation.reassigned_to,
        });
        let mut statements = vec![claimed_event(
            db,
            claim,
            now_ms,
            EventKind::Escalated,
            &detail,
        )?];
        let holder = reassigned_to.unwrap_or(assignee);
        let cx = alert_context(self.bundle, self.keys.as_ref(), now_ms);
        let messages = escalation_alerts(&cx, &escalation, &hearing, holder, now_ms as i64);
        statements.extend(enqueue(db, &row.lead_id, &messages, now_ms, Some(claim))?);
        Ok(statements)
    }

    /// Carries out `due` for a lead whose steps include `reassign`: the lead moves to the next
    /// eligible member of its pool other than its owner (handoff-core's `routing::reassign`), with
    /// a rotation turn claimed like an intake's, in one batch with the steps' claims (strict: if
    /// another run carried them out, the batch rolls back and nothing is done twice). A lost
    /// rotation turn routes again with fresh state. Answers the steps carried out and whether the
    /// lead moved.
    async fn reassign(
        &self,
        row: &DueRow,
        clock: &Clock,
        due: &[StepDue],
    ) -> Result<(u32, bool), ApiError> {
        let (Some(routing), Some(last)) = (self.bundle.routing(), due.last()) else {
            return Ok((0, false));
        };
        let now = self.now_ms as i64;
        let assignee = current_assignee(row, Some(routing));
        let pool = due.iter().find_map(|s| {
            CompiledSla::recipient(routing, s, &assignee, row.pool.as_deref()).reassign_in
        });
        let next = core_sla::next_due(clock, last.level, false, now).map(|s| s.due_ms);
        const ATTEMPTS: u32 = 8;
        for attempt in 1..=ATTEMPTS {
            let loaded = rotation::load(self.db, routing, self.now_ms).await?;
            let decision = match (&pool, &assignee) {
                (Some(pool), Assignee::Owner(current)) => {
                    routing::reassign(routing, pool, current, &loaded.state, now)
                }
                _ => None,
            };
            let moved_to = decision.as_ref().map(|d| d.assignee.clone());
            let mut statements = Vec::new();
            for step in due {
                let claim = Claim {
                    lead_id: &row.lead_id,
                    level: step.level,
                    run: &self.id,
                };
                statements.push(claim.statement(self.db, self.now_ms, true)?);
                let to = moved_to.as_ref().filter(|_| step.reassign);
                statements.extend(self.escalation_statements(row, step, &assignee, to, &claim)?);
            }
            statements.extend(self.move_statements(
                row,
                last.level,
                decision.as_ref(),
                &loaded,
                &pool,
            )?);
            statements.push(advance_statement(
                self.db,
                &row.lead_id,
                last.level,
                next,
                self.now_ms,
            )?);
            match self.db.batch(statements).await {
                Ok(_) => return Ok((due.len() as u32, moved_to.is_some())),
                Err(error) => {
                    if step_done(self.db, &row.lead_id, last.level).await? {
                        // Another run carried these steps out.
                        return Ok((0, false));
                    }
                    if attempt == ATTEMPTS {
                        return Err(error);
                    }
                }
            }
        }
        Ok((0, false))
    }

    /// The lead's move to `decision`'s assignee (new owner, `reassigned` event, rotation turn), or
    /// the `reassign_skipped` event when nobody else in `pool` may take it.
    fn move_statements(
        &self,
        row: &DueRow,
        level: u32,
        decision: Option<&Decision>,
        loaded: &Loaded,
        pool: &Option<String>,
    ) -> Result<Vec<D1PreparedStatement>, ApiError> {
        let (db, now_ms): (&D1Database, f64) = (self.db, self.now_ms);
        let Some(decision) = decision else {
            let detail = serde_json::json!({ "pool": pool, "reason": "no_other_eligible_member" });
            let skipped = store::event_statement(
                db,
                &row.lead_id,
                now_ms,
                EventKind::ReassignSkipped,
                "system",
                &detail,
            )?;
            return Ok(vec![skipped]);
        };
        let (kind, id) = (decision.assignee.kind(), decision.assignee.id());
        let detail = serde_json::json!({ "via": "sla", "level": level, "decision": decision });
        let mut statements = vec![
            leads::owner_statement(db, &row.lead_id, kind, id, now_ms)?,
            store::event_statement(
                db,
                &row.lead_id,
                now_ms,
                EventKind::Reassigned,
                "system",
                &detail,
            )?,
        ];
        statements.extend(rotation::statements(
            db,
            decision,
            loaded,
            &row.lead_id,
            now_ms,
        )?);
        Ok(statements)
    }
}

/// What one step's alert says: the lead (`who`, as its clock stored it), the step, who it goes to (the
/// recipient handoff-core names, or without routing the step's own target), the owner, how late,
/// and the claim link of whoever holds the lead now.
#[allow(clippy::too_many_arguments)]
fn escalation(
    env: &Env,
    bundle: &Bundle,
    row: &DueRow,
    who: Who,
    step: &StepDue,
    assignee: &Assignee,
    reassigned_to: Option<&Assignee>,
    now_ms: f64,
) -> Escalation {
    let routing = bundle.routing();
    let recipient = match routing {
        Some(r) => CompiledSla::recipient(r, step, assignee, row.pool.as_deref()).notify,
        None => match &step.to {
            EscalateTo::Owner(id) => Assignee::Owner(id.clone()),
            EscalateTo::Queue(id) => Assignee::Queue(id.clone()),
            EscalateTo::TeamLead => current_assignee(row, None),
        },
    };
    let holder = reassigned_to.unwrap_or(assignee);
    let claim_url = match holder {
        Assignee::Owner(owner) => claim_url(env, &row.lead_id, owner, now_ms),
        Assignee::Queue(_) => None,
    };
    let first_touch_due_ms = row.first_touch_due as i64;
    // How late: past the deadline the step enforces.
    let deadline_ms = match (step.deadline, row.accept_due) {
        (Deadline::Accept, Some(due)) => due as i64,
        _ => first_touch_due_ms,
    };
    Escalation {
        lead_id: row.lead_id.clone(),
        name: who.name,
        email: who.email,
        company: who.company,
        lifecycle: who.lifecycle,
        score: who.score,
        policy: row.policy.clone(),
        level: step.level,
        to: Owner::of(routing, &recipient),
        owner: Owner::of(routing, assignee),
        reassigned_to: reassigned_to.map(|a| Owner::of(routing, a)),
        first_touch_due_ms,
        overdue_ms: (now_ms as i64).saturating_sub(deadline_ms).max(0),
        message: step.notify.clone(),
        claim_url: claim_url.unwrap_or_default(),
        reject_url: String::new(),
        take_url: String::new(),
        lead_url: None,
    }
}
