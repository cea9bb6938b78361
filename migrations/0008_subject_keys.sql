-- One key for a person (and the account of their email's domain), computed in one place
-- (handoff-core's `crm::lead_subjects`) and stored with each lead, so that the CRM intake, the
-- events API and the SLA cron all match `crm_facts` subjects exactly. SQLite's `lower()` folds
-- ASCII letters only: `'email:' || lower(email)` never matched a CRM's `åsa@…` for `Åsa@…`.
ALTER TABLE leads ADD COLUMN person_key TEXT;
ALTER TABLE leads ADD COLUMN account_key TEXT;

-- Leads stored before this migration: the same keys as far as SQL can compute them (exact for
-- ASCII addresses, which are all that lower() matched before either).
UPDATE leads SET person_key = 'email:' || lower(email),
  account_key = 'domain:' || lower(substr(email, instr(email, '@') + 1))
  WHERE email IS NOT NULL;

DROP INDEX leads_email_lower;
CREATE INDEX leads_person_key ON leads (person_key);
