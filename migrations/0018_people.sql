-- Issue 21, item 6: a person's data found and erased (GET and DELETE /v1/people/{email}).
--
-- Which archived leads are whose: one row per lead the archive moved to R2 that had an email,
-- written in the batch that removes the chunk's leads from D1. `person` is HMAC-SHA-256 of the
-- lead's `person_key` under the Worker's `PEOPLE_INDEX_KEY` secret (handoff_core::erase::
-- person_hash), hex: the index names nobody to whoever reads it, and an erasure reads only the
-- chunks that hold the person instead of listing the bucket. An erasure removes its rows.
-- Chunks archived before this migration (`archive_chunks.indexed` NULL) are indexed by the cron,
-- one a tick when it has nothing to archive, from their `leads/` files.
CREATE TABLE archive_people (
  person  TEXT NOT NULL,
  lead_id TEXT NOT NULL,
  chunk   TEXT NOT NULL,                  -- archive_chunks.key: the files are <folder>/<chunk>.jsonl
  PRIMARY KEY (person, lead_id)
) STRICT, WITHOUT ROWID;

ALTER TABLE archive_chunks ADD COLUMN indexed INTEGER;  -- 1: its people are in archive_people
CREATE INDEX archive_chunks_unindexed ON archive_chunks (created_at)
  WHERE done_at IS NOT NULL AND indexed IS NULL;

-- Each erasure, without the personal data: when, who asked (the admin API: `admin`), and how
-- many rows, files and keys of each store it removed or anonymized (JSON, the answer's `erased`).
CREATE TABLE erasures (
  id     TEXT PRIMARY KEY,                -- UUID v4
  at     REAL NOT NULL,                   -- ms since the epoch, the Worker's clock
  actor  TEXT NOT NULL,
  counts TEXT NOT NULL
) STRICT;

-- An erasure's check that no lead of the person was stored after its read: a row whose `ok` must
-- be 1, inserted (as 0, failing the whole batch) only when one still names the person.
CREATE TABLE erasure_guard (
  ok INTEGER NOT NULL CHECK (ok = 1)
) STRICT;
