-- R-43: the lifecycle's deadlines are a per-municipality setting, loaded with
-- the directory (municipality.lifecycle in its YAML); NULL means the defaults.
ALTER TABLE municipalities ADD COLUMN lifecycle_policy jsonb;
