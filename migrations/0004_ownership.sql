-- Ownership and history (issue 6): who owns each lead and why, every lead's append-only event
-- log, the notification outbox, and the pools' rotation state. A lead, its events and its outbox
-- rows are written in one D1 batch, so none exists without the others.

-- Who owns the lead now: a person (`owner`) or a queue (`queue`); NULL only for leads stored before
-- routing existed. `status` is `open` until worked (first touch, issue 7) or closed; a merged
-- duplicate points at the lead it was merged into.
ALTER TABLE leads ADD COLUMN owner_kind TEXT;
ALTER TABLE leads ADD COLUMN owner_id TEXT;
ALTER TABLE leads ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
ALTER TABLE leads ADD COLUMN merged_into TEXT;
ALTER TABLE leads ADD COLUMN updated_at REAL;

CREATE INDEX leads_owner_status ON leads (owner_id, status);

-- Everything that happened to a lead, oldest first: created, scored, routed, merged, notified,
-- notify_failed, dead_lettered, reassigned, … `detail` is JSON (e.g. the routing explanation).
CREATE TABLE lead_events (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  lead_id TEXT NOT NULL REFERENCES leads (id),
  at      REAL NOT NULL,                             -- ms since the epoch, the Worker's clock
  kind    TEXT NOT NULL,
  actor   TEXT NOT NULL DEFAULT 'system',            -- system | admin | an owner id
  detail  TEXT NOT NULL DEFAULT '{}'
) STRICT;

CREATE INDEX lead_events_lead ON lead_events (lead_id, seq);

-- Notifications to send: one row per message and channel, with an id that stays the same across
-- retries (the Standard Webhooks `webhook-id`). Sent at once after the lead is committed and
-- retried by the cron with backoff until delivered or dead (after the configured horizon).
CREATE TABLE outbox (
  id           TEXT PRIMARY KEY,
  lead_id      TEXT NOT NULL REFERENCES leads (id),
  channel      TEXT NOT NULL,                        -- the configured channel's id
  kind         TEXT NOT NULL,                        -- slack | webhook
  payload      TEXT NOT NULL,                        -- the JSON body, built when enqueued
  state        TEXT NOT NULL DEFAULT 'pending',      -- pending | delivered | dead
  attempts     INTEGER NOT NULL DEFAULT 0,
  next_at      REAL NOT NULL,                        -- ms since the epoch: when to try next
  created_at   REAL NOT NULL,
  delivered_at REAL,
  last_error   TEXT                                  -- our code and the HTTP status, never a secret
) STRICT;

CREATE INDEX outbox_due ON outbox (state, next_at);
CREATE INDEX outbox_lead ON outbox (lead_id);

-- Weighted round robin per pool: how many leads rotation gave each member. Rows are never reset:
-- a member removed from the pool keeps its row, one added joins at the pool's current level.
CREATE TABLE rotation (
  pool     TEXT NOT NULL,
  owner    TEXT NOT NULL,
  assigned INTEGER NOT NULL,
  PRIMARY KEY (pool, owner)
) STRICT;

-- One row per rotation assignment, numbered per pool. A submission claims the next number in the
-- same batch as its lead; a concurrent one that read the same state fails on the key, rolls back
-- entirely, and routes again with fresh state: nobody is assigned twice or skipped.
CREATE TABLE rotation_log (
  pool    TEXT NOT NULL,
  seq     INTEGER NOT NULL,
  owner   TEXT NOT NULL,
  lead_id TEXT NOT NULL REFERENCES leads (id),
  at      REAL NOT NULL,
  PRIMARY KEY (pool, seq)
) STRICT;
