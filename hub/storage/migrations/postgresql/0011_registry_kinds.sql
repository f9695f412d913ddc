-- PostgreSQL's variant of ../0011_registry_kinds.sql: the CHECK on kind is replaced in place.
ALTER TABLE directory_records DROP CONSTRAINT directory_records_kind_check;
ALTER TABLE directory_records ADD CONSTRAINT directory_records_kind_check
    CHECK (kind IN ('directory-entry', 'revocation', 'municipality', 'network-settings',
                    'kommunmall', 'handover', 'erasure'));
