-- The clipboard buffer and share links.

CREATE TABLE clips (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,          -- 'text' or 'file'
    text_content     TEXT,                   -- text clips
    file_id          TEXT REFERENCES files(id) ON DELETE CASCADE,  -- file clips
    size             BIGINT NOT NULL,
    origin_device_id TEXT,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL
);
CREATE INDEX clips_user_seq ON clips(user_id, seq);
CREATE INDEX clips_expires ON clips(expires_at);
CREATE INDEX clips_file ON clips(file_id);

-- A share outlives its item (file_id/clip_id become NULL) so its link can
-- answer 410 "gone" rather than 404 "never existed"; the sweeper deletes
-- rows a day after they expire.
CREATE TABLE shares (
    token         TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    file_id       TEXT REFERENCES files(id) ON DELETE SET NULL,
    clip_id       TEXT REFERENCES clips(id) ON DELETE SET NULL,
    password_hash TEXT,
    max_downloads BIGINT,
    downloads     BIGINT NOT NULL DEFAULT 0,
    -- downloads in flight, so a one-time link serves exactly one of two
    -- simultaneous requests; reset at start-up.
    reserved      BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);
CREATE INDEX shares_user ON shares(user_id);
CREATE INDEX shares_file ON shares(file_id);
CREATE INDEX shares_clip ON shares(clip_id);
CREATE INDEX shares_expires ON shares(expires_at);
