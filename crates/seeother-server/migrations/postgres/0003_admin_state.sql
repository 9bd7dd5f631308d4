-- seeother store on PostgreSQL, schema version 3: what the admin pages keep between requests
-- (the SQLite store's version 5), shared by every node.

-- Signed-in sessions. The cookie's id is not stored, only its SHA-256: a copy of the database
-- signs no one in.
CREATE TABLE admin_sessions (
    n          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- the order of sign-ins
    id_sha256  BYTEA  NOT NULL UNIQUE,
    csrf       TEXT   NOT NULL,                     -- the token its forms carry
    created_at BIGINT NOT NULL,                     -- Unix seconds
    expires_at BIGINT NOT NULL
);
CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at);

-- The key that signs the sign-in form's tokens, drawn by the first node that needs it: a
-- form shown by one node is accepted by the others.
CREATE TABLE admin_keys (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    key BYTEA   NOT NULL
);

-- Import reports (`/-/admin/imports/{id}`); the newest are kept.
CREATE TABLE import_reports (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        BIGINT NOT NULL,                      -- Unix seconds
    source    TEXT   NOT NULL,
    format    TEXT   NOT NULL,
    created   BIGINT NOT NULL,
    updated   BIGINT NOT NULL,
    unchanged BIGINT NOT NULL,
    changed   TEXT   NOT NULL                       -- JSON array of ["created"|"updated", rule]
);
