-- seeother store, schema version 8: hits per rule per day and per variant served, and the
-- most asked-for unknown paths per day, kept for `serve --stats-retention` days.

-- `day` is the UTC day, counted from 1970-01-01 (Unix seconds / 86,400).
CREATE TABLE daily_hits (
    rule_id INTEGER NOT NULL,                       -- rules.id
    day     INTEGER NOT NULL,
    variant TEXT    NOT NULL,                       -- '' for every answer, else the media type served
    hits    INTEGER NOT NULL,
    gone    INTEGER NOT NULL,                       -- of those, answered 410 Gone
    PRIMARY KEY (rule_id, day, variant)
) WITHOUT ROWID;
CREATE INDEX daily_hits_day ON daily_hits (day);

-- A deleted rule takes its days with it (an id SQLite hands out again starts with none).
CREATE TRIGGER rules_delete_daily_hits AFTER DELETE ON rules
BEGIN
    DELETE FROM daily_hits WHERE rule_id = old.id;
END;

-- At most `serve --unknown-per-day` rows a day: the most asked for.
CREATE TABLE daily_unknown (
    day  INTEGER NOT NULL,
    host TEXT    NOT NULL,
    path TEXT    NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (day, host, path)
) WITHOUT ROWID;
