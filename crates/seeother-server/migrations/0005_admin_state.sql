-- seeother store, schema version 5: what the admin pages keep between requests, so that every
-- node of a fleet shares it and it survives a restart.

-- Signed-in sessions. The cookie's id is not stored, only its SHA-256: a copy of the database
-- signs no one in.
CREATE TABLE admin_sessions (
    n          INTEGER PRIMARY KEY,                 -- the order of sign-ins: the oldest go first
    id_sha256  BLOB    NOT NULL UNIQUE,
    csrf       TEXT    NOT NULL,                    -- the token its forms carry
    created_at INTEGER NOT NULL,                    -- Unix seconds
    expires_at INTEGER NOT NULL
);
CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at);

-- The key that signs the sign-in form's tokens, drawn by the first node that needs it.
CREATE TABLE admin_keys (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    key BLOB    NOT NULL
);

-- Import reports (`/-/admin/imports/{id}`); the newest are kept. AUTOINCREMENT: an id is
-- never given twice, so an old bookmark never shows another import.
CREATE TABLE import_reports (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,                     -- Unix seconds
    source    TEXT    NOT NULL,
    format    TEXT    NOT NULL,
    created   INTEGER NOT NULL,
    updated   INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    changed   TEXT    NOT NULL                      -- JSON array of ["created"|"updated", rule]
);
