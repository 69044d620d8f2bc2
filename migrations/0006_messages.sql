-- Inbound-message cases. Personal content (message text, author name) is kept
-- apart from the append-only event log, in message_contents, so a disposal
-- (R-33, R-35) can delete it; events keep who decided what and when.

ALTER TABLE accounts ADD COLUMN platform_account_id text;
CREATE INDEX accounts_by_platform_id ON accounts (platform, platform_account_id)
    WHERE platform_account_id IS NOT NULL;

CREATE TABLE message_contents (
    case_id     text PRIMARY KEY,
    text        text NOT NULL,
    author_name text,
    stored_at   timestamptz NOT NULL
);

-- R-30: a preserved copy of what was unpublished, with its category and decision.
CREATE TABLE preserved_copies (
    case_id     text PRIMARY KEY,
    capture     jsonb NOT NULL,
    captured_at timestamptz NOT NULL
);

-- Diarium numbers per municipality and year: KS 2026/00123 (R-28).
CREATE TABLE diarium_series (
    municipality_id text NOT NULL,
    year            integer NOT NULL,
    last_number     integer NOT NULL,
    PRIMARY KEY (municipality_id, year)
);
CREATE TABLE diarium_numbers (
    case_id         text PRIMARY KEY,     -- one number per case: a retry gets the same
    diarium_number  text NOT NULL UNIQUE
);

-- Read models, projected from the message events (rebuildable).
CREATE TABLE message_cases (
    case_id           text PRIMARY KEY,
    account_id        uuid NOT NULL,
    municipality_id   text NOT NULL,
    platform          text NOT NULL,
    kind              text NOT NULL,
    from_staff        boolean NOT NULL,
    stage             text NOT NULL,
    received_at       timestamptz NOT NULL,
    next_deadline     timestamptz,
    escalated         boolean NOT NULL DEFAULT false,
    officer           text,
    diarium_number    text,
    flags             jsonb NOT NULL DEFAULT '[]',
    first_response_at timestamptz,
    closed_at         timestamptz,
    version           integer NOT NULL,
    state             jsonb NOT NULL           -- domain.message.MessageState without content
);
CREATE INDEX message_cases_inbox ON message_cases (account_id, stage, next_deadline);

CREATE TABLE diarium (
    diarium_number  text PRIMARY KEY,
    case_id         text NOT NULL,
    municipality_id text NOT NULL,
    account_id      uuid NOT NULL,
    record_class    text NOT NULL,
    confidential    boolean NOT NULL,
    registered_by   text,
    registered_at   timestamptz NOT NULL
);

-- R-35: decision, date and who.
CREATE TABLE disposal_log (
    case_id         text PRIMARY KEY,
    municipality_id text NOT NULL,
    account_id      uuid NOT NULL,
    decision_id     text NOT NULL,
    decided_by      text NOT NULL,
    disposed_at     timestamptz NOT NULL
);

ALTER TABLE notifications ADD COLUMN case_id text;
