-- What the form observed with the lead, and the first answer to each idempotency key.
ALTER TABLE leads ADD COLUMN visitor TEXT;                  -- first-party visitor token, NULL if none
ALTER TABLE leads ADD COLUMN attribution TEXT;              -- JSON: UTM, referrer, landing page, pages, consent

CREATE INDEX leads_visitor ON leads (visitor);

-- A retried submission (same Idempotency-Key, same body) gets the first answer again; the same key
-- with another body is refused. Written in the same D1 batch as the lead, so a key never exists
-- without its lead.
CREATE TABLE idempotency_keys (
  key         TEXT PRIMARY KEY,                      -- the client's Idempotency-Key header
  body_sha256 TEXT NOT NULL,                         -- hex SHA-256 of the request body
  lead_id     TEXT NOT NULL REFERENCES leads (id),
  status      INTEGER NOT NULL,                      -- the HTTP status answered
  response    TEXT NOT NULL,                         -- the JSON body answered
  created_at  REAL NOT NULL                          -- ms since the epoch
) STRICT;

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
