-- Issue 15: a lead's status after routing (handoff_core::status, docs/STATUS.md), a returning
-- person's link to their earlier lead, the deal's value, and the SLA's accept clock.
--
-- `open` splits into the statuses the lead's log already proves: an opportunity, a meeting, a
-- contact (any touch, a `contacted` outcome, or a first touch that was not the "I've got it"
-- link), accepted (that link alone), else new. A bot's `closed` lead is `rejected` (its
-- disqualify_reason says `bot`).
UPDATE leads SET status = CASE
    WHEN EXISTS (SELECT 1 FROM lead_events e WHERE e.lead_id = leads.id AND e.kind = 'outcome'
                 AND json_extract(e.detail, '$.outcome') = 'opportunity') THEN 'opportunity'
    WHEN EXISTS (SELECT 1 FROM lead_events e WHERE e.lead_id = leads.id AND e.kind = 'outcome'
                 AND json_extract(e.detail, '$.outcome') = 'meeting_held') THEN 'meeting'
    WHEN EXISTS (SELECT 1 FROM lead_events e WHERE e.lead_id = leads.id AND (e.kind = 'touch'
                 OR (e.kind = 'outcome' AND json_extract(e.detail, '$.outcome') = 'contacted')
                 OR (e.kind = 'first_touch' AND json_extract(e.detail, '$.via') <> 'link')))
      THEN 'working'
    WHEN EXISTS (SELECT 1 FROM lead_events e WHERE e.lead_id = leads.id
                 AND e.kind = 'first_touch') THEN 'accepted'
    ELSE 'new' END
  WHERE status = 'open';
UPDATE leads SET status = 'rejected' WHERE status = 'closed';

ALTER TABLE leads ADD COLUMN previous_lead TEXT;   -- a returning person's earlier lead
ALTER TABLE leads ADD COLUMN deal_amount REAL;     -- the latest opportunity / won / lost amount
ALTER TABLE leads ADD COLUMN deal_currency TEXT;   -- ISO 4217

ALTER TABLE sla_clocks ADD COLUMN accept_due REAL;   -- ms since the epoch; NULL: no accept target
ALTER TABLE sla_clocks ADD COLUMN accepted_at REAL;  -- when the owner took the lead

-- `leads.status` keeps its column default (SQLite cannot change it): a lead inserted as `open`
-- (by a Worker deployed before this migration, during a rollout, or by hand) is `new`.
CREATE TRIGGER leads_open_is_new AFTER INSERT ON leads WHEN NEW.status = 'open'
BEGIN
  UPDATE leads SET status = 'new' WHERE id = NEW.id;
END;

-- A daily cap counts the leads each capped owner was given since their local midnight: a few
-- index seeks per owner, whatever the size of the table.
CREATE INDEX leads_owner_created ON leads (owner_id, created_at);
