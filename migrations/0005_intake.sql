-- The transactional inbox for inbound messages: a webhook is acknowledged once
-- its messages are here (one row per platform message, so a redelivery is a
-- no-op), and the feeder turns every row into a case at the rate Temporal
-- accepts, idempotently (the case's workflow id comes from the same key).
CREATE TABLE intake (
    platform     text NOT NULL,
    external_id  text NOT NULL,
    account_ref  text NOT NULL,
    message      jsonb NOT NULL,          -- domain.inbound.InboundMessage
    received_at  timestamptz NOT NULL,    -- when our webhook got it
    started_at   timestamptz,             -- when the feeder started its case
    claimed_until timestamptz,            -- a feeder's lease on the row
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text,
    PRIMARY KEY (platform, external_id)
);
CREATE INDEX intake_pending ON intake (received_at) WHERE started_at IS NULL;
