-- Issue 14: saved replies (R-27) and the register's place in the
-- records-management plan (R-36).

-- R-36: the municipality's records-management plan as its directory YAML
-- gives it (municipality.records): the register of channels' disposal
-- decision. NULL means the default (kept: bevaras / bevares).
ALTER TABLE municipalities ADD COLUMN records_plan jsonb;

-- R-27: saved replies, the municipality's (account_id NULL, kept by the
-- communications unit) and an account's (kept by its admins), in Swedish or
-- Norwegian (bokmål). Templates written by staff, no personal data of
-- citizens; a removed one is kept with who removed it and when.
CREATE TABLE saved_replies (
    id              uuid PRIMARY KEY,
    municipality_id text NOT NULL REFERENCES municipalities (id),
    account_id      uuid,
    language        text NOT NULL CHECK (language IN ('sv', 'nb')),
    title           text NOT NULL,
    text            text NOT NULL,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    removed_by      text,
    removed_at      timestamptz
);
CREATE INDEX saved_replies_in_use ON saved_replies (municipality_id, account_id)
    WHERE removed_at IS NULL;
