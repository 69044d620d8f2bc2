-- The event store: the record that outlives Temporal's history retention.
--
-- Appends only. A stream is one aggregate (an account, an inbound message);
-- its events are numbered 1, 2, 3 ... and PRIMARY KEY (stream_id, version)
-- turns two writers deciding on the same stale state into a unique violation
-- (optimistic concurrency). global_position orders all events for projections.
-- Every append carries an idempotency key; UNIQUE (idempotency_key,
-- batch_index) means a retried activity writes its batch once.
-- tx_id lets followers of the log avoid gaps (see EventStore.read_all).
-- Old rows are never edited: schemas evolve by schema_version and upcasters.

CREATE TABLE events (
    global_position bigint GENERATED ALWAYS AS IDENTITY,
    stream_id       text        NOT NULL,
    version         integer     NOT NULL CHECK (version >= 1),
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL DEFAULT 1,
    data            jsonb       NOT NULL,
    actor           text,
    causation_id    text,
    correlation_id  text,
    idempotency_key text        NOT NULL,
    batch_index     integer     NOT NULL CHECK (batch_index >= 0),
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    tx_id           xid8        NOT NULL DEFAULT pg_current_xact_id(),
    CONSTRAINT events_pkey PRIMARY KEY (stream_id, version),
    CONSTRAINT events_global_position_key UNIQUE (global_position),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_idempotency_key UNIQUE (idempotency_key, batch_index)
);

CREATE INDEX events_correlation_id ON events (correlation_id)
    WHERE correlation_id IS NOT NULL;

-- A public record is not edited or removed after the fact, not even by a
-- well-meaning operator with psql: the table refuses it.
CREATE FUNCTION events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % on events is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();
