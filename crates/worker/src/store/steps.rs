//! One batch of an SLA tick as set-based statements: the due clocks' stops, step claims, events,
//! notifications and new levels, each kind bound as JSON arrays (`json_each`, at most
//! `plan::JSON_BYTES` each) so that a batch of a hundred clocks is a handful of statements. Every
//! statement is idempotent on its own (claims `ON CONFLICT DO NOTHING`, writes guarded by this
//! run's claim or by the level the clock was read at), so a batch is safe to repeat.

use handoff_core::events::EventKind;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use super::outbox::claimed_messages_statement;
use crate::error::ApiError;
use crate::plan::Chunks;

/// The stop's condition: the clock is still running, at the level it was read at (none: any).
const STILL_DUE: &str = "c.next_at IS NOT NULL AND (json_extract(j.value, '$.level') IS NULL \
     OR c.level = json_extract(j.value, '$.level'))";

/// Each record is `{lead, level?, kind, why, detail}`.
fn stop_statements(
    db: &D1Database,
    array: &str,
    at_ms: f64,
) -> Result<[D1PreparedStatement; 2], ApiError> {
    let values = [JsValue::from_str(array), JsValue::from_f64(at_ms)];
    let event = format!(
        "INSERT INTO lead_events (lead_id, at, kind, actor, detail) \
         SELECT json_extract(j.value, '$.lead'), ?2, json_extract(j.value, '$.kind'), 'system', \
         json_extract(j.value, '$.detail') FROM json_each(?1) AS j WHERE EXISTS (SELECT 1 FROM \
         sla_clocks c WHERE c.lead_id = json_extract(j.value, '$.lead') AND {STILL_DUE})"
    );
    let update = format!(
        "UPDATE sla_clocks AS c SET next_at = NULL, stopped = json_extract(j.value, '$.why'), \
         updated_at = ?2 FROM json_each(?1) AS j WHERE c.lead_id = json_extract(j.value, '$.lead') \
         AND {STILL_DUE}"
    );
    Ok([
        db.prepare(&event)
            .bind(&values)
            .map_err(ApiError::storage)?,
        db.prepare(&update)
            .bind(&values)
            .map_err(ApiError::storage)?,
    ])
}

/// The claim condition of a record `{lead, level}` for run `?3`.
const CLAIMED: &str = "EXISTS (SELECT 1 FROM sla_steps s WHERE s.lead_id = \
     json_extract(j.value, '$.lead') AND s.level = json_extract(j.value, '$.level') AND s.run = ?3)";

/// The records of one batch, by kind, and how many clocks they hold.
#[derive(Default)]
pub struct StepSet {
    stops: Chunks,
    claims: Chunks,
    events: Chunks,
    messages: Chunks,
    advances: Chunks,
    pub clocks: usize,
}

/// One clock's records, serialized, before they join a [`StepSet`].
#[derive(Default)]
pub struct ClockRecords {
    stops: Vec<String>,
    claims: Vec<String>,
    events: Vec<String>,
    messages: Vec<String>,
    advances: Vec<String>,
}

impl ClockRecords {
    /// The clock stops (closed lead, suppression, unreadable) with `kind`'s event, unless another
    /// run moved it from `level` since it was read (`None`: whatever its level).
    pub fn stop(
        &mut self,
        lead: &str,
        level: Option<u32>,
        kind: EventKind,
        why: &str,
        detail: &Value,
    ) {
        let record = json!({
            "lead": lead, "level": level, "kind": kind.as_str(), "why": why,
            "detail": detail.to_string(),
        });
        self.stops.push(record.to_string());
    }

    /// Step `level` claimed by this run, and its `escalated` event written only with the claim.
    pub fn step(&mut self, lead: &str, level: u32, detail: &Value) {
        self.claims
            .push(json!({ "lead": lead, "level": level }).to_string());
        let event = json!({ "lead": lead, "level": level, "detail": detail.to_string() });
        self.events.push(event.to_string());
    }

    /// One notification of step `level`, written only with its claim.
    pub fn message(&mut self, lead: &str, level: u32, channel: (&str, &str), payload: &Value) {
        let record = json!({
            "id": crate::uuid::random_uuid(), "lead": lead, "level": level,
            "channel": channel.0, "kind": channel.1, "payload": payload.to_string(),
        });
        self.messages.push(record.to_string());
    }

    /// The clock at `level` levels done, looking again at `next` (never backwards).
    pub fn advance(&mut self, lead: &str, level: u32, next: Option<i64>) {
        let next = next.filter(|&n| n != i64::MAX);
        let record = json!({ "lead": lead, "level": level, "next": next });
        self.advances.push(record.to_string());
    }
}

fn lens(records: &[String]) -> Vec<usize> {
    records.iter().map(String::len).collect()
}

impl StepSet {
    /// The statements the set needs now.
    pub fn statements(&self) -> usize {
        2 * self.stops.statements()
            + self.claims.statements()
            + self.events.statements()
            + self.messages.statements()
            + self.advances.statements()
    }

    /// The statements the set would need with `clock` added.
    pub fn statements_with(&self, clock: &ClockRecords) -> usize {
        let extra = 2 * self.stops.extra(&lens(&clock.stops))
            + self.claims.extra(&lens(&clock.claims))
            + self.events.extra(&lens(&clock.events))
            + self.messages.extra(&lens(&clock.messages))
            + self.advances.extra(&lens(&clock.advances));
        self.statements() + extra
    }

    pub fn add(&mut self, clock: ClockRecords) {
        let kinds = [
            (&mut self.stops, clock.stops),
            (&mut self.claims, clock.claims),
            (&mut self.events, clock.events),
            (&mut self.messages, clock.messages),
            (&mut self.advances, clock.advances),
        ];
        for (chunks, records) in kinds {
            records.into_iter().for_each(|r| chunks.push_text(r));
        }
        self.clocks += 1;
    }

    /// The batch's statements for run `run` at `at_ms`, and where its claims are among them (a
    /// claim statement's changes are the steps this run carried out).
    pub fn build(
        self,
        db: &D1Database,
        run: &str,
        at_ms: f64,
    ) -> Result<(Vec<D1PreparedStatement>, Vec<usize>), ApiError> {
        let mut out = Vec::new();
        for array in self.stops.into_arrays() {
            out.extend(stop_statements(db, &array, at_ms)?);
        }
        let run = JsValue::from_str(run);
        let at = JsValue::from_f64(at_ms);
        let mut claims = Vec::new();
        for array in self.claims.into_arrays() {
            claims.push(out.len());
            out.push(
                db.prepare(
                    "INSERT INTO sla_steps (lead_id, level, run, at) \
                     SELECT json_extract(value, '$.lead'), json_extract(value, '$.level'), ?2, ?3 \
                     FROM json_each(?1) WHERE true ON CONFLICT (lead_id, level) DO NOTHING",
                )
                .bind(&[JsValue::from_str(&array), run.clone(), at.clone()])
                .map_err(ApiError::storage)?,
            );
        }
        let kind = JsValue::from_str(EventKind::Escalated.as_str());
        for array in self.events.into_arrays() {
            let sql = format!(
                "INSERT INTO lead_events (lead_id, at, kind, actor, detail) \
                 SELECT json_extract(j.value, '$.lead'), ?2, ?4, 'system', \
                 json_extract(j.value, '$.detail') FROM json_each(?1) AS j WHERE {CLAIMED}"
            );
            let values = [
                JsValue::from_str(&array),
                at.clone(),
                run.clone(),
                kind.clone(),
            ];
            out.push(db.prepare(&sql).bind(&values).map_err(ApiError::storage)?);
        }
        for array in self.messages.into_arrays() {
            out.push(claimed_messages_statement(
                db, &array, &run, at_ms, CLAIMED,
            )?);
        }
        for array in self.advances.into_arrays() {
            // `<=`: a clock another run moved to the same level gets the same next look; one it
            // moved further is left alone.
            out.push(
                db.prepare(
                    "UPDATE sla_clocks AS c SET level = json_extract(j.value, '$.level'), \
                     next_at = json_extract(j.value, '$.next'), updated_at = ?2 \
                     FROM json_each(?1) AS j WHERE c.lead_id = json_extract(j.value, '$.lead') \
                     AND c.level <= json_extract(j.value, '$.level')",
                )
                .bind(&[JsValue::from_str(&array), at.clone()])
                .map_err(ApiError::storage)?,
            );
        }
        Ok((out, claims))
    }
}
