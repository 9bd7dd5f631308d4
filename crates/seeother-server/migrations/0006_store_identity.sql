-- seeother store, schema version 6: a random identity, so that a snapshot of the index
-- beside the store (valid for one change count) is never taken for the snapshot of another
-- store with the same count. `seeother restore` draws a new one.
CREATE TABLE store_identity (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    token TEXT NOT NULL
);
INSERT INTO store_identity (id, token) VALUES (1, lower(hex(randomblob(16))));
