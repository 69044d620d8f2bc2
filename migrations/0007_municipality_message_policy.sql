-- R-43: a municipality's default for answering messages (municipality.messages
-- in its directory YAML); NULL means the defaults. Accounts may set their own.
ALTER TABLE municipalities ADD COLUMN message_policy jsonb;
