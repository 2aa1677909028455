-- One-time codes that sign a new device (a phone scanning a QR code) into
-- an account. Only a hash of each code is kept; used_at marks a spent one
-- so a replay can be told apart from an unknown code until the sweeper
-- deletes it, a day after it expired.
CREATE TABLE pairings (
    code_hash  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX pairings_user ON pairings(user_id, expires_at);
CREATE INDEX pairings_expires ON pairings(expires_at);
