-- seeother store, schema version 4: rule groups. `kind` may be 'scope' (a group under a path
-- scope), whose steps, header fields, slash redirect and base are the JSON object in `grp`.
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt (ids kept), and its
-- triggers made again.
CREATE TABLE rules_new (
    id            INTEGER PRIMARY KEY,
    host          TEXT    NOT NULL DEFAULT '',      -- '' = any host
    kind          TEXT    NOT NULL CHECK (kind IN ('path', 'prefix', 'pattern', 'scope')),
    matcher       TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    status        INTEGER NOT NULL DEFAULT 303,
    query         TEXT    NOT NULL DEFAULT 'append' CHECK (query IN ('append', 'drop')),
    default_type  TEXT,
    variants      TEXT,                             -- JSON array of {"type", "to"}, or NULL
    cache_control TEXT,
    described_by  INTEGER NOT NULL DEFAULT 0,
    gone          INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,                 -- Unix seconds
    updated_at    INTEGER NOT NULL,
    grp           TEXT,                             -- JSON of a group's fields, or NULL
    UNIQUE (host, kind, matcher)
);
INSERT INTO rules_new (id, host, kind, matcher, target, status, query, default_type, variants,
                       cache_control, described_by, gone, created_at, updated_at)
    SELECT id, host, kind, matcher, target, status, query, default_type, variants,
           cache_control, described_by, gone, created_at, updated_at FROM rules;
DROP TABLE rules;
ALTER TABLE rules_new RENAME TO rules;

CREATE TRIGGER rules_delete_hits AFTER DELETE ON rules
BEGIN
    DELETE FROM rule_hits WHERE rule_id = old.id;
END;
CREATE TRIGGER rules_changes_insert AFTER INSERT ON rules
BEGIN
    UPDATE rules_changes SET changes = changes + 1 WHERE id = 1;
END;
CREATE TRIGGER rules_changes_update AFTER UPDATE ON rules
BEGIN
    UPDATE rules_changes SET changes = changes + 1 WHERE id = 1;
END;
CREATE TRIGGER rules_changes_delete AFTER DELETE ON rules
BEGIN
    UPDATE rules_changes SET changes = changes + 1 WHERE id = 1;
END;
