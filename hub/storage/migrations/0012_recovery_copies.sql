-- Issue 17: a contact person's recovery copy kept on the hub, which cannot open it (a key file
-- sealed under the recovery code, docs/protocol.md §3.8). Fetched by its lookup id, derived from
-- the code with Argon2id; one copy per key (a new copy replaces the last one of that key).
CREATE TABLE recovery_copies (
    network_id TEXT NOT NULL REFERENCES networks(id),
    lookup BLOB NOT NULL,
    key_id BLOB NOT NULL,
    municipality_id TEXT NOT NULL,
    copy TEXT NOT NULL,
    stored_at INTEGER NOT NULL,
    PRIMARY KEY (network_id, lookup),
    UNIQUE (network_id, key_id)
);
