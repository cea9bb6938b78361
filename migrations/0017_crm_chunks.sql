-- Bounded CRM intakes (issue 20, item 5): a `POST /v1/crm/{id}` request is applied in chunks of
-- items by their place in the body, each chunk one D1 batch (one transaction) that also inserts
-- its row here. A CRM that sends the same request again (the same intake and body: `request` is
-- the SHA-256 of both) skips the chunks already recorded, so no item is applied twice, and a
-- request that stopped half-way (a failure, or the plan's per-invocation D1 limit) continues with
-- what is left. `answer` is what the chunk did (items applied, first touches, moves, items
-- ignored), so that a repeated request answers as the first did. Pruned by age
-- (`RETAIN_CRM_CHUNKS_DAYS`, store/retention.rs) through the index on `applied_at`.
CREATE TABLE crm_chunks (
  request    TEXT NOT NULL,
  chunk      INTEGER NOT NULL,
  applied_at REAL NOT NULL,
  answer     TEXT NOT NULL,
  PRIMARY KEY (request, chunk)
) STRICT;

CREATE INDEX crm_chunks_applied ON crm_chunks (applied_at);
