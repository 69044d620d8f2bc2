-- Read models of the account lifecycle, projected from the events in the
-- append's transaction and rebuildable from them (`kanalvakt rebuild-read-models`).
-- Every value comes from event data (never now()), so a rebuild equals the live tables.

CREATE TABLE accounts (
    account_id      uuid PRIMARY KEY,
    stream_id       text NOT NULL UNIQUE,
    workflow_id     text NOT NULL,
    municipality_id text NOT NULL,
    unit_id         text NOT NULL,
    platform        text NOT NULL,
    account_name    text NOT NULL,
    stage           text NOT NULL,
    requester       text NOT NULL,
    handle          text,
    url             text,
    admins          jsonb NOT NULL DEFAULT '[]',
    next_deadline   timestamptz,
    escalated       boolean NOT NULL DEFAULT false,
    requested_at    timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    version         integer NOT NULL,
    state           jsonb NOT NULL          -- the folded domain.account.AccountState
);
CREATE INDEX accounts_by_stage ON accounts (municipality_id, stage);
CREATE INDEX accounts_by_unit ON accounts (municipality_id, unit_id);

-- R-07: the public register of official channels.
CREATE TABLE public_register (
    account_id       uuid PRIMARY KEY,
    municipality_id  text NOT NULL,
    unit_id          text NOT NULL,
    platform         text NOT NULL,
    account_name     text NOT NULL,
    handle           text NOT NULL,
    url              text NOT NULL,
    purpose          text NOT NULL,
    contact_email    text NOT NULL,
    monitoring_hours text NOT NULL,
    listed_at        timestamptz NOT NULL
);
CREATE INDEX public_register_by_municipality ON public_register (municipality_id, unit_id);

-- Who was reminded or escalated to, and when (delivery is a separate concern).
CREATE TABLE notifications (
    event_id    uuid NOT NULL,
    recipient   text NOT NULL,
    account_id  uuid NOT NULL,
    kind        text NOT NULL,
    step        text NOT NULL,
    stage       text NOT NULL,
    due         timestamptz,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (event_id, recipient)
);
CREATE INDEX notifications_by_recipient ON notifications (recipient, created_at);

-- R-38: archive packages registered for the registrars.
CREATE TABLE registrar_inbox (
    package_id      text PRIMARY KEY,
    account_id      uuid NOT NULL,
    municipality_id text NOT NULL,
    kind            text NOT NULL,
    path            text NOT NULL,
    manifest_sha256 text NOT NULL,
    payload_oxum    text NOT NULL,
    registrars      jsonb NOT NULL,
    received_at     timestamptz NOT NULL
);
