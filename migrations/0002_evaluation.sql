-- What handoff-core concluded about each lead when the Worker stored it.
ALTER TABLE leads ADD COLUMN score INTEGER;                 -- 0-100
ALTER TABLE leads ADD COLUMN grade TEXT;                    -- A-D, from fit
ALTER TABLE leads ADD COLUMN lifecycle TEXT;                -- disqualified | nurture | mql | sql
ALTER TABLE leads ADD COLUMN disqualify_reason TEXT;        -- reason code, NULL if qualified
ALTER TABLE leads ADD COLUMN evaluation TEXT;               -- JSON: score breakdown, disqualification, visible fields

CREATE INDEX leads_lifecycle ON leads (lifecycle, created_at);
