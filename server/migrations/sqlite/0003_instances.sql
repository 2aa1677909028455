-- What several instances sharing one database must agree on.

-- Secrets generated once for the whole database (PostgreSQL: the JWT signing
-- secret when --jwt-secret is not given; SQLite keeps it in <data-dir>/jwt_secret).
CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
