-- Per-client rate limiting of lead intake (issue 6), and the index the admin API pages leads by.

-- Submissions counted per client and fixed window. `key` is the hex SHA-256 of the client's
-- address (never the address itself) and the form id; `window_start` is when the window began,
-- `expires_at` when it ended (ms since the epoch). One upsert per submission counts it; the
-- scheduled handler deletes expired windows a bounded number at a time.
CREATE TABLE rate_limits (
  key          TEXT NOT NULL,
  window_start REAL NOT NULL,
  count        INTEGER NOT NULL,
  expires_at   REAL NOT NULL,
  PRIMARY KEY (key, window_start)
) STRICT;

CREATE INDEX rate_limits_expires_at ON rate_limits (expires_at);

-- `GET /v1/leads` pages newest first by (created_at, id): a stable order even when two leads share
-- a millisecond.
CREATE INDEX leads_created_id ON leads (created_at, id);
