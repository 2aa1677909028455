-- End-to-end encryption: an account's key, wrapped on a device under a
-- passphrase the server never sees (docs/encryption.md). Opaque here: the
-- server stores and returns it. version counts replacements, so two
-- devices changing the passphrase at once cannot overwrite each other.
CREATE TABLE e2e_keys (
    user_id     TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    wrapped_key TEXT NOT NULL,
    version     BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
