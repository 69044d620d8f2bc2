-- Issue 10: the citizen's platform user id leaves the append-only log. It
-- lives in message_contents beside the text and name (deleted by disposal,
-- R-35, or an erasure); the log refers to the author by the case id only
-- (domain.message.for_the_record). Events written before lose it here: an
-- edit of old rows, not an upcaster, because an upcaster would keep the
-- identifier stored (docs/decisions.md "The citizen's id out of the log").
-- Idempotent: running it again changes nothing.
ALTER TABLE message_contents ADD COLUMN IF NOT EXISTS author_id text;

UPDATE message_contents c
SET author_id = e.data->'message'->>'author_id'
FROM events e
WHERE e.stream_id = c.case_id AND e.event_type = 'MessageReceived'
  AND c.author_id IS NULL AND e.data->'message'->>'author_id' IS NOT NULL;

-- The log refuses edits (events_append_only); this migration, in its own
-- transaction, is the one sanctioned exception: it removes a field, nothing else.
ALTER TABLE events DISABLE TRIGGER events_append_only;
UPDATE events
SET data = jsonb_set(data, '{message,author_id}', 'null'::jsonb)
WHERE event_type IN ('MessageReceived', 'StaffPostRecorded')
  AND data->'message'->>'author_id' IS NOT NULL;
ALTER TABLE events ENABLE TRIGGER events_append_only;

UPDATE message_cases
SET state = jsonb_set(state, '{message,author_id}', 'null'::jsonb)
WHERE state->'message'->>'author_id' IS NOT NULL;
