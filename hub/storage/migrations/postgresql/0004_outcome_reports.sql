-- PostgreSQL's variant of ../0004_outcome_reports.sql.
CREATE TABLE outcome_reports (
    case_id             BYTEA PRIMARY KEY REFERENCES cases (case_id),
    network_id          TEXT NOT NULL,
    sender_municipality TEXT NOT NULL,
    report              TEXT NOT NULL,
    filed_at            BIGINT NOT NULL
);
CREATE INDEX outcome_reports_by_network ON outcome_reports (network_id, filed_at);
