-- seeother store, schema version 2: hit counters in a narrow table of their own, so that a
-- flush of counters dirties a few small pages instead of one page of `rules` per rule.
CREATE TABLE rule_hits (
    rule_id INTEGER PRIMARY KEY,                    -- rules.id; no row = no hits yet
    hits    INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO rule_hits (rule_id, hits) SELECT id, hits FROM rules WHERE hits <> 0;

-- SQLite 3.35 and later (the bundled one is newer) drop a column in place.
ALTER TABLE rules DROP COLUMN hits;

-- A deleted rule takes its counter with it: an id SQLite hands out again starts at zero.
-- (A tombstone is an update, so it keeps its counter.)
CREATE TRIGGER rules_delete_hits AFTER DELETE ON rules
BEGIN
    DELETE FROM rule_hits WHERE rule_id = old.id;
END;
