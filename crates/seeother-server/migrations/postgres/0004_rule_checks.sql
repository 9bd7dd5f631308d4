-- seeother store on PostgreSQL, schema version 4: the latest link check of each rule's
-- targets (the SQLite store's version 6), shared by every node.

CREATE TABLE rule_checks (
    rule_id    BIGINT PRIMARY KEY,                  -- rules.id; a deleted rule's row is ignored
    checked_at BIGINT NOT NULL,                     -- Unix seconds
    state      TEXT   NOT NULL,                     -- the worst state of its targets
    result     TEXT   NOT NULL                      -- JSON array: each target's outcome
);
CREATE INDEX rule_checks_state ON rule_checks (state);
