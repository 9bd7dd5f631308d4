-- seeother store, schema version 3: what `serve --rules FILE` applied, so that an unchanged
-- file is not imported again at the next start.

-- A count of every change to `rules` (insert, update, delete), by whichever process or
-- front end made it. Hit counters live in `rule_hits` and do not count.
CREATE TABLE rules_changes (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    changes INTEGER NOT NULL
);
INSERT INTO rules_changes (id, changes) VALUES (1, 0);

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

-- Per rule file (canonical path): the SHA-256 of its bytes, the format it was read in, how
-- many rules it held, and `rules_changes.changes` right after it was applied.
CREATE TABLE rules_files (
    path       TEXT    PRIMARY KEY,
    sha256     BLOB    NOT NULL,
    format     TEXT    NOT NULL,
    rules      INTEGER NOT NULL,
    changes    INTEGER NOT NULL,
    applied_at INTEGER NOT NULL                     -- Unix seconds
) WITHOUT ROWID;
