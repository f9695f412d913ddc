-- Two new kinds of record join the one sequence of serials, so the CHECK on kind gains them:
-- the administrator's handover (issue 17, docs/protocol.md §6) and erasure (issue 14, §12.11).
-- An erased record keeps its row, its kind and key_id, and its wire becomes
-- {"leaf": base64 of its leaf hash}. SQLite cannot alter a CHECK, so the table is rebuilt with
-- the same rows (as in 0006_registry.sql).
CREATE TABLE directory_records_new (
    network_id TEXT NOT NULL REFERENCES networks (id),
    serial     INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('directory-entry', 'revocation', 'municipality',
                                             'network-settings', 'kommunmall', 'handover',
                                             'erasure')),
    key_id     BLOB NOT NULL,
    wire       TEXT NOT NULL,              -- JSON: the record as signed, or {"leaf"} once erased
    PRIMARY KEY (network_id, serial)
);
INSERT INTO directory_records_new (network_id, serial, kind, key_id, wire)
    SELECT network_id, serial, kind, key_id, wire FROM directory_records;
DROP TABLE directory_records;
ALTER TABLE directory_records_new RENAME TO directory_records;
