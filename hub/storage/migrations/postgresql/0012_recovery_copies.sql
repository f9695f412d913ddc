-- PostgreSQL's variant of ../0012_recovery_copies.sql.
CREATE TABLE recovery_copies (
    network_id TEXT NOT NULL REFERENCES networks(id),
    lookup BYTEA NOT NULL,
    key_id BYTEA NOT NULL,
    municipality_id TEXT NOT NULL,
    copy TEXT NOT NULL,
    stored_at BIGINT NOT NULL,
    PRIMARY KEY (network_id, lookup),
    UNIQUE (network_id, key_id)
);
