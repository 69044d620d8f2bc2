-- Issue 14 (C8): files kept with the record, beside the snapshot screenshots
-- (snapshot_uploads) and like them in PostgreSQL, never in a shared folder.
--
-- purpose 'removal_screenshot' (R-30, R-45): the screenshot of a comment an
--   admin deletes by hand on a platform without an API, tied to its message
--   case (ScreenshotAttached names the upload id and digest). Sealed under the
--   case's data key: disposal of the case (R-33, R-35) destroys the key and
--   deletes the row.
-- purpose 'guardian_consent' (R-41): a guardian's signed written consent for
--   an image of a child under 15, recorded with the post (PostRecorded's
--   image names the upload id and digest). Sealed under a key of its own
--   (scope consent:<upload id>), so one consent can be destroyed alone.
--
-- `sealed` is codec.seal_record's envelope of {"b64": <the file>} (plain
-- JSON without payload keys, outside production only).
CREATE TABLE record_uploads (
    upload_id       uuid PRIMARY KEY,
    purpose         text        NOT NULL
                    CHECK (purpose IN ('removal_screenshot', 'guardian_consent')),
    municipality_id text        NOT NULL,
    account_id      uuid        NOT NULL,
    case_id         text,
    file_name       text        NOT NULL,
    mime_type       text        NOT NULL,
    size            bigint      NOT NULL,
    sha256          text        NOT NULL,
    sealed          jsonb,
    uploaded_by     text        NOT NULL,
    uploaded_at     timestamptz NOT NULL
);
ALTER TABLE record_uploads ALTER COLUMN sealed SET STORAGE EXTERNAL;
CREATE INDEX record_uploads_by_case ON record_uploads (case_id) WHERE case_id IS NOT NULL;
CREATE INDEX record_uploads_by_account ON record_uploads (account_id, purpose);
