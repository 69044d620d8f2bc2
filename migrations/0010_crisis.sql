-- Crisis mode (R-39) and storm flags (R-40).

-- R-43: a municipality's crisis settings (municipality.crisis in its directory
-- YAML); NULL means the defaults. Crisis management is a role of the directory.
ALTER TABLE municipalities ADD COLUMN crisis_policy jsonb;
ALTER TABLE roles DROP CONSTRAINT roles_role_check;
ALTER TABLE roles ADD CONSTRAINT roles_role_check
    CHECK (role IN ('communications', 'registrar', 'crisis_management'));

-- Read models projected from the crisis streams (crisis:<municipality>),
-- rebuildable from the events like the others.
CREATE TABLE crisis_modes (
    crisis_id       text PRIMARY KEY,
    municipality_id text NOT NULL,
    units           text[] NOT NULL,            -- empty: the whole municipality
    mode            jsonb NOT NULL,             -- domain.crisis_mode.CrisisMode
    reason          text NOT NULL,
    declared_by     text NOT NULL,
    declared_at     timestamptz NOT NULL,
    ended_by        text,
    ended_at        timestamptz,
    end_reason      text
);
-- At most one crisis in force per municipality; the feeder reads it for every case.
CREATE UNIQUE INDEX crisis_modes_current ON crisis_modes (municipality_id)
    WHERE ended_at IS NULL;

-- R-40: storm flags raised to the communications unit, one per storm.
CREATE TABLE crisis_storms (
    event_id        uuid PRIMARY KEY,
    municipality_id text NOT NULL,
    account_id      uuid NOT NULL,
    unit_id         text NOT NULL,
    flagged_at      timestamptz NOT NULL,
    cooldown_until  timestamptz NOT NULL,
    window_start    timestamptz NOT NULL,
    window_end      timestamptz NOT NULL,
    messages        integer NOT NULL,
    critical        integer NOT NULL,
    cooled_down_at  timestamptz
);
CREATE INDEX crisis_storms_by_account ON crisis_storms (account_id, flagged_at DESC);

-- R-39: the digests of questions and moods for crisis management. Counts,
-- flags and case ids only: the texts stay in message_contents.
CREATE TABLE crisis_digests (
    digest_id       text PRIMARY KEY,
    crisis_id       text NOT NULL,
    municipality_id text NOT NULL,
    period_start    timestamptz NOT NULL,
    period_end      timestamptz NOT NULL,
    compiled_at     timestamptz NOT NULL,
    messages        integer NOT NULL,
    questions       integer NOT NULL,
    critical        integer NOT NULL,
    open            integer NOT NULL,
    flagged         integer NOT NULL,
    digest          jsonb NOT NULL              -- domain.crisis.CrisisDigest
);
CREATE INDEX crisis_digests_by_crisis ON crisis_digests (crisis_id, period_end);

-- R-39: a message case tagged for crisis management (kept after the crisis).
ALTER TABLE message_cases ADD COLUMN crisis_id text;
CREATE INDEX message_cases_by_crisis ON message_cases (crisis_id) WHERE crisis_id IS NOT NULL;
-- The storm window and the digests read an account's messages by receipt time.
CREATE INDEX message_cases_by_received ON message_cases (account_id, received_at);

-- Digests go to crisis management, not to one account.
ALTER TABLE notifications ALTER COLUMN account_id DROP NOT NULL;
