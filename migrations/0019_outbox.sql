-- Issue 13: deadlines that reach people. Every notifications row (a reminder,
-- an escalation, a notice to a person) is copied into the outbox in the same
-- transaction, by a trigger, so no projection can forget it; the outbox
-- sender (outbox_sender.py) delivers it by e-mail, and a unit's or
-- municipality's chat webhook gets one post per event.
--
-- The outbox is not a read model: `rebuild-read-models` empties and refills
-- notifications with `kanalvakt.rebuilding` set, and the trigger then writes
-- nothing; and the key (event_id, recipient, channel) makes any re-projection
-- a no-op, so a rebuild never sends anything again.

CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    event_id        uuid        NOT NULL,
    -- a person id (channel email), or the webhook's scope (channel chat:
    -- '<municipality>' or '<municipality>/<unit>')
    recipient       text        NOT NULL,
    channel         text        NOT NULL CHECK (channel IN ('email', 'chat')),
    municipality_id text,
    account_id      uuid,
    case_id         text,
    kind            text        NOT NULL,
    step            text        NOT NULL,
    stage           text        NOT NULL,
    due             timestamptz,
    created_at      timestamptz NOT NULL,
    -- pending -> sent, or failed (an operator's turn: `kanalvakt outbox retry`)
    status          text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'failed')),
    -- when the sender may take it: NULL until planned (at once, or the
    -- person's digest hour); then after each failure, later
    send_after      timestamptz,
    -- a sender that took the row holds it until then (a crash frees it)
    leased_until    timestamptz,
    -- the rows delivered in one mail share a batch (the lowest id of them);
    -- the Message-ID comes from it, so a resend after a crash is recognisable
    batch           bigint,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    sent_at         timestamptz,
    UNIQUE (event_id, recipient, channel)
);
CREATE INDEX outbox_ready ON outbox (send_after) WHERE status = 'pending';
CREATE INDEX outbox_unplanned ON outbox (id) WHERE status = 'pending' AND send_after IS NULL;
CREATE INDEX outbox_failed ON outbox (id) WHERE status = 'failed';
CREATE INDEX outbox_batch ON outbox (batch) WHERE batch IS NOT NULL;

-- How a person wants to hear (the intranet's "Notifications" page). No row:
-- at once, in the language of the municipality's country.
CREATE TABLE notification_preferences (
    municipality_id text        NOT NULL,
    person_id       text        NOT NULL,
    mode            text        NOT NULL CHECK (mode IN ('immediate', 'digest')),
    digest_hour     smallint    NOT NULL DEFAULT 8 CHECK (digest_hour BETWEEN 0 AND 23),
    language        text CHECK (language IN ('sv', 'nb', 'en')),
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (municipality_id, person_id)
);

-- Optional chat channels: an incoming webhook (Microsoft Teams or a generic
-- JSON one) for a whole municipality (unit_id '') or one unit.
CREATE TABLE chat_webhooks (
    municipality_id text        NOT NULL,
    unit_id         text        NOT NULL DEFAULT '',
    url             text        NOT NULL,
    format          text        NOT NULL DEFAULT 'teams' CHECK (format IN ('teams', 'generic')),
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (municipality_id, unit_id)
);

CREATE FUNCTION outbox_from_notifications() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('kanalvakt.rebuilding', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    INSERT INTO outbox (event_id, recipient, channel, municipality_id, account_id, case_id,
                        kind, step, stage, due, created_at)
    SELECT n.event_id, n.recipient, 'email', coalesce(a.municipality_id, d.municipality_id),
           n.account_id, n.case_id, n.kind, n.step, n.stage, n.due, n.created_at
    FROM new_rows n
    LEFT JOIN accounts a ON a.account_id = n.account_id
    LEFT JOIN crisis_digests d ON n.account_id IS NULL AND d.digest_id = n.step
    ORDER BY n.created_at
    ON CONFLICT DO NOTHING;
    -- One chat post per event and webhook (the unit's, and the municipality's).
    INSERT INTO outbox (event_id, recipient, channel, municipality_id, account_id, case_id,
                        kind, step, stage, due, created_at)
    SELECT DISTINCT ON (n.event_id, w.municipality_id, w.unit_id)
           n.event_id,
           w.municipality_id || CASE WHEN w.unit_id = '' THEN '' ELSE '/' || w.unit_id END,
           'chat', a.municipality_id, n.account_id, n.case_id, n.kind, n.step, n.stage, n.due,
           n.created_at
    FROM new_rows n
    JOIN accounts a ON a.account_id = n.account_id
    JOIN chat_webhooks w ON w.municipality_id = a.municipality_id
                        AND (w.unit_id = '' OR w.unit_id = a.unit_id)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER notifications_to_outbox
    AFTER INSERT ON notifications
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_from_notifications();
