-- Issue 16: alerts that reach the person.
--
-- The outbox now also holds personal messages: `kind` slack_dm (a Slack direct message sent by the
-- app; `channel` is `owner:<id>`), email (the same, by email) and slack_app (a channel the app
-- posts to, with buttons). Nothing changes in its shape.
--
-- Slack interactions seen: a verified request's signature, kept a few minutes, so that a replay of
-- it is refused (Slack's timestamps are accepted for five minutes). The cron deletes older rows.
CREATE TABLE slack_requests (
  signature TEXT PRIMARY KEY,
  seen_at   REAL NOT NULL           -- ms since the epoch (the Worker's clock)
) STRICT;

CREATE INDEX slack_requests_seen ON slack_requests (seen_at);
