-- PostgreSQL's variant of ../0010_transparency.sql: times are BIGINT (Unix seconds outlive a
-- 32-bit integer).
CREATE TABLE log_checkpoints (
    network_id TEXT NOT NULL REFERENCES networks (id),
    size       BIGINT NOT NULL CHECK (size >= 1),
    note       TEXT NOT NULL,
    added_at   BIGINT NOT NULL,
    PRIMARY KEY (network_id, size)
);
CREATE TABLE log_cosignatures (
    network_id TEXT NOT NULL,
    size       BIGINT NOT NULL,
    witness    TEXT NOT NULL,
    line       TEXT NOT NULL,
    signed_at  BIGINT NOT NULL,
    PRIMARY KEY (network_id, size, witness),
    FOREIGN KEY (network_id, size) REFERENCES log_checkpoints (network_id, size)
);
