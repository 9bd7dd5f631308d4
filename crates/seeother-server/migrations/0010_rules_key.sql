-- seeother store, schema version 10: the rules' key is a named unique index, `rules_key`,
-- instead of the table's UNIQUE constraint (whose index cannot be dropped), so that an
-- import into an empty table can build it once, by sorting, after writing its rules rather
-- than insert a million keys into it at random places. The table is copied as in version 4
-- (https://sqlite.org/lang_altertable.html#otheralter); its triggers and indexes go with
-- the old table and are made again.
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
    grp           TEXT                              -- JSON of a group's fields, or NULL
);
INSERT INTO rules_new (id, host, kind, matcher, target, status, query, default_type, variants,
                       cache_control, described_by, gone, created_at, updated_at, grp)
    SELECT id, host, kind, matcher, target, status, query, default_type, variants,
           cache_control, described_by, gone, created_at, updated_at, grp FROM rules;
DROP TABLE rules;
ALTER TABLE rules_new RENAME TO rules;

CREATE UNIQUE INDEX rules_key ON rules (host, kind, matcher);
-- Most recently changed first, then the newest id (read backwards); as in version 9.
CREATE INDEX rules_changed ON rules (updated_at, id);

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
CREATE TRIGGER rules_delete_daily_hits AFTER DELETE ON rules
BEGIN
    DELETE FROM daily_hits WHERE rule_id = old.id;
END;
