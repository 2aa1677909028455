-- Sign-in and registration budgets shared by every instance on the database
-- (used on PostgreSQL; one SQLite process keeps them in memory). A token
-- bucket per key (a 16-byte hash, hex): tokens left after the last attempt,
-- -1 at the least, refilled by the rate since updated_at (Unix ms).
CREATE TABLE rate_buckets (
    key        TEXT PRIMARY KEY,
    tokens     REAL NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX rate_buckets_updated ON rate_buckets(updated_at);
