-- Issue 10: once a message's case has its receipt, the intake row keeps only
-- the keys that recognise a redelivery; the citizen's text, name, platform
-- user id and permalink live in the case's own storage (message_contents),
-- where disposal ends them. Rows started before this change lose them now.
UPDATE intake
SET message = message - 'text' - 'author_name' - 'author_id' - 'permalink'
WHERE started_at IS NOT NULL;
