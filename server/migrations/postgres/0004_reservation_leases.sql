-- Downloads of limited share links in flight, each with a lease its instance
-- renews while the bytes go out. A crashed instance's reservations lapse
-- when their lease runs out instead of being reset at start-up, which would
-- release the slots of downloads other instances are still serving.
CREATE TABLE share_reservations (
    id         TEXT PRIMARY KEY,
    token      TEXT NOT NULL REFERENCES shares(token) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
CREATE INDEX share_reservations_token ON share_reservations(token);

ALTER TABLE shares DROP COLUMN reserved;

-- Jobs one instance at a time does (the expiry sweeper): whoever holds the
-- lease renews it each round; when it lapses, another instance takes over.
CREATE TABLE server_leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
