-- Leads as stored once the Worker has re-checked them with handoff-core.
CREATE TABLE leads (
  id                    TEXT PRIMARY KEY,            -- UUID v4 from the runtime's CSPRNG
  form_id               TEXT NOT NULL,
  email                 TEXT,                        -- normalized; NULL when the form has no email field
  answers               TEXT NOT NULL,               -- JSON object of normalized answers, by field id
  bundle_version        TEXT NOT NULL,               -- the rule bundle the Worker evaluated
  client_bundle_version TEXT,                        -- what the browser said it evaluated (advisory)
  created_at            REAL NOT NULL                -- ms since the Unix epoch, from the Worker's clock
) STRICT;

CREATE INDEX leads_email ON leads (email);
CREATE INDEX leads_created_at ON leads (created_at);

-- One row per cron tick that ran: the SLA clock (later) needs to know which minutes it has seen.
CREATE TABLE cron_ticks (
  scheduled_at REAL PRIMARY KEY,                     -- the tick's scheduled time, ms since the epoch
  ran_at       REAL NOT NULL
) STRICT;
