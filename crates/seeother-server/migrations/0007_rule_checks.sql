-- seeother store, schema version 7: the latest link check of each rule's targets
-- (`serve --check-interval`).

CREATE TABLE rule_checks (
    rule_id    INTEGER PRIMARY KEY,                 -- rules.id; a deleted rule's row is ignored
    checked_at INTEGER NOT NULL,                    -- Unix seconds
    state      TEXT    NOT NULL,                    -- the worst state of its targets
    result     TEXT    NOT NULL                     -- JSON array: each target's outcome
);
CREATE INDEX rule_checks_state ON rule_checks (state);
