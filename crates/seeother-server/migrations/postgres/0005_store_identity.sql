-- seeother store on PostgreSQL, schema version 5: the database's random identity (as the
-- SQLite store's version 6), so that a node's snapshot is never taken for that of another
-- database whose change numbers have come as far (another fleet's, a copy made by `migrate`).

CREATE TABLE store_identity (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    token TEXT NOT NULL
);
INSERT INTO store_identity VALUES (1, md5(random()::text || clock_timestamp()::text));
