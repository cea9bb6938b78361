-- What the intake judged besides the answers, for replaying a lead (GET /v1/export/leads.jsonl,
-- handoff simulate): the activity the request sent, its context (honeypot, fill time) and the CRM
-- facts read for the person. JSON {activity, context, facts}; NULL for leads stored before.
ALTER TABLE leads ADD COLUMN inputs TEXT;
