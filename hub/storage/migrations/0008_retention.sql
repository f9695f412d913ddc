-- Issue 18: retention (gallring). Plain SQL: the PostgreSQL backend writes the same tables.
--
-- The audit log. From this version each record's hash commits to a salted hash of its subject
-- (hub/storage/audit.py, version 2); the subject and its salt are kept beside the record, in
-- audit_subjects, and are erased when retention removes the case the subject names: the chain
-- still proves every record's time, actor and action. Records written before this version keep
-- version 1, their subject in audit.subject, and verify by the old rule; version-2 records keep
-- audit.subject empty.
ALTER TABLE audit ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit ADD COLUMN subject_hash BLOB;

CREATE TABLE audit_subjects (
    seq      INTEGER PRIMARY KEY REFERENCES audit (seq),
    case_ref BLOB,                         -- the case or message id the subject names, or NULL
    salt     BLOB NOT NULL,
    subject  TEXT NOT NULL                 -- canonical JSON: ids and kinds only
);
CREATE INDEX audit_subjects_by_ref ON audit_subjects (case_ref);

-- The one change the audit table allows: retention empties the subject of a version-1 record
-- (its hash and every other field stay). Anything else is refused, as before.
DROP TRIGGER audit_no_update;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
WHEN NOT (OLD.version = 1 AND NEW.version = 1 AND NEW.subject = '' AND NEW.seq = OLD.seq
          AND NEW.at = OLD.at AND NEW.actor = OLD.actor AND NEW.action = OLD.action
          AND NEW.prev_hash = OLD.prev_hash AND NEW.hash = OLD.hash
          AND NEW.subject_hash IS NULL)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- Retention finds a case's envelopes by its id.
CREATE INDEX envelopes_by_case ON envelopes (case_id);

-- A year's statistics, frozen before the first of its cases is removed: the suppressed report
-- (hub/report/wire.py's JSON) exactly as the coordinator saw it then, so past reports stay the
-- same after retention.
CREATE TABLE frozen_reports (
    network_id TEXT NOT NULL REFERENCES networks (id),
    year       INTEGER NOT NULL,
    report     TEXT NOT NULL,              -- canonical JSON: report_to_json
    frozen_at  INTEGER NOT NULL,
    PRIMARY KEY (network_id, year)
);
