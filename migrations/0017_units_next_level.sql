-- Issue 16, R-53: who decides on a unit manager's own request (the next
-- level above the manager); NULL: the directory names no one yet.
ALTER TABLE units ADD COLUMN next_level text;
