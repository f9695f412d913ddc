-- Issue 17: the administrator's handover record (docs/protocol.md §6) joins the one sequence of
-- serials, so the CHECK on kind gains 'handover'. SQLite cannot alter a CHECK, so the table is
-- rebuilt with the same rows (as in 0006_registry.sql).
CREATE TABLE directory_records_new (
    network_id TEXT NOT NULL REFERENCES networks (id),
    serial     INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('directory-entry', 'revocation', 'municipality',
                                             'network-settings', 'kommunmall', 'handover')),
    key_id     BLOB NOT NULL,
    wire       TEXT NOT NULL,              -- JSON: the record exactly as signed
    PRIMARY KEY (network_id, serial)
);
INSERT INTO directory_records_new (network_id, serial, kind, key_id, wire)
    SELECT network_id, serial, kind, key_id, wire FROM directory_records;
DROP TABLE directory_records;
ALTER TABLE directory_records_new RENAME TO directory_records;
