-- Issue 9: a row that fails never stops the intake. Each row backs off on
-- its own (next_attempt_at, exponential and capped); a row that fails for
-- good, or too often, is parked with its reason (parked_at, last_error) where
-- operators see it (`kanalvakt intake parked`) and can send it back by hand
-- (`kanalvakt intake retry`). last_error names the failure, never the text.
ALTER TABLE intake
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN parked_at       timestamptz,
    ADD COLUMN failed_at       timestamptz;

DROP INDEX intake_pending;
CREATE INDEX intake_pending ON intake (received_at)
    WHERE started_at IS NULL AND parked_at IS NULL;
CREATE INDEX intake_parked ON intake (parked_at) WHERE parked_at IS NOT NULL;
