-- seeother store on PostgreSQL, schema version 2: rule groups. `kind` may be 'scope' (a group
-- under a path scope), whose steps, header fields, slash redirect and base are the JSON object
-- in `grp`.
ALTER TABLE rules DROP CONSTRAINT rules_kind_check;
ALTER TABLE rules ADD CONSTRAINT rules_kind_check
    CHECK (kind IN ('path', 'prefix', 'pattern', 'scope'));
ALTER TABLE rules ADD COLUMN grp TEXT;              -- JSON of a group's fields, or NULL
