-- Issue 12 part 6: no filesystem shared between web and worker.
--
-- Screenshot uploads are kept in PostgreSQL (bytea), not in a folder: the
-- web stores them with the row, the worker's capture reads them by id. A
-- screenshot is at most 20 MB and already compressed (PNG, JPEG, WebP), so
-- it is stored EXTERNAL (out of line, not compressed again). Rows written
-- before this migration keep their `path` and no `content`: the worker
-- still reads those from the folder (a fallback until they are used by the
-- account's next snapshot). Once a snapshot's package is delivered its
-- screenshots' content is cleared (the package holds them).
ALTER TABLE snapshot_uploads ADD COLUMN content bytea;
ALTER TABLE snapshot_uploads ALTER COLUMN content SET STORAGE EXTERNAL;
ALTER TABLE snapshot_uploads ALTER COLUMN path DROP NOT NULL;

-- A registrar's records export, run by RecordsExportWorkflow (R-38): the web
-- writes the row and starts the workflow; the worker stores the package (the
-- BagIt folder as a zip) here when it is built, for the registrar to
-- download; the workflow empties `package` when it expires.
CREATE TABLE records_exports (
    export_id       uuid PRIMARY KEY,
    workflow_id     text        NOT NULL UNIQUE,
    municipality_id text        NOT NULL,
    account_id      uuid,
    period_start    date        NOT NULL,
    period_end      date        NOT NULL,
    requested_by    text        NOT NULL,
    requested_at    timestamptz NOT NULL,
    status          text        NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'done', 'failed', 'expired')),
    package_id      text,
    manifest_sha256 text,
    payload_oxum    text,
    package         bytea,
    size            bigint,
    error           text,
    finished_at     timestamptz,
    expires_at      timestamptz
);
ALTER TABLE records_exports ALTER COLUMN package SET STORAGE EXTERNAL;
CREATE INDEX records_exports_by_municipality ON records_exports (municipality_id, requested_at);
