//! The cron's SLA escalation: every clock due walks up its ladder. Which steps are due, who they
//! notify, suppression and reassignment are handoff-core's (`handoff_core::sla`,
//! `routing::reassign`); each step is claimed once per lead and level (`store::sla::Claim`), and
//! its event and notifications are written only with this run's claim.

use handoff_core::alerts::{escalation_alerts, Outgoing};
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
use crate::plan;
use crate::store::rotation::{self, Loaded};
use crate::store::sla::{
    advance_statement, claimed_event, due_clocks, report_tick, step_done, Claim, Due, DueRow, Who,
};
use crate::store::steps::{ClockRecords, StepSet};
use crate::store::{self, leads, Db};
use crate::uuid::random_uuid;

/// How many clocks one cron tick works on at most, unless the Worker var `SLA_TICK_LIMIT` says
/// otherwise (up to [`MAX_TICK_LIMIT`]); the rest, oldest due first, wait for the next tick (a
/// minute later). The plan's statement budget (`plan::Limits::sla_statements`) may stop a tick
/// sooner.
pub const TICK_LIMIT: u32 = 50;
/// The most `SLA_TICK_LIMIT` may raise it to.
pub const MAX_TICK_LIMIT: u32 = 1000;
/// The most clocks one write batch carries (a handful of set-based statements for them all).
pub const CLOCKS_PER_BATCH: usize = 100;
/// What one `reassign` attempt may cost at most: the rotation state's reads, the steps' claims,
/// events and notifications, the move and its rotation turn, the clock's new level.
const REASSIGN_STATEMENTS: u32 = 16;

/// What one [`tick`] did.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Ticked {
    /// Clocks found due and taken on.
    pub due: u32,
    /// Ladder steps carried out by this tick (a step another tick carried out is not counted).
    pub escalated: u32,
    /// Clocks stopped because the person is being worked already (suppression).
    pub suppressed: u32,
    /// Clocks stopped because their lead is no longer open.
    pub closed: u32,
    /// Leads moved to another owner by a `reassign` step.
    pub reassigned: u32,
    /// Clocks flagged because they could not be read (`sla_unreadable`).
    pub unreadable: u32,
    /// Whether more clocks were due than this tick took on.
    pub more: bool,
    /// Write batches sent, the most statements one of them had, and every D1 statement of the
    /// tick (its reads and its report included).
    pub batches: u32,
    pub largest_batch: u32,
    pub statements: u32,
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

/// One tick's run: its id (every claim it makes carries it), the bundle, and its statement
/// budget.
struct Run<'a> {
    env: &'a Env,
    db: &'a Db,
    bundle: &'a Bundle,
    id: String,
    now_ms: f64,
    /// What links are signed with (`None`: no `LINK_SECRET`, no links).
    keys: Option<Keys>,
    /// The statements the tick may send in all.
    budget: u32,
}

/// One cron tick at `now_ms` (the scheduled minute): every clock due, at most `limit`, oldest
/// first, walks up its ladder, within `budget` D1 statements. Each step due is carried out exactly
/// once per lead and level, however many ticks run for the same minute or overlap: its
/// `sla_steps` claim is the key, and the step's event, its notifications (outbox rows, sent by
/// the same tick's delivery) and the clock's new level are written only with this run's claim. A
/// missed tick is caught up: every step whose time has come is carried out. Before escalating, a
/// lead no longer open, or whose person or account has an active deal, a running sequence or a
/// recent contact, has its clock stopped instead, with the reason as an event; a clock that
/// cannot be read is flagged (`sla_unreadable`) and leaves the due line. Clocks are written in
/// batches of at most [`CLOCKS_PER_BATCH`] clocks and `plan::BATCH_STATEMENTS` set-based
/// statements, each atomic and safe to repeat; what does not fit the budget waits, still first
/// in line, for the next tick. Steps with `reassign` move the lead to the next eligible member of
/// its pool in a batch of their own (they claim a rotation turn, which a concurrent intake may
/// take first: then they route again). The tick's report goes to its `cron_ticks` row.
pub async fn tick(env: &Env, now_ms: f64, limit: u32, budget: u32) -> Result<Ticked, ApiError> {
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
    let run = Run {
        env,
        db: &db,
        bundle: &bundle,
        id: random_uuid(),
        now_ms,
        keys: Keys::of(env),
        // One statement stays for the tick's report.
        budget: budget.saturating_sub(1),
    };
    let mut set = StepSet::default();
    let mut reassigning = Vec::new();
    for due in rows.iter().take(limit as usize) {
        let (records, counts) = match due {
            Due::Unreadable { lead_id, code } => (unreadable(lead_id, code), Counts::unreadable()),
            Due::Read(row, clock) => match run.walk(row, clock)? {
                Walked::Records(records, counts) => (records, counts),
                Walked::Reassign(due) => {
                    reassigning.push((row.as_ref(), clock, due));
                    continue;
                }
            },
        };
        let full = set.clocks >= CLOCKS_PER_BATCH
            || set.statements_with(&records) > plan::BATCH_STATEMENTS;
        if full {
            run.flush(std::mem::take(&mut set), &mut ticked).await?;
        }
        if run.spent() + set.statements_with(&records) as u32 > run.budget {
            ticked.more = true;
            break;
        }
        set.add(records);
        counts.add_to(&mut ticked);
    }
    run.flush(set, &mut ticked).await?;
    for (row, clock, due) in reassigning {
        if run.spent() + REASSIGN_STATEMENTS > run.budget {
            ticked.more = true;
            break;
        }
        ticked.due += 1;
        let (escalated, moved) = run.reassign(row, clock, &due).await?;
        ticked.escalated += escalated;
        ticked.reassigned += u32::from(moved);
    }
    ticked.statements = db.statements() + 1;
    report_tick(&db, now_ms, &ticked).await?;
    Ok(ticked)
}

/// The records that flag an unreadable clock: its `sla_unreadable` event (with the code of what
/// could not be read) and `stopped = 'unreadable'`, whatever its level.
fn unreadable(lead_id: &str, code: &str) -> ClockRecords {
    let mut records = ClockRecords::default();
    let detail = serde_json::json!({ "code": code, "at": "escalation" });
    records.stop(
        lead_id,
        None,
        EventKind::SlaUnreadable,
        "unreadable",
        &detail,
    );
    records
}

/// What one clock adds to the tick's counts once its records are in a batch.
#[derive(Default)]
struct Counts {
    closed: u32,
    suppressed: u32,
    unreadable: u32,
}

impl Counts {
    fn unreadable() -> Counts {
        Counts {
            unreadable: 1,
            ..Counts::default()
        }
    }

    fn add_to(self, ticked: &mut Ticked) {
        ticked.due += 1;
        ticked.closed += self.closed;
        ticked.suppressed += self.suppressed;
        ticked.unreadable += self.unreadable;
    }
}

/// A due clock walked: its records for the tick's batch, or its due steps, which reassign the
/// lead in a batch of their own.
enum Walked {
    Records(ClockRecords, Counts),
    Reassign(Vec<StepDue>),
}

impl Run<'_> {
    /// The statements this tick sent so far.
    fn spent(&self) -> u32 {
        self.db.statements()
    }

    /// Sends `set` as one batch (nothing for an empty one) and counts the steps its claims took.
    async fn flush(&self, set: StepSet, ticked: &mut Ticked) -> Result<(), ApiError> {
        if set.clocks == 0 {
            return Ok(());
        }
        let (statements, claims) = set.build(self.db, &self.id, self.now_ms)?;
        let size = statements.len() as u32;
        let results = self.db.batch(statements).await?;
        ticked.batches += 1;
        ticked.largest_batch = ticked.largest_batch.max(size);
        ticked.escalated += claims
            .iter()
            .map(|&i| store::changes(results.get(i)))
            .sum::<usize>() as u32;
        Ok(())
    }

    /// One due clock's records: stopped (closed lead, suppression), or its due steps claimed and
    /// carried out. A clock whose due steps reassign is answered back, for a batch of its own.
    fn walk(&self, row: &DueRow, clock: &Clock) -> Result<Walked, ApiError> {
        let now = self.now_ms as i64;
        let level = row.level as u32;
        let routing = self.bundle.routing();
        let mut records = ClockRecords::default();
        let mut counts = Counts::default();
        // A closed lead's clock stops; so does one whose person is being worked (suppression).
        let window = self.bundle.sla().recent_contact_window_ms();
        let open = LeadStatus::parse(&row.status).is_some_and(LeadStatus::is_open);
        let stop = if !open {
            counts.closed += 1;
            Some((EventKind::SlaStopped, row.status.as_str()))
        } else {
            core_sla::suppress(&row.facts(), window, now).map(|reason| {
                counts.suppressed += 1;
                (EventKind::SlaSuppressed, reason.code())
            })
        };
        if let Some((kind, why)) = stop {
            let detail =
                serde_json::json!({ "reason": why, "at": "escalation", "level": level + 1 });
            records.stop(&row.lead_id, Some(level), kind, why, &detail);
            return Ok(Walked::Records(records, counts));
        }
        let all_due = core_sla::due_steps(clock, level, false, now);
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
            return Ok(Walked::Reassign(due));
        }
        let Some(last) = all_due.last() else {
            // Another run carried the steps out after this one read `next_at`: look again then.
            let next = core_sla::next_due(clock, level, false, now).map(|s| s.due_ms);
            records.advance(&row.lead_id, level, next);
            return Ok(Walked::Records(records, counts));
        };
        let next = core_sla::next_due(clock, last.level, false, now).map(|s| s.due_ms);
        for step in &due {
            let (detail, messages) = self.escalation_parts(row, step, &assignee, None);
            records.step(&row.lead_id, step.level, &detail);
            for m in &messages {
                let channel = (m.channel.as_str(), m.kind);
                records.message(&row.lead_id, step.level, channel, &m.payload);
            }
        }
        records.advance(&row.lead_id, last.level, next);
        Ok(Walked::Records(records, counts))
    }

    /// The `escalated` event's detail of one step and its notifications on every configured
    /// channel. `reassigned_to`: who the step gave the lead to.
    fn escalation_parts(
        &self,
        row: &DueRow,
        step: &StepDue,
        assignee: &Assignee,
        reassigned_to: Option<&Assignee>,
    ) -> (serde_json::Value, Vec<Outgoing>) {
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
            self.now_ms,
        );
        let detail = serde_json::json!({
            "policy": row.policy, "level": step.level, "step": step.to, "to": escalation.to,
            "due_at": step.due_ms, "overdue_ms": escalation.overdue_ms,
            "reassigned_to": escalation.reassigned_to,
        });
        let holder = reassigned_to.unwrap_or(assignee);
        let cx = alert_context(self.bundle, self.keys.as_ref(), self.now_ms);
        let messages = escalation_alerts(&cx, &escalation, &hearing, holder, self.now_ms as i64);
        (detail, messages)
    }

    /// The `escalated` event of one step and its notifications, both written only with this
    /// run's `claim` (a `reassign` step's own batch).
    fn escalation_statements(
        &self,
        row: &DueRow,
        step: &StepDue,
        assignee: &Assignee,
        reassigned_to: Option<&Assignee>,
        claim: &Claim<'_>,
    ) -> Result<Vec<D1PreparedStatement>, ApiError> {
        let (db, now_ms) = (self.db, self.now_ms);
        let (detail, messages) = self.escalation_parts(row, step, assignee, reassigned_to);
        let mut statements = vec![claimed_event(
            db,
            claim,
            now_ms,
            EventKind::Escalated,
            &detail,
        )?];
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
            if attempt > 1 && self.spent() + REASSIGN_STATEMENTS > self.budget {
                // Out of statements: the clock stays due for the next tick.
                return Ok((0, false));
            }
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
                    // Only a rotation turn taken meanwhile is worth routing again for.
                    if attempt == ATTEMPTS || !error.lost_turn() {
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
