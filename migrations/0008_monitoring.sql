-- Monitoring duties of active accounts (R-15..R-20), projected from the
-- account events in the append's transaction and rebuildable from them.
-- Every value comes from event data (never now()).

-- R-15, R-16: when the account was last checked (also a search attribute).
ALTER TABLE accounts ADD COLUMN last_check_in timestamptz;

-- R-15, R-16: every check-in, by hand or implied by a moderation decision.
CREATE TABLE check_ins (
    event_id        uuid PRIMARY KEY,
    account_id      uuid NOT NULL,
    municipality_id text NOT NULL,
    checked_at      timestamptz NOT NULL,
    checked_by      text NOT NULL,
    source          text NOT NULL,          -- manual | moderation
    case_id         text,                   -- the message case, for a moderation decision
    recorded_at     timestamptz NOT NULL
);
CREATE INDEX check_ins_by_account ON check_ins (account_id, checked_at DESC);

-- R-18, R-21: staff posts as published (platform id and time; no personal data).
CREATE TABLE published_posts (
    account_id      uuid NOT NULL,
    post_id         text NOT NULL,
    municipality_id text NOT NULL,
    published_at    timestamptz NOT NULL,
    recorded_by     text NOT NULL,
    recorded_at     timestamptz NOT NULL,
    PRIMARY KEY (account_id, post_id)
);
CREATE INDEX published_posts_by_time ON published_posts (account_id, published_at DESC);

-- R-20: criticism or errors about the unit, raised with its manager.
CREATE TABLE watch_items (
    account_id      uuid NOT NULL,
    item_id         text NOT NULL,           -- W-1, W-2, ... per account
    municipality_id text NOT NULL,
    unit_id         text NOT NULL,
    summary         text NOT NULL,
    link            text,
    seen_at         timestamptz NOT NULL,
    reported_by     text NOT NULL,
    reported_at     timestamptz NOT NULL,
    status          text NOT NULL,           -- open | resolved
    reminded_at     timestamptz,
    escalated_at    timestamptz,
    resolved_by     text,
    resolved_at     timestamptz,
    resolution_note text,
    PRIMARY KEY (account_id, item_id)
);
CREATE INDEX watch_items_open ON watch_items (municipality_id, unit_id) WHERE status = 'open';

-- R-19: closure proposals for the communications unit, a task until it
-- closes the account, keeps it with a reason, or a new post ends the inactivity.
CREATE TABLE monitoring_tasks (
    task_id         uuid PRIMARY KEY,        -- the ClosureProposed event's id
    account_id      uuid NOT NULL,
    municipality_id text NOT NULL,
    kind            text NOT NULL,           -- closure_proposal
    assignees       jsonb NOT NULL,
    inactive_since  timestamptz,
    opened_at       timestamptz NOT NULL,
    closed_at       timestamptz,
    closed_by       text,
    outcome         text,                    -- kept | closed | post
    reason          text
);
CREATE INDEX monitoring_tasks_open ON monitoring_tasks (municipality_id) WHERE closed_at IS NULL;
