-- Cloud Buffer schema, SQLite flavour. Times are Unix milliseconds (BIGINT),
-- flags are 0/1 BIGINTs and ids are text, so the PostgreSQL migrations can
-- mirror this file type for type.

CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    username         TEXT NOT NULL UNIQUE,
    password_hash    TEXT NOT NULL,
    is_admin         BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    downloads        BIGINT NOT NULL DEFAULT 0,
    bytes_downloaded BIGINT NOT NULL DEFAULT 0
);

-- A device is one signed-in session: it owns the refresh token chain.
CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX devices_user ON devices(user_id);

-- Every refresh token ever issued for a live device, by hash; used_at marks
-- spent ones so a replay can be told apart from an unknown token.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_device ON refresh_tokens(device_id);

-- One row per distinct content in store/ab/<hash>.
CREATE TABLE blobs (
    hash       TEXT PRIMARY KEY,
    size       BIGINT NOT NULL,
    refcount   BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE files (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    size         BIGINT NOT NULL,
    hash         TEXT NOT NULL REFERENCES blobs(hash),
    content_type TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    downloads    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX files_user_seq ON files(user_id, seq);
CREATE INDEX files_expires ON files(expires_at);
CREATE INDEX files_hash ON files(hash);
