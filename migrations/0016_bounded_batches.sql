-- Bounded batches and a fair outbox (issue 20, items 5 and 6).

-- A clock the cron cannot read (its ladder's JSON corrupt, a value that does not deserialize) is
-- flagged rather than left first in line: `stopped = 'unreadable'`, `next_at` NULL, and an
-- `sla_unreadable` event on its lead. `GET /v1/health` counts them through this partial index.
CREATE INDEX sla_clocks_unreadable ON sla_clocks (lead_id) WHERE stopped = 'unreadable';

-- What each cron tick did, as JSON: the SLA run's and the outbox run's reports, with the D1
-- statements and batches they used (what the tests and the benchmark hold to the plan's limits).
ALTER TABLE cron_ticks ADD COLUMN sla TEXT;
ALTER TABLE cron_ticks ADD COLUMN outbox TEXT;

-- A message being sent is leased until `leased_until`, on the wall clock of the run that took it
-- (ms since the epoch), apart from `next_at`, its schedule: a run that dies mid-send leaves the
-- message to the first run after the lease ends, still due at its scheduled time.
ALTER TABLE outbox ADD COLUMN leased_until REAL;

-- The outbox's fair selection reads fresh messages and retries apart, each oldest first, and asks
-- per channel whether it is in backoff (a pending message that failed before).
CREATE INDEX outbox_fresh ON outbox (next_at) WHERE state = 'pending' AND attempts = 0;
CREATE INDEX outbox_retry ON outbox (channel, next_at) WHERE state = 'pending' AND attempts > 0;
