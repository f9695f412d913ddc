-- PostgreSQL's variant of ../0008_retention.sql: the same columns and tables (BYTEA for BLOB,
-- BIGINT for times), and the audit log's guard as two triggers: DELETE always refused, UPDATE
-- refused unless it only empties a version-1 record's subject (retention), as in SQLite.
ALTER TABLE audit ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit ADD COLUMN subject_hash BYTEA;

CREATE TABLE audit_subjects (
    seq      BIGINT PRIMARY KEY REFERENCES audit (seq),
    case_ref BYTEA,
    salt     BYTEA NOT NULL,
    subject  TEXT NOT NULL
);
CREATE INDEX audit_subjects_by_ref ON audit_subjects (case_ref);

DROP TRIGGER audit_no_update ON audit;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit FOR EACH ROW
    WHEN (NOT (OLD.version = 1 AND NEW.version = 1 AND NEW.subject = '' AND NEW.seq = OLD.seq
               AND NEW.at = OLD.at AND NEW.actor = OLD.actor AND NEW.action = OLD.action
               AND NEW.prev_hash = OLD.prev_hash AND NEW.hash = OLD.hash
               AND NEW.subject_hash IS NULL))
    EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();

CREATE INDEX envelopes_by_case ON envelopes (case_id);

CREATE TABLE frozen_reports (
    network_id TEXT NOT NULL REFERENCES networks (id),
    year       INTEGER NOT NULL,
    report     TEXT NOT NULL,
    frozen_at  BIGINT NOT NULL,
    PRIMARY KEY (network_id, year)
);
