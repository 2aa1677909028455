-- End-to-end encrypted items (docs/encryption.md, issue 17). For an
-- encrypted file the name and content_type columns hold the client's field
-- ciphertexts, stored as sent; for an encrypted text clip text_content is
-- the `text` field and preview_field the client's encrypted preview (the
-- server cannot compute one). 0 = plaintext, as every existing row is.
ALTER TABLE files ADD COLUMN encrypted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clips ADD COLUMN encrypted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clips ADD COLUMN preview_field TEXT NULL;
