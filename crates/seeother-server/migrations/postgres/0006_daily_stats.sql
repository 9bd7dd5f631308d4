-- seeother store on PostgreSQL, schema version 6: hits per rule per day and per variant
-- served, and the most asked-for unknown paths per day (the SQLite store's version 8), added
-- to by every node.

-- `day` is the UTC day, counted from 1970-01-01 (Unix seconds / 86,400).
CREATE TABLE daily_hits (
    rule_id BIGINT NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
    day     INTEGER NOT NULL,
    variant TEXT   NOT NULL,                        -- '' for every answer, else the media type served
    hits    BIGINT NOT NULL,
    gone    BIGINT NOT NULL,                        -- of those, answered 410 Gone
    PRIMARY KEY (rule_id, day, variant)
);
CREATE INDEX daily_hits_day ON daily_hits (day);

CREATE TABLE daily_unknown (
    day  INTEGER NOT NULL,
    host TEXT    NOT NULL,
    path TEXT    NOT NULL,
    hits BIGINT  NOT NULL,
    PRIMARY KEY (day, host, path)
);
