-- Issue 19: a HubSpot company is created by one push at a time. Two leads from one new company,
-- pushed at once by their own requests, would both find no company (our map is empty, HubSpot's
-- search cannot see a company created a second ago) and both create one. A push claims the
-- domain here first (a claim older than two minutes may be taken over: its push died); a push
-- that finds the domain claimed retries shortly, when the company is in crm_companies.
CREATE TABLE crm_company_claims (
  push_id    TEXT NOT NULL,
  domain     TEXT NOT NULL,
  claimed_at REAL NOT NULL,                 -- ms since the epoch (the Worker's clock)
  PRIMARY KEY (push_id, domain)
) STRICT;
