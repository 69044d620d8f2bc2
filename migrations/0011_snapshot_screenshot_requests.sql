-- R-37, R-38: snapshots of platforms Kanalvakt cannot read wait for their
-- screenshots. Read model, projected from the snapshot events (rebuildable):
-- one row per snapshot that asked for screenshots, shown on the account page.
CREATE TABLE snapshot_screenshot_requests (
    snapshot_id     text PRIMARY KEY,
    account_id      uuid NOT NULL,
    municipality_id text NOT NULL,
    reason          text NOT NULL,
    requested_at    timestamptz NOT NULL,
    recipients      jsonb NOT NULL DEFAULT '[]',
    next_deadline   timestamptz,           -- the next reminder or escalation
    reminded_at     timestamptz,
    escalated_at    timestamptz,
    escalated_to    text,                  -- the last step fired: manager or communications
    outcome         text,                  -- done | record_only; NULL while waiting
    decided_by      text,
    decided_at      timestamptz,
    decision_reason text,                  -- the communications unit's reason for record only
    screenshots     integer
);
CREATE INDEX snapshot_screenshot_requests_by_account
    ON snapshot_screenshot_requests (account_id, requested_at);
