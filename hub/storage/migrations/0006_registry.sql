-- Issue 12: the registry's signed records (municipality, network-settings, kommunmall) share the
-- directory's one sequence of serials, so they are stored in the same table; only the CHECK on
-- kind changes. key_id is the key an entry or revocation names, and empty for a registry record.
-- SQLite cannot alter a CHECK, so the table is rebuilt with the same rows.
CREATE TABLE directory_records_new (
    network_id TEXT NOT NULL REFERENCES networks (id),
    serial     INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('directory-entry', 'revocation', 'municipality',
                                             'network-settings', 'kommunmall')),
    key_id     BLOB NOT NULL,
    wire       TEXT NOT NULL,              -- JSON: the record exactly as signed
    PRIMARY KEY (network_id, serial)
);
INSERT INTO directory_records_new (network_id, serial, kind, key_id, wire)
    SELECT network_id, serial, kind, key_id, wire FROM directory_records;
DROP TABLE directory_records;
ALTER TABLE directory_records_new RENAME TO directory_records;
