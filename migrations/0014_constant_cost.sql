-- Constant cost per lead (issue 20): what a submission's routing reads is kept in small rows
-- that the lead's own batch updates, so one submission reads and writes the same rows whether the
-- database holds no lead or a million; and indexes for retention's bounded deletes.

-- Each pool's last rotation turn number. A routed lead's batch claims the next one by updating
-- it; the trigger refuses any other number, so of two submissions that read the same turn only
-- the first commits, and the other's whole batch rolls back with the error `rotation_turn_lost`
-- (the only failure the intake routes again for). `rotation_log` keeps one row per turn as the
-- history; nothing reads it to route.
CREATE TABLE pool_turns (
  pool TEXT PRIMARY KEY,
  seq  INTEGER NOT NULL
) STRICT;

INSERT INTO pool_turns (pool, seq) SELECT pool, MAX(seq) FROM rotation_log GROUP BY pool;

CREATE TRIGGER pool_turns_next BEFORE UPDATE OF seq ON pool_turns
WHEN NEW.seq <> OLD.seq + 1
BEGIN
  SELECT RAISE(ABORT, 'rotation_turn_lost');
END;

-- How many leads each owner holds in each status. Capacity counts the statuses the configuration
-- says (`routing.capacity_counts`), which may change, so the count is kept per status and summed
-- at read time over owners × statuses, never over leads. Kept by triggers, whichever code path
-- inserts, reassigns, moves, merges or deletes a lead.
CREATE TABLE owner_status_counts (
  status   TEXT NOT NULL,
  owner_id TEXT NOT NULL,
  n        INTEGER NOT NULL,
  PRIMARY KEY (status, owner_id)                 -- routing reads the counted statuses only
) STRICT, WITHOUT ROWID;

INSERT INTO owner_status_counts (status, owner_id, n)
SELECT status, owner_id, COUNT(*) FROM leads
WHERE owner_kind = 'owner' AND owner_id IS NOT NULL
GROUP BY owner_id, status;

CREATE TRIGGER leads_owner_count_insert AFTER INSERT ON leads
WHEN NEW.owner_kind = 'owner' AND NEW.owner_id IS NOT NULL
BEGIN
  INSERT INTO owner_status_counts (status, owner_id, n) VALUES (NEW.status, NEW.owner_id, 1)
  ON CONFLICT (status, owner_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER leads_owner_count_update AFTER UPDATE OF owner_kind, owner_id, status ON leads
WHEN OLD.owner_kind IS NOT NEW.owner_kind OR OLD.owner_id IS NOT NEW.owner_id
  OR OLD.status IS NOT NEW.status
BEGIN
  UPDATE owner_status_counts SET n = n - 1
  WHERE OLD.owner_kind = 'owner' AND owner_id = OLD.owner_id AND status = OLD.status;
  INSERT INTO owner_status_counts (status, owner_id, n)
  SELECT NEW.status, NEW.owner_id, 1 WHERE NEW.owner_kind = 'owner' AND NEW.owner_id IS NOT NULL
  ON CONFLICT (status, owner_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER leads_owner_count_delete AFTER DELETE ON leads
WHEN OLD.owner_kind = 'owner' AND OLD.owner_id IS NOT NULL
BEGIN
  UPDATE owner_status_counts SET n = n - 1 WHERE owner_id = OLD.owner_id AND status = OLD.status;
END;

-- Retention (store/retention.rs) deletes by these times, through an index, a bounded batch a tick.
CREATE INDEX rotation_log_at ON rotation_log (at);
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE state = 'delivered';

-- The archive (store/archive.rs): closed leads, oldest first, through a partial index that holds
-- only them; and the chunk under way, written before its upload to R2, so that a tick failing
-- between the upload and the delete finishes the same chunk under the same key.
CREATE INDEX leads_closed_created ON leads (created_at, id)
  WHERE status IN ('won', 'lost', 'rejected', 'recycled', 'merged');

CREATE TABLE archive_chunks (
  key        TEXT PRIMARY KEY,               -- the month and the first lead: 2026-01/<ms>-<id>
  ids        TEXT NOT NULL,                  -- JSON: the chunk's lead ids, oldest first
  created_at REAL NOT NULL,
  done_at    REAL                            -- uploaded and removed from D1
) STRICT;

CREATE INDEX archive_chunks_pending ON archive_chunks (created_at) WHERE done_at IS NULL;
