-- Issue 14: the directory log. Its leaves are the directory_records (leaf i is serial i + 1),
-- so only the checkpoints are new: each note exactly as the administrator's tools signed it
-- (the hub has no signing key), and the witnesses' newest cosignature line on each.
CREATE TABLE log_checkpoints (
    network_id TEXT NOT NULL REFERENCES networks (id),
    size       INTEGER NOT NULL CHECK (size >= 1),
    note       TEXT NOT NULL,
    added_at   INTEGER NOT NULL,
    PRIMARY KEY (network_id, size)
);
CREATE TABLE log_cosignatures (
    network_id TEXT NOT NULL,
    size       INTEGER NOT NULL,
    witness    TEXT NOT NULL,          -- the witness's key name
    line       TEXT NOT NULL,          -- its signature line, as it returned it
    signed_at  INTEGER NOT NULL,       -- the time inside the cosignature
    PRIMARY KEY (network_id, size, witness),
    FOREIGN KEY (network_id, size) REFERENCES log_checkpoints (network_id, size)
);
