-- SLA clocks, escalation and suppression (issue 7).

-- One clock per lead that a policy put on one, started in the lead's own batch when it is routed
-- (never for a merged repeat, a suppressed or an unmatched lead). The deadlines come from
-- handoff-core at start (the owner's working hours at that time) and are stored, so the cron only
-- compares numbers. `next_at` is when the cron must look at the clock again: the due time of the
-- next ladder step not yet carried out; NULL once nothing is left (touched, suppressed, ladder
-- done). The cron finds its work through the partial index on it, never by scanning leads.
CREATE TABLE sla_clocks (
  lead_id         TEXT PRIMARY KEY REFERENCES leads (id),
  policy          TEXT NOT NULL,
  pool            TEXT,                     -- the pool whose rotation assigned the lead, if one
  started_at      REAL NOT NULL,            -- ms since the epoch
  first_touch_due REAL NOT NULL,            -- ms since the epoch (a huge number: never)
  steps           TEXT NOT NULL,            -- JSON: the ladder with due times (core `StepDue`s)
  summary         TEXT NOT NULL,            -- JSON: who the lead is, for escalation messages
  level           INTEGER NOT NULL DEFAULT 0, -- how many ladder levels were carried out
  next_at         REAL,                     -- when the next step falls due; NULL: nothing left
  touched_at      REAL,                     -- first touch (stops the clock)
  touched_by      TEXT,
  stopped         TEXT,                     -- why the clock stopped early: touched | active_deal | …
  updated_at      REAL NOT NULL
) STRICT;

CREATE INDEX sla_clocks_next ON sla_clocks (next_at) WHERE next_at IS NOT NULL;
CREATE INDEX sla_clocks_untouched ON sla_clocks (first_touch_due) WHERE touched_at IS NULL;

-- One row per ladder step carried out: the key makes each (lead, level) happen exactly once. A
-- tick claims a step with `INSERT … ON CONFLICT DO NOTHING` under its own run id, and everything the
-- step does (event, notifications, reassignment, the clock's new level) is written in the same
-- batch only if that claim is this run's: a repeated or overlapping tick changes nothing.
CREATE TABLE sla_steps (
  lead_id TEXT NOT NULL REFERENCES leads (id),
  level   INTEGER NOT NULL,
  run     TEXT NOT NULL,                    -- the tick (or request) that carried it out
  at      REAL NOT NULL,
  PRIMARY KEY (lead_id, level)
) STRICT;

-- What the CRM (through the intake) and the events API say about a person or an account, for
-- suppression: `subject` is `email:<normalized address, lowercased>` or `domain:<company domain>`.
CREATE TABLE crm_facts (
  subject           TEXT PRIMARY KEY,
  active_deal       INTEGER NOT NULL DEFAULT 0,
  in_sequence       INTEGER NOT NULL DEFAULT 0,
  last_contacted_at REAL,                   -- ms since the epoch
  source            TEXT NOT NULL,          -- `events` | the CRM intake's id
  updated_at        REAL NOT NULL
) STRICT;

-- The CRM names people by address in its own spelling: their open lead is found case-insensitively.
CREATE INDEX leads_email_lower ON leads (lower(email));
