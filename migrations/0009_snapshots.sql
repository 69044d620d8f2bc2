-- Snapshots and archive packages (R-37, R-38).

-- R-37, R-43: each municipality's snapshot policy (municipality.snapshots in
-- its directory YAML), written by `kanalvakt directory load`; no row: defaults.
CREATE TABLE municipality_snapshot_policies (
    municipality_id text PRIMARY KEY REFERENCES municipalities (id),
    policy          jsonb NOT NULL,
    loaded_at       timestamptz NOT NULL DEFAULT now()
);

-- Screenshots uploaded by an account's admins for platforms Kanalvakt cannot
-- read; the next snapshot of the account takes the ones not yet used.
CREATE TABLE snapshot_uploads (
    upload_id   uuid PRIMARY KEY,
    account_id  uuid NOT NULL,
    file_name   text NOT NULL,
    mime_type   text NOT NULL,
    size        integer NOT NULL,
    sha256      text NOT NULL,
    path        text NOT NULL,
    caption     text,
    uploaded_by text NOT NULL,
    uploaded_at timestamptz NOT NULL,
    used_by     text                      -- the snapshot that packaged it
);
CREATE INDEX snapshot_uploads_unused ON snapshot_uploads (account_id, uploaded_at)
    WHERE used_by IS NULL;

-- A snapshot's intermediate files (capture, rendered page, PDF, PNG) between
-- its activities, so any worker can take the next step; emptied on delivery.
CREATE TABLE snapshot_work (
    snapshot_id text NOT NULL,
    name        text NOT NULL,
    content     bytea NOT NULL,
    PRIMARY KEY (snapshot_id, name)
);

-- Read model, projected from the snapshot events (rebuildable).
CREATE TABLE snapshots (
    snapshot_id     text PRIMARY KEY,
    account_id      uuid NOT NULL,
    municipality_id text NOT NULL,
    reason          text NOT NULL,
    taken_at        timestamptz NOT NULL,
    source          text NOT NULL,
    posts           integer NOT NULL,
    comments        integer NOT NULL,
    screenshots     integer NOT NULL,
    package_id      text NOT NULL,
    manifest_sha256 text NOT NULL,
    payload_oxum    text NOT NULL,
    diarium_number  text,
    record_class    text,
    delivered_to    text,
    delivery_kind   text,
    delivered_at    timestamptz
);
CREATE INDEX snapshots_by_account ON snapshots (account_id, taken_at);
