-- Issue 19: leads pushed into the CRM their owners work in ([[crm.push]]: HubSpot, Salesforce).
--
-- One record per lead and push: what the CRM calls it (contact or Lead, company, task), and
-- whether the CRM has the lead as it stands now. The record is the outbox of a state, not of
-- messages: every change that matters bumps `version` and makes it due, and one push sends the
-- lead as it stands then, so many changes while the CRM is down become one write, never an old
-- state after a newer one. `snapshot` is what was fixed at routing (handoff_core::push::Snapshot,
-- JSON); the rest is read from the lead when it is pushed.
CREATE TABLE crm_records (
  lead_id        TEXT NOT NULL REFERENCES leads (id),
  push_id        TEXT NOT NULL,            -- the [[crm.push]] id
  target         TEXT NOT NULL,            -- hubspot | salesforce
  state          TEXT NOT NULL,            -- pending | synced | dead
  version        INTEGER NOT NULL,         -- bumped by each change to push
  synced_version INTEGER NOT NULL DEFAULT 0, -- the version the CRM last took
  next_at        REAL NOT NULL,            -- ms since the epoch: when to push next (0: at once)
  attempts       INTEGER NOT NULL DEFAULT 0, -- failed attempts since the last success
  failing_since  REAL,                     -- the first of those failures (the dead-letter horizon)
  last_error     TEXT,                     -- our code, the HTTP status, the vendor's error name
  snapshot       TEXT NOT NULL,
  record_id      TEXT,                     -- HubSpot contact id | Salesforce Lead id
  company_id     TEXT,                     -- HubSpot company id
  task_id        TEXT,                     -- the owner's task
  url            TEXT,                     -- where a person opens the record
  created_at     REAL NOT NULL,
  synced_at      REAL,
  PRIMARY KEY (lead_id, push_id)
) STRICT;

CREATE INDEX crm_records_due ON crm_records (push_id, next_at) WHERE state = 'pending';
-- The CRM names a record by its own id when it calls back (an owner changed in HubSpot).
CREATE INDEX crm_records_record ON crm_records (push_id, record_id);

-- HubSpot companies by domain, as found or created by a push: a second lead from the same company
-- is associated with the same company even before HubSpot's search can see it.
CREATE TABLE crm_companies (
  push_id    TEXT NOT NULL,
  domain     TEXT NOT NULL,
  company_id TEXT NOT NULL,
  created_at REAL NOT NULL,
  PRIMARY KEY (push_id, domain)
) STRICT;

-- Every change to a lead that its CRM record shows makes the record due, whichever code path
-- made it (status moves, reassignment, an SLA step, a merge's new lifecycle, a deal's value):
-- a pending record keeps its place and backoff, a synced or dead one is due at once.
CREATE TRIGGER leads_crm_changed
AFTER UPDATE OF status, owner_kind, owner_id, lifecycle, score, deal_amount, deal_currency ON leads
BEGIN
  UPDATE crm_records SET
    version = version + 1,
    next_at = CASE WHEN state = 'pending' THEN next_at ELSE 0 END,
    attempts = CASE WHEN state = 'pending' THEN attempts ELSE 0 END,
    failing_since = CASE WHEN state = 'pending' THEN failing_since ELSE NULL END,
    state = 'pending'
  WHERE lead_id = NEW.id;
END;

-- The task's due time and whether it is done follow the SLA clock.
CREATE TRIGGER sla_clocks_crm_changed
AFTER UPDATE OF first_touch_due, touched_at ON sla_clocks
BEGIN
  UPDATE crm_records SET
    version = version + 1,
    next_at = CASE WHEN state = 'pending' THEN next_at ELSE 0 END,
    attempts = CASE WHEN state = 'pending' THEN attempts ELSE 0 END,
    failing_since = CASE WHEN state = 'pending' THEN failing_since ELSE NULL END,
    state = 'pending'
  WHERE lead_id = NEW.lead_id;
END;
