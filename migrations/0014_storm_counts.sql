-- Issue 15, R-40: an account's citizen messages counted per minute as they
-- arrive, so the storm check sums at most a window's minutes instead of
-- reading every message of the window for every new message (a storm of
-- 10,000 then costs the same per message as one of 100). A read model of
-- CrisisProjection, rebuilt from the MessageReceived events. Counts only:
-- no personal data.
CREATE TABLE storm_counts (
    account_id uuid        NOT NULL,
    minute     timestamptz NOT NULL,   -- the minute's start (UTC)
    messages   integer     NOT NULL,
    critical   integer     NOT NULL,
    PRIMARY KEY (account_id, minute)
);

INSERT INTO storm_counts (account_id, minute, messages, critical)
SELECT account_id, date_trunc('minute', received_at), count(*),
       count(*) FILTER (WHERE state->>'mood' = 'critical')
FROM message_cases WHERE NOT from_staff
GROUP BY 1, 2;
