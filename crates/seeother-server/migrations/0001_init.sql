-- seeother store, schema version 1: rules, their history, hit counters.
CREATE TABLE rules (
    id            INTEGER PRIMARY KEY,
    host          TEXT    NOT NULL DEFAULT '',      -- '' = any host
    kind          TEXT    NOT NULL CHECK (kind IN ('path', 'prefix', 'pattern')),
    matcher       TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    status        INTEGER NOT NULL DEFAULT 303,
    query         TEXT    NOT NULL DEFAULT 'append' CHECK (query IN ('append', 'drop')),
    default_type  TEXT,
    variants      TEXT,                             -- JSON array of {"type", "to"}, or NULL
    cache_control TEXT,
    described_by  INTEGER NOT NULL DEFAULT 0,
    gone          INTEGER NOT NULL DEFAULT 0,
    hits          INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,                 -- Unix seconds
    updated_at    INTEGER NOT NULL,
    UNIQUE (host, kind, matcher)
);

CREATE TABLE history (
    id         INTEGER PRIMARY KEY,
    rule_id    INTEGER NOT NULL,
    at         INTEGER NOT NULL,                    -- Unix seconds
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL CHECK (action IN ('create', 'update', 'delete', 'tombstone')),
    old_target TEXT,
    new_target TEXT,
    old_rule   TEXT,                                -- JSON of the rule before, or NULL
    new_rule   TEXT                                 -- JSON of the rule after, or NULL
);
CREATE INDEX history_rule ON history (rule_id, id);

CREATE TABLE unknown_paths (
    host      TEXT    NOT NULL,
    path      TEXT    NOT NULL,
    hits      INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (host, path)
) WITHOUT ROWID;
