-- Experiments (issue 8): the experiment a lead took part in and the arm a stable hash of its id
-- gave it, so that reports compare arms. NULL: no experiment.
ALTER TABLE leads ADD COLUMN experiment TEXT;
ALTER TABLE leads ADD COLUMN arm TEXT;

CREATE INDEX leads_experiment ON leads (experiment, arm, created_at);
