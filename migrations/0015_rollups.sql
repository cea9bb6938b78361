-- Issue 20: reports from rollups (handoff_core::metrics::rollup, docs/METRICS.md). GET /v1/metrics
-- reads a few rows per day and group instead of every lead and event of its range.
--
-- One row per UTC day and hour of creation, grouping (all, source, …; `day` reads `all`) and
-- group key: the group's partial (counts, money in hundredths per currency, and a bounded sketch
-- per duration), as JSON. `rev` is bumped by every write, so that a fold that read a row writes
-- it only if nobody wrote it since.
CREATE TABLE metric_rollups (
  group_by TEXT NOT NULL,
  width    INTEGER NOT NULL,      -- ms: 86400000 (a day) or 3600000 (an hour)
  start    INTEGER NOT NULL,      -- ms since the epoch, a multiple of the width
  key      TEXT NOT NULL,
  partial  TEXT NOT NULL,         -- JSON: handoff_core::metrics::rollup::Partial
  rev      INTEGER NOT NULL,
  PRIMARY KEY (group_by, width, start, key)
) STRICT, WITHOUT ROWID;

-- One row per lead: what it last added to the rollups (`entry`, JSON
-- handoff_core::metrics::rollup::Entry; NULL when it adds nothing: a bot, a merged repeat, or
-- never folded) and at which `version` of the lead. The triggers below bump `version` in the very
-- statement that writes something the metrics read, whatever code path writes it; a lead is dirty
-- while `version > folded`, until the cron's fold takes its old entry out and puts the new in.
CREATE TABLE metric_leads (
  lead_id    TEXT PRIMARY KEY,
  created_at REAL NOT NULL,
  version    INTEGER NOT NULL,
  folded     INTEGER NOT NULL DEFAULT 0,
  entry      TEXT
) STRICT;

-- The dirty leads, oldest first (the fold's queue) and by range (a report's correction).
CREATE INDEX metric_leads_dirty ON metric_leads (created_at) WHERE version > folded;

-- A fold's check that nothing it read changed before its write: one row whose `ok` must be 1,
-- written and removed in the fold's own batch, so a failed check rolls the whole batch back.
CREATE TABLE metric_fold_guard (
  ok INTEGER NOT NULL CHECK (ok = 1)
) STRICT;

-- A new lead, and a change of anything the reports group by or leave out by (its attribution,
-- grade, lifecycle, owner, arm, evaluation, status, disqualification, creation time).
CREATE TRIGGER metric_leads_inserted AFTER INSERT ON leads
BEGIN
  INSERT INTO metric_leads (lead_id, created_at, version) VALUES (NEW.id, NEW.created_at, 1)
    ON CONFLICT (lead_id) DO UPDATE SET version = version + 1, created_at = excluded.created_at;
END;

CREATE TRIGGER metric_leads_updated
AFTER UPDATE OF attribution, grade, lifecycle, owner_id, experiment, arm, evaluation, status,
  disqualify_reason, created_at ON leads
BEGIN
  INSERT INTO metric_leads (lead_id, created_at, version) VALUES (NEW.id, NEW.created_at, 1)
    ON CONFLICT (lead_id) DO UPDATE SET version = version + 1, created_at = excluded.created_at;
END;

CREATE TRIGGER metric_leads_deleted AFTER DELETE ON leads
BEGIN
  UPDATE metric_leads SET version = version + 1 WHERE lead_id = OLD.id;
END;

-- The event kinds the metrics read (handoff_core::metrics::READS; a Worker test holds this table
-- to it): an event of one of them written, changed or removed marks its lead.
CREATE TABLE metric_event_kinds (kind TEXT PRIMARY KEY) STRICT, WITHOUT ROWID;
INSERT INTO metric_event_kinds (kind) VALUES ('notified'), ('accepted'), ('first_touch'), ('touch'),
  ('outcome'), ('status_changed'), ('lifecycle_raised'), ('sla_started');

CREATE TRIGGER metric_events_inserted AFTER INSERT ON lead_events
WHEN NEW.kind IN (SELECT kind FROM metric_event_kinds)
BEGIN
  UPDATE metric_leads SET version = version + 1 WHERE lead_id = NEW.lead_id;
END;

CREATE TRIGGER metric_events_updated AFTER UPDATE ON lead_events
WHEN NEW.kind IN (SELECT kind FROM metric_event_kinds) OR OLD.kind IN (SELECT kind FROM metric_event_kinds)
BEGIN
  UPDATE metric_leads SET version = version + 1 WHERE lead_id IN (OLD.lead_id, NEW.lead_id);
END;

CREATE TRIGGER metric_events_deleted AFTER DELETE ON lead_events
WHEN OLD.kind IN (SELECT kind FROM metric_event_kinds)
BEGIN
  UPDATE metric_leads SET version = version + 1 WHERE lead_id = OLD.lead_id;
END;

-- Every lead stored before this migration is dirty: the cron rolls them up, and until then each
-- report counts them from their logs.
INSERT INTO metric_leads (lead_id, created_at, version) SELECT id, created_at, 1 FROM leads;
